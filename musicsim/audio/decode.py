"""Decoding audio files to mono float32 at a chosen rate, reading only the windows analysis needs.

libsndfile (``soundfile``) reads WAV, AIFF, FLAC, Ogg Vorbis and MP3 and seeks sample-accurately;
PyAV (ffmpeg) reads the rest (M4A/AAC/ALAC, Opus, WMA, ...). Opus goes to PyAV first: libsndfile
seeks in Opus about twice as slowly (docs/performance.md). Channels are averaged to
mono; resampling uses soxr. Every failure raises :class:`DecodeError` with a reason a person
understands. What each format costs per analysed track: ``benchmarks/bench_decode.py``.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

from musicsim.audio.names import is_appledouble_name

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
# (duration_s, window_s) -> window start times in seconds, or None for "the whole track as one window"
WindowChooser = Callable[[float, float], Sequence[float] | None]

# Extensions PyAV decodes first (libsndfile can read some of them too, but more slowly).
AV_FIRST = {".opus", ".m4a", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka", ".ac3", ".ape", ".wv"}
# When a stream's length is unknown (raw ADTS AAC, some live captures) at most this much is decoded.
MAX_UNKNOWN_SECONDS = 20 * 60.0
# Audio decoded before and after a window so resampling (and Opus pre-roll) has no edge effects inside it.
RESAMPLE_MARGIN_S = 0.1
# Clips shorter than this are refused; longer ones are analysed, repeat-padded to a window.
MIN_SECONDS = 0.1


class DecodeError(Exception):
    """A file that cannot be decoded; ``str()`` is a reason meant for people."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int  # native rate of the decoded stream
    channels: int
    duration: float | None  # seconds; None when the container does not say
    codec: str  # e.g. "MP3", "FLAC", "aac"
    backend: str  # "soundfile" or "pyav"


# --------------------------------------------------------------------------------------------
# Reasons for bad files

APPLEDOUBLE = "looks like a macOS AppleDouble ._ file"


_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x00\x05\x16\x07", 0, APPLEDOUBLE),
    (b"\x89PNG", 0, "looks like a PNG image"),
    (b"\xff\xd8\xff", 0, "looks like a JPEG image"),
    (b"GIF8", 0, "looks like a GIF image"),
    (b"%PDF", 0, "looks like a PDF document"),
    (b"PK\x03\x04", 0, "looks like a ZIP archive"),
    (b"Rar!", 0, "looks like a RAR archive"),
    (b"\x1f\x8b", 0, "looks like a gzip archive"),
    (b"\x7fELF", 0, "looks like a program"),
    (b"MZ", 0, "looks like a Windows program"),
    (b"<?xml", 0, "looks like an XML file"),
    (b"#EXTM3U", 0, "looks like a playlist"),
]


def _sniff(path: Path) -> str | None:
    """What a non-audio file looks like, from its first bytes (None when it's no known kind)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    for magic, offset, what in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return what
    if is_appledouble_name(path.name):
        return APPLEDOUBLE
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "looks like a text file"
    return None


def check_readable(path: PathLike) -> Path:
    """``path`` as a Path, or :class:`DecodeError` saying why it cannot be read at all."""
    path = Path(path)
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise DecodeError("is a folder, not an audio file")
        if not stat.S_ISREG(st.st_mode):
            raise DecodeError("not a regular file (a pipe, socket or device)")
        if st.st_size == 0:
            raise DecodeError("file is empty")
        with open(path, "rb") as fh:
            fh.read(1)
    except FileNotFoundError:
        raise DecodeError("file not found (moved or deleted?)") from None
    except PermissionError:
        raise DecodeError("cannot read file: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.EIO:
            raise DecodeError("cannot read file: input/output error (failing disk or network share?)") from None
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from None
    return path


def _not_audio(path: Path) -> DecodeError:
    what = _sniff(path)
    if what:
        return DecodeError(f"not an audio file ({what})")
    return DecodeError("not an audio file, or an audio format musicsim cannot read")


# --------------------------------------------------------------------------------------------
# Readers: native-rate mono float32 from a start time


class AudioReader(ABC):
    """An open audio file: ``read`` returns mono float32 at the native rate."""

    info: AudioInfo

    @abstractmethod
    def read(self, start: int, n_samples: int) -> np.ndarray:
        """Up to ``n_samples`` native-rate samples from sample ``start`` (fewer at the end; -1: all)."""

    @abstractmethod
    def read_all(self, max_seconds: float | None = None) -> np.ndarray:
        """The whole stream (or its first ``max_seconds``)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_mono(a: np.ndarray) -> np.ndarray:
    """``(n, channels)`` -> ``(n,)`` float32 by averaging channels."""
    if a.ndim == 1:
        return a.astype(np.float32, copy=False)
    if a.shape[1] == 1:
        return a[:, 0].astype(np.float32, copy=False)
    return a.mean(axis=1, dtype=np.float32)


class SoundfileReader(AudioReader):
    def __init__(self, path: Path):
        self._fh = sf.SoundFile(str(path))
        frames = self._fh.frames
        rate = self._fh.samplerate
        duration = frames / rate if 0 < frames < 2**62 else None
        self.info = AudioInfo(rate, self._fh.channels, duration, self._fh.format, "soundfile")
        self._name = self._fh.format

    def read(self, start: int, n_samples: int) -> np.ndarray:
        try:
            self._fh.seek(max(0, start))
            return _to_mono(self._fh.read(n_samples, dtype="float32", always_2d=True))
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise DecodeError(f"truncated or corrupt {self._name} stream") from exc

    def read_all(self, max_seconds: float | None = None) -> np.ndarray:
        n = -1 if max_seconds is None else int(max_seconds * self.info.sample_rate)
        return self.read(0, n)

    def close(self) -> None:
        self._fh.close()


def _frame_array(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as ``(n, channels)`` float32 in [-1, 1]."""
    a = frame.to_ndarray()
    channels = len(frame.layout.channels)
    a = a if frame.format.is_planar else a.reshape(-1, channels).T
    if a.dtype.kind in "iu":
        scale = float(2 ** (8 * a.dtype.itemsize - 1))
        a = (a.astype(np.float32) - (scale if a.dtype.kind == "u" else 0.0)) / scale
    return a.T.astype(np.float32, copy=False)


class PyAVReader(AudioReader):
    def __init__(self, path: Path):
        self._path = path
        self._c = av.open(str(path), metadata_errors="ignore")
        if not self._c.streams.audio:
            self._c.close()
            what = _sniff(path)
            raise DecodeError(f"not an audio file ({what})" if what else "no audio stream in file")
        self._st = self._c.streams.audio[0]
        self._st.thread_type = "AUTO"
        ctx = self._st.codec_context
        self._tb = self._st.time_base
        self._t0 = self._st.start_time or 0
        duration = None
        if self._st.duration:
            duration = float(self._st.duration * self._tb)
        elif self._c.duration:
            duration = self._c.duration / av.time_base
        rate = ctx.sample_rate or self._st.rate
        if not rate:
            self._c.close()
            raise DecodeError("audio stream without a sample rate (corrupt header)")
        self.info = AudioInfo(int(rate), ctx.channels or len(ctx.layout.channels), duration, ctx.name, "pyav")

    def _frames(self):
        try:
            yield from self._c.decode(self._st)
        except av.error.FFmpegError as exc:
            raise DecodeError(f"truncated or corrupt {self.info.codec} stream") from exc

    def read(self, start: int, n_samples: int) -> np.ndarray:
        rate = self.info.sample_rate
        if start > 0:
            try:
                self._c.seek(self._t0 + int(start / rate / self._tb), stream=self._st, backward=True)
            except av.error.FFmpegError:
                pass  # unseekable: decode from where we are (below skips to ``start``)
        else:
            try:
                self._c.seek(self._t0, stream=self._st, backward=True) if self._t0 else self._c.seek(0)
            except av.error.FFmpegError:
                pass
        chunks: list[np.ndarray] = []
        have = 0
        for frame in self._frames():
            a = _to_mono(_frame_array(frame))
            if frame.pts is not None:
                skip = start - int(round(float((frame.pts - self._t0) * self._tb) * rate))
                if skip >= len(a):
                    continue
                if skip > 0 and not chunks:
                    a = a[skip:]
            chunks.append(a)
            have += len(a)
            if n_samples >= 0 and have >= n_samples:
                break
        y = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return y[:n_samples] if n_samples >= 0 else y

    def read_all(self, max_seconds: float | None = None) -> np.ndarray:
        n = -1 if max_seconds is None else int(max_seconds * self.info.sample_rate)
        return self.read(0, n)

    def close(self) -> None:
        self._c.close()


def open_audio(path: PathLike) -> AudioReader:
    """Open ``path`` with the best reader for it, or raise :class:`DecodeError` saying why not."""
    path = check_readable(path)
    order: list[Callable[[Path], AudioReader]] = [SoundfileReader, PyAVReader]
    if path.suffix.lower() in AV_FIRST:
        order.reverse()
    if is_appledouble_name(path.name) and _sniff(path) == APPLEDOUBLE:
        raise _not_audio(path)
    for reader in order:
        try:
            return reader(path)
        except DecodeError:
            raise
        except PermissionError:
            raise DecodeError("cannot read file: permission denied") from None
        except (sf.LibsndfileError, RuntimeError, av.error.FFmpegError, ValueError, OSError, IndexError) as exc:
            log.debug("%s could not read %s: %s", getattr(reader, "__name__", reader), path, exc)
            continue
    raise _not_audio(path)


# --------------------------------------------------------------------------------------------
# Mono float32 at a target rate


def resample(y: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a mono signal with soxr (high quality); unchanged when the rates agree."""
    if from_rate == to_rate or y.size == 0:
        return np.asarray(y, dtype=np.float32)
    return soxr.resample(y, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def read_window(reader: AudioReader, start: float, n_samples: int, sample_rate: int) -> np.ndarray:
    """``n_samples`` at ``sample_rate`` from ``start`` seconds (fewer at the end of the stream).

    Decoding starts a short margin early, at a native sample that falls exactly on a target-rate
    sample, and the margin is cut after resampling: a window equals the same stretch of a
    whole-file decode to within codec tolerance.
    """
    native = reader.info.sample_rate
    step = native // math.gcd(native, sample_rate)  # native samples per whole number of target samples
    native_start = int((max(0.0, start - RESAMPLE_MARGIN_S) * native) // step) * step
    target_start = native_start * sample_rate // native
    first = max(0, int(round(start * sample_rate)) - target_start)
    n_native = int(np.ceil((first + n_samples) * native / sample_rate + RESAMPLE_MARGIN_S * native))
    y = resample(reader.read(native_start, n_native), native, sample_rate)
    return y[first : first + n_samples]


def load(path: PathLike, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """A whole file (or its first ``max_seconds``) as mono float32 at ``sample_rate``."""
    with open_audio(path) as reader:
        y = reader.read_all(max_seconds)
        if y.size < MIN_SECONDS * reader.info.sample_rate:
            raise DecodeError(_too_short(y.size / reader.info.sample_rate))
        return resample(y, reader.info.sample_rate, sample_rate)


def _too_short(seconds: float) -> str:
    if seconds <= 0:
        return "no audio could be decoded (empty or corrupt stream)"
    return f"audio too short to analyse ({seconds:.2f} s; at least {MIN_SECONDS} s needed)"


def load_windows(path: PathLike, sample_rate: int, window_samples: int,
                 choose: WindowChooser) -> list[np.ndarray]:
    """Mono windows of ``window_samples`` at ``sample_rate``, at the start times ``choose`` picks.

    ``choose(duration_s, window_s)`` returns start times in seconds, or ``None`` to analyse the
    whole (short) track as one window. Only the chosen windows are decoded when the file's length
    is known; a file of unknown length is decoded in full (at most :data:`MAX_UNKNOWN_SECONDS`).
    Windows may come back short at the end of a stream; callers pad them.
    """
    window_s = window_samples / sample_rate
    with open_audio(path) as reader:
        native = reader.info.sample_rate
        duration = reader.info.duration
        if duration is None:
            y = resample(reader.read_all(MAX_UNKNOWN_SECONDS), native, sample_rate)
            duration = y.size / sample_rate
            if duration < MIN_SECONDS:
                raise DecodeError(_too_short(duration))
            starts = choose(duration, window_s)
            if starts is None:
                return [y]
            return [y[int(round(s * sample_rate)) :][:window_samples] for s in starts]
        if duration < MIN_SECONDS:
            raise DecodeError(_too_short(duration))
        starts = choose(duration, window_s)
        if starts is None:
            y = resample(reader.read_all(), native, sample_rate)
            if y.size < MIN_SECONDS * sample_rate:
                raise DecodeError(_too_short(y.size / sample_rate))
            return [y]
        windows = [read_window(reader, s, window_samples, sample_rate) for s in starts]
        if any(w.size == 0 for w in windows):  # the header promises more than there is (joined files...)
            good = [s for s, w in zip(starts, windows) if w.size]
            bad = [s for s, w in zip(starts, windows) if not w.size]
            end = decodable_end(reader, max(good, default=0.0) if good else 0.0, min(bad))
            if end is None or end < MIN_SECONDS:
                raise DecodeError(f"truncated or corrupt {reader.info.codec} stream (no audio at {bad[0]:.0f} s "
                                  f"of a declared {duration:.0f} s)")
            log.info("%s declares %.0f s but its audio ends at about %.0f s; analysing the part that decodes",
                     path, duration, end)
            declared, duration = duration, end
            starts = choose(duration, window_s)
            if starts is None:
                return [resample(reader.read(0, int(math.ceil(end * native))), native, sample_rate)]
            windows = [read_window(reader, s, window_samples, sample_rate) for s in starts]
            for s, w in zip(starts, windows):
                if w.size == 0:
                    raise DecodeError(f"truncated or corrupt {reader.info.codec} stream (no audio at {s:.0f} s "
                                      f"of a declared {declared:.0f} s)")
    return windows


def decodable_end(reader: AudioReader, good: float, bad: float, resolution: float = 0.25) -> float | None:
    """Where the audio really ends (seconds, to ``resolution``), between ``good`` (a time that decodes)
    and ``bad`` (one that does not): a bisection of seek-and-decode probes, for files whose header
    declares a wrong length. None when not even time 0 decodes."""
    native = reader.info.sample_rate
    probe = max(1, int(0.05 * native))

    def decodes(t: float) -> bool:
        try:
            return reader.read(int(t * native), probe).size > 0
        except DecodeError:
            return False

    if not decodes(good):
        if good == 0.0:
            return None
        good = 0.0
        if not decodes(0.0):
            return None
    while bad - good > resolution:
        mid = (good + bad) / 2
        if decodes(mid):
            good = mid
        else:
            bad = mid
    return good + reader.read(int(good * native), int(resolution * native) + probe).size / native
