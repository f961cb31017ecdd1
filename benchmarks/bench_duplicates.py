"""Measure the cosine similarity that separates copies of one recording from different songs.

Takes GTZAN clips, re-encodes each to several lossy/lossless formats (different encoders, bit
rates and sample rates: what "the same album ripped twice" looks like), analyses every file with
a model, and prints the similarity of copy pairs against different-song pairs. The result sets
``musicsim.playlists.filters.DUPLICATE_SIMILARITY``.

    nice .venv/bin/python benchmarks/bench_duplicates.py --model resources/musicnn-msd.safetensors --per-genre 4
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

from musicsim.analysis.pipeline import analyse_file
from musicsim.audio.decode import load
from musicsim.audio.encode import encode
from musicsim.model.inference import load_model

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"
# (extension, sample rate of the copy)
COPIES = [("mp3", 44100), ("flac", 44100), ("ogg", 44100), ("m4a", 44100), ("mp3", 22050), ("wav", 22050)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--gtzan", default=str(GTZAN))
    ap.add_argument("--per-genre", type=int, default=4)
    args = ap.parse_args()
    model = load_model(args.model, device="cpu")
    clips = []
    for genre_dir in sorted(p for p in Path(args.gtzan).iterdir() if p.is_dir() and p.name != "splits"):
        clips += sorted(genre_dir.glob("*.opus"))[: args.per_genre]
    embs: dict[tuple[int, str], np.ndarray] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, clip in enumerate(clips):
            embs[(i, "opus")] = analyse_file(clip, model).embedding
            y = load(clip, 44100)
            for ext, rate in COPIES:
                path = Path(tmp) / f"{i}-{rate}.{ext}"
                encode(path, y if rate == 44100 else load(clip, rate), rate)
                embs[(i, f"{ext}@{rate}")] = analyse_file(path, model).embedding
    print(f"model {model.version}: {len(clips)} clips x {1 + len(COPIES)} encodings analysed "
          f"in {time.perf_counter() - t0:.0f} s")
    keys = list(embs)
    same, diff = [], []
    for a, b in itertools.combinations(keys, 2):
        sim = float(np.dot(embs[a], embs[b]))
        (same if a[0] == b[0] else diff).append(sim)
    same, diff = np.array(same), np.array(diff)
    print(f"copy pairs      n={same.size:6d}  min {same.min():.4f}  1st pct {np.percentile(same, 1):.4f}  "
          f"median {np.median(same):.4f}")
    print(f"different songs n={diff.size:6d}  max {diff.max():.4f}  99.9th pct {np.percentile(diff, 99.9):.4f}  "
          f"median {np.median(diff):.4f}")
    for threshold in (0.95, 0.97, 0.98, 0.99, 0.995):
        print(f"threshold {threshold}: copies caught {np.mean(same >= threshold):.1%}, "
              f"different songs wrongly merged {np.mean(diff >= threshold):.3%}")
    worst = sorted(((float(np.dot(embs[a], embs[b])), clips[a[0]].stem, clips[b[0]].stem)
                    for a, b in itertools.combinations([k for k in keys if k[1] == "opus"], 2)), reverse=True)[:5]
    print("closest different clips (originals):", ", ".join(f"{x} ~ {y} {s:.4f}" for s, x, y in worst))


if __name__ == "__main__":
    main()
