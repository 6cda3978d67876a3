"""Subject splits of the LaScA protocol: who trains and who is tested, per seed.

- :func:`subject_split` / :func:`protocol_split`: the protocol's subject-independent
  split (a share of the subjects held out, drawn per seed; all others train);
- :func:`fixed_split`: the same test subjects for every seed (issue #30's cue
  substitution: train on the subjects of one side, test on the other);
- :func:`subset_split`: the protocol's test subjects, and a seeded draw of ``n_train``
  of the remaining subjects for training (issue #30's learning curve). The draw is one
  permutation per seed whose first ``n_train`` subjects train, so a seed's smaller
  training sets are nested in its larger ones and the curve compares like with like.

A split function takes every subject (S,) str and a seed and returns a
:class:`SubjectSplit`; :func:`~affect_lib.experiments.lasca_protocol.run_protocol`
checks it with :func:`checked_split`. Subjects in neither part are left out, so
early stopping's validation pairs (:func:`~affect_lib.lasca.preference.fit_preference`)
come from training subjects only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "subject_split",
    "SubjectSplit",
    "SplitFn",
    "protocol_split",
    "fixed_split",
    "subset_split",
    "checked_split",
]


def subject_split(subjects: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Test subjects of ``seed``: ``max(1, round(share * n))`` of the sorted distinct
    subjects, drawn with ``numpy.random.default_rng(seed)``; at least one subject stays
    for training."""
    distinct = np.unique(np.asarray(subjects).astype(str))
    if len(distinct) < 2:
        raise ValueError(
            f"a subject-independent split needs >= 2 subjects, got {len(distinct)}"
        )
    n_test = min(max(1, int(round(share * len(distinct)))), len(distinct) - 1)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(distinct, size=n_test, replace=False))


@dataclass(frozen=True, eq=False)
class SubjectSplit:
    """One seed's subjects: ``train`` (n_train,) and ``test`` (n_test,) str ids,
    disjoint; others are left out."""

    train: np.ndarray
    test: np.ndarray


# (all subjects (S,) str, seed) -> that seed's split
SplitFn = Callable[[np.ndarray, int], SubjectSplit]


def protocol_split(share: float) -> SplitFn:
    """The protocol's split: :func:`subject_split` holds out ``share`` of the subjects
    for testing, all the others train."""

    def split(subjects: np.ndarray, seed: int) -> SubjectSplit:
        test = subject_split(subjects, share, seed)
        return SubjectSplit(train=np.setdiff1d(subjects, test), test=test)

    return split


def fixed_split(test: Sequence[str]) -> SplitFn:
    """Every seed tests on the subjects ``test`` and trains on all the others."""
    test = np.unique(np.asarray(test).astype(str))
    if not len(test):
        raise ValueError("fixed_split: no test subject given")

    def split(subjects: np.ndarray, seed: int) -> SubjectSplit:
        return SubjectSplit(train=np.setdiff1d(subjects, test), test=test)

    return split


def subset_split(share: float, n_train: int) -> SplitFn:
    """The protocol's test subjects (``share``, :func:`subject_split`) and ``n_train``
    of the other subjects for training: the first ``n_train`` of a permutation drawn
    with ``default_rng(SeedSequence([seed, 30]))`` (nested across ``n_train``)."""
    if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
        raise ValueError(f"subset_split: n_train must be an int >= 1, got {n_train!r}")

    def split(subjects: np.ndarray, seed: int) -> SubjectSplit:
        test = subject_split(subjects, share, seed)
        rest = np.setdiff1d(np.unique(np.asarray(subjects).astype(str)), test)
        if n_train > len(rest):
            raise ValueError(
                f"subset_split: n_train={n_train} training subjects asked for, but "
                f"only {len(rest)} subjects are not held out for testing (of "
                f"{len(rest) + len(test)})"
            )
        order = np.random.default_rng(np.random.SeedSequence([seed, 30])).permutation(
            len(rest)
        )
        return SubjectSplit(train=np.sort(rest[order[:n_train]]), test=test)

    return split


def checked_split(split: SubjectSplit, everyone: np.ndarray, seed: int) -> SubjectSplit:
    """``split`` with str ids, or ValueError unless train and test are non-empty,
    disjoint and among ``everyone``."""
    train, test = (np.asarray(p).astype(str) for p in (split.train, split.test))
    unknown = np.setdiff1d(np.concatenate([train, test]), everyone)
    if (
        not len(train)
        or not len(test)
        or np.intersect1d(train, test).size
        or unknown.size
    ):
        raise ValueError(
            f"run_protocol: the split of seed {seed} needs non-empty, disjoint train "
            f"and test subjects of the window sets, got train {train.tolist()}, test "
            f"{test.tolist()} (unknown: {unknown.tolist()})"
        )
    return SubjectSplit(train=train, test=test)
