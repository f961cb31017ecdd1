"""The PySide6 desktop app. ``run_app`` is what ``musicsim`` (no subcommand) and ``musicsim FOLDER`` call.

Qt is imported only inside :func:`run_app`, so importing this package stays cheap for the CLI.

  main_window          the window: builds the parts below and wires their signals
  analysis_controller  the open folder and its jobs: state (idle/reading/analysing/paused/stopping), queue
  worker               AnalysisWorker (QThread: sync_folder + analyse_pending) and TaskRunner (short queries)
  actions              every QAction (text, shortcut, tooltip) once; menu bar and toolbar layout
  library_pane         library table, search box, genre filter, context menu
  track_model          library table model (bulk sorting) + filter proxy (search words, genre)
  listening            what plays: the queue, the commands that fill it (similar, mix, journey, radio), queue.json
  queue, queue_pane    the queue model ("Up next": songs, current row, source) and its pane (drag to reorder)
  queue_store          queue.json: the queue (and a radio session) between launches
  radio                RadioFeed (one engine RadioSession, its calls in order) and what counts as a skip
  playlist             similar-songs preview of the selected song, and its export
  playback             plays the queue: next/previous/end of song, how each song was listened to
  player               player bar over QMediaPlayer/QAudioOutput; no-sound-output warning; quiet FFmpeg logs
  preferences          the Preferences dialog (the builders' filters); journey_dialog: "Journey To…"
  genre_map            PCA scatter of embeddings by predicted genre; projection.py does the numpy part
  problems             files that could not be analysed
  status_area          status bar: analysis progress and outcome, song counts, device
  export               M3U8/XSPF export of a list (dialog + write)
  watcher              QFileSystemWatcher on the music folder (debounced) + a slow periodic check
  settings             QSettings-backed choices; empty_state, palette, desktop, table_model: small helpers

Who owns which piece of state: docs/architecture.md, "The app: who owns what".
Every engine call goes through :class:`musicsim.library.library.Library`, never on the GUI thread.
Keyboard: arrows move and show similar songs, Enter plays similar (a new queue), Shift+Enter play next,
Ctrl+Enter add to queue, Ctrl+R radio, Ctrl+M mix, Ctrl+J journey, Space play/pause, Ctrl+Left/Right
previous/next, Delete and Alt+Up/Down in Up next, Ctrl+F search, Ctrl+1/2/3 Library/Genre Map/Problems,
F5 rescan, Ctrl+O change folder, Ctrl+E export the similar songs, Ctrl+Shift+E save the queue, Ctrl+, preferences,
Ctrl+Q quit.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def run_app(folder: str | None = None, data_dir: str | os.PathLike[str] | None = None,
            model_path: str | os.PathLike[str] | None = None, device: str | None = None,
            debug: bool = False) -> int:
    """Open the main window on ``folder`` (default: the remembered one) and run until it closes.

    Logs go to ``musicsim.log`` in the data folder (``debug``: debug level, also on the console).
    Returns the process exit status: 0 on a normal quit, 1 when the library cannot be opened.
    """
    from PySide6.QtWidgets import QApplication, QMessageBox

    from musicsim import __version__
    from musicsim.app.main_window import MainWindow, app_icon
    from musicsim.app.player import quiet_multimedia_logs
    from musicsim.app.settings import APPLICATION, ORGANIZATION, AppSettings
    from musicsim.freedesktop import APP_ID
    from musicsim.library.library import Library
    from musicsim.logs import setup_logging
    from musicsim.paths import resolve_data_dir

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("musicsim")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland: the window belongs to the installed entry (its icon)
    app.setWindowIcon(app_icon())
    if not debug:  # --debug keeps QtMultimedia's own messages
        quiet_multimedia_logs()

    try:
        library = Library(data_dir=data_dir, model_path=model_path, device=device)
    except Exception as exc:  # shown to the user, then a clean exit
        try:
            setup_logging(resolve_data_dir(data_dir), debug=debug)
        except OSError:  # the data folder itself is the trouble: the console still gets the error
            setup_logging(None, debug=debug)
        log.error("could not open the music library", exc_info=True)
        QMessageBox.critical(None, "musicsim", f"Could not open the music library:\n\n{exc}")
        return 1
    setup_logging(library.data_dir, debug=debug)
    log.info("musicsim %s app started (data folder %s)", __version__, library.data_dir)
    try:
        window = MainWindow(library, AppSettings(), folder=os.path.abspath(folder) if folder else None)
        from musicsim.app.mpris import start_mpris

        mpris = start_mpris(window)  # media keys, desktop player widgets, playerctl (None: no session bus)
        window.show()
        code = int(app.exec())
        if mpris is not None:
            mpris.service.close()
        return code
    finally:
        library.close()


__all__ = ["run_app"]
