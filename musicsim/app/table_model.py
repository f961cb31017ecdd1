"""The part every table model of the app shares: a list of rows under fixed column titles."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()  # the invalid index: the table's root


class ColumnsTableModel(QAbstractTableModel):
    """A flat table: subclasses set ``COLUMNS`` and implement :meth:`row_count` and ``data``."""

    COLUMNS: tuple[str, ...] = ()

    def row_count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None
