"""GTZAN-style datasets: the folder listing, the fault-filtered split lists, and cached patches.

A dataset folder holds ``DIR/<genre>/<genre>.NNNNN.<ext>`` for the ten GTZAN genres (any audio
format the decoder reads), optionally with ``DIR/splits/{train,valid,test}_filtered.txt``. The
full collection and the 280-clip subset in ``shared/data/gtzan`` both fit this layout.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim.features import FeatureConfig, patches
from musicsim.fileio import atomic_write
from musicsim.genres import GENRES

logger = logging.getLogger(__name__)  # ``log`` is the progress callback these functions take

CLIP_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})\.(?P<ext>[A-Za-z0-9]+)$")
AUDIO_EXTENSIONS = frozenset({"wav", "au", "opus", "ogg", "oga", "mp3", "flac", "m4a", "aiff", "aif"})
SPLIT_NAMES = ("train", "valid", "test")
FULL_GTZAN_PER_GENRE = 100


@dataclass(frozen=True)
class Clip:
    """One labelled clip: ``name`` is ``genre.NNNNN`` (the split lists' key)."""

    path: Path
    genre: str
    name: str

    @property
    def label(self) -> int:
        return GENRES.index(self.genre)


def list_clips(data_dir: str | os.PathLike[str], genres: Sequence[str] = GENRES) -> list[Clip]:
    """Every ``<genre>/<genre>.NNNNN.<ext>`` audio file under ``data_dir``, sorted by name.

    Files that do not follow the pattern are ignored. Raises ``ValueError`` when nothing is found.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    clips: dict[str, Clip] = {}
    for genre in genres:
        folder = root / genre
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            m = CLIP_NAME.match(path.name)
            if not m or m["genre"] != genre or m["ext"].lower() not in AUDIO_EXTENSIONS or not path.is_file():
                continue
            name = f"{genre}.{m['number']}"
            clips.setdefault(name, Clip(path=path, genre=genre, name=name))
    if not clips:
        raise ValueError(f"no clips found in {root} (expected {root}/<genre>/<genre>.NNNNN.<ext>, "
                         f"genres: {', '.join(genres)})")
    return [clips[k] for k in sorted(clips)]


def genre_counts(clips: Sequence[Clip]) -> dict[str, int]:
    counts = Counter(c.genre for c in clips)
    return {g: counts.get(g, 0) for g in GENRES}


def is_full_gtzan(clips: Sequence[Clip]) -> bool:
    """True when every genre has its 100 clips (the whole collection)."""
    return all(n >= FULL_GTZAN_PER_GENRE for n in genre_counts(clips).values())


def load_splits(data_dir: str | os.PathLike[str]) -> dict[str, list[str]] | None:
    """The fault-filtered partition (``splits/<name>_filtered.txt``) as clip names, or None if absent."""
    folder = Path(data_dir) / "splits"
    files = {name: folder / f"{name}_filtered.txt" for name in SPLIT_NAMES}
    if not all(f.is_file() for f in files.values()):
        return None
    return {name: [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
            for name, f in files.items()}


def split_indices(clips: Sequence[Clip], names: Sequence[str]) -> np.ndarray:
    """Indices of the clips whose names are listed (names missing from ``clips`` are skipped)."""
    wanted = set(names)
    return np.array([i for i, c in enumerate(clips) if c.name in wanted], dtype=np.int64)


def decode_clip(path: Path, sample_rate: int) -> np.ndarray:
    """The whole clip as mono float32 at ``sample_rate``."""
    from musicsim.audio.decode import load

    return load(path, sample_rate)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write(path, buffer.getvalue())


def config_key(*parts: object) -> str:
    """A short stable hash of JSON-able parts (feature configs, model hashes) naming a cache folder."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("musicsim", appauthor=False)) / "train"


class FeatureCache:
    """Per-clip arrays on disk: ``<root>/<kind>-<key>/<clip name>.npy``, recomputed when missing.

    A clip's cache entry is keyed by its path, size and mtime, so an edited file is recomputed.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root else default_cache_dir()

    def get(self, clip: Clip, kind: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        st = clip.path.stat()
        file_key = config_key(str(clip.path.resolve()), st.st_size, st.st_mtime_ns)
        path = self.root / f"{kind}-{key}" / f"{clip.name}-{file_key}.npy"
        if path.is_file():
            try:
                return np.load(path)
            except (OSError, ValueError) as exc:
                logger.warning("damaged cache entry %s (%s); recomputing it", path, exc)
        array = np.asarray(compute())
        _atomic_save(path, array)
        return array

    def patches(self, clip: Clip, cfg: FeatureConfig) -> np.ndarray:
        """Non-overlapping log-mel patches ``(n, frames, mels)`` of a whole clip."""
        return self.get(clip, "patches", config_key(cfg.to_dict()),
                        lambda: patches(decode_clip(clip.path, cfg.sample_rate), cfg))


def load_all(clips: Sequence[Clip], load: Callable[[Clip], np.ndarray],
             log: Callable[[str], None] = print) -> tuple[list[np.ndarray], list[int], list[tuple[str, str]]]:
    """``load`` each clip; a clip that fails is reported and left out, never stopping the run.

    Returns (arrays, indices of the clips kept, problems as (clip name, reason)).
    """
    arrays, kept, problems = [], [], []
    for i, clip in enumerate(clips):
        try:
            arrays.append(load(clip))
            kept.append(i)
        except Exception as exc:
            logger.warning("skipped %s: %s", clip.path, exc, exc_info=True)
            problems.append((clip.name, str(exc) or type(exc).__name__))
            log(f"skipped {clip.path}: {exc}")
    return arrays, kept, problems
