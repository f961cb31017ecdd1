"""Similar-songs query: hnswlib latency and recall@10 against exact search, 10k to 1M vectors.

    nice .venv/bin/python benchmarks/bench_index.py                      # 10k, 100k, 1M
    .venv/bin/python benchmarks/bench_index.py --sizes 10000 --ef 32 64

Vectors are synthetic, 200-d (the embedding size), L2-normalised, in two kinds:
``gauss`` (isotropic: no structure at all, the hardest case for any graph index) and
``clustered`` (points around 2 000 centres, like albums and styles in a real library).
Queries are held-out vectors of the same kind; latency is one query at a time on one thread
(as the app asks), recall@10 is against brute-force cosine search. Prints a table and appends
JSON lines to benchmarks/results/index.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import hnswlib
import numpy as np

RESULTS = Path(__file__).parent / "results" / "index.jsonl"


def make_vectors(kind: str, n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        x = rng.standard_normal((n, dim), dtype=np.float32)
    else:
        centres = np.random.default_rng(12345).standard_normal((2000, dim), dtype=np.float32)
        x = centres[rng.integers(0, len(centres), n)]
        x += 0.8 * rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def exact_top(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 100_000) -> np.ndarray:
    """Brute-force top-k cosine neighbours (vectors are normalised: dot product)."""
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for start in range(0, len(data), chunk):
        s = queries @ data[start : start + chunk].T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + start], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :k]
        best_s = np.take_along_axis(cand_s, order, 1)
        best_i = np.take_along_axis(cand_i, order, 1)
    return best_i


def rss_mb() -> float:
    """Current resident memory of this process (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(kind: str, n: int, dim: int, m: int, efc: int, efs: list[int], n_queries: int, threads: int) -> list[dict]:
    data = make_vectors(kind, n, dim, seed=1)
    queries = make_vectors(kind, n_queries, dim, seed=2)
    t0 = time.perf_counter()
    truth = exact_top(data, queries, 10)
    exact_s = time.perf_counter() - t0
    rss0 = rss_mb()
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=n, M=m, ef_construction=efc, random_seed=100)
    t0 = time.perf_counter()
    index.add_items(data, np.arange(n), num_threads=threads)
    build_s = time.perf_counter() - t0
    rss_build = rss_mb() - rss0  # the index itself
    rows = []
    for ef in efs:
        index.set_ef(ef)
        index.knn_query(queries[:20], k=10, num_threads=1)  # warm
        lat = []
        found = np.zeros((n_queries, 10), np.int64)
        for i, q in enumerate(queries):
            t = time.perf_counter()
            labels, _ = index.knn_query(q, k=10, num_threads=1)
            lat.append(time.perf_counter() - t)
            found[i] = labels[0]
        recall = float(np.mean([len(set(f) & set(g)) / 10 for f, g in zip(found, truth)]))
        lat_ms = np.array(lat) * 1000
        row = dict(kind=kind, n=n, dim=dim, M=m, ef_construction=efc, ef=ef, recall_at_10=round(recall, 4),
                   latency_ms_mean=round(float(lat_ms.mean()), 3),
                   latency_ms_p99=round(float(np.percentile(lat_ms, 99)), 3),
                   build_s=round(build_s, 1), build_threads=threads, build_rss_mb=round(rss_build),
                   exact_ms_per_query=round(exact_s / n_queries * 1000, 2),
                   machine=platform.processor() or platform.machine())
        rows.append(row)
        print(f"{kind:9s} n={n:>8d} M={m:<3d} efC={efc:<4d} ef={ef:<4d} recall@10={recall:.4f} "
              f"mean={row['latency_ms_mean']:.3f} ms p99={row['latency_ms_p99']:.3f} ms build={build_s:.1f} s "
              f"(+{rss_build:.0f} MB) exact={row['exact_ms_per_query']:.2f} ms/query", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--kinds", nargs="+", default=["clustered", "gauss"])
    ap.add_argument("--dim", type=int, default=200)
    ap.add_argument("--M", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", type=int, nargs="+", default=[50, 100, 200, 400])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--results", type=Path, default=RESULTS, help="JSON lines appended here")
    args = ap.parse_args()
    args.results.parent.mkdir(exist_ok=True)
    for n in args.sizes:
        for kind in args.kinds:
            rows = run(kind, n, args.dim, args.M, args.ef_construction, args.ef, args.queries, args.threads)
            with args.results.open("a") as fh:
                for row in rows:
                    fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
