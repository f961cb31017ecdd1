"""Make docs/screenshot.png: the real app on a folder of generated songs, analysed, with a playlist.

Run under Xvfb so it looks like a desktop session::

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshot.py --seconds 12 \
        --map-out docs/screenshot-genre-map.png [--model FILE]

Songs come from the test suite's synthesiser (tests/conftest.py); names are made up.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ARTISTS = [
    ("The Lanterns", "Harbour Lights", ["Salt in the Air", "Paper Boats", "Slow Tide", "Night Ferry", "Gull Song"]),
    ("Mara Quell", "Velvet Static", ["Glass Hour", "Low Light", "Afterglow", "Cinder", "Hollow Bell"]),
    ("Northbound Static", "Iron Weather", ["Breakwater", "Rust Belt", "Thunderhead", "Anvil", "Black Flag"]),
    ("Saffron Kite", "Market Days", ["Spice Road", "Sunday Dub", "Open Door", "Easy Skank", "Mango"]),
    ("Low Orbit Choir", "Satellites", ["Apogee", "Drift", "Telemetry", "Blue Shift", "Re-entry"]),
    ("Dusty Meridian", "Long Road Home", ["Whiskey Porch", "Tumbleweed", "County Line", "Old Truck", "Amarillo"]),
    ("Ivo & the Tides", "Shoreline", ["Undertow", "Coral", "Riptide", "Sandbar", "Moonwater"]),
    ("Kaleidoscope Youth", "Prism", ["Neon Heart", "Disco Ball", "Mirrorball", "Strobe", "Funky Static"]),
]


def write_folder(folder: Path, seconds: float) -> None:
    from conftest import write_song  # the test suite's song synthesiser and tagger

    seed = 1
    for artist, album, titles in ARTISTS:
        for number, title in enumerate(titles, 1):
            write_song(folder / artist / album / f"{number:02d} {title}.flac", seed=seed, seconds=seconds,
                       title=title, artist=artist, album=album, track=number)
            seed += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the shipped one)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--map-out", default=None, help="also save the genre map tab here")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each generated song")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from musicsim.app.main_window import MainWindow, app_icon
    from musicsim.app.settings import AppSettings
    from musicsim.library.library import Library

    app = QApplication(sys.argv[:1])
    app.setApplicationName("musicsim")
    app.setWindowIcon(app_icon())
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        music = tmp_path / "Music"
        write_folder(music, args.seconds)
        library = Library(data_dir=tmp_path / "data", model_path=args.model)
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(library, settings, folder=str(music))
        window.resize(1400, 860)
        window.show()

        def pump(until, timeout: float) -> None:
            end = time.monotonic() + timeout
            while not until() and time.monotonic() < end:
                app.processEvents()
                time.sleep(0.02)

        pump(lambda: not window.analysis.busy, 600)
        if window.analysis.error:
            print("analysis failed:", window.analysis.error, file=sys.stderr)
            return 1
        seed = next(t for t in window.library_pane.tracks() if t.title == "Slow Tide")
        window.library_pane.select_track(seed.id)
        pump(lambda: window.playlist.model.rowCount() > 0, 30)
        window.playback.play_row(0)
        window.library_pane.focus_table()
        pump(lambda: False, 1.0)
        window.grab().save(args.out)
        print("wrote", args.out)
        if args.map_out:
            window.tabs.setCurrentWidget(window.genre_map)
            pump(lambda: len(window.genre_map.ids) > 0, 30)
            pump(lambda: False, 0.5)
            window.grab().save(args.map_out)
            print("wrote", args.map_out)
        window.close()
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
