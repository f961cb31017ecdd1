"""The temporary folder of the analysis worker processes, and cleaning up after killed runs.

multiprocessing keeps its forkserver socket in a ``pymp-*`` folder of the temp dir, removed when the
process exits normally; a killed run (kill -9, power loss) leaves it behind, one per run. musicsim
names its own ``pymp-musicsim-<pid>-*`` so the next analysis can remove exactly those whose owner
process is gone (a pid that runs again but started after the folder was made is another process).
Other programs' ``pymp-*`` folders are never touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from multiprocessing import process, util
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "pymp-musicsim-"
SOCKET_PATH_MAX = 104  # AF_UNIX paths: 108 bytes on Linux, 104 on macOS (the forkserver's socket lives there)


def use_own_temp_dir() -> Path:
    """Make multiprocessing use a ``pymp-musicsim-<pid>-*`` folder (created now, removed at exit like its
    own), unless this process already has one."""
    config: dict[str, Any] = vars(process.current_process())["_config"]  # what util.get_temp_dir() reads
    existing = config.get("tempdir")
    if existing:
        return Path(existing)
    prefix = f"{PREFIX}{os.getpid()}-"
    if len(os.path.join(tempfile.gettempdir(), prefix)) + len("XXXXXXXX/listener-XXXXXXXX") > SOCKET_PATH_MAX:
        log.info("the temp dir %s is too deep for a socket in a named folder; using multiprocessing's own",
                 tempfile.gettempdir())
        return Path(util.get_temp_dir())
    folder = tempfile.mkdtemp(prefix=prefix)
    util.Finalize(None, vars(util)["_remove_temp_dir"], args=(shutil.rmtree, folder), exitpriority=-100)
    config["tempdir"] = folder
    return Path(folder)


def _owner_alive(pid: int, folder: Path) -> bool:
    """Process ``pid`` exists and is not younger than ``folder`` (a reused pid is another process)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return True
    started = _start_time(pid)
    if started is None:
        return True  # no /proc: trust the pid
    try:
        return started <= folder.stat().st_mtime + 2.0  # /proc/stat's boot time is in whole seconds
    except OSError:
        return True


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch; Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in ticks
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def remove_stale(temp_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove ``pymp-musicsim-<pid>-*`` folders left by processes that are gone; returns them."""
    root = Path(temp_dir or tempfile.gettempdir())
    removed = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(PREFIX)]
    except OSError as exc:
        log.debug("cannot list %s: %s", root, exc)
        return []
    for folder in candidates:
        pid_text = folder.name[len(PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or not folder.is_dir() or folder.is_symlink():
            continue
        if _owner_alive(int(pid_text), folder):
            continue
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            log.warning("could not remove the stale temporary folder %s: %s", folder, exc)
            continue
        removed.append(folder)
    if removed:
        log.info("removed %d temporary folder(s) left by killed analyses: %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed
