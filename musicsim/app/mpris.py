"""MPRIS 2: the app's player on the session bus, for media keys, desktop player widgets and ``playerctl``.

Exports ``/org/mpris/MediaPlayer2`` as ``org.mpris.MediaPlayer2.musicsim`` (a second instance:
``...musicsim.instance<pid>``) with the ``MediaPlayer2`` (Raise, Quit, identity), ``Player`` (PlayPause,
Play, Pause, Stop, Next, Previous, Seek, SetPosition; PlaybackStatus, Metadata, Position, Volume,
CanGoNext, ...) and ``TrackList`` (the song playing and the songs after it; GoTo) interfaces. Metadata
has ``mpris:trackid``, ``xesam:title``/``artist``/``album``/``url``, ``mpris:length`` (microseconds,
int64) and ``mpris:artUrl`` when the file has embedded cover art (saved to the cache folder,
:mod:`musicsim.library.artwork`).

Everything here runs on the GUI thread (:class:`~musicsim.app.dbus_service.DBusService`): a call from
the bus is a call on :class:`~musicsim.app.playback.Playback` and the player bar, like a button press.
What the playback offers is read through :class:`PlaybackView`, the one place that knows its shape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, QUrl, Slot
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QWidget

from musicsim.app.dbus_service import DBusCallError, DBusService, Interface, Method, Prop
from musicsim.app.playback import Playback
from musicsim.freedesktop import APP_ID
from musicsim.library.artwork import cover_file
from musicsim.library.records import Track
from musicsim.paths import cache_dir

if TYPE_CHECKING:
    from musicsim.app.main_window import MainWindow

log = logging.getLogger(__name__)

BUS_NAME = "org.mpris.MediaPlayer2.musicsim"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
TRACKLIST = "org.mpris.MediaPlayer2.TrackList"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
NOT_SUPPORTED = "org.mpris.MediaPlayer2.Error.NotSupported"
MIME_TYPES = ["audio/mpeg", "audio/flac", "audio/ogg", "audio/opus", "audio/mp4", "audio/aac", "audio/x-wav",
              "audio/wav", "audio/x-aiff"]


def track_path(track: Track) -> str:
    """The track's D-Bus object path (an id MPRIS clients hand back in SetPosition and GoTo)."""
    return f"/io/github/musicsim/track/{track.id}"


class PlaybackView:
    """What MPRIS needs from the app's playback: the song loaded, the queue after it, the controls."""

    def __init__(self, playback: Playback, window: MainWindow | None = None) -> None:
        self.playback = playback
        self.window = window
        self.queue = playback.queue
        self.bar = playback.player
        self.media: QMediaPlayer = playback.player.player

    def track(self) -> Track | None:
        return self.bar.track

    def upcoming(self) -> list[Track]:
        """The songs Next will play, in order (the queue after its current row)."""
        return self.queue.upcoming()

    def can_go_previous(self) -> bool:
        return self.bar.track is not None  # Previous goes back a row, or restarts the first song

    def go_to(self, index: int) -> None:
        """Play the ``index``-th of :meth:`upcoming` (as choosing it in Up next does)."""
        first = self.queue.next_row()
        if first is not None:
            self.playback.jump_to(first + index)

    def play(self) -> None:
        if self.bar.track is not None:
            self.media.play()
            return
        row = self.queue.current if self.queue.current is not None else self.queue.next_row()
        if row is not None:
            self.playback.play_row(row)

    def open(self, path: str) -> None:
        """A new queue: the library's song at ``path``, then its similar songs (the app's Play Similar)."""
        if self.window is None:
            raise DBusCallError(NOT_SUPPORTED, "no window to open songs in")
        try:
            track = self.window.library.find(path)
        except LookupError as exc:
            raise DBusCallError("org.freedesktop.DBus.Error.InvalidArgs",
                                f"{path} is not in musicsim's library (scan its folder first)") from exc
        self.window.listening.play_similar(track, self.window.playlist.list_length(), self.window.analysis.folder)


class Mpris(QObject):
    """The MPRIS object: reads the playback through ``view``; signals its changes on ``service``."""

    def __init__(self, service: DBusService, view: PlaybackView, window: QWidget, covers: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.view = view
        self.window = window
        self.covers = covers if covers is not None else cache_dir()
        self._art: dict[str, str] = {}  # track path -> artUrl ("" when the file has none)
        self._pending: set[str] = set()
        self._flush = QTimer(self, singleShot=True, interval=0)
        self._flush.timeout.connect(self._send_changes)
        self._tracklist: list[str] = []
        service.export(OBJECT_PATH, [self._root(), self._player(), self._tracklist_interface()])

        media = view.media
        media.playbackStateChanged.connect(lambda *_: self._changed("PlaybackStatus", "CanPlay", "CanPause"))
        media.sourceChanged.connect(lambda *_: self._changed("Metadata", "CanGoNext", "CanGoPrevious", "CanPlay",
                                                             "CanPause"))
        media.durationChanged.connect(lambda *_: self._changed("Metadata"))
        media.seekableChanged.connect(lambda *_: self._changed("CanSeek"))
        view.bar.audio.volumeChanged.connect(lambda *_: self._changed("Volume"))
        view.queue.changed.connect(lambda: self._changed("CanGoNext", "CanPlay"))

    # -- interfaces ------------------------------------------------------------------------
    def _root(self) -> Interface:
        return Interface(ROOT, methods=[Method("Raise", self._raise), Method("Quit", self._quit)], properties=[
            Prop("CanQuit", "b", lambda: True), Prop("CanRaise", "b", lambda: True),
            Prop("Fullscreen", "b", lambda: False), Prop("CanSetFullscreen", "b", lambda: False),
            Prop("HasTrackList", "b", lambda: True), Prop("Identity", "s", lambda: "musicsim"),
            Prop("DesktopEntry", "s", lambda: APP_ID),
            Prop("SupportedUriSchemes", "as", lambda: ["file"]),
            Prop("SupportedMimeTypes", "as", lambda: list(MIME_TYPES)),
        ])

    def _player(self) -> Interface:
        v = self.view
        return Interface(PLAYER, methods=[
            Method("Next", v.playback.next), Method("Previous", v.playback.previous),
            Method("Pause", v.media.pause), Method("PlayPause", self._play_pause),
            Method("Stop", v.playback.stop), Method("Play", v.play),
            Method("Seek", self._seek, "x", arg_names=("Offset",)),
            Method("SetPosition", self._set_position, "ox", arg_names=("TrackId", "Position")),
            Method("OpenUri", self._open_uri, "s", arg_names=("Uri",)),
        ], properties=[
            Prop("PlaybackStatus", "s", self._status),
            Prop("LoopStatus", "s", lambda: "None"),
            Prop("Rate", "d", lambda: 1.0), Prop("MinimumRate", "d", lambda: 1.0),
            Prop("MaximumRate", "d", lambda: 1.0),
            Prop("Shuffle", "b", lambda: False),
            Prop("Metadata", "a{sv}", lambda: self.metadata(v.track())),
            Prop("Volume", "d", lambda: float(v.bar.audio.volume()), self._set_volume),
            Prop("Position", "x", lambda: int(v.media.position()) * 1000),
            Prop("CanGoNext", "b", lambda: bool(v.upcoming())),
            Prop("CanGoPrevious", "b", v.can_go_previous),
            Prop("CanPlay", "b", lambda: v.track() is not None or bool(v.upcoming())),
            Prop("CanPause", "b", lambda: v.track() is not None),
            Prop("CanSeek", "b", lambda: v.track() is not None and bool(v.media.isSeekable())),
            Prop("CanControl", "b", lambda: True),
        ], signals=[("Seeked", "x")])

    def _tracklist_interface(self) -> Interface:
        return Interface(TRACKLIST, methods=[
            Method("GetTracksMetadata", self._tracks_metadata, "ao", "aa{sv}", ("TrackIds",)),
            Method("AddTrack", self._not_supported("AddTrack"), "sob", arg_names=("Uri", "AfterTrack", "SetAsCurrent")),
            Method("RemoveTrack", self._not_supported("RemoveTrack"), "o", arg_names=("TrackId",)),
            Method("GoTo", self._go_to, "o", arg_names=("TrackId",)),
        ], properties=[
            Prop("Tracks", "ao", lambda: [track_path(t) for t in self._listed()]),
            Prop("CanEditTracks", "b", lambda: False),
        ], signals=[("TrackListReplaced", "aoo"), ("TrackAdded", "a{sv}o"), ("TrackRemoved", "o"),
                    ("TrackMetadataChanged", "oa{sv}")])

    # -- values ----------------------------------------------------------------------------
    def _status(self) -> str:
        state = self.view.media.playbackState()
        if state == QMediaPlayer.PlaybackState.PlayingState:
            return "Playing"
        if state == QMediaPlayer.PlaybackState.PausedState:
            return "Paused"
        return "Stopped"

    def metadata(self, track: Track | None) -> dict[str, tuple[str, Any]]:
        """MPRIS metadata of ``track`` (``{}`` plus the NoTrack id when nothing is loaded)."""
        if track is None:
            return {"mpris:trackid": ("o", NO_TRACK)}
        meta: dict[str, tuple[str, Any]] = {
            "mpris:trackid": ("o", track_path(track)),
            "xesam:title": ("s", track.display_title),
            "xesam:url": ("s", QUrl.fromLocalFile(track.path).toString()),
        }
        if track.artist:
            meta["xesam:artist"] = ("as", [track.artist])
        if track.album:
            meta["xesam:album"] = ("s", track.album)
        length_ms = self.view.media.duration() if track is self.view.track() else 0
        seconds = length_ms / 1000.0 if length_ms > 0 else (track.duration or 0.0)
        if seconds > 0:
            meta["mpris:length"] = ("x", int(round(seconds * 1_000_000)))
        if track.genre:
            meta["xesam:genre"] = ("as", [track.genre])
        art = self._art_url(track)
        if art:
            meta["mpris:artUrl"] = ("s", art)
        return meta

    def _art_url(self, track: Track) -> str:
        if track.path not in self._art:
            try:
                found = cover_file(track.path, self.covers)
            except OSError as exc:  # an unwritable cache: no picture, the rest still works
                log.warning("cover art of %s not saved: %s", track.path, exc)
                found = None
            self._art[track.path] = QUrl.fromLocalFile(str(found)).toString() if found else ""
        return self._art[track.path]

    def _listed(self) -> list[Track]:
        current = self.view.track()
        return ([current] if current is not None else []) + self.view.upcoming()

    # -- calls from the bus ----------------------------------------------------------------
    def _raise(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _quit(self) -> None:
        QTimer.singleShot(0, self.window.close)  # after the reply went out

    def _play_pause(self) -> None:
        if self.view.track() is None:
            self.view.play()
        else:
            self.view.playback.toggle()

    def _seek(self, offset_us: int) -> None:
        if self.view.track() is None or not self.view.media.isSeekable():
            return
        target = self.view.media.position() + offset_us // 1000
        duration = self.view.media.duration()
        if duration > 0 and target >= duration:
            self.view.playback.next()  # the spec: seeking past the end acts like Next
            return
        self._jump(max(0, target))

    def _set_position(self, track_id: str, position_us: int) -> None:
        track = self.view.track()
        if track is None or track_id != track_path(track) or position_us < 0:
            return  # the spec: a stale track id or a bad position is ignored
        duration = self.view.media.duration()
        if duration > 0 and position_us // 1000 > duration:
            return
        self._jump(position_us // 1000)

    def _jump(self, ms: int) -> None:
        self.view.media.setPosition(ms)
        self.service.send_signal(OBJECT_PATH, PLAYER, "Seeked", "x", (int(ms) * 1000,))

    def _set_volume(self, value: float) -> None:
        self.view.bar.volume.setValue(int(round(max(0.0, min(1.0, float(value))) * 100)))

    def _open_uri(self, uri: str) -> None:
        url = QUrl(uri)
        if not url.isLocalFile():
            raise DBusCallError(NOT_SUPPORTED, f"only file:// URIs of the library's songs can be opened, not {uri}")
        self.view.open(url.toLocalFile())

    @staticmethod
    def _not_supported(name: str) -> Callable[..., None]:
        def refuse(*_args: Any) -> None:
            raise DBusCallError(NOT_SUPPORTED, f"{name}: musicsim's track list cannot be edited over D-Bus")
        return refuse

    def _tracks_metadata(self, ids: list[str]) -> list[dict[str, tuple[str, Any]]]:
        by_path = {track_path(t): t for t in self._listed()}
        return [self.metadata(by_path[i]) for i in ids if i in by_path]

    def _go_to(self, track_id: str) -> None:
        upcoming = [track_path(t) for t in self.view.upcoming()]
        if track_id in upcoming:
            self.view.go_to(upcoming.index(track_id))

    # -- change notifications --------------------------------------------------------------
    def _changed(self, *names: str) -> None:
        """Signal ``names`` (and the track list, if it changed) once the current event is handled."""
        self._pending.update(names)
        self._flush.start()

    @Slot()
    def _send_changes(self) -> None:
        names, self._pending = self._pending, set()
        self.service.properties_changed(OBJECT_PATH, PLAYER, sorted(names))
        listed = [track_path(t) for t in self._listed()]
        if listed != self._tracklist:
            self._tracklist = listed
            current = listed[0] if self.view.track() is not None and listed else NO_TRACK
            self.service.send_signal(OBJECT_PATH, TRACKLIST, "TrackListReplaced", "aoo", (listed, current))


def start_mpris(window: MainWindow) -> Mpris | None:
    """Put the window's player on the session bus; None when there is no bus (logged: media keys then do nothing)."""
    service = DBusService.open([BUS_NAME, f"{BUS_NAME}.instance{os.getpid()}"], parent=window)
    if service is None:
        return None
    return Mpris(service, PlaybackView(window.playback, window), window, parent=window)
