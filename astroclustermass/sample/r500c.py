"""R500c without the truth (L2): the iterative aperture, `iterative_r500c`.

The N_phot,500c proxy counts photons within R500c, and on real data R500c
comes from the mass being measured. The standard way out is a fixed-point
iteration: start from a trial radius, count the photons inside it, turn the
counts into a mass with a calibrated relation, recompute
``R500c = (1 + z) (3 M / (4π 500 ρ_c(z)))^(1/3)``
(`~astroclustermass.cosmology.r500c_comoving`) and repeat until the radius
stops moving. With ``N ∝ R^a`` near R500c and ``M ∝ N^(1/α)`` the step
contracts by ``a / (3 α)`` (≈ 0.3-0.6 for cluster profiles), so a few
iterations reach the default relative tolerance of
`~astroclustermass._utils.defaults.R500C_RTOL` (1e-3); clusters still moving
after `~astroclustermass._utils.defaults.R500C_MAX_ITER` (50) iterations, or
whose counts give no mass, are flagged and warned about (`ConvergenceWarning`).

Counts come from the stored images of the main band set (the one
``n_phot_500c`` counts: ``bolometric`` when built, else the first), summed
over bands, with each pixel's counts spread uniformly over the pixel (8 × 8
sub-pixels): the count within a radius is a continuous function of it, so
the iteration has a fixed point rather than a pixel-step cycle. At the true
R500c this matches the photon-level ``n_phot_500c`` of the build to a
fraction of its Poisson noise (``tests/test_r500c.py``).

Examples
--------
>>> import numpy as np
>>> from astroclustermass.sample import ClusterSample
>>> img = np.zeros((1, 1, 32, 32), np.int32); img[0, 0, 14:18, 14:18] = 50
>>> s = ClusterSample.from_arrays({"redshift": [0.2]}, images={"bolometric": img})
>>> out = iterative_r500c(s, lambda n, z: 12.0 + np.log10(n))
>>> bool(out.observables["r500c_converged"][0]), round(float(out.observables["n_phot_500c"][0]))
(True, 800)
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils import defaults
from ..cosmology import r500c_comoving
from ..exceptions import ConvergenceWarning, InputError

__all__ = ["iterative_r500c", "counts_within", "radial_count_profiles"]

_SUBPIXELS = 8
_CHUNK = 256  # clusters per image read


def _radial_weights(npix: int, aperture: float, radii: np.ndarray) -> np.ndarray:
    """(npix², n_r) fraction of each pixel within each radius (8 × 8 sub-pixels)."""
    step = 2.0 * aperture / npix
    sub = (np.arange(_SUBPIXELS) + 0.5) / _SUBPIXELS
    centres = -aperture + step * (np.arange(npix)[:, None] + sub[None, :])  # (npix, S)
    r = np.hypot(centres[:, None, :, None], centres[None, :, None, :])  # (i, j, S, S)
    r = r.reshape(npix * npix, _SUBPIXELS * _SUBPIXELS)
    first = np.searchsorted(radii, r, side="left")  # the first radius >= r holds it
    w = np.zeros((npix * npix, radii.size + 1), np.float64)
    np.add.at(w, (np.repeat(np.arange(npix * npix), r.shape[1]), first.ravel()), 1.0)
    return (np.cumsum(w, axis=1)[:, :-1] / r.shape[1]).astype(np.float32)


def _main_band_set(sample: Any) -> str:
    build = getattr(sample, "meta", {}).get("build", {})
    name = build.get("main_band_set")
    if name in sample.band_sets:
        return name
    return "bolometric" if "bolometric" in sample.band_sets else next(iter(sample.band_sets))


def radial_count_profiles(
    sample: Any, bands: Any = None, n_radii: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts within each radius of a grid, per cluster: ``(radii, profiles)``.

    Parameters
    ----------
    sample : ClusterSample
    bands : str or EnergyBands, optional
        Band set of the images (default: the one ``n_phot_500c`` counts).
    n_radii : int, optional
        Radii ``linspace(0, aperture, n_radii)`` (default ``2 npix + 1``:
        a quarter pixel apart).

    Returns
    -------
    radii : ndarray (n_r,)
        Comoving h⁻¹ Mpc.
    profiles : ndarray (N, n_r)
        Counts within each radius (pixels spread uniformly over 8 × 8 sub-pixels).

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"redshift": [0.2]},
    ...                               images={"bolometric": np.ones((1, 1, 8, 8), np.int32)})
    >>> r, prof = radial_count_profiles(s)
    >>> disc = np.pi * 2.3**2 / (4.6 / 8) ** 2  # pixels inside the inscribed circle
    >>> r.shape, bool(abs(prof[0, -1] / disc - 1) < 0.01)
    ((17,), True)
    """
    name = _main_band_set(sample) if bands is None else sample.band_set_name(bands)
    npix, aperture = int(sample.npix), float(sample.aperture)
    n_r = 2 * npix + 1 if n_radii is None else int(n_radii)
    if n_r < 2:
        raise InputError(f"n_radii must be at least 2; got {n_radii!r}")
    radii = np.linspace(0.0, aperture, n_r)
    weights = _radial_weights(npix, aperture, radii)
    images = sample.images(name)
    out = np.empty((len(sample), n_r), np.float64)
    for a in range(0, len(sample), _CHUNK):
        block = np.asarray(images[a : a + _CHUNK], dtype=np.float32).sum(axis=1)
        out[a : a + _CHUNK] = block.reshape(block.shape[0], -1) @ weights
    return radii, out


def counts_within(radii: np.ndarray, profiles: np.ndarray, radius: Any) -> np.ndarray:
    """Counts within ``radius`` (per cluster) by linear interpolation of the profiles.

    Examples
    --------
    >>> import numpy as np
    >>> counts_within(np.array([0.0, 1.0]), np.array([[0.0, 10.0]]), [0.25]).tolist()
    [2.5]
    """
    radius = np.clip(np.asarray(radius, dtype=float), radii[0], radii[-1])
    pos = (radius - radii[0]) / (radii[1] - radii[0])
    k = np.clip(np.floor(pos).astype(np.int64), 0, radii.size - 2)
    f = pos - k
    rows = np.arange(profiles.shape[0])
    return (1.0 - f) * profiles[rows, k] + f * profiles[rows, k + 1]


def _relation(relation: Any, sample: Any) -> tuple[Callable, str]:
    """``f(counts, redshift, rows) -> log10 M500c`` and a name for the meta."""
    if hasattr(relation, "predict"):
        names = list(getattr(relation, "observables_", None) or [])
        if len(names) != 1:
            raise InputError(
                "relation= must be a fitted single-observable estimator (e.g. power_law on "
                f"n_phot_500c) or a function f(counts, redshift); got observables {names}"
            )
        col = names[0]
        base = sample.observables if sample.observables is not None else Table({"id": sample.ids})

        def f(counts, z, rows):
            view = sample[rows]
            obs = base[rows]
            obs[col] = counts
            view._observables = obs
            with warnings.catch_warnings():  # range/domain warnings of trial radii
                warnings.simplefilter("ignore")
                return np.asarray(relation.predict(view)["log10_m500c"], float)

        return f, f"{getattr(relation, 'name', type(relation).__name__)}({col})"
    if callable(relation):
        return (lambda counts, z, rows: np.asarray(relation(counts, z), float)), getattr(
            relation, "__name__", "function"
        )
    raise InputError(
        "relation= must be a fitted estimator with predict() or a function "
        f"f(counts, redshift) -> log10 M500c (h^-1 Msun); got {type(relation).__name__}"
    )


def iterative_r500c(
    sample: Any,
    relation: Any,
    *,
    rtol: float = defaults.R500C_RTOL,
    max_iter: int = defaults.R500C_MAX_ITER,
    start_log10_mass: float = 14.0,
    bands: Any = None,
) -> Any:
    """A copy of ``sample`` whose ``n_phot_500c`` is counted within an iterated R500c.

    Parameters
    ----------
    sample : ClusterSample
        Images of the clusters (no truth R500c needed).
    relation : fitted MassEstimator or callable
        Counts → mass: an estimator fitted on one observable (e.g.
        ``power_law`` on ``n_phot_500c`` of a calibration sample; its
        ``predict`` is called on the trial counts) or ``f(counts, redshift)``
        returning log10 M500c in h⁻¹ M☉.
    rtol : float
        Converged when ``|R_k+1 − R_k| < rtol · R_k``.
    max_iter : int
        Iteration cap.
    start_log10_mass : float
        The trial radius is R500c of this mass (log10 h⁻¹ M☉) at each redshift.
    bands : str or EnergyBands, optional
        Band set counted (default: the one ``n_phot_500c`` counts).

    Returns
    -------
    ClusterSample
        The same arrays; ``observables`` gets ``n_phot_500c`` (counts within
        the iterated R500c; the build's value, if any, moves to
        ``n_phot_500c_catalog``), ``r500c_iter`` (comoving h⁻¹ Mpc),
        ``r500c_n_iter`` and ``r500c_converged`` (and, when the sample has
        exposures, ``exposure_500c`` and ``rate_500c`` within the iterated
        radius: `~astroclustermass.sample.depth.with_count_rates`); ``meta['build']`` gets
        ``r500c_source`` (a sentence the benchmark report prints) and
        ``r500c_iteration`` (the settings and how many converged).

    Warns
    -----
    ConvergenceWarning
        Naming the clusters that did not converge (the cap was reached, the
        radius hit the image edge, or the counts gave no finite mass).

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"redshift": [0.2]},
    ...                               images={"bolometric": np.ones((1, 1, 16, 16), np.int32)})
    >>> out = iterative_r500c(s, lambda n, z: 13.0 + np.log10(n))
    >>> int(out.observables["r500c_n_iter"][0]) > 1, out.meta["build"]["r500c_source"][:13]
    (True, 'iterative R50')
    """
    rtol = float(rtol)
    max_iter = int(max_iter)
    if not (np.isfinite(rtol) and rtol > 0) or max_iter < 1:
        raise InputError(f"rtol must be > 0 and max_iter >= 1; got {rtol!r}, {max_iter!r}")
    f, name = _relation(relation, sample)
    radii, profiles = radial_count_profiles(sample, bands)
    z = np.asarray(sample.catalog["redshift"], dtype=float)
    n = len(sample)
    r = np.asarray(r500c_comoving(10.0 ** float(start_log10_mass), z, sample.cosmology), float)
    r = np.clip(r, radii[1], radii[-1])
    n_iter = np.zeros(n, np.int64)
    converged = np.zeros(n, bool)
    failed = np.zeros(n, bool)
    active = np.arange(n)
    for _ in range(max_iter):
        if active.size == 0:
            break
        counts = counts_within(radii, profiles[active], r[active])
        log_m = f(counts, z[active], active)
        new = np.asarray(r500c_comoving(10.0**log_m, z[active], sample.cosmology), float)
        bad = ~np.isfinite(new) | (new <= 0)
        new = np.clip(np.where(bad, r[active], new), radii[1], radii[-1])
        n_iter[active] += 1
        done = np.abs(new - r[active]) < rtol * r[active]
        r[active] = new
        failed[active[bad]] = True
        converged[active[done & ~bad]] = True
        active = active[~done & ~bad]
    edge = converged & (r >= radii[-1])
    converged &= ~edge
    r[failed] = np.nan
    counts = counts_within(radii, profiles, np.nan_to_num(r, nan=radii[1]))
    counts[failed] = np.nan

    out = sample[np.arange(n)]
    obs = Table({"id": sample.ids}) if sample.observables is None else sample.observables.copy()
    if "n_phot_500c" in obs.colnames:
        obs.rename_column("n_phot_500c", "n_phot_500c_catalog")
    obs["n_phot_500c"] = counts
    obs["r500c_iter"] = r
    obs["r500c_iter"].description = "iterated R500c, comoving h^-1 Mpc"
    obs["r500c_n_iter"] = n_iter
    obs["r500c_converged"] = converged
    out._observables = obs
    if "exposure" in obs.colnames or "exposure" in sample.catalog.colnames:
        from .depth import with_count_rates

        out = with_count_rates(out)  # rate_500c and exposure_500c within the iterated R500c
    bad_ids = sample.ids[~converged].tolist()
    if bad_ids:
        warnings.warn(
            f"iterative R500c did not converge for {len(bad_ids)} of {n} cluster(s) (ids "
            f"{bad_ids[:20]}{' ...' if len(bad_ids) > 20 else ''}): {int(failed.sum())} gave no "
            f"finite mass, {int(edge.sum())} reached the image edge, the rest were still moving "
            f"after {max_iter} iterations (rtol {rtol:g}); see observables['r500c_converged']",
            ConvergenceWarning,
            stacklevel=2,
        )
    out.meta = copy.deepcopy(sample.meta)
    build = out.meta.setdefault("build", {})
    build["r500c_source"] = (
        f"iterative R500c without the truth: counts -> {name} -> R500c, rtol {rtol:g}, at most "
        f"{max_iter} iterations, {int(converged.sum())}/{n} converged (median "
        f"{int(np.median(n_iter)) if n else 0} iterations)"
    )
    build["r500c_iteration"] = {
        "relation": name,
        "rtol": rtol,
        "max_iter": max_iter,
        "start_log10_mass": float(start_log10_mass),
        "n_converged": int(converged.sum()),
        "counted_band_set": _main_band_set(sample) if bands is None else str(bands),
    }
    return out
