"""``musicsim evaluate``: clip-level cross-validation of the shipped model, the from-scratch model and
the MFCC baseline, neighbour precision of each embedding, and (on the full GTZAN) the paper's protocols.

Every number is clip-level unless named otherwise: a clip's prediction is the argmax of the mean of
its segments' probabilities. Hyper-parameters are chosen inside each training fold only.
"""

from __future__ import annotations

import io
import time
from functools import partial
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar
from pathlib import Path

import numpy as np

from musicsim.features import DONG_2018
from musicsim.fileio import atomic_write, sha256_file
from musicsim.genres import GENRES
from musicsim.model.inference import SegmentOutputs, pool_segments
from musicsim.model.network import NetworkConfig
from musicsim.training.baseline import SAMPLE_RATE as MFCC_RATE
from musicsim.training.baseline import mfcc_statistics
from musicsim.training.data import (
    Clip,
    FeatureCache,
    config_key,
    decode_clip,
    genre_counts,
    is_full_gtzan,
    list_clips,
    load_all,
    load_splits,
    split_indices,
)
from musicsim.training.head import (
    C_GRID,
    TrunkOutputs,
    balanced_accuracy,
    clip_probabilities,
    fit_head,
    trunk_outputs,
)
from musicsim.training.scratch import (
    SCRATCH_NETWORK,
    TrainSettings,
    predict,
    train_scratch,
)

T = TypeVar("T")
Log = Callable[[str], None]
METHODS = ("shipped", "scratch", "baseline")
BASE_MODEL_FILE = "musicnn-msd.safetensors"


@dataclass
class EvalSettings:
    folds: int = 5
    seed: int = 0
    base_model: Path | None = None  # the pretrained trunk (default resources/musicnn-msd.safetensors)
    cache_dir: Path | None = None
    methods: tuple[str, ...] = METHODS
    scratch: TrainSettings = field(default_factory=TrainSettings)
    scratch_network: NetworkConfig = SCRATCH_NETWORK
    scratch_val_fraction: float = 0.15  # of each training fold, for early stopping
    scratch_eval_segments: int | None = None  # segments per clip the scratch model is run on; None: all
    scratch_folds: int | None = None  # run the scratch model on the first N folds only (CPU budget); None: all
    protocols: str = "auto"  # "auto": only on the full GTZAN; "all"; "none"
    k: int = 10  # neighbours for genre precision@k

    def to_dict(self) -> dict:
        data = asdict(self)
        data["base_model"] = str(self.base_model) if self.base_model else None
        data["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        data["methods"] = list(self.methods)
        data["scratch_network"] = self.scratch_network.to_dict()
        return data


@dataclass
class Dataset:
    """Everything the methods need, one entry per usable clip (clips that failed are left out)."""

    clips: list[Clip]
    labels: np.ndarray
    mfcc: np.ndarray | None = None  # (n, 230)
    trunk: list[TrunkOutputs] | None = None
    dong: list[np.ndarray] | None = None  # per clip (segments, 256, 64)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def mfcc_stats(self) -> np.ndarray:
        return _required(self.mfcc, "MFCC statistics (the baseline method)")

    def trunk_outputs(self) -> list[TrunkOutputs]:
        return _required(self.trunk, "pretrained-trunk outputs (the shipped method)")

    def dong_patches(self) -> list[np.ndarray]:
        return _required(self.dong, "Dong-2018 patches (the from-scratch method)")


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise ValueError(f"the dataset was loaded without {what}")
    return value


def file_sha256(path: Path) -> str:
    return sha256_file(path)


def base_model_path(explicit: Path | None = None) -> Path:
    from musicsim.paths import resources_dir

    return Path(explicit) if explicit else resources_dir() / BASE_MODEL_FILE


def load_dataset(data_dir: Path, settings: EvalSettings, log: Log = print) -> Dataset:
    """List the clips and compute (or read from the cache) every method's inputs."""
    clips = list_clips(data_dir)
    cache = FeatureCache(settings.cache_dir)
    sources: dict[str, dict[int, np.ndarray]] = {}
    problems: list[tuple[str, str]] = []
    kept = set(range(len(clips)))

    def collect(name: str, load: Callable[[Clip], np.ndarray]) -> None:
        t0 = time.monotonic()
        arrays, ok, bad = load_all(clips, load, log)
        sources[name] = dict(zip(ok, arrays))
        problems.extend(bad)
        kept.intersection_update(ok)
        log(f"{name}: {len(ok)} clips in {time.monotonic() - t0:.0f} s")

    if "baseline" in settings.methods:
        collect("mfcc", lambda c: cache.get(c, "mfcc", config_key("mfcc-v1", MFCC_RATE),
                                            lambda: mfcc_statistics(decode_clip(c.path, MFCC_RATE))))
    widths = (0, 0)
    if "shipped" in settings.methods:
        from musicsim.model.checkpoint import load_checkpoint
        from musicsim.model.inference import LoadedModel

        path = base_model_path(settings.base_model)
        model = LoadedModel(load_checkpoint(path), device="cpu")
        widths = (model.checkpoint.network.midend_channels, model.embedding_size)
        key = config_key(file_sha256(path), model.features.to_dict())
        collect("trunk", lambda c: cache.get(c, "trunk", key,
                                             lambda: trunk_outputs(model, cache.patches(c, model.features)).stacked()))
    if "scratch" in settings.methods:
        collect("dong", lambda c: cache.patches(c, DONG_2018))
    order = sorted(kept)
    data = Dataset(clips=[clips[i] for i in order], labels=np.array([clips[i].label for i in order]),
                   problems=sorted(set(problems)))
    if "mfcc" in sources:
        data.mfcc = np.stack([sources["mfcc"][i] for i in order])
    if "trunk" in sources:
        data.trunk = [TrunkOutputs.unstack(sources["trunk"][i], *widths) for i in order]
    if "dong" in sources:
        data.dong = [sources["dong"][i] for i in order]
    return data


# -- the three methods: fit on training units, return test-unit probabilities ----------------------

def _shipped_fold(data: Dataset, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                  seed: int) -> tuple[np.ndarray, dict, None]:
    probs, record = shipped_probs([t.pooled_map for t in data.trunk_outputs()], y, train, test, seed)
    return probs, record, None


def shipped_probs(maps: Sequence[np.ndarray], y: np.ndarray, train: np.ndarray, test: np.ndarray,
                  seed: int) -> tuple[np.ndarray, dict]:
    """Genre head (logistic regression on the pooled mid-end map) fitted on ``train`` units."""
    x = np.concatenate([maps[i] for i in train])
    groups = np.concatenate([np.full(len(maps[i]), j) for j, i in enumerate(train)])
    head = fit_head(x, y[train][groups], groups, len(GENRES), seed=seed)
    test_x = np.concatenate([maps[i] for i in test])
    test_groups = np.concatenate([np.full(len(maps[i]), j) for j, i in enumerate(test)])
    return clip_probabilities(head.predict_proba(test_x), test_groups, len(test)), \
        {"C": head.C, "inner_balanced_accuracy": head.inner_scores}


def baseline_probs(stats: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                   seed: int) -> tuple[np.ndarray, dict]:
    head = fit_head(stats[train], y[train], np.arange(len(train)), len(GENRES), seed=seed)
    return head.predict_proba(stats[test]), {"C": head.C, "inner_balanced_accuracy": head.inner_scores}


def _eval_segments(x: np.ndarray, n: int | None) -> np.ndarray:
    """``n`` evenly spaced segments of a clip (all when None)."""
    if n is None or n >= len(x):
        return x
    return x[np.linspace(0, len(x) - 1, n).round().astype(int)]


def stratified_split(units: np.ndarray, y: np.ndarray, first_size: float | int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``units`` in two (``first_size``: fraction or count of the first part), stratified by
    ``y[units]`` when every class can be on both sides, else at random."""
    from sklearn.model_selection import train_test_split

    labels = y[units]
    n_first = int(round(first_size * len(units))) if isinstance(first_size, float) else int(first_size)
    counts = np.bincount(labels)
    k = int((counts > 0).sum())
    ok = counts[counts > 0].min() >= 2 and k <= n_first <= len(units) - k
    first, second = train_test_split(units, train_size=n_first, stratify=labels if ok else None, random_state=seed)
    return np.sort(first), np.sort(second)


def holdout_split(train: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of the training units (at least one per class when possible) for early stopping."""
    if fraction <= 0 or len(train) < 4:
        return train, train[:0]
    n_val = max(int(round(fraction * len(train))), len(np.unique(y[train])))
    if n_val >= len(train) // 2:
        n_val = max(1, int(round(fraction * len(train))))
    fit, val = stratified_split(train, y, len(train) - n_val, seed)
    return fit, val


def scratch_run(patches: Sequence[np.ndarray], y: np.ndarray, train: np.ndarray, val: np.ndarray | None,
                settings: EvalSettings, log: Log,
                embed: np.ndarray | None = None) -> tuple[np.ndarray, dict, np.ndarray | None]:
    """Train from scratch on ``train`` (early stopping on ``val``, or an inner split of ``train``).

    Returns probabilities of the ``embed`` units (default: none) — callers pass test ∪ others —
    the run's record, and the L2-normalised clip embeddings of ``embed``.
    """
    if val is None:
        train, val = holdout_split(train, y, settings.scratch_val_fraction, settings.seed)
    val_x = [_eval_segments(patches[i], settings.scratch_eval_segments) for i in val]
    result = train_scratch([patches[i] for i in train], y[train], val_x, y[val],
                           settings.scratch, network_cfg=settings.scratch_network, log=log)
    units = embed if embed is not None else np.array([], dtype=np.int64)
    probs, embs, ids = predict(result.network, [_eval_segments(patches[i], settings.scratch_eval_segments)
                                                for i in units])
    clip_p = clip_probabilities(probs, ids, len(units)) if len(units) else np.zeros((0, len(GENRES)))
    clip_e = clip_probabilities(embs, ids, len(units)) if len(units) else None
    if clip_e is not None:
        clip_e /= np.maximum(np.linalg.norm(clip_e, axis=1, keepdims=True), 1e-12)
    record = {"epochs": len(result.history), "best_epoch": result.best_epoch, "stopped": result.stopped,
              "train_clips": int(len(train)), "val_clips": int(len(val)), "history": result.history}
    return clip_p, record, clip_e


def cached_fold(settings: EvalSettings, name: str, key_parts: list,
                compute: Callable[[], tuple[np.ndarray, dict, np.ndarray | None]],
                log: Log) -> tuple[np.ndarray, dict, np.ndarray | None]:
    """A CV fold's outputs (probabilities, record, optional embeddings), kept in the cache: a repeated
    or interrupted evaluation with the same settings and folds reuses finished folds."""
    import json

    path = FeatureCache(settings.cache_dir).root / "folds" / f"{name}-{config_key(*key_parts)}.npz"
    if path.is_file():
        with np.load(path) as saved:
            log(f"  {name}: reusing {path}")
            emb = saved["embeddings"] if "embeddings" in saved.files else None
            return saved["probs"], json.loads(str(saved["record"])), emb
    probs, record, emb = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"probs": probs, "record": np.array(json.dumps(record))}
    if emb is not None:
        arrays["embeddings"] = emb
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())
    return probs, record, emb


# -- metrics ----------------------------------------------------------------------------------------

def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, balanced accuracy (mean recall over genres present), per-genre recall, confusion."""
    from sklearn.metrics import confusion_matrix

    n = len(GENRES)
    confusion = confusion_matrix(y_true, y_pred, labels=np.arange(n))
    per_genre = {GENRES[g]: float(confusion[g, g] / confusion[g].sum()) for g in range(n) if confusion[g].sum()}
    return {"n": int(len(y_true)), "accuracy": float(np.mean(y_true == y_pred)),
            "balanced_accuracy": balanced_accuracy(y_true, y_pred), "per_genre": per_genre,
            "confusion": confusion.tolist()}


def precision_at_k(emb: np.ndarray, labels: np.ndarray, k: int = 10, queries: np.ndarray | None = None) -> np.ndarray:
    """Per query: the fraction of its ``k`` nearest cosine neighbours (query excluded) sharing its genre."""
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    queries = np.arange(len(e)) if queries is None else queries
    sims = e[queries] @ e.T
    sims[np.arange(len(queries)), queries] = -np.inf
    k = min(k, len(e) - 1)
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return (labels[top] == labels[queries][:, None]).mean(axis=1)


def summarise_precision(per_query: np.ndarray, labels: np.ndarray) -> dict:
    per_genre = {GENRES[g]: float(per_query[labels == g].mean()) for g in np.unique(labels)}
    return {"mean": float(per_query.mean()), "balanced": float(np.mean(list(per_genre.values()))),
            "per_genre": per_genre}


def chance_precision(labels: np.ndarray) -> float:
    """Expected precision@k of random neighbours: sum over clips of (same-genre others / others), averaged."""
    counts = np.bincount(labels)
    return float(np.mean((counts[labels] - 1) / (len(labels) - 1)))


def clip_embedding(outputs: TrunkOutputs) -> np.ndarray:
    """The product's track embedding: the L2-normalised mean of segment embeddings."""
    n = len(outputs.embedding)
    return pool_segments(SegmentOutputs(outputs.embedding, np.zeros((n, 0), np.float32),
                                        outputs.tag_probs)).embedding


def standardised(x: np.ndarray) -> np.ndarray:
    """Z-scored columns (no labels used), so cosine similarity is not dominated by large statistics."""
    return (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-12)


# -- the runs ----------------------------------------------------------------------------------------

def cross_validate(data: Dataset, settings: EvalSettings, log: Log = print) -> tuple[dict, dict]:
    """Stratified k-fold clip-level CV of each method. Returns (results, embeddings for the plots)."""
    from sklearn.model_selection import StratifiedKFold

    y = data.labels
    folds = min(settings.folds, int(np.bincount(y)[np.bincount(y) > 0].min()))
    if folds < 2:
        raise ValueError("cross-validation needs at least two clips of every genre present")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.seed)
    oof = {m: np.zeros((len(y), len(GENRES))) for m in settings.methods}
    fold_scores: dict[str, list[dict]] = {m: [] for m in settings.methods}
    records: dict[str, list[dict]] = {m: [] for m in settings.methods}
    scratch_p10 = np.zeros(len(y))
    embeddings: dict[str, np.ndarray] = {}
    seconds = {m: 0.0 for m in settings.methods}
    evaluated = {m: np.zeros(len(y), dtype=bool) for m in settings.methods}
    for f, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        log(f"fold {f}/{folds}: {len(train)} training clips, {len(test)} test clips")
        for method in settings.methods:
            if method == "scratch" and settings.scratch_folds is not None and f > settings.scratch_folds:
                continue
            t0 = time.monotonic()
            names = ([data.clips[i].name for i in train], [data.clips[i].name for i in test])
            if method == "shipped":
                probs, rec, _ = cached_fold(
                    settings, "shipped", ["shipped-v1", file_sha256(base_model_path(settings.base_model)),
                                          list(C_GRID), settings.seed, *names],
                    partial(_shipped_fold, data, y, train, test, settings.seed), log)
            elif method == "baseline":
                probs, rec = baseline_probs(data.mfcc_stats(), y, train, test, settings.seed)
            else:
                everything = np.concatenate([test, train])
                all_p, rec, emb = cached_fold(
                    settings, "scratch", ["scratch-v1", settings.scratch.to_dict(), settings.scratch_network.to_dict(),
                                          settings.scratch_eval_segments, settings.scratch_val_fraction,
                                          settings.seed, *names],
                    partial(scratch_run, data.dong_patches(), y, train, None, settings, log, embed=everything), log)
                probs = all_p[: len(test)]
                order = np.argsort(everything)
                assert emb is not None  # scratch_run returns embeddings when asked for them
                emb = emb[order]  # back to clip order
                scratch_p10[test] = precision_at_k(emb, y, settings.k, queries=test)
                if f == 1:
                    embeddings["scratch"] = emb
                rec = {k: v for k, v in rec.items() if k != "history"} | {"history": rec["history"]}
            seconds[method] += time.monotonic() - t0
            oof[method][test] = probs
            evaluated[method][test] = True
            pred = probs.argmax(axis=1)
            fold_scores[method].append({"accuracy": float(np.mean(pred == y[test])),
                                        "balanced_accuracy": balanced_accuracy(y[test], pred)})
            records[method].append(rec)
            log(f"  {method}: accuracy {fold_scores[method][-1]['accuracy']:.3f}, "
                f"balanced {fold_scores[method][-1]['balanced_accuracy']:.3f} ({time.monotonic() - t0:.0f} s)")
    results: dict = {"folds": folds, "methods": {}}
    for method in settings.methods:
        done = evaluated[method]
        m = classification_metrics(y[done], oof[method][done].argmax(axis=1))
        acc = [s["accuracy"] for s in fold_scores[method]]
        bal = [s["balanced_accuracy"] for s in fold_scores[method]]
        m |= {"fold_accuracy": acc, "fold_balanced_accuracy": bal,
              "fold_accuracy_sd": float(np.std(acc)), "fold_balanced_accuracy_sd": float(np.std(bal)),
              "seconds": round(seconds[method], 1), "folds_run": len(records[method]), "folds": records[method]}
        results["methods"][method] = m
    # Neighbour precision of each embedding.
    p10: dict[str, dict] = {}
    if data.trunk is not None:
        embeddings["shipped"] = np.stack([clip_embedding(t) for t in data.trunk])
        p10["shipped"] = summarise_precision(precision_at_k(embeddings["shipped"], y, settings.k), y)
    if data.mfcc is not None:
        embeddings["baseline"] = standardised(data.mfcc)
        p10["baseline"] = summarise_precision(precision_at_k(embeddings["baseline"], y, settings.k), y)
    if "scratch" in settings.methods:
        done = evaluated["scratch"]
        p10["scratch"] = summarise_precision(scratch_p10[done], y[done]) | {"queries": int(done.sum())}
    results["precision_at_k"] = {"k": settings.k, "chance": chance_precision(y), "embeddings": p10}
    return results, embeddings


def _split_protocols(data: Dataset, data_dir: Path, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Clip protocols: the fault-filtered lists (when present) and Dong's stratified 50/20/30 split."""
    out = {}
    splits = load_splits(data_dir)
    if splits:
        train, val, test = (split_indices(data.clips, splits[name]) for name in ("train", "valid", "test"))
        if len(train) and len(val) and len(test):
            out["fault-filtered"] = (train, val, test)
    train, rest = stratified_split(np.arange(len(data.labels)), data.labels, 0.5, seed)
    val, test = stratified_split(rest, data.labels, 0.4, seed)
    out["dong-50-20-30"] = (train, val, test)
    return out


def run_protocols(data: Dataset, data_dir: Path, settings: EvalSettings, log: Log = print) -> dict:
    """Fixed train/validation/test protocols; the segment protocol splits segments, not clips (it leaks)."""
    y = data.labels
    results: dict = {}
    for name, (train, val, test) in _split_protocols(data, data_dir, settings.seed).items():
        log(f"protocol {name}: {len(train)}/{len(val)}/{len(test)} clips")
        row: dict[str, Any] = {"train": int(len(train)), "valid": int(len(val)), "test": int(len(test)),
                               "methods": {}}
        fit = np.concatenate([train, val])  # the linear methods choose C by inner CV on train+valid
        for method in settings.methods:
            if method == "shipped":
                probs, _ = shipped_probs([t.pooled_map for t in data.trunk_outputs()], y, fit, test, settings.seed)
            elif method == "baseline":
                probs, _ = baseline_probs(data.mfcc_stats(), y, fit, test, settings.seed)
            else:
                probs, _, _ = scratch_run(data.dong_patches(), y, train, val, settings, log, embed=test)
            row["methods"][method] = classification_metrics(y[test], probs.argmax(axis=1))
        results[name] = row
    if data.dong is None and data.trunk is None:
        return results
    # The paper's segment protocol: every segment a unit, split at random 80/10/10.
    def n_segments(c: int) -> int:
        counts = [len(x[c]) for x in (data.dong,) if x is not None]
        counts += [len(data.trunk[c].pooled_map)] if data.trunk is not None else []
        return min(counts)

    units = [(c, s) for c in range(len(y)) for s in range(n_segments(c))]
    unit_y = np.array([y[c] for c, _ in units])
    train, rest = stratified_split(np.arange(len(units)), unit_y, 0.8, settings.seed)
    val, test = stratified_split(rest, unit_y, 0.5, settings.seed)
    row = {"train": int(len(train)), "valid": int(len(val)), "test": int(len(test)), "unit": "segment",
           "methods": {}}
    log(f"protocol segments: {len(train)}/{len(val)}/{len(test)} segments")
    for method in settings.methods:
        if method == "shipped":
            maps = [data.trunk_outputs()[c].pooled_map[s : s + 1] for c, s in units]
            probs, _ = shipped_probs(maps, unit_y, np.concatenate([train, val]), test, settings.seed)
        elif method == "scratch":
            segs = [data.dong_patches()[c][s : s + 1] for c, s in units]
            probs, _, _ = scratch_run(segs, unit_y, train, val, settings, log, embed=test)
        else:
            continue  # the baseline's statistics describe whole clips
        row["methods"][method] = classification_metrics(unit_y[test], probs.argmax(axis=1))
    results["segments (paper)"] = row
    return results


def evaluate(data_dir: str | Path, out_dir: str | Path, settings: EvalSettings = EvalSettings(),
             log: Log = print) -> dict:
    """Run everything and write the report (``report.md``, ``report.json``, PNGs) into ``out_dir``."""
    from musicsim.training.report import write_report

    t_start = time.monotonic()
    data_dir = Path(data_dir)
    unknown = set(settings.methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {', '.join(METHODS)}")
    data = load_dataset(data_dir, settings, log)
    t_features = time.monotonic() - t_start
    full = is_full_gtzan(data.clips)
    cv, embeddings = cross_validate(data, settings, log)
    result: dict = {
        "dataset": {"data_dir": str(data_dir), "clips": len(data.clips), "full_gtzan": full,
                    "genre_counts": genre_counts(data.clips),
                    "problems": [{"clip": c, "reason": r} for c, r in data.problems]},
        "settings": settings.to_dict(),
        "cross_validation": cv,
    }
    if settings.protocols == "all" or (settings.protocols == "auto" and full):
        result["protocols"] = run_protocols(data, data_dir, settings, log)
    else:
        result["protocols"] = {"skipped": "not the full GTZAN (the protocols need all 1000 clips)"
                               if settings.protocols == "auto" else "disabled"}
    result["timing"] = {"features_seconds": round(t_features, 1),
                        "total_seconds": round(time.monotonic() - t_start, 1)}
    write_report(result, embeddings, data.labels, Path(out_dir))
    return result
