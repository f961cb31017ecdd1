"""The library pane: the track table, its search box and genre filter, and the table's context menu.

:class:`LibraryPane` owns the table model (the tracks of the open folder as last reported), the
filter proxy, the selection and the filter text. The selection may hold several songs (for a mix, a
radio, a batch to queue); the *current* song among them (the one last clicked or moved to) is the one
the similar-songs preview follows. ``filter_bar`` (genre filter + search box) is a separate widget the
window places in its toolbar. Other parts ask through methods (:meth:`select_track`,
:meth:`selected_track`, :meth:`selected_tracks`, :meth:`focus_search`, ...) and listen to the signals.
Browsing here never changes what plays: the queue is :mod:`musicsim.app.queue`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStackedLayout,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from musicsim.app.actions import Actions, add_all
from musicsim.app.palette import genre_icon
from musicsim.app.track_model import TrackFilterProxy, TrackTableModel
from musicsim.library.records import Track

ALL_GENRES = "All genres"


class LibraryPane(QWidget):
    """The library tab; its context menu and its Enter/Shift+Enter/Ctrl+Enter shortcuts are :class:`Actions`."""

    play_similar_requested = Signal()  # double-click: a new queue from the current song
    selection_changed = Signal(object)  # the current Track | None, at once (also when only the selection changed)
    selection_settled = Signal(int)  # track id, once the selection stops moving (arrow keys held down)

    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._actions = actions
        self.model = TrackTableModel(self)
        self.proxy = TrackFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = self._build_table()
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setStyleSheet("color: palette(mid); padding: 24px;")
        self.choose_button = QToolButton()
        self.choose_button.setDefaultAction(actions.choose_folder)
        self.choose_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        empty = QWidget()
        empty_layout = QVBoxLayout(empty)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.placeholder)
        empty_layout.addWidget(self.choose_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(2)
        self.empty_page = empty
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.table)
        self._stack.addWidget(empty)
        self._empty_text = ""
        self._incoming: list[Track] | None = None  # a snapshot coming in parts, shown once whole
        self._settle_timer = QTimer(self, singleShot=True, interval=120)
        self._settle_timer.timeout.connect(self._on_settled)
        self.filter_bar = self._build_filter_bar()

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTabKeyNavigation(False)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._show_context_menu)
        vheader = table.verticalHeader()
        vheader.hide()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # fixed rows: 100 000 scroll smoothly
        vheader.setDefaultSectionSize(table.fontMetrics().height() + 8)
        header = table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        for col, width in zip(range(6), (260, 180, 200, 60, 120, 90)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(TrackTableModel.TITLE, QHeaderView.ResizeMode.Stretch)
        table.selectionModel().currentRowChanged.connect(self._on_current_row)
        table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selected_track()))
        table.doubleClicked.connect(lambda _index: self.play_similar_requested.emit())
        for action in self._actions.library_shortcuts():  # Enter and friends only while the table has the focus
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            table.addAction(action)
        return table

    def _build_filter_bar(self) -> QWidget:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, artist, album, genre")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(lambda: self.proxy.set_search(self.search.text()))
        # filtering 100 000 rows takes about half a second: wait for a pause in typing on big libraries
        self.search.textChanged.connect(
            lambda _text: self._search_timer.start(150 if self.model.rowCount() < 20_000 else 400))
        self.search.returnPressed.connect(self._focus_table)
        self.genre_filter = QComboBox()
        self.genre_filter.setMinimumWidth(140)
        self.genre_filter.addItem(ALL_GENRES)
        self.genre_filter.currentIndexChanged.connect(self._on_genre_filter)
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.genre_filter)
        layout.addWidget(self.search)
        return bar

    # -- tracks ----------------------------------------------------------------------------------
    def load(self, tracks: Sequence[Track]) -> None:
        """Show exactly ``tracks`` (a snapshot of the folder): new rows added, changed updated, others dropped."""
        self._incoming = None
        if self.model.rowCount() == 0:
            self.model.set_tracks(tracks)
        else:
            self.model.merge(tracks, complete=True)
            self.model.resort()
        self._refresh_genre_filter()
        self._show_table_or_placeholder()

    def begin_load(self, tracks: Sequence[Track]) -> None:
        """The first part of a snapshot of the folder (:meth:`load_more` parts follow, then :meth:`load_done`).
        An empty table shows each part as it comes (the first screenful at once); one showing another
        snapshot keeps it until the new one is whole, then shows exactly that (as :meth:`load`)."""
        if self.model.rowCount() == 0:
            self._incoming = None
            self.model.set_tracks(tracks)
            self._refresh_genre_filter()
            self._show_table_or_placeholder()
        else:
            self._incoming = list(tracks)

    def load_more(self, tracks: Sequence[Track]) -> None:
        """The snapshot's next part, after those so far."""
        if self._incoming is not None:
            self._incoming.extend(tracks)
            return
        self.model.append_tracks(tracks)
        self._refresh_genre_filter()
        self._show_table_or_placeholder()

    def load_done(self) -> None:
        """The snapshot is whole."""
        incoming, self._incoming = self._incoming, None
        if incoming is not None:
            self.load(incoming)
            return
        self.model.finish_appending()
        self._refresh_genre_filter()
        self._show_table_or_placeholder()

    def remove_tracks(self, ids: Sequence[int]) -> None:
        """Drop the tracks with those ids (gone from the folder)."""
        self.model.remove_ids(ids)
        self._refresh_genre_filter()
        self._show_table_or_placeholder()

    def update_tracks(self, tracks: Sequence[Track]) -> None:
        """Update or add ``tracks`` in place (rows keep their place until :meth:`resort`)."""
        self.model.merge(tracks)
        self._refresh_genre_filter()
        self._show_table_or_placeholder()

    def set_empty_text(self, text: str) -> None:
        """What the pane says while the folder has no songs (reading it; nothing found there)."""
        self._empty_text = text
        self.placeholder.setText(text)
        self._show_table_or_placeholder()

    def showing_placeholder(self) -> bool:
        return self._stack.currentWidget() is self.empty_page

    def _show_table_or_placeholder(self) -> None:
        empty = self.model.rowCount() == 0 and bool(self._empty_text)
        self._stack.setCurrentWidget(self.empty_page if empty else self.table)
        self.choose_button.setVisible(empty)

    def resort(self) -> None:
        self.model.resort()

    def set_analysing(self, running: bool) -> None:
        self.model.set_analysing(running)

    def set_analysing_path(self, path: str | None) -> None:
        """The song the analysis works on now reads "analysing…" (the others waiting: "queued")."""
        self.model.set_current_path(path)

    def track(self, track_id: int) -> Track | None:
        return self.model.track_by_id(track_id)

    def tracks(self) -> list[Track]:
        return self.model.tracks()

    def counts(self) -> dict[str, int]:
        return self.model.counts()

    # -- selection -------------------------------------------------------------------------------
    def selected_track(self) -> Track | None:
        """The current song: the one last clicked or moved to (the similar-songs preview follows it)."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        track_id = self.proxy.track_id(index.row())
        return None if track_id is None else self.model.track_by_id(track_id)

    def selected_tracks(self) -> list[Track]:
        """Every selected song in table order, the current one first; just the current one when no row is selected."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        ids = [self.proxy.track_id(r) for r in rows]
        tracks = [t for t in (self.model.track_by_id(i) for i in ids if i is not None) if t is not None]
        current = self.selected_track()
        if current is None:
            return tracks
        return [current] + [t for t in tracks if t.id != current.id]

    def select_track(self, track_id: int) -> None:
        """Select ``track_id`` (clearing filters that hide it) and scroll to it."""
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

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def focus_table(self) -> None:
        self.table.setFocus()

    def _focus_table(self) -> None:  # Enter in the search box: on to the results
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.selectRow(0)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.selection_changed.emit(self.selected_track())
        if current.isValid():
            self._settle_timer.start()

    @Slot()
    def _on_settled(self) -> None:
        track = self.selected_track()
        if track is not None:
            self.selection_settled.emit(track.id)

    def stop_timers(self) -> None:
        self._settle_timer.stop()
        self._search_timer.stop()

    # -- header layout ---------------------------------------------------------------------------
    def header_state(self) -> QByteArray:
        return self.table.horizontalHeader().saveState()

    def restore_header_state(self, blob: QByteArray) -> None:
        self.table.horizontalHeader().restoreState(blob)

    # -- filters and menu ------------------------------------------------------------------------
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

    def context_menu(self) -> QMenu:
        """The menu for the selected song (the window keeps its actions' enabled state in step)."""
        menu = QMenu(self)
        add_all(menu, self._actions.track_menu())
        return menu

    @Slot(QPoint)
    def _show_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        selection = self.table.selectionModel()
        if not selection.isRowSelected(index.row(), QModelIndex()):
            self.table.selectRow(index.row())  # selection_changed updates the actions before the menu shows
        else:  # a click inside a multi-song selection keeps it; the clicked song becomes the current one
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        if self.selected_track() is not None:
            self.context_menu().exec(self.table.viewport().mapToGlobal(pos))
