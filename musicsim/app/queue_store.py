"""The queue between launches: ``queue.json`` in the data folder (written atomically through musicsim.fileio).

The file holds the songs by path (ids change when a catalogue is rebuilt; paths are what the user
has), the current row, the position in the current song, where the queue came from and, for a radio
queue, the engine's radio session (``RadioSession.to_dict()``). A song whose file is gone, or that the
catalogue no longer holds, is left out when the queue is read back, and the user is told how many.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from musicsim.app.queue import QueueSource
from musicsim.fileio import atomic_write
from musicsim.library.records import Track

log = logging.getLogger(__name__)

QUEUE_FILE = "queue.json"
FORMAT = 1


@dataclass
class SavedQueue:
    """A queue as stored: paths in play order, the current row, the position in it (ms), source, radio state."""

    paths: list[str] = field(default_factory=list)
    current: int | None = None
    position_ms: int = 0
    source: QueueSource | None = None
    radio: dict | None = None

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "paths": self.paths, "current": self.current,
                           "position_ms": self.position_ms,
                           "source": None if self.source is None else self.source.to_dict(),
                           "radio": self.radio}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SavedQueue:
        """Raises ValueError on anything but a queue file this version writes."""
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a musicsim queue file (or one from another version)")
        paths = d.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("the song list is damaged")
        current = d.get("current")
        current = current if isinstance(current, int) and 0 <= current < len(paths) else None
        position = d.get("position_ms")
        radio = d.get("radio")
        return cls(paths=paths, current=current, position_ms=position if isinstance(position, int) else 0,
                   source=QueueSource.from_dict(d.get("source")), radio=radio if isinstance(radio, dict) else None)


@dataclass
class RestoredQueue:
    """A saved queue matched to the catalogue: the songs still there, the current row among them."""

    tracks: list[Track]
    current: int | None
    position_ms: int
    source: QueueSource | None
    radio: dict | None
    missing: list[str]  # paths left out: the file is gone or the catalogue does not hold it


def restore(saved: SavedQueue, by_path: Mapping[str, Track]) -> RestoredQueue:
    """Match ``saved`` to the catalogue (``by_path``); songs whose file vanished are left out.

    The current row follows its song; when that song is gone, nothing is current and the position is dropped.
    """
    tracks: list[Track] = []
    missing: list[str] = []
    current: int | None = None
    for row, path in enumerate(saved.paths):
        track = by_path.get(path)
        if track is None or not os.path.isfile(path):
            missing.append(path)
            continue
        if row == saved.current:
            current = len(tracks)
        tracks.append(track)
    return RestoredQueue(tracks, current, saved.position_ms if current is not None else 0, saved.source,
                         saved.radio, missing)


class QueueFile:
    """Reads and writes one queue file; :meth:`write` may run on any thread (a newer save always wins)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._written = 0  # sequence number of the last save on disk

    def read(self) -> SavedQueue | None:
        """The saved queue; None when there is none. A damaged file is logged and set aside, never fatal."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:
            log.warning("could not read the saved queue %s", self.path, exc_info=True)
            return None
        try:
            return SavedQueue.from_json(text)
        except ValueError as exc:
            log.warning("the saved queue %s could not be read (%s); starting with an empty queue", self.path, exc)
            return None

    def write(self, saved: SavedQueue, seq: int) -> None:
        """Write ``saved`` unless a save with a higher ``seq`` is already on disk (saves may finish out of order)."""
        with self._lock:
            if seq < self._written:
                return
            atomic_write(self.path, saved.to_json())
            self._written = seq
