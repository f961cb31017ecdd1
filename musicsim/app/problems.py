"""The problems view's model: files that could not be analysed, and why."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from musicsim.library.records import Problem

Index = QModelIndex | QPersistentModelIndex


class ProblemsModel(QAbstractTableModel):
    COLUMNS = ("File", "Reason")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._problems)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else 2

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
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
