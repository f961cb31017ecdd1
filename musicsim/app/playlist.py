"""The similar-songs preview: a table model over :class:`SimilarTrack` and the pane around it.

It previews the songs most like the song selected in the library (the seed), and exports them as a
playlist file (with or without the seed). It never plays by itself: double-click (or Enter) on a row asks
for a new queue of the seed and this list, starting at that row (``play_row``); what plays is the queue's
(:mod:`musicsim.app.queue`). Who keeps what: the pane keeps the seed (set as soon as it is asked for) and
the "with the song itself" choice; the model keeps the list.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from musicsim.app.empty_state import placeholder_stack
from musicsim.app.genre_text import label_name, label_text
from musicsim.app.palette import genre_icon
from musicsim.app.table_model import ColumnsTableModel, Index
from musicsim.app.track_model import TRACK_ID_ROLE
from musicsim.formatting import format_duration
from musicsim.library.records import SimilarTrack, Track

class PlaylistModel(ColumnsTableModel):
    """Similar tracks in rank order, with their similarity."""

    COLUMNS = ("#", "Title", "Artist", "Genre", "Time", "Similarity")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[SimilarTrack] = []

    def row_count(self) -> int:
        return len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        t, col = item.track, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(index.row() + 1), t.display_title, t.artist, label_text(t),
                    format_duration(t.duration), f"{item.score:.3f}")[col]
        if role == TRACK_ID_ROLE:
            return t.id
        if role == Qt.ItemDataRole.DecorationRole and col == 3:
            return genre_icon(label_name(t))
        if role == Qt.ItemDataRole.ToolTipRole:
            return t.path
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_playlist(self, items: Sequence[SimilarTrack]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def items(self) -> list[SimilarTrack]:
        return list(self._items)

    def tracks(self) -> list[Track]:
        return [i.track for i in self._items]

    def track_at(self, row: int) -> Track | None:
        return self._items[row].track if 0 <= row < len(self._items) else None


class _PlaylistView(QTableView):
    """Enter plays the current row, like a double-click."""

    activated_row = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class PlaylistPane(QWidget):
    """Header ("Similar to …"), length spin box, export button and the preview table."""

    play_row = Signal(int)  # user asked to play from this row: a new queue of the seed and this list
    length_changed = Signal(int)
    export_requested = Signal()
    include_seed_changed = Signal(bool)

    def __init__(self, length: int = 10, include_seed: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PlaylistModel(self)
        self._seed: Track | None = None
        self.title = QLabel("Similar songs")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel("Select a song to see the songs that sound most like it.")
        self.subtitle.setWordWrap(True)
        self.subtitle.setStyleSheet("color: palette(mid);")

        self.length = QSpinBox()
        self.length.setRange(1, 200)
        self.length.setValue(length)
        self.length.setPrefix("Length: ")
        self.length.setToolTip("How many similar songs to list")
        self.length.valueChanged.connect(self.length_changed)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save this list as a playlist file (M3U8 or XSPF)")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_requested)
        self.include_seed = QCheckBox("With the song itself")
        self.include_seed.setToolTip("Exported playlists start with the selected song, then its similar songs")
        self.include_seed.setChecked(include_seed)
        self.include_seed.toggled.connect(self.include_seed_changed)

        self.view = _PlaylistView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.view.setToolTip("Double-click a song to play this list from there")
        self.view.doubleClicked.connect(lambda idx: self.play_row.emit(idx.row()))
        self.view.activated_row.connect(self.play_row)

        self.placeholder, self._stack = placeholder_stack(self.view)

        controls = QHBoxLayout()
        controls.addWidget(self.length)
        controls.addStretch(1)
        controls.addWidget(self.include_seed)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(controls)
        layout.addLayout(self._stack, 1)
        self.show_message("No song selected yet.")

    # -- the seed ----------------------------------------------------------------------------------
    @property
    def seed(self) -> Track | None:
        """The song the list follows (or is being found for); None before one is chosen."""
        return self._seed

    @property
    def seed_id(self) -> int | None:
        return None if self._seed is None else self._seed.id

    def set_seed(self, seed: Track) -> None:
        """Follow ``seed``: the header names it at once; the list follows with :meth:`set_playlist`."""
        self._seed = seed
        self.title.setText(f"Similar to “{seed.display_title}”")
        self.subtitle.setText(" · ".join(x for x in (seed.artist, seed.album) if x))

    def clear(self, text: str) -> None:
        """No seed, no list: ``text`` in its place."""
        self._seed = None
        self.show_message(text)

    # -- the list ----------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Empty the list (the seed stays) and show ``text`` in its place."""
        self.model.set_playlist([])
        self.placeholder.setText(text)
        self._stack.setCurrentWidget(self.placeholder)
        self.export_button.setEnabled(False)

    def set_playlist(self, seed: Track, items: Sequence[SimilarTrack]) -> None:
        self.set_seed(seed)
        if not items:
            self.show_message("No other analysed songs yet.")
            return
        self.model.set_playlist(items)
        self._stack.setCurrentWidget(self.view)
        self.export_button.setEnabled(True)
        total = sum(i.track.duration or 0.0 for i in items)
        about = " · ".join(x for x in (seed.artist, seed.album) if x)
        summary = f"{len(items)} songs, {format_duration(total)}"
        self.subtitle.setText(f"{about}  —  {summary}" if about else summary)

    def list_length(self) -> int:
        """How many similar songs to list (the spin box)."""
        return self.length.value()

    def tracks(self) -> list[Track]:
        return self.model.tracks()

    def export_tracks(self) -> list[Track]:
        """What Export writes: the list, after the seed when "with the song itself" is ticked."""
        tracks = self.model.tracks()
        if self.include_seed.isChecked() and self._seed is not None and tracks:
            return [self._seed, *tracks]
        return tracks

    def row_count(self) -> int:
        return self.model.rowCount()

    def track_at(self, row: int) -> Track | None:
        return self.model.track_at(row)
