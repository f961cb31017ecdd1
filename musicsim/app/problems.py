"""The problems tab: files that could not be analysed, and why (double-click opens the file's folder).

With no problems the table says so (an empty grid reads as "still loading" or "broken").
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QObject, Qt, Slot
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from musicsim.app.desktop import open_containing_folder
from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.library.records import Problem

NO_PROBLEMS_TEXT = ("No problems: musicsim could read and analyse every file in this folder.\n"
                    "Files it cannot read or analyse are listed here, with the reason.")


class ProblemsModel(ColumnsTableModel):
    COLUMNS = ("File", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []

    def row_count(self) -> int:
        return len(self._problems)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if not index.isValid():
            return None
        problem = self._problems[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return problem.path if index.column() == 0 else problem.reason
        return None

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.beginResetModel()
        self._problems = sorted(problems, key=lambda p: p.path)
        self.endResetModel()

    def problems(self) -> list[Problem]:
        return list(self._problems)


class ProblemsView(QTableView):
    """The problems table over its own :class:`ProblemsModel` (``problems_model``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems_model = ProblemsModel(self)
        self.setModel(self.problems_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Double-click to open the file's folder")
        self.doubleClicked.connect(self._open_folder)

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.problems_model.set_problems(problems)
        self.viewport().update()

    def empty_text(self) -> str:
        """What the empty table shows ("" while it lists problems)."""
        return "" if self.problems_model.rowCount() else NO_PROBLEMS_TEXT

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        text = self.empty_text()
        if text:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.viewport().rect().adjusted(24, 24, -24, -24),
                             int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)
            painter.end()

    @Slot(QModelIndex)
    def _open_folder(self, index: QModelIndex) -> None:
        open_containing_folder(self.problems_model.problems()[index.row()].path)
