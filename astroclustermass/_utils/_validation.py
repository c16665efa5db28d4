"""Input validation helpers that raise the package's own exceptions."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..exceptions import InputError, UnitError

__all__ = ["as_finite_array", "check_quantity"]


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
