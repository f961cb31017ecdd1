"""The app's side of radio: one engine :class:`~musicsim.playlists.radio.RadioSession` and what counts as a skip.

:class:`RadioFeed` owns the session while it feeds the queue. Every call into the session (``next``,
``feedback``, ``to_dict``) runs on its own one-thread :class:`~musicsim.app.worker.TaskRunner`, so they
never overlap and happen in the order asked (feedback about a skip reaches the session before the
refill that should steer away from it).

What is a skip (:func:`is_skip`): Next pressed (or another song of the queue chosen) before
:data:`SKIP_SECONDS` seconds, or before a third of a short song. 30 s is where the big streaming services
stop counting a play as a skip (Spotify counts a stream after 30 s); a third keeps a 45-s interlude from
counting as skipped after 16 s. A song that plays to its end is never a skip.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from musicsim.app.worker import TaskRunner
from musicsim.library.records import Track

log = logging.getLogger(__name__)

SKIP_SECONDS = 30.0
SKIP_FRACTION = 1.0 / 3.0
LOW_WATER = 3  # ask for more when fewer songs than this are left to play
REFILL = 10  # songs asked for at a time


def is_skip(listened_s: float, duration_s: float | None) -> bool:
    """Whether leaving a song after ``listened_s`` seconds of its ``duration_s`` counts as skipping it."""
    limit = SKIP_SECONDS if not duration_s else min(SKIP_SECONDS, duration_s * SKIP_FRACTION)
    return listened_s < limit


class RadioSessionLike(Protocol):
    """What the app asks of the engine's radio session."""

    def next(self, k: int = 1) -> list[Any]: ...

    def feedback(self, track_id: int, listened_s: float, skipped: bool) -> None: ...

    def forget(self, track_ids: list[int]) -> None: ...

    def to_dict(self) -> dict: ...


class RadioFeed(QObject):
    """Feeds the queue from one radio session; ``arrived(list[Track])`` carries each refill."""

    arrived = Signal(list)
    failed = Signal(str)

    def __init__(self, session: RadioSessionLike, parent: QObject | None = None,
                 supplied: list[int] | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.supplied: set[int] = set(supplied or ())  # ids the session handed out for this queue
        self._lock = threading.Lock()
        self._tasks = TaskRunner(self, threads=1)
        self._asked = False  # a refill is on its way
        self._stopped = False

    @property
    def waiting(self) -> bool:
        """A refill was asked for and has not arrived yet."""
        return self._asked

    def request(self, k: int = REFILL) -> None:
        """Ask the session for ``k`` more songs (once at a time); they come with ``arrived``."""
        if self._asked or self._stopped:
            return
        self._asked = True
        self._tasks.submit(self._call(lambda s: [item.track for item in s.next(k)]), self._on_arrived,
                           self._on_failed, name="radio refill")

    def feedback(self, track: Track, listened_s: float, skipped: bool) -> None:
        """Tell the session how ``track`` was listened to (it drifts with plays and steers away from skips)."""
        if self._stopped:
            return
        log.debug("radio feedback: %s listened %.0f s, skipped=%s", track.path, listened_s, skipped)
        self._tasks.submit(self._call(lambda s: s.feedback(track.id, listened_s, skipped)), lambda _r: None,
                           name="radio feedback")

    def forget(self, track_ids: list[int]) -> None:
        """Songs handed out but never played go back to the session (they were dropped from the queue)."""
        if self._stopped or not track_ids:
            return
        self.supplied.difference_update(track_ids)
        ids = list(track_ids)
        self._tasks.submit(self._call(lambda s: s.forget(ids)), lambda _r: None, name="radio forget")

    def to_dict(self) -> dict:
        """The session's state for the queue file (waits for a call in progress, a few milliseconds)."""
        with self._lock:
            return self._session.to_dict()

    def stop(self) -> None:
        """This feed no longer fills the queue: refills still in flight are dropped."""
        self._stopped = True

    def wait(self, msecs: int = -1) -> bool:
        return self._tasks.wait(msecs)

    def _call(self, fn: Callable[[RadioSessionLike], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with self._lock:
                return fn(self._session)
        return run

    def _on_arrived(self, tracks: list[Track]) -> None:
        self._asked = False
        if not self._stopped:
            self.supplied.update(t.id for t in tracks)
            self.arrived.emit(tracks)

    def _on_failed(self, message: str) -> None:
        self._asked = False
        if not self._stopped:
            self.failed.emit(message)
