"""``scan``, ``status``, ``genres`` and ``problems``: building the library and reading it back."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path
from typing import Any, TextIO

from musicsim.cli.common import (
    EXIT_INTERRUPTED,
    UserError,
    add_json_option,
    add_scope_option,
    open_library,
    opt,
    scope,
)
from musicsim.cli.output import ProgressBar, print_json, shown, track_line
from musicsim.formatting import format_clock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("scan", parents=[common], help="catalogue and analyse a music folder (re-run: incremental)")
    p.add_argument("folder", help="music folder")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="decoding workers (default: automatic)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="analyse on a Ray cluster: auto (the cluster this machine is in) or HEAD:PORT; the "
                        "catalogue stays here; every node must see the music at the same path (docs/cluster.md)")
    p.set_defaults(handler=cmd_scan)

    p = sub.add_parser("status", parents=[common], help="tracks, analysed, pending, failed, model, device")
    add_scope_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("genres", parents=[common], help="every analysed track with its predicted genre")
    add_scope_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_genres)

    p = sub.add_parser("problems", parents=[common], help="files that could not be analysed, with reasons")
    add_scope_option(p)
    add_json_option(p)
    p.set_defaults(handler=cmd_problems)


def cmd_scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.library.records import SyncReport
    from musicsim.library.scanner import walk_audio
    from musicsim.model.errors import ModelFileError, ModelNotFoundError

    lib = open_library(args)
    try:
        runner = _cluster_runner(args, lib.model_path)
    except UserError:
        lib.close()
        raise
    cancel = threading.Event()
    finished = threading.Event()
    result: dict[str, Any] = {}
    bar = ProgressBar(err)
    folder = shown(args.folder)

    def waiting(message: str) -> None:
        bar.finish()
        err.write(f"{shown(message)} (Ctrl-C to stop waiting)\n")
        err.flush()

    def work() -> None:
        try:
            if not os.path.isdir(os.path.abspath(args.folder)):
                list(walk_audio(args.folder))  # the folder's own error, before any other
            lib.preload()  # model and workers get ready during the folder walk
            with lib.writing(f"scanning {os.path.abspath(args.folder)}", waiting, cancel) as got:
                if not got:
                    result["sync"] = SyncReport(cancelled=True)
                    return
                synced = result["sync"] = lib.sync_folder(args.folder, cancel=cancel)
                if synced.cancelled:
                    return
                err.write(f"Catalogued {folder}: {synced.added} new, {synced.changed} changed, {synced.removed} "
                          f"removed, {synced.unchanged} unchanged, {synced.skipped} skipped.\n")
                if not cancel.is_set():
                    result["analysis"] = lib.analyse_pending(progress=bar, cancel=cancel, workers=args.workers,
                                                             root=args.folder, runner=runner)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            result["error"] = exc
        finally:
            finished.set()

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
        raise UserError(f"{exc} The folder is catalogued; analysis will run once a model file is available.")
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        raise UserError(str(exc))
    if exc is not None and type(exc).__name__ == "ClusterError":  # musicsim.cluster, imported only with --ray
        raise UserError(f"{exc}\nThe folder is catalogued; what was analysed is kept.")
    if exc is not None:
        raise exc
    analysis = result.get("analysis")
    synced = result.get("sync")
    if synced is not None and synced.cancelled:
        err.write(f"Interrupted while cataloguing: the {synced.added + synced.changed} files catalogued so far are "
                  f"kept. Run `musicsim scan {folder}` again to resume.\n")
        return EXIT_INTERRUPTED
    if cancel.is_set():
        done = analysis.analysed + analysis.failed if analysis else 0
        err.write(f"Interrupted: the {done} tracks analysed in this run are kept. "
                  f"Run `musicsim scan {folder}` again to resume.\n")
        return EXIT_INTERRUPTED
    if analysis is not None and analysis.analysed + analysis.failed == 0:
        err.write("Nothing to analyse: every track is up to date.\n")
    elif analysis is not None:
        err.write(f"Analysed {analysis.analysed} tracks, {analysis.failed} failed, in "
                  f"{format_clock(analysis.elapsed_s)}.")
        err.write(" See `musicsim problems`.\n" if analysis.failed else "\n")
    return 0


def _cluster_runner(args: argparse.Namespace, model_path: Path) -> Any:
    """The Ray runner for ``--ray ADDRESS`` (None without it); Ray is imported only when a scan starts."""
    address = opt(args, "ray")
    if address is None:
        return None
    if args.workers is not None:
        raise UserError("--workers is for scans on this machine; with --ray the cluster's CPUs decide.")
    from musicsim.cluster import ClusterError, cluster_runner

    try:
        return cluster_runner(address, model_path)
    except ClusterError as exc:
        raise UserError(str(exc)) from None


def cmd_status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.logs import log_path

    with open_library(args) as lib:
        st = lib.status(root=scope(args))
    if args.json:
        print_json(st.to_json(), out)
        return 0
    rows = [("Tracks", st.tracks), ("Analysed", st.analysed), ("Pending", st.pending),
            ("Failed", f"{st.failed}" + ("  (musicsim problems)" if st.failed else "")),
            ("Model version", st.model_version or "none (no model file, nothing analysed)"),
            ("Device", st.device), ("Data folder", lib.data_dir), ("Log file", log_path(lib.data_dir))]
    if st.model_problem:
        rows.insert(5, ("Model file", st.model_problem))
    if st.read_only:
        rows.append(("Read-only", f"yes: {st.read_only}; reading works, scanning cannot store anything"))
    if opt(args, "scope"):
        rows.insert(0, ("Folder", scope(args)))
    for name, value in rows:
        out.write(f"{name + ':':<15}{shown(str(value))}\n")
    return 0


def cmd_genres(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        tracks = lib.genre_tracks(root=scope(args))
    if args.json:
        print_json([t.to_genre_json() for t in tracks], out)
        return 0
    if not tracks:
        err.write("No analysed tracks yet: run `musicsim scan FOLDER`.\n")
    for t in tracks:
        lab = t.genre_label
        text = lab.text() if lab else (t.genre or "")
        conf = lab.confidence if lab else (t.confidence or 0.0)
        own = ""
        if t.file_genre:
            own = f"  [tag: {shown(t.file_genre)}]"
        elif t.suggested_genre:
            own = f"  [suggested: {shown(t.suggested_genre)} {t.suggested_confidence or 0.0:.0%}]"
        out.write(f"{text:<22}{conf:5.0%}  {track_line(t)}{own}\n")
    return 0


def cmd_problems(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_library(args) as lib:
        problems = lib.problems(root=scope(args))
    if args.json:
        print_json([p.to_json() for p in problems], out)
        return 0
    if not problems:
        err.write("No problems.\n")
    for p in problems:
        out.write(f"{shown(p.path)}\n    {shown(p.reason)}\n")
    return 0
