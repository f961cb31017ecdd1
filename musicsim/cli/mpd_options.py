"""``--to-mpd [HOST:PORT]``, ``--append``, ``--mpd-root DIR``: any playlist command sends its list to MPD's queue."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TextIO

from musicsim.cli.common import UserError
from musicsim.cli.output import shown


def add_mpd_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("MPD (the Music Player Daemon)")
    g.add_argument("--to-mpd", nargs="?", const="", default=None, metavar="HOST:PORT",
                   help="load the playlist into MPD's queue, replacing it ([PASSWORD@]HOST[:PORT] or a socket "
                        "path; default: MPD_HOST/MPD_PORT as mpc reads them, else MPD's socket or localhost:6600)")
    g.add_argument("--append", action="store_true", help="with --to-mpd: add after MPD's queue instead of replacing it")
    g.add_argument("--mpd-root", metavar="DIR", default=None,
                   help="MPD's music folder as this machine sees it (default: ask MPD; needed for a remote MPD "
                        "that knows none of the songs by their path's tail)")


def wants_mpd(args: argparse.Namespace) -> bool:
    return getattr(args, "to_mpd", None) is not None


def send_to_mpd(args: argparse.Namespace, paths: Sequence[str], err: TextIO) -> None:
    """With ``--to-mpd``: load ``paths`` into MPD as the options say and report what MPD did not take
    (a UserError when it took none). Without it: nothing."""
    if not wants_mpd(args):
        if getattr(args, "append", False) or getattr(args, "mpd_root", None):
            raise UserError("--append and --mpd-root go with --to-mpd.")
        return
    from musicsim.mpdlink.address import resolve_address
    from musicsim.mpdlink.queue import MpdError, MpdQueue
    try:
        address = resolve_address(args.to_mpd or None)
    except ValueError as exc:
        raise UserError(f"--to-mpd: {exc}") from exc
    try:
        with MpdQueue(address, root=args.mpd_root) as queue:
            report = queue.load(paths, append=args.append)
    except MpdError as exc:
        raise UserError(str(exc)) from exc
    verb = "added to" if args.append else "now plays"
    err.write(f"MPD at {address} {verb} {len(report.added)} of {len(paths)} songs.\n")
    for m in report.missing:
        err.write(f"  not sent: {shown(m.path)}: {m.reason}\n")
    if paths and not report.added:
        raise UserError(f"MPD at {address} knows none of these {len(paths)} songs; its queue is unchanged.")
