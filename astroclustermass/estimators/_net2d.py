"""2-D convolutional networks: Ho et al. (2023), Krippendorf et al. (2023), Lovig (2024).

Plain `torch.nn.Module` classes; every hyper-parameter is a constructor
argument. Layers are initialised as Keras does (Glorot-uniform kernels, zero
biases) and convolutions use TensorFlow's ``'same'`` padding (extra padding
on the bottom/right for strided convolutions), so the paper's architectures
are reproduced layer for layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import defaults

__all__ = [
    "SameConv2d",
    "ConvStack2d",
    "DenseHead",
    "HoCNN",
    "KrippendorfCNN",
    "GAPCNN",
    "keras_init_",
    "count_parameters",
]


def keras_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every conv/dense layer (Keras defaults).

    Examples
    --------
    >>> from torch import nn
    >>> lin = keras_init_(nn.Linear(3, 2))
    >>> float(lin.bias.detach().abs().sum())
    0.0
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Conv3d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters.

    Examples
    --------
    >>> from torch import nn
    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _as_tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(value)}")
    return value


class SameConv2d(nn.Conv2d):
    """`~torch.nn.Conv2d` with TensorFlow ``'same'`` padding for any stride.

    Examples
    --------
    >>> import torch
    >>> conv = SameConv2d(1, 4, 5, stride=2)
    >>> conv(torch.zeros(1, 1, 128, 128)).shape
    torch.Size([1, 4, 64, 64])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        self._k = int(kernel_size)
        self._s = int(stride)
        symmetric = self._s == 1 and self._k % 2 == 1
        super().__init__(
            in_channels,
            out_channels,
            self._k,
            stride=self._s,
            padding=self._k // 2 if symmetric else 0,
        )
        self._pad_dynamic = not symmetric

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self._pad_dynamic:
            pads = []
            for size in (x.shape[-1], x.shape[-2]):  # F.pad order: last axis first
                out = -(-size // self._s)
                total = max((out - 1) * self._s + self._k - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        return super().forward(x)


class _Stack(nn.Sequential):
    """`~torch.nn.Sequential` whose slices are plain ``nn.Sequential`` objects."""

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return nn.Sequential(*list(self._modules.values())[idx])
        return super().__getitem__(idx)


class ConvStack2d(_Stack):
    """Blocks of ReLU convolutions, each block closed by a pooling layer.

    ``conv`` lists the filters of every convolution; they are split evenly
    into ``len(pools)`` blocks (``conv=(24, 10, 24, 10)``, ``pools=(4, 2)``:
    two convolutions then max-pool 4, two more then max-pool 2).

    Examples
    --------
    >>> import torch
    >>> stack = ConvStack2d(1, (24, 10, 24, 10), (5, 3, 5, 3), (4, 2))
    >>> stack(torch.zeros(2, 1, 128, 128)).shape
    torch.Size([2, 10, 16, 16])
    >>> stack[:2](torch.zeros(1, 1, 8, 8)).shape  # first conv + ReLU
    torch.Size([1, 24, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        conv: Sequence[int],
        kernels: int | Sequence[int],
        pools: Sequence[int],
        strides: int | Sequence[int] = 1,
        pool: str = "max",
    ) -> None:
        conv = tuple(int(c) for c in conv)
        kernels = _as_tuple(kernels, len(conv), "kernels")
        strides = _as_tuple(strides, len(conv), "strides")
        pools = tuple(int(p) for p in pools)
        if pools and len(conv) % len(pools):
            raise ValueError(f"{len(conv)} convolutions cannot be split into {len(pools)} blocks")
        per_block = len(conv) // max(len(pools), 1)
        pool_cls = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
        layers: list[nn.Module] = []
        c_in = int(in_channels)
        for i, (c, k, s) in enumerate(zip(conv, kernels, strides)):
            layers += [SameConv2d(c_in, c, k, stride=s), nn.ReLU(inplace=True)]
            c_in = c
            if pools and (i + 1) % per_block == 0:
                layers.append(pool_cls(pools[i // per_block]))
        super().__init__(*layers)
        self.out_channels = c_in


class DenseHead(_Stack):
    """ReLU dense layers, each followed by dropout, then a linear output layer.

    Examples
    --------
    >>> head = DenseHead(2560, (128, 128, 64), n_outputs=1)
    >>> sum(p.numel() for p in head.parameters())
    352641
    """

    def __init__(
        self, in_features: int, dense: Sequence[int], dropout: float = 0.0, n_outputs: int = 1
    ) -> None:
        layers: list[nn.Module] = []
        n_in = int(in_features)
        for width in dense:
            layers += [nn.Linear(n_in, int(width)), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            n_in = int(width)
        if n_outputs:
            layers.append(nn.Linear(n_in, int(n_outputs)))
        super().__init__(*layers)
        self.out_features = int(n_outputs) if n_outputs else n_in


def _flat_size(module: nn.Module, shape: tuple) -> int:
    with torch.no_grad():
        return int(module(torch.zeros(1, *shape)).flatten(1).shape[1])


class HoCNN(nn.Module):
    """The CNN of Ho et al. (2023), Sec. 4.1, for any number of bands and npix.

    Conv 24@5×5 → Conv 10@3×3 → MaxPool 4 → Conv 24@5×5 → Conv 10@3×3 →
    MaxPool 2 → Dense 128 → 128 → 64 → ``n_outputs``, ReLU, ``'same'``
    padding; 363,629 parameters for one band at 128², 364,829 for three.

    Parameters
    ----------
    in_channels : int
        Number of energy bands.
    npix : int
        Image side in pixels.
    conv, kernels, pools : sequence of int
        Filters and kernel size of each convolution; max-pool size closing
        each block (see `ConvStack2d`).
    dense : sequence of int
        Hidden dense widths.
    dropout : float
        Dropout after each hidden dense layer (0 in the paper's single-band
        model; 0.1 in the reference code's multi-band model).
    n_outputs : int
        1 (mass) or 2 (mass and log σ for the NLL loss).
    strides : int or sequence of int
        Convolution strides (the reference joint model used 2, 2, 2, 1).
    pool : {'max', 'avg'}

    Examples
    --------
    >>> import torch
    >>> net = HoCNN(in_channels=1, npix=128)
    >>> count_parameters(net)
    363629
    >>> net(image=torch.zeros(2, 1, 128, 128)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        in_channels: int = 1,
        npix: int = defaults.NPIX,
        conv: Sequence[int] = (24, 10, 24, 10),
        kernels: int | Sequence[int] = (5, 3, 5, 3),
        pools: Sequence[int] = (4, 2),
        dense: Sequence[int] = (128, 128, 64),
        dropout: float = 0.0,
        n_outputs: int = 1,
        strides: int | Sequence[int] = 1,
        pool: str = "max",
    ) -> None:
        super().__init__()
        self.features = ConvStack2d(in_channels, conv, kernels, pools, strides, pool)
        self.n_features = _flat_size(self.features, (int(in_channels), int(npix), int(npix)))
        self.head = DenseHead(self.n_features, dense, dropout, n_outputs)
        keras_init_(self)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """Flattened convolutional features ``(B, n_features)``."""
        return self.features(image).flatten(1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images → ``(B, n_outputs)``."""
        return self.head(self.embed(image))


class KrippendorfCNN(nn.Module):
    """Convolutions with average pooling and redshift at the first dense layer.

    After Krippendorf et al. (2023), Sec. 3 and App. B: convolution blocks
    with average pooling (which they found better than max pooling), the
    flattened features concatenated with the redshift, dense layers and two
    outputs ``(mu, log_sigma)`` for the Gaussian NLL loss. Their Fig. 3
    layer list is not in the text; the defaults here (32, 64, 64 filters of
    3×3, each followed by 2×2 average pooling; dense 128, 64) are ours.

    Parameters
    ----------
    in_channels : int
        Energy bands (10 in the paper).
    npix : int
        Image side (50 in the paper after rebinning).
    conv, kernels, pools, dense, dropout, n_outputs :
        As in `HoCNN` (pools here are average pools, one per convolution).
    redshift_input : bool
        Concatenate ``redshift`` ``(B, 1)`` to the flattened features.

    Examples
    --------
    >>> import torch
    >>> net = KrippendorfCNN(in_channels=10, npix=50)
    >>> net(image=torch.zeros(3, 10, 50, 50), redshift=torch.zeros(3, 1)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        in_channels: int = 10,
        npix: int = 50,
        conv: Sequence[int] = (32, 64, 64),
        kernels: int | Sequence[int] = 3,
        pools: Sequence[int] = (2, 2, 2),
        dense: Sequence[int] = (128, 64),
        dropout: float = 0.0,
        n_outputs: int = 2,
        redshift_input: bool = True,
    ) -> None:
        super().__init__()
        self.redshift_input = bool(redshift_input)
        self.features = ConvStack2d(in_channels, conv, kernels, pools, 1, pool="avg")
        n_flat = _flat_size(self.features, (int(in_channels), int(npix), int(npix)))
        self.head = DenseHead(n_flat + int(self.redshift_input), dense, dropout, n_outputs)
        keras_init_(self)

    def forward(self, image: torch.Tensor, redshift: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(B, C, H, W)`` and redshift ``(B, 1)`` → ``(B, n_outputs)``."""
        h = self.features(image).flatten(1)
        if self.redshift_input:
            if redshift is None:
                raise ValueError("KrippendorfCNN(redshift_input=True) needs a redshift input")
            h = torch.cat([h, redshift.reshape(len(h), 1).to(h.dtype)], dim=1)
        return self.head(h)


class GAPCNN(nn.Module):
    """Small CNN with global average pooling (Lovig 2024, Fig. 6).

    Conv 16@3×3 → MaxPool 2 → Conv 32@3×3 → MaxPool 2 → Conv 64@3×3 →
    MaxPool 2 → global average pooling → Dense 200 → 100 → 20 → 1, ReLU,
    ``'same'`` padding; 58,869 parameters for 4 bands (independent of npix).

    Examples
    --------
    >>> import torch
    >>> net = GAPCNN(in_channels=4)
    >>> count_parameters(net)
    58869
    >>> net(image=torch.zeros(2, 4, 64, 64)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        in_channels: int = 4,
        npix: int | None = None,
        conv: Sequence[int] = (16, 32, 64),
        kernels: int | Sequence[int] = 3,
        pools: Sequence[int] = (2, 2, 2),
        dense: Sequence[int] = (200, 100, 20),
        dropout: float = 0.0,
        n_outputs: int = 1,
    ) -> None:
        super().__init__()
        self.features = ConvStack2d(in_channels, conv, kernels, pools, 1, pool="max")
        self.head = DenseHead(self.features.out_channels, dense, dropout, n_outputs)
        keras_init_(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images → ``(B, n_outputs)``."""
        return self.head(self.features(image).mean(dim=(-2, -1)))
