"""Logging set-up for the command line and the app: a rotating log file in the data folder.

Modules log with ``logging.getLogger(__name__)``; :func:`setup_logging` (called once by each front
end) sends INFO and above to ``<data dir>/musicsim.log`` (rotated at 2 MB, three old files kept) and
warnings (or everything, with ``debug``) to the console. A data folder that cannot be written never
stops a command: the file handler is then left out and a console warning says why; a log file that
stops taking writes (a full disk) is dropped after one console warning, never a traceback per message.
Console lines are terminal-safe (file names with escape sequences are shown escaped). The rotation is
done here, on :class:`logging.FileHandler`: ``logging.handlers`` (sockets, queues) would cost every
reading command its import.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from musicsim.fileio import describe_os_error
from musicsim.formatting import terminal_safe

LOG_FILE = "musicsim.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d:%(threadName)s] %(message)s"

_HANDLER_TAG = "_musicsim_handler"


class _ConsoleFormatter(logging.Formatter):
    """One line per message on the console: tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        return f"musicsim: {record.levelname.lower()}: {terminal_safe(record.getMessage())}"


class _LogFile(logging.FileHandler):
    """The log file, rotated as ``logging.handlers.RotatingFileHandler`` does (``musicsim.log.1`` ... ``.3``
    once it would pass :data:`MAX_BYTES`); when a write fails (full disk, the disk went away) it says so
    once on ``console`` and stops, instead of logging's traceback on every message."""

    def __init__(self, path: Path, console: TextIO) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=False)
        self.console = console
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        try:
            if self._full(record):
                self._rotate()
        except Exception:  # noqa: BLE001 - reported once by handleError, as logging does
            self.handleError(record)
            return
        super().emit(record)

    def _full(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        if not os.path.isfile(self.baseFilename):  # a device or a pipe is never rotated
            return False
        self.stream.seek(0, 2)  # the end, even if another process wrote meanwhile
        return self.stream.tell() + len(f"{self.format(record)}{self.terminator}") >= MAX_BYTES

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        for i in range(BACKUPS - 1, 0, -1):
            older = f"{self.baseFilename}.{i}"
            if os.path.exists(older):
                os.replace(older, f"{self.baseFilename}.{i + 1}")
        os.replace(self.baseFilename, f"{self.baseFilename}.1")
        self.stream = self._open()

    def handleError(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        self.broken = True
        exc = sys.exc_info()[1]
        reason = describe_os_error(exc, Path(self.baseFilename).parent) if isinstance(exc, OSError) else str(exc)
        try:
            self.console.write(f"musicsim: warning: cannot write the log file {terminal_safe(self.baseFilename)} "
                               f"({reason}); logging to the console only\n")
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the last buffered lines cannot be flushed to a full disk
            if not self.broken:
                raise


def log_path(data_dir: str | os.PathLike[str]) -> Path:
    """Where the log file of the library in ``data_dir`` lives."""
    return Path(data_dir) / LOG_FILE


def setup_logging(data_dir: str | os.PathLike[str] | None, debug: bool = False,
                  console: TextIO | None = None) -> Path | None:
    """Configure the ``musicsim`` logger; returns the log file's path (None when it cannot be written).

    Idempotent: handlers set up by an earlier call are replaced, never added twice.
    """
    logger = logging.getLogger("musicsim")
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_TAG, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False

    stream = logging.StreamHandler(console or sys.stderr)
    stream.setLevel(logging.DEBUG if debug else logging.WARNING)
    stream.setFormatter(logging.Formatter(FORMAT) if debug else _ConsoleFormatter())
    setattr(stream, _HANDLER_TAG, True)
    logger.addHandler(stream)

    if data_dir is None:
        return None
    path = log_path(data_dir)
    try:
        handler = _LogFile(path, console or sys.stderr)
    except OSError as exc:
        logger.warning("cannot write the log file %s (%s); logging to the console only", path,
                       describe_os_error(exc, path.parent))
        return None
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    setattr(handler, _HANDLER_TAG, True)
    logger.addHandler(handler)
    return path
