"""The joint X-ray + galaxy-dynamics network of Ho et al. (2023), Sec. 5.2 and Fig. 5."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import defaults
from ._net2d import ConvStack2d, DenseHead, _as_tuple, _Stack, keras_init_

__all__ = ["ConvStack3d", "JointCNN"]


class ConvStack3d(_Stack):
    """3-D ReLU convolutions (``'valid'`` padding), each followed by max pooling.

    Examples
    --------
    >>> import torch
    >>> stack = ConvStack3d(4, (24, 16, 8), (5, 3, 1), (2, 2, 2))
    >>> stack(torch.zeros(1, 4, 64, 64, 64)).shape
    torch.Size([1, 8, 7, 7, 7])
    """

    def __init__(
        self,
        in_channels: int,
        conv: Sequence[int],
        kernels: int | Sequence[int],
        pools: int | Sequence[int],
    ) -> None:
        conv = tuple(int(c) for c in conv)
        kernels = _as_tuple(kernels, len(conv), "cube_kernels")
        pools = _as_tuple(pools, len(conv), "cube_pools")
        layers: list[nn.Module] = []
        c_in = int(in_channels)
        for c, k, p in zip(conv, kernels, pools):
            layers += [nn.Conv3d(c_in, c, int(k)), nn.ReLU(inplace=True)]
            if int(p) > 1:
                layers.append(nn.MaxPool3d(int(p)))
            c_in = c
        super().__init__(*layers)


class JointCNN(nn.Module):
    """2-D X-ray branch + 3-D phase-space branch + dense head, trained end to end.

    * X-ray branch: the convolutional stages of `HoCNN` on the multi-band
      image, flattened → Dense 128 → dropout.
    * Dynamics branch: the ``(B, 1, n_v, n, n)`` cube (axes ``v``, ``x``,
      ``y``) with the image, average-pooled to ``n × n``, appended as extra
      channels tiled along the velocity axis, so each image pixel lies on the
      cube's matching sky column ``(x, y)``. (The reference code tiled along
      ``y`` and so mixed ``v`` with the sky, REFERENCE.md §4.) Conv3D 24@5³
      → MP2 → Conv3D 16@3³ → MP2 → Conv3D 8@1³ → MP2 (``'valid'``) →
      flatten → Dense 128 → dropout.
    * Head: concatenation → Dense 128 → dropout → Dense 64 → dropout →
      ``n_outputs``.

    Parameters
    ----------
    in_channels : int
        Bands of the X-ray image.
    npix : int
        Image side; pooled to ``cube_size`` (exact when a multiple of it).
    cube_size : int
        Sky side of the cube (``n``; 64 in the paper).
    n_velocity : int or None
        Velocity bins (default ``cube_size``).
    xray_stride : int
        Stride of the first three X-ray convolutions: 1 as the paper says
        ("same design as the multi-band model"), 2 as the reference code
        (432,557 parameters at 128²/64³ with 3 bands).
    conv, kernels, pools : sequences
        X-ray branch convolutions (as `HoCNN`).
    cube_conv, cube_kernels, cube_pools : sequences
        Dynamics branch.
    branch_dense : int
        Width of each branch's dense layer.
    dense : sequence of int
        Head widths.
    dropout : float
        After every dense layer (0.1 in Fig. 5).
    n_outputs : int

    Examples
    --------
    >>> import torch
    >>> from astroclustermass.estimators.networks import count_parameters
    >>> net = JointCNN(in_channels=3, npix=128, cube_size=64, xray_stride=2)
    >>> count_parameters(net)
    432557
    >>> small = JointCNN(in_channels=3, npix=32, cube_size=16, cube_kernels=(3, 3, 1))
    >>> small(image=torch.zeros(2, 3, 32, 32), cube=torch.zeros(2, 1, 16, 16, 16)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        in_channels: int = 3,
        npix: int = defaults.NPIX,
        cube_size: int = defaults.N_CUBE,
        n_velocity: int | None = None,
        xray_stride: int = 1,
        conv: Sequence[int] = (24, 10, 24, 10),
        kernels: int | Sequence[int] = (5, 3, 5, 3),
        pools: Sequence[int] = (4, 2),
        cube_conv: Sequence[int] = (24, 16, 8),
        cube_kernels: int | Sequence[int] = (5, 3, 1),
        cube_pools: int | Sequence[int] = (2, 2, 2),
        branch_dense: int = 128,
        dense: Sequence[int] = (128, 64),
        dropout: float = 0.1,
        n_outputs: int = 1,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.npix = int(npix)
        self.cube_size = int(cube_size)
        self.n_velocity = int(n_velocity or cube_size)
        s = int(xray_stride)
        strides = tuple([s] * (len(tuple(conv)) - 1) + [1])
        self.xray = ConvStack2d(in_channels, conv, kernels, pools, strides)
        with torch.no_grad():
            n_x = self.xray(torch.zeros(1, self.in_channels, self.npix, self.npix)).numel()
        self.xray_dense = DenseHead(n_x, (branch_dense,), dropout, n_outputs=0)
        self.cube = ConvStack3d(1 + self.in_channels, cube_conv, cube_kernels, cube_pools)
        with torch.no_grad():
            shape = (1, 1 + self.in_channels, self.n_velocity, self.cube_size, self.cube_size)
            n_c = self.cube(torch.zeros(shape)).numel()
        self.cube_dense = DenseHead(n_c, (branch_dense,), dropout, n_outputs=0)
        self.head = DenseHead(2 * int(branch_dense), dense, dropout, n_outputs)
        keras_init_(self)

    def tile_image(self, image: torch.Tensor) -> torch.Tensor:
        """Average-pool ``(B, C, H, W)`` to the cube's sky grid and tile along ``v``.

        Returns ``(B, C, n_v, n, n)`` where ``[:, :, k, i, j]`` is the pooled
        pixel ``(i, j)`` for every velocity bin ``k``.
        """
        n = self.cube_size
        h = image.shape[-1]
        if h == n:
            pooled = image
        elif h % n == 0:
            pooled = F.avg_pool2d(image, h // n)
        else:
            pooled = F.adaptive_avg_pool2d(image, (n, n))
        pooled = pooled.contiguous()
        return pooled.unsqueeze(2).expand(-1, -1, self.n_velocity, -1, -1)

    def _channels_last_3d(self) -> bool:
        """Whether the 3-D convolutions hold NDHWC weights (`Trainer` sets them so); the
        cube branch's input then follows, sparing oneDNN a layout conversion per layer.
        """
        w = self.cube[0].weight
        return not w.is_contiguous() and w.is_contiguous(memory_format=torch.channels_last_3d)

    def forward(self, image: torch.Tensor, cube: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` and cubes ``(B, 1, n_v, n, n)`` → ``(B, n_outputs)``."""
        if cube.ndim == 4:
            cube = cube.unsqueeze(1)
        hx = self.xray_dense(self.xray(image).flatten(1))
        joint = torch.cat([cube.to(image.dtype), self.tile_image(image)], dim=1)
        if self._channels_last_3d():
            joint = joint.contiguous(memory_format=torch.channels_last_3d)
        hc = self.cube_dense(self.cube(joint).flatten(1))
        return self.head(torch.cat([hx, hc], dim=1))
