"""The main window: builds the parts and wires their signals; it keeps no state of its own but layout.

Parts (each in its own module): :class:`~musicsim.app.analysis_controller.AnalysisController`
(jobs and the open folder), :class:`~musicsim.app.library_pane.LibraryPane` (table, search, genre
filter), :class:`~musicsim.app.listening.Listening` (the queue, its builders, radio and queue file) shown
by :class:`~musicsim.app.queue_pane.QueuePane` ("Up next") and played on the
:class:`~musicsim.app.player.PlayerBar`, :class:`~musicsim.app.playlist.PlaylistPane` (the similar-songs
preview of the selected song), the genre map, the problems view,
:class:`~musicsim.app.status_area.StatusArea` and :class:`~musicsim.app.actions.Actions`.
Who owns which state is listed in docs/architecture.md ("The app: who owns what"). Every engine call
goes through the :class:`~musicsim.library.library.Library` facade off the GUI thread, scoped to the open folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from musicsim.app.actions import Actions, fill_menu_bar, fill_toolbar
from musicsim.app.analysis_controller import AnalysisController, State
from musicsim.app.desktop import copy_text, open_containing_folder
from musicsim.app.empty_state import EmptyState
from musicsim.app.export import export_playlist
from musicsim.app.genre_map import GenreMapWidget
from musicsim.app.genre_text import agreement_text, agreement_tooltip, label_name, label_text, unknown_words_text
from musicsim.app.journey_dialog import JourneyDialog
from musicsim.app.library_pane import LibraryPane
from musicsim.app.listening import Listening, quoted
from musicsim.app.player import PlayerBar
from musicsim.app.playlist import PlaylistPane
from musicsim.app.preferences import PreferencesDialog
from musicsim.app.problems import ProblemsView
from musicsim.app.projection import pca_2d
from musicsim.app.queue import QueueSource
from musicsim.app.queue_pane import QueuePane
from musicsim.app.queue_store import QUEUE_FILE, QueueFile
from musicsim.app.retag_dialog import RetagDialog
from musicsim.app.settings import AppSettings
from musicsim.app.status_area import StatusArea
from musicsim.app.watcher import FolderWatcher
from musicsim.app.worker import Job, TaskRunner
from musicsim.formatting import format_percent
from musicsim.genres.search import UnknownWords
from musicsim.library.library import Library
from musicsim.library.records import AnalysisProgress, Problem, SimilarTrack, SyncReport, Track
from musicsim.library.scanner import AUDIO_EXTENSIONS
from musicsim.paths import resources_dir

log = logging.getLogger(__name__)

LIBRARY_TAB, MAP_TAB, PROBLEMS_TAB = range(3)
SOUNDS_LIKE_LIMIT = 300  # songs a "Sounds like" search shows, best first


def app_icon() -> QIcon:
    icons = resources_dir() / "icons"
    icon = QIcon()
    for name in ("musicsim.svg", "musicsim.png"):
        if (icons / name).is_file():
            icon.addFile(str(icons / name))
    return icon


class MainWindow(QMainWindow):
    """The musicsim desktop window over one :class:`Library`."""

    playlist_changed = Signal()  # the similar-songs list (or its message) was replaced

    def __init__(self, library: Library, settings: AppSettings | None = None, folder: str | None = None,
                 workers: int | None = None) -> None:
        super().__init__()
        self.library = library
        self.settings = settings or AppSettings()
        self._similar_seq = 0  # answers to older similar-songs queries are dropped
        self._map_stale = True
        self._genres_running = False  # a refresh of the learned genres is in flight
        self._genres_again = False  # ... and another is wanted when it ends
        self._retagging = False  # genre tags are being written or undone

        self.setWindowTitle("musicsim")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.tasks = TaskRunner(self)
        # learning the user's genres can take a while on a big library: a thread of its own, so it never holds up
        # the similar-songs preview or a search
        self.genre_tasks = TaskRunner(self, threads=1)
        self.watcher = FolderWatcher(parent=self)
        self.analysis = AnalysisController(library, workers=workers, parent=self)
        self.commands = Actions.create(self)
        self._build_ui()
        fill_menu_bar(self.menuBar(), self.commands)
        self.addActions(self.commands.window_shortcuts())
        self._connect()
        self._restore_layout()
        self._update_actions()
        self._update_track_actions(None)
        self._update_queue_actions()

        self.tasks.submit(lambda: self.library.status().device, self.status.show_device, name="device name")
        self.listening.restore()  # the queue of the last session (catalogue only: no model needed)
        folder = folder or self.settings.folder
        if folder and os.path.isdir(folder):
            self.open_folder(folder)
        else:
            self.pages.setCurrentWidget(self.empty_page)
            if folder:
                self.status.flash(f"The music folder {folder} is not there any more.", 10000)

    # ================================================================ construction
    def _build_ui(self) -> None:
        self.empty_page = EmptyState(app_icon())
        self.library_pane = LibraryPane(self.commands)
        self.genre_map = GenreMapWidget()
        self._map_timer = QTimer(self, singleShot=True, interval=2000)
        self.problems_view = ProblemsView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.library_pane, "Library")
        self.tabs.addTab(self.genre_map, "Genre Map")
        self.tabs.addTab(self.problems_view, "Problems")

        self.playlist = PlaylistPane(self.settings.playlist_length, self.settings.export_include_seed)
        self.player = PlayerBar(self.settings.volume)
        self.listening = Listening(self.library, self.tasks, self.player, QueueFile(self.library.data_dir / QUEUE_FILE),
                                   lambda: self.settings.filters, self)
        self.playback = self.listening.playback
        self.queue_pane = QueuePane(self.listening.queue, self.commands)
        self.right = QSplitter(Qt.Orientation.Vertical)  # Up next above, the similar-songs preview below
        self.right.addWidget(self.queue_pane)
        self.right.addWidget(self.playlist)
        self.right.setChildrenCollapsible(False)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fdecea; color: #611a15; padding: 6px 10px;")
        self.banner.hide()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.library_page = QWidget()
        layout = QVBoxLayout(self.library_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.player)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(self.library_page)
        self.setCentralWidget(self.pages)

        self.toolbar = QToolBar("Main")
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        fill_toolbar(self.toolbar, self.commands)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self._filter_action = self.toolbar.addWidget(self.library_pane.filter_bar)
        self.addToolBar(self.toolbar)
        self.status = StatusArea(self.statusBar())

    def _connect(self) -> None:
        a = self.commands
        a.choose_folder.triggered.connect(self.choose_folder)
        a.rescan.triggered.connect(self.analysis.rescan)
        a.pause.triggered.connect(self.analysis.toggle_pause)
        a.stop.triggered.connect(self.analysis.stop)
        a.export.triggered.connect(self.export_playlist)
        a.save_queue.triggered.connect(self.save_queue)
        a.preferences.triggered.connect(self.edit_preferences)
        a.write_genres.triggered.connect(self.write_genre_tags)
        a.undo_genre_writes.triggered.connect(self.undo_genre_writes)
        a.quit.triggered.connect(self.close)
        a.play_similar.triggered.connect(self.play_similar)
        a.play_next.triggered.connect(lambda: self._with_selection(self.listening.play_next))
        a.add_to_queue.triggered.connect(lambda: self._with_selection(self.listening.add_to_queue))
        a.start_radio.triggered.connect(self.start_radio)
        a.mix.triggered.connect(self.mix)
        a.journey.triggered.connect(self.journey)
        a.remove_from_queue.triggered.connect(lambda: self.listening.remove(self.queue_pane.selected_rows()))
        a.move_up.triggered.connect(lambda: self._move_queue_rows(-1))
        a.move_down.triggered.connect(lambda: self._move_queue_rows(+1))
        a.clear_queue.triggered.connect(self.listening.clear)
        a.play_pause.triggered.connect(self.playback.toggle)
        a.next.triggered.connect(self.playback.next)
        a.previous.triggered.connect(self.playback.previous)
        a.find.triggered.connect(self.library_pane.focus_search)
        for action, tab in ((a.show_library, LIBRARY_TAB), (a.show_map, MAP_TAB), (a.show_problems, PROBLEMS_TAB)):
            action.triggered.connect(lambda _=False, tab=tab: self.tabs.setCurrentIndex(tab))
        a.reveal.triggered.connect(lambda: self._with_selected(lambda t: open_containing_folder(t.path)))
        a.copy_path.triggered.connect(lambda: self._with_selected(lambda t: copy_text(t.path)))
        a.about.triggered.connect(self._about)

        self.empty_page.choose_folder.connect(self.choose_folder)
        pane = self.library_pane
        pane.play_similar_requested.connect(self.play_similar)
        pane.selection_changed.connect(self._update_track_actions)
        pane.selection_settled.connect(self._on_selection_settled)
        pane.sounds_like_requested.connect(self.sounds_like)
        self.genre_map.track_clicked.connect(pane.select_track)
        self._map_timer.timeout.connect(self._on_tab_changed)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.playlist.length_changed.connect(self._on_length_changed)
        self.playlist.export_requested.connect(self.export_playlist)
        self.playlist.include_seed_changed.connect(self._on_include_seed)
        self.playlist.play_row.connect(self._play_preview_from)
        self.queue_pane.play_row.connect(self.playback.jump_to)
        self.queue_pane.view.selectionModel().selectionChanged.connect(self._update_queue_actions)
        self.listening.queue.changed.connect(self._update_queue_actions)
        self.listening.message.connect(self.status.flash)
        self.listening.building.connect(self.queue_pane.set_doing)
        self.player.volume_changed.connect(self._on_volume)
        self.player.failed.connect(self.status.flash)
        self.watcher.changed.connect(self.analysis.folder_changed)

        c = self.analysis
        c.state_changed.connect(self._on_state_changed)
        c.started.connect(self._on_started)
        c.tracks_loaded.connect(self._on_tracks_loaded)
        c.tracks_more.connect(self._on_tracks_more)
        c.snapshot_done.connect(self._on_snapshot_done)
        c.tracks_updated.connect(self._on_tracks_updated)
        c.tracks_removed.connect(self._on_tracks_removed)
        c.sync_progress.connect(self.status.sync_progress)
        c.synced.connect(self.status.synced)
        c.synced.connect(self._on_synced)
        c.device_known.connect(self.status.show_device)
        c.progress.connect(self.status.progress)
        c.progress.connect(self._on_progress)
        c.failed.connect(self._on_failed)
        c.run_finished.connect(self._on_run_finished)
        c.finished.connect(self._update_actions)

    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else None
            width = min(1280, avail.width() - 40) if avail else 1280
            height = min(800, avail.height() - 40) if avail else 800
            self.resize(width, height)
        for key, restore in (("window_state", self.restoreState), ("splitter", self.splitter.restoreState),
                             ("right_splitter", self.right.restoreState),
                             ("header", self.library_pane.restore_header_state)):
            blob = self.settings.layout(key)
            if blob is not None:
                restore(blob)
        if self.settings.layout("splitter") is None:
            self.splitter.setSizes([self.width() * 3 // 5, self.width() * 2 // 5])
        if self.settings.layout("right_splitter") is None:
            self.right.setSizes([self.height() // 2, self.height() // 2])

    def _save_layout(self) -> None:
        self.settings.set_layout("geometry", self.saveGeometry())
        self.settings.set_layout("window_state", self.saveState())
        self.settings.set_layout("splitter", self.splitter.saveState())
        self.settings.set_layout("right_splitter", self.right.saveState())
        self.settings.set_layout("header", self.library_pane.header_state())
        self.settings.sync()

    # ================================================================ the folder
    @Slot()
    def choose_folder(self) -> None:
        music = Path.home() / "Music"
        start = self.analysis.folder or str(music if music.is_dir() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose your music folder", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        """Show the library for ``folder``: catalogue, sync and analyse it in the background."""
        folder = os.path.abspath(folder)
        log.info("opening the music folder %s", folder)
        if folder != self.analysis.folder:  # another library: nothing of the old one stays on screen
            self._similar_seq += 1
            self.playlist.clear("No song selected yet.")
            self._show_problems(folder, [])
            self.genre_map.set_points([], np.zeros((0, 2)), [], [])
            self._map_stale = True
            self.library_pane.set_suggestions({})
            self.library_pane.set_agreement("")
        self.settings.folder = folder  # what the next launch opens
        self.settings.sync()
        self.setWindowTitle(f"{Path(folder).name or folder} — musicsim")
        self.library_pane.set_empty_text(f"Reading {folder}…")
        self.pages.setCurrentWidget(self.library_page)
        self.library_pane.focus_table()
        self.commands.choose_folder.setText("Change Folder…")
        self.analysis.open_folder(folder)
        self._update_actions()

    # ================================================================ analysis feedback
    @Slot(object)
    def _on_state_changed(self, state: State) -> None:
        if state is State.PAUSED and self.analysis.busy:
            self.status.show_text("Pausing after the songs in progress…")
        elif state is State.STOPPING and self.analysis.queued is None:
            self.status.show_text("Stopping after the songs in progress…")
        self._update_actions()

    @Slot(object)
    def _on_started(self, job: Job) -> None:
        self.banner.hide()
        self.status.started(job)

    @Slot(list)
    def _on_tracks_loaded(self, tracks: list[Track]) -> None:
        self.library_pane.begin_load(tracks)
        self._after_tracks_changed()

    @Slot(list)
    def _on_tracks_more(self, tracks: list[Track]) -> None:
        self.library_pane.load_more(tracks)
        self._after_tracks_changed()

    @Slot()
    def _on_snapshot_done(self) -> None:
        self.library_pane.load_done()
        self._after_tracks_changed()

    @Slot(list)
    def _on_tracks_removed(self, ids: list[int]) -> None:
        self.library_pane.remove_tracks(ids)
        self._after_tracks_changed()
        self.library_pane.search_again()

    @Slot(object)
    def _on_synced(self, report: SyncReport) -> None:
        folder = self.analysis.folder
        if report.cancelled or folder is None:
            return
        kinds = ", ".join(sorted(e.lstrip(".").upper() for e in AUDIO_EXTENSIONS if e not in (".wave", ".oga")))
        self.library_pane.set_empty_text(
            f"No music found in {folder}.\n\nmusicsim looks for audio files ({kinds}) in this folder and all "
            "its sub-folders. Choose the folder that holds your music, or copy some songs here: they appear "
            "on their own.")

    @Slot(object)
    def _on_progress(self, p: AnalysisProgress) -> None:
        self.library_pane.set_analysing_path(p.current_path)

    @Slot(list)
    def _on_tracks_updated(self, tracks: list[Track]) -> None:
        self.library_pane.update_tracks(tracks)
        self.listening.queue.update_tracks(tracks)
        self._after_tracks_changed()
        seed_id = self.playlist.seed_id
        if seed_id is not None and self.playlist.row_count() == 0:
            seed = self.library_pane.track(seed_id)
            if seed is not None and seed.status == "analysed":
                self.show_similar(seed.id)  # the seed was waiting for its analysis

    def _after_tracks_changed(self) -> None:
        self._map_stale = True
        self.status.show_counts(self.library_pane.counts())
        self._update_track_actions(self.library_pane.selected_track())
        if self.tabs.currentWidget() is self.genre_map and not self._map_timer.isActive():
            self._map_timer.start()  # redraw the map as results come in, at most every couple of seconds

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.banner.setText(f"Analysis could not run: {message}")
        self.banner.show()

    @Slot()
    def _on_run_finished(self) -> None:
        pane, analysis = self.library_pane, self.analysis
        pane.resort()  # rows updated during analysis kept their place until now
        self.status.finished(analysis.last_report, analysis.error, analysis.paused, pane.counts().get("pending", 0))
        self._refresh_problems()
        self._refresh_genres()
        pane.search_again()  # newly analysed songs join the "Sounds like" results
        if analysis.folder:
            self.watcher.watch(analysis.folder, (t.path for t in pane.tracks()))

    @Slot()
    def _update_actions(self) -> None:
        a, analysis = self.commands, self.analysis
        busy, paused, has_folder = analysis.busy, analysis.paused, analysis.folder is not None
        self.library_pane.set_analysing(busy and not paused)
        a.rescan.setEnabled(has_folder)
        for action in (a.write_genres, a.undo_genre_writes):  # the analysis reads the files: one at a time
            action.setEnabled(has_folder and not busy and not self._retagging)
        self._filter_action.setVisible(has_folder)
        a.pause.setEnabled(has_folder and (busy or paused))
        a.show_paused(paused)
        a.stop.setEnabled(busy)
        a.export.setEnabled(self.playlist.row_count() > 0)

    @Slot(object)
    def _update_track_actions(self, track: Track | None) -> None:
        """The selected songs' commands, in the menus and the table's context menu alike."""
        a = self.commands
        selected = self.library_pane.selected_tracks()
        analysed = [t for t in selected if t.status == "analysed"]
        for action in (a.play_similar, a.play_next, a.add_to_queue, a.reveal, a.copy_path):
            action.setEnabled(track is not None)
        a.start_radio.setEnabled(bool(analysed))
        a.mix.setEnabled(len(analysed) >= 2)
        a.journey.setEnabled(track is not None and track.status == "analysed")

    @Slot()
    def _update_queue_actions(self, *_args) -> None:
        a, queue = self.commands, self.listening.queue
        rows = self.queue_pane.selected_rows()
        movable = [r for r in rows if r != queue.current]
        a.remove_from_queue.setEnabled(bool(movable))
        a.move_up.setEnabled(bool(rows) and min(rows) > 0)
        a.move_down.setEnabled(bool(rows) and max(rows) < queue.row_count() - 1)
        a.clear_queue.setEnabled(queue.row_count() > (0 if queue.current is None else 1))
        a.save_queue.setEnabled(queue.row_count() > 0)

    # ================================================================ genres learned from the user's tags
    def _refresh_genres(self) -> None:
        """Suggestions for untagged files and the agreement with the user's tags, computed off the GUI thread
        after each run (they follow the embeddings and the files' tags; one refresh at a time, a request during
        one runs once it ends)."""
        if self._genres_running:
            self._genres_again = True
            return
        library, folder = self.library, self.analysis.folder
        if folder is None:
            return
        self._genres_running, self._genres_again = True, False

        def learn() -> tuple[str, dict[int, tuple[str, float]], object]:
            suggestions = {s.track.id: (s.genre, s.confidence) for s in library.genre_suggestions(root=folder)}
            return folder, suggestions, library.genre_agreement()

        self.genre_tasks.submit(learn, self._show_genres, self._on_genres_error, name="learned genres")

    def _show_genres(self, result) -> None:
        folder, suggestions, agreement = result
        self._genres_ended()
        if folder != self.analysis.folder:
            return
        self.library_pane.set_suggestions(suggestions)
        self.library_pane.set_agreement(agreement_text(agreement), agreement_tooltip(agreement))

    def _on_genres_error(self, message: str) -> None:
        self._genres_ended()
        self.library_pane.set_agreement(f"Your genre tags could not be learned from: {message}")

    def _genres_ended(self) -> None:
        self._genres_running = False
        if self._genres_again:
            self._refresh_genres()

    # ================================================================ writing genre tags, and undoing that
    @Slot()
    def write_genre_tags(self) -> None:
        """List the genres learned from the user's tags (off the GUI thread), then write the ones ticked."""
        library, folder = self.library, self.analysis.folder
        if folder is None or self.analysis.busy or self._retagging:
            return
        self._set_retagging(True)

        def listed(result) -> None:
            suggestions, agreement = result
            self._set_retagging(False)
            if not suggestions:
                self.status.flash(agreement_text(agreement) if len(agreement.learned_genres) < 2
                                  else "Every analysed file has a genre tag already: nothing to suggest.", 10000)
                return
            dialog = RetagDialog(suggestions, agreement_text(agreement), self)
            if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen():
                self._write_genres(dialog.chosen())

        self.genre_tasks.submit(lambda: (library.genre_suggestions(root=folder), library.genre_agreement()), listed,
                                self._retag_failed, name="genre suggestions")

    def _write_genres(self, chosen: list) -> None:
        library = self.library
        self._set_retagging(True)

        def write():
            report = library.write_genres(chosen)
            return report, library.tracks([t.id for t in report.written])

        def done(result) -> None:
            report, tracks = result
            self._set_retagging(False)
            self.library_pane.update_tracks(tracks)
            failed = f" ({len(report.failed):,} could not be written: see the log)" if report.failed else ""
            n = len(report.written)
            self.status.flash(f"Wrote the genre of {n:,} file{'' if n == 1 else 's'}{failed}. "
                              "File > Undo Genre Tag Writes puts them back.", 10000)
            self._refresh_genres()

        self.genre_tasks.submit(write, done, self._retag_failed, name="write genre tags")

    @Slot()
    def undo_genre_writes(self) -> None:
        library, folder = self.library, self.analysis.folder
        if folder is None or self.analysis.busy or self._retagging:
            return
        self._set_retagging(True)

        def undo():
            return library.undo_genre_writes(), library.tracks(root=folder)

        def done(result) -> None:
            report, tracks = result
            self._set_retagging(False)
            self.library_pane.update_tracks(tracks)
            if report.run is None:
                self.status.flash("No genre tag writing to undo.")
            else:
                problems = f"; {len(report.problems):,} could not be restored (see the log)" if report.problems else ""
                n = report.restored
                self.status.flash(f"Restored {n:,} file{'' if n == 1 else 's'} as before the genre tags were "
                                  f"written{problems}.", 10000)
            self._refresh_genres()

        self.genre_tasks.submit(undo, done, self._retag_failed, name="undo genre tags")

    def _retag_failed(self, message: str) -> None:
        self._set_retagging(False)
        self.status.flash(f"Genre tags: {message}", 10000)

    def _set_retagging(self, on: bool) -> None:
        self._retagging = on
        self._update_actions()

    # ================================================================ "Sounds like" search
    @Slot(str)
    def sounds_like(self, words: str) -> None:
        """Rank the open folder's songs by how well their sound fits ``words`` (off the GUI thread)."""
        library, folder, pane = self.library, self.analysis.folder, self.library_pane

        def search() -> tuple[str, object]:
            try:
                found = library.search(words, n=SOUNDS_LIKE_LIMIT, root=folder)
            except UnknownWords as exc:
                return "unknown", unknown_words_text(exc.words, exc.vocabulary)
            except LookupError:  # no model's outputs stored yet
                return "unknown", "Sounds like ranks the songs once they have been analysed."
            return "found", [(s.track.id, s.score) for s in found]

        def done(result: tuple[str, object]) -> None:
            kind, value = result
            if kind == "found":
                pane.show_matches(words, value)  # type: ignore[arg-type]
            else:
                pane.show_search_problem(words, str(value))

        def failed(message: str) -> None:
            pane.show_search_problem(words, message)

        self.tasks.submit(search, done, failed, name="sounds like search")

    # ================================================================ problems and the genre map
    def _refresh_problems(self) -> None:
        library, folder = self.library, self.analysis.folder
        self.tasks.submit(lambda: (folder, library.problems(root=folder)), lambda r: self._show_problems(*r),
                          name="problems")

    def _show_problems(self, folder: str | None, problems: list[Problem]) -> None:
        if folder != self.analysis.folder:
            return  # asked for before another folder was opened
        self.problems_view.set_problems(problems)
        n = len(problems)
        self.tabs.setTabText(PROBLEMS_TAB, f"Problems ({n})" if n else "Problems")

    @Slot()
    @Slot(int)
    def _on_tab_changed(self, _index: int = -1) -> None:
        if self.tabs.currentWidget() is self.genre_map and self._map_stale:
            self._refresh_map()

    def _refresh_map(self) -> None:
        self._map_stale = False
        library, folder = self.library, self.analysis.folder

        def project() -> tuple[str | None, np.ndarray, np.ndarray]:  # PCA of 100 000 rows takes a while
            ids, matrix = library.embeddings(root=folder)
            return folder, ids, pca_2d(matrix)

        self.tasks.submit(project, self._show_map, self._on_map_error, name="genre map")

    def _show_map(self, result: tuple[str | None, np.ndarray, np.ndarray]) -> None:
        folder, ids, points = result
        if folder != self.analysis.folder:
            return
        # the table may lag the catalogue by a moment: a track it does not know yet waits for the next redraw
        found = [(i, t) for i, t in enumerate(map(self.library_pane.track, ids.tolist())) if t is not None]
        tracks = [t for _, t in found]
        labels = [f"{t.display_title} — {t.artist}\n{label_text(t) or '?'} "
                  f"{format_percent(t.genre_label.confidence if t.genre_label else t.confidence)}"
                  for t in tracks]
        # coloured by the label the library table shows (the best candidate of an uncertain one), so a dot and
        # its row agree; the GTZAN ten-genre answer is in the table's tooltip
        self.genre_map.set_points([t.id for t in tracks], points[[i for i, _ in found]],
                                  [label_name(t) for t in tracks], labels)
        self.genre_map.select(self.playlist.seed_id)

    def _on_map_error(self, message: str) -> None:
        self.genre_map.message = f"The genre map is not available: {message}"
        self.genre_map.update()

    # ================================================================ similar songs and playing
    @Slot(int)
    def _on_selection_settled(self, track_id: int) -> None:
        if track_id != self.playlist.seed_id:
            self.show_similar(track_id)

    def show_similar(self, track_id: int) -> None:
        """Preview the songs most similar to ``track_id`` (queried off the GUI thread); nothing plays."""
        seed = self.library_pane.track(track_id)
        if seed is None:
            return
        self._similar_seq += 1
        seq = self._similar_seq
        self.genre_map.select(track_id)
        self.playlist.set_seed(seed)
        if seed.status != "analysed":
            self.playlist.show_message(
                "This song has not been analysed yet. Its similar songs appear here as soon as it has been."
                if seed.status == "pending" else f"This song could not be analysed: {seed.error or 'unknown reason'}")
            self._playlist_updated()
            return
        library, n, folder, filters = self.library, self.playlist.list_length(), self.analysis.folder, \
            self.settings.filters

        def done(items: list[SimilarTrack]) -> None:
            if seq == self._similar_seq:
                self.playlist.set_playlist(seed, items)
                self._playlist_updated()

        def failed(message: str) -> None:
            if seq == self._similar_seq:
                self.playlist.show_message(f"Could not find similar songs: {message}")
                self._playlist_updated()

        self.tasks.submit(lambda: library.similar(track_id, n=n, root=folder, filters=filters), done, failed,
                          name="similar songs")

    def _playlist_updated(self) -> None:
        self._update_actions()
        self.playlist_changed.emit()

    # ================================================================ the queue
    @Slot()
    def play_similar(self) -> None:
        """A new queue: the current song, then the songs that sound most like it."""
        track = self.library_pane.selected_track()
        if track is not None:
            self.listening.play_similar(track, self.playlist.list_length(), self.analysis.folder)

    @Slot(int)
    def _play_preview_from(self, row: int) -> None:
        """A new queue of the preview (its seed first), playing from ``row`` of the list."""
        seed, tracks = self.playlist.seed, self.playlist.tracks()
        if seed is not None and tracks:
            self.listening.play_list([seed, *tracks], row + 1, QueueSource("similar", f"Similar to {quoted(seed)}"))

    @Slot()
    def start_radio(self) -> None:
        seeds = [t for t in self.library_pane.selected_tracks() if t.status == "analysed"]
        if seeds:
            self.listening.start_radio(seeds, self.analysis.folder)

    @Slot()
    def mix(self) -> None:
        seeds = [t for t in self.library_pane.selected_tracks() if t.status == "analysed"]
        if len(seeds) >= 2:
            self.listening.mix(seeds, self.playlist.list_length(), self.analysis.folder)

    @Slot()
    def journey(self) -> None:
        """Journey from the current song: to the other selected song, or to one chosen in a search dialog."""
        start = self.library_pane.selected_track()
        if start is None or start.status != "analysed":
            return
        others = [t for t in self.library_pane.selected_tracks()[1:] if t.status == "analysed"]
        candidates = [t for t in self.library_pane.tracks() if t.status == "analysed"]
        dialog = JourneyDialog(start, candidates, others[0] if len(others) == 1 else None,
                               self.settings.journey_length, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen() is None:
            return
        self.settings.journey_length = dialog.journey_length()
        self.listening.journey(start, dialog.chosen(), dialog.journey_length(),  # type: ignore[arg-type]
                               self.analysis.folder)

    def _move_queue_rows(self, step: int) -> None:
        rows = self.queue_pane.selected_rows()
        if not rows:
            return
        dest = rows[0] - 1 if step < 0 else rows[-1] + 2
        if self.listening.queue.move_rows(rows, dest):
            first = max(0, rows[0] - 1) if step < 0 else rows[0] + 1
            view = self.queue_pane.view
            view.clearSelection()
            for r in range(first, first + len(rows)):
                view.selectionModel().select(self.listening.queue.index(r, 0),
                                             view.selectionModel().SelectionFlag.Select
                                             | view.selectionModel().SelectionFlag.Rows)
            view.setCurrentIndex(self.listening.queue.index(first, 0))

    def _with_selection(self, do: Callable[[list[Track]], None]) -> None:
        tracks = self.library_pane.selected_tracks()
        if tracks:
            do(tracks)

    @Slot()
    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings.filters, self.library_pane.model.genres(),
                                   self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.settings.filters = dialog.filters()
            self.settings.sync()
            if self.playlist.seed_id is not None:
                self.show_similar(self.playlist.seed_id)  # the preview follows the new filters

    @Slot(int)
    def _on_length_changed(self, n: int) -> None:
        self.settings.playlist_length = n
        if self.playlist.seed_id is not None:
            self.show_similar(self.playlist.seed_id)

    @Slot(bool)
    def _on_include_seed(self, on: bool) -> None:
        self.settings.export_include_seed = on

    @Slot(int)
    def _on_volume(self, percent: int) -> None:
        self.settings.volume = percent

    @Slot()
    def export_playlist(self) -> None:
        seed, tracks = self.playlist.seed, self.playlist.export_tracks()
        if seed is not None and tracks:
            title = f"Similar to {seed.display_title}"
            export_playlist(self, self.tasks, tracks, title, title, self.analysis.folder,
                            lambda path: self.status.flash(f"Playlist saved to {path}"))

    @Slot()
    def save_queue(self) -> None:
        queue = self.listening.queue
        tracks = queue.tracks()
        if tracks:
            title = queue.source.title.replace("“", "").replace("”", "") if queue.source else "Up next"
            export_playlist(self, self.tasks, tracks, title, title, self.analysis.folder,
                            lambda path: self.status.flash(f"Queue saved to {path}"))

    # ================================================================ misc
    def _with_selected(self, do: Callable[[Track], None]) -> None:
        track = self.library_pane.selected_track()
        if track is not None:
            do(track)

    # -- a folder dropped on the window opens it
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_folder(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folder = self._dropped_folder(event.mimeData())
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    @staticmethod
    def _dropped_folder(mime: QMimeData) -> str | None:
        urls = mime.urls() if mime.hasUrls() else []
        if len(urls) == 1 and urls[0].isLocalFile() and os.path.isdir(urls[0].toLocalFile()):
            return urls[0].toLocalFile()
        return None

    def _about(self) -> None:
        from musicsim import __version__
        QMessageBox.about(self, "About musicsim",
                          f"<b>musicsim {__version__}</b><p>Recommends music from your own library by how "
                          "it sounds, with a two-stream residual CNN (a port of musicnn).</p>")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_layout()
        self.listening.shutdown()  # the queue is saved where it stands (the position in the song included)
        self.playback.stop()
        self.watcher.clear()
        self.library_pane.stop_timers()
        self._map_timer.stop()
        if self.analysis.busy:
            self.status.show_text("Finishing the songs in progress…")
        self.analysis.shutdown()  # results so far are saved; the next launch resumes from there
        self.tasks.wait()
        self.genre_tasks.wait()
        super().closeEvent(event)
