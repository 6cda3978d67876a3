import pytest
import torch

from affect_lib.affect_diff.encoders import (
    AudioEncoder,
    ModalityEncoders,
    TextEncoder,
    VideoEncoder,
    masked_mean,
)

DIMS = {"text": 10, "audio": 6, "video": 5}
D_MODEL = 16
CLASSES = {"text": TextEncoder, "audio": AudioEncoder, "video": VideoEncoder}


def left_padded(
    b: int, t: int, dim: int, lengths: list[int], seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (B, T, dim) features, left-padded with zero rows as in the batch
    contract."""
    x = torch.randn(b, t, dim, generator=torch.Generator().manual_seed(seed))
    mask = torch.arange(t).expand(b, t) >= torch.tensor(
        [t - n for n in lengths]
    ).unsqueeze(1)
    return x * mask.unsqueeze(-1), mask


def make(modality: str, **kw):
    torch.manual_seed(0)
    return CLASSES[modality](input_dim=DIMS[modality], d_model=D_MODEL, **kw).eval()


@pytest.mark.parametrize("modality", list(CLASSES))
def test_shape_zero_padding_and_layernorm(modality):
    enc = make(modality)
    x, mask = left_padded(3, 7, DIMS[modality], [7, 4, 1])
    out = enc(x, mask)
    assert out.shape == (3, 7, D_MODEL)
    assert torch.all(out[~mask] == 0)
    valid = out[mask]  # LayerNorm at init: every valid step is standardised
    torch.testing.assert_close(
        valid.mean(-1), torch.zeros(len(valid)), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        valid.std(-1, unbiased=False), torch.ones(len(valid)), atol=1e-3, rtol=0
    )


@pytest.mark.parametrize("modality", list(CLASSES))
def test_eval_deterministic_and_padding_invariant(modality):
    enc = make(modality)
    x, mask = left_padded(2, 6, DIMS[modality], [6, 3])
    out = enc(x, mask)
    torch.testing.assert_close(out, enc(x, mask), atol=0, rtol=0)
    # the same utterances with 4 more padding steps in front give the same valid outputs
    x_long = torch.cat([torch.zeros(2, 4, DIMS[modality]), x], dim=1)
    mask_long = torch.cat([torch.zeros(2, 4, dtype=torch.bool), mask], dim=1)
    torch.testing.assert_close(enc(x_long, mask_long)[:, 4:], out, atol=1e-5, rtol=1e-5)
    # garbage in padded rows is ignored
    x_dirty = x + 100.0 * (~mask).unsqueeze(-1)
    torch.testing.assert_close(enc(x_dirty, mask), out, atol=1e-5, rtol=1e-5)


def test_text_encoder_attends_across_steps():
    enc = make("text")
    x, mask = left_padded(1, 5, DIMS["text"], [5])
    changed = x.clone()
    changed[0, 0] += 1.0
    diff = (enc(changed, mask) - enc(x, mask)).abs().sum(-1)
    assert torch.all(diff[0, 1:] > 0)  # a change at step 0 reaches every later step


def test_gradients_reach_the_inputs():
    for modality in CLASSES:
        enc = make(modality).train()
        x, mask = left_padded(2, 5, DIMS[modality], [5, 3])
        x.requires_grad_()
        enc(x, mask).pow(2).sum().backward()
        assert x.grad[mask].abs().sum() > 0
        assert torch.all(x.grad[~mask] == 0)


def test_masked_mean():
    x, mask = left_padded(2, 4, 3, [4, 2])
    out = masked_mean(x, mask)
    torch.testing.assert_close(out[1], x[1, 2:].mean(0))
    torch.testing.assert_close(out[0], x[0].mean(0))
    with pytest.raises(ValueError, match="no valid step"):
        masked_mean(x, torch.zeros(2, 4, dtype=torch.bool))


def test_modality_encoders_and_pool():
    torch.manual_seed(0)
    encs = ModalityEncoders(dims=DIMS, d_model=D_MODEL).eval()
    mask = left_padded(3, 6, 1, [6, 2, 4])[1]
    batch = {
        m: left_padded(3, 6, d, [6, 2, 4], seed=i)[0]
        for i, (m, d) in enumerate(DIMS.items())
    }
    out = encs(batch | {"mask": mask})
    assert {m: tuple(v.shape) for m, v in out.items()} == {
        m: (3, 6, D_MODEL) for m in DIMS
    }
    pooled = encs.pool(out, mask)
    assert pooled.shape == (3, 3, D_MODEL)
    torch.testing.assert_close(pooled[:, 1], masked_mean(out["audio"], mask))
    with pytest.raises(ValueError, match="batch lacks key 'video'"):
        encs({"text": batch["text"], "audio": batch["audio"], "mask": mask})
    with pytest.raises(ValueError, match="dims lacks modality"):
        ModalityEncoders(dims={"text": 3}, d_model=D_MODEL)


@pytest.mark.parametrize("modality", list(CLASSES))
def test_bad_input_raises(modality):
    enc = make(modality)
    dim = DIMS[modality]
    x, mask = left_padded(2, 4, dim, [4, 2])
    with pytest.raises(
        ValueError,
        match=rf"{modality}: got shape \(4, {dim}\), expected \(B, T, {dim}\)",
    ):
        enc(x[0], mask)
    with pytest.raises(ValueError, match=rf"{modality}: got shape \(2, 4, {dim + 1}\)"):
        enc(torch.zeros(2, 4, dim + 1), mask)
    bad = x.clone()
    bad[1, 3, 0] = float("inf")
    with pytest.raises(ValueError, match=f"{modality}: contains NaN or inf"):
        enc(bad, mask)
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(ValueError, match=r"sample\(s\) \[1\] have no valid step"):
        enc(x, empty)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 3\), expected \(2, 4\)"):
        enc(x, mask[:, :3])
    with pytest.raises(ValueError, match="expected \\(B, T\\) bool"):
        enc(x, mask.float())


def test_text_heads_must_divide_d_model():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        TextEncoder(input_dim=4, d_model=10, n_heads=4)


def test_text_padding_reaches_neither_output_nor_gradients():
    # TextEncoder masks after its projection (proj(0) = bias at padded steps): garbage
    # in padded input rows must still change no output and no gradient, bit for bit
    enc = make("text").train()
    x, mask = left_padded(3, 7, DIMS["text"], [7, 4, 1])
    grads = []
    for rows in (x, x + 100.0 * (~mask).unsqueeze(-1)):
        enc.zero_grad()
        torch.manual_seed(1)  # the same dropout masks
        out = enc(rows, mask)
        (out * torch.linspace(-1, 1, D_MODEL)).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in enc.parameters()]))
    (out_a, grad_a), (out_b, grad_b) = grads
    torch.testing.assert_close(out_a, out_b, atol=0, rtol=0)
    for a, b in zip(grad_a, grad_b, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
