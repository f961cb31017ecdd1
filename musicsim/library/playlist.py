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


# -- XSPF, and choosing the format by the file's extension ----------------------------------------
# (Added for the listening commands; the M3U8 code above is unchanged.)

XSPF_NS = "http://xspf.org/ns/0/"
M3U_SUFFIXES = (".m3u8", ".m3u")
XSPF_SUFFIXES = (".xspf",)
PLAYLIST_SUFFIXES = M3U_SUFFIXES + XSPF_SUFFIXES


def _xml_text(text: str) -> str:
    """``text`` as XML 1.0 may hold it: characters XML forbids (most control characters, lone
    surrogates from undecodable file names) become U+FFFD."""
    def allowed(c: str) -> bool:
        o = ord(c)
        return (o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF)
    return text if all(allowed(c) for c in text) else "".join(c if allowed(c) else "\ufffd" for c in text)


def file_uri(path: str) -> str:
    """A ``file://`` URI for an absolute path, percent-encoded (spaces, ``#``, ``%``, non-ASCII bytes)."""
    return Path(path).absolute().as_uri()


def xspf_text(tracks: Sequence[Track], title: str | None = None) -> str:
    """An XSPF playlist (XML, UTF-8): per track its ``file://`` location, title, creator (artist),
    album, track number and duration in milliseconds, where known."""
    from xml.etree import ElementTree as ET

    root = ET.Element("playlist", {"version": "1", "xmlns": XSPF_NS})
    if title:
        ET.SubElement(root, "title").text = _xml_text(_clean(title))
    ET.SubElement(root, "creator").text = "musicsim"
    track_list = ET.SubElement(root, "trackList")
    for t in tracks:
        item = ET.SubElement(track_list, "track")
        ET.SubElement(item, "location").text = file_uri(t.path)
        for tag, value in (("title", t.display_title), ("creator", t.artist), ("album", t.album)):
            if value:
                ET.SubElement(item, tag).text = _xml_text(value)
        if t.track_number:
            ET.SubElement(item, "trackNum").text = str(int(t.track_number))
        if t.duration:
            ET.SubElement(item, "duration").text = str(int(round(t.duration * 1000)))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_xspf(tracks: Sequence[Track], out: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write the XSPF playlist to ``out`` (temporary file, then rename); returns the path written."""
    out = Path(out).expanduser().absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, xspf_text(tracks, title))
    return out


def write_playlist(tracks: Sequence[Track], out: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write ``tracks`` to ``out`` as M3U8 (``.m3u8``, ``.m3u``) or XSPF (``.xspf``), by its extension;
    returns the path written. The one entry point every playlist writer (CLI ``--out``, the app) calls.
    Raises ValueError for another extension."""
    suffix = Path(out).suffix.lower()
    if suffix in M3U_SUFFIXES:
        return write_m3u8(tracks, out, title)
    if suffix in XSPF_SUFFIXES:
        return write_xspf(tracks, out, title)
    raise ValueError(f"{os.fspath(out)}: a playlist file name ends in .m3u8, .m3u or .xspf")
