"""Foundations: the folder scope of every listing/recommendation call, the index's one owner, the
atomic-write helper, and the log file — on real audio, a real SQLite catalogue and a real hnswlib index."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from musicsim.cli import main
from musicsim.fileio import WriteError, atomic_write, default_file_mode
from musicsim.library.catalogue import AnalysisRow, Catalogue, ModelInfo
from musicsim.library.index import IndexStore, VectorIndex, sidecar_path
from musicsim.library.library import Library
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def two_folders(copy_music, write_song, model_file: Path, data_dir: Path,
                tmp_path: Path) -> tuple[Path, Path, Path]:
    """``(music, other, sibling)`` all analysed into one library; ``sibling``'s name starts like ``other``'s
    and holds a copy of one of ``music``'s songs."""
    music = copy_music()
    other, sibling = tmp_path / "other", tmp_path / "other2"
    write_song(other / "Zeta" / "North.flac", seed=11, seconds=8.0, title="North", artist="Zeta")
    write_song(other / "Zeta" / "South.ogg", seed=12, seconds=9.0, title="South", artist="Zeta")
    sibling.mkdir()
    shutil.copy2(music / "Alpha Band" / "First Light.wav", sibling / "First Light.wav")
    with Library(data_dir, model_file, device="cpu") as lib:
        for folder in (music, other, sibling):
            lib.scan(folder, workers=1)
    return music, other, sibling


def test_listings_and_recommendations_keep_to_a_folder(two_folders, model_file: Path, data_dir: Path) -> None:
    music, other, sibling = two_folders
    with Library(data_dir, model_file, device="cpu") as lib:
        everything = lib.tracks()
        assert len(everything) == 9
        inside = lib.tracks(root=other)
        assert sorted(Path(t.path).name for t in inside) == ["North.flac", "South.ogg"]
        assert all(t.path.startswith(str(other) + os.sep) for t in inside)  # never other2's files
        assert lib.status(root=other).tracks == 2 and lib.status().tracks == 9
        ids, matrix = lib.embeddings(root=sibling)
        assert len(ids) == 1 == matrix.shape[0]
        seed = lib.find(str(music / "Gamma" / "Neon Rain.mp3"))
        near = lib.similar(seed, n=10, root=music)
        assert near and all(s.track.path.startswith(str(music) + os.sep) for s in near)
        anywhere = lib.similar(seed, n=10, max_per_artist=None)
        assert {s.track.path for s in anywhere} > {s.track.path for s in near}  # other folders' copies too
        only_other = lib.similar(seed, n=10, root=other)
        assert sorted(Path(s.track.path).name for s in only_other) == ["North.flac", "South.ogg"]
        # The seed's own copy in another folder is a copy of one recording: never recommended.
        first = lib.find(str(music / "Alpha Band" / "First Light.wav"))
        assert all(Path(s.track.path).name != "First Light.wav" for s in lib.similar(first, n=10))
        (music / "broken.mp3").write_bytes(b"not audio" * 100)
        lib.scan(music, workers=1)
        assert [Path(p.path).name for p in lib.problems(root=music)] == ["broken.mp3"]
        assert lib.problems(root=other) == []


def test_cli_in_folder_scopes_the_answer(two_folders, model_file: Path, data_dir: Path) -> None:
    music, other, _ = two_folders
    common = ["--data-dir", str(data_dir), "--model", str(model_file)]
    code, out, _ = run("similar", str(music / "Gamma" / "Neon Rain.mp3"), "--in", str(other), "--json", *common)
    assert code == 0 and {Path(r["path"]).parent.parent for r in json.loads(out)} == {other}
    code, out, _ = run("genres", "--in", str(other), "--json", *common)
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run("status", "--in", str(other), "--json", *common)
    assert code == 0 and json.loads(out)["tracks"] == 2
    code, _, err = run("genres", "--in", str(music / "nope"), *common)
    assert code == 1 and "no such folder" in err


def _catalogue(tmp_path: Path, vectors: dict[int, list[float]], tracks: int = 6) -> Catalogue:
    """A catalogue of ``tracks`` tracks (ids 1..tracks), those in ``vectors`` analysed with version v1."""
    cat = Catalogue(tmp_path / "catalogue.sqlite3")
    cat.register_model(ModelInfo("v1", [f"g{i}" for i in range(10)], [], 3))
    with cat.transaction() as conn:
        for i in range(tracks):
            cat.add(conn, FoundFile(str(tmp_path / f"{i}.wav"), 10, 1), TagInfo(f"t{i}", "", "", None, 1.0))
    rows = []
    for i, v in vectors.items():
        e = np.asarray(v, np.float32)
        rows.append(AnalysisRow(i, e / np.linalg.norm(e), np.eye(10, dtype=np.float32)[0], np.zeros(0, np.float32), 1))
    cat.write_results("v1", rows)
    return cat


def test_index_store_owns_loading_catching_up_and_saving(tmp_path: Path) -> None:
    cat = _catalogue(tmp_path, {1: [1, 0, 0], 2: [0, 1, 0], 3: [1, 1, 0]})
    path = tmp_path / "index.hnsw"
    store = IndexStore(cat, path)
    assert store.count("v1") == 3 and path.is_file()  # missing: built and saved
    assert store.query("v1", np.array([1, 0, 0], np.float32), 1)[0].tolist() == [1]
    assert store.count("v2") == 0  # nothing analysed with another version

    # Stale: another process wrote results; a fresh store loads the saved file and catches it up.
    cat.write_results("v1", [AnalysisRow(4, np.array([0, 0, 1], np.float32), np.zeros(10, np.float32),
                                         np.zeros(0, np.float32), 1)])
    fresh = IndexStore(cat, path)
    assert fresh.count("v1") == 4
    assert fresh.save() and json.loads(sidecar_path(path).read_text())["generation"] == cat.generation()

    # Results recorded during analysis go in without a catch-up read; a gap in generations catches up.
    before = cat.generation()
    generation = cat.write_results("v1", [AnalysisRow(2, error="file is empty")])
    fresh.add_results("v1", np.zeros(0, np.int64), np.zeros((0, 3), np.float32), [2], before, generation)
    assert fresh.count("v1") == 3
    cat.write_results("v1", [AnalysisRow(5, np.array([1, 0, 1], np.float32) / np.sqrt(2), np.zeros(10, np.float32),
                                         np.zeros(0, np.float32), 1)])
    assert fresh.count("v1") == 4  # caught up from the catalogue when asked

    # Corrupt on disk: a new store rebuilds from the catalogue and saves a good file.
    fresh.save()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    rebuilt = IndexStore(cat, path)
    assert rebuilt.count("v1") == 4
    assert VectorIndex.load(path, 3, "v1", cat.generation()) is not None


def test_index_store_answers_from_memory_when_it_cannot_save(tmp_path: Path, caplog) -> None:
    cat = _catalogue(tmp_path, {1: [1, 0, 0], 2: [0, 1, 0]})
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index's folder should be")  # fails for root too, unlike chmod
    path = blocker / "index.hnsw"
    with caplog.at_level(logging.WARNING, logger="musicsim"):
        store = IndexStore(cat, path)
        assert store.count("v1") == 2
        assert store.query("v1", np.array([0, 1, 0], np.float32), 1)[0].tolist() == [2]
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"cannot write {path}: a part of its path is not a folder" in m for m in messages), messages
    assert not any(".tmp" in m for m in messages)  # the target is named, never a temporary file
    assert not store.save()


def test_atomic_write_names_the_target_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "list.m3u8"
    atomic_write(target, "old\n")
    assert (target.stat().st_mode & 0o777) == default_file_mode()  # the umask, not mkstemp's 0600
    with pytest.raises(WriteError) as caught:
        atomic_write(tmp_path / "missing-folder" / "x.m3u8", "new\n")
    assert str(caught.value) == f"cannot write {tmp_path / 'missing-folder' / 'x.m3u8'}: its folder does not exist"
    (tmp_path / "dir.m3u8").mkdir()
    with pytest.raises(WriteError, match="it is a folder"):
        atomic_write(tmp_path / "dir.m3u8", "new\n")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["dir.m3u8", "list.m3u8"]


@pytest.mark.parametrize("xdg", [None, "", "   ", "/elsewhere/data"])
def test_the_default_data_folder_is_platformdirs_one(xdg: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    from musicsim.paths import DATA_DIR_ENV, default_data_dir

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert default_data_dir() == Path(platformdirs.user_data_dir("musicsim", appauthor=False))


def test_the_log_file_rotates_at_its_size_keeping_three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from musicsim import logs

    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    console = io.StringIO()
    path = logs.setup_logging(tmp_path, console=console)
    log = logging.getLogger("musicsim.test")
    try:
        for i in range(200):
            log.info("line %03d %s", i, "x" * 40)
    finally:
        for handler in list(logging.getLogger("musicsim").handlers):
            logging.getLogger("musicsim").removeHandler(handler)
            handler.close()
    assert path == tmp_path / "musicsim.log"
    files = [tmp_path / "musicsim.log", *(tmp_path / f"musicsim.log.{i}" for i in (1, 2, 3))]
    assert all(f.exists() and 0 < f.stat().st_size < 2000 for f in files)
    assert not (tmp_path / "musicsim.log.4").exists()
    assert "line 199" in files[0].read_text() and "line 199" not in files[1].read_text()
    newest_old = files[1].read_text().splitlines()[-1]
    assert int(newest_old.split("line ")[1][:3]) + 1 == int(files[0].read_text().split("line ")[1][:3])  # no gap
    assert console.getvalue() == ""


def test_commands_write_a_log_file_that_status_names(copy_music, model_file: Path, data_dir: Path) -> None:
    music = copy_music()
    (music / "broken.flac").write_bytes(b"fLaC" + b"\x00" * 200)
    code, _, _ = run("scan", str(music), "--data-dir", str(data_dir), "--model", str(model_file), "--workers", "1")
    assert code == 0
    log_file = data_dir / "musicsim.log"
    text = log_file.read_text()
    assert "analysing 7 tracks" in text and "broken.flac" in text  # the failure is recorded with its reason
    code, out, _ = run("status", "--data-dir", str(data_dir), "--model", str(model_file))
    assert code == 0 and f"Log file:      {log_file}" in out
