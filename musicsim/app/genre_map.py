"""The genre map: every analysed track as a dot at its embedding's PCA position, coloured by genre.

Custom-painted (one ``drawPoints`` call per genre), so 100 000 dots redraw quickly. Each genre's
mean position is marked and labelled; hovering a dot shows the song, clicking selects it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QToolTip, QWidget

from musicsim.app.palette import genre_color
from musicsim.app.projection import genre_means, pca_2d

MARGIN = 36
HIT_RADIUS = 8.0


class GenreMapWidget(QWidget):
    """Scatter plot of tracks; emits ``track_clicked(id)``."""

    track_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.ids = np.zeros(0, dtype=np.int64)
        self.points = np.zeros((0, 2))
        self.genres: list[str | None] = []
        self.labels: list[str] = []
        self.means: dict[str, np.ndarray] = {}
        self.selected_id: int | None = None
        self._screen = np.zeros((0, 2))
        self._polys: list[tuple[str, QPolygonF]] = []
        self.message = "The genre map appears once songs have been analysed."

    # -- data ------------------------------------------------------------------------------
    def set_embeddings(self, ids: Sequence[int], embeddings: np.ndarray, genres: Sequence[str | None],
                       labels: Sequence[str]) -> None:
        """Project ``embeddings`` (one row per id) and show them; ``labels`` are the hover texts."""
        self.ids = np.asarray(ids, dtype=np.int64)
        self.points = pca_2d(embeddings) if len(self.ids) else np.zeros((0, 2))
        self.genres = list(genres)
        self.labels = list(labels)
        self.means = genre_means(self.points, self.genres)
        self._layout()
        self.update()

    def select(self, track_id: int | None) -> None:
        self.selected_id = track_id
        self.update()

    def screen_position(self, track_id: int) -> QPointF | None:
        """Where ``track_id``'s dot is drawn, in widget coordinates."""
        hits = np.flatnonzero(self.ids == track_id)
        if not len(hits):
            return None
        x, y = self._screen[hits[0]]
        return QPointF(float(x), float(y))

    def track_at(self, pos: QPointF) -> int | None:
        """The id of the dot nearest ``pos`` within a few pixels."""
        if not len(self._screen):
            return None
        d2 = ((self._screen - (pos.x(), pos.y())) ** 2).sum(axis=1)
        i = int(d2.argmin())
        return int(self.ids[i]) if d2[i] <= HIT_RADIUS ** 2 else None

    # -- geometry --------------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        return QRectF(MARGIN, MARGIN, max(1.0, self.width() - 2 * MARGIN - 130), max(1.0, self.height() - 2 * MARGIN))

    def _layout(self) -> None:
        if not len(self.points):
            self._screen = np.zeros((0, 2))
            self._polys = []
            return
        rect = self._plot_rect()
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
        scale = min(rect.width() / span[0], rect.height() / span[1])  # equal axes: distances stay true
        centre = (lo + hi) / 2
        self._scale, self._centre = scale, centre
        self._screen = self._to_screen(self.points)
        genre_array = np.array([g or "" for g in self.genres], dtype=object)
        self._polys = [(g, QPolygonF([QPointF(float(x), float(y)) for x, y in self._screen[genre_array == g]]))
                       for g in sorted(set(genre_array))]

    def _to_screen(self, pts: np.ndarray) -> np.ndarray:
        rect = self._plot_rect()
        x = rect.center().x() + (pts[..., 0] - self._centre[0]) * self._scale
        y = rect.center().y() - (pts[..., 1] - self._centre[1]) * self._scale
        return np.stack([x, y], axis=-1)

    def resizeEvent(self, event) -> None:
        self._layout()
        super().resizeEvent(event)

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        if not len(self._screen):
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        rect = self._plot_rect()
        axis_pen = QPen(self.palette().mid().color())
        axis_pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(axis_pen)
        origin = self._to_screen(np.zeros(2))
        p.drawLine(QPointF(rect.left(), origin[1]), QPointF(rect.right(), origin[1]))
        p.drawLine(QPointF(origin[0], rect.top()), QPointF(origin[0], rect.bottom()))
        p.setPen(self.palette().text().color())
        p.drawText(QPointF(rect.right() - 40, origin[1] - 6), "PC 1")
        p.drawText(QPointF(origin[0] + 6, rect.top() + 12), "PC 2")

        dot = 7.0 if len(self._screen) < 2000 else 4.0
        for genre, poly in self._polys:
            color = genre_color(genre or None)
            color.setAlpha(200)
            p.setPen(QPen(color, dot, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawPoints(poly)

        if self.selected_id is not None:
            pos = self.screen_position(self.selected_id)
            if pos is not None:
                p.setPen(QPen(self.palette().highlight().color(), 2.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(pos, 9.0, 9.0)

        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        for genre, mean in self.means.items():
            x, y = self._to_screen(mean)
            self._draw_signature(p, QPointF(float(x), float(y)), genre_color(genre), genre)
        self._draw_legend(p)

    def _draw_signature(self, p: QPainter, at: QPointF, color: QColor, genre: str) -> None:
        r = 9.0
        diamond = QPolygonF([at + QPointF(0, -r), at + QPointF(r, 0), at + QPointF(0, r), at + QPointF(-r, 0)])
        p.setPen(QPen(QColor("white"), 2.0))
        p.setBrush(color)
        p.drawPolygon(diamond)
        p.setPen(QPen(QColor("black"), 1.0))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolygon(diamond)
        p.setPen(self.palette().text().color())
        p.drawText(at + QPointF(r + 4, 4), genre)

    def _draw_legend(self, p: QPainter) -> None:
        counts: dict[str, int] = {}
        for g in self.genres:
            counts[g or "unknown"] = counts.get(g or "unknown", 0) + 1
        p.setFont(self.font())
        x = self.width() - 130
        y = MARGIN
        p.setPen(self.palette().text().color())
        p.drawText(QPointF(x, y), "Predicted genre")
        for genre in sorted(counts):
            y += 18
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(genre_color(None if genre == "unknown" else genre))
            p.drawEllipse(QPointF(x + 5, y - 4), 5, 5)
            p.setPen(self.palette().text().color())
            p.drawText(QPointF(x + 16, y), f"{genre} ({counts[genre]})")
        y += 24
        p.setPen(self.palette().placeholderText().color())
        p.drawText(QPointF(x, y), "◆ genre signature")

    # -- interaction -----------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        track_id = self.track_at(event.position())
        if track_id is None:
            QToolTip.hideText()
            self.unsetCursor()
        else:
            i = int(np.flatnonzero(self.ids == track_id)[0])
            QToolTip.showText(event.globalPosition().toPoint(), self.labels[i], self)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            track_id = self.track_at(event.position())
            if track_id is not None:
                self.select(track_id)
                self.track_clicked.emit(track_id)
                return
        super().mousePressEvent(event)
