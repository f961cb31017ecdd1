"""One colour per genre, shared by the table, the playlist and the genre map."""

from __future__ import annotations

import zlib
from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from musicsim.genres import GENRES

# Tableau 10: distinct, colour-blind-aware hues.
_HUES = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
         "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
UNKNOWN = "#8a8a8a"
# The genres the label adds to GTZAN's ten (musicsim.genres.label extras), and any other name: hues of their
# own, stable across launches (Python's hash() of a string is not).
_EXTRA_HUES = {"electronic": "#17becf", "folk": "#bcbd22", "punk": "#393b79", "soul/r&b": "#843c39",
               "ambient": "#9edae5"}
_OTHER_HUES = ("#5254a3", "#637939", "#7b4173", "#e7969c", "#6b6ecf", "#b5cf6b")


def genre_color(genre: str | None) -> QColor:
    """The colour of ``genre`` (grey for unknown or not-yet-analysed)."""
    if genre in GENRES:
        return QColor(_HUES[GENRES.index(genre) % len(_HUES)])
    if genre in _EXTRA_HUES:
        return QColor(_EXTRA_HUES[genre])
    if genre:
        return QColor(_OTHER_HUES[zlib.crc32(genre.encode()) % len(_OTHER_HUES)])
    return QColor(UNKNOWN)


@lru_cache(maxsize=64)
def genre_icon(genre: str | None, size: int = 10) -> QIcon:
    """A small filled circle in the genre's colour, for table cells and combo boxes."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(genre_color(genre))
    painter.drawEllipse(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)
