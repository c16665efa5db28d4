"""Fast, exact binning of photon positions into per-band count images (pure numpy).

The result is, bin for bin, ``np.histogram2d(x[b == k], y[b == k],
bins=[edges, edges])`` for every band ``k`` with
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
Blocks can run on a thread pool: numpy releases the GIL in these loops.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import astropy.units as u
import numpy as np

from ._images_bands import _MAX_BANDS, _as_energies, _band_codes, _bounds, _reject_nan_energies
from .bands import get_bands
from .exceptions import InputError

__all__ = ["bin_events", "bin_many", "image_edges"]

#: Photons per kernel call: arrays of this size stay in the CPU cache.
_BLOCK = 1 << 15


def image_edges(npix: int, aperture: float) -> np.ndarray:
    """Pixel edges ``np.linspace(-aperture, aperture, npix + 1)`` of the comoving grid.

    Parameters
    ----------
    npix : int
        Number of pixels per side.
    aperture : float
        Half-width of the image in comoving h⁻¹ Mpc.

    Returns
    -------
    edges : ndarray, shape (npix + 1,)

    Examples
    --------
    >>> image_edges(4, 2.0).tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0]
    """
    npix, aperture = _check_grid(npix, aperture)
    return np.linspace(-aperture, aperture, npix + 1)


def _check_grid(npix: Any, aperture: Any) -> tuple[int, float]:
    if isinstance(aperture, u.Quantity):
        aperture = aperture.to_value(u.Mpc)  # h⁻¹ Mpc by convention
    try:
        npix_i = int(npix)
    except (TypeError, ValueError) as err:
        raise InputError(f"npix must be a positive integer; got {npix!r}") from err
    if npix_i != npix or npix_i < 1:
        raise InputError(f"npix must be a positive integer; got {npix!r}")
    aperture = float(aperture)
    if not np.isfinite(aperture) or aperture <= 0:
        raise InputError(f"aperture must be a positive finite half-width; got {aperture!r}")
    return npix_i, aperture


class _Grid:
    """Constants of one (npix, aperture) grid used by the kernel."""

    def __init__(self, npix: int, aperture: float) -> None:
        self.npix = npix
        self.edges = np.linspace(-aperture, aperture, npix + 1)
        self.lo = float(self.edges[0])
        self.hi = float(self.edges[-1])
        # the same step numpy.linspace multiplies by
        self.step = (self.hi - self.lo) / npix
        self.inv = npix / (self.hi - self.lo)
        self.shift = 0.5 - self.lo * self.inv
        # edges[j] == j * step + lo bit for bit? (true for numpy's linspace)
        j = np.arange(npix, dtype=float)
        self.arithmetic = bool(np.array_equal(j * self.step + self.lo, self.edges[:-1]))
        self.table = self.edges[:-1].copy()
        # edges[0] == -edges[-1]: the inside test can use |x| <= aperture
        self.symmetric = bool(self.lo == -self.hi)


@functools.lru_cache(maxsize=16)
def _grid(npix: int, aperture: float) -> _Grid:
    return _Grid(npix, aperture)


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
    for a, name in enumerate("xy"):
        nan = np.isnan(xy[a])
        if nan.any():
            raise InputError(
                f"photon {name} coordinates contain {int(nan.sum())} NaN value(s) (first at "
                f"index {int(np.flatnonzero(nan)[0])}); remove or mask those events first"
            )
    # anything beyond ±2 aperture is outside the image; clipping keeps it outside
    lim = 2.0 * max(abs(grid.lo), abs(grid.hi))
    clipped = np.clip(xy, -lim, lim)
    if offsets is not None:
        offsets = offsets.copy()
    _kernel(clipped, b, n_bands, grid, ws, out_flat, offsets, energy)


def _as_positions(values: Any, name: str) -> np.ndarray:
    if type(values) is np.ndarray and values.dtype == np.float64 and values.ndim == 1:
        return values if values.flags.c_contiguous else np.ascontiguousarray(values)
    if isinstance(values, u.Quantity):
        values = values.to_value(u.Mpc)
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of positions; got shape {arr.shape}")
    return arr


def _as_band_index(values: Any, n: int, n_bands: int, name: str) -> np.ndarray | None:
    if values is None:
        if n_bands != 1:
            raise InputError(
                f"band indices are required when n_bands={n_bands}; compute them with "
                "assign_bands(energy, bands)"
            )
        return None
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise InputError(f"{name} must have one entry per photon ({n}); got shape {arr.shape}")
    if arr.dtype == np.int8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iub":
        raise InputError(f"{name} must hold integer band indices; got dtype {arr.dtype}")
    # anything outside [-1, n_bands] is dropped either way
    return np.clip(arr, -1, n_bands).astype(np.int8)


def _check_n_bands(n_bands: Any) -> int:
    nb = int(n_bands)
    if nb != n_bands or not 1 <= nb <= _MAX_BANDS:
        raise InputError(f"n_bands must be an integer in [1, {_MAX_BANDS}]; got {n_bands!r}")
    return nb


def bin_events(
    x: Any,
    y: Any,
    band_index: Any = None,
    n_bands: int = 1,
    npix: int = 128,
    aperture: float = 2.3,
) -> np.ndarray:
    """Count photons on the comoving grid, per band: an exact, fast `numpy.histogram2d`.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Comoving offsets from the cluster centre in h⁻¹ Mpc (see
        `EventList.to_comoving <astroclustermass.events.EventList.to_comoving>`).
    band_index : array-like of int, shape (n,), optional
        Band of each photon (``-1`` or ``>= n_bands``: in no band, dropped),
        e.g. from `assign_bands`. Without it every photon is in band 0.
    n_bands : int
        Number of bands (output planes).
    npix : int
        Pixels per side.
    aperture : float
        Half-width of the image in h⁻¹ Mpc; edges are
        ``np.linspace(-aperture, aperture, npix + 1)``.

    Returns
    -------
    counts : ndarray of int32, shape (n_bands, npix, npix)
        ``counts[k]`` equals ``np.histogram2d(x[b == k], y[b == k],
        bins=[edges, edges])[0]`` exactly (``i`` along ``x``, ``j`` along
        ``y``, last bin closed on the right).

    Raises
    ------
    InputError
        NaN positions, mismatched lengths, non-integer band indices.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-2.3, 0.0, 0.1, 2.3, 2.4])
    >>> y = np.array([0.0, 0.0, -0.1, 2.3, 0.0])
    >>> img = bin_events(x, y, np.array([0, 0, 1, 1, 1]), n_bands=2, npix=4, aperture=2.3)
    >>> img.shape, img.dtype.name, img.sum(axis=(1, 2)).tolist()
    ((2, 4, 4), 'int32', [2, 2])
    >>> edges = np.linspace(-2.3, 2.3, 5)
    >>> bool((img[1] == np.histogram2d(x[2:], y[2:], bins=[edges, edges])[0]).all())
    True
    """
    x = _as_positions(x, "x")
    y = _as_positions(y, "y")
    if x.shape != y.shape:
        raise InputError(f"x and y must have the same length; got {x.size} and {y.size}")
    n_bands = _check_n_bands(n_bands)
    b = _as_band_index(band_index, x.size, n_bands, "band_index")
    return bin_many([x], [y], None if b is None else [b], n_bands, npix, aperture)[0]


def bin_many(
    xs: Sequence[Any],
    ys: Sequence[Any],
    band_indices: Sequence[Any] | None = None,
    n_bands: int = 1,
    npix: int = 128,
    aperture: float = 2.3,
    *,
    out: np.ndarray | None = None,
    n_jobs: int | None = 1,
    energies: Sequence[Any] | None = None,
    bands: Any = None,
) -> np.ndarray:
    """Bin the photons of many clusters at once (see `bin_events`).

    Small clusters are processed together in cache-sized blocks; blocks can
    run on a thread pool (numpy releases the GIL in the kernel).

    Parameters
    ----------
    xs, ys : sequence of array-like
        Per-cluster comoving offsets in h⁻¹ Mpc.
    band_indices : sequence of array-like of int, optional
        Per-cluster band indices (see `bin_events`); None puts every photon
        in band 0 (``n_bands`` must then be 1).
    n_bands, npix, aperture
        As in `bin_events`.
    out : ndarray of int32, shape (n_clusters, n_bands, npix, npix), optional
        Overwritten with the counts (saves allocating a new array).
    n_jobs : int or None
        Worker threads; None or -1 uses every CPU (at most 8).
    energies : sequence of array-like, optional
        Per-cluster photon energies (keV or Quantity) to sort into ``bands``
        instead of giving ``band_indices``; ``n_bands`` is then taken from
        ``bands``. The band assignment runs inside the (parallel) blocks.
    bands : `~astroclustermass.bands.EnergyBands` or str, optional
        The bands for ``energies``.

    Returns
    -------
    counts : ndarray of int32, shape (n_clusters, n_bands, npix, npix)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xs = [rng.normal(0, 1, n) for n in (10, 0, 500)]
    >>> ys = [rng.normal(0, 1, n) for n in (10, 0, 500)]
    >>> imgs = bin_many(xs, ys, npix=16, aperture=2.3)
    >>> imgs.shape
    (3, 1, 16, 16)
    >>> edges = np.linspace(-2.3, 2.3, 17)
    >>> bool((imgs[2, 0] == np.histogram2d(xs[2], ys[2], bins=[edges, edges])[0]).all())
    True
    """
    npix, aperture = _check_grid(npix, aperture)
    if energies is not None:
        if band_indices is not None:
            raise InputError("give either band_indices or energies (with bands), not both")
        if bands is None:
            raise InputError("energies need bands=... (an EnergyBands or a preset name)")
        bands = get_bands(bands)
        n_bands = bands.n_bands
        if len(energies) != len(xs):
            raise InputError(
                f"energies must list the same clusters as xs; got {len(energies)} and {len(xs)}"
            )
    n_bands = _check_n_bands(n_bands)
    if len(xs) != len(ys):
        raise InputError(f"xs and ys must list the same clusters; got {len(xs)} and {len(ys)}")
    if band_indices is not None and len(band_indices) != len(xs):
        raise InputError(
            f"band_indices must list the same clusters as xs; got {len(band_indices)} and {len(xs)}"
        )
    n_cl = len(xs)
    xs_c, ys_c, bs_c = [], [], []
    for c in range(n_cl):
        x = _as_positions(xs[c], f"xs[{c}]")
        y = _as_positions(ys[c], f"ys[{c}]")
        if x.shape != y.shape:
            raise InputError(f"xs[{c}] and ys[{c}] have different lengths ({x.size}, {y.size})")
        xs_c.append(x)
        ys_c.append(y)
        if energies is not None:
            en = _as_energies(energies[c], f"energies[{c}]")
            if en.shape != x.shape:
                raise InputError(
                    f"energies[{c}] has {en.size} entries but xs[{c}] has {x.size} photons"
                )
            bs_c.append(en)
        else:
            bi = None if band_indices is None else band_indices[c]
            bs_c.append(_as_band_index(bi, x.size, n_bands, f"band_indices[{c}]"))
    shape = (n_cl, n_bands, npix, npix)
    if out is None:
        out = np.empty(shape, dtype=np.int32)
    elif out.shape != shape or out.dtype != np.int32 or not out.flags.c_contiguous:
        raise InputError(
            f"out must be a C-contiguous int32 array of shape {shape}; got {out.dtype} {out.shape}"
        )
    grid = _grid(npix, aperture)
    tasks = _plan(np.fromiter((x.size for x in xs_c), np.intp, n_cl))

    def run(task: tuple[int, int]) -> None:
        _run_task(
            task, xs_c, ys_c, bs_c, n_bands, grid, out, bands if energies is not None else None
        )

    workers = _n_workers(n_jobs, len(tasks))
    if workers == 1:
        for task in tasks:
            run(task)
    else:
        for _ in _executor(workers).map(run, tasks):
            pass
    return out


_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """A thread pool kept for reuse (creating one per call costs ~0.5 ms)."""
    with _executors_lock:
        pool = _executors.get(workers)
        if pool is None:
            pool = _executors[workers] = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="acm-binning"
            )
        return pool


def _n_workers(n_jobs: int | None, n_tasks: int) -> int:
    if n_jobs is None or n_jobs == -1:
        n_jobs = min(os.cpu_count() or 1, 8)
    n_jobs = int(n_jobs)
    if n_jobs < 1:
        raise InputError(f"n_jobs must be a positive integer, -1 or None; got {n_jobs}")
    return max(1, min(n_jobs, n_tasks))


def _plan(counts: np.ndarray) -> list[tuple[int, int]]:
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


def _run_task(task, xs, ys, bs, n_bands, grid, out, bands=None) -> None:
    """Bin clusters ``task[0]:task[1]``; ``bs`` holds band indices, or energies with ``bands``."""
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
