"""Tile index of a survey (L1): footprints, unique areas and ownership, `TileIndex`.

Each tile of a survey such as eRASS1 *owns* a unique area — an RA/Dec box
``[RA_MIN, RA_MAX) × [DE_MIN, DE_MAX)`` — and the unique areas partition the
sky, so a photon in an overlap strip is taken from exactly one tile.

Tile index (``tile_table``): a FITS/ECSV table with one row per tile and
columns ``EVENTS`` (event-file path, relative to the directory), optional
``EXPMAP`` (exposure map), ``RA_MIN``, ``RA_MAX``, ``DE_MIN``, ``DE_MAX``
(unique area, deg) and optional ``RA_CEN``, ``DE_CEN`` (other names through
``tile_columns``). Without a table, ``DIR/tiles.fits`` is used when it exists,
else every ``*events*.fits*`` file under the directory is indexed from its
EVENTS header (the same keywords); headers without a unique area fall back to
"nearest tile centre" ownership (``RA_CEN``/``DE_CEN`` or the X/Y ``TCRVL``
keywords), which is a partition too. Indexing reads headers only.

Examples
--------
>>> import tempfile, pathlib
>>> from astroclustermass.simulate import MockSurvey
>>> d = pathlib.Path(tempfile.mkdtemp()) / "survey"
>>> _ = MockSurvey(n_clusters=1, n_ra=2, n_dec=1, tile_size=0.8, overlap=0.2,
...                center=(10.0, 0.0)).write(d, progress=False)
>>> index = TileIndex(d)
>>> len(index), index.tile_names, index.owner(10.2, 0.0).item()
(2, ['tile_101', 'tile_102'], 1)
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from .._utils._projection import _center_deg, angular_separation_deg
from ..exceptions import FileFormatError, InputError, MissingColumnError

__all__ = ["TileIndex", "OutsideSurveyError", "TILE_COLUMNS"]

#: default names of the tile-table columns (keys are what SurveyTiles needs)
TILE_COLUMNS = {
    "events": "EVENTS",
    "expmap": "EXPMAP",
    "ra_min": "RA_MIN",
    "ra_max": "RA_MAX",
    "dec_min": "DE_MIN",
    "dec_max": "DE_MAX",
    "ra_cen": "RA_CEN",
    "dec_cen": "DE_CEN",
}
_BOX = ("ra_min", "ra_max", "dec_min", "dec_max")


class OutsideSurveyError(InputError):
    """A position that no tile of the survey owns."""


def _in_box(ra, dec, box) -> np.ndarray:
    ra_lo, ra_hi, d_lo, d_hi = box
    in_ra = (np.asarray(ra) - ra_lo) % 360.0 < (ra_hi - ra_lo) % 360.0
    if (ra_hi - ra_lo) % 360.0 == 0.0:  # a full ring of RA
        in_ra = np.ones(np.shape(ra), bool)
    return in_ra & (np.asarray(dec) >= d_lo) & (np.asarray(dec) < d_hi)


def radius_deg(radius: Any) -> float:
    """An aperture radius in deg (angle Quantity or float deg), checked to lie in (0, 90)."""
    if isinstance(radius, u.Quantity):
        r = float(radius.to_value(u.deg))
    else:
        r = float(radius)
    if not (np.isfinite(r) and 0 < r < 90):
        raise InputError(f"radius must be an angle between 0 and 90 deg; got {radius!r}")
    return r


class TileIndex:
    """Footprints of a survey's tiles: which tile owns a position, which tiles meet a circle.

    Parameters
    ----------
    directory : path-like
        The survey directory (tile paths are relative to it).
    tile_table : path-like or `~astropy.table.Table`, optional
        Tile index (see the module docstring).
    tile_columns : dict, optional
        Tile-table column names, overriding `TILE_COLUMNS`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astroclustermass.simulate import MockSurvey
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "s"
    >>> _ = MockSurvey(n_clusters=1, n_ra=2, n_dec=2, tile_size=0.8, overlap=0.2).write(
    ...     d, progress=False)
    >>> TileIndex(d).tiles_for((90.0, -50.0), 0.1)  # the centre, where four tiles meet
    [0, 1, 2, 3]
    """

    def __init__(self, directory: Any, tile_table: Any = None, tile_columns: dict | None = None):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileFormatError(f"survey directory {self.directory} does not exist")
        self.columns = {**TILE_COLUMNS, **(tile_columns or {})}
        self._index(tile_table)

    @property
    def rows(self) -> list[dict]:
        """Per-tile ``events``, ``expmap``, ``box`` and ``centre`` (see the class docstring)."""
        return self._rows

    def _index(self, tile_table: Any) -> None:
        from astropy.table import Table

        if tile_table is None and (self.directory / "tiles.fits").is_file():
            tile_table = self.directory / "tiles.fits"
        if tile_table is not None:
            where = str(tile_table) if not isinstance(tile_table, Table) else "tile_table"
            if not isinstance(tile_table, Table):
                try:
                    tile_table = Table.read(tile_table)
                except Exception as err:  # astropy raises many kinds
                    raise FileFormatError(f"cannot read tile table {where}: {err}") from err
            rows = self._rows_from_table(tile_table, where)
        else:
            rows = self._rows_from_headers()
        if not rows:
            raise FileFormatError(
                f"no survey tiles in {self.directory}: give tile_table= or put *events*.fits "
                "files with RA_MIN/RA_MAX/DE_MIN/DE_MAX (or RA_CEN/DE_CEN) keywords there"
            )
        self._rows = rows
        self._boxes = [r.get("box") for r in rows]
        self._centres = np.array([r["centre"] for r in rows], dtype=float)

    def _rows_from_table(self, table, where: str) -> list[dict]:
        c = self.columns
        need = [c["events"]] + [c[k] for k in _BOX]
        missing = [n for n in need if n not in table.colnames]
        if missing:
            raise MissingColumnError(
                f"tile table {where} lacks column(s) {missing}; it has {table.colnames} "
                "(map other names with tile_columns={...})"
            )
        rows = []
        for r in table:
            box = tuple(float(r[c[k]]) for k in _BOX)
            cen = (
                (float(r[c["ra_cen"]]), float(r[c["dec_cen"]]))
                if c["ra_cen"] in table.colnames and c["dec_cen"] in table.colnames
                else ((box[0] + ((box[1] - box[0]) % 360.0) / 2) % 360.0, (box[2] + box[3]) / 2)
            )
            exp = str(r[c["expmap"]]).strip() if c["expmap"] in table.colnames else ""
            rows.append(
                {
                    "events": self.directory / str(r[c["events"]]).strip(),
                    "expmap": self.directory / exp if exp else None,
                    "box": box,
                    "centre": cen,
                }
            )
        return rows

    def _rows_from_headers(self) -> list[dict]:
        from astropy.io import fits

        files = sorted(glob.glob(str(self.directory / "**" / "*events*.fits*"), recursive=True))
        c = self.columns
        rows = []
        for f in files:
            p = Path(f)
            try:
                h = fits.getheader(p, "EVENTS")
            except KeyError:
                raise FileFormatError(
                    f"tile {p} has no EVENTS extension: files named *events*.fits under the "
                    "survey directory are read as tiles; rename it or give a tile_table"
                ) from None
            except Exception as err:  # astropy raises many kinds
                raise FileFormatError(f"cannot read the EVENTS header of tile {p}: {err}") from err
            box = None
            if all(c[k] in h for k in _BOX):
                box = tuple(float(h[c[k]]) for k in _BOX)
            if c["ra_cen"] in h and c["dec_cen"] in h:
                cen = (float(h[c["ra_cen"]]), float(h[c["dec_cen"]]))
            else:
                keys = [k for k in h if str(k).startswith("TCTYP")]
                tc = {str(h[k])[:3]: k[5:] for k in keys}
                if "RA-" not in tc or "DEC" not in tc:
                    raise FileFormatError(
                        f"tile {p} has neither a unique area (RA_MIN...) nor a centre "
                        "(RA_CEN/DE_CEN or X/Y TCRVL keywords); pass a tile_table"
                    )
                cen = (float(h[f"TCRVL{tc['RA-']}"]), float(h[f"TCRVL{tc['DEC']}"]))
            stem = p.name.split("_events")[0]
            exp = sorted(p.parent.glob(f"{stem}*expmap*.fits*"))
            rows.append({"events": p, "expmap": exp[0] if exp else None, "box": box,
                         "centre": cen})  # fmt: skip
        return rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def tile_names(self) -> list[str]:
        """Event-file stems of the tiles (``tile_101`` for ``tile_101_events.fits``)."""
        return [r["events"].name.split("_events")[0].split(".fits")[0] for r in self._rows]

    def __repr__(self) -> str:
        return f"<TileIndex: {len(self)} tiles in {self.directory}>"

    # -------------------------------------------------------------- ownership
    def owner(self, ra: Any, dec: Any) -> np.ndarray:
        """Index of the tile that owns each position (deg); -1 outside every tile.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from astroclustermass.simulate import MockSurvey
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "s"
        >>> _ = MockSurvey(n_clusters=1, n_ra=2, n_dec=1, tile_size=0.8, overlap=0.2,
        ...                center=(10.0, 0.0)).write(d, progress=False)
        >>> TileIndex(d).owner([9.8, 10.2, 50.0], [0.0, 0.0, 0.0]).tolist()
        [0, 1, -1]
        """
        ra = np.asarray(ra, dtype=float) % 360.0
        dec = np.asarray(dec, dtype=float)
        out = np.full(ra.shape, -1, dtype=np.int64)
        if all(b is not None for b in self._boxes):
            for k, box in enumerate(self._boxes):
                out[(out < 0) & _in_box(ra, dec, box)] = k
            return out
        # nearest tile centre (no unique areas known)
        sep = np.stack([angular_separation_deg(ra, dec, *c) for c in self._centres])
        return np.argmin(sep, axis=0)

    def tiles_for(self, center: Any, radius: Any) -> list[int]:
        """Tiles whose unique area meets the circle of ``radius`` about ``center``."""
        ra0, dec0 = _center_deg(center)
        r = radius_deg(radius)
        d_lo, d_hi = dec0 - r, dec0 + r
        if abs(d_lo) >= 90 or abs(d_hi) >= 90:
            dra = 180.0
        else:
            dra = r / max(np.cos(np.radians(max(abs(d_lo), abs(d_hi)))), 1e-6)
        out = []
        if any(b is None for b in self._boxes):
            # nearest-centre ownership: the owner of a point may be any tile; the
            # ownership test keeps each photon once (slower: every tile is scanned)
            return list(range(len(self)))
        for k, box in enumerate(self._boxes):
            ra_lo, ra_hi, b_lo, b_hi = box
            if b_hi < d_lo or b_lo > d_hi:
                continue
            if dra < 180.0 and (ra_hi - ra_lo) % 360.0 != 0.0:
                # circular-interval overlap of [ra0-dra, ra0+dra] and [ra_lo, ra_hi)
                width = (ra_hi - ra_lo) % 360.0
                start = (ra0 - dra - ra_lo) % 360.0
                if not (start < width or (start + 2 * dra) >= 360.0):
                    continue
            out.append(k)
        return out
