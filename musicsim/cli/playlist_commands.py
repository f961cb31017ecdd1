"""``similar``, ``export``, ``mix``, ``path`` and ``radio``: playlists built from seed songs.

Every command takes the same playlist options (:func:`add_playlist_options`: caps, exclusions,
``--in``, ``--out``, ``--to-mpd``) read back by one function (:func:`filters_from`), names the track a QUERY
matched when several do (:func:`resolve`), writes ``--out`` through
:func:`musicsim.library.playlist.write_playlist` (M3U8 or XSPF by the extension) under the one overwrite
rule (:func:`musicsim.library.playlist.check_target`: checked before any work, refusals as user errors),
and loads the same list into MPD's queue with ``--to-mpd`` (:func:`musicsim.cli.mpd_options.send_to_mpd`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from musicsim.cli.common import UserError, add_json_option, add_scope_option, open_library, scope
from musicsim.cli.mpd_options import add_mpd_options, send_to_mpd
from musicsim.cli.output import print_json, shown, track_line

if TYPE_CHECKING:
    from musicsim.library.library import Library
    from musicsim.library.records import SimilarTrack, Track
    from musicsim.playlists.filters import Filters

QUERY_HELP = "a file path, or words from a title/artist/album"
OUT_HELP = "also write the list to FILE: .m3u8/.m3u (M3U8) or .xspf (XSPF)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("similar", parents=[common], help="tracks that sound like QUERY")
    p.add_argument("query", metavar="QUERY", help=QUERY_HELP)
    p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
    add_playlist_options(p)
    p.add_argument("--include-seed", action="store_true", help="start the --out file with QUERY's track")
    add_json_option(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("export", parents=[common], help="write the similar playlist to a file (M3U8 or XSPF)")
    p.add_argument("query", metavar="QUERY", help=QUERY_HELP)
    p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
    add_playlist_options(p, out_required=True)
    p.add_argument("--include-seed", action="store_true", help="start the playlist with QUERY's track")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("mix", parents=[common], help="tracks near all the QUERYs at once (each one represented)")
    p.add_argument("queries", metavar="QUERY", nargs="+", help=QUERY_HELP)
    p.add_argument("--minus", metavar="QUERY", action="append", default=[],
                   help="steer away from this track's sound (repeatable)")
    p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
    add_playlist_options(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_mix)

    p = sub.add_parser("path", parents=[common], help="a journey from FROM to TO, each song a step closer to TO")
    p.add_argument("start", metavar="FROM", help=QUERY_HELP)
    p.add_argument("end", metavar="TO", help=QUERY_HELP)
    p.add_argument("-n", type=int, default=12, help="how many songs, FROM and TO included (default: 12)")
    add_playlist_options(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_path)

    p = sub.add_parser("radio", parents=[common], help="the first songs a radio from the QUERYs plays")
    p.add_argument("queries", metavar="QUERY", nargs="+", help=QUERY_HELP)
    p.add_argument("--count", type=int, default=50, help="how many songs (default: 50)")
    add_playlist_options(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_radio)


def add_playlist_options(p: argparse.ArgumentParser, out_required: bool = False) -> None:
    """The options every playlist command shares (read back by :func:`filters_from`)."""
    g = p.add_argument_group("playlist options")
    g.add_argument("--max-per-artist", type=int, default=2, metavar="K",
                   help="at most K songs per artist (default: 2; 0 = no limit; radio: in any 20 songs in a row)")
    g.add_argument("--max-per-album", type=int, default=0, metavar="K",
                   help="at most K songs per album (default: 0 = no limit)")
    g.add_argument("--exclude-genre", action="append", default=[], metavar="G",
                   help="leave out tracks of genre G (repeatable)")
    g.add_argument("--min-duration", type=float, default=None, metavar="S", help="leave out tracks under S seconds")
    g.add_argument("--max-duration", type=float, default=None, metavar="S", help="leave out tracks over S seconds")
    g.add_argument("--exclude-folder", action="append", default=[], metavar="DIR",
                   help="leave out tracks inside DIR (repeatable)")
    add_scope_option(p)
    g.add_argument("--out", required=out_required, metavar="FILE", help=OUT_HELP + "; its folder must exist")
    g.add_argument("--force", action="store_true",
                   help="replace --out FILE if it is an existing playlist (other files are never replaced)")
    add_mpd_options(p)


def filters_from(args: argparse.Namespace) -> Filters:
    """The :class:`~musicsim.playlists.filters.Filters` the playlist options ask for."""
    from musicsim.playlists.filters import Filters

    for name in ("max_per_artist", "max_per_album"):
        if getattr(args, name) < 0:
            raise UserError(f"--{name.replace('_', '-')} must be 0 (no limit) or more.")
    for name in ("min_duration", "max_duration"):
        value = getattr(args, name)
        if value is not None and not value >= 0:
            raise UserError(f"--{name.replace('_', '-')} must be a number of seconds, 0 or more.")
    if args.min_duration is not None and args.max_duration is not None and args.min_duration > args.max_duration:
        raise UserError("--min-duration is longer than --max-duration: no track could pass.")
    return Filters(max_per_artist=args.max_per_artist or None, max_per_album=args.max_per_album or None,
                   exclude_genres=frozenset(args.exclude_genre), min_duration=args.min_duration,
                   max_duration=args.max_duration, exclude_folders=tuple(args.exclude_folder))


@contextmanager
def refusals_as_user_errors() -> Iterator[None]:
    """The refusals of the one overwrite rule (:func:`musicsim.library.playlist.check_target`) as user
    errors, with the ``--force`` hint, for every command that writes a playlist."""
    from musicsim.library.playlist import PlaylistExists, PlaylistTargetError

    try:
        yield
    except PlaylistExists as exc:
        raise UserError(f"{exc} Add --force to replace it.") from exc
    except PlaylistTargetError as exc:
        raise UserError(str(exc)) from exc


def check_out(args: argparse.Namespace, lib: Library) -> None:
    """Fail fast, before any search, when ``--out`` could not be written (or names no playlist format)."""
    if not args.out:
        return
    from musicsim.library.playlist import check_target, playlist_format

    with refusals_as_user_errors():
        check_target(args.out, protected=[lib.data_dir], replace=args.force)
    try:
        playlist_format(Path(args.out))
    except ValueError as exc:
        raise UserError(f"--out {shown(args.out)}: a playlist file name ends in .m3u8, .m3u or .xspf.") from exc


def resolve(lib: Library, query: str, args: argparse.Namespace, err: TextIO) -> Track:
    """The track ``query`` names; when several match, says on ``err`` which one it used and names others."""
    found = lib.resolve(query, root=scope(args))
    if found.ambiguous:
        others = ", ".join(track_line(t) for t in found.others)
        more = found.matches - 1 - len(found.others)
        err.write(f"Using: {track_line(found.track)} ({found.matches} tracks match \"{shown(found.query)}\"; "
                  f"others: {others}{f' and {more} more' if more > 0 else ''}; give a path or more words)\n")
    return found.track


def _count(value: int, option: str, least: int = 1) -> int:
    if value < least:
        raise UserError(f"{option} must be at least {least}.")
    return value


def _emit(args: argparse.Namespace, lib: Library, rows: Sequence[SimilarTrack], out: TextIO, err: TextIO,
          title: str, file_tracks: Sequence[Track] | None = None) -> None:
    """Print ``rows`` (JSON or one line each), write ``--out`` and send ``--to-mpd`` (``file_tracks``,
    default the rows)."""
    if getattr(args, "json", False):
        print_json([s.to_json() for s in rows], out)
    else:
        for i, s in enumerate(rows, 1):
            out.write(f"{i:>3}. {s.score:.3f}  {track_line(s.track)}  [{shown(s.track.genre or '')}]  "
                      f"{shown(s.track.path)}\n")
    tracks = list(file_tracks) if file_tracks is not None else [s.track for s in rows]
    if args.out:
        with refusals_as_user_errors():
            path = lib.export_playlist(tracks, args.out, title=title, replace=args.force)
        err.write(f"Wrote {len(tracks)} tracks ({shown(title)}) to {shown(str(path))}\n")
    send_to_mpd(args, [t.path for t in tracks], err)


def _similar(args: argparse.Namespace, lib: Library, err: TextIO) -> tuple[Track, list[SimilarTrack]]:
    n = _count(args.n, "-n")
    rules = filters_from(args)
    check_out(args, lib)
    seed = resolve(lib, args.query, args, err)
    return seed, lib.similar(seed, n=n, root=scope(args), filters=rules)


def cmd_similar(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        seed, found = _similar(args, lib, err)
        if not args.json:
            err.write(f"Like: {track_line(seed)}  ({shown(seed.path)})\n")
        _emit(args, lib, found, out, err, f"Like {seed.label()}",
              ([seed] if args.include_seed else []) + [s.track for s in found])
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        seed, found = _similar(args, lib, err)
        tracks = ([seed] if args.include_seed else []) + [s.track for s in found]
        with refusals_as_user_errors():
            path = lib.export_playlist(tracks, args.out, title=f"Like {seed.label()}", replace=args.force)
    err.write(f"Wrote {len(tracks)} tracks like {track_line(seed)} to {shown(str(path))}\n")
    send_to_mpd(args, [t.path for t in tracks], err)
    return 0


def cmd_mix(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    n = _count(args.n, "-n")
    rules = filters_from(args)
    with open_library(args) as lib:
        check_out(args, lib)
        seeds = [resolve(lib, q, args, err) for q in args.queries]
        minus = [resolve(lib, q, args, err) for q in args.minus]
        found = lib.mix(seeds, n=n, minus=minus, root=scope(args), filters=rules)
        names = ", ".join(t.label() for t in seeds)
        if not args.json:
            err.write(f"Mix of: {shown(names)}" + (f"; away from: {shown(', '.join(t.label() for t in minus))}"
                                                   if minus else "") + "\n")
        _short(len(found), n, err)
        _emit(args, lib, found, out, err, f"Mix of {names}")
    return 0


def cmd_path(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    n = _count(args.n, "-n", least=2)
    rules = filters_from(args)
    with open_library(args) as lib:
        check_out(args, lib)
        start = resolve(lib, args.start, args, err)
        end = resolve(lib, args.end, args, err)
        if start.id == end.id:
            raise UserError("FROM and TO are the same track: a journey needs two different songs.")
        found = lib.journey(start, end, n=n, root=scope(args), filters=rules)
        if not args.json:
            err.write(f"Journey: {track_line(start)} -> {track_line(end)}\n")
        if len(found) < n:
            err.write(f"Only {len(found) - 2} songs lie between them (after the filters): "
                      f"the journey has {len(found)} songs, not {n}.\n")
        _emit(args, lib, found, out, err, f"From {start.label()} to {end.label()}")
    return 0


def cmd_radio(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.playlists.radio import DEFAULT_LENGTH_S

    count = _count(args.count, "--count")
    rules = filters_from(args)
    with open_library(args) as lib:
        check_out(args, lib)
        seeds = [resolve(lib, q, args, err) for q in args.queries]
        session = lib.radio(seeds, root=scope(args), filters=rules)
        played: list[SimilarTrack] = []
        while len(played) < count:
            got = session.next(1)
            if not got:
                break
            played.extend(got)
            session.feedback(got[0].track.id, got[0].track.duration or DEFAULT_LENGTH_S, skipped=False)
        names = ", ".join(t.label() for t in seeds)
        if not args.json:
            err.write(f"Radio from: {shown(names)}\n")
        _short(len(played), count, err)
        _emit(args, lib, played, out, err, f"Radio from {names}")
    return 0


def _short(got: int, wanted: int, err: TextIO) -> None:
    if got < wanted:
        err.write(f"Only {got} tracks pass the filters here (asked for {wanted}).\n")
