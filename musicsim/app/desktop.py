"""Hand-offs to the desktop: show a file's folder in the file manager, put text on the clipboard."""

from __future__ import annotations

import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication


def open_containing_folder(path: str) -> None:
    """Open the folder holding ``path`` (or ``path`` itself when it is a folder) in the file manager."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)
