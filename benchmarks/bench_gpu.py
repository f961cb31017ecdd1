"""Analysis throughput on a CUDA GPU (batches across tracks, decoding on every core) and on the CPU.

    timeout 600 .venv/bin/python -m benchmarks.bench_gpu [--songs 40] [--passes 3] [--seconds 240]

Self-contained, so it runs on a bare GPU machine: it writes its own full-length songs (synthetic
harmonic tones and noise, encoded as mp3/flac/m4a/ogg/opus, in parallel on every core) unless
``--songs-dir`` already holds them. Then, on the same files:

* **CUDA**: the analysis pipeline with the PyTorch engine on the GPU: every core decodes, the parent
  gathers ``--batch`` patches across tracks per forward pass (musicsim.analysis.pipeline.GPU_BATCH);
  plus the network alone on random patches (the GPU's ceiling). Skipped, with a line saying why,
  where torch sees no CUDA device.
* **CPU**: the default CPU engine (ONNX Runtime, one engine per worker process, one per core).

Prints tracks/s and patches/s for each, and appends a JSON line to benchmarks/results/gpu.jsonl.
Embeddings from the GPU are compared with the CPU's (cosine), since TF32/cuDNN may round differently.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.common import FORMATS
from musicsim.analysis.pipeline import GPU_BATCH, AnalysisJob, JobResult, default_workers, run_analysis
from musicsim.analysis.segments import DEFAULT_SEGMENTS

RESULTS = Path(__file__).parent / "results" / "gpu.jsonl"


def _write_song(args: tuple[Path, int, float]) -> Path:
    from musicsim.audio.encode import encode

    path, seed, seconds = args
    if path.exists():
        return path
    rate = 44100
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
    beat = (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0.6).astype(np.float32)
    y = sum(np.sin(2 * np.pi * f0 * k * t * (1 + 0.001 * np.sin(0.3 * t))) / k for k in range(1, 8)) * 0.15
    y = y * (0.6 + 0.4 * np.sin(2 * np.pi * 0.05 * t)) + 0.1 * beat * rng.standard_normal(t.size)
    stereo = np.stack([y, np.roll(y, 20)], axis=1).astype(np.float32)
    return encode(path, stereo, rate)


def make_songs(out: Path, n: int, seconds: float) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    todo = [(out / f"synth_{i:03d}.{FORMATS[i % len(FORMATS)]}", i, seconds) for i in range(n)]
    with ProcessPoolExecutor(default_workers()) as ex:
        return list(ex.map(_write_song, todo))


def run(jobs: list[AnalysisJob], model: object, batch: int | None) -> tuple[float, dict[int, JobResult]]:
    got: dict[int, JobResult] = {}
    t0 = time.perf_counter()
    run_analysis(jobs, model, batch_size=batch, on_results=lambda b: got.update({r.track_id: r for r in b}))
    wall = time.perf_counter() - t0
    bad = [r.error for r in got.values() if r.error]
    assert not bad, bad[:3]
    return wall, got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=240.0, help="length of each generated song")
    ap.add_argument("--passes", type=int, default=3, help="each song analysed this many times (under other ids)")
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-gpu-songs")
    ap.add_argument("--batch", type=int, default=GPU_BATCH, help="patches per GPU forward pass")
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped one)")
    ap.add_argument("--skip-cpu", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    paths = make_songs(args.songs_dir, args.songs, args.seconds)
    for p in paths:
        p.read_bytes()
    print(f"{len(paths)} songs of {args.seconds / 60:.0f} min ({', '.join(FORMATS)}) ready in "
          f"{time.perf_counter() - t0:.0f} s; {default_workers()} cores, {platform.processor() or platform.machine()}",
          flush=True)
    jobs = [AnalysisJob(k * len(paths) + i, str(p)) for k in range(args.passes) for i, p in enumerate(paths)]
    n_patches = len(jobs) * DEFAULT_SEGMENTS
    out: dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": default_workers(),
                              "tracks": len(jobs), "song_seconds": args.seconds}

    import torch

    from musicsim.model.inference import load_model

    cuda_results: dict[int, JobResult] = {}
    if not torch.cuda.is_available():
        why = "torch built without CUDA" if torch.version.cuda is None else "no CUDA device visible"
        print(f"CUDA: skipped ({why}; torch {torch.__version__})", flush=True)
        out["cuda"] = None
    else:
        torch.backends.cudnn.benchmark = True
        gpu = load_model(args.model, device="cuda", batch_size=args.batch)
        name = torch.cuda.get_device_name(0)
        x = torch.rand(args.batch, gpu.features.frames, gpu.features.n_mels, device="cuda") * 3
        with torch.inference_mode():
            for _ in range(3):
                gpu.network(x)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            reps = 10
            for _ in range(reps):
                gpu.network(x)
            torch.cuda.synchronize()
        ceiling = reps * args.batch / (time.perf_counter() - t1)
        run(jobs[: min(len(jobs), 2 * default_workers())], gpu, args.batch)  # warm-up: workers, cuDNN plans
        wall, cuda_results = run(jobs, gpu, args.batch)
        print(f"CUDA ({name}): {len(jobs) / wall:.1f} tracks/s, {n_patches / wall:.0f} patches/s "
              f"(pipeline, {default_workers()} decode workers, {args.batch}-patch batches); "
              f"network alone: {ceiling:.0f} patches/s", flush=True)
        out["cuda"] = {"device": name, "tracks_per_s": len(jobs) / wall, "patches_per_s": n_patches / wall,
                       "network_patches_per_s": ceiling, "batch": args.batch}
    if not args.skip_cpu:
        from musicsim.model.runtime import load_analysis_model

        cpu = load_analysis_model(args.model, "cpu")
        cpu_jobs = jobs[: len(paths)]  # one pass: the CPU is slow
        wall, cpu_results = run(cpu_jobs, cpu, None)
        print(f"CPU ({cpu.device_name}): {len(cpu_jobs) / wall:.2f} tracks/s, "
              f"{len(cpu_jobs) * DEFAULT_SEGMENTS / wall:.1f} patches/s (load average {os.getloadavg()[0]:.1f})",
              flush=True)
        out["cpu"] = {"engine": cpu.device_name, "tracks_per_s": len(cpu_jobs) / wall,
                      "patches_per_s": len(cpu_jobs) * DEFAULT_SEGMENTS / wall}
        if cuda_results:
            cos = [float(cuda_results[i].result.embedding @ cpu_results[i].result.embedding)  # type: ignore[union-attr]
                   for i in cpu_results]
            print(f"GPU vs CPU embeddings: cosine min {min(cos):.6f}, mean {np.mean(cos):.6f}")
            out["cosine_min"] = min(cos)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
