"""A subprocess's output lines, collected by a thread, waited for by a test (with a deadline, never forever)."""

from __future__ import annotations

import threading
import time
from typing import IO


class Lines:
    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, count: int = 1, timeout: float = 60.0) -> list[str]:
        """The lines starting with ``prefix`` once there are ``count`` of them (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {prefix!r} in {self.lines}")
