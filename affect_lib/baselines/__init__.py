"""Fusion baselines the book compares Affect-Diff with, and the plain loop that trains
them."""
