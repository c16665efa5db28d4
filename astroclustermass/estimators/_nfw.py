"""Spherical-overdensity mass conversion for NFW haloes with a concentration–mass relation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .._utils import as_finite_array
from ..cosmology import get_cosmology
from ..exceptions import InputError, UnknownNameError

__all__ = ["convert_mass_definition", "concentration_duffy08", "parse_mass_definition"]

#: Duffy et al. (2008, MNRAS 390, L64) Table 1, full sample, 0 <= z <= 2, NFW fits,
#: c200c(M200c, z) = A (M / M_pivot)^B (1 + z)^C with M_pivot = 2e12 h^-1 Msun.
DUFFY08_200C = {"A": 5.71, "B": -0.084, "C": -0.47, "M_pivot": 2e12}

_DEF_RE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([cm])\s*$")


def parse_mass_definition(mdef: str) -> tuple[float, str]:
    """Split ``'500c'`` into (500.0, 'c'); ``'c'`` = critical, ``'m'`` = mean matter density.

    Examples
    --------
    >>> parse_mass_definition("200m")
    (200.0, 'm')
    """
    match = _DEF_RE.match(str(mdef))
    if not match or float(match.group(1)) <= 0:
        raise InputError(
            f"unknown mass definition {mdef!r}; use an overdensity and 'c' (critical) or 'm' "
            "(mean matter density), e.g. '500c', '200c', '200m'"
        )
    return float(match.group(1)), match.group(2)


def concentration_duffy08(m200c: Any, z: Any) -> np.ndarray:
    """NFW concentration c200c of Duffy et al. (2008), full sample (their Table 1).

    Parameters
    ----------
    m200c : array-like
        M200c in h⁻¹ M☉.
    z : array-like
        Redshift.

    Examples
    --------
    >>> round(float(concentration_duffy08(2e12, 0.0)), 2)
    5.71
    """
    p = DUFFY08_200C
    return (
        p["A"]
        * (np.asarray(m200c, float) / p["M_pivot"]) ** p["B"]
        * (1.0 + np.asarray(z, float)) ** p["C"]
    )


def _mu(x: np.ndarray) -> np.ndarray:
    """NFW enclosed-mass shape m(x) = ln(1 + x) - x / (1 + x)."""
    return np.log1p(x) - x / (1.0 + x)


def _solve_x(target: np.ndarray) -> np.ndarray:
    """X with m(x) / x³ = target (monotonically decreasing in x), by vectorised bisection."""
    lo = np.full(target.shape, np.log(1e-6))
    hi = np.full(target.shape, np.log(1e6))
    for _ in range(90):
        mid = 0.5 * (lo + hi)
        x = np.exp(mid)
        above = _mu(x) / x**3 > target  # x too small
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))


def _resolve_concentration(concentration: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if callable(concentration):
        return concentration
    if isinstance(concentration, str):
        if concentration.lower() == "duffy08":
            return concentration_duffy08
        raise UnknownNameError(
            f"unknown concentration model {concentration!r}; use 'duffy08', a number (c200c) or "
            "a callable c200c(m200c, z)"
        )
    if isinstance(concentration, int | float) and concentration > 0:
        value = float(concentration)
        return lambda m, z: np.full(np.broadcast(m, z).shape, value)
    raise InputError(
        f"concentration must be 'duffy08', a positive number or a callable; got {concentration!r}"
    )


def convert_mass_definition(
    m: Any,
    z: Any,
    from_: str = "500c",
    to: str = "200c",
    cosmology: Any = None,
    concentration: Any = "duffy08",
) -> np.ndarray:
    """Convert spherical-overdensity masses between definitions for NFW haloes.

    The halo is an NFW profile whose concentration ``c200c`` follows
    ``concentration`` as a function of M200c. The M200c that reproduces the
    given mass inside the ``from_`` radius is found by fixed-point iteration
    (the c–M relation is shallow), then the mass inside the ``to`` radius
    follows from ``m(x) / x³ = Δ ρ_ref / (200 ρ_c) · m(c) / c³`` with
    ``m(x) = ln(1 + x) - x / (1 + x)``, solved by vectorised bisection.

    Parameters
    ----------
    m : array-like
        Masses in h⁻¹ M☉ under the ``from_`` definition.
    z : array-like
        Redshifts (broadcast against ``m``).
    from_, to : str
        Definitions such as ``'500c'``, ``'200c'``, ``'200m'`` (overdensity
        with respect to the critical or the mean matter density at ``z``).
    cosmology : `~astropy.cosmology.FLRW`, optional
        For Ω_m(z) of the mean-density definitions (default WMAP7).
    concentration : 'duffy08', float or callable
        ``'duffy08'``: Duffy et al. (2008) full-sample c200c(M200c, z). A
        number: a fixed c200c. A callable ``f(m200c, z) -> c200c`` (m200c in
        h⁻¹ M☉), e.g. a wrapper around colossus'
        ``concentration.concentration(M, '200c', z, model=...)``.

    Returns
    -------
    m_to : ndarray
        Masses in h⁻¹ M☉ under the ``to`` definition.

    Examples
    --------
    >>> m200 = convert_mass_definition(1e14, 0.0, "500c", "200c", concentration=4.0)
    >>> round(float(m200 / 1e14), 3)
    1.445
    >>> back = convert_mass_definition(m200, 0.0, "200c", "500c", concentration=4.0)
    >>> round(float(back / 1e14), 6)
    1.0
    """
    d_from, ref_from = parse_mass_definition(from_)
    d_to, ref_to = parse_mass_definition(to)
    m_arr = as_finite_array(m, "mass")
    z_arr = as_finite_array(z, "redshift")
    if np.any(m_arr <= 0):
        raise InputError("masses must be positive (h^-1 Msun, not log10)")
    if np.any(z_arr < 0):
        raise InputError("redshifts must be non-negative")
    m_arr, z_arr = np.broadcast_arrays(m_arr, z_arr)
    shape = m_arr.shape
    m_flat, z_flat = m_arr.ravel().astype(float), z_arr.ravel().astype(float)
    conc = _resolve_concentration(concentration)
    cosmo = get_cosmology(cosmology)
    om_z = np.asarray(cosmo.Om(z_flat), dtype=float)

    def density_ratio(delta: float, ref: str) -> np.ndarray:  # Δ ρ_ref / (200 ρ_c)
        return delta / 200.0 * (om_z if ref == "m" else 1.0)

    r_from, r_to = density_ratio(d_from, ref_from), density_ratio(d_to, ref_to)
    ln_m200 = np.log(m_flat)
    for _ in range(100):
        c = np.asarray(conc(np.exp(ln_m200), z_flat), dtype=float)
        if np.any(~np.isfinite(c) | (c <= 0)):
            raise InputError("the concentration model returned non-positive or non-finite values")
        mc = _mu(c) / c**3
        x_from = _solve_x(r_from * mc)
        model = ln_m200 + np.log(_mu(x_from) / _mu(c))
        step = np.log(m_flat) - model
        ln_m200 = ln_m200 + step
        if np.max(np.abs(step)) < 1e-12:
            break
    c = np.asarray(conc(np.exp(ln_m200), z_flat), dtype=float)
    x_to = _solve_x(r_to * _mu(c) / c**3)
    out = np.exp(ln_m200) * _mu(x_to) / _mu(c)
    return out.reshape(shape) if shape else out.reshape(())[()]
