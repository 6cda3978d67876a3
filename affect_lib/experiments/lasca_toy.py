"""A toy LaScA window set: random windows with planted affect cues, for tests and
benchmarks.

:func:`toy_window_set` has the shape and behaviour of a
:class:`~affect_lib.lasca.features.WindowSet` (subjects, videos, consecutive windows,
valence and arousal that move the features) without generating or reading SynthAffWild
files. Not a data set for results.
"""

from __future__ import annotations

import numpy as np

from affect_lib.lasca.features import WindowSet
from affect_lib.lasca.names import FEATURE_NAMES, N_FEATURES

__all__ = ["toy_window_set"]

_TOY_CUES = {
    "mouthSmileLeft": (1.0, 0.3),
    "mouthSmileRight": (1.0, 0.3),
    "cheekSquintLeft": (0.7, 0.2),
    "cheekSquintRight": (0.7, 0.2),
    "mouthFrownLeft": (-0.8, -0.2),
    "mouthFrownRight": (-0.8, -0.2),
    "browDownLeft": (-0.6, 0.3),
    "browDownRight": (-0.6, 0.3),
    "noseSneerLeft": (-0.6, 0.2),
    "noseSneerRight": (-0.6, 0.2),
    "eyeWideLeft": (0.0, 0.9),
    "eyeWideRight": (0.0, 0.9),
    "jawOpen": (0.2, 0.8),
    "browOuterUpLeft": (0.1, 0.6),
    "browOuterUpRight": (0.1, 0.6),
    "_neutral": (0.0, -0.7),
    "mfcc_1": (0.1, 1.0),
    "mfcc_2": (0.0, 0.6),
    "tz": (0.0, 0.4),
}


def toy_window_set(
    *,
    n_subjects: int = 8,
    videos_per_subject: int = 2,
    windows_per_video: int = 20,
    window_s: float = 3.0,
    seed: int = 0,
) -> WindowSet:
    """Random windows with planted affect cues (smiles up with valence, eye widening
    with arousal, ...).

    Valence and arousal are AR(1) walks over a video's windows in [-1, 1]; every feature
    is a subject baseline + subject gain x (planted loadings . [v, a]) + noise. Not a
    data set for results: a stand-in of the right shape and behaviour where the real
    SynthAffWild is not needed.
    """
    rng = np.random.default_rng(seed)
    load = np.zeros((N_FEATURES, 2))
    for name, (lv, la) in _TOY_CUES.items():
        load[FEATURE_NAMES.index(name)] = (lv, la)
    Xs, vs, as_, subj, vid, idx = [], [], [], [], [], []
    for s in range(n_subjects):
        base = rng.normal(0, 1, N_FEATURES)
        gain = rng.lognormal(0, 0.3, N_FEATURES)
        for k in range(videos_per_subject):
            va = np.zeros((windows_per_video, 2))
            state = rng.normal(0, 0.4, 2)
            for t in range(windows_per_video):
                state = 0.7 * state + rng.normal(0, 0.35, 2)
                va[t] = np.tanh(state)
            X = (
                base
                + gain * (va @ load.T)
                + rng.normal(0, 0.3, (windows_per_video, N_FEATURES))
            )
            Xs.append(X)
            vs.append(va[:, 0])
            as_.append(va[:, 1])
            subj += [f"s{s:02d}"] * windows_per_video
            vid += [f"s{s:02d}_v{k}"] * windows_per_video
            idx.append(np.arange(windows_per_video))
    return WindowSet(
        X=np.vstack(Xs).astype(np.float32),
        valence=np.concatenate(vs).astype(np.float32),
        arousal=np.concatenate(as_).astype(np.float32),
        subject=np.array(subj),
        video=np.array(vid),
        index=np.concatenate(idx).astype(np.int64),
        window_s=float(window_s),
    )
