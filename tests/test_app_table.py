"""The library table filling in parts: the first part at once, the rest appended without a reset, the
table complete and correctly sorted at the end, whatever the sort; filters, counts and removals meanwhile."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Qt

from musicsim.app.library_pane import LibraryPane
from musicsim.app.track_model import TrackFilterProxy, TrackTableModel
from musicsim.formatting import artist_sort_key
from musicsim.library.records import Track

ARTISTS = ["The Lanterns", "lanterns", "Abba", "", "Zed", "Björk", "bjork", "The Who", "Éclair"]


def _tracks(n: int, seed: int = 0) -> list[Track]:
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        artist = rng.choice(ARTISTS)
        status = rng.choice(["analysed", "analysed", "pending", "failed"])
        genre = rng.choice(["rock", "jazz", "pop"]) if status == "analysed" else None
        out.append(Track(i, f"/m/{i:04d}.flac", rng.choice(["Blue", "red", "Green river", ""]), artist,
                         rng.choice(["Gold", "arrival", ""]), rng.choice([None, 1, 2, 10]), 100.0 + i, status,
                         genre=genre, confidence=0.5 if genre else None))
    return out


def _catalogue_order(tracks: list[Track]) -> list[Track]:
    """What Library.track_chunks hands out: by the table's key, ties by id."""
    return sorted(tracks, key=lambda t: (artist_sort_key(t.artist, t.album, t.track_number), t.id))


def _parts(tracks: list[Track], first: int, size: int) -> list[list[Track]]:
    return [tracks[:first]] + [tracks[i:i + size] for i in range(first, len(tracks), size)]


def _ids(model: TrackTableModel) -> list[int]:
    return [model.track_at(r).id for r in range(model.rowCount())]


def _watch(model: TrackTableModel) -> dict[str, int]:
    seen = {"reset": 0, "inserted": 0, "layout": 0}
    model.modelReset.connect(lambda: seen.__setitem__("reset", seen["reset"] + 1))
    model.rowsInserted.connect(lambda *_: seen.__setitem__("inserted", seen["inserted"] + 1))
    model.layoutChanged.connect(lambda *_: seen.__setitem__("layout", seen["layout"] + 1))
    return seen


def test_parts_append_in_the_default_order_and_end_complete(qtbot) -> None:
    model, proxy = TrackTableModel(), TrackFilterProxy()
    proxy.setSourceModel(model)
    model.sort(TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)  # the table's default
    tracks = _catalogue_order(_tracks(230))
    parts = _parts(tracks, 20, 50)
    seen = _watch(model)
    model.set_tracks(parts[0])
    assert model.rowCount() == 20 and _ids(model) == [t.id for t in tracks[:20]]  # the first screenful
    proxy.set_search("river")  # the user types while the rest arrives
    for part in parts[1:]:
        model.append_tracks(part)
    model.finish_appending()
    assert seen == {"reset": 1, "inserted": len(parts) - 1, "layout": 0}  # appended, never reset nor re-sorted
    assert _ids(model) == [t.id for t in tracks]
    fresh = TrackTableModel()  # the same rows loaded at once, sorted by the model itself: the same order
    fresh.set_tracks(list(reversed(tracks)))
    fresh.sort(TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)
    key = TrackTableModel._sort_key
    assert [key(fresh, fresh.track_at(r), TrackTableModel.ARTIST) for r in range(230)] == \
        [key(model, model.track_at(r), TrackTableModel.ARTIST) for r in range(230)]
    assert proxy.rowCount() == sum("river" in t.title.casefold() for t in tracks) > 0
    counts = model.counts()
    assert counts["tracks"] == 230 and counts["analysed"] == sum(t.status == "analysed" for t in tracks)
    assert model.genres() == sorted({t.genre for t in tracks if t.genre})
    assert model.track_by_id(tracks[-1].id) == tracks[-1] and model.row_of(tracks[-1].id) == 229
    # counts and genres are kept in step through updates (analysis results) and removals
    import dataclasses

    model.merge([dataclasses.replace(t, status="analysed", genre="blues", confidence=0.9) for t in tracks[:30]])
    model.remove_ids([t.id for t in tracks[100:140]])
    shown = model.tracks()
    expected = {"tracks": len(shown), "analysed": 0, "pending": 0, "failed": 0}
    for t in shown:
        expected[t.status] += 1
    assert model.counts() == expected and expected["tracks"] == 190
    assert model.genres() == sorted({t.genre for t in shown if t.status == "analysed" and t.genre})
    assert "blues" in model.genres()


def test_parts_under_another_sort_are_sorted_in_once_whole(qtbot) -> None:
    model = TrackTableModel()
    model.sort(TrackTableModel.TIME, Qt.SortOrder.DescendingOrder)  # restored from the last session
    tracks = _catalogue_order(_tracks(120, seed=1))
    parts = _parts(tracks, 10, 25)
    model.set_tracks(parts[0])
    assert [model.track_at(r).duration for r in range(10)] == sorted((t.duration for t in parts[0]), reverse=True)
    for part in parts[1:]:
        model.append_tracks(part)
    seen = _watch(model)
    model.finish_appending()
    assert seen["layout"] == 1
    assert [model.track_at(r).duration for r in range(120)] == sorted((t.duration for t in tracks), reverse=True)
    model.finish_appending()  # nothing new: no second sort
    model.resort()
    assert seen["layout"] == 1


def test_a_new_snapshot_replaces_the_shown_one_once_whole_and_removals_drop_rows(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    from musicsim.app.actions import Actions

    owner = QWidget()
    qtbot.addWidget(owner)
    pane = LibraryPane(Actions.create(owner), owner)
    old = _catalogue_order(_tracks(40, seed=2))
    pane.begin_load(old[:5])
    pane.load_more(old[5:])
    pane.load_done()
    assert sorted(_ids(pane.model)) == sorted(t.id for t in old)
    # another folder's snapshot: the shown rows stay until the new one is whole, then exactly the new one
    new = _catalogue_order([t for t in _tracks(60, seed=3) if t.id > 30])
    pane.begin_load(new[:4])
    pane.load_more(new[4:10])
    assert pane.model.rowCount() == 40
    pane.load_more(new[10:])
    pane.load_done()
    assert _ids(pane.model) == [t.id for t in new]
    gone = [new[0].id, new[5].id, new[-1].id]
    pane.remove_tracks(gone + [9999])
    assert pane.model.rowCount() == len(new) - 3 and all(pane.model.row_of(i) is None for i in gone)
    assert [pane.model.row_of(t.id) for t in pane.tracks()] == list(range(len(new) - 3))
    assert pane.counts()["tracks"] == len(new) - 3


def test_the_window_fills_in_parts_and_follows_removals(qtbot, open_window, copy_music, monkeypatch) -> None:
    from musicsim.app import worker

    monkeypatch.setattr(worker, "FIRST_CHUNK", 2)
    monkeypatch.setattr(worker, "CHUNK", 2)
    folder = copy_music()
    window = open_window(folder)
    qtbot.waitUntil(lambda: window.analysis.worker is None and window.analysis.queued is None, timeout=120_000)
    pane = window.library_pane
    assert pane.model.rowCount() == 6 and pane.counts()["analysed"] == 6

    parts: list[int] = []
    window.analysis.tracks_loaded.connect(lambda ts: parts.append(len(ts)))
    window.analysis.tracks_more.connect(lambda ts: parts.append(len(ts)))
    removed: list[list[int]] = []
    window.analysis.tracks_removed.connect(removed.append)
    victim = sorted(Path(folder).rglob("*.*"))[0]
    victim_id = next(t.id for t in pane.tracks() if t.path == str(victim))
    victim.unlink()
    window.analysis.rescan()
    qtbot.waitUntil(lambda: window.analysis.worker is None and window.analysis.queued is None, timeout=120_000)
    assert parts == [2, 2, 2]  # the snapshot came in parts
    assert removed == [[victim_id]]  # the sync's removal came alone, not as a second whole snapshot
    shown = pane.tracks()
    assert len(shown) == 5 and victim_id not in {t.id for t in shown}
    keys = [artist_sort_key(t.artist, t.album, t.track_number) for t in shown]
    assert keys == sorted(keys)
    assert window.status is not None and pane.counts() == {"tracks": 5, "analysed": 5, "pending": 0, "failed": 0}
