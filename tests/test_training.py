"""Training parts: dataset listing, the MFCC baseline, the genre head and from-scratch training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from musicsim.features import DONG_2018
from musicsim.genres import GENRES
from musicsim.model.checkpoint import load_checkpoint, save_checkpoint
from musicsim.model.inference import LoadedModel
from musicsim.model.network import NetworkConfig, TwoStreamResCNN
from musicsim.training.baseline import mfcc, mfcc_statistics
from musicsim.training.data import FeatureCache, list_clips, load_all, load_splits, split_indices
from musicsim.training.head import clip_probabilities, fit_head, trunk_outputs, with_head
from musicsim.training.scratch import TrainSettings, predict, scratch_checkpoint, train_scratch

SMALL_NET = NetworkConfig(n_mels=64, timbral_filters=8, temporal_filters=4, temporal_lengths=(32, 16),
                          midend_filters=8, backend_units=0, n_tags=0, embedding="pooled")


def _tone(seconds: float, freq: float, sr: int = 22050, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * freq * t) + noise * np.random.default_rng(seed).standard_normal(t.size)
    return y.astype(np.float32)


def test_list_clips_follows_the_gtzan_layout(tmp_path: Path) -> None:
    for name in ("blues/blues.00003.wav", "blues/blues.00001.flac", "rock/rock.00000.wav"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        sf.write(tmp_path / name, _tone(0.5, 440), 22050)
    (tmp_path / "blues" / "notes.txt").write_text("not a clip")
    (tmp_path / "blues" / "jazz.00001.wav").write_bytes(b"")  # wrong genre folder
    (tmp_path / "polka").mkdir()
    (tmp_path / "polka" / "polka.00000.wav").write_bytes(b"")  # not a GTZAN genre
    clips = list_clips(tmp_path)
    assert [c.name for c in clips] == ["blues.00001", "blues.00003", "rock.00000"]
    assert [c.label for c in clips] == [GENRES.index("blues")] * 2 + [GENRES.index("rock")]
    assert load_splits(tmp_path) is None
    (tmp_path / "splits").mkdir()
    for part, names in (("train", "blues.00001\nblues.00099\n"), ("valid", "rock.00000\n"), ("test", "blues.00003\n")):
        (tmp_path / "splits" / f"{part}_filtered.txt").write_text(names)
    splits = load_splits(tmp_path)
    assert split_indices(clips, splits["train"]).tolist() == [0]  # blues.00099 is not in this folder
    assert split_indices(clips, splits["test"]).tolist() == [1]


def test_list_clips_rejects_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no clips found"):
        list_clips(tmp_path)


def test_a_bad_file_is_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "rock").mkdir()
    sf.write(tmp_path / "rock" / "rock.00000.wav", _tone(3.5, 220), 22050)
    (tmp_path / "rock" / "rock.00001.wav").write_bytes(b"RIFF but not really a wave file")
    clips = list_clips(tmp_path)
    cache = FeatureCache(tmp_path / "cache")
    arrays, kept, problems = load_all(clips, lambda c: cache.patches(c, DONG_2018), log=lambda _m: None)
    assert kept == [0] and arrays[0].shape == (1, DONG_2018.frames, DONG_2018.n_mels)
    assert problems[0][0] == "rock.00001" and problems[0][1]
    again = cache.patches(clips[0], DONG_2018)  # served from the cache, identical
    np.testing.assert_array_equal(again, arrays[0])


def test_mfcc_statistics_separate_timbres() -> None:
    low, high = _tone(2.0, 110), _tone(2.0, 3000)
    coeffs = mfcc(low)
    assert coeffs.shape == (1 + low.size // 512, 20)
    stats_low, stats_high = mfcc_statistics(low), mfcc_statistics(high)
    assert stats_low.shape == (20 + 210,)
    assert np.abs(stats_low[:20] - stats_high[:20]).max() > 10  # different spectra, different cepstra
    np.testing.assert_allclose(mfcc_statistics(low), stats_low)


def test_genre_head_in_the_network_matches_the_fitted_classifier(model_file: Path) -> None:
    """The 1x1 convolution + average pooling carries exactly the logistic regression we fitted."""
    base = load_checkpoint(model_file)
    cfg, feats = base.network, base.features
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, feats.frames, feats.n_mels)).astype(np.float32)
    model = LoadedModel(base, device="cpu")
    outs = trunk_outputs(model, x)
    assert outs.pooled_map.shape == (8, cfg.midend_channels) and outs.embedding.shape == (8, cfg.embedding_size)
    y = np.array([0, 0, 0, 0, 5, 5, 5, 5])
    head = fit_head(outs.pooled_map, y, np.arange(8), len(GENRES))
    assert head.inner_scores  # C was chosen by inner cross-validation
    fitted = LoadedModel(with_head(base, head, GENRES, "head-test"), device="cpu")
    got = fitted.predict(x)
    np.testing.assert_allclose(got.genre_probs, head.predict_proba(outs.pooled_map), atol=1e-4)
    assert (got.genre_probs.argmax(axis=1) == y).all()  # 8 points in 104 dimensions: separable
    assert got.genre_probs[:, [0, 5]].sum(axis=1).min() > 0.999  # genres absent from training get nothing
    np.testing.assert_allclose(got.embeddings, outs.embedding, atol=1e-5)  # the trunk is untouched
    np.testing.assert_allclose(got.tag_probs, outs.tag_probs, atol=1e-6)


def test_clip_probabilities_average_segments() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8]])
    np.testing.assert_allclose(clip_probabilities(probs, np.array([0, 0, 1])), [[0.5, 0.5], [0.2, 0.8]])


def test_two_epochs_lower_the_loss_and_write_a_loadable_checkpoint(tmp_path: Path, gtzan: Path) -> None:
    """Real clips (classical vs metal), 4 segments each; a narrow network keeps it fast."""
    cache = FeatureCache(tmp_path / "cache")
    clips = [c for c in list_clips(gtzan, genres=("classical", "metal")) if int(c.name[-5:]) < 3]
    x = [cache.patches(c, DONG_2018)[:4] for c in clips]
    y = np.array([c.label for c in clips])
    settings = TrainSettings(max_epochs=2, batch_size=4, seed=0)
    result = train_scratch(x, y, [], np.array([], dtype=np.int64), settings, network_cfg=SMALL_NET,
                           log=lambda _m: None)
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert losses[1] < np.log(10) / 2  # well under chance over 10 outputs (the unclipped net once sat at 19-29)
    assert all(row["grad_norm"] > 0 for row in result.history)
    path = save_checkpoint(scratch_checkpoint(result, GENRES), tmp_path / "scratch.pt")
    ckpt = load_checkpoint(path, weights_only=True)
    assert ckpt.features == DONG_2018 and ckpt.network == SMALL_NET and ckpt.genres == list(GENRES)
    probs, embs, ids = predict(ckpt.build(), x)
    expected, _, _ = predict(result.network, x)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert embs.shape == (len(ids), SMALL_NET.midend_channels)
    assert probs.shape == (sum(len(a) for a in x), len(GENRES))


def test_gradient_clipping_bounds_each_sgd_step(gtzan: Path, tmp_path: Path) -> None:
    """Plain SGD, one step: the update is at most lr x clip; unclipped, the same batch moves it further."""
    cache = FeatureCache(tmp_path / "cache")
    clips = [c for c in list_clips(gtzan, genres=("blues", "reggae")) if int(c.name[-5:]) < 1]
    x = [cache.patches(c, DONG_2018)[:2] for c in clips]
    y = np.array([c.label for c in clips])
    torch.manual_seed(0)
    start = torch.cat([p.detach().flatten() for p in TwoStreamResCNN(SMALL_NET).parameters()])

    def step_size(clip: float | None) -> tuple[float, float]:
        settings = TrainSettings(lr=0.009, momentum=0.0, grad_clip=clip, max_epochs=1, batch_size=4, seed=0)
        result = train_scratch(x, y, [], np.array([], dtype=np.int64), settings, network_cfg=SMALL_NET,
                               log=lambda _m: None)
        end = torch.cat([p.detach().flatten() for p in result.network.parameters()])
        return float(torch.linalg.vector_norm(end - start)), result.history[0]["grad_norm"]

    clipped, norm = step_size(0.1)
    unclipped, same_norm = step_size(None)
    assert norm > 0.1 and same_norm == pytest.approx(norm, rel=1e-4)  # the clip was active on this batch
    assert clipped == pytest.approx(0.009 * 0.1, rel=1e-3)
    assert unclipped == pytest.approx(0.009 * norm, rel=1e-3) and unclipped > 5 * clipped
