"""Model file errors, importable without torch (the CLI's error messages need them)."""

from __future__ import annotations


class ModelNotFoundError(FileNotFoundError):
    """No model weights where they were looked for."""


class ModelFileError(ValueError):
    """A model file exists but cannot be used."""
