"""Model files: a network's weights together with everything needed to use them.

A checkpoint is a ``.pt`` file holding a plain dict (loadable with ``weights_only=True``)::

    {"format": 1, "version": str, "features": FeatureConfig dict, "network": NetworkConfig dict,
     "genres": [10 names], "tags": [tag names], "card": {free-form provenance}, "state_dict": {...}}

``version`` is stored with every analysis: a model with another version triggers re-analysis.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from musicsim.features import FeatureConfig
from musicsim.fileio import atomic_output
from musicsim.model.network import NetworkConfig, TwoStreamResCNN
from musicsim.paths import resources_dir

FORMAT = 1
DEFAULT_MODEL_FILE = "musicsim-model.pt"


class ModelNotFoundError(FileNotFoundError):
    """No model weights where they were looked for."""


class ModelFileError(ValueError):
    """A model file exists but cannot be used."""


@dataclass
class Checkpoint:
    version: str
    features: FeatureConfig
    network: NetworkConfig
    genres: list[str]
    state_dict: dict[str, torch.Tensor]
    tags: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)

    def build(self) -> TwoStreamResCNN:
        """The network with these weights, in eval mode, on the CPU."""
        net = TwoStreamResCNN(self.network)
        net.load_state_dict(self.state_dict)
        return net.eval()


def default_model_path() -> Path:
    return resources_dir() / DEFAULT_MODEL_FILE


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Write ``ckpt`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": ckpt.version,
        "features": ckpt.features.to_dict(),
        "network": ckpt.network.to_dict(),
        "genres": list(ckpt.genres),
        "tags": list(ckpt.tags),
        "card": ckpt.card,
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in ckpt.state_dict.items()},
    }
    with atomic_output(path, mode=0o644) as tmp:  # a model file is meant to be shared: 0644 whatever the umask
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike[str] | None = None, *, weights_only: bool = True) -> Checkpoint:
    """Read a model file (default: the shipped one in ``resources/``)."""
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise ModelNotFoundError(
            f"No model weights at {path}. Analysis needs a trained model file; pass --model FILE "
            f"or install musicsim with its resources/{DEFAULT_MODEL_FILE}."
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a musicsim model file (format {FORMAT}).")
    return Checkpoint(
        version=str(data["version"]),
        features=FeatureConfig.from_dict(data["features"]),
        network=NetworkConfig.from_dict(data["network"]),
        genres=list(data["genres"]),
        state_dict=data["state_dict"],
        tags=list(data.get("tags", [])),
        card=dict(data.get("card", {})),
    )
