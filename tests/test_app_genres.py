"""Genres in the desktop app: the label column, the files' own tags and the suggestions learned from them, the
agreement with the user's tags, and the "Sounds like" mode of the search box.

Real parts: generated songs (conftest ``write_song``) with genre tags written by mutagen as other taggers
write them, a random-weight model file (its genre label is the head's own answer, uncertain: the shipped
label rule only fits the shipped model's outputs), the SQLite catalogue, the analysis worker, Qt offscreen.
Expected values come from the same :class:`Library` the window uses, asked directly.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from musicsim.app.main_window import SOUNDS_LIKE_LIMIT, MainWindow
from musicsim.app.track_model import TrackTableModel
from musicsim.formatting import format_percent

ANALYSIS_TIMEOUT_MS = 120_000
T = TrackTableModel


def wait_idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.analysis.worker is None and window.analysis.queued is None,
                    timeout=ANALYSIS_TIMEOUT_MS)


def set_genre(path: Path, genre: str) -> None:
    """A genre tag as another tagger writes it (Vorbis comment GENRE)."""
    import mutagen

    f = mutagen.File(path, easy=True)
    f["genre"] = [genre]
    f.save()


def tagged_folder(root: Path, write_song) -> tuple[dict[str, str], list[str]]:
    """12 songs: two "styles" of 6 seeds; 5 of each tagged (spelled as people do), one of each not."""
    tagged: dict[str, str] = {}
    untagged: list[str] = []
    for style, genre, spelling, base in (("soft", "Ambient", "ambient", 100), ("loud", "Metal", "METAL", 200)):
        for k in range(6):
            p = write_song(root / style / f"{style}{k}{('.flac', '.ogg')[k % 2]}", seed=base + k, seconds=5.0,
                           title=f"{style.title()} {k}", artist=f"Artist {style}", album=style.title())
            if k < 5:
                set_genre(p, genre if k % 2 else spelling)
                tagged[str(p)] = genre
            else:
                untagged.append(str(p))
    return tagged, untagged


def cell(window: MainWindow, track_id: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    model = window.library_pane.model
    return model.index(model.row_of(track_id), col).data(role)


def shown_ids(window: MainWindow) -> list[int]:
    proxy = window.library_pane.proxy
    return [proxy.track_id(r) for r in range(proxy.rowCount())]


# ---------------------------------------------------------------------------- label, your tag, agreement
def test_genre_label_your_tag_suggestions_and_agreement(qtbot, open_window, library, tmp_path, write_song):
    music = tmp_path / "music"
    tagged, untagged = tagged_folder(music, write_song)
    window = open_window(music)
    wait_idle(qtbot, window)
    pane = window.library_pane
    qtbot.waitUntil(lambda: "agrees with your genre tags" in pane.agreement.text(), timeout=20_000)

    tracks = {t.path: t for t in library.genre_tracks(root=music)}  # what `musicsim genres` says
    assert set(tracks) == set(tagged) | set(untagged)
    # the Genre column is the label; this model's labels are unsure: "best / second?", the label's confidence
    for t in tracks.values():
        lab = t.genre_label
        assert lab is not None and lab.uncertain
        assert cell(window, t.id, T.GENRE) == f"{lab.candidates[0][0]} / {lab.candidates[1][0]}?" == lab.text()
        assert cell(window, t.id, T.CONFIDENCE) == format_percent(lab.confidence)
    # the genre filter lists the labels present (an unsure one under its best candidate)
    combo = [pane.genre_filter.itemText(i) for i in range(1, pane.genre_filter.count())]
    assert combo == sorted({t.genre_label.name for t in tracks.values()})

    # Your Tag: the file's own genre (spellings normalised), else the suggestion learned from the others
    suggestions = {s.track.path: s for s in library.genre_suggestions(root=music)}
    assert sorted(suggestions) == sorted(untagged)
    for path, genre in tagged.items():
        assert cell(window, tracks[path].id, T.YOUR_TAG) == genre
        assert not cell(window, tracks[path].id, T.YOUR_TAG, Qt.ItemDataRole.FontRole)
    for path in untagged:
        s = suggestions[path]
        assert cell(window, tracks[path].id, T.YOUR_TAG) == f"{s.genre}? {format_percent(s.confidence)}"
        assert cell(window, tracks[path].id, T.YOUR_TAG, Qt.ItemDataRole.FontRole).italic()
        assert "Suggested from your other files' genre tags" in cell(window, tracks[path].id, T.YOUR_TAG,
                                                                   Qt.ItemDataRole.ToolTipRole)

    # the genre cell's tooltip: label and candidates, the GTZAN answer, the tags, the file's tag, the suggestion
    t = tracks[untagged[0]]
    tip = cell(window, t.id, T.GENRE, Qt.ItemDataRole.ToolTipRole)
    lab = t.genre_label
    assert f"Genre: {lab.name} {format_percent(lab.confidence)} — not sure" in tip
    assert "Best candidates: " + ", ".join(f"{n} {format_percent(p)}" for n, p in lab.candidates) in tip
    assert f"GTZAN ten-genre answer: {t.genre} {format_percent(t.confidence)}" in tip
    assert f"{t.tags[0][0]} {format_percent(t.tags[0][1])}" in tip
    s = suggestions[t.path]
    assert "Your tag: none" in tip and f"Learned from your tags: {s.genre} {format_percent(s.confidence)}" in tip
    assert "Your tag: Ambient" in cell(window, tracks[next(iter(tagged))].id, T.GENRE, Qt.ItemDataRole.ToolTipRole)

    # sorting by Your Tag: the files' own tags A-Z, then the suggestions
    pane.table.sortByColumn(T.YOUR_TAG, Qt.SortOrder.AscendingOrder)
    order = [pane.model.track_by_id(i).path for i in shown_ids(window)]
    assert [tagged.get(p) for p in order[:10]] == ["Ambient"] * 5 + ["Metal"] * 5
    assert sorted(order[10:]) == sorted(untagged)

    # the agreement line: the engine's cross-validated numbers
    a = library.genre_agreement()
    assert a.files == 10 and a.learned_genres == {"Ambient": 5, "Metal": 5}
    assert pane.agreement.isVisibleTo(window)
    assert pane.agreement.text() == (f"musicsim agrees with your genre tags for {a.agreed} of 10 files "
                                     f"({format_percent(a.share)}, cross-validated) · learned: Ambient (5), Metal (5)")
    assert "Ambient: " in pane.agreement.toolTip() and "never saw it" in pane.agreement.toolTip()

    # the column can be hidden from the header's menu
    menu = pane.header_menu()
    your_tag = next(a for a in menu.actions() if a.text() == "Your Tag")
    assert your_tag.isChecked()
    your_tag.trigger()
    assert pane.table.horizontalHeader().isSectionHidden(T.YOUR_TAG)
    assert "Match" not in [a.text() for a in menu.actions()]  # that one follows the Sounds like mode

    # the genre map colours the dots by the label the table shows
    window.tabs.setCurrentWidget(window.genre_map)
    qtbot.waitUntil(lambda: len(window.genre_map.ids) == 12, timeout=10_000)
    assert set(window.genre_map.means) == {t.genre_label.name for t in tracks.values()}


def test_too_few_tagged_files_are_said_plainly(qtbot, open_window, copy_music):
    window = open_window(copy_music())
    wait_idle(qtbot, window)
    pane = window.library_pane
    qtbot.waitUntil(lambda: pane.agreement.text() != "", timeout=20_000)
    assert pane.agreement.text().startswith("Your genre tags: 0 analysed files have one — too few to learn from.")
    assert "once 5 files carry it" in pane.agreement.text()
    assert all(cell(window, t.id, T.YOUR_TAG) == "" for t in pane.tracks())


# ---------------------------------------------------------------------------- "Sounds like"
def test_sounds_like_search_ranks_like_the_engine_and_explains_unknown_words(qtbot, open_window, library,
                                                                              copy_music):
    music = copy_music()
    window = open_window(music)
    wait_idle(qtbot, window)
    pane = window.library_pane
    header = pane.table.horizontalHeader()
    normal_order = shown_ids(window)
    assert header.isSectionHidden(T.MATCH) and len(normal_order) == 6

    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.commands.sounds_like.isChecked() and pane.search.hasFocus()
    assert pane.search.placeholderText() == "Sounds like: mellow acoustic…"
    assert not header.isSectionHidden(T.MATCH)

    qtbot.keyClicks(pane.search, "piano drums")
    qtbot.waitUntil(lambda: pane.search_message_text().startswith("Sounds like “piano drums”"), timeout=10_000)
    expected = library.search("piano drums", n=SOUNDS_LIKE_LIMIT, root=music)
    assert len(expected) == 6
    assert shown_ids(window) == [s.track.id for s in expected]  # best match first, as the engine ranks them
    proxy = pane.proxy
    assert [proxy.index(r, T.MATCH).data() for r in range(6)] == [format_percent(s.score) for s in expected]
    assert pane.search_message_text() == "Sounds like “piano drums”: 6 songs, best match first."

    # a word outside the vocabulary: said above the table (no message box), naming words that work
    pane.search.clear()
    qtbot.keyClicks(pane.search, "piano kazoo")
    qtbot.waitUntil(lambda: "kazoo" in pane.search_message_text(), timeout=10_000)
    message = pane.search_message_text()
    assert message.startswith("Sounds like does not know “kazoo”. Try words like: ")
    assert all(w in message for w in ("electronic", "piano", "guitar", "drums", "vocal"))
    assert proxy.rowCount() == 0

    # fixing the words brings results back
    pane.search.clear()
    qtbot.keyClicks(pane.search, "electronic")
    qtbot.waitUntil(lambda: pane.search_message_text().startswith("Sounds like “electronic”"), timeout=10_000)
    assert shown_ids(window) == [s.track.id for s in library.search("electronic", n=SOUNDS_LIKE_LIMIT, root=music)]

    # leaving the mode: the whole table again, sorted as before, no Match column, the ordinary search box
    window.commands.sounds_like.trigger()
    assert not window.commands.sounds_like.isChecked()
    assert shown_ids(window) == normal_order
    assert header.isSectionHidden(T.MATCH) and pane.search_message_text() == "" and pane.search.text() == ""
    assert pane.search.placeholderText() == "Search title, artist, album, genre"
    qtbot.keyClicks(pane.search, "alpha")  # the ordinary search works as before
    qtbot.waitUntil(lambda: proxy.rowCount() == 2, timeout=5_000)


def test_sounds_like_typing_is_debounced_and_only_the_last_words_count(qtbot, open_window, library, copy_music):
    music = copy_music()
    window = open_window(music)
    wait_idle(qtbot, window)
    pane = window.library_pane
    asked: list[str] = []
    pane.sounds_like_requested.connect(asked.append)
    window.commands.sounds_like.setChecked(True)
    qtbot.keyClicks(pane.search, "guitar vocal")  # typed quickly: one search, for the whole words
    qtbot.waitUntil(lambda: pane.search_message_text().startswith("Sounds like “guitar vocal”"), timeout=10_000)
    assert asked == ["guitar vocal"]
    # an answer for words no longer in the box is dropped
    assert not pane.show_matches("guitar", [(shown_ids(window)[0], 0.9)])
    assert shown_ids(window) == [s.track.id for s in library.search("guitar vocal", n=SOUNDS_LIKE_LIMIT, root=music)]


# ---------------------------------------------------------------------------- Write Genre Tags…, and Undo
def _sha(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _file_genre(path: str) -> list[str]:
    import mutagen

    return list(mutagen.File(path, easy=True).get("genre") or [])


def test_write_genre_tags_lists_first_writes_the_ticked_ones_and_undo_restores_the_bytes(
        qtbot, open_window, library, tmp_path, write_song):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from musicsim.app.retag_dialog import RetagDialog

    music = tmp_path / "music"
    tagged, untagged = tagged_folder(music, write_song)
    original = {p: _sha(p) for p in [*tagged, *untagged]}
    window = open_window(music)
    wait_idle(qtbot, window)
    pane = window.library_pane
    qtbot.waitUntil(lambda: "agrees with your genre tags" in pane.agreement.text(), timeout=20_000)
    suggestions = {s.track.path: s for s in library.genre_suggestions(root=music)}
    listed: list[list[str]] = []
    chosen: list[str] = []

    def choose() -> None:  # the dialog lists every suggestion; untick the first, keep the second
        dialog = next((w for w in QApplication.topLevelWidgets() if isinstance(w, RetagDialog) and w.isVisible()),
                      None)
        if dialog is None:
            QTimer.singleShot(50, choose)
            return
        items = [dialog.list.topLevelItem(i) for i in range(dialog.list.topLevelItemCount())]
        listed.append([f"{i.text(0)}|{i.text(2)}|{i.text(3)}" for i in items])
        items[0].setCheckState(0, Qt.CheckState.Unchecked)
        items[1].setCheckState(0, Qt.CheckState.Checked)
        assert dialog.write_button.text() == "Write 1 Genre Tag"
        chosen.extend(s.track.path for s in dialog.chosen())
        dialog.accept()

    QTimer.singleShot(0, choose)
    window.commands.write_genres.trigger()
    qtbot.waitUntil(lambda: bool(chosen), timeout=20_000)
    assert sorted(listed[0]) == sorted(f"{s.track.display_title}|{s.genre}|{format_percent(s.confidence)}"
                                       for s in suggestions.values())
    (written,) = chosen
    left = next(p for p in untagged if p != written)
    qtbot.waitUntil(lambda: "Wrote the genre of 1 file." in window.status.message(), timeout=20_000)
    assert _file_genre(written) == [suggestions[written].genre]
    assert {p: _sha(p) for p in original if p != written} == {p: h for p, h in original.items() if p != written}
    track_id = suggestions[written].track.id
    assert cell(window, track_id, T.YOUR_TAG) == suggestions[written].genre  # now the file's own tag
    assert not cell(window, track_id, T.YOUR_TAG, Qt.ItemDataRole.FontRole)
    assert cell(window, suggestions[left].track.id, T.YOUR_TAG).endswith("%")  # still a suggestion

    # Undo: the file exactly as it was, and the table says so
    qtbot.waitUntil(window.commands.undo_genre_writes.isEnabled, timeout=20_000)  # after the watcher's re-read
    window.commands.undo_genre_writes.trigger()
    qtbot.waitUntil(lambda: "Restored 1 file as before" in window.status.message(), timeout=20_000)
    assert {p: _sha(p) for p in original} == original
    qtbot.waitUntil(lambda: cell(window, track_id, T.YOUR_TAG).endswith("%"), timeout=20_000)
    wait_idle(qtbot, window)
    assert library.sync_folder(music).changed == 0  # the catalogue knows the files as they are: nothing to redo
