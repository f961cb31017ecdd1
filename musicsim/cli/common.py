"""What every command shares: its options, its handler signature, opening the library, user errors."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from musicsim.cli.output import shown
from musicsim.paths import DATA_DIR_ENV

if TYPE_CHECKING:
    from musicsim.library.library import Library

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Every command's handler: (parsed arguments, standard output, standard error) -> exit status.
Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


class UserError(Exception):
    """A failure explained by its message alone (no traceback)."""


def common_options() -> argparse.ArgumentParser:
    """Options every command takes (defaults suppressed so a subcommand never overrides the main parser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                   help=f"where the catalogue and index live (env {DATA_DIR_ENV}; default: your user data folder)")
    g.add_argument("--model", metavar="FILE", default=argparse.SUPPRESS,
                   help="model file (default: the shipped musicsim-model.safetensors)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=argparse.SUPPRESS,
                   help="where the network runs (default: auto = CUDA, then Apple MPS, else CPU)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors and debug messages on the console")
    return p


# The options above that take a value (main() skips their values when looking for the command).
VALUE_OPTIONS = frozenset({"--data-dir", "--model", "--device"})


def add_scope_option(p: argparse.ArgumentParser) -> None:
    """``--in FOLDER``: limit a listing or a recommendation to one music folder."""
    p.add_argument("--in", dest="scope", metavar="FOLDER", default=None,
                   help="only tracks inside FOLDER (default: every folder ever scanned into this library)")


def add_json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/cli.md)")


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option that may be absent from ``args`` (common options are suppressed when not given)."""
    return getattr(args, name, default)


def device_choice(args: argparse.Namespace) -> str | None:
    device = opt(args, "device")
    return None if device in (None, "auto") else device


def scope(args: argparse.Namespace) -> str | None:
    """The ``--in`` folder, absolute (None: every folder); a folder that is not there is a user error."""
    folder = opt(args, "scope")
    if folder is None:
        return None
    path = os.path.abspath(os.path.expanduser(folder))
    if not os.path.isdir(path):
        raise UserError(f"--in {shown(folder)}: no such folder.")
    return path


def open_library(args: argparse.Namespace) -> Library:
    """The library the common options name (its data folder, model file, device)."""
    from musicsim.library.library import Library

    return Library(data_dir=opt(args, "data_dir"), model_path=opt(args, "model"), device=device_choice(args))
