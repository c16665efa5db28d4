"""Compiled binning kernels (numba): one call bins one cluster's photons, GIL released.

Imported lazily by `astroclustermass.images.binning` when numba is
installed; the pure-numpy kernel there stays the fallback (and the
cross-check in the tests).

The rule is `numpy.histogramdd`'s: photon ``x`` is in bin ``j`` when
``edges[j] <= x < edges[j + 1]``, and the last bin also takes
``x == edges[-1]``. Per block of photons three simple loops run, each of
which the compiler turns into SIMD code, then a scatter loop adds them up:

1. band: ``idx = band * npix²`` from the energy (``lo <= E < hi``) or the
   band code, ``-1`` for a photon in no band;
2. pixel: clamp ``x`` into ``[edges[0], edges[-1]]``, take the *nearest*
   edge ``j = trunc((x - lo) / step + 0.5)`` (at most ``npix - 1``: the last
   bin is closed) and step back one bin when ``x < edges[j]``. The edge is
   recomputed as ``j * step + lo``, which `numpy.linspace` stores bit for
   bit (the caller checks this per grid and otherwise uses the numpy kernel).
   The nearest-edge index is off by at most one bin only within ~1e-13 bin of
   an edge, where the comparison against the edge itself decides. A photon
   outside the image or in no band gets index 0 and is counted as rejected;
3. scatter: ``image[idx] += 1``; the rejected count is taken off pixel 0.

NaN positions and energies are counted (the caller raises); ±inf and huge
values clamp to the image border and are rejected like any photon outside.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["BLOCK", "NO_CODES", "NO_ENERGIES", "bin_cluster"]

#: Photons per block: the index scratch stays in the L1/L2 cache.
BLOCK = 4096

_OPTS = {"nogil": True, "cache": True, "boundscheck": False, "error_model": "numpy"}


@njit(inline="always", **_OPTS)
def _pixels(x, y, s, m, idx, lo, hi, step, inv, npix):
    """Add the pixel index to ``idx[:m]`` (band offsets, or -1); returns (rejected, NaN)."""
    top = npix - 1.0
    width = np.int32(npix)
    rejected = 0
    nan = 0
    for i in range(m):
        xi = x[s + i]
        yi = y[s + i]
        vx = xi if xi >= lo else lo  # NaN -> lo
        vx = vx if vx <= hi else hi
        vy = yi if yi >= lo else lo
        vy = vy if vy <= hi else hi
        jx = np.int32(min((vx - lo) * inv + 0.5, top))
        jy = np.int32(min((vy - lo) * inv + 0.5, top))
        jx -= np.int32(vx < jx * step + lo)
        jy -= np.int32(vy < jy * step + lo)
        band = idx[i]
        ok = (vx == xi) & (vy == yi) & (band >= 0)
        idx[i] = band + jx * width + jy if ok else 0
        rejected += np.int64(not ok)
        nan += np.int64((xi != xi) | (yi != yi))
    return rejected, nan


@njit(inline="always", **_OPTS)
def _scatter(idx, m, flat):
    for i in range(m):
        flat[idx[i]] += np.int32(1)


@njit(inline="always", **_OPTS)
def _bands_from_energies(e, s, m, bounds, plane, idx):
    """``idx[:m] = band * plane`` for ``bounds[band] <= E < bounds[band + 1]``, else -1;
    returns the number of NaN energies.
    """
    n_bands = bounds.shape[0] - 1
    for i in range(m):
        idx[i] = 0
    for b in range(1, n_bands):
        bound = bounds[b]
        for i in range(m):
            idx[i] += np.int32(e[s + i] >= bound) * plane
    elo = bounds[0]
    ehi = bounds[n_bands]
    nan = 0
    for i in range(m):
        en = e[s + i]
        idx[i] = idx[i] if (en >= elo) & (en < ehi) else -1
        nan += np.int64(en != en)
    return nan


@njit(inline="always", **_OPTS)
def _bands_from_codes(codes, s, m, n_bands, plane, idx):
    """``idx[:m] = code * plane`` for codes in ``[0, n_bands)``, else -1."""
    for i in range(m):
        code = np.int32(codes[s + i])
        idx[i] = code * plane if (code >= 0) & (code < n_bands) else -1


@njit(**_OPTS)
def bin_cluster(x, y, codes, energies, bounds, image, lo, hi, step, inv, idx):
    """Bin one cluster's photons into ``image`` (n_bands, npix, npix), overwriting it.

    Bands come from ``energies`` sorted into contiguous bands with boundaries
    ``bounds`` when ``energies`` is not empty, else from the int8 ``codes``
    (outside ``[0, n_bands)``: in no band) when those are not empty, else
    every photon is in band 0. ``lo, hi, step, inv`` describe the grid,
    ``idx`` is int32 scratch. Returns (NaN positions, NaN energies).
    """
    n_bands, npix = image.shape[0], image.shape[1]
    plane = np.int32(npix * npix)
    flat = image.reshape(-1)
    flat[:] = 0
    rejected = 0
    nan_xy = 0
    nan_e = 0
    n = x.shape[0]
    for s in range(0, n, idx.shape[0]):
        m = min(idx.shape[0], n - s)
        if energies.shape[0]:
            nan_e += _bands_from_energies(energies, s, m, bounds, plane, idx)
        elif codes.shape[0]:
            _bands_from_codes(codes, s, m, n_bands, plane, idx)
        else:
            for i in range(m):
                idx[i] = 0
        r, nn = _pixels(x, y, s, m, idx, lo, hi, step, inv, npix)
        rejected += r
        nan_xy += nn
        _scatter(idx, m, flat)
    flat[0] -= rejected
    return nan_xy, nan_e


#: Placeholders for the arguments of `bin_cluster` a call does not use.
NO_CODES = np.zeros(0, np.int8)
NO_ENERGIES = np.zeros(0, np.float64)
