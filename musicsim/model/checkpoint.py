"""Model files as PyTorch sees them: a network's weights (torch tensors) with everything needed to use them.

The file format lives in :mod:`musicsim.model.modelfile` (format 2: safetensors layout, no code in
it, metadata readable without torch). Format-1 files (``torch.save`` of a plain dict, the layout
below) are still read, with ``weights_only=True``::

    {"format": 1, "version": str, "features": FeatureConfig dict, "network": NetworkConfig dict,
     "genres": [10 names], "tags": [tag names], "card": {free-form provenance}, "state_dict": {...}}

``version`` is stored with every analysis: a model with another version triggers re-analysis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from musicsim.features import FeatureConfig
from musicsim.model.errors import ModelFileError, ModelNotFoundError
from musicsim.model.modelfile import (
    DEFAULT_MODEL_FILE,
    FORMAT,
    LEGACY_FORMAT,
    ModelMeta,
    default_model_path,
    is_legacy,
    read_model,
    write_model,
)
from musicsim.model.network import NetworkConfig, TwoStreamResCNN

__all__ = ["DEFAULT_MODEL_FILE", "FORMAT", "Checkpoint", "ModelFileError", "ModelNotFoundError",
           "default_model_path", "load_checkpoint", "save_checkpoint"]


@dataclass
class Checkpoint:
    version: str
    features: FeatureConfig
    network: NetworkConfig
    genres: list[str]
    state_dict: dict[str, torch.Tensor]
    tags: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def meta(self) -> ModelMeta:
        return ModelMeta(self.version, self.features, self.network, list(self.genres), list(self.tags),
                         dict(self.card))

    def build(self) -> TwoStreamResCNN:
        """The network with these weights, in eval mode, on the CPU."""
        net = TwoStreamResCNN(self.network)
        net.load_state_dict(self.state_dict)
        return net.eval()

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays (for the ONNX Runtime engine and the file writer)."""
        return {k: v.detach().cpu().contiguous().numpy() for k, v in self.state_dict.items()}


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Write ``ckpt`` as a format-2 model file, atomically (temporary file, then rename)."""
    return write_model(path, ckpt.meta, ckpt.arrays())


def load_checkpoint(path: str | os.PathLike[str] | None = None, *, weights_only: bool = True) -> Checkpoint:
    """Read a model file of either format (default: the shipped one in ``resources/``)."""
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        read_model(path)  # raises ModelNotFoundError with the message for people
    try:
        legacy = is_legacy(path)
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from exc
    if not legacy:
        meta, arrays = read_model(path)
        return Checkpoint(meta.version, meta.features, meta.network, meta.genres,
                          {k: torch.from_numpy(v) for k, v in arrays.items()}, meta.tags, meta.card)
    try:
        data = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
        raise ModelFileError(f"{path} is not a musicsim model file (format {FORMAT}, or {LEGACY_FORMAT}).")
    return Checkpoint(
        version=str(data["version"]),
        features=FeatureConfig.from_dict(data["features"]),
        network=NetworkConfig.from_dict(data["network"]),
        genres=list(data["genres"]),
        state_dict=data["state_dict"],
        tags=list(data.get("tags", [])),
        card=dict(data.get("card", {})),
    )
