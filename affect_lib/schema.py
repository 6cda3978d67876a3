"""The data contract every data source, model, explanation and evaluation shares.

Label order is CMU-MOSEI's: ``happy, sad, anger, surprise, disgust, fear`` (a public
Affect-Diff implementation swaps fear and surprise;
``tests/data/synthetic/test_mosei.py`` pins the order).

A batch (:data:`BATCH`) is a dict of tensors; sequences are LEFT-padded and every padded
step is exactly zero. Readers check their files at the boundary
(:class:`DataFormatError` names the file and the key or line); a model checks a batch
where it enters, in its encoders (:func:`check_sequence`, :func:`check_mask`).

Value checks (NaN/inf, index ranges, empty masks) read a tensor's values: free on the
CPU, a host-device sync on an accelerator, where a check per step would make the host
wait for the device at every step. So, like ``torch.distributions``' ``validate_args``,
they follow a switch (:func:`set_value_checks`): by default they run on CPU tensors
only. Shapes and dtypes are always checked, and data are checked when a corpus is built.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "BATCH",
    "EMOTIONS",
    "MODALITIES",
    "DataFormatError",
    "all_finite",
    "check_mask",
    "check_sequence",
    "set_value_checks",
    "value_checks_on",
]

EMOTIONS: tuple[str, ...] = ("happy", "sad", "anger", "surprise", "disgust", "fear")
MODALITIES: tuple[str, ...] = ("text", "audio", "video")

# key -> (shape, dtype); D_m is the modality's feature width, 6 = len(EMOTIONS).
BATCH: dict[str, tuple[str, Any]] = {
    "text": ("(B, T, D_text)", torch.float32),
    "audio": ("(B, T, D_audio)", torch.float32),
    "video": ("(B, T, D_video)", torch.float32),
    "mask": ("(B, T) True at valid steps", torch.bool),
    "label": ("(B,) dominant emotion in [0, 6)", torch.int64),
    "emotions": ("(B, 6) intensities in [0, 3]", torch.float32),
    "driver": ("(B,) causal modality 0=text 1=audio 2=video, -1 unknown", torch.int64),
    "id": ("B utterance ids (list of str)", str),
}


class DataFormatError(ValueError):
    """A data file does not have the expected format; the message names the file and the
    key/line."""


# None: value checks on CPU tensors only (see the module docstring)
_VALUE_CHECKS: bool | None = None


def set_value_checks(enabled: bool | None) -> bool | None:
    """Run the value checks always (True), never (False) or on CPU tensors only (None,
    the default); returns the previous setting."""
    global _VALUE_CHECKS
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"set_value_checks takes True, False or None, got {enabled!r}")
    previous, _VALUE_CHECKS = _VALUE_CHECKS, enabled
    return previous


def value_checks_on(x: torch.Tensor) -> bool:
    """Whether value checks run on ``x`` (see :func:`set_value_checks`)."""
    return _VALUE_CHECKS if _VALUE_CHECKS is not None else x.device.type == "cpu"


@torch.no_grad()
def all_finite(x: torch.Tensor) -> bool:
    """True when every element of ``x`` is finite. One reduction instead of
    ``isfinite(x).all()``'s four passes: a NaN or inf makes the sum non-finite; only a
    sum that overflows (huge finite values) needs the exact check."""
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_mask(
    mask: torch.Tensor, *, where: str, shape: tuple[int, int] | None = None
) -> None:
    """Raise ValueError unless ``mask`` is (B, T) bool (of ``shape`` if given) with a
    valid step per sample."""
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2 or mask.dtype != torch.bool:
        got = (
            f"{tuple(mask.shape)} {mask.dtype}"
            if isinstance(mask, torch.Tensor)
            else type(mask).__name__
        )
        raise ValueError(f"{where}: mask is {got}, expected (B, T) bool")
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise ValueError(
            f"{where}: mask has shape {tuple(mask.shape)}, expected {tuple(shape)}"
        )
    if not value_checks_on(mask):
        return
    empty = (~mask.any(dim=1)).nonzero().flatten()
    if empty.numel():
        raise ValueError(
            f"{where}: sample(s) {empty.tolist()} have no valid step (mask all False)"
        )


def check_sequence(
    x: torch.Tensor,
    *,
    name: str,
    dim: int | None = None,
    batch_time: tuple[int, int] | None = None,
) -> None:
    """Raise ValueError unless ``x`` is a finite float (B, T, dim) tensor (with (B, T) =
    batch_time)."""
    expected = f"(B, T, {dim if dim is not None else 'D'})"
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: got shape {got}, expected {expected}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: dtype {x.dtype}, expected a float tensor {expected}")
    wrong_dim = dim is not None and x.shape[2] != dim
    if wrong_dim or (batch_time is not None and x.shape[:2] != batch_time):
        if batch_time is not None:
            d = dim if dim is not None else "D"
            expected = f"({batch_time[0]}, {batch_time[1]}, {d})"
        raise ValueError(f"{name}: got shape {tuple(x.shape)}, expected {expected}")
    if value_checks_on(x) and not all_finite(x):
        raise ValueError(f"{name}: contains NaN or inf")
