"""From-scratch reproduction: the two-stream ResCNN trained on GTZAN alone with Dong's preprocessing.

Optimiser: SGD with Nesterov momentum 0.9 at the paper's learning rate 0.009, with the gradient's
global L2 norm clipped to 1. That rate is an SGD-sized step (Adam's usual rate is 0.001; at 0.009
Adam is unstable on this network), so momentum SGD is the reading of the paper that makes its
number meaningful. Early stopping watches the validation loss with patience 10 and keeps the best
epoch's weights. Class imbalance is handled with class-weighted cross-entropy (weights inversely
proportional to each genre's training clips).

Why the clipping: without it this net diverges at lr 0.009. Measured on 4 GTZAN clips per genre,
3 segments each, batch 16: the first gradient's norm is ~25 (the genre head is a 1x1 convolution
on the unnormalised, densely concatenated mid-end map), so the first steps throw the genre logits
to |z| > 100 and the training loss to 11-50 (chance is ln 10 = 2.3). The class weights are not the
cause: the same blow-up happens with an unweighted loss. With the norm clipped to 1 (each gradient
the optimiser sees has norm <= 1, a plain-SGD step moves the weights <= 0.009), the logits stay
within |z| < 7 and the step losses reach chance by the end of the first epoch
(epoch means 2.65 → 2.10 on 2 clips per genre; in the 5-fold evaluation 2.7 → 2.0-2.3 in 2-3
epochs, docs/evaluation/README.md), with momentum 0.9 a little faster than plain SGD (epoch-1 mean
2.50 vs 2.67). ``grad_clip=None`` restores the unclipped optimiser.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from musicsim.features import DONG_2018
from musicsim.model.checkpoint import Checkpoint
from musicsim.model.network import NetworkConfig, TwoStreamResCNN

SCRATCH_NETWORK = NetworkConfig(n_mels=DONG_2018.n_mels, backend_units=0, n_tags=0, embedding="pooled")
SCRATCH_VERSION = "scratch-gtzan-1"


@dataclass
class TrainSettings:
    lr: float = 0.009
    momentum: float = 0.9
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0  # max global L2 norm of the gradient per step; None: no clipping
    batch_size: int = 32
    max_epochs: int = 200
    patience: int = 10
    segments_per_clip: int | None = None  # segments drawn per clip per epoch; None: all of them
    max_seconds: float | None = None  # wall-clock budget: stop after the epoch that exceeds it
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    network: TwoStreamResCNN  # the best validation epoch's weights, in eval mode
    # per epoch: train_loss, grad_norm, val_loss, val_accuracy, seconds
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = ""  # why training ended


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """``n / (k · count)`` for each class present, 0 for absent ones (sklearn's "balanced")."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def _batches(x: Sequence[np.ndarray], pairs: np.ndarray, batch_size: int):
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        yield torch.from_numpy(np.stack([x[c][s] for c, s in chunk])), chunk[:, 0]


def _all_pairs(x: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([(c, s) for c, clip in enumerate(x) for s in range(len(clip))], dtype=np.int64).reshape(-1, 2)


@torch.inference_mode()
def predict(network: TwoStreamResCNN, x: Sequence[np.ndarray],
            batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment softmax probabilities, embeddings and clip ids for every segment of every clip."""
    network.eval()
    pairs = _all_pairs(x)
    probs, embs = [], []
    for xb, _ in _batches(x, pairs, batch_size):
        out = network(xb)
        probs.append(torch.softmax(out.genre_logits, dim=1).numpy())
        embs.append(out.embedding.numpy())
    n_emb = network.cfg.embedding_size
    return (np.concatenate(probs) if probs else np.zeros((0, network.cfg.n_genres), np.float32),
            np.concatenate(embs) if embs else np.zeros((0, n_emb), np.float32), pairs[:, 0])


def _epoch_pairs(x: Sequence[np.ndarray], per_clip: int | None, rng: np.random.Generator) -> np.ndarray:
    chosen: list[tuple[int, int]] = []
    for c, clip in enumerate(x):
        segs = np.arange(len(clip)) if per_clip is None or per_clip >= len(clip) else \
            rng.choice(len(clip), per_clip, replace=False)
        chosen.extend((c, int(s)) for s in segs)
    pairs = np.array(chosen, dtype=np.int64).reshape(-1, 2)
    return pairs[rng.permutation(len(pairs))]


@torch.inference_mode()
def _validate(network: TwoStreamResCNN, x: Sequence[np.ndarray], y: np.ndarray, weights: torch.Tensor,
              batch_size: int) -> tuple[float, float]:
    """Class-weighted segment loss and clip-level accuracy (mean segment probabilities)."""
    probs, _, clip_ids = predict(network, x, batch_size)
    seg_y = torch.from_numpy(y[clip_ids])
    loss = F.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-12)), seg_y, weight=weights).item()
    sums = np.zeros((len(x), probs.shape[1]))
    np.add.at(sums, clip_ids, probs)
    return loss, float(np.mean(sums.argmax(axis=1) == y))


def train_scratch(train_x: Sequence[np.ndarray], train_y: np.ndarray, val_x: Sequence[np.ndarray],
                  val_y: np.ndarray, settings: TrainSettings = TrainSettings(),
                  network_cfg: NetworkConfig = SCRATCH_NETWORK,
                  log: Callable[[str], None] = print) -> TrainResult:
    """Train on clips' patch arrays ``train_x`` (each ``(n_segments, frames, mels)``) with labels ``train_y``.

    With no validation clips there is nothing to stop early on: it trains ``max_epochs``.
    """
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    network = TwoStreamResCNN(network_cfg)
    weights = class_weights(np.asarray(train_y), network_cfg.n_genres)
    optimiser = torch.optim.SGD(network.parameters(), lr=settings.lr, momentum=settings.momentum,
                                nesterov=settings.momentum > 0, weight_decay=settings.weight_decay)
    train_y = np.asarray(train_y)
    val_y = np.asarray(val_y)
    result = TrainResult(network=network)
    best_loss, best_state, waited = float("inf"), copy.deepcopy(network.state_dict()), 0
    start = time.monotonic()
    for epoch in range(1, settings.max_epochs + 1):
        t0 = time.monotonic()
        network.train()
        total, count, norms = 0.0, 0, []
        for xb, clips in _batches(train_x, _epoch_pairs(train_x, settings.segments_per_clip, rng), settings.batch_size):
            if len(clips) < 2:
                continue  # batch norm needs two samples
            loss = F.cross_entropy(network(xb).genre_logits, torch.from_numpy(train_y[clips]), weight=weights)
            optimiser.zero_grad()
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(
                network.parameters(), settings.grad_clip if settings.grad_clip else float("inf"))))
            optimiser.step()
            total += loss.item() * len(clips)
            count += len(clips)
        row = {"epoch": epoch, "train_loss": total / max(count, 1),
               "grad_norm": float(np.median(norms)) if norms else 0.0}  # before clipping
        if len(val_x):
            row["val_loss"], row["val_accuracy"] = _validate(network, val_x, val_y, weights, 64)
        row["seconds"] = round(time.monotonic() - t0, 2)
        result.history.append(row)
        log("epoch {epoch}: train loss {train_loss:.4f} (median gradient norm {grad_norm:.1f})".format(**row)
            + (" val loss {val_loss:.4f} val acc {val_accuracy:.3f}".format(**row) if "val_loss" in row else "")
            + f" ({row['seconds']:.0f} s)")
        monitored = row.get("val_loss", row["train_loss"])
        if monitored < best_loss:
            best_loss, best_state, waited, result.best_epoch = monitored, copy.deepcopy(network.state_dict()), 0, epoch
        else:
            waited += 1
        if len(val_x) and waited >= settings.patience:
            result.stopped = f"early stopping (patience {settings.patience})"
            break
        if settings.max_seconds is not None and time.monotonic() - start > settings.max_seconds:
            result.stopped = f"time budget ({settings.max_seconds:.0f} s)"
            break
    else:
        result.stopped = f"max epochs ({settings.max_epochs})"
    if not len(val_x):
        best_state = network.state_dict()  # no held-out loss: keep the last epoch
        result.best_epoch = len(result.history)
    network.load_state_dict(best_state)
    network.eval()
    return result


def scratch_checkpoint(result: TrainResult, genres: Sequence[str], card: dict | None = None,
                       version: str = SCRATCH_VERSION) -> Checkpoint:
    """A model file for a from-scratch network (Dong's features, no tags)."""
    return Checkpoint(version=version, features=DONG_2018, network=result.network.cfg, genres=list(genres),
                      state_dict=copy.deepcopy(result.network.state_dict()), tags=[], card=card or {})
