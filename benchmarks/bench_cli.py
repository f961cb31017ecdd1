"""How long a reading command takes, start to exit, against the bare imports it needs.

    nice .venv/bin/python -m benchmarks.bench_cli [--tracks 10000] [--repeat 7]

Builds a catalogue of N analysed tracks (random embeddings, as benchmarks/bench_app.py) and its
vector index once, then runs each command as a fresh process (``python -m musicsim ...``) and times
the process's wall clock, beside ``python -c "import numpy, hnswlib, sqlite3"`` measured in the same
run (the floor: what answering needs at the least). Prints medians and the ratio; appends a JSON line
to benchmarks/results/cli.jsonl. The goal (issue 10): ``similar`` on 10k tracks within 3x of the floor
and under 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_app import build_catalogue
from musicsim.library.library import Library
from musicsim.model.modelfile import read_meta

RESULTS = Path(__file__).parent / "results" / "cli.jsonl"
REPO = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median and best wall seconds of ``repeat`` runs of ``cmd`` (output discarded, exit status 0)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        version = read_meta().version  # analysed with the shipped model: status counts them as current
        with Library(data_dir=data) as lib:
            build_catalogue(lib, args.tracks, version=version)
            seed = lib.tracks()[args.tracks // 2]
            lib.similar(seed)  # builds and saves the vector index, as the first query after a scan does
        query = f"{seed.title} {seed.artist}"
        common = ["--data-dir", str(data)]
        cmds = {
            "floor: python -c 'import numpy, hnswlib, sqlite3'": [py, "-c", "import numpy, hnswlib, sqlite3"],
            "python -c pass": [py, "-c", "pass"],
            f"musicsim similar QUERY ({args.tracks:,} tracks)": [py, "-m", "musicsim", "similar", query, *common],
            "musicsim similar QUERY --json": [py, "-m", "musicsim", "similar", query, "--json", *common],
            "musicsim status": [py, "-m", "musicsim", "status", *common],
            "musicsim problems": [py, "-m", "musicsim", "problems", *common],
            "musicsim export QUERY --out F": [py, "-m", "musicsim", "export", query, "--out", f"{tmp}/l.m3u8", *common],
            "musicsim genres --json": [py, "-m", "musicsim", "genres", "--json", *common],
        }
        print(f"{args.tracks:,} tracks, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
              f"median of {args.repeat} runs (process wall time)\n")
        results = {}
        for name, cmd in cmds.items():
            wall(cmd, 1)  # warm the page cache
            results[name] = wall(cmd, args.repeat)
        floor = results[next(iter(cmds))][0]
        print("| command | median s | best s | x floor |\n|---|---|---|---|")
        for name, (med, best) in results.items():
            print(f"| {name} | {med:.3f} | {best:.3f} | {med / floor:.2f} |")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(dict(when=time.strftime("%Y-%m-%d %H:%M:%S"), tracks=args.tracks,
                                 load_avg=os.getloadavg(), cores=os.cpu_count(),
                                 median_s={k: round(v[0], 4) for k, v in results.items()})) + "\n")


if __name__ == "__main__":
    main()
