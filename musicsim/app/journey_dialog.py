""""Journey to…": choose where a journey from the current song ends, and how many songs it takes.

:class:`JourneyDialog` lists the analysed songs of the open folder, filtered by the words typed (title,
artist, album, genre); a second selected song in the library comes preselected. It only chooses: the
window asks :class:`~musicsim.app.listening.Listening` for the journey.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from musicsim.library.records import Track

SHOWN = 200  # matches listed at a time (type more to narrow them down)


class JourneyDialog(QDialog):
    """From ``start`` to a song chosen among ``candidates``, in ``length`` songs (both ends included)."""

    def __init__(self, start: Track, candidates: Sequence[Track], end: Track | None = None, length: int = 12,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Journey To…")
        self.resize(520, 460)
        self._start = start
        self._candidates = [t for t in candidates if t.id != start.id]
        self._keys = [" ".join((t.display_title, t.artist, t.album, t.genre or "")).casefold()
                      for t in self._candidates]
        heading = QLabel(f"From “{start.display_title}”" + (f" by {start.artist}" if start.artist else "")
                         + " to:")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, artist, album, genre")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.length = QSpinBox()
        self.length.setRange(3, 100)
        self.length.setValue(length)
        self.length.setSuffix(" songs")
        self.length.setToolTip("How many songs the journey takes, both ends included")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start Journey")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.search.textChanged.connect(self._refilter)
        self.search.returnPressed.connect(self._accept_if_chosen)
        self.results.currentItemChanged.connect(lambda *_: self._update_ok())
        self.results.itemDoubleClicked.connect(lambda _item: self.accept())

        form = QFormLayout()
        form.addRow("Length:", self.length)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._preselect = end
        self._refilter("")
        self.search.setFocus()

    def _refilter(self, text: str) -> None:
        words = text.casefold().split()
        chosen = self.chosen() or self._preselect
        self._preselect = None
        self.results.clear()
        shown = 0
        for track, key in zip(self._candidates, self._keys):
            if all(w in key for w in words):
                item = QListWidgetItem(track.label(" — ") + (f"  ·  {track.genre}" if track.genre else ""))
                item.setData(Qt.ItemDataRole.UserRole, track.id)
                item.setToolTip(track.path)
                self.results.addItem(item)
                if chosen is not None and track.id == chosen.id:
                    self.results.setCurrentItem(item)
                shown += 1
                if shown >= SHOWN:
                    break
        if self.results.currentItem() is None and self.results.count() and words:
            self.results.setCurrentRow(0)
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.chosen() is not None)

    def _accept_if_chosen(self) -> None:
        if self.chosen() is not None:
            self.accept()

    def chosen(self) -> Track | None:
        """The destination chosen (None while none is)."""
        item = self.results.currentItem()
        if item is None:
            return None
        track_id = item.data(Qt.ItemDataRole.UserRole)
        return next((t for t in self._candidates if t.id == track_id), None)

    def journey_length(self) -> int:
        return self.length.value()
