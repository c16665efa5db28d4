"""Sky → comoving tangent-plane projection shared by events and dynamics (L0).

The projection is the one fixed in ``docs/internals.rst``: a gnomonic
(tangent-plane) projection about the cluster centre giving standard
coordinates ``(ξ, η)`` in radians, multiplied by the transverse comoving
distance of the cluster in h⁻¹ Mpc. ``x`` grows towards increasing RA (east)
and ``y`` towards increasing Dec (north).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError, UnitError

__all__ = ["gnomonic", "sky_to_comoving", "angular_separation_deg"]


def gnomonic(ra_deg: Any, dec_deg: Any, ra0_deg: float, dec0_deg: float):
    """Gnomonic standard coordinates ``(ξ, η)`` in radians about ``(ra0, dec0)``.

    Parameters
    ----------
    ra_deg, dec_deg : array-like
        Sky positions in degrees.
    ra0_deg, dec0_deg : float
        Tangent point in degrees.

    Returns
    -------
    xi, eta : ndarray
        ξ grows towards increasing RA (east), η towards increasing Dec (north).

    Examples
    --------
    >>> xi, eta = gnomonic([10.0], [10.1], 10.0, 10.0)
    >>> round(float(xi[0]), 12), round(float(np.degrees(eta[0])), 6)
    (0.0, 0.1)
    """
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    ra0 = np.radians(float(ra0_deg))
    dec0 = np.radians(float(dec0_deg))
    dra = ra - ra0
    cos_dec = np.cos(dec)
    sin_dec = np.sin(dec)
    cos_dra = np.cos(dra)
    sin_d0 = np.sin(dec0)
    cos_d0 = np.cos(dec0)
    cos_c = sin_d0 * sin_dec + cos_d0 * cos_dec * cos_dra
    xi = cos_dec * np.sin(dra) / cos_c
    eta = (cos_d0 * sin_dec - sin_d0 * cos_dec * cos_dra) / cos_c
    return xi, eta


def sky_to_comoving(ra_deg: Any, dec_deg: Any, center: Any, redshift: float, cosmology: Any = None):
    """Project sky positions to comoving h⁻¹ Mpc offsets from ``center``.

    Parameters
    ----------
    ra_deg, dec_deg : array-like
        Sky positions in degrees.
    center : `~astropy.coordinates.SkyCoord` or (ra, dec) in degrees
        The tangent point (cluster centre).
    redshift : float
        Cluster redshift; sets the transverse comoving distance.
    cosmology : `~astropy.cosmology.FLRW`, str or None
        Default WMAP7.

    Returns
    -------
    x, y : ndarray
        Offsets in comoving h⁻¹ Mpc (``x`` east, ``y`` north).

    Examples
    --------
    >>> x, y = sky_to_comoving([10.0], [10.0], (10.0, 10.0), 0.2)
    >>> float(x[0]), float(y[0])
    (0.0, 0.0)
    """
    from ..cosmology import transverse_comoving_distance_h

    ra0, dec0 = _center_deg(center)
    xi, eta = gnomonic(ra_deg, dec_deg, ra0, dec0)
    dist = float(transverse_comoving_distance_h(float(redshift), cosmology))
    return xi * dist, eta * dist


def _center_deg(center: Any) -> tuple[float, float]:
    """Return ``(ra, dec)`` in degrees from a SkyCoord or a pair of numbers/Quantities.

    Raises `~astroclustermass.exceptions.InputError` for anything else, a
    non-finite value or a Dec outside [-90, 90] degrees.

    Examples
    --------
    >>> _center_deg((150.0, 95.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: center Dec 95.0 deg is outside [-90, 90] deg; ...
    """
    if hasattr(center, "icrs") and hasattr(center, "ra"):
        c = center.icrs
        return float(c.ra.deg), float(c.dec.deg)
    try:
        ra0, dec0 = center
        if hasattr(ra0, "to_value"):
            ra0 = ra0.to_value("deg")
        if hasattr(dec0, "to_value"):
            dec0 = dec0.to_value("deg")
        ra0, dec0 = float(ra0), float(dec0)
    except (TypeError, ValueError) as err:
        if type(err).__name__ == "UnitConversionError":
            raise UnitError(f"center must be in angle units; got {center!r}") from err
        raise InputError(
            f"center must be a SkyCoord or an (ra, dec) pair in degrees; got {center!r}"
        ) from err
    if not (np.isfinite(ra0) and np.isfinite(dec0)):
        raise InputError(f"center must be finite; got (ra, dec) = ({ra0}, {dec0})")
    if not -90.0 <= dec0 <= 90.0:
        raise InputError(
            f"center Dec {dec0} deg is outside [-90, 90] deg; check the coordinates "
            "(RA and Dec swapped? radians?)"
        )
    return ra0, dec0


def angular_separation_deg(ra1: Any, dec1: Any, ra2: Any, dec2: Any) -> np.ndarray:
    """Great-circle separation (deg) by the haversine formula (accurate at small angles).

    Examples
    --------
    >>> round(float(angular_separation_deg(10.0, 0.0, 10.5, 0.0)), 12)
    0.5
    """
    r1, d1, r2, d2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    hav = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0))))
