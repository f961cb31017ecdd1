"""The per-user freedesktop files: the ``.desktop`` entry, hicolor icons and the AppStream metainfo.

``install`` writes them under ``$XDG_DATA_HOME`` (default ``~/.local/share``), with the entry's ``Exec=``
naming the absolute path of the ``musicsim`` that runs the install (a venv's, pipx's, a bundle's), so the
menu starts the same installation; ``uninstall`` removes exactly the files ``install`` writes (the same
list, :func:`planned_paths`), nothing else. The entry and metainfo are templates in
``resources/desktop/``; the PNG icons are rendered from ``resources/icons/musicsim.svg`` with QtSvg (Qt is
imported only for that).

The entry declares no ``MimeType``: claiming ``inode/directory`` would make a per-user entry the default
program for every folder on desktops where the user never chose one. ``Exec=... %f`` still lets a file
manager's "Open with another application" (and dropping a folder on the launcher) open a folder.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from musicsim.fileio import atomic_write
from musicsim.paths import resources_dir

log = logging.getLogger(__name__)

APP_ID = "io.github.musicsim.musicsim"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Characters that oblige an Exec argument to be quoted (Desktop Entry Specification, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    """``$XDG_DATA_HOME`` when it is an absolute path (the spec ignores a relative one), else ``~/.local/share``."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The command that starts this installation of musicsim, as absolute paths."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: its executable
        return [os.path.abspath(sys.executable)]
    script = Path(sys.executable).parent / "musicsim"  # a venv's or pipx's bin/, beside its python
    if script.is_file() and os.access(script, os.X_OK):
        return [os.path.abspath(script)]
    return [os.path.abspath(sys.executable), "-m", "musicsim"]


def exec_value(command: list[str]) -> str:
    """``command`` plus ``%f`` as a desktop entry's ``Exec`` value (quoted and escaped as the spec says)."""
    args = []
    for arg in command:
        if "\n" in arg or "\r" in arg:
            raise ValueError(f"a desktop entry cannot start a program whose path holds a line break: {arg!r}")
        if _RESERVED & set(arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        args.append(arg.replace("%", "%%"))
    # The value is a desktop entry string too: its backslashes are escaped once more.
    return " ".join(args).replace("\\", "\\\\") + " %f"


def planned_paths(home: Path | None = None) -> list[Path]:
    """Every file :func:`install` writes (and :func:`uninstall` removes), in that order."""
    home = home or data_home()
    hicolor = home / "icons" / "hicolor"
    return ([home / "applications" / f"{APP_ID}.desktop", home / "metainfo" / f"{APP_ID}.metainfo.xml",
             hicolor / "scalable" / "apps" / f"{APP_ID}.svg"]
            + [hicolor / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in ICON_SIZES])


def desktop_entry(command: list[str]) -> str:
    """The shipped entry with ``Exec=`` and ``TryExec=`` pointing at ``command``."""
    template = (resources_dir() / "desktop" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    try_exec = command[0].replace("\\", "\\\\")
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_value(command)}"
        elif line.startswith("TryExec="):
            line = f"TryExec={try_exec}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def render_icon(svg: Path, size: int) -> bytes:
    """``svg`` rendered to a ``size`` x ``size`` PNG with a transparent background (QtSvg, no window needed)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QImageWriter, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not an SVG image Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    if not writer.write(image):
        raise ValueError(f"{svg}: could not encode a {size}px PNG: {writer.errorString()}")
    return bytes(data.data())


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the entry, the metainfo and the icons for the current user; returns the files written."""
    paths = planned_paths(home)
    command = command or launch_command()
    svg = resources_dir() / "icons" / "musicsim.svg"
    contents = [desktop_entry(command).encode(),
                (resources_dir() / "desktop" / f"{APP_ID}.metainfo.xml").read_bytes(),
                svg.read_bytes()] + [render_icon(svg, n) for n in ICON_SIZES]
    for path, data in zip(paths, contents, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    log.info("installed the desktop entry for %s (%d files under %s)", command[0], len(paths), paths[0].parents[1])
    return paths


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove the files :func:`install` writes (those that exist); returns the files removed."""
    removed = []
    for path in planned_paths(home):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    log.info("removed %d desktop integration files", len(removed))
    return removed
