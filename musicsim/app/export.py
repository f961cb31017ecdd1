"""Saving the similar-songs playlist as M3U8: the file dialog, then the write on a pool thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from musicsim.app.worker import TaskRunner
from musicsim.library.library import Library
from musicsim.library.records import Track


def safe_name(text: str) -> str:
    """``text`` as a file name on every desktop (odd characters become ``_``)."""
    return "".join(c if c.isalnum() or c in " -_.,()&'" else "_" for c in text).strip()[:80] or "playlist"


def export_playlist(parent: QWidget, tasks: TaskRunner, library: Library, seed: Track, tracks: Sequence[Track],
                    folder: str | None, on_saved: Callable[[Path], None]) -> None:
    """Ask where to save ``tracks`` (suggesting "Similar to <seed>.m3u8" in ``folder``) and save them there."""
    suggested = Path(folder or Path.home()) / f"Similar to {safe_name(seed.display_title)}.m3u8"
    out, _ = QFileDialog.getSaveFileName(parent, "Export playlist", str(suggested), "M3U8 playlist (*.m3u8)")
    if not out:
        return
    if not out.lower().endswith((".m3u8", ".m3u")):
        out += ".m3u8"

    def failed(message: str) -> None:
        QMessageBox.warning(parent, "Export failed", f"Could not save the playlist:\n{message}")

    items = list(tracks)
    tasks.submit(lambda: library.export_m3u8(items, out), on_saved, failed, name="export playlist")
