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

import re
from typing import Any

import astropy.units as u
import numpy as np
from astropy.cosmology import FLRW, WMAP7
from astropy.cosmology import units as cu

from .exceptions import InputError, UnitError

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
    "parse_unit",
    "length_to_comoving_h",
    "mass_to_h",
    "FRAMES",
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


# ------------------------------------------------------------------ h units
_H_TOKEN = re.compile(r"(?<![A-Za-z_])h(?![A-Za-z_(])")
#: Frames a length can be given in: comoving (the package's) or physical (proper).
FRAMES = ("comoving", "physical")


def parse_unit(unit: Any, expected: str, name: str) -> u.UnitBase:
    """An astropy unit of physical type ``expected`` (``"length"``/``"mass"``), h units allowed.

    ``littleh`` (`astropy.cosmology.units`) is understood, and so is ``h``
    where it can only mean little h: in ``"Mpc / h"`` or ``"Msun h^-1"``
    (astropy alone reads ``h`` as the hour).

    Parameters
    ----------
    unit : str or `~astropy.units.UnitBase`
        The unit, e.g. a table column's.
    expected : str
        ``"length"`` or ``"mass"``.
    name : str
        What carries the unit (e.g. ``"catalogue cat.ecsv: column 'r500c'"``), for messages.

    Raises
    ------
    UnitError
        Unparseable, or not ``expected`` once h is set aside; the message names ``name``.

    Examples
    --------
    >>> parse_unit("Mpc / h", "length", "r500c")
    Unit("Mpc / littleh")
    >>> parse_unit("kpc", "length", "r500c")
    Unit("kpc")
    """
    text = unit if isinstance(unit, str) else getattr(unit, "name", None)
    if isinstance(unit, u.UnitBase) and not isinstance(unit, u.UnrecognizedUnit):
        text = unit.to_string()
    if not isinstance(text, str):
        raise UnitError(f"{name}: {unit!r} is not a unit")
    candidates = [text]
    if _H_TOKEN.search(text):
        candidates.insert(0, _H_TOKEN.sub("littleh", text))
    target = {"length": u.Mpc, "mass": u.Msun}[expected]
    with u.add_enabled_units(cu):
        for candidate in candidates:
            try:
                parsed = u.Unit(candidate)
            except ValueError:
                continue
            if _strip_h(parsed).is_equivalent(target):
                return parsed
    raise UnitError(
        f"{name} has unit {text!r}, which is not a {expected} unit (with or without h^-1); "
        f"use e.g. {'Mpc, kpc or Mpc / littleh' if expected == 'length' else 'Msun or Msun / littleh'}"
    )


def _strip_h(unit: u.UnitBase) -> u.UnitBase:
    """``unit`` with every power of littleh removed."""
    bases = getattr(unit, "bases", [unit])
    powers = getattr(unit, "powers", [1])
    scale = getattr(unit, "scale", 1.0)
    out = u.Unit(scale)
    for base, power in zip(bases, powers):
        if base != cu.littleh:
            out = out * base**power
    return out


def _h_power(unit: u.UnitBase) -> float:
    bases = getattr(unit, "bases", [unit])
    powers = getattr(unit, "powers", [1])
    return float(sum(p for b, p in zip(bases, powers) if b == cu.littleh))


def length_to_comoving_h(
    values: Any,
    unit: Any,
    redshift: Any,
    cosmology: FLRW | None = None,
    *,
    frame: str | None = None,
    name: str = "length",
) -> np.ndarray:
    """Lengths in ``unit`` as comoving h⁻¹ Mpc, with the cosmology's h and ``(1 + z)``.

    Parameters
    ----------
    values : array-like
        The numbers.
    unit : str, `~astropy.units.UnitBase` or None
        Their unit; None means h⁻¹ Mpc (the package's documented default).
    redshift : float or array
        Redshift of each value (for physical ↔ comoving).
    cosmology : FLRW, optional
        Supplies h (default WMAP7).
    frame : {"comoving", "physical"}, optional
        Whether ``values`` are comoving or physical (proper) lengths. Default:
        comoving when the unit carries h⁻¹ (or there is no unit), physical for
        plain kpc/Mpc, as catalogues usually give them.
    name : str
        For messages.

    Returns
    -------
    ndarray
        Comoving h⁻¹ Mpc.

    Examples
    --------
    >>> round(float(length_to_comoving_h(704.0, "kpc", 0.0)), 6)  # WMAP7: h = 0.704
    0.495616
    >>> float(length_to_comoving_h(1.0, "Mpc / littleh", 0.5))
    1.0
    >>> float(length_to_comoving_h(1.0, "Mpc/h", 0.5, frame="physical"))
    1.5
    """
    if frame is not None and frame not in FRAMES:
        raise InputError(f"frame must be one of {FRAMES} for {name}; got {frame!r}")
    cosmology = get_cosmology(cosmology)
    arr = np.asarray(values, dtype=float)
    if unit is None:
        parsed = u.Mpc / cu.littleh
    else:
        parsed = parse_unit(unit, "length", name)
    has_h = _h_power(parsed) != 0
    if frame is None:
        frame = "comoving" if has_h or unit is None else "physical"
    with u.add_enabled_units(cu):
        out = (arr * parsed).to_value(u.Mpc / cu.littleh, cu.with_H0(cosmology.H0))
    if frame == "physical":
        out = out * (1.0 + np.asarray(redshift, dtype=float))
    return np.asarray(out, dtype=float)


def mass_to_h(values: Any, unit: Any, cosmology: FLRW | None = None, *, name: str = "mass"):
    """Masses in ``unit`` (e.g. Msun or Msun / littleh) as h⁻¹ M☉; None means h⁻¹ M☉.

    Examples
    --------
    >>> round(float(mass_to_h(1e14, "Msun")), -8)  # WMAP7: h = 0.704
    70400000000000.0
    >>> float(mass_to_h(1e14, "Msun / h"))
    100000000000000.0
    """
    cosmology = get_cosmology(cosmology)
    arr = np.asarray(values, dtype=float)
    if unit is None:
        return arr
    parsed = parse_unit(unit, "mass", name)
    with u.add_enabled_units(cu):
        return np.asarray(
            (arr * parsed).to_value(u.Msun / cu.littleh, cu.with_H0(cosmology.H0)), dtype=float
        )
