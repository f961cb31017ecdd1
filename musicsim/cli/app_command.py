"""``musicsim [FOLDER]``: the desktop app, opened from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from musicsim.cli.common import EXIT_USAGE, UserError, common_options, device_choice, opt


def build_app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicsim", parents=[common_options()],
                                     description="Open the musicsim desktop app, optionally on FOLDER.")
    parser.add_argument("folder", nargs="?", help="music folder to open and scan")
    return parser


def no_display() -> bool:
    """Linux with no X11/Wayland session and no chosen Qt platform: Qt would abort (exit 134) opening a window."""
    env = os.environ
    return (sys.platform.startswith("linux") and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")
            and not env.get("QT_QPA_PLATFORM"))


def run_app_command(args: argparse.Namespace, err: TextIO) -> int:
    if no_display():
        err.write("musicsim: no display found \u2014 the desktop app needs a graphical session; "
                  "the command line works: musicsim --help\n")
        return EXIT_USAGE
    try:
        from musicsim.app import run_app
    except ImportError as exc:
        raise UserError(f"The desktop app is not available ({exc}). The commands work without it: "
                        "musicsim --help") from exc
    return int(run_app(folder=opt(args, "folder"), data_dir=opt(args, "data_dir"), model_path=opt(args, "model"),
                       device=device_choice(args), debug=bool(opt(args, "debug"))) or 0)
