"""A file's own genre tag: reading it (every format musicsim catalogues) and writing a new one.

Read: ID3 ``TCON`` (MP3, and WAV/AIFF with an ID3 chunk; mutagen turns ``(17)``/``17`` into names),
Vorbis comments ``GENRE`` (FLAC, Ogg Vorbis, Opus), MP4 ``©gen``, ASF ``WM/Genre``, APEv2 ``Genre``
(WavPack, Monkey's Audio) and, for WAV files without an ID3 genre, the RIFF ``INFO`` chunk's ``IGNR``.

Write (:func:`write_genre`): the same fields with mutagen, on the file given, changing nothing else:
ID3 frames are neither translated nor upgraded (the file's ID3 version is kept), every other tag
stays as it was. Callers work on a copy and check it (``musicsim.genres.retag``).
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import Any

import mutagen

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

# Keys (in mutagen's easy or raw form) that hold a genre; the reader takes the first one present.
GENRE_KEYS = ("genre", "TCON", "©gen", "WM/Genre", "Genre")


def _values(value: Any) -> list[str]:
    if hasattr(value, "genres"):  # an ID3 TCON frame: numeric forms already resolved
        value = value.genres
    elif hasattr(value, "text"):
        value = value.text
    if not isinstance(value, (list, tuple)):
        value = [value]
    out = []
    for v in value:
        text = str(getattr(v, "value", v)).replace("\x00", " ").strip()  # ASF/APE values wrap their text
        if text:
            out.append(text)
    return out


def genre_values(tags: Any) -> tuple[str, ...]:
    """The genre tag's values from a mutagen tag object (easy or raw), as written in the file."""
    if tags is None:
        return ()
    for key in GENRE_KEYS:
        try:
            value = tags[key]
        except (KeyError, ValueError, TypeError):
            continue
        values = _values(value)
        if values:
            return tuple(values)
    return ()


def riff_info_genre(path: PathLike) -> str | None:
    """The ``IGNR`` entry of a RIFF/WAVE file's ``LIST``/``INFO`` chunk, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"LIST" and size >= 4 and size < 1 << 20:
                    body = f.read(size)
                    if body[:4] == b"INFO":
                        return _info_entry(body[4:], b"IGNR")
                else:
                    f.seek(size + (size & 1), os.SEEK_CUR)
                    continue
                if size & 1:
                    f.seek(1, os.SEEK_CUR)
    except OSError as exc:
        log.debug("cannot read the RIFF chunks of %s: %s", path, exc)
        return None


def _info_entry(body: bytes, wanted: bytes) -> str | None:
    pos = 0
    while pos + 8 <= len(body):
        name, size = body[pos : pos + 4], struct.unpack("<I", body[pos + 4 : pos + 8])[0]
        if name == wanted:
            raw = body[pos + 8 : pos + 8 + size].split(b"\x00", 1)[0]
            for encoding in ("utf-8", "latin-1"):
                try:
                    text = raw.decode(encoding).strip()
                    return text or None
                except UnicodeDecodeError:
                    continue
        pos += 8 + size + (size & 1)
    return None


def read_genre_values(path: PathLike, audio: Any = None) -> tuple[str, ...]:
    """The file's genre tag values (``audio``: the mutagen object already opened for its other tags)."""
    values = genre_values(getattr(audio, "tags", None))
    if not values and Path(path).suffix.lower() in (".wav", ".wave"):
        ignr = riff_info_genre(path)
        if ignr:
            values = (ignr,)
    return values


class TagWriteError(RuntimeError):
    """The genre could not be written into this file (format without tags, damaged tags)."""


def write_genre(path: PathLike, genre: str) -> None:
    """Set the genre tag of ``path`` (in place) to ``genre``, leaving every other tag as it is."""
    from mutagen.id3 import ID3, TCON

    try:
        audio = mutagen.File(path)
    except Exception as exc:
        raise TagWriteError(f"cannot read the tags: {exc}") from exc
    if audio is None:
        raise TagWriteError("not a format whose tags musicsim can write")
    kind = type(audio).__name__
    if kind in ("MP3", "EasyMP3", "WAVE", "AIFF", "TrueAudio"):
        _write_id3(audio, path, genre, ID3, TCON)
        return
    if audio.tags is None:
        try:
            audio.add_tags()
        except Exception as exc:
            raise TagWriteError(f"cannot add tags to this file: {exc}") from exc
    tags = audio.tags
    if kind in ("MP4", "EasyMP4"):
        tags["©gen"] = [genre]
        if "gnre" in tags:
            del tags["gnre"]
    elif kind == "ASF":
        tags["WM/Genre"] = [genre]
    elif kind in ("WavPack", "MonkeysAudio", "Musepack", "OptimFROG", "APEv2File"):
        tags["Genre"] = genre
    else:  # Vorbis comments: FLAC, Ogg Vorbis/Opus/FLAC/Speex
        tags["genre"] = [genre]
    try:
        audio.save()
    except Exception as exc:
        raise TagWriteError(f"mutagen could not save the tags: {exc}") from exc


def _write_id3(audio: Any, path: PathLike, genre: str, id3_cls: Any, tcon_cls: Any) -> None:
    """ID3 without translation: frames stay in the file's own version (v2.3 stays v2.3)."""
    from mutagen.id3 import ID3NoHeaderError

    is_mp3 = type(audio).__name__ in ("MP3", "EasyMP3")
    try:
        if is_mp3:
            tags = id3_cls(path, translate=False)
        else:  # WAVE/AIFF: reopened so that their ID3 chunk is not translated either
            audio = type(audio)(path, translate=False)
            tags = audio.tags
    except ID3NoHeaderError:
        tags = None
    version = 4
    if tags is None:
        if is_mp3:
            tags = id3_cls()
        else:
            audio.add_tags()
            tags = audio.tags
    elif tags.version[1] == 3:
        version = 3
    tags.setall("TCON", [tcon_cls(encoding=1 if version == 3 else 3, text=[genre])])
    try:
        if is_mp3:
            tags.save(path, v2_version=version, v1=1)
        else:
            audio.save(v2_version=version)
    except Exception as exc:
        raise TagWriteError(f"mutagen could not save the tags: {exc}") from exc
