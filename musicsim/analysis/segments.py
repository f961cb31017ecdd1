"""Which windows of a track to analyse, and turning them into network input patches.

A track is represented by ``n`` windows of one network segment each, centred on ``n`` equal parts
of the track, so the intro and the fade-out weigh no more than any other part and a 70-minute file
costs the same as a 3-minute one. Tracks shorter than ``n`` windows get fewer (non-overlapping as
far as possible); a track shorter than one window is analysed whole, repeat-padded
(:func:`musicsim.features.fit_length`).

The default ``n`` comes from ``benchmarks/bench_segments.py`` (see docs/performance.md).
"""

from __future__ import annotations

import math
import os

import numpy as np

from musicsim.audio.decode import load_windows
from musicsim.features import FeatureConfig, context_patch

DEFAULT_SEGMENTS = 8


def window_starts(duration: float, window: float, n: int = DEFAULT_SEGMENTS) -> list[float] | None:
    """Start times (seconds) of up to ``n`` windows of ``window`` seconds spread over ``duration``.

    ``None`` when the track is no longer than one window (analyse it whole). Window ``i`` is
    centred on the middle of the ``i``-th of ``n`` equal parts, clamped inside the track.
    """
    if n < 1:
        raise ValueError("need at least one segment per track")
    if duration <= window:
        return None
    n = min(n, math.ceil(duration / window))
    part = duration / n
    last = duration - window
    return [min(max(0.0, (i + 0.5) * part - window / 2), last) for i in range(n)]


def track_patches(path: str | os.PathLike[str], cfg: FeatureConfig,
                  n_segments: int = DEFAULT_SEGMENTS) -> np.ndarray:
    """Log-mel patches ``(k, cfg.frames, cfg.n_mels)``, ``1 <= k <= n_segments``, for one file.

    Each window carries ``n_fft // 2`` samples of context on each side (``cfg.window_samples``), so
    its patch equals the same frames of the whole track's spectrogram, as the model was trained and its
    genre head fitted (no zero-padded edge frames). Decodes only the chosen windows; raises
    :class:`musicsim.audio.decode.DecodeError`.
    """
    windows = load_windows(path, cfg.sample_rate, cfg.window_samples,
                           lambda duration, window: window_starts(duration, window, n_segments))
    return np.stack([context_patch(w, cfg) for w in windows])
