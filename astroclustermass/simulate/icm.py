"""The intra-cluster medium: emissivity profiles, morphology and photon positions.

The X-ray emissivity (∝ n_e²) is the sum of two components in the spirit of
Vikhlinin et al. (2006, Eq. 3), in units x = r / R500c:

* an **outer** component, ε_o ∝ (1 + x²/x_c²)^(−3β) (1 + (x/x_s)³)^(−ε/3),
  with core radius x_c ≈ 0.12 (relaxed) or 0.25 (disturbed), β ≈ 0.67 and a
  steepening at x_s = 1.2, carrying L_outer = L_X / (1 + κ) within R500c;
* a compact **core** component, ε_c ∝ (1 + x²/x_cc²)^(−2.1), x_cc ≈ 0.03 for
  cool cores (0.05 relaxed, 0.08 disturbed), carrying L_core = κ L_outer.

Cool cores are therefore brighter *and* more peaked, so the central excess
that drives the L_X scatter can be recognised in an image. Emission is
truncated at ``max_radius`` R500c and projected numerically (Abel integral).

Morphology: a projected axis ratio q (rounder for relaxed systems) with a
random position angle; disturbed clusters also get a centroid shift of the
outer component and Poisson-many infalling sub-clumps (projected β = 2/3
models at 0.3–1.3 R500c carrying 5–25 % of the outer emission, at 0.6 T).
Photon temperatures follow the universal profile of Vikhlinin et al. (2006,
Eq. 8), with the central dip only in cool cores, normalised so that the
emission-weighted temperature inside R500c equals the catalogue T.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.icm import outer_emissivity
>>> e = outer_emissivity(np.array([0.01, 0.5, 2.0]), 0.12, 0.67)
>>> bool(e[0] > e[1] > e[2])
True
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid

from .config import MockConfig

__all__ = [
    "outer_emissivity",
    "core_emissivity",
    "temperature_profile",
    "draw_morphology",
    "ProjectedProfile",
    "icm_components",
    "sample_icm_photons",
]

_X_S, _EPS = 1.2, 2.0
_SUB_MAX = 4


def outer_emissivity(x, x_c: float, beta: float) -> np.ndarray:
    """Outer-component emissivity at x = r/R500c (arbitrary units).

    Examples
    --------
    >>> round(float(outer_emissivity(0.0, 0.1, 0.67)), 1)
    1.0
    """
    x = np.asarray(x, dtype=float)
    return (1.0 + (x / x_c) ** 2) ** (-3.0 * beta) * (1.0 + (x / _X_S) ** 3) ** (-_EPS / 3.0)


def core_emissivity(x, x_cc: float) -> np.ndarray:
    """Compact core-component emissivity at x = r/R500c (arbitrary units).

    Examples
    --------
    >>> round(float(core_emissivity(0.03, 0.03)), 3)
    0.233
    """
    x = np.asarray(x, dtype=float)
    return (1.0 + (x / x_cc) ** 2) ** (-2.1)


def temperature_profile(x, cool_core) -> np.ndarray:
    """Universal temperature profile T(x)/T of Vikhlinin et al. (2006), un-normalised.

    Cool cores keep the central dip; other clusters have a flat centre.

    Examples
    --------
    >>> import numpy as np
    >>> t = temperature_profile(np.array([0.01, 0.2]), True)
    >>> bool(t[0] < t[1])
    True
    """
    x = np.asarray(x, dtype=float)
    outer = 1.0 / (1.0 + (x / 0.6) ** 2) ** 0.45
    y = (x / 0.045) ** 1.9
    dip = 1.35 * (y + 0.45) / (y + 1.0)
    return np.where(np.asarray(cool_core, dtype=bool), dip, 1.35) * outer


def draw_morphology(obs: dict, config: MockConfig, rng: np.random.Generator) -> dict:
    """Draw the shape parameters of every cluster's ICM.

    Parameters
    ----------
    obs : dict
        Output of `astroclustermass.simulate.scaling.draw_observables` (needs
        ``cool_core``, ``disturbed``).
    config : MockConfig
        Morphology parameters.
    rng : numpy Generator
        Random stream.

    Returns
    -------
    dict of ndarray
        ``x_c``, ``beta``, ``x_cc``, ``q``, ``pa``, ``shift_x``, ``shift_y``
        (R500c units) and the sub-clump arrays ``sub_frac``, ``sub_x``,
        ``sub_y``, ``sub_rc`` of shape (n, 4) (fraction 0 = no clump).

    Examples
    --------
    >>> import numpy as np
    >>> obs = {"cool_core": np.array([True, False]), "disturbed": np.array([False, True])}
    >>> m = draw_morphology(obs, MockConfig(), np.random.default_rng(0))
    >>> m["sub_frac"].shape, bool(m["sub_frac"][0].sum() == 0)
    ((2, 4), True)
    """
    cool = np.asarray(obs["cool_core"], dtype=bool)
    dist = np.asarray(obs["disturbed"], dtype=bool)
    n = cool.size
    x_c = np.where(dist, config.core_radius_disturbed, config.core_radius_relaxed)
    x_c = x_c * np.exp(config.sigma_ln_core_radius * rng.standard_normal(n))
    beta = np.clip(config.beta_mean + config.beta_sigma * rng.standard_normal(n), 0.5, 0.9)
    x_cc = np.where(cool, config.cc_core_radius, np.where(dist, 0.08, 0.05))
    x_cc = x_cc * np.exp(0.2 * rng.standard_normal(n))
    q_lo = np.where(dist, config.axis_ratio_disturbed[0], config.axis_ratio_relaxed[0])
    q_hi = np.where(dist, config.axis_ratio_disturbed[1], config.axis_ratio_relaxed[1])
    q = q_lo + (q_hi - q_lo) * rng.random(n)
    pa = rng.random(n) * np.pi
    shift = np.where(dist, 0.05, 0.01) * rng.standard_normal((2, n))
    n_sub = np.where(dist, np.minimum(rng.poisson(config.substructure_mean, n), _SUB_MAX), 0)
    lo, hi = config.substructure_fraction
    total = lo + (hi - lo) * rng.random(n)
    w = rng.random((n, _SUB_MAX)) + 0.2
    w[np.arange(_SUB_MAX)[None, :] >= n_sub[:, None]] = 0.0
    wsum = w.sum(axis=1, keepdims=True)
    sub_frac = np.where(wsum > 0, w / np.where(wsum > 0, wsum, 1.0), 0.0) * total[:, None]
    d = 0.3 + 1.0 * rng.random((n, _SUB_MAX))
    ang = rng.random((n, _SUB_MAX)) * 2 * np.pi
    sub_rc = 0.04 + 0.06 * rng.random((n, _SUB_MAX))
    return {
        "x_c": x_c,
        "beta": beta,
        "x_cc": x_cc,
        "q": q,
        "pa": pa,
        "shift_x": shift[0],
        "shift_y": shift[1],
        "sub_frac": sub_frac,
        "sub_x": d * np.cos(ang),
        "sub_y": d * np.sin(ang),
        "sub_rc": sub_rc,
    }


class ProjectedProfile:
    """Surface-brightness profile of a spherical emissivity, projected numerically.

    Parameters
    ----------
    emissivity : callable
        ε(x) for x = r / R500c.
    max_radius : float
        Truncation radius of the 3D emission (R500c units).
    n_r : int
        Points of the projected-radius grid.

    Attributes
    ----------
    lum_r500 : float
        ∫₀¹ 4π x² ε dx, the luminosity inside the R500c sphere.
    lum_total : float
        ∫₀^max 4π x² ε dx, the luminosity of the whole (truncated) sphere.

    Examples
    --------
    >>> p = ProjectedProfile(lambda x: outer_emissivity(x, 0.12, 0.67), 3.0)
    >>> bool(p.lum_total > p.lum_r500 > 0)
    True
    >>> import numpy as np
    >>> r = p.sample_radii(5000, np.random.default_rng(0))
    >>> bool(0.1 < np.median(r) < 1.0)
    True
    """

    def __init__(self, emissivity, max_radius: float, n_r: int = 200) -> None:
        self.max_radius = float(max_radius)
        xr = np.concatenate([[0.0], np.geomspace(1e-4, max_radius, n_r)])
        t = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 120)])
        half_chord = np.sqrt(np.maximum(max_radius**2 - xr**2, 0.0))
        l_grid = half_chord[:, None] * t[None, :]
        r3 = np.sqrt(xr[:, None] ** 2 + l_grid**2)
        sb = 2.0 * trapezoid(emissivity(r3), l_grid, axis=1)
        self.radius = xr
        self.surface_brightness = sb
        ring = 2.0 * np.pi * xr * sb
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (ring[1:] + ring[:-1]) * np.diff(xr))])
        self.cumulative = cum
        xs = np.concatenate([[0.0], np.geomspace(1e-5, max_radius, 2000)])
        f = 4.0 * np.pi * xs**2 * emissivity(xs)
        cum3 = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(xs))])
        self.lum_total = float(cum3[-1])
        self.lum_r500 = float(np.interp(1.0, xs, cum3))

    def sample_radii(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Projected radii (R500c units) of ``n`` photons."""
        u = rng.random(n) * self.cumulative[-1]
        return np.interp(u, self.cumulative, self.radius)

    def mean_within(self, func, radius: float = 1.0) -> float:
        """Surface-brightness-weighted mean of ``func(R)`` inside a projected radius."""
        sel = self.radius <= radius
        w = 2.0 * np.pi * self.radius[sel] * self.surface_brightness[sel]
        return float(np.sum(w * func(self.radius[sel])) / np.sum(w))


def icm_components(params: dict, config: MockConfig) -> dict:
    """Profiles and luminosity share of each ICM component of one cluster.

    Parameters
    ----------
    params : dict
        One cluster's ``L_X``, ``core_excess`` and morphology (scalars; the
        sub-clump entries as length-4 sequences).
    config : MockConfig
        Provides ``max_radius``.

    Returns
    -------
    dict
        ``outer`` and ``core`` (`ProjectedProfile`), ``lum_outer``,
        ``lum_core``, ``lum_sub`` (array): the luminosity of each component
        over its whole extent, in the units of ``L_X``.

    Examples
    --------
    >>> import numpy as np
    >>> p = {"L_X": 1.0, "core_excess": 1.0, "x_c": 0.12, "beta": 0.67, "x_cc": 0.03,
    ...      "sub_frac": np.zeros(4)}
    >>> c = icm_components(p, MockConfig())
    >>> bool(c["lum_core"] > 0.45 and c["lum_outer"] > 0.5)
    True
    """
    kappa = float(params["core_excess"])
    l_out = float(params["L_X"]) / (1.0 + kappa)
    outer = ProjectedProfile(
        lambda x: outer_emissivity(x, params["x_c"], params["beta"]), config.max_radius
    )
    core = ProjectedProfile(lambda x: core_emissivity(x, params["x_cc"]), config.max_radius)
    out_total = l_out * outer.lum_total / outer.lum_r500
    sub_frac = np.asarray(params["sub_frac"], dtype=float)
    return {
        "outer": outer,
        "core": core,
        "lum_outer": out_total * (1.0 - sub_frac.sum()),
        "lum_core": kappa * l_out * core.lum_total / core.lum_r500,
        "lum_sub": out_total * sub_frac,
    }


def _king_radii(n: int, rc: float, r_max: float, rng: np.random.Generator) -> np.ndarray:
    f_max = 1.0 - 1.0 / np.sqrt(1.0 + (r_max / rc) ** 2)
    u = rng.random(n) * f_max
    return rc * np.sqrt((1.0 - u) ** -2 - 1.0)


def sample_icm_photons(
    counts: dict, params: dict, components: dict, rng: np.random.Generator
) -> dict:
    """Positions (R500c units, sky-aligned) and temperature factors of ICM photons.

    Parameters
    ----------
    counts : dict
        Number of photons of each component: ``outer``, ``core`` (int) and
        ``sub`` (sequence of int, one per clump).
    params : dict
        One cluster's morphology and ``cool_core``.
    components : dict
        Output of `icm_components`.
    rng : numpy Generator
        Random stream.

    Returns
    -------
    dict of ndarray
        ``x``, ``y`` (x towards east, y north) and ``t_factor`` (local T / T).

    Examples
    --------
    >>> import numpy as np
    >>> p = {"L_X": 1.0, "core_excess": 0.5, "x_c": 0.12, "beta": 0.67, "x_cc": 0.03,
    ...      "q": 0.8, "pa": 0.3, "shift_x": 0.0, "shift_y": 0.0, "cool_core": True,
    ...      "sub_frac": np.zeros(4), "sub_x": np.zeros(4), "sub_y": np.zeros(4),
    ...      "sub_rc": np.full(4, 0.05)}
    >>> comp = icm_components(p, MockConfig())
    >>> ph = sample_icm_photons({"outer": 100, "core": 50, "sub": [0, 0, 0, 0]}, p, comp,
    ...                         np.random.default_rng(0))
    >>> ph["x"].shape, bool(np.all(ph["t_factor"] > 0))
    ((150,), True)
    """
    q = float(params["q"])
    pa = float(params["pa"])
    cpa, spa = np.cos(pa), np.sin(pa)

    def ellipse(r, qq, dx=0.0, dy=0.0):
        phi = rng.random(r.size) * 2 * np.pi
        a = r * np.cos(phi) / np.sqrt(qq)
        b = r * np.sin(phi) * np.sqrt(qq)
        return a * cpa - b * spa + dx, a * spa + b * cpa + dy

    xs, ys, ts = [], [], []
    r_o = components["outer"].sample_radii(int(counts["outer"]), rng)
    x, y = ellipse(r_o, q, float(params["shift_x"]), float(params["shift_y"]))
    xs.append(x)
    ys.append(y)
    r_c = components["core"].sample_radii(int(counts["core"]), rng)
    x, y = ellipse(r_c, np.sqrt(q))
    xs.append(x)
    ys.append(y)
    n_main = r_o.size + r_c.size
    for k, n_k in enumerate(counts["sub"]):
        if n_k <= 0:
            continue
        rc = float(params["sub_rc"][k])
        r = _king_radii(int(n_k), rc, 5 * rc, rng)
        phi = rng.random(r.size) * 2 * np.pi
        xs.append(r * np.cos(phi) + float(params["sub_x"][k]))
        ys.append(r * np.sin(phi) + float(params["sub_y"][k]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    cool = bool(params["cool_core"])
    norm = components["outer"].mean_within(lambda r: temperature_profile(r, cool))
    t = temperature_profile(np.hypot(x, y), cool) / norm
    t[n_main:] = 0.6 * temperature_profile(np.hypot(x[n_main:], y[n_main:]), False) / norm
    ts.append(t)
    return {"x": x, "y": y, "t_factor": np.concatenate(ts)}
