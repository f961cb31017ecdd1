"""The PySide6 desktop app. ``run_app`` is what ``musicsim`` (no subcommand) and ``musicsim FOLDER`` call.

Qt is imported only inside :func:`run_app`, so importing this package stays cheap for the CLI.

  main_window   the window: wires views, actions, settings and background work together
  worker        AnalysisWorker (QThread: sync_folder + analyse_pending) and TaskRunner (short queries)
  track_model   library table model (bulk sorting) + filter proxy (search words, genre)
  playlist      similar-songs model and pane (length, M3U8 export)
  player        player bar over QMediaPlayer/QAudioOutput
  genre_map     PCA scatter of embeddings by predicted genre; projection.py does the numpy part
  problems      files that could not be analysed
  watcher       QFileSystemWatcher on the music folder (debounced) + a slow periodic check
  settings      QSettings-backed choices; empty_state, palette, formatting: small helpers

Every engine call goes through :class:`musicsim.library.library.Library`, never on the GUI thread.
Keyboard: arrows move and show similar songs, Enter plays similar, Space play/pause,
Ctrl+Left/Right previous/next, Ctrl+F search, Ctrl+1/2/3 Library/Genre Map/Problems, F5 rescan,
Ctrl+O change folder, Ctrl+E export the playlist, Ctrl+Q quit.
"""

from __future__ import annotations

import os
import sys


def run_app(folder: str | None = None, data_dir=None, model_path=None, device: str | None = None,
            debug: bool = False) -> int:
    """Open the main window on ``folder`` (default: the remembered one) and run until it closes.

    Returns the process exit status: 0 on a normal quit, 1 when the library cannot be opened.
    """
    from PySide6.QtWidgets import QApplication, QMessageBox

    from musicsim import __version__
    from musicsim.app.main_window import MainWindow, app_icon
    from musicsim.app.settings import APPLICATION, ORGANIZATION, AppSettings
    from musicsim.library.library import Library
    from musicsim.logs import setup_logging

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("musicsim")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("musicsim")
    app.setWindowIcon(app_icon())

    try:
        library = Library(data_dir=data_dir, model_path=model_path, device=device)
    except Exception as exc:  # noqa: BLE001 - shown to the user, then a clean exit
        QMessageBox.critical(None, "musicsim", f"Could not open the music library:\n\n{exc}")
        return 1
    setup_logging(library.data_dir, debug=debug)
    try:
        window = MainWindow(library, AppSettings(), folder=os.path.abspath(folder) if folder else None)
        window.show()
        return int(app.exec())
    finally:
        library.close()


__all__ = ["run_app"]
