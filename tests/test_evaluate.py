"""``musicsim evaluate`` and ``musicsim train`` end to end on a tiny generated GTZAN-style folder.

Two "genres" of real encoded audio that really differ: clean pitched songs ("classical") and the
same kind of songs driven into distortion with noise ("metal"). A small random-weight trunk stands
in for the pretrained one and a narrow network for the from-scratch one, so this runs in seconds;
the shipped weights are tested in test_shipped_model.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicsim.genres import GENRES
from musicsim.model.checkpoint import load_checkpoint
from musicsim.model.network import NetworkConfig
from musicsim.training.evaluate import EvalSettings, evaluate, precision_at_k
from musicsim.training.scratch import TrainSettings

SMALL_NET = NetworkConfig(n_mels=64, timbral_filters=8, temporal_filters=4, temporal_lengths=(32, 16),
                          midend_filters=8, backend_units=0, n_tags=0, embedding="pooled")
CLIPS_PER_GENRE = 5
SECONDS = 3.5  # one 3-s segment per clip


@pytest.fixture(scope="module")
def tiny_gtzan(tmp_path_factory: pytest.TempPathFactory, synth_song) -> Path:
    root = tmp_path_factory.mktemp("tiny_gtzan")
    rng = np.random.default_rng(0)
    for i in range(CLIPS_PER_GENRE):
        (root / "classical").mkdir(exist_ok=True)
        (root / "metal").mkdir(exist_ok=True)
        clean = synth_song(100 + i, seconds=SECONDS)
        sf.write(root / "classical" / f"classical.{i:05d}.flac", 0.5 * clean, 22050)
        loud = 0.5 * np.tanh(10 * synth_song(200 + i, seconds=SECONDS)) + 0.5 * rng.standard_normal(clean.size)
        sf.write(root / "metal" / f"metal.{i:05d}.wav", np.clip(0.6 * loud, -1, 1).astype(np.float32), 22050)
    (root / "metal" / "metal.00099.wav").write_bytes(b"RIFF....WAVEbroken")  # must not stop the run
    (root / "splits").mkdir()
    names = [f"{g}.{i:05d}" for i in range(CLIPS_PER_GENRE) for g in ("classical", "metal")]
    for part, chunk in (("train", names[:6]), ("valid", names[6:8]), ("test", names[8:])):
        (root / "splits" / f"{part}_filtered.txt").write_text("\n".join(chunk) + "\n")
    return root


def test_evaluate_writes_every_report_part(tiny_gtzan: Path, model_file: Path, tmp_path: Path) -> None:
    settings = EvalSettings(folds=2, base_model=model_file, cache_dir=tmp_path / "cache", protocols="all",
                            scratch=TrainSettings(max_epochs=2, batch_size=4), scratch_network=SMALL_NET, k=3)
    out = tmp_path / "report"
    result = evaluate(tiny_gtzan, out, settings, log=lambda _m: None)

    md = (out / "report.md").read_text()
    saved = json.loads((out / "report.json").read_text())
    assert saved["cross_validation"]["methods"].keys() == {"shipped", "scratch", "baseline"}
    assert set(saved["figures"]) == {"confusion_shipped", "confusion_scratch", "confusion_baseline", "per_genre",
                                     "pca_shipped", "pca_scratch", "pca_baseline"}
    for fig in saved["figures"].values():
        assert (out / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({fig})" in md
    assert "on the 10-clip subset" in md and "balanced accuracy" in md

    ds = saved["dataset"]
    assert ds["clips"] == 10 and ds["genre_counts"]["metal"] == 5 and not ds["full_gtzan"]
    assert [p["clip"] for p in ds["problems"]] == ["metal.00099"]
    for name, m in saved["cross_validation"]["methods"].items():
        assert np.sum(m["confusion"]) == 10 and len(m["fold_accuracy"]) == 2
        assert set(m["per_genre"]) == {"classical", "metal"}
        cm = np.array(m["confusion"])
        assert m["accuracy"] == pytest.approx(np.trace(cm) / 10)
        assert m["balanced_accuracy"] == pytest.approx(np.mean([m["per_genre"]["classical"], m["per_genre"]["metal"]]))
        assert f"| {100 * m['balanced_accuracy']:.1f} % |" in md  # the Markdown shows the JSON's numbers
    p10 = saved["cross_validation"]["precision_at_k"]
    assert p10["embeddings"].keys() == {"shipped", "scratch", "baseline"}
    assert p10["chance"] == pytest.approx(4 / 9)
    assert p10["k"] == 3 and all(0 <= e["mean"] <= 1 for e in p10["embeddings"].values())
    prot = saved["protocols"]
    assert set(prot) == {"fault-filtered", "dong-50-20-30", "segments (paper)"}
    fault_filtered = prot["fault-filtered"]
    assert (fault_filtered["train"], fault_filtered["valid"], fault_filtered["test"]) == (6, 2, 2)
    assert prot["segments (paper)"]["methods"].keys() == {"shipped", "scratch"}  # no segment-level baseline
    assert result["timing"]["total_seconds"] > 0


def test_precision_at_k_excludes_the_query() -> None:
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(precision_at_k(emb, labels, k=1), [1, 1, 1, 1])
    np.testing.assert_allclose(precision_at_k(emb, np.array([0, 1, 0, 1]), k=1), [0, 0, 0, 0])
    np.testing.assert_allclose(precision_at_k(emb, labels, k=3), [1 / 3] * 4)


def test_cli_train_writes_loadable_models(tiny_gtzan: Path, model_file: Path, tmp_path: Path) -> None:
    from musicsim.cli import main

    head_file = tmp_path / "head.pt"
    assert main(["train", "--data", str(tiny_gtzan), "--out", str(head_file), "--base", str(model_file),
                 "--cache", str(tmp_path / "cache")]) == 0
    ckpt = load_checkpoint(head_file, weights_only=True)
    base = load_checkpoint(model_file)
    assert ckpt.version == "musicnn-msd-gtzan-1" and ckpt.genres == list(GENRES) and ckpt.tags == base.tags
    assert ckpt.card["genre_head"]["clips"] == 10
    trunk_keys = [k for k in base.state_dict if not k.startswith("genre_head")]
    assert all(np.array_equal(ckpt.state_dict[k], base.state_dict[k]) for k in trunk_keys)

    scratch_file = tmp_path / "scratch.pt"
    assert main(["train", "--from-scratch", "--data", str(tiny_gtzan), "--out", str(scratch_file),
                 "--cache", str(tmp_path / "cache"), "--epochs", "1", "--segments-per-clip", "1",
                 "--batch-size", "4"]) == 0
    scratch = load_checkpoint(scratch_file, weights_only=True)
    assert scratch.version == "scratch-gtzan-1" and scratch.features.sample_rate == 22050
    assert scratch.card["training"]["lr"] == 0.009 and len(scratch.card["history"]) == 1
    scratch.build()  # the weights fit the architecture they name


def test_cli_evaluate_reports_a_bad_folder(tmp_path: Path, capsys) -> None:
    from musicsim.cli import main

    assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) != 0
    assert "no clips found" in capsys.readouterr().err
