"""The ``musicsim`` command line.

``musicsim`` with no command (or ``musicsim FOLDER``, FOLDER an existing folder) opens the desktop app;
the commands drive the same engine (:class:`musicsim.library.library.Library`) from a terminal. Each
command module registers its parsers with a ``handler(args, out, err) -> int`` (:data:`common.Handler`).
``--json`` shapes are documented in docs/cli.md. Errors print one line and exit 1 (usage errors: 2,
interrupted: 130). Reading commands import neither torch nor Qt.

  common              options every command takes, the handler signature, opening the library
  output              JSON, the progress bar, terminal-safe names
  library_commands    scan, status, genres, problems
  playlist_commands   similar, export, mix, path, radio (each with --to-mpd: cli/mpd_options)
  genre_commands      search (sounds like words), tag-genres (your own genre tags)
  mpd_commands        mpd-radio (keeps MPD's queue topped up with radio picks)
  desktop_commands    install-desktop (the per-user menu entry, icons, metainfo)
  app_command         the desktop app (no command)
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from musicsim import __version__
from musicsim.cli import desktop_commands, genre_commands, library_commands, mpd_commands, playlist_commands
from musicsim.cli.app_command import build_app_parser, run_app_command
from musicsim.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, VALUE_OPTIONS, UserError, common_options, opt
from musicsim.cli.output import shown

log = logging.getLogger(__name__)
HELP_OPTIONS = frozenset({"-h", "--help", "--version"})

# Modules with ``register(subparsers, common)``; training's is optional (it needs the training extras).
COMMAND_MODULES = [library_commands, playlist_commands, genre_commands, mpd_commands, desktop_commands]


def _register_training(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    try:
        from musicsim.training.cli import register
    except ImportError as exc:
        log.debug("training commands unavailable: %s", exc)
        return
    register(sub, common)


def _untranslated_argparse() -> None:
    """Without a translation of Python's messages for this locale (the usual case), argparse's messages
    stay as they are without a search of the locale folders for every one (about a hundred while the
    parser is built: a tenth of a reading command's start-up)."""
    import gettext

    if gettext.find(gettext.textdomain()) is None:
        argparse._ = lambda message: message  # type: ignore[attr-defined]
        argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    _untranslated_argparse()
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="musicsim", parents=[common],
        description="Recommend music from your own library by how it sounds. "
                    "Without a command, opens the desktop app (musicsim [FOLDER]).")
    parser.add_argument("--version", action="version", version=f"musicsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub, common)
    _register_training(sub, common)
    return parser


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def first_word(argv: Sequence[str]) -> str | None:
    """The first argument that is not an option or an option's value: the command or the app's folder."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in VALUE_OPTIONS:
            skip = True
            continue
        if token.startswith("-"):
            continue
        return token
    return None


def wants_app(argv: Sequence[str], commands: Sequence[str]) -> bool:
    """No command among the arguments (options only, or a folder): the desktop app."""
    if any(t in HELP_OPTIONS for t in argv):
        return False
    word = first_word(argv)
    return word is None or (word not in commands and os.path.isdir(os.path.expanduser(word)))


def unknown_word_message(word: str, commands: Sequence[str]) -> str:
    """Why ``word`` is neither a command nor a folder, with a "did you mean" hint."""
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    hint = f" Did you mean `musicsim {close[0]}`?" if close else f" Commands: {', '.join(commands)}."
    return (f"'{shown(word)}' is neither a command nor a folder.{hint} "
            "(`musicsim FOLDER` opens the app on a folder.)")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()  # a frozen (PyInstaller) bundle's spawned analysis workers start here
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    commands = command_names(parser)
    if wants_app(argv, commands):
        args = build_app_parser().parse_args(argv)
        return _run(lambda: run_app_command(args, err), args, err)
    word = first_word(argv)
    if word is not None and word not in commands and not any(t in HELP_OPTIONS for t in argv):
        err.write(f"musicsim: error: {unknown_word_message(word, commands)}\n")
        return EXIT_USAGE
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return 0
    _setup_logging(args, err)
    return _run(lambda: int(args.handler(args, out, err) or 0), args, err)


def _setup_logging(args: argparse.Namespace, err: TextIO) -> None:
    from musicsim.logs import setup_logging
    from musicsim.paths import resolve_data_dir

    try:
        data_dir = resolve_data_dir(opt(args, "data_dir"))
    except OSError:
        data_dir = None  # reported by the command itself
    setup_logging(data_dir, debug=bool(opt(args, "debug")), console=err)
    log.info("musicsim %s: %s", __version__, " ".join(sys.argv[1:]) if sys.argv else "")


def _run(call: Callable[[], int], args: argparse.Namespace, err: TextIO) -> int:
    try:
        return int(call() or 0)
    except KeyboardInterrupt:
        err.write("\nInterrupted.\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if opt(args, "debug"):
            raise
        log.info("command failed: %s", exc, exc_info=True)  # the log file keeps the traceback
        err.write(f"musicsim: error: {shown(_message(exc))}\n")  # names in messages are terminal-safe
        return EXIT_ERROR


def _message(exc: BaseException) -> str:
    from musicsim.library.catalogue import CatalogueError
    from musicsim.model.errors import ModelFileError, ModelNotFoundError

    if isinstance(exc, (UserError, LookupError, ModelNotFoundError, ModelFileError, CatalogueError)):
        return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {exc} (run with --debug for details)"


__all__ = ["main", "build_parser", "wants_app"]

