"""2-D projection of track embeddings for the genre map (numpy only, no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pca_2d(embeddings: np.ndarray, fit_rows: int = 20_000) -> np.ndarray:
    """Project ``(n, d)`` embeddings onto their first two principal components, ``(n, 2)`` float64.

    The components come from the SVD of the ``(d, d)`` covariance of at most ``fit_rows`` evenly
    spaced rows (a 100 000-track library needs no more to find two directions), then every row is
    projected. Each axis' sign is fixed so its largest loading is positive: the map does not flip.
    """
    x = np.asarray(embeddings)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got shape {x.shape}")
    n, d = x.shape
    out = np.zeros((n, 2))
    if n < 2 or d == 0:
        return out
    fit = x[:: max(1, n // fit_rows)].astype(np.float64)
    mean = fit.mean(axis=0)
    centred = fit - mean
    cov = centred.T @ centred / max(1, len(fit) - 1)
    u, _, _ = np.linalg.svd(cov, hermitian=True)
    k = min(2, d)
    components = u[:, :k]
    signs = np.sign(components[np.abs(components).argmax(axis=0), range(k)])
    signs[signs == 0] = 1.0
    out[:, :k] = (x - mean.astype(x.dtype)) @ (components * signs).astype(x.dtype)
    return out


def genre_means(points: np.ndarray, genres: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Each predicted genre's mean position (its "signature" on the map); unlabelled points ignored."""
    groups: dict[str, list[int]] = {}
    for i, g in enumerate(genres):
        if g:
            groups.setdefault(g, []).append(i)
    return {g: points[idx].mean(axis=0) for g, idx in sorted(groups.items())}
