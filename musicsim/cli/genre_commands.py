"""``search`` ("sounds like" by words) and ``tag-genres`` (genres learned from your own tags, into files)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from musicsim.cli.common import UserError, add_json_option, add_scope_option, open_library, scope
from musicsim.cli.output import print_json, shown, track_line

if TYPE_CHECKING:
    from musicsim.library.own_genres import GenreAgreement


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[common], help='tracks that sound like words ("mellow acoustic")',
                       description="Rank tracks by the model's tag probabilities for WORDS (its tag names and "
                                   "simple synonyms; an unknown word lists the vocabulary).")
    p.add_argument("words", nargs="+", metavar="WORDS", help='e.g. mellow acoustic, "female vocal", electronic dance')
    p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
    add_scope_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("tag-genres", parents=[common], help="suggest genres learned from your own genre tags "
                                                            "(dry run; --write puts them into the files)",
                       description="Learns your genre tags (every genre with 5 or more tagged, analysed files) and "
                                   "suggests a genre for each file without one. Without --write nothing is changed. "
                                   "--write changes only the genre tag (every other tag and the audio are checked "
                                   "unchanged), journals each file in the data folder, and --undo restores the last "
                                   "run's files byte for byte.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write the suggested genres into the files' tags")
    g.add_argument("--undo", action="store_true", help="restore the files of the last --write run, byte for byte")
    p.add_argument("--overwrite", action="store_true",
                   help="also replace genres already in files (default: only files without a genre)")
    p.add_argument("--min-confidence", type=float, default=None, metavar="P",
                   help="write only suggestions at least this probable (default: 0.5)")
    add_scope_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_tag_genres)


def cmd_search(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.n < 1:
        raise UserError("-n must be at least 1.")
    with open_library(args) as lib:
        found = lib.search(args.words, n=args.n, root=scope(args))
    if args.json:
        print_json([s.to_json() for s in found], out)
        return 0
    if not found:
        err.write("No analysed tracks yet: run `musicsim scan FOLDER`.\n")
    for i, s in enumerate(found, 1):
        lab = s.track.genre_label
        out.write(f"{i:>3}. {s.score:.3f}  {track_line(s.track)}  [{lab.text() if lab else s.track.genre}]  "
                  f"{shown(s.track.path)}\n")
    return 0


def cmd_tag_genres(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.library.own_genres import WRITE_MIN_CONFIDENCE

    with open_library(args) as lib:
        if args.undo:
            undone = lib.undo_genre_writes()
            if undone.run is None:
                err.write("Nothing to undo: no genre writes in the journal.\n")
                return 0
            for path, why in undone.problems:
                err.write(f"not restored: {shown(path)}: {shown(why)}\n")
            err.write(f"Restored {undone.restored} files of run {undone.run} byte for byte.\n")
            return 1 if undone.problems else 0
        agreement = lib.genre_agreement()
        suggestions = lib.genre_suggestions(root=scope(args), overwrite=args.overwrite)
        threshold = WRITE_MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence
        chosen = [s for s in suggestions if s.confidence >= threshold]
        if args.json and not args.write:
            print_json({"agreement": agreement.to_json(), "min_confidence": threshold,
                        "suggestions": [s.to_json() | {"would_write": s.confidence >= threshold}
                                        for s in suggestions]}, out)
            return 0
        _summary(agreement, err)
        if not args.write:
            for s in suggestions:
                mark = "" if s.confidence >= threshold else "  (below --min-confidence: not written)"
                old = f"  (now: {shown(s.track.file_genre)})" if s.track.file_genre else ""
                out.write(f"{shown(s.genre):<18}{s.confidence:5.0%}  {track_line(s.track)}{old}{mark}\n")
            if suggestions:
                err.write(f"Dry run: {len(chosen)} of {len(suggestions)} suggestions would be written "
                          "(musicsim tag-genres --write).\n")
            return 0
        report = lib.write_genres(chosen)
        for path, why in report.failed:
            err.write(f"not written: {shown(path)}: {shown(why)}\n")
        if args.json:
            print_json({"written": [t.path for t in report.written],
                        "failed": [{"path": p, "reason": r} for p, r in report.failed], "run": report.run}, out)
        err.write(f"Wrote the genre of {len(report.written)} files ({len(report.failed)} failed)"
                  + (f"; undo with musicsim tag-genres --undo (journal run {report.run}).\n" if report.run else ".\n"))
        return 1 if report.failed else 0


def _summary(agreement: GenreAgreement, err: TextIO) -> None:
    if len(agreement.learned_genres) < 2:
        err.write(f"{agreement.tagged} analysed files have a genre tag; musicsim learns a genre once 5 files "
                  "carry it, and needs two such genres to suggest anything.\n")
        return
    learned = ", ".join(f"{shown(g)} ({n})" for g, n in agreement.learned_genres.items())
    share = f"{agreement.share:.0%}" if agreement.share is not None else "n/a"
    err.write(f"Learned from your tags: {learned}. musicsim agrees with your tags for {agreement.agreed} of "
              f"{agreement.files} tagged files ({share}, cross-validated).\n")
