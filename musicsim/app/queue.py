"""The play queue ("Up next"): what plays and what comes next, apart from what the library shows.

:class:`QueueModel` owns the queue's songs, the current row (the song loaded in the player, or the last
one played) and where the queue came from (:class:`QueueSource`). Rows above the current one were
played (Previous goes back through them); rows below it play next, in order. Selecting, searching or
filtering the library never touches it: only the listening commands do (:mod:`musicsim.app.listening`).
Rows are reordered by drag and drop inside the list (:meth:`QueueModel.dropMimeData`) or with
:meth:`QueueModel.move_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QMimeData, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont

from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.app.track_model import TRACK_ID_ROLE
from musicsim.formatting import format_duration
from musicsim.library.records import Track

ROWS_MIME = "application/x-musicsim-queue-rows"
_PLAYED_COLOR = QColor("#8a8a8a")


@dataclass(frozen=True)
class QueueSource:
    """Where a queue came from: ``kind`` ("similar", "radio", "mix", "journey", "songs") and a title for people."""

    kind: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "title": self.title}

    @classmethod
    def from_dict(cls, d: object) -> QueueSource | None:
        if isinstance(d, dict) and isinstance(d.get("kind"), str) and isinstance(d.get("title"), str):
            return cls(d["kind"], d["title"])
        return None


SONGS = QueueSource("songs", "Songs you queued")


class QueueModel(ColumnsTableModel):
    """The queue's songs in play order; ``current`` marks the song playing (or last played).

    ``changed`` is emitted after every change of the songs, their order, the current row or the source.
    """

    COLUMNS = ("", "Title", "Artist", "Time")
    MARK, TITLE, ARTIST, TIME = range(4)
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tracks: list[Track] = []
        self._current: int | None = None
        self._source: QueueSource | None = None
        self._bold = QFont()
        self._bold.setBold(True)

    # -- Qt model interface ----------------------------------------------------------------
    def row_count(self) -> int:
        return len(self._tracks)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        t = self._tracks[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.MARK:
                return "▶" if row == self._current else ""
            return ("", t.display_title, t.artist, format_duration(t.duration))[col]
        if role == TRACK_ID_ROLE:
            return t.id
        if role == Qt.ItemDataRole.FontRole and row == self._current:
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole and self._current is not None and row < self._current:
            return _PLAYED_COLOR
        if role == Qt.ItemDataRole.ToolTipRole:
            return t.path
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.TIME:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsDropEnabled  # between rows
        if not index.isValid():
            return base
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROWS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(ROWS_MIME, QByteArray(",".join(map(str, rows)).encode("ascii")))
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: Index) -> bool:
        return data.hasFormat(ROWS_MIME)

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> bool:
        """A drag inside the list: move the dragged rows before ``row`` (on a row: before it; below the end: last).

        The move happens here; the view's own "remove the dragged rows" step finds no ``removeRows`` and
        leaves the list alone.
        """
        if not data.hasFormat(ROWS_MIME):
            return False
        try:
            rows = [int(x) for x in bytes(data.data(ROWS_MIME).data()).decode("ascii").split(",") if x]
        except ValueError:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else len(self._tracks)
        return self.move_rows(rows, row)

    # -- reading -----------------------------------------------------------------------------
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def track_at(self, row: int) -> Track | None:
        return self._tracks[row] if 0 <= row < len(self._tracks) else None

    @property
    def current(self) -> int | None:
        """The row playing or last played; None before anything of this queue played."""
        return self._current

    def current_track(self) -> Track | None:
        return None if self._current is None else self._tracks[self._current]

    @property
    def source(self) -> QueueSource | None:
        return self._source

    def upcoming(self) -> list[Track]:
        """The songs still to play, in order (after the current one)."""
        start = 0 if self._current is None else self._current + 1
        return self._tracks[start:]

    def next_row(self) -> int | None:
        row = 0 if self._current is None else self._current + 1
        return row if row < len(self._tracks) else None

    # -- changing --------------------------------------------------------------------------
    def replace(self, tracks: Sequence[Track], source: QueueSource | None, current: int | None = None) -> None:
        """A new queue: ``tracks``, from ``source``; ``current`` marks a row as playing (None: none yet)."""
        self.beginResetModel()
        self._tracks = list(tracks)
        self._current = current if current is not None and 0 <= current < len(self._tracks) else None
        self._source = source
        self.endResetModel()
        self.changed.emit()

    def set_current(self, row: int | None) -> None:
        if row is not None and not 0 <= row < len(self._tracks):
            return
        old, self._current = self._current, row
        if old == row:
            return
        if self._tracks:  # the mark moves and rows change colour (played / to play): a queue is short
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._tracks) - 1, len(self.COLUMNS) - 1))
        self.changed.emit()

    def set_source(self, source: QueueSource | None) -> None:
        if source != self._source:
            self._source = source
            self.changed.emit()

    def insert_next(self, tracks: Sequence[Track]) -> None:
        """Put ``tracks`` right after the current song (at the top when nothing played yet)."""
        self._insert(0 if self._current is None else self._current + 1, tracks)

    def append(self, tracks: Sequence[Track]) -> None:
        self._insert(len(self._tracks), tracks)

    def _insert(self, row: int, tracks: Sequence[Track]) -> None:
        if not tracks:
            return
        self.beginInsertRows(QModelIndex(), row, row + len(tracks) - 1)
        self._tracks[row:row] = list(tracks)
        if self._current is not None and self._current >= row:
            self._current += len(tracks)
        self.endInsertRows()
        self.changed.emit()

    def remove_rows(self, rows: Iterable[int]) -> int:
        """Remove ``rows`` except the current one (the song playing stays); returns how many went."""
        gone = sorted({r for r in rows if 0 <= r < len(self._tracks) and r != self._current}, reverse=True)
        for row in gone:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._tracks[row]
            if self._current is not None and self._current > row:
                self._current -= 1
            self.endRemoveRows()
        if gone:
            self.changed.emit()
        return len(gone)

    def clear(self) -> None:
        """Every song but the current one goes (an empty queue when nothing plays)."""
        self.remove_rows(range(len(self._tracks)))

    def move_rows(self, rows: Iterable[int], dest: int) -> bool:
        """Move ``rows`` (kept in their order) to just before row ``dest`` of the list as it is now.

        The current song stays current wherever it goes. Returns False when nothing moved.
        """
        moving = sorted({r for r in rows if 0 <= r < len(self._tracks)})
        dest = max(0, min(dest, len(self._tracks)))
        if not moving:
            return False
        order = list(range(len(self._tracks)))
        kept = [r for r in order if r not in set(moving)]
        at = sum(1 for r in kept if r < dest)
        new_order = kept[:at] + moving + kept[at:]
        if new_order == order:
            return False
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        where = {old: new for new, old in enumerate(new_order)}
        self._tracks = [self._tracks[i] for i in new_order]
        if self._current is not None:
            self._current = where[self._current]
        self.changePersistentIndexList(old_persistent,
                                       [self.index(where[i.row()], i.column()) for i in old_persistent])
        self.layoutChanged.emit()
        self.changed.emit()
        return True

    def update_tracks(self, tracks: Iterable[Track]) -> None:
        """Newer records of queued songs (a genre found, tags re-read): rows keep their place."""
        fresh = {t.id: t for t in tracks}
        changed = [r for r, t in enumerate(self._tracks) if t.id in fresh and fresh[t.id] != t]
        for r in changed:
            self._tracks[r] = fresh[self._tracks[r].id]
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(self.COLUMNS) - 1))
