"""The "Up next" pane: the queue's list (drag to reorder), where it came from, and what is left of it.

The pane shows :class:`~musicsim.app.queue.QueueModel` (it keeps no state of its own but the view's
selection). Double-click or Enter plays a row (``play_row``); its context menu and its Delete /
Alt+Up / Alt+Down shortcuts are the :class:`~musicsim.app.actions.Actions`' queue commands.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from musicsim.app.actions import Actions, add_all
from musicsim.app.empty_state import placeholder_stack
from musicsim.app.queue import QueueModel
from musicsim.formatting import format_duration

EMPTY_TEXT = ("Nothing queued.\n\nDouble-click a song (or press Enter) to play it and the songs that sound "
              "like it. Right-click for Play Next, Add to Queue, Start Radio, Mix and Journey.")


class QueueView(QTableView):
    """The queue's rows; Enter plays the current row; rows move by drag and drop inside the list."""

    activated_row = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setDropIndicatorShown(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.doubleClicked.connect(lambda idx: self.activated_row.emit(idx.row()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Dropping on a row's lower half puts the rows after it, on its upper half before it."""
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.source() is self:
            rect = self.visualRect(index)
            row = index.row() + (1 if event.position().y() > rect.center().y() else 0)
            moved = sorted({i.row() for i in self.selectionModel().selectedRows()})
            model = self.model()
            if isinstance(model, QueueModel) and model.move_rows(moved, row):
                first = row - sum(1 for r in moved if r < row)  # the moved rows now start here
                block = QItemSelection(model.index(first, 0), model.index(first + len(moved) - 1, 0))
                flags = QItemSelectionModel.SelectionFlag
                self.selectionModel().select(block, flags.ClearAndSelect | flags.Rows)
            event.setDropAction(Qt.DropAction.IgnoreAction)  # moved here: the drag must not remove the rows
            event.accept()
            return
        super().dropEvent(event)


class QueuePane(QWidget):
    """Header ("Up next" and where the queue came from), the queue list, and a summary of what is left."""

    play_row = Signal(int)

    def __init__(self, queue: QueueModel, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._actions = actions
        self._doing = ""
        self.title = QLabel("Up next")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle.setStyleSheet("color: palette(mid);")
        self.clear_button = QToolButton()
        self.clear_button.setDefaultAction(actions.clear_queue)
        self.clear_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.clear_button.setAutoRaise(True)

        self.view = QueueView()
        self.view.setModel(queue)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(QueueModel.TITLE, QHeaderView.ResizeMode.Stretch)
        # the header does not re-measure a ResizeToContents column when rows are appended: done in _refresh
        header.setSectionResizeMode(QueueModel.ARTIST, QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        self.view.activated_row.connect(self.play_row)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_context_menu)
        for action in actions.queue_shortcuts():
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(action)

        self.placeholder, self._stack = placeholder_stack(self.view, EMPTY_TEXT)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(top)
        layout.addWidget(self.subtitle)
        layout.addLayout(self._stack, 1)
        for signal in (queue.changed, queue.modelReset, queue.rowsInserted, queue.rowsRemoved):
            signal.connect(self._refresh)
        self._refresh()

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.view.selectionModel().selectedRows()})

    def set_doing(self, text: str) -> None:
        """A builder is at work for the queue ("" when done): said in the header meanwhile."""
        self._doing = text
        self._refresh()

    @Slot()
    def _refresh(self, *_args) -> None:
        q = self.queue
        upcoming = q.upcoming()
        source = q.source.title if q.source is not None else ""
        if q.source is not None and q.source.kind == "radio":
            source += " · refills as you listen, steers away from songs you skip"
        left = sum(t.duration or 0.0 for t in upcoming)
        summary = f"{len(upcoming)} to go · {format_duration(left)}" if upcoming else "nothing after this song"
        parts = [p for p in (source, summary if q.row_count() else "", self._doing) if p]
        self.subtitle.setText(" — ".join(parts))
        self._stack.setCurrentWidget(self.view if q.row_count() else self.placeholder)
        self.view.resizeColumnToContents(QueueModel.ARTIST)
        widest = max(80, int(self.view.viewport().width() * 0.4))
        if self.view.columnWidth(QueueModel.ARTIST) > widest:
            self.view.setColumnWidth(QueueModel.ARTIST, widest)
        current = q.current
        if current is not None:
            self.view.scrollTo(q.index(current, 0), QAbstractItemView.ScrollHint.EnsureVisible)

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        add_all(menu, self._actions.queue_menu())
        return menu

    @Slot(QPoint)
    def _show_context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid() and not self.view.selectionModel().isRowSelected(index.row()):
            self.view.selectRow(index.row())
        self.context_menu().exec(self.view.viewport().mapToGlobal(pos))
