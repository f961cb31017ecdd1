"""The :class:`Library` facade: the one engine API the CLI and the desktop app both call.

Thread-safe: each thread gets its own SQLite connection; the app calls these methods from worker
threads (never the GUI thread) and may call read methods while ``analyse_pending`` runs elsewhere.
One writer per library: ``sync_folder`` and ``analyse_pending`` hold the data folder's writer lock
(:mod:`musicsim.library.writer`), so a second scan, in this process or another, waits for the first
and then finds its work done; reading calls never wait. A library on a read-only or full disk opens
read-only: reading works and writing calls raise :class:`CatalogueReadOnly` saying why. Damage SQLite
meets in any call is raised as :class:`CatalogueDamaged`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from musicsim.library.catalogue import (
    AnalysisRow,
    Catalogue,
    CatalogueDamaged,
    CatalogueReadOnly,
    ModelInfo,
    damaged_message,
    is_damage,
)
from musicsim.library.index import IndexStore
from musicsim.library.records import (
    AnalysisProgress,
    AnalysisReport,
    LibraryStatus,
    Problem,
    Resolution,
    SimilarTrack,
    SyncReport,
    Track,
)
from musicsim.model.errors import ModelFileError, ModelNotFoundError
from musicsim.model.modelfile import default_model_path, read_meta
from musicsim.paths import resolve_data_dir
from musicsim.playlists import similar as _similar
from musicsim.playlists.filters import Filters, Pool

# Imported where used, so that a reading command (similar, status...) loads only what it needs: the
# scanner and tag reader (mutagen), the writer lock, the user's own genres, playlist writing, the other
# playlist builders and the model runtime.
if TYPE_CHECKING:
    from musicsim.analysis.pipeline import JobResult, PipelineProgress
    from musicsim.library.own_genres import GenreAgreement, GenreSuggestion, OwnGenres, RetagReport, UndoReport
    from musicsim.library.tags import TagInfo
    from musicsim.library.writer import WriterLock
    from musicsim.model.runtime import AnalysisModel
    from musicsim.playlists.radio import RadioSession

    # What runs the analysis: musicsim.analysis.pipeline.run_analysis (this machine's cores), or a
    # musicsim.cluster ClusterRunner (a Ray cluster); both deliver results through ``on_results``.
    AnalysisRunner = Callable[..., None]

Seed = Track | int | str  # a track, its catalogue id, or a QUERY (file path or words)
log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

CATALOGUE_FILE = "catalogue.sqlite3"
INDEX_FILE = "index.hnsw"
SYNC_BATCH = 200  # files catalogued per transaction
INDEX_SAVE_INTERVAL_S = 30.0  # during analysis; the index is rebuilt from the catalogue anyway if stale
# A folder scope with at most this many analysed tracks is searched exactly over its own embeddings;
# a larger one through the index with a filter (hnswlib calls the filter per visited node).
EXACT_SCOPE_MAX = 5000
JOURNEY_SEARCH_POINTS = 4  # nearest-neighbour searches spread along a journey's way to find its candidates
JOURNEY_SEARCH_MOST = 1024  # nearest tracks per point at most (a journey weighs 800 candidates at most)
RESOLVE_SHOWN = 5  # other matching tracks a Resolution names


def _absolute(folder: PathLike) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(folder)))


def read_tags(path: str) -> TagInfo:
    """:func:`musicsim.library.tags.read_tags`, imported on first use (mutagen: only scans need it)."""
    from musicsim.library.tags import read_tags as read

    return read(path)


def _scope(root: PathLike | None) -> str | None:
    """A folder scope as the catalogue takes it: absolute, or None for every folder."""
    return None if root is None else _absolute(root)


F = TypeVar("F", bound=Callable[..., Any])


def _reports_damage(method: F) -> F:
    """SQLite's "database disk image is malformed" met by ``method`` becomes :class:`CatalogueDamaged`
    (plain words, naming the file), wherever in the catalogue the garbage lies."""
    @functools.wraps(method)
    def call(self: Library, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                log.info("the catalogue %s is damaged: %s", self.catalogue.path, exc)
                raise CatalogueDamaged(damaged_message(self.catalogue.path, f"SQLite: {exc}")) from exc
            raise
    return call  # type: ignore[return-value]


def model_file_reason(exc: Exception) -> str:
    """Why a model file was rejected, in a few words (torch's own message is long and advises
    turning off the safety check)."""
    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"unsupported GLOBAL (\S+)", text)
        if found:
            return f"it holds code to run ({found.group(1)}), not just weights, so it was not loaded"
        return "it is not a readable model file (damaged, or not a PyTorch file)"
    if "not a musicsim model file" in text:
        return "it is not a musicsim model file"
    if "central directory" in text or "zip archive" in text:
        return "it is damaged or incomplete (a truncated download?)"
    first = text.split("\n", 1)[0]
    return first.split(": ", 1)[1] if first.startswith("Cannot read model file") and ": " in first else first


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
        self._model_problem: str | None = None  # why the model file cannot be used, once looked at
        self._model_lock = threading.Lock()
        self._preload: threading.Thread | None = None

    @functools.cached_property
    def writer(self) -> WriterLock:
        """The lock one writer (scan, app analysis, tag writing) holds on this data folder."""
        from musicsim.library.writer import WriterLock

        return WriterLock(self.data_dir)

    @functools.cached_property
    def own_genres(self) -> OwnGenres:
        """The genres learned from the library's own genre tags."""
        from musicsim.library.own_genres import OwnGenres

        return OwnGenres(self.catalogue, self.data_dir)

    @property
    def read_only(self) -> bool:
        """The library can only be read (read-only or full disk, no permission): see ``read_only_reason``."""
        return self.catalogue.read_only

    @property
    def read_only_reason(self) -> str | None:
        return self.catalogue.read_only_reason

    def _require_writable(self) -> None:
        if self.catalogue.read_only:
            raise CatalogueReadOnly(self.catalogue.read_only_message())

    @contextmanager
    def writing(self, what: str, on_wait: Callable[[str], None] | None = None,
                cancel: threading.Event | None = None) -> Iterator[bool]:
        """Hold this library's writer lock across several writing calls (they take it again freely);
        yields False when ``cancel`` ended the wait for another writer. Raises CatalogueReadOnly."""
        self._require_writable()
        with self.writer.held(what, on_wait, cancel) as got:
            yield got

    # -- model -----------------------------------------------------------------------------
    def model(self) -> AnalysisModel:
        """The analysis model, loaded once (ONNX Runtime on a CPU, torch on a GPU: model/runtime.py);
        raises ModelNotFoundError/ModelFileError with a user message, ValueError for an unavailable device."""
        with self._model_lock:
            if self._model is None:
                from musicsim.model.runtime import load_analysis_model  # the engine: only analysis needs it

                try:
                    self._model = load_analysis_model(self.model_path, self.device_preference)
                except ModelFileError as exc:
                    self._model_problem = f"{self.model_path} was rejected: {model_file_reason(exc)}"
                    raise ModelFileError(f"The model file {self._model_problem}.") from exc
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
        """The model file's version (None when there is no usable model file: see :meth:`model_problem`);
        reads only its header."""
        if self._model_version is None:
            try:
                self._model_version = read_meta(self.model_path).version
            except ModelNotFoundError:
                self._model_problem = f"no model file at {self.model_path}"
                return None
            except ModelFileError as exc:
                log.warning("the model file %s was rejected: %s", self.model_path, exc)
                self._model_problem = f"{self.model_path} was rejected: {model_file_reason(exc)}"
                return None
        return self._model_version

    def model_problem(self) -> str | None:
        """Why there is no usable model file ("no model file at X", "X was rejected: why"), or None."""
        self.model_version()
        return None if self._model_version is not None else self._model_problem

    def device_name(self) -> str:
        """Where analysis runs: the loaded engine's device, else where it will run (without loading it)."""
        if self._model is not None:
            return self._model.device_name
        from musicsim.model.runtime import planned_device

        return planned_device(self.device_preference)

    # -- catalogue -------------------------------------------------------------------------
    @_reports_damage
    def sync_folder(self, folder: PathLike, on_track: Callable[[Track], None] | None = None,
                    cancel: threading.Event | None = None,
                    on_wait: Callable[[str], None] | None = None) -> SyncReport:
        """Catalogue ``folder`` from tags only (fast, no decoding): add new, refresh changed, drop vanished.

        ``on_track`` is called with each new or changed track once it is in the catalogue (also with those
        whose tags were read again, catalogued before the genre tag was). Setting
        ``cancel`` stops the walk within a file's tag read: what was catalogued stays, nothing is
        dropped (the walk was incomplete) and the report says ``cancelled``. Holds the writer lock:
        ``on_wait(message)`` is called when another writer must finish first (``cancel`` ends the wait).
        Raises FileNotFoundError/NotADirectoryError if ``folder`` itself is missing, CatalogueReadOnly
        on a read-only library.
        """
        from musicsim.library.scanner import walk_audio

        root = _absolute(folder)
        if not os.path.isdir(root):
            list(walk_audio(root))  # raises the folder's own error
        self._require_writable()
        with self.writer.held(f"scanning {root}", on_wait, cancel) as got:
            if not got:
                return SyncReport(cancelled=True)
            self.catalogue.check()  # any size: a scan is long anyway (0.5 s per 100 000 tracks)
            return self._sync(root, on_track, cancel)

    def _sync(self, root: str, on_track: Callable[[Track], None] | None,
              cancel: threading.Event | None) -> SyncReport:
        from musicsim.library.scanner import FoundFile, Skipped, walk_audio
        from musicsim.library.tags import with_fallbacks

        cat = self.catalogue
        stop = cancel.is_set if cancel is not None else (lambda: False)
        known = cat.known_under(root)
        report = SyncReport()
        seen: set[str] = set()
        skipped: list[Skipped] = []
        todo: list[tuple[FoundFile, int | None]] = []
        touched: list[int] = []
        stale_tags: list[tuple[str, int]] = []

        def flush() -> None:
            tagged = []
            for found, old in todo:  # outside the write lock
                if stop():
                    break
                tagged.append((found, old, with_fallbacks(read_tags(found.path), found.path, root)))
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
                if not old.tags_read:  # catalogued before schema 4: read its genre tag, keep its analysis
                    stale_tags.append((item.path, old.id))
                continue
            todo.append((item, None if old is None else old.id))
            if len(todo) >= SYNC_BATCH:
                flush()
        if todo:
            flush()
        for start in range(0, len(stale_tags), SYNC_BATCH):
            if stop():
                break
            batch = [(i, read_tags(p)) for p, i in stale_tags[start : start + SYNC_BATCH]]
            with cat.transaction() as conn:
                for track_id, tags in batch:
                    cat.set_tags(conn, track_id, tags)
            if on_track is not None:  # their tags (the genre tag at least) changed: so did their records
                for track in cat.tracks([i for i, _ in batch]):
                    on_track(track)
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

    @_reports_damage
    def analyse_pending(self, progress: Callable[[AnalysisProgress], None] | None = None,
                        cancel: threading.Event | None = None, workers: int | None = None,
                        root: PathLike | None = None,
                        on_wait: Callable[[str], None] | None = None,
                        runner: AnalysisRunner | None = None) -> AnalysisReport:
        """Analyse every pending track (new, changed, or analysed by another model version); with ``root``,
        only those inside that folder (the catalogue may also hold other folders' tracks).

        Each batch of results is stored in one transaction (and checkpointed into the main file), so an
        interrupted run keeps every finished track. ``progress`` is called at least once a second while
        work is being done. Holds the writer lock (``on_wait`` as for :meth:`sync_folder`): tracks another
        writer analysed meanwhile are not analysed again. ``runner``: what analyses (default: this machine's
        pipeline; a :func:`musicsim.cluster.cluster_runner` for a Ray cluster): results are stored the same
        way. Raises ModelNotFoundError when there is no model file, CatalogueReadOnly on a read-only library.
        """
        self._require_writable()
        model = self.model()
        with self.writer.held("analysing" + ("" if root is None else f" {_absolute(root)}"), on_wait, cancel) as got:
            if not got:
                return AnalysisReport(cancelled=True)
            return self._analyse(model, progress, cancel, workers, root, runner)

    def _analyse(self, model: AnalysisModel, progress: Callable[[AnalysisProgress], None] | None,
                 cancel: threading.Event | None, workers: int | None, root: PathLike | None,
                 runner: AnalysisRunner | None = None) -> AnalysisReport:
        from musicsim.analysis.pipeline import AnalysisJob, run_analysis  # decode/feature workers
        from musicsim.analysis.tempdirs import remove_stale, use_own_temp_dir

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
        remove_stale()  # worker folders of killed runs
        use_own_temp_dir()

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
             on_wait: Callable[[str], None] | None = None,
             runner: AnalysisRunner | None = None) -> tuple[SyncReport, AnalysisReport]:
        """``sync_folder`` then ``analyse_pending`` of that folder's pending tracks, under one hold of the
        writer lock (the model loads and the workers' fork server starts during the folder walk; ``runner`` as
        for ``analyse_pending``)."""
        self.preload()
        with self.writing(f"scanning {_absolute(folder)}", on_wait, cancel) as got:
            if not got:
                return SyncReport(cancelled=True), AnalysisReport(cancelled=True)
            synced = self.sync_folder(folder, cancel=cancel)
            if cancel is not None and cancel.is_set():
                return synced, AnalysisReport(cancelled=True)
            return synced, self.analyse_pending(progress=progress, cancel=cancel, workers=workers, root=folder,
                                                runner=runner)

    # -- queries ---------------------------------------------------------------------------
    def current_version(self) -> str | None:
        """The model version analyses are counted against: the model file's, else the catalogue's."""
        return self.model_version() or self.catalogue.active_version()

    @_reports_damage
    def status(self, root: PathLike | None = None) -> LibraryStatus:
        """Counts of the whole catalogue (or of the tracks inside folder ``root``), model version, device."""
        version = self.current_version()
        tracks, analysed, pending, failed = self.catalogue.counts(version, _scope(root))
        try:
            device = self.device_name()
        except ValueError as exc:  # an unavailable --device
            device = f"unavailable ({exc})"
        return LibraryStatus(tracks=tracks, analysed=analysed, pending=pending, failed=failed,
                             model_version=version, device=device, model_problem=self.model_problem(),
                             read_only=self.catalogue.read_only_reason)

    @_reports_damage
    def tracks(self, ids: Sequence[int] | None = None, root: PathLike | None = None) -> list[Track]:
        """Every track (by artist, album, track number, path), or just those ``ids`` in that order.

        ``root``: only the tracks inside that folder (the catalogue may hold several folders' tracks).
        """
        return self.catalogue.tracks(ids, root=_scope(root) if ids is None else None)

    def track_chunks(self, root: PathLike | None = None, first: int = 500, size: int = 5000) -> Iterator[list[Track]]:
        """Every track (inside folder ``root``) in the library table's default order (artist, "The" ignored,
        album, track number: :func:`musicsim.formatting.artist_sort_key`; then id): ``first`` tracks at
        once, then ``size`` at a time, for a window that shows its first screenful without waiting for
        the rest. Raises :class:`CatalogueDamaged` on damage met on the way."""
        chunks = self.catalogue.track_chunks(_scope(root), first=first, size=size)
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except sqlite3.DatabaseError as exc:
                if is_damage(exc):
                    log.info("the catalogue %s is damaged: %s", self.catalogue.path, exc)
                    raise CatalogueDamaged(damaged_message(self.catalogue.path, f"SQLite: {exc}")) from exc
                raise
            yield chunk

    @_reports_damage
    def track(self, track_id: int) -> Track | None:
        return self.catalogue.track(track_id)

    @_reports_damage
    def find(self, query: str) -> Track:
        """A track by file path, or by text matched against title/artist; raises LookupError."""
        return self.resolve(query).track

    @_reports_damage
    def resolve(self, query: str, root: PathLike | None = None) -> Resolution:
        """Which track ``query`` names (a file path, or words matched against artist, title, album and
        file name), and the other tracks that match too, so a caller can say which one it used.

        ``root``: among equally good matches, tracks inside that folder come first. Raises LookupError.
        """
        text = query.strip()
        if not text:
            raise LookupError("Give a file path or some words of a title or artist.")
        path = os.path.abspath(os.path.expanduser(text))
        for candidate in (path, os.path.realpath(path)):
            track = self.catalogue.track_by_path(candidate)
            if track is not None:
                return Resolution(query=text, track=track)
        if os.path.isfile(path):
            raise LookupError(f"{path} is not in the library; scan its folder first (musicsim scan FOLDER).")
        ids, count = self.catalogue.find_text_matches(text, limit=RESOLVE_SHOWN + 1, root=_scope(root))
        tracks = self.catalogue.tracks(ids)
        if not tracks:
            raise LookupError(f'No track in the library matches "{text}".')
        return Resolution(query=text, track=tracks[0], others=tracks[1:], matches=max(count, len(tracks)))

    def _resolve(self, seed: Seed) -> Track:
        if isinstance(seed, Track):
            return seed
        if isinstance(seed, (int, np.integer)):
            track = self.track(int(seed))
            if track is None:
                raise LookupError(f"No track with id {seed}.")
            return track
        return self.find(str(seed))

    def _analysed(self, seed: Seed) -> tuple[Track, str, np.ndarray]:
        """``(track, model version, unit embedding)`` of a seed; LookupError when it has no analysis."""
        track = self._resolve(seed)
        version, embedding = self.catalogue.embedding(track.id)
        if embedding is None or version is None:
            why = (f"analysis failed: {track.error}" if track.status == "failed"
                   else "it has not been analysed yet (run musicsim scan)")
            raise LookupError(f'"{track.display_title}" has no analysis: {why}.')
        return track, version, embedding

    def _seeds(self, seeds: Sequence[Seed]) -> tuple[str, list[tuple[Track, np.ndarray]]]:
        """The model version and ``(track, embedding)`` of several seeds (one version; repeats dropped)."""
        items: list[tuple[Track, np.ndarray]] = []
        version: str | None = None
        for seed in seeds:
            track, v, embedding = self._analysed(seed)
            if version is not None and v != version:
                raise LookupError(f'"{track.display_title}" was analysed with another model version ({v}); '
                                  "run musicsim scan to bring the library up to date.")
            version = v
            if all(t.id != track.id for t, _ in items):
                items.append((track, embedding))
        if version is None:
            raise LookupError("Give at least one song.")
        return version, items

    def _items(self, ids: Sequence[int], version: str) -> list[tuple[Track, np.ndarray]]:
        """``(track, embedding)`` of those of ``ids`` analysed with ``version``, in that order."""
        vectors = self.catalogue.embeddings_for(ids, version)
        return [(t, vectors[t.id]) for t in self.catalogue.tracks([i for i in ids if i in vectors])]

    def _pool(self, search: _Search, vectors: Sequence[np.ndarray], k: int,
              exclude: set[int] | None = None) -> Pool:
        """The union of the ``k`` nearest tracks to each of ``vectors`` (inside the search's scope)."""
        ids: list[int] = []
        for vector in vectors:
            found, _ = search.query(vector, k, exclude)
            ids.extend(found.tolist())
        return Pool.of(self._items(list(dict.fromkeys(ids)), search.version), dim=search.dim)

    def _widening(self, search: _Search, vectors: Sequence[np.ndarray], k: int,
                  build: Callable[[Pool], list[SimilarTrack]], enough: int,
                  most: int | None = None) -> list[SimilarTrack]:
        """``build`` over ever wider pools (x4) until it returns ``enough`` rows, the scope is exhausted
        or ``k`` reached ``most`` nearest tracks per vector."""
        last = search.total if most is None else min(search.total, most)
        k = min(max(k, 1), max(last, 1))
        while True:
            found = build(self._pool(search, vectors, k))
            if len(found) >= enough or k >= last:
                return found
            k = min(last, k * 4)

    @_reports_damage
    def similar(self, seed: Seed, n: int = 10, max_per_artist: int | None = 2,
                root: PathLike | None = None, filters: Filters | None = None) -> list[SimilarTrack]:
        """Top-``n`` cosine neighbours, never the seed nor another copy of the same recording.

        ``max_per_artist`` caps songs per artist (None: no cap) unless ``filters`` are given (they say
        everything: :class:`~musicsim.playlists.filters.Filters`). ``root``: only tracks inside that
        folder (default: every folder in the catalogue). Raises LookupError when the seed is unknown
        or not analysed.
        """
        track, version, embedding = self._analysed(seed)
        if n <= 0:
            return []
        rules = filters if filters is not None else Filters(max_per_artist=max_per_artist)
        search = self._search(version, _scope(root))
        return self._widening(search, [embedding], 4 * n + 16,
                              lambda pool: _similar.similar(track, embedding, pool, n, rules), n)

    @_reports_damage
    def mix(self, seeds: Sequence[Seed], n: int = 10, minus: Sequence[Seed] = (), root: PathLike | None = None,
            filters: Filters | None = None) -> list[SimilarTrack]:
        """``n`` tracks near all ``seeds`` at once, each seed's neighbourhood represented, steered away from
        ``minus`` (:mod:`musicsim.playlists.mix`); never a seed. Scores: the soft minimum of a track's
        similarities to the seeds. Raises LookupError for an unknown or unanalysed seed."""
        version, items = self._seeds(seeds)
        away = [(t, v) for t, v in (self._seeds(minus)[1] if minus else []) if all(t.id != s.id for s, _ in items)]
        if n <= 0:
            return []
        rules = filters if filters is not None else Filters()
        search = self._search(version, _scope(root))
        vectors = [v for _, v in items]
        if len(vectors) > 1:
            vectors.append(np.mean(vectors, axis=0))  # the songs between the seeds
        per_seed = 2 * -(-n // len(items)) + 16
        from musicsim.playlists import mix as _mix

        return self._widening(search, vectors, per_seed, lambda pool: _mix.mix(items, pool, n, rules, away), n)

    @_reports_damage
    def journey(self, start: Seed, end: Seed, n: int = 12, root: PathLike | None = None,
                filters: Filters | None = None) -> list[SimilarTrack]:
        """Exactly ``n`` songs from ``start`` to ``end`` (both included), each a steady step towards ``end``
        and close to the one before (:mod:`musicsim.playlists.journey`); fewer only when the scope holds
        too few usable songs between the two. Scores: similarity to the previous song (1.0 for the start).
        Raises ValueError for ``n < 2`` or the same song at both ends, LookupError for an unknown seed."""
        from musicsim.playlists import journey as _journey

        if n < 2:
            raise ValueError("A journey has at least 2 songs (its start and its end).")
        version, items = self._seeds([start, end])
        if len(items) < 2:
            raise ValueError("A journey needs two different songs.")
        rules = filters if filters is not None else Filters()
        search = self._search(version, _scope(root))
        a, b = items
        # candidates from a few points along the way (each search costs about the same for any small k)
        points = min(n, JOURNEY_SEARCH_POINTS)
        along = list(_journey.slerp(a[1], b[1], np.linspace(0.0, 1.0, points)))
        return self._widening(search, along, -(-16 * n // points),
                              lambda pool: _journey.journey(a, b, pool, n, rules), n,
                              most=max(JOURNEY_SEARCH_MOST, -(-16 * n // points)))

    @_reports_damage
    def radio(self, seeds: Sequence[Seed], root: PathLike | None = None,
              filters: Filters | None = None) -> RadioSession:
        """A radio session from ``seeds`` (:mod:`musicsim.playlists.radio`): ``next(k)`` hands out songs,
        ``feedback`` steers it. Raises LookupError for an unknown or unanalysed seed."""
        from musicsim.playlists.radio import RadioSession, Source

        version, items = self._seeds(seeds)
        scope = _scope(root)
        search = self._search(version, scope)

        def near(vector: np.ndarray, k: int, exclude: set[int]) -> Pool:
            return self._pool(search, [vector], k, exclude)

        source = Source(near, search.total, lambda ids: self._items(ids, version))
        return RadioSession(source, items, filters if filters is not None else Filters(), root=scope)

    def _search(self, version: str, root: str | None) -> _Search:
        """A nearest-neighbour search over ``version``'s vectors (inside ``root``)."""
        info = self.catalogue.model(version)
        dim = info.embedding_size if info is not None else 0
        if root is None:
            return _Search(version, dim, self.index.count(version),
                           lambda v, k, allowed: self.index.query(version, v, k, allowed))
        ids = self.catalogue.analysed_ids(version, root)
        if len(ids) <= EXACT_SCOPE_MAX:  # small scope: exact, over its own embeddings
            ids, matrix = self.catalogue.embeddings(version, root)
            return _Search(version, dim, len(ids), exact=(ids, matrix))
        inside = set(ids.tolist())

        def scoped(v: np.ndarray, k: int, allowed: Callable[[int], bool] | None) -> tuple[np.ndarray, np.ndarray]:
            check = inside.__contains__ if allowed is None else (lambda i: i in inside and allowed(i))
            return self.index.query(version, v, k, check)
        return _Search(version, dim, len(ids), scoped)

    # -- genres ----------------------------------------------------------------------------
    def genre_tracks(self, root: PathLike | None = None) -> list[Track]:
        """Every analysed track (inside folder ``root``) with its genre, label, top tags, file genre and,
        for files without a genre tag, the genre learned from the library's own tags (``suggested_genre``)."""
        tracks = [t for t in self.tracks(root=root) if t.genre is not None]
        self.own_genres.fill_suggestions(tracks, self.current_version())
        return tracks

    def genre_suggestions(self, root: PathLike | None = None, overwrite: bool = False) -> list[GenreSuggestion]:
        """Genres learned from the library's own tags for files without one (``overwrite``: also for tagged
        files whose genre differs), inside folder ``root``. Empty until two genres have 5 tagged files."""
        return self.own_genres.suggestions(self.tracks(root=root), self.current_version(), overwrite)

    def genre_agreement(self) -> GenreAgreement:
        """How often musicsim's learned suggestions agree with the user's own genre tags (cross-validated)."""
        return self.own_genres.agreement(self.current_version())

    def write_genres(self, suggestions: Sequence[GenreSuggestion],
                     progress: Callable[[int, int], None] | None = None) -> RetagReport:
        """Write the suggestions into the files' genre tags (journalled; :meth:`undo_genre_writes` reverts)."""
        return self.own_genres.write(suggestions, progress)

    def undo_genre_writes(self) -> UndoReport:
        """Restore, byte for byte, the files of the last :meth:`write_genres` run not yet undone."""
        return self.own_genres.undo()

    def search(self, words: str | Sequence[str], n: int = 10, root: PathLike | None = None) -> list[SimilarTrack]:
        """Tracks (inside folder ``root``) ranked by how well the model's tags fit ``words`` ("mellow
        acoustic"); ``score`` is the match (0..1). Raises ``musicsim.genres.search.UnknownWords`` (a
        LookupError listing the vocabulary) for a word outside it, ValueError for no words."""
        from musicsim.genres.search import match_scores, parse

        version = self.current_version()
        info = self.catalogue.model(version) if version else None
        if info is None:
            if version is not None:
                from musicsim.library.catalogue import ModelInfo

                try:
                    model_tags = read_meta(self.model_path).tags
                except (ModelNotFoundError, ModelFileError):
                    model_tags = []
                info = ModelInfo(version, [], model_tags, 0)
            else:
                raise LookupError("Nothing is analysed yet: run musicsim scan FOLDER first.")
        query = parse(words, info.tags)
        ids, probs = self.catalogue.tag_probabilities(info.version, _scope(root))
        if n <= 0 or not len(ids):
            return []
        scores = match_scores(probs, query)
        order = np.argsort(-scores, kind="stable")[:n]
        tracks = {t.id: t for t in self.catalogue.tracks([int(i) for i in ids[order]])}
        return [SimilarTrack(tracks[int(i)], float(scores[j])) for i, j in zip(ids[order], order)
                if int(i) in tracks]

    @_reports_damage
    def problems(self, root: PathLike | None = None) -> list[Problem]:
        """Files that could not be analysed or were skipped, with reasons (inside folder ``root``)."""
        return self.catalogue.problems(_scope(root))

    @_reports_damage
    def embeddings(self, root: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, (n, d) float32 matrix)`` of every track analysed with the current model (inside folder
        ``root``), for maps and playlist builders."""
        version = self.current_version()
        if version is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return self.catalogue.embeddings(version, _scope(root))

    def export_playlist(self, tracks: Sequence[Track], out: PathLike, title: str | None = None,
                        replace: bool = True) -> Path:
        """Write ``tracks`` as a playlist (format from the suffix: ``.xspf`` XSPF, else extended M3U8),
        atomically; returns the absolute path. Refuses (:class:`~musicsim.library.playlist.PlaylistTargetError`)
        a missing folder, anything inside the data folder, a file that is not a playlist, and an existing
        playlist unless ``replace`` (the app's save dialog has asked already; the CLI asks for --force)."""
        from musicsim.library.playlist import write_playlist

        return write_playlist(tracks, out, title, protected=[self.data_dir], replace=replace)

    def export_m3u8(self, tracks: Sequence[Track], out: PathLike, replace: bool = True) -> Path:
        """Write ``tracks`` as an extended M3U8 playlist (see :meth:`export_playlist`)."""
        from musicsim.library.playlist import write_playlist

        return write_playlist(tracks, out, protected=[self.data_dir], replace=replace, fmt="m3u8")

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


class _Search:
    """A nearest-neighbour search over some of the library: ``total`` vectors of model ``version``;
    ``query(vector, k, exclude)`` gives up to ``k`` nearest ``(ids, cosine similarities)``, best first,
    leaving out the ids in ``exclude``. Through the index (``index_query(vector, k, allowed)``), or
    exactly over a small folder scope's own ``exact = (ids, matrix)``."""

    def __init__(self, version: str, dim: int, total: int,
                 index_query: Callable[[np.ndarray, int, Callable[[int], bool] | None],
                                       tuple[np.ndarray, np.ndarray]] | None = None,
                 exact: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.version = version
        self.dim = dim
        self.total = total
        self._index_query = index_query
        self._exact = exact

    def query(self, vector: np.ndarray, k: int, exclude: set[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        vector = np.asarray(vector, np.float32)
        if self._exact is not None:
            ids, matrix = self._exact
            if not len(ids):
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            scores = matrix @ vector
            if exclude:
                scores = np.where(np.isin(ids, list(exclude)), -np.inf, scores)
            order = np.argsort(-scores, kind="stable")[:k]
            order = order[np.isfinite(scores[order])]
            return ids[order], scores[order]
        assert self._index_query is not None
        if exclude:
            return self._index_query(vector, k, lambda i: i not in exclude)
        return self._index_query(vector, k, None)
