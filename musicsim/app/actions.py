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

Shortcut = QKeySequence.StandardKey | str | list[str] | None


def _action(parent: QObject, text: str, shortcut: Shortcut = None, tip: str = "") -> QAction:
    action = QAction(text, parent)
    if isinstance(shortcut, list):
        action.setShortcuts([QKeySequence(s) for s in shortcut])
    elif shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return action


def _checkable(action: QAction) -> QAction:
    action.setCheckable(True)
    return action


@dataclass(frozen=True)
class Actions:
    """The window's commands (see the module docstring)."""

    choose_folder: QAction
    rescan: QAction
    pause: QAction  # reads "Resume" while paused (see show_paused)
    stop: QAction
    export: QAction
    save_queue: QAction
    write_genres: QAction
    undo_genre_writes: QAction
    preferences: QAction
    quit: QAction
    play_similar: QAction
    play_next: QAction
    add_to_queue: QAction
    start_radio: QAction
    mix: QAction
    journey: QAction
    remove_from_queue: QAction
    move_up: QAction
    move_down: QAction
    clear_queue: QAction
    play_pause: QAction
    next: QAction
    previous: QAction
    find: QAction
    sounds_like: QAction  # checkable: the search box ranks songs by how they sound ("mellow acoustic")
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
            pause=_action(parent, "Pause", "Ctrl+Shift+P", PAUSE_TIP),
            stop=_action(parent, "Stop", None, "Stop analysis; results so far are kept"),
            export=_action(parent, "Export Playlist…", "Ctrl+E",
                           "Save the similar-songs list as a playlist file (M3U8 or XSPF)"),
            save_queue=_action(parent, "Save Queue as Playlist…", "Ctrl+Shift+E",
                               "Save the songs of Up next as a playlist file (M3U8 or XSPF)"),
            write_genres=_action(parent, "Write Genre Tags…", None,
                                 "Write the genres learned from your tagged files into the files that have none "
                                 "(lists them first; can be undone)"),
            undo_genre_writes=_action(parent, "Undo Genre Tag Writes", None,
                                      "Put the files of the last genre tag writing back exactly as they were"),
            preferences=_action(parent, "Preferences…", "Ctrl+,",
                                "Which songs the similar lists, mixes, journeys and radio may pick"),
            quit=_action(parent, "Quit", "Ctrl+Q"),
            play_similar=_action(parent, "Play Similar", ["Return", "Enter"],
                                 "Start a new queue: this song, then the songs that sound most like it"),
            play_next=_action(parent, "Play Next", ["Shift+Return", "Shift+Enter"],
                              "Put the selected songs right after the song playing"),
            add_to_queue=_action(parent, "Add to Queue", ["Ctrl+Return", "Ctrl+Enter"],
                                 "Put the selected songs at the end of Up next"),
            start_radio=_action(parent, "Start Radio", "Ctrl+R",
                                "An endless queue from the selected songs that follows what you listen to "
                                "and steers away from what you skip"),
            mix=_action(parent, "Mix Selected Songs", "Ctrl+M",
                        "A new queue of songs near all the selected songs"),
            journey=_action(parent, "Journey To…", "Ctrl+J",
                            "A new queue that moves step by step from this song to another one"),
            remove_from_queue=_action(parent, "Remove from Queue", key.Delete),
            move_up=_action(parent, "Move Up", "Alt+Up"),
            move_down=_action(parent, "Move Down", "Alt+Down"),
            clear_queue=_action(parent, "Clear Queue", None, "Remove every song from Up next but the one playing"),
            play_pause=_action(parent, "Play/Pause", "Space"),
            next=_action(parent, "Next Song", "Ctrl+Right"),
            previous=_action(parent, "Previous Song", "Ctrl+Left"),
            find=_action(parent, "Find", key.Find),
            sounds_like=_checkable(_action(parent, "Sounds Like", "Ctrl+Shift+F", SOUNDS_LIKE_TIP)),
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
        return [self.play_pause, self.next, self.previous, self.find, self.sounds_like, self.start_radio, self.mix,
                self.journey]

    def library_shortcuts(self) -> list[QAction]:
        """Actions whose shortcuts work while the library table has the focus (Enter must stay the search box's)."""
        return [self.play_similar, self.play_next, self.add_to_queue]

    def queue_shortcuts(self) -> list[QAction]:
        """Actions whose shortcuts work while the Up next list has the focus."""
        return [self.remove_from_queue, self.move_up, self.move_down]

    def track_menu(self) -> list[QAction | None]:
        """The library table's context menu, top to bottom (None: a separator)."""
        return [self.play_similar, self.play_next, self.add_to_queue, None, self.start_radio, self.mix, self.journey,
                None, self.reveal, self.copy_path]

    def queue_menu(self) -> list[QAction | None]:
        """The Up next list's context menu."""
        return [self.remove_from_queue, self.move_up, self.move_down, None, self.clear_queue, self.save_queue]

    def show_paused(self, paused: bool) -> None:
        """The pause command reads "Resume" while paused; its tooltip and status tip follow."""
        self.pause.setText("Resume" if paused else "Pause")
        tip = RESUME_TIP if paused else PAUSE_TIP
        self.pause.setToolTip(tip)
        self.pause.setStatusTip(tip)


SOUNDS_LIKE_TIP = ("Search by how songs sound: words such as mellow, acoustic, female vocalists, piano, "
                   "electronic, dance rank the library by the model's tags")
PAUSE_TIP = "Pause analysis (it resumes where it stopped)"
RESUME_TIP = "Resume analysis where it stopped"


def add_all(menu: QMenu | QToolBar, actions: list[QAction | None]) -> None:
    for action in actions:
        if action is None:
            menu.addSeparator()
        else:
            menu.addAction(action)


def fill_menu_bar(bar: QMenuBar, a: Actions) -> None:
    layout: list[tuple[str, list[QAction | None]]] = [
        ("&File", [a.choose_folder, a.rescan, None, a.export, a.save_queue, None, a.write_genres, a.undo_genre_writes,
                   None, a.preferences, None, a.quit]),
        ("&Analysis", [a.pause, a.stop]),
        ("&Playback", [a.play_similar, a.play_next, a.add_to_queue, None, a.start_radio, a.mix, a.journey, None,
                       a.play_pause, a.previous, a.next, None, a.clear_queue]),
        ("&View", [a.find, a.sounds_like, None, a.show_library, a.show_map, a.show_problems]),
        ("&Help", [a.about]),
    ]
    for title, items in layout:
        add_all(bar.addMenu(title), items)


def fill_toolbar(toolbar: QToolBar, a: Actions) -> None:
    """The toolbar's buttons; the window adds the search box after them."""
    add_all(toolbar, [a.choose_folder, a.rescan, None, a.pause, a.stop])
