"""Writing files safely: one atomic-write helper for every file musicsim writes, and file hashing.

Every file musicsim writes (index, sidecars, playlists, model files, reports, caches) goes through
:func:`atomic_write`: the data goes to a temporary file beside the target, is flushed and fsynced,
checked, and only then renamed over the target, so a crash, a full disk or a kill leaves either the
old file or the new one, never a mix. Errors name the file the user asked for, never the temporary one.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def sha256_file(path: PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def current_umask() -> int:
    """The process umask (read from /proc where possible: ``os.umask`` has to set it to read it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0666 less the umask)."""
    return 0o666 & ~current_umask()


class WriteError(OSError):
    """Writing a file failed; ``strerror`` names the target file and the reason in plain words."""

    def __init__(self, code: int | None, message: str, target: PathLike) -> None:
        super().__init__(code, message)
        self.target = Path(target)

    def __str__(self) -> str:
        return str(self.strerror)


def describe_os_error(exc: OSError) -> str:
    """A reason for people: read-only, disk full, permission denied, ..."""
    code = exc.errno
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EISDIR:
        return "it is a folder"
    if code == errno.ENOENT:
        return "its folder does not exist"
    if code == errno.ENOTDIR:
        return "a part of its path is not a folder"
    return exc.strerror or str(exc)


@contextmanager
def atomic_output(path: PathLike, mode: int | None = None,
                  verify: Callable[[Path], None] | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it is fsynced, checked and renamed to ``path``.

    For writers that need a file name (hnswlib, torch). ``mode``: the file's permissions (default: what the
    umask gives a new file). ``verify(tmp)`` may raise to refuse what was written (the old file stays).
    ``suffix`` ends the temporary name (readers that go by the extension need the target's, e.g. ``.tmp.mp3``).
    Raises :class:`WriteError` naming ``path`` on failure; the temporary file never outlives the call.
    """
    target = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {target}: {describe_os_error(exc)}", target) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the writer may have closed its own handle without fsync
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        os.chmod(tmp, default_file_mode() if mode is None else mode)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        if isinstance(exc, WriteError):
            raise
        raise WriteError(exc.errno, f"cannot write {target}: {describe_os_error(exc)}", target) from exc
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("could not remove the temporary file %s", tmp, exc_info=True)


def atomic_write(path: PathLike, data: bytes | str, mode: int | None = None) -> Path:
    """Write ``data`` (str: UTF-8 with ``\\n`` line ends) to ``path`` atomically; returns ``path``.

    The size on disk is checked against what was meant before the rename (a full disk can make a
    write "succeed" short). Raises :class:`WriteError` naming ``path``.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def check(tmp: Path) -> None:
        size = tmp.stat().st_size
        if size != len(payload):
            raise WriteError(errno.ENOSPC, f"cannot write {path}: only {size} of {len(payload)} bytes were "
                                           "written (is the disk full?)", path)

    with atomic_output(path, mode=mode, verify=check) as tmp:
        with open(tmp, "wb") as f:
            _write_all(f, payload)
    return Path(path)


def _write_all(f: IO[bytes], payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = f.write(view)
        if not n:
            raise OSError(errno.ENOSPC, "no space left on device")
        view = view[n:]
    f.flush()


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
