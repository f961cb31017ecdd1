"""Where a track's decoding time goes, by format: open, seek + decode the 8 windows, resample, log-mel.

    nice .venv/bin/python -m benchmarks.bench_decode [--songs 50] [--songs-dir DIR] [--repeat 2]

One process, one thread, files in the page cache; CPU milliseconds per track (median over the
songs of each format, best of ``--repeat`` passes). The windows are those the analysis decodes
(``segments.window_starts``, 8 per track, each with its resampler lead-in). For comparison, the cost
of decoding the whole file (what a naive analyser does). Songs: full-length corpus songs transcoded
to mp3/flac/m4a/ogg/opus (benchmarks/common.py ``corpus_songs``). Appends to results/decode.jsonl.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in musicsim's workers (else the log-mel's BLAS call spins)

import argparse
import json
import math
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import corpus_songs
from musicsim.analysis.segments import DEFAULT_SEGMENTS, window_starts
from musicsim.audio import decode
from musicsim.features import MUSICNN, context_patch

RESULTS = Path(__file__).parent / "results" / "decode.jsonl"


def stages(path: Path) -> dict[str, float]:
    """CPU seconds of each stage for one file, done as ``decode.load_windows`` does it."""
    cfg = MUSICNN
    t = {}
    c0 = time.process_time()
    reader = decode.open_audio(path)
    t["open"] = time.process_time() - c0
    with reader:
        native, duration = reader.info.sample_rate, reader.info.duration or 0.0
        starts = window_starts(duration, cfg.window_samples / cfg.sample_rate, DEFAULT_SEGMENTS) or [0.0]
        raw, read_s, resample_s = [], 0.0, 0.0
        for s in starts:  # the arithmetic of decode.read_window, timed in two parts
            step = native // math.gcd(native, cfg.sample_rate)
            native_start = int((max(0.0, s - decode.RESAMPLE_MARGIN_S) * native) // step) * step
            n_native = int((cfg.window_samples + 2 * decode.RESAMPLE_MARGIN_S * cfg.sample_rate) * native
                           / cfg.sample_rate) + 1
            c0 = time.process_time()
            y = reader.read(native_start, n_native)
            c1 = time.process_time()
            raw.append(decode.resample(y, native, cfg.sample_rate))
            resample_s += time.process_time() - c1
            read_s += c1 - c0
    t["seek+decode"], t["resample"] = read_s, resample_s
    c0 = time.process_time()
    for w in raw:
        context_patch(w[: cfg.window_samples], cfg)
    t["log-mel"] = time.process_time() - c0
    c0 = time.process_time()
    decode.load_windows(path, cfg.sample_rate, cfg.window_samples,
                        lambda d, w: window_starts(d, w, DEFAULT_SEGMENTS))
    t["load_windows (all of it)"] = time.process_time() - c0
    c0 = time.process_time()
    with decode.open_audio(path) as r:
        r.read_all()
    t["whole-file decode (reference)"] = time.process_time() - c0
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=50)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-corpus-songs")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    paths = corpus_songs(args.songs_dir, args.songs)
    for p in paths:
        p.read_bytes()
    by_format: dict[str, list[dict[str, float]]] = defaultdict(list)
    for p in paths:
        runs = [stages(p) for _ in range(args.repeat)]
        by_format[p.suffix[1:]].append({k: min(r[k] for r in runs) for k in runs[0]})
    keys = list(next(iter(by_format.values()))[0])
    print(f"{len(paths)} songs, load average {os.getloadavg()[0]:.1f}; CPU-ms per track (median per format)\n")
    print("| format | songs | " + " | ".join(keys) + " |\n|---|---|" + "---|" * len(keys))
    table = {}
    for fmt, rows in sorted(by_format.items()):
        table[fmt] = {k: 1000 * statistics.median(r[k] for r in rows) for k in keys}
        print(f"| {fmt} | {len(rows)} | " + " | ".join(f"{table[fmt][k]:.0f}" for k in keys) + " |")
    allrows = [r for rows in by_format.values() for r in rows]
    table["all (mean)"] = {k: 1000 * statistics.fmean(r[k] for r in allrows) for k in keys}
    print(f"| all (mean) | {len(allrows)} | " + " | ".join(f"{table['all (mean)'][k]:.0f}" for k in keys) + " |")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(dict(when=time.strftime("%Y-%m-%d %H:%M:%S"), load_avg=os.getloadavg(),
                                 songs=len(paths), cpu_ms_per_track=table)) + "\n")


if __name__ == "__main__":
    main()
