"""Model files: exact round trip, no code in the file, format-1 files still read, atomic readable writes,
clear errors."""

from __future__ import annotations

import json
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from musicsim.features import MUSICNN
from musicsim.genres import GENRES
from musicsim.model.checkpoint import (Checkpoint, ModelFileError, ModelNotFoundError, load_checkpoint,
                                       save_checkpoint)
from musicsim.model.modelfile import META_KEY, read_meta, read_model
from musicsim.model.network import NetworkConfig, TwoStreamResCNN

REPO = Path(__file__).resolve().parents[1]


def _small_checkpoint() -> Checkpoint:
    cfg = NetworkConfig(timbral_filters=4, temporal_filters=2, midend_filters=4, backend_units=8, n_tags=3)
    net = TwoStreamResCNN(cfg)
    return Checkpoint("test-1", MUSICNN, cfg, list(GENRES), net.state_dict(), tags=["a", "b", "c"],
                      card={"note": "test"})


def test_round_trip_is_exact_and_the_file_is_world_readable(tmp_path: Path) -> None:
    ckpt = _small_checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "m.safetensors")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not list(tmp_path.glob("*.tmp"))
    loaded = load_checkpoint(path)
    assert (loaded.version, loaded.features, loaded.network) == ("test-1", MUSICNN, ckpt.network)
    assert loaded.tags == ["a", "b", "c"] and loaded.card == {"note": "test"}
    assert list(loaded.state_dict) == list(ckpt.state_dict)
    for name, tensor in ckpt.state_dict.items():
        got = loaded.state_dict[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape and torch.equal(got, tensor), name
    assert read_meta(path) == ckpt.meta


def test_the_file_is_a_json_header_and_raw_tensors(tmp_path: Path) -> None:
    """The safetensors layout: a length, a JSON header (metadata + tensor table), bytes. No pickle."""
    ckpt = _small_checkpoint()
    raw = save_checkpoint(ckpt, tmp_path / "m.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header.pop("__metadata__")[META_KEY])
    assert meta["format"] == 2 and meta["version"] == "test-1" and meta["genres"] == list(GENRES)
    weight = header["spectral.0.conv.weight"]
    begin, end = weight["data_offsets"]
    data = np.frombuffer(raw[8 + n + begin : 8 + n + end], "<f4").reshape(weight["shape"])
    np.testing.assert_array_equal(data, ckpt.state_dict["spectral.0.conv.weight"].numpy())
    assert b"\x80\x02" not in raw[:8 + n] and not raw.startswith(b"PK")  # neither pickle nor zip


def test_format_1_files_still_load(tmp_path: Path) -> None:
    ckpt = _small_checkpoint()
    legacy = tmp_path / "old.pt"
    torch.save({"format": 1, "version": "old-1", "features": MUSICNN.to_dict(), "network": ckpt.network.to_dict(),
                "genres": list(GENRES), "tags": ckpt.tags, "card": {}, "state_dict": ckpt.state_dict}, legacy)
    loaded = load_checkpoint(legacy)
    assert loaded.version == "old-1" and torch.equal(loaded.state_dict["input_bn.weight"],
                                                     ckpt.state_dict["input_bn.weight"])
    assert read_meta(legacy).version == "old-1"


def test_missing_foreign_and_damaged_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No model weights"):
        load_checkpoint(tmp_path / "absent.safetensors")
    with pytest.raises(ModelNotFoundError, match="No model weights"):
        read_meta(tmp_path / "absent.safetensors")
    (tmp_path / "junk").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a musicsim model file"):
        load_checkpoint(tmp_path / "junk")
    (tmp_path / "tiny").write_bytes(b"abc")
    with pytest.raises(ModelFileError, match="not a musicsim model file"):
        read_meta(tmp_path / "tiny")
    torch.save({"format": 99}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not a musicsim model file"):
        load_checkpoint(tmp_path / "other.pt")
    good = save_checkpoint(_small_checkpoint(), tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(good[:-100])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        read_model(tmp_path / "cut.safetensors")


def test_reading_the_metadata_never_imports_torch(tmp_path: Path) -> None:
    path = save_checkpoint(_small_checkpoint(), tmp_path / "m.safetensors")
    code = ("import sys; from musicsim.model.modelfile import read_meta, read_model; "
            f"m = read_meta({str(path)!r}); w = read_model({str(path)!r})[1]; "
            "assert m.version == 'test-1' and 'input_bn.weight' in w; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
