"""Embedded cover art (for MPRIS's mpris:artUrl): read from each tag format, cached once per file version."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from musicsim.library.artwork import cover_file, embedded_cover

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E"
                       "rkJggg==")
JPEG = b"\xff\xd8\xff\xe0" + b"not really a jpeg, but bytes are bytes" + b"\xff\xd9"


def flac_picture(data: bytes, mime: str, kind: int = 3):
    from mutagen.flac import Picture

    p = Picture()
    p.type, p.mime, p.data = kind, mime, data
    return p


def test_each_format_gives_its_front_cover(tmp_path: Path, write_song) -> None:
    import mutagen
    from mutagen.flac import FLAC
    from mutagen.id3 import APIC, ID3
    from mutagen.mp4 import MP4, MP4Cover

    mp3 = write_song(tmp_path / "a.mp3", seed=1, seconds=2.0, title="A")
    tags = ID3(mp3)
    tags.add(APIC(encoding=3, mime="image/jpeg", type=4, desc="back", data=b"back"))
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="front", data=PNG))
    tags.save()
    assert embedded_cover(mp3) == (PNG, "image/png")  # the front cover, not the first picture

    flac = write_song(tmp_path / "b.flac", seed=2, seconds=2.0, title="B")
    f = FLAC(flac)
    f.add_picture(flac_picture(JPEG, "image/jpeg"))
    f.save()
    assert embedded_cover(flac) == (JPEG, "image/jpeg")

    m4a = write_song(tmp_path / "c.m4a", seed=3, seconds=2.0, title="C")
    f = MP4(m4a)
    f["covr"] = [MP4Cover(PNG, imageformat=MP4Cover.FORMAT_PNG)]
    f.save()
    assert embedded_cover(m4a) == (PNG, "image/png")

    ogg = write_song(tmp_path / "d.ogg", seed=4, seconds=2.0, title="D")
    f = mutagen.File(ogg)
    f["metadata_block_picture"] = [base64.b64encode(flac_picture(PNG, "image/png").write()).decode()]
    f.save()
    assert embedded_cover(ogg) == (PNG, "image/png")

    bare = write_song(tmp_path / "e.flac", seed=5, seconds=2.0, title="E")
    assert embedded_cover(bare) is None
    (tmp_path / "junk.mp3").write_bytes(b"not audio")
    assert embedded_cover(tmp_path / "junk.mp3") is None


def test_cover_file_is_written_once_per_file_version(tmp_path: Path, write_song) -> None:
    from mutagen.flac import FLAC

    song = write_song(tmp_path / "s.flac", seed=6, seconds=2.0, title="S")
    f = FLAC(song)
    f.add_picture(flac_picture(PNG, "image/png"))
    f.save()
    cache = tmp_path / "cache"
    first = cover_file(song, cache)
    assert first is not None and first.suffix == ".png" and first.read_bytes() == PNG
    assert cover_file(song, cache) == first
    st = os.stat(song)
    os.utime(song, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed: a new picture file
    second = cover_file(song, cache)
    assert second is not None and second != first
    assert cover_file(write_song(tmp_path / "none.flac", seed=7, seconds=2.0), cache) is None
