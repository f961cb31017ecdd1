"""Choosing what to recommend from raw nearest neighbours.

Never the seed, never a second copy of one recording (the same audio in another format or folder:
near-identical embedding and near-equal duration), and at most ``max_per_artist`` songs per artist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from musicsim.library.records import SimilarTrack, Track

# Two files are copies of one recording when their embeddings' cosine similarity is at least this
# and their durations differ by at most DUPLICATE_DURATION_S. Measured with the shipped model
# musicnn-msd-gtzan-2 (centred embedding) on 40 GTZAN clips x 7 encodings
# (benchmarks/bench_duplicates.py --per-genre 4): copies >= 0.9873, different clips <= 0.9714; on the
# 456 songs of the game-music corpus different songs <= 0.9735 (docs/evaluation/similarity.md). With the
# uncentred musicnn-msd-1 embedding the margin was 0.001 (copies >= 0.9835, different <= 0.9822).
DUPLICATE_SIMILARITY = 0.98
DUPLICATE_DURATION_S = 1.0


@dataclass(frozen=True)
class Candidate:
    track: Track
    score: float  # cosine similarity to the seed
    embedding: np.ndarray  # L2-normalised


def same_recording(a_emb: np.ndarray, a_duration: float | None, b_emb: np.ndarray, b_duration: float | None,
                   min_similarity: float = DUPLICATE_SIMILARITY,
                   max_duration_diff: float = DUPLICATE_DURATION_S) -> bool:
    """Whether two analysed files hold the same recording."""
    if float(np.dot(a_emb, b_emb)) < min_similarity:
        return False
    if a_duration is None or b_duration is None:
        return True
    return abs(a_duration - b_duration) <= max_duration_diff


def pick(seed: Track, seed_embedding: np.ndarray, candidates: list[Candidate], n: int,
         max_per_artist: int | None = 2) -> list[SimilarTrack]:
    """The best ``n`` of ``candidates`` (sorted by score, best first) after the filters above.

    Tracks without an artist tag are never capped (they are not known to share an artist).
    """
    kept: list[Candidate] = []
    per_artist: Counter[str] = Counter()
    for cand in sorted(candidates, key=lambda c: -c.score):
        if len(kept) >= n:
            break
        t = cand.track
        if t.id == seed.id or t.path == seed.path:
            continue
        if same_recording(seed_embedding, seed.duration, cand.embedding, t.duration):
            continue
        if any(same_recording(k.embedding, k.track.duration, cand.embedding, t.duration) for k in kept):
            continue
        artist = t.artist.strip().casefold()
        if max_per_artist is not None and artist and per_artist[artist] >= max_per_artist:
            continue
        per_artist[artist] += 1
        kept.append(cand)
    return [SimilarTrack(track=c.track, score=c.score) for c in kept]
