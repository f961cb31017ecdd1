"""Compare musicsim's port of musicnn with the original's stored outputs (no TensorFlow needed).

Run in the main venv after ``tools/musicnn_reference.py`` (tools venv) wrote the reference::

    .venv/bin/python tools/verify_musicnn_port.py [--reference reports/musicnn-port/reference.npz]
                                                  [--model resources/musicnn-msd.safetensors]

Prints, per input and overall, the max abs difference of
  * features: ``musicsim.features.patches`` vs musicnn's librosa log-mel patches,
  * network only: our network on musicnn's own patches vs TensorFlow (tags, penultimate),
  * whole path: audio -> our features -> our network vs audio -> librosa -> TensorFlow,
and the tag error when each patch is computed from its own window of audio rather than cut from the
whole track's spectrogram: with ``n_fft // 2`` context (``context_patch``), and bare (``segment_patch``,
whose edge frames are half padded).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from musicsim.features import context_patch, patches, segment_patch  # noqa: E402
from musicsim.model.checkpoint import load_checkpoint  # noqa: E402


@torch.inference_mode()
def run_network(net: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tag probabilities and penultimate embedding for patches ``(n, frames, mels)``."""
    out = net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    return torch.sigmoid(out.tag_logits).numpy(), out.embedding.numpy()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=REPO / "reports" / "musicnn-port" / "reference.npz")
    ap.add_argument("--model", type=Path, default=REPO / "resources" / "musicnn-msd.safetensors")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args(argv)

    ckpt = load_checkpoint(args.model)
    net = ckpt.build()
    ref = np.load(args.reference)
    names = sorted({k.split("/")[0] for k in ref.files})
    rows = []
    print(f"{'input':16} {'patches':>7} {'features':>9} {'feat!=':>7} {'net:tags':>9} {'net:pen':>9} "
          f"{'all:tags':>9} {'all:pen':>9} {'ctx:tags':>9} {'seg:tags':>9}")
    for name in names:
        audio, tf_mel = ref[f"{name}/audio"], ref[f"{name}/logmel"].astype(np.float32)
        tf_tags, tf_pen = ref[f"{name}/tags"], ref[f"{name}/penultimate"]
        ours_mel = patches(audio, ckpt.features)
        if ours_mel.shape != tf_mel.shape:
            raise SystemExit(f"{name}: our patches {ours_mel.shape} vs musicnn's {tf_mel.shape}")
        feat_diff = np.abs(ours_mel - tf_mel)
        net_tags, net_pen = run_network(net, tf_mel)
        all_tags, all_pen = run_network(net, ours_mel)
        cfg, step = ckpt.features, ckpt.features.frames * ckpt.features.hop_length
        padded = np.concatenate([np.zeros(cfg.n_fft // 2, np.float32), audio])  # context of patch 0
        ctx = np.stack([context_patch(padded[k * step:][: cfg.window_samples], cfg) for k in range(len(tf_tags))])
        seg = np.stack([segment_patch(audio[k * step:][: cfg.segment_samples], cfg) for k in range(len(tf_tags))])
        ctx_tags, _ = run_network(net, ctx)
        seg_tags, _ = run_network(net, seg)
        row = (feat_diff.max(), np.mean(feat_diff > 0), np.abs(net_tags - tf_tags).max(),
               np.abs(net_pen - tf_pen).max(), np.abs(all_tags - tf_tags).max(), np.abs(all_pen - tf_pen).max(),
               np.abs(ctx_tags - tf_tags).max(), np.abs(seg_tags - tf_tags).max())
        rows.append(row)
        print(f"{name:16} {len(tf_tags):7d} {row[0]:9.2e} {row[1]:7.1e} {row[2]:9.2e} {row[3]:9.2e} "
              f"{row[4]:9.2e} {row[5]:9.2e} {row[6]:9.2e} {row[7]:9.2e}")
    worst = np.max(np.array(rows), axis=0)
    print(f"{'max':16} {'':7} {worst[0]:9.2e} {worst[1]:7.1e} {worst[2]:9.2e} {worst[3]:9.2e} "
          f"{worst[4]:9.2e} {worst[5]:9.2e} {worst[6]:9.2e} {worst[7]:9.2e}")
    ok = worst[2] <= args.tolerance and worst[4] <= args.tolerance
    print(f"tag probabilities within {args.tolerance:g} (network only and whole path): {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
