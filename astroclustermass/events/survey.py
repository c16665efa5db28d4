"""Survey sky tiles → per-cluster event lists (L1): `SurveyTiles`.

A survey such as eRASS1 releases one event file per sky tile; tiles overlap
(by ~20′ for the 3.6° eRASS1 tiles), so a photon in an overlap strip is in
two or four files, and a cluster near a tile edge needs events from several
tiles. Each tile *owns* a unique area — an RA/Dec box ``[RA_MIN, RA_MAX) ×
[DE_MIN, DE_MAX)`` — and the unique areas partition the sky. `SurveyTiles`
takes every photon from the one tile that owns its position, so merging never
counts a photon twice and never loses one.

The tile index (tile table or EVENTS headers, unique areas, ownership) is
`~astroclustermass.events.tile_index.TileIndex`; one open tile (memory map,
Dec index, GTIs) is ``events/_tile_file.py``; this module reads and merges
cutouts and exposure.

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

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from .._utils._projection import _center_deg, angular_separation_deg
from ..exceptions import FileFormatError, InputError
from ._tile_file import _Tile, in_intervals, open_tile
from .event_list import EventList, _codes_from_map
from .tile_index import TILE_COLUMNS, OutsideSurveyError, TileIndex, radius_deg

__all__ = ["SurveyTiles", "OutsideSurveyError", "TILE_COLUMNS"]


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
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[int, _Tile] = OrderedDict()
        self._expmaps: dict[int, Any] = {}
        self.open_counts: dict[str, int] = {}
        self.index = TileIndex(directory, tile_table, tile_columns)
        self.directory, self.columns = self.index.directory, self.index.columns


    # ------------------------------------------------------- index (TileIndex)
    @property
    def _rows(self) -> list[dict]:
        return self.index.rows

    def __len__(self) -> int:
        return len(self.index)

    @property
    def tile_names(self) -> list[str]:
        """Event-file stems of the tiles (``tile_101`` for ``tile_101_events.fits``)."""
        return self.index.tile_names

    def __repr__(self) -> str:
        return f"<SurveyTiles: {len(self)} tiles in {self.directory}>"

    def owner(self, ra: Any, dec: Any) -> np.ndarray:
        """Index of the tile that owns each position (deg); -1 outside every tile.

        See `TileIndex.owner`.

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
        return self.index.owner(ra, dec)

    def tiles_for(self, center: Any, radius: Any) -> list[int]:
        """Tiles whose unique area meets the circle of ``radius`` about ``center``."""
        return self.index.tiles_for(center, radius)


    # ------------------------------------------------------------------ reading
    def _tile(self, k: int) -> _Tile:
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        path = self._rows[k]["events"]
        tile = open_tile(path, self.gti_extensions, self.flare_gti)
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
        r = radius_deg(radius)
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
                    sel &= in_intervals(time, t.flare)
                if t.gtis and tm is not None:
                    good = np.zeros(rows.size, bool)
                    for cam, iv in t.gtis.items():
                        m = tm == cam
                        good[m] = in_intervals(time[m], iv)
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
        interpolation at pixel centres). Pixels outside the survey are 0; a
        map that does not cover its tile's unique area raises
        `~astroclustermass.exceptions.FileFormatError` naming it.
        """
        from ..images.exposure import grid_sky_positions

        ra, dec = grid_sky_positions(center, redshift, npix, aperture, cosmology)
        own = self.owner(ra, dec)
        out = np.zeros(ra.shape, dtype=np.float64)
        boxes = all(r["box"] is not None for r in self._rows)
        for k in np.unique(own[own >= 0]):
            m = own == k
            emap = self.exposure_map(int(k))
            out[m] = emap.sample(ra[m], dec[m])
            off = np.flatnonzero(np.isnan(out[m]))
            if boxes and off.size:  # the tile's own sky must be on its map
                i = off[0]
                raise FileFormatError(
                    f"exposure map {emap.path} of tile {self.tile_names[k]} does not cover "
                    f"{off.size} pixel(s) of the tile's own sky area, e.g. RA="
                    f"{ra[m][i]:.4f}, Dec={dec[m][i]:.4f}: it is another tile's map or cut "
                    "short; check the EXPMAP column of the tile table"
                )
        return np.nan_to_num(out, nan=0.0).astype(np.float32)
