"""Reading a file's tags with mutagen (title, artist, album, track number, duration, genre).

Tags never decide whether a file is usable (decoding does): a file mutagen cannot read simply gets
its title from the file name.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import mutagen

from musicsim.genres.filetags import read_genre_values

log = logging.getLogger(__name__)

# Keys tried in order, covering EasyID3/EasyMP4/Vorbis comments (lower case) and raw ID3 frames
# (WAV and AIFF files carry ID3 tags that mutagen's easy interface does not map).
_KEYS = {
    "title": ("title", "TIT2", "©nam"),
    "artist": ("artist", "TPE1", "albumartist", "TPE2", "©ART", "aART"),
    "album": ("album", "TALB", "©alb"),
    "track": ("tracknumber", "TRCK", "trkn"),
}


@dataclass(frozen=True)
class TagInfo:
    title: str
    artist: str
    album: str
    track_number: int | None
    duration: float | None  # seconds, from the stream info; None when unknown
    genres: tuple[str, ...] = ()  # the genre tag's values as written (musicsim.genres.filetags)

    @property
    def genre_text(self) -> str:
        """The genre tag as stored in the catalogue: its values joined by "; " ('' for none)."""
        return "; ".join(self.genres)


def _first_text(tags: object, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        try:
            value = tags[key]  # type: ignore[index]
        except (KeyError, ValueError, TypeError):
            continue
        if hasattr(value, "text"):  # raw ID3 frame
            value = value.text
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if isinstance(value, tuple):  # MP4 trkn: (number, total)
            value = value[0]
        if value is None:
            continue
        text = str(value).strip().replace("\x00", "")
        if text:
            return text
    return None


def _track_number(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def title_from_filename(path: str | os.PathLike[str]) -> str:
    """A readable title from a file name: ``03 - My_Song.mp3`` -> ``My Song``."""
    stem = Path(path).stem
    stem = re.sub(r"^\s*\d{1,3}\s*[-._ ]\s*", "", stem) or stem
    return stem.replace("_", " ").strip() or Path(path).name


def read_tags(path: str | os.PathLike[str]) -> TagInfo:
    """Tags of ``path``; missing fields fall back to the file name (title) and empty strings."""
    audio = None
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # noqa: BLE001 - mutagen raises many types on damaged files; tags are optional
        log.debug("no tags read from %s: %s", path, exc)
        audio = None
    tags = getattr(audio, "tags", None) if audio is not None else None
    title = artist = album = track = None
    if tags is not None:
        title = _first_text(tags, _KEYS["title"])
        artist = _first_text(tags, _KEYS["artist"])
        album = _first_text(tags, _KEYS["album"])
        track = _first_text(tags, _KEYS["track"])
    duration = None
    length = getattr(getattr(audio, "info", None), "length", None)
    if isinstance(length, (int, float)) and length > 0:
        duration = float(length)
    return TagInfo(
        title=title or title_from_filename(path),
        artist=artist or "",
        album=album or "",
        track_number=_track_number(track),
        duration=duration,
        genres=read_genre_values(path, audio),
    )
