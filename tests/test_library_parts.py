"""The library's parts on real files: tags, folder walking, catalogue, vector index, filtering, M3U8."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from conftest import SONGS
from musicsim.library.catalogue import SCHEMA_VERSION, AnalysisRow, Catalogue, CatalogueError, ModelInfo
from musicsim.library.index import VectorIndex, catch_up, open_index, sidecar_path
from musicsim.library.playlist import m3u8_text, write_m3u8
from musicsim.library.records import Track
from musicsim.library.scanner import FoundFile, Skipped, walk_audio
from musicsim.library.tags import read_tags, title_from_filename
from musicsim.playlists.filters import Filters, Pool
from musicsim.playlists.similar import similar


def test_tags_read_from_every_format(music_dir: Path) -> None:
    for name, title, artist, album, track, _, seconds in SONGS:
        info = read_tags(music_dir / name)
        assert (info.title, info.artist, info.album, info.track_number) == (title, artist, album, track), name
        assert info.duration == pytest.approx(seconds, abs=0.1), name


def test_untagged_and_unreadable_files_fall_back_to_the_file_name(tmp_path: Path, write_song) -> None:
    song = write_song(tmp_path / "07 - My_Song.FLAC", seed=1, seconds=1.0)
    info = read_tags(song)
    assert (info.title, info.artist, info.track_number) == ("My Song", "", None)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 10)
    assert read_tags(junk).title == "junk"
    assert title_from_filename("/x/01. Intro.mp3") == "Intro"


def test_walk_finds_audio_and_explains_what_it_skips(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    (root / "a" / "deep").mkdir(parents=True)
    for rel in ("a/one.mp3", "a/deep/Two.FLAC", "three.Opus", "cover.jpg", "notes.txt"):
        (root / rel).write_bytes(b"x")
    (root / "a" / "._one.mp3").write_bytes(b"\x00\x05\x16\x07")
    os.symlink("..", root / "a" / "deep" / "up")  # loop
    os.symlink(root / "a", root / "alias")  # second way into a folder: listed once
    os.symlink("missing.wav", root / "gone.wav")
    os.mkfifo(root / "pipe.mp3")
    found = list(walk_audio(root))
    files = sorted(os.path.relpath(f.path, root) for f in found if isinstance(f, FoundFile))
    skipped = {os.path.relpath(s.path, root): s.reason for s in found if isinstance(s, Skipped)}
    assert files == ["a/deep/Two.FLAC", "a/one.mp3", "three.Opus"]
    assert "AppleDouble" in skipped["a/._one.mp3"]
    assert "loop" in skipped["a/deep/up"]
    assert "broken symbolic link" in skipped["gone.wav"]
    assert skipped["pipe.mp3"] == "not a regular file"
    assert len(skipped) == 4
    with pytest.raises(FileNotFoundError):
        list(walk_audio(tmp_path / "nope"))


def _row(i: int, v: list[float]) -> AnalysisRow:
    e = np.asarray(v, np.float32)
    return AnalysisRow(i, e / np.linalg.norm(e), np.eye(10, dtype=np.float32)[i % 10], np.zeros(0, np.float32), 4)


def _catalogue(tmp_path: Path, n: int = 5) -> Catalogue:
    from musicsim.library.tags import TagInfo

    cat = Catalogue(tmp_path / "catalogue.sqlite3")
    cat.register_model(ModelInfo("v1", [f"g{i}" for i in range(10)], [], 3))
    with cat.transaction() as conn:
        for i in range(n):
            cat.add(conn, FoundFile(str(tmp_path / f"{i}.wav"), 10, 1), TagInfo(f"t{i}", "", "", None, 1.0))
    return cat


def test_catalogue_is_wal_versioned_and_refuses_foreign_files(tmp_path: Path) -> None:
    cat = _catalogue(tmp_path)
    conn = cat.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    g = cat.write_results("v1", [_row(1, [1, 0, 0]), AnalysisRow(2, error="file is empty")])
    assert g == cat.generation() and g > 0
    assert cat.counts("v1") == (5, 1, 3, 1)
    assert cat.counts("v2") == (5, 0, 4, 1)  # another model's analyses count as pending
    assert [p.reason for p in cat.problems()] == ["file is empty"]
    assert cat.track(1).genre == "g1" and cat.track(1).confidence == 1.0
    cat.close()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogueError, match="not a musicsim catalogue"):
        Catalogue(bad)
    newer = tmp_path / "newer.sqlite3"
    sqlite3.connect(newer).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(CatalogueError, match="newer musicsim"):
        Catalogue(newer)


def test_index_catches_up_or_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = _catalogue(tmp_path)
    cat.write_results("v1", [_row(1, [1, 0, 0]), _row(2, [0, 1, 0]), _row(3, [1, 1, 0])])
    path = tmp_path / "index.hnsw"
    index = open_index(cat, path, "v1")
    assert index.count == 3 and path.is_file() and sidecar_path(path).is_file()
    ids, sims = index.query(np.array([1, 0, 0], np.float32), 2)
    assert ids.tolist() == [1, 3] and sims[0] == pytest.approx(1.0, abs=1e-5)
    assert VectorIndex.load(path, 3, "v1", cat.generation()).generation == cat.generation()

    # Behind the catalogue (another process analysed, changed and removed tracks): caught up, not rebuilt.
    cat.write_results("v1", [_row(4, [0, 0, 1]), _row(3, [0, -1, 0])])
    with cat.transaction() as conn:
        cat.remove(conn, [2])
    real_build = VectorIndex.build
    monkeypatch.setattr(VectorIndex, "build", classmethod(lambda *a: pytest.fail("rebuilt instead of caught up")))
    index = open_index(cat, path, "v1")
    assert index.count == 3 and index.labels() == {1, 3, 4} and index.generation == cat.generation()
    ids, _ = index.query(np.array([0, -1, 0], np.float32), 1)
    assert ids.tolist() == [3]  # the new vector of track 3
    assert VectorIndex.load(path, 3, "v1", cat.generation()).generation == cat.generation()  # saved
    monkeypatch.setattr(VectorIndex, "build", real_build)

    # In memory: the same.
    cat.write_results("v1", [_row(5, [1, 0, 1])])
    assert catch_up(index, cat).labels() == {1, 3, 4, 5}

    # Corrupt (same size, different bytes), from a newer catalogue, or missing: rebuilt.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert VectorIndex.load(path, 3, "v1", cat.generation()) is None
    assert open_index(cat, path, "v1").labels() == {1, 3, 4, 5}
    assert VectorIndex.load(path, 3, "v1", cat.generation() - 1) is None
    path.unlink()
    assert open_index(cat, path, "v1").labels() == {1, 3, 4, 5}
    assert VectorIndex.load(path, 3, "v1", cat.generation()) is not None


def test_catalogue_schema_1_is_migrated(tmp_path: Path) -> None:
    cat = _catalogue(tmp_path)
    cat.write_results("v1", [_row(1, [1, 0, 0])])
    conn = cat.conn()
    for column in ("stamp", "find_title", "find_artist", "find_text", "genre_tag"):  # as schema 1 had it
        conn.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 1")
    cat.close()
    cat = Catalogue(tmp_path / "catalogue.sqlite3")
    live, changed, _ = cat.changes_since("v1", cat.generation() - 1)
    assert live.tolist() == changed.tolist() == [1]
    assert cat.conn().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.find_text("T1") == 2  # search columns filled for the rows already there


def test_index_grows_replaces_and_deletes() -> None:
    rng = np.random.default_rng(0)
    index = VectorIndex(8, "v", 0, capacity=4)
    vectors = rng.standard_normal((3000, 8)).astype(np.float32)
    index.add(np.arange(3000), vectors)
    assert index.count == 3000
    ids, _ = index.query(vectors[42], 1)
    assert ids.tolist() == [42]
    index.delete([42])
    ids, _ = index.query(vectors[42], 5)
    assert 42 not in ids.tolist() and index.count == 2999
    index.add(np.array([42]), vectors[7][None])  # re-added with a new vector
    ids, _ = index.query(vectors[7], 2)
    assert sorted(ids.tolist()) == [7, 42]


def _track(i: int, artist: str = "", duration: float | None = 200.0) -> Track:
    return Track(id=i, path=f"/m/{i}.mp3", title=f"t{i}", artist=artist, album="", track_number=None,
                 duration=duration, status="analysed")


def test_pick_drops_seed_copies_and_caps_artists() -> None:
    seed_emb = np.array([1.0, 0.0, 0.0], np.float32)
    near = np.array([0.999, 0.0447, 0.0], np.float32)  # cosine 0.999 with the seed
    near /= np.linalg.norm(near)
    other = np.array([0.8, 0.6, 0.0], np.float32)
    seed = _track(0, "A")
    pool = Pool.of([
        (_track(0, "A"), seed_emb),  # the seed itself
        (_track(1, "B"), near),  # a copy (same duration)
        (_track(2, "B", duration=100.0), near),  # same sound, other length: a different song
        (_track(3, "B"), other),
        (_track(4, "B"), np.array([0.79, 0.0, 0.613], np.float32)),
        (_track(5, ""), np.array([0.7, -0.7, 0.14], np.float32)),
        (_track(6, ""), np.array([0.6, 0.8, 0.0], np.float32)),
    ])
    got = [s.track.id for s in similar(seed, seed_emb, pool, 10, Filters(max_per_artist=2))]
    assert got == [2, 3, 5, 6]
    got = [s.track.id for s in similar(seed, seed_emb, pool, 10, Filters(max_per_artist=None))]
    assert got == [2, 3, 4, 5, 6]
    assert [s.track.id for s in similar(seed, seed_emb, pool, 2, Filters(max_per_artist=None))] == [2, 3]


def test_m3u8_is_extended_utf8_and_atomic(tmp_path: Path) -> None:
    tracks = [_track(1, "Björk"), _track(2, "", duration=None)]
    tracks[0].title = "Jóga\nlive"
    text = m3u8_text(tracks)
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:200,Björk - Jóga live", "/m/1.mp3", "#EXTINF:-1,t2", "/m/2.mp3"]
    with pytest.raises(ValueError, match="does not exist"):  # a missing folder is never created silently
        write_m3u8(tracks, tmp_path / "sub" / "list.m3u8")
    (tmp_path / "sub").mkdir()
    out = write_m3u8(tracks, tmp_path / "sub" / "list.m3u8")
    assert out.read_text(encoding="utf-8") == text
    assert [p.name for p in out.parent.iterdir()] == ["list.m3u8"]  # no temporary file left


def test_text_search_is_sql_over_folded_columns_and_schema_2_is_migrated(tmp_path: Path) -> None:
    from musicsim.library.tags import TagInfo

    cat = Catalogue(tmp_path / "catalogue.sqlite3")
    songs = [("Jóga", "Björk", "Homogenic", "/m/03 Jóga.flac"), ("Joga", "Cover Band", "Live", "/m/joga.mp3"),
             ("Hunter", "Björk", "Homogenic", "/m/01.flac"), ("Ｎｅｏｎ Ｒａｉｎ", "ＧＡＭＭＡ", "", "/m/x.ogg"),
             ("Jóga (Live)", "Björk", "Live", "/m/live.flac")]
    with cat.transaction() as conn:
        ids = [cat.add(conn, FoundFile(p, 1, 1), TagInfo(t, a, al, None, None)) for t, a, al, p in songs]
    cat.register_model(ModelInfo("v1", [f"g{i}" for i in range(10)], [], 3))
    cat.write_results("v1", [_row(ids[4], [1, 0, 0])])
    cat.close()
    path = tmp_path / "catalogue.sqlite3"
    with sqlite3.connect(path) as conn:  # as schema 2 left it: no search columns
        for column in ("find_title", "find_artist", "find_text", "genre_tag"):
            conn.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
    conn.close()

    cat = Catalogue(path)
    assert cat.conn().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.find_text("BJORK") == ids[4]  # accents/case ignored; of three matches, the analysed one
    assert cat.find_text("bjork live") == ids[4] and cat.find_text("BJORK JOGA") == ids[0]  # "artist title"
    assert cat.find_text("joga") == ids[0]  # an exact title beats word matches; then the oldest
    assert cat.find_text("björk - jóga") == ids[0]  # exact "artist - title"
    assert cat.find_text("cover joga") == ids[1]
    assert cat.find_text("homogenic hunter") == ids[2]  # album words count
    assert cat.find_text("03 jóga.flac") == ids[0]  # so does the file name
    assert cat.find_text("gamma neon") == ids[3]  # compatibility forms (full-width letters) folded
    assert cat.find_text("joga%") is None and cat.find_text("bjork rock") is None and cat.find_text("  ") is None
    with cat.transaction() as conn:  # a retagged file is found by its new tags
        cat.mark_changed(conn, ids[2], FoundFile("/m/01.flac", 2, 2), TagInfo("Bachelorette", "Björk", "", None, None))
    assert cat.find_text("hunter") is None and cat.find_text("BACHELORETTE") == ids[2]
