"""Writing files safely: one atomic-write helper for every file musicsim writes, and file hashing.

Every file musicsim writes (index, sidecars, playlists, model files, reports, caches) goes through
:func:`atomic_write`: the data goes to a temporary file beside the target, is flushed and fsynced,
checked, and only then renamed over the target, so a crash, a full disk or a kill leaves either the
old file or the new one, never a mix. Errors name the file the user asked for, never the temporary one,
and say in plain words what is wrong (read-only disk, disk full with how much room is free and needed).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
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


def format_bytes(n: float) -> str:
    """``n`` bytes for people: ``512 bytes``, ``3.4 MB``, ``1.2 GB`` (powers of 1000, as disks are sold)."""
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000.0
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"  # pragma: no cover - the loop always returns


def free_bytes(folder: PathLike) -> int | None:
    """Bytes an unprivileged writer may still use on ``folder``'s disk (None when unknown)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # Windows has no statvfs
        try:
            import shutil

            return shutil.disk_usage(folder).free
        except OSError:
            return None
    return st.f_bavail * st.f_frsize


def is_read_only_disk(folder: PathLike) -> bool:
    """``folder`` lies on a file system mounted read-only (root cannot write there either)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def disk_full_reason(folder: PathLike, needed: int | None = None) -> str:
    """Why a write to ``folder``'s disk failed: ``the disk is full (1.2 MB free, about 40.0 MB needed)``."""
    free = free_bytes(folder)
    parts = [] if free is None else [f"{format_bytes(free)} free"]
    if needed:
        parts.append(f"about {format_bytes(needed)} needed")
    return "the disk is full" + (f" ({', '.join(parts)})" if parts else "")


def describe_os_error(exc: OSError, folder: PathLike | None = None, needed: int | None = None) -> str:
    """A reason for people: read-only, disk full (with the room free and ``needed`` on ``folder``'s
    disk when given), permission denied, ..."""
    code = exc.errno
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_reason(folder, needed) if folder is not None else "the disk is full"
    if code == errno.ENAMETOOLONG:
        return "the path is too long"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EISDIR:
        return "it is a folder"
    if code == errno.ENOENT:
        return "its folder does not exist"
    if code == errno.EEXIST:
        return "it already exists"
    if code == errno.ENOTDIR:
        return "a part of its path is not a folder"
    return exc.strerror or str(exc)


@contextmanager
def atomic_output(path: PathLike, mode: int | None = None, verify: Callable[[Path], None] | None = None,
                  needed: int | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on normal exit it is fsynced, checked and renamed to ``path``.

    For writers that need a file name (hnswlib, torch, matplotlib, mutagen). ``mode``: the file's permissions
    (default: what the umask gives a new file). ``verify(tmp)`` may raise to refuse what was written
    (see :func:`check_size`); the old file then stays. ``needed``: about how many bytes the file takes
    (said when the disk is full). ``suffix`` ends the temporary name (readers that go by the extension need
    the target's, e.g. ``.tmp.mp3``). Any failure, the writer's own included (hnswlib and torch raise
    RuntimeError), becomes a :class:`WriteError` naming ``path``, never the temporary file, which
    never outlives the call.
    """
    target = Path(path)
    folder = target.parent
    try:
        import tempfile  # here: reading commands never write, nor pay for tempfile's import

        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=suffix)
    except OSError as exc:
        raise _write_error(exc, target, needed) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except (OSError, RuntimeError, ValueError) as exc:  # the writer's own failure
            if isinstance(exc, WriteError):
                raise
            if not isinstance(exc, OSError):
                low = free_bytes(folder)
                if low is not None and low < max(needed or 0, 64 * 1024):  # a writer's vague error on a full disk
                    exc = OSError(errno.ENOSPC, str(exc))
                else:
                    message = str(exc).replace(str(tmp), str(target))
                    raise WriteError(None, f"cannot write {target}: {message}", target) from exc
            raise _write_error(exc, target, needed) from exc
        with open(tmp, "rb+") as f:  # the writer may have closed its own handle without fsync
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        os.chmod(tmp, default_file_mode() if mode is None else mode)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except WriteError:
        raise
    except OSError as exc:
        raise _write_error(exc, target, needed) from exc
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("could not remove the temporary file %s", tmp, exc_info=True)


def _write_error(exc: OSError, target: Path, needed: int | None) -> WriteError:
    return WriteError(exc.errno, f"cannot write {target}: {describe_os_error(exc, target.parent, needed)}", target)


def check_size(tmp: Path, target: PathLike, expected: int | None = None, minimum: int | None = None) -> None:
    """Refuse what a writer left in ``tmp`` (for ``target``) when it is not ``expected`` bytes long or
    under ``minimum`` bytes: a full disk can make a write "succeed" short (hnswlib's save returns
    normally on ENOSPC). Raises :class:`WriteError` naming ``target``."""
    size = tmp.stat().st_size
    if expected is not None and size > expected:
        raise WriteError(None, f"cannot write {target}: {size} bytes were written, {expected} expected", target)
    want = expected if expected is not None else minimum
    if want is not None and size < want:
        folder = Path(target).parent
        free = free_bytes(folder)
        why = disk_full_reason(folder, want) if free is None or free < want else "the write came back short"
        at_least = "" if expected is not None else "at least "
        raise WriteError(errno.ENOSPC, f"cannot write {target}: only {size} of {at_least}{want} bytes were written; "
                                       f"{why}", target)


def atomic_write(path: PathLike, data: bytes | str, mode: int | None = None) -> Path:
    """Write ``data`` (str: UTF-8 with ``\\n`` line ends) to ``path`` atomically; returns ``path``.

    The size on disk is checked against what was meant before the rename (a full disk can make a
    write "succeed" short). Raises :class:`WriteError` naming ``path``.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_output(path, mode=mode, verify=lambda tmp: check_size(tmp, path, expected=len(payload)),
                       needed=len(payload)) as tmp:
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
