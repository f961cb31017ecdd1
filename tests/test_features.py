"""Log-mel features against stored librosa references (``tools/musicnn_reference.py`` wrote them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicsim.features import (DONG_2018, MUSICNN, FeatureConfig, context_patch, fit_length, log_mel, patches,
                               segment_patch)

FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def test_musicnn_features_match_musicnn_preprocessing(ref) -> None:
    """musicnn's librosa mel, rounded to float16, then log10(1 + 10000 x): we match nearly bit for bit.
    Only rare float16 rounding-boundary cases may differ, by one half-precision step."""
    for audio, mel16 in zip(ref["audio_16k"], ref["musicnn_mel16"]):
        expected = np.log10(1 + 10000 * mel16.astype(np.float32))
        ours = segment_patch(audio.astype(np.float32) / 32768, MUSICNN)
        assert ours.shape == (187, 96) and ours.dtype == np.float32
        diff = np.abs(ours - expected)
        assert np.mean(diff > 0) < 1e-3
        assert diff.max() < 1e-3


def test_dong_2018_features_match_librosa(ref) -> None:
    """librosa melspectrogram (22.05 kHz, 64 mels up to 10 kHz), log(1 + x), within float32 rounding."""
    audio = ref["audio_22k"].astype(np.float32) / 32768
    ours = log_mel(audio, DONG_2018)
    assert ours.shape == ref["dong_logmel"].shape == (87, 64)
    np.testing.assert_allclose(ours, ref["dong_logmel"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cfg", [MUSICNN, DONG_2018], ids=["musicnn", "dong2018"])
def test_silence_gives_finite_zero_features(cfg: FeatureConfig) -> None:
    patch = segment_patch(np.zeros(cfg.segment_samples, np.float32), cfg)
    assert patch.shape == (cfg.frames, cfg.n_mels)
    assert np.isfinite(patch).all()
    assert np.all(patch == 0)


@pytest.mark.parametrize("cfg", [MUSICNN, DONG_2018], ids=["musicnn", "dong2018"])
def test_short_input_is_repeat_padded(cfg: FeatureConfig) -> None:
    """Half a second becomes a full patch whose later frames repeat the sound (not silence)."""
    t = np.arange(cfg.sample_rate // 2) / cfg.sample_rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    patch = segment_patch(tone, cfg)
    assert patch.shape == (cfg.frames, cfg.n_mels)
    assert np.isfinite(patch).all()
    tail = patch[-cfg.frames // 4 :]
    assert tail.max() > 0.5 * patch.max()
    np.testing.assert_array_equal(fit_length(tone, cfg.segment_samples)[: tone.size], tone)
    assert segment_patch(np.zeros(0, np.float32), cfg).shape == (cfg.frames, cfg.n_mels)


def test_patches_cut_the_whole_spectrogram() -> None:
    """Consecutive non-overlapping patches are slices of one log-mel spectrogram (as musicnn's extractor)."""
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(MUSICNN.sample_rate * 10)).astype(np.float32)
    whole = log_mel(y, MUSICNN)
    cut = patches(y, MUSICNN)
    assert cut.shape == ((whole.shape[0] - 187) // 187 + 1, 187, 96)
    np.testing.assert_array_equal(cut[2], whole[2 * 187 : 3 * 187])
    assert patches(y[:1000], MUSICNN).shape == (1, 187, 96)


def test_louder_sound_gives_larger_features() -> None:
    t = np.arange(MUSICNN.segment_samples) / MUSICNN.sample_rate
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    quiet, loud = segment_patch(0.01 * tone, MUSICNN), segment_patch(0.5 * tone, MUSICNN)
    band = int(np.argmax(loud.mean(axis=0)))
    assert loud[:, band].mean() > quiet[:, band].mean() + 1.0


@pytest.mark.parametrize("cfg", [MUSICNN, DONG_2018], ids=["musicnn", "dong2018"])
def test_context_patch_equals_the_whole_tracks_frames(ref, cfg: FeatureConfig) -> None:
    """A window with n_fft/2 context each side gives exactly the whole spectrogram's frames there,
    while a bare segment's edge frames (half zero-padded) differ."""
    y = ref["audio_16k"].astype(np.float32).ravel() / 32768
    whole = log_mel(y, cfg)
    start_frame = 40
    start = start_frame * cfg.hop_length - cfg.n_fft // 2
    patch = context_patch(y[start : start + cfg.window_samples], cfg)
    atol = 1e-3 if cfg.mel_dtype == "float16" else 1e-5  # one float16 step where rounding flips
    np.testing.assert_allclose(patch, whole[start_frame : start_frame + cfg.frames], atol=atol)
    bare = segment_patch(y[start + cfg.n_fft // 2 :], cfg)
    np.testing.assert_allclose(bare[1:-1], patch[1:-1], atol=atol)
    assert np.abs(bare[0] - patch[0]).max() > 0.1
