"""What the fault protections cost: WAL checkpoints, the catalogue check, index verification.

    nice .venv/bin/python -m benchmarks.bench_faults                 # 10k and 100k tracks
    nice .venv/bin/python -m benchmarks.bench_faults --sizes 10000

* **Checkpoint per commit** (musicsim/library/catalogue.py ``CHECKPOINT_INTERVAL_S = 0``): storing one
  result batch (64 tracks, 200-d embeddings) into a catalogue of N tracks, with a PASSIVE checkpoint after
  each commit vs SQLite's own auto-checkpoint (every ~1000 WAL pages), in the same run. A batch stands for
  about 64 x 0.5 CPU-s of analysis with the shipped model, so the cost is also given per analysed track.
* **quick_check on open** (``CHECK_ON_OPEN_MAX_BYTES``): ``PRAGMA quick_check`` on a catalogue of N tracks.
* **Index save, verified** (``VectorIndex.save``): size check + load-back + sample compare, vs the save
  before this check (atomic temporary file, hnswlib's ``save_index``, fsync, SHA-256 for the sidecar). During
  analysis the index is saved at most every 30 s (``INDEX_SAVE_INTERVAL_S``) and once at the end.
* **Index load, checked** (``index.mismatch``): the same ids and a sample of vectors vs the catalogue.

Prints a table and appends JSON lines to benchmarks/results/faults.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_library import DIM, fill_catalogue
from musicsim.fileio import atomic_output, sha256_file
from musicsim.genres import GENRES
from musicsim.library import catalogue as catalogue_module
from musicsim.library.catalogue import AnalysisRow
from musicsim.library.index import VectorIndex, mismatch
from musicsim.library.library import Library

RESULTS = Path(__file__).parent / "results" / "faults.jsonl"
BATCH = 64
ANALYSIS_CPU_S_PER_TRACK = 0.5  # the shipped model on a CPU (docs/performance.md)


def _record(entry: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    entry.update(machine=platform.machine(), python=platform.python_version(), time=time.strftime("%Y-%m-%d %H:%M"))
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def _batches(lib: Library, batches: int, interval: float, seed: int) -> float:
    """Seconds per stored batch of re-analysed rows, with checkpoints every ``interval`` seconds."""
    rng = np.random.default_rng(seed)
    catalogue_module.CHECKPOINT_INTERVAL_S = interval
    cat = lib.catalogue
    total = len(cat.analysed_ids("bench-1"))
    times = []
    for _ in range(batches):
        ids = rng.integers(1, total + 1, BATCH)
        vectors = rng.standard_normal((BATCH, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        probs = rng.dirichlet(np.ones(len(GENRES)), BATCH).astype(np.float32)
        rows = [AnalysisRow(int(i), v, p, np.zeros(0, np.float32), 8) for i, v, p in zip(ids, vectors, probs)]
        t = time.perf_counter()
        cat.write_results("bench-1", rows)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def bench(n: int, batches: int) -> dict:
    with tempfile.TemporaryDirectory(dir=Path.home()) as tmp:  # a real disk, not a tmpfs
        lib = Library(tmp, model_path=Path(tmp) / "none.pt")
        fill_catalogue(lib, n)
        saved = catalogue_module.CHECKPOINT_INTERVAL_S
        try:
            never = _batches(lib, batches, 1e9, 1)
            each = _batches(lib, batches, 0.0, 2)
            never_again = _batches(lib, batches, 1e9, 3)  # interleaved: the machine is shared
        finally:
            catalogue_module.CHECKPOINT_INTERVAL_S = saved
        baseline = (never + never_again) / 2
        conn = lib.catalogue.conn()
        t = time.perf_counter()
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        check_s = time.perf_counter() - t
        size_mb = lib.catalogue.path.stat().st_size / 1e6

        index = VectorIndex.build(lib.catalogue, "bench-1", lib.catalogue.generation())
        assert index is not None
        index.catalogue_id = lib.catalogue.catalogue_id
        path = Path(tmp) / "index.hnsw"
        t = time.perf_counter()
        with atomic_output(Path(tmp) / "before.hnsw", verify=sha256_file) as out:  # the save without the check
            index._index.save_index(str(out))
        bare_s = time.perf_counter() - t
        t = time.perf_counter()
        index.save(path)
        verified_s = time.perf_counter() - t
        loaded = VectorIndex.load(path, DIM, "bench-1", lib.catalogue.generation(), lib.catalogue.catalogue_id)
        assert loaded is not None
        t = time.perf_counter()
        assert mismatch(loaded, lib.catalogue) is None
        mismatch_s = time.perf_counter() - t
        lib.close()
    extra = each - baseline
    result = {"bench": "faults", "tracks": n, "catalogue_mb": round(size_mb, 1),
              "batch_ms_no_checkpoint": baseline * 1000, "batch_ms_checkpoint_each": each * 1000,
              "checkpoint_ms_per_batch": extra * 1000,
              "checkpoint_share_of_analysis": extra / (BATCH * ANALYSIS_CPU_S_PER_TRACK),
              "quick_check_ms": check_s * 1000, "index_save_unchecked_ms": bare_s * 1000,
              "index_save_verified_ms": verified_s * 1000, "index_check_on_load_ms": mismatch_s * 1000}
    print(f"{n:>7} tracks ({size_mb:6.1f} MB) | batch of {BATCH}: {baseline * 1000:7.2f} ms, with checkpoint "
          f"{each * 1000:7.2f} ms ({each / baseline:4.2f}x; {extra * 1000:+.2f} ms = "
          f"{100 * result['checkpoint_share_of_analysis']:.3f} % of the batch's analysis)")
    print(f"{'':>7}                    | quick_check {check_s * 1000:7.1f} ms | index save {bare_s * 1000:7.1f} ms "
          f"unchecked, {verified_s * 1000:7.1f} ms verified ({verified_s / bare_s:4.2f}x) | check on load "
          f"{mismatch_s * 1000:6.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    for n in args.sizes:
        _record(bench(n, args.batches))


if __name__ == "__main__":
    main()
