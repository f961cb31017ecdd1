"""A list near several seeds at once, with seeds to steer away from.

The mean of the seeds' embeddings is a poor target: for two seeds far apart it lies between them,
near neither. Instead each seed ranks the candidates by its own similarity blended with the soft
minimum of the similarities to every seed (near all of them beats near one only), and the list takes
the next allowed track from each seed's ranking in turn, so every seed's neighbourhood is represented
all along the list. ``minus`` seeds lower a candidate by its similarity to the nearest of them, and a
candidate nearer to a minus seed than to every seed is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musicsim.library.records import SimilarTrack, Track
from musicsim.playlists.filters import Filters, Pool, Selection

SOFTMIN_TEMPERATURE = 0.1  # cosine units: close to the plain minimum, but smooth
OWN_WEIGHT = 0.3  # a seed's ranking: this much its own similarity, the rest the soft minimum over all seeds
MINUS_WEIGHT = 1.0  # how much a candidate's similarity to the nearest minus seed lowers it


def soft_min(sims: np.ndarray, temperature: float = SOFTMIN_TEMPERATURE) -> np.ndarray:
    """Row-wise soft minimum of ``(n, m)`` similarities: ``-t log(mean exp(-s / t))``, between min and mean."""
    sims = np.asarray(sims, np.float64)
    if sims.shape[1] == 1:
        return sims[:, 0]
    low = sims.min(axis=1, keepdims=True)
    return (low[:, 0] - temperature * np.log(np.mean(np.exp(-(sims - low) / temperature), axis=1)))


def mix_scores(pool: Pool, seeds: np.ndarray, minus: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(rankings, score)``: per seed, the ``(n, m)`` ranking keys of the pool's tracks (-inf: left out),
    and each track's reported score, the soft minimum of its similarities to the seeds."""
    sims = pool.vectors.astype(np.float64) @ np.asarray(seeds, np.float64).T  # (n, m)
    together = soft_min(sims)
    keys = OWN_WEIGHT * sims + (1.0 - OWN_WEIGHT) * together[:, None]
    if minus is not None and len(minus):
        away = (pool.vectors.astype(np.float64) @ np.asarray(minus, np.float64).T).max(axis=1)
        keys = keys - MINUS_WEIGHT * away[:, None]
        keys[away > sims.max(axis=1)] = -np.inf  # nearer to what to steer away from than to any seed
    return keys, together


def mix(seeds: Sequence[tuple[Track, np.ndarray]], pool: Pool, n: int, filters: Filters,
        minus: Sequence[tuple[Track, np.ndarray]] = ()) -> list[SimilarTrack]:
    """``n`` tracks of ``pool`` near all ``seeds``, taken from each seed's ranking in turn (module docstring).

    Never a seed or a minus seed. Deterministic: ties go to the earlier track of the pool.
    """
    if n <= 0 or not len(pool) or not seeds:
        return []
    seed_vectors = np.stack([np.asarray(v, np.float32) for _, v in seeds])
    minus_vectors = np.stack([np.asarray(v, np.float32) for _, v in minus]) if minus else None
    keys, score = mix_scores(pool, seed_vectors, minus_vectors)
    home = np.argmax(pool.vectors @ seed_vectors.T, axis=1)  # the seed each track is nearest to
    orders = []
    for s in range(len(seeds)):
        ranked = [i for i in np.argsort(-keys[:, s], kind="stable").tolist() if keys[i, s] > -np.inf]
        # a seed's turn takes from its own neighbourhood (tracks nearer to it than to any other seed) first
        orders.append([i for i in ranked if home[i] == s] + [i for i in ranked if home[i] != s])
    positions = [0] * len(seeds)
    chosen = Selection(filters, seeds=[*seeds, *minus])
    turn = 0
    while len(chosen) < n and any(positions[s] < len(orders[s]) for s in range(len(seeds))):
        s = turn % len(seeds)
        turn += 1
        order = orders[s]
        while positions[s] < len(order):
            i = order[positions[s]]
            positions[s] += 1
            if chosen.offer(pool.tracks[i], pool.vectors[i], float(score[i])):
                break
    return chosen.result()

