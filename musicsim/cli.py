"""The ``musicsim`` command line.

``musicsim`` with no subcommand (or ``musicsim FOLDER``) opens the desktop app; the subcommands drive
the same engine (:class:`musicsim.library.library.Library`) from a terminal. ``--json`` shapes are
documented in docs/cli.md. Errors print one line and exit 1 (usage errors: 2, interrupted: 130).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from musicsim import __version__
from musicsim.paths import DATA_DIR_ENV

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
COMMANDS = ("scan", "status", "genres", "similar", "export", "problems")


class UserError(Exception):
    """A failure explained by its message alone (no traceback)."""


# -- parser ---------------------------------------------------------------------------------
def common_options() -> argparse.ArgumentParser:
    """Options every command takes (defaults suppressed so a subcommand never overrides the main parser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                   help=f"where the catalogue and index live (env {DATA_DIR_ENV}; default: your user data folder)")
    g.add_argument("--model", metavar="FILE", default=argparse.SUPPRESS,
                   help="model file (default: the shipped resources/musicsim-model.pt)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=argparse.SUPPRESS,
                   help="where the network runs (default: auto = CUDA, then Apple MPS, else CPU)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
    return p


def _register_training(sub: argparse._SubParsersAction) -> None:
    try:
        from musicsim.training.cli import register
    except ImportError:
        return
    register(sub)


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="musicsim", parents=[common],
        description="Recommend music from your own library by how it sounds. "
                    "Without a command, opens the desktop app (musicsim [FOLDER]).")
    parser.add_argument("--version", action="version", version=f"musicsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("scan", parents=[common], help="catalogue and analyse a music folder (re-run: incremental)")
    p.add_argument("folder", help="music folder")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="decoding workers (default: automatic)")

    p = sub.add_parser("status", parents=[common], help="tracks, analysed, pending, failed, model, device")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("genres", parents=[common], help="every analysed track with its predicted genre")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    for name, text in (("similar", "tracks that sound like QUERY"), ("export", "write the similar playlist as M3U8")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("query", metavar="QUERY", help="a file path, or words from a title/artist")
        p.add_argument("-n", type=int, default=10, help="how many tracks (default: 10)")
        p.add_argument("--max-per-artist", type=int, default=2, metavar="K",
                       help="at most K songs per artist (default: 2; 0 = no limit)")
        if name == "similar":
            p.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            p.add_argument("--out", required=True, metavar="FILE", help="playlist file to write (.m3u8)")
            p.add_argument("--include-seed", action="store_true", help="start the playlist with QUERY's track")

    p = sub.add_parser("problems", parents=[common], help="files that could not be analysed, with reasons")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    _register_training(sub)
    parser.set_defaults(command=None)
    parser.commands = sub.choices  # type: ignore[attr-defined]  # name -> subparser, for main()
    return parser


def build_app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicsim", parents=[common_options()],
                                     description="Open the musicsim desktop app, optionally on FOLDER.")
    parser.add_argument("folder", nargs="?", help="music folder to open and scan")
    return parser


# -- helpers --------------------------------------------------------------------------------
def _opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def _library(args: argparse.Namespace):
    from musicsim.library.library import Library

    device = _opt(args, "device")
    return Library(data_dir=_opt(args, "data_dir"), model_path=_opt(args, "model"),
                   device=None if device in (None, "auto") else device)


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """A plain-text progress line on ``stream``: redrawn in place on a terminal, else a line every few seconds."""

    def __init__(self, stream: TextIO, width: int = 30, every_s: float = 5.0) -> None:
        self.stream = stream
        self.width = width
        self.every_s = every_s
        self.tty = stream.isatty()
        self._last = 0.0
        self._drawn = False
        self._final_shown = False

    def __call__(self, p) -> None:  # AnalysisProgress
        now = time.monotonic()
        final = p.done >= p.total
        if final and self._final_shown:
            return
        if not self.tty and not final and now - self._last < self.every_s:
            return
        self._last = now
        self._final_shown = final
        filled = int(self.width * p.done / p.total) if p.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] {p.done}/{p.total} tracks, {p.failed} failed, {_clock(p.elapsed_s)} elapsed, "
                f"~{_clock(p.eta_s)} left")
        if self.tty:
            self.stream.write("\r" + line[: 200].ljust(100))
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _track_line(t) -> str:
    return f"{t.artist} - {t.title}" if t.artist else t.title


# -- commands -------------------------------------------------------------------------------
def cmd_scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.model.checkpoint import ModelFileError, ModelNotFoundError

    lib = _library(args)
    cancel = threading.Event()
    finished = threading.Event()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["sync"] = lib.sync_folder(args.folder, cancel=cancel)
            if result["sync"].cancelled:
                return
            err.write(f"Catalogued {args.folder}: {result['sync'].added} new, {result['sync'].changed} changed, "
                      f"{result['sync'].removed} removed, {result['sync'].unchanged} unchanged, "
                      f"{result['sync'].skipped} skipped.\n")
            if not cancel.is_set():
                result["analysis"] = lib.analyse_pending(progress=bar, cancel=cancel, workers=args.workers,
                                                         root=args.folder)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            result["error"] = exc
        finally:
            finished.set()

    bar = ProgressBar(err)
    worker = threading.Thread(target=work, name="musicsim-scan")
    in_main = threading.current_thread() is threading.main_thread()  # signal handlers live there only
    previous = signal.signal(signal.SIGTERM, lambda *_: cancel.set()) if in_main else None
    try:
        worker.start()
        # Wait on an Event, not Thread.join(timeout): a Ctrl-C inside join() can mark a running thread
        # as finished (CPython gh-90882), and the process would then exit under the analysis.
        while not finished.is_set():
            try:
                finished.wait(0.2)
            except KeyboardInterrupt:
                if cancel.is_set():  # second Ctrl-C: leave now; every stored batch is already committed
                    err.write("\nStopped.\n")
                    os._exit(EXIT_INTERRUPTED)
                cancel.set()
                err.write("\nStopping after the tracks in progress (Ctrl-C again to stop at once)...\n")
        worker.join()
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        bar.finish()
        lib.close()
    exc = result.get("error")
    if isinstance(exc, (ModelNotFoundError, ModelFileError)):
        raise UserError(f"{exc}\nThe folder is catalogued; analysis will run once a model file is available.")
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        raise UserError(str(exc))
    if exc is not None:
        raise exc
    analysis = result.get("analysis")
    synced = result.get("sync")
    if synced is not None and synced.cancelled:
        err.write(f"Interrupted while cataloguing: the {synced.added + synced.changed} files catalogued so far are "
                  f"kept. Run `musicsim scan {args.folder}` again to resume.\n")
        return EXIT_INTERRUPTED
    if cancel.is_set():
        done = analysis.analysed + analysis.failed if analysis else 0
        err.write(f"Interrupted: the {done} tracks analysed in this run are kept. "
                  f"Run `musicsim scan {args.folder}` again to resume.\n")
        return EXIT_INTERRUPTED
    if analysis is not None and analysis.analysed + analysis.failed == 0:
        err.write("Nothing to analyse: every track is up to date.\n")
    elif analysis is not None:
        err.write(f"Analysed {analysis.analysed} tracks, {analysis.failed} failed, in {_clock(analysis.elapsed_s)}.")
        err.write(" See `musicsim problems`.\n" if analysis.failed else "\n")
    return 0


def cmd_status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _library(args) as lib:
        st = lib.status()
    if args.json:
        _print_json(st.to_json(), out)
        return 0
    rows = [("Tracks", st.tracks), ("Analysed", st.analysed), ("Pending", st.pending),
            ("Failed", f"{st.failed}" + ("  (musicsim problems)" if st.failed else "")),
            ("Model version", st.model_version or "none (no model file, nothing analysed)"),
            ("Device", st.device), ("Data folder", lib.data_dir)]
    for name, value in rows:
        out.write(f"{name + ':':<15}{value}\n")
    return 0


def cmd_genres(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _library(args) as lib:
        tracks = [t for t in lib.tracks() if t.genre is not None]
    if args.json:
        _print_json([t.to_genre_json() for t in tracks], out)
        return 0
    if not tracks:
        err.write("No analysed tracks yet: run `musicsim scan FOLDER`.\n")
    for t in tracks:
        out.write(f"{t.genre:<10}{t.confidence:6.0%}  {_track_line(t)}\n")
    return 0


def _similar(args: argparse.Namespace, lib):
    if args.n < 1:
        raise UserError("-n must be at least 1.")
    seed = lib.find(args.query)
    cap = None if args.max_per_artist <= 0 else args.max_per_artist
    return seed, lib.similar(seed, n=args.n, max_per_artist=cap)


def cmd_similar(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _library(args) as lib:
        seed, found = _similar(args, lib)
    if args.json:
        _print_json([s.to_json() for s in found], out)
        return 0
    err.write(f"Like: {_track_line(seed)}  ({seed.path})\n")
    for i, s in enumerate(found, 1):
        out.write(f"{i:>3}. {s.score:.3f}  {_track_line(s.track)}  [{s.track.genre}]  {s.track.path}\n")
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _library(args) as lib:
        seed, found = _similar(args, lib)
        tracks = ([seed] if args.include_seed else []) + [s.track for s in found]
        path = lib.export_m3u8(tracks, args.out)
    err.write(f"Wrote {len(tracks)} tracks like {_track_line(seed)} to {path}\n")
    return 0


def cmd_problems(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _library(args) as lib:
        problems = lib.problems()
    if args.json:
        _print_json([p.to_json() for p in problems], out)
        return 0
    if not problems:
        err.write("No problems.\n")
    for p in problems:
        out.write(f"{p.path}\n    {p.reason}\n")
    return 0


def no_display() -> bool:
    """Linux with no X11/Wayland session and no chosen Qt platform: Qt would abort (exit 134) opening a window."""
    env = os.environ
    return (sys.platform.startswith("linux") and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")
            and not env.get("QT_QPA_PLATFORM"))


def run_app_command(args: argparse.Namespace, err: TextIO) -> int:
    if no_display():
        err.write("musicsim: no display found \u2014 the desktop app needs a graphical session; "
                  "the command line works: musicsim --help\n")
        return EXIT_USAGE
    try:
        from musicsim.app import run_app
    except ImportError as exc:
        raise UserError(f"The desktop app is not available ({exc}). Use the commands instead: "
                        f"musicsim {{{','.join(COMMANDS)}}} --help") from exc
    device = _opt(args, "device")
    return int(run_app(folder=_opt(args, "folder"), data_dir=_opt(args, "data_dir"), model_path=_opt(args, "model"),
                       device=None if device in (None, "auto") else device) or 0)


HANDLERS = {"scan": cmd_scan, "status": cmd_status, "genres": cmd_genres, "similar": cmd_similar,
            "export": cmd_export, "problems": cmd_problems}


def _wants_app(argv: Sequence[str], commands: Sequence[str]) -> bool:
    """No subcommand among the arguments (options only, or a folder): the desktop app."""
    takes_value = {"--data-dir", "--model", "--device"}
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in takes_value:
            skip = True
            continue
        if token.startswith("-"):
            if token in ("-h", "--help", "--version"):
                return False
            continue
        return token not in commands
    return True


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen (PyInstaller) bundle's spawned analysis workers start here
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    app = _wants_app(argv, list(parser.commands))  # type: ignore[attr-defined]
    args = (build_app_parser() if app else parser).parse_args(argv)
    try:
        if app:
            return run_app_command(args, err)
        handler = HANDLERS.get(args.command) or getattr(args, "func", None)
        if handler is None:
            parser.error(f"unknown command {args.command!r}")
        if handler in HANDLERS.values():
            return int(handler(args, out, err) or 0)
        return int(handler(args) or 0)  # registered by musicsim.training.cli
    except KeyboardInterrupt:
        err.write("\nInterrupted.\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        if _opt(args, "debug"):
            raise
        err.write(f"musicsim: error: {_message(exc)}\n")
        return EXIT_ERROR


def _message(exc: BaseException) -> str:
    from musicsim.library.catalogue import CatalogueError
    from musicsim.model.checkpoint import ModelFileError, ModelNotFoundError

    if isinstance(exc, (UserError, LookupError, ModelNotFoundError, ModelFileError, CatalogueError)):
        return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {exc} (run with --debug for details)"


if __name__ == "__main__":
    sys.exit(main())
