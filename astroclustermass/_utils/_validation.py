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
    "check_range",
    "check_redshift",
    "check_dec",
    "check_positive_or_unknown",
    "REDSHIFT_RANGE",
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
    except (u.UnitsError, ValueError, TypeError) as err:  # incl. units astropy cannot parse
        raise UnitError(
            f"{name} has unit {value.unit}, which cannot be converted to {unit}; give the "
            f"values in {unit} (or a unit astropy converts to it)"
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


#: Redshifts a cluster may have here. Below 1e-3 (4 h^-1 Mpc) an object is inside the
#: Local Group, not a cluster behind it, and its 4.6 h^-1 Mpc image spans tens of degrees;
#: such values are unit slips (a velocity, a distance) or placeholders. Above 10 no
#: cluster exists.
REDSHIFT_RANGE = (1e-3, 10.0)


def check_range(
    values: Any,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    what: str = "value(s) out of range",
    fix: str = "",
    labels: Any = None,
) -> np.ndarray:
    """Float array of ``values``, refusing NaN/inf and values outside ``[low, high]``.

    Parameters
    ----------
    values : array-like
        The values.
    where : str
        What they are, for the message (e.g. ``"catalogue cat.ecsv: column 'dec'"``).
    low, high : float, optional
        Allowed range (inclusive; ``low_open`` makes ``low`` exclusive).
    what, fix : str
        The message's description of a bad value and how to fix it.
    labels : sequence of str, optional
        One label per value (e.g. ``"row 3 (cluster id 7)"``); default the index.

    Raises
    ------
    InputError
        Naming ``where``, the count, the first bad value and its label.

    Examples
    --------
    >>> try:
    ...     check_range([10.0, 95.0], "column 'dec'", low=-90, high=90)
    ... except InputError as err:
    ...     print(err)
    column 'dec' has 1 value(s) out of range [-90, 90], the first at index 1: 95.0
    """
    arr = np.asarray(values, dtype=float)
    flat = arr.ravel()
    bad = ~np.isfinite(flat)
    if low is not None:
        bad |= (flat <= low) if low_open else (flat < low)
    if high is not None:
        bad |= flat > high
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        at = f"index {i}" if labels is None else str(np.asarray(labels).ravel()[i])
        if what == "value(s) out of range":
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            what = f"value(s) out of range {'(' if low_open else '['}{lo}, {hi}]"
        msg = f"{where} has {int(bad.sum())} {what}, the first at {at}: {float(flat[i])!r}"
        raise InputError(msg + (f"; {fix}" if fix else ""))
    return arr


def check_redshift(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Refuse redshifts outside `REDSHIFT_RANGE` (or NaN), naming ``where`` and the value.

    Examples
    --------
    >>> check_redshift([0.1, 0.3], "redshift").tolist()
    [0.1, 0.3]
    """
    lo, hi = REDSHIFT_RANGE
    return check_range(
        values,
        where,
        low=lo,
        high=hi,
        what=f"redshift(s) outside {lo:g}-{hi:g}",
        fix="a cluster's redshift lies in this range; check that the column holds redshift "
        "(not a velocity or a distance) and remove placeholder values",
        labels=labels,
    )


def check_dec(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Refuse declinations (deg) outside [-90, 90] or NaN, naming ``where`` and the value.

    Examples
    --------
    >>> check_dec([-90.0, 45.0], "dec").tolist()
    [-90.0, 45.0]
    """
    return check_range(
        values,
        where,
        low=-90.0,
        high=90.0,
        what="declination(s) outside -90..90 deg",
        fix="fix the coordinates (is the column RA, or in radians?)",
        labels=labels,
    )


def check_positive_or_unknown(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Refuse zero, negative and infinite values; NaN stays allowed (meaning unknown).

    Examples
    --------
    >>> check_positive_or_unknown([1.0, float("nan")], "r500c").tolist()
    [1.0, nan]
    """
    arr = np.asarray(values, dtype=float)
    check_range(
        np.where(np.isnan(arr), 1.0, arr),
        where,
        low=0.0,
        low_open=True,
        what="non-positive or infinite value(s)",
        fix="a radius or mass must be positive; leave unknown entries empty (masked or NaN)",
        labels=labels,
    )
    return arr
