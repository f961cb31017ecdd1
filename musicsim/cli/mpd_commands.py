"""``mpd-radio [SEED...]``: keeps MPD's queue topped up with radio picks as it plays, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from musicsim.cli.common import UserError, add_scope_option, open_library, scope
from musicsim.cli.output import shown

if TYPE_CHECKING:
    from musicsim.library.library import Library
    from musicsim.library.records import Track
    from musicsim.mpdlink.queue import MpdQueue


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("mpd-radio", parents=[common], help="keep MPD's queue topped up with radio picks (Ctrl-C stops)",
                       description="A radio from the SEEDs (or, without SEEDs, from the song MPD plays now) that "
                                   "keeps MPD's queue filled as it plays: no song twice, and a song skipped (left "
                                   "before half of it played) steers the picks away. Runs until Ctrl-C.")
    p.add_argument("seeds", metavar="SEED", nargs="*", help="a file path, or words from a title/artist/album")
    p.add_argument("--mpd", metavar="HOST:PORT", default=None,
                   help="which MPD ([PASSWORD@]HOST[:PORT] or a socket path; default: MPD_HOST/MPD_PORT as mpc "
                        "reads them, else MPD's socket or localhost:6600)")
    p.add_argument("--mpd-root", metavar="DIR", default=None, help="MPD's music folder as this machine sees it")
    p.add_argument("--append", action="store_true",
                   help="keep MPD's queue and add after it (default with SEEDs: replace the queue and play)")
    p.add_argument("--ahead", type=int, default=3, metavar="N",
                   help="songs kept queued after the one playing (default: 3)")
    g = p.add_argument_group("playlist options")
    g.add_argument("--max-per-artist", type=int, default=2, metavar="K",
                   help="at most K songs per artist in any 20 in a row (default: 2; 0 = no limit)")
    g.add_argument("--max-per-album", type=int, default=0, metavar="K", help="at most K songs per album (0 = no limit)")
    g.add_argument("--exclude-genre", action="append", default=[], metavar="G", help="leave out genre G (repeatable)")
    add_scope_option(p)
    p.set_defaults(handler=cmd_mpd_radio, out=None, min_duration=None, max_duration=None, exclude_folder=[])


def cmd_mpd_radio(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.cli.playlist_commands import filters_from, resolve
    from musicsim.mpdlink.address import resolve_address
    from musicsim.mpdlink.queue import MpdError, MpdQueue
    from musicsim.mpdlink.radio import MpdRadio, start_radio, watch_events

    if args.ahead < 1:
        raise UserError("--ahead must be at least 1.")
    rules = filters_from(args)
    try:
        address = resolve_address(args.mpd)
    except ValueError as exc:
        raise UserError(f"--mpd: {exc}") from exc

    def say(line: str) -> None:
        out.write(shown(line) + "\n")
        out.flush()

    stop = threading.Event()
    try:
        with open_library(args) as lib, MpdQueue(address, root=args.mpd_root) as mpd:
            if args.seeds:
                seeds = [resolve(lib, q, args, err) for q in args.seeds]
            else:
                seeds = [_playing_seed(lib, mpd)]
            session = lib.radio(seeds, root=scope(args), filters=rules)
            err.write(f"Radio from {shown(', '.join(t.label() for t in seeds))} on MPD at {address} "
                      "(Ctrl-C stops)\n")
            err.flush()
            replace = bool(args.seeds) and not args.append
            radio = start_radio(mpd, session, say, replace=replace, ahead=args.ahead) if replace else \
                MpdRadio(mpd, session, say, ahead=args.ahead)
            events: queue.Queue[object] = queue.Queue()
            watch_events(address, events, stop)
            with _ctrl_c_stops(stop, events):
                try:
                    radio.run(stop, events)
                except KeyboardInterrupt:  # a second Ctrl-C, or one before the handler was in place
                    pass
            err.write("Stopped; MPD keeps its queue.\n")
    except MpdError as exc:
        raise UserError(str(exc)) from exc
    finally:
        stop.set()
    return 0


@contextlib.contextmanager
def _ctrl_c_stops(stop: threading.Event, events: queue.Queue[object]) -> Iterator[None]:
    """Ctrl-C (SIGINT) ends the radio loop between two steps instead of raising KeyboardInterrupt in the middle
    of an MPD command (which left the connection half-read); a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started with SIGINT ignored (nohup, `&`): kept so
        yield
        return

    def on_sigint(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        events.put(None)  # wakes the loop now, not at the next heartbeat

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _playing_seed(lib: Library, mpd: MpdQueue) -> Track:
    """The library track MPD plays now (the seed when none is given)."""
    song = mpd.client.currentsong()
    if not song.get("file"):
        raise UserError("MPD plays nothing now: give a SEED (mpd-radio 'artist - title').")
    root = mpd.music_root()
    path = os.path.join(root, *song["file"].split("/"))
    try:
        return lib.resolve(path).track
    except LookupError as exc:
        raise UserError(f"the song MPD plays ({shown(song['file'])}) is not in musicsim's library: "
                        "scan its folder, or give a SEED.") from exc
