"""What the network gives per segment, and pooling segments into one track result (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SegmentOutputs:
    """Per-segment network outputs as float32 arrays with one row per segment."""

    embeddings: np.ndarray  # (n, embedding_size)
    genre_probs: np.ndarray  # (n, n_genres), softmax
    tag_probs: np.ndarray  # (n, n_tags), sigmoid; (n, 0) without tags


@dataclass
class TrackResult:
    """One track's pooled analysis."""

    embedding: np.ndarray  # L2-normalised mean of segment embeddings, float32
    genre_probs: np.ndarray  # mean of segment genre probabilities
    tag_probs: np.ndarray  # mean of segment tag probabilities
    n_segments: int


def pool_segments(out: SegmentOutputs) -> TrackResult:
    """Track result: L2-normalised mean embedding, mean genre and tag probabilities."""
    if out.embeddings.shape[0] == 0:
        raise ValueError("cannot pool zero segments")
    mean = out.embeddings.astype(np.float64).mean(axis=0)
    norm = np.linalg.norm(mean)
    embedding = (mean / norm if norm > 0 else mean).astype(np.float32)
    return TrackResult(
        embedding=embedding,
        genre_probs=out.genre_probs.mean(axis=0).astype(np.float32),
        tag_probs=out.tag_probs.mean(axis=0).astype(np.float32),
        n_segments=int(out.embeddings.shape[0]),
    )
