"""Synthetic corpora with planted ground truth: SynthMOSEI and SynthAffWild."""
