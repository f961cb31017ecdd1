"""A file that crashes or hangs its decoder fails alone; the scan goes on.

Top-level imports stay light (no torch): worker processes import this module to find
``flaky_worker``.
"""

from __future__ import annotations

import ctypes
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import musicsim.analysis.worker as worker


def flaky_worker(conn: Connection, features: dict[str, Any], n_segments: int, *engine: Any) -> None:
    """The real worker, except its decoder segfaults on ``*crash*`` files and hangs on ``*hang*``."""
    real = worker.track_patches

    def patched(path: str, cfg: Any, n: int) -> np.ndarray:
        if "crash" in Path(path).name:
            ctypes.string_at(0)  # a real segmentation fault
        if "hang" in Path(path).name:
            time.sleep(3600)
        return real(path, cfg, n)

    worker.track_patches = patched
    worker.worker_main(conn, features, n_segments, *engine)


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_a_crashing_or_hanging_file_fails_alone(tmp_path: Path, engine: str) -> None:
    """Workers that only decode (torch in the parent) and workers that run the whole track (ONNX Runtime)."""
    import torch

    from musicsim.analysis import pipeline as pl
    from musicsim.audio.encode import encode
    from musicsim.features import MUSICNN
    from musicsim.model.checkpoint import Checkpoint
    from musicsim.model.inference import LoadedModel
    from musicsim.model.network import NetworkConfig, TwoStreamResCNN

    torch.manual_seed(0)
    cfg = NetworkConfig(timbral_filters=8, temporal_filters=4, midend_filters=8, backend_units=16, n_tags=0)
    ckpt = Checkpoint("t", MUSICNN, cfg, [f"g{i}" for i in range(10)], TwoStreamResCNN(cfg).state_dict())
    model = LoadedModel(ckpt, device="cpu")
    payload = None
    if engine == "onnxruntime":
        from musicsim.model.onnx_model import OnnxModel

        payload = OnnxModel.from_weights(ckpt.meta, ckpt.arrays()).payload()
    rate = 22050
    t = np.arange(8 * rate) / rate
    songs = [encode(tmp_path / f"song{i}.flac", 0.3 * np.sin(2 * np.pi * 200 * (i + 1) * t), rate)
             for i in range(4)]
    crash = encode(tmp_path / "crash.flac", 0.3 * np.sin(2 * np.pi * 300 * t), rate)
    hang = encode(tmp_path / "hang.flac", 0.3 * np.sin(2 * np.pi * 300 * t), rate)
    jobs = [pl.AnalysisJob(50, str(crash)), pl.AnalysisJob(51, str(hang))]
    jobs += [pl.AnalysisJob(i, str(p)) for i, p in enumerate(songs)]
    got: dict[int, pl.JobResult] = {}
    start = time.monotonic()
    pl._run_pool(iter(jobs), model, 2, 2, pl.CPU_CHUNK, 1, lambda b: got.update({r.track_id: r for r in b}),
                 threading.Event(), None, job_timeout=2.0, target=flaky_worker, engine=payload)
    assert time.monotonic() - start < 60
    assert set(got) == {50, 51, 0, 1, 2, 3}
    assert got[50].error == pl.CRASHED
    assert "took longer than 2 s" in (got[51].error or "")
    assert all(got[i].result is not None and got[i].error is None for i in range(4))
