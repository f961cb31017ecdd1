"""``mpd-radio``: keeps MPD's queue topped up with a radio session's picks while MPD plays them.

The radio (:class:`musicsim.playlists.radio.RadioSession`) never hands out a song twice and steers away
from skips. This loop tells it what happened to each song it queued: when MPD moves on from one of
them, the last position seen (``status``'s ``elapsed``) is how much was heard, and a song left before
:data:`SKIP_FRACTION` of it played is a skip. After a skip the radio's queued songs that have not played
yet are taken back (``RadioSession.forget``) and replaced by new picks, which already steer away from it.
The queue always holds :data:`AHEAD` songs after the one playing. MPD's events (``idle player playlist``,
on a second connection) wake the loop at once; a one-second heartbeat keeps ``elapsed`` fresh.
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from musicsim.mpdlink.address import MpdAddress
from musicsim.mpdlink.queue import MpdError, MpdQueue, mpd_module

if TYPE_CHECKING:
    from musicsim.library.records import Track
    from musicsim.playlists.radio import RadioSession

log = logging.getLogger(__name__)

AHEAD = 3  # songs queued after the one playing
SKIP_FRACTION = 0.5  # a song MPD left before this much of it played was skipped
HEARTBEAT_S = 1.0
MAX_TRIES = 50  # picks tried per top-up before giving up on songs MPD does not know


@dataclass
class Queued:
    track: Track
    uri: str


class MpdRadio:
    """One radio feeding one MPD queue. ``say`` receives one line per event (queued, heard, skipped)."""

    def __init__(self, queue: MpdQueue, session: RadioSession, say: Callable[[str], None],
                 ahead: int = AHEAD) -> None:
        self.queue = queue
        self.session = session
        self.say = say
        self.ahead = ahead
        self.ours: dict[int, Queued] = {}  # MPD song id -> the radio's song
        self.current: int | None = None  # MPD song id playing (or paused) at the last look
        self.heard = 0.0  # its elapsed seconds at the last look
        self.exhausted = False

    # -- one look at MPD ------------------------------------------------------------------
    def step(self) -> None:
        """Look at MPD's status once: report the song it left, refill after a skip, top up the queue."""
        status = self.queue.client.status()
        song_id = int(status["songid"]) if "songid" in status else None
        elapsed = float(status.get("elapsed", 0.0))
        if song_id != self.current:
            skipped = self._left(self.current)
            self.current, self.heard = song_id, elapsed
            if skipped:
                self._take_back(status)
                status = self.queue.client.status()
        else:
            self.heard = elapsed
        self._top_up(status)

    def _left(self, song_id: int | None) -> bool:
        """Tell the radio how much of the song it queued (``song_id``) was heard; whether it was a skip."""
        item = self.ours.get(song_id) if song_id is not None else None
        if item is None:
            return False
        length = item.track.duration or 0.0
        skipped = length > 0 and self.heard < SKIP_FRACTION * length
        self.session.feedback(item.track.id, self.heard, skipped=skipped)
        verb = "skipped" if skipped else "heard"
        self.say(f"{verb}: {item.track.label()} ({self.heard:.0f} of {length:.0f} s)")
        return skipped

    def _take_back(self, status: dict[str, Any]) -> None:
        """After a skip: the radio's songs queued after the one playing, not played yet, make way for new picks."""
        position = int(status.get("song", -1))
        later = [s for s in self.queue.client.playlistinfo() if int(s["pos"]) > position and int(s["id"]) in self.ours]
        if not later:
            return
        with self.queue.command_list():
            for song in later:
                self.queue.client.deleteid(song["id"])
        taken = [self.ours.pop(int(s["id"])) for s in later]
        self.session.forget([q.track.id for q in taken])
        log.info("radio: took back %d queued songs after a skip", len(taken))

    def _top_up(self, status: dict[str, Any]) -> None:
        if self.exhausted:
            return
        length = int(status.get("playlistlength", 0))
        position = int(status["song"]) if "song" in status else length - 1
        want = self.ahead - (length - position - 1)
        tries = 0
        while want > 0 and tries < MAX_TRIES:
            picks = self.session.next(want)
            if not picks:
                self.exhausted = True
                self.say("the radio has no more songs that pass the filters here")
                return
            tries += len(picks)
            found, missing = self.queue.resolve([p.track.path for p in picks])
            for m in missing:
                self.say(f"not sent: {m.path}: {m.reason}")
            by_path = {p.track.path: p.track for p in picks}
            ids = self.queue.add([uri for _, uri in found])
            for (path, uri), song_id in zip(found, ids):
                self.ours[song_id] = Queued(by_path[path], uri)
                self.say(f"queued: {by_path[path].label()}")
            want -= len(found)

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event, events: queue_module.Queue[object]) -> None:
        """Step on every MPD event and every :data:`HEARTBEAT_S` until ``stop`` is set."""
        while not stop.is_set():
            self.step()
            try:
                events.get(timeout=HEARTBEAT_S)
            except queue_module.Empty:
                continue


def watch_events(address: MpdAddress, events: queue_module.Queue[object], stop: threading.Event) -> threading.Thread:
    """A thread that waits on MPD's ``idle player playlist`` (its own connection) and posts each event."""
    mpd = mpd_module()

    def loop() -> None:
        client = mpd.MPDClient()
        try:
            client.connect(address.host, address.port)
            if address.password:
                client.password(address.password)
            while not stop.is_set():
                for event in client.idle("player", "playlist"):
                    events.put(event)
        except (OSError, mpd.MPDError) as exc:
            if not stop.is_set():
                log.warning("MPD events: %s (the radio falls back to looking every %.0f s)", exc, HEARTBEAT_S)
        finally:
            try:
                client.disconnect()
            except (OSError, mpd.MPDError) as exc:
                log.debug("MPD events disconnect: %s", exc)

    thread = threading.Thread(target=loop, name="mpd-events", daemon=True)
    thread.start()
    return thread


def start_radio(queue: MpdQueue, session: RadioSession, say: Callable[[str], None], replace: bool,
                ahead: int = AHEAD) -> MpdRadio:
    """A radio on ``queue``: with ``replace``, MPD's queue is cleared and the first picks start playing."""
    radio = MpdRadio(queue, session, say, ahead)
    if replace:
        queue.client.clear()
        radio.current = None
        radio._top_up({"playlistlength": 0})
        if not radio.ours:
            raise MpdError("MPD knows none of the songs the radio picked (see above)")
        queue.client.play(0)
    return radio
