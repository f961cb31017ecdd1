"""The library pane: the track table, its search box and genre filter, and the table's context menu.

:class:`LibraryPane` owns the table model (the tracks of the open folder as last reported), the
filter proxy, the selection and the filter text. The selection may hold several songs (for a mix, a
radio, a batch to queue); the *current* song among them (the one last clicked or moved to) is the one
the similar-songs preview follows. ``filter_bar`` (genre filter, the "Sounds like" toggle, search box) is a
separate widget the window places in its toolbar. In "Sounds like" mode (the ``sounds_like`` action) the
search box's words are asked for (``sounds_like_requested``, debounced); the window runs the engine's search
off the GUI thread and hands the ranked songs back (:meth:`show_matches`), which the table then shows alone,
best match first, with a Match column; leaving the mode brings the whole table back. A line under the table
says how often musicsim agrees with the user's own genre tags (:meth:`set_agreement`). Other parts ask through
methods (:meth:`select_track`, :meth:`selected_track`, :meth:`selected_tracks`, :meth:`focus_search`, ...) and
listen to the signals.
Browsing here never changes what plays: the queue is :mod:`musicsim.app.queue`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from musicsim.app.actions import Actions, add_all
from musicsim.app.genre_text import matches_text
from musicsim.app.palette import genre_icon
from musicsim.app.track_model import TrackFilterProxy, TrackTableModel
from musicsim.library.records import Track

ALL_GENRES = "All genres"
SEARCH_PLACEHOLDER = "Search title, artist, album, genre"
SOUNDS_LIKE_PLACEHOLDER = "Sounds like: mellow acoustic…"
SOUNDS_LIKE_DELAY_MS = 350  # a pause in typing before the words are searched for
_MESSAGE_STYLE = "padding: 3px 8px; color: palette(window-text); background: palette(alternate-base);"
_PROBLEM_STYLE = "padding: 3px 8px; color: #611a15; background: #fdecea;"


class LibraryPane(QWidget):
    """The library tab; its context menu and its Enter/Shift+Enter/Ctrl+Enter shortcuts are :class:`Actions`."""

    play_similar_requested = Signal()  # double-click: a new queue from the current song
    selection_changed = Signal(object)  # the current Track | None, at once (also when only the selection changed)
    selection_settled = Signal(int)  # track id, once the selection stops moving (arrow keys held down)
    sounds_like_requested = Signal(str)  # the words to rank the songs by ("Sounds like" mode, debounced)

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
        self.search_message = QLabel()  # "Sounds like": what is shown, or why nothing is
        self.search_message.setWordWrap(True)
        self.search_message.setTextFormat(Qt.TextFormat.PlainText)
        self.search_message.hide()
        self.agreement = QLabel()  # how often musicsim agrees with the user's genre tags
        self.agreement.setWordWrap(True)
        self.agreement.setTextFormat(Qt.TextFormat.PlainText)
        self.agreement.setStyleSheet("padding: 2px 8px; color: palette(mid);")
        self.agreement.hide()
        self._stack = QStackedWidget()
        self._stack.addWidget(self.table)
        self._stack.addWidget(empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.search_message)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.agreement)
        self._empty_text = ""
        self._incoming: list[Track] | None = None  # a snapshot coming in parts, shown once whole
        self._settle_timer = QTimer(self, singleShot=True, interval=120)
        self._settle_timer.timeout.connect(self._on_settled)
        self._normal_sort = (TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)  # restored on leaving Sounds like
        self._matched_words: str | None = None  # the words the Match column shows results for
        self.filter_bar = self._build_filter_bar()
        actions.sounds_like.toggled.connect(self._on_sounds_like)

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
        for col, width in zip(range(8), (260, 130, 140, 48, 165, 80, 130, 56)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(TrackTableModel.TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionHidden(TrackTableModel.MATCH, True)  # shown in "Sounds like" mode
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_header_menu)
        table.selectionModel().currentRowChanged.connect(self._on_current_row)
        table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selected_track()))
        table.doubleClicked.connect(lambda _index: self.play_similar_requested.emit())
        for action in self._actions.library_shortcuts():  # Enter and friends only while the table has the focus
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            table.addAction(action)
        return table

    def _build_filter_bar(self) -> QWidget:
        self.search = QLineEdit()
        self.search.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._on_search_text)
        self.search.returnPressed.connect(self._focus_table)
        self.sounds_like_button = QToolButton()
        self.sounds_like_button.setDefaultAction(self._actions.sounds_like)
        self.sounds_like_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.genre_filter = QComboBox()
        self.genre_filter.setMinimumWidth(140)
        self.genre_filter.addItem(ALL_GENRES)
        self.genre_filter.currentIndexChanged.connect(self._on_genre_filter)
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.genre_filter)
        layout.addWidget(self.sounds_like_button)
        layout.addWidget(self.search)
        return bar

    # -- the search box: words of the tags, or "Sounds like" ---------------------------------------------
    def sounds_like_mode(self) -> bool:
        return self._actions.sounds_like.isChecked()

    def sounds_like_words(self) -> str:
        """The words a "Sounds like" search is for now ("" outside the mode or with an empty box)."""
        return " ".join(self.search.text().split()) if self.sounds_like_mode() else ""

    @Slot(str)
    def _on_search_text(self, _text: str) -> None:
        if self.sounds_like_mode():
            self._search_timer.start(SOUNDS_LIKE_DELAY_MS)
        else:  # filtering 100 000 rows takes about half a second: wait for a pause in typing on big libraries
            self._search_timer.start(150 if self.model.rowCount() < 20_000 else 400)

    @Slot()
    def _apply_search(self) -> None:
        if not self.sounds_like_mode():
            self.proxy.set_search(self.search.text())
            return
        words = self.sounds_like_words()
        if not words:
            self._matched_words = None
            self.model.set_matches(None)
            self.proxy.set_only(None)
            self._show_search_message("Type what the music should sound like, e.g. mellow acoustic, "
                                      "female vocalists piano, electronic dance.")
        elif words != self._matched_words:
            self.sounds_like_requested.emit(words)

    @Slot(bool)
    def _on_sounds_like(self, on: bool) -> None:
        header = self.table.horizontalHeader()
        self._search_timer.stop()
        self.search.setPlaceholderText(SOUNDS_LIKE_PLACEHOLDER if on else SEARCH_PLACEHOLDER)
        if on:  # the words typed so far are searched for as sounds
            self._normal_sort = (header.sortIndicatorSection(), header.sortIndicatorOrder())
            self.proxy.set_search("")
            header.setSectionHidden(TrackTableModel.MATCH, False)
            self.table.sortByColumn(TrackTableModel.MATCH, Qt.SortOrder.DescendingOrder)
            self._matched_words = None
            self._apply_search()
            self.search.setFocus()
        else:  # back to the whole table, as it was sorted
            self._matched_words = None
            self.model.set_matches(None)
            self.proxy.set_only(None)
            self._show_search_message("")
            header.setSectionHidden(TrackTableModel.MATCH, True)
            self.search.clear()
            self.proxy.set_search("")
            self.table.sortByColumn(*self._normal_sort)

    def search_again(self) -> None:
        """Ask for the "Sounds like" words again (the library changed: new songs were analysed)."""
        if self.sounds_like_words():
            self._matched_words = None
            self._apply_search()

    def show_matches(self, words: str, ranked: Sequence[tuple[int, float]]) -> bool:
        """The "Sounds like" results for ``words`` (track id, match), best first; False (and nothing shown) when
        the box has other words by now or the mode was left."""
        if words != self.sounds_like_words():
            return False
        self._matched_words = words
        self.model.set_matches(ranked)
        self.proxy.set_only(tid for tid, _ in ranked)
        self.model.resort()
        self._show_search_message(matches_text(words, len(ranked), self.model.counts().get("analysed", 0)))
        return True

    def show_search_problem(self, words: str, text: str) -> bool:
        """Why ``words`` cannot be searched for (an unknown word): said above the table, which then shows none."""
        if words != self.sounds_like_words():
            return False
        self._matched_words = words
        self.model.set_matches([])
        self.proxy.set_only(())
        self._show_search_message(text, problem=True)
        return True

    def search_message_text(self) -> str:
        return self.search_message.text() if not self.search_message.isHidden() else ""

    def _show_search_message(self, text: str, problem: bool = False) -> None:
        self.search_message.setText(text)
        self.search_message.setStyleSheet(_PROBLEM_STYLE if problem else _MESSAGE_STYLE)
        self.search_message.setVisible(bool(text))

    def set_agreement(self, text: str, tooltip: str = "") -> None:
        """The line under the table: how often musicsim agrees with the user's own genre tags."""
        self.agreement.setText(text)
        self.agreement.setToolTip(tooltip)
        self.agreement.setVisible(bool(text))

    def set_suggestions(self, suggestions: dict[int, tuple[str, float]]) -> None:
        """Genres learned from the library's tags for its untagged files (track id -> (genre, probability))."""
        self.model.set_suggestions(suggestions)

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
            if self.sounds_like_mode():
                self._actions.sounds_like.setChecked(False)
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
        header = self.table.horizontalHeader()
        header.restoreState(blob)
        header.setSectionHidden(TrackTableModel.MATCH, not self.sounds_like_mode())

    def header_menu(self) -> QMenu:
        """Which columns show (the title always does; Match only in "Sounds like" mode)."""
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        for col, title in enumerate(TrackTableModel.COLUMNS):
            if col in (TrackTableModel.TITLE, TrackTableModel.MATCH):
                continue
            action = QAction(title, menu)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(col))
            action.toggled.connect(lambda on, col=col: header.setSectionHidden(col, not on))
            menu.addAction(action)
        return menu

    @Slot(QPoint)
    def _show_header_menu(self, pos: QPoint) -> None:
        self.header_menu().exec(self.table.horizontalHeader().mapToGlobal(pos))

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
