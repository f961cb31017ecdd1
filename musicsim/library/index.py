"""The hnswlib cosine index over track embeddings (ids = catalogue ids).

The index is a cache of the catalogue: ``index.hnsw`` plus a JSON sidecar (dimension, model version,
catalogue generation, element count, file size and SHA-256). Both are written atomically (temporary
file, then rename). :func:`open_index` loads the saved index when its sidecar and checksum are right
and catches it up with the catalogue (rows written since its generation are added, rows gone are
deleted); a missing or corrupt index, or one of another model version, is rebuilt from the catalogue.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import hnswlib
import numpy as np

from musicsim.library.catalogue import Catalogue

FORMAT = 1
M = 16
EF_CONSTRUCTION = 100  # recall@10 = 1.0 on 100k clustered vectors (benchmarks/bench_index.py)
EF_SEARCH = 200  # recall@10 0.995 at 1M vectors, 0.52 ms/query (ef 100: 0.93); benchmarks/results/index.jsonl
MIN_CAPACITY = 1024


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class VectorIndex:
    """An in-memory hnswlib index for one model version, in step with one catalogue generation."""

    def __init__(self, dim: int, model_version: str, generation: int, capacity: int = MIN_CAPACITY) -> None:
        self.dim = dim
        self.model_version = model_version
        self.generation = generation
        self._lock = threading.Lock()
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=max(capacity, MIN_CAPACITY), ef_construction=EF_CONSTRUCTION, M=M)
        self._deleted: set[int] = set()
        self.dirty = True  # not saved since the last change
        self.saved_at = 0.0  # time.monotonic() of the last save

    @property
    def deleted(self) -> int:
        """Elements marked deleted (they keep their memory until a rebuild)."""
        return len(self._deleted)

    @property
    def count(self) -> int:
        """Live (not deleted) elements."""
        return self._index.get_current_count() - len(self._deleted)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors for ``ids``; grows the index as needed."""
        if len(ids) == 0:
            return
        with self._lock:
            need = self._index.get_current_count() + len(ids)
            if need > self._index.get_max_elements():
                self._index.resize_index(max(need, 2 * self._index.get_max_elements()))
            self._index.add_items(np.asarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
            self._deleted.difference_update(int(i) for i in ids)
            self.dirty = True

    def labels(self) -> set[int]:
        """Ids of the live elements."""
        with self._lock:
            return set(int(i) for i in self._index.get_ids_list()) - self._deleted

    def delete(self, ids: np.ndarray | list[int]) -> None:
        with self._lock:
            labels = set(self._index.get_ids_list())
            for i in ids:
                i = int(i)
                if i in labels and i not in self._deleted:
                    self._index.mark_deleted(i)
                    self._deleted.add(i)
            self.dirty = True

    def query(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` nearest ``(ids, cosine similarities)``, best first."""
        with self._lock:
            k = min(k, self.count)
            query = np.asarray(vector, dtype=np.float32)[None, :]
            while k > 0:
                self._index.set_ef(max(2 * k, EF_SEARCH))
                try:
                    labels, distances = self._index.knn_query(query, k=k)
                except RuntimeError:  # fewer than k live elements reachable (many deletions): ask for fewer
                    k //= 2
                    continue
                return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)
            return np.zeros(0, np.int64), np.zeros(0, np.float32)

    # -- files -----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``path`` and its sidecar atomically."""
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            os.close(fd)
            try:
                self._index.save_index(tmp)
                meta = {"format": FORMAT, "dim": self.dim, "model_version": self.model_version,
                        "generation": self.generation, "count": self._index.get_current_count(),
                        "deleted": sorted(self._deleted), "size": os.path.getsize(tmp), "sha256": _sha256(Path(tmp))}
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            _atomic_write_text(sidecar_path(path), json.dumps(meta))
            self.dirty = False
            self.saved_at = time.monotonic()

    @classmethod
    def load(cls, path: Path, dim: int, model_version: str, generation: int) -> "VectorIndex | None":
        """The saved index if its sidecar fits (dimension, model version, a generation no later than
        ``generation``) and its checksum is right, else None. It may be behind: see :func:`catch_up`."""
        try:
            meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
            ok = (meta.get("format") == FORMAT and meta.get("dim") == dim and meta.get("model_version") == model_version
                  and isinstance(meta.get("generation"), int) and meta["generation"] <= generation
                  and os.path.getsize(path) == meta.get("size") and _sha256(path) == meta.get("sha256"))
        except (OSError, ValueError, AttributeError):
            return None
        if not ok:
            return None
        self = cls.__new__(cls)
        self.dim, self.model_version, self.generation = dim, model_version, int(meta["generation"])
        self._lock = threading.Lock()
        self._index = hnswlib.Index(space="cosine", dim=dim)
        try:
            self._index.load_index(str(path), max_elements=max(MIN_CAPACITY, int(meta["count"]) * 2))
        except (RuntimeError, ValueError, OSError):
            return None
        if self._index.get_current_count() != meta["count"]:
            return None
        self._deleted = set(int(i) for i in meta.get("deleted", []))
        self.dirty = False
        self.saved_at = time.monotonic()
        return self

    @classmethod
    def build(cls, catalogue: Catalogue, model_version: str, generation: int) -> "VectorIndex | None":
        """A fresh index of every track the catalogue holds for ``model_version`` (None if it has none)."""
        ids, vectors = catalogue.embeddings(model_version)
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            return None
        index = cls(vectors.shape[1], model_version, generation, capacity=2 * len(ids))
        index.add(ids, vectors)
        return index


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def catch_up(index: VectorIndex, catalogue: Catalogue) -> VectorIndex:
    """Bring ``index`` in step with the catalogue: add what was written since its generation, drop the rest."""
    generation = catalogue.generation()
    if index.generation == generation:
        return index
    live, changed, vectors = catalogue.changes_since(index.model_version, index.generation)
    gone = index.labels() - set(live.tolist())
    if gone:
        index.delete(sorted(gone))
    if len(changed):
        index.add(changed, vectors)
    index.generation = generation
    index.dirty = True
    return index


def open_index(catalogue: Catalogue, path: Path, model_version: str) -> VectorIndex | None:
    """The index for ``model_version`` in step with the catalogue: the saved one caught up, else rebuilt.

    Saved (atomically) whenever it changed; None when nothing was analysed with ``model_version``.
    """
    generation = catalogue.generation()
    info = catalogue.model(model_version)
    index = None
    if info is not None:
        index = VectorIndex.load(path, info.embedding_size, model_version, generation)
    if index is not None:
        catch_up(index, catalogue)
    if index is None or index.deleted > max(MIN_CAPACITY, index.count):  # mostly dead weight: compact
        index = VectorIndex.build(catalogue, model_version, generation)
    if index is not None and index.dirty:
        index.save(path)
    return index
