"""What the command line prints: JSON, the progress bar, and track names fit for a terminal."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, TextIO

from musicsim.formatting import format_clock, terminal_safe

if TYPE_CHECKING:
    from musicsim.library.records import AnalysisProgress, Track


def print_json(data: Any, out: TextIO) -> None:
    """``data`` as indented UTF-8 JSON (exact: names are never escaped for the terminal)."""
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")


def shown(text: object) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, newlines) escaped.

    Every human-readable line the CLI prints that holds a name, a path or an error goes through this.
    """
    return terminal_safe(str(text))


def track_line(track: Track) -> str:
    """``Artist - Title`` for human output, terminal-safe."""
    return shown(track.label())


class ProgressBar:
    """A plain-text progress line on ``stream``: redrawn in place on a terminal, else a line every few seconds."""

    def __init__(self, stream: TextIO, width: int = 30, every_s: float = 5.0) -> None:
        self.stream = stream
        self.width = width
        self.every_s = every_s
        self.tty = stream.isatty()
        self._last = 0.0
        self._drawn = False
        self._final_shown = False

    def __call__(self, p: AnalysisProgress) -> None:
        now = time.monotonic()
        final = p.done >= p.total
        if final and self._final_shown:
            return
        if not self.tty and not final and now - self._last < self.every_s:
            return
        self._last = now
        self._final_shown = final
        filled = int(self.width * p.done / p.total) if p.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] {p.done}/{p.total} tracks, {p.failed} failed, {format_clock(p.elapsed_s)} elapsed, "
                f"~{format_clock(p.eta_s)} left")
        if self.tty:
            if p.current_path and not final:  # the file being worked on, terminal-safe, cut to fit
                line += f"  {shown(os.path.basename(p.current_path))}"[:60]
            self.stream.write("\r" + line[:200].ljust(100))
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
