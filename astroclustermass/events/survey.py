"""Survey sky tiles → per-cluster event lists (L1): `SurveyTiles`.

A survey such as eRASS1 releases one event file per sky tile; tiles overlap
(by ~20′ for the 3.6° eRASS1 tiles), so a photon in an overlap strip is in
two or four files, and a cluster near a tile edge needs events from several
tiles. Each tile *owns* a unique area — an RA/Dec box ``[RA_MIN, RA_MAX) ×
[DE_MIN, DE_MAX)`` — and the unique areas partition the sky. `SurveyTiles`
takes every photon from the one tile that owns its position, so merging never
counts a photon twice and never loses one.

Tile index (``tile_table``): a FITS/ECSV table with one row per tile and
columns ``EVENTS`` (event-file path, relative to the directory), optional
``EXPMAP`` (exposure map), ``RA_MIN``, ``RA_MAX``, ``DE_MIN``, ``DE_MAX``
(unique area, deg) and optional ``RA_CEN``, ``DE_CEN`` (other names through
``tile_columns``). Without a table, ``DIR/tiles.fits`` is used when it exists,
else every ``*events*.fits*`` file under the directory is indexed from its
EVENTS header (the same keywords); headers without a unique area fall back to
"nearest tile centre" ownership (``RA_CEN``/``DE_CEN`` or the X/Y ``TCRVL``
keywords), which is a partition too.

Reading is memory bounded: at most ``cache_size`` tiles are open at a time
(memory-mapped; only their RA/Dec columns and a Dec-sorted index are held),
and only the rows of a cluster's aperture are read from the other columns.
`SurveyTiles.cutouts` visits clusters tile by tile so that each tile is
opened a bounded number of times however many clusters share it
(`SurveyTiles.open_counts` records it).

Camera selection (``cameras``, ``TM_NR``), the TM5/TM7 light-leak cut
(``light_leak_energy``: drop those cameras' events below it) and GTIs (per
camera ``GTI{tm}`` extensions and a ``FLAREGTI`` extension, names
configurable) are applied to every tile.

Examples
--------
>>> import tempfile, pathlib
>>> from astroclustermass.simulate import MockSurvey
>>> d = pathlib.Path(tempfile.mkdtemp()) / "survey"
>>> _ = MockSurvey(n_clusters=2, n_ra=2, n_dec=1, tile_size=0.8, overlap=0.2).write(
...     d, progress=False)
>>> tiles = SurveyTiles(d)
>>> len(tiles), tiles.tile_names
(2, ['tile_101', 'tile_102'])
"""

from __future__ import annotations

import glob
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from .._utils._projection import _center_deg, angular_separation_deg
from ..exceptions import FileFormatError, InputError, MissingColumnError
from .event_list import EventList, _codes_from_map
from .fits import PI_ALIASES, parse_source_map, unit_factor

__all__ = ["SurveyTiles", "OutsideSurveyError", "TILE_COLUMNS"]

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


class _Tile:
    """One open tile: memory-mapped EVENTS, RA/Dec sorted by Dec, GTIs."""

    def __init__(self, path: Path, gti_names: str, flare_gti: str | None) -> None:
        import warnings

        from astropy.io import fits
        from astropy.utils.exceptions import AstropyUserWarning

        self.path, self.hdul = path, None
        try:
            with warnings.catch_warnings():  # a truncated file is reported below
                warnings.simplefilter("ignore", AstropyUserWarning)
                self._open(fits, gti_names, flare_gti)
        except (FileFormatError, MissingColumnError):
            self.close()
            raise
        except Exception as err:  # astropy raises many kinds on damaged files
            self.close()
            raise FileFormatError(f"cannot read survey tile {path}: {err}") from err
        self.source_map = parse_source_map(self.header, path)

    def _open(self, fits, gti_names: str, flare_gti: str | None) -> None:
        path = self.path
        self.hdul = fits.open(path, memmap=True, mode="readonly")
        ev = self.hdul["EVENTS"]
        info = ev.fileinfo()
        need = info["datLoc"] + info["datSpan"]
        size = path.stat().st_size
        if need > size:
            raise FileFormatError(
                f"{path}: the EVENTS table needs {need} bytes but the file has {size}: the "
                "tile is truncated (an interrupted download?)"
            )
        self.data = ev.data
        names = {n.upper(): n for n in ev.columns.names}
        for col in ("RA", "DEC", "PI"):
            if col not in names:
                raise MissingColumnError(
                    f"{path}: the EVENTS table lacks column {col!r}; columns are {ev.columns.names}"
                )
        self.names = names
        self.header = ev.header
        units = {n.upper(): c.unit for n, c in zip(ev.columns.names, ev.columns)}
        self.pi_factor = unit_factor(units.get("PI"), "keV", "eV", PI_ALIASES, str(path), "PI")
        dec = np.asarray(self.data.field(names["DEC"]), dtype=np.float64)
        self.order = np.argsort(dec, kind="stable")
        self.dec_sorted = dec[self.order]
        self.ra = np.asarray(self.data.field(names["RA"]), dtype=np.float64)
        self.gtis = {}
        self.flare = None
        for h in self.hdul[1:]:
            extname = str(h.header.get("EXTNAME", "")).upper()
            if extname == (flare_gti or "").upper():
                self.flare = self._intervals(h)
            for tm in range(1, 8):
                if extname == gti_names.format(tm=tm).upper():
                    self.gtis[tm] = self._intervals(h)

    @staticmethod
    def _intervals(hdu) -> np.ndarray:
        iv = np.column_stack([np.asarray(hdu.data["START"], float),
                              np.asarray(hdu.data["STOP"], float)])  # fmt: skip
        return iv[np.argsort(iv[:, 0])]

    def close(self) -> None:
        hdul = getattr(self, "hdul", None)
        if hdul is not None:
            hdul.close()
        self.hdul = None

    def rows_in_dec(self, lo: float, hi: float) -> np.ndarray:
        a = np.searchsorted(self.dec_sorted, lo, side="left")
        b = np.searchsorted(self.dec_sorted, hi, side="right")
        return np.sort(self.order[a:b])

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        key = self.names.get(name.upper())
        if key is None:
            return None
        return np.asarray(self.data.field(key)[rows])


def _in_intervals(t: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """T inside any [start, stop) of sorted intervals."""
    if iv.size == 0:
        return np.zeros(t.shape, bool)
    k = np.searchsorted(iv[:, 0], t, side="right") - 1
    ok = k >= 0
    kk = np.clip(k, 0, None)
    return ok & (t < iv[kk, 1]) & (t >= iv[kk, 0])


class SurveyTiles:
    """Event files of a tiled survey, read as per-cluster event lists.

    Parameters
    ----------
    directory : path-like
        The survey directory (tile paths are relative to it).
    tile_table : path-like or `~astropy.table.Table`, optional
        Tile index (see the module docstring); default ``DIR/tiles.fits``
        when present, else the EVENTS headers of ``*events*.fits*`` files.
    cameras : iterable of int
        ``TM_NR`` values to keep (default all seven).
    light_leak_energy : Quantity, optional
        Drop events of ``light_leak_cameras`` below this energy (the optical
        light leak of TM5 and TM7 in the softest band); None keeps them.
    light_leak_cameras : iterable of int
        Cameras affected by the light leak (5, 7).
    apply_gti : bool
        Keep only events inside their camera's GTI and the flare GTI.
    gti_extensions : str
        Name pattern of the per-camera GTI extensions (``'GTI{tm}'``).
    flare_gti : str or None
        Name of the flare GTI extension (``'FLAREGTI'``; None to ignore it).
    tile_columns : dict, optional
        Tile-table column names, overriding `TILE_COLUMNS`.
    cache_size : int
        Tiles held open at once (4: all the tiles a corner cluster needs).

    Examples
    --------
    >>> import tempfile, pathlib, astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astroclustermass.simulate import MockSurvey
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "s"
    >>> s = MockSurvey(n_clusters=1, n_ra=2, n_dec=2, tile_size=0.8, overlap=0.2)
    >>> _ = s.write(d, progress=False)
    >>> tiles = SurveyTiles(d, light_leak_energy=0.5 * u.keV)
    >>> ra, dec = s.positions()  # cluster 0 sits where four tiles meet
    >>> len(tiles.tiles_for((ra[0], dec[0]), 0.1 * u.deg))
    4
    """

    def __init__(
        self,
        directory: Any,
        tile_table: Any = None,
        *,
        cameras: Iterable[int] = (1, 2, 3, 4, 5, 6, 7),
        light_leak_energy: Any = None,
        light_leak_cameras: Iterable[int] = (5, 7),
        apply_gti: bool = True,
        gti_extensions: str = "GTI{tm}",
        flare_gti: str | None = "FLAREGTI",
        tile_columns: dict | None = None,
        cache_size: int = 4,
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileFormatError(f"survey directory {self.directory} does not exist")
        self.cameras = tuple(sorted({int(c) for c in cameras}))
        bad = [c for c in self.cameras if not 1 <= c <= 7]
        if bad or not self.cameras:
            raise InputError(f"cameras must be TM_NR values 1-7; got {list(cameras)}")
        self.light_leak_cameras = tuple(int(c) for c in light_leak_cameras)
        self.light_leak_keV = None
        if light_leak_energy is not None:
            if not isinstance(light_leak_energy, u.Quantity):
                raise InputError("light_leak_energy must be a Quantity, e.g. 0.5 * u.keV")
            self.light_leak_keV = float(light_leak_energy.to_value(u.keV, u.spectral()))
        self.apply_gti = bool(apply_gti)
        self.gti_extensions, self.flare_gti = gti_extensions, flare_gti
        self.columns = {**TILE_COLUMNS, **(tile_columns or {})}
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[int, _Tile] = OrderedDict()
        self._expmaps: dict[int, Any] = {}
        self.open_counts: dict[str, int] = {}
        self._index(tile_table)

    # ------------------------------------------------------------------ index
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
        return f"<SurveyTiles: {len(self)} tiles in {self.directory}>"

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
        >>> SurveyTiles(d).owner([9.8, 10.2, 50.0], [0.0, 0.0, 0.0]).tolist()
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
        r = _radius_deg(radius)
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

    # ------------------------------------------------------------------ reading
    def _tile(self, k: int) -> _Tile:
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        path = self._rows[k]["events"]
        tile = _Tile(path, self.gti_extensions, self.flare_gti)
        self.open_counts[path.name] = self.open_counts.get(path.name, 0) + 1
        self._cache[k] = tile
        while len(self._cache) > self.cache_size:
            _, old = self._cache.popitem(last=False)
            old.close()
        return tile

    def close(self) -> None:
        """Close every open tile."""
        while self._cache:
            _, t = self._cache.popitem()
            t.close()

    def __enter__(self) -> SurveyTiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def events(self, center: Any, radius: Any, meta: dict | None = None) -> EventList:
        """Events within ``radius`` of ``center``, each from the tile that owns its position.

        Parameters
        ----------
        center : SkyCoord or (ra, dec) in deg
        radius : angle Quantity or float (deg)
        meta : dict, optional
            Added to the returned list's ``meta`` (e.g. ``redshift``).

        Returns
        -------
        EventList
            Cameras selected, light leak cut and GTIs applied; ``meta`` has
            ``ra_obj``, ``dec_obj``, ``tiles`` (file names used) and
            ``source_map``.

        Raises
        ------
        OutsideSurveyError
            When no tile owns ``center``.
        """
        ra0, dec0 = _center_deg(center)
        r = _radius_deg(radius)
        if self.owner(ra0, dec0) < 0:
            raise OutsideSurveyError(
                f"position RA={ra0:.5f}, Dec={dec0:.5f} deg lies outside every tile of the "
                f"survey in {self.directory}; drop the cluster or add its tile"
            )
        parts, used, source_map = [], [], {}
        for k in self.tiles_for((ra0, dec0), r):
            t = self._tile(k)
            rows = t.rows_in_dec(dec0 - r, dec0 + r)
            dec = np.asarray(t.data.field(t.names["DEC"])[rows], dtype=np.float64)
            ra = t.ra[rows]
            keep = angular_separation_deg(ra0, dec0, ra, dec) <= r
            keep &= self.owner(ra, dec) == k
            rows, ra, dec = rows[keep], ra[keep], dec[keep]
            pi = np.asarray(t.column("PI", rows), dtype=np.float64)
            energy = pi * t.pi_factor if t.pi_factor != 1.0 else pi
            tm = t.column("TM_NR", rows)
            time = t.column("TIME", rows)
            sel = np.ones(rows.size, bool)
            if tm is not None:
                tm = np.asarray(tm, dtype=np.int64)
                sel &= np.isin(tm, self.cameras)
                if self.light_leak_keV is not None:
                    sel &= ~(np.isin(tm, self.light_leak_cameras) & (energy < self.light_leak_keV))
            if self.apply_gti and time is not None:
                time = np.asarray(time, dtype=np.float64)
                if t.flare is not None:
                    sel &= _in_intervals(time, t.flare)
                if t.gtis and tm is not None:
                    good = np.zeros(rows.size, bool)
                    for cam, iv in t.gtis.items():
                        m = tm == cam
                        good[m] = _in_intervals(time[m], iv)
                    missing = ~np.isin(tm, list(t.gtis))
                    good |= missing  # a camera without a GTI extension keeps its events
                    sel &= good
            src_id = t.column("SRC_ID", rows)
            parts.append(
                {
                    "ra": ra[sel],
                    "dec": dec[sel],
                    "energy": energy[sel],
                    "time": None if time is None else np.asarray(time, np.float64)[sel],
                    "src_id": None if src_id is None else np.asarray(src_id, np.int64)[sel],
                }
            )
            used.append(t.path.name)
            source_map.update(t.source_map or {})
        return self._merge(parts, ra0, dec0, used, source_map, meta)

    def _merge(self, parts, ra0, dec0, used, source_map, meta) -> EventList:
        def cat(key):
            vals = [p[key] for p in parts]
            if any(v is None for v in vals):
                return None
            return np.concatenate(vals) if vals else np.zeros(0)

        ra, dec, energy = cat("ra"), cat("dec"), cat("energy")
        bad = ~np.isfinite(ra) | ~np.isfinite(dec) | ~np.isfinite(energy)
        if bad.any():
            raise InputError(
                f"tiles {used}: {int(bad.sum())} event(s) near RA={ra0:.4f}, Dec={dec0:.4f} have "
                "NaN/inf RA, DEC or PI; clean the tiles first"
            )
        src_id = cat("src_id")
        source = None
        if src_id is not None and source_map:
            source = _codes_from_map(src_id, source_map, f" of tiles {used}")
        m = {"ra_obj": ra0, "dec_obj": dec0, "tiles": used, **(meta or {})}
        if source_map:
            m["source_map"] = dict(source_map)
        return EventList._from_arrays(ra, dec, energy, cat("time"), source, src_id, m)

    def cutout(
        self, center: Any, redshift: float, aperture: float = 2.3, cosmology: Any = None
    ) -> EventList:
        """The events of a cluster's ±``aperture`` comoving h⁻¹ Mpc image (and its corners).

        The radius is the image's half-diagonal, ``atan(√2 · aperture / D_M)``
        (plus 0.1%), so binning the result on the cluster grid gives the same
        image as a per-cluster event file covering the field.
        """
        from ..cosmology import transverse_comoving_distance_h

        d_m = float(transverse_comoving_distance_h(float(redshift), cosmology))
        radius = np.degrees(np.arctan(np.sqrt(2.0) * float(aperture) / d_m)) * 1.001
        return self.events(center, radius, meta={"redshift": float(redshift)})

    def cutouts(
        self,
        centers: Any,
        redshifts: Any,
        aperture: float = 2.3,
        cosmology: Any = None,
    ) -> Iterator[tuple[int, EventList]]:
        """``(index, EventList)`` for many clusters, visited tile by tile (bounded opens).

        Clusters are ordered by the tile owning their centre (then by Dec),
        so with ``cache_size`` ≥ 4 each tile is opened about once; the
        indices say which input each list belongs to.
        """
        ra, dec = (np.atleast_1d(np.asarray(v, float)) for v in centers)
        z = np.atleast_1d(np.asarray(redshifts, float))
        own = self.owner(ra, dec)
        for i in np.lexsort((dec, own)):
            yield int(i), self.cutout((ra[i], dec[i]), z[i], aperture, cosmology)

    # ---------------------------------------------------------------- exposure
    def exposure_map(self, k: int):
        """The `~astroclustermass.images.ExposureMap` of tile ``k`` (FileFormatError if none)."""
        from ..images.exposure import ExposureMap

        if k in self._expmaps:
            return self._expmaps[k]
        path = self._rows[k]["expmap"]
        if path is None or not Path(path).is_file():
            raise FileFormatError(
                f"tile {self._rows[k]['events'].name} has no exposure map"
                + (f" ({path} does not exist)" if path is not None else "")
                + "; give its EXPMAP in the tile table"
            )
        emap = ExposureMap.read(path)
        self._expmaps[k] = emap
        while len(self._expmaps) > self.cache_size:
            self._expmaps.pop(next(iter(self._expmaps)))
        return emap

    def exposure_on_grid(
        self, center: Any, redshift: float, npix: int, aperture: float = 2.3, cosmology=None
    ) -> np.ndarray:
        """Exposure (s) on a cluster's comoving grid, each pixel from the tile owning it.

        See `astroclustermass.images.exposure` for the method (bilinear
        interpolation at pixel centres). Pixels outside the survey are 0.
        """
        from ..images.exposure import grid_sky_positions

        ra, dec = grid_sky_positions(center, redshift, npix, aperture, cosmology)
        own = self.owner(ra, dec)
        out = np.zeros(ra.shape, dtype=np.float64)
        for k in np.unique(own[own >= 0]):
            m = own == k
            out[m] = self.exposure_map(int(k)).sample(ra[m], dec[m])
        return np.nan_to_num(out, nan=0.0).astype(np.float32)


def _radius_deg(radius: Any) -> float:
    if isinstance(radius, u.Quantity):
        r = float(radius.to_value(u.deg))
    else:
        r = float(radius)
    if not (np.isfinite(r) and 0 < r < 90):
        raise InputError(f"radius must be an angle between 0 and 90 deg; got {radius!r}")
    return r
