"""The PySide6 desktop app. ``run_app`` is what ``musicsim`` (no subcommand) and ``musicsim FOLDER`` call.

Qt is imported only inside :func:`run_app`, so importing this package stays cheap for the CLI.
"""

from __future__ import annotations

import os
import sys


def run_app(folder: str | None = None, data_dir=None, model_path=None, device: str | None = None) -> int:
    """Open the main window on ``folder`` (default: the remembered one) and run until it closes.

    Returns the process exit status: 0 on a normal quit, 1 when the library cannot be opened.
    """
    from PySide6.QtWidgets import QApplication, QMessageBox

    from musicsim import __version__
    from musicsim.app.main_window import MainWindow, app_icon
    from musicsim.app.settings import APPLICATION, ORGANIZATION, AppSettings
    from musicsim.library.library import Library

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
    try:
        window = MainWindow(library, AppSettings(), folder=os.path.abspath(folder) if folder else None)
        window.show()
        return int(app.exec())
    finally:
        library.close()


__all__ = ["run_app"]
