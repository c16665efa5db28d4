"""Sum-pooling dynamical cubes to a coarser grid (L1).

A joint CNN on ``npix`` maps wants ``npix / 2`` voxels per side (Ho et al.
2023: 128² maps, 64³ cubes). Sampling the kernel density estimate directly on
a coarse grid would miss the mass between the voxel centres when the kernel
is narrower than a voxel; sum-pooling a fine cube integrates it instead, keeps
each cube normalised to 1 and keeps its grid on the same
``[-aperture, aperture]`` and velocity range (see ``docs/internals.rst``).

Examples
--------
>>> import numpy as np
>>> from astroclustermass.dynamics import sum_pool_cubes
>>> cubes = np.full((2, 8, 8, 8), 1 / 512, np.float32)
>>> pooled = sum_pool_cubes(cubes, 4)
>>> pooled.shape, float(pooled[0].sum())
((2, 4, 4, 4), 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["sum_pool_cubes"]

# clusters per block: bounded float64 temporaries (64 cubes of 64^3 = 134 MB)
_BLOCK = 64


def sum_pool_cubes(cubes: Any, size: int) -> np.ndarray:
    """Cubes ``(N, n, n, n)`` (or one ``(n, n, n)``) sum-pooled to ``size``³ voxels.

    Parameters
    ----------
    cubes : array-like, shape (N, n, n, n) or (n, n, n)
        Dynamical cubes (any array supporting slicing, e.g. a lazy HDF5 array).
    size : int
        Voxels per side of the result; must divide ``n``.

    Returns
    -------
    ndarray, float32
        Sums over ``(n / size)³`` blocks, accumulated in float64.

    Raises
    ------
    InputError
        ``size`` does not divide ``n``.

    Examples
    --------
    >>> sum_pool_cubes(np.ones((4, 4, 4)), 2)[0, 0, 0]
    np.float32(8.0)
    """
    shape = tuple(int(s) for s in cubes.shape)
    single = len(shape) == 3
    n = shape[-1]
    if not single and len(shape) != 4:
        raise InputError(f"cubes must have shape (N, n, n, n) or (n, n, n); got {shape}")
    size = int(size)
    if size < 1 or n % size:
        raise InputError(f"cannot pool {n}^3 dynamical cubes to {size}^3; use a divisor of {n}")
    f = n // size
    if single:
        block = np.asarray(cubes, dtype=np.float64)
        return block.reshape(size, f, size, f, size, f).sum(axis=(1, 3, 5)).astype(np.float32)
    out = np.empty((shape[0], size, size, size), np.float32)
    for k in range(0, shape[0], _BLOCK):
        block = np.asarray(cubes[k : k + _BLOCK], dtype=np.float64)
        out[k : k + _BLOCK] = block.reshape(-1, size, f, size, f, size, f).sum(axis=(2, 4, 6))
    return out
