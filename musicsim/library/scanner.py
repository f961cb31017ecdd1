"""Walking a music folder for audio files.

Follows symbolic links but never loops, never opens FIFOs or devices, and reports every entry it
cannot use (AppleDouble files, unreadable files, broken links, loops, undecodable names) as a
:class:`Skipped` with a reason a person understands, instead of raising.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from musicsim.audio.names import is_appledouble_name

AUDIO_EXTENSIONS = frozenset({
    ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".wav", ".wave",
    ".aif", ".aiff", ".aifc", ".wma", ".wv", ".ape",
})


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _printable(path: str) -> str:
    """``path`` as valid UTF-8 text (undecodable bytes shown as U+FFFD)."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _stat_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points back to itself)"
    if exc.errno == errno.ENOENT:
        return "broken symbolic link (its target does not exist)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read file information: {exc.strerror or exc}"


def _check_file(path: str, name: str) -> FoundFile | Skipped:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return Skipped(_printable(path), "the file name is not valid UTF-8; rename the file to scan it")
    if is_appledouble_name(name):
        return Skipped(path, "macOS metadata file (AppleDouble '._' file), not audio")
    try:
        st = os.stat(path)
    except OSError as exc:
        return Skipped(path, _stat_reason(exc))
    if not stat.S_ISREG(st.st_mode):
        return Skipped(path, "not a regular file")
    if not os.access(path, os.R_OK):
        return Skipped(path, "permission denied (the file cannot be read)")
    return FoundFile(path, st.st_size, st.st_mtime_ns)


def walk_audio(folder: str | os.PathLike[str]) -> Iterator[FoundFile | Skipped]:
    """Every file with an audio extension under ``folder`` (sorted), or the reason it was skipped.

    Raises ``NotADirectoryError``/``FileNotFoundError`` only for ``folder`` itself.
    """
    root = os.path.abspath(os.fspath(folder))
    if not os.path.isdir(root):
        if os.path.exists(root):
            raise NotADirectoryError(f"{root} is not a folder")
        raise FileNotFoundError(f"{root} does not exist")
    root_st = os.stat(root)
    yield from _walk(root, {(root_st.st_dev, root_st.st_ino)}, [(root_st.st_dev, root_st.st_ino)])


def _walk(folder: str, seen: set[tuple[int, int]], ancestors: list[tuple[int, int]]) -> Iterator[FoundFile | Skipped]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
        yield Skipped(_printable(folder), f"cannot open folder: {reason}")
        return
    subdirs = []
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            subdirs.append(entry)
        elif is_audio_name(entry.name):
            yield _check_file(entry.path, entry.name)
    for entry in subdirs:
        try:
            st = os.stat(entry.path)
        except OSError as exc:
            yield Skipped(_printable(entry.path), _stat_reason(exc))
            continue
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            yield Skipped(_printable(entry.path), "symbolic link loop (the link points to a folder that contains it)")
            continue
        if key in seen:
            continue  # a second link to a folder already scanned: its files are already listed
        seen.add(key)
        ancestors.append(key)
        yield from _walk(entry.path, seen, ancestors)
        ancestors.pop()
