"""The centred embedding (model version musicnn-msd-gtzan-2): tools/centre_model.py and the shipped file.

Subtracting the reference mean from every segment embedding is folded into the network's last biases;
these tests run the real ONNX Runtime engine on real audio to check the fold is exact (embeddings shift
by the centre, tag and genre outputs do not move), that the shipped file is the ported trunk with its
embedding centred, and that copies of one recording still pass the duplicate rule while different
recordings do not.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicsim.analysis.segments import track_patches
from musicsim.audio.decode import load
from musicsim.audio.encode import encode
from musicsim.playlists.filters import DUPLICATE_SIMILARITY
from musicsim.model.modelfile import default_model_path, read_meta, read_model, write_model
from musicsim.model.onnx_model import OnnxModel
from musicsim.model.outputs import pool_segments

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import centre_model  # noqa: E402

from benchmarks import similarity_data  # noqa: E402

TRUNK = REPO / "resources" / "musicnn-msd.safetensors"
SHIPPED_VERSION = "musicnn-msd-gtzan-2"


def test_centre_folds_exactly_into_the_network(make_model, write_song, tmp_path: Path) -> None:
    base = make_model(tmp_path / "base.safetensors")
    meta, weights = read_model(base)
    c = np.random.default_rng(0).standard_normal(meta.network.embedding_size) * 2.0
    centred = write_model(tmp_path / "centred.safetensors", replace(meta, version="centred-1"),
                          centre_model.centre_weights(weights, c))
    song = write_song(tmp_path / "song.flac", seed=3, seconds=9.0)
    patches = track_patches(song, meta.features)
    a, b = OnnxModel.load(base).predict(patches), OnnxModel.load(centred).predict(patches)
    np.testing.assert_allclose(b.embeddings, a.embeddings - c, atol=1e-4)
    np.testing.assert_allclose(b.tag_probs, a.tag_probs, atol=1e-5)
    np.testing.assert_allclose(b.genre_probs, a.genre_probs, atol=1e-6)
    assert not np.allclose(b.embeddings, a.embeddings, atol=0.1)


def _fake_cache(cache: Path, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Cached segment embeddings of two collections as benchmarks.similarity_data writes them; their centre."""
    means = []
    for coll, n in (("gtzan", 5), ("corpus", 3)):
        emb = rng.standard_normal((n, similarity_data.MAX_SEGMENTS, dim)).astype(np.float32)
        nseg = np.array([8, 3, 8, 1, 5][:n])
        emb[np.arange(similarity_data.MAX_SEGMENTS)[None, :] >= nseg[:, None]] = 0
        np.savez(cache / f"{coll}-msd.npz", emb=emb, tags=np.zeros((n, 8, 1), np.float32), nseg=nseg)
        (cache / f"{coll}.json").write_text(json.dumps({"items": [{"name": str(i)} for i in range(n)]}))
        means.append(np.mean([emb[i, : nseg[i]].astype(np.float64).mean(0) for i in range(n)], 0))
    return np.mean(means, 0)


def test_tool_writes_a_new_version_and_refuses_to_centre_twice(make_model, tmp_path: Path, monkeypatch) -> None:
    base = make_model(tmp_path / "base.safetensors")
    meta, weights = read_model(base)
    monkeypatch.setattr(similarity_data, "CACHE", tmp_path)
    c = _fake_cache(tmp_path, meta.network.embedding_size, np.random.default_rng(1))
    out = tmp_path / "out.safetensors"
    assert centre_model.main(["--base", str(base), "--version", "test-2", "--out", str(out)]) == 0
    meta2, weights2 = read_model(out)
    assert meta2.version == "test-2" and meta2.card["embedding_centre"]["base_version"] == "test-1"
    np.testing.assert_allclose(weights["penultimate_bn.bias"] - weights2["penultimate_bn.bias"], c, atol=1e-5)
    assert meta2.card["embedding_centre"]["norm"] == pytest.approx(np.linalg.norm(c), abs=1e-3)
    with pytest.raises(SystemExit, match="centred already"):
        centre_model.main(["--base", str(out), "--version", "test-3", "--out", str(tmp_path / "again.safetensors")])


@pytest.fixture(scope="module")
def engines() -> tuple[OnnxModel, OnnxModel]:
    return OnnxModel.load(TRUNK), OnnxModel.load(default_model_path())


def test_shipped_model_is_the_trunk_with_its_embedding_centred(engines, gtzan: Path) -> None:
    meta = read_meta()
    assert meta.version == SHIPPED_VERSION
    assert meta.card["embedding_centre"]["base_version"] == "musicnn-msd-gtzan-1"
    _, trunk_w = read_model(TRUNK)
    _, shipped_w = read_model()
    c = trunk_w["penultimate_bn.bias"].astype(np.float64) - shipped_w["penultimate_bn.bias"]
    assert np.linalg.norm(c) == pytest.approx(meta.card["embedding_centre"]["norm"], abs=1e-3)
    trunk, shipped = engines
    patches = track_patches(gtzan / "rock" / "rock.00004.opus", trunk.features)
    a, b = trunk.predict(patches), shipped.predict(patches)
    np.testing.assert_allclose(b.embeddings, a.embeddings - c, atol=2e-4)
    np.testing.assert_allclose(b.tag_probs, a.tag_probs, atol=1e-5)


def test_centring_opens_the_cone_of_track_embeddings(engines, gtzan: Path) -> None:
    """Raw musicnn track embeddings share a direction (on the 280 GTZAN clips: different genres at mean
    cosine 0.23, one genre at 0.66); centred, different genres fall to ~0 and the gap to clips of one
    genre widens (0.52 against 0.43)."""
    trunk, shipped = engines
    clips = [gtzan / g / f"{g}.{n:05d}.opus" for g in ("classical", "metal", "hiphop", "jazz") for n in (1, 2)]
    raw, cen = [], []
    for clip in clips:
        p = track_patches(clip, trunk.features)
        raw.append(pool_segments(trunk.predict(p)).embedding)
        cen.append(pool_segments(shipped.predict(p)).embedding)
    genre = np.repeat(np.arange(4), 2)
    different = genre[:, None] != genre[None, :]
    same = ~different & ~np.eye(len(clips), dtype=bool)
    s_raw, s_cen = np.array(raw) @ np.array(raw).T, np.array(cen) @ np.array(cen).T
    gap_raw = s_raw[same].mean() - s_raw[different].mean()
    gap_cen = s_cen[same].mean() - s_cen[different].mean()
    assert s_cen[different].mean() < s_raw[different].mean() - 0.1
    assert gap_cen > gap_raw + 0.03


def test_copies_stay_duplicates_and_different_clips_do_not(engines, gtzan: Path, tmp_path: Path) -> None:
    _, shipped = engines
    clip = gtzan / "country" / "country.00002.opus"
    embs = {}
    for name, rate in (("mp3", 44100), ("m4a", 44100), ("wav", 22050)):
        path = encode(tmp_path / f"copy.{name}", load(clip, rate), rate)
        embs[name] = pool_segments(shipped.predict(track_patches(path, shipped.features))).embedding
    embs["original"] = pool_segments(shipped.predict(track_patches(clip, shipped.features))).embedding
    other = pool_segments(shipped.predict(track_patches(gtzan / "country" / "country.00003.opus",
                                                         shipped.features))).embedding
    vals = list(embs.values())
    copies = [float(a @ b) for i, a in enumerate(vals) for b in vals[i + 1:]]
    assert min(copies) >= DUPLICATE_SIMILARITY, copies
    assert max(float(v @ other) for v in vals) < DUPLICATE_SIMILARITY
