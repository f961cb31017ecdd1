"""Bad input never stops a scan: each bad file is listed with a reason; odd but valid audio is analysed."""

from __future__ import annotations

import io
import json
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest

import musicsim.analysis.pipeline as pipeline
from conftest import synth_song
from musicsim.audio.encode import encode
from musicsim.cli import main
from musicsim.library.library import Library

RATE = 22050


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    root = tmp_path / "music"
    root.mkdir()
    # Odd but valid: analysed.
    encode(root / "Björk – Jóga 🎵.flac", synth_song(1, 5.0), RATE)
    encode(root / unicodedata.normalize("NFD", "Café Noël.ogg"), synth_song(2, 5.0), RATE)
    encode(root / "short.wav", synth_song(3, 0.5), RATE)
    encode(root / "silence.flac", np.zeros(5 * RATE, np.float32), RATE)
    encode(root / "telephone.wav", synth_song(4, 5.0, 8000), 8000)
    encode(root / "hires.flac", synth_song(5, 5.0, 96000), 96000)
    encode(root / "surround.wav", synth_song(6, 5.0, 48000, channels=6), 48000)
    encode(root / "UPPER.MP3", synth_song(7, 5.0), RATE)
    # Bad: listed by problems.
    (root / "empty.mp3").write_bytes(b"")
    encode(root / "whole.flac", synth_song(8, 10.0), RATE)
    data = (root / "whole.flac").read_bytes()
    (root / "whole.flac").unlink()
    (root / "truncated.flac").write_bytes(data[: len(data) // 2])
    (root / "notes.mp3").write_text("these are my notes, not a song\n" * 50)
    (root / "._Björk – Jóga 🎵.flac").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(200))
    encode(root / "blip.wav", synth_song(9, 0.05), RATE)
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "again")
    os.symlink("loop.mp3", root / "loop.mp3")
    return root


ANALYSED = {"Björk – Jóga 🎵.flac", unicodedata.normalize("NFD", "Café Noël.ogg"), "short.wav", "silence.flac",
            "telephone.wav", "hires.flac", "surround.wav", "UPPER.MP3"}
REASONS = {  # file -> words its reason must contain
    "empty.mp3": "empty",
    "truncated.flac": "truncated or corrupt",
    "notes.mp3": "not an audio file",
    "._Björk – Jóga 🎵.flac": "AppleDouble",
    "blip.wav": "too short",
    "again": "symbolic link loop",
    "loop.mp3": "symbolic link loop",
}


def test_scan_survives_bad_input_and_lists_each_problem(bad_folder: Path, model_file: Path, data_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with Library(data_dir, model_file, device="cpu") as lib:
        synced, report = lib.scan(bad_folder, workers=1)
        assert (report.analysed, report.failed, report.cancelled) == (len(ANALYSED), 4, False)
        tracks = {os.path.basename(t.path): t for t in lib.tracks()}
        assert {n for n, t in tracks.items() if t.status == "analysed"} == ANALYSED
        for name in ANALYSED:
            version, emb = lib.catalogue.embedding(tracks[name].id)
            assert np.all(np.isfinite(emb)) and np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-4), name
            assert 0 < tracks[name].confidence <= 1
        assert tracks["Björk – Jóga 🎵.flac"].title == "Björk – Jóga 🎵"
        assert lib.similar("Jóga", n=3)  # unicode text finds the track
        assert lib.find("bjork joga").path == lib.find("BJÖRK – JÓGA").path == tracks["Björk – Jóga 🎵.flac"].path
        assert lib.find("cafe noel").path.endswith(unicodedata.normalize("NFD", "Café Noël.ogg"))
        problems = {os.path.basename(p.path): p.reason for p in lib.problems()}
        assert set(problems) == set(REASONS)
        for name, words in REASONS.items():
            assert words in problems[name], (name, problems[name])

        # Failed files are not retried until they change; then they are.
        calls = []
        real = pipeline.run_analysis
        monkeypatch.setattr(pipeline, "run_analysis",
                            lambda jobs, model, **kw: calls.append(list(jobs)) or real(jobs, model, **kw))
        synced, report = lib.scan(bad_folder, workers=1)
        assert synced.unchanged == len(ANALYSED) + 4 and report.analysed == report.failed == 0 and not calls
        encode(bad_folder / "empty.mp3", synth_song(10, 5.0), RATE)
        synced, report = lib.scan(bad_folder, workers=1)
        assert [os.path.basename(j.path) for j in calls[0]] == ["empty.mp3"] and report.analysed == 1
        assert "empty.mp3" not in {os.path.basename(p.path) for p in lib.problems()}


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path, model_file: Path, data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "music"
    root.mkdir()
    encode(root / "ok.wav", synth_song(1, 3.0), RATE)
    locked = root / "locked.wav"
    encode(locked, synth_song(2, 3.0), RATE)
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads any file whatever its mode: let access() answer as for a user
        import musicsim.library.scanner as scanner

        real_access = os.access
        monkeypatch.setattr(scanner.os, "access",
                            lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    try:
        with Library(data_dir, model_file, device="cpu") as lib:
            _, report = lib.scan(root, workers=1)
            assert report.analysed == 1
            assert [(os.path.basename(p.path), "permission denied" in p.reason) for p in lib.problems()] == [
                ("locked.wav", True)]
    finally:
        locked.chmod(0o644)


def test_cli_reports_problems_without_tracebacks(bad_folder: Path, model_file: Path, data_dir: Path) -> None:
    common = ["--data-dir", str(data_dir), "--model", str(model_file), "--device", "cpu"]
    out, err = io.StringIO(), io.StringIO()
    assert main(["scan", str(bad_folder), "--workers", "1", *common], out, err) == 0
    assert "Traceback" not in err.getvalue() and f"Analysed {len(ANALYSED)} tracks, 4 failed" in err.getvalue()
    out = io.StringIO()
    assert main(["problems", "--json", *common], out, err) == 0
    problems = json.loads(out.getvalue())
    assert sorted(os.path.basename(p["path"]) for p in problems) == sorted(REASONS)
    assert all(set(p) == {"path", "reason"} and p["reason"] for p in problems)
