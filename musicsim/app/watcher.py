"""Noticing new, changed or removed files in the music folder while the app runs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

MAX_WATCHED_DIRS = 4000  # inotify watches are a per-user budget; the periodic check covers the rest


class FolderWatcher(QObject):
    """Watches the music folder's directories and emits ``changed`` once things settle.

    Directory events are debounced (a copy of an album fires many), and a slow periodic check
    catches what the watcher cannot see (network shares, folders beyond the watch budget).
    """

    changed = Signal()

    def __init__(self, debounce_ms: int = 1500, poll_ms: int = 5 * 60 * 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root: Path | None = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_directory_changed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.changed)
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self.changed)

    def watch(self, root: str | os.PathLike[str] | None, track_paths: Iterable[str] = ()) -> None:
        """Watch ``root`` and every folder holding one of ``track_paths`` (and the folders between)."""
        self.clear()
        if root is None:
            return
        self.root = Path(root)
        dirs: set[str] = {str(self.root)}
        for path in track_paths:
            parent = Path(path).parent
            while parent != self.root and self.root in parent.parents and str(parent) not in dirs:
                dirs.add(str(parent))
                parent = parent.parent
        self._add(sorted(dirs))
        self._poll.start()

    def clear(self) -> None:
        watched = self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self._poll.stop()
        self._debounce.stop()
        self.root = None

    def directories(self) -> list[str]:
        return list(self._watcher.directories())

    def _add(self, dirs: list[str]) -> None:
        room = MAX_WATCHED_DIRS - len(self._watcher.directories())
        dirs = [d for d in dirs if os.path.isdir(d)][: max(0, room)]
        if dirs:
            self._watcher.addPaths(dirs)

    @Slot(str)
    def _on_directory_changed(self, path: str) -> None:
        # a new sub-folder (e.g. an album being copied in) gets watched right away
        try:
            subdirs = [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
        except OSError:
            subdirs = []
        known = set(self._watcher.directories())
        self._add([d for d in subdirs if d not in known])
        self._debounce.start()
