"""Analysis speed on full-length songs of mixed formats: musicsim vs bliss vs a naive baseline.

    nice .venv/bin/python -m benchmarks.bench_analysis [--songs 12] [--workers N] [--model FILE]

Same files, same run, files already in the page cache for everyone:

* **musicsim**: ``Library.scan`` end to end (tags, decode+features in worker processes,
  batched inference, SQLite writes, hnswlib index), ``--workers`` decode processes.
* **bliss**: ``bliss_audio.Song(path)`` (bliss-rs) over a process pool of the same size.
* **naive**: one process, ``librosa.load`` of the whole file at 16 kHz, log-mel of the whole
  track, every consecutive window through the model (musicnn's extractor), mean-pooled.

Wall time and CPU time (this process, its children and musicsim's decode workers) are both
reported: on a shared machine CPU time is the steadier measure. Then, one process, one thread,
one file at a time, where musicsim's CPU time goes: decoding the windows, features, model;
and the wall time of catalogue writes during the scan. Songs (GTZAN clips looped into 3-5 minute tracks, encoded
as mp3/flac/m4a/ogg) are made once in ``--songs-dir``. The model defaults to the shipped
musicnn port (or a random-weight checkpoint of the same architecture: same cost).
Appends JSON lines to benchmarks/results/analysis.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import make_songs, random_model
from musicsim.analysis import pipeline
from musicsim.analysis.pipeline import default_workers, infer
from musicsim.analysis.segments import DEFAULT_SEGMENTS, window_starts
from musicsim.audio.decode import load_windows, open_audio
from musicsim.features import patches, segment_patch
from musicsim.model.checkpoint import default_model_path
from musicsim.model.inference import load_model, pool_segments

RESULTS = Path(__file__).parent / "results" / "analysis.jsonl"
REAL_MODEL = default_model_path().parent / "musicnn-msd.pt"


def duration(path: Path) -> float:
    with open_audio(path) as reader:
        return reader.info.duration or 0.0


def bliss_one(path: str) -> int:
    from bliss_audio import Song

    return len(Song(path).analysis)


WORKER_CPU = [0.0]  # CPU seconds of musicsim's decode workers (children of the forkserver, not ours)


def cpu_seconds() -> float:
    """CPU time of this process, its reaped children and musicsim's finished workers (user + system)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + WORKER_CPU[0]


def count_worker_cpu() -> None:
    """Read each decode worker's CPU time from /proc just before the pipeline stops it."""
    real_close = pipeline._Pool.close
    tick = os.sysconf("SC_CLK_TCK")

    def close(pool: pipeline._Pool) -> None:
        for w in pool.workers:
            try:
                fields = Path(f"/proc/{w.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                WORKER_CPU[0] += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        real_close(pool)

    pipeline._Pool.close = close


def run_bliss(paths: list[Path], workers: int) -> float:
    with ProcessPoolExecutor(workers) as ex:
        assert all(n > 0 for n in ex.map(bliss_one, [str(p) for p in paths]))
    return 0.0


def run_musicsim(folder: Path, model_path: Path, workers: int) -> float:
    """A full scan; returns the seconds spent in catalogue writes."""
    from musicsim.library.library import Library

    data = Path(tempfile.mkdtemp(prefix="musicsim-bench-"))
    try:
        lib = Library(data_dir=data, model_path=model_path, device="cpu")
        lib.model()  # load once, outside the timing (the app keeps it loaded)
        write_s = 0.0
        real_write = lib.catalogue.write_results

        def timed_write(*a, **k):
            nonlocal write_s
            t = time.perf_counter()
            try:
                return real_write(*a, **k)
            finally:
                write_s += time.perf_counter() - t

        lib.catalogue.write_results = timed_write
        sync, report = lib.scan(folder, workers=workers)
        assert report.failed == 0 and report.analysed == sync.added, (sync, report)
        lib.close()
        return write_s
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run_naive(paths: list[Path], model_path: Path) -> float:
    import librosa

    model = load_model(model_path, device="cpu")
    cfg = model.features
    for p in paths:
        y, _ = librosa.load(str(p), sr=cfg.sample_rate, mono=True)
        pool_segments(model.predict(patches(y, cfg)))
    return 0.0


def breakdown(paths: list[Path], model_path: Path, n_segments: int) -> dict[str, float]:
    """CPU seconds per track in each stage, one process, one thread, one file at a time."""
    torch.set_num_threads(1)
    model = load_model(model_path, device="cpu")
    cfg = model.features
    t = {"decode": 0.0, "features": 0.0, "model": 0.0}
    for p in paths:
        t0 = time.process_time()
        windows = load_windows(p, cfg.sample_rate, cfg.segment_samples,
                               lambda d, w: window_starts(d, w, n_segments))
        t1 = time.process_time()
        x = np.stack([segment_patch(w, cfg) for w in windows])
        t2 = time.process_time()
        infer(model, [(0, x)], pipeline.CPU_CHUNK)  # as the pipeline's inference threads do
        t3 = time.process_time()
        t["decode"] += t1 - t0
        t["features"] += t2 - t1
        t["model"] += t3 - t2
    return {k: v / len(paths) for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-bench-songs")
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--model", type=Path, default=REAL_MODEL if REAL_MODEL.exists() else None)
    ap.add_argument("--skip", nargs="*", default=[], choices=["bliss", "naive", "breakdown"])
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--torch-threads", type=int, default=0, help="inference threads (default: torch's)")
    args = ap.parse_args()
    model_path = args.model or random_model(Path(tempfile.mkdtemp()) / "random.pt")
    paths = make_songs(args.songs_dir, args.songs)
    folder = Path(tempfile.mkdtemp(prefix="musicsim-bench-lib-"))
    for p in paths:  # only this run's songs, whatever else the songs dir holds
        os.link(p, folder / p.name) if p.stat().st_dev == folder.stat().st_dev else shutil.copy(p, folder)
    for p in paths:
        p.read_bytes()  # page cache: every contender reads warm files
    torch.set_num_threads(args.torch_threads or torch.get_num_threads())
    n = len(paths)
    minutes = sum(duration(p) for p in paths) / 60
    print(f"{n} songs, {minutes:.0f} min ({', '.join(sorted({p.suffix[1:] for p in paths}))}), {args.workers} workers, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
          f"model {model_path.name}", flush=True)
    count_worker_cpu()
    contenders = {"musicsim": lambda: run_musicsim(folder, model_path, args.workers),
                  "bliss": lambda: run_bliss(paths, args.workers),
                  "naive": lambda: run_naive(paths, model_path)}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    write_s = 0.0
    for name, run in contenders.items():
        if name in args.skip:
            continue
        w0, c0 = time.perf_counter(), cpu_seconds()
        extra = run()
        wall[name], cpu[name] = time.perf_counter() - w0, cpu_seconds() - c0
        write_s = extra if name == "musicsim" else write_s
        print(f"{name:9s} {wall[name] / n:.3f} s/track wall, {cpu[name] / n:.3f} CPU-s/track "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    stages = {} if "breakdown" in args.skip else breakdown(paths, model_path, DEFAULT_SEGMENTS)
    stages["catalogue"] = write_s / n
    shutil.rmtree(folder, ignore_errors=True)

    print("\n| system | s/track (wall) | tracks/s | CPU-s/track | musicsim speed-up (wall) | (CPU) |\n"
          "|---|---|---|---|---|---|")
    for name in wall:
        print(f"| {name} | {wall[name] / n:.3f} | {n / wall[name]:.2f} | {cpu[name] / n:.3f} | "
              f"{wall[name] / wall['musicsim']:.2f}x | {cpu[name] / cpu['musicsim']:.2f}x |")
    print("\nmusicsim stages, one process, one thread (CPU-s/track; catalogue: wall): "
          + ", ".join(f"{k} {v:.4f}" for k, v in stages.items()))
    args.results.parent.mkdir(exist_ok=True)
    with args.results.open("a") as fh:
        fh.write(json.dumps(dict(
            when=time.strftime("%Y-%m-%d %H:%M:%S"), machine=platform.platform(), cpu=platform.processor(),
            cores=os.cpu_count(), load_avg=os.getloadavg(), workers=args.workers,
            torch_threads=torch.get_num_threads(), songs=n, minutes=round(minutes, 1),
            formats=sorted({p.suffix[1:] for p in paths}), segments=DEFAULT_SEGMENTS, model=model_path.name,
            seconds_per_track={k: round(v / n, 4) for k, v in wall.items()},
            cpu_seconds_per_track={k: round(v / n, 4) for k, v in cpu.items()},
            stages_s_per_track={k: round(v, 4) for k, v in stages.items()})) + "\n")


if __name__ == "__main__":
    main()
