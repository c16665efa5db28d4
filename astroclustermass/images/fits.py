"""FITS reading and writing of `astroclustermass.images.BandImage` (private).

Layout: the primary HDU holds the counts as a FITS cube with axis 1 = x,
axis 2 = y, axis 3 = band (numpy ``data[band, i, j]`` is stored transposed to
``(band, j, i)`` so that x runs along FITS axis 1, as image viewers expect),
and a WCS-like header maps pixel centres to comoving coordinates:

* ``CTYPE1 = 'X-COMOV'``, ``CTYPE2 = 'Y-COMOV'``, ``CUNIT1/2 = 'Mpc/h'``,
  ``CRPIX = (npix + 1) / 2``, ``CRVAL = 0``, ``CDELT = 2 aperture / npix``;
* ``CTYPE3 = 'BAND'`` (band index, ``CRPIX3 = 1``, ``CRVAL3 = 0``);
* ``APERTURE``, ``REDSHIFT``, ``RA_CEN``, ``DEC_CEN``, ``R500C``,
  ``COSMO`` (name) with ``H0``, ``OM0``, ``ODE0``, ``OB0``, ``TCMB0``,
  ``BANDSET``.

A ``BANDS`` binary table lists ``E_MIN``, ``E_MAX`` (keV, float64) per band.
Optional image extensions ``EXPOSURE`` (float32, s) and ``MASK`` (uint8, 1 =
masked point source) hold the exposure map and the point-source mask on the
same grid (transposed like the counts).
Floats whose shortest representation exceeds a header card's 20 characters
are also stored exactly as a hexadecimal string (``HIERARCH ACM HEX <key>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from .._utils import atomic_write
from ..exceptions import FileFormatError, MissingColumnError

__all__ = ["write_band_image", "read_band_image"]

_COSMO_KEYS = {"H0": "H0", "Om0": "OM0", "Ode0": "ODE0", "Ob0": "OB0", "Tcmb0": "TCMB0"}


def _put_float(header: fits.Header, key: str, value: float, comment: str) -> None:
    value = float(value)
    header[key] = (value, comment)
    if len(repr(value)) > 20:  # astropy would truncate it on the card
        header[f"HIERARCH ACM HEX {key}"] = value.hex()


def _get_float(header: fits.Header, key: str) -> float | None:
    hex_key = f"HIERARCH ACM HEX {key}"
    if hex_key in header:
        return float.fromhex(header[hex_key])
    value = header.get(key)
    return None if value is None else float(value)


def write_band_image(image: Any, path: Any, overwrite: bool = False) -> None:
    """Write a BandImage atomically (see the module docstring for the layout)."""
    from ..cosmology import cosmology_to_dict

    data = np.ascontiguousarray(np.swapaxes(image.data, 1, 2))
    primary = fits.PrimaryHDU(data)
    h = primary.header
    npix = image.npix
    step = 2.0 * image.aperture / npix
    for axis, name in ((1, "X"), (2, "Y")):
        h[f"CTYPE{axis}"] = (f"{name}-COMOV", f"comoving {name.lower()} offset from the centre")
        h[f"CUNIT{axis}"] = ("Mpc/h", "comoving h^-1 Mpc")
        h[f"CRPIX{axis}"] = ((npix + 1) / 2.0, "reference pixel: the image centre")
        h[f"CRVAL{axis}"] = (0.0, "offset at the reference pixel")
        _put_float(h, f"CDELT{axis}", step, "pixel size (h^-1 Mpc)")
    h["CTYPE3"] = ("BAND", "energy band index (see the BANDS extension)")
    h["CRPIX3"] = 1.0
    h["CRVAL3"] = 0.0
    h["CDELT3"] = 1.0
    h["BUNIT"] = ("count", "photon counts" if data.dtype.kind in "iu" else "")
    _put_float(h, "APERTURE", image.aperture, "image half-width (comoving h^-1 Mpc)")
    h["NPIX"] = (npix, "pixels per side")
    if image.redshift is not None:
        _put_float(h, "REDSHIFT", image.redshift, "cluster redshift")
    if image.center is not None:
        c = image.center.icrs
        _put_float(h, "RA_CEN", float(c.ra.deg), "image centre RA (ICRS, deg)")
        _put_float(h, "DEC_CEN", float(c.dec.deg), "image centre Dec (ICRS, deg)")
    if image.r500c is not None:
        _put_float(h, "R500C", image.r500c, "R500c (comoving h^-1 Mpc)")
    params = cosmology_to_dict(image.cosmology)
    h["COSMO"] = (str(params.get("name") or ""), "cosmology of the sky-to-comoving projection")
    for key, kw in _COSMO_KEYS.items():
        if params.get(key) is not None:
            _put_float(h, kw, params[key], f"cosmology {key}")
    h["BANDSET"] = (image.bands.name, "energy band set")
    edges = image.bands.edges_keV
    bands = fits.BinTableHDU.from_columns(
        [
            fits.Column("E_MIN", "D", unit="keV", array=edges[:, 0]),
            fits.Column("E_MAX", "D", unit="keV", array=edges[:, 1]),
        ],
        name="BANDS",
    )
    bands.header["BANDSET"] = image.bands.name
    hdus = [primary, bands]
    for name, plane, unit in (("EXPOSURE", image.exposure, "s"), ("MASK", image.mask, "")):
        if plane is not None:
            arr = np.ascontiguousarray(plane.T.astype(np.float32 if unit else np.uint8))
            hdu = fits.ImageHDU(arr, name=name)
            hdu.header["BUNIT"] = unit
            hdus.append(hdu)
    with atomic_write(path, overwrite=overwrite) as tmp:
        fits.HDUList(hdus).writeto(tmp, overwrite=True)


def read_band_image(path: Any) -> dict:
    """Read a file written by `write_band_image`; returns the constructor arguments."""
    from astropy.coordinates import SkyCoord

    from ..bands import EnergyBands
    from ..cosmology import cosmology_from_dict

    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"image file {path} does not exist")
    try:
        with fits.open(path, memmap=False) as hdul:
            h = hdul[0].header
            data = None if hdul[0].data is None else np.array(hdul[0].data)
            if "BANDS" not in hdul:
                raise FileFormatError(f"{path}: no BANDS extension; not a BandImage file")
            tab = hdul["BANDS"].data
            names = [n.upper() for n in tab.columns.names]
            for col in ("E_MIN", "E_MAX"):
                if col not in names:
                    raise MissingColumnError(f"{path}: the BANDS table lacks column {col!r}")
            edges = np.stack([np.array(tab["E_MIN"], float), np.array(tab["E_MAX"], float)], 1)
            bandset = str(hdul["BANDS"].header.get("BANDSET", h.get("BANDSET", "custom")))
            planes = {
                name.lower(): np.array(hdul[name].data).T
                for name in ("EXPOSURE", "MASK")
                if name in hdul
            }
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:
        if isinstance(err, (FileFormatError, MissingColumnError)):
            raise
        raise FileFormatError(f"{path}: not a readable BandImage FITS file ({err})") from err
    if data is None or data.ndim != 3 or h.get("CTYPE1") != "X-COMOV":
        raise FileFormatError(
            f"{path}: expected a 3-D cube with CTYPE1='X-COMOV' (written by BandImage.write)"
        )
    data = np.swapaxes(data, 1, 2)
    data = data.astype(data.dtype.newbyteorder("="), copy=False)
    data = np.ascontiguousarray(data)
    aperture = _get_float(h, "APERTURE")
    if aperture is None:
        raise FileFormatError(f"{path}: header keyword APERTURE is missing")
    center = None
    ra, dec = _get_float(h, "RA_CEN"), _get_float(h, "DEC_CEN")
    if ra is not None and dec is not None:
        center = SkyCoord(ra, dec, unit="deg", frame="icrs")
    params = {"name": str(h.get("COSMO", "")) or None}
    for key, kw in _COSMO_KEYS.items():
        params[key] = _get_float(h, kw)
    cosmology = cosmology_from_dict(params) if params["H0"] is not None else None
    return {
        "data": data,
        "bands": EnergyBands(edges, name=bandset),
        "aperture": aperture,
        "redshift": _get_float(h, "REDSHIFT"),
        "center": center,
        "cosmology": cosmology,
        "r500c": _get_float(h, "R500C"),
        "exposure": planes.get("exposure"),
        "mask": None if "mask" not in planes else planes["mask"].astype(bool),
    }
