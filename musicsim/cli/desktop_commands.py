"""``install-desktop``: the per-user menu entry, icons and AppStream metainfo (``--uninstall`` removes them)."""

from __future__ import annotations

import argparse
from typing import TextIO

from musicsim.cli.output import shown


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("install-desktop", parents=[common],
                       help="add musicsim to the desktop's application menu (this user)",
                       description="Install, for the current user (under $XDG_DATA_HOME, default ~/.local/share), "
                                   "the desktop entry that starts this musicsim, its icons and its AppStream "
                                   "metainfo. --uninstall removes exactly those files.")
    p.add_argument("--uninstall", action="store_true", help="remove the files install-desktop wrote")
    p.set_defaults(handler=cmd_install_desktop)


def cmd_install_desktop(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from musicsim import freedesktop

    if args.uninstall:
        removed = freedesktop.uninstall()
        for path in removed:
            out.write(f"removed {shown(str(path))}\n")
        err.write(f"Removed {len(removed)} files." if removed else "Nothing to remove: the desktop entry "
                  "was not installed.")
        err.write("\n")
        return 0
    command = freedesktop.launch_command()
    written = freedesktop.install(command=command)
    for path in written:
        out.write(f"wrote {shown(str(path))}\n")
    err.write(f"Installed the desktop entry for {shown(' '.join(command))} ({len(written)} files). "
              "`musicsim install-desktop --uninstall` removes it.\n")
    return 0
