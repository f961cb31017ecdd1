"""Shared fixtures: generated real audio in several formats with tags, GTZAN clips, a small model file.

* ``synth_song(seed, seconds, sample_rate, channels)``: a deterministic "song" (pitched notes with
  a seed-specific timbre and tempo, plus drum hits): different seeds sound different, so random-
  weight models still tell them apart.
* ``write_tags(path, title=, artist=, album=, track=)``: real tags with mutagen for any format.
* ``music_dir``: a session-wide folder of 6 tagged songs, 6-13.5 s (wav, flac, ogg, mp3, opus, m4a;
  two share an artist); copy it (``copy_music``) before changing it.
* ``model_file``: a small random-weight checkpoint (fast on CPU) written with ``save_checkpoint``;
  ``make_model(path, version=..., seed=...)`` writes others.
* ``gtzan``: the shared GTZAN folder (tests skip when it is absent).
* ``program(name)``: the path of an external program a test starts (``desktop-file-validate``, ``mpd``,
  ``playerctl``, ...); skips when it is not installed, fails instead when ``MUSICSIM_REQUIRE_PROGRAMS=1``
  (``.ci/run`` sets it: there these tests must run).
* App tests: ``settings`` (AppSettings in a per-test INI file), ``library`` (a Library on the test's data
  folder and model), ``open_window(folder=None, lib=None, workers=1)`` (a shown MainWindow, closed after).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GTZAN_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"

# Small but real: 2 s patches at 16 kHz, 48 mel bands.
TEST_FEATURES = dict(sample_rate=16000, n_fft=512, hop_length=256, n_mels=48, frames=126, fmax=8000.0,
                     log="log1p", log_scale=1.0)
TEST_NETWORK = dict(n_mels=48, timbral_filters=16, temporal_filters=8, temporal_lengths=(64, 32, 16),
                    midend_filters=16, backend_units=32, n_tags=5, n_genres=10, dropout=0.0)
TEST_TAGS = ["guitar", "piano", "drums", "vocal", "electronic"]

# (file name, title, artist, album, track, seed, seconds): lengths differ, as real songs' do
SONGS = [
    ("Alpha Band/First Light.wav", "First Light", "Alpha Band", "Dawn", 1, 1, 6.0),
    ("Alpha Band/Second Wind.flac", "Second Wind", "Alpha Band", "Dawn", 2, 2, 7.5),
    ("Beta/Deep Water.ogg", "Deep Water", "Beta Ensemble", "Tides", 1, 3, 9.0),
    ("Gamma/Neon Rain.mp3", "Neon Rain", "Gamma Ray", "City", 1, 4, 10.5),
    ("Delta/Quiet Field.opus", "Quiet Field", "Delta Folk", "Plains", 3, 5, 12.0),
    ("Epsilon/Iron Gate.m4a", "Iron Gate", "Epsilon", "Forge", 7, 6, 13.5),
]


def synth_song(seed: int, seconds: float = 8.0, sample_rate: int = 22050, channels: int = 1) -> np.ndarray:
    """A deterministic synthetic song, float32 ``(n,)`` or ``(n, channels)`` in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = (np.arange(n) / sample_rate).astype(np.float32)
    beat = 60.0 / rng.uniform(70, 170)
    base = rng.uniform(80, 400)
    harmonics = rng.uniform(0, 1, 8) ** rng.uniform(0.5, 4)
    decay = rng.uniform(1, 12)
    y = np.zeros(n, np.float32)
    starts = np.arange(0, seconds, beat / rng.choice([1, 2]))
    note_len = int(sample_rate * min(0.6, 7.0 / decay))  # the envelope has (nearly) died out by then
    for s in starts:
        i0 = int(s * sample_rate)
        seg = t[: min(n - i0, note_len)]
        f = base * 2 ** (rng.integers(0, 24) / 12)
        env = np.exp(-decay * seg)
        note = sum(h * np.sin(2 * np.pi * f * (k + 1) * seg)
                   for k, h in enumerate(harmonics) if f * (k + 1) < sample_rate / 2)
        y[i0 : i0 + seg.size] += env * note
    drum_len = int(0.08 * sample_rate)
    drum = rng.uniform(0.5, 3) * rng.standard_normal(drum_len) * np.exp(-np.linspace(0, rng.uniform(3, 12), drum_len))
    for hit in (np.arange(0, seconds, beat) * sample_rate).astype(int):
        y[hit : hit + drum_len] += drum[: n - hit]
    y = 0.8 * y / (np.abs(y).max() + 1e-9)
    if channels == 1:
        return y.astype(np.float32)
    pans = np.linspace(0.6, 1.0, channels)
    return (y[:, None] * pans[None, :]).astype(np.float32)


def write_tags(path: str | os.PathLike[str], title: str | None = None, artist: str | None = None,
               album: str | None = None, track: int | None = None) -> None:
    """Write tags with mutagen: ID3 for mp3/wav/aiff, MP4 atoms for m4a, Vorbis comments otherwise."""
    import mutagen
    from mutagen.easyid3 import EasyID3
    from mutagen.id3 import TALB, TIT2, TPE1, TRCK, ID3NoHeaderError

    path = Path(path)
    ext = path.suffix.lower()
    values = {"title": title, "artist": artist, "album": album,
              "tracknumber": None if track is None else str(track)}
    values = {k: v for k, v in values.items() if v is not None}
    if ext == ".mp3":
        try:
            tags = EasyID3(path)
        except ID3NoHeaderError:
            tags = EasyID3()
        for k, v in values.items():
            tags[k] = v
        tags.save(path)
    elif ext in (".wav", ".aif", ".aiff"):
        f = mutagen.File(path)
        if f.tags is None:
            f.add_tags()
        frames = {"title": TIT2, "artist": TPE1, "album": TALB, "tracknumber": TRCK}
        for k, v in values.items():
            f.tags.add(frames[k](encoding=3, text=v))
        f.save()
    else:
        f = mutagen.File(path, easy=True)
        if f.tags is None:
            f.add_tags()
        for k, v in values.items():
            f[k] = v
        f.save()


def write_song(path: str | os.PathLike[str], seed: int, seconds: float = 8.0, sample_rate: int = 22050,
               channels: int = 1, **tags) -> Path:
    """Encode ``synth_song(seed)`` to ``path`` (format from the extension) and tag it."""
    from musicsim.audio.encode import encode

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encode(path, synth_song(seed, seconds, sample_rate, channels), sample_rate)
    if tags:
        write_tags(path, **tags)
    return path


def make_model(path: str | os.PathLike[str], version: str = "test-1", seed: int = 0, full_size: bool = False) -> Path:
    """A small random-weight model file (deterministic for a given seed).

    ``full_size``: musicnn's layer sizes and features instead (slow on a CPU, like the real model).
    """
    import torch

    from musicsim.features import MUSICNN, FeatureConfig
    from musicsim.genres import GENRES
    from musicsim.model.checkpoint import Checkpoint, save_checkpoint
    from musicsim.model.network import NetworkConfig, TwoStreamResCNN

    torch.manual_seed(seed)
    net_cfg = NetworkConfig() if full_size else NetworkConfig(**TEST_NETWORK)
    features = MUSICNN if full_size else FeatureConfig(**TEST_FEATURES)
    tags = [f"tag{i}" for i in range(net_cfg.n_tags)] if full_size else list(TEST_TAGS)
    net = TwoStreamResCNN(net_cfg)
    ckpt = Checkpoint(version=version, features=features, network=net_cfg, genres=list(GENRES),
                      state_dict=net.state_dict(), tags=tags, card={"note": "random weights, for tests"})
    return save_checkpoint(ckpt, path)


@pytest.fixture(scope="session")
def music_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six tagged songs in six formats (read-only: use ``copy_music`` to change files)."""
    root = tmp_path_factory.mktemp("music")
    for name, title, artist, album, track, seed, seconds in SONGS:
        write_song(root / name, seed, seconds, title=title, artist=artist, album=album, track=track)
    return root


@pytest.fixture
def copy_music(music_dir: Path, tmp_path: Path) -> Callable[[], Path]:
    """Copies ``music_dir`` to a fresh folder of this test (keeping mtimes) and returns it."""
    def copy() -> Path:
        dest = tmp_path / "music"
        shutil.copytree(music_dir, dest)
        return dest
    return copy


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("model") / "test-model.pt")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def gtzan() -> Path:
    if not (GTZAN_DIR / "MANIFEST.tsv").is_file():
        pytest.skip(f"GTZAN clips not found at {GTZAN_DIR}")
    return GTZAN_DIR


@pytest.fixture(scope="session")
def program() -> Callable[[str], str]:
    def find(name: str) -> str:
        path = shutil.which(name)
        if path:
            return path
        message = f"{name} is not installed (scripts/setup.sh --test installs it)"
        if os.environ.get("MUSICSIM_REQUIRE_PROGRAMS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return find


@pytest.fixture(scope="session", name="synth_song")
def synth_song_fixture() -> Callable[..., np.ndarray]:
    return synth_song


@pytest.fixture(scope="session", name="write_song")
def write_song_fixture() -> Callable[..., Path]:
    return write_song


@pytest.fixture(scope="session", name="write_tags")
def write_tags_fixture() -> Callable[..., None]:
    return write_tags


@pytest.fixture(scope="session", name="make_model")
def make_model_fixture() -> Callable[..., Path]:
    return make_model


# ---------------------------------------------------------------------------- the desktop app (Qt imported lazily)
@pytest.fixture
def settings(tmp_path: Path):
    from PySide6.QtCore import QSettings

    from musicsim.app.settings import AppSettings

    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def library(data_dir: Path, model_file: Path):
    from musicsim.library.library import Library

    lib = Library(data_dir=data_dir, model_path=model_file)
    yield lib
    lib.close()


@pytest.fixture
def open_window(qtbot, library, settings):
    """``open_window(folder=None, lib=None, workers=1)``: a shown main window, closed at the end of the test."""
    from musicsim.app.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(folder: Path | None = None, lib=None, workers: int | None = 1) -> MainWindow:
        window = MainWindow(lib or library, settings, folder=str(folder) if folder else None, workers=workers)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.close()


@pytest.fixture
def message_boxes() -> list[tuple[str, str, str]]:
    """``(kind, title, text)`` of every QMessageBox the app asked to show in this test (none is shown)."""
    return []


@pytest.fixture(autouse=True)
def _no_modal_message_boxes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Offscreen, a modal QMessageBox waits forever for a click: record it instead, answer OK, and fail the
    test unless it asked for the ``message_boxes`` fixture (then it asserts what was shown itself)."""
    import sys

    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is None:
        yield
        return
    box = widgets.QMessageBox
    shown: list[tuple[str, str, str]] = (request.getfixturevalue("message_boxes")
                                         if "message_boxes" in request.fixturenames else [])
    for kind in ("warning", "critical", "information", "question"):
        def show(parent, title, text, *args, _kind=kind, **kwargs):
            shown.append((_kind, title, text))
            return box.StandardButton.Ok
        monkeypatch.setattr(box, kind, staticmethod(show))
    yield
    if shown and "message_boxes" not in request.fixturenames:
        pytest.fail(f"the app showed message boxes nobody expected: {shown}")
