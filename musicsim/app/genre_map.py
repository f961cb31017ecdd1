"""The genre map: every analysed track as a dot at its embedding's PCA position, coloured by genre.

Custom-painted: the dots are rendered once per data change or resize into a cached image (vector
dots for small libraries; for large ones, stamped straight into the pixel buffer with numpy, so
100 000 dots take milliseconds), and each repaint just draws that image. Each genre's mean position
is marked and labelled; hovering a dot shows the song, clicking selects it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QToolTip, QWidget

from musicsim.app.palette import genre_color
from musicsim.app.projection import genre_means, pca_2d

MARGIN = 36
HIT_RADIUS = 8.0
VECTOR_LIMIT = 5000  # above this many dots, stamp them with numpy instead of QPainter


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
        self._counts: dict[str, int] = {}
        self._cache: QImage | None = None  # axes and dots, redrawn on data change or resize
        self.message = "The genre map appears once songs have been analysed."

    # -- data ------------------------------------------------------------------------------
    def set_points(self, ids: Sequence[int], points: np.ndarray, genres: Sequence[str | None],
                   labels: Sequence[str]) -> None:
        """Show tracks at 2-D ``points`` (from :func:`pca_2d`, computed off the GUI thread for big libraries);
        ``labels`` are the hover texts."""
        self.ids = np.asarray(ids, dtype=np.int64)
        self.points = np.asarray(points, dtype=np.float64).reshape(len(self.ids), 2)
        self.genres = list(genres)
        self.labels = list(labels)
        self.means = genre_means(self.points, self.genres)
        self._counts = {}
        for g in self.genres:
            self._counts[g or "unknown"] = self._counts.get(g or "unknown", 0) + 1
        self._layout()
        self.update()

    def set_embeddings(self, ids: Sequence[int], embeddings: np.ndarray, genres: Sequence[str | None],
                       labels: Sequence[str]) -> None:
        """Project ``embeddings`` (one row per id) with PCA and show them."""
        self.set_points(ids, pca_2d(embeddings) if len(ids) else np.zeros((0, 2)), genres, labels)

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
            self._cache = None
            return
        rect = self._plot_rect()
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
        scale = min(rect.width() / span[0], rect.height() / span[1])  # equal axes: distances stay true
        centre = (lo + hi) / 2
        self._scale, self._centre = scale, centre
        self._screen = self._to_screen(self.points)
        self._cache = None

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
        if self._cache is None:
            self._cache = self._render_dots()
        p.drawImage(self.rect(), self._cache)

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

    def _render_dots(self) -> QImage:
        """Axes and every dot, at the screen's pixel density."""
        ratio = self.devicePixelRatioF()
        w, h = max(1, int(self.width() * ratio)), max(1, int(self.height() * ratio))
        genre_array = np.array([g or "" for g in self.genres], dtype=object)
        groups = [(g, genre_array == g) for g in sorted(set(genre_array))]
        if len(self._screen) > VECTOR_LIMIT:
            image = self._stamp(w, h, ratio, groups)
        else:
            image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(self.palette().base().color())
        image.setDevicePixelRatio(ratio)
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._draw_axes(p)
        if len(self._screen) <= VECTOR_LIMIT:
            dot = 7.0 if len(self._screen) < 2000 else 4.0
            for genre, mask in groups:
                color = genre_color(genre or None)
                color.setAlpha(200)
                p.setPen(QPen(color, dot, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                p.drawPoints(QPolygonF([QPointF(float(x), float(y)) for x, y in self._screen[mask]]))
        p.end()
        return image

    def _stamp(self, w: int, h: int, ratio: float, groups) -> QImage:
        """Dots as small discs written straight into a pixel buffer (fast for 100 000 dots)."""
        base = self.palette().base().color()
        pixels = np.empty((h, w), dtype=np.uint32)
        pixels[:] = base.rgba()
        radius = max(1, int(round(1.5 * ratio)))
        dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
        disc = dx ** 2 + dy ** 2 <= radius ** 2 + 1
        offsets = np.stack([dy[disc], dx[disc]], axis=1)
        xy = np.round(self._screen * ratio).astype(np.int64)
        for genre, mask in groups:
            pts = xy[mask]
            ys = (pts[:, 1, None] + offsets[None, :, 0]).ravel()
            xs = (pts[:, 0, None] + offsets[None, :, 1]).ravel()
            ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
            pixels[ys[ok], xs[ok]] = genre_color(genre or None).rgba()
        return QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_ARGB32).copy()

    def _draw_axes(self, p: QPainter) -> None:
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
        counts = self._counts
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
