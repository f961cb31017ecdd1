"""TwoStreamResCNN: musicnn's MSD shapes and parameter count, output sizes, config round trip."""

from __future__ import annotations

import pytest
import torch

from musicsim.model.network import NetworkConfig, TwoStreamResCNN

MSD_PARAMS = 794_699  # musicnn MSD_musicnn's 787,159 trainable TF weights + the 7,540-weight genre head


def test_default_config_is_musicnn_msd() -> None:
    cfg = NetworkConfig()
    net = TwoStreamResCNN(cfg)
    assert sum(p.numel() for p in net.parameters()) == MSD_PARAMS
    assert cfg.frontend_channels == 561 and cfg.midend_channels == 753
    assert net.spectral[0].conv.weight.shape == (204, 1, 7, 38)
    assert net.spectral[1].conv.weight.shape == (204, 1, 7, 67)
    assert [m.conv.weight.shape[2] for m in net.temporal] == [128, 64, 32]
    assert net.backend_bn.num_features == 1506
    assert net.penultimate.weight.shape == (200, 1506)


def test_outputs_embedding_tags_and_genres() -> None:
    torch.manual_seed(0)
    net = TwoStreamResCNN(NetworkConfig()).eval()
    for frames in (187, 100):  # any patch length works: pooling is over time
        out = net(torch.randn(3, frames, 96))
        assert out.embedding.shape == (3, 200)
        assert out.tag_logits.shape == (3, 50)
        assert out.genre_logits.shape == (3, 10)
        assert torch.isfinite(out.embedding).all()


def test_pooled_embedding_without_tag_backend() -> None:
    cfg = NetworkConfig(backend_units=0, embedding="pooled")
    out = TwoStreamResCNN(cfg).eval()(torch.randn(2, 187, 96))
    assert out.tag_logits is None
    assert out.embedding.shape == (2, cfg.midend_channels) == (2, 753)


def test_config_round_trip() -> None:
    cfg = NetworkConfig(n_mels=64, temporal_lengths=(64, 32, 16), n_tags=0)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg


def test_inconsistent_config_is_refused() -> None:
    with pytest.raises(ValueError, match="backend_units"):
        TwoStreamResCNN(NetworkConfig(backend_units=0))
    with pytest.raises(ValueError, match="unknown embedding"):
        TwoStreamResCNN(NetworkConfig(embedding="mean"))


def test_inference_pooling_shortcut_equals_pooling_after_batch_norm() -> None:
    """Eval mode pools over frequency before ReLU/batch norm; it must equal the training-mode order."""
    torch.manual_seed(1)
    net = TwoStreamResCNN(NetworkConfig())
    with torch.no_grad():
        for block in (*net.spectral, *net.temporal):  # include negative scales (decreasing maps)
            block.bn.weight.copy_(torch.randn_like(block.bn.weight))
            block.bn.bias.copy_(torch.randn_like(block.bn.bias))
            block.bn.running_mean.copy_(torch.randn_like(block.bn.running_mean) * 0.1)
            block.bn.running_var.copy_(torch.rand_like(block.bn.running_var) + 0.5)
    net.eval()
    x = torch.randn(2, 1, 187, 96)
    for block in (*net.spectral, *net.temporal):
        assert (block.bn.weight < 0).any()
        padded = torch.nn.functional.pad(x, (0, 0, *block.time_pad))
        reference = block.bn(torch.relu(block.conv(padded))).amax(dim=3)
        torch.testing.assert_close(block(x), reference, rtol=1e-5, atol=1e-5)
