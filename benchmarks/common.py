"""Shared pieces of the benchmark scripts: a random-weight model file and realistic test songs."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import numpy as np

from musicsim.audio.decode import load
from musicsim.audio.encode import encode
from musicsim.features import MUSICNN
from musicsim.genres import GENRES

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"
CORPUS = Path(os.environ.get("MUSICSIM_CORPUS", "/work/corpus/library"))
FORMATS = ("mp3", "flac", "m4a", "ogg", "opus")


def random_model(path: Path, seed: int = 0) -> Path:
    """A model file of the real architecture with random weights (same cost as the shipped one)."""
    import torch

    from musicsim.model.checkpoint import Checkpoint, save_checkpoint
    from musicsim.model.network import NetworkConfig, TwoStreamResCNN

    torch.manual_seed(seed)
    cfg = NetworkConfig()
    net = TwoStreamResCNN(cfg)
    return save_checkpoint(Checkpoint(version=f"random-{seed}", features=MUSICNN, network=cfg,
                                      genres=list(GENRES), state_dict=net.state_dict()), path)


def gtzan_clips() -> list[Path]:
    return sorted(GTZAN.glob("*/*.opus"))


def make_songs(out: Path, n: int, formats: tuple[str, ...] = ("mp3", "flac", "m4a", "ogg"),
               seconds: tuple[float, float] = (180.0, 300.0), rate: int = 44100, seed: int = 0) -> list[Path]:
    """``n`` full-length stereo songs: GTZAN clips of one genre concatenated, varied, encoded.

    Each song loops 6-10 clips of one genre, with per-song gain, a small stereo offset and a fade,
    and is written as ``song_XX.<fmt>`` cycling through ``formats``. Existing files are reused.
    """
    rng = random.Random(seed)
    clips = gtzan_clips()
    if not clips:
        raise SystemExit(f"GTZAN clips not found under {GTZAN}")
    by_genre: dict[str, list[Path]] = {}
    for c in clips:
        by_genre.setdefault(c.parent.name, []).append(c)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        fmt = formats[i % len(formats)]
        path = out / f"song_{i:02d}.{fmt}"
        paths.append(path)
        if path.exists():
            continue
        genre = sorted(by_genre)[i % len(by_genre)]
        length = rng.uniform(*seconds)
        parts, total = [], 0
        while total < length * rate:
            y = load(rng.choice(by_genre[genre]), rate)
            parts.append(y)
            total += y.size
        y = np.concatenate(parts)[: int(length * rate)] * rng.uniform(0.5, 1.0)
        fade = np.linspace(1.0, 0.0, 3 * rate)
        y[-fade.size :] *= fade
        delay = rng.randint(1, 40)
        stereo = np.stack([y, np.concatenate([np.zeros(delay, np.float32), y[:-delay]])], axis=1)
        encode(path, stereo, rate)
    return paths


def _decode_stereo(path: Path, rate: int) -> np.ndarray:
    """A whole file as float32 ``(n, 2)`` at ``rate`` (PyAV's resampler)."""
    import av

    with av.open(str(path)) as f:
        res = av.AudioResampler(format="flt", layout="stereo", rate=rate)
        parts = [np.asarray(fr.to_ndarray()).reshape(-1, 2)
                 for frame in f.decode(audio=0) for fr in res.resample(frame)]
        parts += [np.asarray(fr.to_ndarray()).reshape(-1, 2) for fr in res.resample(None)]
    return np.concatenate(parts)


def corpus_songs(out: Path, n: int, formats: tuple[str, ...] = FORMATS, min_seconds: float = 120.0,
                 max_seconds: float = 420.0, rate: int = 44100, seed: int = 0) -> list[Path]:
    """``n`` full-length songs from the corpus (``$MUSICSIM_CORPUS``, default /work/corpus/library),
    transcoded once into ``out`` as ``song_XX.<fmt>``, stereo at ``rate``, cycling through ``formats``
    (so every format holds different songs). Songs of ``min_seconds``-``max_seconds``, one random
    pick per package first so the sources are varied. Existing files are reused."""
    with (CORPUS / "corpus.tsv").open() as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if min_seconds <= float(r["duration_s"] or 0) <= max_seconds and not r["version_of"]]
    rng = random.Random(seed)
    rng.shuffle(rows)
    seen: dict[str, int] = {}
    rank = []
    for r in rows:  # round-robin over packages: the k-th pick of every package before any (k+1)-th
        rank.append(seen.get(r["package"], 0))
        seen[r["package"]] = rank[-1] + 1
    rows = [r for _, _, r in sorted(zip(rank, range(len(rows)), rows), key=lambda t: t[:2])]
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} corpus songs of {min_seconds:.0f}-{max_seconds:.0f} s in {CORPUS}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, row in enumerate(rows[:n]):
        path = out / f"song_{i:02d}.{formats[i % len(formats)]}"
        paths.append(path)
        if not path.exists():
            encode(path, _decode_stereo(CORPUS / row["path"], rate), rate)
    return paths


def small_song(path: Path, seconds: float = 2.0, rate: int = 22050) -> Path:
    """A short tone, for benchmarks that need a real audio file but do not analyse it."""
    t = np.arange(int(seconds * rate)) / rate
    return encode(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
