"""The book's figures, one module per chapter group; each function returns a matplotlib
Figure."""
