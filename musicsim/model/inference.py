"""Running a loaded model on log-mel patches, and pooling segment outputs into a track result."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musicsim.features import FeatureConfig
from musicsim.model.checkpoint import Checkpoint, load_checkpoint
from musicsim.model.device import describe_device, pick_device


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


class LoadedModel:
    """A checkpoint's network on a device, ready to turn patches into segment outputs."""

    def __init__(self, ckpt: Checkpoint, device: str | torch.device | None = None, batch_size: int = 64):
        self.checkpoint = ckpt
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.batch_size = batch_size
        self.network = ckpt.build().to(self.device)

    @property
    def version(self) -> str:
        return self.checkpoint.version

    @property
    def features(self) -> FeatureConfig:
        return self.checkpoint.features

    @property
    def genres(self) -> list[str]:
        return self.checkpoint.genres

    @property
    def tags(self) -> list[str]:
        return self.checkpoint.tags

    @property
    def embedding_size(self) -> int:
        return self.checkpoint.network.embedding_size

    @property
    def device_name(self) -> str:
        return describe_device(self.device)

    @torch.inference_mode()
    def predict(self, patches: np.ndarray) -> SegmentOutputs:
        """Outputs for ``patches`` of shape ``(n, frames, n_mels)``, run in batches of ``batch_size``."""
        n_tags = len(self.tags) if self.checkpoint.network.backend_units else 0
        embs, genres, tags = [], [], []
        for start in range(0, len(patches), self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(patches[start : start + self.batch_size], dtype=np.float32))
            out = self.network(x.to(self.device))
            embs.append(out.embedding.float().cpu().numpy())
            genres.append(torch.softmax(out.genre_logits.float(), dim=1).cpu().numpy())
            if out.tag_logits is not None:
                tags.append(torch.sigmoid(out.tag_logits.float()).cpu().numpy())
        n = len(patches)
        return SegmentOutputs(
            embeddings=np.concatenate(embs) if embs else np.zeros((0, self.embedding_size), np.float32),
            genre_probs=np.concatenate(genres) if genres else np.zeros((0, len(self.genres)), np.float32),
            tag_probs=np.concatenate(tags) if tags else np.zeros((n, n_tags), np.float32),
        )


def load_model(path: str | os.PathLike[str] | Path | None = None, device: str | None = None,
               batch_size: int = 64) -> LoadedModel:
    """Load a model file (default: the shipped one) onto ``device`` (default: best available)."""
    return LoadedModel(load_checkpoint(path), device=device, batch_size=batch_size)
