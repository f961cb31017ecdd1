"""What runs on the cluster's nodes: the decode task and the inference actor (imports Ray).

Both run musicsim's own code (shipped to every node by the driver as a Ray ``py_modules`` package, so
the nodes run the driver's version): decoding is :func:`musicsim.analysis.worker.analyse_job`, as a
local worker does it, and inference is :func:`musicsim.analysis.pipeline.infer`, as the local GPU
pipeline does it, so a cluster scan's results equal a local scan's within float rounding.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import ray

log = logging.getLogger(__name__)

DECODE_RETRIES = 3  # Ray re-runs a decode task whose worker or node died (system failures only)


@dataclass(frozen=True)
class EngineSpec:
    """What an inference actor builds its engine from (shipped once through the object store)."""

    meta: dict[str, Any]  # ModelMeta.to_dict()
    graph: bytes | None  # the ONNX graph (CPU actors): the same bytes a local scan's workers run
    weights: dict[str, np.ndarray] | None  # the weights (GPU actors: torch)


@dataclass(frozen=True)
class Decoded:
    """A decode task's small reply (the patches travel separately, straight to an actor)."""

    track_id: int
    patches: int  # 0 when decoding failed
    error: str | None
    node: str  # host name and address, for people
    node_id: str  # Ray's node id (several nodes may share a host)


def node_name() -> str:
    try:
        return f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
    except Exception:
        log.debug("no node address", exc_info=True)
        return socket.gethostname()


def missing_on_node(path: str, node: str) -> str:
    return (f"file not found on cluster node {node} (moved or deleted, or the music is not mounted at this path "
            "there: every node needs it at the same path)")


@ray.remote(num_cpus=1, num_returns=2, max_retries=DECODE_RETRIES, scheduling_strategy="SPREAD")
def decode(track_id: int, path: str, features: dict[str, Any], n_segments: int) -> tuple[Decoded, np.ndarray | None]:
    """One file's log-mel patches on this node, or the reason it failed (never raises for a bad file)."""
    from musicsim.analysis.worker import analyse_job  # pins BLAS to one thread, as a local worker
    from musicsim.features import FeatureConfig

    node, node_id = node_name(), ray.get_runtime_context().get_node_id()
    if not os.path.exists(path):
        return Decoded(track_id, 0, missing_on_node(path, node), node, node_id), None
    _, patches, error = analyse_job(track_id, path, FeatureConfig.from_dict(features), n_segments)
    if not isinstance(patches, np.ndarray):
        return Decoded(track_id, 0, error or "unknown error", node, node_id), None
    return Decoded(track_id, len(patches), None, node, node_id), patches


class InferenceActor:
    """The network on one GPU (torch, batches across tracks) or on a few CPU cores (ONNX Runtime, one
    thread per call, several calls at once: Ray's ``max_concurrency``).

    The engine comes with the calls (``spec``: a one-element list holding the driver's reference to an
    :class:`EngineSpec`), not with the constructor: a restartable actor must not take object-store
    arguments (ray-project/ray#53727). It is built on the first call, and again after a restart.
    """

    def __init__(self, use_gpu: bool) -> None:
        self.use_gpu = use_gpu
        self.node = node_name()
        self.model: Any = None
        self.lock = threading.Lock()

    def _engine(self, spec_ref: list[Any]) -> Any:
        with self.lock:
            if self.model is None:
                self.model = build_engine(ray.get(spec_ref[0]), self.use_gpu)
            return self.model

    def ready(self, spec_ref: list[Any]) -> str:
        """Builds the engine now; where it runs, for the log."""
        return f"{self._engine(spec_ref).device_name} on {self.node}"

    def infer(self, spec_ref: list[Any], track_ids: list[int], *patches: np.ndarray) -> list[Any]:
        """Pooled :class:`~musicsim.analysis.pipeline.JobResult` per track, in ``track_ids``' order."""
        from musicsim.analysis.pipeline import infer

        return infer(self._engine(spec_ref), list(zip(track_ids, patches)), None)


def build_engine(spec: EngineSpec, use_gpu: bool) -> Any:
    """torch on this node's GPU (``GPU_BATCH`` patches per pass, across tracks), else the local scan's
    ONNX graph on one thread (one-patch runs, as a local worker)."""
    from musicsim.model.modelfile import ModelMeta

    meta = ModelMeta.from_dict(spec.meta)
    if use_gpu:
        import torch

        from musicsim.analysis.pipeline import GPU_BATCH
        from musicsim.model.checkpoint import Checkpoint
        from musicsim.model.inference import LoadedModel

        assert spec.weights is not None
        ckpt = Checkpoint(meta.version, meta.features, meta.network, meta.genres,
                          {k: torch.from_numpy(np.array(v)) for k, v in spec.weights.items()}, meta.tags, meta.card)
        return LoadedModel(ckpt, device="cuda", batch_size=GPU_BATCH)
    from musicsim.model.onnx_model import OnnxModel

    assert spec.graph is not None
    model = OnnxModel(meta, spec.graph)
    _ = model.session  # built now: a broken engine fails the actor's first call, not half a batch
    return model
