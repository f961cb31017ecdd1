"""CPU inference cost per patch by engine, forward-pass size and threading (chooses the CPU engine,
onnx_model.DEFAULT_BATCH and pipeline.CPU_CHUNK).

    nice .venv/bin/python -m benchmarks.bench_inference [--model FILE] [--patches 32]

For each configuration: torch intra-op threads, patches per forward pass, Python inference
threads (each running its own passes), prints CPU-ms and wall-ms per patch. CPU time is the
robust number on a shared machine; wall time is what a user waits for on an idle one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import random_model
from musicsim.model.checkpoint import default_model_path
from musicsim.model.inference import load_model

REAL_MODEL = default_model_path()
CONFIGS = [(1, 1, 1), (1, 2, 1), (1, 4, 1), (1, 16, 1), (1, 64, 1), (2, 2, 1), (2, 8, 1), (2, 64, 1),
           (1, 2, 2), (1, 4, 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REAL_MODEL if REAL_MODEL.exists() else None)
    ap.add_argument("--patches", type=int, default=32)
    args = ap.parse_args()
    model = load_model(args.model or random_model(Path(tempfile.mkdtemp()) / "random.pt"), device="cpu")
    cfg = model.features
    x = np.random.default_rng(0).random((args.patches, cfg.frames, cfg.n_mels), dtype=np.float32) * 3
    model.predict(x[:2])
    print(f"{args.patches} patches, {os.cpu_count()} cores, torch {torch.__version__}")
    print("| engine | threads | patches/pass | inference threads | CPU-ms/patch | wall-ms/patch | load |\n"
          "|---|---|---|---|---|---|---|")
    for intra, chunk, py_threads in CONFIGS:
        torch.set_num_threads(intra)

        def run(part: np.ndarray, chunk: int = chunk) -> None:
            for s in range(0, len(part), chunk):
                model.predict(part[s : s + chunk])

        w0, c0 = time.perf_counter(), time.process_time()
        threads = [threading.Thread(target=run, args=(x[i::py_threads],)) for i in range(py_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        print(f"| torch | {intra} | {chunk} | {py_threads} | {cpu / len(x) * 1000:.0f} | {wall / len(x) * 1000:.0f} "
              f"| {os.getloadavg()[0]:.1f} |", flush=True)
    from musicsim.model.onnx_model import OnnxModel

    ref = model.predict(x)
    for chunk in (1, 2, 4, 8):
        onnx = OnnxModel.load(args.model, batch_size=chunk) if args.model else OnnxModel.from_weights(
            model.checkpoint.meta, model.checkpoint.arrays(), batch_size=chunk)
        onnx.predict(x[:2])
        w0, c0 = time.perf_counter(), time.process_time()
        out = onnx.predict(x)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        diff = float(abs(out.embeddings - ref.embeddings).max())
        print(f"| onnxruntime | 1 | {chunk} | 1 | {cpu / len(x) * 1000:.0f} | {wall / len(x) * 1000:.0f} "
              f"| {os.getloadavg()[0]:.1f} | (max embedding difference to torch {diff:.1e})", flush=True)


if __name__ == "__main__":
    main()
