"""The reports' models, built from ``minidl.nn`` layers with hand-written backwards."""

from .imdb import ImdbClassifier

__all__ = ["ImdbClassifier"]
