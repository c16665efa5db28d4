"""Validation of the arrays that make up a ClusterSample, and row normalisation (private, L2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .._utils import check_dec, check_positive_or_unknown, check_redshift
from ..bands import EnergyBands, get_bands
from ..events.sources import LABELLED_SOURCES
from ..exceptions import BandMismatchError, InputError, UnknownNameError
from .hdf5 import LazyArray

__all__ = [
    "SOURCES",
    "normalise_rows",
    "check_counts",
    "validate_arrays",
    "MAP_DTYPES",
    "match_band_set",
]

#: per-pixel maps a sample can store, (N, npix, npix) each: exposure (s) and the
#: point-source mask (1 = masked), on the image grid ``[i, j]``
MAP_DTYPES = {"exposure": np.float32, "mask": np.uint8}

#: Per-source image kinds, named as the event source labels.
SOURCES = LABELLED_SOURCES


def normalise_rows(key: Any, n: int) -> Any:
    """Turn an int / slice / mask / index array into a slice or an int64 index array.

    Examples
    --------
    >>> normalise_rows(-1, 4).tolist(), normalise_rows([True, False, True, False], 4).tolist()
    ([3], [0, 2])
    """
    if isinstance(key, slice):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        i = int(key)
        if not -n <= i < n:
            raise IndexError(f"cluster index {i} out of range for a sample of {n}")
        return np.array([i % n], dtype=np.int64)
    arr = np.asarray(key)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"a boolean mask must have shape ({n},); got {arr.shape}")
        return np.flatnonzero(arr)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"cannot index a ClusterSample with {key!r}")
    arr = arr.astype(np.int64).reshape(-1)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise IndexError(f"cluster index out of range for a sample of {n}")
    return np.where(arr < 0, arr + n, arr)


def check_counts(arr: Any, what: str, n: int, n_bands: int) -> Any:
    """Check an (n, n_bands, npix, npix) count array; return it as int32 (or lazy as is)."""
    if not isinstance(arr, LazyArray):
        arr = np.asarray(arr)
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all() or np.any(arr != np.round(arr)):
                raise InputError(f"{what} must hold integer photon counts")
        elif arr.dtype.kind not in "iub":
            raise InputError(f"{what} must hold integer photon counts; got dtype {arr.dtype}")
        if arr.dtype != np.int32:
            arr = arr.astype(np.int32)
    if arr.ndim != 4 or arr.shape[0] != n or arr.shape[1] != n_bands:
        raise InputError(
            f"{what} must have shape ({n}, {n_bands}, npix, npix) to match the catalogue "
            f"and its bands; got {arr.shape}"
        )
    return arr


def check_catalog_values(cat: Table, where: str = "the sample's catalogue") -> None:
    """Refuse a redshift outside 0.001-10, a Dec beyond ±90° or a non-positive ``r500c``.

    Examples
    --------
    >>> check_catalog_values(Table({"id": [4], "redshift": [1e-9]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: the sample's catalogue: column 'redshift' has 1 ...
    """
    ids = np.asarray(cat["id"])
    rows = [f"row {i} (cluster id {ids[i]})" for i in range(len(cat))]

    def values(name: str) -> np.ndarray:
        return np.ma.filled(np.ma.asarray(cat[name], dtype=float), np.nan)

    if "redshift" in cat.colnames:
        check_redshift(values("redshift"), f"{where}: column 'redshift'", rows)
    if "dec" in cat.colnames:
        dec = cat["dec"]
        unit = getattr(dec, "unit", None)
        deg = values("dec") * (1.0 if unit is None else u.Unit(unit).to("deg"))
        check_dec(deg, f"{where}: column 'dec'", rows)
    if "r500c" in cat.colnames:
        check_positive_or_unknown(values("r500c"), f"{where}: column 'r500c'", rows)


def validate_arrays(
    catalog: Any,
    images: Mapping[str, Any],
    band_sets: Mapping[str, Any] | None,
    source_images: Mapping[str, Mapping[str, Any]] | None,
    cubes: Any,
    observables: Any,
    npix: int | None,
    maps: Mapping[str, Any] | None = None,
) -> dict:
    """Check and normalise the constructor arguments of ``ClusterSample``."""
    cat = catalog.copy(copy_data=False) if isinstance(catalog, Table) else Table(catalog)
    if "id" not in cat.colnames:
        cat.add_column(np.arange(len(cat), dtype=np.int64), name="id", index=0)
    n = len(cat)
    check_catalog_values(cat)
    if not images:
        raise InputError("a ClusterSample needs at least one image set, e.g. {'bolometric': arr}")
    specs = dict(band_sets or {})
    out_bands: dict[str, EnergyBands] = {}
    out_images: dict[str, Any] = {}
    for name, arr in images.items():
        try:
            bands = get_bands(specs.get(name, name))
        except UnknownNameError as err:
            raise InputError(
                f"image set {name!r} is not a band preset; pass band_sets={{{name!r}: "
                "EnergyBands(...)}} to describe its bands"
            ) from err
        out_bands[name] = EnergyBands(bands.edges_keV, name=name)
        out_images[name] = check_counts(arr, f"images[{name!r}]", n, bands.n_bands)
    first = next(iter(out_images.values()))
    npix = int(first.shape[-1]) if npix is None else int(npix)
    for name, arr in out_images.items():
        if arr.shape[-2:] != (npix, npix):
            raise InputError(
                f"images[{name!r}] have {arr.shape[-2:]} pixels; expected ({npix}, {npix})"
            )
    out_sources: dict[str, dict[str, Any]] = {}
    for name, per_source in (source_images or {}).items():
        if name not in out_images:
            raise InputError(f"source images for unknown band set {name!r}")
        out_sources[name] = {}
        for src, arr in per_source.items():
            if src not in SOURCES:
                raise InputError(f"unknown source {src!r}; use one of {SOURCES}")
            out_sources[name][src] = check_counts(
                arr, f"source_images[{name!r}][{src!r}]", n, out_bands[name].n_bands
            )
    if cubes is not None:
        if not isinstance(cubes, LazyArray):
            cubes = np.asarray(cubes, dtype=np.float32)
        if cubes.ndim != 4 or len(cubes) != n or len(set(cubes.shape[1:])) != 1:
            raise InputError(f"cubes must have shape ({n}, m, m, m); got {cubes.shape}")
    out_maps: dict[str, Any] = {}
    for name, arr in (maps or {}).items():
        if name not in MAP_DTYPES:
            raise InputError(f"unknown per-pixel map {name!r}; use one of {tuple(MAP_DTYPES)}")
        if not isinstance(arr, LazyArray):
            arr = np.asarray(arr).astype(MAP_DTYPES[name], copy=False)
        if arr.shape != (n, npix, npix):
            raise InputError(
                f"maps[{name!r}] must have shape ({n}, {npix}, {npix}); got {arr.shape}"
            )
        out_maps[name] = arr
    if observables is not None:
        observables = observables if isinstance(observables, Table) else Table(observables)
        if len(observables) != n:
            raise InputError(f"observables have {len(observables)} rows but the catalogue has {n}")
    return {
        "catalog": cat,
        "band_sets": out_bands,
        "images": out_images,
        "source_images": out_sources,
        "cubes": cubes,
        "observables": observables,
        "npix": npix,
        "maps": out_maps,
    }


def match_band_set(
    band_sets: Mapping[str, EnergyBands], bands: Any, who: str = "this sample"
) -> str:
    """Name of the band set in ``band_sets`` matching ``bands`` (None: the first).

    The one check of a sample's bands against the bands something needs; its
    `BandMismatchError` names ``who`` asked, the bands, what the sample has
    and how to rebuild it.

    Examples
    --------
    >>> from astroclustermass.bands import get_bands
    >>> match_band_set({"soft": EnergyBands([(0.5, 10.0)], "soft")}, "bolometric")
    'soft'
    """
    if bands is None:
        return next(iter(band_sets))
    if isinstance(bands, str) and bands in band_sets:
        return bands
    try:
        wanted = get_bands(bands)
    except (UnknownNameError, InputError):
        wanted = None
    for name, stored in band_sets.items():
        if wanted is not None and stored == wanted:
            return name
    label = f"{wanted.name} ({', '.join(wanted.labels)})" if wanted is not None else repr(bands)
    name = wanted.name if wanted is not None else bands
    available = ", ".join(f"{n} ({', '.join(b.labels)})" for n, b in band_sets.items()) or "none"
    raise BandMismatchError(
        f"{who} has no images in the bands {label}; it has: {available}. Rebuild the sample "
        f"with ClusterSample.build(..., bands=[..., {name!r}])"
    )
