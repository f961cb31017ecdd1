"""A journey from song A to song B in exactly ``n`` songs (both ends included).

Targets are spaced evenly along the great circle from A to B on the unit sphere (slerp). Every
candidate gets a place on the way, ``progress = sim(c, B) - sim(c, A)`` (A's is the lowest, B's the
highest). The journey is the sequence of candidates in which every step increases both the progress and
the similarity to B (so no song comes twice and no step goes back) that maximises, by dynamic
programming, the sum of each song's similarity to its target plus ``PAIRWISE`` times each song's
similarity to the one before it (A before the first, B after the last). The shared rules are then
checked along the way; a song they refuse is dropped from the candidates and the search is run again.
With too few usable songs between A and B, the journey is shorter (the longest such sequence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from musicsim.library.records import SimilarTrack, Track
from musicsim.playlists.filters import DUPLICATE_SIMILARITY, Filters, Pool, Selection, unit, usable

log = logging.getLogger(__name__)

PAIRWISE = 1.0  # weight of the closeness to the previous song against the closeness to the target
MAX_REPAIRS = 200  # searches re-run after the rules refused a song (each drops one candidate)
MAX_CANDIDATES = 800  # songs the search weighs at most (the ones nearest the way): it is quadratic


_blas: Any = None  # threadpoolctl's controller, made on first use


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the duration: the products here are small, and on a busy machine
    (an analysis running, say) OpenBLAS's spinning worker threads made a journey 2x slower
    (benchmarks/bench_playlists.py)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        yield


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at fractions ``t`` of the great-circle arc from unit ``a`` to unit ``b``: ``(len(t), d)``."""
    a = unit(a).astype(np.float64)
    b = unit(b).astype(np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cos = float(np.clip(a @ b, -1.0, 1.0))
    theta = np.arccos(cos)
    if theta < 1e-6:  # the same direction: every target is A
        return np.repeat(a[None, :], len(t), axis=0)
    if np.pi - theta < 1e-6:  # opposite: no single great circle; go through any orthogonal direction
        ortho = np.zeros_like(a)
        ortho[int(np.argmin(np.abs(a)))] = 1.0
        ortho = unit(ortho - (ortho @ a) * a).astype(np.float64)
        return np.cos(np.pi * t) * a + np.sin(np.pi * t) * ortho
    return (np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / np.sin(theta)


def progress(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each vector's place on the way from ``a`` to ``b``: ``sim(v, b) - sim(v, a)``."""
    v = np.asarray(vectors, np.float64)
    return v @ np.asarray(b, np.float64) - v @ np.asarray(a, np.float64)


def _best_path(unary: np.ndarray, pair: np.ndarray, to_start: np.ndarray, to_end: np.ndarray) -> list[int]:
    """Indices ``j_1, ..., j_K`` maximising ``sum unary[j_k, k] + PAIRWISE * (to_start[j_1] +
    sum pair[j_k-1, j_k] + to_end[j_K])``; ``pair[i, j]`` is -inf where j may not follow i (every
    allowed step must go forward in one order of the candidates: no song comes twice)."""
    m, steps = unary.shape
    allowed = np.where(np.isfinite(pair), PAIRWISE * pair, -np.inf)
    score = unary[:, 0] + PAIRWISE * to_start
    back = np.zeros((steps, m), np.int64)
    for k in range(1, steps):
        total = score[:, None] + allowed  # (previous, next)
        back[k] = np.argmax(total, axis=0)
        score = unary[:, k] + total[back[k], np.arange(m)]
    score = score + PAIRWISE * to_end
    j = int(np.argmax(score))
    if not np.isfinite(score[j]):
        return []
    path = [j]
    for k in range(steps - 1, 0, -1):
        j = int(back[k, j])
        path.append(j)
    return path[::-1]


def journey(start: tuple[Track, np.ndarray], end: tuple[Track, np.ndarray], pool: Pool, n: int,
            filters: Filters) -> list[SimilarTrack]:
    """``start``, ``n - 2`` songs of ``pool`` on the way, ``end`` (module docstring).

    Rows' scores are each song's cosine similarity to the song before it (1.0 for ``start``). Fewer
    than ``n`` songs come back when the pool holds too few usable songs between A and B.
    """
    if n < 2:
        raise ValueError("a journey has at least 2 songs: its start and its end")
    with one_blas_thread():
        return _journey(start, end, pool, n, filters)


def _journey(start: tuple[Track, np.ndarray], end: tuple[Track, np.ndarray], pool: Pool, n: int,
             filters: Filters) -> list[SimilarTrack]:
    (a_track, a_vec), (b_track, b_vec) = start, end
    a, b = unit(a_vec), unit(b_vec)
    steps = n - 2
    ends = [(a_track, a), (b_track, b)]
    place = progress(pool.vectors, a, b) if len(pool) else np.zeros(0)
    low, high = float(progress(a[None, :], a, b)[0]), float(progress(b[None, :], a, b)[0])
    between = np.flatnonzero((place > low) & (place < high))
    ok = usable(Pool([pool.tracks[i] for i in between], pool.vectors[between]), filters, ends)
    keep = between[ok]
    if len(keep) > MAX_CANDIDATES:  # the dynamic programme is quadratic: the songs nearest the way
        near_way = (pool.vectors[keep] @ slerp(a, b, np.linspace(0, 1, steps + 2)).astype(np.float32).T).max(axis=1)
        keep = np.sort(keep[np.argsort(-near_way, kind="stable")[:MAX_CANDIDATES]])
    idx = [int(i) for i in keep[np.argsort(place[keep], kind="stable")]]  # by progress
    middle: list[int] = []
    if steps and idx:
        vectors = pool.vectors[idx]
        targets = slerp(a, b, np.arange(1, steps + 1) / (steps + 1)).astype(np.float32)
        unary = (vectors @ targets.T).astype(np.float64)  # (m, steps)
        to_start, to_end = (vectors @ a).astype(np.float64), (vectors @ b).astype(np.float64)
        pair = (vectors @ vectors.T).astype(np.float64)
        # a step goes forward (progress) and nearer to B: ahead[i, j] when j may follow i
        ahead = np.triu(np.ones(pair.shape, bool), k=1) & (to_end[None, :] > to_end[:, None])
        pair[~ahead | (pair >= DUPLICATE_SIMILARITY)] = -np.inf  # maybe one recording twice: never side by side
        live = np.ones(len(idx), bool)
        k = steps
        for _ in range(MAX_REPAIRS):
            k = min(k, int(live.sum()))
            if k == 0:
                break
            rows = np.flatnonzero(live)
            # fewer songs than steps: a shorter journey, on targets spread the same way
            cols = np.arange(steps) if k == steps else np.round(np.linspace(0, steps - 1, k)).astype(int)
            path = _best_path(unary[np.ix_(rows, cols)], pair[np.ix_(rows, rows)], to_start[rows], to_end[rows])
            if not path:  # no k of them go steadily towards B one after the other
                k -= 1
                continue
            picked = [int(rows[j]) for j in path]
            check = Selection(filters, seeds=ends, counted=[a_track, b_track])
            refused = next((j for j in picked if not check.offer(pool.tracks[idx[j]], vectors[j], 0.0)), None)
            if refused is None:
                middle = [idx[j] for j in picked]
                break
            live[refused] = False
        else:
            log.info("journey: the rules kept refusing songs after %d searches", MAX_REPAIRS)
    way = [(a_track, a), *((pool.tracks[i], unit(pool.vectors[i])) for i in middle), (b_track, b)]
    out = [SimilarTrack(a_track, 1.0)]
    for (_, before), (track, vector) in zip(way, way[1:]):
        out.append(SimilarTrack(track, float(before @ vector)))
    return out
