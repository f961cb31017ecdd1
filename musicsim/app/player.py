"""The player bar: play/pause, previous/next, seek and volume over QtMultimedia."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from musicsim.formatting import format_duration
from musicsim.library.records import Track


class PlayerBar(QWidget):
    """Plays one track at a time; asks for the previous/next one through signals."""

    previous_requested = Signal()
    next_requested = Signal()
    volume_changed = Signal(int)

    def __init__(self, volume: int = 80, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.track: Track | None = None

        style = self.style()
        self.prev_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward),
                                        "Previous song")
        self.play_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.next_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward),
                                        "Next song")
        self.prev_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.play_button.clicked.connect(self.toggle)

        self.now_playing = QLabel("Nothing playing")
        self.now_playing.setMinimumWidth(220)
        self.now_playing.setTextFormat(Qt.TextFormat.PlainText)
        self.position_label = QLabel("0:00")
        self.duration_label = QLabel("0:00")
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.setRange(0, 0)
        self.seek.setToolTip("Seek")
        self.seek.sliderMoved.connect(self.player.setPosition)
        self.seek.sliderReleased.connect(lambda: self.player.setPosition(self.seek.value()))

        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(110)
        self.volume.setToolTip("Volume")
        self.volume.valueChanged.connect(self._set_volume)
        self.volume.setValue(volume)
        self._set_volume(volume)
        volume_icon = QLabel()
        volume_icon.setPixmap(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume).pixmap(16, 16))

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        for w in (self.prev_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addSpacing(8)
        layout.addWidget(self.now_playing)
        layout.addWidget(self.position_label)
        layout.addWidget(self.seek, 1)
        layout.addWidget(self.duration_label)
        layout.addSpacing(8)
        layout.addWidget(volume_icon)
        layout.addWidget(self.volume)

        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.mediaStatusChanged.connect(self._on_media_status)
        self.player.errorOccurred.connect(self._on_error)
        self._update_buttons()

    @staticmethod
    def _button(icon: QIcon, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        return b

    # -- control ---------------------------------------------------------------------------
    def play_track(self, track: Track) -> None:
        """Load ``track`` and start playing it."""
        self.track = track
        self.player.setSource(QUrl.fromLocalFile(track.path))
        self.now_playing.setText(" — ".join(x for x in (track.display_title, track.artist) if x))
        self.now_playing.setToolTip(track.path)
        self.player.play()
        self._update_buttons()

    @Slot()
    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        elif self.track is not None:
            self.player.play()

    def restart(self) -> None:
        """Back to the start of the song loaded (if any)."""
        if self.track is not None:
            self.player.setPosition(0)

    def stop(self) -> None:
        self.player.stop()

    # -- feedback --------------------------------------------------------------------------
    @Slot(int)
    def _set_volume(self, percent: int) -> None:
        self.audio.setVolume(percent / 100.0)
        self.volume_changed.emit(percent)

    @Slot("qint64")
    def _on_position(self, ms: int) -> None:
        if not self.seek.isSliderDown():
            self.seek.setValue(int(ms))
        self.position_label.setText(format_duration(ms / 1000.0))

    @Slot("qint64")
    def _on_duration(self, ms: int) -> None:
        self.seek.setRange(0, int(ms))
        self.duration_label.setText(format_duration(ms / 1000.0))

    @Slot()
    def _on_state(self, *_args) -> None:
        self._update_buttons()

    @Slot()
    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            self.next_requested.emit()

    @Slot()
    def _on_error(self, *_args) -> None:
        if self.track is not None and self.player.errorString():
            self.now_playing.setToolTip(f"{self.track.path}\n{self.player.errorString()}")

    def _update_buttons(self) -> None:
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(pixmap))
        self.play_button.setToolTip("Pause" if playing else "Play")
        self.play_button.setEnabled(self.track is not None)
