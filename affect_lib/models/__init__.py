"""Models of the book: encoders, causal attention graph, fusion bottleneck and diffusion."""
