"""The app's analysis controller without any widget: its state machine over a real Library.

Real parts: generated songs (conftest), the small random-weight model file, the SQLite catalogue and
hnswlib index in a temporary data folder, the worker thread. Each test records the controller's
state sequence and checks from the catalogue that no song was lost or analysed twice.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

import musicsim.library.library as library_module
from musicsim.app.analysis_controller import AnalysisController, State
from musicsim.app.worker import Job, TaskRunner
from musicsim.library.library import Library

TIMEOUT_MS = 120_000
N_SONGS = 100  # enough that analysis lasts well past the engine's first one-second batch
IDLE, READING, ANALYSING, PAUSED, STOPPING = (State.IDLE, State.READING_FOLDER, State.ANALYSING, State.PAUSED,
                                             State.STOPPING)


@pytest.fixture(scope="module")
def many_songs(tmp_path_factory: pytest.TempPathFactory, write_song) -> Path:
    """A read-only folder of short songs."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(N_SONGS):
        write_song(folder / f"song{i:03d}.wav", seed=100 + i, seconds=3.0, sample_rate=16000,
                   title=f"Song {i:02d}", artist=f"Artist {i % 7}", album="Many")
    return folder


@pytest.fixture
def library(data_dir: Path, model_file: Path):
    lib = Library(data_dir=data_dir, model_path=model_file)
    yield lib
    lib.close()


class Recorder:
    """A controller, with every state it entered, every job it started and every report it produced."""

    def __init__(self, library: Library, workers: int | None = 0) -> None:
        self.controller = AnalysisController(library, workers=workers, update_interval=0.1)
        self.states: list[State] = []
        self.started: list[Job] = []
        self.reports: list = []
        self.finished = 0
        self.failures: list[str] = []
        c = self.controller
        c.state_changed.connect(self.states.append)
        c.started.connect(self.started.append)
        c.run_finished.connect(lambda: self.reports.append(c.last_report))
        c.finished.connect(self._on_finished)
        c.failed.connect(self.failures.append)

    def _on_finished(self) -> None:
        self.finished += 1

    def wait_finished(self, qtbot, count: int) -> None:
        qtbot.waitUntil(lambda: self.finished >= count, timeout=TIMEOUT_MS)
        assert not self.controller.busy


@pytest.fixture
def recorder(qtbot, library: Library):
    made: list[Recorder] = []

    def make(lib: Library | None = None, workers: int | None = 0) -> Recorder:
        made.append(Recorder(lib or library, workers))
        return made[-1]

    yield make
    for r in made:
        r.controller.shutdown()


def slow_tag_reads(monkeypatch, seconds: float = 0.05):
    """Tags read one file per batch, slowly: the folder read lasts long enough to act on. Returns a
    function that makes them fast again."""
    real = library_module.read_tags
    monkeypatch.setattr(library_module, "SYNC_BATCH", 1)
    monkeypatch.setattr(library_module, "read_tags", lambda path: time.sleep(seconds) or real(path))
    return lambda: monkeypatch.setattr(library_module, "read_tags", real)


def analysed_once(library: Library, reports: list) -> None:
    """Every song analysed, each exactly once over all the runs."""
    status = library.status()
    assert status.analysed == status.tracks and status.pending == 0, status
    assert sum(r.analysed for r in {id(r): r for r in reports if r is not None}.values()) == status.tracks


# ---------------------------------------------------------------------------- pause and resume
def test_reading_analysing_paused_analysing_idle_without_redoing_work(qtbot, recorder, library, many_songs):
    r = recorder()
    c = r.controller

    def pause_once_results_are_saved(p) -> None:  # on the GUI thread, as a click would be
        if p.done >= 1 and c.state is ANALYSING:
            c.pause()

    c.progress.connect(pause_once_results_are_saved)
    c.open_folder(str(many_songs))
    assert c.folder == str(many_songs) and c.busy
    assert r.started == [Job(str(many_songs))]
    r.wait_finished(qtbot, 1)
    assert r.states == [READING, ANALYSING, PAUSED]
    assert c.state is PAUSED and c.queued is None
    paused = library.status()
    first = c.last_report
    assert first is not None and first.cancelled and first.analysed == paused.analysed >= 1
    assert paused.pending >= 1 and paused.tracks == N_SONGS

    c.progress.disconnect(pause_once_results_are_saved)
    c.folder_changed()  # ignored while paused
    assert c.state is PAUSED and not c.busy and c.queued is None
    c.resume()  # the folder was read to the end: straight on to analysis
    assert r.started[-1] == Job(str(many_songs), sync=False, resumed=True) and c.state is ANALYSING
    r.wait_finished(qtbot, 2)
    assert r.states == [READING, ANALYSING, PAUSED, ANALYSING, IDLE]
    assert c.last_report.analysed == paused.pending and not c.last_report.cancelled
    analysed_once(library, r.reports)
    assert c.error is None and not r.failures


def test_pause_while_reading_the_folder_then_resume_reads_it_again(qtbot, recorder, library, many_songs,
                                                                  monkeypatch):
    fast_again = slow_tag_reads(monkeypatch)
    r = recorder()
    c = r.controller
    loaded: list[int] = []
    c.tracks_updated.connect(lambda tracks: loaded.append(len(tracks)))
    c.open_folder(str(many_songs))
    qtbot.waitUntil(lambda: sum(loaded) >= 2, timeout=TIMEOUT_MS)
    c.toggle_pause()
    assert c.state is PAUSED
    r.wait_finished(qtbot, 1)
    cut_short = library.status()
    assert 2 <= cut_short.tracks < N_SONGS and cut_short.analysed == 0, cut_short
    c.folder_changed()  # ignored while paused: nothing starts
    assert len(r.started) == 1 and c.queued is None

    fast_again()
    c.toggle_pause()  # Resume: the read was cut short, so it reads the folder again, then analyses
    assert r.started[-1] == Job(str(many_songs), sync=True, resumed=True)
    r.wait_finished(qtbot, 2)
    assert r.states == [READING, PAUSED, READING, ANALYSING, IDLE]
    assert library.status().tracks == N_SONGS
    analysed_once(library, r.reports)


# ---------------------------------------------------------------------------- stop, replace, queue
def test_stop_keeps_results_and_rescan_analyses_only_the_rest(qtbot, recorder, library, many_songs):
    r = recorder()
    c = r.controller

    def stop_once_results_are_saved(p) -> None:
        if p.done >= 1 and c.state is ANALYSING:
            c.stop()

    c.progress.connect(stop_once_results_are_saved)
    c.open_folder(str(many_songs))
    r.wait_finished(qtbot, 1)
    assert r.states == [READING, ANALYSING, STOPPING, IDLE]
    stopped = library.status()
    assert c.last_report.cancelled and c.last_report.analysed == stopped.analysed and stopped.pending >= 1
    c.progress.disconnect(stop_once_results_are_saved)

    c.rescan()
    r.wait_finished(qtbot, 2)
    assert r.states[-3:] == [READING, ANALYSING, IDLE]
    assert c.last_report.analysed == stopped.pending
    analysed_once(library, r.reports)


def test_a_new_job_while_one_runs_replaces_the_queued_one(qtbot, recorder, library, many_songs, monkeypatch):
    fast_again = slow_tag_reads(monkeypatch)
    r = recorder()
    c = r.controller
    folder = str(many_songs)
    c.open_folder(folder)
    qtbot.waitUntil(lambda: library.status().tracks >= 1, timeout=TIMEOUT_MS)
    c.start(Job(folder, sync=False))
    assert c.state is STOPPING and c.queued == Job(folder, sync=False)
    c.start(Job(folder, sync=True, analyse=True))  # replaces the queued one
    assert c.queued == Job(folder) and c.worker.cancel_event.is_set()
    fast_again()
    r.wait_finished(qtbot, 1)
    assert r.started == [Job(folder), Job(folder)]  # the replaced job never ran
    assert r.states == [READING, STOPPING, READING, ANALYSING, IDLE]
    assert library.status().tracks == N_SONGS
    analysed_once(library, r.reports)


def test_a_change_noticed_while_analysing_queues_a_reread_without_cancelling(qtbot, recorder, library, copy_music,
                                                                             write_song):
    music = copy_music()
    r = recorder()
    c = r.controller
    noticed: list[bool] = []

    def add_a_song_once_analysing(_p) -> None:
        if not noticed and c.state is ANALYSING:
            write_song(music / "Zeta" / "Late Arrival.flac", seed=42, seconds=5.0, title="Late Arrival",
                       artist="Zeta", album="New")
            c.folder_changed()
            noticed.append(c.worker.cancel_event.is_set())
            assert c.queued == Job(str(music)) and c.state is ANALYSING

    c.progress.connect(add_a_song_once_analysing)
    c.open_folder(str(music))
    r.wait_finished(qtbot, 1)
    assert noticed == [False]  # the running job was not cancelled
    assert r.states == [READING, ANALYSING, READING, ANALYSING, IDLE]
    assert len(r.started) == 2 and not r.reports[0].cancelled
    assert library.status().tracks == 7
    analysed_once(library, r.reports)

    c.folder_changed()  # idle: a change starts a re-read at once
    assert c.state is READING
    r.wait_finished(qtbot, 2)
    assert c.last_report.analysed == 0  # nothing new: nothing analysed again


# ---------------------------------------------------------------------------- failure, quitting
def test_a_failed_run_says_why_and_keeps_the_tags(qtbot, recorder, copy_music, tmp_path):
    lib = Library(data_dir=tmp_path / "d2", model_path=tmp_path / "nowhere.pt")
    try:
        r = recorder(lib)
        c = r.controller
        shown: dict[int, object] = {}  # what the signals say the folder holds: snapshot parts, updates, removals
        c.tracks_loaded.connect(lambda tracks: (shown.clear(), shown.update((t.id, t) for t in tracks)))
        c.tracks_more.connect(lambda tracks: shown.update((t.id, t) for t in tracks))
        c.tracks_updated.connect(lambda tracks: shown.update((t.id, t) for t in tracks))
        c.tracks_removed.connect(lambda ids: [shown.pop(i) for i in ids])
        c.open_folder(str(copy_music()))
        r.wait_finished(qtbot, 1)
        assert r.states == [READING, ANALYSING, IDLE]
        assert len(r.failures) == 1 and "nowhere.pt" in r.failures[0] and c.error == r.failures[0]
        assert len(shown) == 6 and lib.status().tracks == 6
        c.rescan()
        assert c.error is None  # a new run starts afresh
        r.wait_finished(qtbot, 2)
        assert c.error is not None
    finally:
        lib.close()


def test_shutdown_mid_run_waits_for_the_songs_in_flight(qtbot, recorder, library, many_songs):
    r = recorder()
    c = r.controller
    c.open_folder(str(many_songs))
    qtbot.waitUntil(lambda: c.state is ANALYSING, timeout=TIMEOUT_MS)
    worker = c.worker
    c.shutdown()
    assert worker.isFinished() and c.worker is None and c.queued is None and c.state is IDLE
    qtbot.wait(50)
    assert r.finished == 0  # quitting announces nothing
    status = library.status()
    assert status.analysed + status.pending == N_SONGS


# ---------------------------------------------------------------------------- background tasks
def test_task_failures_are_logged_with_their_traceback(qtbot):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("musicsim.app.worker")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    runner = TaskRunner()
    try:
        errors: list[str] = []
        results: list[int] = []

        def broken() -> int:
            raise ValueError("no such song")

        runner.submit(broken, results.append, errors.append, name="a broken query")
        runner.submit(broken, results.append)  # no on_error: still logged
        runner.submit(lambda: 42, results.append)
        qtbot.waitUntil(lambda: not runner.busy(), timeout=10_000)
        assert errors == ["no such song"] and results == [42]
        failed = [rec for rec in records if rec.levelno >= logging.WARNING]
        assert len(failed) == 2 and any("a broken query" in rec.getMessage() for rec in failed)
        assert all(rec.exc_info and rec.exc_info[0] is ValueError for rec in failed)
        assert "broken" in logging.Formatter().formatException(failed[0].exc_info)
    finally:
        runner.wait()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
