"""Cover art embedded in audio files (mutagen), saved once to a cache file so others can show it by URL.

:func:`embedded_cover` reads the front cover (else the first picture) of ID3 (MP3, WAV, AIFF), FLAC,
MP4/M4A and Ogg (Vorbis, Opus: ``METADATA_BLOCK_PICTURE``) files; :func:`cover_file` writes it to
``<cache>/covers/<hash of path, size, mtime>.<jpg|png|...>`` (atomically) and returns that file, so a
changed file gets a new picture. A file without a picture, or one mutagen cannot read, has none.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path

from musicsim.fileio import atomic_write

log = logging.getLogger(__name__)

FRONT_COVER = 3  # the ID3/FLAC picture type
EXTENSIONS = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "image/webp": ".webp", "image/bmp": ".bmp"}


def embedded_cover(path: str | os.PathLike[str]) -> tuple[bytes, str] | None:
    """``(image bytes, MIME type)`` of the file's cover picture, or None."""
    import mutagen

    try:
        f = mutagen.File(path)
    except Exception as exc:  # noqa: BLE001 - mutagen raises many types on damaged files; art is optional
        log.debug("no cover art read from %s: %s", path, exc)
        return None
    if f is None:
        return None
    pictures: list[tuple[int, bytes, str]] = []  # (type, data, mime)
    for picture in getattr(f, "pictures", None) or []:  # FLAC
        pictures.append((picture.type, picture.data, picture.mime))
    tags = f.tags
    if tags is not None:
        if hasattr(tags, "getall"):  # ID3
            pictures += [(frame.type, frame.data, frame.mime) for frame in tags.getall("APIC")]
        covr = tags.get("covr") if hasattr(tags, "get") and not hasattr(tags, "getall") else None
        for cover in covr or []:  # MP4: MP4Cover (bytes) with an image format
            mime = "image/png" if getattr(cover, "imageformat", None) == 14 else "image/jpeg"
            pictures.append((FRONT_COVER, bytes(cover), mime))
        blocks = tags.get("metadata_block_picture") if hasattr(tags, "get") and not hasattr(tags, "getall") else None
        for block in blocks or []:  # Ogg Vorbis / Opus
            from mutagen.flac import Picture

            try:
                picture = Picture(base64.b64decode(block))
            except (ValueError, TypeError, mutagen.MutagenError) as exc:  # a broken block; others may do
                log.debug("bad METADATA_BLOCK_PICTURE in %s: %s", path, exc)
                continue
            pictures.append((picture.type, picture.data, picture.mime))
    pictures = [p for p in pictures if p[1]]
    if not pictures:
        return None
    _, data, mime = min(pictures, key=lambda p: p[0] != FRONT_COVER)
    return data, (mime or "image/jpeg").lower()


def cover_file(path: str | os.PathLike[str], cache: Path) -> Path | None:
    """The cached image file of ``path``'s cover (written on first use), or None when it has none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = hashlib.sha1(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}".encode(),
                       usedforsecurity=False).hexdigest()
    folder = cache / "covers"
    for ext in set(EXTENSIONS.values()):
        if (folder / f"{key}{ext}").is_file():
            return folder / f"{key}{ext}"
    found = embedded_cover(path)
    if found is None:
        return None
    data, mime = found
    target = folder / f"{key}{EXTENSIONS.get(mime, '.jpg')}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(target, data)
    return target
