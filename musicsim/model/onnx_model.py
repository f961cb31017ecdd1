"""A model file's network run by ONNX Runtime on the CPU: the default analysis engine without a GPU.

Loads in well under a second (no torch), costs about 1.6x less CPU per patch than PyTorch on one
thread, and gives PyTorch's outputs within float rounding (``tests/test_onnx_model.py``), so the
model version (and every stored analysis) stays valid whichever engine ran it. One session runs on
one thread: the pipeline runs one engine per worker process, one worker per core.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musicsim.features import FeatureConfig
from musicsim.model.modelfile import ModelMeta, default_model_path, is_legacy, read_model
from musicsim.model.onnx_graph import build_graph
from musicsim.model.outputs import SegmentOutputs

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

# Patches per run on one thread: passes of 1-2 patches keep the front end's maps in cache
# (benchmarks/bench_inference.py); a patch's outputs do not depend on the others in its pass.
DEFAULT_BATCH = 1


@dataclass(frozen=True)
class OnnxPayload:
    """What a worker process needs to build the same engine: metadata and the serialised graph."""

    meta: dict[str, Any]
    graph: bytes
    batch_size: int


def _session(graph: bytes, threads: int) -> ort.InferenceSession:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3  # errors only (ORT warns about unused initialisers on stderr)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting threads
    return ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])


class OnnxModel:
    """Same interface as :class:`musicsim.model.inference.LoadedModel`, on ONNX Runtime's CPU provider."""

    runtime = "onnxruntime"
    on_cpu = True
    in_workers = True  # the pipeline runs one engine in each decode worker

    def __init__(self, meta: ModelMeta, graph: bytes, batch_size: int = DEFAULT_BATCH, threads: int = 1):
        self.meta = meta
        self.graph = graph
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self.has_tags = bool(meta.network.backend_units and meta.network.n_tags)
        self._session: ort.InferenceSession | None = None  # built on first use: the parent of the
        # worker processes only ships the graph, and never imports ONNX Runtime itself

    @property
    def session(self) -> ort.InferenceSession:
        if self._session is None:
            self._session = _session(self.graph, self.threads)
        return self._session

    @classmethod
    def from_weights(cls, meta: ModelMeta, weights: dict[str, np.ndarray], **kw: Any) -> OnnxModel:
        graph = build_graph(meta.network, weights, meta.features.frames, {"musicsim.version": meta.version})
        return cls(meta, graph, **kw)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **kw: Any) -> OnnxModel:
        """A model file (default: the shipped one); a format-1 (torch) file is read through torch."""
        path = Path(path) if path else default_model_path()
        if path.is_file() and is_legacy(path):
            from musicsim.model.checkpoint import load_checkpoint

            ckpt = load_checkpoint(path)
            return cls.from_weights(ckpt.meta, ckpt.arrays(), **kw)
        meta, weights = read_model(path)
        return cls.from_weights(meta, weights, **kw)

    def payload(self) -> OnnxPayload:
        return OnnxPayload(self.meta.to_dict(), self.graph, self.batch_size)

    @classmethod
    def from_payload(cls, payload: OnnxPayload) -> OnnxModel:
        """The engine a worker runs (its session built at once, before the worker reports ready)."""
        model = cls(ModelMeta.from_dict(payload.meta), payload.graph, payload.batch_size)
        _ = model.session
        return model

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def features(self) -> FeatureConfig:
        return self.meta.features

    @property
    def genres(self) -> list[str]:
        return self.meta.genres

    @property
    def tags(self) -> list[str]:
        return self.meta.tags

    @property
    def embedding_size(self) -> int:
        return self.meta.network.embedding_size

    @property
    def device_name(self) -> str:
        from musicsim.model.runtime import cpu_name

        return cpu_name("ONNX Runtime")

    def predict(self, patches: np.ndarray) -> SegmentOutputs:
        """Outputs for ``patches`` of shape ``(n, frames, n_mels)``, ``batch_size`` patches per run."""
        n = len(patches)
        n_tags = len(self.tags) if self.has_tags else 0
        embs, genres, tags = [], [], []
        for start in range(0, n, self.batch_size):
            x = np.ascontiguousarray(patches[start : start + self.batch_size], dtype=np.float32)
            out = self.session.run(None, {"patches": x})
            embs.append(out[0])
            genres.append(out[1])
            if self.has_tags:
                tags.append(out[2])
        return SegmentOutputs(
            embeddings=np.concatenate(embs) if embs else np.zeros((0, self.embedding_size), np.float32),
            genre_probs=np.concatenate(genres) if genres else np.zeros((0, len(self.genres)), np.float32),
            tag_probs=np.concatenate(tags) if tags else np.zeros((n, n_tags), np.float32),
        )
