"""Every command of the window as one QAction, made once: text, shortcut and tooltip live here.

:class:`Actions` is built once by the main window; the menu bar, the toolbar and the context menus
all take their actions from it (never a second QAction for the same command), and the window
connects each ``triggered`` to what it does. :func:`fill_menu_bar` and :func:`fill_toolbar` lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar

Shortcut = QKeySequence.StandardKey | str | None


def _action(parent: QObject, text: str, shortcut: Shortcut = None, tip: str = "") -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return action


@dataclass(frozen=True)
class Actions:
    """The window's commands (see the module docstring)."""

    choose_folder: QAction
    rescan: QAction
    pause: QAction  # reads "Resume" while paused
    stop: QAction
    export: QAction
    quit: QAction
    play: QAction
    play_similar: QAction
    play_pause: QAction
    next: QAction
    previous: QAction
    find: QAction
    show_library: QAction
    show_map: QAction
    show_problems: QAction
    reveal: QAction
    copy_path: QAction
    about: QAction

    @classmethod
    def create(cls, parent: QObject) -> Actions:
        key = QKeySequence.StandardKey
        return cls(
            choose_folder=_action(parent, "Choose Folder…", key.Open, "Choose the music folder"),
            rescan=_action(parent, "Rescan", key.Refresh, "Look for new, changed and removed files and analyse them"),
            pause=_action(parent, "Pause", "Ctrl+Shift+P", "Pause analysis (it resumes where it stopped)"),
            stop=_action(parent, "Stop", None, "Stop analysis; results so far are kept"),
            export=_action(parent, "Export Playlist…", "Ctrl+E", "Save the similar-songs playlist as an M3U8 file"),
            quit=_action(parent, "Quit", "Ctrl+Q"),
            play=_action(parent, "Play"),
            play_similar=_action(parent, "Play Similar", None,
                                 "Fill the playlist with songs that sound like this one and play it"),
            play_pause=_action(parent, "Play/Pause", "Space"),
            next=_action(parent, "Next Song", "Ctrl+Right"),
            previous=_action(parent, "Previous Song", "Ctrl+Left"),
            find=_action(parent, "Find", key.Find),
            show_library=_action(parent, "Library", "Ctrl+1"),
            show_map=_action(parent, "Genre Map", "Ctrl+2"),
            show_problems=_action(parent, "Problems", "Ctrl+3"),
            reveal=_action(parent, "Open Containing Folder"),
            copy_path=_action(parent, "Copy File Path"),
            about=_action(parent, "About musicsim"),
        )

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]

    def window_shortcuts(self) -> list[QAction]:
        """Actions whose shortcuts work anywhere in the window (added to the window itself)."""
        return [self.play_pause, self.next, self.previous, self.find]

    def track_menu(self) -> list[QAction | None]:
        """The library table's context menu, top to bottom (None: a separator)."""
        return [self.play, self.play_similar, None, self.reveal, self.copy_path]


def add_all(menu: QMenu | QToolBar, actions: list[QAction | None]) -> None:
    for action in actions:
        if action is None:
            menu.addSeparator()
        else:
            menu.addAction(action)


def fill_menu_bar(bar: QMenuBar, a: Actions) -> None:
    layout: list[tuple[str, list[QAction | None]]] = [
        ("&File", [a.choose_folder, a.rescan, None, a.export, None, a.quit]),
        ("&Analysis", [a.pause, a.stop]),
        ("&Playback", [a.play, a.play_similar, a.play_pause, a.previous, a.next]),
        ("&View", [a.find, a.show_library, a.show_map, a.show_problems]),
        ("&Help", [a.about]),
    ]
    for title, items in layout:
        add_all(bar.addMenu(title), items)


def fill_toolbar(toolbar: QToolBar, a: Actions) -> None:
    """The toolbar's buttons; the window adds the search box after them."""
    add_all(toolbar, [a.choose_folder, a.rescan, None, a.pause, a.stop])
