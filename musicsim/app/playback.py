"""What plays and what comes next: the selected song (the seed) or a row of the similar-songs playlist.

:class:`Playback` holds no state of its own: the playing row is the playlist's
(:attr:`PlaylistModel.playing_row <musicsim.app.playlist.PlaylistModel.playing_row>`), the track
loaded is the player bar's. It moves the row and hands tracks to the player, through their methods.
A play queue would take its place here.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from musicsim.app.player import PlayerBar
from musicsim.app.playlist import PLAYING_SEED, PlaylistPane
from musicsim.library.records import Track


class Playback(QObject):
    """Plays the seed or a playlist row on ``player``; Next/Previous walk the playlist."""

    def __init__(self, player: PlayerBar, playlist: PlaylistPane, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.playlist = playlist
        player.next_requested.connect(self.next)
        player.previous_requested.connect(self.previous)
        playlist.play_row.connect(self.play_row)

    def play_seed(self, track: Track) -> None:
        """Play ``track``, the song the playlist follows (Next then plays the playlist's first row)."""
        self.playlist.set_playing_row(PLAYING_SEED)
        self.player.play_track(track)

    @Slot(int)
    def play_row(self, row: int) -> None:
        track = self.playlist.track_at(row)
        if track is None:
            return
        self.playlist.set_playing_row(row)
        self.player.play_track(track)

    @Slot()
    def next(self) -> None:
        row = self.playlist.playing_row()
        if row is not None and row + 1 < self.playlist.row_count():
            self.play_row(row + 1)

    @Slot()
    def previous(self) -> None:
        row = self.playlist.playing_row()
        if row is not None and row > 0:
            self.play_row(row - 1)
        else:
            self.player.restart()

    @Slot()
    def toggle(self) -> None:
        self.player.toggle()

    def stop(self) -> None:
        self.player.stop()
