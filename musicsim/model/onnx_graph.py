"""The network (:mod:`musicsim.model.network`) as an ONNX graph, built from a model file's weights.

ONNX Runtime runs this graph on the CPU about 1.6x cheaper than PyTorch (docs/performance.md), and
it imports in a fraction of torch's time. The graph is written straight from the numpy weights, the
same computation as ``TwoStreamResCNN`` in eval mode (embeddings equal within float rounding, tested),
so no exporter, no torch and no ``onnx`` package are needed: the few protobuf messages an ONNX model
consists of are encoded here (field numbers from onnx.proto, opset 17).

Inference-only rewrites, exact up to float rounding: the front end's bias, ReLU and batch norm are
applied after the max over frequency (all are monotone per channel; a channel with a negative
batch-norm scale takes the min instead, as the max of its negated filter).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from musicsim.model.config import BN_EPS, NetworkConfig

OPSET = 17
IR_VERSION = 8
_FLOAT, _BOOL, _INT64 = 1, 9, 7  # TensorProto.DataType
_ELEM = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64, np.dtype(np.bool_): _BOOL}


# -- protobuf wire format (varints, length-delimited fields, fixed32 floats) ------------------------

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64: two's complement, ten bytes
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _msg(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _msg(field, text.encode())


def _tensor(name: str, arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, order="C")
    dims = b"".join(_int(1, d) for d in arr.shape)
    return dims + _int(2, _ELEM[arr.dtype]) + _str(8, name) + _msg(9, arr.astype(arr.dtype.newbyteorder("<")).tobytes())


def _attribute(name: str, value: Any) -> bytes:
    if isinstance(value, bool) or isinstance(value, int):
        return _str(1, name) + _int(20, 2) + _int(3, int(value))
    if isinstance(value, float):
        return _str(1, name) + _int(20, 1) + _varint(2 << 3 | 5) + struct.pack("<f", value)
    if isinstance(value, (list, tuple)):
        return _str(1, name) + _int(20, 7) + b"".join(_int(8, int(v)) for v in value)
    raise TypeError(f"attribute {name}: {type(value).__name__}")


def _value_info(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_msg(1, _int(1, d) if isinstance(d, int) else _str(2, d)) for d in dims)
    return _str(1, name) + _msg(2, _msg(1, _int(1, _FLOAT) + _msg(2, shape)))


class _Graph:
    """Nodes and initialisers, each node with one output named after a counter."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.initializers: list[bytes] = []
        self.count = 0

    def _name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, arr: np.ndarray, hint: str = "c") -> str:
        name = self._name(hint)
        self.initializers.append(_tensor(name, arr))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        out = out or self._name(op_type.lower())
        node = b"".join(_str(1, i) for i in inputs) + _str(2, out) + _str(3, out) + _str(4, op_type)
        node += b"".join(_msg(5, _attribute(k, v)) for k, v in attrs.items())
        self.nodes.append(node)
        return out

    def model(self, inputs: list[bytes], outputs: list[bytes], metadata: dict[str, str]) -> bytes:
        graph = b"".join(_msg(1, n) for n in self.nodes) + _str(2, "musicsim")
        graph += b"".join(_msg(5, t) for t in self.initializers)
        graph += b"".join(_msg(11, v) for v in inputs) + b"".join(_msg(12, v) for v in outputs)
        model = _int(1, IR_VERSION) + _str(2, "musicsim") + _msg(7, graph) + _msg(8, _str(1, "") + _int(2, OPSET))
        model += b"".join(_msg(14, _str(1, k) + _str(2, v)) for k, v in metadata.items())
        return model


# -- the network ------------------------------------------------------------------------------------

def _bn(w: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A frozen batch norm as ``x * scale + shift`` (float32, as torch computes it)."""
    weight, bias = w[f"{prefix}.weight"], w[f"{prefix}.bias"]
    mean, var = w[f"{prefix}.running_mean"], w[f"{prefix}.running_var"]
    scale = (weight / np.sqrt(var + np.float32(BN_EPS))).astype(np.float32)
    return scale, (bias - mean * scale).astype(np.float32)


def _same_pad(length: int) -> tuple[int, int]:
    total = length - 1
    return total // 2, total - total // 2


def build_graph(cfg: NetworkConfig, weights: dict[str, np.ndarray], frames: int,
                metadata: dict[str, str] | None = None) -> bytes:
    """A serialised ONNX model: input ``patches (batch, frames, n_mels)``; outputs ``embedding``,
    ``genre_probs`` (softmax) and, with a tag back end, ``tag_probs`` (sigmoid)."""
    w = {k: np.asarray(v, np.float32) for k, v in weights.items() if not k.endswith("num_batches_tracked")}
    g = _Graph()
    col = lambda a: a.reshape(-1, 1).astype(np.float32)  # noqa: E731 - per-channel over (batch, C, time)

    x = g.op("Unsqueeze", "patches", g.const(np.array([1], np.int64)))  # (B, 1, T, F)
    scale, shift = _bn(w, "input_bn")
    x = g.op("Add", g.op("Mul", x, g.const(scale)), g.const(shift))
    branches = [(f"spectral.{i}", (cfg.timbral_width // 2, cfg.timbral_width // 2))
                for i in range(len(cfg.timbral_heights))]
    branches += [(f"temporal.{i}", _same_pad(length)) for i, length in enumerate(cfg.temporal_lengths)]
    front = []
    for prefix, (lo, hi) in branches:
        scale, shift = _bn(w, f"{prefix}.bn")
        # Max over frequency of an increasing map, min of a decreasing one (negative scale): min(y) is
        # -max(-y), so those channels' filters are negated (exact) and one ReduceMax serves all.
        sign = np.where(scale < 0, -1.0, 1.0).astype(np.float32)
        kernel = w[f"{prefix}.conv.weight"] * sign[:, None, None, None]
        y = g.op("Conv", x, g.const(kernel, "w"), pads=[lo, 0, hi, 0])  # (B, C, T, F')
        pooled = g.op("ReduceMax", y, axes=[3], keepdims=0)  # (B, C, T)
        if (sign < 0).any():
            pooled = g.op("Mul", pooled, g.const(col(sign)))
        h = g.op("Relu", g.op("Add", pooled, g.const(col(w[f"{prefix}.conv.bias"]))))
        front.append(g.op("Add", g.op("Mul", h, g.const(col(scale))), g.const(col(shift))))
    h = g.op("Concat", *front, axis=1)
    maps = [h]
    for i in range(3):
        prefix = f"midend.{i}"
        kernel = w[f"{prefix}.conv.weight"]
        pad = kernel.shape[2] // 2
        y = g.op("Conv", h, g.const(kernel, "w"), g.const(w[f"{prefix}.conv.bias"]), pads=[pad, pad])
        scale, shift = _bn(w, f"{prefix}.bn")
        y = g.op("Add", g.op("Mul", g.op("Relu", y), g.const(col(scale))), g.const(col(shift)))
        h = g.op("Add", y, h) if i > 0 else y
        maps.append(h)
    fmap = g.op("Concat", *maps, axis=1)  # (B, midend_channels, T)
    mean = g.op("ReduceMean", fmap, axes=[2], keepdims=0)  # (B, C)
    head = g.op("Conv", fmap, g.const(w["genre_head.weight"], "w"), g.const(w["genre_head.bias"]))
    logits = g.op("ReduceMean", head, axes=[2], keepdims=0)
    g.op("Softmax", logits, out="genre_probs", axis=1)
    outputs = [_value_info("embedding", ["batch", cfg.embedding_size]),
               _value_info("genre_probs", ["batch", cfg.n_genres])]
    embedding = mean  # the "pooled" embedding
    if cfg.backend_units:
        peak = g.op("ReduceMax", fmap, axes=[2], keepdims=0)
        axis2 = g.const(np.array([2], np.int64))
        # musicnn flattens (channels, [max, mean]) channel by channel.
        pooled = g.op("Concat", g.op("Unsqueeze", peak, axis2), g.op("Unsqueeze", mean, axis2), axis=2)
        pooled = g.op("Reshape", pooled, g.const(np.array([0, -1], np.int64)))
        scale, shift = _bn(w, "backend_bn")
        pooled = g.op("Add", g.op("Mul", pooled, g.const(scale)), g.const(shift))
        hidden = g.op("Relu", g.op("Gemm", pooled, g.const(w["penultimate.weight"]), g.const(w["penultimate.bias"]),
                                   transB=1))
        scale, shift = _bn(w, "penultimate_bn")
        penultimate = g.op("Add", g.op("Mul", hidden, g.const(scale)), g.const(shift))
        if cfg.embedding == "penultimate":
            embedding = penultimate
        if cfg.n_tags:
            tags = g.op("Gemm", penultimate, g.const(w["tag_head.weight"]), g.const(w["tag_head.bias"]), transB=1)
            g.op("Sigmoid", tags, out="tag_probs")
            outputs.append(_value_info("tag_probs", ["batch", cfg.n_tags]))
    g.op("Identity", embedding, out="embedding")
    inputs = [_value_info("patches", ["batch", frames, cfg.n_mels])]
    return g.model(inputs, outputs, metadata or {})
