"""Walking a music folder for audio files.

Follows symbolic links but never loops, never opens FIFOs or devices, and reports every entry it
cannot use (AppleDouble files, unreadable files, broken links, loops, undecodable names, folders it
cannot enter or whose path is too long) as a :class:`Skipped` with a reason a person understands,
instead of raising. The walk is iterative (an explicit stack), so folder depth has no limit.
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
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for this system"
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
    """Every file with an audio extension under ``folder`` (sorted, depth first: a folder's files, then
    its subfolders in name order), or the reason it was skipped.

    Raises ``NotADirectoryError``/``FileNotFoundError`` only for ``folder`` itself.
    """
    root = os.path.abspath(os.fspath(folder))
    if not os.path.isdir(root):
        if os.path.exists(root):
            raise NotADirectoryError(f"{root} is not a folder")
        raise FileNotFoundError(f"{root} does not exist")
    root_st = os.stat(root)
    root_key = (root_st.st_dev, root_st.st_ino)
    seen = {root_key}  # every folder entered (a second link to one is not walked again)
    ancestors = {root_key}  # the folders on the stack: a link to one of them is a loop
    found, subdirs = _list(root)
    yield from found
    stack: list[tuple[tuple[int, int], Iterator[os.DirEntry[str]]]] = [(root_key, iter(subdirs))]
    while stack:
        key, pending = stack[-1]
        entry = next(pending, None)
        if entry is None:
            stack.pop()
            ancestors.discard(key)
            continue
        try:
            st = os.stat(entry.path)
        except OSError as exc:  # a folder (or a link to one) that cannot be entered
            yield Skipped(_printable(entry.path), f"cannot open folder: {_folder_reason(exc)}")
            continue
        child = (st.st_dev, st.st_ino)
        if child in ancestors:
            yield Skipped(_printable(entry.path), "symbolic link loop (the link points to a folder that contains it)")
            continue
        if child in seen:
            continue  # a second link to a folder already scanned: its files are already listed
        seen.add(child)
        found, subdirs = _list(entry.path)
        yield from found
        stack.append((child, iter(subdirs)))
        ancestors.add(child)


def _folder_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "its path is too long for this system (move or rename folders to shorten it)"
    return exc.strerror or str(exc)


def _list(folder: str) -> tuple[list[FoundFile | Skipped], list[os.DirEntry[str]]]:
    """One folder's audio files (checked, in name order) and its subfolders (in name order)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        return [Skipped(_printable(folder), f"cannot open folder: {_folder_reason(exc)}")], []
    files: list[FoundFile | Skipped] = []
    subdirs = []
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            subdirs.append(entry)
        elif is_audio_name(entry.name):
            files.append(_check_file(entry.path, entry.name))
    return files, subdirs
