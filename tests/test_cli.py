"""The musicsim command line: every command's output and --json shape, errors, and interrupted scans."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SONGS, synth_song, write_tags

import musicsim.analysis.pipeline as pipeline
from musicsim.audio.encode import encode
from musicsim.cli import main, wants_app
from musicsim.genres import GENRES
from musicsim.library.library import Library

REPO = Path(__file__).resolve().parents[1]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_commands_and_json_shapes(copy_music, model_file: Path, data_dir: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    music = copy_music()
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(data_dir))  # the env var, not --data-dir
    common = ["--model", str(model_file), "--device", "cpu"]

    code, out, err = run("scan", str(music), "--workers", "1", *common)
    assert code == 0 and "6 new" in err and "Analysed 6 tracks, 0 failed" in err and "[####" in err

    code, out, _ = run("status", "--json", *common)
    assert code == 0 and json.loads(out) == {"tracks": 6, "analysed": 6, "pending": 0, "failed": 0,
                                             "model_version": "test-1", "device": json.loads(out)["device"],
                                             "model_problem": None, "read_only": None}
    assert json.loads(out)["device"].startswith("CPU")
    code, out, _ = run("status", *common)
    assert code == 0 and "Analysed:      6" in out and f"Data folder:   {data_dir}" in out

    code, out, _ = run("genres", "--json")
    genres = json.loads(out)
    assert sorted(g["title"] for g in genres) == sorted(s[1] for s in SONGS)
    for g in genres:
        assert set(g) == {"path", "title", "artist", "album", "genre", "confidence", "tags", "label",
                          "label_confidence", "uncertain", "label_candidates", "file_genre", "suggested_genre",
                          "suggested_confidence"}
        assert g["genre"] in GENRES and 0 < g["confidence"] <= 1 and len(g["tags"]) == 5  # the model's 5 tags
        assert [p for _, p in g["tags"]] == sorted((p for _, p in g["tags"]), reverse=True)
        assert isinstance(g["uncertain"], bool) and 0 < g["label_confidence"] <= 1 and len(g["label_candidates"]) == 2
        assert g["file_genre"] is None and g["suggested_genre"] is None  # untagged files, nothing learned
    code, out, _ = run("genres")
    assert code == 0 and len(out.splitlines()) == 6

    code, out, err = run("similar", "deep water", "--json")
    found = json.loads(out)
    assert code == 0 and 1 <= len(found) <= 5
    assert all(set(f) == {"path", "title", "artist", "album", "genre", "score"} for f in found)
    assert "Deep Water" not in [f["title"] for f in found]
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    seed_path = str(music / "Beta" / "Deep Water.ogg")
    code, out2, _ = run("similar", seed_path, "--json")
    assert json.loads(out2) == found  # a path finds the same seed
    code, out, _ = run("similar", "deep water", "-n", "2", "--json")
    assert [f["path"] for f in json.loads(out)] == [f["path"] for f in found[:2]]
    code, out, _ = run("similar", "deep water", "--max-per-artist", "1", "--json")
    assert [f["artist"] for f in json.loads(out)].count("Alpha Band") == 1
    code, out, err = run("similar", "deep water")
    assert code == 0 and "Like: Beta Ensemble - Deep Water" in err and len(out.splitlines()) == len(found)

    playlist = tmp_path / "out" / "like deep water.m3u8"
    code, _, err = run("export", "deep water", "--out", str(playlist))
    assert code == 1 and "does not exist (create it first)" in err and not playlist.parent.exists()
    playlist.parent.mkdir()
    code, _, err = run("export", "deep water", "--out", str(playlist))
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert code == 0 and lines[:2] == ["#EXTM3U", "#PLAYLIST:Like Beta Ensemble - Deep Water"]
    assert lines[3::2] == [f["path"] for f in found]
    code, _, err = run("export", "deep water", "--out", str(playlist), "--include-seed", "-n", "1")
    assert code == 1 and "already exists. Add --force to replace it." in err
    code, _, _ = run("export", "deep water", "--out", str(playlist), "--include-seed", "-n", "1", "--force")
    assert playlist.read_text(encoding="utf-8").splitlines() == [
        "#EXTM3U", lines[1], "#EXTINF:9,Beta Ensemble - Deep Water", seed_path, lines[2], lines[3]]

    code, out, _ = run("problems", "--json")
    assert code == 0 and json.loads(out) == []


def test_scan_analyses_only_its_folder(copy_music, model_file: Path, data_dir: Path, tmp_path: Path) -> None:
    import shutil

    music = copy_music()
    other = tmp_path / "other"
    shutil.copytree(music / "Alpha Band", other)
    common = ["--data-dir", str(data_dir), "--model", str(model_file), "--device", "cpu"]
    with Library(data_dir, model_file) as lib:
        lib.sync_folder(music)  # catalogued earlier, not analysed
    code, _, err = run("scan", str(other), "--workers", "1", *common)
    assert code == 0 and "2 new" in err and "Analysed 2 tracks, 0 failed" in err
    code, out, _ = run("status", "--json", *common)
    assert (json.loads(out)["analysed"], json.loads(out)["pending"]) == (2, 6)


def test_errors_are_one_line_without_traceback(copy_music, data_dir: Path, tmp_path: Path) -> None:
    music = copy_music()
    common = ["--data-dir", str(data_dir)]
    code, _, err = run("scan", str(music), "--model", str(tmp_path / "none.pt"), *common)
    assert code == 1 and "No model weights" in err and "--model FILE" in err and "Traceback" not in err
    code, _, err = run("similar", "no such thing", *common)
    assert code == 1 and err == 'musicsim: error: No track in the library matches "no such thing".\n'
    code, _, err = run("similar", "First Light", *common)
    assert code == 1 and "not been analysed" in err
    code, _, err = run("scan", str(tmp_path / "missing"), *common)
    assert code == 1 and "does not exist" in err and "Traceback" not in err
    bad_model = tmp_path / "bad.pt"
    bad_model.write_bytes(b"garbage")
    code, _, err = run("scan", str(music), "--model", str(bad_model), *common)
    assert code == 1 and "bad.pt was rejected: it is not a musicsim model file" in err
    with pytest.raises(SystemExit) as exc:
        run("similar", *common)  # usage error: argparse exits 2
    assert exc.value.code == 2


def test_app_is_the_default_command(tmp_path: Path) -> None:
    assert wants_app([], ["scan", "status"])
    assert wants_app([str(tmp_path)], ["scan", "status"])  # an existing folder opens the app on it
    assert wants_app(["--data-dir", "status", "--device", "cpu"], ["scan", "status"])
    assert not wants_app(["--data-dir", "/x", "status"], ["scan", "status"])
    assert not wants_app(["--help"], ["scan", "status"])
    assert not wants_app([str(tmp_path / "not-there")], ["scan", "status"])


def test_a_mistyped_command_is_an_error_with_a_hint(data_dir: Path, tmp_path: Path) -> None:
    code, out, err = run("--data-dir", str(data_dir), "stauts")
    assert code == 2 and out == ""
    assert "'stauts' is neither a command nor a folder" in err and "Did you mean `musicsim status`?" in err
    code, _, err = run("frobnicate")
    assert code == 2 and "Commands: scan, status" in err
    code, _, err = run(str(tmp_path / "Music Typo"))
    assert code == 2 and "neither a command nor a folder" in err


# -- interrupted scans, in a real subprocess -----------------------------------------------------
N_ENCODED = 48
N_SLOW = 3 * N_ENCODED


@pytest.fixture(scope="module")
def slow_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """144 songs of 20 s (48 variants of one, each also copied twice: quick to write): well over the first
    stored batch of work for one worker, however fast the engine (ONNX Runtime did 48 in 9 s)."""
    root = tmp_path_factory.mktemp("slow")
    base = synth_song(100, 20.0)
    t = np.arange(base.size, dtype=np.float32) / 22050
    for i in range(N_ENCODED):
        y = np.roll(base, 7919 * i) * (0.5 + i / 100) + 0.1 * np.sin(2 * np.pi * (200 + 37 * i) * t)
        encode(root / f"song{i:03d}.flac", np.clip(y, -1, 1), 22050)
    for i in range(N_ENCODED, N_SLOW):
        shutil.copyfile(root / f"song{i % N_ENCODED:03d}.flac", root / f"song{i:03d}.flac")
    for i in range(N_SLOW):
        write_tags(root / f"song{i:03d}.flac", title=f"Song {i}", artist=f"Artist {i % 5}")
    return root


def _start_scan(folder: Path, data_dir: Path, model: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "musicsim.cli", "scan", str(folder), "--data-dir", str(data_dir),
         "--model", str(model), "--device", "cpu", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
        preexec_fn=_default_sigint)


def _default_sigint() -> None:
    """A scan that Ctrl-C can reach even when the tests run with SIGINT ignored (a shell's background job
    inherits SIG_IGN, and Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _analysed(data_dir: Path) -> dict[str, float]:
    """path -> analysed_at of analysed tracks, read like any other process would."""
    try:
        with sqlite3.connect(f"file:{data_dir / 'catalogue.sqlite3'}?mode=ro", uri=True, timeout=10) as conn:
            rows = conn.execute("SELECT path, analysed_at FROM tracks WHERE status = 'analysed'").fetchall()
        return dict(rows)
    except sqlite3.OperationalError:  # not created yet
        return {}


def _wait_for_some(proc: subprocess.Popen, data_dir: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not _analysed(data_dir):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no track analysed in time"
        time.sleep(0.05)


def test_scan_killed_midway_loses_nothing_and_resumes(slow_music: Path, model_file: Path, data_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    proc = _start_scan(slow_music, data_dir, model_file)
    _wait_for_some(proc, data_dir)
    os.killpg(proc.pid, signal.SIGKILL)  # the scan and its worker processes, with no chance to clean up
    proc.wait()
    done = _analysed(data_dir)
    assert 0 < len(done) < N_SLOW, "the scan should have been killed mid-way"

    jobs: list[str] = []
    real = pipeline.run_analysis
    monkeypatch.setattr(pipeline, "run_analysis",
                        lambda js, model, **kw: real(jobs.extend(j.path for j in js) or js, model, **kw))
    with Library(data_dir, model_file, device="cpu") as lib:
        synced, report = lib.scan(slow_music, workers=1)
        assert synced.unchanged == N_SLOW  # catalogued before the kill
        assert sorted(jobs) == sorted(set(map(str, slow_music.glob("*.flac"))) - set(done))  # no re-analysis
        assert report.analysed == N_SLOW - len(done)
        after = _analysed(data_dir)
        assert len(after) == N_SLOW and all(after[p] == t for p, t in done.items())
        assert lib.index.count("test-1") == N_SLOW  # the index is in step after the kill


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(slow_music: Path, data_dir: Path) -> None:
    from musicsim.model.modelfile import default_model_path

    # The shipped model (~0.4 CPU-s a track): the small test model analysed all 144 songs in 5 s, so on a
    # loaded machine the Ctrl-C could land after the last one.
    proc = _start_scan(slow_music, data_dir, default_model_path())
    _wait_for_some(proc, data_dir)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the scan and its workers
    _, err = proc.communicate(timeout=60)
    done = _analysed(data_dir)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "terminate called" not in err
    assert f"Interrupted: the {len(done)} tracks analysed in this run are kept" in err
    assert f"musicsim scan {slow_music}` again to resume" in err
    assert 0 < len(done) < N_SLOW


# -- start-up ---------------------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland detection is Linux-only")
def test_app_without_a_display_says_so_instead_of_aborting(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PYTHONPATH=str(REPO), MUSICSIM_DATA_DIR=str(data_dir))
    proc = subprocess.run([sys.executable, "-m", "musicsim.cli"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr  # Qt's own failure would be an abort: 134 / -6
    assert proc.stderr.strip().splitlines() == [
        "musicsim: no display found \u2014 the desktop app needs a graphical session; "
        "the command line works: musicsim --help"]
    proc = subprocess.run([sys.executable, "-m", "musicsim.cli", "status", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["tracks"] == 0  # commands need no display


def test_main_supports_frozen_worker_processes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    calls: list[int] = []
    monkeypatch.setattr(multiprocessing, "freeze_support", lambda: calls.append(1))
    code, _, _ = run("status", "--data-dir", str(data_dir))
    assert code == 0 and calls == []  # not frozen: nothing to do (multiprocessing is not even imported for it)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    code, _, _ = run("status", "--data-dir", str(data_dir))
    assert code == 0 and calls == [1]  # before any work: a spawned worker of a frozen bundle stops there
