"""What a file's name alone says about it (no decoding, no heavy imports: the scanner uses this)."""

from __future__ import annotations

APPLEDOUBLE_PREFIX = "._"


def is_appledouble_name(name: str) -> bool:
    """Whether a file name is a macOS AppleDouble companion (``._Song.mp3``: metadata, not audio)."""
    return name.startswith(APPLEDOUBLE_PREFIX)
