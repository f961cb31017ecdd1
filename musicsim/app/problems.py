"""The problems view's model: files that could not be analysed, and why."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt

from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.library.records import Problem


class ProblemsModel(ColumnsTableModel):
    COLUMNS = ("File", "Reason")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []

    def row_count(self) -> int:
        return len(self._problems)

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
