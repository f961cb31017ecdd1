"""Convert musicnn's MSD_musicnn (or MTT_musicnn) TensorFlow checkpoint into a musicsim model file.

Runs in the tools venv (TensorFlow, torch, the ``musicnn`` wheel installed with ``--no-deps``)::

    .tools-venv/bin/python tools/convert_musicnn.py [--model MTT_musicnn] [--source DIR] [--out FILE]

Both models have the same architecture (musicnn's ``build_musicnn``), so one layer table maps either.

Every trained TF variable is mapped onto :class:`musicsim.model.network.TwoStreamResCNN`; the genre
head keeps its (seeded) default initialisation, to be fitted later by ``musicsim.training``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from musicnn.configuration import MSD_LABELS, MTT_LABELS  # noqa: E402  (the 50 outputs, in order)

from musicsim.features import MUSICNN  # noqa: E402
from musicsim.genres import GENRES  # noqa: E402
from musicsim.model.checkpoint import Checkpoint, save_checkpoint  # noqa: E402
from musicsim.model.network import NetworkConfig, TwoStreamResCNN  # noqa: E402

VERSION = "musicnn-msd-1"
# model folder in the wheel -> (version, tag names, training data)
MODELS: dict[str, tuple[str, list[str], str]] = {
    "MSD_musicnn": (VERSION, MSD_LABELS, "Million Song Dataset, 50 most frequent last.fm tags"),
    "MTT_musicnn": ("musicnn-mtt-1", MTT_LABELS, "MagnaTagATune, 50 most frequent tags"),
}
GENRE_HEAD_SEED = 0


# TF layer name -> (torch module, kind). TF numbers layers in construction order (models.build_musicnn).
LAYERS: list[tuple[str, str, str]] = [
    ("batch_normalization", "input_bn", "bn"),
    ("conv2d", "spectral.0.conv", "conv2d"),  # 7 x 38 (0.4 * 96 mels)
    ("batch_normalization_1", "spectral.0.bn", "bn"),
    ("conv2d_1", "spectral.1.conv", "conv2d"),  # 7 x 67 (0.7 * 96 mels)
    ("batch_normalization_2", "spectral.1.bn", "bn"),
    ("conv2d_2", "temporal.0.conv", "conv2d"),  # 128 x 1
    ("batch_normalization_3", "temporal.0.bn", "bn"),
    ("conv2d_3", "temporal.1.conv", "conv2d"),  # 64 x 1
    ("batch_normalization_4", "temporal.1.bn", "bn"),
    ("conv2d_4", "temporal.2.conv", "conv2d"),  # 32 x 1
    ("batch_normalization_5", "temporal.2.bn", "bn"),
    ("conv2d_5", "midend.0.conv", "conv1d"),  # 7 x 561, a Conv2d spanning all channels
    ("batch_normalization_6", "midend.0.bn", "bn"),
    ("conv2d_6", "midend.1.conv", "conv1d"),
    ("batch_normalization_7", "midend.1.bn", "bn"),
    ("conv2d_7", "midend.2.conv", "conv1d"),
    ("batch_normalization_8", "midend.2.bn", "bn"),
    ("batch_normalization_9", "backend_bn", "bn"),  # over the flattened [max, mean] pool
    ("dense", "penultimate", "dense"),
    ("batch_normalization_10", "penultimate_bn", "bn"),
    ("dense_1", "tag_head", "dense"),
]
BN_FIELDS = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
             "moving_variance": "running_var"}


def musicnn_model_dir(name: str = "MSD_musicnn") -> Path:
    """The installed ``musicnn`` package's checkpoint folder (found without importing TensorFlow code)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("musicnn is not installed: pip install --no-deps musicnn==0.1.0 (tools venv)")
    return Path(list(spec.submodule_search_locations)[0]) / name


def read_tf_checkpoint(model_dir: Path) -> dict[str, np.ndarray]:
    """All variables of the checkpoint whose files are ``model_dir/.index`` etc. (optimizer slots dropped).

    musicnn's ``checkpoint`` file names the author's absolute path, so the prefix is opened directly
    (``tf.train.load_checkpoint`` on the folder would follow that file).
    """
    import tensorflow as tf

    prefix = str(model_dir) + "/"
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    names = reader.get_variable_to_shape_map()
    return {n: reader.get_tensor(n) for n in names
            if "Adam" not in n and n not in ("beta1_power", "beta2_power")}


def convert_tensor(kind: str, field: str, value: np.ndarray) -> np.ndarray:
    """One TF variable in torch layout."""
    if kind == "bn":
        return value
    if field == "bias":
        return value
    if kind == "conv2d":  # HWIO -> OIHW
        return value.transpose(3, 2, 0, 1)
    if kind == "conv1d":  # (width, in_channels, 1, out) -> (out, in_channels, width)
        return value[:, :, 0, :].transpose(2, 1, 0)
    if kind == "dense":  # (in, out) -> (out, in)
        return value.T
    raise ValueError(kind)


def build_state_dict(tf_vars: dict[str, np.ndarray], cfg: NetworkConfig) -> dict[str, torch.Tensor]:
    """musicsim's state dict: every TF variable placed once, shapes checked, genre head at seeded init."""
    torch.manual_seed(GENRE_HEAD_SEED)
    state = TwoStreamResCNN(cfg).state_dict()
    assigned: set[str] = set()
    used: set[str] = set()
    for tf_layer, module, kind in LAYERS:
        fields = BN_FIELDS if kind == "bn" else {"kernel": "weight", "bias": "bias"}
        for tf_field, torch_field in fields.items():
            tf_name, key = f"{tf_layer}/{tf_field}", f"{module}.{torch_field}"
            value = np.ascontiguousarray(convert_tensor(kind, torch_field, tf_vars[tf_name]))
            if tuple(state[key].shape) != value.shape:
                raise ValueError(f"{tf_name} {value.shape} does not fit {key} {tuple(state[key].shape)}")
            state[key] = torch.from_numpy(value.astype(np.float32))
            assigned.add(key)
            used.add(tf_name)
    unused = set(tf_vars) - used
    if unused:
        raise ValueError(f"TF variables left unmapped: {sorted(unused)}")
    missing = {k for k in state if k not in assigned
               and not k.startswith("genre_head.") and not k.endswith("num_batches_tracked")}
    if missing:
        raise ValueError(f"network weights without a TF source: {sorted(missing)}")
    return state


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_card(model_dir: Path, name: str = "MSD_musicnn") -> dict:
    """Provenance of the converted weights."""
    import tensorflow as tf

    try:
        pkg_version = importlib.metadata.version("musicnn")
    except importlib.metadata.PackageNotFoundError:
        pkg_version = "unknown"
    files = sorted(p for p in model_dir.iterdir() if p.name.startswith(".") or p.name == "config.json")
    return {
        "name": f"musicnn {name} (PyTorch port)",
        "source": f"musicnn {pkg_version} (PyPI wheel), musicnn/{name}/",
        "authors": "Jordi Pons, Xavier Serra (Music Technology Group, Universitat Pompeu Fabra)",
        "paper": "Pons & Serra, 'musicnn: pre-trained convolutional neural networks for music audio "
                 "tagging', ISMIR 2019 LBD, arXiv:1909.06654",
        "licence": "ISC (see resources/LICENSE-musicnn.txt)",
        "training_data": MODELS[name][2],
        "files_sha256": {f"{name}/{p.name}": sha256(p) for p in files},
        "converted_with": f"tools/convert_musicnn.py, tensorflow {tf.__version__}, torch {torch.__version__}",
        "verification": "docs/model-port.md (tools/verify_musicnn_port.py)",
        "genre_head": f"untrained (default init, torch seed {GENRE_HEAD_SEED}); fit it before use",
        "embedding": "penultimate layer (200-d, after batch norm)",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="MSD_musicnn", help="which of the wheel's models")
    ap.add_argument("--source", type=Path, default=None, help="the model's folder (default: installed musicnn)")
    ap.add_argument("--out", type=Path, default=REPO / "resources" / "musicnn-msd.safetensors")
    args = ap.parse_args(argv)

    version, labels, _ = MODELS[args.model]
    model_dir = args.source or musicnn_model_dir(args.model)
    cfg = NetworkConfig(n_mels=MUSICNN.n_mels, n_tags=len(labels), n_genres=len(GENRES))
    tf_vars = read_tf_checkpoint(model_dir)
    state = build_state_dict(tf_vars, cfg)
    ckpt = Checkpoint(version=version, features=MUSICNN, network=cfg, genres=list(GENRES),
                      state_dict=state, tags=list(labels), card=model_card(model_dir, args.model))
    path = save_checkpoint(ckpt, args.out)
    n_params = sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var",
                                                                          "num_batches_tracked")))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {len(tf_vars)} TF variables -> "
          f"{len(state)} tensors, {n_params} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
