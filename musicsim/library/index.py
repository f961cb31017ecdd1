"""The hnswlib cosine index over track embeddings (ids = catalogue ids), and its one owner.

The index is a cache of the catalogue: ``index.hnsw`` plus a JSON sidecar (dimension, model version,
catalogue generation, the catalogue's id, element count, file size and SHA-256). Both are written
atomically (:mod:`musicsim.fileio`), and what hnswlib wrote is checked before it replaces the old file
(its size, and the file loaded back: hnswlib's save returns normally on a full disk). :class:`IndexStore`
owns the file, the lock, the in-memory index and its generation bookkeeping: it loads the saved index
when its sidecar and checksum are right and it belongs to this catalogue (the ids match), catches it up
with the catalogue (rows written since its generation are added, rows gone are deleted), and then checks
it against the catalogue (the same track ids, a sample of vectors equal); a missing, corrupt or foreign
index, or one of another model version, is rebuilt from the catalogue. On a read-only library it is
never saved. The :class:`~musicsim.library.library.Library` asks the store for results and never
touches an index's fields.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import hnswlib
import numpy as np

from musicsim.fileio import WriteError, atomic_output, atomic_write, check_size, sha256_file
from musicsim.library.catalogue import Catalogue

log = logging.getLogger(__name__)

FORMAT = 1
M = 16
EF_CONSTRUCTION = 100  # recall@10 = 1.0 on 100k clustered vectors (benchmarks/bench_index.py)
EF_SEARCH = 200  # recall@10 0.995 at 1M vectors, 0.52 ms/query (ef 100: 0.93); benchmarks/results/index.jsonl
MIN_CAPACITY = 1024
SAMPLE = 32  # vectors compared with the catalogue when a saved index is loaded
HEADER_BYTES = 96  # hnswlib 0.8's file header


def min_file_size(count: int, dim: int) -> int:
    """The smallest file hnswlib writes for ``count`` elements of ``dim`` floats (header, level-0 links,
    vector, label and one link-count per element; upper-level links come on top)."""
    return HEADER_BYTES + count * ((2 * M + 1) * 4 + 4 * dim + 8 + 4)


class VectorIndex:
    """An in-memory hnswlib index for one model version, in step with one catalogue generation."""

    def __init__(self, dim: int, model_version: str, generation: int, capacity: int = MIN_CAPACITY,
                 catalogue_id: str | None = None) -> None:
        self.dim = dim
        self.model_version = model_version
        self.generation = generation
        self.catalogue_id = catalogue_id  # the catalogue these vectors come from
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

    def live_ids(self) -> np.ndarray:
        """Ids of the live elements, ascending (int64)."""
        with self._lock:
            ids = np.asarray(self._index.get_ids_list(), dtype=np.int64)
            if self._deleted:
                ids = ids[~np.isin(ids, np.fromiter(self._deleted, np.int64, len(self._deleted)))]
        return np.sort(ids)

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored (unit-length) vectors of ``ids`` (live ids only)."""
        with self._lock:
            return np.asarray(self._index.get_items(ids), dtype=np.float32).reshape(len(ids), self.dim)

    def delete(self, ids: np.ndarray | list[int]) -> None:
        with self._lock:
            labels = set(self._index.get_ids_list())
            for i in ids:
                i = int(i)
                if i in labels and i not in self._deleted:
                    self._index.mark_deleted(i)
                    self._deleted.add(i)
            self.dirty = True

    def query(self, vector: np.ndarray, k: int,
              allowed: Callable[[int], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` nearest ``(ids, cosine similarities)``, best first; only ids ``allowed`` passes."""
        with self._lock:
            k = min(k, self.count)
            query = np.asarray(vector, dtype=np.float32)[None, :]
            while k > 0:
                self._index.set_ef(max(2 * k, EF_SEARCH))
                try:
                    labels, distances = self._index.knn_query(query, k=k, filter=allowed)
                except RuntimeError:  # fewer than k live elements reachable (many deletions): ask for fewer
                    k //= 2
                    continue
                return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)
            return np.zeros(0, np.int64), np.zeros(0, np.float32)

    # -- files -----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``path`` and its sidecar atomically (raises :class:`~musicsim.fileio.WriteError`).

        What hnswlib wrote is checked before it replaces the old file: at least :func:`min_file_size`
        bytes, loadable, the same number of elements and the same vectors (a sample); otherwise the old
        file stays and the error says why (a full disk: how much room is needed).
        """
        with self._lock:
            meta: dict[str, object] = {}
            count = self._index.get_current_count()
            least = min_file_size(count, self.dim)

            def check(tmp: Path) -> None:  # what was written, checked before it replaces the old file
                check_size(tmp, path, minimum=least)
                self._check_copy(tmp, path, count)
                meta.update(format=FORMAT, dim=self.dim, model_version=self.model_version,
                            generation=self.generation, catalogue_id=self.catalogue_id, count=count,
                            deleted=sorted(self._deleted), size=tmp.stat().st_size, sha256=sha256_file(tmp))

            with atomic_output(path, verify=check, needed=least) as tmp:
                self._index.save_index(str(tmp))
            atomic_write(sidecar_path(path), json.dumps(meta))
            self.dirty = False
            self.saved_at = time.monotonic()

    def _check_copy(self, tmp: Path, target: Path, count: int) -> None:
        """``tmp`` loads back with ``count`` elements and a sample of this index's vectors (lock held)."""
        copy = hnswlib.Index(space="cosine", dim=self.dim)
        try:
            copy.load_index(str(tmp), max_elements=max(1, count))
        except (RuntimeError, ValueError, OSError) as exc:
            raise WriteError(None, f"cannot write {target}: the written file does not load back ({exc})",
                             target) from exc
        ids = sorted(set(int(i) for i in self._index.get_ids_list()) - self._deleted)
        sample = [ids[i] for i in np.linspace(0, len(ids) - 1, min(SAMPLE, len(ids))).astype(int)] if ids else []
        same = copy.get_current_count() == count and (not sample or np.allclose(
            np.asarray(copy.get_items(sample)), np.asarray(self._index.get_items(sample)), atol=1e-6))
        if not same:
            raise WriteError(None, f"cannot write {target}: the written file differs from the index in memory",
                             target)

    @classmethod
    def load(cls, path: Path, dim: int, model_version: str, generation: int,
             catalogue_id: str | None = None) -> VectorIndex | None:
        """The saved index if its sidecar fits (made for catalogue ``catalogue_id`` when both say,
        dimension, model version, a generation no later than ``generation``) and its checksum is right,
        else None. It may be behind: see :func:`catch_up`."""
        try:
            meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
            saved_id = meta.get("catalogue_id")
            if catalogue_id is not None and isinstance(saved_id, str) and saved_id != catalogue_id:
                log.warning("the saved index %s does not fit this catalogue (it was made for another catalogue); "
                            "it is rebuilt from the catalogue", path)
                return None
            ok = (meta.get("format") == FORMAT and meta.get("dim") == dim and meta.get("model_version") == model_version
                  and isinstance(meta.get("generation"), int) and meta["generation"] <= generation
                  and os.path.getsize(path) == meta.get("size") and sha256_file(path) == meta.get("sha256"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("the saved index %s cannot be read (%s); it will be rebuilt", path, exc)
            return None
        if not ok:
            log.info("the saved index %s does not fit the catalogue; it will be rebuilt or caught up", path)
            return None
        self = cls.__new__(cls)
        self.dim, self.model_version, self.generation = dim, model_version, int(meta["generation"])
        saved_id = meta.get("catalogue_id")
        self.catalogue_id = saved_id if isinstance(saved_id, str) else None
        self._lock = threading.Lock()
        self._index = hnswlib.Index(space="cosine", dim=dim)
        try:
            self._index.load_index(str(path), max_elements=max(MIN_CAPACITY, int(meta["count"]) * 2))
        except (RuntimeError, ValueError, OSError) as exc:
            log.warning("hnswlib could not load %s (%s); it will be rebuilt", path, exc)
            return None
        if self._index.get_current_count() != meta["count"]:
            log.warning("the saved index %s holds %d vectors, its sidecar says %s; it will be rebuilt",
                        path, self._index.get_current_count(), meta["count"])
            return None
        self._deleted = set(int(i) for i in meta.get("deleted", []))
        self.dirty = False
        self.saved_at = time.monotonic()
        return self

    @classmethod
    def build(cls, catalogue: Catalogue, model_version: str, generation: int) -> VectorIndex | None:
        """A fresh index of every track the catalogue holds for ``model_version`` (None if it has none)."""
        ids, vectors = catalogue.embeddings(model_version)
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            return None
        index = cls(vectors.shape[1], model_version, generation, capacity=2 * len(ids),
                    catalogue_id=catalogue.catalogue_id)
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


def mismatch(index: VectorIndex, catalogue: Catalogue) -> str | None:
    """Why a loaded (and caught-up) ``index`` is not this catalogue's, or None when it is: another
    catalogue's id, other track ids, or other vectors for a sample of them."""
    if catalogue.catalogue_id is not None and index.catalogue_id not in (None, catalogue.catalogue_id):
        return "it was made for another catalogue"
    live = catalogue.analysed_ids(index.model_version)
    labels = index.live_ids()
    if not np.array_equal(labels, live):
        return f"it holds {len(labels)} tracks where the catalogue has {len(live)} (or other ones)"
    if not len(live):
        return None
    sample = [int(live[i]) for i in np.linspace(0, len(live) - 1, min(SAMPLE, len(live))).astype(int)]
    wanted = catalogue.embeddings_for(sample, index.model_version)
    expected = np.stack([wanted[i] for i in sample]).astype(np.float64)
    expected /= np.maximum(np.linalg.norm(expected, axis=1, keepdims=True), 1e-12)
    if not np.allclose(index.vectors(sample), expected, atol=1e-4):
        return "its vectors differ from the catalogue's"
    return None


def open_index(catalogue: Catalogue, path: Path, model_version: str, save: bool = True) -> VectorIndex | None:
    """The index for ``model_version`` in step with the catalogue: the saved one caught up (when it is
    this catalogue's: :func:`mismatch`), else rebuilt.

    Saved (atomically) whenever it changed, unless ``save`` is False; None when nothing was analysed
    with ``model_version``. A save that fails (read-only or full disk) is logged as a warning: the index
    still answers from memory.
    """
    generation = catalogue.generation()
    info = catalogue.model(model_version)
    index = None
    if info is not None:
        index = VectorIndex.load(path, info.embedding_size, model_version, generation, catalogue.catalogue_id)
    if index is not None:
        catch_up(index, catalogue)
        why = mismatch(index, catalogue)
        if why is not None:
            log.warning("the saved index %s does not fit this catalogue (%s); it is rebuilt from the catalogue",
                        path, why)
            index = None
        elif index.catalogue_id is None and catalogue.catalogue_id is not None:  # saved before ids: bind it
            index.catalogue_id = catalogue.catalogue_id
            index.dirty = True
    if index is None or index.deleted > max(MIN_CAPACITY, index.count):  # mostly dead weight: compact
        index = VectorIndex.build(catalogue, model_version, generation)
    if index is not None and index.dirty:
        if save:
            _try_save(index, path)
        else:
            log.info("the library is read-only (%s): the index is kept in memory, not saved",
                     catalogue.read_only_reason)
    return index


def _try_save(index: VectorIndex, path: Path) -> bool:
    try:
        index.save(path)
        return True
    except WriteError as exc:
        log.warning("%s; the index file on disk is left as it was, and this command uses the index in memory "
                    "(it is rebuilt or caught up next time)", exc)
        return False


class IndexStore:
    """The one owner of the library's vector index: its file, lock, in-memory copy and generations.

    Every method takes the store's lock; callers never hold a :class:`VectorIndex` across calls.
    During analysis the index is saved at most every ``save_interval_s`` (it is a cache: a stale
    saved index is caught up from the catalogue when next opened).
    """

    def __init__(self, catalogue: Catalogue, path: Path, save_interval_s: float = 30.0) -> None:
        self.catalogue = catalogue
        self.path = path
        self.save_interval_s = save_interval_s
        self._index: VectorIndex | None = None
        self._lock = threading.RLock()

    def _current(self, version: str) -> VectorIndex | None:
        """The index for ``version``, in step with the catalogue (cached, loaded, or rebuilt)."""
        index = self._index
        if index is not None and index.model_version == version:
            return catch_up(index, self.catalogue)
        self._index = open_index(self.catalogue, self.path, version, save=not self.catalogue.read_only)
        return self._index

    def count(self, version: str) -> int:
        """Live vectors for ``version`` (0 when nothing was analysed with it)."""
        with self._lock:
            index = self._current(version)
            return 0 if index is None else index.count

    def query(self, version: str, vector: np.ndarray, k: int,
              allowed: Callable[[int], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` nearest ``(ids, cosine similarities)`` among ``version``'s vectors, best first."""
        with self._lock:
            index = self._current(version)
            if index is None:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            return index.query(vector, k, allowed)

    def start_writing(self, version: str, dim: int) -> None:
        """Get ready for :meth:`add_results` of ``version`` (an empty index when none exists yet).

        Left alone when the catalogue's main model version is another one (its index stays cached).
        """
        with self._lock:
            if self.catalogue.active_version() not in (None, version):
                return
            if self._current(version) is None:
                self._index = VectorIndex(dim, version, self.catalogue.generation(),
                                          catalogue_id=self.catalogue.catalogue_id)

    def add_results(self, version: str, ids: np.ndarray, vectors: np.ndarray, failed: list[int],
                    before: int, generation: int) -> None:
        """Record one stored batch: catalogue generation ``before`` -> ``generation`` added ``ids`` and
        failed ``failed``. If the catalogue also changed elsewhere, the index catches up from it instead."""
        with self._lock:
            index = self._index
            if index is None or index.model_version != version:
                return
            if index.generation != before:
                catch_up(index, self.catalogue)
                return
            index.add(ids, vectors)
            if failed:
                index.delete(failed)
            index.generation = generation
            if time.monotonic() - index.saved_at > self.save_interval_s and not self.catalogue.read_only:
                _try_save(index, self.path)

    def catalogue_changed(self) -> None:
        """The catalogue changed outside analysis (a folder sync): catch the cached index up."""
        with self._lock:
            if self._index is not None:
                catch_up(self._index, self.catalogue)

    def save(self) -> bool:
        """Save the cached index if it changed since it was last saved; False when that failed."""
        with self._lock:
            index = self._index
            if index is None or not index.dirty or self.catalogue.read_only:
                return index is None or not index.dirty
            return _try_save(catch_up(index, self.catalogue), self.path)
