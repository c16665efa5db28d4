"""Point-source masks from a source catalogue, on a cluster's comoving grid (L1).

Every catalogue source inside the image, except those within
``exclude_radius`` of the cluster centre (the cluster itself, or its BCG), is
masked with a circle (`regions.CircleSkyRegion`) of radius

    r = radius_scale · PSF_HEW · (1 + log10(max(1, S / S_ref)))

so a faint source (S ≤ S_ref) loses one PSF half-energy width (30″ for
eROSITA) and every factor of ten in brightness adds another. ``S`` is the
catalogue's brightness column (default ``ML_FLUX_1``, erg/s/cm²; counts work
too with a matching ``flux_ref``). A pixel is masked when its centre is inside
a circle (regions' ``mode='center'``).

How masked pixels are treated (one rule, in training and prediction alike):
`ClusterSample.build` sets the counts of masked pixels to 0 in every image,
leaves the photons of masked pixels out of ``n_phot`` and ``n_phot_500c``,
sets the exposure of masked pixels to 0 and stores the mask itself
(``sample.maps('mask')``), so estimators see holes with no counts and no
exposure.

Examples
--------
>>> import astropy.units as u
>>> from astropy.table import Table
>>> src = Table({"RA": [150.05], "DEC": [2.0], "ML_FLUX_1": [1e-14]})
>>> m = point_source_mask(src, (150.0, 2.0), 0.3, 64, 2.3)
>>> m.dtype, int(m.sum()) > 0
(dtype('bool'), True)
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from .._utils._projection import _center_deg, angular_separation_deg
from ..exceptions import InputError, MissingColumnError

__all__ = ["point_source_mask", "mask_radii", "SOURCE_COLUMNS"]

#: default names of the source-catalogue columns (eRASS1 main catalogue)
SOURCE_COLUMNS = {"ra": "RA", "dec": "DEC", "flux": "ML_FLUX_1"}


def mask_radii(
    flux: Any,
    psf_hew: Any = 30.0 * u.arcsec,
    flux_ref: float = 1e-14,
    radius_scale: float = 1.0,
) -> u.Quantity:
    """Mask radius of each source: ``radius_scale · HEW · (1 + log10(max(1, S/S_ref)))``.

    Examples
    --------
    >>> mask_radii([1e-15, 1e-14, 1e-12]).to_value("arcsec").tolist()
    [30.0, 30.0, 90.0]
    """
    s = np.asarray(flux, dtype=float)
    if np.any(~np.isfinite(s)):
        raise InputError("source brightness has NaN/inf values; fill or drop those sources")
    hew = u.Quantity(psf_hew, u.arcsec)
    return radius_scale * hew * (1.0 + np.log10(np.maximum(1.0, s / float(flux_ref))))


def _source_columns(sources: Any, columns: dict | None, where: str):
    cols = {**SOURCE_COLUMNS, **(columns or {})}
    names = getattr(sources, "colnames", None) or list(sources)
    missing = [cols[k] for k in ("ra", "dec", "flux") if cols[k] not in names]
    if missing:
        raise MissingColumnError(
            f"source catalogue {where} lacks column(s) {missing} (it has {list(names)}); map "
            "yours with columns={'ra': ..., 'dec': ..., 'flux': ...}"
        )

    def values(key, unit=None):
        col = sources[cols[key]]
        if unit is not None and getattr(col, "unit", None) is not None:
            return u.Quantity(col).to_value(unit)
        return np.asarray(col, dtype=float)

    return values("ra", u.deg), values("dec", u.deg), values("flux")


def point_source_mask(
    sources: Any,
    center: Any,
    redshift: float,
    npix: int,
    aperture: float,
    cosmology: Any = None,
    *,
    columns: dict | None = None,
    psf_hew: Any = 30.0 * u.arcsec,
    flux_ref: float = 1e-14,
    radius_scale: float = 1.0,
    exclude_radius: Any = 30.0 * u.arcsec,
    where: str = "",
) -> np.ndarray:
    """Boolean mask ``[i, j]`` (True = masked) of the catalogue's point sources.

    Parameters
    ----------
    sources : Table or dict of columns
        Source catalogue with RA, Dec (deg) and a brightness column.
    center, redshift, npix, aperture, cosmology
        The cluster's comoving grid (as `BandImage.from_events` uses).
    columns : dict, optional
        ``{'ra': ..., 'dec': ..., 'flux': ...}`` names (default `SOURCE_COLUMNS`).
    psf_hew, flux_ref, radius_scale
        Radius law, see `mask_radii`.
    exclude_radius : angle Quantity
        Sources this close to the centre are not masked.
    where : str
        Name of the catalogue for error messages.

    Examples
    --------
    >>> src = {"RA": [10.0], "DEC": [0.0], "ML_FLUX_1": [1e-13]}
    >>> bool(point_source_mask(src, (10.0, 0.0), 0.3, 32, 2.3).any())  # at the centre: kept
    False
    """
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion

    from .exposure import comoving_wcs

    ra, dec, flux = _source_columns(sources, columns, where)
    ra0, dec0 = _center_deg(center)
    w = comoving_wcs((ra0, dec0), redshift, npix, aperture, cosmology)
    radii = mask_radii(flux, psf_hew, flux_ref, radius_scale).to_value(u.deg)
    half_diag = np.sqrt(2.0) * npix / 2.0 * abs(float(w.wcs.cdelt[0]))
    sep = angular_separation_deg(ra0, dec0, ra, dec)
    excl = u.Quantity(exclude_radius, u.arcsec).to_value(u.deg)
    near = (sep <= half_diag + radii) & (sep > excl)
    mask = np.zeros((npix, npix), dtype=bool)  # FITS order [y, x]
    for r, d, rad in zip(ra[near], dec[near], radii[near]):
        region = CircleSkyRegion(SkyCoord(r * u.deg, d * u.deg), rad * u.deg)
        pix = region.to_pixel(w)
        m = pix.to_mask(mode="center").to_image((npix, npix))
        if m is not None:
            mask |= m.astype(bool)
    return mask.T
