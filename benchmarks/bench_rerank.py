"""What re-ranking the top ANN candidates with a segment-level distance would cost per query.

The re-rank candidates of ``benchmarks/eval_similarity.py`` (segment match: each segment's best cosine
to the other track's segments, symmetrised; Gaussian SKL over the segments) need every track's 8
segment embeddings at query time. This measures the step a query would add on top of the ANN search
(``docs/performance.md``: 0.75-2.6 ms at 100k tracks): reading the top-``--pool`` candidates' segment
matrices (float16, 8 x 200, one BLOB each) from an SQLite table of ``--tracks`` rows, and scoring them.

    nice .venv/bin/python -m benchmarks.bench_rerank --tracks 100000 --pool 100
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

SEGMENTS, DIM = 8, 200


def fill(db: Path, n: int, rng: np.random.Generator) -> None:
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE segments (track_id INTEGER PRIMARY KEY, n INTEGER, emb BLOB)")
    for start in range(0, n, 10_000):
        m = min(n, start + 10_000) - start
        e = rng.standard_normal((m, SEGMENTS, DIM)).astype(np.float16)
        con.executemany("INSERT INTO segments VALUES (?, ?, ?)",
                        ((start + i + 1, SEGMENTS, e[i].tobytes()) for i in range(m)))
    con.commit()
    con.close()


def seg_match(q: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """q (s, d), cands (k, s, d), all rows unit length: symmetrised mean of best segment cosines."""
    s = np.einsum("id,ksd->kis", q, cands)
    return 0.5 * (s.max(2).mean(1) + s.max(1).mean(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=100_000)
    ap.add_argument("--pool", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "segments.sqlite3"
        t = time.perf_counter()
        fill(db, args.tracks, rng)
        print(f"{args.tracks} tracks of {SEGMENTS}x{DIM} float16 segment embeddings: "
              f"{db.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s")
        con = sqlite3.connect(db)
        fetch, score = [], []
        for _ in range(args.queries):
            ids = rng.choice(args.tracks, args.pool, replace=False) + 1
            t0 = time.perf_counter()
            rows = con.execute(f"SELECT track_id, emb FROM segments WHERE track_id IN ({','.join('?' * len(ids))})",
                               [int(i) for i in ids]).fetchall()
            cands = np.stack([np.frombuffer(b, np.float16).reshape(SEGMENTS, DIM) for _, b in rows]).astype(np.float32)
            t1 = time.perf_counter()
            cands /= np.linalg.norm(cands, axis=2, keepdims=True)
            q = cands[0]
            order = np.argsort(-seg_match(q, cands))
            t2 = time.perf_counter()
            assert len(order) == args.pool
            fetch.append(t1 - t0)
            score.append(t2 - t1)
        con.close()
    f, s = np.array(fetch) * 1000, np.array(score) * 1000
    print(f"re-rank of {args.pool} candidates: fetch p50 {np.median(f):.2f} ms p95 {np.percentile(f, 95):.2f} ms; "
          f"score p50 {np.median(s):.2f} ms p95 {np.percentile(s, 95):.2f} ms; "
          f"total p50 {np.median(f + s):.2f} ms p95 {np.percentile(f + s, 95):.2f} ms")


if __name__ == "__main__":
    main()
