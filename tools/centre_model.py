"""Write a model file whose embeddings are centred: the same network with a reference mean subtracted.

Cosine neighbours of raw musicnn embeddings are dominated by the direction every track shares (all
track means lie in a narrow cone: their mean has norm ~6 against ~10 for a track); subtracting that
mean spreads them out (benchmarks/eval_similarity.py, docs/evaluation/similarity.md). Subtracting a
constant from every segment embedding is exact to fold into the network: the penultimate batch norm's
bias loses ``c`` and the tag head's bias gains ``W_tags @ c``, so the tag probabilities (and the genre
head, which reads the mid-end map) do not change and the model costs exactly what it cost before.

``c`` is the mean of the reference tracks' mean segment embeddings, the two collections weighted
equally: the 280 GTZAN clips and the 456 corpus songs, as cached by ``benchmarks.similarity_data``
(8 analysis windows per file, the ``msd`` outputs: the ported musicnn trunk, whose embeddings the
shipped model shares). No labels are used.

    .venv/bin/python -m benchmarks.similarity_data --models msd            # the cache, if not there yet
    .venv/bin/python tools/centre_model.py --base resources/musicsim-model-v1.safetensors \\
        --version musicnn-msd-gtzan-2 --out resources/musicsim-model.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import similarity_data as sd  # noqa: E402
from musicsim.model.modelfile import read_model, write_model  # noqa: E402

COLLECTIONS = ("gtzan", "corpus")


def reference_centre(model: str = "msd") -> tuple[np.ndarray, dict]:
    """The centre (float64) and where it came from."""
    means, counts = [], {}
    for coll in COLLECTIONS:
        _, emb, _, nseg = sd.load(coll, model)
        mask = np.arange(emb.shape[1])[None, :] < nseg[:, None]
        track_means = (emb.astype(np.float64) * mask[..., None]).sum(1) / nseg[:, None]
        means.append(track_means.mean(0))
        counts[coll] = int(len(nseg))
    return np.mean(means, 0), counts


def centre_weights(weights: dict[str, np.ndarray], c: np.ndarray) -> dict[str, np.ndarray]:
    """The same network with ``c`` subtracted from the embedding (penultimate layer) and tags unchanged."""
    out = dict(weights)
    out["penultimate_bn.bias"] = (weights["penultimate_bn.bias"].astype(np.float64) - c).astype(np.float32)
    w = weights["tag_head.weight"].astype(np.float64)
    out["tag_head.bias"] = (weights["tag_head.bias"].astype(np.float64) + w @ c).astype(np.float32)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="the model file to centre (uncentred embeddings)")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    meta, weights = read_model(args.base)
    if meta.network.embedding != "penultimate" or "tag_head.bias" not in weights:
        raise SystemExit("only a penultimate-layer embedding with a tag head can be centred this way")
    if "embedding_centre" in meta.card:
        raise SystemExit(f"{args.base} is centred already")
    c, counts = reference_centre()
    card = dict(meta.card)
    card["embedding_centre"] = {
        "what": "mean track embedding subtracted from every segment embedding (folded into "
                "penultimate_bn.bias; tag_head.bias compensates, so tags are unchanged)",
        "reference": "mean of the per-collection means of each file's mean segment embedding (8 analysis "
                     "windows): " + ", ".join(f"{k} {v} files" for k, v in counts.items()),
        "norm": round(float(np.linalg.norm(c)), 4),
        "base_version": meta.version,
        "base_sha256": hashlib.sha256(args.base.read_bytes()).hexdigest(),
        "made_with": "tools/centre_model.py",
    }
    write_model(args.out, replace(meta, version=args.version, card=card), centre_weights(weights, c))
    print(f"wrote {args.out} (version {args.version}): centre of norm {np.linalg.norm(c):.3f} from {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
