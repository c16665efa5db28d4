"""The pure-numpy binning kernel: the fallback where numba cannot be imported.

`astroclustermass.images.binning` dispatches to it (or to the numba kernels
of `astroclustermass.images._kernel_numba`). The result is, bin for bin,
``np.histogram2d(x[b == k], y[b == k], bins=[edges, edges])`` for every band ``k`` with
``edges = np.linspace(-aperture, aperture, npix + 1)`` — including photons
that lie exactly on a bin edge (they go to the bin on the right, as
`numpy.searchsorted` with ``side='right'`` puts them) and on the outer right
edge ``+aperture`` (counted in the last bin, which is closed as in
`numpy.histogramdd`).

How it is fast and still exact
------------------------------
`numpy.histogram2d` runs a binary search (`numpy.searchsorted`) per photon and
axis, and a Python loop over clusters and bands pays its fixed cost
thousands of times. Here, per axis, with ``edges[j] = x0 + j * step``:

1. ``t = x / step + 0.5 - x0 / step`` truncated gives the index ``j`` of the
   bin edge *nearest* to ``x`` (clamped to ``j <= npix - 1``: the last bin is
   closed). Rounding errors in ``t`` are ~1e-13 of a bin, far below the half
   bin that would make ``j`` wrong.
2. The photon is in bin ``j`` if ``x >= edges[j]`` and in bin ``j - 1``
   otherwise: ``k = j + floor(x - edges[j])`` (the difference has the exact
   sign, and lies in (-1, 1) for grids with ``step < 1``; coarser grids use a
   comparison). ``edges[j]`` is recomputed as ``j * step + x0``, bit-identical
   to what `numpy.linspace` stores (checked once per grid; otherwise a table
   lookup is used), so the test is against the very values
   `numpy.histogram2d` compares with.
3. A photon is inside the image iff ``k >= 0`` and ``x <= aperture`` on both
   axes, and its band code is in ``[0, n_bands)``. Outside photons are sent
   to pixel 0 and subtracted again afterwards (cheaper than compressing a
   randomly masked array). NaN or infinite coordinates show up as a
   non-finite sum of the indices and take a slow, careful path.

Photons of many small clusters are concatenated into blocks of ~32 k photons
so that each numpy call works on a cache-sized array, and counts go straight
into the int32 output with `numpy.ufunc.at` (no int64 intermediate image).
Blocks can run on a thread pool, although ``ufunc.at`` holds the GIL, so two
threads gain little.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

from ..exceptions import InputError
from .band_codes import _band_codes, _bounds, _reject_nan_energies

__all__ = ["plan", "reject_nan_positions", "run_task"]

#: Photons per kernel call: arrays of this size stay in the CPU cache.
_BLOCK = 1 << 15


class _Workspace:
    """Per-thread scratch arrays for blocks of up to ``size`` photons."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.xy = np.empty((2, size))
        self.t = np.empty((2, size))
        self.e = np.empty((2, size))
        self.g = np.empty((2, size), bool)
        self.m = np.empty(size)
        self.good = np.empty(size, bool)
        self.tmp = np.empty(size, bool)
        self.idx = np.empty(size, np.intp)
        self.band = np.empty(size, np.uint8)
        self.energy = np.empty(size)


_local = threading.local()


def _workspace() -> _Workspace:
    ws = getattr(_local, "ws", None)
    if ws is None:
        ws = _local.ws = _Workspace(_BLOCK)
    return ws


def _kernel(xy, b, n_bands, grid, ws, out_flat, offsets=None, energy=None) -> None:
    """Add the photons of one block (at most ``_BLOCK``) to ``out_flat``.

    ``xy`` is a float64 (2, n) array of positions, ``b`` int8 band codes or
    None (all band 0), ``energy`` (with ``b`` None) a pair of float64 photon
    energies and the `_BandBounds` of the contiguous bands to sort them into,
    ``offsets`` the float offset of each photon's cluster in ``out_flat``
    (None: all in the first cluster).
    """
    n = xy.shape[1]
    with np.errstate(all="ignore"):  # inf/NaN/huge inputs are caught below
        tx, good = _flat_index(xy, b, n_bands, grid, ws, offsets, energy)
    if not np.isfinite(np.add.reduce(tx)):  # NaN or inf coordinates
        _careful(xy, b, n_bands, grid, ws, out_flat, offsets, energy)
        return
    idx = ws.idx[:n]
    np.copyto(idx, tx, casting="unsafe")
    np.add.at(out_flat, idx, np.int32(1))
    n_out = n - int(np.count_nonzero(good))
    if n_out:
        out_flat[0] -= n_out  # ... and are taken out again


class _BandBounds:
    """Boundaries of contiguous bands, for sorting energies inside the kernel."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.lo = float(bounds[0])
        self.hi = float(bounds[-1])
        self.inner = tuple(float(v) for v in bounds[1:-1])


def _flat_index(xy, b, n_bands, grid, ws, offsets, energy=None):
    """Float flat pixel index of each photon (0 for those outside) and the inside mask."""
    n = xy.shape[1]
    npix = grid.npix
    t, e, g = ws.t[:, :n], ws.e[:, :n], ws.g[:, :n]
    good = ws.good[:n]
    m = ws.m[:n]
    # nearest edge j (at most npix - 1: the last bin is closed) ...
    np.multiply(xy, grid.inv, out=t)
    t += grid.shift
    np.minimum(t, npix - 1, out=t)
    np.trunc(t, out=t)
    if grid.arithmetic:
        np.multiply(t, grid.step, out=e)  # == edges[j], bit for bit
        e += grid.lo
    else:  # only if numpy.linspace ever changes its arithmetic (tested by forcing it)
        for a in range(2):
            idx = ws.idx[:n]
            np.copyto(idx, np.maximum(t[a], -1.0), casting="unsafe")
            grid.table.take(idx, out=e[a], mode="clip")
    # ... then bin k = j if x >= edges[j] else j - 1
    if grid.step < 1.0:
        # x - edges[j] has the exact sign of the difference and lies in (-1, 1)
        # for photons inside, so its floor is -1 or 0 (pure float64 passes)
        np.subtract(xy, e, out=e)
        np.floor(e, out=e)
        t += e
    else:
        np.greater_equal(xy, e, out=g)
        np.add(t, g, out=t)
        t -= 1.0
    if grid.symmetric:
        # inside iff -aperture <= x <= aperture on both axes (k >= 0 iff x >= edges[0])
        np.abs(xy, out=e)
        np.maximum(e[0], e[1], out=m)
        np.less_equal(m, grid.hi, out=good)
    else:  # inside iff k >= 0 on the left and x <= the (closed) right edge
        np.greater_equal(t, 0.0, out=g)
        np.logical_and(g[0], g[1], out=good)
        np.less_equal(xy, grid.hi, out=g)
        good &= g[0]
        good &= g[1]
    # flat index = ((offset + band) * npix + kx) * npix + ky
    tx, ty = t
    tx *= npix
    tx += ty
    tmp = ws.tmp[:n]
    if energy is not None:  # contiguous bands: band = number of inner bounds <= E
        energy, bb = energy
        np.greater_equal(energy, bb.lo, out=tmp)
        good &= tmp
        np.less(energy, bb.hi, out=tmp)
        good &= tmp
        if bb.inner:
            np.greater_equal(energy, bb.inner[0], out=tmp)
            np.copyto(m, tmp)
            for bound in bb.inner[1:]:
                np.greater_equal(energy, bound, out=tmp)
                m += tmp
            m *= float(npix * npix)
            tx += m
    elif b is not None:
        np.less(b.view(np.uint8), n_bands, out=tmp)
        good &= tmp
        np.multiply(b, float(npix * npix), out=m)
        tx += m
    if offsets is not None:
        tx += offsets
    np.multiply(tx, good, out=tx)  # photons outside go to pixel 0 ...
    return tx, good


def _careful(xy, b, n_bands, grid, ws, out_flat, offsets, energy=None) -> None:
    """Handle NaN (error), ±inf and huge coordinates (outside the image)."""
    reject_nan_positions(xy[0], xy[1], None)
    # anything beyond ±2 aperture is outside the image; clipping keeps it outside
    lim = 2.0 * max(abs(grid.lo), abs(grid.hi))
    clipped = np.clip(xy, -lim, lim)
    if offsets is not None:
        offsets = offsets.copy()
    _kernel(clipped, b, n_bands, grid, ws, out_flat, offsets, energy)


def plan(counts: np.ndarray) -> list[tuple[int, int]]:
    """Split clusters into consecutive ranges of at most ``_BLOCK`` photons (or one cluster)."""
    tasks = []
    n_cl = counts.size
    if n_cl == 1:
        return [(0, 1)]
    c = 0
    csum = np.concatenate([[0], np.cumsum(counts)])
    while c < n_cl:
        # furthest c1 with csum[c1] - csum[c] <= _BLOCK, at least one cluster
        c1 = int(np.searchsorted(csum, csum[c] + _BLOCK, side="right")) - 1
        c1 = min(max(c1, c + 1), n_cl)
        tasks.append((c, c1))
        c = c1
    return tasks


def run_task(task, xs, ys, bs, n_bands, grid, out, bands=None) -> None:
    """Bin clusters ``task[0]:task[1]``; ``bs`` holds band indices, or energies with ``bands``."""
    try:
        _run_task(task, xs, ys, bs, n_bands, grid, out, bands)
    except InputError:
        # a NaN somewhere in the block: name its cluster and its index there
        for c in range(*task):
            label = c if len(xs) > 1 else None
            reject_nan_positions(xs[c], ys[c], label)
            if bands is not None:
                _reject_nan_energies(bs[c], label)
        raise


def _run_task(task, xs, ys, bs, n_bands, grid, out, bands) -> None:
    c0, c1 = task
    region = out[c0:c1]
    flat = region.reshape(-1)
    ws = _workspace()
    region.fill(0)
    counts = [xs[c].size for c in range(c0, c1)]
    n = sum(counts)
    if n == 0:
        return
    if c1 - c0 == 1:  # one cluster, possibly bigger than a block
        x, y, b = xs[c0], ys[c0], bs[c0]
        for s in range(0, n, _BLOCK):
            k = min(_BLOCK, n - s)
            xy = ws.xy[:, :k]
            xy[0] = x[s : s + k]
            xy[1] = y[s : s + k]
            bb = None if b is None else b[s : s + k]
            bb, energy = _band_args(bb, bands, ws)
            _kernel(xy, bb, n_bands, grid, ws, flat, None, energy)
        return
    xy = ws.xy[:, :n]
    np.concatenate(xs[c0:c1], out=xy[0])
    np.concatenate(ys[c0:c1], out=xy[1])
    if bands is not None:
        b = np.concatenate(bs[c0:c1], out=ws.energy[:n])
    elif bs[c0] is None:
        b = None
    else:
        b = np.concatenate(bs[c0:c1], out=ws.band[:n].view(np.int8))
    plane = float(n_bands * grid.npix * grid.npix)
    offsets = np.repeat(np.arange(c1 - c0) * plane, counts)
    b, energy = _band_args(b, bands, ws)
    _kernel(xy, b, n_bands, grid, ws, flat, offsets, energy)


def _band_args(b, bands, ws):
    """``(codes, energy)`` arguments of `_kernel` for band codes, or energies in ``bands``."""
    if bands is None:
        return b, None
    bounds = _bounds(bands)
    if bounds is None:  # bands with gaps: explicit codes
        return _band_codes(b, bands, ws), None
    _reject_nan_energies(b)
    return None, (b, _band_bounds(bounds))


@functools.lru_cache(maxsize=32)
def _band_bounds(bounds: tuple[float, ...]) -> _BandBounds:
    return _BandBounds(bounds)


def reject_nan_positions(x: np.ndarray, y: np.ndarray, cluster: int | None) -> None:
    """Raise `InputError` naming the first NaN in ``x`` or ``y`` (if any)."""
    where = "" if cluster is None else f" of cluster {cluster}"
    for name, arr in (("x", x), ("y", y)):
        nan = np.isnan(arr)
        if nan.any():
            raise InputError(
                f"photon {name} coordinates{where} contain {int(nan.sum())} NaN value(s) (first "
                f"at index {int(np.flatnonzero(nan)[0])}); remove or mask those events first"
            )
