"""``similar`` and ``export``: playlists of the tracks that sound most like a seed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from musicsim.cli.common import UserError, add_json_option, add_scope_option, open_library, scope
from musicsim.cli.mpd_options import add_mpd_options, send_to_mpd, wants_mpd
from musicsim.cli.output import print_json, shown, track_line

if TYPE_CHECKING:
    from musicsim.library.library import Library
    from musicsim.library.records import SimilarTrack, Track


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    for name, text in (("similar", "tracks that sound like QUERY"), ("export", "write the similar playlist as M3U8")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("query", metavar="QUERY", help="a file path, or words from a title/artist")
        p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
        p.add_argument("--max-per-artist", type=int, default=2, metavar="K",
                       help="at most K songs per artist (default: 2; 0 = no limit)")
        add_scope_option(p)
        if name == "similar":
            add_json_option(p)
            add_mpd_options(p)
            p.set_defaults(handler=cmd_similar)
        else:
            p.add_argument("--out", required=True, metavar="FILE", help="playlist file to write (.m3u8)")
            p.add_argument("--include-seed", action="store_true", help="start the playlist with QUERY's track")
            p.set_defaults(handler=cmd_export)


def _similar(args: argparse.Namespace, lib: Library) -> tuple[Track, list[SimilarTrack]]:
    if args.n < 1:
        raise UserError("-n must be at least 1.")
    seed = lib.find(args.query)
    cap = None if args.max_per_artist <= 0 else args.max_per_artist
    return seed, lib.similar(seed, n=args.n, max_per_artist=cap, root=scope(args))


def cmd_similar(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        seed, found = _similar(args, lib)
    if args.json:
        print_json([s.to_json() for s in found], out)
    else:
        err.write(f"Like: {track_line(seed)}  ({shown(seed.path)})\n")
        for i, s in enumerate(found, 1):
            out.write(f"{i:>3}. {s.score:.3f}  {track_line(s.track)}  [{s.track.genre}]  {shown(s.track.path)}\n")
    if wants_mpd(args) or args.append:
        return send_to_mpd(args, [s.track.path for s in found], err)
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        seed, found = _similar(args, lib)
        tracks = ([seed] if args.include_seed else []) + [s.track for s in found]
        path = lib.export_m3u8(tracks, args.out)
    err.write(f"Wrote {len(tracks)} tracks like {track_line(seed)} to {shown(str(path))}\n")
    return 0
