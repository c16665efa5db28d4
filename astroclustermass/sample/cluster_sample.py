"""`ClusterSample`: the catalogue, images, cubes and observables of many clusters (L2).

What the estimators train and predict on: built from a directory of event files
(`ClusterSample.build`), saved to and lazily read from one HDF5 file, indexed
like an array, split into folds and viewed as a torch ``Dataset``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils import defaults, positive_length
from ..bands import EnergyBands
from ..cosmology import cosmology_from_dict, get_cosmology
from ..exceptions import InputError
from .arrays import SOURCES, match_band_set, normalise_rows, validate_arrays
from .folds import make_folds
from .hdf5 import LazyArray, read_hdf5, sample_header, take_rows, write_hdf5

__all__ = ["ClusterSample", "SOURCES"]


class ClusterSample:
    """Catalogue, count images, dynamical cubes and scalar observables of clusters.

    Build one with `build` (from a directory), `read` (from HDF5) or
    `from_arrays`; the constructor takes the same arguments as `from_arrays`.

    Attributes
    ----------
    catalog : `~astropy.table.Table`
        One row per cluster: ``id``, ``redshift``, ``ra``, ``dec`` and every
        other catalogue column (truth ``log10_m500c``, ``r500c``, ``x``, ``y``,
        ``z``, ``exposure``, ideal observables) when present.
    npix : int
        Pixels per image side.
    aperture : float
        Image half-width in comoving h⁻¹ Mpc.
    cosmology : `~astropy.cosmology.FLRW`
        Cosmology of the sky → comoving projection.
    meta : dict
        Build configuration and package version (JSON-safe).

    Examples
    --------
    >>> import numpy as np
    >>> s = ClusterSample.from_arrays({"redshift": [0.1, 0.2]},
    ...                               images={"erosita_3": np.ones((2, 3, 4, 4), np.int32)})
    >>> s.band_sets["erosita_3"].n_bands, s.has_truth
    (3, False)
    """

    def __init__(
        self,
        catalog: Any,
        images: Mapping[str, Any],
        band_sets: Mapping[str, Any] | None = None,
        *,
        source_images: Mapping[str, Mapping[str, Any]] | None = None,
        cubes: Any = None,
        observables: Any = None,
        npix: int | None = None,
        aperture: float = defaults.APERTURE,
        cosmology: Any = None,
        meta: dict | None = None,
        maps: Mapping[str, Any] | None = None,
    ) -> None:
        arrays = validate_arrays(
            catalog, images, band_sets, source_images, cubes, observables, npix, maps
        )
        self._maps: dict[str, Any] = arrays["maps"]
        self._catalog = arrays["catalog"]
        self._band_sets: dict[str, EnergyBands] = arrays["band_sets"]
        self._images: dict[str, Any] = arrays["images"]
        self._source_images: dict[str, dict[str, Any]] = arrays["source_images"]
        self._cubes = arrays["cubes"]
        self._observables = arrays["observables"]
        self.npix = arrays["npix"]
        self.aperture = positive_length(aperture, "aperture")
        self.cosmology = get_cosmology(cosmology)
        self.meta = dict(meta or {})

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        catalog: Any,
        images: Mapping[str, Any],
        band_sets: Mapping[str, Any] | None = None,
        cubes: Any = None,
        observables: Any = None,
        npix: int | None = None,
        aperture: float = defaults.APERTURE,
        cosmology: Any = None,
        source_images: Mapping[str, Mapping[str, Any]] | None = None,
        meta: dict | None = None,
        maps: Mapping[str, Any] | None = None,
    ) -> ClusterSample:
        """Assemble a sample from in-memory arrays (tests, plugins, other pipelines).

        Parameters
        ----------
        catalog : Table or dict of columns
            One row per cluster (``id`` is added as the row number if absent).
        images : dict
            Band-set name → integer counts of shape (N, n_band, npix, npix).
        band_sets : dict, optional
            Band-set name → `EnergyBands` (or anything `get_bands` accepts);
            names that are presets need no entry.
        cubes : array, optional
            (N, n, n, n) dynamical cubes.
        observables : Table, optional
            Scalar observables, one row per cluster.
        npix : int, optional
            Checked against the images (taken from them by default).
        aperture : float or Quantity
            Image half-width in comoving h⁻¹ Mpc.
        cosmology : FLRW, str or None
            Default WMAP7.
        source_images : dict, optional
            Band-set name → {'icm' | 'agn' | 'background' → counts}.
        meta : dict, optional
            JSON-safe metadata.
        maps : dict, optional
            Per-pixel maps (N, npix, npix): ``'exposure'`` (s) and/or
            ``'mask'`` (1 = masked point source).

        Returns
        -------
        ClusterSample

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.zeros((1, 1, 4, 4))})
        >>> s.images().dtype
        dtype('int32')
        """
        return cls(
            catalog,
            images,
            band_sets,
            source_images=source_images,
            cubes=cubes,
            observables=observables,
            npix=npix,
            aperture=aperture,
            cosmology=cosmology,
            meta=meta,
            maps=maps,
        )

    @classmethod
    def build(
        cls,
        directory: str | os.PathLike,
        bands: Any = defaults.BANDS,
        npix: int = defaults.NPIX,
        aperture: float = defaults.APERTURE,
        dynamics: bool = True,
        cosmology: Any = None,
        n_jobs: int = 2,
        progress: bool | None = None,
        catalog: str = "catalog.ecsv",
        galaxies: str = "galaxies.ecsv",
        on_error: str = "raise",
        sources: tuple[str, ...] = ("icm", "agn"),
        path: str | os.PathLike | None = None,
        overwrite: bool = False,
        n_cube: int = defaults.N_CUBE,
        r500c_frame: str | None = None,
        cube_size: int | None = None,
        cube_compression: str | None = "quantized",
        client: Any = None,
        survey: Any = None,
        column_map: dict | None = None,
        source_catalog: str | os.PathLike | None = None,
        mask_options: dict | None = None,
    ) -> ClusterSample:
        """Build a sample from a directory of event files (or survey tiles) and a catalogue.

        Reads ``catalog`` (required columns ``file``, ``ra``, ``dec``,
        ``redshift``), reads every cluster's event file with `EventList.read`,
        projects it about (ra, dec) at the catalogue redshift, bins it for every
        band set (and per source when the events carry labels), counts
        ``n_phot`` and ``n_phot_500c``, and builds dynamical cubes and scalar
        dynamics from ``galaxies`` when that file exists and ``dynamics`` is
        True. Clusters are processed in chunks by ``n_jobs`` processes; the
        result does not depend on ``n_jobs``.

        Parameters
        ----------
        directory : path-like
            The data directory (layout of ``docs/internals.rst``).
        bands : str, EnergyBands, or a sequence of them
            Band sets to image; each is stored under its name.
        npix : int
            Pixels per image side (128).
        aperture : float or Quantity
            Image half-width in comoving h⁻¹ Mpc (2.3).
        dynamics : bool
            Build cubes and scalar dynamics when ``galaxies`` exists.
        cosmology : FLRW, str or None
            Projection cosmology (default WMAP7).
        n_jobs : int
            Worker processes (1 runs in this process; -1 uses every core).
        progress : bool or None
            Progress bar on/off (None: only on a terminal).
        catalog, galaxies : str
            File names inside ``directory``.
        on_error : {'raise', 'skip'}
            What to do with a cluster whose event file is missing or corrupt:
            raise `FileFormatError` naming it, or drop it with a warning
            listing the skipped ids.
        sources : tuple of str
            Per-source images to keep when events carry labels (``'icm'``,
            ``'agn'``, ``'background'``).
        path : path-like, optional
            Stream the arrays into this HDF5 file while building (memory stays
            bounded) and return the sample lazily read from it.
        overwrite : bool
            Replace an existing ``path``.
        n_cube : int
            Voxels per side of the dynamical cubes (64 as in Ho et al. 2023;
            a joint CNN on ``npix`` maps wants ``npix / 2``). The KDE is
            sampled at the voxel centres; use ``cube_size`` for coarser cubes.
        cube_size : int, optional
            Voxels per side of the stored cubes: each worker sum-pools its
            ``n_cube``³ KDE to this size (a divisor of ``n_cube``), which
            integrates the density over each voxel. Default: ``n_cube``.
            ``meta['build']`` records ``n_cube`` (the stored size) and
            ``cube_pooled_from``.
        cube_compression : {'quantized', 'lzf', 'gzip', None}
            How ``path`` stores the cubes (see `ClusterSample.write`):
            ``'quantized'`` keeps ``n³ · cube`` to 5e-4.
        client : dask.distributed.Client, optional
            Process the clusters as tasks on this Dask cluster (needs
            ``astroclustermass[distributed]``; the workers must see
            ``directory``); the results stream back into ``path`` here, so
            memory stays bounded. ``n_jobs`` is then ignored. The result is
            the same as a local build.
        r500c_frame : {"comoving", "physical"}, optional
            Whether the catalogue's ``r500c`` is comoving or physical where
            its unit cannot say. By default h⁻¹ units (``Mpc / littleh``,
            ``Mpc / h``) and plain numbers are comoving h⁻¹ Mpc and ``kpc`` or
            ``Mpc`` are physical; either is converted to comoving h⁻¹ Mpc
            with the cosmology's h (never a bare unit conversion that drops h).
        survey : None, bool or dict
            Read the clusters' photons from survey tiles
            (`~astroclustermass.events.SurveyTiles`) instead of per-cluster
            files. None detects it: a catalogue without a ``file`` column in a
            directory with ``tiles.fits`` (or ``*events*.fits`` tiles). A dict
            gives `SurveyTiles` options (``cameras``, ``light_leak_energy``,
            ``tile_table``, ...). Survey builds also store each cluster's
            exposure map on its grid (``sample.maps('exposure')``) and fail a
            cluster outside every tile or with zero exposure at its centre.
        column_map : dict, optional
            ``{package name: catalogue name}``, e.g. ``{'ra': 'RA', 'dec':
            'DEC', 'redshift': 'BEST_Z', 'id': 'ID_SRC'}``; galaxy-table names
            through the same map (``{'z_gal': 'z'}``).
        source_catalog : path-like, optional
            Point-source catalogue (relative to ``directory``): sources are
            masked on every image (`~astroclustermass.images.point_source_mask`;
            masked pixels lose their counts and exposure, ``sample.maps('mask')``
            stores the masks).
        mask_options : dict, optional
            ``columns``, ``psf_hew``, ``flux_ref``, ``radius_scale``,
            ``exclude_radius`` of the masks.

        Returns
        -------
        ClusterSample

        Notes
        -----
        In memory a cluster with the default bands, ICM/AGN images and a 64³
        cube takes ~1.8 MB; pass ``path`` to stream to disk (~0.2 MB each with quantized cubes).
        Observables: ``n_phot`` (photons of the ``bolometric`` band set, else
        the first, in the image square), ``n_phot_500c`` (within catalogue
        ``r500c``), ``n_phot_icm``/``n_phot_agn`` (with labels), ``n_gal``,
        ``sigma_v``, ``n_gal_cylinder`` (`~astroclustermass.dynamics.dynamical_observables`)
        and header ``exposure``. Clusters with < 4 galaxies get an all-zero
        cube, listed in a warning and ``meta['build']['zero_cube_ids']``.

        Raises
        ------
        FileFormatError
            Missing directory, catalogue, or (``on_error='raise'``) event file.
        MissingColumnError
            A required catalogue column is missing.
        InputError
            A catalogue value outside its range (Dec beyond ±90°, a redshift
            outside 0.001-10, a non-positive ``r500c`` or ``m500c``), named
            with its file, column, row and cluster id.
        UnitError
            A catalogue unit that is not a length (``r500c``) or mass (``m500c``).

        Examples
        --------
        >>> ClusterSample.build("/nonexistent/dir")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileFormatError: data directory /nonexistent/dir does not exist
        """
        from .build import build_sample

        return build_sample(
            cls,
            directory,
            bands=bands,
            npix=npix,
            aperture=aperture,
            dynamics=dynamics,
            cosmology=cosmology,
            n_jobs=n_jobs,
            progress=progress,
            catalog=catalog,
            galaxies=galaxies,
            on_error=on_error,
            sources=sources,
            path=path,
            overwrite=overwrite,
            n_cube=n_cube,
            r500c_frame=r500c_frame,
            cube_size=cube_size,
            cube_compression=cube_compression,
            client=client,
            survey=survey,
            column_map=column_map,
            source_catalog=source_catalog,
            mask_options=mask_options,
        )

    # ------------------------------------------------------------------ access
    @property
    def catalog(self) -> Table:
        """The catalogue `~astropy.table.Table` (one row per cluster)."""
        return self._catalog

    @property
    def ids(self) -> np.ndarray:
        """Cluster ids (``catalog['id']``)."""
        return np.asarray(self._catalog["id"])

    @property
    def redshift(self) -> np.ndarray:
        """Cluster redshifts (``catalog['redshift']``) as float64."""
        if "redshift" not in self._catalog.colnames:
            raise InputError("the catalogue has no 'redshift' column")
        return np.asarray(self._catalog["redshift"], dtype=float)

    @property
    def has_truth(self) -> bool:
        """True when the catalogue holds true masses (``log10_m500c`` or ``m500c``)."""
        return "log10_m500c" in self._catalog.colnames or "m500c" in self._catalog.colnames

    @property
    def log10_m500c(self) -> np.ndarray:
        """True masses log10(M500c / h⁻¹ M☉); raises `InputError` without truth."""
        cols = self._catalog.colnames
        if "log10_m500c" in cols:
            return np.asarray(self._catalog["log10_m500c"], dtype=float)
        if "m500c" in cols:
            return np.log10(np.asarray(self._catalog["m500c"], dtype=float))
        raise InputError(
            "this sample has no true masses (catalogue column 'log10_m500c' or 'm500c'); "
            "it can be predicted on but not trained or scored"
        )

    @property
    def band_sets(self) -> dict[str, EnergyBands]:
        """Band-set name → `EnergyBands`, in storage order."""
        return dict(self._band_sets)

    @property
    def sources(self) -> tuple[str, ...]:
        """Sources with per-source images (empty without event labels)."""
        names = set()
        for per_source in self._source_images.values():
            names.update(per_source)
        return tuple(s for s in SOURCES if s in names)

    @property
    def is_lazy(self) -> bool:
        """True when arrays are read from a file on access."""
        arrays = [*self._images.values(), self._cubes, *self._maps.values()]
        return any(isinstance(a, LazyArray) for a in arrays)

    def band_set_name(self, bands: Any = None) -> str:
        """Name of the stored band set matching ``bands`` (name or `EnergyBands`).

        Raises
        ------
        BandMismatchError
            When no stored band set matches; the message lists them.

        Examples
        --------
        >>> import numpy as np
        >>> from astroclustermass.bands import get_bands
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> s.band_set_name(get_bands("bolometric"))
        'bolometric'
        """
        return match_band_set(self._band_sets, bands)

    def images(self, bands: Any = None) -> np.ndarray:
        """Photon-count images of one band set, int32 (N, n_band, npix, npix).

        ``data[k, band, i, j]`` with ``i`` along x (east) and ``j`` along y.

        Parameters
        ----------
        bands : str or EnergyBands, optional
            Band-set name or bands (default: the first stored band set).

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> s.images("bolometric").shape
        (1, 1, 4, 4)
        """
        return np.asarray(self._images[self.band_set_name(bands)])

    def source_images(self, bands: Any = None, source: str = "icm") -> np.ndarray:
        """Images of the photons of one source (``'icm'``, ``'agn'``, ``'background'``).

        Raises
        ------
        InputError
            When the sample has no images of that source (event files without
            source labels, or the source was not kept at build time).

        Examples
        --------
        >>> import numpy as np
        >>> img = np.ones((1, 1, 4, 4), np.int32)
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]}, images={"bolometric": img},
        ...                               source_images={"bolometric": {"icm": img}})
        >>> int(s.source_images("bolometric", "icm").sum())
        16
        """
        name = self.band_set_name(bands)
        per_source = self._source_images.get(name, {})
        if source not in per_source:
            have = ", ".join(per_source) or "none"
            raise InputError(
                f"no {source!r} images for band set {name!r} (available: {have}); they exist "
                "only when the event files carry source labels (SRC_ID with SRCICM/SRCAGN "
                "header keywords)"
            )
        return np.asarray(per_source[source])

    @property
    def cubes(self) -> np.ndarray | None:
        """Dynamical cubes, float32 (N, n, n, n) with axes (v_los, x, y), or None."""
        return None if self._cubes is None else np.asarray(self._cubes)

    def dynamical_cube(self, index: int):
        """The `~astroclustermass.dynamics.DynamicalCube` of one cluster.

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))},
        ...                               cubes=np.full((1, 4, 4, 4), 1 / 64))
        >>> s.dynamical_cube(0).n
        4
        """
        from ..dynamics import DynamicalCube

        if self._cubes is None:
            raise InputError("this sample has no dynamical cubes (built without galaxies)")
        data = self._cubes[int(index)]
        build = self.meta.get("build", {})
        n_gal = 0
        if self._observables is not None and "n_gal_cylinder" in self._observables.colnames:
            n_gal = int(self._observables["n_gal_cylinder"][int(index)])
        return DynamicalCube(
            data,
            aperture=self.aperture,
            v_max=build.get("v_max", defaults.V_MAX),
            n_galaxies=n_gal,
            bandwidth=build.get("bw_method", defaults.KDE_BANDWIDTH),
        )

    @property
    def map_names(self) -> tuple[str, ...]:
        """Names of the stored per-pixel maps (``'exposure'``, ``'mask'``)."""
        return tuple(self._maps)

    def maps(self, name: str) -> np.ndarray:
        """A per-pixel map (N, npix, npix): ``'exposure'`` (s, float32) or ``'mask'`` (uint8).

        Built from a survey (exposure maps reprojected onto each cluster's
        grid) or with a source catalogue (point-source masks); see
        ``docs/survey.rst``.

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...     images={"bolometric": np.ones((1, 1, 4, 4))}, maps={"exposure": np.ones((1, 4, 4))})
        >>> s.maps("exposure").dtype, s.map_names
        (dtype('float32'), ('exposure',))
        """
        if name not in self._maps:
            have = ", ".join(self._maps) or "none"
            raise InputError(
                f"this sample has no {name!r} map (stored: {have}); build it from survey tiles "
                "for exposure maps, or with source_catalog= for point-source masks"
            )
        return np.asarray(self._maps[name])

    @property
    def observables(self) -> Table | None:
        """Scalar observables (``n_phot``, ``n_phot_500c``, ``n_gal``, ``sigma_v``, ...)."""
        return self._observables

    @property
    def exposure(self) -> tuple[float, float] | None:
        """(min, max) exposure in s from the catalogue or the event headers, or None."""
        for table in (self._catalog, self._observables):
            if table is not None and "exposure" in table.colnames:
                values = np.asarray(table["exposure"], dtype=float)
                values = values[np.isfinite(values)]
                if values.size:
                    return float(values.min()), float(values.max())
        return None

    # ------------------------------------------------------------------ files
    @classmethod
    def read(cls, path: str | os.PathLike, lazy: bool = True) -> ClusterSample:
        """Read a sample written by `write`.

        Parameters
        ----------
        path : path-like
            The HDF5 file.
        lazy : bool
            If True (default) images and cubes stay on disk and are read on
            access; a subset of a lazy sample reads only its own rows.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
        >>> s = ClusterSample.from_arrays({"redshift": [0.1, 0.2]},
        ...                               images={"bolometric": np.ones((2, 1, 4, 4))})
        >>> _ = s.write(p)
        >>> int(ClusterSample.read(p)[1].images().sum())
        16
        """
        data = read_hdf5(path, lazy=lazy)
        band_sets = {d["name"]: EnergyBands.from_dict(d) for d in data["band_sets"]}
        return cls(
            data["catalog"],
            {name: data["images"][name] for name in band_sets},
            band_sets,
            source_images=data["source_images"],
            cubes=data["cubes"],
            observables=data["observables"],
            npix=data["npix"],
            aperture=data["aperture"],
            cosmology=cosmology_from_dict(data["cosmology"]),
            meta=data["meta"],
            maps=data["maps"],
        )

    def write(
        self,
        path: str | os.PathLike,
        overwrite: bool = False,
        compression: str | None = "gzip",
        compression_level: int | None = None,
        cube_compression: str | None = "lzf",
    ) -> Path:
        """Write the sample to one HDF5 file (atomically).

        Parameters
        ----------
        path : path-like
            Destination.
        overwrite : bool
            Replace an existing file (otherwise `FileExistsError`).
        compression : {'gzip', 'lzf', None}
            Compression of the count images (gzip level 4 with shuffle by default).
        compression_level : int, optional
            gzip level 0–9.
        cube_compression : {'quantized', 'lzf', 'gzip', None}
            Compression of the dynamical cubes. ``'lzf'`` (default, fast;
            other HDF5 readers than h5py need its plugin) and ``'gzip'`` keep
            them exact; ``'quantized'`` (the default of `ClusterSample.build`)
            rounds every voxel so that ``n³ · cube`` changes by at most 5e-4
            (the uniform density is 1) and deflates the result, ~4× smaller.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> s.write(pathlib.Path(tempfile.mkdtemp()) / "s.h5").suffix
        '.h5'
        """
        return write_hdf5(
            path,
            header=sample_header(self),
            catalog=self._catalog,
            observables=self._observables,
            images=self._images,
            source_images=self._source_images,
            cubes=self._cubes,
            maps=self._maps,
            overwrite=overwrite,
            compression=compression,
            compression_level=compression_level,
            cube_compression=cube_compression,
        )

    # ------------------------------------------------------------------ learning views
    def folds(
        self, kind: str | int = "octant", k: int | None = None, seed: Any = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cross-validation folds as a list of ``(train_idx, test_idx)`` int arrays.

        Parameters
        ----------
        kind : {'octant', 'sky', 'sky:N', 'kfold'} or int
            ``'octant'``: one fold per non-empty octant of the comoving box
            (``floor(xyz / (box_size / 2))``, Ho et al. 2023 Sec. 4.1; the box
            size is ``catalog.meta['box_size']``, default 352 h⁻¹ Mpc, and the
            catalogue needs ``x``, ``y``, ``z``). ``'sky'``: ``k`` (default 8)
            contiguous RA/Dec patches of about equal counts, for a survey
            catalogue (`~astroclustermass.sample.folds.sky_patch_index`).
            ``'kfold'`` or an int: random k-fold.
        k : int, optional
            Number of random folds (selects ``'kfold'``; default 10), or of
            sky patches with ``kind='sky'``.
        seed : int or Generator, optional
            Seed of the random folds.

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"x": [10.0, 200.0], "y": [5.0, 5.0], "z": [1.0, 1.0]},
        ...                               images={"bolometric": np.ones((2, 1, 4, 4))})
        >>> [(tr.tolist(), te.tolist()) for tr, te in s.folds()]
        [([1], [0]), ([0], [1])]
        """
        return make_folds(self._catalog, kind=kind, k=k, seed=seed)

    def to_torch(
        self,
        bands: Any = None,
        transform: Any = None,
        cubes: bool = False,
        redshift: bool = False,
        target: bool = True,
        preload: bool = True,
    ):
        """A `torch.utils.data.Dataset` view of the sample.

        Items are dicts with ``'image'`` (float32 tensor (C, H, W) after
        ``transform``), ``'cube'`` (float32 (1, n, n, n), when ``cubes``),
        ``'redshift'`` (float32 scalar, when ``redshift``), ``'target'``
        (float32 log10_m500c, when ``target``) and ``'index'`` (row number).

        Parameters
        ----------
        bands : str or EnergyBands, optional
            Band set of the images (default: the first).
        transform : callable, optional
            ``transform(images, redshift) -> array`` on (N, C, H, W) counts and
            (N,) redshifts, e.g. a fitted transform pipeline; an object with a
            ``transform`` method is called the same way.
        cubes, redshift, target : bool
            Include those items.
        preload : bool
            Transform everything once up front (default); False reads and
            transforms one cluster per item (for lazy samples too large for memory).

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1], "log10_m500c": [14.2]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> item = s.to_torch()[0]
        >>> tuple(item["image"].shape), round(float(item["target"]), 2)
        ((1, 4, 4), 14.2)
        """
        from .dataset import make_dataset

        name = self.band_set_name(bands)
        if cubes and self._cubes is None:
            raise InputError("cubes=True but this sample has no dynamical cubes")
        has_z = "redshift" in self._catalog.colnames
        z = (
            self.redshift.astype(np.float32)
            if (redshift or transform is not None or has_z)
            else None
        )
        y = self.log10_m500c.astype(np.float32) if target else None
        raw_cubes = self._cubes if cubes else None
        return make_dataset(name, self._images[name], raw_cubes, z, y, transform, redshift, preload)

    # ------------------------------------------------------------------ container protocol
    def __len__(self) -> int:
        return len(self._catalog)

    def __getitem__(self, key: Any) -> ClusterSample:
        rows = normalise_rows(key, len(self))
        new = ClusterSample.__new__(ClusterSample)
        new._catalog = self._catalog[rows]
        new._band_sets = dict(self._band_sets)
        new._images = {k: take_rows(v, rows) for k, v in self._images.items()}
        new._source_images = {
            k: {s: take_rows(a, rows) for s, a in v.items()} for k, v in self._source_images.items()
        }
        new._cubes = take_rows(self._cubes, rows)
        new._maps = {k: take_rows(v, rows) for k, v in self._maps.items()}
        new._observables = None if self._observables is None else self._observables[rows]
        new.npix, new.aperture, new.cosmology = self.npix, self.aperture, self.cosmology
        new.meta = dict(self.meta)
        return new

    def load(self) -> ClusterSample:
        """A copy with every lazy array read into memory.

        Examples
        --------
        >>> import numpy as np
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> s.load().is_lazy
        False
        """
        new = self[np.arange(len(self))]
        new._images = {k: np.asarray(v) for k, v in new._images.items()}
        new._source_images = {
            k: {s: np.asarray(a) for s, a in v.items()} for k, v in new._source_images.items()
        }
        new._cubes = None if new._cubes is None else np.asarray(new._cubes)
        new._maps = {k: np.asarray(v) for k, v in new._maps.items()}
        return new

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}[{b.n_bands}]" for k, b in self._band_sets.items())
        extra = []
        if self.sources:
            extra.append(f"sources={list(self.sources)}")
        if self._cubes is not None:
            extra.append(f"cubes={self._cubes.shape[1]}^3")
        if self.is_lazy:
            extra.append("lazy")
        tail = (", " + ", ".join(extra)) if extra else ""
        return (
            f"<ClusterSample: {len(self)} clusters, npix={self.npix}, aperture={self.aperture:g} "
            f"h^-1 Mpc, bands: {sets}{tail}>"
        )
