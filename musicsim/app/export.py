"""Saving a list of songs as a playlist file: the file dialog, then the write on a pool thread.

The format follows the file name's extension, as the CLI's ``--out`` does: ``.m3u8``/``.m3u`` (plays in
mpv and VLC) or ``.xspf`` (VLC, Strawberry). A name without either gets the extension of the filter
chosen in the dialog. The file is written atomically (musicsim.fileio), with the umask's permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from musicsim.app.worker import TaskRunner
from musicsim.library.playlist import write_playlist
from musicsim.library.records import Track

M3U8_FILTER = "M3U8 playlist (*.m3u8)"
XSPF_FILTER = "XSPF playlist (*.xspf)"


def safe_name(text: str) -> str:
    """``text`` as a file name on every desktop (odd characters become ``_``)."""
    return "".join(c if c.isalnum() or c in " -_.,()&'" else "_" for c in text).strip()[:80] or "playlist"


def playlist_path(chosen: str, selected_filter: str) -> str:
    """The file to write for a name typed in the dialog: its own extension, else the chosen filter's."""
    if chosen.lower().endswith((".m3u8", ".m3u", ".xspf")):
        return chosen
    return chosen + (".xspf" if selected_filter == XSPF_FILTER else ".m3u8")


def export_playlist(parent: QWidget, tasks: TaskRunner, tracks: Sequence[Track], name: str, title: str,
                    folder: str | None, on_saved: Callable[[Path], None]) -> None:
    """Ask where to save ``tracks`` (suggesting "<name>.m3u8" in ``folder``) and save them there as ``title``."""
    suggested = Path(folder or Path.home()) / f"{safe_name(name)}.m3u8"
    out, selected = QFileDialog.getSaveFileName(parent, "Export playlist", str(suggested),
                                                f"{M3U8_FILTER};;{XSPF_FILTER}")
    if not out:
        return
    out = playlist_path(out, selected)

    def failed(message: str) -> None:
        QMessageBox.warning(parent, "Export failed", f"Could not save the playlist:\n{message}")

    items = list(tracks)
    # The save dialog has asked before replacing a file; the one overwrite rule still refuses non-playlists.
    tasks.submit(lambda: write_playlist(items, out, title=title, replace=True), on_saved, failed,
                 name="export playlist")
