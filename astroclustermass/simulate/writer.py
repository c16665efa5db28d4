"""Writers for the simulation directory: SIXTE-layout event FITS files and tables.

The layout is fixed by ``docs/internals.rst``::

    DIR/events/cluster_NNNNN.fits   primary HDU + binary table EXTNAME='EVENTS'
    DIR/catalog.ecsv                one row per cluster
    DIR/galaxies.ecsv               one row per galaxy
    DIR/simulation.json             the configuration, to check a cache

This module writes the files with `astropy.io.fits` itself; it never imports
the package's readers. Headers carry no time stamps, so the same seed gives
byte-identical files.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from astropy.io import fits
>>> from astroclustermass.simulate.photons import ClusterEvents
>>> from astroclustermass.simulate.writer import write_event_file, EVENT_COLUMNS
>>> cols = {name: np.zeros(2, dtype=dt) for name, (_, _, dt) in EVENT_COLUMNS.items()}
>>> ev = ClusterEvents(columns=cols, header={"EXPOSURE": 2000.0, "RA_OBJ": 1.0,
...     "DEC_OBJ": 2.0, "REDSHIFT": 0.1, "OBJECT": "test"}, counts={})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "ev.fits"
>>> _ = write_event_file(path, ev)
>>> fits.getheader(path, "EVENTS")["SRCAGN"]
'2,3'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from .._utils import atomic_write
from ..version import __version__
from .photons import SRC_BACKGROUND, SRC_CLUSTER_AGN, SRC_FIELD_AGN, SRC_ICM, ClusterEvents

__all__ = [
    "EVENT_COLUMNS",
    "event_file_name",
    "write_event_file",
    "write_table",
    "write_json",
]

#: column name -> (FITS format, unit, numpy dtype), in SIXTE order
EVENT_COLUMNS: dict[str, tuple[str, str | None, str]] = {
    "TIME": ("D", "s", "f8"),
    "FRAME": ("J", None, "i4"),
    "PHA": ("J", "adu", "i4"),
    "SIGNAL": ("E", "keV", "f4"),
    "PI": ("J", "eV", "i4"),
    "RA": ("D", "deg", "f8"),
    "DEC": ("D", "deg", "f8"),
    "RAWX": ("I", "pixel", "i2"),
    "RAWY": ("I", "pixel", "i2"),
    "PH_ID": ("J", None, "i4"),
    "SRC_ID": ("J", None, "i4"),
}

_CREATOR = f"astroclustermass.simulate {__version__}"


def event_file_name(cluster_id: int) -> str:
    """Relative path of a cluster's event file, ``events/cluster_NNNNN.fits``.

    Examples
    --------
    >>> event_file_name(7)
    'events/cluster_00007.fits'
    """
    return f"events/cluster_{int(cluster_id):05d}.fits"


def _common_cards(header: fits.Header, ev: ClusterEvents) -> None:
    h = ev.header
    header["TELESCOP"] = ("SRG", "mission")
    header["INSTRUME"] = ("eROSITA", "instrument")
    header["OBJECT"] = (str(h.get("OBJECT", "")), "cluster name")
    header["CREATOR"] = (_CREATOR, "program that wrote this file")
    header["DATE-OBS"] = ("2020-01-01T00:00:00", "fixed (simulation)")
    header["EQUINOX"] = 2000.0
    header["RADESYS"] = "ICRS"
    for key in ("RA_OBJ", "DEC_OBJ", "RA_PNT", "DEC_PNT"):
        if key in h:
            header[key] = (float(h[key]), "deg")
    header["REDSHIFT"] = (float(h.get("REDSHIFT", 0.0)), "cluster redshift")


def write_event_file(path: str | os.PathLike, ev: ClusterEvents, overwrite: bool = True) -> Path:
    """Write one cluster's events as a SIXTE-layout FITS file (atomically).

    Parameters
    ----------
    path : path-like
        Destination.
    ev : ClusterEvents
        Columns (see `EVENT_COLUMNS`), header keywords and counts.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    primary = fits.PrimaryHDU()
    _common_cards(primary.header, ev)
    cols = []
    for name, (fmt, unit, dtype) in EVENT_COLUMNS.items():
        arr = np.asarray(ev.columns[name], dtype=dtype)
        cols.append(fits.Column(name=name, format=fmt, unit=unit, array=arr))
    table = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    hdr = table.header
    hdr["HDUCLASS"] = "OGIP"
    hdr["HDUCLAS1"] = "EVENTS"
    _common_cards(hdr, ev)
    exposure = float(ev.header["EXPOSURE"])
    hdr["EXPOSURE"] = (exposure, "[s] exposure time")
    hdr["ONTIME"] = (exposure, "[s]")
    hdr["LIVETIME"] = (exposure, "[s]")
    hdr["TSTART"] = (0.0, "[s]")
    hdr["TSTOP"] = (exposure, "[s]")
    hdr["MJDREF"] = (51543.875, "eROSITA reference MJD")
    hdr["TIMESYS"] = "TT"
    hdr["TIMEUNIT"] = "s"
    if "FOVHALF" in ev.header:
        hdr["FOVHALF"] = (float(ev.header["FOVHALF"]), "[deg] half-width of the square field")
    if "PIXSIZE" in ev.header:
        hdr["PIXSIZE"] = (float(ev.header["PIXSIZE"]), "[arcsec] sky pixel; events at centres")
    if "PSF_HEW" in ev.header:
        hdr["PSF_HEW"] = (float(ev.header["PSF_HEW"]), "[arcsec] PSF half-energy width")
    hdr["SRCICM"] = (str(SRC_ICM), "SRC_ID of ICM photons")
    hdr["SRCAGN"] = (f"{SRC_CLUSTER_AGN},{SRC_FIELD_AGN}", "SRC_ID of AGN (cluster, field)")
    hdr["SRCBKG"] = (str(SRC_BACKGROUND), "SRC_ID of sky and particle background")
    with atomic_write(path, overwrite=overwrite) as tmp:
        fits.HDUList([primary, table]).writeto(tmp, overwrite=True)
    return path


def write_table(path: str | os.PathLike, table: Table, overwrite: bool = True) -> Path:
    """Write an astropy Table as ECSV (atomically).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.table import Table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.ecsv"
    >>> _ = write_table(p, Table({"a": [1, 2]}))
    >>> Table.read(p)["a"].tolist()
    [1, 2]
    """
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return path


def write_json(path: str | os.PathLike, payload: dict, overwrite: bool = True) -> Path:
    """Write a JSON document with sorted keys (atomically).

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> json.loads(write_json(p, {"b": 1, "a": 2}).read_text())
    {'a': 2, 'b': 1}
    """
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path
