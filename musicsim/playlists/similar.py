"""The tracks nearest to one seed, after the shared rules (:mod:`musicsim.playlists.filters`)."""

from __future__ import annotations

import numpy as np

from musicsim.library.records import SimilarTrack, Track
from musicsim.playlists.filters import Filters, Pool, Selection


def similar(seed: Track, seed_vector: np.ndarray, pool: Pool, n: int, filters: Filters) -> list[SimilarTrack]:
    """The best ``n`` of ``pool`` by cosine similarity to the seed (best first; ties: pool order)."""
    if n <= 0 or not len(pool):
        return []
    scores = pool.vectors @ np.asarray(seed_vector, np.float32)
    chosen = Selection(filters, seeds=[(seed, seed_vector)])
    for i in np.argsort(-scores, kind="stable").tolist():
        if len(chosen) >= n:
            break
        chosen.offer(pool.tracks[i], pool.vectors[i], float(scores[i]))
    return chosen.result()
