"""HDF5 storage of a `~astroclustermass.sample.ClusterSample` (private, L2).

Layout of one file (``format_version`` 1)::

    /                      attrs: format, format_version, package_version, npix,
                           aperture, n_clusters, cosmology (JSON), band_sets (JSON,
                           ordered), meta (JSON)
    /catalog               astropy Table (HDF5 writer, serialize_meta=True)
    /observables           astropy Table (optional)
    /images/<band set>     int32 (N, n_band, npix, npix)
    /source_images/<band set>/<source>   int32 (N, n_band, npix, npix), optional
    /cubes                 float32 (N, n, n, n), optional
    /maps/<name>           (N, npix, npix), optional: exposure (float32, s), mask (uint8)

Arrays are chunked one cluster per chunk and compressed, so that reading a
subset of clusters reads only their chunks: count images with gzip (level 4)
and the shuffle filter by default (mostly empty, they shrink ~100×), cubes
written by ``ClusterSample.build`` are ``'quantized'`` by default: the HDF5 scale-offset filter (part of every HDF5
library) rounds each voxel to ``10**-D`` with ``D = quantized_digits(n)``, so
that ``n³ · cube`` — 1 for a uniform cube; the joint CNN's input is
``log(1 + n³ · cube)`` — changes by at most ``CUBE_ERROR`` = 5e-4, then
deflate packs the rounded values: 64³ cubes take ~0.2 MB instead of ~0.83 MB
with lossless lzf and shuffle, the default of ``write``.
Files are written to a temporary sibling and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import FileFormatError, InputError

__all__ = [
    "LazyArray",
    "json_default",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GZIP_LEVEL",
    "compress_chunk",
    "write_row",
    "sample_header",
    "take_rows",
    "write_hdf5",
    "read_hdf5",
]

FORMAT_NAME = "astroclustermass.ClusterSample"
FORMAT_VERSION = 1

# rows copied per block when writing (bounds memory for lazy sources)
_WRITE_BLOCK_BYTES = 256 * 2**20


def json_default(obj: Any) -> Any:
    """``default=`` hook of `json.dumps` for numpy scalars/arrays and paths.

    Examples
    --------
    >>> import json, numpy as np
    >>> json.dumps({"a": np.int64(3)}, default=json_default)
    '{"a": 3}'
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


class LazyArray:
    """Rows of an HDF5 dataset, read from the file only when accessed.

    The file is opened read-only for each access, so a `LazyArray` can be
    pickled into DataLoader workers and never holds a file handle.

    Parameters
    ----------
    path : path-like
        HDF5 file.
    name : str
        Dataset name inside the file.
    rows : array of int, optional
        Row selection (all rows when None).

    Examples
    --------
    >>> import tempfile, pathlib, h5py, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.h5"
    >>> with h5py.File(p, "w") as f:
    ...     _ = f.create_dataset("x", data=np.arange(12).reshape(4, 3))
    >>> lazy = LazyArray(p, "x").take([3, 1])
    >>> lazy.shape, np.asarray(lazy).tolist()
    ((2, 3), [[9, 10, 11], [3, 4, 5]])
    """

    def __init__(self, path: str | os.PathLike, name: str, rows: Any = None) -> None:
        import h5py

        self.path = Path(path)
        self.name = name
        with h5py.File(self.path, "r") as f:
            ds = f[name]
            self._full_shape = tuple(ds.shape)
            self.dtype = ds.dtype
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the selected rows."""
        n = self._full_shape[0] if self.rows is None else len(self.rows)
        return (n, *self._full_shape[1:])

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self._full_shape)

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, rows: Any) -> LazyArray:
        """A new `LazyArray` of the selected rows (int array, slice or boolean mask)."""
        base = np.arange(self._full_shape[0]) if self.rows is None else self.rows
        new = LazyArray.__new__(LazyArray)
        new.path, new.name, new.dtype, new._full_shape = (
            self.path,
            self.name,
            self.dtype,
            self._full_shape,
        )
        new.rows = np.asarray(base[rows], dtype=np.int64).reshape(-1)
        return new

    def read(self) -> np.ndarray:
        """Read the selected rows into memory."""
        import h5py

        try:
            with h5py.File(self.path, "r") as f:
                ds = f[self.name]
                if self.rows is None:
                    return ds[()]
                return _read_rows(ds, self.rows)
        except (OSError, KeyError) as err:  # h5py: a corrupted chunk, a vanished file
            raise _damaged(self.path, self.name, err) from err

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.take(np.array([key])).read()[0]
        if isinstance(key, tuple):
            return self.take(key[0]).read()[(slice(None), *key[1:])]
        return self.take(key).read()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.read()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"LazyArray({str(self.path)!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"
        )


def _damaged(path: Path, name: str, err: Exception) -> FileFormatError:
    """The package's error for an HDF5 dataset that cannot be read."""
    if not path.exists():
        return FileFormatError(
            f"sample file {path} no longer exists (dataset {name!r} was to be read from it)"
        )
    return FileFormatError(
        f"sample file {path}: dataset {name!r} cannot be read ({type(err).__name__}: {err}); "
        "the file is damaged (e.g. a corrupted chunk): build or write the sample again"
    )


def _read_rows(ds: Any, rows: np.ndarray) -> np.ndarray:
    """Read arbitrary rows of an h5py dataset with slice reads of consecutive runs."""
    out = np.empty((len(rows), *ds.shape[1:]), dtype=ds.dtype)
    if len(rows) == 0:
        return out
    n = ds.shape[0]
    if rows.min() < -n or rows.max() >= n:
        raise IndexError(f"row index out of range for {ds.name} with {n} rows")
    rows = np.where(rows < 0, rows + n, rows)
    uniq, inverse = np.unique(rows, return_inverse=True)
    breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(uniq)]])
    buf = np.empty((len(uniq), *ds.shape[1:]), dtype=ds.dtype)
    for a, b in zip(starts.tolist(), stops.tolist()):
        ds.read_direct(buf, np.s_[int(uniq[a]) : int(uniq[b - 1]) + 1], np.s_[a:b])
    out[...] = buf[inverse.reshape(-1)]
    return out


def take_rows(arr: Any, rows: Any) -> Any:
    """Select rows of an ndarray (view for slices) or a `LazyArray` (still lazy)."""
    if arr is None:
        return None
    if isinstance(arr, LazyArray):
        return arr.take(rows)
    return arr[rows]


#: gzip level of count images unless the caller chooses another.
GZIP_LEVEL = 4


def compress_chunk(arr: np.ndarray, level: int = GZIP_LEVEL) -> bytes:
    """One row as HDF5's shuffle + deflate filters store it (for ``write_direct_chunk``).

    Lets worker processes compress in parallel while one process writes the file.

    Examples
    --------
    >>> import zlib, numpy as np
    >>> a = np.arange(6, dtype=np.int32)
    >>> raw = zlib.decompress(compress_chunk(a))
    >>> np.frombuffer(raw, np.uint8).reshape(4, 6).T.copy().view(np.int32).ravel().tolist()
    [0, 1, 2, 3, 4, 5]
    """
    import zlib

    a = np.ascontiguousarray(arr)
    shuffled = np.ascontiguousarray(a.view(np.uint8).reshape(-1, a.dtype.itemsize).T)
    return zlib.compress(shuffled.tobytes(), level)


def write_row(dset: Any, row: int, value: Any) -> None:
    """Write one row: an array, or bytes from `compress_chunk` (gzip + shuffle datasets)."""
    if isinstance(value, bytes):
        dset.id.write_direct_chunk((row,) + (0,) * (dset.ndim - 1), value)
    else:
        dset[row] = value


#: Bound on the quantisation error of ``cube_compression='quantized'`` in units of the
#: uniform density ``1 / n³``: ``n³ |Δcube| ≤ CUBE_ERROR`` for every voxel.
CUBE_ERROR = 5e-4

_COMPRESSIONS = ("gzip", "lzf", "quantized", None)


def check_compression(compression: Any, name: str = "compression") -> str | None:
    """``compression`` if it is one of ``'gzip'``, ``'lzf'``, ``'quantized'`` or None.

    Examples
    --------
    >>> check_compression("lzf")
    'lzf'
    """
    if compression not in _COMPRESSIONS:
        raise InputError(f"{name} must be 'gzip', 'lzf', 'quantized' or None; got {compression!r}")
    return compression


def quantized_digits(n: int) -> int:
    """Decimal digits kept by ``'quantized'`` storage of ``n³`` cubes.

    The HDF5 scale-offset filter stores every voxel as an integer multiple
    of ``10**-D`` (error up to one step, measured), so the error in
    ``n³ · cube`` (1 for a uniform cube; the joint CNN's input is
    ``log(1 + n³ · cube)``) is at most ``n³ · 10**-D ≤ CUBE_ERROR``.

    Examples
    --------
    >>> quantized_digits(64), quantized_digits(16)
    (9, 7)
    """
    return int(np.ceil(np.log10(float(n) ** 3 / CUBE_ERROR)))


def _compression_kwargs(compression: str | None, level: int | None, n: int = 0) -> dict:
    if compression is None:
        return {}
    if compression == "quantized":  # lossy, bounded: scale-offset + deflate
        return {
            "scaleoffset": quantized_digits(n),
            "compression": "gzip",
            "compression_opts": GZIP_LEVEL if level is None else level,
        }
    if compression == "gzip":
        return {
            "compression": "gzip",
            "compression_opts": GZIP_LEVEL if level is None else level,
            "shuffle": True,
        }
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    check_compression(compression)
    return {}


def create_array(group: Any, name: str, shape: tuple, dtype: Any, compression, level) -> Any:
    """Create a chunked (one row per chunk), compressed dataset."""
    chunks = (1, *shape[1:]) if shape[0] > 0 else None
    kwargs = _compression_kwargs(compression, level, shape[-1]) if shape[0] > 0 else {}
    return group.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks, **kwargs)


def copy_rows(dst: Any, src: Any) -> None:
    """Copy an ndarray or `LazyArray` into dataset ``dst`` in blocks of rows."""
    n = len(src)
    if n == 0:
        return
    row_bytes = int(np.prod(src.shape[1:])) * np.dtype(src.dtype).itemsize
    block = max(1, _WRITE_BLOCK_BYTES // max(row_bytes, 1))
    for start in range(0, n, block):
        stop = min(n, start + block)
        part = (
            src.take(np.arange(start, stop)).read()
            if isinstance(src, LazyArray)
            else src[start:stop]
        )
        dst[start:stop] = part


def sample_header(sample: Any) -> dict:
    """The root attributes of a sample's file (JSON-safe values), from its public API."""
    from ..cosmology import cosmology_to_dict

    return {
        "npix": sample.npix,
        "aperture": sample.aperture,
        "n_clusters": len(sample),
        "cosmology": cosmology_to_dict(sample.cosmology),
        "band_sets": [b.to_dict() for b in sample.band_sets.values()],
        "meta": json.loads(json.dumps(sample.meta, default=json_default)),
        "sources": list(sample.sources),
    }


def write_header(f: Any, sample_attrs: dict) -> None:
    """Write the root attributes (JSON for nested values)."""
    from ..version import __version__

    f.attrs["format"] = FORMAT_NAME
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["package_version"] = __version__
    for key in ("npix", "aperture", "n_clusters"):
        f.attrs[key] = sample_attrs[key]
    for key in ("cosmology", "band_sets", "meta", "sources"):
        f.attrs[key] = json.dumps(sample_attrs[key])


def write_table(f: Any, name: str, table: Any) -> None:
    """Write an astropy Table with units and meta (exact round trip)."""
    table.write(f, path=name, serialize_meta=True)


def write_hdf5(
    path: str | os.PathLike,
    *,
    header: dict,
    catalog: Any,
    observables: Any,
    images: dict[str, Any],
    source_images: dict[str, dict[str, Any]],
    cubes: Any,
    overwrite: bool = False,
    maps: dict[str, Any] | None = None,
    compression: str | None = "gzip",
    compression_level: int | None = None,
    cube_compression: str | None = "lzf",
) -> Path:
    """Write a sample's parts to ``path`` atomically; see the module docstring for the layout.

    ``header`` is `sample_header`'s; ``images``, ``source_images`` and ``cubes``
    may be numpy arrays or `LazyArray` (copied in blocks, so memory stays bounded).
    """
    import h5py

    from .._utils import atomic_write

    path = Path(path)
    if check_compression(compression) == "quantized":
        raise InputError(
            "compression='quantized' is for the dynamical cubes only (cube_compression); count "
            "images stay exact: use 'gzip', 'lzf' or None"
        )
    check_compression(cube_compression, "cube_compression")
    with atomic_write(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        write_header(f, header)
        write_table(f, "catalog", catalog)
        if observables is not None:
            write_table(f, "observables", observables)
        grp = f.create_group("images")
        for name, arr in images.items():
            copy_rows(
                create_array(grp, name, arr.shape, np.int32, compression, compression_level), arr
            )
        if source_images:
            sgrp = f.create_group("source_images")
            for name, per_source in source_images.items():
                g = sgrp.create_group(name)
                for src, arr in per_source.items():
                    copy_rows(
                        create_array(g, src, arr.shape, np.int32, compression, compression_level),
                        arr,
                    )
        if maps:
            mgrp = f.create_group("maps")
            for name, arr in maps.items():
                copy_rows(
                    create_array(mgrp, name, arr.shape, arr.dtype, compression, compression_level),
                    arr,
                )
        if cubes is not None:
            copy_rows(
                create_array(
                    f, "cubes", cubes.shape, np.float32, cube_compression, compression_level
                ),
                cubes,
            )
    return path


def read_hdf5(path: str | os.PathLike, lazy: bool = True) -> dict:
    """Read a file written by `write_hdf5` into the keyword arguments of ``ClusterSample``."""
    import h5py
    from astropy.table import Table

    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"sample file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(f"{path} is not a readable HDF5 file ({err})") from err
    with f:
        if f.attrs.get("format") != FORMAT_NAME:
            raise FileFormatError(
                f"{path} is not an astroclustermass ClusterSample file (attribute "
                f"'format' is {f.attrs.get('format')!r}); write one with ClusterSample.write()"
            )
        version = int(f.attrs["format_version"])
        if version > FORMAT_VERSION:
            raise FileFormatError(
                f"{path} has sample format version {version}; this astroclustermass reads up to "
                f"{FORMAT_VERSION}. Upgrade the package"
            )
        try:
            catalog = Table.read(f, path="catalog", character_as_bytes=False)
            observables = (
                Table.read(f, path="observables", character_as_bytes=False)
                if "observables" in f
                else None
            )
        except Exception as err:  # astropy raises several types for damaged tables
            raise FileFormatError(f"the tables in {path} are unreadable ({err})") from err

        def load(name: str) -> Any:
            if lazy:
                return LazyArray(path, name)
            try:
                return f[name][()]
            except OSError as err:
                raise _damaged(path, name, err) from err

        try:
            images = {name: load(f"images/{name}") for name in f["images"]}
            source_images = {}
            if "source_images" in f:
                for name in f["source_images"]:
                    source_images[name] = {
                        src: load(f"source_images/{name}/{src}") for src in f["source_images"][name]
                    }
            cubes = load("cubes") if "cubes" in f else None
            maps = {name: load(f"maps/{name}") for name in f["maps"]} if "maps" in f else {}
            attrs = {
                "npix": int(f.attrs["npix"]),
                "aperture": float(f.attrs["aperture"]),
                "cosmology": json.loads(f.attrs["cosmology"]),
                "band_sets": json.loads(f.attrs["band_sets"]),
                "meta": json.loads(f.attrs["meta"]),
                "sources": json.loads(f.attrs.get("sources", "[]")),
            }
        except (KeyError, ValueError, OSError) as err:
            raise FileFormatError(
                f"{path} is an incomplete or damaged ClusterSample file ({err}); write it again"
            ) from err
    return {
        "catalog": catalog,
        "observables": observables,
        "images": images,
        "source_images": source_images,
        "cubes": cubes,
        "maps": maps,
        **attrs,
    }
