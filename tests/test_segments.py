"""Which windows of a track are analysed, and the patches made from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicsim.analysis.segments import DEFAULT_SEGMENTS, track_patches, window_starts
from musicsim.features import MUSICNN

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"


@pytest.mark.parametrize("duration", [3.5, 30.0, 241.7, 4200.0])
def test_windows_spread_evenly_inside_the_track(duration: float) -> None:
    window = 2.99
    starts = window_starts(duration, window, 8)
    assert starts is not None
    assert len(starts) == min(8, int(np.ceil(duration / window)))
    assert all(0.0 <= s <= duration - window for s in starts)
    assert starts == sorted(starts)
    if duration > 8 * window:  # long tracks: one window in each eighth, none overlapping
        for i, s in enumerate(starts):
            centre = s + window / 2
            assert i * duration / 8 <= centre <= (i + 1) * duration / 8


def test_short_track_is_one_whole_window() -> None:
    assert window_starts(2.0, 2.99, 8) is None
    assert window_starts(5.0, 2.99, 8) is not None and len(window_starts(5.0, 2.99, 8)) == 2
    with pytest.raises(ValueError):
        window_starts(100.0, 3.0, 0)


def test_patches_from_a_real_clip() -> None:
    clip = GTZAN / "blues" / "blues.00000.opus"
    if not clip.exists():
        pytest.skip("GTZAN clips not available")
    p = track_patches(clip, MUSICNN, DEFAULT_SEGMENTS)
    assert p.shape == (DEFAULT_SEGMENTS, MUSICNN.frames, MUSICNN.n_mels)
    assert np.isfinite(p).all()
    assert len({float(x.mean()) for x in p}) == DEFAULT_SEGMENTS  # different stretches of the song


def test_sub_second_clip_and_silence_give_finite_patches(tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    rng = np.random.default_rng(0)
    sf.write(short, 0.3 * rng.standard_normal(int(0.4 * 16000)), 16000)
    p = track_patches(short, MUSICNN)
    assert p.shape == (1, MUSICNN.frames, MUSICNN.n_mels) and np.isfinite(p).all()
    assert p[0, -20:].std() > 0  # repeat-padded, not zero-padded
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(10 * 16000), 16000)
    s = track_patches(silent, MUSICNN)
    assert np.isfinite(s).all() and np.all(s == 0.0)


def test_each_patch_is_the_whole_tracks_spectrogram_at_its_window(tmp_path: Path) -> None:
    """Windows carry n_fft/2 of context: a patch equals the frames of the whole track's spectrogram there."""
    from musicsim.features import log_mel

    cfg = MUSICNN
    rng = np.random.default_rng(3)
    t = np.arange(20 * cfg.sample_rate) / cfg.sample_rate
    y = (0.3 * np.sin(2 * np.pi * (220 + 40 * t) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    path = tmp_path / "song.wav"
    sf.write(path, y, cfg.sample_rate, subtype="FLOAT")
    patches = track_patches(path, cfg, 4)
    starts = window_starts(t.size / cfg.sample_rate, cfg.window_samples / cfg.sample_rate, 4)
    assert starts is not None and patches.shape == (4, cfg.frames, cfg.n_mels)
    for patch, start in zip(patches, starts):
        offset = int(round(start * cfg.sample_rate))
        # The uncentred spectrogram of the window with context = the whole track's centred frames there.
        reference = log_mel(y[offset : offset + cfg.window_samples], cfg, center=False)
        np.testing.assert_allclose(patch, reference, atol=1e-5)
