"""Event selection masks for `astroclustermass.events.EventList.select` (private)."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from .._utils._projection import _center_deg
from ..bands import EnergyBands, get_bands
from ..exceptions import InputError, UnitError
from .sources import source_codes_of

__all__ = ["selection_mask", "separation_deg"]


def _as_angle(value: Any, name: str) -> float:
    if not isinstance(value, u.Quantity):
        raise UnitError(f"{name} must be an angle Quantity (e.g. 5 * u.arcmin); got {value!r}")
    try:
        out = float(value.to_value(u.deg))
    except u.UnitConversionError as err:
        raise UnitError(f"{name} has unit {value.unit}; it must be an angle") from err
    if not np.isfinite(out) or out < 0:
        raise InputError(f"{name} must be a finite non-negative angle; got {value}")
    return out


def separation_deg(ra, dec, ra0: float, dec0: float) -> np.ndarray:
    """Great-circle distance (haversine) in degrees, vectorised.

    Examples
    --------
    >>> round(float(separation_deg(np.array([10.0]), np.array([0.0]), 11.0, 0.0)[0]), 9)
    1.0
    """
    ra, dec = np.radians(ra), np.radians(dec)
    ra0, dec0 = np.radians(ra0), np.radians(dec0)
    h = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * np.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def _energy_interval(energy: Any) -> tuple[float, float]:
    if isinstance(energy, (str, EnergyBands)):
        bands = get_bands(energy)
        if bands.n_bands != 1:
            raise InputError(
                f"select(energy=...) takes one band; {bands.name!r} has "
                f"{bands.n_bands} (select each band separately)"
            )
        lo, hi = bands.edges_keV[0]
        return float(lo), float(hi)
    if isinstance(energy, u.Quantity):
        pair = energy
    else:
        try:
            lo, hi = energy
        except (TypeError, ValueError) as err:
            raise InputError("energy must be a (lo, hi) pair of Quantities") from err
        if not (isinstance(lo, u.Quantity) and isinstance(hi, u.Quantity)):
            raise UnitError("energy bounds must be Quantities, e.g. (0.5, 2.0) * u.keV")
        pair = u.Quantity([lo, hi])
    if pair.shape != (2,):
        raise InputError(f"energy must be a (lo, hi) pair; got shape {pair.shape}")
    try:
        lo, hi = pair.to_value(u.keV, equivalencies=u.spectral())
    except u.UnitConversionError as err:
        raise UnitError(f"energy bounds have unit {pair.unit}, not an energy") from err
    if not lo < hi:
        raise InputError(f"energy band needs lo < hi; got ({lo}, {hi}) keV")
    return float(lo), float(hi)


def _in_region(events: Any, region: Any) -> np.ndarray:
    from regions import CircleSkyRegion, PixCoord, SkyRegion

    if not isinstance(region, SkyRegion):
        raise InputError(
            f"region must be a regions.SkyRegion (e.g. CircleSkyRegion); got "
            f"{type(region).__name__}"
        )
    ra, dec = events._ra, events._dec
    if isinstance(region, CircleSkyRegion):
        c = region.center.icrs
        sep = separation_deg(ra, dec, float(c.ra.deg), float(c.dec.deg))
        return sep <= _as_angle(region.radius, "region radius")
    from astropy.wcs import WCS

    # any other shape: through a tangent-plane WCS at its centre (1 arcsec pixels)
    ra0, dec0 = events._default_center(getattr(region, "center", None))
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [0.0, 0.0]
    wcs.wcs.cdelt = [-1.0 / 3600.0, 1.0 / 3600.0]
    if ra.size == 0:
        return np.zeros(0, bool)
    px, py = wcs.wcs_world2pix(ra, dec, 0)
    return np.asarray(region.to_pixel(wcs).contains(PixCoord(px, py)), dtype=bool)


def selection_mask(
    events: Any,
    energy: Any = None,
    region: Any = None,
    center: Any = None,
    radius: Any = None,
    source: Any = None,
) -> np.ndarray:
    """Boolean mask of the events passing every given criterion (see `EventList.select`)."""
    keep = np.ones(len(events), dtype=bool)
    if energy is not None:
        lo, hi = _energy_interval(energy)
        keep &= (events._energy >= lo) & (events._energy < hi)
    if (center is None) != (radius is None):
        raise InputError("give both center and radius (or a region)")
    if center is not None:
        ra0, dec0 = _center_deg(center)
        sep = separation_deg(events._ra, events._dec, ra0, dec0)
        keep &= sep <= _as_angle(radius, "radius")
    if region is not None:
        keep &= _in_region(events, region)
    if source is not None:
        codes = events.source if events.source is not None else np.zeros(len(events), np.int8)
        keep &= np.isin(codes, source_codes_of(source))
    return keep
