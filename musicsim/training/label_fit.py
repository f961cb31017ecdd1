"""``musicsim train-label``: fit the genre label rule (``musicsim.genres.label``) on GTZAN, cross-validated.

Inputs are out-of-fold: each clip's genre-head probabilities come from the head of the evaluation's
stratified 5-fold CV (seed 0, the protocol of docs/evaluation/report.md) that did not see the clip;
tag probabilities are the frozen MSD tags (no GTZAN fitting involved). On those:

1. prior correction (a per-genre log-bias) and temperature of the head, fitted on the out-of-fold
   probabilities, genre-balanced;
2. the label model: class-balanced logistic regression on [corrected genre probabilities, tag
   probabilities], C chosen by inner 3-fold CV (clip balanced accuracy), then its temperature;
3. thresholds of the genres GTZAN lacks: the 97.5th genre-balanced percentile of each one's tag
   evidence over the GTZAN clips.

Every number reported (``cv``) is a second, outer 5-fold CV over those out-of-fold inputs (same folds):
steps 1-3 are refitted on four folds and measured on the fifth. The shipped parameters are then fitted
on all clips. Nothing from any other corpus is used.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from musicsim.fileio import atomic_write
from musicsim.genres import GENRES
from musicsim.genres.label import Extra, LabelRule, corrected_genres, label_distribution, stacked_genres
from musicsim.training.evaluate import (
    EvalSettings,
    _shipped_fold,
    base_model_path,
    cached_fold,
    file_sha256,
    load_dataset,
)
from musicsim.training.head import C_GRID, balanced_accuracy

Log = Callable[[str], None]

# Genres GTZAN lacks and the MSD tags standing for them.
EXTRAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("electronic", ("electronic", "electronica", "electro", "House")),
    ("folk", ("folk",)),
    ("punk", ("punk",)),
    ("soul/r&b", ("soul", "rnb")),
)
EXTRA_QUANTILE = 0.99
STACK_GRID = (0.01, 0.1, 1.0, 10.0)
STACK_USES_HEAD = True  # the label model's inputs: corrected head probabilities and tags (False: tags only)


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=len(GENRES)).astype(float)
    w = 1.0 / np.maximum(counts[y], 1)
    return w / w.sum()


def _nll(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(-(w * np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1))).sum())


def _fit_temperature(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """The temperature minimising the genre-balanced log-loss (golden-section search on log T)."""
    def loss(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return _nll(p, y, w)

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    for _ in range(60):
        if loss(a) < loss(b):
            hi = b
        else:
            lo = a
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    return float(np.exp((lo + hi) / 2))


def fit_correction(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-genre log-bias making the mean answer over a genre-balanced population uniform, then a temperature."""
    logp = np.log(np.clip(p, 1e-9, 1))
    w = _balanced_weights(y)
    bias = np.zeros(p.shape[1])
    for _ in range(50):  # Saerens-style fixed point: divide each genre by its balanced mean share
        z = logp + bias
        q = np.exp(z - z.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        mean = (w[:, None] * q).sum(axis=0)
        bias -= np.log(mean * p.shape[1])
    bias -= bias.mean()
    return bias, _fit_temperature(logp + bias, y, w)


def _stack_fit(x: np.ndarray, y: np.ndarray, C: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed)
        clf.fit((x - mean) / scale, y)
    weight = np.zeros((len(GENRES), x.shape[1]))
    bias = np.full(len(GENRES), -30.0)
    weight[clf.classes_] = clf.coef_
    bias[clf.classes_] = clf.intercept_
    return mean, scale, weight, bias


def fit_rule(p: np.ndarray, tags: np.ndarray, y: np.ndarray, tag_names: list[str], seed: int = 0,
             provenance: dict | None = None) -> tuple[LabelRule, dict[str, Any]]:
    """All of the rule's parameters from out-of-fold head probabilities ``p``, clip tag probabilities, labels."""
    from sklearn.model_selection import StratifiedKFold

    bias, temperature = fit_correction(p, y)
    corrected = corrected_genres(p, _rule(tag_names, bias, temperature))
    x = np.concatenate([corrected if STACK_USES_HEAD else np.zeros_like(corrected), tags], axis=1)
    per_class = np.bincount(y)
    folds = min(3, int(per_class[per_class > 0].min()))
    scores = {}
    for C in STACK_GRID:
        pred, truth = [], []
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
            m, s, w, b = _stack_fit(x[tr], y[tr], C, seed)
            pred.append((((x[te] - m) / s) @ w.T + b).argmax(axis=1))
            truth.append(y[te])
        scores[C] = balanced_accuracy(np.concatenate(truth), np.concatenate(pred))
    best_c = max(scores, key=lambda c: (scores[c], -c))
    # the stack's temperature from inner out-of-fold logits
    logits = np.zeros((len(y), len(GENRES)))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        m, s, w, b = _stack_fit(x[tr], y[tr], best_c, seed)
        logits[te] = ((x[te] - m) / s) @ w.T + b
    stack_t = _fit_temperature(logits, y, _balanced_weights(y))
    m, s, w, b = _stack_fit(x, y, best_c, seed)
    index = {t: i for i, t in enumerate(tag_names)}
    extras = []
    weights = _balanced_weights(y)
    for name, names in EXTRAS:
        cols = [index[n] for n in names if n in index]
        if not cols:
            continue
        evidence = tags[:, cols].max(axis=1)
        order = np.argsort(evidence)
        cum = np.cumsum(weights[order])
        threshold = float(evidence[order][min(int(np.searchsorted(cum, EXTRA_QUANTILE)), len(order) - 1)])
        extras.append(Extra(name, tuple(tag_names[c] for c in cols), threshold))
    rule = LabelRule(tuple(g.lower() for g in GENRES), tuple(tag_names), bias, temperature, m, s, w / stack_t,
                     b / stack_t, tuple(extras), provenance=provenance)
    return rule, {"stack_C": best_c, "stack_inner_balanced_accuracy": {str(k): v for k, v in scores.items()},
                  "stack_temperature": stack_t, "head_temperature": temperature}


def _rule(tag_names: list[str], bias: np.ndarray, temperature: float) -> LabelRule:
    """A rule holding only the correction (for computing corrected probabilities while fitting)."""
    n = len(GENRES) + len(tag_names)
    return LabelRule(tuple(g.lower() for g in GENRES), tuple(tag_names), bias, temperature, np.zeros(n), np.ones(n),
                     np.zeros((len(GENRES), n)), np.zeros(len(GENRES)), ())


def calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top answer (genre-balanced weights)."""
    w = _balanced_weights(y)
    conf = p.max(axis=1)
    right = p.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    err = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ws = w[sel].sum()
            err += ws * abs(float((w[sel] * right[sel]).sum() / ws) - float((w[sel] * conf[sel]).sum() / ws))
    return float(err)


def train_label(data_dir: Path, out: Path, report: Path | None = None, cache_dir: Path | None = None,
                seed: int = 0, log: Log = print) -> dict[str, Any]:
    """Fit the rule on ``data_dir`` (GTZAN layout), write it to ``out`` and its CV numbers to ``report``."""
    from sklearn.model_selection import StratifiedKFold

    from musicsim.model.checkpoint import load_checkpoint

    t0 = time.monotonic()
    settings = EvalSettings(cache_dir=cache_dir, methods=("shipped",), seed=seed)
    data = load_dataset(Path(data_dir), settings, log)
    y = data.labels
    tags = np.stack([t.tag_probs.mean(axis=0) for t in data.trunk_outputs()])
    tag_names = load_checkpoint(base_model_path(settings.base_model)).tags
    folds = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=seed)
    splits = list(folds.split(np.zeros(len(y)), y))
    p = np.zeros((len(y), len(GENRES)))
    for train, test in splits:  # the evaluation's folds (cached by musicsim evaluate)
        names = ([data.clips[i].name for i in train], [data.clips[i].name for i in test])
        probs, _, _ = cached_fold(settings, "shipped", ["shipped-v1", file_sha256(base_model_path(None)),
                                                        list(C_GRID), seed, *names],
                                  partial(_shipped_fold, data, y, train, test, seed), log)
        p[test] = probs
    # outer CV of the whole rule over the out-of-fold inputs
    raw_pred = p.argmax(axis=1)
    corr = np.zeros_like(p)
    stack = np.zeros_like(p)
    labels = np.zeros(len(y), int)
    label_p = np.zeros(len(y))
    extra_hits = 0
    for train, test in splits:
        rule, _ = fit_rule(p[train], tags[train], y[train], tag_names, seed)
        corr[test] = corrected_genres(p[test], rule)
        stack[test] = stacked_genres(corr[test], tags[test], rule)
        _, dist, chosen = label_distribution(p[test], tags[test], GENRES, tag_names, rule)
        labels[test] = chosen
        label_p[test] = dist[np.arange(len(test)), chosen]
        extra_hits += int((chosen >= len(GENRES)).sum())
    is_genre = labels < len(GENRES)
    label_right = is_genre & (labels == y)
    w = _balanced_weights(y)
    sure = label_p >= 0.5
    cv = {
        "protocol": "stratified 5-fold CV over the 280 clips, seed 0 (the folds of docs/evaluation/report.md); "
                    "inputs are the evaluation's out-of-fold head probabilities; every step refitted per fold",
        "head_balanced_accuracy": balanced_accuracy(y, raw_pred), "head_accuracy": float(np.mean(raw_pred == y)),
        "genre_balanced_accuracy": balanced_accuracy(y, corr.argmax(axis=1)),
        "genre_accuracy": float(np.mean(corr.argmax(axis=1) == y)),
        "stack_balanced_accuracy": balanced_accuracy(y, stack.argmax(axis=1)),
        "stack_accuracy": float(np.mean(stack.argmax(axis=1) == y)),
        "label_balanced_accuracy": balanced_accuracy(y, np.where(is_genre, labels, -1)),
        "label_extra_genre_clips": extra_hits,
        "calibration_error": {"head": calibration_error(p, y), "genre": calibration_error(corr, y),
                              "stack": calibration_error(stack, y)},
        "uncertain_share": float(w[~sure].sum()),
        "accuracy_when_sure": float((w[sure] * label_right[sure]).sum() / max(w[sure].sum(), 1e-12)),
        "accuracy_when_uncertain": float((w[~sure] * label_right[~sure]).sum() / max(w[~sure].sum(), 1e-12))
        if (~sure).any() else None,
        "mean_head_probability": {g: float((w[:, None] * p).sum(axis=0)[i]) for i, g in enumerate(GENRES)},
        "mean_genre_probability": {g: float((w[:, None] * corr).sum(axis=0)[i]) for i, g in enumerate(GENRES)},
    }
    provenance = {"fitted_by": "musicsim train-label (musicsim/training/label_fit.py)", "data": str(data_dir),
                  "clips": len(y), "base_model_sha256": file_sha256(base_model_path(None)),
                  "extra_quantile": EXTRA_QUANTILE}
    rule, fit_info = fit_rule(p, tags, y, tag_names, seed, provenance)
    provenance.update(fit_info)
    atomic_write(out, json.dumps(rule.to_json(), indent=1) + "\n")
    result = {"cv": cv, "fit": fit_info, "extras": [{"name": e.name, "tags": list(e.tags), "threshold": e.threshold}
                                                   for e in rule.extras],
              "prior_bias": dict(zip(GENRES, rule.prior_bias.round(4).tolist())),
              "seconds": round(time.monotonic() - t0, 1)}
    if report is not None:
        atomic_write(report, json.dumps(result, indent=1) + "\n")
    log(f"wrote {out}")
    return result
