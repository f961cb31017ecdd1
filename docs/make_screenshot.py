"""Make the README's screenshots: the real app, analysed, with a queue playing.

Run under Xvfb so it looks like a desktop session.

docs/screenshot.png (and the genre map) on a folder of generated songs::

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshot.py --seconds 12 \
        --map-out docs/screenshot-genre-map.png [--model FILE]

docs/screenshot-listening.png on real music: the corpus of full-length songs from Debian game-data packages
(``tools/build_corpus.py`` builds it into /work/corpus/library), analysed with the shipped model into
``--data-dir`` (the first run analyses it: minutes on a CPU; later runs reuse it)::

    xvfb-run -s "-screen 0 1700x1050x24" .venv/bin/python docs/make_screenshot.py --music /work/corpus/library \
        --data-dir /tmp/corpus-data --radio "Sky Vibe" --browse "Battle Music" --size 1600x960 \
        --out docs/screenshot-listening.png

From a worktree whose package is not the one installed in the venv, put ``PYTHONPATH=.`` in front. Without a
sound server the player bar shows "No sound output" (true, but noise in a picture): a PulseAudio null sink
(``pulseaudio -n -L module-null-sink -L "module-native-protocol-unix socket=/tmp/pulse-native"`` and
``PULSE_SERVER=unix:/tmp/pulse-native``) gives QtMultimedia a device to play on.

docs/screenshot.png on real music: a "Sounds like" search (``--sounds-like WORDS``), its best match selected and
played similar; the Genre column shows the label, Your Tag the files' own genre tags and, for the others, the
genre learned from them, with the agreement under the table::

    xvfb-run -s "-screen 0 1700x1050x24" .venv/bin/python docs/make_screenshot.py --music /work/corpus/library \
        --data-dir /tmp/corpus-data --sounds-like "mellow acoustic" --size 1600x960 --out docs/screenshot.png \
        --map-out docs/screenshot-genre-map.png

The listening shot starts a radio from the ``--radio`` song, listens to the first song and skips the next
(so the radio has steered once), then selects the ``--browse`` song in the library: Up next keeps playing the
radio while the similar-songs preview follows the selection. Generated songs come from the test suite's
synthesiser (tests/conftest.py); their names are made up.
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
    parser.add_argument("--out", default=None, help="where the main shot goes (default: docs/screenshot.png, "
                                                    "or docs/screenshot-listening.png with --music)")
    parser.add_argument("--map-out", default=None, help="also save the genre map tab here")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each generated song")
    parser.add_argument("--music", help="a real music folder instead of generated songs (the listening shot)")
    parser.add_argument("--data-dir", help="catalogue and index for --music (kept, so it is analysed once)")
    parser.add_argument("--radio", default="Sky Vibe", help="with --music: the radio's seed (words of a title)")
    parser.add_argument("--browse", default="Battle Music", help="with --music: the song selected in the library")
    parser.add_argument("--sounds-like", help="with --music: a Sounds like search instead of the radio")
    parser.add_argument("--size", default="1400x860", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args()
    listening = args.music is not None and not args.sounds_like
    out = args.out or str(ROOT / "docs" / ("screenshot-listening.png" if listening else "screenshot.png"))

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from musicsim.app.main_window import MainWindow, app_icon
    from musicsim.app.player import quiet_multimedia_logs
    from musicsim.app.settings import AppSettings
    from musicsim.library.library import Library

    app = QApplication(sys.argv[:1])
    app.setApplicationName("musicsim")
    app.setWindowIcon(app_icon())
    quiet_multimedia_logs()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.music is not None:
            music = Path(args.music).resolve()
            data_dir = Path(args.data_dir) if args.data_dir else tmp_path / "data"
        else:
            music, data_dir = tmp_path / "Music", tmp_path / "data"
            write_folder(music, args.seconds)
        library = Library(data_dir=data_dir, model_path=args.model)
        (data_dir / "queue.json").unlink(missing_ok=True)  # start from an empty queue
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(library, settings, folder=str(music))
        window.resize(*(int(v) for v in args.size.split("x")))
        window.show()

        def pump(until, timeout: float) -> None:
            end = time.monotonic() + timeout
            while not until() and time.monotonic() < end:
                app.processEvents()
                time.sleep(0.02)

        pump(lambda: not window.analysis.busy, 3600)
        if window.analysis.error:
            print("analysis failed:", window.analysis.error, file=sys.stderr)
            return 1

        def song(words: str):
            return next(t for t in window.library_pane.tracks() if words.casefold() in t.display_title.casefold())

        queue = window.listening.queue
        pane = window.library_pane
        pump(lambda: pane.agreement.text() != "", 60)  # the genres learned from the files' own tags
        if args.sounds_like:
            window.commands.sounds_like.setChecked(True)
            pane.search.setText(args.sounds_like)
            pump(lambda: pane.search_message_text().startswith("Sounds like “"), 30)
            pane.table.selectRow(0)
            pump(lambda: window.playlist.row_count() > 0, 30)
            window.play_similar()
            pump(lambda: queue.row_count() > 1, 30)
            pump(lambda: False, 1.0)
        elif listening:
            seed = song(args.radio)
            window.library_pane.select_track(seed.id)
            pump(lambda: window.library_pane.selected_track() is not None, 5)
            window.commands.start_radio.trigger()
            pump(lambda: queue.row_count() > 5, 60)
            player = window.player.player
            pump(lambda: player.duration() > 0, 10)
            player.setPosition(int(player.duration() * 0.7))  # listened to most of the seed
            pump(lambda: False, 0.5)
            window.playback.next()  # on to the radio's first pick
            pump(lambda: False, 0.5)
            window.playback.next()  # ... which is skipped at once: the radio steers away from it
            pump(lambda: window.listening.radio is not None and not window.listening.radio.waiting, 30)
            pump(lambda: player.duration() > 0, 10)
            player.setPosition(int(player.duration() * 0.35))
            window.library_pane.select_track(song(args.browse).id)  # browsing: the preview follows, Up next stays
            pump(lambda: window.playlist.row_count() > 0, 30)
            window.right.setSizes([430, 330])
        else:
            seed = song("Slow Tide")
            window.library_pane.select_track(seed.id)
            pump(lambda: window.playlist.model.rowCount() > 0, 30)
            window.play_similar()
            pump(lambda: queue.row_count() > 1, 30)
        window.library_pane.focus_table()
        pump(lambda: False, 1.0)
        window.grab().save(out)
        print("wrote", out)
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
