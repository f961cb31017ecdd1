"""The Preferences dialog: what the similar lists, mixes, journeys and radio may pick (the engine's Filters).

:class:`PreferencesDialog` edits a :class:`~musicsim.playlists.filters.Filters` and hands it back with
:meth:`PreferencesDialog.filters`; the window stores it in :class:`~musicsim.app.settings.AppSettings`
and passes it to every builder call. Genres are the model's ten predicted genres (lower case, as
``Track.genre``), plus any other genre the library's songs carry.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from musicsim.genres import GENRES
from musicsim.playlists.filters import Filters

MAX_CAP = 50
MAX_MINUTES = 180


def _spin(special: str, suffix: str, maximum: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, maximum)
    spin.setSpecialValueText(special)  # shown for 0
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    return spin


class PreferencesDialog(QDialog):
    """Caps per artist and album, genres to leave out, shortest and longest song."""

    def __init__(self, filters: Filters, genres: Iterable[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.per_artist = _spin("No limit", " songs", MAX_CAP, "At most this many songs by one artist in a list "
                                "(the radio counts its last 20 songs)")
        self.per_album = _spin("No limit", " songs", MAX_CAP, "At most this many songs from one album "
                               "(a soundtrack or a DJ mix would otherwise fill a list)")
        self.min_seconds = _spin("No minimum", " s", 60 * 60, "Leave out songs shorter than this (jingles, intros)")
        self.max_minutes = _spin("No maximum", " min", MAX_MINUTES, "Leave out songs longer than this (whole albums "
                                 "in one file, long mixes)")
        self.genres = QListWidget()
        self.genres.setToolTip("Ticked genres are left out of every list and the radio")
        self.genres.setMinimumHeight(self.genres.fontMetrics().height() * 9)
        names = list(dict.fromkeys([*GENRES, *sorted(g.strip().lower() for g in genres if g and g.strip())]))
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.genres.addItem(item)
        self.set_filters(filters)

        form = QFormLayout()
        form.addRow("Songs per artist:", self.per_artist)
        form.addRow("Songs per album:", self.per_album)
        form.addRow("Shortest song:", self.min_seconds)
        form.addRow("Longest song:", self.max_minutes)
        form.addRow("Leave out genres:", self.genres)
        note = QLabel("These apply to Play Similar, the similar-songs list, mixes, journeys and the radio. "
                      "Songs you queue yourself always play.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            lambda: self.set_filters(Filters()))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.buttons = buttons

    def set_filters(self, f: Filters) -> None:
        self.per_artist.setValue(f.max_per_artist or 0)
        self.per_album.setValue(f.max_per_album or 0)
        self.min_seconds.setValue(int(round(f.min_duration or 0)))
        self.max_minutes.setValue(int(round((f.max_duration or 0) / 60)))
        for i in range(self.genres.count()):
            item = self.genres.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in f.exclude_genres else Qt.CheckState.Unchecked)

    def filters(self) -> Filters:
        """The filters as the dialog shows them."""
        excluded = frozenset(self.genres.item(i).text() for i in range(self.genres.count())
                             if self.genres.item(i).checkState() == Qt.CheckState.Checked)
        return Filters(max_per_artist=self.per_artist.value() or None, max_per_album=self.per_album.value() or None,
                       exclude_genres=excluded, min_duration=float(self.min_seconds.value()) or None,
                       max_duration=float(self.max_minutes.value() * 60) or None)
