"""Building a ClusterSample from a data directory (private, L2).

The directory layout is that of ``docs/internals.rst``: ``catalog.ecsv``,
optional ``galaxies.ecsv`` and one event file per cluster. Clusters are split
into chunks of consecutive catalogue rows; each chunk is processed by a worker
process (`_process_chunk`): read the events with `EventList.read`, project
them with `EventList.to_comoving`, bin them with `images.bin_events` for every
band set (and per source), count ``n_phot``/``n_phot_500c``, and build the
dynamical cube and scalar dynamics. The main process writes each chunk's rows
into preallocated arrays or an HDF5 file, so the result does not depend on the
number of workers or on the order in which chunks finish. Worker processes are
forked on Linux; where they are spawned (macOS, Windows) scripts must call
``ClusterSample.build`` from under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import MaskedColumn, Table

from .._utils import check_grid, defaults, positive_int, progress_bar
from .._utils._processes import map_unordered, n_workers, resolve_n_jobs
from ..bands import EnergyBands, get_bands
from ..cosmology import get_cosmology
from ..events.sources import LABELLED_SOURCES, SOURCE_CODES
from ..exceptions import (
    AstroClusterMassWarning,
    FileFormatError,
    InputError,
    MissingColumnError,
    UnitError,
)
from .catalog import column_values, galaxy_groups, read_catalog, resolve_band_sets
from .hdf5 import check_compression, take_rows

__all__ = ["build_sample"]


# dynamics settings of Ho et al. (2023), recorded in the sample meta
_DYNAMICS = {
    "n_cube": defaults.N_CUBE,
    "v_max": defaults.V_MAX,
    "bw_method": defaults.KDE_BANDWIDTH,
    "m_star_min": defaults.M_STAR_MIN,
    "r_max": defaults.R_DYN,
    "v_max_small": defaults.V_DYN,
    "sigma_clip": 3.0,
    "maxiters": 5,
    "sigma_method": "gapper",
}


@dataclass
class _Config:
    band_sets: list[EnergyBands]
    main: int
    npix: int
    aperture: float
    cosmology: Any
    sources: tuple[str, ...]
    dynamics: bool
    dyn: dict = field(default_factory=lambda: dict(_DYNAMICS))
    cube_size: int = 64  # stored voxels per side; the KDE grid n_cube is sum-pooled to it
    precompress: bool = False  # workers gzip the count images (streaming to HDF5)
    cube_compression: str | None = "quantized"
    survey: dict | None = None  # SurveyTiles options when building from survey tiles
    masking: dict | None = None  # point-source catalogue + mask options


def _process_cluster(cfg: _Config, task: dict) -> dict:
    """Everything computed from one cluster's files (runs in a worker)."""
    from ..events import EventList
    from ..images import bin_events
    from .depth import aperture_exposure, rate_columns
    from .survey_build import apply_point_source_mask, cluster_events, cluster_mask

    maps: dict[str, np.ndarray] = {}
    try:
        if cfg.survey is not None:
            ev, maps["exposure"] = cluster_events(
                cfg.survey, task, cfg.npix, cfg.aperture, cfg.cosmology
            )
        else:
            ev = EventList.read(task["path"])
        if cfg.masking is not None:
            maps["mask"] = cluster_mask(cfg.masking, task, cfg.npix, cfg.aperture, cfg.cosmology)
    except Exception as err:  # reported with the cluster id; raised or skipped by the caller
        return {"error": f"{type(err).__name__}: {err}", "error_type": type(err).__name__}
    center = (task["ra"], task["dec"])  # deg; EventList.to_comoving accepts a pair or SkyCoord
    x, y = ev.to_comoving(center, task["redshift"], cfg.cosmology)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    energy = ev.energy.to_value(u.keV)
    labels = getattr(ev, "source", None)
    if "mask" in maps:  # masked pixels: no photons in any image or count, no exposure
        keep = apply_point_source_mask(x, y, maps["mask"], cfg.aperture)
        x, y, energy = x[keep], y[keep], energy[keep]
        labels = None if labels is None else labels[keep]
        if "exposure" in maps:
            maps["exposure"] = np.where(maps["mask"], 0.0, maps["exposure"]).astype(np.float32)
        maps["mask"] = maps["mask"].astype(np.uint8)
    out: dict[str, Any] = {"images": [], "source_images": [], "maps": maps}
    main_index = None
    for k, bands in enumerate(cfg.band_sets):
        bi = bands.band_index(energy)
        if k == cfg.main:
            main_index = bi
        args = (bands.n_bands, cfg.npix, cfg.aperture)
        out["images"].append(bin_events(x, y, bi, *args))
        per_source = {}
        if labels is not None:
            for src in cfg.sources:
                m = labels == SOURCE_CODES[src]
                per_source[src] = bin_events(x[m], y[m], bi[m], *args)
        out["source_images"].append(per_source)
    obs: dict[str, Any] = {"n_phot": int(out["images"][cfg.main].sum())}
    r500 = task["r500c"]
    if np.isfinite(r500):
        inside = (main_index >= 0) & (x * x + y * y <= r500 * r500)
        obs["n_phot_500c"] = int(np.count_nonzero(inside))
    if labels is not None:
        for src, img in out["source_images"][cfg.main].items():
            obs[f"n_phot_{src}"] = int(img.sum())
    exposure = getattr(ev, "exposure", None)
    if isinstance(exposure, u.Quantity):
        exposure = exposure.to_value(u.s)
    obs["exposure"] = float(exposure) if exposure is not None else float("nan")
    if "exposure" in maps:  # the survey's depth: mean vignetted exposure of the image / R500c
        obs["exposure_centre"] = obs["exposure"]
        obs["exposure"] = float(aperture_exposure(maps["exposure"], cfg.aperture))
        if np.isfinite(r500):
            obs["exposure_500c"] = float(aperture_exposure(maps["exposure"], cfg.aperture, r500))
    rate_columns(obs)  # count rates: n_phot / exposure, n_phot_500c / exposure_500c
    if cfg.dynamics:
        out["cube"], warn = _cluster_dynamics(cfg, task, obs)
        if warn:
            out["warning"] = warn
    out["obs"] = obs
    if cfg.precompress:
        from .hdf5 import compress_chunk

        out["images"] = [compress_chunk(a) for a in out["images"]]
        out["source_images"] = [
            {s: compress_chunk(a) for s, a in per.items()} for per in out["source_images"]
        ]
    return out


def _cluster_dynamics(cfg: _Config, task: dict, obs: dict) -> tuple[np.ndarray, str | None]:
    from ..dynamics import DynamicalCube, dynamical_observables, sum_pool_cubes

    d = cfg.dyn
    n = cfg.cube_size
    gal = task["galaxies"]
    kw = {
        "center": (task["ra"], task["dec"]),
        "redshift": task["redshift"],
        "cosmology": cfg.cosmology,
    }
    if not gal or len(next(iter(gal.values()))) == 0:
        obs.update(n_gal=0, sigma_v=float("nan"), n_gal_cylinder=0)
        return np.zeros((n, n, n), np.float32), "no galaxies"
    dyn = dynamical_observables(
        gal,
        **kw,
        r_max=d["r_max"],
        v_max=d["v_max_small"],
        sigma_clip=d["sigma_clip"],
        maxiters=d["maxiters"],
        method=d["sigma_method"],
        aperture=cfg.aperture,
        v_cut=d["v_max"],
        m_star_min=d["m_star_min"],
    )
    obs.update(dyn)
    try:
        cube = DynamicalCube.from_galaxies(
            gal,
            **kw,
            n=d["n_cube"],
            aperture=cfg.aperture,
            v_max=d["v_max"],
            bw_method=d["bw_method"],
            m_star_min=d["m_star_min"],
        )
    except InputError as err:
        return np.zeros((n, n, n), np.float32), str(err)
    if n != d["n_cube"]:
        return sum_pool_cubes(cube.data, n), None
    return cube.data, None


def _check_cube_size(cube_size: Any, n_cube: int) -> int:
    if cube_size is None:
        return n_cube
    size = positive_int(cube_size, "cube_size (voxels per stored cube side)", minimum=2)
    if n_cube % size:
        raise InputError(
            f"cube_size={size} must divide n_cube={n_cube} (the KDE grid is sum-pooled to it); "
            f"use a divisor of {n_cube} such as {n_cube // 2} or {n_cube // 4}"
        )
    return size


def _process_chunk(cfg: _Config, tasks: list[dict]) -> list[dict]:
    return [_process_cluster(cfg, t) for t in tasks]


class _MemorySink:
    """Collects chunk results into preallocated arrays."""

    def __init__(self, n: int, cfg: _Config) -> None:
        self.n, self.cfg = n, cfg
        self.images = [
            np.zeros((n, b.n_bands, cfg.npix, cfg.npix), np.int32) for b in cfg.band_sets
        ]
        self.source_images: list[dict[str, np.ndarray]] = [{} for _ in cfg.band_sets]
        m = cfg.cube_size
        self.cubes = np.zeros((n, m, m, m), np.float32) if cfg.dynamics else None
        self.maps: dict[str, Any] = {}

    def _map_array(self, name: str) -> Any:
        if name not in self.maps:
            from .arrays import MAP_DTYPES

            shape = (self.n, self.cfg.npix, self.cfg.npix)
            self.maps[name] = np.zeros(shape, MAP_DTYPES[name])
        return self.maps[name]

    def _source_array(self, k: int, src: str) -> Any:
        if src not in self.source_images[k]:
            b = self.cfg.band_sets[k]
            self.source_images[k][src] = np.zeros(
                (self.n, b.n_bands, self.cfg.npix, self.cfg.npix), np.int32
            )
        return self.source_images[k][src]

    def put(self, row: int, res: dict) -> None:
        from .hdf5 import write_row

        for k, img in enumerate(res["images"]):
            write_row(self.images[k], row, img)
            for src, simg in res["source_images"][k].items():
                write_row(self._source_array(k, src), row, simg)
        if self.cubes is not None:
            write_row(self.cubes, row, res["cube"])
        for name, arr in res.get("maps", {}).items():
            write_row(self._map_array(name), row, arr)


class _H5Sink(_MemorySink):
    """Writes chunk results straight into datasets of an open HDF5 file."""

    def __init__(self, n: int, cfg: _Config, f: Any) -> None:
        from .hdf5 import create_array

        self.n, self.cfg, self.f = n, cfg, f
        self._create = create_array
        grp = f.create_group("images")
        self.images = [
            create_array(grp, b.name, (n, b.n_bands, cfg.npix, cfg.npix), np.int32, "gzip", None)
            for b in cfg.band_sets
        ]
        self.source_images = [{} for _ in cfg.band_sets]
        m = cfg.cube_size
        self.cubes = (
            create_array(f, "cubes", (n, m, m, m), np.float32, cfg.cube_compression, None)
            if cfg.dynamics
            else None
        )
        self.maps = {}

    def _map_array(self, name: str) -> Any:
        if name not in self.maps:
            from .arrays import MAP_DTYPES

            grp = self.f.require_group("maps")
            shape = (self.n, self.cfg.npix, self.cfg.npix)
            self.maps[name] = self._create(grp, name, shape, MAP_DTYPES[name], "gzip", None)
        return self.maps[name]

    def _source_array(self, k: int, src: str) -> Any:
        if src not in self.source_images[k]:
            b = self.cfg.band_sets[k]
            grp = self.f.require_group(f"source_images/{b.name}")
            self.source_images[k][src] = self._create(
                grp, src, (self.n, b.n_bands, self.cfg.npix, self.cfg.npix), np.int32, "gzip", None
            )
        return self.source_images[k][src]


def _cube_meta(cfg: _Config) -> dict:
    """Dynamics settings for the sample meta: ``n_cube`` is the stored size."""
    meta = dict(cfg.dyn, n_cube=cfg.cube_size)
    if cfg.cube_size != cfg.dyn["n_cube"]:
        meta["cube_pooled_from"] = cfg.dyn["n_cube"]
    meta["cube_compression"] = cfg.cube_compression
    return meta


def _observables_table(ids: np.ndarray, obs_rows: list[dict]) -> Table:
    """One row per cluster; counts are int64 (masked where undefined), sigma_v km/s, exposure s."""
    keys: list[str] = []
    for row in obs_rows:
        keys += [k for k in row if k not in keys]
    order = ["n_phot", "n_phot_500c", "n_phot_icm", "n_phot_agn", "n_phot_background",
             "n_gal", "sigma_v", "n_gal_cylinder", "exposure", "exposure_500c",
             "exposure_centre", "rate", "rate_500c"]  # fmt: skip
    keys = [k for k in order if k in keys] + [k for k in keys if k not in order]
    table = Table({"id": ids})
    units = {"sigma_v": u.km / u.s, "exposure": u.s, "exposure_500c": u.s,
             "exposure_centre": u.s, "rate": 1 / u.s, "rate_500c": 1 / u.s}  # fmt: skip
    for k in keys:
        vals = [r.get(k) for r in obs_rows]
        missing = np.array([v is None for v in vals], dtype=bool)
        if any(isinstance(v, float) for v in vals):
            table[k] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        else:
            data = np.array([0 if v is None else v for v in vals], dtype=np.int64)
            table[k] = MaskedColumn(data, mask=missing) if missing.any() else data
        if k in units:
            table[k].unit = units[k]
    return table


def build_sample(
    cls: type,
    directory: Any,
    *,
    bands,
    npix,
    aperture,
    dynamics,
    cosmology,
    n_jobs,
    progress,
    catalog,
    galaxies,
    on_error,
    sources,
    path,
    overwrite,
    n_cube=defaults.N_CUBE,
    r500c_frame=None,
    cube_size=None,
    cube_compression="quantized",
    client=None,
    survey=None,
    column_map=None,
    source_catalog=None,
    mask_options=None,
):
    """Implementation of `ClusterSample.build`."""
    from .._utils import atomic_write
    from ..version import __version__
    from .survey_build import read_sources, reset_cache, survey_options, survey_plan

    directory = Path(directory)
    if not directory.is_dir():
        raise FileFormatError(f"data directory {directory} does not exist")
    if on_error not in ("raise", "skip"):
        raise InputError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    bad_src = [s for s in sources if s not in LABELLED_SOURCES]
    if bad_src:
        raise InputError(f"unknown source(s) {bad_src}; use {LABELLED_SOURCES}")
    npix, aperture = check_grid(npix, aperture)
    n_cube = positive_int(n_cube, "n_cube (voxels per cube side)", minimum=2)
    band_sets = resolve_band_sets(bands)
    bolo = get_bands("bolometric")
    main = next((k for k, b in enumerate(band_sets) if b.name == "bolometric" or b == bolo), 0)
    cosmo = get_cosmology(cosmology)
    cat = read_catalog(
        directory / catalog, cosmo, r500c_frame, column_map=column_map, require_file=False
    )
    survey_opts = survey_options(directory, survey, "file" in cat.colnames)
    if survey_opts is None and "file" not in cat.colnames:
        read_catalog(directory / catalog, cosmo, r500c_frame, column_map)  # raises, naming it
    n = len(cat)
    groups = galaxy_groups(directory, galaxies, cat, column_map) if dynamics else None
    cfg = _Config(band_sets, main, npix, aperture, cosmo, tuple(sources), groups is not None)
    cfg.dyn["n_cube"] = n_cube
    cfg.cube_size = _check_cube_size(cube_size, n_cube)
    cfg.cube_compression = check_compression(cube_compression, "cube_compression")
    cfg.survey = survey_opts
    if source_catalog is not None:
        cfg.masking = read_sources(directory / source_catalog, mask_options)
    ra = column_values(cat, "ra", "deg", directory / catalog)
    dec = column_values(cat, "dec", "deg", directory / catalog)
    z = column_values(cat, "redshift", None, directory / catalog)
    r500 = (  # comoving h^-1 Mpc: read_catalog converted it
        np.asarray(cat["r500c"], dtype=float) if "r500c" in cat.colnames else np.full(n, np.nan)
    )
    ids = np.asarray(cat["id"])
    failed: dict[int, str] = {}
    failed_types: dict[int, str] = {}
    order = np.arange(n)
    if survey_opts is not None:
        files = [""] * n
        order, outside = survey_plan(survey_opts, ra, dec)
        failed.update(outside)
        failed_types.update(dict.fromkeys(outside, "OutsideSurveyError"))
    else:
        files = [str(f) for f in np.asarray(cat["file"])]
    tasks = []
    for i in range(n):
        p = directory / files[i]
        if survey_opts is None and not p.is_file():
            failed[i] = f"event file {p} does not exist"
        tasks.append(
            {
                "row": i,
                "path": str(p),
                "ra": ra[i],
                "dec": dec[i],
                "redshift": z[i],
                "r500c": r500[i],
                "galaxies": None if groups is None else groups[i],
            }
        )
    if failed and on_error == "raise":
        _raise_failed(failed, ids, failed_types)
    todo = [tasks[i] for i in order if i not in failed]  # survey: tile by tile
    n_jobs = n_workers(client) if client is not None else resolve_n_jobs(n_jobs)
    size = max(1, min(32, math.ceil(len(todo) / (n_jobs * 8)))) if todo else 1
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    obs_rows: list[dict | None] = [None] * n
    no_cube: list[Any] = []

    def consume(sink: _MemorySink, chunk: list[dict], results: list[dict]) -> None:
        for task, res in zip(chunk, results):
            i = task["row"]
            if "error" in res:
                what = "its survey cutout" if cfg.survey else f"event file {task['path']}"
                failed[i] = f"cannot read {what}: {res['error']}"
                failed_types[i] = res.get("error_type", "")
                continue
            sink.put(i, res)
            obs_rows[i] = res["obs"]
            if res.get("warning"):
                no_cube.append(ids[i])

    def run(sink: _MemorySink) -> None:
        bar = progress_bar(
            total=len(todo), progress=progress, desc="Building sample", unit="cluster"
        )
        # at most 2 chunks per worker in flight: bounded memory even when the main
        # process (writing/compressing) is slower than the workers
        results = map_unordered(_process_chunk, chunks, args=(cfg,), n_jobs=n_jobs, client=client)
        try:
            for k, chunk_results in results:
                consume(sink, chunks[k], chunk_results)
                bar.update(len(chunks[k]))
                if failed and on_error == "raise":
                    break
        finally:
            results.close()
            bar.close()
            reset_cache()  # close the survey tiles this process opened
        if failed and on_error == "raise":
            _raise_failed(failed, ids, failed_types)

    meta = {
        "build": {
            "directory": str(directory.resolve()),
            "catalog": catalog,
            "galaxies": galaxies if groups is not None else None,
            "bands": [b.name for b in band_sets],
            "main_band_set": band_sets[main].name,
            "npix": npix,
            "aperture": aperture,
            "sources": list(sources),
            "dynamics": groups is not None,
            **(_cube_meta(cfg) if groups is not None else {}),
        },
        "package_version": __version__,
    }

    if survey_opts is not None:
        meta["build"]["survey"] = {k: v if isinstance(v, (int, float, str, bool, type(None)))
                                   else repr(v) for k, v in survey_opts.items()}  # fmt: skip
    if cfg.masking is not None:
        meta["build"]["source_catalog"] = cfg.masking["path"]
        meta["build"]["mask_options"] = {k: repr(v) if hasattr(v, "unit") else v
                                         for k, v in cfg.masking["options"].items()}  # fmt: skip
    if column_map:
        meta["build"]["column_map"] = dict(column_map)

    def finish(
        sink: _MemorySink, images: list, source_images: list, cubes: Any, maps: dict | None = None
    ) -> Any:
        keep = np.array([i not in failed for i in range(n)])
        if failed:
            first = min(failed)
            warnings.warn(
                f"skipped {len(failed)} cluster(s) that could not be built: ids "
                f"{[ids[i].item() for i in sorted(failed)]} (id {ids[first].item()}: "
                f"{failed[first]}); reasons in sample.meta['build']['skipped']",
                AstroClusterMassWarning,
                stacklevel=4,
            )
            meta["build"]["skipped_ids"] = [ids[i].item() for i in sorted(failed)]
            meta["build"]["skipped"] = [
                {"id": ids[i].item(), "reason": failed[i]} for i in sorted(failed)
            ]
        if no_cube:
            zero = sorted(i.item() for i in no_cube)
            warnings.warn(
                f"{len(zero)} cluster(s) have too few galaxies for a dynamical cube and got an "
                f"all-zero cube: ids {zero[:20]}{' ...' if len(zero) > 20 else ''}",
                AstroClusterMassWarning,
                stacklevel=4,
            )
            meta["build"]["zero_cube_ids"] = zero
        kept = np.flatnonzero(keep)

        def rows(arr: Any) -> Any:  # the kept clusters' rows (all of them: no copy)
            return take_rows(arr, kept) if failed and arr is not None else arr

        return cls(
            cat[kept],
            {b.name: rows(images[k]) for k, b in enumerate(band_sets)},
            {b.name: b for b in band_sets},
            source_images={
                b.name: {s: rows(a) for s, a in source_images[k].items()}
                for k, b in enumerate(band_sets)
                if source_images[k]
            },
            cubes=rows(cubes),
            observables=_observables_table(ids[kept], [obs_rows[i] for i in kept]),
            npix=npix,
            aperture=aperture,
            cosmology=cosmo,
            meta=meta,
            maps={k: rows(v) for k, v in (sink.maps if maps is None else maps).items()},
        )

    if path is None:
        sink = _MemorySink(n, cfg)
        run(sink)
        return finish(sink, sink.images, sink.source_images, sink.cubes)
    cfg.precompress = True
    return _build_to_file(cls, Path(path), overwrite, n, cfg, run, finish, atomic_write)


def _build_to_file(cls, path, overwrite, n, cfg, run, finish, atomic_write):
    import h5py

    from .hdf5 import LazyArray, sample_header, write_header, write_table

    with atomic_write(path, overwrite=overwrite) as tmp:
        work = tmp.with_name(tmp.name + ".build")
        try:
            with h5py.File(work, "w") as f:
                sink = _H5Sink(n, cfg, f)
                run(sink)
                names = [(k, b.name) for k, b in enumerate(cfg.band_sets)]
            lazy = [LazyArray(work, f"images/{name}") for _, name in names]
            lazy_src = [
                {s: LazyArray(work, f"source_images/{name}/{s}") for s in sink.source_images[k]}
                for k, name in names
            ]
            cubes = LazyArray(work, "cubes") if cfg.dynamics else None
            maps = {name: LazyArray(work, f"maps/{name}") for name in sink.maps}
            sample = finish(sink, lazy, lazy_src, cubes, maps)
            if len(sample) == n:  # nothing skipped: add the tables and header in place
                with h5py.File(work, "a") as f:
                    write_header(f, sample_header(sample))
                    write_table(f, "catalog", sample.catalog)
                    write_table(f, "observables", sample.observables)
                os.replace(work, tmp)
            else:  # copy the kept rows into a fresh file
                sample.write(tmp, overwrite=True, cube_compression=cfg.cube_compression)
        finally:
            work.unlink(missing_ok=True)
    return cls.read(path, lazy=True)


def _raise_failed(failed: dict[int, str], ids: np.ndarray, types: dict | None = None) -> None:
    from ..events import OutsideSurveyError
    from .survey_build import ZeroExposureError

    i = min(failed)
    more = f" ({len(failed) - 1} more cluster(s) failed too)" if len(failed) > 1 else ""
    classes = {
        "OutsideSurveyError": OutsideSurveyError,
        "ZeroExposureError": ZeroExposureError,
        "MissingColumnError": MissingColumnError,
        "InputError": InputError,
        "UnitError": UnitError,
    }
    raise classes.get((types or {}).get(i, ""), FileFormatError)(
        f"cluster id {ids[i].item()} (catalogue row {i}): {failed[i]}{more}. Fix or remove the "
        "file, or pass on_error='skip' to build without it"
    )
