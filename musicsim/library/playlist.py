"""Extended M3U8 playlists (UTF-8), written atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from musicsim.fileio import atomic_write
from musicsim.library.records import Track


def _clean(text: str) -> str:
    """One line of text: M3U has no escaping, so line breaks become spaces."""
    return " ".join(text.split())


def m3u8_text(tracks: Sequence[Track], title: str | None = None) -> str:
    """``#EXTM3U`` then, per track, ``#EXTINF:<seconds>,<artist> - <title>`` and its absolute path."""
    lines = ["#EXTM3U"]
    if title:
        lines.append(f"#PLAYLIST:{_clean(title)}")
    for t in tracks:
        seconds = int(round(t.duration)) if t.duration else -1
        lines.append(f"#EXTINF:{seconds},{_clean(t.label())}")
        lines.append(str(Path(t.path).absolute()))
    return "\n".join(lines) + "\n"


def write_m3u8(tracks: Sequence[Track], out: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write the playlist to ``out`` (temporary file, then rename); returns the path written."""
    out = Path(out).expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, m3u8_text(tracks, title))
    return out
