"""Where musicsim keeps its files: the per-user data folder and the shipped resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "musicsim"
DATA_DIR_ENV = "MUSICSIM_DATA_DIR"
RESOURCES_ENV = "MUSICSIM_RESOURCES"


def default_data_dir() -> Path:
    """The per-user data folder (platformdirs), overridable with ``MUSICSIM_DATA_DIR``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
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


def resources_dir() -> Path:
    """The folder with model weights, icons and genre names (``resources/`` in the source tree)."""
    env = os.environ.get(RESOURCES_ENV)
    if env:
        return Path(env)
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
