"""Reading and writing event files for `astroclustermass.events.EventList` (private).

Files are read with the small header and binary-table reader of
``_fits_scan`` (fast for thousands of small files; unusual tables fall back
to ``astropy.io.fits.open``); writing uses `astropy.io.fits`.

Supported layouts (see ``docs/internals.rst``):

``sixte``
    extension ``EVENTS`` with ``RA``, ``DEC`` (deg) and ``SIGNAL`` (keV)
    and/or ``PI`` (eV); optional ``TIME``, ``SRC_ID``, ``PH_ID``, ``FRAME``,
    ``PHA``, ``RAWX``, ``RAWY``.
``esass``
    extension ``EVENTS`` with ``RA``, ``DEC`` and ``PI`` (eV), no ``SIGNAL``.
``phox``
    a PHOX/SIXTE photon list: ``RA``, ``DEC``, ``ENERGY`` (keV) in HDU 2 (the
    third HDU, as the reference code reads ``phlist.fits``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from .._utils import atomic_write
from ..exceptions import (
    FileFormatError,
    InputError,
    MissingColumnError,
    UnitError,
    UnknownNameError,
)
from ._fits_scan import (
    _HDU,
    _column_names,
    _extname,
    _fail,
    _is_bintable,
    _Table,
    _Undefined,
    scan_fits,
)
from .sources import SOURCE_KEYWORDS

__all__ = [
    "FORMATS",
    "read_event_file",
    "write_event_file",
    "META_KEYWORDS",
    "EXTRA_COLUMNS",
    "check_energy_scale",
    "MAX_MEDIAN_KEV",
    "unit_factor",
    "PI_ALIASES",
    "parse_source_map",
]

FORMATS = ("sixte", "esass", "phox")

#: EventList.meta key -> FITS keyword
META_KEYWORDS = {
    "telescope": "TELESCOP",
    "instrument": "INSTRUME",
    "exposure": "EXPOSURE",
    "object": "OBJECT",
    "ra_obj": "RA_OBJ",
    "dec_obj": "DEC_OBJ",
    "redshift": "REDSHIFT",
    "creator": "CREATOR",
    "date_obs": "DATE-OBS",
    "obs_id": "OBS_ID",
    "mjdref": "MJDREF",
    "tstart": "TSTART",
    "tstop": "TSTOP",
}
_FLOAT_META = {"exposure", "ra_obj", "dec_obj", "redshift", "mjdref", "tstart", "tstop"}
#: optional SIXTE columns carried through read -> write unchanged
EXTRA_COLUMNS = ("FRAME", "PHA", "RAWX", "RAWY", "PH_ID")
#: TUNIT spellings of PI columns that mean eV
PI_ALIASES = {"chan": "eV", "channel": "eV"}


def _detect(path: Path, hdus: list[_HDU], buf: bytes, fmt: str | None) -> tuple[str, _Table]:
    if fmt is not None:
        fmt = str(fmt).lower()
        if fmt not in FORMATS:
            raise UnknownNameError(
                f"unknown event-file format {fmt!r}; known formats: {', '.join(FORMATS)} "
                "(or None to detect it)"
            )
    events = next((i for i, h in enumerate(hdus) if _extname(h) == "EVENTS"), None)
    if fmt in (None, "sixte", "esass") and events is not None:
        table = _Table(path, buf, hdus[events], events)
        if fmt is None:
            if table.has("SIGNAL"):
                fmt = "sixte"
            elif table.has("PI"):
                fmt = "esass"
            else:
                raise MissingColumnError(
                    f"{path}: the EVENTS extension has neither a SIGNAL (keV) nor a PI (eV) "
                    f"column, so photon energies are unknown; columns are {table.names}"
                )
        return fmt, table
    if fmt in (None, "phox"):
        tables = [i for i, h in enumerate(hdus) if _is_bintable(h)]
        # the reference code reads HDU 2; accept another table with the columns too
        order = ([2] if 2 in tables else []) + [i for i in tables if i != 2]
        for i in order:
            names = {n.upper() for n in _column_names(hdus[i])}
            if {"RA", "DEC", "ENERGY"} <= names:
                return "phox", _Table(path, buf, hdus[i], i)
        if fmt == "phox":
            if 2 not in tables:
                raise _fail(
                    path,
                    f"a PHOX photon list needs RA, DEC, ENERGY in HDU 2; the file has "
                    f"{len(hdus)} HDU(s) and no table with those columns",
                )
            raise MissingColumnError(
                f"{path}: HDU 2 lacks RA, DEC or ENERGY; its columns are {_column_names(hdus[2])}"
            )
    found = [f"{i}:{_extname(h) or '(no EXTNAME)'}" for i, h in enumerate(hdus)]
    if fmt in ("sixte", "esass"):
        raise _fail(path, f"no EVENTS extension for format {fmt!r}; HDUs are {found}")
    raise _fail(
        path,
        f"not a recognised event file (HDUs {found}): expected an EVENTS extension "
        "(SIXTE/eSASS) or a photon list with RA, DEC, ENERGY in HDU 2 (PHOX)",
    )


def _require(table: _Table, name: str, fmt: str) -> None:
    if not table.has(name):
        raise MissingColumnError(
            f"{table.path}: column {name!r} is missing from HDU {table.index} "
            f"({_extname(table.hdu) or 'no EXTNAME'}), required for the {fmt!r} format; "
            f"columns are {table.names}"
        )


def _float_column(
    table: _Table, name: str, unit: str, default_unit: str, *, aliases: dict[str, str] | None = None
) -> np.ndarray:
    """A float64 column converted to ``unit``; raises UnitError naming file and column."""
    values = np.asarray(table.column(name), dtype=np.float64)
    if values.ndim != 1:
        raise FileFormatError(
            f"{table.path}: column {name!r} holds arrays ({values.shape[1:]}) per event; "
            "expected one number per event"
        )
    factor = unit_factor(table.unit(name), unit, default_unit, aliases, f"{table.path}", name)
    if factor != 1.0:
        values = values * factor
    _check_finite(table, name, values)
    return values


def unit_factor(
    tunit: str | None,
    unit: str,
    default_unit: str,
    aliases: dict[str, str] | None,
    path: str,
    name: str,
) -> float:
    """Factor from a column's TUNIT (``default_unit`` when None) to ``unit``.

    The one conversion rule of event columns, shared by the per-file reader
    and the survey-tile reader so both give the same float64 values.
    """
    if tunit is not None and aliases and tunit.lower() in aliases:
        tunit = aliases[tunit.lower()]
    if tunit is None:
        tunit = default_unit
    try:
        return u.Unit(tunit).to(unit, equivalencies=u.spectral() if unit == "keV" else [])
    except (ValueError, u.UnitsError) as err:
        raise UnitError(
            f"{path}: column {name!r} has unit {tunit!r}, which cannot be converted to "
            f"{unit}; fix TUNIT or convert the column"
        ) from err


#: A median photon energy above this (keV) is not an X-ray event list: most likely eV
#: values labelled keV (eROSITA detects 0.2-10 keV).
MAX_MEDIAN_KEV = 100.0


def check_energy_scale(energy_kev: np.ndarray, where: str, fix: str) -> None:
    """Refuse energies whose median exceeds `MAX_MEDIAN_KEV` (eV read as keV).

    Examples
    --------
    >>> check_energy_scale(np.array([975.0, 1200.0]), "SIGNAL", "set TUNIT")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: SIGNAL has a median photon energy of 1087.5 keV, ...
    """
    if energy_kev.size == 0:
        return
    median = float(np.median(energy_kev))
    if median > MAX_MEDIAN_KEV:
        raise InputError(
            f"{where} has a median photon energy of {median:g} keV, far above X-ray energies "
            f"(0.2-10 keV): the values look like eV labelled keV; {fix}"
        )


def _check_finite(table: _Table, name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(
            f"{table.path}: column {name!r} has {int(bad.sum())} NaN/inf value(s), the first in "
            f"row {int(np.flatnonzero(bad)[0])}; remove those events first"
        )


def _int_column(table: _Table, name: str) -> np.ndarray:
    values = np.asarray(table.column(name))
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise InputError(f"{table.path}: column {name!r} must hold integers")
        values = values.astype(np.int64)
    elif values.dtype.kind not in "iub":
        raise InputError(f"{table.path}: column {name!r} must hold integers; got {values.dtype}")
    return values


def parse_source_map(header: dict, path: Path) -> dict[int, str] | None:
    """``{SRC_ID: label}`` from a header's SRCICM/SRCAGN/SRCBKG keywords (None without them)."""
    mapping: dict[int, str] = {}
    for label, key in SOURCE_KEYWORDS.items():
        value = header.get(key)
        if value is None:
            continue
        for part in str(value).replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                mapping[int(part)] = label
            except ValueError as err:
                raise _fail(
                    path,
                    f"keyword {key}={value!r} must be a comma-separated list of integer "
                    "SRC_ID values",
                ) from err
    return mapping or None


def _meta(primary: dict, ext: dict) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, kw in META_KEYWORDS.items():
        value = ext.get(kw, primary.get(kw))
        if value is None and key == "exposure":
            value = ext.get("LIVETIME", ext.get("ONTIME"))
        if value is None or isinstance(value, _Undefined):
            continue
        if key in _FLOAT_META:
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
        elif isinstance(value, str):
            value = value.strip()
        meta[key] = value
    return meta


def read_event_file(path: Any, fmt: str | None = None, source_map: dict | None = None) -> dict:
    """Read an event file into a dict of normalised arrays and metadata.

    Returns keys ``ra``, ``dec`` (deg), ``energy`` (keV), ``time`` (s or
    None), ``src_id`` (or None), ``source_map`` (or None), ``extra`` (dict),
    ``meta`` and ``format``.
    """
    path = Path(path)
    buf, hdus = scan_fits(path)
    fmt, table = _detect(path, hdus, buf, fmt)
    for name in ("RA", "DEC"):
        _require(table, name, fmt)
    ra = _float_column(table, "RA", "deg", "deg")
    dec = _float_column(table, "DEC", "deg", "deg")
    if ra.size and (np.abs(dec).max() > 90.0):
        row = int(np.flatnonzero(np.abs(dec) > 90.0)[0])
        raise InputError(f"{path}: column 'DEC' has |Dec| > 90 deg (row {row}: {dec[row]})")
    if fmt == "phox":
        _require(table, "ENERGY", fmt)
        energy = _float_column(table, "ENERGY", "keV", "keV")
        name = "ENERGY"
    elif fmt == "sixte" and table.has("SIGNAL"):
        energy = _float_column(table, "SIGNAL", "keV", "keV")
        name = "SIGNAL"
    else:
        _require(table, "PI", fmt)
        energy = _float_column(table, "PI", "keV", "eV", aliases=PI_ALIASES)
        name = "PI"
    if energy.size and energy.min() < 0:
        row = int(np.flatnonzero(energy < 0)[0])
        raise InputError(f"{path}: column {name!r} has a negative energy in row {row}")
    check_energy_scale(
        energy,
        f"{path}: column {name!r} (unit {table.unit(name) or 'none, read as keV'})",
        "set the column's TUNIT to 'eV' (or divide the values by 1000)",
    )
    time = _float_column(table, "TIME", "s", "s") if table.has("TIME") else None
    src_id = _int_column(table, "SRC_ID") if table.has("SRC_ID") else None
    extra = {c: _int_column(table, c) for c in EXTRA_COLUMNS if table.has(c)}
    primary = hdus[0].header
    header_map = parse_source_map(table.hdu.header, path) or parse_source_map(primary, path)
    meta = _meta(primary, table.hdu.header)
    if source_map is None and header_map is not None:
        meta["source_map"] = header_map
    return {
        "ra": ra,
        "dec": dec,
        "energy": energy,
        "time": time,
        "src_id": src_id,
        "source_map": source_map if source_map is not None else header_map,
        "extra": extra,
        "meta": meta,
        "format": fmt,
    }


def _int_format(values: np.ndarray) -> str:
    if values.size == 0:
        return "J"
    lo, hi = int(values.min()), int(values.max())
    if -(2**15) <= lo and hi < 2**15 and values.dtype.itemsize <= 2:
        return "I"
    if -(2**31) <= lo and hi < 2**31:
        return "J"
    return "K"


def _header_value(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def write_event_file(
    path: Any,
    *,
    ra: np.ndarray,
    dec: np.ndarray,
    energy: np.ndarray,
    time: np.ndarray | None,
    src_id: np.ndarray | None,
    source_map: dict[int, str] | None,
    extra: dict[str, np.ndarray],
    meta: dict[str, Any],
    overwrite: bool = False,
) -> None:
    """Write events atomically in the SIXTE layout (optional columns only when present)."""
    cols = []
    if time is not None:
        cols.append(fits.Column("TIME", "D", unit="s", array=time))
    for name in ("FRAME", "PHA"):
        if name in extra:
            cols.append(fits.Column(name, _int_format(extra[name]), array=extra[name]))
    # float32 (the SIXTE type) when that loses nothing, else float64
    e32 = energy.astype(np.float32)
    exact32 = bool(np.array_equal(e32.astype(np.float64), energy))
    cols.append(
        fits.Column("SIGNAL", "E" if exact32 else "D", unit="keV", array=e32 if exact32 else energy)
    )
    cols.append(fits.Column("PI", "J", unit="eV", array=np.rint(energy * 1000.0).astype(np.int32)))
    cols.append(fits.Column("RA", "D", unit="deg", array=ra))
    cols.append(fits.Column("DEC", "D", unit="deg", array=dec))
    for name in ("RAWX", "RAWY", "PH_ID"):
        if name in extra:
            cols.append(fits.Column(name, _int_format(extra[name]), array=extra[name]))
    if src_id is not None:
        cols.append(fits.Column("SRC_ID", _int_format(src_id), array=src_id))
    events = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    primary = fits.PrimaryHDU()
    for key, value in meta.items():
        if key == "source_map" or value is None:
            continue
        kw = META_KEYWORDS.get(key)
        if kw is None:
            raise InputError(
                f"meta key {key!r} has no FITS keyword; known keys are "
                f"{sorted(META_KEYWORDS)} (and 'source_map')"
            )
        for header in (primary.header, events.header):
            header[kw] = _header_value(value)
    if source_map:
        for label, key in SOURCE_KEYWORDS.items():
            ids = sorted(i for i, lab in source_map.items() if lab == label)
            if ids:
                events.header[key] = (",".join(str(i) for i in ids), f"SRC_ID values of {label}")
    with atomic_write(path, overwrite=overwrite) as tmp:
        fits.HDUList([primary, events]).writeto(tmp, overwrite=True)
