"""Counting host-device syncs without a GPU.

On a GPU, ``.item()``, ``.tolist()``, a tensor in an ``if`` or a data-dependent
shape (``nonzero``, boolean indexing) makes the host wait for the device. A CPU cannot
show the wait, so tests count those calls instead.
"""

import sys
from collections import Counter
from unittest import mock

import torch

SYNCS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "nonzero")


def count_syncs(fn, *, caller: str | None = None) -> int:
    """How many of :data:`SYNCS` ``fn()`` calls on tensors; with ``caller``, only calls
    made directly from a file whose path contains it (e.g. ``"/affect_lib/"``: not
    torch's optimisers, which keep their step counters on the CPU by design)."""
    counts: Counter[str] = Counter()

    def counting(name, original):
        def wrapper(self, *args, **kwargs):
            if caller is None or caller in sys._getframe(1).f_code.co_filename:
                counts[name] += 1
            return original(self, *args, **kwargs)

        return wrapper

    patches = {n: counting(n, getattr(torch.Tensor, n)) for n in SYNCS}
    with mock.patch.multiple(torch.Tensor, **patches):
        fn()
    return sum(counts.values())
