"""How good are musicsim's neighbours: genre, album and artist precision of candidate similarity measures.

Reads the per-segment cache of ``benchmarks/similarity_data.py`` (run that first) and scores every
candidate on the same files:

* **GTZAN** (the 280-clip subset, every clip a query): balanced genre precision@5/@10 (per-query
  precision averaged within each genre, then over the ten genres) and plain means, neighbours among
  all other clips; and **artist-filtered**: only the 260 clips on the fault-filtered lists, neighbours
  only from the *other* lists (the lists are artist-disjoint), so no neighbour shares the query's artist.
* **corpus** (456 full-length songs): same-album precision@10 (every song a query; balanced = averaged
  within albums first) and same-artist precision@10 (queries with a known artist that has another song;
  only songs with a known artist in the pool). Another version of the same music (``version_of``) is
  never in a query's pool.
* **duplicates**: 40 GTZAN clips x 7 encodings: the smallest cosine between copies of one recording,
  the largest between different recordings, and the margin between them (must stay > 0), plus the
  largest cosine between different corpus songs.

Learned candidates (the per-library projection from genre tags) are measured in cross-validation with
folds by artist (GTZAN: the three artist-disjoint lists; queries and pool both from the held-out fold),
never on the clips they were fitted on.

    nice .venv/bin/python -m benchmarks.eval_similarity [--only NAME ...] [--json docs/evaluation/similarity.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import similarity_data as sd

KS = (5, 10)
RERANK_POOL = 100


# -- representations -----------------------------------------------------------------------------

def normalise(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def seg_mask(nseg: np.ndarray, m: int = sd.MAX_SEGMENTS) -> np.ndarray:
    return np.arange(m)[None, :] < nseg[:, None]


def pool_mean(emb: np.ndarray, nseg: np.ndarray) -> np.ndarray:
    w = seg_mask(nseg)[..., None]
    return (emb * w).sum(1) / nseg[:, None]


def pool_std(emb: np.ndarray, nseg: np.ndarray) -> np.ndarray:
    w = seg_mask(nseg)[..., None]
    mu = pool_mean(emb, nseg)
    return np.sqrt((((emb - mu[:, None]) ** 2) * w).sum(1) / nseg[:, None])


def pool_weighted(emb: np.ndarray, nseg: np.ndarray, how: str, temp: float = 10.0) -> np.ndarray:
    """Salient-segment pooling: weights from each segment's agreement with the track or its norm."""
    mask = seg_mask(nseg)
    if how == "consensus":  # segments like the rest of the track count more (intros, breaks less)
        s = np.einsum("nsd,nd->ns", normalise(emb), normalise(pool_mean(emb, nseg)))
        w = np.exp(temp * s)
    elif how == "atypical":  # segments far from the track mean count more
        s = np.einsum("nsd,nd->ns", normalise(emb), normalise(pool_mean(emb, nseg)))
        w = np.exp(-temp * s)
    elif how == "norm":
        w = np.linalg.norm(emb, axis=-1)
    else:
        raise ValueError(how)
    w = np.where(mask, w, 0.0)
    return (emb * w[..., None]).sum(1) / w.sum(1, keepdims=True)


@dataclass
class Data:
    """One collection's cached outputs for every model."""

    items: list[dict[str, Any]]
    emb: dict[str, np.ndarray]
    tags: dict[str, np.ndarray]
    nseg: np.ndarray
    other: Data | None = None  # the other collection (GTZAN <-> corpus): a reference not measured here


def load_data(collection: str) -> Data:
    emb, tags = {}, {}
    items: list[dict[str, Any]] = []
    nseg = np.zeros(0, np.int64)
    for m in sd.MODELS:
        try:
            items, e, t, nseg = sd.load(collection, m)
        except FileNotFoundError:
            continue
        emb[m], tags[m] = e.astype(np.float64), t.astype(np.float64)
    return Data(items, emb, tags, nseg)


# A candidate turns a collection into track vectors (cosine neighbours) and optionally a re-ranking score.
Vectors = Callable[[Data], np.ndarray]


def mean_of(model: str = "msd") -> Vectors:
    return lambda d: normalise(pool_mean(d.emb[model], d.nseg))


def centred(inner: Vectors) -> Vectors:
    """Subtract the collection's own mean track vector (the library mean), then normalise."""
    def f(d: Data) -> np.ndarray:
        x = inner(d)
        return normalise(x - x.mean(0))
    return f


def raw_centred(model: str = "msd", ref: str = "own") -> Vectors:
    """The centre subtracted from the *unnormalised* mean of segment embeddings (what a centre folded into
    the network's last bias gives): normalise(mean(e) - c), c the mean of the reference's track means
    (``own`` collection, ``other`` collection, or ``both``)."""
    def f(d: Data) -> np.ndarray:
        means = {"own": [d], "other": [d.other], "both": [d, d.other]}[ref]
        c = np.mean([pool_mean(x.emb[model], x.nseg).mean(0) for x in means if x is not None], 0)
        return normalise(pool_mean(d.emb[model], d.nseg) - c)
    return f


def pca_of_other(model: str, k: int) -> Vectors:
    """Mean embedding projected on the top ``k`` principal axes of the *other* collection's (unsupervised,
    not fitted on the measured files)."""
    def f(d: Data) -> np.ndarray:
        assert d.other is not None
        ref = pool_mean(d.other.emb[model], d.other.nseg)
        mu = ref.mean(0)
        _, _, vt = np.linalg.svd(ref - mu, full_matrices=False)
        return normalise((pool_mean(d.emb[model], d.nseg) - mu) @ vt[:k].T)
    return f


def centred_by_other(inner: Vectors) -> Vectors:
    """Subtract a fixed reference: the mean track vector of the *other* collection (GTZAN's for the
    corpus, the corpus's for GTZAN), as a centre shipped in the model file would be."""
    def f(d: Data) -> np.ndarray:
        assert d.other is not None
        return normalise(inner(d) - inner(d.other).mean(0))
    return f


def centred_by_both(inner: Vectors) -> Vectors:
    """Subtract the mean of both collections' mean track vectors (what the shipped centre is)."""
    def f(d: Data) -> np.ndarray:
        assert d.other is not None
        return normalise(inner(d) - 0.5 * (inner(d).mean(0) + inner(d.other).mean(0)))
    return f


def whitened(inner: Vectors, dims: int | None = None, eps: float = 1e-2, shrink: float = 0.5) -> Vectors:
    """PCA whitening over the collection (unsupervised), eigenvalues shrunk towards the mean."""
    def f(d: Data) -> np.ndarray:
        x = inner(d)
        x = x - x.mean(0)
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        var = s**2 / len(x)
        var = shrink * var + (1 - shrink) * var.mean()
        k = dims or len(s)
        return normalise((x @ vt[:k].T) / np.sqrt(var[:k] + eps * var.mean()))
    return f


def mean_std(model: str = "msd", alpha: float = 1.0) -> Vectors:
    def f(d: Data) -> np.ndarray:
        mu = normalise(pool_mean(d.emb[model], d.nseg))
        sd_ = normalise(pool_std(d.emb[model], d.nseg))
        return normalise(np.concatenate([mu, alpha * sd_], 1))
    return f


def weighted(how: str, temp: float = 10.0, model: str = "msd") -> Vectors:
    return lambda d: normalise(pool_weighted(d.emb[model], d.nseg, how, temp))


def fused(parts: list[tuple[Vectors, float]]) -> Vectors:
    return lambda d: normalise(np.concatenate([w * p(d) for p, w in parts], 1))


def tag_space(model: str = "msd") -> Vectors:
    return lambda d: normalise(pool_mean(d.tags[model], d.nseg))


# -- re-ranking with a segment-level distance ----------------------------------------------------

def seg_match_scores(d: Data, exclude: np.ndarray, model: str = "msd", centre: bool = True) -> np.ndarray:
    """(n, n) how well each track's segments match the other's: mean over segments of the best cosine
    to the other track's segments, symmetrised (a chamfer similarity over the 8 windows)."""
    e = d.emb[model]
    if centre:
        e = e - pool_mean(e, d.nseg).mean(0)
    e = normalise(e)
    mask = seg_mask(d.nseg)
    n, m, _ = e.shape
    flat = e.reshape(n * m, -1)
    s = (flat @ flat.T).reshape(n, m, n, m)
    s = np.where(mask[None, None, :, :], s, -np.inf)
    best = s.max(3)  # (n, m, n): segment of i vs best segment of j
    best = np.where(mask[:, :, None], best, 0.0).sum(1) / d.nseg[:, None]  # (n, n)
    return 0.5 * (best + best.T)


def gauss_scores(d: Data, exclude: np.ndarray, model: str = "msd") -> np.ndarray:
    """(n, n) negative symmetric KL divergence between diagonal Gaussians of the tracks' segments
    (Musly's idea on the embedding instead of MFCCs)."""
    e = d.emb[model]
    mu = pool_mean(e, d.nseg)
    var = pool_std(e, d.nseg) ** 2 + 1e-2 * pool_std(e, d.nseg).mean() ** 2 + 1e-6
    iv = 1.0 / var
    # skl(i,j) = 0.5 * sum( var_i/var_j + var_j/var_i - 2 + (mu_i-mu_j)^2 (1/var_i + 1/var_j) )
    a = var @ iv.T + iv @ var.T - 2 * mu.shape[1]
    mu2 = mu**2
    a_ = (mu2 * iv).sum(1)
    b = mu2 @ iv.T  # b[i, j] = sum mu_i^2 / var_j
    c = (mu * iv) @ mu.T  # c[i, j] = sum mu_i mu_j / var_i
    q = a_[:, None] + a_[None, :] + b + b.T - 2 * c - 2 * c.T  # sum (mu_i - mu_j)^2 (1/var_i + 1/var_j)
    return -0.5 * (a + q)


def query_expansion(m: int = 3, alpha: float = 3.0, inner: Vectors | None = None
                    ) -> Callable[[Data, np.ndarray], np.ndarray]:
    """Re-rank score from alpha-weighted average query expansion: the query plus its top ``m``
    neighbours (weights cos**alpha) among the allowed pool, normalised, searched again (one more ANN
    query)."""
    def f(d: Data, exclude: np.ndarray) -> np.ndarray:
        x = (inner or centred(mean_of("msd")))(d)
        s = np.where(exclude, -np.inf, x @ x.T)
        top = np.argsort(-s, 1)[:, :m]
        w = np.clip(np.take_along_axis(s, top, 1), 0, None) ** alpha
        q = normalise(x + (w[..., None] * x[top]).sum(1))
        return q @ x.T
    return f


def mutual_proximity() -> Callable[[Data, np.ndarray], np.ndarray]:
    """Mutual proximity (Schnitzer et al. 2012; what Musly applies to its distances), Gaussian form:
    MP(q, x) = Phi((s - mu_q) / sd_q) * Phi((s - mu_x) / sd_x), where mu/sd are each track's mean and
    spread of cosine to the library (two numbers stored per track)."""
    from scipy.stats import norm

    def f(d: Data, exclude: np.ndarray) -> np.ndarray:
        x = centred(mean_of("msd"))(d)
        s = x @ x.T
        m = s.copy()
        np.fill_diagonal(m, np.nan)
        mu, sd_ = np.nanmean(m, 1), np.nanstd(m, 1)
        return norm.logcdf((s - mu[:, None]) / sd_[:, None]) + norm.logcdf((s - mu[None, :]) / sd_[None, :])
    return f


def csls(k: int = 10) -> Callable[[Data, np.ndarray], np.ndarray]:
    """Hubness reduction by local scaling (CSLS): 2 cos(q, x) - r_q - r_x, r = mean cosine to the k nearest."""
    def f(d: Data, exclude: np.ndarray) -> np.ndarray:
        x = centred(mean_of("msd"))(d)
        s = x @ x.T
        m = s.copy()
        np.fill_diagonal(m, -np.inf)
        r = -np.sort(-m, 1)[:, :k].mean(1)
        return 2 * s - r[:, None] - r[None, :]
    return f


def rank_standardise(s: np.ndarray) -> np.ndarray:
    """Each row's scores as z-scores (so two scores can be mixed)."""
    m = s.copy()
    np.fill_diagonal(m, np.nan)
    return (s - np.nanmean(m, 1, keepdims=True)) / (np.nanstd(m, 1, keepdims=True) + 1e-12)


# -- metrics -------------------------------------------------------------------------------------

Rerank = Callable[[Data, np.ndarray], np.ndarray]  # (collection, excluded pairs) -> (n, n) scores


def ranking(sim: np.ndarray, exclude: np.ndarray, rerank: np.ndarray | None = None, weight: float = 0.0,
            pool: int = RERANK_POOL) -> np.ndarray:
    """Neighbour order per query (excluded pairs last). With ``rerank``, the top ``pool`` cosine
    neighbours are re-ordered by ``(1-weight)*z(cos) + weight*z(rerank)``."""
    s = np.where(exclude, -np.inf, sim)
    order = np.argsort(-s, axis=1, kind="stable")
    if rerank is None or weight == 0:
        return order
    zc, zr = rank_standardise(sim), rank_standardise(rerank)
    mixed = (1 - weight) * zc + weight * zr
    out = order.copy()
    for i in range(len(s)):
        top = order[i, :pool]
        top = top[np.isfinite(s[i, top])]
        out[i, : len(top)] = top[np.argsort(-mixed[i, top], kind="stable")]
    return out


def precision(order: np.ndarray, relevant: np.ndarray, exclude: np.ndarray, queries: np.ndarray,
              k: int) -> np.ndarray:
    """Precision@k per query (only queries in ``queries``)."""
    out = []
    for i in np.flatnonzero(queries):
        top = order[i, :k]
        top = top[~exclude[i, top]]
        out.append(relevant[i, top].sum() / k)
    return np.array(out)


def balanced(values: np.ndarray, groups: list[str]) -> float:
    by: dict[str, list[float]] = defaultdict(list)
    for v, g in zip(values, groups):
        by[g].append(float(v))
    return float(np.mean([np.mean(v) for v in by.values()]))


def gtzan_metrics(sim: np.ndarray, d: Data, rerank: Rerank | None = None, weight: float = 0.0,
                  blocks: np.ndarray | None = None) -> dict[str, float]:
    """``blocks``: cross-validation's held-out folds (a fold name per clip, '' for none): each clip's
    neighbours come only from its own fold, and clips without a fold are not queries."""
    n = len(d.items)
    genre = np.array([it["genre"] for it in d.items])
    split = np.array([it["split"] for it in d.items])
    same_genre = genre[:, None] == genre[None, :]
    eye = np.eye(n, dtype=bool)
    out: dict[str, float] = {}
    if blocks is None:
        protocols = {"all": (eye, np.ones(n, bool))}
        listed = split != ""
        protocols["artist_filtered"] = ((split[:, None] == split[None, :]) | ~listed[None, :] | eye, listed)
    else:
        protocols = {"cv": ((blocks[:, None] != blocks[None, :]) | eye, blocks != "")}
    for name, (excl, queries) in protocols.items():
        order = ranking(sim, excl, rerank(d, excl) if rerank else None, weight)
        for k in KS:
            p = precision(order, same_genre, excl, queries, k)
            g = list(genre[queries])
            out[f"gtzan_{name}_P@{k}_balanced"] = balanced(p, g)
            out[f"gtzan_{name}_P@{k}_mean"] = float(p.mean())
    return out


def projection_cv(d: Data, betas: tuple[float, ...] = (0.25, 0.5, 1.0), how: str = "lda",
                  folds: str = "artist") -> list[dict[str, Any]]:
    """A per-library projection learned from genre tags, measured in cross-validation.

    The library's tracks carry genre tags (here GTZAN's labels); a linear discriminant projection
    (shrinkage LDA) or a logistic regression's class probabilities are fitted on the tags of the
    training folds and appended, weighted by ``beta``, to the centred mean embedding. Folds: the three
    artist-disjoint fault-filtered lists (``artist``), or 5 stratified folds over clips (``clips``:
    artists may fall on both sides). Queries and neighbours both come from the held-out fold.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = centred(mean_of("msd"))(d)
    genre = np.array([it["genre"] for it in d.items])
    if folds == "artist":
        blocks = np.array([it["split"] for it in d.items])
    else:
        blocks = np.array([""] * len(genre), dtype=object)
        for f, (_, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(x, genre)):
            blocks[test] = f"f{f}"
        blocks = blocks.astype(str)
    extra = np.zeros((len(x), len(set(genre))))
    for f in sorted(set(blocks) - {""}):
        test = blocks == f
        train = (blocks != f) & (blocks != "")
        if how == "lda":
            model = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(x[train], genre[train])
            z = model.transform(x[test])
        else:
            model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(x[train], genre[train])
            z = np.sqrt(model.predict_proba(x[test]))
        extra[np.ix_(test, np.arange(z.shape[1]))] = normalise(z)
    rows = [{"name": f"projection CV ({folds} folds): centred mean only (baseline)"}
            | gtzan_metrics(x @ x.T, d, blocks=blocks)]
    for beta in betas:
        v = normalise(np.concatenate([x, beta * extra], 1))
        rows.append({"name": f"projection CV ({folds} folds): + {beta} x {how}"}
                    | gtzan_metrics(v @ v.T, d, blocks=blocks))
    return rows


def corpus_copies(items: list[dict[str, Any]]) -> np.ndarray:
    """(n, n) pairs that hold versions of one piece of music (corpus.json ``version_of``)."""
    n = len(items)
    key = {(it["source"], Path(it["name"]).name): i for i, it in enumerate(items)}
    ex = np.eye(n, dtype=bool)
    for i, it in enumerate(items):
        if it["version_of"]:
            j = key.get((it["source"], it["version_of"]))
            if j is not None:
                ex[i, j] = ex[j, i] = True
    return ex


def corpus_metrics(sim: np.ndarray, d: Data, rerank: Rerank | None = None, weight: float = 0.0
                   ) -> dict[str, float]:
    items = d.items
    album = np.array([it["album"] for it in items])
    artist = np.array([it["artist"].strip().casefold() for it in items])
    copies = corpus_copies(items)
    out: dict[str, float] = {}
    same_album = (album[:, None] == album[None, :]) & (album[:, None] != "")
    order = ranking(sim, copies, rerank(d, copies) if rerank else None, weight)
    q = album != ""
    p = precision(order, same_album, copies, q, 10)
    out["corpus_album_P@10_mean"] = float(p.mean())
    out["corpus_album_P@10_balanced"] = balanced(p, list(album[q]))
    known = artist != ""
    excl = copies | ~known[None, :]
    same_artist = (artist[:, None] == artist[None, :]) & known[:, None]
    has_other = (same_artist & ~copies).sum(1) > 0
    order = ranking(sim, excl, rerank(d, excl) if rerank else None, weight)
    p = precision(order, same_artist, excl, known & has_other, 10)
    out["corpus_artist_P@10_mean"] = float(p.mean())
    out["corpus_artist_P@10_balanced"] = balanced(p, list(artist[known & has_other]))
    out["corpus_artist_queries"] = int((known & has_other).sum())
    return out


def duplicate_metrics(x_dups: np.ndarray, dups: Data, x_corpus: np.ndarray | None, corpus: Data | None
                      ) -> dict[str, float]:
    names = np.array([it["name"] for it in dups.items])
    s = x_dups @ x_dups.T
    iu = np.triu_indices(len(names), 1)
    same = (names[:, None] == names[None, :])[iu]
    vals = s[iu]
    out = {"dup_copy_min": float(vals[same].min()), "dup_different_max": float(vals[~same].max())}
    out["dup_margin"] = out["dup_copy_min"] - out["dup_different_max"]
    if x_corpus is not None and corpus is not None:
        sc = x_corpus @ x_corpus.T
        sc[corpus_copies(corpus.items)] = -np.inf
        out["corpus_different_max"] = float(sc.max())
    return out


# -- candidates ----------------------------------------------------------------------------------

@dataclass
class Candidate:
    name: str
    vectors: Vectors
    rerank: Rerank | None = None
    weight: float = 0.0
    note: str = ""
    models: tuple[str, ...] = ("msd",)


def candidates() -> list[Candidate]:
    c = [Candidate("mean (today)", mean_of("msd"),
                   note="musicnn-msd-gtzan-1: L2-normalised mean of the 8 segment embeddings"),
         Candidate("shipped: musicnn-msd-gtzan-2", mean_of("shipped"), models=("shipped",),
                   note="the shipped file's own embeddings (centre folded into the network)"),
         Candidate("mean, centred", centred(mean_of("msd")), note="minus the library's mean track vector"),
         Candidate("mean, centred by the other collection", centred_by_other(mean_of("msd")),
                   note="a fixed centre not computed on the measured files"),
         Candidate("mean, centred by both collections", centred_by_both(mean_of("msd"))),
         Candidate("raw mean, centred (own)", raw_centred("msd", "own")),
         Candidate("raw mean, centred (other)", raw_centred("msd", "other")),
         Candidate("raw mean, centred (both)", raw_centred("msd", "both"),
                   note="the centre folded into the network's last bias"),
         Candidate("pooled map (753)", mean_of("msd-pooled"), models=("msd-pooled",)),
         Candidate("pooled map, centred", centred(mean_of("msd-pooled")), models=("msd-pooled",)),
         Candidate("pooled map, whitened", whitened(mean_of("msd-pooled")), models=("msd-pooled",)),
         Candidate("MTT pooled map, centred", centred(mean_of("mtt-pooled")), models=("mtt-pooled",)),
         Candidate("penultimate + pooled map, centred", fused([(centred(mean_of("msd")), 1.0),
                                                          (centred(mean_of("msd-pooled")), 1.0)]),
                   models=("msd", "msd-pooled")),
         Candidate("penultimate + 0.5 pooled map, centred (both)",
                   fused([(raw_centred("msd", "both"), 1.0), (raw_centred("msd-pooled", "both"), 0.5)]),
                   models=("msd", "msd-pooled"), note="one network pass; 953-d"),
         Candidate("penultimate + 0.5 pooled map PCA-64, centred (both)",
                   fused([(raw_centred("msd", "both"), 1.0), (pca_of_other("msd-pooled", 64), 0.5)]),
                   models=("msd", "msd-pooled"), note="PCA fitted on the other collection; 264-d"),
         Candidate("mean, whitened", whitened(mean_of("msd")), note="PCA whitening over the library, shrink 0.5"),
         Candidate("mean, whitened 64", whitened(mean_of("msd"), 64)),
         Candidate("mean+std", mean_std("msd", 1.0)),
         Candidate("mean+0.5 std", mean_std("msd", 0.5)),
         Candidate("mean+0.5 std, centred", centred(mean_std("msd", 0.5))),
         Candidate("consensus-weighted", weighted("consensus", 10.0)),
         Candidate("consensus-weighted, centred", centred(weighted("consensus", 10.0))),
         Candidate("atypical-weighted", weighted("atypical", 5.0)),
         Candidate("norm-weighted", weighted("norm")),
         Candidate("MSD tags (50)", tag_space("msd")),
         Candidate("MTT mean", mean_of("mtt"), models=("mtt",)),
         Candidate("MTT mean, centred", centred(mean_of("mtt")), models=("mtt",)),
         Candidate("MSD+MTT concat", fused([(mean_of("msd"), 1.0), (mean_of("mtt"), 1.0)]), models=("msd", "mtt")),
         Candidate("MSD+MTT concat, centred", fused([(centred(mean_of("msd")), 1.0), (centred(mean_of("mtt")), 1.0)]),
                   models=("msd", "mtt")),
         Candidate("MSD+0.5 MTT, centred", fused([(centred(mean_of("msd")), 1.0), (centred(mean_of("mtt")), 0.5)]),
                   models=("msd", "mtt")),
         Candidate("MSD+0.5 MTT, centred (both)", fused([(raw_centred("msd", "both"), 1.0),
                                                        (raw_centred("mtt", "both"), 0.5)]), models=("msd", "mtt")),
         Candidate("MSD+MTT, centred (both)", fused([(raw_centred("msd", "both"), 1.0),
                                                    (raw_centred("mtt", "both"), 1.0)]), models=("msd", "mtt")),
         ]
    for w in (0.3, 0.5, 0.7):
        c.append(Candidate(f"centred + re-rank top {RERANK_POOL} by segment match (w {w})", centred(mean_of("msd")),
                           rerank=seg_match_scores, weight=w))
    for w in (0.3, 0.5):
        c.append(Candidate(f"centred + re-rank top {RERANK_POOL} by Gaussian SKL (w {w})", centred(mean_of("msd")),
                           rerank=gauss_scores, weight=w))
    for m, a in ((2, 3.0), (3, 3.0), (5, 3.0)):
        c.append(Candidate(f"centred + query expansion (top {m}, alpha {a})", centred(mean_of("msd")),
                           rerank=query_expansion(m, a), weight=1.0))
    c.append(Candidate(f"centred + mutual proximity re-rank of top {RERANK_POOL}", centred(mean_of("msd")),
                       rerank=mutual_proximity(), weight=1.0))
    c.append(Candidate(f"centred + CSLS re-rank of top {RERANK_POOL}", centred(mean_of("msd")),
                       rerank=csls(10), weight=1.0))
    return c


def evaluate(cand: Candidate, data: dict[str, Data]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": cand.name, "note": cand.note}
    t0 = time.monotonic()
    for coll, fn in (("gtzan", gtzan_metrics), ("corpus", corpus_metrics)):
        d = data[coll]
        x = cand.vectors(d)
        row |= fn(x @ x.T, d, cand.rerank, cand.weight)
    # duplicates: the dups collection as its own library (its mean for centring), corpus as its own
    if all(m in data["dups"].emb for m in cand.models):
        row |= duplicate_metrics(cand.vectors(data["dups"]), data["dups"], cand.vectors(data["corpus"]),
                                 data["corpus"])
    row["seconds"] = round(time.monotonic() - t0, 2)
    return row


def per_query(cand: Candidate, data: dict[str, Data]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GTZAN P@5 per clip, its genres, and corpus same-album P@10 per song (plain cosine neighbours)."""
    g = data["gtzan"]
    x = cand.vectors(g)
    genre = np.array([it["genre"] for it in g.items])
    eye = np.eye(len(genre), dtype=bool)
    p_g = precision(ranking(x @ x.T, eye), genre[:, None] == genre[None, :], eye, np.ones(len(genre), bool), 5)
    c = data["corpus"]
    x = cand.vectors(c)
    album = np.array([it["album"] for it in c.items])
    copies = corpus_copies(c.items)
    p_c = precision(ranking(x @ x.T, copies), album[:, None] == album[None, :], copies, album != "", 10)
    return p_g, genre, p_c


def paired_bootstrap(a: Candidate, b: Candidate, data: dict[str, Data], n: int = 2000, seed: int = 0
                     ) -> dict[str, Any]:
    """b - a with 95 % intervals: GTZAN balanced P@5 (clips resampled within genres), corpus album P@10."""
    rng = np.random.default_rng(seed)
    ga, genre, ca = per_query(a, data)
    gb, _, cb = per_query(b, data)
    dg, dc = gb - ga, cb - ca
    groups = [np.flatnonzero(genre == k) for k in np.unique(genre)]
    boot_g = [np.mean([dg[rng.choice(ix, len(ix))].mean() for ix in groups]) for _ in range(n)]
    boot_c = [dc[rng.integers(0, len(dc), len(dc))].mean() for _ in range(n)]
    return {"a": a.name, "b": b.name,
            "gtzan_P@5_balanced_diff": float(np.mean([dg[ix].mean() for ix in groups])),
            "gtzan_ci95": [float(np.percentile(boot_g, 2.5)), float(np.percentile(boot_g, 97.5))],
            "corpus_album_P@10_diff": float(dc.mean()),
            "corpus_ci95": [float(np.percentile(boot_c, 2.5)), float(np.percentile(boot_c, 97.5))]}


BOOTSTRAP_PAIRS = [("mean (today)", "raw mean, centred (both)"),
                   ("raw mean, centred (both)", "penultimate + 0.5 pooled map, centred (both)"),
                   ("mean (today)", "shipped: musicnn-msd-gtzan-2"),
                   ("raw mean, centred (both)", "MSD+0.5 MTT, centred (both)"),
                   ("raw mean, centred (both)", "MSD+MTT, centred (both)")]


COLUMNS = [("gtzan_all_P@5_balanced", "GTZAN P@5 bal."), ("gtzan_all_P@10_balanced", "GTZAN P@10 bal."),
           ("gtzan_artist_filtered_P@5_balanced", "GTZAN art.-filt. P@5 bal."),
           ("gtzan_artist_filtered_P@10_balanced", "art.-filt. P@10 bal."),
           ("corpus_album_P@10_mean", "corpus album P@10"), ("corpus_album_P@10_balanced", "album P@10 bal."),
           ("corpus_artist_P@10_mean", "corpus artist P@10"),
           ("dup_margin", "dup margin"), ("corpus_different_max", "corpus max cos (different)")]


def table(rows: list[dict[str, Any]]) -> str:
    head = "| candidate | " + " | ".join(c for _, c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for r in rows:
        lines.append(f"| {r['name']} | " + " | ".join(
            f"{r[k]:.3f}" if isinstance(r.get(k), float) else "–" for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="candidate names (substring match)")
    ap.add_argument("--json", type=Path, help="write every row here")
    ap.add_argument("--md", type=Path, help="write the candidates' table here (Markdown)")
    args = ap.parse_args()
    data = {c: load_data(c) for c in ("gtzan", "corpus", "dups")}
    data["gtzan"].other, data["corpus"].other, data["dups"].other = data["corpus"], data["gtzan"], data["corpus"]
    rows = []
    for cand in candidates():
        if args.only and not any(o in cand.name for o in args.only):
            continue
        if any(m not in data[c].emb for m in cand.models for c in ("gtzan", "corpus")):
            print(f"skipped {cand.name}: model outputs not cached")
            continue
        rows.append(evaluate(cand, data))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    if args.md:
        args.md.write_text(table(rows) + "\n")
    by_name = {c.name: c for c in candidates()}
    done = {r["name"] for r in rows}
    boots = []
    for a, b in BOOTSTRAP_PAIRS:
        if a in done and b in done:
            boots.append(paired_bootstrap(by_name[a], by_name[b], data))
            r = boots[-1]
            print(f"{b} - {a}: GTZAN bal. P@5 {r['gtzan_P@5_balanced_diff']:+.4f} "
                  f"[{r['gtzan_ci95'][0]:+.4f}, {r['gtzan_ci95'][1]:+.4f}], corpus album P@10 "
                  f"{r['corpus_album_P@10_diff']:+.4f} [{r['corpus_ci95'][0]:+.4f}, {r['corpus_ci95'][1]:+.4f}]")
    if not args.only or "projection" in args.only:
        for how in ("lda", "logreg"):
            for folds in ("artist", "clips"):
                proj = projection_cv(data["gtzan"], how=how, folds=folds)
                for r in proj:
                    print(f"{r['name']}: P@5 bal {r['gtzan_cv_P@5_balanced']:.3f}  P@10 bal "
                          f"{r['gtzan_cv_P@10_balanced']:.3f}  P@5 mean {r['gtzan_cv_P@5_mean']:.3f}", flush=True)
                rows += proj
    if args.json:
        args.json.write_text(json.dumps({"candidates": rows, "paired_bootstrap": boots}, indent=1) + "\n")


if __name__ == "__main__":
    main()
