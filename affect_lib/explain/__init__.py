"""Counterfactual explanations for Affect-Diff: guided latent edits and their metrics."""
