"""Running a checkpoint's PyTorch network on log-mel patches (GPU, Apple MPS, or the CPU fallback).

On a CPU the analysis normally runs the same weights through ONNX Runtime instead
(:mod:`musicsim.model.onnx_model`, chosen by :mod:`musicsim.model.runtime`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from musicsim.features import FeatureConfig
from musicsim.model.checkpoint import Checkpoint, load_checkpoint
from musicsim.model.device import describe_device, pick_device
from musicsim.model.outputs import SegmentOutputs, TrackResult, pool_segments

__all__ = ["LoadedModel", "SegmentOutputs", "TrackResult", "load_model", "pool_segments"]


class LoadedModel:
    """A checkpoint's network on a device, ready to turn patches into segment outputs."""

    def __init__(self, ckpt: Checkpoint, device: str | torch.device | None = None, batch_size: int = 64):
        self.checkpoint = ckpt
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.batch_size = batch_size
        self.network = ckpt.build().to(self.device)

    runtime = "torch"
    in_workers = False  # the pipeline runs it in the parent, fed by decode workers

    @property
    def on_cpu(self) -> bool:
        return self.device.type == "cpu"

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
