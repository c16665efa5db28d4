"""Halo population: masses, snapshot redshifts, box and sky positions, radii.

The paper's 3,285 Magneticum clusters sit on 11 snapshots (z = 0.066–0.470)
and span log10 M500c = 13.50–15.07 with a median of 13.94 (Ho et al. 2023,
Table 1): the selection flattened the steep halo mass function but could not
fill the high-mass end of a 352 h⁻¹ Mpc box. We draw

    dn/dlog10 M ∝ 10^(−β (x − x_min)) exp(−10^(x − x_cut(z))),

truncated to [``mass_min``, ``mass_max``], with x_cut(z) = ``mass_cutoff`` +
``mass_cutoff_dz`` z (fewer giants at high redshift), and spread the clusters
over the snapshots with weights ∝ exp(−k z) (k = ``snapshot_weight_slope``),
roughly uniform but with the median at z = 0.21 as in Table 1. Radii follow from the spherical-overdensity
definition, R500c = (3 M / (4π 500 ρ_c(z)))^(1/3), given here in *comoving*
h⁻¹ Mpc; M200c and R200c come from an NFW profile with the Duffy et al.
(2008) concentration–mass relation.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.halos import r500c_comoving
>>> round(float(r500c_comoving(1e14, 0.0)), 3)
0.556
"""

from __future__ import annotations

import numpy as np

from ..cosmology import RHO_CRIT0, get_cosmology, r500c_comoving
from .config import SNAPSHOT_REDSHIFTS, MockConfig

__all__ = [
    "RHO_CRIT0",
    "r500c_comoving",
    "nfw_m200c",
    "mass_pdf",
    "sample_halos",
]


def _mu(y):
    return np.log1p(y) - y / (1.0 + y)


# R500/R200 as a function of the NFW concentration c200 (tabulated once)
_C_GRID = np.geomspace(0.5, 40.0, 400)


def _x500_of_c(c: np.ndarray) -> np.ndarray:
    # solve mu(c x)/mu(c) = 2.5 x^3 for x = R500/R200 by bisection (vectorised)
    lo = np.full_like(c, 0.2)
    hi = np.ones_like(c)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        f = _mu(c * mid) / _mu(c) - 2.5 * mid**3
        lo = np.where(f > 0, mid, lo)
        hi = np.where(f > 0, hi, mid)
    return 0.5 * (lo + hi)


_X500_GRID = _x500_of_c(_C_GRID)


def nfw_m200c(m500c, z, rng: np.random.Generator | None = None, sigma_lnc: float = 0.0):
    """Convert M500c to (M200c, c200c) for an NFW halo (Duffy et al. 2008 c–M).

    c200 = 5.71 (M200 / 2×10¹² h⁻¹M☉)^−0.084 (1 + z)^−0.47, optionally with
    log-normal scatter ``sigma_lnc``; solved by fixed-point iteration.

    Parameters
    ----------
    m500c : array
        Masses in h⁻¹ M☉.
    z : array
        Redshifts.
    rng : numpy Generator, optional
        Needed when ``sigma_lnc > 0``.
    sigma_lnc : float
        Log-normal scatter of the concentration.

    Returns
    -------
    m200c, c200c : ndarray
        M200c in h⁻¹ M☉ and the concentration.

    Examples
    --------
    >>> m200, c = nfw_m200c([1e14], [0.1])
    >>> 1.3 < float(m200[0] / 1e14) < 1.5, 3.5 < float(c[0]) < 5.5
    (True, True)
    """
    m500 = np.atleast_1d(np.asarray(m500c, dtype=float))
    z = np.broadcast_to(np.asarray(z, dtype=float), m500.shape)
    scatter = np.ones_like(m500)
    if sigma_lnc > 0:
        if rng is None:
            raise ValueError("nfw_m200c needs rng when sigma_lnc > 0")
        scatter = np.exp(sigma_lnc * rng.standard_normal(m500.shape))
    m200 = 1.4 * m500
    for _ in range(8):
        c = 5.71 * (m200 / 2e12) ** -0.084 * (1 + z) ** -0.47 * scatter
        x = np.interp(c, _C_GRID, _X500_GRID)
        m200 = m500 * 0.4 / x**3
    c = 5.71 * (m200 / 2e12) ** -0.084 * (1 + z) ** -0.47 * scatter
    return m200, c


def mass_pdf(x: np.ndarray, z: float, config: MockConfig) -> np.ndarray:
    """Un-normalised density of log10 M500c at redshift z (see module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> p = mass_pdf(np.array([13.5, 14.5, 15.5]), 0.2, MockConfig())
    >>> bool(p[0] > p[1] and p[2] == 0)
    True
    """
    x = np.asarray(x, dtype=float)
    xcut = config.mass_cutoff + config.mass_cutoff_dz * z
    p = 10.0 ** (-config.mass_slope * (x - config.mass_min)) * np.exp(-(10.0 ** (x - xcut)))
    return np.where((x >= config.mass_min) & (x <= config.mass_max), p, 0.0)


def sample_halos(n: int, config: MockConfig, rng: np.random.Generator, cosmology=None) -> dict:
    """Draw the halo population.

    Parameters
    ----------
    n : int
        Number of clusters.
    config : MockConfig
        Population parameters.
    rng : numpy Generator
        Random stream for the population.
    cosmology : astropy FLRW, optional
        Default WMAP7.

    Returns
    -------
    dict of ndarray
        ``snapshot``, ``redshift``, ``log10_m500c``, ``m500c``, ``r500c``
        (comoving h⁻¹ Mpc), ``m200c``, ``c200c``, ``r200c`` (comoving),
        ``x``, ``y``, ``z`` (box, h⁻¹ Mpc), ``ra``, ``dec`` (deg).

    Examples
    --------
    >>> import numpy as np
    >>> h = sample_halos(5, MockConfig(), np.random.default_rng(0))
    >>> sorted(h)[:4]
    ['c200c', 'dec', 'log10_m500c', 'm200c']
    """
    cosmology = get_cosmology(cosmology)
    snaps = np.array(sorted(config.snapshots, reverse=True))
    # deterministic allocation (largest remainder) with weights exp(-k z): roughly
    # uniform, slightly favouring low z so that the median is z = 0.21 as in Table 1
    zs = np.array([SNAPSHOT_REDSHIFTS[int(s)] for s in snaps])
    w = np.exp(-config.snapshot_weight_slope * zs)
    w = w / w.sum() * n
    counts = np.floor(w).astype(int)
    extra = n - counts.sum()
    counts[np.argsort(-(w - counts), kind="stable")[:extra]] += 1
    snapshot = rng.permutation(np.repeat(snaps, counts))
    redshift = np.array([SNAPSHOT_REDSHIFTS[int(s)] for s in snapshot], dtype=float)
    logm = np.empty(n)
    grid = np.linspace(config.mass_min, config.mass_max, 4001)
    u = rng.random(n)
    for s in snaps:
        sel = snapshot == s
        if not sel.any():
            continue
        pdf = mass_pdf(grid, SNAPSHOT_REDSHIFTS[int(s)], config)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
        cdf /= cdf[-1]
        logm[sel] = np.interp(u[sel], cdf, grid)
    m500 = 10.0**logm
    r500 = r500c_comoving(m500, redshift, cosmology)
    m200, c200 = nfw_m200c(m500, redshift, rng, sigma_lnc=0.25)
    r200 = r500 * np.cbrt(m200 / m500 * 500.0 / 200.0)
    box = rng.random((3, n)) * config.box_size
    ra_lo, ra_hi = config.sky_ra_range
    s_lo, s_hi = np.sin(np.radians(config.sky_dec_range))
    ra = ra_lo + (ra_hi - ra_lo) * rng.random(n)
    dec = np.degrees(np.arcsin(s_lo + (s_hi - s_lo) * rng.random(n)))
    return {
        "snapshot": snapshot.astype(np.int64),
        "redshift": redshift,
        "log10_m500c": logm,
        "m500c": m500,
        "r500c": r500,
        "m200c": m200,
        "c200c": c200,
        "r200c": r200,
        "x": box[0],
        "y": box[1],
        "z": box[2],
        "ra": ra,
        "dec": dec,
    }
