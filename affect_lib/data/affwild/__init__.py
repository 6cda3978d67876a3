"""Aff-Wild2 and SEWA: valence/arousal annotations and per-frame feature tables."""
