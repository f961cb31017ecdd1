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


# -- fallbacks when a file's own tags say little ---------------------------------------------------
# RIFF INFO fields (WAV files): ffmpeg, sox and many rippers write these; mutagen's WAVE reads ID3 only.
_RIFF_FIELDS = {"INAM": "title", "IART": "artist", "IPRD": "album", "ITRK": "track", "IPRT": "track"}
_RIFF_MAX_CHUNKS = 64  # a WAV has a handful; a damaged header must not keep us seeking


def riff_info(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``LIST``/``INFO`` chunk of a RIFF WAVE file as ``{"INAM": "...", "IART": ..., ...}`` (empty when none).

    Reads only the chunk headers and the INFO chunk (the audio data is seeked over). Text is UTF-8
    when it decodes as such, else Latin-1 (the spec's charset is unspecified; ffmpeg writes UTF-8).
    """
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return out
            for _ in range(_RIFF_MAX_CHUNKS):
                header = f.read(8)
                if len(header) < 8:
                    break
                chunk_id, size = header[:4], int.from_bytes(header[4:], "little")
                if chunk_id == b"LIST" and 4 <= size <= 1 << 20:
                    body = f.read(size)
                    if body[:4] == b"INFO":
                        out.update(_info_fields(body[4:]))
                    if size % 2:
                        f.seek(1, os.SEEK_CUR)
                else:
                    f.seek(size + size % 2, os.SEEK_CUR)
    except OSError as exc:
        log.debug("no RIFF INFO read from %s: %s", path, exc)
    return out


def _info_fields(body: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    pos = 0
    while pos + 8 <= len(body):
        key, size = body[pos:pos + 4], int.from_bytes(body[pos + 4:pos + 8], "little")
        raw = body[pos + 8:pos + 8 + size].split(b"\x00", 1)[0]
        pos += 8 + size + size % 2
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = text.strip()
        if text and key.isalnum():
            fields[key.decode("ascii", "replace")] = text
    return fields


def layout_tags(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> dict[str, str]:
    """What the folder layout under the music folder ``root`` says: ``Artist/Album/NN - Title.ext``.

    Three or more levels below ``root``: artist and album are the two folders above the file; two levels:
    an ``Artist - Album`` folder is split, any other folder name is not guessed at. A leading number in
    the file name is the track number. Never looks above ``root``.
    """
    try:
        parts = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).parts
    except ValueError:
        return {}
    out: dict[str, str] = {}
    if len(parts) >= 3:
        out["artist"], out["album"] = parts[-3], parts[-2]
    elif len(parts) == 2 and " - " in parts[0]:
        artist, album = (s.strip() for s in parts[0].split(" - ", 1))
        if artist and album:
            out["artist"], out["album"] = artist, album
    number = re.match(r"\s*(\d{1,3})\s*[-._ ]", Path(path).stem)
    if number:
        out["track"] = number.group(1)
    return out


def with_fallbacks(info: TagInfo, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> TagInfo:
    """``info`` with its empty fields filled from a WAV's RIFF INFO chunk, then from the folder layout under
    ``root`` (see :func:`layout_tags`). Fields the file's tags gave are never replaced."""
    from dataclasses import replace

    guessed_title = info.title == title_from_filename(path)
    title, artist, album, track = info.title, info.artist, info.album, info.track_number
    if str(path).lower().endswith((".wav", ".wave")) and (guessed_title or not artist or not album or track is None):
        riff = {_RIFF_FIELDS[k]: v for k, v in riff_info(path).items() if k in _RIFF_FIELDS}
        title = riff.get("title", title) if guessed_title else title
        artist, album = artist or riff.get("artist", ""), album or riff.get("album", "")
        track = track if track is not None else _track_number(riff.get("track"))
    if root is not None and (not artist or not album or track is None):
        layout = layout_tags(path, root)
        artist, album = artist or layout.get("artist", ""), album or layout.get("album", "")
        track = track if track is not None else _track_number(layout.get("track"))
    if (title, artist, album, track) == (info.title, info.artist, info.album, info.track_number):
        return info
    return replace(info, title=title, artist=artist, album=album, track_number=track)
