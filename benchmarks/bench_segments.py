"""How many windows per track: pooled embedding from N windows vs from all windows, on real audio.

    nice .venv/bin/python -m benchmarks.bench_segments [--model FILE] [--clips-per-genre 6] [--songs 12]

For each track every consecutive window is run through the model once. For N = 1..max the
windows nearest to ``window_starts(duration, window, N)`` are pooled, and compared with the
all-window embedding: cosine similarity (mean and 5th percentile), top-tag agreement, and the
leave-one-out 5-NN genre accuracy of the N-window embeddings (GTZAN labels). Tracks: GTZAN
clips (30 s: 10 windows) and full-length songs made from them (benchmarks/common.py).
Appends JSON lines to benchmarks/results/segments.jsonl.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import GTZAN, gtzan_clips, make_songs, random_model
from musicsim.analysis.segments import window_starts
from musicsim.audio.decode import load
from musicsim.features import patches
from musicsim.model.checkpoint import default_model_path
from musicsim.model.inference import load_model

RESULTS = Path(__file__).parent / "results" / "segments.jsonl"
REAL_MODEL = default_model_path().parent / "musicnn-msd.safetensors"


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def knn_accuracy(emb: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    votes = labels[np.argsort(-sims, axis=1)[:, :k]]
    pred = np.array([np.bincount(v, minlength=labels.max() + 1).argmax() for v in votes])
    return float((pred == labels).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REAL_MODEL if REAL_MODEL.exists() else None)
    ap.add_argument("--clips-per-genre", type=int, default=6)
    ap.add_argument("--songs", type=int, default=12)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-bench-songs")
    ap.add_argument("--max-n", type=int, default=16)
    args = ap.parse_args()
    model_path = args.model or random_model(Path(tempfile.mkdtemp()) / "random.pt")
    model = load_model(model_path, device="cpu")
    cfg = model.features
    window = cfg.segment_seconds

    by_genre: dict[str, list[Path]] = {}
    for c in gtzan_clips():
        by_genre.setdefault(c.parent.name, []).append(c)
    tracks = [(c, g) for g in sorted(by_genre) for c in by_genre[g][: args.clips_per_genre]]
    songs = make_songs(args.songs_dir, args.songs)
    genres = sorted(by_genre)
    tracks += [(s, genres[i % len(genres)]) for i, s in enumerate(songs)]  # make_songs' genre order

    t0 = time.perf_counter()
    per_track = []  # (segment embeddings, tag probs, duration, genre index, is_song)
    for path, genre in tracks:
        y = load(path, cfg.sample_rate)
        out = model.predict(patches(y, cfg))
        per_track.append((out.embeddings, out.tag_probs, y.size / cfg.sample_rate, genres.index(genre),
                          path.parent != GTZAN / genre))
    print(f"{len(tracks)} tracks, {sum(len(p[0]) for p in per_track)} windows in {time.perf_counter() - t0:.0f} s "
          f"(model {model.version})")

    rows = []
    for group in ("clips", "songs"):
        sel = [p for p in per_track if p[4] == (group == "songs")]
        if not sel:
            continue
        labels = np.array([p[3] for p in sel])
        full = normalise(np.stack([e.mean(0) for e, *_ in sel]))
        full_tag = np.array([t.mean(0).argmax() for _, t, *_ in sel])
        max_n = min(args.max_n, max(len(e) for e, *_ in sel))
        for n in range(1, max_n + 1):
            embs, tags = [], []
            for e, t, duration, *_ in sel:
                starts = window_starts(duration, window, n) or [0.0]
                idx = sorted({min(len(e) - 1, int(round((s + window / 2) / window - 0.5))) for s in starts})
                embs.append(e[idx].mean(0))
                tags.append(t[idx].mean(0).argmax())
            embs = normalise(np.stack(embs))
            cos = np.sum(embs * full, axis=1)
            row = dict(group=group, tracks=len(sel), n=n, cos_mean=round(float(cos.mean()), 4),
                       cos_p5=round(float(np.percentile(cos, 5)), 4),
                       top_tag_agreement=round(float(np.mean(np.array(tags) == full_tag)), 3),
                       knn5_genre_acc=round(knn_accuracy(embs, labels), 3),
                       knn5_genre_acc_all_windows=round(knn_accuracy(full, labels), 3), model=model.version)
            rows.append(row)
            print(f"{group:5s} N={n:2d} cos mean {row['cos_mean']:.4f} p5 {row['cos_p5']:.4f} "
                  f"top-tag agree {row['top_tag_agreement']:.3f} 5-NN genre acc {row['knn5_genre_acc']:.3f} "
                  f"(all windows {row['knn5_genre_acc_all_windows']:.3f})", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
