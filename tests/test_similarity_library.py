"""The centred model version in a real library: re-analysis on the version change, real hnswlib neighbours.

Real GTZAN clips (and a re-encoded copy of one) are scanned with the uncentred ported trunk
(``musicnn-msd-1``), then the library is opened with the shipped model (``musicnn-msd-gtzan-2``): every track
is re-analysed once, automatically, and `similar` finds the other clip of the seed's genre first, never the
copy of its recording.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from musicsim.audio.decode import load
from musicsim.audio.encode import encode
from musicsim.library.library import Library
from musicsim.playlists.filters import DUPLICATE_SIMILARITY
from musicsim.model.modelfile import default_model_path, read_meta

TRUNK = Path(__file__).resolve().parents[1] / "resources" / "musicnn-msd.safetensors"
CLIPS = [("classical", 1), ("classical", 3), ("metal", 0), ("metal", 1)]


@pytest.fixture
def clip_library(gtzan: Path, tmp_path: Path) -> Path:
    music = tmp_path / "music"
    for genre, n in CLIPS:
        (music / genre).mkdir(parents=True, exist_ok=True)
        shutil.copy(gtzan / genre / f"{genre}.{n:05d}.opus", music / genre)
    copy = music / "rips" / "classical.00001.mp3"  # the same recording, ripped again
    copy.parent.mkdir()
    encode(copy, load(gtzan / "classical" / "classical.00001.opus", 44100), 44100)
    return music


def test_version_change_reanalyses_once_and_neighbours_follow_the_music(clip_library: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Library(data, TRUNK, device="cpu") as lib:
        lib.scan(clip_library, workers=1)
        assert lib.status().model_version == "musicnn-msd-1" and lib.status().analysed == 5
    shipped = read_meta(default_model_path()).version
    assert shipped == "musicnn-msd-gtzan-2"
    with Library(data, device="cpu") as lib:
        st = lib.status()
        assert (st.model_version, st.analysed, st.pending) == (shipped, 0, 5)
        assert lib.analyse_pending(workers=1).analysed == 5
        _, report = lib.scan(clip_library, workers=1)
        assert report.analysed == 0  # once only
        seed = lib.find(str(clip_library / "classical" / "classical.00001.opus"))
        found = lib.similar(seed, n=3, max_per_artist=None)
        names = [Path(s.track.path).name for s in found]
        assert names[0] == "classical.00003.opus", names
        assert "classical.00001.mp3" not in names  # the copy of the seed's recording
        _, seed_emb = lib.catalogue.embedding(seed.id)
        for s in found:
            _, emb = lib.catalogue.embedding(s.track.id)
            assert s.score == pytest.approx(float(emb @ seed_emb), abs=1e-4) and s.score < DUPLICATE_SIMILARITY
        copy = next(t for t in lib.tracks() if t.path.endswith(".mp3"))
        assert float(lib.catalogue.embedding(copy.id)[1] @ seed_emb) >= DUPLICATE_SIMILARITY
        ids, matrix = lib.embeddings()
        assert len(ids) == 5 and np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
