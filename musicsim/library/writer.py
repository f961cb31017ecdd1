"""One writer per library at a time: an OS file lock (``writer.lock``) in the data folder.

Scanning (cataloguing and analysis) holds it, in the CLI and the app alike; a second writer waits,
saying who holds the lock, and finds the work already done when it gets its turn. Reading never takes
it (SQLite's WAL lets readers work during a scan). The lock is ``flock`` on POSIX and ``msvcrt.locking``
on Windows: the OS drops it when its process dies, even by kill -9, so a stale lock file never blocks
anyone. The file also says who holds it (process id, what it does, since when), written in place:
the lock lives on that file's inode, so it is the one file musicsim does not replace atomically.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from musicsim.fileio import WriteError, describe_os_error

log = logging.getLogger(__name__)

LOCK_FILE = "writer.lock"
POLL_S = 0.2


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


class WriterLock:
    """The writer lock of the library in ``folder``; re-entrant within a process (a scan holds it across
    cataloguing and analysis), exclusive between threads and between processes."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def holder(self) -> str:
        """Who holds the lock, for people ("process 1234, scanning /music, since 14:02")."""
        try:
            with open(self.path, encoding="utf-8") as f:
                info = json.loads(f.read() or "{}")
        except (OSError, ValueError):
            return "another musicsim"
        if not isinstance(info, dict):
            return "another musicsim"
        since = time.strftime("%H:%M", time.localtime(float(info.get("since", 0)))) if info.get("since") else "?"
        where = "" if info.get("host") in (None, socket.gethostname()) else f" on {info['host']}"
        return f"another musicsim (process {info.get('pid', '?')}{where}, {info.get('what', 'working')}, since {since})"

    @contextmanager
    def held(self, what: str, on_wait: Callable[[str], None] | None = None,
             cancel: threading.Event | None = None) -> Iterator[bool]:
        """Hold the lock inside the block; yields True, or False when ``cancel`` was set while waiting
        (nothing is held then). ``on_wait(message)`` is called once if another writer has to finish first.
        Raises :class:`~musicsim.fileio.WriteError` when the lock file cannot be made."""
        if not self._acquire(what, on_wait, cancel):
            yield False
            return
        try:
            yield True
        finally:
            self._release()

    def _acquire(self, what: str, on_wait: Callable[[str], None] | None, cancel: threading.Event | None) -> bool:
        told = False

        def wait(message: str) -> bool:  # False: cancelled
            nonlocal told
            if not told:
                told = True
                log.info("%s", message)
                if on_wait is not None:
                    on_wait(message)
            if cancel is not None:
                return not cancel.wait(POLL_S)
            time.sleep(POLL_S)
            return True

        while not self._threads.acquire(timeout=POLL_S):  # another thread of this process is writing
            if not wait("Another task of this musicsim is changing the library; waiting for it to finish..."):
                return False
        if self._depth:
            self._depth += 1
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            self._threads.release()
            raise WriteError(exc.errno, f"cannot write {self.path}: {describe_os_error(exc, self.path.parent)}",
                             self.path) from exc
        try:
            while not _try_lock(fd):
                if not wait(f"The library is being changed by {self.holder()}; waiting for it to finish "
                            "(reading commands work meanwhile)..."):
                    os.close(fd)
                    self._threads.release()
                    return False
        except BaseException:
            os.close(fd)
            self._threads.release()
            raise
        self._fd, self._depth = fd, 1
        if told:
            log.info("the other writer finished; going on")
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what, "since": time.time()})
        try:
            os.ftruncate(fd, 0)
            os.write(fd, info.encode("utf-8"))
        except OSError:
            log.debug("could not write who holds %s", self.path, exc_info=True)
        return True

    def _release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            except OSError:
                log.debug("could not clear %s", self.path, exc_info=True)
            try:
                _unlock(fd)
            finally:
                os.close(fd)
        self._threads.release()
