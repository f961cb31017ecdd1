"""The analysis worker process: decode a file's windows, compute their log-mel patches and, with an
engine (ONNX Runtime on a CPU), run the network on them and pool the track's result.

Kept free of torch and Qt so worker processes start fast and small. BLAS and ONNX Runtime use one
thread per worker (the pipeline runs one worker per core).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import logging  # noqa: E402
import signal  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402

from musicsim.analysis.segments import track_patches  # noqa: E402
from musicsim.audio.decode import DecodeError  # noqa: E402
from musicsim.features import FeatureConfig  # noqa: E402
from musicsim.model.outputs import TrackResult, pool_segments  # noqa: E402

if TYPE_CHECKING:
    from musicsim.model.onnx_model import OnnxModel, OnnxPayload

log = logging.getLogger(__name__)

# Messages: parent -> worker ``(track_id, path)`` or ``None`` (stop);
# worker -> parent :data:`READY` once, then ``(track_id, patches or TrackResult, None)`` or
# ``(track_id, None, reason)``: patches without an engine (the parent runs the network), a pooled
# TrackResult with one.
Reply = tuple[int, np.ndarray | TrackResult | None, str | None]
READY: Reply = (-1, None, None)  # sent once when the worker is up (engine loaded)


def describe_failure(exc: BaseException) -> str:
    """A reason for people from any exception raised while analysing one file."""
    if isinstance(exc, DecodeError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory to decode this file"
    return f"unexpected error while decoding ({type(exc).__name__}: {exc})"


def analyse_job(track_id: int, path: str, cfg: FeatureConfig, n_segments: int) -> Reply:
    """Patches for one file, or the reason it failed; never raises for a bad file."""
    try:
        return track_id, track_patches(path, cfg, n_segments), None
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason on that one file
        return track_id, None, describe_failure(exc)


def analyse_fully(track_id: int, path: str, cfg: FeatureConfig, n_segments: int, engine: OnnxModel) -> Reply:
    """One file's pooled result through ``engine``, or the reason it failed."""
    track_id, patches, error = analyse_job(track_id, path, cfg, n_segments)
    if not isinstance(patches, np.ndarray):
        return track_id, None, error
    try:
        return track_id, pool_segments(engine.predict(patches)), None
    except Exception as exc:
        log.warning("inference failed on %s", path, exc_info=True)
        return track_id, None, f"the network failed on this file ({type(exc).__name__}: {exc})"


def worker_main(conn: Connection, features: dict[str, Any], n_segments: int,
                engine: OnnxPayload | None = None) -> None:
    """Serve jobs from ``conn`` until ``None`` or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cfg = FeatureConfig.from_dict(features)
    model = None
    if engine is not None:
        from musicsim.model.onnx_model import OnnxModel

        model = OnnxModel.from_payload(engine)
    try:
        conn.send(READY)  # start-up (imports, engine) does not count against a job's time limit
    except OSError:
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        track_id, path = msg
        reply = (analyse_job(track_id, path, cfg, n_segments) if model is None
                 else analyse_fully(track_id, path, cfg, n_segments, model))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
