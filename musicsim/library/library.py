"""The :class:`Library` facade: the one engine API the CLI and the desktop app both call.

Thread-safe: each thread gets its own SQLite connection; the app calls these methods from worker
threads (never the GUI thread) and may call read methods while ``analyse_pending`` runs elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicsim.library import similar as _similar
from musicsim.library.catalogue import AnalysisRow, Catalogue, ModelInfo
from musicsim.library.index import IndexStore
from musicsim.library.playlist import write_m3u8
from musicsim.library.records import (
    AnalysisProgress,
    AnalysisReport,
    LibraryStatus,
    Problem,
    SimilarTrack,
    SyncReport,
    Track,
)
from musicsim.library.scanner import FoundFile, Skipped, walk_audio
from musicsim.library.tags import read_tags
from musicsim.model.errors import ModelFileError, ModelNotFoundError
from musicsim.model.modelfile import default_model_path, read_meta
from musicsim.model.runtime import planned_device
from musicsim.paths import resolve_data_dir

if TYPE_CHECKING:
    from musicsim.analysis.pipeline import JobResult, PipelineProgress
    from musicsim.model.runtime import AnalysisModel

    # What runs the analysis: musicsim.analysis.pipeline.run_analysis (this machine's cores), or a
    # musicsim.cluster ClusterRunner (a Ray cluster); both deliver results through ``on_results``.
    AnalysisRunner = Callable[..., None]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

CATALOGUE_FILE = "catalogue.sqlite3"
INDEX_FILE = "index.hnsw"
SYNC_BATCH = 200  # files catalogued per transaction
INDEX_SAVE_INTERVAL_S = 30.0  # during analysis; the index is rebuilt from the catalogue anyway if stale
# A folder scope with at most this many analysed tracks is searched exactly over its own embeddings;
# a larger one through the index with a filter (hnswlib calls the filter per visited node).
EXACT_SCOPE_MAX = 5000


def _absolute(folder: PathLike) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(folder)))


def _scope(root: PathLike | None) -> str | None:
    """A folder scope as the catalogue takes it: absolute, or None for every folder."""
    return None if root is None else _absolute(root)


class Library:
    """A music library stored in ``data_dir`` (catalogue.sqlite3 + the hnswlib index)."""

    def __init__(self, data_dir: PathLike | None = None, model_path: PathLike | None = None,
                 device: str | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.model_path = Path(model_path).expanduser() if model_path else default_model_path()
        self.device_preference = device
        self.catalogue = Catalogue(self.data_dir / CATALOGUE_FILE)
        self.index = IndexStore(self.catalogue, self.data_dir / INDEX_FILE, save_interval_s=INDEX_SAVE_INTERVAL_S)
        self._model: AnalysisModel | None = None  # loaded on first analysis (or by preload)
        self._model_version: str | None = None
        self._model_lock = threading.Lock()
        self._preload: threading.Thread | None = None

    # -- model -----------------------------------------------------------------------------
    def model(self) -> AnalysisModel:
        """The analysis model, loaded once (ONNX Runtime on a CPU, torch on a GPU: model/runtime.py);
        raises ModelNotFoundError/ModelFileError with a user message, ValueError for an unavailable device."""
        with self._model_lock:
            if self._model is None:
                from musicsim.model.runtime import load_analysis_model  # the engine: only analysis needs it

                self._model = load_analysis_model(self.model_path, self.device_preference)
                self._model_version = self._model.version
            return self._model

    def preload(self) -> threading.Thread:
        """Get analysis ready in the background: load the model and start the workers' fork server.

        Returns at once (the started thread; a second call returns the same one). Failures are only
        logged here: the analysis that needs the model raises them. ``scan`` calls it before its folder
        walk; the app calls it once its window is up, so the first analysis starts without waiting.
        """
        with self._model_lock:
            if self._preload is None:
                self._preload = threading.Thread(target=self._prepare, name="musicsim-preload", daemon=True)
                self._preload.start()
            return self._preload

    def _prepare(self) -> None:
        t0 = time.monotonic()
        try:
            model = self.model()
        except Exception as exc:  # noqa: BLE001 - raised again by the analysis that needs it
            log.info("preloading the model failed: %s", exc)
            return
        try:
            from musicsim.analysis.pipeline import warm_up

            warm_up()
        except Exception:
            log.warning("starting the analysis fork server early failed", exc_info=True)
        log.info("analysis ready in %.2f s (%s on %s)", time.monotonic() - t0, model.version, model.device_name)

    def model_version(self) -> str | None:
        """The model file's version (None when there is no usable model file); reads only its header."""
        if self._model_version is None:
            try:
                self._model_version = read_meta(self.model_path).version
            except (ModelNotFoundError, ModelFileError):
                return None
        return self._model_version

    def device_name(self) -> str:
        """Where analysis runs: the loaded engine's device, else where it will run (without loading it)."""
        if self._model is not None:
            return self._model.device_name
        return planned_device(self.device_preference)

    # -- catalogue -------------------------------------------------------------------------
    def sync_folder(self, folder: PathLike, on_track: Callable[[Track], None] | None = None,
                    cancel: threading.Event | None = None) -> SyncReport:
        """Catalogue ``folder`` from tags only (fast, no decoding): add new, refresh changed, drop vanished.

        ``on_track`` is called with each new or changed track once it is in the catalogue. Setting
        ``cancel`` stops the walk within a file's tag read: what was catalogued stays, nothing is
        dropped (the walk was incomplete) and the report says ``cancelled``.
        Raises FileNotFoundError/NotADirectoryError if ``folder`` itself is missing.
        """
        root = _absolute(folder)
        cat = self.catalogue
        stop = cancel.is_set if cancel is not None else (lambda: False)
        known = cat.known_under(root)
        report = SyncReport()
        seen: set[str] = set()
        skipped: list[Skipped] = []
        todo: list[tuple[FoundFile, int | None]] = []
        touched: list[int] = []

        def flush() -> None:
            tagged = []
            for found, old in todo:  # outside the write lock
                if stop():
                    break
                tagged.append((found, old, read_tags(found.path)))
            todo.clear()
            ids = []
            with cat.transaction() as conn:
                for found, old, tags in tagged:
                    if old is None:
                        ids.append(cat.add(conn, found, tags))
                    else:
                        cat.mark_changed(conn, old, found, tags)
                        ids.append(old)
            report.added += sum(old is None for _, old, _ in tagged)
            report.changed += sum(old is not None for _, old, _ in tagged)
            touched.extend(old for _, old, _ in tagged if old is not None)
            if on_track is not None:
                for track in cat.tracks(ids):
                    on_track(track)

        for item in walk_audio(root):
            if stop():
                break
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            seen.add(item.path)
            old = known.get(item.path)
            if old is not None and old.size == item.size and old.mtime_ns == item.mtime_ns:
                report.unchanged += 1
                continue
            todo.append((item, None if old is None else old.id))
            if len(todo) >= SYNC_BATCH:
                flush()
        if todo:
            flush()
        report.cancelled = stop()
        gone: list[int] = []
        if not report.cancelled:  # a cut-short walk has not seen every file: nothing is gone
            # Folders that could not be opened keep their tracks: their files are unreachable, not gone.
            blocked = tuple(s.path + os.sep for s in skipped if s.reason.startswith("cannot open folder"))
            gone = [k.id for p, k in known.items() if p not in seen and not p.startswith(blocked or ("\0",))]
            with cat.transaction() as conn:
                if gone:
                    cat.remove(conn, gone)
                cat.replace_skipped(conn, root, skipped)
            report.skipped = len(skipped)
        report.removed = len(gone)
        if gone or touched:
            self.index.catalogue_changed()
        log.info("synced %s: %s", root, report)
        return report

    def analyse_pending(self, progress: Callable[[AnalysisProgress], None] | None = None,
                        cancel: threading.Event | None = None, workers: int | None = None,
                        root: PathLike | None = None, runner: AnalysisRunner | None = None) -> AnalysisReport:
        """Analyse every pending track (new, changed, or analysed by another model version); with ``root``,
        only those inside that folder (the catalogue may also hold other folders' tracks).

        Each batch of results is stored in one transaction, so an interrupted run keeps every
        finished track. ``runner``: what analyses (default: this machine's pipeline; a
        :func:`musicsim.cluster.cluster_runner` for a Ray cluster): results are stored the same way.
        ``progress`` is called at least once a second while work is being done.
        Raises ModelNotFoundError when there is no model file.
        """
        model = self.model()
        from musicsim.analysis.pipeline import AnalysisJob, run_analysis  # decode/feature workers

        run = runner or run_analysis

        cat = self.catalogue
        cat.register_model(ModelInfo(model.version, list(model.genres), list(model.tags), model.embedding_size))
        jobs = cat.pending_jobs(model.version, None if root is None else _absolute(root))
        report = AnalysisReport()
        if not jobs:
            return report
        cancel = cancel or threading.Event()
        paths = dict(jobs)
        start = time.monotonic()
        state = _RunState()
        finished: list[int] = []  # stored since the last progress report
        lock = threading.Lock()
        errors: list[BaseException] = []

        self.index.start_writing(model.version, model.embedding_size)
        log.info("analysing %d tracks with model %s on %s", len(jobs), model.version, model.device_name)

        def emit() -> None:
            if progress is None:
                return
            with lock:
                done, failed, current = state.done, state.failed, state.current
                ids = finished[:]
                finished.clear()
            elapsed = time.monotonic() - start
            eta = elapsed / done * (len(jobs) - done) if done else None
            progress(AnalysisProgress(done=done, total=len(jobs), failed=failed, elapsed_s=elapsed, eta_s=eta,
                                      current_path=current, finished_ids=ids))

        def on_results(batch: list[JobResult]) -> None:
            if errors:
                return
            try:
                rows = [AnalysisRow(r.track_id, error=r.error) if r.result is None else
                        AnalysisRow(r.track_id, r.result.embedding, r.result.genre_probs, r.result.tag_probs,
                                    r.result.n_segments) for r in batch]
                generation = cat.write_results(model.version, rows)  # one transaction, one generation step
                good = [(r.track_id, r.embedding) for r in rows if r.embedding is not None]
                self.index.add_results(model.version, np.array([i for i, _ in good], np.int64),
                                       np.stack([e for _, e in good]) if good else np.zeros((0, 0)),
                                       [r.track_id for r in rows if r.error is not None], generation - 1, generation)
                for r in rows:
                    if r.error is not None:
                        log.info("could not analyse %s: %s", paths.get(r.track_id), r.error)
            except BaseException as exc:
                log.exception("storing analysis results failed; stopping the analysis")
                errors.append(exc)
                cancel.set()
                return
            with lock:
                state.done += len(rows)
                state.failed += sum(r.error is not None for r in rows)
                state.current = paths.get(batch[-1].track_id) if batch else None
                if progress is not None:
                    finished.extend(r.track_id for r in rows)

        def on_progress(p: PipelineProgress) -> None:  # at least once a second
            if p.current_path:
                with lock:
                    state.current = p.current_path
            emit()

        try:
            run([AnalysisJob(i, p) for i, p in jobs], model, workers=workers, on_results=on_results,
                cancel=cancel, progress=on_progress)
        finally:
            self.index.save()
        if errors:
            raise errors[0]
        report.analysed = state.done - state.failed
        report.failed = state.failed
        report.cancelled = cancel.is_set() and state.done < len(jobs)
        report.elapsed_s = time.monotonic() - start
        emit()
        log.info("analysis ended: %s", report)
        return report

    def scan(self, folder: PathLike, progress: Callable[[AnalysisProgress], None] | None = None,
             cancel: threading.Event | None = None, workers: int | None = None,
             runner: AnalysisRunner | None = None) -> tuple[SyncReport, AnalysisReport]:
        """``sync_folder`` then ``analyse_pending`` of that folder's pending tracks (the model loads and the
        workers' fork server starts during the folder walk; ``runner`` as for ``analyse_pending``)."""
        self.preload()
        synced = self.sync_folder(folder, cancel=cancel)
        if cancel is not None and cancel.is_set():
            return synced, AnalysisReport(cancelled=True)
        return synced, self.analyse_pending(progress=progress, cancel=cancel, workers=workers, root=folder,
                                            runner=runner)

    # -- queries ---------------------------------------------------------------------------
    def current_version(self) -> str | None:
        """The model version analyses are counted against: the model file's, else the catalogue's."""
        return self.model_version() or self.catalogue.active_version()

    def status(self, root: PathLike | None = None) -> LibraryStatus:
        """Counts of the whole catalogue (or of the tracks inside folder ``root``), model version, device."""
        version = self.current_version()
        tracks, analysed, pending, failed = self.catalogue.counts(version, _scope(root))
        try:
            device = self.device_name()
        except ValueError as exc:  # an unavailable --device
            device = f"unavailable ({exc})"
        return LibraryStatus(tracks=tracks, analysed=analysed, pending=pending, failed=failed,
                             model_version=version, device=device)

    def tracks(self, ids: Sequence[int] | None = None, root: PathLike | None = None) -> list[Track]:
        """Every track (by artist, album, track number, path), or just those ``ids`` in that order.

        ``root``: only the tracks inside that folder (the catalogue may hold several folders' tracks).
        """
        return self.catalogue.tracks(ids, root=_scope(root) if ids is None else None)

    def track(self, track_id: int) -> Track | None:
        return self.catalogue.track(track_id)

    def find(self, query: str) -> Track:
        """A track by file path, or by text matched against title/artist; raises LookupError."""
        text = query.strip()
        if not text:
            raise LookupError("Give a file path or some words of a title or artist.")
        path = os.path.abspath(os.path.expanduser(text))
        for candidate in (path, os.path.realpath(path)):
            track = self.catalogue.track_by_path(candidate)
            if track is not None:
                return track
        if os.path.isfile(path):
            raise LookupError(f"{path} is not in the library; scan its folder first (musicsim scan FOLDER).")
        found = self.catalogue.find_text(text)
        track = self.catalogue.track(found) if found is not None else None
        if track is None:
            raise LookupError(f'No track in the library matches "{text}".')
        return track

    def _resolve(self, seed: Track | int | str) -> Track:
        if isinstance(seed, Track):
            return seed
        if isinstance(seed, (int, np.integer)):
            track = self.track(int(seed))
            if track is None:
                raise LookupError(f"No track with id {seed}.")
            return track
        return self.find(str(seed))

    def similar(self, seed: Track | int | str, n: int = 10, max_per_artist: int | None = 2,
                root: PathLike | None = None) -> list[SimilarTrack]:
        """Top-``n`` cosine neighbours, never the seed nor another copy of the same recording.

        ``max_per_artist`` caps songs per artist (None: no cap). ``root``: only tracks inside that
        folder (default: every folder in the catalogue). Raises LookupError when the seed is unknown
        or not analysed.
        """
        track = self._resolve(seed)
        version, embedding = self.catalogue.embedding(track.id)
        if embedding is None or version is None:
            why = (f"analysis failed: {track.error}" if track.status == "failed"
                   else "it has not been analysed yet (run musicsim scan)")
            raise LookupError(f'"{track.display_title}" has no analysis: {why}.')
        if n <= 0:
            return []
        search = self._neighbours(version, embedding, _scope(root))
        total = search.total
        k = min(total, 4 * n + 16)
        while k > 0:
            ids, scores = search(k)
            vectors = self.catalogue.embeddings_for(ids.tolist(), version)
            tracks = {t.id: t for t in self.catalogue.tracks(list(ids))}
            candidates = [_similar.Candidate(tracks[i], float(s), vectors[i])
                          for i, s in zip(ids.tolist(), scores) if i in tracks and i in vectors]
            picked = _similar.pick(track, embedding, candidates, n, max_per_artist)
            if len(picked) >= n or k >= total:
                return picked
            k = min(total, k * 4)
        return []

    def _neighbours(self, version: str, vector: np.ndarray, root: str | None) -> _Neighbours:
        """A search over ``version``'s vectors (inside ``root``): ``search(k) -> (ids, scores)``."""
        if root is None:
            return _Neighbours(self.index.count(version),
                               lambda k: self.index.query(version, vector, k))
        ids = self.catalogue.analysed_ids(version, root)
        if len(ids) <= EXACT_SCOPE_MAX:  # small scope: exact, over its own embeddings
            ids, matrix = self.catalogue.embeddings(version, root)
            scores = matrix @ np.asarray(vector, np.float32) if len(ids) else np.zeros(0, np.float32)
            order = np.argsort(-scores, kind="stable")

            def exact(k: int) -> tuple[np.ndarray, np.ndarray]:
                return ids[order[:k]], scores[order[:k]]
            return _Neighbours(len(ids), exact)
        allowed = set(ids.tolist())
        return _Neighbours(len(ids), lambda k: self.index.query(version, vector, k, allowed.__contains__))

    def problems(self, root: PathLike | None = None) -> list[Problem]:
        """Files that could not be analysed or were skipped, with reasons (inside folder ``root``)."""
        return self.catalogue.problems(_scope(root))

    def embeddings(self, root: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, (n, d) float32 matrix)`` of every track analysed with the current model (inside folder
        ``root``), for maps and playlist builders."""
        version = self.current_version()
        if version is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return self.catalogue.embeddings(version, _scope(root))

    def export_m3u8(self, tracks: Sequence[Track], out: PathLike) -> Path:
        """Write ``tracks`` as an extended M3U8 playlist (atomically); returns the absolute path."""
        return write_m3u8(tracks, out)

    def close(self) -> None:
        self.index.save()
        self.catalogue.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _RunState:
    """One analysis run's counts, shared by the pipeline's callbacks (under the run's lock)."""

    done: int = 0
    failed: int = 0
    current: str | None = None


class _Neighbours:
    """A nearest-neighbour search over some of the library: ``total`` candidates, ``search(k)`` the top k."""

    def __init__(self, total: int, search: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> None:
        self.total = total
        self._search = search

    def __call__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._search(k)
