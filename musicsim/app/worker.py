"""Engine calls off the GUI thread: the analysis worker thread and one-shot background tasks.

The worker only calls the :class:`~musicsim.library.library.Library` facade (the same functions the
CLI uses) and reports through Qt signals, which arrive queued on the GUI thread. Folder scope is the
engine's: the worker passes its job's folder as ``root=`` and never filters paths itself.
Failures are logged here, with their traceback, on the thread that caught them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from musicsim.library.library import Library
from musicsim.library.records import AnalysisProgress, AnalysisReport, Track

log = logging.getLogger(__name__)

FIRST_CHUNK = 400  # tracks in the snapshot's first part: more than a screenful, read at once
CHUNK = 5000  # tracks per later part: each takes the GUI thread a few tens of ms


@dataclass(frozen=True)
class Job:
    """One worker run over ``folder``: load its catalogue, optionally re-read (sync) it, optionally analyse."""

    folder: str  # the run's scope: only tracks inside it are listed and analysed
    sync: bool = True
    analyse: bool = True
    resumed: bool = False  # carries on a paused run (progress counts the songs done before the pause)


class AnalysisWorker(QThread):
    """Runs one :class:`Job`: catalogue snapshot, ``sync_folder``, then ``analyse_pending``.

    The snapshot of the tracks in the job's folder comes in parts, in the library table's default order
    (:meth:`Library.track_chunks`): ``tracks_loaded(list)`` the first screenful or so (at once, whatever
    the library's size), ``tracks_more(list)`` the next parts, ``snapshot_done()`` when it is whole.
    After the sync, the catalogue is read again in parts and compared here, off the GUI thread: only
    what changed goes out (``tracks_updated``, and ``tracks_removed(list[int])`` for tracks gone), so a
    huge library is never held twice nor merged whole on the GUI thread.
    ``tracks_updated(list)`` carries only tracks whose record changed since the last report, batched:
    during analysis a helper thread re-reads just the tracks the engine reported finished
    (``AnalysisProgress.finished_ids``) every ``update_interval`` seconds, so the engine's own threads
    are never held up by the app and a huge catalogue is never re-read whole.
    """

    tracks_loaded = Signal(list)  # list[Track]: the first part of a snapshot of the folder (replaces what is shown)
    tracks_more = Signal(list)  # list[Track]: the snapshot's next part (after those so far, in the same order)
    snapshot_done = Signal()  # the snapshot is whole
    tracks_updated = Signal(list)  # list[Track], changed since last report
    tracks_removed = Signal(list)  # list[int]: ids of tracks no longer in the folder
    sync_progress = Signal(int)  # tracks catalogued so far in this sync
    synced = Signal(object)  # SyncReport
    analysing = Signal()  # the sync (if any) is over; analysis begins
    device_known = Signal(str)
    progress = Signal(object)  # AnalysisProgress
    analysis_finished = Signal(object)  # AnalysisReport
    failed = Signal(str)  # a message for the user

    def __init__(self, library: Library, job: Job, workers: int | None = None, update_interval: float = 0.5,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.job = job
        self.workers = workers
        self.update_interval = update_interval
        self.cancel_event = threading.Event()
        self._known: dict[int, Track] = {}
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Ask the engine to stop after the batch in flight (results so far are kept)."""
        self.cancel_event.set()

    def run(self) -> None:  # runs on the worker thread
        try:
            self._emit_snapshot()  # the controller preloads the model once the GUI has shown it all
            if self.job.sync:
                self._sync(self.job.folder)
            if self.job.analyse and not self.cancel_event.is_set():
                self._analyse()
        except Exception as exc:  # any engine failure becomes a message, never a crash
            log.error("analysis of %s failed", self.job.folder, exc_info=True)
            self.failed.emit(str(exc) or type(exc).__name__)

    # -- steps -----------------------------------------------------------------------------
    def _emit_snapshot(self) -> None:
        first = True
        with self._lock:
            self._known = {}
        for chunk in self.library.track_chunks(self.job.folder, first=FIRST_CHUNK, size=CHUNK):
            with self._lock:
                self._known.update((t.id, t) for t in chunk)
            (self.tracks_loaded if first else self.tracks_more).emit(chunk)
            first = False
        if first:  # an empty folder
            self.tracks_loaded.emit([])
        self.snapshot_done.emit()

    def _reconcile(self) -> None:
        """After a whole sync: read the folder's tracks again (in parts) and report what differs from
        what was reported (including tracks gone), e.g. rows another process changed meanwhile."""
        seen: set[int] = set()
        for chunk in self.library.track_chunks(self.job.folder, first=CHUNK, size=CHUNK):
            seen.update(t.id for t in chunk)
            self._report(chunk)
        with self._lock:
            gone = [i for i in self._known if i not in seen]
            for i in gone:
                del self._known[i]
        if gone:
            self.tracks_removed.emit(gone)

    def _sync(self, folder: str) -> None:
        batch: list[Track] = []
        count = 0
        last = time.monotonic()

        def on_track(track: Track) -> None:
            nonlocal count, last
            batch.append(track)
            count += 1
            now = time.monotonic()
            if now - last >= 0.2 or len(batch) >= 2000:
                self._report(batch)
                self.sync_progress.emit(count)
                batch.clear()
                last = now

        report = self.library.sync_folder(folder, on_track=on_track, cancel=self.cancel_event)
        self._report(batch)
        if not report.cancelled:
            self._reconcile()  # authoritative: includes removals
        self.synced.emit(report)

    def _analyse(self) -> None:
        self.analysing.emit()
        self.device_known.emit(self.library.status().device)
        done = threading.Event()
        finished: list[int] = []  # stored by the engine, not yet re-read

        def on_progress(p: AnalysisProgress) -> None:  # called on the engine's threads: keep it short
            if p.finished_ids:
                with self._lock:
                    finished.extend(p.finished_ids)
            self.progress.emit(p)

        def take() -> list[int]:
            with self._lock:
                ids = finished[:]
                finished.clear()
            return ids

        def refresher() -> None:  # re-reads only the finished tracks, off the engine's threads
            while not done.wait(self.update_interval):
                ids = take()
                if ids:
                    self._report(self.library.tracks(ids))

        helper = threading.Thread(target=refresher, name="musicsim-app-refresh", daemon=True)
        helper.start()
        try:
            report: AnalysisReport = self.library.analyse_pending(
                progress=on_progress, cancel=self.cancel_event, workers=self.workers, root=self.job.folder)
        finally:
            done.set()
            helper.join()
        ids = take()
        if ids:
            self._report(self.library.tracks(ids))
        self.analysis_finished.emit(report)

    def _report(self, tracks: list[Track]) -> None:
        with self._lock:
            fresh = [t for t in tracks if self._known.get(t.id) != t]
            for t in fresh:
                self._known[t.id] = t
        if fresh:
            self.tracks_updated.emit(fresh)


class _Relay(QObject):
    """Lives on the GUI thread; its slots hand a task's outcome to plain Python callbacks there."""

    done = Signal(object)
    error = Signal(str)
    settled = Signal(QObject)  # after either callback: the runner forgets this relay

    def __init__(self, on_done: Callable[[Any], None], on_error: Callable[[str], None] | None,
                 parent: QObject) -> None:
        super().__init__(parent)
        self._on_done, self._on_error = on_done, on_error
        self.done.connect(self._deliver_done)  # QObject slot: queued onto this object's (GUI) thread
        self.error.connect(self._deliver_error)

    @Slot(object)
    def _deliver_done(self, result: Any) -> None:
        self._settle()
        self._on_done(result)

    @Slot(str)
    def _deliver_error(self, message: str) -> None:
        self._settle()
        if self._on_error is not None:
            self._on_error(message)

    def _settle(self) -> None:
        self.settled.emit(self)
        self.deleteLater()


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay, name: str) -> None:
        super().__init__()
        self.fn = fn
        self.relay = relay
        self.name = name

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported to the GUI as a message; the traceback goes to the log
            log.warning("background task %s failed", self.name, exc_info=True)
            self.relay.error.emit(str(exc) or type(exc).__name__)
        else:
            self.relay.done.emit(result)


class TaskRunner(QObject):
    """Runs short engine queries (similar songs, problems, embeddings) on a small thread pool.

    ``submit(fn, on_done, on_error)`` calls ``on_done(result)`` or ``on_error(message)`` on the GUI thread;
    a failure is always logged (with its traceback), whether or not ``on_error`` is given.
    """

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)  # 1: tasks run one at a time, in the order submitted
        self._live: set[QObject] = set()

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None, name: str | None = None) -> None:
        relay = _Relay(on_done, on_error, self)
        relay.settled.connect(self._forget)
        self._live.add(relay)
        self.pool.start(_Task(fn, relay, name or str(getattr(fn, "__qualname__", fn))))

    @Slot(QObject)
    def _forget(self, relay: QObject) -> None:
        self._live.discard(relay)

    def busy(self) -> bool:
        return bool(self._live)

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
