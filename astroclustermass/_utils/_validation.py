"""Input validation helpers that raise the package's own exceptions."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..exceptions import InputError, UnitError

__all__ = [
    "as_finite_array",
    "check_quantity",
    "positive_length",
    "positive_int",
    "check_grid",
]


def as_finite_array(values: Any, name: str, *, dtype=float, allow_empty: bool = True) -> np.ndarray:
    """Convert to an array and raise `InputError` naming ``name`` on NaN/inf.

    Examples
    --------
    >>> as_finite_array([1, 2], "x")
    array([1., 2.])
    """
    arr = np.asarray(values, dtype=dtype)
    if not allow_empty and arr.size == 0:
        from ..exceptions import EmptyInputError

        raise EmptyInputError(f"{name} is empty")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            n = int(bad.sum())
            first = int(np.flatnonzero(bad.ravel())[0])
            raise InputError(
                f"{name} contains {n} non-finite value(s) (NaN or inf), the first at flat "
                f"index {first}; remove or mask them first"
            )
    return arr


def check_quantity(value: Any, unit: u.UnitBase | str, name: str, *, assume: bool = False):
    """Return ``value`` as a Quantity in ``unit``, raising `UnitError` if not convertible.

    A plain number is accepted and given ``unit`` only when ``assume`` is True.

    Examples
    --------
    >>> import astropy.units as u
    >>> check_quantity(500 * u.eV, "keV", "energy")
    <Quantity 0.5 keV>
    """
    unit = u.Unit(unit)
    if not isinstance(value, u.Quantity):
        if assume:
            return u.Quantity(value, unit)
        raise UnitError(f"{name} must be an astropy Quantity convertible to {unit}; got {value!r}")
    try:
        return value.to(unit)
    except u.UnitConversionError as err:
        raise UnitError(
            f"{name} has unit {value.unit}, which cannot be converted to {unit}"
        ) from err


def positive_length(value: Any, name: str) -> float:
    """A positive finite comoving length in h⁻¹ Mpc from a number or a Quantity.

    A Quantity in ``Mpc / littleh`` (h⁻¹ Mpc) is converted exactly; one in
    plain ``Mpc`` (or kpc) is read as h⁻¹ Mpc, the package's convention for
    lengths given without h.

    Raises
    ------
    UnitError
        For a Quantity that is not a length.
    InputError
        For a value that is not a positive finite number.

    Examples
    --------
    >>> import astropy.units as u
    >>> positive_length(2.3, "aperture"), positive_length(500 * u.kpc, "r500c")
    (2.3, 0.5)
    >>> from astropy.cosmology import units as cu
    >>> positive_length(1 * u.Mpc / cu.littleh, "aperture")
    1.0
    """
    if isinstance(value, u.Quantity):
        from astropy.cosmology import units as cu

        hinv_mpc = u.Mpc / cu.littleh
        try:
            if value.unit.is_equivalent(hinv_mpc):
                value = value.to_value(hinv_mpc)
            else:
                value = value.to_value(u.Mpc)
        except u.UnitConversionError as err:
            raise UnitError(f"{name} has unit {value.unit}; expected a length in h^-1 Mpc") from err
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a number (h^-1 Mpc); got {value!r}") from err
    if not np.isfinite(number) or number <= 0:
        raise InputError(f"{name} must be a positive finite length in h^-1 Mpc; got {value!r}")
    return number


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int, refusing non-integers (64.5), bools and values < ``minimum``.

    Examples
    --------
    >>> positive_int(64, "npix"), positive_int(64.0, "npix")
    (64, 64)
    """
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool | np.bool_):
        raise InputError(f"{name} must be {what}; got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise InputError(f"{name} must be {what}; got {value!r}") from err
    if number != value or number < minimum:
        raise InputError(f"{name} must be {what}; got {value!r}")
    return number


def check_grid(npix: Any, aperture: Any) -> tuple[int, float]:
    """Validate an image grid: ``npix`` pixels per side over ``±aperture`` h⁻¹ Mpc.

    The one check of every (npix, aperture) pair the package takes, from
    `~astroclustermass.images.bin_events` to `~astroclustermass.ClusterSample.build`.

    Returns
    -------
    npix : int
    aperture : float
        Half-width in comoving h⁻¹ Mpc.

    Raises
    ------
    InputError
        ``npix`` not a positive integer (e.g. 64.5), ``aperture`` not a
        positive finite length.

    Examples
    --------
    >>> check_grid(64, 2.3)
    (64, 2.3)
    >>> check_grid(64.5, 2.3)
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: npix must be a positive integer; got 64.5
    """
    return positive_int(npix, "npix"), positive_length(aperture, "aperture")
