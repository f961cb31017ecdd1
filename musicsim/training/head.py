"""The genre head on the frozen pretrained trunk.

The paper's head is a 1x1 convolution over the mid-end map followed by average pooling over time.
Both are linear, so it equals a linear classifier on the time-averaged map: we fit a class-balanced
multinomial logistic regression on each segment's averaged map (the regularisation strength chosen
by cross-validation inside the training clips only), then write its weights into the convolution.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from musicsim.model.checkpoint import Checkpoint
from musicsim.model.inference import LoadedModel

C_GRID = (0.01, 0.1, 1.0)


@dataclass
class TrunkOutputs:
    """Per-segment outputs of the pretrained network for one clip."""

    pooled_map: np.ndarray  # (n, midend_channels): the genre head's input, averaged over time
    embedding: np.ndarray  # (n, embedding_size): the product's embedding (musicnn's penultimate)
    tag_probs: np.ndarray  # (n, n_tags)

    def stacked(self) -> np.ndarray:
        return np.concatenate([self.pooled_map, self.embedding, self.tag_probs], axis=1)

    @classmethod
    def unstack(cls, array: np.ndarray, midend: int, embedding: int) -> TrunkOutputs:
        return cls(array[:, :midend], array[:, midend : midend + embedding], array[:, midend + embedding :])


def trunk_outputs(model: LoadedModel, patches: np.ndarray) -> TrunkOutputs:
    """Run the network once over ``patches``, capturing the genre head's input on the way."""
    captured: list[np.ndarray] = []
    hook = model.network.genre_head.register_forward_pre_hook(
        lambda _m, inputs: captured.append(inputs[0].float().mean(dim=2).cpu().numpy()))
    try:
        out = model.predict(patches)
    finally:
        hook.remove()
    return TrunkOutputs(np.concatenate(captured).astype(np.float32), out.embeddings, out.tag_probs)


def clip_probabilities(segment_probs: np.ndarray, groups: np.ndarray, n_clips: int | None = None) -> np.ndarray:
    """Mean of each clip's segment probabilities (rows ordered by clip index ``0..n_clips-1``)."""
    n = int(groups.max()) + 1 if n_clips is None else n_clips
    sums = np.zeros((n, segment_probs.shape[1]))
    np.add.at(sums, groups, segment_probs)
    counts = np.bincount(groups, minlength=n)[:, None]
    return sums / np.maximum(counts, 1)


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (scikit-learn's balanced accuracy)."""
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():  # predicted classes absent from y_true are expected in small folds
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred))


@dataclass
class LinearHead:
    """A fitted head: ``logits = weight @ pooled_map + bias`` (scaling folded in)."""

    weight: np.ndarray  # (n_classes, features)
    bias: np.ndarray  # (n_classes,)
    C: float
    inner_scores: dict[float, float] = field(default_factory=dict)  # C -> inner-CV clip balanced accuracy

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        logits = x.astype(np.float64) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


def _fit_logistic(x: np.ndarray, y: np.ndarray, C: float, n_classes: int, seed: int) -> LinearHead:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=seed)
    clf.fit(scaler.transform(x), y)
    weight = np.zeros((n_classes, x.shape[1]))
    bias = np.full(n_classes, -1e4)  # classes absent from training are never predicted
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # sklearn keeps one vector for two classes: softmax([0, z]) = sigmoid(z)
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    w = coef / scaler.scale_
    weight[clf.classes_] = w
    bias[clf.classes_] = intercept - w @ scaler.mean_
    return LinearHead(weight, bias, C)


def fit_head(x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int,
             grid: Sequence[float] = C_GRID, inner_folds: int = 3, seed: int = 0) -> LinearHead:
    """Fit on segments ``x`` (labels ``y``, clip ids ``groups``); C chosen by grouped inner CV.

    Inner folds never split a clip's segments; their score is clip-level balanced accuracy.
    With fewer than two clips in some class, the middle of ``grid`` is used unselected.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    _, first = np.unique(groups, return_index=True)
    per_class = np.bincount(y[first])
    folds = min(inner_folds, int(per_class[per_class > 0].min()))
    scores: dict[float, float] = {}
    if folds >= 2 and len(grid) > 1:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for C in grid:
            preds, truth = [], []
            for tr, te in splitter.split(x, y, groups):
                head = _fit_logistic(x[tr], y[tr], C, n_classes, seed)
                _, local = np.unique(groups[te], return_inverse=True)
                probs = clip_probabilities(head.predict_proba(x[te]), local)
                preds.append(probs.argmax(axis=1))
                truth.append(clip_probabilities(np.eye(n_classes)[y[te]], local).argmax(axis=1))
            scores[float(C)] = balanced_accuracy(np.concatenate(truth), np.concatenate(preds))
        best = max(scores, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    else:
        best = float(grid[len(grid) // 2])
    head = _fit_logistic(x, y, best, n_classes, seed)
    head.inner_scores = scores
    return head


def with_head(base: Checkpoint, head: LinearHead, genres: Sequence[str], version: str,
              card: dict | None = None) -> Checkpoint:
    """A copy of ``base`` whose genre convolution carries ``head``."""
    state = dict(base.state_dict)
    state["genre_head.weight"] = torch.from_numpy(head.weight.astype(np.float32)).unsqueeze(-1)
    state["genre_head.bias"] = torch.from_numpy(head.bias.astype(np.float32))
    return Checkpoint(version=version, features=base.features, network=base.network, genres=list(genres),
                      state_dict=state, tags=list(base.tags), card=dict(card or base.card))
