"""The shipped model file, resources/musicsim-model.safetensors.

Its genre head was fitted on all 280 shared GTZAN clips, so classifying shared clips checks that the
shipped file and the analysis path (decode -> patches -> network -> pooling) reproduce that fit on
real audio: a training-set check, far above chance, not a generalisation estimate. The honest,
cross-validated numbers are in docs/evaluation/report.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicsim.audio.decode import load
from musicsim.features import patches
from musicsim.genres import GENRES
from musicsim.model.checkpoint import default_model_path, load_checkpoint
from musicsim.model.inference import load_model, pool_segments

pytestmark = pytest.mark.skipif(not default_model_path().is_file(), reason="shipped model not built yet")
CLIP_NUMBERS = (3, 8)  # two clips of every genre
SECONDS = 9.5  # three 3-s patches per clip


def test_shipped_file_is_complete() -> None:
    ckpt = load_checkpoint(weights_only=True)
    base = load_checkpoint(default_model_path().parent / "musicnn-msd.safetensors")
    assert ckpt.version == "musicnn-msd-gtzan-2"
    assert ckpt.genres == list(GENRES) and ckpt.tags == base.tags and len(ckpt.tags) == 50
    assert ckpt.features == base.features and ckpt.network == base.network
    assert ckpt.card["genre_head"]["clips"] == 280
    # Only the genre head differs from the ported musicnn weights, and the two biases that centre the
    # embedding (tools/centre_model.py; tests/test_similarity_centre.py checks the fold).
    changed = {k for k in base.state_dict if not np.array_equal(base.state_dict[k], ckpt.state_dict[k])}
    assert changed == {"genre_head.weight", "genre_head.bias", "penultimate_bn.bias", "tag_head.bias"}


@pytest.fixture(scope="module")
def predictions(gtzan: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    model = load_model(device="cpu")
    out = []
    for genre in GENRES:
        for n in CLIP_NUMBERS:
            y = load(gtzan / genre / f"{genre}.{n:05d}.opus", model.features.sample_rate, max_seconds=SECONDS)
            result = pool_segments(model.predict(patches(y, model.features)))
            out.append((genre, result.genre_probs, result.tag_probs))
    return out


def test_shipped_model_classifies_real_clips_far_better_than_chance(predictions) -> None:
    correct = sum(GENRES[int(np.argmax(p))] == genre for genre, p, _ in predictions)
    assert correct >= 16, f"{correct}/20 right (chance: 2/20)"


@pytest.mark.parametrize("tag, genre", [("metal", "metal"), ("jazz", "jazz"), ("Hip-Hop", "hiphop"),
                                        ("country", "country"), ("blues", "blues")])
def test_msd_tags_describe_the_music(predictions, tag: str, genre: str) -> None:
    """An MSD tag named after a genre scores highest on that genre's clips (the tag back end is musicnn's)."""
    column = load_checkpoint().tags.index(tag)
    means = {g: np.mean([t[column] for g2, _, t in predictions if g2 == g]) for g in GENRES}
    assert max(means, key=means.get) == genre, means
