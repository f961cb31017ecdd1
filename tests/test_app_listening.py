"""Listening in the desktop app: the queue ("Up next"), its commands, radio, the queue file, Preferences,
and the rough edges a new user ran into.

Real parts throughout, as in test_app.py: generated songs (conftest), the small random-weight model, the
SQLite catalogue and hnswlib index in a temporary data folder, the analysis worker, QtMultimedia's player
(offscreen, usually with no sound device: it still plays, in silence, with a running clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QItemSelectionModel, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

import musicsim.app.player as player_module
from musicsim.app.journey_dialog import JourneyDialog
from musicsim.app.preferences import PreferencesDialog
from musicsim.app.problems import NO_PROBLEMS_TEXT
from musicsim.app.queue import QueueModel
from musicsim.app.queue_store import QUEUE_FILE, QueueFile, SavedQueue
from musicsim.app.radio import LOW_WATER, RadioFeed, is_skip
from musicsim.app.track_model import ANALYSING_TEXT, QUEUED_TEXT, TrackTableModel
from musicsim.library.records import AnalysisProgress, SyncReport, Track
from musicsim.playlists.filters import Filters
from test_app import click_row, wait_idle

XSPF = "{http://xspf.org/ns/0/}"


def play_similar_of(qtbot, window, proxy_row: int) -> Track:
    """Select ``proxy_row`` in the library and press Enter; returns the seed once its queue is filled."""
    click_row(qtbot, window, proxy_row)
    seed = window.library_pane.selected_track()
    window.library_pane.table.setFocus()
    qtbot.keyClick(window.library_pane.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.listening.queue.row_count() > 1, timeout=10_000)
    return seed


def select_queue_rows(window, *rows: int) -> None:
    """Select ``rows`` of Up next (as clicks would; QTableView.selectRow toggles when a modifier looks held)."""
    view, queue = window.queue_pane.view, window.listening.queue
    flags = QItemSelectionModel.SelectionFlag
    view.selectionModel().clearSelection()
    for row in rows:
        view.selectionModel().select(queue.index(row, 0), flags.Select | flags.Rows)
    view.selectionModel().setCurrentIndex(queue.index(rows[-1], 0), flags.NoUpdate)


def queue_ids(window) -> list[int]:
    return [t.id for t in window.listening.queue.tracks()]


def playing_path(window) -> str:
    return window.player.player.source().toLocalFile()


def many_songs(folder: Path, write_song, n: int) -> Path:
    """``n`` songs more than a second apart in length, each by its own artist. The random-weight test model
    gives songs close embeddings; with lengths within a second they would count as copies of one recording.
    And the radio's default cap (2 per artist in its last 20 songs) would end a stream from 6 artists at 12."""
    for i in range(n):
        write_song(folder / f"Artist {i}" / "Album" / f"{i:02d} - Song {i}.wav", seed=500 + i,
                   seconds=2.0 + 1.05 * i, sample_rate=16000, title=f"Song {i:02d}", artist=f"Artist {i}",
                   album=f"Album {i % 6}")
    return folder


# ---------------------------------------------------------------------------- the queue and browsing
def test_the_queue_survives_clicking_searching_and_filtering_while_it_plays(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    seed = play_similar_of(qtbot, window, 0)
    queue = window.listening.queue
    before, source = queue_ids(window), playing_path(window)
    assert before[0] == seed.id and queue.current == 0 and source == seed.path
    assert window.queue_pane.subtitle.text().startswith(f"Similar to “{seed.title}”")

    click_row(qtbot, window, 3)  # another song: the preview follows it, the queue does not
    other = window.library_pane.selected_track()
    qtbot.waitUntil(lambda: window.playlist.seed_id == other.id and window.playlist.row_count() > 0, timeout=10_000)
    qtbot.keyClicks(window.library_pane.search, "water")  # search moves the selection
    qtbot.waitUntil(lambda: window.library_pane.proxy.rowCount() == 1, timeout=5_000)
    window.library_pane.genre_filter.setCurrentIndex(1)
    qtbot.wait(300)  # past the selection-settle timer
    assert queue_ids(window) == before and queue.current == 0 and playing_path(window) == source

    window.playback.next()  # Next follows the queue, not the table
    assert queue.current == 1 and playing_path(window) == queue.track_at(1).path
    window.playback.previous()
    assert queue.current == 0 and playing_path(window) == seed.path

    # double-click in the library: a new queue with that song first
    window.library_pane.search.clear()
    window.library_pane.genre_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: window.library_pane.proxy.rowCount() == 6, timeout=5_000)
    rect = window.library_pane.table.visualRect(window.library_pane.proxy.index(4, 0))
    qtbot.mouseClick(window.library_pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.library_pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    fourth = window.library_pane.selected_track()
    qtbot.waitUntil(lambda: queue.track_at(0).id == fourth.id and queue.row_count() > 1, timeout=10_000)
    assert playing_path(window) == fourth.path and fourth.id not in queue_ids(window)[1:]


def test_the_end_of_a_song_plays_the_next_one_in_the_queue(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    play_similar_of(qtbot, window, 0)
    queue, player = window.listening.queue, window.player.player
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=10_000)
    click_row(qtbot, window, 5)  # browsing meanwhile changes nothing
    player.setPosition(player.duration() - 300)  # near the end: it ends on its own
    qtbot.waitUntil(lambda: queue.current == 1, timeout=15_000)
    assert playing_path(window) == queue.track_at(1).path
    # the last song's end leaves the queue where it is (no radio to refill it)
    window.playback.play_row(queue.row_count() - 1)
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=10_000)
    player.setPosition(player.duration() - 300)
    qtbot.waitUntil(lambda: window.player.player.mediaStatus() == player.MediaStatus.EndOfMedia, timeout=15_000)
    assert queue.current == queue.row_count() - 1


def test_a_song_that_cannot_be_played_is_said_and_passed_over(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    play_similar_of(qtbot, window, 0)
    queue = window.listening.queue
    broken = queue.track_at(1)
    os.remove(broken.path)  # gone since the queue was made
    window.playback.next()
    qtbot.waitUntil(lambda: queue.current == 2, timeout=10_000)
    assert playing_path(window) == queue.track_at(2).path
    qtbot.waitUntil(lambda: window.status.message().startswith(f"Could not play “{broken.title}”"), timeout=5_000)
    assert queue.track_at(1).id == broken.id  # the row stays; the user may remove it


def test_play_next_add_remove_reorder_and_clear(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    play_similar_of(qtbot, window, 0)
    queue, a = window.listening.queue, window.commands
    first = queue_ids(window)

    # Add to Queue (Ctrl+Enter in the table) appends; Play Next (Shift+Enter) goes right after the current song
    click_row(qtbot, window, 2)
    added = window.library_pane.selected_track()
    qtbot.keyClick(window.library_pane.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert queue_ids(window) == [*first, added.id]
    click_row(qtbot, window, 3)
    nxt = window.library_pane.selected_track()
    qtbot.keyClick(window.library_pane.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert queue_ids(window)[:2] == [first[0], nxt.id]
    qtbot.waitUntil(lambda: "will play next" in window.status.message(), timeout=5_000)
    window.playback.next()
    assert playing_path(window) == nxt.path

    # several songs at once (an extended selection), in table order
    table = window.library_pane.table
    click_row(qtbot, window, 4)
    rect = table.visualRect(window.library_pane.proxy.index(5, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, rect.center())
    two = window.library_pane.selected_tracks()
    assert len(two) == 2
    a.add_to_queue.trigger()
    assert queue_ids(window)[-2:] == [t.id for t in two]

    # remove (Delete in Up next): never the song playing
    view = window.queue_pane.view
    count = queue.row_count()
    select_queue_rows(window, queue.current)
    assert not a.remove_from_queue.isEnabled()
    select_queue_rows(window, count - 1)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert queue.row_count() == count - 1 and queue_ids(window)[-1] == two[0].id

    # reorder: Alt+Up, a drag inside the list, and the model's own drop
    ids = queue_ids(window)
    select_queue_rows(window, 3)
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert queue_ids(window) == ids[:2] + [ids[3], ids[2]] + ids[4:]
    ids = queue_ids(window)
    playing = queue.current_track()
    select_queue_rows(window, 0)
    target = view.visualRect(queue.index(2, 1))
    mime = queue.mimeData([queue.index(0, 0)])
    drop = QDropEvent(QPointF(target.center().x(), target.bottom() - 2), Qt.DropAction.MoveAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    drop_source_is_view(monkeypatch_view=view, event=drop)
    view.dropEvent(drop)
    assert queue_ids(window) == ids[1:3] + [ids[0]] + ids[3:]
    assert drop.dropAction() == Qt.DropAction.IgnoreAction  # so the drag does not remove the dragged row
    assert queue.current_track().id == playing.id  # the song playing stays current wherever it goes
    ids = queue_ids(window)
    assert queue.dropMimeData(queue.mimeData([queue.index(len(ids) - 1, 0)]), Qt.DropAction.MoveAction, 0, 0,
                              queue.index(-1, -1))
    assert queue_ids(window) == [ids[-1], *ids[:-1]]
    assert view.dragDropMode() == view.DragDropMode.InternalMove

    # clear: everything but the song playing
    a.clear_queue.trigger()
    assert queue_ids(window) == [playing.id] and queue.current == 0
    assert window.queue_pane.subtitle.text().endswith("nothing after this song")


def drop_source_is_view(monkeypatch_view, event: QDropEvent) -> None:
    """A synthesised drop event has no source; the view's drop handler asks for it to know the drag is its own."""
    event.source = lambda: monkeypatch_view  # type: ignore[method-assign]


def test_queue_model_moves_and_edits_keep_the_current_song():
    tracks = [Track(i, f"/m/{i}.flac", f"S{i}", "A", "B", i, 100.0, "analysed") for i in range(6)]
    q = QueueModel()
    q.replace(tracks, None, current=2)
    assert q.move_rows([0, 1], 4) and [t.id for t in q.tracks()] == [2, 3, 0, 1, 4, 5] and q.current == 0
    assert not q.move_rows([2, 3], 3)  # already there
    q.insert_next(tracks[:1])
    assert [t.id for t in q.tracks()][:2] == [2, 0] and q.current == 0
    assert q.remove_rows([0, 1]) == 1 and q.current == 0  # the current song stays
    assert [t.id for t in q.upcoming()] == [3, 0, 1, 4, 5]
    q.clear()
    assert [t.id for t in q.tracks()] == [2]


# ---------------------------------------------------------------------------- radio, mix, journey
def test_radio_refills_never_repeats_and_skips_steer(qtbot, open_window, tmp_path, write_song, data_dir,
                                                    monkeypatch):
    music = many_songs(tmp_path / "many", write_song, 30)
    window = open_window(music)
    wait_idle(qtbot, window)
    click_row(qtbot, window, 0)
    seed = window.library_pane.selected_track()
    window.commands.start_radio.trigger()
    queue = window.listening.queue
    qtbot.waitUntil(lambda: queue.row_count() > 1 and window.listening.radio is not None, timeout=10_000)
    assert queue.source.kind == "radio" and queue.track_at(0).id == seed.id and queue.current == 0
    assert "refills as you listen" in window.queue_pane.subtitle.text()
    first_batch = queue.row_count()

    played = [seed.id]
    for _ in range(16):  # listen on past the first batch: the radio refills as the queue runs low
        listen_most_of(qtbot, window)
        window.playback.next()  # after more than a third of the song: not a skip
        qtbot.waitUntil(lambda: queue.current_track() is not None and queue.current_track().id not in played,
                        timeout=10_000)
        played.append(queue.current_track().id)
    assert queue.row_count() > first_batch
    assert len(set(queue_ids(window))) == queue.row_count(), "the radio handed out a song twice"

    # Next pressed at once is a skip: the session hears it, and the songs it picked before go back to it
    # (a refill picks again, steered away from the skipped song; which songs come is the engine's business)
    qtbot.waitUntil(lambda: not window.listening.radio.waiting, timeout=10_000)
    forgotten: list[list[int]] = []
    real_forget = RadioFeed.forget
    monkeypatch.setattr(RadioFeed, "forget", lambda feed, ids: forgotten.append(list(ids)) or real_forget(feed, ids))
    skipped = queue.current_track()
    lined_up = [t.id for t in queue.upcoming()][1:]  # the song after the skipped one plays; these were picked
    window.playback.next()
    qtbot.waitUntil(lambda: bool(forgotten), timeout=5_000)
    assert forgotten == [lined_up]
    qtbot.waitUntil(lambda: not window.listening.radio.waiting and len(queue.upcoming()) >= LOW_WATER,
                    timeout=10_000)
    assert len(set(queue_ids(window))) == queue.row_count()
    window.listening.save_now()
    state = json.loads((data_dir / QUEUE_FILE).read_text(encoding="utf-8"))["radio"]
    feedback = {track_id: was_skipped for track_id, _, was_skipped in state["feedback"]}
    assert feedback[skipped.id] is True and not any(feedback[i] for i in played[:-1])
    assert set(state["history"]) >= set(played[1:])


def listen_most_of(qtbot, window) -> None:
    """Play on to 60 % of the song loaded (seeking there, as a listener who stays would get there)."""
    player = window.player.player
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=10_000)
    player.setPosition(int(player.duration() * 0.6))
    qtbot.waitUntil(lambda: player.position() >= player.duration() * 0.6 - 50, timeout=10_000)


def test_mix_and_journey_from_the_library(qtbot, open_window, copy_music, monkeypatch):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    table, proxy = window.library_pane.table, window.library_pane.proxy
    click_row(qtbot, window, 0)
    rect = table.visualRect(proxy.index(3, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, rect.center())
    seeds = window.library_pane.selected_tracks()
    assert len(seeds) == 2 and window.commands.mix.isEnabled()
    window.commands.mix.trigger()
    queue = window.listening.queue
    qtbot.waitUntil(lambda: queue.source is not None and queue.source.kind == "mix", timeout=10_000)
    assert not {s.id for s in seeds} & set(queue_ids(window)) and queue.row_count() >= 2
    assert queue.current == 0 and playing_path(window) == queue.track_at(0).path

    # Journey To… with two songs selected: from the current one, the other one preselected
    start, end = seeds  # the current song (the last one clicked) comes first
    seen: dict[str, object] = {}

    def accept_dialog() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, JourneyDialog) and w.isVisible())
        seen["chosen"] = dialog.chosen()
        dialog.length.setValue(4)
        dialog.accept()

    QTimer.singleShot(200, accept_dialog)
    window.commands.journey.trigger()
    assert seen["chosen"].id == end.id
    qtbot.waitUntil(lambda: queue.source.kind == "journey", timeout=10_000)
    ids = queue_ids(window)
    assert len(ids) == 4 and ids[0] == start.id and ids[-1] == end.id and len(set(ids)) == 4
    assert window.settings.journey_length == 4

    # one song selected: pick the destination by searching in the dialog
    click_row(qtbot, window, 2)
    start = window.library_pane.selected_track()
    target = next(t for t in window.library_pane.tracks() if t.id != start.id and t.artist != start.artist)

    def search_and_accept() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, JourneyDialog) and w.isVisible())
        assert dialog.chosen() is None
        qtbot.keyClicks(dialog.search, target.title)
        qtbot.keyClick(dialog.search, Qt.Key.Key_Return)

    QTimer.singleShot(200, search_and_accept)
    window.commands.journey.trigger()
    qtbot.waitUntil(lambda: queue.track_at(0).id == start.id and queue.source.kind == "journey", timeout=10_000)
    assert queue_ids(window)[-1] == target.id and queue.row_count() == 4


# ---------------------------------------------------------------------------- the queue between launches
def test_the_queue_and_the_radio_survive_a_restart(qtbot, open_window, tmp_path, write_song, data_dir, library):
    music = many_songs(tmp_path / "many", write_song, 24)
    window = open_window(music)
    wait_idle(qtbot, window)
    click_row(qtbot, window, 0)
    window.commands.start_radio.trigger()
    queue = window.listening.queue
    qtbot.waitUntil(lambda: queue.row_count() > 3 and window.listening.radio is not None, timeout=10_000)
    window.playback.next()
    qtbot.wait(200)
    select_queue_rows(window, queue.row_count() - 1)
    window.commands.move_up.trigger()
    player = window.player.player
    qtbot.waitUntil(lambda: player.position() > 400, timeout=10_000)  # it plays (silently, offscreen)
    ids, current = queue_ids(window), queue.current
    window.close()
    saved = json.loads((data_dir / QUEUE_FILE).read_text(encoding="utf-8"))
    assert saved["current"] == current and saved["position_ms"] >= 400 and saved["radio"]["history"]

    again = open_window(music)
    aq = again.listening.queue
    qtbot.waitUntil(lambda: aq.row_count() == len(ids), timeout=10_000)
    assert queue_ids(again) == ids and aq.current == current and aq.source.kind == "radio"
    assert again.player.track.id == ids[current] and not again.player.is_playing()
    assert again.player.position_ms() >= 400  # Play carries on where it was
    assert again.listening.radio is not None
    wait_idle(qtbot, again)
    again.playback.jump_to(aq.row_count() - 1)  # on to the last song: the restored session refills
    qtbot.waitUntil(lambda: aq.row_count() > len(ids), timeout=10_000)
    assert len(set(queue_ids(again))) == aq.row_count(), "the restored radio handed out a song again"


def test_songs_whose_files_vanished_leave_the_restored_queue_with_a_message(qtbot, open_window, copy_music, data_dir):
    music = copy_music()
    window = open_window(music)
    wait_idle(qtbot, window)
    play_similar_of(qtbot, window, 0)
    queue = window.listening.queue
    tracks = queue.tracks()
    window.playback.play_row(2)
    window.close()
    os.remove(tracks[2].path)  # the current song
    os.remove(tracks[3].path)

    again = open_window()  # before the folder is re-read: the catalogue still lists both files
    qtbot.waitUntil(lambda: again.listening.queue.row_count() == len(tracks) - 2, timeout=10_000)
    assert queue_ids(again) == [t.id for i, t in enumerate(tracks) if i not in (2, 3)]
    assert again.listening.queue.current is None and again.player.track is None
    qtbot.waitUntil(lambda: again.status.message() == "2 songs of your queue were left out: their files are gone.",
                    timeout=5_000)
    wait_idle(qtbot, again)


def test_a_damaged_queue_file_is_set_aside(tmp_path: Path, caplog):
    path = tmp_path / QUEUE_FILE
    path.write_text("{not json", encoding="utf-8")
    assert QueueFile(path).read() is None
    assert "could not be read" in caplog.text
    f = QueueFile(path)
    f.write(SavedQueue(["/a.flac"], 0), seq=2)
    f.write(SavedQueue(["/old.flac"], 0), seq=1)  # an older save finishing late never wins
    assert f.read().paths == ["/a.flac"]


# ---------------------------------------------------------------------------- preferences, preview, export
def test_preferences_apply_to_the_preview_and_every_builder(qtbot, open_window, copy_music, settings):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    tracks = window.library_pane.tracks()
    iron = next(t for t in tracks if t.title == "Iron Gate")  # 13.5 s, Epsilon
    seed_row = next(r for r in range(6) if window.library_pane.proxy.index(r, 0).data() == "Iron Gate")
    click_row(qtbot, window, seed_row)
    qtbot.waitUntil(lambda: window.playlist.row_count() == 5, timeout=10_000)  # 5 others, Alpha Band twice

    excluded = next(t.genre for t in tracks if t.id != iron.id)

    def edit() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, PreferencesDialog) and w.isVisible())
        dialog.per_artist.setValue(1)
        dialog.min_seconds.setValue(7)
        for i in range(dialog.genres.count()):
            if dialog.genres.item(i).text() == excluded:
                dialog.genres.item(i).setCheckState(Qt.CheckState.Checked)
        dialog.accept()

    QTimer.singleShot(200, edit)
    with qtbot.waitSignal(window.playlist_changed, timeout=10_000):
        window.commands.preferences.trigger()
    want = Filters(max_per_artist=1, exclude_genres=frozenset({excluded}), min_duration=7.0)
    assert settings.filters == want
    shown = window.playlist.tracks()
    assert all((t.duration or 0) >= 7 and t.genre != excluded for t in shown), shown
    assert len({t.artist for t in shown}) == len(shown)
    window.commands.play_similar.trigger()  # Play Similar follows the same filters
    queue = window.listening.queue
    qtbot.waitUntil(lambda: queue.track_at(0).id == iron.id, timeout=10_000)
    qtbot.wait(500)
    assert [t.id for t in queue.upcoming()] == [t.id for t in shown]

    # the settings file round-trips, and a dialog opened again shows what is stored
    dialog = PreferencesDialog(settings.filters, ["Chiptune"])
    assert dialog.filters() == want
    assert dialog.genres.item(dialog.genres.count() - 1).text() == "chiptune"
    dialog.buttons.button(dialog.buttons.StandardButton.RestoreDefaults).click()
    assert dialog.filters() == Filters()


def test_preview_plays_from_a_row_and_exports_xspf_with_the_seed(qtbot, open_window, copy_music, tmp_path,
                                                                 monkeypatch):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    click_row(qtbot, window, 1)
    seed = window.library_pane.selected_track()
    qtbot.waitUntil(lambda: window.playlist.row_count() > 2, timeout=10_000)
    preview = window.playlist.tracks()

    rect = window.playlist.view.visualRect(window.playlist.model.index(1, 1))
    qtbot.mouseClick(window.playlist.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.playlist.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    queue = window.listening.queue
    assert queue_ids(window) == [seed.id, *(t.id for t in preview)] and queue.current == 2

    window.playlist.include_seed.setChecked(True)
    assert window.settings.export_include_seed
    (tmp_path / "export").mkdir()  # a save dialog only offers existing folders
    out = tmp_path / "export" / "picked"  # no extension: the chosen filter's is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "XSPF playlist (*.xspf)")))
    window.commands.export.trigger()
    written = out.with_suffix(".xspf")
    qtbot.waitUntil(written.exists, timeout=10_000)
    root = ET.parse(written).getroot()
    locations = [QUrl(e.text).toLocalFile() for e in root.iter(f"{XSPF}location")]
    assert locations == [seed.path, *(t.path for t in preview)]
    assert root.find(f"{XSPF}title").text == f"Similar to {seed.title}"

    # the queue too, as M3U8
    out_queue = tmp_path / "export" / "queue.m3u8"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out_queue), "")))
    window.commands.save_queue.trigger()
    qtbot.waitUntil(out_queue.exists, timeout=10_000)
    listed = [line for line in out_queue.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    assert listed == [t.path for t in queue.tracks()]


# ---------------------------------------------------------------------------- rough edges a new user found
def test_saving_a_playlist_into_the_music_folder_does_not_trigger_a_rescan(qtbot, open_window, copy_music,
                                                                           monkeypatch):
    music = copy_music()
    window = open_window(music)
    wait_idle(qtbot, window)
    assert window.watcher.directories()
    click_row(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.playlist.row_count() > 0, timeout=10_000)
    started = []
    window.analysis.started.connect(started.append)
    out = music / "Alpha Band" / "mix.m3u8"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    window.commands.export.trigger()
    qtbot.waitUntil(out.exists, timeout=10_000)
    (music / "cover.jpg").write_bytes(b"\xff\xd8 not really a picture")
    qtbot.wait(2500)  # past the watcher's 1.5-s debounce
    assert started == [], "the folder was read again for a playlist and a picture"
    assert window.status.message() == f"Playlist saved to {out}"
    # an audio file still counts
    os.utime(music / "Beta" / "Deep Water.ogg")
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    wait_idle(qtbot, window)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_exported_playlists_get_the_permissions_the_umask_gives(qtbot, open_window, copy_music, tmp_path,
                                                                monkeypatch, umask):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    click_row(qtbot, window, 0)
    qtbot.waitUntil(lambda: window.playlist.row_count() > 0, timeout=10_000)
    out = tmp_path / f"mode{umask:o}.m3u8"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    old = os.umask(umask)
    try:
        window.commands.export.trigger()
        qtbot.waitUntil(out.exists, timeout=10_000)
        window.tasks.wait()
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # 0644 / 0640, never mkstemp's 0600


def test_empty_problems_tab_and_empty_folder_say_so(qtbot, open_window, copy_music, tmp_path):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.problems_view)
    view = window.problems_view
    assert view.problems_model.rowCount() == 0 and view.empty_text() == NO_PROBLEMS_TEXT
    blank = view.viewport().grab().toImage()
    centre = blank.pixelColor(blank.width() // 2, blank.height() // 2)
    drawn = {blank.pixelColor(x, y).name() for x in range(0, blank.width(), 2)
             for y in range(blank.height() // 2 - 30, blank.height() // 2 + 30)}
    assert len(drawn) > 2, f"nothing drawn over the empty table ({centre.name()})"

    empty = tmp_path / "empty"
    (empty / "Sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no music here", encoding="utf-8")
    window.open_folder(str(empty))
    wait_idle(qtbot, window)
    pane = window.library_pane
    assert pane.showing_placeholder() and pane.choose_button.isVisibleTo(pane)
    assert pane.placeholder.text().startswith(f"No music found in {empty}.")
    assert "FLAC" in pane.placeholder.text()


def test_no_sound_output_is_said_in_the_window(qtbot, open_window, copy_music, monkeypatch):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    monkeypatch.setattr(player_module, "audio_output_available", lambda: False)
    play_similar_of(qtbot, window, 0)
    bar = window.player
    assert bar.no_output.isVisibleTo(bar) and "no sound" in bar.no_output.text().lower()
    assert "silence" in bar.no_output.toolTip()
    monkeypatch.setattr(player_module, "audio_output_available", lambda: True)
    window.playback.next()
    assert not bar.no_output.isVisibleTo(bar)


PLAY_SCRIPT = """
import sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
if sys.argv[1] == "quiet":
    from musicsim.app.player import quiet_multimedia_logs
    quiet_multimedia_logs()
from musicsim.app.player import PlayerBar
from musicsim.library.records import Track
bar = PlayerBar()
for i, path in enumerate(sys.argv[2:]):
    bar.play_track(Track(i, path, "t", "a", "b", None, None, "analysed"))
    end = time.monotonic() + 3
    while time.monotonic() < end and bar.player.duration() <= 0:
        app.processEvents()
        time.sleep(0.02)
    print("loaded", bar.player.duration(), flush=True)
"""


def test_playing_songs_prints_no_ffmpeg_block_on_stderr(music_dir: Path, tmp_path: Path):
    songs = [str(music_dir / "Beta" / "Deep Water.ogg"), str(music_dir / "Alpha Band" / "Second Wind.flac")]
    env = {k: v for k, v in os.environ.items() if k not in ("QT_LOGGING_RULES", "QT_FFMPEG_DEBUG")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")

    def run(mode: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", PLAY_SCRIPT, mode, *songs], capture_output=True, text=True,
                              env=env, cwd=root, timeout=120)

    loud, quiet = run("loud"), run("quiet")
    assert quiet.returncode == 0 and quiet.stdout.count("loaded") == 2, quiet.stderr
    assert all(float(line.split()[1]) > 0 for line in quiet.stdout.splitlines())  # both songs really opened
    if "Input #0" not in loud.stderr:
        pytest.skip("this QtMultimedia backend prints no FFmpeg format dump (not the FFmpeg backend?)")
    assert loud.stderr.count("Input #") == 2  # the block, once per song, without the rules
    assert "Input #" not in quiet.stderr and "Stream #0" not in quiet.stderr and "Metadata:" not in quiet.stderr
    assert "symbolsresolver" not in quiet.stderr


def test_resume_counts_the_whole_run_and_the_pause_tooltip_follows(qtbot, open_window, tmp_path, write_song):
    n = 100  # enough that analysis lasts well past the engine's first one-second batch
    music = tmp_path / "many"
    for i in range(n):
        write_song(music / f"song{i:03d}.wav", seed=700 + i, seconds=3.0, sample_rate=16000, title=f"S{i}")
    window = open_window(music, workers=0)
    pause = window.commands.pause
    assert pause.toolTip().startswith("Pause analysis")
    seen: list[tuple[int, int]] = []

    def on_progress(p) -> None:  # the user presses Pause as the first results are reported
        seen.append((p.done, p.total))
        if p.done >= 1 and pause.text() == "Pause" and window.analysis.state.value == "analysing":
            pause.trigger()

    window.analysis.progress.connect(on_progress)
    qtbot.waitUntil(lambda: pause.text() == "Resume", timeout=120_000)
    assert pause.toolTip() == pause.statusTip() == "Resume analysis where it stopped"
    wait_idle(qtbot, window)
    done_before = window.library_pane.model.counts()["analysed"]
    assert 1 <= done_before < n
    window.analysis.progress.disconnect(on_progress)
    seen.clear()
    window.analysis.progress.connect(lambda p: seen.append((p.done, p.total)))
    pause.trigger()  # Resume
    assert pause.text() == "Pause" and pause.toolTip().startswith("Pause analysis")
    wait_idle(qtbot, window)
    assert seen and all(total == n for _, total in seen), seen  # not n - done_before
    assert all(done >= done_before for done, _ in seen) and seen[-1][0] == n
    assert window.status.progress_bar.format() == f"{n} / {n}"


def test_songs_waiting_for_analysis_say_queued_and_the_one_in_progress_analysing(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    model = window.library_pane.model
    tracks = model.tracks()
    pending = [Track(t.id, t.path, t.title, t.artist, t.album, t.track_number, t.duration, "pending") for t in tracks]
    model.merge(pending)
    model.set_analysing(True)
    genre = [model.index(r, TrackTableModel.GENRE).data() for r in range(model.rowCount())]
    assert set(genre) == {QUEUED_TEXT}
    window._on_progress(AnalysisProgress(done=0, total=6, failed=0, elapsed_s=1.0, eta_s=None,
                                         current_path=tracks[2].path))  # what the controller's signal carries
    row = model.row_of(tracks[2].id)
    assert model.index(row, TrackTableModel.GENRE).data() == ANALYSING_TEXT
    assert [model.index(r, TrackTableModel.GENRE).data() for r in range(6)].count(QUEUED_TEXT) == 5
    model.set_analysing(False)
    assert {model.index(r, TrackTableModel.GENRE).data() for r in range(6)} == {"not analysed yet"}


def test_the_folder_read_message_leaves_the_progress_bar_in_view(qtbot, open_window, copy_music):
    from musicsim.app.worker import Job

    window = open_window(copy_music())
    wait_idle(qtbot, window)
    status = window.status
    status.started(Job(window.analysis.folder))
    status.synced(SyncReport(added=3))
    qtbot.waitUntil(lambda: status.message().startswith("Folder read: 3 new"), timeout=5_000)
    assert status.progress_bar.isVisible()
    status.progress(AnalysisProgress(done=1, total=3, failed=0, elapsed_s=1.0, eta_s=2.0))
    assert status.progress_bar.isVisible() and status.message().startswith("Folder read")


def test_untagged_songs_sort_after_tagged_ones(qtbot, open_window, copy_music, write_song):
    music = copy_music()
    write_song(music / "loose.flac", seed=77, seconds=2.0)  # no tags, no folder to name an artist
    write_song(music / "Zed" / "Zed Album" / "01 - Zed Song.flac", seed=78, seconds=2.0)  # the folders do
    window = open_window(music)
    wait_idle(qtbot, window)
    proxy = window.library_pane.proxy
    artists = [proxy.index(r, TrackTableModel.ARTIST).data() for r in range(proxy.rowCount())]
    assert artists[-1] == "" and "Zed" in artists and artists[0] != ""  # the default sort is by artist
    assert proxy.index(artists.index("Zed"), TrackTableModel.ALBUM).data() == "Zed Album"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_the_qt_binding_keeps_none_alive_through_hours_of_playback(qapp):
    """PySide6 6.12.0 loses one reference to None per void method call: a window playing a song makes ~40 such
    calls a second (position label and slider), None's ~60 000 references ran out after ~25 minutes and the
    app died with "Fatal Python error: none_dealloc". pyproject.toml excludes that version."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("x")
    assert before - sys.getrefcount(None) < 500, "this PySide6 drops a reference to None on every call"


def test_what_counts_as_a_skip():
    assert is_skip(5, 240) and is_skip(29.9, 240) and not is_skip(30, 240)
    assert is_skip(10, 45) and not is_skip(16, 45)  # a third of a short song
    assert is_skip(20, None) and not is_skip(31, None)


def test_context_menu_keeps_a_multi_song_selection(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    table, proxy = window.library_pane.table, window.library_pane.proxy
    click_row(qtbot, window, 1)
    rect = table.visualRect(proxy.index(2, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, rect.center())
    assert len(window.library_pane.selected_tracks()) == 2
    QTimer.singleShot(200, lambda: QApplication.activePopupWidget() and QApplication.activePopupWidget().close())
    window.library_pane._show_context_menu(table.visualRect(proxy.index(1, 0)).center())
    assert len(window.library_pane.selected_tracks()) == 2  # still both: Mix and Radio act on them
    assert window.library_pane.selected_track().id == proxy.track_id(1)
    assert window.commands.mix.isEnabled() and window.commands.start_radio.isEnabled()
