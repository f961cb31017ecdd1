"""Playlist files: extended M3U8 and XSPF, one writer function per format, one safety rule for all.

Every writer makes exactly one entry per track whatever its file name holds. The rule (:func:`m3u_location`,
:func:`file_uri`): a path goes into a line-based format as it is only when it is one plain line (no
control characters, no line or paragraph separators, no leading or trailing blanks); otherwise it is
written as a percent-encoded ``file://`` URI, which every player reads. XSPF always uses URIs, and its
text fields hold only characters XML allows. Titles are cleaned the same way (line breaks become spaces).

Where a playlist may be written is one rule too (:func:`check_target`): the parent folder must exist
(it is never created), nothing inside musicsim's data folder, never over a file that is not a
playlist, and over an existing playlist only when the caller says so (``replace``; the CLI's ``--force``).
Files are written atomically (:mod:`musicsim.fileio`).
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from musicsim.fileio import atomic_write
from musicsim.library.records import Track

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
# File name suffix -> format.
SUFFIXES = {".m3u8": "m3u8", ".m3u": "m3u8", ".xspf": "xspf"}
PLAYLIST_SUFFIXES = tuple(SUFFIXES)
XSPF_NS = "http://xspf.org/ns/0/"
SNIFF_BYTES = 64 * 1024
# Characters that end or hide a line for some player: controls (\n, \r, \x85, ESC...), separators.
_LINE_UNSAFE = frozenset({"Cc", "Zl", "Zp"})


class PlaylistTargetError(ValueError):
    """A playlist must not be written there; ``str()`` says why in plain words."""


class PlaylistExists(PlaylistTargetError):
    """The target is an existing playlist and replacing it was not asked for."""


# -- the safety rule for names ---------------------------------------------------------------


def one_line(text: str) -> str:
    """``text`` as one line: control characters and line/paragraph separators become spaces, runs of
    blanks one space."""
    return " ".join("".join(" " if unicodedata.category(c) in _LINE_UNSAFE else c for c in text).split())


def is_plain_line(text: str) -> bool:
    """``text`` can be written as one line of a line-based playlist and read back exactly."""
    return bool(text) and text == text.strip() and not any(unicodedata.category(c) in _LINE_UNSAFE for c in text)


def file_uri(path: PathLike) -> str:
    """The absolute ``file://`` URI of ``path``, percent-encoded (newlines, ``#``, spaces... included)."""
    return Path(path).absolute().as_uri()


def m3u_location(path: PathLike) -> str:
    """How ``path`` is written on an M3U8 path line: the absolute path when it is a plain line (and
    does not start with ``#``), else its ``file://`` URI."""
    absolute = str(Path(path).absolute())
    if is_plain_line(absolute) and not absolute.startswith("#"):
        return absolute
    log.info("%r is written to the playlist as a file:// URI (its name holds control characters)", absolute)
    return file_uri(absolute)


# -- formats -----------------------------------------------------------------------------------


def m3u8_text(tracks: Sequence[Track], title: str | None = None) -> str:
    """``#EXTM3U`` then, per track, ``#EXTINF:<seconds>,<artist> - <title>`` and its location."""
    lines = ["#EXTM3U"]
    if title:
        lines.append(f"#PLAYLIST:{one_line(title)}")
    for t in tracks:
        seconds = int(round(t.duration)) if t.duration else -1
        lines.append(f"#EXTINF:{seconds},{one_line(t.label())}")
        lines.append(m3u_location(t.path))
    return "\n".join(lines) + "\n"


def _xml_text(text: str) -> str:
    """One line of XML character data: line breaks and controls as for M3U8 (:func:`one_line`), and the
    characters XML 1.0 cannot hold (lone surrogates from undecodable names, U+FFFE/U+FFFF) as U+FFFD."""
    def allowed(c: str) -> bool:
        o = ord(c)
        return 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF
    return "".join(c if allowed(c) else "\ufffd" for c in one_line(text))


def xspf_text(tracks: Sequence[Track], title: str | None = None) -> str:
    """An XSPF playlist (XML, UTF-8): per track its ``file://`` location, title, creator (artist), album,
    track number and duration in milliseconds, where known."""
    root = ET.Element("playlist", {"version": "1", "xmlns": XSPF_NS})
    if title:
        ET.SubElement(root, "title").text = _xml_text(title)
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


WRITERS: dict[str, Callable[[Sequence[Track], str | None], str]] = {"m3u8": m3u8_text, "xspf": xspf_text}


def playlist_format(out: PathLike) -> str:
    """The format a file name asks for (``m3u8`` for ``.m3u8``/``.m3u``, ``xspf`` for ``.xspf``);
    ValueError for any other name."""
    fmt = SUFFIXES.get(Path(out).suffix.lower())
    if fmt is None:
        raise ValueError(f"{os.fspath(out)}: a playlist file name ends in .m3u8, .m3u or .xspf")
    return fmt


# -- where a playlist may be written -------------------------------------------------------------


def is_playlist_file(path: PathLike) -> bool:
    """``path`` is an empty file or reads as a playlist (M3U text, or XSPF XML) with a playlist suffix."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    if not head:
        return True
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if SUFFIXES[path.suffix.lower()] == "xspf":
        return text.startswith("<") and "<playlist" in text
    if text.startswith("#EXTM3U"):
        return True
    # A plain M3U: lines of paths, URLs and comments; no binary, nothing but text.
    return text.count("\ufffd") == 0 and all(c.isprintable() or c in "\t\r\n" for c in text)


def check_target(out: PathLike, *, protected: Sequence[PathLike] = (), replace: bool = False) -> Path:
    """Where a playlist asked for at ``out`` may be written (absolute), or :class:`PlaylistTargetError`.

    The one overwrite rule for every playlist writer: the parent folder must exist (never created
    silently); nothing inside a ``protected`` folder (musicsim's data folder: its catalogue, index and
    log); never over a folder or a file that is not a playlist (a song, a catalogue...); over an existing
    playlist only with ``replace`` (else :class:`PlaylistExists`).
    """
    target = Path(out).expanduser().absolute()
    parent = target.parent
    if not parent.is_dir():
        if parent.exists():
            raise PlaylistTargetError(f"Cannot write {target}: {parent} is not a folder.")
        raise PlaylistTargetError(f"Cannot write {target}: the folder {parent} does not exist (create it first).")
    real = Path(os.path.realpath(target))
    for folder in protected:
        home = Path(os.path.realpath(folder))
        if real == home or home in real.parents:
            raise PlaylistTargetError(f"Cannot write {target}: it is inside musicsim's data folder {home}, which holds "
                                      "the catalogue and index; write playlists somewhere else.")
    if target.is_dir():
        raise PlaylistTargetError(f"Cannot write {target}: it is a folder.")
    if os.path.lexists(target):
        if not is_playlist_file(target):
            raise PlaylistTargetError(f"Cannot write {target}: a file that is not a playlist is already there, and "
                                      "musicsim never replaces one; choose another name.")
        if not replace:
            raise PlaylistExists(f"{target} already exists.")
    return target


def write_playlist(tracks: Sequence[Track], out: PathLike, title: str | None = None, *,
                   protected: Sequence[PathLike] = (), replace: bool = False, fmt: str | None = None) -> Path:
    """Write ``tracks`` to ``out`` (M3U8 or XSPF by its suffix, unless ``fmt``) after :func:`check_target`;
    atomically (temporary file, then rename). Returns the path written. The one entry point every
    playlist writer (the CLI's ``--out``, the app's export) calls."""
    target = check_target(out, protected=protected, replace=replace)
    writer = WRITERS[fmt or playlist_format(target)]
    atomic_write(target, writer(tracks, title))
    return target


def write_m3u8(tracks: Sequence[Track], out: PathLike, title: str | None = None, *,
               protected: Sequence[PathLike] = (), replace: bool = True) -> Path:
    """Write an M3U8 playlist to ``out`` (see :func:`write_playlist`); returns the path written."""
    return write_playlist(tracks, out, title, protected=protected, replace=replace, fmt="m3u8")
