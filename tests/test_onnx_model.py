"""The ONNX Runtime engine gives the PyTorch network's outputs, whatever the batch size, worker count or layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musicsim.analysis.pipeline import AnalysisJob, JobResult, analyse_file, run_analysis
from musicsim.features import MUSICNN
from musicsim.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from musicsim.model.inference import LoadedModel
from musicsim.model.network import NetworkConfig, TwoStreamResCNN
from musicsim.model.onnx_model import OnnxModel

SMALL = dict(timbral_filters=8, temporal_filters=4, midend_filters=8)


def _checkpoint(seed: int, negative_scales: bool = True, **cfg: object) -> Checkpoint:
    """A random network whose batch norms have real statistics (and some negative scales)."""
    torch.manual_seed(seed)
    net_cfg = NetworkConfig(**{**SMALL, "backend_units": 16, "n_tags": 5, **cfg})
    net = TwoStreamResCNN(net_cfg)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(-1.5 if negative_scales else 0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return Checkpoint(f"t-{seed}", MUSICNN, net_cfg, [f"g{i}" for i in range(10)], net.state_dict(),
                      tags=[f"t{i}" for i in range(net_cfg.n_tags)] if net_cfg.backend_units else [])


def _patches(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, MUSICNN.frames, MUSICNN.n_mels), dtype=np.float32) * 3).astype(np.float32)


def _close(a: np.ndarray, b: np.ndarray, rel: float = 1e-5) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=rel * max(1.0, float(np.abs(b).max()) if b.size else 1.0))


@pytest.mark.parametrize("cfg", [{}, {"embedding": "pooled"}, {"n_tags": 0}, {"backend_units": 0, "embedding": "pooled",
                                                                             "n_tags": 0}])
def test_outputs_equal_torch(cfg: dict[str, object]) -> None:
    ckpt = _checkpoint(1, **cfg)
    x = _patches(6)
    ref = LoadedModel(ckpt, device="cpu").predict(x)
    assert (ckpt.state_dict["spectral.0.bn.weight"] < 0).any()  # the min-over-frequency path is taken
    got = OnnxModel.from_weights(ckpt.meta, ckpt.arrays()).predict(x)
    assert got.embeddings.shape == ref.embeddings.shape and got.tag_probs.shape == ref.tag_probs.shape
    _close(got.embeddings, ref.embeddings)
    _close(got.genre_probs, ref.genre_probs)
    _close(got.tag_probs, ref.tag_probs)
    assert float(np.abs(ref.embeddings[0] - ref.embeddings[1]).max()) > 1e-3  # outputs depend on the input


def test_batch_size_does_not_change_results() -> None:
    ckpt = _checkpoint(2)
    x = _patches(9, seed=3)
    outs = [OnnxModel.from_weights(ckpt.meta, ckpt.arrays(), batch_size=b).predict(x) for b in (1, 2, 4, 9)]
    for out in outs[1:]:
        _close(out.embeddings, outs[0].embeddings)
        _close(out.tag_probs, outs[0].tag_probs)


def test_loads_from_a_model_file_and_rebuilds_in_a_worker(tmp_path: Path) -> None:
    ckpt = _checkpoint(3)
    path = save_checkpoint(ckpt, tmp_path / "m.safetensors")
    model = OnnxModel.load(path)
    assert model.version == "t-3" and model.tags == ckpt.tags and model.embedding_size == 16
    x = _patches(3)
    again = OnnxModel.from_payload(model.payload())  # what each worker process does
    np.testing.assert_array_equal(again.predict(x).embeddings, model.predict(x).embeddings)


@pytest.mark.slow
def test_shipped_model_equals_torch_on_real_music(gtzan: Path) -> None:
    """The real weights on real patches: embeddings and tags within float rounding, the same top tag.

    The shipped genre head has weights up to ~1e9 (fitted on near-constant channels), so float32 rounding
    moves its logits by up to ~0.5 in torch itself: both engines are compared with a float64 network there.
    """
    ckpt = load_checkpoint()
    from musicsim.analysis.segments import track_patches

    clips = sorted(gtzan.glob("*/*.00002.opus"))
    x = np.concatenate([track_patches(c, ckpt.features, 2) for c in clips])
    ref = LoadedModel(ckpt, device="cpu").predict(x)
    got = OnnxModel.from_weights(ckpt.meta, ckpt.arrays()).predict(x)
    _close(got.embeddings, ref.embeddings)
    np.testing.assert_allclose(got.tag_probs, ref.tag_probs, atol=1e-5)
    assert (got.tag_probs.argmax(1) == ref.tag_probs.argmax(1)).all()
    net64 = ckpt.build().double()
    with torch.inference_mode():
        exact = torch.softmax(net64(torch.from_numpy(x).double()).genre_logits, 1).numpy()
    torch_err = np.abs(ref.genre_probs - exact).max()
    assert np.abs(got.genre_probs - exact).max() <= max(torch_err, 1e-3)


def test_pipeline_results_equal_across_workers_and_batches_and_torch(tmp_path: Path, write_song) -> None:
    songs = [write_song(tmp_path / f"s{i}.{fmt}", seed=i, seconds=10) for i, fmt in enumerate(["flac", "mp3", "ogg"])]
    bad = tmp_path / "cover.mp3"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    jobs = [AnalysisJob(i, str(p)) for i, p in enumerate(songs)] + [AnalysisJob(9, str(bad))]
    ckpt = _checkpoint(4)
    onnx = OnnxModel.from_weights(ckpt.meta, ckpt.arrays())

    def run(model: object, **kw: object) -> dict[int, JobResult]:
        got: dict[int, JobResult] = {}
        run_analysis(jobs, model, segments_per_track=3, on_results=lambda b: got.update({r.track_id: r for r in b}),
                     **kw)
        return got

    runs = [run(onnx, workers=0), run(onnx, workers=1, batch_size=3), run(onnx, workers=2, batch_size=2),
            run(LoadedModel(ckpt, device="cpu"), workers=2)]
    for got in runs:
        assert set(got) == {0, 1, 2, 9} and "PNG" in (got[9].error or "")
        for i in range(3):
            result, ref = got[i].result, runs[0][i].result
            assert result is not None and ref is not None and result.n_segments == 3
            _close(result.embedding, ref.embedding)
            _close(result.genre_probs, ref.genre_probs)
    single = analyse_file(songs[1], onnx, segments_per_track=3)
    _close(single.embedding, runs[0][1].result.embedding)  # type: ignore[union-attr]


def test_batches_across_tracks_as_on_a_gpu_give_the_same_results(tmp_path: Path, write_song) -> None:
    """The GPU path (decode workers, torch in the parent, one batch across tracks), exercised on the CPU."""
    songs = [write_song(tmp_path / f"s{i}.flac", seed=10 + i, seconds=10) for i in range(4)]
    jobs = [AnalysisJob(i, str(p)) for i, p in enumerate(songs)]
    ckpt = _checkpoint(5)

    class BatchingTorch(LoadedModel):
        on_cpu = False  # type: ignore[assignment]  # take the GPU's code path on the CPU

    def run(model: object, **kw: object) -> dict[int, JobResult]:
        got: dict[int, JobResult] = {}
        run_analysis(jobs, model, segments_per_track=3, on_results=lambda b: got.update({r.track_id: r for r in b}),
                     **kw)
        return got

    across = run(BatchingTorch(ckpt, device="cpu"), workers=2, batch_size=7)  # batches span tracks
    per_track = run(OnnxModel.from_weights(ckpt.meta, ckpt.arrays()), workers=2)
    for i in range(4):
        a, b = across[i].result, per_track[i].result
        assert a is not None and b is not None
        _close(a.embedding, b.embedding)
        _close(a.tag_probs, b.tag_probs)
