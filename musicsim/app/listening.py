"""What plays: the queue, the commands that fill it, the radio that feeds it, and the queue file.

:class:`Listening` owns the :class:`~musicsim.app.queue.QueueModel` (the one record of what plays and
what comes next), the :class:`~musicsim.app.playback.Playback` over the player bar, the
:class:`~musicsim.app.radio.RadioFeed` of a radio queue, and the queue file. The commands:

- :meth:`play_similar` (a new queue: the song, then its similar songs), :meth:`play_list` (a new queue
  from a list the user sees, e.g. the similar-songs preview), :meth:`mix`, :meth:`journey`,
  :meth:`start_radio`: engine builders run off the GUI thread; the newest request wins.
- :meth:`play_next`, :meth:`add_to_queue`, :meth:`remove`, :meth:`move`, :meth:`clear`: edits.

Every builder call gets the user's filters (Preferences) and the open folder's scope. A radio queue
asks its session for more when fewer than :data:`~musicsim.app.radio.LOW_WATER` songs are left and
reports how each song was listened to (a skip: :func:`~musicsim.app.radio.is_skip`). The queue (with
a radio session's state) is saved to ``queue.json`` in the data folder a moment after every change and
on quit, and read back at launch (:mod:`musicsim.app.queue_store`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from musicsim.app.playback import Playback
from musicsim.app.player import PlayerBar
from musicsim.app.queue import QueueModel, QueueSource
from musicsim.app.queue_store import QueueFile, RestoredQueue, SavedQueue, restore
from musicsim.app.radio import LOW_WATER, REFILL, RadioFeed, RadioSessionLike
from musicsim.app.worker import TaskRunner
from musicsim.library.library import Library
from musicsim.library.records import Track

if TYPE_CHECKING:
    from musicsim.playlists.filters import Filters

log = logging.getLogger(__name__)

SAVE_DELAY_MS = 400


def quoted(track: Track) -> str:
    return f"“{track.display_title}”"


def names(tracks: Sequence[Track], most: int = 2) -> str:
    """“A”, “A” and “B”, “A”, “B” and 3 more."""
    shown = [quoted(t) for t in tracks[:most]]
    rest = len(tracks) - len(shown)
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    return " and ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + " and " + shown[-1]


class Listening(QObject):
    """The queue and everything that fills or plays it (see the module docstring)."""

    message = Signal(str)  # a passing message for the status bar
    building = Signal(str)  # a builder started ("" when it finished): what it does, for the Up next header

    def __init__(self, library: Library, tasks: TaskRunner, player: PlayerBar, queue_file: QueueFile,
                 filters: Callable[[], Filters | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.tasks = tasks
        self.queue_file = queue_file
        self._filters = filters
        self.queue = QueueModel(self)
        self.playback = Playback(player, self.queue, self)
        self.player = player
        self.radio: RadioFeed | None = None
        self._radio_dry = False  # the radio said it has nothing more
        self._request = 0  # builder answers (and a restore) older than the newest request are dropped
        self._saves = 0
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        self.queue.changed.connect(self._on_queue_changed)
        self.playback.listened.connect(self._on_listened)
        self.playback.ran_out.connect(self._on_ran_out)

    # ================================================================ new queues
    def play_similar(self, seed: Track, n: int, folder: str | None) -> None:
        """A new queue: ``seed``, then the ``n`` songs most like it (just the seed while it is not analysed)."""
        source = QueueSource("similar", f"Similar to {quoted(seed)}")
        if seed.status != "analysed":
            self._new_queue([seed], source)
            self.message.emit(f"{quoted(seed)} has not been analysed yet: it plays alone." if seed.status == "pending"
                              else f"{quoted(seed)} could not be analysed: it plays alone.")
            return
        library, filters = self.library, self._filters()
        # the seed plays at once; its similar songs follow as soon as they are found
        self._new_queue([seed], source)
        request = self._request

        def find() -> list[Track]:
            return [s.track for s in library.similar(seed.id, n=n, root=folder, filters=filters)]

        def found(tracks: list[Track]) -> None:
            if request == self._request:
                self.queue.append(tracks)
                self.playback.continue_if_waiting()

        self._run(find, found, "Finding similar songs…", "Could not find similar songs")

    def play_list(self, tracks: Sequence[Track], row: int, source: QueueSource) -> None:
        """A new queue of ``tracks`` (a list the user sees), playing ``row`` of it first."""
        self._new_queue(tracks, source, row)

    def mix(self, seeds: Sequence[Track], n: int, folder: str | None) -> None:
        """A new queue of ``n`` songs near all ``seeds`` at once (each seed's neighbourhood represented)."""
        library, filters, ids = self.library, self._filters(), [s.id for s in seeds]
        source = QueueSource("mix", f"Mix of {names(seeds)}")
        self._build(lambda: [s.track for s in library.mix(ids, n=n, root=folder, filters=filters)], source,
                    "Mixing…", "Could not make the mix")

    def journey(self, start: Track, end: Track, n: int, folder: str | None) -> None:
        """A new queue of ``n`` songs from ``start`` to ``end`` (both included), each a step towards ``end``."""
        library, filters = self.library, self._filters()
        source = QueueSource("journey", f"Journey from {quoted(start)} to {quoted(end)}")
        self._build(lambda: [s.track for s in library.journey(start.id, end.id, n=n, root=folder, filters=filters)],
                    source, "Finding the way…", "Could not make the journey")

    def start_radio(self, seeds: Sequence[Track], folder: str | None) -> None:
        """A new radio queue: the first seed, then an endless stream near the seeds that follows listening."""
        library, filters, ids = self.library, self._filters(), [s.id for s in seeds]
        source = QueueSource("radio", f"Radio from {names(seeds)}")
        self._request += 1
        request = self._request

        def begin() -> tuple[Any, list[Track]]:
            session = library.radio(ids, root=folder, filters=filters)
            return session, [s.track for s in session.next(REFILL)]

        def begun(result: tuple[RadioSessionLike, list[Track]]) -> None:
            if request != self._request:
                return
            session, tracks = result
            self._new_queue([seeds[0], *tracks], source,
                            radio=RadioFeed(session, self, supplied=[t.id for t in tracks]))

        self._run(begin, begun, "Tuning in…", "Could not start the radio", request)

    def _build(self, fn: Callable[[], list[Track]], source: QueueSource, doing: str, failure: str) -> None:
        self._request += 1
        request = self._request

        def built(tracks: list[Track]) -> None:
            if request != self._request:
                return
            if not tracks:
                self.message.emit(f"{failure}: no songs fit (see Preferences for what is left out).")
                return
            self._new_queue(tracks, source)

        self._run(fn, built, doing, failure, request)

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None], doing: str, failure: str,
             request: int | None = None) -> None:
        request = self._request if request is None else request
        self.building.emit(doing)

        def finished(result: Any) -> None:
            if request == self._request:
                self.building.emit("")
            done(result)

        def failed(message: str) -> None:
            if request == self._request:
                self.building.emit("")
                self.message.emit(f"{failure}: {message}")

        self.tasks.submit(fn, finished, failed, name=doing.rstrip("…").lower())

    def _new_queue(self, tracks: Sequence[Track], source: QueueSource, row: int = 0,
                   radio: RadioFeed | None = None) -> None:
        self._request += 1
        self.playback.replacing()
        self._set_radio(radio)
        self.queue.replace(tracks, source)
        if tracks:
            self.playback.start(row)

    def _set_radio(self, radio: RadioFeed | None) -> None:
        if self.radio is not None:
            self.radio.stop()
            self.radio.arrived.disconnect(self._on_radio_arrived)
            self.radio.failed.disconnect(self._on_radio_failed)
        self.radio = radio
        self._radio_dry = False
        if radio is not None:
            radio.arrived.connect(self._on_radio_arrived)
            radio.failed.connect(self._on_radio_failed)

    # ================================================================ edits
    def play_next(self, tracks: Sequence[Track]) -> None:
        self.queue.insert_next(tracks)
        self.message.emit(f"{names(tracks)} will play next.")

    def add_to_queue(self, tracks: Sequence[Track]) -> None:
        self.queue.append(tracks)
        self.message.emit(f"Added {names(tracks)} to Up next.")

    def remove(self, rows: Iterable[int]) -> None:
        self.queue.remove_rows(rows)

    def move(self, rows: Sequence[int], dest: int) -> None:
        self.queue.move_rows(rows, dest)

    def clear(self) -> None:
        """Every song but the one playing goes; a radio stops feeding the queue."""
        self._request += 1
        self._set_radio(None)
        self.queue.clear()
        self.queue.set_source(None)

    # ================================================================ radio
    @Slot()
    def _on_queue_changed(self) -> None:
        self._save_timer.start()
        if self.radio is not None and len(self.queue.upcoming()) < LOW_WATER:
            self.radio.request(REFILL)

    @Slot()
    def _on_ran_out(self) -> None:
        if self.radio is not None:
            self.radio.request(REFILL)  # the song after arrives with the refill (continue_if_waiting)

    @Slot(list)
    def _on_radio_arrived(self, tracks: list[Track]) -> None:
        if not tracks:
            if not self._radio_dry:  # said once per radio, not at every song
                self._radio_dry = True
                self.message.emit("The radio has played every song that fits your Preferences.")
            return
        self._radio_dry = False
        self.queue.append(tracks)
        self.playback.continue_if_waiting()

    @Slot(str)
    def _on_radio_failed(self, message: str) -> None:
        self.message.emit(f"The radio could not find more songs: {message}")

    @Slot(object, float, bool)
    def _on_listened(self, track: Track, listened_s: float, skipped: bool) -> None:
        if self.radio is None:
            return
        self.radio.feedback(track, listened_s, skipped)
        if skipped:  # once the next song plays, the songs picked before the skip make way for steered ones
            QTimer.singleShot(0, self._steer_after_skip)

    @Slot()
    def _steer_after_skip(self) -> None:
        radio = self.radio
        if radio is None:
            return
        start = 0 if self.queue.current is None else self.queue.current + 1
        rows = [r for r in range(start, self.queue.row_count())
                if (t := self.queue.track_at(r)) is not None and t.id in radio.supplied]
        if rows:
            ids = [self.queue.track_at(r).id for r in rows]  # type: ignore[union-attr]
            radio.forget(ids)  # before the refill that removing them asks for (one-thread runner: in order)
            self.queue.remove_rows(rows)

    # ================================================================ the queue file
    def saved_queue(self) -> SavedQueue:
        q = self.queue
        position = self.player.position_ms() if q.current is not None and self.player.track is not None else 0
        radio = None
        if self.radio is not None:
            try:
                radio = self.radio.to_dict()
            except Exception:  # the queue is still worth saving without its radio state
                log.warning("could not save the radio session", exc_info=True)
        return SavedQueue([t.path for t in q.tracks()], q.current, int(position), q.source, radio)

    @Slot()
    def save(self) -> None:
        """Save the queue soon, on a pool thread (a newer save always wins)."""
        self._save_timer.stop()
        self._saves += 1
        saved, seq, file = self.saved_queue(), self._saves, self.queue_file
        self.tasks.submit(lambda: file.write(saved, seq), lambda _r: None, self._on_save_failed, name="save queue")

    def save_now(self) -> None:
        """Save the queue on this thread (on quit, after the pool is done)."""
        self._save_timer.stop()
        self._saves += 1
        try:
            self.queue_file.write(self.saved_queue(), self._saves)
        except OSError as exc:
            log.warning("could not save the queue: %s", exc)

    def _on_save_failed(self, message: str) -> None:
        self.message.emit(f"Could not save the queue: {message}")

    def restore(self) -> None:
        """Read the saved queue back (off the GUI thread); a queue started meanwhile wins."""
        library, file = self.library, self.queue_file
        request = self._request

        def load() -> tuple[RestoredQueue, Any] | None:
            saved = file.read()
            if saved is None:
                return None
            restored = restore(saved, {t.path: t for t in library.tracks()})
            session = None
            if restored.radio is not None and restored.tracks:
                from musicsim.playlists.radio import RadioSession

                try:
                    session = RadioSession.from_dict(library, restored.radio)
                except Exception:  # the queue comes back without its radio
                    log.warning("could not restore the radio session", exc_info=True)
            return restored, session

        def loaded(result: tuple[RestoredQueue, Any] | None) -> None:
            if result is None or request != self._request:
                return
            restored, session = result
            supplied = [int(i) for i in (restored.radio or {}).get("history", [])]
            self._set_radio(RadioFeed(session, self, supplied=supplied) if session is not None else None)
            self.queue.replace(restored.tracks, restored.source)
            if restored.current is not None:
                self.playback.load(restored.current, restored.position_ms)
            if restored.missing:
                n = len(restored.missing)
                self.message.emit("1 song of your queue was left out: its file is gone." if n == 1 else
                                  f"{n} songs of your queue were left out: their files are gone.")
            log.info("queue read back: %d songs, %d left out", len(restored.tracks), len(restored.missing))

        self.tasks.submit(load, loaded, lambda m: self.message.emit(f"Could not read the saved queue: {m}"),
                          name="restore queue")

    def shutdown(self) -> None:
        """On quit: radio calls finish, then the queue is saved where it stands."""
        if self.radio is not None:
            self.radio.wait()
        self.save_now()
