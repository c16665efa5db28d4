"""Tests of the CNN architectures (astroclustermass.estimators.networks)."""

import pytest
import torch

from astroclustermass.estimators.networks import (
    GAPCNN,
    HoCNN,
    JointCNN,
    KrippendorfCNN,
    SameConv2d,
    count_parameters,
)


def _hand_count_ho(c: int) -> int:
    """Layer-by-layer count of Ho et al. Sec. 4.1 at 128^2, computed independently."""
    conv = (5 * 5 * c * 24 + 24) + (3 * 3 * 24 * 10 + 10) + (5 * 5 * 10 * 24 + 24)
    conv += 3 * 3 * 24 * 10 + 10
    flat = 16 * 16 * 10
    dense = (flat * 128 + 128) + (128 * 128 + 128) + (128 * 64 + 64) + (64 + 1)
    return conv + dense


@pytest.mark.parametrize(("bands", "expected"), [(1, 363_629), (3, 364_829)])
def test_ho_cnn_parameter_count(bands, expected):
    net = HoCNN(in_channels=bands, npix=128)
    assert count_parameters(net) == expected == _hand_count_ho(bands)


def test_ho_cnn_layer_shapes_and_keras_init():
    net = HoCNN(in_channels=3, npix=128)
    x = torch.zeros(2, 3, 128, 128)
    feats = net.features(x)
    assert feats.shape == (2, 10, 16, 16)
    assert net.n_features == 2560
    # Glorot-uniform bound sqrt(6/(fan_in+fan_out)), zero biases, as Keras
    w = net.features[0].weight.detach()
    bound = (6 / (3 * 25 + 24 * 25)) ** 0.5
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.9 * bound
    biases = [m.bias.detach() for m in net.modules() if getattr(m, "bias", None) is not None]
    assert all(float(b.abs().sum()) == 0 for b in biases)
    assert net(image=x).shape == (2, 1)


def test_ho_cnn_any_npix_and_outputs():
    net = HoCNN(in_channels=2, npix=32, n_outputs=2, dropout=0.1)
    assert net(image=torch.randn(4, 2, 32, 32)).shape == (4, 2)
    assert any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in HoCNN(npix=32).modules())


def test_same_padding_matches_tensorflow_for_stride_two():
    # TF 'same', stride 2, k=5 on 7 pixels: out 4, total pad 4 -> 2 left, 2 right
    conv = SameConv2d(1, 1, 5, stride=2)
    assert conv(torch.zeros(1, 1, 7, 7)).shape == (1, 1, 4, 4)
    # even input: out 4 from 8, total pad = 3*2+5-8 = 3 -> 1 left, 2 right (extra bottom/right)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 2, 2] = 1.0  # centre tap picks x[2*o + 2 - pad_left]
        conv.bias.zero_()
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    out = conv(x)
    assert out[0, 0, 0, 0] == x[0, 0, 1, 1]
    assert out[0, 0, 1, 1] == x[0, 0, 3, 3]


def test_joint_cnn_reference_count_and_paper_variant():
    ref = JointCNN(in_channels=3, npix=128, cube_size=64, xray_stride=2)
    assert count_parameters(ref) == 432_557
    paper = JointCNN(in_channels=3, npix=128, cube_size=64, xray_stride=1)
    # stride 1: the X-ray dense layer sees 2560 features instead of 40
    assert count_parameters(paper) - count_parameters(ref) == (2560 - 40) * 128


def test_joint_cnn_tiles_image_along_velocity_aligned_with_sky():
    net = JointCNN(in_channels=2, npix=32, cube_size=16, cube_kernels=(3, 3, 1))
    img = torch.zeros(1, 2, 32, 32)
    img[0, 1, 4:6, 10:12] = 4.0  # one 2x2 block -> pooled pixel (2, 5) of channel 1
    tiled = net.tile_image(img)
    assert tiled.shape == (1, 2, 16, 16, 16)
    for k in range(16):  # the same sky map in every velocity slice, axes (v, x, y)
        assert tiled[0, 1, k, 2, 5] == 4.0
        assert float(tiled[0, 1, k].sum()) == 4.0
    out = net(image=torch.randn(3, 2, 32, 32), cube=torch.rand(3, 1, 16, 16, 16))
    assert out.shape == (3, 1)


def test_krippendorf_uses_redshift():
    torch.manual_seed(0)
    net = KrippendorfCNN(in_channels=10, npix=20).eval()
    x = torch.randn(2, 10, 20, 20)
    a = net(image=x, redshift=torch.zeros(2, 1))
    b = net(image=x, redshift=torch.ones(2, 1))
    assert a.shape == (2, 2)
    assert not torch.allclose(a, b)
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in net.modules())
    with pytest.raises(ValueError, match="redshift"):
        net(image=x)


def test_gap_cnn_matches_lovig_summary():
    net = GAPCNN(in_channels=4)
    assert count_parameters(net) == 58_869  # Lovig (2024) Fig. 6
    # global average pooling: output independent of the image size
    assert net(image=torch.randn(2, 4, 40, 40)).shape == (2, 1)
