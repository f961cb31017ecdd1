"""Two-stream residual CNN over log-mel patches (musicnn-compatible).

Front end, two streams over a ``(frames, mels)`` patch:
  * spectral (timbral) stream: vertical filters spanning 40 % and 70 % of the mel bands, 7 frames wide;
  * temporal stream: horizontal filters 128, 64 and 32 frames long, one mel band high;
  each filter is max-pooled over frequency, giving one feature sequence over time.
Mid end: the streams concatenated, then three 1-D convolutions with residual connections.
Heads, over the densely connected mid-end map ``(channels, time)``:
  * genre head (the paper's): 1x1 convolution, adaptive average pooling over time, 10 genres;
  * tag back end (musicnn's): max+mean temporal pooling, dense penultimate layer (the embedding), tags.

Layer shapes follow musicnn's ``build_musicnn`` exactly, so its MSD weights load unchanged
(TensorFlow's batch-norm epsilon 1e-3 and its asymmetric "same" padding included).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from musicsim.model.config import BN_EPS, NetworkConfig

__all__ = ["BN_EPS", "NetworkConfig", "NetworkOutput", "TwoStreamResCNN"]


class NetworkOutput(NamedTuple):
    embedding: torch.Tensor  # (batch, embedding_size)
    genre_logits: torch.Tensor  # (batch, n_genres)
    tag_logits: torch.Tensor | None  # (batch, n_tags), or None without a tag back end


def _same_pad(length: int) -> tuple[int, int]:
    """TensorFlow 'same' padding for a kernel of ``length``: the extra element goes after."""
    total = length - 1
    return total // 2, total - total // 2


class FrequencyPooledConv(nn.Module):
    """Conv2d -> ReLU -> batch norm -> max over the frequency axis: ``(B,1,T,F) -> (B,C,T)``."""

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]):
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.pad(x, (0, 0, *self.time_pad)))
        if self.training:
            return self.bn(F.relu(y)).amax(dim=3)
        # Inference: ReLU and the frozen batch norm (a per-channel affine map) are monotonic, so pool
        # over frequency first and map only the pooled values (exact, and 10-15 % faster): the max of an
        # increasing map is the map of the max; of a decreasing one (negative scale), the map of the min.
        bn = self.bn
        assert bn.running_var is not None and bn.running_mean is not None  # track_running_stats=True
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        pooled = F.relu(y.amax(dim=3))
        if bool((scale < 0).any()):
            pooled = torch.where((scale < 0)[:, None], F.relu(y.amin(dim=3)), pooled)
        return pooled * scale[:, None] + shift[:, None]


class ResidualConv1d(nn.Module):
    """'Same'-padded Conv1d -> ReLU -> batch norm, plus the input when ``residual``."""

    def __init__(self, in_channels: int, out_channels: int, width: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.conv = nn.Conv1d(in_channels, out_channels, width, padding=width // 2)
        self.bn = nn.BatchNorm1d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(F.relu(self.conv(x)))
        return y + x if self.residual else y


class TwoStreamResCNN(nn.Module):
    """Input ``(batch, frames, n_mels)`` log-mel patches; output embedding, genre and tag logits."""

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        if cfg.embedding not in ("penultimate", "pooled"):
            raise ValueError(f"unknown embedding {cfg.embedding!r}: 'penultimate' or 'pooled'")
        if cfg.embedding == "penultimate" and not cfg.backend_units:
            raise ValueError("a 'penultimate' embedding needs the tag back end (backend_units > 0)")
        self.cfg = cfg
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        pad7 = (cfg.timbral_width // 2, cfg.timbral_width // 2)
        self.spectral = nn.ModuleList(
            FrequencyPooledConv(cfg.timbral_filters, (cfg.timbral_width, int(h * cfg.n_mels)), pad7)
            for h in cfg.timbral_heights
        )
        self.temporal = nn.ModuleList(
            FrequencyPooledConv(cfg.temporal_filters, (length, 1), _same_pad(length))
            for length in cfg.temporal_lengths
        )
        self.midend = nn.ModuleList([
            ResidualConv1d(cfg.frontend_channels, cfg.midend_filters, cfg.midend_width, residual=False),
            ResidualConv1d(cfg.midend_filters, cfg.midend_filters, cfg.midend_width, residual=True),
            ResidualConv1d(cfg.midend_filters, cfg.midend_filters, cfg.midend_width, residual=True),
        ])
        # The paper's head: 1x1 convolution, adaptive average pooling, softmax over genres.
        self.genre_head = nn.Conv1d(cfg.midend_channels, cfg.n_genres, kernel_size=1)
        self.pool = nn.AdaptiveAvgPool1d(1)
        if cfg.backend_units:
            self.backend_bn = nn.BatchNorm1d(2 * cfg.midend_channels, eps=BN_EPS)
            self.penultimate = nn.Linear(2 * cfg.midend_channels, cfg.backend_units)
            self.penultimate_bn = nn.BatchNorm1d(cfg.backend_units, eps=BN_EPS)
            self.tag_head = nn.Linear(cfg.backend_units, cfg.n_tags) if cfg.n_tags else None
        self.dropout = nn.Dropout(cfg.dropout)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Densely connected mid-end map ``(batch, midend_channels, frames)``."""
        x = self.input_bn(x.unsqueeze(1))
        front = torch.cat([branch(x) for branch in (*self.spectral, *self.temporal)], dim=1)
        maps = [front]
        h = front
        for layer in self.midend:
            h = layer(h)
            maps.append(h)
        return torch.cat(maps, dim=1)

    def forward(self, x: torch.Tensor) -> NetworkOutput:
        fmap = self.feature_map(x)
        genre_logits = self.pool(self.genre_head(fmap)).squeeze(-1)
        tag_logits = None
        if self.cfg.backend_units:
            # musicnn flattens (channels, [max, mean]) channel by channel.
            pooled = torch.stack([fmap.amax(dim=2), fmap.mean(dim=2)], dim=2).flatten(1)
            hidden = F.relu(self.penultimate(self.dropout(self.backend_bn(pooled))))
            penultimate = self.penultimate_bn(hidden)
            if self.tag_head is not None:
                tag_logits = self.tag_head(self.dropout(penultimate))
        if self.cfg.embedding == "penultimate":
            embedding = penultimate
        else:
            embedding = self.pool(fmap).squeeze(-1)
        return NetworkOutput(embedding, genre_logits, tag_logits)
