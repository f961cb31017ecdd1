"""Decoding real files of every format a library holds, seeking, and reasons for bad input."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicsim.audio import decode as dec
from musicsim.audio.decode import DecodeError, load, load_windows, open_audio, read_window
from musicsim.audio.encode import encode

RATE = 16000
SECONDS = 6.0
TONE = 440.0


def tone(rate: int, seconds: float = SECONDS, channels: int = 2, freq: float = TONE) -> np.ndarray:
    """A tone with a slow tremolo (so windows differ) and a little noise, in every channel."""
    t = np.arange(int(rate * seconds)) / rate
    y = 0.4 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    y += 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return np.repeat(y[:, None], channels, axis=1).astype(np.float32)


def peak_hz(y: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / rate)[spec.argmax()])


# name -> (encoder format, tolerance of a seeked window against the whole-file decode)
CASES = {
    "a.mp3": ("mp3", 1e-5),
    "a.flac": ("flac", 1e-5),
    "a.ogg": ("ogg", 1e-5),
    "a.opus": ("opus", 0.02),  # Opus decoder state converges after a seek
    "a.m4a": ("m4a", 0.05),  # AAC noise substitution draws from a decoder-wide random state
    "alac.m4a": ("alac", 1e-5),
    "a.wav": ("wav", 1e-5),
    "a.aiff": ("aiff", 1e-5),
    "B.MP3": ("mp3", 1e-5),
    "B.FLAC": ("flac", 1e-5),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    y = tone(44100)
    for name, (fmt, _) in CASES.items():
        encode(folder / name, y, 44100, fmt=fmt)
    return folder


@pytest.mark.parametrize("name", list(CASES))
def test_every_format_decodes_to_mono_at_the_model_rate(library: Path, name: str) -> None:
    y = load(library / name, RATE)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size / RATE - SECONDS) < 0.1
    assert abs(peak_hz(y[RATE : 3 * RATE], RATE) - TONE) < 2
    assert 0.2 < np.abs(y).max() < 0.5  # channels averaged, not summed; float scaling right


@pytest.mark.parametrize("name", list(CASES))
def test_seeked_window_equals_the_same_stretch_of_a_full_decode(library: Path, name: str) -> None:
    full = load(library / name, RATE)
    tol = CASES[name][1]
    with open_audio(library / name) as reader:
        for start in (0.0, 1.2345, 3.5):
            w = read_window(reader, start, RATE, RATE)
            ref = full[int(round(start * RATE)) :][: RATE]
            assert w.size == ref.size == RATE
            assert np.abs(w - ref).max() < tol, f"{name} at {start} s"


def test_only_the_chosen_windows_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = encode(tmp_path / "long.flac", tone(22050, seconds=120.0, channels=1), 22050)
    decoded = []
    real_read = dec.SoundfileReader.read
    monkeypatch.setattr(dec.SoundfileReader, "read",
                        lambda self, start, n: decoded.append(n) or real_read(self, start, n))
    windows = load_windows(path, RATE, 3 * RATE, lambda duration, window: [10.0, 60.0, 110.0])
    assert [w.size for w in windows] == [3 * RATE] * 3
    assert sum(decoded) < 0.1 * 120 * 22050  # 9.6 s of 120 s (plus margins), not the whole file


@pytest.mark.parametrize("rate,channels", [(8000, 1), (96000, 2), (48000, 6)])
def test_unusual_rates_and_channel_counts(tmp_path: Path, rate: int, channels: int) -> None:
    path = tmp_path / f"x{rate}.wav"
    sf.write(path, tone(rate, channels=channels), rate)
    assert open_audio(path).info.channels == channels
    y = load(path, RATE)
    assert abs(y.size / RATE - SECONDS) < 0.01
    assert abs(peak_hz(y, RATE) - TONE) < 2


def test_short_clips_are_padded_later_and_clicks_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    sf.write(short, tone(RATE, seconds=0.3), RATE)
    whole = load_windows(short, RATE, 3 * RATE, lambda d, w: None)
    assert len(whole) == 1 and abs(whole[0].size - 0.3 * RATE) < 2
    click = tmp_path / "click.wav"
    sf.write(click, tone(RATE, seconds=0.05), RATE)
    with pytest.raises(DecodeError, match="too short"):
        load_windows(click, RATE, 3 * RATE, lambda d, w: None)


def _mp3_bytes(library: Path) -> bytes:
    return (library / "a.mp3").read_bytes()


@pytest.mark.parametrize("name,content,reason", [
    ("empty.mp3", b"", "file is empty"),
    ("._song.mp3", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(200), "AppleDouble"),
    ("cover.flac", b"\x89PNG\r\n\x1a\n" + bytes(300), "not an audio file (looks like a PNG image)"),
    ("notes.mp3", b"just some text, not audio\n" * 20, "not an audio file (looks like a text file)"),
    ("noise.ogg", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "not an audio file"),
])
def test_bad_files_give_reasons(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load(path, RATE)


def test_missing_folder_and_pipe(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="file not found"):
        load(tmp_path / "gone.mp3", RATE)
    with pytest.raises(DecodeError, match="is a folder"):
        load(tmp_path, RATE)
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    with pytest.raises(DecodeError, match="not a regular file"):
        load(fifo, RATE)  # must not block waiting for a writer


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: Path) -> None:
    path = tmp_path / "locked.mp3"
    path.write_bytes(_mp3_bytes(library))
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make this one file unreadable the way the OS would
        real_open = builtins.open
        monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if str(f) == str(path) else real_open(f, *a, **k))
    with pytest.raises(DecodeError, match="cannot read file: permission denied"):
        load(path, RATE)


def test_truncated_file_is_reported_not_padded(tmp_path: Path, library: Path) -> None:
    data = (library / "a.flac").read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 3])  # header still claims the full length
    with pytest.raises(DecodeError, match="truncated or corrupt"):
        load_windows(path, RATE, RATE, lambda d, w: [0.5, d / 2, d - w - 0.1])


def test_silence_decodes_to_zeros(tmp_path: Path) -> None:
    path = tmp_path / "silence.flac"
    encode(path, np.zeros(3 * 44100, np.float32), 44100)
    y = load(path, RATE)
    assert np.isfinite(y).all() and np.abs(y).max() == 0.0
