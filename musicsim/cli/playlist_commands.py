"""``similar`` and ``export``: playlists of the tracks that sound most like a seed."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from musicsim.cli.common import UserError, add_json_option, add_scope_option, open_library, scope
from musicsim.cli.output import print_json, shown, track_line
from musicsim.library.playlist import PlaylistExists, PlaylistTargetError, check_target

if TYPE_CHECKING:
    from musicsim.library.library import Library
    from musicsim.library.records import SimilarTrack, Track


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    for name, text in (("similar", "tracks that sound like QUERY"),
                       ("export", "write the similar playlist as M3U8 (or XSPF)")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("query", metavar="QUERY", help="a file path, or words from a title/artist")
        p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
        p.add_argument("--max-per-artist", type=int, default=2, metavar="K",
                       help="at most K songs per artist (default: 2; 0 = no limit)")
        add_scope_option(p)
        if name == "similar":
            add_json_option(p)
            p.set_defaults(handler=cmd_similar)
        else:
            p.add_argument("--out", required=True, metavar="FILE",
                           help="playlist file to write (.m3u8; .xspf writes XSPF); its folder must exist")
            p.add_argument("--force", action="store_true",
                           help="replace FILE if it is an existing playlist (other files are never replaced)")
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
        return 0
    err.write(f"Like: {track_line(seed)}  ({shown(seed.path)})\n")
    for i, s in enumerate(found, 1):
        out.write(f"{i:>3}. {s.score:.3f}  {track_line(s.track)}  [{shown(s.track.genre)}]  {shown(s.track.path)}\n")
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        with refusals_as_user_errors():
            check_target(args.out, protected=[lib.data_dir], replace=args.force)  # before the search: fail fast
        seed, found = _similar(args, lib)
        tracks = ([seed] if args.include_seed else []) + [s.track for s in found]
        with refusals_as_user_errors():
            path = lib.export_playlist(tracks, args.out, replace=args.force)
    err.write(f"Wrote {len(tracks)} tracks like {track_line(seed)} to {shown(str(path))}\n")
    return 0


@contextmanager
def refusals_as_user_errors() -> Iterator[None]:
    """For every command that writes a playlist: the refusals of the one overwrite rule
    (:func:`musicsim.library.playlist.check_target`) as user errors, with the ``--force`` hint."""
    try:
        yield
    except PlaylistExists as exc:
        raise UserError(f"{exc} Add --force to replace it.") from exc
    except PlaylistTargetError as exc:
        raise UserError(str(exc)) from exc
