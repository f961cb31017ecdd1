"""A real MPD for tests: started on a free localhost port (and a socket) with a temporary config, no audio.

``MpdServer(music, workdir)`` writes the config, starts ``mpd --no-daemon``, waits until it answers, and
``update()`` builds its database of ``music``; ``stop()`` ends it (the fixtures call it). ``client()`` is a
python-mpd2 connection for the test's own checks.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

CONFIG = """\
music_directory     "{music}"
playlist_directory  "{work}/playlists"
db_file             "{work}/database"
log_file            "{work}/mpd.log"
state_file          "{work}/state"
bind_to_address     "127.0.0.1"
bind_to_address     "{work}/socket"
port                "{port}"
auto_update         "no"
zeroconf_enabled    "no"
audio_output {{
    type "null"
    name "null"
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MpdServer:
    def __init__(self, mpd: str, music: Path, work: Path) -> None:
        self.music = music
        self.work = work
        self.port = free_port()
        self.socket = str(work / "socket")
        (work / "playlists").mkdir(parents=True, exist_ok=True)
        self.config = work / "mpd.conf"
        self.config.write_text(CONFIG.format(music=music, work=work, port=self.port))
        self.process = subprocess.Popen([mpd, "--no-daemon", "--stderr", str(self.config)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"OK MPD"):
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mpd did not start: {self.output()}")
            time.sleep(0.1)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self):
        from mpd import MPDClient

        c = MPDClient()
        c.timeout = 10
        c.connect("127.0.0.1", self.port)
        return c

    def update(self) -> None:
        """Build the database from the music folder; returns when MPD has finished."""
        c = self.client()
        try:
            c.update()
            deadline = time.monotonic() + 60
            while "updating_db" in c.status():
                if time.monotonic() > deadline:
                    raise RuntimeError("mpd's database update did not finish")
                time.sleep(0.1)
        finally:
            c.disconnect()

    def output(self) -> str:
        log = self.work / "mpd.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
