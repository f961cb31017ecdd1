"""The catalogue hands tracks out in the library table's default order, in parts (schema 5's indexed
``sort_artist``), and a schema-4 catalogue is migrated to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from musicsim.formatting import artist_sort_key
from musicsim.library.catalogue import SCHEMA_VERSION, Catalogue
from musicsim.library.library import Library
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo

# (artist, album, track number): "The" ignored, case ignored, no artist or album last, numbers as numbers
SONGS = [("The Lanterns", "Blue", 2), ("lanterns", "Blue", 1), ("Abba", "Gold", 10), ("Abba", "Gold", 9),
         ("", "Loose", 1), ("Zed", "", 3), ("abba", "arrival", None), ("Éclair", "X", 1), ("Zed", "A", 1),
         ("The", "Only The", 1), ("Björk", "Homogenic", 3), ("bjork", "Homogenic", 3)]


def _fill(cat: Catalogue, root: Path, songs=SONGS, copies: int = 1) -> list[int]:
    ids = []
    with cat.transaction() as conn:
        for c in range(copies):
            for i, (artist, album, number) in enumerate(songs):
                found = FoundFile(str(root / f"{c}-{i}.flac"), 1, 1)
                ids.append(cat.add(conn, found, TagInfo(f"t{c}-{i}", artist, album, number, 60.0)))
    return ids


def _expected(cat: Catalogue, ids: list[int]) -> list[int]:
    """Ids by the table's key (Python's sort, as the app's model sorts), ties by id."""
    tracks = cat.tracks(ids)
    return [t.id for t in sorted(tracks, key=lambda t: (artist_sort_key(t.artist, t.album, t.track_number), t.id))]


def test_chunks_come_in_the_table_order_first_part_first(tmp_path: Path) -> None:
    cat = Catalogue(tmp_path / "catalogue.sqlite3")
    ids = _fill(cat, tmp_path / "music", copies=30)  # 360 tracks, many ties
    other = _fill(cat, tmp_path / "elsewhere")  # another folder's tracks stay out of a scoped listing
    chunks = list(cat.track_chunks(str(tmp_path / "music"), first=7, size=50))
    assert [len(c) for c in chunks] == [7] + [50] * 7 + [3]
    got = [t.id for c in chunks for t in c]
    assert got == _expected(cat, ids)
    assert got[:1] != sorted(got)[:1]  # not simply by id: the order is the artist key's
    every = [t.id for c in cat.track_chunks(None, first=1000) for t in c]
    assert sorted(every) == sorted(ids + other)
    # the records are those Library.tracks() gives, field for field
    by_id = {t.id: t for t in cat.tracks(ids)}
    assert all(t == by_id[t.id] for c in chunks for t in c)
    plan = " ".join(str(r[-1]) for r in cat.conn().execute(
        "EXPLAIN QUERY PLAN SELECT id FROM tracks INDEXED BY tracks_table_order WHERE 1 AND +path >= ? "
        "AND +path < ? ORDER BY sort_artist, id", ("a", "b")))
    assert "tracks_table_order" in plan and "TEMP B-TREE" not in plan  # read along the index, never sorted
    cat.close()


def test_the_key_follows_tag_changes_and_library_streams_it(tmp_path: Path, write_song) -> None:
    music = tmp_path / "music"
    for seed, (name, artist) in enumerate((("a", "Zulu"), ("b", "Alpha"), ("c", "The Beatles"))):
        write_song(music / f"{name}.flac", seed, seconds=1.0, title=name, artist=artist)
    with Library(data_dir=tmp_path / "data", model_path=tmp_path / "none.pt") as lib:
        lib.sync_folder(music)
        chunks = list(lib.track_chunks(music, first=1, size=1))
        assert [len(c) for c in chunks] == [1, 1, 1]
        assert [t.artist for c in chunks for t in c] == ["Alpha", "The Beatles", "Zulu"]
        track = chunks[-1][0]
        with lib.catalogue.transaction() as conn:  # retagged: Zulu becomes Aardvark, first now
            lib.catalogue.mark_changed(conn, track.id, FoundFile(track.path, 2, 2),
                                       TagInfo("a", "Aardvark", "", None, None))
        assert [t.artist for c in lib.track_chunks(music) for t in c] == ["Aardvark", "Alpha", "The Beatles"]
        assert list(lib.track_chunks(tmp_path / "nowhere")) == []


def test_schema_4_catalogue_gains_the_indexed_order(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite3"
    cat = Catalogue(path)
    ids = _fill(cat, tmp_path / "music")
    cat.close()
    with sqlite3.connect(path) as conn:  # as schema 4 left it: no sort_artist, no index
        conn.execute("DROP INDEX tracks_table_order")
        conn.execute("ALTER TABLE tracks DROP COLUMN sort_artist")
        conn.execute("PRAGMA user_version = 4")
    conn.close()

    cat = Catalogue(path)
    conn = cat.conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    assert "tracks_table_order" in {r[1] for r in conn.execute("PRAGMA index_list(tracks)")}
    assert conn.execute("SELECT COUNT(*) FROM tracks WHERE sort_artist = ''").fetchone()[0] == 0
    assert [t.id for c in cat.track_chunks(None, first=3, size=4) for t in c] == _expected(cat, ids)
    assert len(cat.tracks()) == len(SONGS)  # nothing lost, nothing re-analysed
    cat.close()
