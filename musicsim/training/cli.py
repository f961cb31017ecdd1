"""``musicsim train`` and ``musicsim evaluate``: registered on the main parser by ``musicsim.cli``.

Heavy imports (torch training code, scikit-learn, matplotlib) happen inside the handlers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from musicsim.formatting import terminal_safe


def _scratch_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("from-scratch training")
    g.add_argument("--epochs", type=int, default=200, metavar="N", help="at most N epochs (default: 200)")
    g.add_argument("--patience", type=int, default=10, help="early-stopping patience in epochs (default: 10)")
    g.add_argument("--lr", type=float, default=0.009, help="SGD learning rate (default: the paper's 0.009)")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--segments-per-clip", type=int, default=None, metavar="K",
                   help="random segments drawn per clip each epoch (default: all)")
    g.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                   help="stop a training run after the epoch that passes this many seconds")
    g.add_argument("--val-fraction", type=float, default=0.15,
                   help="share of the training clips held out for early stopping (default: 0.15)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="GTZAN-style folder: DIR/<genre>/<genre>.NNNNN.<ext> (+ optional DIR/splits/)")
    p.add_argument("--base", type=Path, default=None, metavar="FILE",
                   help="pretrained trunk (default: resources/musicnn-msd.safetensors)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="feature cache (default: the user cache folder, musicsim/train)")
    p.add_argument("--seed", type=int, default=0)


def _train_settings(args: argparse.Namespace):
    from musicsim.training.scratch import TrainSettings

    return TrainSettings(lr=args.lr, batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
                         segments_per_clip=args.segments_per_clip, max_seconds=args.time_budget, seed=args.seed)


def _logger(err: TextIO) -> Callable[[str], None]:
    def log(text: str) -> None:
        err.write(terminal_safe(text) + "\n")  # texts name files: no terminal escapes
        err.flush()
    return log


def run_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.training.train import train_head_model, train_scratch_model

    log = _logger(err)
    if args.from_scratch:
        train_scratch_model(args.data, args.out, _train_settings(args), args.val_fraction, args.cache, log=log)
    else:
        train_head_model(args.data, args.out, args.base, args.cache, args.seed, log=log)
    return 0


def run_evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.training.evaluate import EvalSettings, evaluate

    settings = EvalSettings(folds=args.folds, seed=args.seed, base_model=args.base, cache_dir=args.cache,
                            methods=tuple(args.methods.split(",")), scratch=_train_settings(args),
                            scratch_val_fraction=args.val_fraction, scratch_eval_segments=args.scratch_eval_segments,
                            scratch_folds=args.scratch_folds,
                            protocols=args.protocols)
    result = evaluate(args.data, args.out, settings, log=_logger(err))
    cv = result["cross_validation"]
    for name, m in cv["methods"].items():
        out.write(f"{name}: accuracy {m['accuracy']:.3f}, balanced accuracy {m['balanced_accuracy']:.3f}\n")
    for name, p in cv["precision_at_k"]["embeddings"].items():
        out.write(f"{name}: genre precision@{cv['precision_at_k']['k']} {p['mean']:.3f} "
                  f"(balanced {p['balanced']:.3f})\n")
    report = terminal_safe(str(Path(args.out) / "report.md"))
    out.write(f"report: {report} ({result['timing']['total_seconds']:.0f} s)\n")
    return 0


def run_train_label(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim.training.label_fit import train_label

    result = train_label(args.data, args.out, args.report, args.cache, args.seed, log=_logger(err))
    cv = result["cv"]
    out.write(f"GTZAN 5-fold CV balanced accuracy: head {cv['head_balanced_accuracy']:.3f}, genre (corrected) "
              f"{cv['genre_balanced_accuracy']:.3f}, label model {cv['stack_balanced_accuracy']:.3f}\n")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             common: argparse.ArgumentParser) -> None:
    """Add ``train`` and ``evaluate`` to the ``musicsim`` command line."""
    p = subparsers.add_parser("train", parents=[common],
                              help="fit the genre head on the pretrained model, or train from scratch",
                              description="Without --from-scratch: fit the ten-genre head on the frozen pretrained "
                                          "musicnn trunk and write a complete model file. With --from-scratch: "
                                          "train the two-stream ResCNN on DIR alone (Dong's features).")
    _common(p)
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="model file to write (.safetensors)")
    p.add_argument("--from-scratch", action="store_true", help="train the whole network on DIR alone")
    _scratch_options(p)
    p.set_defaults(handler=run_train)

    p = subparsers.add_parser("evaluate", parents=[common],
                              help="cross-validated report: shipped vs from-scratch vs MFCC baseline",
                              description="Stratified k-fold clip-level evaluation; writes report.md, report.json "
                                          "and PNG figures to --out.")
    _common(p)
    p.add_argument("--out", required=True, type=Path, metavar="REPORT_DIR", help="folder for the report")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--methods", default="shipped,scratch,baseline",
                   help="comma-separated subset of shipped,scratch,baseline")
    p.add_argument("--scratch-eval-segments", type=int, default=None, metavar="K",
                   help="evaluate the from-scratch model on K evenly spaced segments per clip (default: all)")
    p.add_argument("--scratch-folds", type=int, default=None, metavar="N",
                   help="train the from-scratch model on the first N folds only (CPU budget; default: all)")
    p.add_argument("--protocols", choices=("auto", "all", "none"), default="auto",
                   help="fixed split protocols (auto: only on the full GTZAN)")
    _scratch_options(p)
    p.set_defaults(handler=run_evaluate)

    p = subparsers.add_parser("train-label", parents=[common],
                              help="fit the genre label rule (prior correction, calibration, tags) on GTZAN",
                              description="Cross-validated fit of resources/genre-label.json from the evaluation's "
                                          "out-of-fold genre-head probabilities and the MSD tags (see "
                                          "musicsim/training/label_fit.py).")
    _common(p)
    p.add_argument("--out", type=Path, default=Path("resources/genre-label.json"), metavar="FILE")
    p.add_argument("--report", type=Path, default=None, metavar="FILE", help="write the CV numbers (JSON) here")
    p.set_defaults(handler=run_train_label)
