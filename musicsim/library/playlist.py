"""Extended M3U8 playlists (UTF-8), written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

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
        name = f"{t.artist} - {t.title}" if t.artist else t.title
        lines.append(f"#EXTINF:{seconds},{_clean(name)}")
        lines.append(str(Path(t.path).absolute()))
    return "\n".join(lines) + "\n"


def write_m3u8(tracks: Sequence[Track], out: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write the playlist to ``out`` (temporary file, then rename); returns the path written."""
    out = Path(out).expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(m3u8_text(tracks, title))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
