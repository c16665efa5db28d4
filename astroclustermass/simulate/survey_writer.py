"""FITS writers of the survey mock: tile event lists, exposure maps, tile table (L2).

eRASS1-style layout (``docs/survey.rst``)::

    DIR/tiles.fits                    tile table: SRVMAP, RA_CEN, DE_CEN, RA_MIN, RA_MAX,
                                      DE_MIN, DE_MAX (unique area), EVENTS, EXPMAP (file names)
    DIR/tiles/tile_NNN_events.fits    EVENTS (all seven cameras) + GTI1..GTI7 + FLAREGTI
    DIR/tiles/tile_NNN_expmap.fits    exposure map (s), celestial TAN WCS

The EVENTS table has ``TIME`` (D, s), ``TM_NR`` (B), ``RA``, ``DEC`` (D,
deg), ``X``, ``Y`` (J, 0.05″ sky pixels of the tile's tangent plane, with
``TCTYP``/``TCRVL``/``TCDLT``/``TCRPX`` keywords), ``PI`` (E, eV) and
``SRC_ID`` (J); the header carries ``RA_CEN``, ``DE_CEN`` and the unique area
``RA_MIN``, ``RA_MAX``, ``DE_MIN``, ``DE_MAX``. Per-cluster files written
beside the tiles use the same columns, X/Y about the cluster centre.

Examples
--------
>>> SKY_PIXEL_ARCSEC
0.05
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .._utils import atomic_write
from ..version import __version__
from .instrument import ARCSEC, sky_to_tangent
from .photons import SRC_BACKGROUND, SRC_CLUSTER_AGN, SRC_FIELD_AGN, SRC_ICM

__all__ = [
    "SKY_PIXEL_ARCSEC",
    "write_tile_events",
    "write_exposure_map",
    "exposure_wcs",
    "write_fits_table",
    "field_photons",
]

#: eRASS sky pixel (arcsec) of the X/Y columns
SKY_PIXEL_ARCSEC = 0.05
_CREATOR = f"astroclustermass.simulate {__version__}"


def _sky_pixels(ra, dec, ra0, dec0, npix_half):
    xi, eta = sky_to_tangent(ra, dec, ra0, dec0)
    p = SKY_PIXEL_ARCSEC * ARCSEC
    # X grows towards decreasing RA as in eSASS images (TCDLT of X is negative)
    x = np.rint(-np.asarray(xi) / p).astype(np.int64) + npix_half
    y = np.rint(np.asarray(eta) / p).astype(np.int64) + npix_half
    return x.astype(np.int32), y.astype(np.int32)


def write_tile_events(
    path: Path,
    photons: dict,
    center: tuple[float, float],
    header: dict,
    gtis: dict[int, np.ndarray] | None,
    flare_gti: np.ndarray | None,
    halfwidth_deg: float,
) -> Path:
    """Write one event file (a tile, or a cluster field) in the eRASS layout, sorted by TIME.

    ``photons`` holds ``TIME``, ``TM_NR``, ``RA``, ``DEC``, ``PI`` (eV) and
    ``SRC_ID`` arrays; ``header`` extra keywords for the EVENTS header.
    """
    order = np.argsort(photons["TIME"], kind="stable")
    ra0, dec0 = center
    npix_half = int(np.ceil(halfwidth_deg * 1.5 * 3600.0 / SKY_PIXEL_ARCSEC))
    ra, dec = photons["RA"][order], photons["DEC"][order]
    x, y = _sky_pixels(ra, dec, ra0, dec0, npix_half)
    cols = [
        fits.Column("TIME", "D", unit="s", array=photons["TIME"][order]),
        fits.Column("TM_NR", "B", array=photons["TM_NR"][order].astype(np.uint8)),
        fits.Column("RA", "D", unit="deg", array=ra),
        fits.Column("DEC", "D", unit="deg", array=dec),
        fits.Column("X", "J", unit="pixel", array=x),
        fits.Column("Y", "J", unit="pixel", array=y),
        fits.Column("PI", "E", unit="eV", array=photons["PI"][order].astype(np.float32)),
        fits.Column("SRC_ID", "J", array=photons["SRC_ID"][order].astype(np.int32)),
    ]
    events = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    h = events.header
    step = SKY_PIXEL_ARCSEC / 3600.0
    for k, (ctype, crval, cdelt) in {
        5: ("RA---TAN", ra0, -step),
        6: ("DEC--TAN", dec0, step),
    }.items():
        h[f"TCTYP{k}"] = ctype
        h[f"TCRVL{k}"] = float(crval)
        h[f"TCDLT{k}"] = cdelt
        h[f"TCRPX{k}"] = float(npix_half)
    primary = fits.PrimaryHDU()
    for hdr in (primary.header, h):
        hdr["TELESCOP"] = ("SRG", "mission")
        hdr["INSTRUME"] = ("eROSITA", "all seven cameras (TM_NR 1-7)")
        hdr["CREATOR"] = (_CREATOR, "program that wrote this file")
        hdr["RADESYS"] = "ICRS"
        hdr["EQUINOX"] = 2000.0
        for key, value in header.items():
            hdr[key] = value
    h["SRCICM"] = (str(SRC_ICM), "SRC_ID of ICM photons")
    h["SRCAGN"] = (f"{SRC_CLUSTER_AGN},{SRC_FIELD_AGN}", "SRC_ID of AGN (cluster, field)")
    h["SRCBKG"] = (str(SRC_BACKGROUND), "SRC_ID of background (incl. leak, flares)")
    hdus = [primary, events]
    for tm, iv in (gtis or {}).items():
        hdus.append(_gti_hdu(f"GTI{tm}", iv, tm))
    if flare_gti is not None:
        hdus.append(_gti_hdu("FLAREGTI", flare_gti, None))
    with atomic_write(path, overwrite=True) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)
    return path


def _gti_hdu(name: str, intervals: np.ndarray, tm: int | None) -> fits.BinTableHDU:
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("START", "D", unit="s", array=iv[:, 0]),
            fits.Column("STOP", "D", unit="s", array=iv[:, 1]),
        ],
        name=name,
    )
    hdu.header["HDUCLASS"] = "OGIP"
    hdu.header["HDUCLAS1"] = "GTI"
    if tm is not None:
        hdu.header["TM_NR"] = tm
    return hdu


def exposure_wcs(center: tuple[float, float], pixel_arcsec: float, npix: int) -> WCS:
    """TAN WCS of an ``npix × npix`` exposure map centred on ``center`` (deg).

    Examples
    --------
    >>> w = exposure_wcs((10.0, -20.0), 40.0, 11)
    >>> [round(float(v), 6) for v in w.wcs.crval]
    [10.0, -20.0]
    """
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [float(center[0]), float(center[1])]
    w.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    w.wcs.cdelt = [-pixel_arcsec / 3600.0, pixel_arcsec / 3600.0]
    w.wcs.radesys = "ICRS"
    return w


def write_exposure_map(
    path: Path, center: tuple[float, float], extent_deg: float, pixel_arcsec: float, depth_fn
) -> Path:
    """Write an exposure map (s) covering ``extent_deg`` around ``center``, TAN WCS.

    ``depth_fn(ra, dec)`` gives the exposure at pixel centres.
    """
    npix = int(np.ceil(extent_deg * 3600.0 / pixel_arcsec)) | 1
    w = exposure_wcs(center, pixel_arcsec, npix)
    jj, ii = np.mgrid[0:npix, 0:npix]  # rows (y), columns (x)
    ra, dec = w.pixel_to_world_values(ii.ravel(), jj.ravel())
    data = np.asarray(depth_fn(ra, dec), dtype=np.float32).reshape(npix, npix)
    hdu = fits.PrimaryHDU(data, header=w.to_header())
    hdu.header["BUNIT"] = ("s", "exposure time")
    hdu.header["TELESCOP"] = "SRG"
    hdu.header["INSTRUME"] = "eROSITA"
    hdu.header["CREATOR"] = _CREATOR
    hdu.header["ENERG_LO"] = (0.2, "[keV] band (no vignetting in the mock)")
    hdu.header["ENERG_HI"] = (2.3, "[keV]")
    with atomic_write(path, overwrite=True) as tmp:
        hdu.writeto(tmp, overwrite=True)
    return path


def write_fits_table(path: Path, columns: dict, name: str, units: dict | None = None) -> Path:
    """Write a dict of columns as a FITS binary table (atomically)."""
    from astropy.table import Table

    t = Table(columns)
    for k, unit in (units or {}).items():
        t[k].unit = unit
    hdu = fits.table_to_hdu(t)
    hdu.name = name
    with atomic_write(path, overwrite=True) as tmp:
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return path


def field_photons(photons: dict, center: tuple[float, float], halfwidth_rad: float) -> np.ndarray:
    """Mask of photons inside a square tangent-plane field about ``center``."""
    xi, eta = sky_to_tangent(photons["RA"], photons["DEC"], *center)
    cosc_ok = np.isfinite(xi) & np.isfinite(eta)
    return cosc_ok & (np.abs(xi) <= halfwidth_rad) & (np.abs(eta) <= halfwidth_rad)
