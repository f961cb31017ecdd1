"""Per-segment network outputs of the similarity benchmark's collections, computed once and cached.

Three collections, each file analysed exactly as ``musicsim scan`` does (``track_patches``: the 8 windows
of ``DEFAULT_SEGMENTS``, the ONNX Runtime engine, one thread):

* ``gtzan``  the 280-clip GTZAN subset (genre from the folder; ``split``: which of the artist-disjoint
  fault-filtered lists holds the clip, '' for none);
* ``corpus`` the 456 full-length songs of /work/corpus/library (album, artist, package, version_of);
* ``dups``   ``--dup-per-genre`` GTZAN clips per genre, each in its original and six re-encoded copies
  (the encodings of ``benchmarks/bench_duplicates.py``).

Every model in ``MODELS`` runs on the same patches. The cache (``$MUSICSIM_SIM_CACHE``, default
/work/cache/similarity; never committed) holds one ``<collection>-<model>.npz`` per pair: ``emb`` and
``tags`` of shape ``(tracks, 8, d)`` (rows past ``nseg`` are zero), ``nseg``, and ``<collection>.json``
with the items.

    nice .venv/bin/python -m benchmarks.similarity_data --workers 2     # ~10 min on 2 shared cores
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"
CORPUS = Path(os.environ.get("MUSICSIM_CORPUS", "/work/corpus/library"))
CACHE = Path(os.environ.get("MUSICSIM_SIM_CACHE", "/work/cache/similarity"))
REPO = Path(__file__).resolve().parents[1]
# model name -> model file. "msd": the ported musicnn MSD trunk, whose (uncentred) embeddings the shipped
# model musicnn-msd-gtzan-1 had; "shipped": today's shipped file. The MTT file is written by
# tools/convert_musicnn.py --model MTT_musicnn. "-pooled": the same network with the time-mean of the
# mid-end map as embedding (753-d, NetworkConfig.embedding = "pooled").
MODELS = {
    "msd": REPO / "resources" / "musicnn-msd.safetensors",
    "shipped": REPO / "resources" / "musicsim-model.safetensors",
    "mtt": CACHE / "models" / "musicnn-mtt.safetensors",
    "msd-pooled": REPO / "resources" / "musicnn-msd.safetensors",
    "mtt-pooled": CACHE / "models" / "musicnn-mtt.safetensors",
}
DUP_COPIES = [("mp3", 44100), ("flac", 44100), ("ogg", 44100), ("m4a", 44100), ("mp3", 22050), ("wav", 22050)]
MAX_SEGMENTS = 8


def gtzan_items(root: Path = GTZAN) -> list[dict[str, Any]]:
    split_of: dict[str, str] = {}
    for split in ("train", "valid", "test"):
        f = root / "splits" / f"{split}_filtered.txt"
        if f.exists():
            split_of |= {line.strip(): split for line in f.read_text().split() if line.strip()}
    return [{"name": p.stem, "genre": p.parent.name, "path": str(p), "split": split_of.get(p.stem, "")}
            for p in sorted(root.glob("*/*.opus"))]


def corpus_items(root: Path = CORPUS) -> list[dict[str, Any]]:
    rows = json.loads((root / "corpus.json").read_text())["files"]
    return [{"name": r["path"], "path": str(root / r["path"]), "album": r["album"] or "",
             "artist": r["artist"] or "", "package": r["package"], "source": r["source"],
             "genre": r["genre"], "file_genre": (r.get("file_tags") or {}).get("genre", ""),
             "duration": r["duration_s"], "version_of": r["version_of"] or ""} for r in rows]


def dup_items(per_genre: int, root: Path = GTZAN) -> list[dict[str, Any]]:
    items = []
    for genre_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "splits"):
        for clip in sorted(genre_dir.glob("*.opus"))[:per_genre]:
            items.append({"name": clip.stem, "copy": "opus", "path": str(clip), "genre": genre_dir.name})
            items += [{"name": clip.stem, "copy": f"{ext}@{rate}", "path": str(clip), "genre": genre_dir.name}
                      for ext, rate in DUP_COPIES]
    return items


_ENGINES: dict[str, Any] = {}


def _engines(models: dict[str, str]) -> dict[str, Any]:
    if not _ENGINES:
        from dataclasses import replace

        from musicsim.model.modelfile import read_model
        from musicsim.model.onnx_model import OnnxModel

        for name, path in models.items():
            meta, weights = read_model(path)
            if name.endswith("-pooled"):
                meta = replace(meta, network=replace(meta.network, embedding="pooled"))
            _ENGINES[name] = OnnxModel.from_weights(meta, weights)
    return _ENGINES


def _analyse(item: dict[str, Any], models: dict[str, str], tmp: str) -> tuple[dict[str, Any], float]:
    from musicsim.analysis.segments import track_patches
    from musicsim.audio.decode import load
    from musicsim.audio.encode import encode

    engines = _engines(models)
    path = item["path"]
    copy = item.get("copy", "opus")
    if copy != "opus":  # a re-encoded copy, as bench_duplicates.py makes them
        ext, rate = copy.split("@")
        path = str(Path(tmp) / f"{os.getpid()}-{item['name']}-{rate}.{ext}")
        encode(path, load(item["path"], int(rate)), int(rate))
    t0 = time.process_time()
    first = next(iter(engines.values()))
    patches = track_patches(path, first.features)
    out = {}
    for name, eng in engines.items():
        o = eng.predict(patches)
        out[name] = (o.embeddings, o.tag_probs)
    if copy != "opus":
        os.unlink(path)
    return out, time.process_time() - t0


def build(collection: str, items: list[dict[str, Any]], models: dict[str, str], workers: int) -> None:
    """Analyse ``items`` with every model and write the collection's cache files."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    n = len(items)
    res: list[Any] = [None] * n
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(workers) as pool:
        futs = [pool.submit(_analyse, it, models, tmp) for it in items]
        for i, f in enumerate(futs):
            res[i] = f.result()
            if i % 50 == 0:
                print(f"{collection}: {i}/{n} ({time.monotonic() - t0:.0f} s)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in models:
        d_emb = res[0][0][name][0].shape[1]
        d_tag = res[0][0][name][1].shape[1]
        emb = np.zeros((n, MAX_SEGMENTS, d_emb), np.float32)
        tags = np.zeros((n, MAX_SEGMENTS, d_tag), np.float32)
        nseg = np.zeros(n, np.int64)
        for i, (out, _) in enumerate(res):
            e, t = out[name]
            nseg[i] = len(e)
            emb[i, : len(e)] = e
            tags[i, : len(t)] = t
        np.savez(CACHE / f"{collection}-{name}.npz", emb=emb, tags=tags, nseg=nseg)
    cpu = [c for _, c in res]
    (CACHE / f"{collection}.json").write_text(json.dumps(
        {"items": items, "models": {k: str(v) for k, v in models.items()},
         "cpu_s_per_track_all_models": float(np.median(cpu))}, indent=1))
    print(f"{collection}: {n} tracks in {time.monotonic() - t0:.0f} s "
          f"(median {np.median(cpu):.2f} CPU-s per track for decode + {len(models)} models)")


def load(collection: str, model: str) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray, np.ndarray]:
    """``(items, emb (n, 8, d), tags (n, 8, t), nseg)`` of a cached collection."""
    meta = json.loads((CACHE / f"{collection}.json").read_text())  # the items (the same for every model)
    z = np.load(CACHE / f"{collection}-{model}.npz")
    return meta["items"], z["emb"], z["tags"], z["nseg"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collections", nargs="+", default=["gtzan", "dups", "corpus"])
    ap.add_argument("--models", nargs="+", default=["msd", "mtt"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dup-per-genre", type=int, default=4)
    args = ap.parse_args()
    models = {m: str(MODELS[m]) for m in args.models}
    for m, p in models.items():
        if not Path(p).is_file():
            raise SystemExit(f"model file for {m} missing: {p}")
    for c in args.collections:
        items = {"gtzan": gtzan_items, "corpus": corpus_items,
                 "dups": lambda: dup_items(args.dup_per_genre)}[c]()
        build(c, items, models, args.workers)


if __name__ == "__main__":
    main()
