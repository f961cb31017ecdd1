"""The model file: one versioned file of weights and everything needed to use them, read without torch.

Format 2 is the `safetensors <https://github.com/huggingface/safetensors>`_ layout, which holds no code::

    8 bytes   little-endian unsigned length N of the header
    N bytes   JSON header: {"__metadata__": {"musicsim.model": "<JSON of the fields below>"},
                            "<tensor name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
    the rest  the tensors' bytes, little-endian, C order, at their offsets

    musicsim.model = {"format": 2, "version": str, "features": FeatureConfig dict,
                      "network": NetworkConfig dict, "genres": [names], "tags": [names], "card": {...}}

So the version (stored with every analysis: another version triggers re-analysis) and the rest of
the metadata cost one small read (:func:`read_meta`), and the weights load as numpy arrays
(:func:`read_model`); the PyTorch network (:mod:`musicsim.model.checkpoint`) and the ONNX Runtime
engine (:mod:`musicsim.model.onnx_model`) are both built from them. Format 1 (``torch.save`` of a
plain dict, loaded with ``weights_only=True``) is still read, through torch.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicsim.features import FeatureConfig
from musicsim.fileio import atomic_output
from musicsim.model.config import NetworkConfig
from musicsim.model.errors import ModelFileError, ModelNotFoundError
from musicsim.paths import resources_dir

FORMAT = 2
LEGACY_FORMAT = 1  # torch.save zip archives
DEFAULT_MODEL_FILE = "musicsim-model.safetensors"
META_KEY = "musicsim.model"
MAX_HEADER = 16 << 20  # a header larger than this is not a model file
_ZIP_MAGIC = b"PK\x03\x04"
_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


@dataclass(frozen=True)
class ModelMeta:
    """Everything about a model except its weights."""

    version: str
    features: FeatureConfig
    network: NetworkConfig
    genres: list[str]
    tags: list[str] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": self.version, "features": self.features.to_dict(),
                "network": self.network.to_dict(), "genres": list(self.genres), "tags": list(self.tags),
                "card": self.card}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        return cls(version=str(data["version"]), features=FeatureConfig.from_dict(data["features"]),
                   network=NetworkConfig.from_dict(data["network"]), genres=list(data["genres"]),
                   tags=list(data.get("tags", [])), card=dict(data.get("card", {})))


def default_model_path() -> Path:
    return resources_dir() / DEFAULT_MODEL_FILE


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise ModelNotFoundError(
            f"No model weights at {path}. Analysis needs a trained model file; pass --model FILE "
            f"or install musicsim with its resources/{DEFAULT_MODEL_FILE}.")


def is_legacy(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a format-1 (``torch.save``) model file."""
    with open(path, "rb") as f:
        return f.read(4) == _ZIP_MAGIC


def _read_header(f: Any, path: Path) -> tuple[dict[str, Any], int]:
    """The parsed JSON header and the offset where tensor data starts."""
    head = f.read(8)
    if len(head) < 8:
        raise ModelFileError(f"Cannot read model file {path}: not a musicsim model file (too short).")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER:
        raise ModelFileError(f"Cannot read model file {path}: not a musicsim model file (format {FORMAT}).")
    raw = f.read(n)
    try:
        header = json.loads(raw)
        meta = json.loads(header["__metadata__"][META_KEY])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"Cannot read model file {path}: not a musicsim model file (format {FORMAT}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"Cannot read model file {path}: not a musicsim model file (format {FORMAT}).")
    header["__metadata__"] = meta
    return header, 8 + n


def _meta(data: dict[str, Any], path: Path) -> ModelMeta:
    try:
        return ModelMeta.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"Cannot read model file {path}: bad metadata ({exc}).") from exc


def read_meta(path: str | os.PathLike[str] | None = None) -> ModelMeta:
    """A model file's metadata (default file: the shipped one), reading only its header.

    Raises :class:`ModelNotFoundError` or :class:`ModelFileError` (with a message for people). A
    format-1 file needs torch (it is read whole).
    """
    path = Path(path) if path else default_model_path()
    _check_exists(path)
    try:
        if is_legacy(path):
            from musicsim.model.checkpoint import load_checkpoint  # torch

            return load_checkpoint(path).meta
        with open(path, "rb") as f:
            header, _ = _read_header(f, path)
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from exc
    return _meta(header["__metadata__"], path)


def read_model(path: str | os.PathLike[str] | None = None) -> tuple[ModelMeta, dict[str, np.ndarray]]:
    """A format-2 model file's metadata and weights (writable numpy arrays, in the file's order)."""
    path = Path(path) if path else default_model_path()
    _check_exists(path)
    try:
        with open(path, "rb") as f:
            if f.read(4) == _ZIP_MAGIC:
                raise ModelFileError(f"{path} is a format-{LEGACY_FORMAT} (torch) model file; "
                                     "load it with musicsim.model.checkpoint.load_checkpoint.")
            f.seek(0)
            header, start = _read_header(f, path)
            data = bytearray(os.fstat(f.fileno()).st_size - start)
            got = f.readinto(data)
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from exc
    meta = _meta(header.pop("__metadata__"), path)
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        try:
            dtype = np.dtype(_DTYPES[spec["dtype"]])
            begin, end = (int(v) for v in spec["data_offsets"])
            shape = tuple(int(d) for d in spec["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"Cannot read model file {path}: bad entry for tensor {name!r}.") from exc
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= got or end - begin != count * dtype.itemsize:
            raise ModelFileError(f"Cannot read model file {path}: truncated or corrupt (tensor {name!r}).")
        tensors[name] = np.frombuffer(data, dtype.newbyteorder("<"), count, begin).reshape(shape)
    return meta, tensors


def write_model(path: str | os.PathLike[str], meta: ModelMeta, tensors: dict[str, np.ndarray]) -> Path:
    """Write a format-2 model file atomically (mode 0644: a model file is meant to be shared)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header: dict[str, Any] = {"__metadata__": {META_KEY: json.dumps(meta.to_dict(), sort_keys=True)}}
    blobs, offset = [], 0
    for name, value in tensors.items():
        arr = np.asarray(value, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        if arr.dtype not in _NAMES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {arr.dtype}")
        blob = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # tensor data 8-byte aligned, as safetensors writes it
    with atomic_output(path, mode=0o644, verify=lambda tmp: _verify(tmp, meta)) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
    return path


def _verify(tmp: Path, meta: ModelMeta) -> None:
    if read_model(tmp)[0].version != meta.version:
        raise ModelFileError(f"{tmp}: written model file does not read back")
