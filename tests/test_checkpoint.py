"""Model files: round trip with weights_only=True, atomic readable writes, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import torch

from musicsim.features import MUSICNN
from musicsim.genres import GENRES
from musicsim.model.checkpoint import (Checkpoint, ModelFileError, ModelNotFoundError, load_checkpoint,
                                       save_checkpoint)
from musicsim.model.network import NetworkConfig, TwoStreamResCNN


def _small_checkpoint() -> Checkpoint:
    cfg = NetworkConfig(timbral_filters=4, temporal_filters=2, midend_filters=4, backend_units=8, n_tags=3)
    net = TwoStreamResCNN(cfg)
    return Checkpoint("test-1", MUSICNN, cfg, list(GENRES), net.state_dict(), tags=["a", "b", "c"],
                      card={"note": "test"})


def test_round_trip_is_exact_and_the_file_is_world_readable(tmp_path: Path) -> None:
    ckpt = _small_checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "m.pt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not list(tmp_path.glob("*.tmp"))
    loaded = load_checkpoint(path)
    assert (loaded.version, loaded.features, loaded.network) == ("test-1", MUSICNN, ckpt.network)
    assert loaded.tags == ["a", "b", "c"] and loaded.card == {"note": "test"}
    for name, tensor in ckpt.state_dict.items():
        assert torch.equal(loaded.state_dict[name], tensor), name


def test_missing_and_foreign_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No model weights"):
        load_checkpoint(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="Cannot read model file"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format": 99}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not a musicsim model file"):
        load_checkpoint(tmp_path / "other.pt")
