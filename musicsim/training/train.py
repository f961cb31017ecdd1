"""The two training commands: the shipped model (genre head on the pretrained trunk) and the
from-scratch reproduction. Both run unchanged on the 280-clip subset and on the full GTZAN."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicsim.genres import GENRES
from musicsim.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from musicsim.model.network import NetworkConfig
from musicsim.training.data import genre_counts
from musicsim.training.evaluate import (
    EvalSettings,
    base_model_path,
    file_sha256,
    holdout_split,
    load_dataset,
)
from musicsim.training.head import fit_head, with_head
from musicsim.training.scratch import (
    SCRATCH_NETWORK,
    TrainSettings,
    scratch_checkpoint,
    train_scratch,
)

SHIPPED_VERSION = "musicnn-msd-gtzan-1"


def train_head_model(data_dir: Path, out: Path, base: Path | None = None, cache_dir: Path | None = None,
                     seed: int = 0, version: str = SHIPPED_VERSION,
                     log: Callable[[str], None] = print) -> Checkpoint:
    """Fit the genre head on every clip of ``data_dir`` over the frozen pretrained trunk; write ``out``."""
    base = base_model_path(base)
    settings = EvalSettings(base_model=base, cache_dir=cache_dir, methods=("shipped",), seed=seed)
    data = load_dataset(Path(data_dir), settings, log)
    maps = [t.pooled_map for t in data.trunk_outputs()]
    x = np.concatenate(maps)
    groups = np.concatenate([np.full(len(m), i) for i, m in enumerate(maps)])
    t0 = time.monotonic()
    head = fit_head(x, data.labels[groups], groups, len(GENRES), seed=seed)
    log(f"genre head: C={head.C} (inner-CV clip balanced accuracy {head.inner_scores}), "
        f"{time.monotonic() - t0:.0f} s")
    base_ckpt = load_checkpoint(base)
    card = {
        "base_model": {"file": base.name, "version": base_ckpt.version, "sha256": file_sha256(base),
                       "card": base_ckpt.card},
        "genre_head": {"method": "class-balanced multinomial logistic regression on the time-averaged "
                                 "mid-end map, written into the 1x1 genre convolution",
                       "C": head.C, "inner_cv_balanced_accuracy": {str(k): v for k, v in head.inner_scores.items()},
                       "clips": len(data.clips), "segments": int(len(x)), "genre_counts": genre_counts(data.clips),
                       "seed": seed},
        "model_card": "resources/MODEL_CARD.md",
    }
    ckpt = with_head(base_ckpt, head, GENRES, version, card)
    save_checkpoint(ckpt, out)
    log(f"wrote {out}")
    return ckpt


def train_scratch_model(data_dir: Path, out: Path, settings: TrainSettings, val_fraction: float = 0.15,
                        cache_dir: Path | None = None, network: NetworkConfig = SCRATCH_NETWORK,
                        log: Callable[[str], None] = print) -> Checkpoint:
    """Train the from-scratch model on ``data_dir`` (a stratified ``val_fraction`` held out for early stopping)."""
    ev = EvalSettings(cache_dir=cache_dir, methods=("scratch",), seed=settings.seed)
    data = load_dataset(Path(data_dir), ev, log)
    train, val = holdout_split(np.arange(len(data.clips)), data.labels, val_fraction, settings.seed)
    patches = data.dong_patches()
    result = train_scratch([patches[i] for i in train], data.labels[train],
                           [patches[i] for i in val], data.labels[val], settings, network, log=log)
    card = {"training": settings.to_dict() | {"optimizer": "SGD, Nesterov momentum",
                                               "train_clips": int(len(train)), "val_clips": int(len(val)),
                                               "best_epoch": result.best_epoch, "stopped": result.stopped,
                                               "genre_counts": genre_counts(data.clips)},
            "history": result.history}
    ckpt = scratch_checkpoint(result, GENRES, card)
    save_checkpoint(ckpt, out)
    log(f"wrote {out} (best epoch {result.best_epoch}, {result.stopped})")
    return ckpt
