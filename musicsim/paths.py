"""Where musicsim keeps its files: the per-user data folder and the shipped resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "musicsim"
DATA_DIR_ENV = "MUSICSIM_DATA_DIR"
RESOURCES_ENV = "MUSICSIM_RESOURCES"
CACHE_DIR_ENV = "MUSICSIM_CACHE_DIR"


def default_data_dir() -> Path:
    """The per-user data folder (platformdirs' ``user_data_dir``: ``$XDG_DATA_HOME/musicsim`` on Linux),
    overridable with ``MUSICSIM_DATA_DIR``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("linux"):  # what platformdirs says on Linux, without its import (tempfile, shutil...)
        xdg = os.environ.get("XDG_DATA_HOME", "")
        return Path(xdg if xdg.strip() else os.path.expanduser("~/.local/share")) / APP_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder to use: ``explicit`` if given, else :func:`default_data_dir`; created if missing."""
    path = Path(explicit).expanduser() if explicit else default_data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from musicsim.fileio import WriteError, describe_os_error

        raise WriteError(exc.errno, f"cannot create the data folder {path}: {describe_os_error(exc, path.parent)}",
                         path) from exc
    return path


def cache_dir() -> Path:
    """The per-user cache folder (platformdirs; ``MUSICSIM_CACHE_DIR``): safe to delete (cover art for MPRIS)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def resources_dir() -> Path:
    """The folder with model weights, icons, genre names and desktop files.

    In order: ``MUSICSIM_RESOURCES``; a PyInstaller bundle's copy (``sys._MEIPASS/resources``); the
    package data of an installed wheel (``musicsim/resources``, in the package's folder, where
    ``importlib.resources`` would find it, without that module's import cost; the build copies the source
    tree's ``resources/`` there, see setup.py); else a checkout's or an editable install's ``resources/``
    beside the package.
    """
    env = os.environ.get(RESOURCES_ENV)
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    here = Path(__file__).resolve().parent
    packaged = here / "resources"  # what importlib.resources.files("musicsim") finds for an installed wheel
    if packaged.is_dir():
        return packaged
    return here.parent / "resources"
