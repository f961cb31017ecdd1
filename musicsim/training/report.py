"""Writing an evaluation's results: ``report.json``, ``report.md`` and small PNG figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musicsim.fileio import atomic_output, atomic_write
from musicsim.genres import GENRES

TITLES = {
    "shipped": "Shipped model (musicnn MSD trunk + genre head)",
    "scratch": "From scratch (two-stream ResCNN, Dong features, GTZAN only)",
    "baseline": "MFCC mean+covariance + logistic regression",
}
EMBEDDINGS = {
    "shipped": "shipped: musicnn 200-d penultimate (mean of segments, L2)",
    "scratch": "from scratch: pooled mid-end map (held-out queries, fold model)",
    "baseline": "MFCC mean+covariance, z-scored",
}
DPI = 72


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, text)


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        with atomic_output(path) as tmp:  # like every file musicsim writes: whole or not at all
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def plot_confusion(confusion: list[list[int]], title: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(GENRES)), GENRES, rotation=60, fontsize=7)
    ax.set_yticks(range(len(GENRES)), GENRES, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=8)
    _save(fig, path)


def _pca(x: np.ndarray, n: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    n = max(1, min(n, x.shape[0], x.shape[1]))
    z = PCA(n_components=n).fit_transform(x)
    return np.pad(z, ((0, 0), (0, 3 - n))) if n < 3 else z


def plot_pca(emb: np.ndarray, labels: np.ndarray, title: str, path: Path) -> None:
    """PCA of clips (2-D, 3-D) and of per-genre mean embeddings, the genre signatures (2-D, 3-D)."""
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10")
    present = np.unique(labels)
    means = np.stack([emb[labels == g].mean(axis=0) for g in present])
    clip_z, mean_z = _pca(emb, 3), _pca(means, 3)
    fig = plt.figure(figsize=(9, 7.5))
    for k, (z, lab, name, size) in enumerate([(clip_z, labels, "clips", 8), (mean_z, present, "genre means", 60)]):
        ax2 = fig.add_subplot(2, 2, 2 * k + 1)
        ax3 = fig.add_subplot(2, 2, 2 * k + 2, projection="3d")
        for g in present:
            sel = lab == g
            ax2.scatter(z[sel, 0], z[sel, 1], s=size, color=colours(g), label=GENRES[g])
            ax3.scatter(z[sel, 0], z[sel, 1], z[sel, 2], s=size, color=colours(g))
            if name == "genre means":
                ax2.annotate(GENRES[g], (z[sel, 0][0], z[sel, 1][0]), fontsize=7)
        ax2.set_title(f"{name}, PCA 2-D", fontsize=8)
        ax3.set_title(f"{name}, PCA 3-D", fontsize=8)
        for ax in (ax2, ax3):
            ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=6, markerscale=1.5, loc="best")
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def plot_per_genre(methods: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(len(methods), 1)
    for k, (name, m) in enumerate(methods.items()):
        vals = [m["per_genre"].get(g, np.nan) for g in GENRES]
        ax.bar(np.arange(len(GENRES)) + k * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(GENRES)) + 0.4 - width / 2, GENRES, rotation=45, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("clip accuracy (recall)")
    ax.legend(fontsize=7)
    _save(fig, path)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def render_markdown(result: dict, figures: dict[str, str]) -> str:
    ds, cv, st = result["dataset"], result["cross_validation"], result["settings"]
    label = "on the full GTZAN (1000 clips)" if ds["full_gtzan"] else f"on the {ds['clips']}-clip subset"
    methods = cv["methods"]
    lines = [f"# musicsim evaluation, {label}", ""]
    lines += [f"Data: `{ds['data_dir']}`, {ds['clips']} clips. Clip-level numbers throughout: a clip's "
              "prediction is the argmax of the mean of its segments' probabilities (soft voting). "
              "Balanced accuracy is the mean of per-genre recalls.", ""]
    counts = ds["genre_counts"]
    lines += ["| " + " | ".join(GENRES) + " |", "|" + "---|" * len(GENRES),
              "| " + " | ".join(str(counts[g]) for g in GENRES) + " |", ""]
    if not ds["full_gtzan"]:
        lines += ["The genres are imbalanced (see the counts), so plain accuracy rewards the largest "
                  "genres: read balanced accuracy first. These numbers are not comparable with "
                  "published full-GTZAN results. Random clip splits of GTZAN also put clips of the same "
                  "artist on both sides; on the full collection the artist-filtered (fault-filtered) "
                  "protocol below avoids that.", ""]
    if ds["problems"]:
        lines += ["Clips left out:", ""] + [f"- `{p['clip']}`: {p['reason']}" for p in ds["problems"]] + [""]
    sc = st["scratch"]
    lines += ["## Settings", "",
              f"- Stratified {cv['folds']}-fold cross-validation over clips, seed {st['seed']}.",
              "- Shipped model and MFCC baseline: class-balanced logistic regression; C chosen by "
              "3-fold (grouped by clip) cross-validation inside each training fold, on clip balanced accuracy."]
    if "scratch" in methods:
        lines += [f"- From scratch: SGD (Nesterov momentum {sc['momentum']}"
              + (f", gradient norm clipped to {sc['grad_clip']}" if sc.get("grad_clip") else "")
              + f"), learning rate {sc['lr']}, batch "
              f"{sc['batch_size']}, class-weighted cross-entropy, early stopping on validation loss with patience "
              f"{sc['patience']} ({_pct(st['scratch_val_fraction'])} of each training fold held out), at most "
              f"{sc['max_epochs']} epochs"
              + (f", time budget {sc['max_seconds']:.0f} s per run" if sc.get("max_seconds") else "")
              + (f", {sc['segments_per_clip']} random segment(s) per clip per epoch"
                 if sc.get("segments_per_clip") else ", every segment every epoch")
              + (f"; evaluated on {st['scratch_eval_segments']} evenly spaced segments per clip"
                 if st.get("scratch_eval_segments") else "")
              + (f"; run on the first {st['scratch_folds']} fold(s) only, for lack of CPU time"
                 if st.get("scratch_folds") else "") + "."]
    lines.append("")
    lines += ["## Clip-level classification (out-of-fold)", "",
              "| method | accuracy | balanced accuracy | fold sd (acc / bal.) | seconds this run (cached folds: ~0) |",
              "|---|---|---|---|---|"]
    for name, m in methods.items():
        partial = (f" (folds 1-{m['folds_run']} of {cv['folds']}: {m['n']} clips)"
                   if m["folds_run"] < cv["folds"] else "")
        lines.append(f"| {TITLES[name]}{partial} | {_pct(m['accuracy'])} | {_pct(m['balanced_accuracy'])} | "
                     f"{_pct(m['fold_accuracy_sd'])} / {_pct(m['fold_balanced_accuracy_sd'])} | {m['seconds']:.0f} |")
    lines += ["", "### Per-genre accuracy (recall)", "", "| genre | " + " | ".join(methods) + " |",
              "|---|" + "---|" * len(methods)]
    for g in GENRES:
        if counts.get(g):
            lines.append(f"| {g} | " + " | ".join(_pct(m["per_genre"][g]) if g in m["per_genre"] else "–"
                                                   for m in methods.values()) + " |")
    lines.append("")
    for key, fig in figures.items():
        if key.startswith("confusion") or key == "per_genre":
            lines.append(f"![{key}]({fig})")
    if "scratch" in methods:
        lines += ["", "### From-scratch training runs", "", "Losses per epoch (chance: ln 10 = 2.30).", "",
                  "| fold | epochs | best epoch | stopped | train loss | validation loss |",
                  "|---|---|---|---|---|---|"]
        for i, rec in enumerate(methods["scratch"]["folds"], start=1):
            curve = {key: " → ".join(f"{h[key]:.2f}" for h in rec.get("history", []) if key in h)
                     for key in ("train_loss", "val_loss")}
            lines.append(f"| {i} | {rec['epochs']} | {rec['best_epoch']} | {rec['stopped']} | "
                         f"{curve['train_loss'] or '–'} | {curve['val_loss'] or '–'} |")
    pk = cv["precision_at_k"]
    lines += ["", f"## Genre precision@{pk['k']} of cosine neighbours (query excluded)", "",
              f"Chance (random neighbours): {_pct(pk['chance'])}. 'Balanced' averages per-genre means. "
              "Shipped and MFCC embeddings use no genre labels, so every clip queries all others; the "
              "from-scratch embedding is trained on labels, so each clip queries with the model of the "
              "fold that held it out (all other clips embedded by that model).", "",
              "| embedding | precision | balanced | × baseline (bal.) |", "|---|---|---|---|"]
    base = pk["embeddings"].get("baseline", {}).get("balanced")
    for name, p in pk["embeddings"].items():
        ratio = f"{p['balanced'] / base:.2f}" if base else "–"
        lines.append(f"| {EMBEDDINGS[name]} | {_pct(p['mean'])} | {_pct(p['balanced'])} | {ratio} |")
    lines.append("")
    for key, fig in figures.items():
        if key.startswith("pca"):
            lines.append(f"![{key}]({fig})")
    lines += ["", "## Fixed protocols", ""]
    prot = result["protocols"]
    if "skipped" in prot:
        lines.append(f"Skipped: {prot['skipped']}.")
    else:
        lines += ["| protocol | train / valid / test | " + " | ".join(
            f"{m} acc. / bal." for m in methods) + " |", "|---|---|" + "---|" * len(methods)]
        for name, row in prot.items():
            cells = [f"{_pct(row['methods'][m]['accuracy'])} / {_pct(row['methods'][m]['balanced_accuracy'])}"
                     if m in row["methods"] else "n/a" for m in methods]
            lines.append(f"| {name} | {row['train']} / {row['valid']} / {row['test']} | " + " | ".join(cells) + " |")
        lines += ["", "The segment protocol splits segments at random, so segments of one clip fall on both "
                  "sides; its numbers are segment-level and optimistic. The MFCC baseline describes whole clips "
                  "and has no segment number."]
    t = result["timing"]
    lines += ["", "## Timing", "", "Features (decode, patches, pretrained trunk; read from the cache when already "
              f"computed): {t['features_seconds']:.0f} s. "
              f"Whole evaluation: {t['total_seconds']:.0f} s.", ""]
    return "\n".join(lines)


def write_report(result: dict, embeddings: dict[str, np.ndarray], labels: np.ndarray, out_dir: Path) -> dict[str, str]:
    """Write figures, ``report.json`` and ``report.md`` into ``out_dir``; returns the figure files."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, str] = {}
    methods = result["cross_validation"]["methods"]
    for name, m in methods.items():
        figures[f"confusion_{name}"] = f"confusion_{name}.png"
        plot_confusion(m["confusion"], TITLES[name], out_dir / figures[f"confusion_{name}"])
    figures["per_genre"] = "per_genre.png"
    plot_per_genre(methods, out_dir / "per_genre.png")
    for name, emb in embeddings.items():
        figures[f"pca_{name}"] = f"pca_{name}.png"
        plot_pca(emb, labels, EMBEDDINGS[name], out_dir / figures[f"pca_{name}"])
    result["figures"] = figures
    _write_text(out_dir / "report.json", json.dumps(result, indent=1, default=float) + "\n")
    _write_text(out_dir / "report.md", render_markdown(result, figures))
    return figures
