"""Run the ORIGINAL musicnn (its own librosa preprocessing + TensorFlow graph) and store what it gives.

Runs in the tools venv (TensorFlow, librosa, ``musicnn`` installed ``--no-deps``)::

    .tools-venv/bin/python tools/musicnn_reference.py [--gtzan DIR] [--out reports/musicnn-port/reference.npz]
                                                       [--fixture tests/fixtures/musicnn_reference.npz]

For each input (GTZAN clips decoded with ``librosa.load(sr=16000)`` plus generated signals) the 16 kHz
audio goes through ``musicnn.extractor.batch_data`` (log-mel patches) and ``musicnn.extractor.extractor``
(model ``MSD_musicnn``: sigmoid tag probabilities and the penultimate layer, per 187-frame patch).
``tools/verify_musicnn_port.py`` (main venv, no TensorFlow) compares musicsim against the result.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SR = 16000
PATCH_FRAMES = 187
PATCH_SAMPLES = (PATCH_FRAMES - 1) * 256  # 47616: exactly 187 centred frames
GTZAN_CLIPS = [f"{g}/{g}.00003.opus" for g in
               ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")]

FIXTURE_CLIP = "metal/metal.00003.opus"


def generated_signals(seconds: float = 12.0) -> dict[str, np.ndarray]:
    """Synthetic test audio at 16 kHz: a chord with vibrato, a drum-like pattern, a chirp, near-silence."""
    rng = np.random.default_rng(1234)
    t = np.arange(int(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * f * t * (1 + 0.003 * np.sin(2 * np.pi * 5 * t))) / (i + 1)
                for i, f in enumerate((220.0, 277.2, 329.6, 440.0, 660.0)))
    beat = np.zeros_like(t)
    for start in np.arange(0, seconds, 0.25):
        n = int(start * SR)
        m = min(len(t) - n, int(0.12 * SR))
        env = np.exp(-np.arange(m) / (0.02 * SR))
        beat[n:n + m] += env * (rng.standard_normal(m) * 0.5 + np.sin(2 * np.pi * 60 * np.arange(m) / SR))
    chirp = np.sin(2 * np.pi * (50 * t + (7950 / (2 * seconds)) * t**2))
    quiet = 1e-4 * rng.standard_normal(t.size)
    out = {"gen_chord": 0.3 * chord, "gen_beat": 0.6 * beat + 0.1 * chord, "gen_chirp": 0.5 * chirp,
           "gen_quiet": quiet}
    return {k: np.clip(v, -1, 1).astype(np.float32) for k, v in out.items()}


def to_int16_grid(y: np.ndarray) -> np.ndarray:
    """Round audio onto the 16-bit grid, so a fixture storing int16 holds exactly the reference input."""
    return (np.round(np.clip(y, -1, 32767 / 32768) * 32768) / 32768).astype(np.float32)


def run_musicnn(y: np.ndarray, tmp: Path) -> dict[str, np.ndarray]:
    """musicnn's own path on a 16 kHz signal: its log-mel patches, tag probabilities and penultimate."""
    from musicnn import configuration
    from musicnn.extractor import batch_data, extractor

    # extractor() concatenates the FIRST batch's penultimate for every later batch (a bug in musicnn
    # 0.1.0); one batch holding all patches avoids it.
    configuration.BATCH_SIZE = 1 << 20
    wav = tmp / "in.wav"
    sf.write(wav, y, SR, subtype="FLOAT")
    loaded, _ = librosa.load(wav, sr=SR)
    assert np.array_equal(loaded, y), "librosa.load changed the samples"
    batch, _ = batch_data(str(wav), PATCH_FRAMES, PATCH_FRAMES)
    with contextlib.redirect_stdout(io.StringIO()):
        taggram, _, feats = extractor(str(wav), model="MSD_musicnn", input_length=3, extract_features=True)
    return {"logmel": batch, "tags": taggram.astype(np.float32),
            "penultimate": feats["penultimate"].astype(np.float32)}


def musicnn_mel16(y: np.ndarray, logmel: np.ndarray) -> np.ndarray:
    """musicnn's float16 mel spectrogram of ``y``; ``log10(1 + 10000 * mel)`` in float32 gives ``logmel``
    exactly, so a fixture stores half the bytes and loses nothing."""
    mel = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=256, n_fft=512, n_mels=96).T.astype(np.float16)
    assert np.array_equal(np.log10(1 + 10000 * mel.astype(np.float32)), logmel)
    return mel


def librosa_logmel(y: np.ndarray, sr: int, n_mels: int, fmax: float | None) -> np.ndarray:
    """Dong 2018-style reference: librosa mel power spectrogram (n_fft 512, hop 256), log(1 + x)."""
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=256, n_mels=n_mels, fmax=fmax)
    return np.log1p(mel).T.astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "data" / "gtzan")
    ap.add_argument("--out", type=Path, default=REPO / "reports" / "musicnn-port" / "reference.npz")
    ap.add_argument("--fixture", type=Path, default=None, help="also write the small test fixture here")
    ap.add_argument("--fixture-only", action="store_true", help="write only the fixture (needs --fixture)")
    args = ap.parse_args(argv)

    inputs: dict[str, np.ndarray] = {}
    for rel in ([FIXTURE_CLIP] if args.fixture_only else GTZAN_CLIPS):
        path = args.gtzan / rel
        if path.is_file():
            inputs[Path(rel).stem] = to_int16_grid(librosa.load(path, sr=SR)[0])
        else:
            print(f"skipping missing {path}")
    inputs.update({k: to_int16_grid(v) for k, v in generated_signals().items()})

    if args.fixture_only:
        write_fixture(inputs, args.fixture, args.gtzan / FIXTURE_CLIP)
        return 0

    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, y in inputs.items():
            ref = run_musicnn(y, Path(tmp))
            arrays[f"{name}/audio"] = y
            for key, value in ref.items():
                arrays[f"{name}/{key}"] = value
            print(f"{name}: {y.size / SR:.1f} s, {ref['tags'].shape[0]} patches, "
                  f"top tag {ref['tags'].mean(0).argmax()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(inputs)} inputs)")

    if args.fixture:
        write_fixture(inputs, args.fixture, args.gtzan / FIXTURE_CLIP)
    return 0


def write_fixture(inputs: dict[str, np.ndarray], path: Path, clip_22k: Path) -> None:
    """Small test fixture: one-patch snippets (int16) with musicnn's mel, tags and penultimate, plus a
    one-second 22.05 kHz snippet of ``clip_22k`` with librosa's Dong-2018 log-mel."""
    snippets = []
    for name, offset_s in ((Path(FIXTURE_CLIP).stem, 10.0), ("gen_beat", 2.0)):
        if name in inputs:
            start = int(offset_s * SR)
            snippets.append((name, inputs[name][start:start + PATCH_SAMPLES]))
    audio = np.stack([s for _, s in snippets])
    with tempfile.TemporaryDirectory() as tmp:
        refs = [run_musicnn(s, Path(tmp)) for _, s in snippets]
    assert all(r["tags"].shape[0] == 1 for r in refs)
    y22 = to_int16_grid(librosa.load(clip_22k, sr=22050, offset=10.0, duration=1.0)[0])
    np.savez_compressed(
        path,
        names=np.array([n for n, _ in snippets]),
        audio_16k=np.round(audio * 32768).astype(np.int16),
        musicnn_mel16=np.stack([musicnn_mel16(s, r["logmel"][0]) for (_, s), r in zip(snippets, refs)]),
        tags=np.stack([r["tags"][0] for r in refs]),
        penultimate=np.stack([r["penultimate"][0] for r in refs]),
        audio_22k=np.round(y22 * 32768).astype(np.int16),
        dong_logmel=librosa_logmel(y22, 22050, 64, 10000.0),
        librosa_version=np.array(librosa.__version__),
    )
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} KB)")


if __name__ == "__main__":
    raise SystemExit(main())
