"""The shipped musicnn port reproduces the original TensorFlow musicnn (MSD_musicnn) on real audio.

``tests/fixtures/musicnn_reference.npz`` was written by ``tools/musicnn_reference.py``: two 3-s snippets
at 16 kHz (a GTZAN metal clip and a generated drum/chord pattern), musicnn's own float16 mel
spectrograms of them, and the tag probabilities and penultimate layer that TensorFlow computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicsim.features import MUSICNN, segment_patch
from musicsim.model.checkpoint import load_checkpoint
from musicsim.model.inference import load_model
from musicsim.model.modelfile import read_model

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "resources" / "musicnn-msd.safetensors"
FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_reference.npz"
TOL = 1e-4


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, device="cpu")


def test_model_file_describes_musicnn() -> None:
    ckpt = load_checkpoint(MODEL)  # weights_only=True
    assert ckpt.version == "musicnn-msd-1"
    assert ckpt.features == MUSICNN
    assert len(ckpt.tags) == 50 and ckpt.tags[:3] == ["rock", "pop", "alternative"]
    assert len(ckpt.genres) == 10
    assert ckpt.card["licence"].startswith("ISC")
    assert (REPO / "resources" / "LICENSE-musicnn.txt").is_file()
    meta, weights = read_model(MODEL)  # no torch, no pickle: the safetensors layout
    assert meta == ckpt.meta and set(weights) == set(ckpt.build().state_dict())


def test_whole_path_matches_tensorflow(ref, model) -> None:
    """audio -> musicsim features -> port == audio -> librosa -> TensorFlow musicnn."""
    audio = ref["audio_16k"].astype(np.float32) / 32768
    x = np.stack([segment_patch(y, model.features) for y in audio])
    out = model.predict(x)
    np.testing.assert_allclose(out.tag_probs, ref["tags"], rtol=0, atol=TOL)
    np.testing.assert_allclose(out.embeddings, ref["penultimate"], rtol=0, atol=TOL)


def test_network_alone_matches_tensorflow(ref, model) -> None:
    """On musicnn's own input patches, the port's outputs equal TensorFlow's."""
    x = np.log10(1 + 10000 * ref["musicnn_mel16"].astype(np.float32))
    out = model.predict(x)
    np.testing.assert_allclose(out.tag_probs, ref["tags"], rtol=0, atol=TOL)
    np.testing.assert_allclose(out.embeddings, ref["penultimate"], rtol=0, atol=TOL)


def test_tags_make_sense(ref, model) -> None:
    """The metal snippet's strongest tags are guitar-music tags (catches a scrambled tag order)."""
    audio = ref["audio_16k"][0].astype(np.float32) / 32768
    probs = model.predict(segment_patch(audio, model.features)[None]).tag_probs[0]
    top = {model.tags[i] for i in np.argsort(probs)[::-1][:5]}
    assert top & {"metal", "heavy metal", "hard rock", "rock", "punk"}, top


def test_eval_mode_outputs_do_not_depend_on_the_batch(ref, model) -> None:
    """Batch norm uses its running statistics and dropout is off: a patch's output is the same alone
    or batched with others, and repeated calls agree."""
    assert not model.network.training
    audio = ref["audio_16k"].astype(np.float32) / 32768
    x = np.stack([segment_patch(y, model.features) for y in audio])
    both = model.predict(x)
    alone = model.predict(x[1:])
    np.testing.assert_allclose(both.embeddings[1], alone.embeddings[0], atol=1e-5)
    np.testing.assert_array_equal(model.predict(x).tag_probs, both.tag_probs)
