"""Noticing new, changed or removed audio files in the music folder while the app runs.

Only audio files count: a playlist the app (or anyone) saves into the folder, a cover image, an
editor's temporary file change a folder without changing the library, and re-reading the folder for
them would replace the "Playlist saved" message with a "Folder read" one for nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

from musicsim.library.scanner import is_audio_name

log = logging.getLogger(__name__)

MAX_WATCHED_DIRS = 4000  # inotify watches are a per-user budget; the periodic check covers the rest


class FolderWatcher(QObject):
    """Watches the music folder's directories and emits ``changed`` once things settle.

    Directory events are debounced (a copy of an album fires many), and a slow periodic check
    catches what the watcher cannot see (network shares, folders beyond the watch budget). An event
    counts only when the folder's audio files or sub-folders differ from what was there before:
    a file appeared, went, or was modified (its mtime moved) since watching began or since the last event.
    """

    changed = Signal()

    def __init__(self, debounce_ms: int = 1500, poll_ms: int = 5 * 60 * 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root: Path | None = None
        self._since_ns = 0  # when watching began: an audio file modified after it changed
        self._known: dict[str, frozenset[str]] = {}  # folder -> audio file names the catalogue holds there
        self._seen: dict[str, tuple[dict[str, int], frozenset[str]]] = {}  # folder -> (audio mtimes, sub-folders)
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
        self._since_ns = time.time_ns()
        dirs: set[str] = {str(self.root)}
        names: dict[str, set[str]] = {}
        for path in track_paths:
            folder, name = os.path.split(path)
            names.setdefault(folder, set()).add(name)
            parent = Path(path).parent
            while parent != self.root and self.root in parent.parents and str(parent) not in dirs:
                dirs.add(str(parent))
                parent = parent.parent
        self._known = {folder: frozenset(n) for folder, n in names.items()}
        self._add(sorted(dirs))
        self._poll.start()

    def clear(self) -> None:
        watched = self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self._poll.stop()
        self._debounce.stop()
        self.root = None
        self._known.clear()
        self._seen.clear()

    def directories(self) -> list[str]:
        return list(self._watcher.directories())

    def _add(self, dirs: list[str]) -> None:
        room = MAX_WATCHED_DIRS - len(self._watcher.directories())
        dirs = [d for d in dirs if os.path.isdir(d)][: max(0, room)]
        if dirs:
            self._watcher.addPaths(dirs)

    @Slot(str)
    def _on_directory_changed(self, path: str) -> None:
        try:
            entries = list(os.scandir(path))
            subdirs = frozenset(e.path for e in entries if e.is_dir(follow_symlinks=False))
            audio = {e.name: e.stat().st_mtime_ns for e in entries if is_audio_name(e.name) and e.is_file()}
        except OSError:  # the folder itself went (or cannot be read): the library changed
            self._seen.pop(path, None)
            self._debounce.start()
            return
        # a new sub-folder (e.g. an album being copied in) gets watched right away
        watched = set(self._watcher.directories())
        self._add([d for d in subdirs if d not in watched])
        before = self._seen.get(path)
        self._seen[path] = (audio, subdirs)
        if before is None:  # the first event here: compare with the catalogue and the time watching began
            changed = (frozenset(audio) != self._known.get(path, frozenset())
                       or any(m > self._since_ns for m in audio.values())
                       or bool(subdirs - watched) or bool({d for d in watched if os.path.dirname(d) == path} - subdirs))
        else:
            changed = (audio, subdirs) != before
        if changed:
            self._debounce.start()
        else:
            log.debug("ignoring a change in %s: no audio file or folder changed", path)
