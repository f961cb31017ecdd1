"""The main window: library table, similar-songs playlist, player, genre map and problems.

Widgets only show state and forward intents; every engine call goes through the
:class:`~musicsim.library.library.Library` facade on a worker thread (:mod:`musicsim.app.worker`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QMimeData, QModelIndex, QPoint, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon, QKeyEvent, QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMainWindow,
    QMenu, QMessageBox, QProgressBar, QSizePolicy, QSplitter, QStackedWidget, QTableView, QTabWidget, QToolBar,
    QVBoxLayout, QWidget,
)

from musicsim.app.empty_state import EmptyState
from musicsim.formatting import format_eta
from musicsim.app.genre_map import GenreMapWidget
from musicsim.app.projection import pca_2d
from musicsim.app.palette import genre_icon
from musicsim.app.player import PlayerBar
from musicsim.app.playlist import PlaylistPane
from musicsim.app.problems import ProblemsModel
from musicsim.app.settings import AppSettings
from musicsim.app.track_model import TrackFilterProxy, TrackTableModel, display_title
from musicsim.app.watcher import FolderWatcher
from musicsim.app.worker import AnalysisWorker, Job, TaskRunner
from musicsim.library.library import Library
from musicsim.library.records import AnalysisProgress, AnalysisReport, SimilarTrack, SyncReport, Track
from musicsim.paths import resources_dir

ALL_GENRES = "All genres"


def app_icon() -> QIcon:
    icons = resources_dir() / "icons"
    icon = QIcon()
    for name in ("musicsim.svg", "musicsim.png"):
        if (icons / name).is_file():
            icon.addFile(str(icons / name))
    return icon


class _LibraryView(QTableView):
    """The track table; Enter asks for "play similar" on the current row."""

    enter_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)


class MainWindow(QMainWindow):
    """The musicsim desktop window over one :class:`Library`."""

    job_finished = Signal()  # a worker run ended and none is queued
    playlist_changed = Signal()

    def __init__(self, library: Library, settings: AppSettings | None = None, folder: str | None = None,
                 workers: int | None = None) -> None:
        super().__init__()
        self.library = library
        self.settings = settings or AppSettings()
        self.workers = workers
        self.folder: str | None = None
        self.worker: AnalysisWorker | None = None
        self.last_report: AnalysisReport | None = None
        self._queued: Job | None = None
        self._paused = False
        self._sync_incomplete = False  # the last folder sync was cut short (Pause): Resume syncs again
        self._seed_id: int | None = None
        self._similar_seq = 0
        self._queue_pos: int | None = None  # playlist row playing; -1: the seed itself
        self._map_stale = True
        self._analysis_error: str | None = None

        self.setWindowTitle("musicsim")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.tasks = TaskRunner(self)
        self.watcher = FolderWatcher(parent=self)
        self.watcher.changed.connect(self._on_folder_changed)

        self.model = TrackTableModel(self)
        self.proxy = TrackFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.problems_model = ProblemsModel(self)

        self._build_actions()
        self._build_ui()
        self._build_menus()
        self._restore_layout()
        self._update_actions()

        self.tasks.submit(lambda: self.library.status().device, self._show_device, self._ignore_error)
        folder = folder or self.settings.folder
        if folder and os.path.isdir(folder):
            self.open_folder(folder)
        else:
            self.pages.setCurrentWidget(self.empty_page)
            if folder:
                self.statusBar().showMessage(f"The music folder {folder} is not there any more.", 10000)

    # ================================================================ construction
    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setToolTip(tip)
                a.setStatusTip(tip)
            return a

        self.choose_action = action("Choose Folder…", self.choose_folder, QKeySequence.StandardKey.Open,
                                    "Choose the music folder")
        self.rescan_action = action("Rescan", self.rescan, QKeySequence.StandardKey.Refresh,
                                    "Look for new, changed and removed files and analyse them")
        self.pause_action = action("Pause", self.toggle_pause, "Ctrl+Shift+P",
                                   "Pause analysis (it resumes where it stopped)")
        self.stop_action = action("Stop", self.stop_analysis, None, "Stop analysis; results so far are kept")
        self.export_action = action("Export Playlist…", self.export_playlist, "Ctrl+E",
                                    "Save the similar-songs playlist as an M3U8 file")
        self.quit_action = action("Quit", self.close, "Ctrl+Q")
        self.play_similar_action = action("Play Similar", self.play_similar, None,
                                          "Fill the playlist with songs that sound like this one and play it")
        self.play_action = action("Play", self.play_selected)
        self.play_pause_action = action("Play/Pause", lambda: self.player.toggle(), "Space")
        self.next_action = action("Next Song", self.play_next, "Ctrl+Right")
        self.prev_action = action("Previous Song", self.play_previous, "Ctrl+Left")
        self.find_action = action("Find", self._focus_search, QKeySequence.StandardKey.Find)

    def _build_ui(self) -> None:
        self.empty_page = EmptyState(app_icon())
        self.empty_page.choose_folder.connect(self.choose_folder)

        # -- library table
        self.table = _LibraryView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        vheader = self.table.verticalHeader()
        vheader.hide()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fixed rows: 100 000 scroll smoothly
        vheader.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        for col, width in zip(range(6), (260, 180, 200, 60, 120, 90)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(TrackTableModel.TITLE, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self._similar_timer = QTimer(self, singleShot=True, interval=120)
        self._similar_timer.timeout.connect(self._show_similar_for_current)
        self.table.doubleClicked.connect(lambda _idx: self.play_selected())
        self.table.enter_pressed.connect(self.play_similar)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, artist, album, genre")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(lambda: self.proxy.set_search(self.search.text()))
        # filtering 100 000 rows takes about half a second: wait for a pause in typing on big libraries
        self.search.textChanged.connect(
            lambda _t: self._search_timer.start(150 if self.model.rowCount() < 20_000 else 400))
        self.search.returnPressed.connect(self._focus_table)
        self.genre_filter = QComboBox()
        self.genre_filter.setMinimumWidth(140)
        self.genre_filter.addItem(ALL_GENRES)
        self.genre_filter.currentIndexChanged.connect(self._on_genre_filter)

        # -- genre map and problems
        self.genre_map = GenreMapWidget()
        self.genre_map.track_clicked.connect(self.select_track)
        self._map_timer = QTimer(self, singleShot=True, interval=2000)
        self._map_timer.timeout.connect(self._on_tab_changed)
        self.problems_view = QTableView()
        self.problems_view.setModel(self.problems_model)
        self.problems_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems_view.setAlternatingRowColors(True)
        self.problems_view.verticalHeader().hide()
        self.problems_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.problems_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.problems_view.setToolTip("Double-click to open the file's folder")
        self.problems_view.doubleClicked.connect(self._open_problem_folder)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.table, "Library")
        self.tabs.addTab(self.genre_map, "Genre Map")
        self.tabs.addTab(self.problems_view, "Problems")
        self.tabs.currentChanged.connect(self._on_tab_changed)

        # -- playlist + player
        self.playlist = PlaylistPane(self.settings.playlist_length)
        self.playlist.play_row.connect(self.play_playlist_row)
        self.playlist.length_changed.connect(self._on_length_changed)
        self.playlist.export_requested.connect(self.export_playlist)
        self.player = PlayerBar(self.settings.volume)
        self.player.next_requested.connect(self.play_next)
        self.player.previous_requested.connect(self.play_previous)
        self.player.volume_changed.connect(self._on_volume)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fdecea; color: #611a15; padding: 6px 10px;")
        self.banner.hide()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.playlist)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        library_page = QWidget()
        layout = QVBoxLayout(library_page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.player)
        self.library_page = library_page

        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(self.library_page)
        self.setCentralWidget(self.pages)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.choose_action)
        toolbar.addAction(self.rescan_action)
        toolbar.addSeparator()
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.stop_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        search_box = QWidget()
        search_layout = QHBoxLayout(search_box)
        search_layout.setContentsMargins(0, 0, 4, 0)
        search_layout.addWidget(self.genre_filter)
        search_layout.addWidget(self.search)
        self._search_action = toolbar.addWidget(search_box)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

        # -- status bar
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.status_label = QLabel()
        self.counts_label = QLabel()
        self.device_label = QLabel("Analysis device: …")
        for label in (self.status_label, self.counts_label, self.device_label):
            label.setContentsMargins(6, 0, 6, 0)
        bar = self.statusBar()
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.counts_label)
        bar.addPermanentWidget(self.device_label)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.choose_action)
        file_menu.addAction(self.rescan_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        analysis_menu = menu.addMenu("&Analysis")
        analysis_menu.addAction(self.pause_action)
        analysis_menu.addAction(self.stop_action)
        play_menu = menu.addMenu("&Playback")
        for a in (self.play_action, self.play_similar_action, self.play_pause_action, self.prev_action,
                  self.next_action):
            play_menu.addAction(a)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.find_action)
        for i, name in enumerate(("Library", "Genre Map", "Problems")):
            a = QAction(name, self)
            a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            a.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            view_menu.addAction(a)
        help_menu = menu.addMenu("&Help")
        about = QAction("About musicsim", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)
        for a in (self.play_pause_action, self.next_action, self.prev_action, self.find_action):
            self.addAction(a)

    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else None
            width = min(1280, avail.width() - 40) if avail else 1280
            height = min(800, avail.height() - 40) if avail else 800
            self.resize(width, height)
        for key, target in (("window_state", self.restoreState), ("splitter", self.splitter.restoreState),
                            ("header", self.table.horizontalHeader().restoreState)):
            blob = self.settings.layout(key)
            if blob is not None:
                target(blob)
        if self.settings.layout("splitter") is None:
            self.splitter.setSizes([self.width() * 3 // 5, self.width() * 2 // 5])

    def _save_layout(self) -> None:
        self.settings.set_layout("geometry", self.saveGeometry())
        self.settings.set_layout("window_state", self.saveState())
        self.settings.set_layout("splitter", self.splitter.saveState())
        self.settings.set_layout("header", self.table.horizontalHeader().saveState())
        self.settings.sync()

    # ================================================================ folder and jobs
    @Slot()
    def choose_folder(self) -> None:
        start = self.folder or str(Path.home() / "Music" if (Path.home() / "Music").is_dir() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose your music folder", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str) -> None:
        """Show the library for ``folder``: catalogue, sync and analyse it in the background."""
        folder = os.path.abspath(folder)
        if folder != self.folder:  # another library: nothing of the old one stays on screen
            self._seed_id = None
            self._similar_seq += 1
            self.playlist.show_message("No song selected yet.")
            self.problems_model.set_problems([])
            self.genre_map.set_points([], np.zeros((0, 2)), [], [])
            self._map_stale = True
            self._update_actions()
        self.folder = folder
        self.settings.folder = folder
        self.settings.sync()
        self.setWindowTitle(f"{Path(folder).name or folder} — musicsim")
        self.pages.setCurrentWidget(self.library_page)
        self.table.setFocus()
        self.choose_action.setText("Change Folder…")
        self._paused = False
        self.start_job(Job(folder=folder))

    @Slot()
    def rescan(self) -> None:
        if self.folder:
            self._paused = False
            self.start_job(Job(folder=self.folder))

    def start_job(self, job: Job) -> None:
        """Run ``job`` now, or after the running one stops."""
        if self.worker is not None:
            self._queued = job
            self.worker.cancel()
            return
        self._analysis_error = None
        self.banner.hide()
        worker = AnalysisWorker(self.library, job, scope=self.folder, workers=self.workers, parent=self)
        worker.tracks_loaded.connect(self._on_tracks_loaded)
        worker.tracks_updated.connect(self._on_tracks_updated)
        worker.sync_progress.connect(self._on_sync_progress)
        worker.synced.connect(self._on_synced)
        worker.device_known.connect(self._show_device)
        worker.progress.connect(self._on_progress)
        worker.analysis_finished.connect(self._on_analysis_finished)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_done)
        self.worker = worker
        self.status_label.setText("Reading tags…" if job.folder else "Resuming analysis…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        worker.start(AnalysisWorker.Priority.LowPriority)
        self._update_actions()

    @Slot()
    def toggle_pause(self) -> None:
        if self.worker is not None and not self._paused:
            self._paused = True
            self.status_label.setText("Pausing after the songs in progress…")
            self.worker.cancel()
        elif self._paused:
            self._paused = False
            self.start_job(Job(folder=self.folder if self._sync_incomplete else None))
        self._update_actions()

    @Slot()
    def stop_analysis(self) -> None:
        if self.worker is not None:
            self._queued = None
            self._paused = False
            self.status_label.setText("Stopping after the songs in progress…")
            self.worker.cancel()

    @Slot()
    def _on_folder_changed(self) -> None:
        if self.folder and not self._paused:
            if self.worker is None:
                self.start_job(Job(folder=self.folder))
            elif self._queued is None:
                self._queued = Job(folder=self.folder)  # after the current run, without cancelling it

    # ================================================================ worker feedback
    @Slot(list)
    def _on_tracks_loaded(self, tracks: list[Track]) -> None:
        if self.model.rowCount() == 0:
            self.model.set_tracks(tracks)
        else:
            self.model.merge(tracks, complete=True)
            self.model.resort()
        self._after_tracks_changed()

    @Slot(list)
    def _on_tracks_updated(self, tracks: list[Track]) -> None:
        self.model.merge(tracks)
        self._after_tracks_changed()
        if self._seed_id is not None and self.playlist.model.rowCount() == 0:
            seed = self.model.track_by_id(self._seed_id)
            if seed is not None and seed.status == "analysed":
                self.show_similar(seed.id)  # the seed was waiting for its analysis

    def _after_tracks_changed(self) -> None:
        self._map_stale = True
        self._refresh_genre_filter()
        self._update_counts()
        if self.tabs.currentWidget() is self.genre_map and not self._map_timer.isActive():
            self._map_timer.start()  # redraw the map as results come in, at most every couple of seconds

    @Slot(int)
    def _on_sync_progress(self, count: int) -> None:
        self.status_label.setText(f"Reading tags… {count:,} songs")

    @Slot(object)
    def _on_synced(self, report: SyncReport) -> None:
        self._sync_incomplete = report.cancelled
        if report.cancelled:
            return
        parts = [f"{report.added:,} new", f"{report.changed:,} changed", f"{report.removed:,} removed"]
        if report.skipped:
            parts.append(f"{report.skipped:,} skipped")
        self.statusBar().showMessage("Folder read: " + ", ".join(parts), 8000)

    @Slot(object)
    def _on_progress(self, p: AnalysisProgress) -> None:
        if self._paused or self.worker is None or self.worker.cancel_event.is_set():
            return
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(p.done)
        self.progress_bar.setFormat(f"{p.done:,} / {p.total:,}")
        failed = f" · {p.failed:,} could not be analysed" if p.failed else ""
        self.status_label.setText(f"Analysing {p.done:,} of {p.total:,} songs{failed} · {format_eta(p.eta_s)}")
        self.status_label.setToolTip(p.current_path or "")

    @Slot(object)
    def _on_analysis_finished(self, report: AnalysisReport) -> None:
        self.last_report = report

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        self._analysis_error = message
        self.banner.setText(f"Analysis could not run: {message}")
        self.banner.show()

    @Slot()
    def _on_worker_done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.deleteLater()
        self.progress_bar.hide()
        self.status_label.setToolTip("")
        self.model.resort()  # rows updated during analysis kept their place until now
        report = self.last_report
        pending = self.model.counts().get("pending", 0)
        if self._analysis_error:
            self.status_label.setText("Analysis could not run (see the message above).")
        elif self._paused:
            self.status_label.setText(f"Analysis paused · {pending:,} songs still to analyse")
        elif report is not None and report.cancelled:
            self.status_label.setText(f"Analysis stopped · {pending:,} songs still to analyse. "
                                      "Rescan to continue.")
        elif report is not None:
            failed = f", {report.failed:,} could not be analysed" if report.failed else ""
            self.status_label.setText(f"Up to date · analysed {report.analysed:,} songs "
                                      f"in {report.elapsed_s:.0f} s{failed}")
        else:
            self.status_label.setText("Up to date")
        self._refresh_problems()
        if self.folder:
            self.watcher.watch(self.folder, (t.path for t in self.model.tracks()))
        queued, self._queued = self._queued, None
        if queued is not None:
            self.start_job(queued)
        else:
            self._update_actions()
            self.job_finished.emit()

    def _update_actions(self) -> None:
        running = self.worker is not None
        self.model.set_analysing(running and not self._paused)
        has_folder = self.folder is not None
        self.rescan_action.setEnabled(has_folder)
        self._search_action.setVisible(has_folder)
        self.pause_action.setEnabled(has_folder and (running or self._paused))
        self.pause_action.setText("Resume" if self._paused else "Pause")
        self.stop_action.setEnabled(running)
        self.export_action.setEnabled(self.playlist.model.rowCount() > 0)

    def _update_counts(self) -> None:
        c = self.model.counts()
        text = f"{c['tracks']:,} songs · {c['analysed']:,} analysed"
        if c.get("failed"):
            text += f" · {c['failed']:,} problems"
        self.counts_label.setText(text)

    @Slot(str)
    def _show_device(self, device: str) -> None:
        self.device_label.setText(f"Analysis device: {device}")

    @Slot(str)
    def _ignore_error(self, _message: str) -> None:
        pass

    # ================================================================ problems, filter, map
    def _refresh_problems(self) -> None:
        self.tasks.submit(self.library.problems, self._show_problems, self._ignore_error)

    @Slot(object)
    def _show_problems(self, problems) -> None:
        if self.folder:  # the catalogue may also hold other folders' files
            inside = os.path.join(self.folder, "")
            problems = [p for p in problems if p.path == self.folder or p.path.startswith(inside)]
        self.problems_model.set_problems(problems)
        n = len(problems)
        self.tabs.setTabText(2, f"Problems ({n})" if n else "Problems")

    def _refresh_genre_filter(self) -> None:
        genres = self.model.genres()
        current = [self.genre_filter.itemText(i) for i in range(1, self.genre_filter.count())]
        if genres == current:
            return
        selected = self.genre_filter.currentText()
        self.genre_filter.blockSignals(True)
        self.genre_filter.clear()
        self.genre_filter.addItem(ALL_GENRES)
        for g in genres:
            self.genre_filter.addItem(genre_icon(g), g)
        index = self.genre_filter.findText(selected)
        self.genre_filter.setCurrentIndex(max(0, index))
        self.genre_filter.blockSignals(False)
        if index < 0:
            self.proxy.set_genre(None)

    @Slot(int)
    def _on_genre_filter(self, index: int) -> None:
        self.proxy.set_genre(None if index <= 0 else self.genre_filter.itemText(index))

    @Slot()
    @Slot(int)
    def _on_tab_changed(self, _index: int = -1) -> None:
        if self.tabs.currentWidget() is self.genre_map and self._map_stale:
            self._refresh_map()

    def _refresh_map(self) -> None:
        self._map_stale = False
        library = self.library

        def project() -> tuple[np.ndarray, np.ndarray]:  # on a pool thread: PCA of 100 000 rows takes a while
            ids, matrix = library.embeddings()
            return ids, pca_2d(matrix)

        self.tasks.submit(project, self._show_map, self._on_map_error)

    @Slot(object)
    def _show_map(self, result) -> None:
        ids, points = result
        keep = [i for i, tid in enumerate(ids.tolist()) if self.model.row_of(tid) is not None]  # in this folder
        tracks = [self.model.track_by_id(int(ids[i])) for i in keep]
        labels = [f"{display_title(t)} — {t.artist}\n{t.genre or '?'} {100 * (t.confidence or 0):.0f}%"
                  for t in tracks]
        self.genre_map.set_points([t.id for t in tracks], points[keep], [t.genre for t in tracks], labels)
        self.genre_map.select(self._seed_id)

    @Slot(str)
    def _on_map_error(self, message: str) -> None:
        self.genre_map.message = f"The genre map is not available: {message}"
        self.genre_map.update()

    # ================================================================ selection and similar songs
    def selected_track(self) -> Track | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        track_id = self.proxy.track_id(index.row())
        return None if track_id is None else self.model.track_by_id(track_id)

    @Slot(int)
    def select_track(self, track_id: int) -> None:
        """Select ``track_id`` in the table (clearing filters that hide it) and show its similar songs."""
        row = self.model.row_of(track_id)
        if row is None:
            return
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not proxy_index.isValid():
            self.search.clear()
            self.proxy.set_search("")
            self.genre_filter.setCurrentIndex(0)
            proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(proxy_index, QAbstractItemView.ScrollHint.PositionAtCenter)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._similar_timer.start()  # arrow keys held down: ask once the selection settles

    @Slot()
    def _show_similar_for_current(self) -> None:
        track = self.selected_track()
        if track is not None and track.id != self._seed_id:
            self.show_similar(track.id)

    def show_similar(self, track_id: int, then_play: bool = False) -> None:
        """Fill the playlist with the songs most similar to ``track_id`` (queried off the GUI thread)."""
        seed = self.model.track_by_id(track_id)
        if seed is None:
            return
        self._seed_id = track_id
        self._similar_seq += 1
        seq = self._similar_seq
        self.genre_map.select(track_id)
        self.playlist.set_seed_pending(seed)
        if seed.status == "pending":
            self.playlist.show_message("This song has not been analysed yet. Its similar songs appear "
                                       "here as soon as it has been.")
            self._playlist_updated()
            return
        if seed.status == "failed":
            self.playlist.show_message(f"This song could not be analysed: {seed.error or 'unknown reason'}")
            self._playlist_updated()
            return
        n = self.playlist.length.value()

        def done(items: list[SimilarTrack]) -> None:
            if seq == self._similar_seq:
                self.playlist.set_playlist(seed, items)
                self._queue_pos = None
                self._playlist_updated()
                if then_play and items:
                    self.play_playlist_row(0)

        def failed(message: str) -> None:
            if seq == self._similar_seq:
                self.playlist.show_message(f"Could not find similar songs: {message}")
                self._playlist_updated()

        library, inside = self.library, os.path.join(self.folder or "", "")

        def query() -> list[SimilarTrack]:
            # The catalogue may also hold folders opened before; the playlist keeps to the open one.
            k = n
            while True:
                items = library.similar(track_id, n=k)
                here = [i for i in items if i.track.path.startswith(inside)]
                if len(here) >= n or len(items) < k:
                    return here[:n]
                k *= 4

        self.tasks.submit(query, done, failed)

    def _playlist_updated(self) -> None:
        self._update_actions()
        self.playlist_changed.emit()

    @Slot()
    def play_similar(self) -> None:
        """Fill the playlist from the selected song and start playing it."""
        track = self.selected_track()
        if track is not None:
            self.show_similar(track.id, then_play=True)

    @Slot()
    def play_selected(self) -> None:
        """Play the selected song itself; the similar-songs playlist follows it."""
        track = self.selected_track()
        if track is None:
            return
        if track.id != self._seed_id:
            self.show_similar(track.id)
        self._queue_pos = -1
        self.playlist.model.set_playing_row(None)
        self.player.play_track(track)

    @Slot(int)
    def play_playlist_row(self, row: int) -> None:
        track = self.playlist.model.track_at(row)
        if track is None:
            return
        self._queue_pos = row
        self.playlist.model.set_playing_row(row)
        self.playlist.view.selectRow(row)
        self.player.play_track(track)

    @Slot()
    def play_next(self) -> None:
        if self._queue_pos is not None and self._queue_pos + 1 < self.playlist.model.rowCount():
            self.play_playlist_row(self._queue_pos + 1)

    @Slot()
    def play_previous(self) -> None:
        if self._queue_pos is not None and self._queue_pos > 0:
            self.play_playlist_row(self._queue_pos - 1)
        elif self.player.track is not None:
            self.player.player.setPosition(0)

    @Slot(int)
    def _on_length_changed(self, n: int) -> None:
        self.settings.playlist_length = n
        if self._seed_id is not None:
            self.show_similar(self._seed_id)

    @Slot(int)
    def _on_volume(self, percent: int) -> None:
        self.settings.volume = percent

    # ================================================================ export
    @Slot()
    def export_playlist(self) -> None:
        tracks = self.playlist.model.tracks()
        seed = self.playlist.model.seed
        if not tracks or seed is None:
            return
        suggested = Path(self.folder or Path.home()) / f"Similar to {_safe_name(display_title(seed))}.m3u8"
        out, _ = QFileDialog.getSaveFileName(self, "Export playlist", str(suggested), "M3U8 playlist (*.m3u8)")
        if not out:
            return
        if not out.lower().endswith((".m3u8", ".m3u")):
            out += ".m3u8"

        def done(path) -> None:
            self.statusBar().showMessage(f"Playlist saved to {path}", 8000)

        def failed(message: str) -> None:
            QMessageBox.warning(self, "Export failed", f"Could not save the playlist:\n{message}")

        self.tasks.submit(lambda: self.library.export_m3u8(tracks, out), done, failed)

    # ================================================================ context menu, misc
    @Slot(QPoint)
    def _table_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        track = self.selected_track()
        if track is None:
            return
        menu = QMenu(self)
        menu.addAction(self.play_action)
        similar = menu.addAction("Play Similar")
        similar.setEnabled(track.status == "analysed")
        similar.triggered.connect(self.play_similar)
        menu.addSeparator()
        reveal = menu.addAction("Open Containing Folder")
        reveal.triggered.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(track.path).parent))))
        copy = menu.addAction("Copy File Path")
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(track.path))
        menu.exec(self.table.viewport().mapToGlobal(pos))

    @Slot(QModelIndex)
    def _open_problem_folder(self, index: QModelIndex) -> None:
        path = self.problems_model.problems()[index.row()].path
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

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

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _focus_table(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.selectRow(0)

    def _about(self) -> None:
        from musicsim import __version__
        QMessageBox.about(self, "About musicsim",
                          f"<b>musicsim {__version__}</b><p>Recommends music from your own library by how "
                          "it sounds, with a two-stream residual CNN (a port of musicnn).</p>")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_layout()
        self.player.stop()
        self.watcher.clear()
        self._similar_timer.stop()
        self._map_timer.stop()
        if self.worker is not None:
            worker, self.worker = self.worker, None
            self._queued = None
            worker.finished.disconnect(self._on_worker_done)
            self.status_label.setText("Finishing the songs in progress…")
            worker.cancel()
            worker.wait()  # results so far are saved; the next launch resumes from there
            worker.deleteLater()
        self.tasks.wait()
        super().closeEvent(event)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in " -_.,()&'" else "_" for c in text).strip()[:80] or "playlist"
