"""The library table: a :class:`QAbstractTableModel` over :class:`Track` records, and its filter proxy.

Rows are updated in place as analysis results arrive (``dataChanged`` per batch, never a model
reset), so a 100 000-track view keeps its scroll position and selection. Sorting happens here, in
one ``sorted()`` over precomputed keys (the proxy forwards ``sort``): a proxy that sorts by calling
``data()`` per comparison takes tens of seconds for 100 000 rows (benchmarks/bench_app.py). The
proxy only filters. Rows updated during analysis keep their place until the next :meth:`resort`.

A big library arrives in parts (:meth:`TrackTableModel.append_tracks`) in the default order (artist,
album, track: :func:`musicsim.formatting.artist_sort_key`, the catalogue's ``sort_artist`` order), so
while the table is sorted that way each part just goes at the end and the first screenful shows at
once; sorted any other way, the parts are sorted in when the last has come (:meth:`finish_appending`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont

from musicsim.app.genre_text import (
    genre_tooltip,
    label_confidence,
    label_name,
    label_text,
    your_tag_text,
    your_tag_tooltip,
)
from musicsim.app.palette import genre_icon
from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.formatting import LAST, artist_sort_key, format_duration, format_percent
from musicsim.library.records import Track

TRACK_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1

_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_ROLES = frozenset({_DISPLAY, _DECORATION, _TOOLTIP, _FONT, _ALIGN, _FOREGROUND, TRACK_ID_ROLE})
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
NOT_ANALYSED_TEXT = "not analysed yet"
QUEUED_TEXT = "queued"  # waiting for the analysis running now
ANALYSING_TEXT = "analysing…"
_LAST = LAST  # sorts after any name: songs without an artist or album come last
_FAILED_COLOR = QColor("#c0392b")
_PENDING_COLOR = QColor("#8a8a8a")
_SUGGESTED_COLOR = QColor("#7a7a7a")
YOUR_TAG_TIP = ("The file's own genre tag; in grey italics, for a file without one, the genre musicsim learned from "
                "your other files' tags (with its confidence)")
MATCH_TIP = "How well the song's sound fits the words of the Sounds like search (0-100%)"


class TrackTableModel(ColumnsTableModel):
    """Tracks in catalogue order; columns title, artist, album, time, genre (the label), confidence (the label's),
    your tag (the file's genre, or the suggestion learned from the library's tags) and the "Sounds like" match."""

    COLUMNS = ("Title", "Artist", "Album", "Time", "Genre", "Confidence", "Your Tag", "Match")
    TITLE, ARTIST, ALBUM, TIME, GENRE, CONFIDENCE, YOUR_TAG, MATCH = range(8)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._tracks: list[Track] = []
        self._row_of: dict[int, int] = {}
        self._id_of_path: dict[str, int] = {}
        self._search: list[str] = []
        self._pending_text = NOT_ANALYSED_TEXT
        self._analysing_id: int | None = None  # the song the analysis works on now
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._unsorted = False  # rows were added or updated since the last sort: they may be out of order
        self._statuses: Counter[str] = Counter()  # kept in step with the rows: counts() without a pass over them
        self._genre_counts: Counter[str] = Counter()  # analysed rows per genre label (label_name)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._suggestions: dict[int, tuple[str, float]] = {}  # track id -> genre learned from the library's tags
        self._matches: dict[int, tuple[float, int]] = {}  # track id -> ("Sounds like" score, rank)

    # -- Qt model interface ----------------------------------------------------------------
    def row_count(self) -> int:
        return len(self._tracks)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole
                and section in (self.TIME, self.CONFIDENCE, self.MATCH)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {self.YOUR_TAG: YOUR_TAG_TIP, self.MATCH: MATCH_TIP,
                    self.CONFIDENCE: "How likely the genre shown is right (calibrated)"}.get(section)
        return super().headerData(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        # Called for every role of every visible cell: cheap exits first (plain ints, no enum lookups).
        if role not in _ROLES:
            return None
        t = self._tracks[index.row()]
        col = index.column()
        if role == _DISPLAY:
            return self._display(t, col)
        if col == self.GENRE:
            if role == _DECORATION:
                return genre_icon(label_name(t)) if t.status == "analysed" else None
            if t.status != "analysed":
                if role == _FOREGROUND:
                    return _FAILED_COLOR if t.status == "failed" else _PENDING_COLOR
                if role == _FONT:
                    return self._italic
        elif col == self.YOUR_TAG and not t.file_genre and t.id in self._suggestions:
            if role == _FONT:
                return self._italic
            if role == _FOREGROUND:
                return _SUGGESTED_COLOR
        if role == _ALIGN:
            return _RIGHT if col in (self.TIME, self.CONFIDENCE, self.MATCH) else None
        if role == TRACK_ID_ROLE:
            return t.id
        if role == _TOOLTIP:
            if t.status == "failed":
                return f"Could not analyse: {t.error or 'unknown reason'}"
            if col in (self.GENRE, self.CONFIDENCE) and t.status == "analysed":
                return genre_tooltip(t, self._suggestions.get(t.id))
            if col == self.YOUR_TAG:
                return your_tag_tooltip(t.file_genre, self._suggestions.get(t.id))
            if col == self.TITLE:
                return t.path
        return None

    def _display(self, t: Track, col: int) -> str:
        if col == self.TITLE:
            return t.display_title
        if col == self.ARTIST:
            return t.artist
        if col == self.ALBUM:
            return t.album
        if col == self.TIME:
            return format_duration(t.duration)
        if col == self.GENRE:
            if t.status == "analysed":
                return label_text(t)
            if t.status == "failed":
                return "could not analyse"
            return ANALYSING_TEXT if t.id == self._analysing_id else self._pending_text
        if col == self.CONFIDENCE:
            return format_percent(label_confidence(t)) if t.status == "analysed" else ""
        if col == self.YOUR_TAG:
            return your_tag_text(t.file_genre, self._suggestions.get(t.id))
        if col == self.MATCH:
            match = self._matches.get(t.id)
            return format_percent(match[0]) if match is not None else ""
        return ""

    def _sort_key(self, t: Track, col: int):
        if col == self.TITLE:
            return t.display_title.casefold()
        if col == self.ARTIST:  # "The Lanterns" sorts under L; then album order; no artist: last
            return artist_sort_key(t.artist, t.album, t.track_number)
        if col == self.ALBUM:
            return f"{t.album.casefold() or _LAST}\x00{t.track_number or 0:05d}"
        if col == self.TIME:
            return float(t.duration or 0.0)
        if col == self.GENRE:
            return label_text(t) or "~" if t.status == "analysed" else "~~"
        if col == self.CONFIDENCE:
            return float(label_confidence(t) or 0.0) if t.status == "analysed" else -1.0
        if col == self.YOUR_TAG:  # the files' own tags, then the suggestions, then nothing
            if t.file_genre:
                return f"0{t.file_genre.casefold()}"
            suggestion = self._suggestions.get(t.id)
            return f"1{suggestion[0].casefold()}\x00{1 - suggestion[1]:.6f}" if suggestion else "2"
        if col == self.MATCH:  # ties keep the engine's order (its rank)
            match = self._matches.get(t.id)
            return (match[0], -match[1]) if match is not None else (-1.0, 0)
        return None

    # -- genres learned from the library's tags, "Sounds like" matches -----------------------
    def set_suggestions(self, suggestions: dict[int, tuple[str, float]]) -> None:
        """The genres learned from the library's tags for files without one (track id -> (genre, probability))."""
        if suggestions == self._suggestions:
            return
        self._suggestions = dict(suggestions)
        if self._tracks:
            self.dataChanged.emit(self.index(0, self.GENRE), self.index(len(self._tracks) - 1, self.YOUR_TAG))

    def suggestion(self, track_id: int) -> tuple[str, float] | None:
        return self._suggestions.get(track_id)

    def set_matches(self, ranked: Sequence[tuple[int, float]] | None) -> None:
        """The "Sounds like" results, best first (track id, score); None: no search."""
        self._matches = {tid: (score, rank) for rank, (tid, score) in enumerate(ranked or ())}
        if self._tracks:
            self.dataChanged.emit(self.index(0, self.MATCH), self.index(len(self._tracks) - 1, self.MATCH))

    def matched_ids(self) -> set[int]:
        return set(self._matches)

    def set_analysing(self, running: bool) -> None:
        """Pending rows read "queued" while analysis runs, "not analysed yet" otherwise."""
        text = QUEUED_TEXT if running else NOT_ANALYSED_TEXT
        if not running:
            self._analysing_id = None
        if text != self._pending_text:
            self._pending_text = text
            if self._tracks:
                self.dataChanged.emit(self.index(0, self.GENRE), self.index(len(self._tracks) - 1, self.GENRE))

    def set_current_path(self, path: str | None) -> None:
        """The song at ``path`` reads "analysing…" (the analysis reports the file it works on)."""
        track_id = self._id_of_path.get(path) if path else None
        if track_id == self._analysing_id:
            return
        rows = [self._row_of.get(i) for i in (self._analysing_id, track_id) if i is not None]
        self._analysing_id = track_id
        for row in rows:
            if row is not None:
                self.dataChanged.emit(self.index(row, self.GENRE), self.index(row, self.GENRE))

    # -- records ---------------------------------------------------------------------------
    def track_at(self, row: int) -> Track:
        return self._tracks[row]

    def track_by_id(self, track_id: int) -> Track | None:
        row = self._row_of.get(track_id)
        return None if row is None else self._tracks[row]

    def row_of(self, track_id: int) -> int | None:
        return self._row_of.get(track_id)

    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def search_text(self, row: int) -> str:
        """Lower-case title, artist, album and genre of ``row``, what the search box matches."""
        return self._search[row]

    def genres(self) -> list[str]:
        """Genre labels present in the library (the best candidate for an uncertain one), sorted."""
        return sorted(g for g, n in self._genre_counts.items() if n > 0)

    def counts(self) -> dict[str, int]:
        out = {"tracks": len(self._tracks), "analysed": 0, "pending": 0, "failed": 0}
        out.update((status, n) for status, n in self._statuses.items() if n > 0)
        return out

    def _tally(self, tracks: Iterable[Track], sign: int = 1) -> None:
        """Add (``sign`` 1) or take away (-1) ``tracks`` from the status and genre counts."""
        for t in tracks:
            self._statuses[t.status] += sign
            if t.status == "analysed" and (g := label_name(t)):
                self._genre_counts[g] += sign

    # -- sorting -----------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by ``column`` (stable: ties keep their order), keeping selections and the current row."""
        self._sort_column, self._sort_order = column, order
        self._unsorted = False
        if not 0 <= column < len(self.COLUMNS) or len(self._tracks) < 2:
            return
        keys = [self._sort_key(t, column) for t in self._tracks]
        order_idx = sorted(range(len(keys)), key=keys.__getitem__,
                           reverse=order == Qt.SortOrder.DescendingOrder)
        if order_idx == list(range(len(keys))):
            return
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_ids = [self._tracks[i.row()].id for i in old_persistent]
        self._tracks = [self._tracks[i] for i in order_idx]
        self._search = [self._search[i] for i in order_idx]
        self._row_of = {t.id: r for r, t in enumerate(self._tracks)}
        self.changePersistentIndexList(
            old_persistent, [self.index(self._row_of[tid], i.column()) for tid, i in zip(old_ids, old_persistent)])
        self.layoutChanged.emit()

    def resort(self) -> None:
        """Apply the current sort again (after rows were added or updated, or sort keys changed)."""
        self.sort(self._sort_column, self._sort_order)

    def in_default_order(self) -> bool:
        """Sorted the way the catalogue hands tracks out in parts (artist, album, track; ascending)."""
        return self._sort_column == self.ARTIST and self._sort_order == Qt.SortOrder.AscendingOrder

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @staticmethod
    def _search_key(t: Track) -> str:
        return " ".join((t.display_title, t.artist, t.album, label_text(t), t.file_genre or "")).casefold()

    def set_tracks(self, tracks: Sequence[Track]) -> None:
        """Replace everything (first load)."""
        self.beginResetModel()
        self._tracks = list(tracks)
        self._statuses.clear()
        self._genre_counts.clear()
        self._tally(self._tracks)
        self._reindex()
        self.endResetModel()
        self._unsorted = True
        self.resort()

    def append_tracks(self, tracks: Sequence[Track]) -> None:
        """Add the next part of a snapshot after the rows so far (one insert). Parts come in the default
        order: while the table is sorted that way they stay sorted; else :meth:`finish_appending` sorts them in."""
        new = [t for t in tracks if t.id not in self._row_of]
        if not new:
            return
        if len(new) != len(tracks):  # the same track twice: an update, in place
            self.merge([t for t in tracks if t.id in self._row_of])
        start = len(self._tracks)
        self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
        self._tracks.extend(new)
        self._tally(new)
        self._row_of.update((t.id, start + i) for i, t in enumerate(new))
        self._id_of_path.update((t.path, t.id) for t in new)
        self._search.extend(self._search_key(t) for t in new)
        self.endInsertRows()
        if not self.in_default_order():
            self._unsorted = True

    def finish_appending(self) -> None:
        """The snapshot is whole: sort in the parts appended out of the current order (if any)."""
        if self._unsorted:
            self.resort()

    def remove_ids(self, ids: Iterable[int]) -> None:
        """Drop those tracks (contiguous removes, never a reset); unknown ids are ignored."""
        gone = sorted((row for row in (self._row_of.get(i) for i in ids) if row is not None), reverse=True)
        self._remove_rows(gone)

    def _remove_rows(self, rows_desc: list[int]) -> None:
        for first, last_row in _runs_descending(rows_desc):
            self.beginRemoveRows(QModelIndex(), first, last_row)
            self._tally(self._tracks[first:last_row + 1], -1)
            del self._tracks[first:last_row + 1]
            del self._search[first:last_row + 1]
            self.endRemoveRows()
        if rows_desc:
            self._row_of = {t.id: i for i, t in enumerate(self._tracks)}
            self._id_of_path = {t.path: t.id for t in self._tracks}

    def merge(self, tracks: Iterable[Track], complete: bool = False) -> None:
        """Update known tracks in place, append new ones; with ``complete``, drop tracks not given.

        Emits ``dataChanged`` per run of nearby updated rows, one insert and contiguous removes: never a reset.
        """
        incoming = list(tracks)
        changed_rows: list[int] = []
        new: list[Track] = []
        for t in incoming:
            row = self._row_of.get(t.id)
            if row is None:
                new.append(t)
            elif self._tracks[row] != t:
                self._tally((self._tracks[row],), -1)
                self._tally((t,))
                self._tracks[row] = t
                self._search[row] = self._search_key(t)
                changed_rows.append(row)
        if changed_rows or new:
            self._unsorted = True
        last_col = len(self.COLUMNS) - 1
        for first, last in _runs(sorted(changed_rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))
        if complete:
            keep = {t.id for t in incoming}
            self._remove_rows(sorted((row for tid, row in self._row_of.items() if tid not in keep), reverse=True))
        if new:
            start = len(self._tracks)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for t in new:
                self._id_of_path[t.path] = t.id
                self._row_of[t.id] = len(self._tracks)
                self._tracks.append(t)
                self._tally((t,))
                self._search.append(self._search_key(t))
            self.endInsertRows()

    def _reindex(self) -> None:
        self._row_of = {t.id: i for i, t in enumerate(self._tracks)}
        self._id_of_path = {t.path: t.id for t in self._tracks}
        self._search = [self._search_key(t) for t in self._tracks]


def _runs(rows: list[int], gap: int = 32) -> list[tuple[int, int]]:
    """Group ascending rows into ``(first, last)`` spans, merging spans less than ``gap`` rows apart."""
    spans: list[tuple[int, int]] = []
    for row in rows:
        if spans and row - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans


def _runs_descending(rows_desc: list[int]) -> list[tuple[int, int]]:
    """Group descending row numbers into contiguous ``(first, last)`` runs, highest run first."""
    runs: list[tuple[int, int]] = []
    for row in rows_desc:
        if runs and runs[-1][0] == row + 1:
            runs[-1] = (row, runs[-1][1])
        else:
            runs.append((row, row))
    return runs


class TrackFilterProxy(QSortFilterProxyModel):
    """Keeps rows matching every word of the search text and the genre label (and, during a "Sounds like"
    search, only its results); sorting is the source's."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self._genre: str | None = None
        self._only: frozenset[int] | None = None
        self.setDynamicSortFilter(True)  # re-filter updated rows

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is done by the source model, in bulk (see the module docstring)."""
        self.sourceModel().sort(column, order)

    def set_search(self, text: str) -> None:
        words = text.casefold().split()
        if words != self._words:
            self._refilter(lambda: setattr(self, "_words", words))

    def set_genre(self, genre: str | None) -> None:
        genre = genre or None
        if genre != self._genre:
            self._refilter(lambda: setattr(self, "_genre", genre))

    def set_only(self, ids: Iterable[int] | None) -> None:
        """Show only the tracks ``ids`` (the "Sounds like" results); None: every track."""
        only = None if ids is None else frozenset(ids)
        if only != self._only:
            self._refilter(lambda: setattr(self, "_only", only))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._genre is None and not self._words and self._only is None:
            return True
        model: TrackTableModel = self.sourceModel()  # type: ignore[assignment]
        if self._only is not None and model.track_at(source_row).id not in self._only:
            return False
        if self._genre is not None:
            t = model.track_at(source_row)
            if t.status != "analysed" or label_name(t) != self._genre:
                return False
        text = model.search_text(source_row)
        for w in self._words:
            if w not in text:
                return False
        return True

    def track_id(self, proxy_row: int) -> int | None:
        if not 0 <= proxy_row < self.rowCount():
            return None
        return self.data(self.index(proxy_row, 0), TRACK_ID_ROLE)
