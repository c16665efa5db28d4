"""Cosmology defaults and little-h helpers.

Every length in astroclustermass is a **comoving** distance in h⁻¹ Mpc and every
mass is in h⁻¹ M☉, as in Ho et al. (2023). The default cosmology is WMAP7
(Komatsu et al. 2011), the cosmology of the Magneticum simulations the paper
used; pass any `astropy.cosmology.FLRW` to override it.

Examples
--------
>>> from astroclustermass.cosmology import default_cosmology, comoving_distance_h
>>> default_cosmology().name
'WMAP7'
>>> round(float(comoving_distance_h(0.1)), 1)
293.5
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.cosmology import FLRW, WMAP7

from .exceptions import InputError

__all__ = [
    "default_cosmology",
    "get_cosmology",
    "cosmology_to_dict",
    "cosmology_from_dict",
    "comoving_distance_h",
    "transverse_comoving_distance_h",
    "efunc",
    "RHO_CRIT0",
    "r500c_comoving",
]

#: Critical density today in h² M☉ Mpc⁻³ (so h⁻¹ M☉ per (h⁻¹ Mpc)³).
RHO_CRIT0 = 2.77536627e11


def default_cosmology() -> FLRW:
    """Return the package default cosmology, `astropy.cosmology.WMAP7`.

    Examples
    --------
    >>> round(float(default_cosmology().h), 3)
    0.704
    """
    return WMAP7


def get_cosmology(cosmology: Any = None) -> FLRW:
    """Resolve ``None`` (default WMAP7), a name known to astropy, or an FLRW instance.

    Examples
    --------
    >>> get_cosmology("Planck18").name
    'Planck18'
    """
    if cosmology is None:
        return default_cosmology()
    if isinstance(cosmology, FLRW):
        return cosmology
    if isinstance(cosmology, str):
        from astropy.cosmology import realizations

        try:
            return getattr(realizations, cosmology)
        except AttributeError as err:
            raise InputError(
                f"unknown cosmology {cosmology!r}; use one of {sorted(realizations.available)} "
                "or pass an astropy.cosmology.FLRW instance"
            ) from err
    if isinstance(cosmology, dict):
        return cosmology_from_dict(cosmology)
    raise InputError(f"cosmology must be None, a name or an astropy FLRW; got {cosmology!r}")


def cosmology_to_dict(cosmology: FLRW) -> dict:
    """Serialise the parameters that matter here (JSON-safe) to compare and store.

    Examples
    --------
    >>> cosmology_to_dict(default_cosmology())["name"]
    'WMAP7'
    """
    return {
        "name": cosmology.name,
        "H0": float(cosmology.H0.value),
        "Om0": float(cosmology.Om0),
        "Ode0": float(cosmology.Ode0),
        "Ob0": None if cosmology.Ob0 is None else float(cosmology.Ob0),
        "Tcmb0": float(cosmology.Tcmb0.value),
    }


def cosmology_from_dict(params: dict) -> FLRW:
    """Rebuild a cosmology written by `cosmology_to_dict`.

    Examples
    --------
    >>> c = cosmology_from_dict(cosmology_to_dict(default_cosmology()))
    >>> round(c.Om0, 3)
    0.272
    """
    name = params.get("name")
    if name:
        try:
            ref = get_cosmology(name)
            if cosmology_to_dict(ref) == params:
                return ref
        except InputError:
            pass
    from astropy.cosmology import LambdaCDM

    return LambdaCDM(
        H0=params["H0"],
        Om0=params["Om0"],
        Ode0=params["Ode0"],
        Ob0=params.get("Ob0"),
        Tcmb0=params.get("Tcmb0", 0.0),
        name=name,
    )


def comoving_distance_h(z, cosmology: FLRW | None = None) -> np.ndarray:
    """Line-of-sight comoving distance in h⁻¹ Mpc (a float or array).

    Examples
    --------
    >>> round(float(comoving_distance_h(0.2)), 1)
    574.1
    """
    cosmology = get_cosmology(cosmology)
    return np.asarray(cosmology.comoving_distance(z).to_value("Mpc") * cosmology.h)


def transverse_comoving_distance_h(z, cosmology: FLRW | None = None) -> np.ndarray:
    """Transverse comoving distance in h⁻¹ Mpc (equals the line-of-sight one when flat).

    Examples
    --------
    >>> round(float(transverse_comoving_distance_h(0.2)), 1)
    574.1
    """
    cosmology = get_cosmology(cosmology)
    return np.asarray(cosmology.comoving_transverse_distance(z).to_value("Mpc") * cosmology.h)


def efunc(z, cosmology: FLRW | None = None) -> np.ndarray:
    """Dimensionless Hubble rate E(z) = H(z)/H0.

    Examples
    --------
    >>> round(float(efunc(0.0)), 6)
    1.0
    """
    return np.asarray(get_cosmology(cosmology).efunc(z))


def r500c_comoving(m500c, z, cosmology: FLRW | None = None) -> np.ndarray:
    """Comoving R500c in h⁻¹ Mpc of a halo of M500c (h⁻¹ M☉) at redshift z.

    Parameters
    ----------
    m500c : float or array
        Mass in h⁻¹ M☉.
    z : float or array
        Redshift.
    cosmology : astropy FLRW, optional
        Default WMAP7.

    Returns
    -------
    ndarray
        ``(1 + z) (3 M / (4π 500 ρ_c(z)))^(1/3)`` with ``ρ_c(z) = ρ_c0 E(z)²``.

    Examples
    --------
    >>> round(float(r500c_comoving(1e15, 0.2)), 3)
    1.354
    """
    m = np.asarray(m500c, dtype=float)
    z = np.asarray(z, dtype=float)
    rho = RHO_CRIT0 * efunc(z, cosmology) ** 2
    return (1.0 + z) * np.cbrt(3.0 * m / (4.0 * np.pi * 500.0 * rho))
