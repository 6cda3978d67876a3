"""affect_lib: the library behind the Affect-Diff & LaScA notebook book."""

__version__ = "0.1.0"
