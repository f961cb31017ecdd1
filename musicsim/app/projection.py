"""2-D projection of track embeddings for the genre map (numpy only, no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """Project ``(n, d)`` embeddings onto their first two principal components, ``(n, 2)`` float64.

    The components come from the SVD of the ``(d, d)`` covariance (cheap for 100 000 tracks); each
    axis' sign is fixed so the largest loading is positive, so the map does not flip between runs.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got shape {x.shape}")
    n, d = x.shape
    out = np.zeros((n, 2))
    if n < 2 or d == 0:
        return out
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / (n - 1)
    u, _, _ = np.linalg.svd(cov, hermitian=True)
    k = min(2, d)
    components = u[:, :k]
    signs = np.sign(components[np.abs(components).argmax(axis=0), range(k)])
    signs[signs == 0] = 1.0
    out[:, :k] = centred @ (components * signs)
    return out


def genre_means(points: np.ndarray, genres: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Each predicted genre's mean position (its "signature" on the map); unlabelled points ignored."""
    groups: dict[str, list[int]] = {}
    for i, g in enumerate(genres):
        if g:
            groups.setdefault(g, []).append(i)
    return {g: points[idx].mean(axis=0) for g, idx in sorted(groups.items())}
