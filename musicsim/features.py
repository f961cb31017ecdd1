"""Log-mel spectrogram segments as plain functions over arrays.

Every parameter comes from a :class:`FeatureConfig`, which a model checkpoint carries, so the engine
serves any model. The mel filter bank and STFT follow librosa's defaults (Slaney mel scale and area
normalisation, Hann window, centred frames), so features match models trained with librosa.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes the network's input patches."""

    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    frames: int  # frames per segment (the network's input length)
    fmin: float = 0.0
    fmax: float | None = None  # None: sample_rate / 2
    log: str = "log1p"  # "log1p": log(1 + scale·x); "log10_1p": log10(1 + scale·x)
    log_scale: float = 1.0
    power: float = 2.0  # 2: power spectrogram, 1: magnitude
    pad_mode: str = "constant"  # how centred frames are padded at the edges (librosa >= 0.10: constant)
    mel_dtype: str = "float32"  # "float16": mel rounded to half precision before the log (musicnn's data)

    @property
    def segment_samples(self) -> int:
        """Samples that give exactly ``frames`` centred frames."""
        return (self.frames - 1) * self.hop_length

    @property
    def window_samples(self) -> int:
        """Samples the frames of one segment read: the segment plus ``n_fft // 2`` of context each side."""
        return self.segment_samples + 2 * (self.n_fft // 2)

    @property
    def segment_seconds(self) -> float:
        return self.segment_samples / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**data)


# Dong 2018, the paper's preprocessing, used by the from-scratch model.
DONG_2018 = FeatureConfig(
    sample_rate=22050, n_fft=512, hop_length=256, n_mels=64, frames=256, fmax=10000.0,
    log="log1p", log_scale=1.0,
)

# musicnn (Pons & Serra), the pretrained model's preprocessing.
MUSICNN = FeatureConfig(
    sample_rate=16000, n_fft=512, hop_length=256, n_mels=96, frames=187, fmax=None,
    log="log10_1p", log_scale=10000.0, mel_dtype="float16",
)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa ``htk=False``)."""
    hz = np.asanyarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


@lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters, shape ``(n_mels, 1 + n_fft // 2)`` (as librosa.filters.mel)."""
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    lo, hi = _hz_to_mel(np.array([fmin, fmax], np.float64))
    mel_points = _mel_to_hz(np.linspace(lo, hi, n_mels + 2))
    fdiff = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2 : n_mels + 2] - mel_points[:n_mels]))[:, None]
    weights.flags.writeable = False
    return weights.astype(np.float32)


@lru_cache(maxsize=8)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window in float64, bit for bit as ``scipy.signal.get_window('hann', n_fft)``."""
    window = 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, n_fft + 1))[:n_fft]
    window.flags.writeable = False
    return window


def power_spectrogram(y: np.ndarray, n_fft: int, hop_length: int, power: float = 2.0,
                      pad_mode: str = "constant", center: bool = True) -> np.ndarray:
    """STFT magnitude**power of a mono signal, shape ``(frames, 1 + n_fft // 2)``.

    ``center``: frame ``t`` is centred on sample ``t * hop_length``, the signal padded by
    ``n_fft // 2`` (``pad_mode``) at both ends; otherwise frame ``t`` starts there, unpadded.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected a mono signal, got shape {y.shape}")
    pad = n_fft // 2
    if not center:
        padded = y if y.size >= n_fft else np.pad(y, (0, n_fft - y.size))
    elif pad_mode == "constant":
        padded = np.pad(y, pad)
    else:
        padded = np.pad(y, pad, mode="reflect" if y.size > pad else "constant")
    n_frames = 1 + (padded.size - n_fft) // hop_length
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    # As librosa: windowed frames and FFT in float64, the STFT stored as complex64.
    spec = np.abs(np.fft.rfft(frames * _hann(n_fft), axis=1).astype(np.complex64))
    if power != 1.0:
        spec = spec**power
    return spec.astype(np.float32)


def compress(mel: np.ndarray, log: str, log_scale: float) -> np.ndarray:
    """Log compression of a mel spectrogram: ``log(1 + s·x)`` or ``log10(1 + s·x)``."""
    if log == "log1p":
        return np.log1p(log_scale * mel)
    if log == "log10_1p":
        return np.log10(1.0 + log_scale * mel)
    raise ValueError(f"unknown log compression {log!r}")


def log_mel(y: np.ndarray, cfg: FeatureConfig, center: bool = True) -> np.ndarray:
    """Log-mel spectrogram of a mono signal at ``cfg.sample_rate``, shape ``(frames, n_mels)``, float32.

    ``center=False``: unpadded frames (see :func:`power_spectrogram`).
    """
    spec = power_spectrogram(y, cfg.n_fft, cfg.hop_length, cfg.power, cfg.pad_mode, center)
    mel = spec @ mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).T
    if cfg.mel_dtype != "float32":  # musicnn stored float16 mels and trained on them
        mel = mel.astype(cfg.mel_dtype).astype(np.float32)
    return compress(mel, cfg.log, cfg.log_scale).astype(np.float32)


def fit_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Cut or repeat-pad a signal to exactly ``n_samples`` (repeat-pad, as musicnn trains; zeros if empty)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size >= n_samples:
        return y[:n_samples]
    if y.size == 0:
        return np.zeros(n_samples, dtype=np.float32)
    return np.resize(y, n_samples).astype(np.float32)


def segment_patch(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """One network input patch ``(cfg.frames, cfg.n_mels)`` from a window of ``cfg.segment_samples``.

    Its first and last frames are half padded, as at the ends of a whole track; for a window cut
    from the middle of a track, :func:`context_patch` gives the frames the whole track's
    spectrogram has there.
    """
    return log_mel(fit_length(y, cfg.segment_samples), cfg)


def context_patch(y: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """One patch ``(cfg.frames, cfg.n_mels)`` from a window of ``cfg.window_samples``: the segment with
    ``n_fft // 2`` samples of context on each side.

    No frame is padded, so the patch equals the same frames of the whole track's centred
    spectrogram (what musicnn's extractor feeds its model). Short windows are repeat-padded.
    """
    return log_mel(fit_length(y, cfg.window_samples), cfg, center=False)


def patches(y: np.ndarray, cfg: FeatureConfig, hop_frames: int | None = None) -> np.ndarray:
    """Cut a whole signal's log-mel spectrogram into consecutive patches ``(n, frames, n_mels)``.

    ``hop_frames`` defaults to ``cfg.frames`` (no overlap, as musicnn's extractor). A signal shorter
    than one patch is repeat-padded to one.
    """
    spec = log_mel(y if y.size >= cfg.segment_samples else fit_length(y, cfg.segment_samples), cfg)
    hop = hop_frames or cfg.frames
    starts = range(0, spec.shape[0] - cfg.frames + 1, hop)
    return np.stack([spec[s : s + cfg.frames] for s in starts]).astype(np.float32)
