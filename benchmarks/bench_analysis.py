"""Analysis speed on full-length songs of mixed formats: musicsim vs bliss vs a naive baseline.

    nice .venv/bin/python -m benchmarks.bench_analysis [--songs 50] [--repeat 3] [--workers N]

Same files, same run, files in the page cache for everyone. Each contender runs as a fresh process
(``python -m benchmarks.bench_analysis --child NAME``), timed from its start to its exit, start-up
included (imports, loading the model, starting workers: what a person running ``musicsim scan``
waits for):

* **musicsim**: ``Library.scan`` of the folder, end to end (walk, tags, decode + features + network in
  worker processes, SQLite, hnswlib), default engine (ONNX Runtime on a CPU), ``--workers`` processes.
* **musicsim-torch**: the same scan with the PyTorch engine on the CPU (the engine before issue 10:
  decode workers, inference threads in the parent).
* **bliss**: ``bliss_audio.Song(path)`` (bliss-rs 0.1.11) over a process pool of ``--workers`` processes.
* **naive** (``--naive-songs K``, on the first K songs): one process, the whole file decoded at 16 kHz,
  the log-mel of the whole track, every consecutive window through the network (musicnn's extractor),
  mean-pooled.

Wall time and CPU time are both reported; CPU time counts the contender's process, its reaped
children (bliss's pool) and musicsim's worker processes and fork server (read from /proc, since
they are not the contender's children): on a shared machine CPU time is the steadier measure.
Then, one process, one thread, where musicsim's CPU time goes per track. Songs: full-length corpus
songs transcoded to mp3/flac/m4a/ogg/opus (benchmarks/common.py ``corpus_songs``; without the corpus,
``--gtzan`` loops GTZAN clips into songs). Appends JSON lines to benchmarks/results/analysis.jsonl.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in musicsim's workers (the breakdown runs here)

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "analysis.jsonl"
CONTENDERS = ("musicsim", "musicsim-torch", "bliss")
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (not its children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _own_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# -- contenders, each run in a child process ---------------------------------------------------------

def _count_musicsim_workers() -> list[float]:
    """Patch the pipeline so the CPU time of its workers is read just before they stop."""
    from musicsim.analysis import pipeline

    spent = [0.0]
    real_close = pipeline._Pool.close

    def close(pool: pipeline._Pool) -> None:
        spent[0] += sum(_proc_cpu(w.process.pid) for w in pool.workers if w.process.pid)
        real_close(pool)

    pipeline._Pool.close = close  # type: ignore[method-assign]
    return spent


def _forkserver_cpu() -> float:
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return _proc_cpu(pid) if pid else 0.0


def child_musicsim(folder: Path, workers: int, model: Path | None, torch_engine: bool) -> dict[str, float]:
    from musicsim.library.library import Library

    spent = _count_musicsim_workers()
    data = Path(tempfile.mkdtemp(prefix="musicsim-bench-"))
    try:
        lib = Library(data_dir=data, model_path=model, device="cpu")
        if torch_engine:
            from musicsim.model.inference import load_model

            lib._model = load_model(lib.model_path, device="cpu")
        sync, report = lib.scan(folder, workers=workers)
        assert report.failed == 0 and report.analysed == sync.added, (sync, report)
        lib.close()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {"extra_cpu": spent[0] + _forkserver_cpu(), "engine": 0.0 if not torch_engine else 1.0}


def _bliss_one(path: str) -> int:
    from bliss_audio import Song

    return len(Song(path).analysis)


def child_bliss(paths: list[Path], workers: int) -> dict[str, float]:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as ex:
        assert all(n > 0 for n in ex.map(_bliss_one, [str(p) for p in paths]))
    return {}


def child_naive(paths: list[Path], model: Path | None) -> dict[str, float]:
    from musicsim.audio.decode import load
    from musicsim.features import patches
    from musicsim.model.inference import load_model, pool_segments

    net = load_model(model, device="cpu")
    for p in paths:
        y = load(p, net.features.sample_rate)
        pool_segments(net.predict(patches(y, net.features)))
    return {}


def run_child(name: str, folder: Path, paths: list[Path], args: argparse.Namespace) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.bench_analysis", "--child", name, "--folder", str(folder),
           "--workers", str(args.workers)] + (["--model", str(args.model)] if args.model else [])
    if name == "naive":
        cmd += ["--naive-songs", str(args.naive_songs)]
    c0, w0 = _own_cpu(), time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    wall, cpu = time.perf_counter() - w0, _own_cpu() - c0
    extra = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall": wall, "cpu": cpu + extra.get("extra_cpu", 0.0)}


def child_main(args: argparse.Namespace) -> None:
    paths = sorted(p for p in args.folder.iterdir() if p.is_file())
    if args.child == "musicsim":
        extra = child_musicsim(args.folder, args.workers, args.model, torch_engine=False)
    elif args.child == "musicsim-torch":
        extra = child_musicsim(args.folder, args.workers, args.model, torch_engine=True)
    elif args.child == "bliss":
        extra = child_bliss(paths, args.workers)
    else:
        extra = child_naive(paths[: args.naive_songs], args.model)
    print(json.dumps(extra))


# -- the breakdown, in this process ----------------------------------------------------------------

def breakdown(paths: list[Path], model_path: Path | None) -> dict[str, float]:
    """CPU seconds per track in each stage, one process, one thread, one file at a time (ONNX Runtime)."""
    import numpy as np

    from musicsim.analysis.segments import DEFAULT_SEGMENTS, window_starts
    from musicsim.audio.decode import load_windows
    from musicsim.features import context_patch
    from musicsim.model.onnx_model import OnnxModel
    from musicsim.model.outputs import pool_segments

    model = OnnxModel.load(model_path)
    cfg = model.features
    t = {"decode": 0.0, "features": 0.0, "model": 0.0}
    for p in paths:
        t0 = time.process_time()
        windows = load_windows(p, cfg.sample_rate, cfg.window_samples,
                               lambda d, w: window_starts(d, w, DEFAULT_SEGMENTS))
        t1 = time.process_time()
        x = np.stack([context_patch(w, cfg) for w in windows])
        t2 = time.process_time()
        pool_segments(model.predict(x))
        t3 = time.process_time()
        t["decode"] += t1 - t0
        t["features"] += t2 - t1
        t["model"] += t3 - t2
    return {k: v / len(paths) for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=50)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-corpus-songs")
    ap.add_argument("--gtzan", action="store_true", help="GTZAN clips looped into songs instead of the corpus")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped one)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of every contender (interleaved)")
    ap.add_argument("--skip", nargs="*", default=[], choices=[*CONTENDERS, "breakdown"])
    ap.add_argument("--naive-songs", type=int, default=0, metavar="K", help="run the naive baseline on K songs")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--child", choices=[*CONTENDERS, "naive"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args)
        return

    from benchmarks.common import FORMATS, corpus_songs, make_songs
    from musicsim.audio.decode import open_audio

    paths = make_songs(args.songs_dir, args.songs, FORMATS) if args.gtzan else corpus_songs(args.songs_dir, args.songs)
    folder = Path(tempfile.mkdtemp(prefix="musicsim-bench-lib-"))
    naive_folder = Path(tempfile.mkdtemp(prefix="musicsim-bench-naive-"))
    for i, p in enumerate(paths):  # only this run's songs, whatever else the songs dir holds
        for dest in [folder] + ([naive_folder] if i < args.naive_songs else []):
            os.link(p, dest / p.name) if p.stat().st_dev == dest.stat().st_dev else shutil.copy(p, dest)
        p.read_bytes()  # page cache: every contender reads warm files
    n = len(paths)
    durations = []
    for p in paths:
        with open_audio(p) as r:
            durations.append(r.info.duration or 0.0)
    formats = sorted({p.suffix[1:] for p in paths})
    print(f"{n} songs, {sum(durations) / 60:.0f} min (median {statistics.median(durations) / 60:.1f} min; "
          f"{', '.join(formats)}), {args.workers} workers/processes, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}", flush=True)
    names = [c for c in CONTENDERS if c not in args.skip] + (["naive"] if args.naive_songs else [])
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in names}
    loads = []
    for rep in range(args.repeat):
        for name in names:
            res = run_child(name, naive_folder if name == "naive" else folder, paths, args)
            k = args.naive_songs if name == "naive" else n
            res = {"wall": res["wall"] / k, "cpu": res["cpu"] / k}
            runs[name].append(res)
            loads.append(os.getloadavg()[0])
            print(f"run {rep + 1} {name:15s} {res['wall']:.3f} s/track wall, {res['cpu']:.3f} CPU-s/track "
                  f"(load average {loads[-1]:.1f})", flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in runs.items()}
    stages = {} if "breakdown" in args.skip else breakdown(paths, args.model)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(naive_folder, ignore_errors=True)
    ref = med.get("musicsim")
    print(f"\nmedian of {args.repeat} run(s), load average {min(loads):.1f}-{max(loads):.1f}\n"
          "| system | s/track (wall) | tracks/s | CPU-s/track | musicsim faster by (wall) | (CPU) |\n"
          "|---|---|---|---|---|---|")
    for name, m in med.items():
        ratio = (f"{m['wall'] / ref['wall']:.2f}x | {m['cpu'] / ref['cpu']:.2f}x" if ref else "- | -")
        print(f"| {name} | {m['wall']:.3f} | {1 / m['wall']:.2f} | {m['cpu']:.3f} | {ratio} |")
    if stages:
        print("\nmusicsim per track, one process, one thread (CPU-s): "
              + ", ".join(f"{k} {v:.4f}" for k, v in stages.items()))
    args.results.parent.mkdir(exist_ok=True)
    with args.results.open("a") as fh:
        fh.write(json.dumps(dict(
            when=time.strftime("%Y-%m-%d %H:%M:%S"), machine=platform.platform(), cpu=platform.processor(),
            cores=os.cpu_count(), load_avg=[min(loads), max(loads)], workers=args.workers, songs=n,
            minutes=round(sum(durations) / 60, 1), formats=formats, repeat=args.repeat,
            source="gtzan-loops" if args.gtzan else "corpus", naive_songs=args.naive_songs,
            runs=runs, median=med, stages_cpu_s_per_track={k: round(v, 4) for k, v in stages.items()})) + "\n")


if __name__ == "__main__":
    main()
