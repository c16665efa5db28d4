"""Fast, exact binning of photon positions into per-band count images.

The result is, bin for bin, ``np.histogram2d(x[b == k], y[b == k],
bins=[edges, edges])`` for every band ``k`` with
``edges = np.linspace(-aperture, aperture, npix + 1)`` — including photons
that lie exactly on a bin edge (they go to the bin on the right, as
`numpy.searchsorted` with ``side='right'`` puts them) and on the outer right
edge ``+aperture`` (counted in the last bin, which is closed as in
`numpy.histogramdd`).

Two kernels compute it:

* ``"numba"`` (`astroclustermass.images._kernel_numba`, used when numba is
  installed): one compiled call per cluster writes that cluster's int32 image;
  the call releases the GIL, so a thread pool spreads clusters over the CPU
  cores.
* ``"numpy"`` (`astroclustermass.images._kernel_numpy`): photons of many small
  clusters are concatenated into cache-sized blocks and binned with a short
  sequence of whole-array numpy operations.

``backend="auto"`` picks numba when it can be imported (and ``NUMBA_DISABLE_JIT``
is not set). The tests check both against `numpy.histogram2d`.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import astropy.units as u
import numpy as np

from .._utils import check_grid, defaults
from ..bands import get_bands
from ..exceptions import AstroClusterMassWarning, InputError
from . import _kernel_numpy
from .band_codes import (
    _MAX_BANDS,
    _as_energies,
    _band_codes,
    _bounds,
    _reject_nan_energies,
)

__all__ = ["BACKENDS", "bin_events", "bin_many", "binning_backend", "image_edges"]

#: Names accepted by the ``backend`` argument of `bin_many` and `bin_events`.
BACKENDS = ("auto", "numba", "numpy")


#: Photons per kernel call: arrays of this size stay in the CPU cache.
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
    npix, aperture = check_grid(npix, aperture)
    return np.linspace(-aperture, aperture, npix + 1)


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
        if n_bands != 1 and n > 0:  # with no photons there is nothing to sort into bands
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
    npix: int = defaults.NPIX,
    aperture: float = defaults.APERTURE,
    *,
    backend: str = "auto",
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
    backend : {"auto", "numba", "numpy"}
        Binning kernel (see `binning_backend`); every choice gives the same
        counts.

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
    bs = None if b is None else [b]
    return bin_many([x], [y], bs, n_bands, npix, aperture, backend=backend)[0]


def bin_many(
    xs: Sequence[Any],
    ys: Sequence[Any],
    band_indices: Sequence[Any] | None = None,
    n_bands: int = 1,
    npix: int = defaults.NPIX,
    aperture: float = defaults.APERTURE,
    *,
    out: np.ndarray | None = None,
    n_jobs: int | None = 1,
    energies: Sequence[Any] | None = None,
    bands: Any = None,
    backend: str = "auto",
) -> np.ndarray:
    """Bin the photons of many clusters at once (see `bin_events`).

    With numba each cluster is one compiled call that releases the GIL, and
    ``n_jobs`` threads share the clusters; without it small clusters are
    binned together in cache-sized blocks of numpy operations.

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
    backend : {"auto", "numba", "numpy"}
        Binning kernel: ``"auto"`` is numba when installed (see
        `binning_backend`). All give the same counts.

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
    npix, aperture = check_grid(npix, aperture)
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}; got {backend!r}")
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
    bands = bands if energies is not None else None
    jit = _use_jit(backend, grid, n_bands)
    if jit is not None:
        _run_jit(jit, xs_c, ys_c, bs_c, grid, out, bands, n_jobs)
        return out
    tasks = _kernel_numpy.plan(np.fromiter((x.size for x in xs_c), np.intp, n_cl))

    def run(task: tuple[int, int]) -> None:
        _kernel_numpy.run_task(task, xs_c, ys_c, bs_c, n_bands, grid, out, bands)

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


def binning_backend() -> str:
    """The kernel ``backend="auto"`` uses here: ``"numba"`` or ``"numpy"``.

    numba is used when it can be imported and ``NUMBA_DISABLE_JIT`` is not
    set; its kernels are compiled on first use and cached on disk.

    Examples
    --------
    >>> binning_backend() in ("numba", "numpy")
    True
    """
    return "numba" if _jit_module() is not None else "numpy"


@functools.lru_cache(maxsize=1)
def _jit_module() -> ModuleType | None:
    """The compiled kernels, compiled (or loaded from numba's cache) and checked once."""
    try:
        import numba
    except ImportError:
        return None
    if numba.config.DISABLE_JIT:  # the kernels would run as (very slow) Python
        return None
    try:
        jit = importlib.import_module("._kernel_numba", __package__)
        _self_check(jit)
    except Exception as err:  # a numba that cannot compile, cache or run our kernel
        warnings.warn(
            f"the compiled binning kernel is unavailable ({type(err).__name__}: {err}); "
            "binning with numpy instead (same counts, about half the speed)",
            AstroClusterMassWarning,
            stacklevel=2,
        )
        return None
    return jit


def _self_check(jit: ModuleType) -> None:
    """Bin a few edge cases with the compiled kernel and compare with `numpy.histogram2d`."""
    x = np.array([-1.0, 0.0, 1.0, 1.0, 1.0 + 1e-12, -1.0 - 1e-12, np.inf, 0.5])
    y = np.array([0.0, -1.0, 1.0, 0.25, 0.0, 0.0, 0.0, -0.5])
    codes = np.array([0, 1, 0, 1, 0, 0, 0, 5], np.int8)
    grid = _grid(4, 1.0)
    image = np.full((2, 4, 4), 7, np.int32)
    idx = np.empty(jit.BLOCK, np.int32)
    consts = (grid.lo, grid.hi, grid.step, grid.inv)
    jit.bin_cluster(x, y, codes, jit.NO_ENERGIES, jit.NO_ENERGIES, image, *consts, idx)
    edges = grid.edges
    want = [np.histogram2d(x[codes == k], y[codes == k], bins=[edges, edges])[0] for k in (0, 1)]
    if not np.array_equal(image, np.stack(want)):
        raise RuntimeError("its counts differ from numpy.histogram2d on a self-check")


def _use_jit(backend: str, grid: _Grid, n_bands: int) -> ModuleType | None:
    """The numba kernels if ``backend`` asks for them (or allows them) and they apply."""
    if backend == "numpy":
        return None
    jit = _jit_module()
    if jit is None:
        if backend == "numba":
            raise InputError(
                "backend='numba' needs numba (pip install numba); use backend='auto' or 'numpy'"
            )
        return None
    # the kernel recomputes edges as j * step + lo and indexes images with int32
    if not grid.arithmetic or n_bands * grid.npix * grid.npix >= 2**31:
        return None
    return jit


#: Smallest call (photons plus image pixels / 16) that `_run_jit` spreads over threads.
_PARALLEL_MIN = 1 << 19


def _run_jit(jit, xs, ys, bs, grid, out, bands, n_jobs) -> None:
    """Bin every cluster with one compiled call each, on ``n_jobs`` threads."""
    n_cl = len(xs)
    bounds = None if bands is None else _bounds(bands)
    bounds = jit.NO_ENERGIES if bounds is None else np.asarray(bounds)
    consts = (grid.lo, grid.hi, grid.step, grid.inv)

    def one(c: int, idx: np.ndarray) -> None:
        x, y, b, image = xs[c], ys[c], bs[c], out[c]
        label = c if n_cl > 1 else None
        codes, energies = jit.NO_CODES, jit.NO_ENERGIES
        if bands is not None and bounds.size:
            energies = b
        elif bands is not None:  # bands with gaps: codes first
            codes = _band_codes(b, bands, cluster=label)
        elif b is not None:
            codes = b
        nan_xy, nan_e = jit.bin_cluster(x, y, codes, energies, bounds, image, *consts, idx)
        if nan_xy:
            _kernel_numpy.reject_nan_positions(x, y, label)
        if nan_e:
            _reject_nan_energies(b, label)

    def run(clusters: range) -> None:
        idx = np.empty(jit.BLOCK, np.int32)
        for c in clusters:
            one(c, idx)

    # per-cluster cost in photons: the photons, zeroing the image, the call
    sizes = np.fromiter((x.size for x in xs), np.float64, n_cl)
    cost = sizes + out[0].size / 16.0 + 400.0 if n_cl else sizes
    workers = _n_workers(n_jobs, n_cl)
    if cost.sum() < _PARALLEL_MIN:  # handing work to a thread costs ~0.1 ms
        workers = 1
    if workers == 1:
        run(range(n_cl))
        return
    parts = _split(cost, workers)
    for _ in _executor(workers).map(run, parts):
        pass


def _split(cost: np.ndarray, n_parts: int) -> list[range]:
    """Consecutive ranges of clusters with about equal total cost."""
    csum = np.cumsum(cost)
    cuts = np.searchsorted(csum, csum[-1] * np.arange(1, n_parts) / n_parts, side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [cost.size]]))
    return [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
