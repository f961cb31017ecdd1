"""How long a reading command takes, start to exit, against the bare imports it needs.

    nice .venv/bin/python -m benchmarks.bench_cli [--tracks 10000] [--repeat 7] [--baseline /work/main]

Builds a catalogue of N analysed tracks (random embeddings, as benchmarks/bench_app.py) and its
vector index once, then runs each command as a fresh process (``python -m musicsim ...``) and times
the process's wall clock, beside ``python -c "import numpy, hnswlib, sqlite3"`` measured in the same
run (the floor: what answering needs at the least). Prints medians and the ratio; appends a JSON line
to benchmarks/results/cli.jsonl. The goal (issue 10): ``similar`` on 10k tracks within 3x of the floor
and under 0.3 s. ``--baseline TREE``: each musicsim command also runs from another checkout (its own
``musicsim`` imported, on a copy of the catalogue in its schema), the runs of both interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
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


def wall(cmd: list[str], repeat: int, cwd: Path = REPO) -> tuple[float, float]:
    """Median and best wall seconds of ``repeat`` runs of ``cmd`` (output discarded, exit status 0)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def schema_of(tree: Path) -> int:
    """The catalogue schema version a checkout's musicsim writes."""
    text = (tree / "musicsim" / "library" / "catalogue.py").read_text()
    return int(re.search(r"^SCHEMA_VERSION = (\d+)", text, re.M).group(1))  # type: ignore[union-attr]


def copy_for(tree: Path, data: Path, dest: Path) -> Path:
    """A copy of the data folder that ``tree``'s musicsim opens: schema 5's table order taken out for 4."""
    shutil.copytree(data, dest)
    if schema_of(tree) == 4 and schema_of(REPO) == 5:
        with sqlite3.connect(dest / "catalogue.sqlite3") as conn:
            conn.execute("DROP INDEX IF EXISTS tracks_table_order")
            conn.execute("ALTER TABLE tracks DROP COLUMN sort_artist")
            conn.execute("PRAGMA user_version = 4")
        conn.close()
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--baseline", type=Path, help="another checkout whose musicsim commands are timed too")
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
            "musicsim export QUERY --out F --force": [py, "-m", "musicsim", "export", query, "--out", f"{tmp}/l.m3u8",
                                                       "--force", *common],
            "musicsim genres --json": [py, "-m", "musicsim", "genres", "--json", *common],
        }
        print(f"{args.tracks:,} tracks, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
              f"median of {args.repeat} runs (process wall time)\n")
        results: dict[str, tuple[float, float]] = {}
        base_results: dict[str, tuple[float, float]] = {}
        base_data = copy_for(args.baseline, data, Path(tmp) / "data-base") if args.baseline else None
        for name, cmd in cmds.items():
            base_cmd = [str(base_data) if c == str(data) else c for c in cmd]
            wall(cmd, 1)  # warm the page cache
            if args.baseline and "musicsim" in name:
                wall(base_cmd, 1, args.baseline)
                runs, base_runs = [], []
                for _ in range(args.repeat):  # interleaved: both trees see the same load
                    runs.append(wall(cmd, 1)[0])
                    base_runs.append(wall(base_cmd, 1, args.baseline)[0])
                results[name] = statistics.median(runs), min(runs)
                base_results[name] = statistics.median(base_runs), min(base_runs)
            else:
                results[name] = wall(cmd, args.repeat)
        floor = results[next(iter(cmds))][0]
        if base_results:
            print(f"| command | baseline ({args.baseline}) median s | x floor | this tree median s | best s | x floor |"
                  "\n|---|---|---|---|---|---|")
        else:
            print("| command | median s | best s | x floor |\n|---|---|---|---|")
        for name, (med, best) in results.items():
            if base_results:
                base = base_results.get(name)
                before = f"{base[0]:.3f} | {base[0] / floor:.2f}" if base else "– | –"
                print(f"| {name} | {before} | {med:.3f} | {best:.3f} | {med / floor:.2f} |")
            else:
                print(f"| {name} | {med:.3f} | {best:.3f} | {med / floor:.2f} |")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(dict(when=time.strftime("%Y-%m-%d %H:%M:%S"), tracks=args.tracks,
                                 load_avg=os.getloadavg(), cores=os.cpu_count(),
                                 median_s={k: round(v[0], 4) for k, v in results.items()},
                                 baseline=str(args.baseline) if args.baseline else None,
                                 baseline_median_s={k: round(v[0], 4) for k, v in base_results.items()})) + "\n")


if __name__ == "__main__":
    main()
