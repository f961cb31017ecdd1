"""The network's layer sizes (torch-free: model files are read without importing torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

BN_EPS = 1e-3  # TensorFlow's batch_normalization default (musicnn's layers)


@dataclass(frozen=True)
class NetworkConfig:
    """Layer sizes of :class:`TwoStreamResCNN`. Defaults are musicnn's MSD model."""

    n_mels: int = 96
    timbral_filters: int = 204  # int(1.6 * 128)
    timbral_heights: tuple[float, ...] = (0.4, 0.7)  # fractions of n_mels
    timbral_width: int = 7
    temporal_filters: int = 51  # int(1.6 * 32)
    temporal_lengths: tuple[int, ...] = (128, 64, 32)
    midend_filters: int = 64
    midend_width: int = 7
    backend_units: int = 200  # penultimate layer; 0 = no tag back end
    n_tags: int = 50
    n_genres: int = 10
    embedding: str = "penultimate"  # "penultimate" or "pooled" (mean of the mid-end map)
    dropout: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timbral_heights"] = list(self.timbral_heights)
        data["temporal_lengths"] = list(self.temporal_lengths)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        data = dict(data)
        data["timbral_heights"] = tuple(data.get("timbral_heights", cls.timbral_heights))
        data["temporal_lengths"] = tuple(data.get("temporal_lengths", cls.temporal_lengths))
        return cls(**data)

    @property
    def frontend_channels(self) -> int:
        return (len(self.timbral_heights) * self.timbral_filters
                + len(self.temporal_lengths) * self.temporal_filters)

    @property
    def midend_channels(self) -> int:
        return self.frontend_channels + 3 * self.midend_filters

    @property
    def embedding_size(self) -> int:
        return self.backend_units if self.embedding == "penultimate" else self.midend_channels
