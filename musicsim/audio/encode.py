"""Writing audio files in the formats a music library holds, for tests and benchmarks.

libsndfile writes WAV, AIFF, FLAC, Ogg Vorbis and MP3; PyAV (ffmpeg) writes Opus and M4A/AAC/ALAC,
which libsndfile cannot.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import soundfile as sf

# extension -> libsndfile (format, subtype)
SNDFILE_FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
    "aif": ("AIFF", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
# extension -> PyAV (container format, codec, sample format, bit rate or None)
AV_FORMATS: dict[str, tuple[str, str, str, int | None]] = {
    "opus": ("ogg", "libopus", "flt", 96_000),
    "m4a": ("ipod", "aac", "fltp", 160_000),
    "alac": ("ipod", "alac", "s16p", None),  # written with the .m4a extension by callers
}
FORMATS = sorted({*SNDFILE_FORMATS, *AV_FORMATS})
_BLOCK = 8192  # libsndfile's Vorbis encoder crashes on very large single writes


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, f"{channels}c")


def _encode_av(path: Path, y: np.ndarray, sample_rate: int, fmt: str) -> None:
    container_fmt, codec, sample_fmt, bit_rate = AV_FORMATS[fmt]
    channels = y.shape[1]
    out_rate = 48000 if codec == "libopus" else sample_rate  # Opus only runs at 48 kHz
    with av.open(str(path), "w", format=container_fmt) as container:
        stream = container.add_stream(codec, rate=out_rate, layout=_layout(channels))
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=sample_fmt, layout=_layout(channels), rate=out_rate)
        for start in range(0, len(y), _BLOCK):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(y[start : start + _BLOCK].T),
                                               format="fltp", layout=_layout(channels))
            frame.sample_rate = sample_rate
            for rframe in resampler.resample(frame):
                container.mux(stream.encode(rframe))
        for rframe in resampler.resample(None):
            container.mux(stream.encode(rframe))
        container.mux(stream.encode(None))


def encode(path: str | os.PathLike[str], y: np.ndarray, sample_rate: int, fmt: str | None = None) -> Path:
    """Write ``y`` (``(n,)`` mono or ``(n, channels)``, float in [-1, 1]) to ``path``.

    ``fmt`` is one of :data:`FORMATS`; by default the file's extension (any case) chooses it.
    Opus is written at 48 kHz whatever ``sample_rate`` is (the codec's rule).
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    if y.ndim == 1:
        y = y[:, None]
    if fmt in SNDFILE_FORMATS:
        major, subtype = SNDFILE_FORMATS[fmt]
        with sf.SoundFile(str(path), "w", sample_rate, y.shape[1], subtype=subtype, format=major) as fh:
            for start in range(0, len(y), _BLOCK):
                fh.write(y[start : start + _BLOCK])
    elif fmt in AV_FORMATS:
        _encode_av(path, y, sample_rate, fmt)
    else:
        raise ValueError(f"cannot write {fmt!r}; known: {', '.join(FORMATS)}")
    return path
