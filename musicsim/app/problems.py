"""The problems tab: files that could not be analysed, and why (double-click opens the file's folder)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QObject, Qt, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from musicsim.app.desktop import open_containing_folder
from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.library.records import Problem


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

    @Slot(QModelIndex)
    def _open_folder(self, index: QModelIndex) -> None:
        open_containing_folder(self.problems_model.problems()[index.row()].path)
