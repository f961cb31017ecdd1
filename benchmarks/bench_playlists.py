"""How good and how fast the playlist builders are: journeys, mixes and radio (prints numbers; not a test).

    nice .venv/bin/python -m benchmarks.bench_playlists                       # real music + 10k/100k synthetic
    nice .venv/bin/python -m benchmarks.bench_playlists --sizes 10000 --pairs 20

* **Real music** (``--corpus``, default /work/corpus/library: full-length songs from Debian game-data
  packages, tools/build_corpus.py): scanned once with the shipped model into ``--corpus-data`` and reused.
  - journeys between random pairs of songs from different packages (``--pairs``, ``-n`` songs):
    mean cosine between consecutive songs, against the same songs in random order (mean of 50 shuffles),
    and the Spearman correlation between position and similarity to B (goal >= 0.8);
  - mixes of two songs from different packages: how the picks split between the seeds (the share
    nearest to the less-served seed; 0.5 = even) and their lowest similarity to a seed, against
    ``similar`` of the seeds' mean;
  - radio: after a skip, the next 5 songs' similarity to the skipped song, against the same session
    without the skip.
* **Synthetic** (``--sizes``): N tracks of clustered 200-d unit vectors written straight into a catalogue
  (benchmarks/bench_library.py): journey measures as above; radio: no repeat in 1000 songs on 10k
  tracks (every 4th song skipped, the rest heard in full); latency p50/p95 (and mean CPU time) of a
  radio refill (``next(10)``, goal <= 20 ms), ``mix`` of 3 seeds (n=10) and ``path`` (n=12) (goal <= 50 ms),
  end to end through ``Library`` (index + SQLite rows + rules), against ``similar`` in the same run; then
  again with numpy's BLAS on one thread (threadpoolctl, when installed): on a busy machine OpenBLAS's
  worker threads spin and slow everything else down.

Prints a table and appends JSON lines to benchmarks/results/playlists.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_library import fill_catalogue
from musicsim.library.library import Library
from musicsim.library.records import SimilarTrack
from musicsim.playlists.filters import Filters

RESULTS = Path(__file__).parent / "results" / "playlists.jsonl"
DEFAULT_CORPUS = Path("/work/corpus/library")
DEFAULT_CORPUS_DATA = Path(tempfile.gettempdir()) / "musicsim-bench-corpus-data"
NO_CAPS = Filters(max_per_artist=None)


def _record(entry: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    entry.update(machine=platform.machine(), python=platform.python_version(), time=time.strftime("%Y-%m-%d %H:%M"),
                 load=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, np.float64)
        order = np.argsort(a, kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for value in np.unique(a):  # ties share their mean rank
            same = a == value
            r[same] = r[same].mean()
        return r
    rx, ry = ranks(x), ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = float(np.sqrt((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom else 0.0


class Vectors:
    """Every analysed track's unit embedding, by id."""

    def __init__(self, lib: Library) -> None:
        ids, matrix = lib.embeddings()
        self.ids = ids
        self.matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        self.row = {int(i): r for r, i in enumerate(ids.tolist())}

    def of(self, rows: list[SimilarTrack] | list[int]) -> np.ndarray:
        ids = [r if isinstance(r, int) else r.track.id for r in rows]
        return self.matrix[[self.row[i] for i in ids]]


def journey_measures(lib: Library, vecs: Vectors, pairs: list[tuple[int, int]], n: int) -> dict:
    rng = np.random.default_rng(0)
    smooth, shuffled, rho, lengths, lat = [], [], [], [], []
    for a, b in pairs:
        t = time.perf_counter()
        way = lib.journey(a, b, n=n, filters=NO_CAPS)
        lat.append(time.perf_counter() - t)
        lengths.append(len(way))
        v = vecs.of(way)
        smooth.append(float(np.mean(np.sum(v[:-1] * v[1:], axis=1))))
        perms = [rng.permutation(len(v)) for _ in range(50)]
        shuffled.append(float(np.mean([np.mean(np.sum(v[p][:-1] * v[p][1:], axis=1)) for p in perms])))
        rho.append(spearman(np.arange(len(v)), v @ v[-1]))
    rho_a = np.array(rho)
    return {"pairs": len(pairs), "n": n, "exact_length": float(np.mean(np.array(lengths) == n)),
            "consecutive_cosine": float(np.mean(smooth)), "shuffled_cosine": float(np.mean(shuffled)),
            "spearman_mean": float(rho_a.mean()), "spearman_min": float(rho_a.min()),
            "spearman_at_least_0.8": float(np.mean(rho_a >= 0.8)),
            "journey_p50_ms": float(np.percentile(lat, 50) * 1000)}


def _print_journeys(name: str, m: dict) -> None:
    print(f"{name}: {m['pairs']} journeys of {m['n']} songs ({m['exact_length']:.0%} exactly n long): "
          f"consecutive cosine {m['consecutive_cosine']:.3f} vs {m['shuffled_cosine']:.3f} in random order "
          f"(x{m['consecutive_cosine'] / max(m['shuffled_cosine'], 1e-9):.2f}); Spearman(position, sim to B) "
          f"mean {m['spearman_mean']:.3f}, min {m['spearman_min']:.3f}, >= 0.8 in {m['spearman_at_least_0.8']:.0%}")


def mix_measures(lib: Library, vecs: Vectors, pairs: list[tuple[int, int]], n: int) -> dict:
    """Mixes of two seeds against two simple alternatives: the songs nearest to the seeds' mean, and each
    seed's own ``similar`` list, half each. Per strategy: the share of the picks nearest to the less-served
    seed (0.5: even), the mean similarity to the nearer seed ("own") and to the farther one ("other")."""
    def measure(seeds: np.ndarray, picks: list[int]) -> tuple[float, float, float]:
        sims = vecs.of(picks) @ seeds.T
        nearest_a = float(np.mean(sims[:, 0] >= sims[:, 1]))
        return min(nearest_a, 1 - nearest_a), float(sims.max(axis=1).mean()), float(sims.min(axis=1).mean())

    rows: dict[str, list[tuple[float, float, float]]] = {"mix": [], "mean": [], "halves": []}
    for a, b in pairs:
        seeds = vecs.of([a, b])
        rows["mix"].append(measure(seeds, [s.track.id for s in lib.mix([a, b], n=n, filters=NO_CAPS)]))
        order = np.argsort(-(vecs.matrix @ seeds.mean(axis=0)), kind="stable")
        rows["mean"].append(measure(seeds, [int(vecs.ids[i]) for i in order if int(vecs.ids[i]) not in (a, b)][:n]))
        halves = [s.track.id for seed in (a, b) for s in lib.similar(seed, n=n // 2, filters=NO_CAPS)]
        rows["halves"].append(measure(seeds, halves))
    out: dict = {"pairs": len(pairs), "n": n}
    for name, values in rows.items():
        v = np.array(values)
        out[name] = {"less_served_share": float(v[:, 0].mean()), "less_served_share_min": float(v[:, 0].min()),
                     "own_sim": float(v[:, 1].mean()), "other_sim": float(v[:, 2].mean())}
    return out


def skip_measure(lib: Library, vecs: Vectors, seeds: list[int], follow: int = 5) -> dict:
    """Mean similarity of the ``follow`` songs after a skipped one to it, with and without the skip."""
    with_skip, without = [], []
    for seed in seeds:
        runs = {}
        for skip in (False, True):
            session = lib.radio([seed], filters=NO_CAPS)
            first = session.next(3)
            for s in first[:2]:
                session.feedback(s.track.id, s.track.duration or 200.0, skipped=False)
            skipped = first[2]
            session.feedback(skipped.track.id, 5.0 if skip else (skipped.track.duration or 200.0), skipped=skip)
            after = session.next(follow)
            runs[skip] = float(np.mean(vecs.of(after) @ vecs.of([skipped.track.id])[0]))
        with_skip.append(runs[True])
        without.append(runs[False])
    return {"sessions": len(seeds), "after_skip_sim": float(np.mean(with_skip)),
            "without_skip_sim": float(np.mean(without)),
            "farther_in": float(np.mean(np.array(with_skip) < np.array(without)))}


def _source(lib: Library, track_id: int) -> str:
    track = lib.track(track_id)
    assert track is not None
    return Path(track.path).parts[-3] if len(Path(track.path).parts) >= 3 else ""


def bench_corpus(corpus: Path, data: Path, pairs: int, n: int) -> dict:
    lib = Library(data)
    if lib.status().analysed == 0:
        print(f"scanning {corpus} into {data} with the shipped model (once; ~0.5 CPU-s per track)...")
        lib.scan(corpus)
    vecs = Vectors(lib)
    rng = np.random.default_rng(1)
    ids = vecs.ids.tolist()
    source = {i: _source(lib, i) for i in ids}
    chosen: list[tuple[int, int]] = []
    while len(chosen) < pairs:
        a, b = (int(x) for x in rng.choice(ids, 2, replace=False))
        if source[a] != source[b]:
            chosen.append((a, b))
    result = {"bench": "playlists-corpus", "tracks": len(ids), "corpus": str(corpus)}
    result["journeys"] = journey_measures(lib, vecs, chosen, n)
    _print_journeys(f"real music ({len(ids)} songs)", result["journeys"])
    result["mix"] = mix_measures(lib, vecs, chosen, 10)
    for name, label in (("mix", "mix of 2 (n=10)"), ("mean", "nearest to the mean"), ("halves", "similar, 5 each")):
        m = result["mix"][name]
        print(f"{'':>8}{label:<20}: less-served seed nearest to {m['less_served_share']:.0%} of the picks "
              f"(min {m['less_served_share_min']:.0%}); similarity to the nearer seed {m['own_sim']:.3f}, "
              f"to the farther {m['other_sim']:.3f}")
    result["skip"] = skip_measure(lib, vecs, [a for a, _ in chosen[:20]])
    s = result["skip"]
    print(f"{'':>8}radio: the 5 songs after a skip have similarity {s['after_skip_sim']:.3f} to it "
          f"({s['without_skip_sim']:.3f} when it was heard instead); farther in {s['farther_in']:.0%} of sessions")
    lib.close()
    return result


def _latency(call, repeats: int) -> tuple[float, float, float]:
    """``(p50, p95, mean CPU)`` milliseconds per call (CPU time counts every thread of the process)."""
    lat, cpu = [], []
    for i in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        call(i)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.percentile(lat, 50) * 1000), float(np.percentile(lat, 95) * 1000), float(np.mean(cpu) * 1000)


def _blas_one_thread():
    """A context that limits numpy's BLAS to one thread (threadpoolctl), or None when it is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(1, user_api="blas")


def latencies(lib: Library, ids: list[int], repeats: int, rng: np.random.Generator) -> dict:
    seeds = [int(x) for x in rng.choice(ids, 3 * repeats)]
    sessions = [lib.radio([s]) for s in seeds[:repeats]]
    for s in sessions:
        s.next(10)  # the first fill
    out = {}
    for name, call in (("radio_refill", lambda i: sessions[i].next(10)),
                       ("mix", lambda i: lib.mix(seeds[3 * i: 3 * i + 3], n=10)),
                       ("path", lambda i: lib.journey(seeds[3 * i], seeds[3 * i + 1], n=12)),
                       ("similar", lambda i: lib.similar(seeds[i], n=10))):
        p50, p95, cpu = _latency(call, repeats)
        out.update({f"{name}_p50_ms": p50, f"{name}_p95_ms": p95, f"{name}_cpu_ms": cpu})
    return out


def _print_latencies(label: str, r: dict) -> None:
    parts = [f"{name} {r[f'{key}_p50_ms']:.1f}/{r[f'{key}_p95_ms']:.1f} ms (CPU {r[f'{key}_cpu_ms']:.1f})"
             for key, name in (("radio_refill", "radio next(10)"), ("mix", "mix of 3"), ("path", "path of 12"),
                               ("similar", "similar"))]
    print(f"{'':>8}{label}: p50/p95 " + ", ".join(parts))


def bench_synthetic(size: int, pairs: int, n: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(tmp, model_path=Path(tmp) / "none.pt")
        fill_catalogue(lib, size)
        lib.similar(1, n=1)  # builds the index
        vecs = Vectors(lib)
        rng = np.random.default_rng(2)
        ids = vecs.ids.tolist()
        picks = [tuple(int(x) for x in rng.choice(ids, 2, replace=False)) for _ in range(pairs)]
        result: dict = {"bench": "playlists-synthetic", "tracks": size}
        result["journeys"] = journey_measures(lib, vecs, picks, n)  # type: ignore[arg-type]
        _print_journeys(f"synthetic ({size} tracks)", result["journeys"])
        if size <= 20_000:
            session = lib.radio([ids[0]])
            played: list[int] = []
            t = time.perf_counter()
            while len(played) < 1000:
                got = session.next(10)
                if not got:
                    break
                for s in got:
                    played.append(s.track.id)
                    skipped = (len(played) % 4) == 0
                    session.feedback(s.track.id, 10.0 if skipped else (s.track.duration or 200.0), skipped)
            elapsed = time.perf_counter() - t
            result["radio_1000"] = {"songs": len(played), "distinct": len(set(played)), "seconds": elapsed}
            print(f"{'':>8}radio: {len(played)} songs, {len(set(played))} distinct "
                  f"({'no repeat' if len(set(played)) == len(played) else 'REPEATS'}), {elapsed:.1f} s in all")
        result.update(latencies(lib, ids, repeats, rng))
        _print_latencies("latency", result)
        limit = _blas_one_thread()
        if limit is not None:
            with limit:
                result["blas_1_thread"] = latencies(lib, ids, repeats, rng)
            _print_latencies("latency, numpy's BLAS on 1 thread", result["blas_1_thread"])
        lib.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--corpus-data", type=Path, default=DEFAULT_CORPUS_DATA,
                    help="the corpus's library data folder (scanned once, then reused)")
    ap.add_argument("--no-corpus", action="store_true", help="synthetic libraries only")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--pairs", type=int, default=40, help="journeys (and mixes) measured per library")
    ap.add_argument("-n", type=int, default=12, help="songs per journey")
    ap.add_argument("--repeats", type=int, default=50, help="calls timed per latency")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (latencies on a busy machine are upper bounds)")
    if not args.no_corpus:
        if args.corpus.is_dir():
            _record(bench_corpus(args.corpus, args.corpus_data, args.pairs, args.n))
        else:
            print(f"no corpus at {args.corpus}: skipping real music")
    for size in args.sizes:
        _record(bench_synthetic(size, args.pairs, args.n, args.repeats))


if __name__ == "__main__":
    main()
