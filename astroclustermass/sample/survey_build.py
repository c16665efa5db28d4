"""Building a ClusterSample from survey tiles and source catalogues (private, L2).

`ClusterSample.build` calls these when the data directory is a survey (tile
event files + exposure maps, `astroclustermass.events.SurveyTiles`) and/or
when a point-source catalogue is given:

* `survey_options` decides whether a directory is a survey (``survey=None``:
  the catalogue has no ``file`` column and the directory holds ``tiles.fits``
  or ``*events*.fits`` tiles) and normalises the `SurveyTiles` options;
* `survey_plan` checks every cluster centre against the tiles (a centre no
  tile owns fails the cluster, naming it) and orders clusters tile by tile so
  that each worker opens each tile about once;
* `cluster_events` (in a worker) reads a cluster's cutout and reprojects the
  exposure maps onto its grid (zero exposure at the centre fails the cluster);
* `apply_point_source_mask` drops the photons of masked pixels so images,
  ``n_phot`` and ``n_phot_500c`` all leave them out, and zeroes the exposure
  there (``docs/survey.rst``).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import FileFormatError, InputError

__all__ = [
    "survey_options",
    "survey_plan",
    "cluster_events",
    "read_sources",
    "apply_point_source_mask",
    "ZeroExposureError",
]

_TILE_CACHE: dict[str, Any] = {}
_MASK_KEYS = ("columns", "psf_hew", "flux_ref", "radius_scale", "exclude_radius")


class ZeroExposureError(InputError):
    """A cluster whose centre has no exposure in the survey's exposure maps."""


def is_survey_directory(directory: Path) -> bool:
    """True when ``directory`` has a tile table or tile event files."""
    if (directory / "tiles.fits").is_file():
        return True
    return (
        bool(glob.glob(str(directory / "**" / "*events*.fits*"), recursive=True))
        and not (directory / "events").is_dir()
    )


def survey_options(directory: Path, survey: Any, catalog_has_file: bool) -> dict | None:
    """The `SurveyTiles` keyword arguments, or None for a per-cluster directory."""
    reset_cache()
    if survey is None:
        survey = (not catalog_has_file) and is_survey_directory(directory)
    if survey is False:
        return None
    opts = {} if survey is True else dict(survey)
    allowed = {"tile_table", "cameras", "light_leak_energy", "light_leak_cameras", "apply_gti",
               "gti_extensions", "flare_gti", "tile_columns", "cache_size"}  # fmt: skip
    bad = sorted(set(opts) - allowed)
    if bad:
        raise InputError(f"unknown survey option(s) {bad}; use {sorted(allowed)}")
    if isinstance(opts.get("tile_table"), (str, Path)):
        opts["tile_table"] = str(directory / opts["tile_table"])
    return {"directory": str(directory.resolve()), **opts}


def reset_cache() -> None:
    """Forget this process's open survey (each build starts from the files on disk)."""
    for tiles in _TILE_CACHE.values():
        tiles.close()
    _TILE_CACHE.clear()


def _tiles(opts: dict):
    """The `SurveyTiles` of ``opts`` in this process (opened once per worker)."""
    from ..events import SurveyTiles

    key = repr(sorted((k, repr(v)) for k, v in opts.items()))
    if key not in _TILE_CACHE:
        reset_cache()
        kw = {k: v for k, v in opts.items() if k != "directory"}
        _TILE_CACHE[key] = SurveyTiles(opts["directory"], **kw)
    return _TILE_CACHE[key]


def survey_plan(opts: dict, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, dict]:
    """(order of catalogue rows, {row: reason} for centres outside every tile)."""
    tiles = _tiles(opts)
    own = tiles.owner(ra, dec)
    failed = {
        int(i): (
            f"its centre RA={ra[i]:.5f}, Dec={dec[i]:.5f} deg lies outside every tile of the "
            f"survey in {opts['directory']}"
        )
        for i in np.flatnonzero(own < 0)
    }
    return np.lexsort((dec, own)), failed


def cluster_events(opts: dict, task: dict, npix: int, aperture: float, cosmology: Any):
    """A cluster's survey cutout (EventList) and its exposure map on the image grid."""
    tiles = _tiles(opts)
    center, z = (task["ra"], task["dec"]), task["redshift"]
    ev = tiles.cutout(center, z, aperture, cosmology)
    exposure = tiles.exposure_on_grid(center, z, npix, aperture, cosmology)
    # the exposure at the centre itself, from the map of the tile owning it (a cluster
    # just inside the survey's edge has central pixels outside it, yet was observed)
    owner = int(tiles.owner(task["ra"], task["dec"]))
    centre = float(np.nan_to_num(tiles.exposure_map(owner).sample(task["ra"], task["dec"])))
    if not centre > 0:
        raise ZeroExposureError(
            f"zero exposure at the centre (RA={task['ra']:.5f}, Dec={task['dec']:.5f}) in the "
            f"exposure map of tile {tiles.tile_names[owner]} "
            f"({tiles.index.rows[owner]['expmap']}); the cluster was not observed"
        )
    ev.meta["exposure"] = centre
    return ev, exposure


def read_sources(path: Any, options: dict | None) -> dict:
    """Read a point-source catalogue into plain arrays plus the masking options."""
    from astropy.table import Table

    from ..images.point_sources import SOURCE_COLUMNS, _source_columns

    path = Path(path)
    opts = dict(options or {})
    bad = sorted(set(opts) - set(_MASK_KEYS))
    if bad:
        raise InputError(f"unknown mask option(s) {bad}; use {list(_MASK_KEYS)}")
    if not path.is_file():
        raise FileFormatError(f"source catalogue {path} does not exist")
    try:
        table = Table.read(path)
    except Exception as err:  # astropy raises many kinds
        raise FileFormatError(f"cannot read source catalogue {path}: {err}") from err
    ra, dec, flux = _source_columns(table, opts.get("columns"), str(path))
    cols = {**SOURCE_COLUMNS, **(opts.pop("columns", None) or {})}
    return {
        "sources": {cols["ra"]: ra, cols["dec"]: dec, cols["flux"]: flux},
        "options": {"columns": cols, **opts},
        "path": str(path),
    }


def cluster_mask(masking: dict, task: dict, npix: int, aperture: float, cosmology: Any):
    """The point-source mask ``[i, j]`` of one cluster."""
    from ..images import point_source_mask

    return point_source_mask(
        masking["sources"],
        (task["ra"], task["dec"]),
        task["redshift"],
        npix,
        aperture,
        cosmology,
        where=masking["path"],
        **masking["options"],
    )


def apply_point_source_mask(x, y, mask: np.ndarray, aperture: float) -> np.ndarray:
    """Boolean keep-mask of photons: False for those in masked pixels of the image grid."""
    from ..images import image_edges

    npix = mask.shape[0]
    edges = image_edges(npix, aperture)  # histogram2d's rule: [e_k, e_k+1), last bin closed
    i = np.searchsorted(edges, x, side="right") - 1
    j = np.searchsorted(edges, y, side="right") - 1
    i = np.where(x == edges[-1], npix - 1, i)
    j = np.where(y == edges[-1], npix - 1, j)
    inside = (i >= 0) & (i < npix) & (j >= 0) & (j < npix)
    keep = np.ones(x.shape, bool)
    keep[inside] = ~mask[i[inside], j[inside]]
    return keep
