"""Empty states: the first-run page (what musicsim does, a button to choose the music folder) and the
grey placeholder a list shows instead of itself while it has nothing in it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedLayout, QVBoxLayout, QWidget


def placeholder_stack(view: QWidget, text: str = "") -> tuple[QLabel, QStackedLayout]:
    """A layout showing ``view`` or, in its place, a centred grey ``text`` (``setCurrentWidget`` switches)."""
    placeholder = QLabel(text)
    placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
    placeholder.setWordWrap(True)
    placeholder.setStyleSheet("color: palette(mid); padding: 24px;")
    stack = QStackedLayout()
    stack.addWidget(placeholder)
    stack.addWidget(view)
    return placeholder, stack


class EmptyState(QWidget):
    choose_folder = Signal()

    def __init__(self, icon: QIcon, parent=None) -> None:
        super().__init__(parent)
        logo = QLabel()
        logo.setPixmap(icon.pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading = QLabel("Welcome to musicsim")
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Choose the folder that holds your music. musicsim lists your songs from their tags right "
            "away, then listens to each one in the background to predict its genre and find the songs "
            "that sound alike.\nEverything stays on this computer.")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(520)
        self.button = QPushButton("Choose Music Folder…")
        self.button.setDefault(True)
        self.button.setMinimumHeight(36)
        self.button.clicked.connect(self.choose_folder)

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(logo)
        layout.addSpacing(12)
        layout.addWidget(heading)
        layout.addSpacing(8)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(text)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addSpacing(20)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
