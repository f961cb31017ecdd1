""""Write Genre Tags…": the genres musicsim learned from the library's tagged files, listed before anything is
written (the app's ``musicsim tag-genres`` dry run); the ticked ones are what the window then writes with
``Library.write_genres`` (journalled: ``Library.undo_genre_writes`` puts the files back byte for byte).

The dialog only chooses; it writes nothing itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicsim.formatting import format_percent
from musicsim.library.own_genres import WRITE_MIN_CONFIDENCE, GenreSuggestion


class RetagDialog(QDialog):
    """The suggestions, each with a tick (ticked: at least :data:`WRITE_MIN_CONFIDENCE`); :meth:`chosen` after OK."""

    def __init__(self, suggestions: Sequence[GenreSuggestion], agreement: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write Genre Tags")
        self._suggestions = list(suggestions)
        intro = QLabel(
            f"musicsim suggests a genre for {len(self._suggestions):,} files that have none, learned from your "
            f"tagged files. {agreement}\n\nThe ticked genres are written into the files' genre tags; nothing "
            "else in the files changes. File > Undo Genre Tag Writes puts the files back exactly as they were.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.list = QTreeWidget()
        self.list.setRootIsDecorated(False)
        self.list.setHeaderLabels(["Title", "Artist", "Genre", "Probability"])
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for s in self._suggestions:
            item = QTreeWidgetItem([s.track.display_title, s.track.artist, s.genre, format_percent(s.confidence)])
            item.setCheckState(0, Qt.CheckState.Checked if s.confidence >= WRITE_MIN_CONFIDENCE
                               else Qt.CheckState.Unchecked)
            item.setToolTip(0, s.track.path)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.list.addTopLevelItem(item)
        header = self.list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.list.itemChanged.connect(lambda *_: self._update_button())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.write_button = QPushButton()
        self.buttons.addButton(self.write_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.resize(720, 480)
        self._update_button()

    def _ticked(self) -> list[bool]:
        items = (self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount()))
        return [item is not None and item.checkState(0) == Qt.CheckState.Checked for item in items]

    def _update_button(self) -> None:
        n = sum(self._ticked())
        self.write_button.setText(f"Write {n:,} Genre Tag{'' if n == 1 else 's'}")
        self.write_button.setEnabled(n > 0)

    def chosen(self) -> list[GenreSuggestion]:
        """The ticked suggestions, in the list's order."""
        return [s for s, on in zip(self._suggestions, self._ticked()) if on]
