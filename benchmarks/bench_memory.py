"""Peak memory of ``musicsim scan`` on a folder of N tracks: the scanning process and its workers.

    nice .venv/bin/python -m benchmarks.bench_memory [--tracks 1000] [--songs-dir DIR]

The folder holds N hard links (in album folders) to the full-length corpus songs of
benchmarks/common.py ``corpus_songs`` (every link is catalogued and analysed as its own track). A
fresh process scans it as ``musicsim scan`` does (``Library.scan``, default engine, every core) and
reports its peak resident memory (VmHWM) and each worker's, read from /proc just before the workers
stop, and the fork server's. The idle app on 100k tracks is measured by benchmarks/bench_app.py.
Appends a JSON line to benchmarks/results/memory.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "memory.jsonl"

CHILD = r"""
import json, sys, time
from pathlib import Path
from musicsim.analysis import pipeline
from musicsim.library.library import Library

def hwm(pid="self"):
    try:
        fields = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
        return int(fields["VmHWM"].split()[0]) // 1024
    except (OSError, KeyError):
        return 0

def pss(pid):  # proportional share: pages shared with the fork server and the other workers counted once
    try:
        for l in open(f"/proc/{pid}/smaps_rollup"):
            if l.startswith("Pss:"):
                return int(l.split()[1]) // 1024
    except OSError:
        pass
    return 0

workers = []
real_close = pipeline._Pool.close
def close(pool):
    workers.extend((hwm(w.process.pid), pss(w.process.pid)) for w in pool.workers)
    real_close(pool)
pipeline._Pool.close = close
t0 = time.perf_counter()
with Library(data_dir=sys.argv[2]) as lib:
    sync, report = lib.scan(sys.argv[1])
from multiprocessing import forkserver
server = getattr(forkserver._forkserver, "_forkserver_pid", None)
print(json.dumps({"analysed": report.analysed, "failed": report.failed, "wall_s": time.perf_counter() - t0,
                  "parent_peak_mb": hwm(), "worker_peak_mb": workers, "forkserver_mb": hwm(server) if server else 0,
                  "forkserver_pss_mb": pss(server) if server else 0, "parent_pss_mb": pss("self"),
                  "torch": "torch" in sys.modules}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--songs", type=int, default=50)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-corpus-songs")
    args = ap.parse_args()
    from benchmarks.common import corpus_songs

    songs = corpus_songs(args.songs_dir, args.songs)
    tmp = Path(tempfile.mkdtemp(prefix="musicsim-bench-mem-"))
    try:
        music = tmp / "music"
        for i in range(args.tracks):
            song = songs[i % len(songs)]
            dest = music / f"album {i // 10:03d}" / f"{i % 10:02d} {song.stem}{song.suffix}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(song, dest) if song.stat().st_dev == tmp.stat().st_dev else shutil.copy(song, dest)
        print(f"scanning {args.tracks} tracks ({len(songs)} distinct full-length songs), "
              f"load average {os.getloadavg()[0]:.1f}...", flush=True)
        proc = subprocess.run([sys.executable, "-c", CHILD, str(music), str(tmp / "data")], check=True,
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    w = res["worker_peak_mb"]
    total_pss = res["parent_pss_mb"] + sum(p for _, p in w) + res["forkserver_pss_mb"]
    print(f"analysed {res['analysed']} ({res['failed']} failed) in {res['wall_s']:.0f} s; peak RSS: scanning process "
          f"{res['parent_peak_mb']} MB, workers {', '.join(str(h) for h, _ in w)} MB, fork server "
          f"{res['forkserver_mb']} MB (RSS counts the libraries they share each time); proportional set size at the "
          f"end, shared pages counted once: {total_pss} MB in all; torch imported: {res['torch']}")
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "tracks": args.tracks,
                             "load_avg": os.getloadavg(), **res}) + "\n")


if __name__ == "__main__":
    main()
