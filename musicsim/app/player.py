"""The player bar: play/pause, previous/next, seek and volume over QtMultimedia.

Also the two things QtMultimedia does not say in the window by itself: that there is no sound output
(songs then "play" in silence; :func:`audio_output_available`), and that a song could not be played.
:func:`quiet_multimedia_logs` stops Qt's FFmpeg backend from printing a block to stderr per song.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLoggingCategory, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from musicsim.formatting import format_duration
from musicsim.library.records import Track

log = logging.getLogger(__name__)

# Qt's FFmpeg backend calls av_dump_format ("Input #0, ogg, from ...": a dozen lines on stderr for every
# song opened) when this category's info level is on, which it is by default; the version banner and the
# optional-library probes ("Couldn't load pipewire-0.3 library") are printed once per launch the same way.
QUIET_MULTIMEDIA_RULES = "\n".join((
    "qt.multimedia.ffmpeg.mediadataholder.info=false",
    "qt.multimedia.ffmpeg.info=false",
    "qt.multimedia.symbolsresolver.info=false",
    "qt.multimedia.symbolsresolver.warning=false",
))
NO_OUTPUT_TEXT = "No sound output"
NO_OUTPUT_TIP = ("No audio output device was found (no sound card, or no sound server such as PipeWire or "
                 "PulseAudio running), so songs play in silence. Connect one; musicsim switches to it.")


def quiet_multimedia_logs() -> None:
    """Silence QtMultimedia's per-song FFmpeg dump and start-up chatter (QT_LOGGING_RULES still overrides)."""
    QLoggingCategory.setFilterRules(QUIET_MULTIMEDIA_RULES)


def audio_output_available() -> bool:
    """Whether the system offers an audio output device to play on."""
    return not QMediaDevices.defaultAudioOutput().isNull()


class PlayerBar(QWidget):
    """Plays one track at a time; asks for the previous/next one through signals."""

    previous_requested = Signal()
    next_requested = Signal()
    ended = Signal()  # the song played to its end
    play_requested = Signal()  # Play pressed with nothing loaded
    failed = Signal(str)  # a song could not be played: a message for the user
    volume_changed = Signal(int)

    def __init__(self, volume: int = 80, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.track: Track | None = None
        self._start_at_ms = 0  # where a loaded (not yet playing) song starts
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_outputs_changed)

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
        self.no_output = QLabel(f"⚠ {NO_OUTPUT_TEXT}")
        self.no_output.setStyleSheet("color: #b03a2e; font-weight: bold;")
        self.no_output.setToolTip(NO_OUTPUT_TIP)
        self.no_output.hide()

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
        layout.addWidget(self.no_output)
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
        self.load_track(track)
        self.check_output()
        self.player.play()
        self._update_buttons()

    def load_track(self, track: Track, position_ms: int = 0) -> None:
        """Load ``track`` without playing it; Play starts it at ``position_ms``."""
        self.track = track
        self._start_at_ms = max(0, int(position_ms))
        self.player.setSource(QUrl.fromLocalFile(track.path))
        self.now_playing.setText(" — ".join(x for x in (track.display_title, track.artist) if x))
        self.now_playing.setToolTip(track.path)
        self.position_label.setText(format_duration(self._start_at_ms / 1000.0))
        self._update_buttons()

    @Slot()
    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        elif self.track is not None:
            self.check_output()
            self.player.play()
        else:
            self.play_requested.emit()

    def position_ms(self) -> int:
        """Where the song loaded has got to (where it will start, for a song loaded and not yet played)."""
        return max(int(self.player.position()), self._start_at_ms)

    def is_playing(self) -> bool:
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def check_output(self) -> bool:
        """Show the "no sound output" warning when there is no device to play on; True when there is one."""
        available = audio_output_available()
        self.no_output.setVisible(not available)
        if not available:
            log.info("no audio output device: playing in silence")
        return available

    def restart(self) -> None:
        """Back to the start of the song loaded (if any)."""
        self._start_at_ms = 0
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
        if status in (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia) \
                and self._start_at_ms and self.player.isSeekable():
            self.player.setPosition(self._start_at_ms)  # a song read back at launch carries on where it was
            self._start_at_ms = 0
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._start_at_ms = 0
            self.ended.emit()

    @Slot()
    def _on_error(self, *_args) -> None:
        if self.track is None or not self.player.errorString():
            return
        reason = self.player.errorString()
        self.now_playing.setToolTip(f"{self.track.path}\n{reason}")
        log.warning("could not play %s: %s", self.track.path, reason)
        self.failed.emit(f"Could not play “{self.track.display_title}”: {reason}")

    @Slot()
    def _on_outputs_changed(self) -> None:
        """A device came or went: play on the system's default one now."""
        self.audio.setDevice(QMediaDevices.defaultAudioOutput())
        if self.track is not None:
            self.check_output()

    def _update_buttons(self) -> None:
        playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(pixmap))
        self.play_button.setToolTip("Pause" if playing else "Play")
        self.play_button.setEnabled(self.track is not None)
