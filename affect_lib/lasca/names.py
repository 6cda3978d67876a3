"""The 73 LaScA feature names: 58 facial (52 MediaPipe blendshapes + 6-DoF head pose)
and 15 MFCCs.

LaScA reports "58 facial features" without listing them; we read that as MediaPipe's 52
blendshape coefficients (``_neutral`` first, the order MediaPipe writes them) plus the
6-DoF head pose that the same face-landmarker transform gives (pitch, yaw, roll in
degrees; tx, ty, tz in centimetres). Every module of :mod:`affect_lib.lasca` indexes
features in this order.
"""

from __future__ import annotations

from affect_lib.data.affwild.reader import BLENDSHAPE_NAMES, HEAD_POSE_NAMES

__all__ = [
    "BLENDSHAPES",
    "HEAD_POSE",
    "FACE_FEATURES",
    "VOICE_FEATURES",
    "FEATURE_NAMES",
    "N_FEATURES",
]

# the CSV columns MediaPipe writes, same order
BLENDSHAPES: tuple[str, ...] = BLENDSHAPE_NAMES
# pitch, yaw, roll (degrees), tx, ty, tz (cm)
HEAD_POSE: tuple[str, ...] = HEAD_POSE_NAMES
FACE_FEATURES: tuple[str, ...] = BLENDSHAPES + HEAD_POSE
# mfcc_1 = librosa's c0
VOICE_FEATURES: tuple[str, ...] = tuple(f"mfcc_{i}" for i in range(1, 16))
FEATURE_NAMES: tuple[str, ...] = FACE_FEATURES + VOICE_FEATURES
N_FEATURES = len(FEATURE_NAMES)

assert len(BLENDSHAPES) == 52 and len(FACE_FEATURES) == 58 and N_FEATURES == 73
