"""Affect-Diff: encoders, causal attention graph, VAE bottleneck, latent diffusion,
counterfactuals."""
