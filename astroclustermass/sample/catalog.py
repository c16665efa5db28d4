"""Reading the inputs of ``ClusterSample.build``: catalogue, galaxies, band sets (private, L2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .._utils import (
    check_dec,
    check_positive_or_unknown,
    check_quantity,
    check_range,
    check_redshift,
)
from ..bands import EnergyBands, get_bands
from ..cosmology import get_cosmology, length_to_comoving_h, mass_to_h
from ..exceptions import EmptyInputError, FileFormatError, InputError, MissingColumnError
from .ecsv import read_ecsv

__all__ = [
    "read_table",
    "column_values",
    "read_catalog",
    "apply_column_map",
    "resolve_band_sets",
    "galaxy_groups",
]

_REQUIRED = ("file", "ra", "dec", "redshift")
_GALAXY_COLUMNS = ("x_proj", "y_proj", "ra", "dec", "v_los", "z_gal", "m_star")
#: column_map keys that name galaxy-table columns only (the rest map the catalogue)
_GALAXY_ONLY = ("cluster_id", "x_proj", "y_proj", "v_los", "z_gal", "m_star")
#: what a cluster's R500c (comoving h⁻¹ Mpc) and M500c (h⁻¹ M☉) can be: values outside
#: are a unit slip (kpc without a unit, masses in 1e14 Msun or log10) and are refused
_R500C_RANGE = (0.01, 10.0)
_M500C_RANGE = (1e10, 1e17)


def _check_plausible(values, unit, where: str, rows: list, kind: str) -> None:
    """Refuse radii/masses no cluster has: the unit was ambiguous or missing."""
    lo, hi = _R500C_RANGE if kind == "r500c" else _M500C_RANGE
    arr = np.asarray(values, dtype=float)
    bad = np.flatnonzero(np.isfinite(arr) & ((arr < lo) | (arr > hi)))
    if bad.size == 0:
        return
    i = int(bad[0])
    given = f"unit {unit}" if unit is not None else "no unit (plain numbers)"
    if kind == "r500c":
        what = f"{lo:g}-{hi:g} comoving h^-1 Mpc"
        fix = (
            "give the column its unit (e.g. 'kpc' for physical kiloparsec, 'Mpc / littleh' for "
            "comoving h^-1 Mpc) or pass r500c_frame= where the unit cannot say"
        )
    else:
        what = f"{lo:.0e}-{hi:.0e} h^-1 Msun"
        fix = (
            "give the column its unit (e.g. '1e14 Msun', 'Msun', 'Msun / littleh'); log10 "
            "masses belong in a column mapped onto 'log10_m500c'"
        )
    raise InputError(
        f"{where} has {bad.size} value(s) outside the {what} a cluster can have, the first "
        f"in {rows[i]}: {arr[i]:.4g} after conversion from {given}; the unit is ambiguous or "
        f"wrong: {fix}"
    )


def read_table(path: Path, what: str) -> Table:
    """Read a table (fast path for ECSV); `FileFormatError` naming ``what`` and the file.

    Examples
    --------
    >>> from pathlib import Path
    >>> read_table(Path("/nonexistent.ecsv"), "catalogue")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileFormatError: catalogue /nonexistent.ecsv does not exist
    """
    from astropy.cosmology import units as cu

    if not path.exists():
        raise FileFormatError(f"{what} {path} does not exist")
    try:
        with u.add_enabled_units(cu):  # h^-1 units (littleh) parse
            return read_ecsv(path) if path.suffix.lower() == ".ecsv" else Table.read(path)
    except Exception as err:  # astropy raises many types for unreadable tables
        raise FileFormatError(f"cannot read {what} {path}: {err}") from err


def column_values(table: Table, name: str, unit: str | None, path: Path) -> np.ndarray:
    """Column as float64 (in ``unit`` when it carries one; masked entries become NaN).

    Examples
    --------
    >>> import astropy.units as u
    >>> from pathlib import Path
    >>> column_values(Table({"r": [500.0] * u.kpc}), "r", "Mpc", Path("cat.ecsv")).tolist()
    [0.5]
    """
    col = table[name]
    if unit is not None and getattr(col, "unit", None) is not None:
        vals = check_quantity(u.Quantity(col), unit, f"{path}: column {name!r}").value
    else:
        vals = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    return np.asarray(vals, dtype=float)


def apply_column_map(table: Table, column_map: dict | None, path: Path, what: str) -> Table:
    """Rename a table's columns with ``{package name: table name}`` (e.g. ``{'ra': 'RA'}``).

    Raises `MissingColumnError` naming the file and column when a mapped
    column is absent.

    Examples
    --------
    >>> from pathlib import Path
    >>> t = apply_column_map(Table({"BEST_Z": [0.1]}), {"redshift": "BEST_Z"}, Path("c"), "x")
    >>> t.colnames
    ['redshift']
    """
    if not column_map:
        return table
    missing = [src for src in column_map.values() if src not in table.colnames]
    if missing:
        raise MissingColumnError(
            f"{what} {path} lacks column(s) {missing} named in column_map={column_map}; it has "
            f"{', '.join(table.colnames)}"
        )
    table = table.copy(copy_data=False)
    for ours, theirs in column_map.items():
        if ours == theirs:
            continue
        if ours in table.colnames:
            table.remove_column(ours)  # the mapped column replaces one of the same name
        table.rename_column(theirs, ours)
    return table


def read_catalog(
    path: Path,
    cosmology: Any = None,
    r500c_frame: str | None = None,
    column_map: dict | None = None,
    require_file: bool = True,
) -> Table:
    """Read and check a cluster catalogue (required columns file, ra, dec, redshift).

    Adds ``id`` (row number) when absent. Every value is checked here, once,
    and a bad one is refused naming the file, column, row and cluster id:
    ``ra`` finite, ``dec`` within ±90°, ``redshift`` within
    0.001-10, ``r500c`` and ``m500c``
    positive (NaN means unknown). Units go through astropy: ``r500c`` in any
    length unit, ``h⁻¹`` ones included (``Mpc / littleh``, ``Mpc / h``),
    becomes comoving h⁻¹ Mpc with the cosmology's h (see
    `~astroclustermass.cosmology.length_to_comoving_h`; plain numbers are
    comoving h⁻¹ Mpc); ``m500c`` in ``Msun`` or ``Msun / h`` (plain numbers:
    h⁻¹ M☉) becomes h⁻¹ M☉ and gives ``log10_m500c``.

    Parameters
    ----------
    path : Path
        The catalogue.
    cosmology : FLRW, str or None
        Supplies h for the unit conversions (default WMAP7).
    r500c_frame : {"comoving", "physical"}, optional
        Whether ``r500c`` is comoving or physical where its unit cannot say;
        default comoving for h⁻¹ units and plain numbers, physical for
        ``kpc``/``Mpc``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astropy.table import Table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "catalog.ecsv"
    >>> Table({"file": ["a.fits"], "ra": [1.0], "dec": [2.0]}).write(p)
    >>> read_catalog(p)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    MissingColumnError: catalogue ... lacks the required column 'redshift'
    """
    cat_map = {k: v for k, v in (column_map or {}).items() if k not in _GALAXY_ONLY}
    cat = apply_column_map(read_table(path, "catalogue"), cat_map, path, "catalogue")
    required = _REQUIRED if require_file else tuple(c for c in _REQUIRED if c != "file")
    for name in required:
        if name not in cat.colnames:
            hint = "" if column_map else "; map other names with column_map={...}"
            raise MissingColumnError(
                f"catalogue {path} lacks the required column {name!r} (required: "
                f"{', '.join(required)}; it has {', '.join(cat.colnames)}){hint}"
            )
    if len(cat) == 0:
        raise EmptyInputError(f"catalogue {path} has no rows")
    if "id" not in cat.colnames:
        cat.add_column(np.arange(len(cat), dtype=np.int64), name="id", index=0)
    ids = np.asarray(cat["id"])
    if len(np.unique(ids)) != len(ids):
        raise InputError(f"catalogue {path}: the 'id' column has duplicate values")
    rows = [f"row {i} (cluster id {ids[i]})" for i in range(len(cat))]
    where = f"catalogue {path}: column"
    check_range(column_values(cat, "ra", "deg", path), f"{where} 'ra'", labels=rows)
    check_dec(column_values(cat, "dec", "deg", path), f"{where} 'dec'", rows)
    z = check_redshift(column_values(cat, "redshift", None, path), f"{where} 'redshift'", rows)
    cosmo = get_cosmology(cosmology)
    if "r500c" in cat.colnames:
        unit = getattr(cat["r500c"], "unit", None)
        r500 = length_to_comoving_h(
            column_values(cat, "r500c", None, path),
            unit,
            z,
            cosmo,
            frame=r500c_frame,
            name=f"{where} 'r500c'",
        )
        check_positive_or_unknown(r500, f"{where} 'r500c'", rows)
        _check_plausible(r500, unit, f"{where} 'r500c'", rows, "r500c")
        cat["r500c"] = r500
        cat["r500c"].description = "R500c in comoving h^-1 Mpc" + (
            f" (converted from {unit})" if unit is not None else ""
        )
    if "m500c" in cat.colnames:
        unit = getattr(cat["m500c"], "unit", None)
        mass = mass_to_h(
            column_values(cat, "m500c", None, path), unit, cosmo, name=f"{where} 'm500c'"
        )
        check_positive_or_unknown(mass, f"{where} 'm500c'", rows)
        _check_plausible(mass, unit, f"{where} 'm500c'", rows, "m500c")
        cat["m500c"] = mass
        cat["m500c"].description = "M500c in h^-1 Msun"
        if "log10_m500c" not in cat.colnames:
            cat["log10_m500c"] = np.log10(mass)
    return cat


def resolve_band_sets(bands: Any) -> list[EnergyBands]:
    """Band sets from a name, an `EnergyBands`, a sequence or a dict of them.

    Examples
    --------
    >>> [b.name for b in resolve_band_sets(("bolometric", "erosita_3"))]
    ['bolometric', 'erosita_3']
    """
    if isinstance(bands, (str, EnergyBands)):
        items = [bands]
    elif isinstance(bands, dict):
        items = [EnergyBands(get_bands(v).edges_keV, name=k) for k, v in bands.items()]
    else:
        items = list(bands)
    out = [get_bands(b) for b in items]
    names = [b.name for b in out]
    if not out or len(set(names)) != len(names):
        raise InputError(
            f"band sets need distinct names; got {names}. Name custom bands with "
            "EnergyBands(edges, name=...) or pass a dict {name: edges}"
        )
    return out


def galaxy_groups(
    directory: Path, name: str, catalog: Table, column_map: dict | None = None
) -> list[dict | None] | None:
    """Per catalogue row, a dict of that cluster's galaxy columns; None without the file.

    Galaxies are matched to clusters by ``cluster_id`` == catalogue ``id``;
    columns keep their units (as Quantity) so that `galaxy_phase_space`
    converts them.

    Examples
    --------
    >>> from pathlib import Path
    >>> galaxy_groups(Path("/nonexistent"), "galaxies.ecsv", Table({"id": [1]})) is None
    True
    """
    path = directory / name
    if not path.exists():
        return None
    gal = read_table(path, "galaxy table")
    if column_map:  # the same map: galaxy keys (e.g. {'z_gal': 'z'}), and ra/dec if present
        gal_keys = (*_GALAXY_ONLY, "ra", "dec")
        gal_map = {k: v for k, v in column_map.items() if k in gal_keys and v in gal.colnames}
        gal = apply_column_map(gal, gal_map, path, "galaxy table")
    if "cluster_id" not in gal.colnames:
        raise MissingColumnError(
            f"galaxy table {path} lacks the column 'cluster_id' (matching catalogue 'id')"
        )
    cols = [c for c in _GALAXY_COLUMNS if c in gal.colnames]
    has_pos = {"x_proj", "y_proj"} <= set(cols) or {"ra", "dec"} <= set(cols)
    if not has_pos or not ({"v_los", "z_gal"} & set(cols)):
        raise MissingColumnError(
            f"galaxy table {path} needs x_proj, y_proj (or ra, dec) and v_los (or z_gal); "
            f"it has {', '.join(gal.colnames)}"
        )
    cid = np.asarray(gal["cluster_id"])
    order = np.argsort(cid, kind="stable")
    cid = cid[order]
    data = {}
    for c in cols:
        col = gal[c]
        vals = u.Quantity(col)[order] if getattr(col, "unit", None) is not None else None
        if vals is None:
            vals = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)[order]
        data[c] = vals
    ids = np.asarray(catalog["id"])
    lo = np.searchsorted(cid, ids, side="left")
    hi = np.searchsorted(cid, ids, side="right")
    return [{c: v[a:b] for c, v in data.items()} for a, b in zip(lo.tolist(), hi.tolist())]
