"""The analysis jobs of the open folder: one state, one queued job, one worker at a time (no widgets).

:class:`AnalysisController` owns the open folder (``folder``), the :class:`~musicsim.app.worker.AnalysisWorker`
lifecycle and the job waiting for it (``queued``). Its :class:`State`:

``IDLE``            nothing runs (never started, finished, stopped, or the run failed)
``READING_FOLDER``  a worker reads the folder's tags (``sync_folder``)
``ANALYSING``       a worker analyses the folder's pending songs
``PAUSED``          the user paused; ``busy`` while the worker still finishes the songs in flight.
                    Resume re-reads the folder if a read was cut short (or a change was noticed), then analyses
``STOPPING``        the worker was cancelled and finishes the songs in flight; then ``queued`` runs, or IDLE

A new job while one runs replaces the queued one and cancels the running one (results so far are kept).
A change noticed in the folder queues a re-read without cancelling anything, and is ignored while paused.
Worker signals are re-emitted on the GUI thread; ``progress`` only while reading or analysing. The
progress of a resumed run counts the whole stretch of work: the songs done before the pause are added to
the run's done and total (90 pending, paused after 38: the resumed run shows 40 / 90, not 2 / 52).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os

from PySide6.QtCore import QObject, Signal, Slot

from musicsim.app.worker import AnalysisWorker, Job
from musicsim.library.library import Library
from musicsim.library.records import AnalysisProgress, AnalysisReport, SyncReport

log = logging.getLogger(__name__)


class State(enum.Enum):
    IDLE = "idle"
    READING_FOLDER = "reading folder"
    ANALYSING = "analysing"
    PAUSED = "paused"
    STOPPING = "stopping"


class AnalysisController(QObject):
    """Starts, pauses, resumes, stops and queues analysis jobs over the open folder of one :class:`Library`."""

    state_changed = Signal(object)  # State
    started = Signal(object)  # Job: a worker run began
    tracks_loaded = Signal(list)  # list[Track]: the first part of the folder's tracks (replaces what is shown)
    tracks_more = Signal(list)  # list[Track]: their next part, in the same order
    snapshot_done = Signal()  # every track of the folder has come (tracks_loaded + tracks_more)
    tracks_updated = Signal(list)  # list[Track]: changed since the last report
    tracks_removed = Signal(list)  # list[int]: ids of tracks gone from the folder
    sync_progress = Signal(int)
    synced = Signal(object)  # SyncReport
    device_known = Signal(str)
    progress = Signal(object)  # AnalysisProgress, while reading or analysing only
    failed = Signal(str)  # the run could not go on: a message for the user
    run_finished = Signal()  # a worker run ended (a queued job may start right after)
    finished = Signal()  # a run ended and none follows: IDLE, or PAUSED and no longer busy

    def __init__(self, library: Library, workers: int | None = None, update_interval: float = 0.5,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.update_interval = update_interval
        self.worker: AnalysisWorker | None = None
        self.queued: Job | None = None
        self.last_report: AnalysisReport | None = None  # the latest analysis run's report
        self.error: str | None = None  # why the latest run failed (None: it did not)
        self._folder: str | None = None
        self._state = State.IDLE
        self._needs_sync = False  # the folder was not read to the end since opening or a noticed change
        self._done_before = (0, 0)  # (done, failed) by the earlier runs of a paused-and-resumed stretch
        self._run_done = (0, 0)  # (done, failed) by the running job so far

    # -- what is going on ----------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def folder(self) -> str | None:
        """The open music folder (absolute), the one record of it while the app runs."""
        return self._folder

    @property
    def busy(self) -> bool:
        """A worker thread is running (in any state but IDLE; PAUSED until the songs in flight are done)."""
        return self.worker is not None

    @property
    def paused(self) -> bool:
        return self._state is State.PAUSED

    # -- requests --------------------------------------------------------------------------------
    def open_folder(self, folder: str) -> None:
        """Make ``folder`` the open one and read and analyse it (after the running job stops)."""
        self._folder = os.path.abspath(folder)
        self.start(Job(self._folder))

    def rescan(self) -> None:
        if self._folder is not None:
            self.start(Job(self._folder))

    def start(self, job: Job) -> None:
        """Run ``job`` now, or replace the queued job with it and cancel the running one."""
        if job.sync:
            self._needs_sync = True
        if self.worker is None:
            self._launch(job)
            return
        self.queued = job
        self.worker.cancel()
        self._set_state(State.STOPPING)

    def pause(self) -> None:
        """Stop after the songs in flight, keeping what is left for :meth:`resume`; drops the queued job."""
        if self.worker is None or self._state is State.PAUSED:
            return
        self.queued = None  # a queued re-read is remembered in _needs_sync
        self.worker.cancel()
        self._set_state(State.PAUSED)

    def resume(self) -> None:
        """Carry on from a pause: re-read the folder if that was cut short, then analyse what is pending."""
        if self._state is not State.PAUSED or self._folder is None:
            return
        self.start(Job(self._folder, sync=self._needs_sync, resumed=True))

    def toggle_pause(self) -> None:
        if self._state is State.PAUSED:
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Stop after the songs in flight and forget the queued job (results so far are kept)."""
        if self.worker is None:
            return
        self.queued = None
        self.worker.cancel()
        self._set_state(State.STOPPING)

    def folder_changed(self) -> None:
        """Files changed in the folder: re-read it now, or after the running job (never while paused)."""
        if self._folder is None or self._state is State.PAUSED:
            return
        if self.worker is None:
            self.start(Job(self._folder))
        elif self.queued is None or not self.queued.sync:
            self._needs_sync = True
            self.queued = Job(self._folder)  # after the current run, without cancelling it

    def shutdown(self) -> None:
        """On quit: cancel the running job and wait for it (its finished songs are saved); nothing is emitted."""
        worker, self.worker = self.worker, None
        self.queued = None
        if worker is None:
            return
        worker.finished.disconnect(self._on_worker_done)
        worker.cancel()
        worker.wait()
        worker.deleteLater()
        self._state = State.IDLE

    # -- the worker ------------------------------------------------------------------------------
    def _launch(self, job: Job) -> None:
        self.error = None
        if job.resumed:
            self._done_before = (self._done_before[0] + self._run_done[0], self._done_before[1] + self._run_done[1])
        else:
            self._done_before = (0, 0)
        self._run_done = (0, 0)
        worker = AnalysisWorker(self.library, job, workers=self.workers, update_interval=self.update_interval,
                                parent=self)
        worker.tracks_loaded.connect(self.tracks_loaded)
        worker.tracks_more.connect(self.tracks_more)
        worker.snapshot_done.connect(self._on_snapshot_done)
        worker.tracks_updated.connect(self.tracks_updated)
        worker.tracks_removed.connect(self.tracks_removed)
        worker.sync_progress.connect(self.sync_progress)
        worker.synced.connect(self._on_synced)
        worker.analysing.connect(self._on_analysing)
        worker.device_known.connect(self.device_known)
        worker.progress.connect(self._on_progress)
        worker.analysis_finished.connect(self._on_analysis_finished)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_done)
        self.worker = worker
        log.debug("starting %s", job)
        self._set_state(State.READING_FOLDER if job.sync else State.ANALYSING)
        self.started.emit(job)
        worker.start(AnalysisWorker.Priority.LowPriority)

    def _set_state(self, state: State) -> None:
        if state is not self._state:
            log.debug("analysis: %s -> %s", self._state.value, state.value)
            self._state = state
            self.state_changed.emit(state)

    @Slot()
    def _on_snapshot_done(self) -> None:
        # Here, not on the worker: the table has every part now. The model loads in the background while
        # the folder is checked; loading it sooner (ONNX Runtime's import holds the GIL for long stretches)
        # would hold up the GUI thread while it still shows the parts.
        worker = self.worker
        if worker is not None and worker.job.analyse:
            self.library.preload()
        self.snapshot_done.emit()

    @Slot(object)
    def _on_synced(self, report: SyncReport) -> None:
        if not report.cancelled:  # read to the end, unless a change noticed since waits in the queue
            self._needs_sync = self.queued is not None and self.queued.sync
        self.synced.emit(report)

    @Slot()
    def _on_analysing(self) -> None:
        if self._state is State.READING_FOLDER:
            self._set_state(State.ANALYSING)

    @Slot(object)
    def _on_progress(self, p: AnalysisProgress) -> None:
        self._run_done = (p.done, p.failed)
        if self._state in (State.READING_FOLDER, State.ANALYSING):
            done, failed = self._done_before
            if done:
                p = dataclasses.replace(p, done=p.done + done, total=p.total + done, failed=p.failed + failed)
            self.progress.emit(p)

    @Slot(object)
    def _on_analysis_finished(self, report: AnalysisReport) -> None:
        self.last_report = report

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error = message
        self.failed.emit(message)

    @Slot()
    def _on_worker_done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.deleteLater()
        self.run_finished.emit()
        queued, self.queued = self.queued, None
        if queued is not None:
            self._launch(queued)
            return
        if self._state is not State.PAUSED:
            self._set_state(State.IDLE)
        self.finished.emit()
