"""The library engine's speed: analysis seconds per track, and similar-query latency on big libraries.

    nice .venv/bin/python -m benchmarks.bench_library                    # queries on 10k and 100k tracks
    nice .venv/bin/python -m benchmarks.bench_library --songs 8 --sizes 10000

* **Queries** (``--sizes``): a catalogue of N tracks with clustered 200-d embeddings (no audio: the
  rows are written as an analysis would write them). Times the first ``similar`` (index built from
  the catalogue and saved), a fresh process's first ``similar`` (index loaded and checksummed), then
  warm ``Library.similar`` end to end (hnswlib + SQLite rows + copy/artist filtering; p50/p95 of 200
  queries), ``find`` by text, ``status`` and ``tracks``.
* **Analysis** (``--songs K``, needs the GTZAN clips): ``Library.scan`` of K full-length songs
  (benchmarks/common.py), seconds per track, then an unchanged rescan (stat only, nothing decoded).
  Model: ``--model`` or the shipped file, else a random-weight model of the same architecture.

Prints a table and appends JSON lines to benchmarks/results/library.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from musicsim.genres import GENRES
from musicsim.library.catalogue import AnalysisRow, ModelInfo
from musicsim.library.library import Library
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo, read_tags
from musicsim.model.checkpoint import default_model_path

RESULTS = Path(__file__).parent / "results" / "library.jsonl"
DIM = 200


def _record(entry: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    entry.update(machine=platform.machine(), python=platform.python_version(), time=time.strftime("%Y-%m-%d %H:%M"))
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def fill_catalogue(lib: Library, n: int, seed: int = 0) -> None:
    """``n`` analysed tracks: clustered unit vectors, 1 artist per ~12 tracks, 2-7 minute durations."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 50), DIM))
    version = "bench-1"
    lib.catalogue.register_model(ModelInfo(version, list(GENRES), [], DIM))
    cat = lib.catalogue
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        with cat.transaction() as conn:
            ids = [cat.add(conn, FoundFile(f"/bench/{i:07d}.mp3", 1, 1),
                           TagInfo(f"Song {i}", f"Artist {i // 12}", f"Album {i // 10}", i % 10 + 1,
                                   float(rng.uniform(120, 420)))) for i in range(start, stop)]
        vectors = centres[rng.integers(0, len(centres), len(ids))] + 0.5 * rng.standard_normal((len(ids), DIM))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        probs = rng.dirichlet(np.ones(len(GENRES)), len(ids)).astype(np.float32)
        cat.write_results(version, [AnalysisRow(i, v.astype(np.float32), p, np.zeros(0, np.float32), 8)
                                    for i, v, p in zip(ids, vectors, probs)])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def bench_queries(n: int, queries: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(tmp, model_path=Path(tmp) / "none.pt")
        t = time.perf_counter()
        fill_catalogue(lib, n)
        fill_s = time.perf_counter() - t
        t = time.perf_counter()
        lib.similar(1, n=10)
        build_s = time.perf_counter() - t
        lib.close()
        lib = Library(tmp, model_path=Path(tmp) / "none.pt")
        t = time.perf_counter()
        lib.similar(1, n=10)
        load_s = time.perf_counter() - t
        rng = np.random.default_rng(1)
        seeds = rng.integers(1, n + 1, queries)
        lat = []
        for s in seeds:
            t = time.perf_counter()
            found = lib.similar(int(s), n=10)
            lat.append(time.perf_counter() - t)
            assert len(found) == 10
        t = time.perf_counter()
        for s in seeds[:20]:
            lib.find(f"Song {s}")
        find_s = (time.perf_counter() - t) / 20
        t = time.perf_counter()
        lib.status()
        status_s = time.perf_counter() - t
        t = time.perf_counter()
        lib.tracks()
        tracks_s = time.perf_counter() - t
        lib.close()
    lat = np.array(lat)
    result = {"bench": "library-queries", "tracks": n, "fill_s": fill_s, "first_similar_build_s": build_s,
              "first_similar_load_s": load_s, "similar_p50_ms": float(np.percentile(lat, 50) * 1000),
              "similar_p95_ms": float(np.percentile(lat, 95) * 1000), "find_text_ms": find_s * 1000,
              "status_ms": status_s * 1000, "tracks_ms": tracks_s * 1000}
    print(f"{n:>8} tracks | first similar (build index) {_ms(build_s)} | fresh process (load index) {_ms(load_s)}")
    print(f"{'':>8}        | similar p50 {_ms(result['similar_p50_ms'] / 1000)}  p95 "
          f"{_ms(result['similar_p95_ms'] / 1000)} | find by text {_ms(find_s)} | status {_ms(status_s)} "
          f"| all tracks {_ms(tracks_s)}")
    return result


def bench_analysis(songs: int, model: Path | None, workers: int | None, songs_dir: Path) -> dict:
    from benchmarks.common import make_songs, random_model

    paths = make_songs(songs_dir, songs)
    seconds = sum(read_tags(p).duration or 0 for p in paths)
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            model = default_model_path() if default_model_path().is_file() else random_model(Path(tmp) / "random.pt")
        lib = Library(Path(tmp) / "data", model_path=model)
        t = time.perf_counter()
        _, report = lib.scan(songs_dir, workers=workers)
        scan_s = time.perf_counter() - t
        t = time.perf_counter()
        synced, again = lib.scan(songs_dir, workers=workers)
        rescan_s = time.perf_counter() - t
        device = lib.status().device
        lib.close()
    assert report.analysed == len(paths) and again.analysed == 0 and synced.unchanged == len(paths)
    result = {"bench": "library-analysis", "songs": len(paths), "audio_minutes": seconds / 60, "model": str(model),
              "device": device, "workers": workers, "scan_s": scan_s, "s_per_track": scan_s / len(paths),
              "unchanged_rescan_s": rescan_s}
    print(f"analysis: {len(paths)} songs ({seconds / 60:.0f} min of audio) in {scan_s:.1f} s = "
          f"{scan_s / len(paths):.2f} s/track on {device} (model {Path(model).name}, workers {workers or 'auto'}); "
          f"unchanged rescan {rescan_s * 1000:.0f} ms")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--songs", type=int, default=0, help="also time analysis of this many full-length songs")
    ap.add_argument("--songs-dir", type=Path, default=None,
                    help="where the songs are made (and reused); default: a temporary-folder cache per --songs")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    for n in args.sizes:
        _record(bench_queries(n, args.queries))
    if args.songs:
        songs_dir = args.songs_dir or Path(tempfile.gettempdir()) / f"musicsim-bench-library-{args.songs}"
        _record(bench_analysis(args.songs, args.model, args.workers, songs_dir))


if __name__ == "__main__":
    main()
