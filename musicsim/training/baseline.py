"""The plain baseline: per-clip MFCC mean + covariance (classified by ``head.fit_head``, the same
class-balanced logistic regression with inner-CV regularisation as the genre head).

MFCCs as librosa.feature.mfcc computes them (Slaney mel filters, power in dB with an 80 dB floor,
orthonormal DCT-II), built from the package's own STFT and mel filter bank.
"""

from __future__ import annotations

import numpy as np

from musicsim.features import mel_filterbank, power_spectrogram

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 20


def mfcc(y: np.ndarray, sample_rate: int = SAMPLE_RATE, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs of a mono signal, shape ``(frames, n_mfcc)``."""
    from scipy.fft import dct

    spec = power_spectrogram(y, N_FFT, HOP)
    mel = spec @ mel_filterbank(sample_rate, N_FFT, N_MELS).T
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return dct(db, type=2, norm="ortho", axis=1)[:, :n_mfcc].astype(np.float32)


def clip_statistics(coeffs: np.ndarray) -> np.ndarray:
    """Mean and the upper triangle of the covariance of a clip's MFCC frames (20 + 210 values)."""
    coeffs = np.asarray(coeffs, dtype=np.float64)
    cov = np.cov(coeffs, rowvar=False) if coeffs.shape[0] > 1 else np.zeros((coeffs.shape[1],) * 2)
    iu = np.triu_indices(coeffs.shape[1])
    return np.concatenate([coeffs.mean(axis=0), cov[iu]]).astype(np.float32)


def mfcc_statistics(y: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    return clip_statistics(mfcc(y, sample_rate))

