"""MPRIS 2: the real ``playerctl`` drives the offscreen app on a private session bus started by the test.

The app runs as it does for a user (``python -m musicsim FOLDER``, offscreen Qt, no audio device needed:
QtMultimedia still plays); ``dbus-daemon`` is started here (``--session``, its own address) and stopped
after. playerctl opens a song (``OpenUri``), then pauses, plays, seeks, sets the volume, goes to the
next song, stops, and reads status and metadata; the track list is read with jeepney (playerctl does
not read it) to check that Next plays the queue's next track.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from output_lines import Lines

ROOT = Path(__file__).resolve().parents[1]


def png_bytes() -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("#f28e2b"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


@pytest.fixture
def session_bus(program, tmp_path: Path):
    """A private session bus: its address (the daemon is stopped after the test)."""
    daemon = subprocess.Popen([program("dbus-daemon"), "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:"), address
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)


class App:
    def __init__(self, bus: str, playerctl: str, folder: Path, data: Path, model: Path, home: Path) -> None:
        self.playerctl = playerctl
        self.env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus, "QT_QPA_PLATFORM": "offscreen",
                    "XDG_CONFIG_HOME": str(home / "config"), "MUSICSIM_CACHE_DIR": str(home / "cache"),
                    "HOME": str(home)}
        self.process = subprocess.Popen([sys.executable, "-m", "musicsim", "--data-dir", str(data), "--model",
                                         str(model), str(folder)], cwd=ROOT, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def ctl(self, *args: str) -> str:
        done = subprocess.run([self.playerctl, "--player=musicsim", *args], env=self.env, capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, f"playerctl {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout.strip()

    def until(self, check, what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited ({self.process.returncode}): {self.process.stdout.read()}")
            try:
                last = check()
            except AssertionError as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(0.1)
        raise AssertionError(f"{what}: last {last!r}")

    def tracklist(self, bus: str) -> list[str]:
        from jeepney import DBusAddress, Properties
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus=bus) as conn:
            obj = DBusAddress("/org/mpris/MediaPlayer2", bus_name="org.mpris.MediaPlayer2.musicsim",
                              interface="org.mpris.MediaPlayer2.TrackList")
            reply = conn.send_and_get_reply(Properties(obj).get("Tracks"), timeout=10)
            return list(reply.body[0][1])


def test_playerctl_controls_the_app(session_bus, program, copy_music, tmp_path: Path, model_file: Path) -> None:
    from mutagen.id3 import APIC, ID3

    from musicsim.cli import main

    playerctl = program("playerctl")
    music = copy_music()
    seed = music / "Gamma" / "Neon Rain.mp3"
    cover = png_bytes()
    tags = ID3(seed)
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="Cover", data=cover))
    tags.save()
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "--model", str(model_file), "scan", str(music)]) == 0

    app = App(session_bus, playerctl, music, data, model_file, tmp_path / "home")
    try:
        app.until(lambda: "musicsim" in subprocess.run([playerctl, "--list-all"], env=app.env, capture_output=True,
                                                       text=True).stdout, "the app on the bus")
        assert app.ctl("status") == "Stopped"

        app.ctl("open", seed.as_uri())
        app.until(lambda: app.ctl("status") == "Playing", "playing after open")
        assert app.ctl("metadata", "xesam:title") == "Neon Rain"
        assert app.ctl("metadata", "xesam:artist") == "Gamma Ray"
        assert app.ctl("metadata", "xesam:album") == "City"
        # an int64, as the spec says: playerctl's duration() refuses anything else
        assert app.ctl("metadata", "--format", "{{duration(mpris:length)}}") == "0:10"
        art = app.ctl("metadata", "mpris:artUrl")
        assert art.startswith("file://") and Path(art.removeprefix("file://")).read_bytes() == cover

        # a desktop widget follows PropertiesChanged: playerctl --follow prints each change it is told of
        follow = subprocess.Popen([playerctl, "--player=musicsim", "--follow", "status"], env=app.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        followed = Lines(follow.stdout)
        try:
            followed.wait_for("Playing")
            app.ctl("pause")
            followed.wait_for("Paused")
            app.ctl("play-pause")
            followed.wait_for("Playing", count=2)
            assert followed.lines[:3] == ["Playing", "Paused", "Playing"]
        finally:
            follow.terminate()
            follow.wait(10)

        app.ctl("position", "4")
        app.until(lambda: float(app.ctl("position")) >= 4.0, "seeked to 4 s")
        app.ctl("volume", "0.5")
        app.until(lambda: abs(float(app.ctl("volume")) - 0.5) < 0.02, "volume 0.5")

        tracks = app.until(lambda: len(app.tracklist(session_bus)) >= 2 and app.tracklist(session_bus),
                           "the queue on the track list")
        assert tracks[0] == app.ctl("metadata", "mpris:trackid").strip("'")  # playing, then what comes next
        app.ctl("next")
        app.until(lambda: app.ctl("metadata", "mpris:trackid").strip("'") == tracks[1],
                  "Next plays the queue's next track")
        assert app.ctl("metadata", "xesam:title") != "Neon Rain"
        assert app.until(lambda: app.ctl("status") == "Playing", "playing the next song")

        app.ctl("stop")
        app.until(lambda: app.ctl("status") == "Stopped", "stopped")
        subprocess.run([program("dbus-send"), "--session", "--dest=org.mpris.MediaPlayer2.musicsim",
                        "--type=method_call", "/org/mpris/MediaPlayer2", "org.mpris.MediaPlayer2.Quit"],
                       env=app.env, check=True)
        assert app.process.wait(30) == 0  # Quit closes the window; the app exits cleanly
    finally:
        if app.process.poll() is None:
            app.process.terminate()
            app.process.wait(30)
