"""Playing the queue: the current row of :class:`~musicsim.app.queue.QueueModel` on the player bar.

:class:`Playback` keeps no list of its own: the songs and the current row are the queue model's, the
track loaded is the player bar's. Next (and the end of a song) moves to the queue's next row, Previous to
the row before (or back to the start of the song after its first seconds). When the queue runs out,
``ran_out`` asks for more (a radio refills it) and :meth:`Playback.continue_if_waiting` plays on once it came.

When a song is left, ``listened(track, seconds, skipped)`` says how it was listened to: seconds is where
the song had got to; skipped follows :func:`musicsim.app.radio.is_skip` when Next (or a later row) was
chosen, and is False at the end of a song, on Previous, or when a new queue replaces this one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from musicsim.app.player import PlayerBar
from musicsim.app.queue import QueueModel
from musicsim.app.radio import is_skip
from musicsim.library.records import Track

RESTART_AFTER_MS = 3000  # Previous later than this into a song restarts it (as every player does)


class Playback(QObject):
    """Plays ``queue`` on ``player``."""

    listened = Signal(object, float, bool)  # Track, seconds reached, skipped
    ran_out = Signal()  # Next or the end of a song found no next row

    def __init__(self, player: PlayerBar, queue: QueueModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.queue = queue
        self._waiting = False  # the queue ran out: the next song to arrive plays
        self._waiting_skips = False  # ... and leaving the song playing then is a skip (Next was pressed)
        self._unreported = False  # the song loaded has not been reported with ``listened`` yet
        player.next_requested.connect(self.next)
        player.previous_requested.connect(self.previous)
        player.ended.connect(self._on_ended)
        player.play_requested.connect(self._on_play_requested)
        player.failed.connect(self._on_failed)

    # -- commands --------------------------------------------------------------------------
    def play_row(self, row: int, skipping: bool = False) -> None:
        """Play queue row ``row``; ``skipping``: the song playing is left early on purpose (Next)."""
        track = self.queue.track_at(row)
        if track is None:
            return
        self._leave(skipping=skipping)
        self._play(row)

    def load(self, row: int, position_ms: int = 0) -> None:
        """Load ``row`` paused at ``position_ms`` (a queue read back at launch); Play carries on from there."""
        track = self.queue.track_at(row)
        if track is None:
            return
        self.queue.set_current(row)
        self.player.load_track(track, position_ms)
        self._unreported = True

    @Slot()
    def next(self) -> None:
        row = self.queue.next_row()
        if row is not None:
            self.play_row(row, skipping=True)
        else:
            self._ran_out(skipping=True)

    @Slot()
    def previous(self) -> None:
        current = self.queue.current
        if current is None or current == 0 or self.player.position_ms() > RESTART_AFTER_MS:
            self.player.restart()
        else:
            self.play_row(current - 1)

    @Slot(int)
    def jump_to(self, row: int) -> None:
        """The user chose ``row`` of the queue: leaving the song playing for a later one is a skip."""
        current = self.queue.current
        self.play_row(row, skipping=current is not None and row > current)

    def start(self, row: int = 0) -> None:
        """A new queue was just put in place: play ``row`` of it (the old song is left, not skipped)."""
        self.play_row(row)

    def replacing(self) -> None:
        """The queue is about to be replaced: report the song playing as left (not skipped)."""
        self._leave(skipping=False)

    @Slot()
    def toggle(self) -> None:
        self.player.toggle()

    def stop(self) -> None:
        self.player.stop()

    # -- what happens by itself ------------------------------------------------------------
    @Slot()
    def _on_ended(self) -> None:
        track = self.player.track
        if track is not None and self._unreported:
            self._unreported = False
            self.listened.emit(track, float(track.duration or self.player.position_ms() / 1000.0), False)
        row = self.queue.next_row()
        if row is not None:
            self._play(row)
        else:
            self._ran_out(skipping=False)

    @Slot()
    def _on_play_requested(self) -> None:
        """Play pressed with nothing loaded: the queue's current (or first) song."""
        row = self.queue.current if self.queue.current is not None else self.queue.next_row()
        if row is not None:
            self.play_row(row)

    @Slot(str)
    def _on_failed(self, _message: str) -> None:
        """A song that cannot be played (its file went, or it will not decode): on to the next one, as at its end.

        Not reported as listened or skipped. The player bar says why; the queue keeps the row.
        """
        self._unreported = False
        broken = self.queue.current
        if broken is not None:
            QTimer.singleShot(0, lambda: self._advance_from(broken))

    def _advance_from(self, row: int) -> None:
        after = self.queue.next_row()
        if self.queue.current == row and after is not None:  # nothing else was chosen meanwhile
            self._play(after)

    def _ran_out(self, skipping: bool) -> None:
        self._waiting, self._waiting_skips = True, skipping
        self.ran_out.emit()

    def continue_if_waiting(self) -> None:
        """Songs were added for a queue that ran out (a radio refill): play on if it did."""
        row = self.queue.next_row()
        if self._waiting and row is not None:
            self.play_row(row, skipping=self._waiting_skips)

    def _play(self, row: int) -> None:
        self._waiting = False
        self.queue.set_current(row)
        self.player.play_track(self.queue.track_at(row))  # type: ignore[arg-type]
        self._unreported = True

    def _leave(self, skipping: bool) -> None:
        track: Track | None = self.player.track
        if track is None or not self._unreported:
            return
        self._unreported = False
        listened = self.player.position_ms() / 1000.0
        self.listened.emit(track, listened, skipping and is_skip(listened, track.duration))
