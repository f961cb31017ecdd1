"""The Library engine end to end on real audio: scan, queries, incremental rescans, model changes."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import musicsim.analysis.pipeline as pipeline
from conftest import SONGS, synth_song
from musicsim.audio.encode import encode
from musicsim.genres import GENRES
from musicsim.library.library import Library
from musicsim.model.checkpoint import ModelNotFoundError


@pytest.fixture
def analysed_jobs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The paths each ``run_analysis`` call was given (the real pipeline still runs)."""
    calls: list[list[str]] = []
    real = pipeline.run_analysis

    def spy(jobs, model, **kw):
        jobs = list(jobs)
        calls.append(sorted(os.path.basename(j.path) for j in jobs))
        return real(jobs, model, **kw)

    monkeypatch.setattr(pipeline, "run_analysis", spy)
    return calls


def _names(tracks) -> list[str]:
    return sorted(os.path.basename(t.path) for t in tracks)


def test_scan_query_and_incremental_rescan(copy_music, model_file: Path, data_dir: Path, tmp_path: Path,
                                           analysed_jobs: list[list[str]]) -> None:
    music = copy_music()
    lib = Library(data_dir, model_file, device="cpu")
    reports = []
    synced, report = lib.scan(music, progress=reports.append, workers=1)
    assert (synced.added, synced.skipped, report.analysed, report.failed) == (6, 0, 6, 0)
    finished = [i for p in reports for i in p.finished_ids]  # each stored track reported once, as it is stored
    assert sorted(finished) == sorted(t.id for t in lib.tracks()) and reports[-1].done == 6
    assert analysed_jobs == [sorted(os.path.basename(s[0]) for s in SONGS)]
    st = lib.status()
    assert (st.tracks, st.analysed, st.pending, st.failed, st.model_version) == (6, 6, 0, 0, "test-1")
    assert st.device.startswith("CPU")
    assert (data_dir / "catalogue.sqlite3").is_file() and (data_dir / "index.hnsw").is_file()

    tracks = lib.tracks()
    assert {t.title for t in tracks} == {s[1] for s in SONGS}
    stored = {i: (np.frombuffer(g, np.float32), np.frombuffer(tg, np.float32)) for i, g, tg in
              lib.catalogue.conn().execute("SELECT id, genre_probs, tag_probs FROM tracks")}
    tag_names = lib.catalogue.model("test-1").tags
    for t in tracks:
        genre_probs, tag_probs = stored[t.id]
        assert t.status == "analysed" and t.genre == GENRES[int(np.argmax(genre_probs))].lower()
        assert t.confidence == pytest.approx(float(genre_probs.max())) and 0.1 <= t.confidence <= 1.0
        top = sorted(range(len(tag_probs)), key=lambda k: -tag_probs[k])[:5]
        assert t.tags == [(tag_names[k], pytest.approx(float(tag_probs[k]), abs=5e-5)) for k in top]
    some = [tracks[4].id, tracks[0].id, tracks[2].id]
    assert lib.tracks(some) == [tracks[4], tracks[0], tracks[2]] and lib.tracks([]) == []
    assert lib.track(some[0]) == tracks[4]

    # Similar: by text, never the seed, scores sorted, artist cap.
    seed = lib.find("neon rain")
    assert seed.title == "Neon Rain" and lib.find(seed.path).id == seed.id
    assert lib.find("gamma ray neon").id == seed.id
    found = lib.similar(seed, n=10)
    assert len(found) == 5 and seed.id not in [s.track.id for s in found]
    scores = [s.score for s in found]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1.0001 for s in scores)
    capped = lib.similar(seed, n=10, max_per_artist=1)
    assert [s.track.artist for s in capped].count("Alpha Band") == 1 and len(capped) == 4
    with pytest.raises(LookupError, match="No track"):
        lib.find("no such song anywhere")

    # A copy of one recording (transcoded, in another folder) is never recommended twice.
    first = next(t for t in tracks if t.title == "First Light")
    copy = music / "Backup" / "First Light (copy).mp3"
    copy.parent.mkdir()
    encode(copy, synth_song(1, 6.0), 22050)
    synced, report = lib.scan(music, workers=1)
    assert (synced.added, synced.unchanged, report.analysed) == (1, 6, 1)
    assert analysed_jobs[-1] == ["First Light (copy).mp3"]
    assert all(s.track.path != str(copy) for s in lib.similar(first, n=10, max_per_artist=None))
    for t in lib.tracks():
        ids = {s.track.path for s in lib.similar(t, n=10, max_per_artist=None)}
        assert not {str(copy), first.path} <= ids, t.title

    # Export: the same list as `similar`, as extended M3U8.
    out = lib.export_m3u8([s.track for s in found], tmp_path / "like neon.m3u8")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and lines[2::2] == [s.track.path for s in found]
    assert all(line.startswith("#EXTINF:") for line in lines[1::2])

    # Rescan after adding, changing and deleting: only new and changed files are decoded.
    (music / "Gamma" / "Neon Rain.mp3").unlink()
    changed = music / "Beta" / "Deep Water.ogg"
    encode(changed, synth_song(33, 9.0), 22050)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    (music / "New").mkdir()
    encode(music / "New" / "Fresh.flac", synth_song(40, 7.0), 22050)
    before = {t.path: t for t in lib.tracks()}
    synced, report = lib.scan(music, workers=1)
    assert (synced.added, synced.changed, synced.removed, synced.unchanged) == (1, 1, 1, 5)
    assert analysed_jobs[-1] == ["Deep Water.ogg", "Fresh.flac"]
    assert report.analysed == 2
    after = {t.path: t for t in lib.tracks()}
    assert str(music / "Gamma" / "Neon Rain.mp3") not in after
    assert after[str(changed)].id == before[str(changed)].id  # same row, new analysis
    st = lib.status()
    assert (st.tracks, st.analysed, st.pending) == (7, 7, 0)
    for t in lib.tracks():
        assert seed.path not in {s.track.path for s in lib.similar(t, n=10, max_per_artist=None)}
    lib.close()

    # Nothing changed: nothing decoded; a fresh process sees the same library.
    lib = Library(data_dir, model_file, device="cpu")
    calls = len(analysed_jobs)
    synced, report = lib.scan(music, workers=1)
    assert synced.unchanged == 7 and report.analysed == 0 and len(analysed_jobs) == calls
    lib.close()


def test_vanished_folder_and_other_folders(copy_music, model_file: Path, data_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    music = copy_music()
    other = tmp_path / "other"
    shutil.copytree(music / "Alpha Band", other / "Alpha Band")
    with Library(data_dir, model_file, device="cpu") as lib:
        lib.sync_folder(music)
        lib.sync_folder(other)
        assert lib.status().tracks == 8
        shutil.rmtree(other / "Alpha Band")
        assert lib.sync_folder(other).removed == 2
        assert lib.status().tracks == 6  # tracks of the other folder are untouched
        with pytest.raises(FileNotFoundError):
            lib.sync_folder(tmp_path / "unplugged-drive")
        assert lib.status().tracks == 6
        # A folder that cannot be opened (permissions, a dropped network share) keeps its tracks.
        import musicsim.library.scanner as scanner

        real_scandir = scanner.os.scandir

        def scandir(path):
            if Path(path) == music / "Beta":
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(scanner.os, "scandir", scandir)
        report = lib.sync_folder(music)
        assert (report.removed, report.skipped, lib.status().tracks) == (0, 1, 6)
        assert [(p.path, p.reason) for p in lib.problems()] == [
            (str(music / "Beta"), "cannot open folder: permission denied")]


def test_new_model_version_reanalyses_and_index_follows(copy_music, model_file: Path, make_model,
                                                        data_dir: Path, tmp_path: Path,
                                                        analysed_jobs: list[list[str]]) -> None:
    music = copy_music()
    with Library(data_dir, model_file, device="cpu") as lib:
        lib.scan(music, workers=1)
        old = {t.id: lib.catalogue.embedding(t.id)[1] for t in lib.tracks()}
    v2 = make_model(tmp_path / "v2.pt", version="test-2", seed=7)
    with Library(data_dir, v2, device="cpu") as lib:
        st = lib.status()
        assert (st.model_version, st.analysed, st.pending) == ("test-2", 0, 6)
        report = lib.analyse_pending(workers=1)
        assert report.analysed == 6 and len(analysed_jobs[-1]) == 6
        for tid, emb in old.items():
            version, new = lib.catalogue.embedding(tid)
            assert version == "test-2" and not np.allclose(new, emb)
        seed = lib.find("Quiet Field")
        scores = {s.track.id: s.score for s in lib.similar(seed, n=10, max_per_artist=None)}
        _, seed_emb = lib.catalogue.embedding(seed.id)
        for tid, score in scores.items():  # the index now holds the new model's vectors
            assert score == pytest.approx(float(lib.catalogue.embedding(tid)[1] @ seed_emb), abs=1e-4)
    # Going back to the first model re-analyses again (its version differs from what is stored).
    with Library(data_dir, model_file, device="cpu") as lib:
        assert lib.status().pending == 6


def test_missing_model_fails_clearly_but_catalogues(copy_music, data_dir: Path, tmp_path: Path) -> None:
    music = copy_music()
    with Library(data_dir, tmp_path / "nowhere.pt", device="cpu") as lib:
        with pytest.raises(ModelNotFoundError, match="--model"):
            lib.scan(music)
        st = lib.status()
        assert (st.tracks, st.pending, st.model_version) == (6, 6, None)
        with pytest.raises(LookupError, match="not been analysed"):
            lib.similar("First Light")


def test_index_rebuilt_from_catalogue_when_corrupt_or_missing(copy_music, model_file: Path, data_dir: Path) -> None:
    music = copy_music()
    with Library(data_dir, model_file, device="cpu") as lib:
        lib.scan(music, workers=1)
        expected = [(s.track.id, round(s.score, 4)) for s in lib.similar("Iron Gate", n=5, max_per_artist=None)]
    index = data_dir / "index.hnsw"
    index.write_bytes(os.urandom(index.stat().st_size))
    with Library(data_dir, model_file, device="cpu") as lib:
        assert [(s.track.id, round(s.score, 4)) for s in lib.similar("Iron Gate", n=5, max_per_artist=None)] == expected
    index.unlink()
    with Library(data_dir, model_file, device="cpu") as lib:
        assert [(s.track.id, round(s.score, 4)) for s in lib.similar("Iron Gate", n=5, max_per_artist=None)] == expected
    assert index.is_file()


def test_gtzan_clips_genres_and_neighbours(gtzan: Path, model_file: Path, data_dir: Path, tmp_path: Path) -> None:
    music = tmp_path / "gtzan"
    clips = ["blues/blues.00000.opus", "classical/classical.00000.opus", "metal/metal.00000.opus",
             "jazz/jazz.00001.opus"]
    for rel in clips:
        (music / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(gtzan / rel, music / rel)
    with Library(data_dir, model_file, device="cpu") as lib:
        _, report = lib.scan(music, workers=1)
        assert report.analysed == 4
        tracks = lib.tracks()
        assert all(t.duration == pytest.approx(30, abs=1) and t.title.startswith(t.path.split("/")[-2])
                   for t in tracks)
        found = lib.similar("blues.00000", n=3, max_per_artist=None)
        assert 1 <= len(found) <= 3 and all("blues.00000" not in s.track.path for s in found)


def test_cancelled_sync_keeps_what_it_catalogued_and_drops_nothing(copy_music, model_file: Path, data_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import musicsim.library.library as library_module

    music = copy_music()
    monkeypatch.setattr(library_module, "SYNC_BATCH", 2)
    cancel = threading.Event()
    seen = []
    with Library(data_dir, model_file, device="cpu") as lib:
        report = lib.sync_folder(music, on_track=lambda t: seen.append(t) or cancel.set(), cancel=cancel)
        assert report.cancelled and report.added == 2 and len(seen) == 2  # stopped after the first batch
        assert sorted(t.id for t in lib.tracks()) == sorted(t.id for t in seen)  # and those stay

        synced, analysed = lib.scan(music, cancel=threading.Event(), workers=1)  # the next scan finishes it
        assert not synced.cancelled and (synced.added, synced.unchanged) == (4, 2) and analysed.analysed == 6

        cancel.clear()
        first = min(music.rglob("*.*"))
        first.unlink()  # gone, but a cut-short walk cannot know that
        cancel.set()
        report = lib.sync_folder(music, cancel=cancel)
        assert report.cancelled and (report.added, report.removed) == (0, 0) and lib.status().tracks == 6
        synced, analysed = lib.scan(music, cancel=cancel)  # a cancelled scan analyses nothing
        assert synced.cancelled and analysed.cancelled and analysed.analysed == 0
        assert lib.sync_folder(music).removed == 1 and lib.status().tracks == 5


def test_scan_and_analyse_pending_keep_to_a_root_folder(copy_music, model_file: Path, data_dir: Path, tmp_path: Path,
                                                       analysed_jobs: list[list[str]]) -> None:
    music = copy_music()
    other, sibling = tmp_path / "other", tmp_path / "other2"  # a sibling whose name starts like the folder's
    shutil.copytree(music / "Alpha Band", other)
    shutil.copytree(music / "Beta", sibling)
    with Library(data_dir, model_file, device="cpu") as lib:
        lib.sync_folder(music)
        lib.sync_folder(sibling)
        synced, report = lib.scan(other, workers=1)  # the catalogue holds three folders; only this one is analysed
        assert synced.added == 2 and report.analysed == 2 and analysed_jobs == [sorted(os.listdir(other))]
        assert lib.status().pending == 6 + len(os.listdir(sibling))
        report = lib.analyse_pending(workers=1, root=str(sibling) + os.sep)
        assert report.analysed == len(os.listdir(sibling)) and analysed_jobs[-1] == sorted(os.listdir(sibling))
        assert lib.analyse_pending(workers=1).analysed == 6  # no root: every pending track
        assert lib.status().pending == 0
