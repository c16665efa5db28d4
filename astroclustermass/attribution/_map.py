"""`AttributionMap`: per-cluster attribution (saliency) maps with their provenance."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils import atomic_write
from ..bands import EnergyBands, get_bands
from ..cosmology import r500c_comoving
from ..exceptions import FileFormatError, InputError

__all__ = ["AttributionMap", "r500c_from_mass"]

_FORMAT = "astroclustermass.AttributionMap"
_FORMAT_VERSION = 1
_CATALOG_COLUMNS = ("id", "redshift", "log10_m500c", "r500c", "log10_m500c_pred", "delta")


def r500c_from_mass(log10_m500c: Any, redshift: Any, cosmology: Any = None) -> np.ndarray:
    """Comoving R500c (h⁻¹ Mpc) of halos of log10 M500c (h⁻¹ M☉) at redshift z.

    `astroclustermass.cosmology.r500c_comoving` of ``10**log10_m500c``.

    Examples
    --------
    >>> round(float(r500c_from_mass(15.0, 0.2)), 3)
    1.354
    """
    return r500c_comoving(10.0 ** np.asarray(log10_m500c, dtype=float), redshift, cosmology)


class AttributionMap:
    """Attribution maps of a set of clusters, shaped like the estimator's image input.

    ``values[k, b, i, j]`` is the derivative of ``target`` (log10 M500c in
    log10(h⁻¹ M☉)) predicted for cluster ``k`` with respect to pixel ``(i, j)``
    (``i`` along x) of band ``b`` of ``wrt``: ``'counts'`` (the photon counts,
    per count) or ``'input'`` (the estimator's network input after its
    transforms), or an attribution in the same units (integrated gradients).

    Parameters
    ----------
    values : ndarray, shape (n, n_band, npix, npix)
        The maps.
    bands : str or `EnergyBands`
        The band set of the maps' band axis.
    catalog : `~astropy.table.Table`
        One row per cluster: ``id``, ``redshift`` and, when known, ``log10_m500c``
        (true mass), ``r500c`` (comoving h⁻¹ Mpc), ``log10_m500c_pred`` (the
        prediction at the input) and ``delta`` (the completeness gap of
        integrated gradients).
    aperture : float
        Image half-width in comoving h⁻¹ Mpc.
    method : str
        The attribution method's registered name.
    estimator : str
        The estimator's registered name.
    wrt : {'counts', 'input'}
        What the maps are derivatives with respect to.
    target : str
        What they are derivatives of (``'log10_m500c'``).
    absolute : bool
        Whether absolute values were taken.
    params : dict, optional
        The attribution method's parameters (JSON-safe).
    cosmology : dict, optional
        The sample's cosmology (`~astroclustermass.cosmology.cosmology_to_dict`).
    quantity : str
        What a value is, in words or symbols (the colour-bar label of `plot`);
        empty: ``∂log10 M/∂n``.
    cube_values : ndarray, shape (n, n_v, n_c, n_c), optional
        Attributions to the dynamical cube ``cube[v, x, y]`` of the joint
        model, in the same units as ``values`` per voxel (a derivative per
        unit of the cube's normalised density, or its attribution).
    cube_v_max : float, optional
        Half-width (km/s) of the cubes' velocity axis; the sky axes span the
        image's ``[-aperture, aperture]``.

    Attributes
    ----------
    delta : ndarray or None
        Per-cluster completeness gap ``sum(values) - (f(x) - f(baseline))``
        (integrated gradients), else None.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> amap = AttributionMap(np.ones((2, 1, 4, 4)), "bolometric",
    ...                       Table({"id": [1, 2], "redshift": [0.1, 0.2]}), aperture=2.3)
    >>> amap.shape, amap.n_bands, amap.pixel_size
    ((2, 1, 4, 4), 1, 1.15)
    >>> amap[1].ids.tolist()
    [2]
    """

    def __init__(
        self,
        values: Any,
        bands: Any,
        catalog: Any,
        aperture: float,
        method: str = "",
        estimator: str = "",
        wrt: str = "counts",
        target: str = "log10_m500c",
        absolute: bool = False,
        params: dict | None = None,
        cosmology: dict | None = None,
        quantity: str = "",
        cube_values: Any = None,
        cube_v_max: float | None = None,
    ) -> None:
        arr = np.asarray(values)
        if arr.ndim != 4 or arr.shape[2] != arr.shape[3]:
            raise InputError(f"values must have shape (n, n_band, npix, npix); got {arr.shape}")
        self.values = arr
        self.bands: EnergyBands = get_bands(bands)
        if self.bands.n_bands != arr.shape[1]:
            raise InputError(
                f"values have {arr.shape[1]} band planes but bands {self.bands.name!r} has "
                f"{self.bands.n_bands}"
            )
        self.catalog = Table(catalog, copy=True)
        if len(self.catalog) != len(arr):
            raise InputError(f"{len(self.catalog)} catalogue rows for {len(arr)} maps")
        self.aperture = float(aperture)
        self.method = str(method)
        self.estimator = str(estimator)
        if wrt not in ("counts", "input"):
            raise InputError(f"wrt must be 'counts' or 'input'; got {wrt!r}")
        self.wrt = wrt
        self.target = str(target)
        self.absolute = bool(absolute)
        self.params = dict(params or {})
        self.cosmology = cosmology
        self.quantity = str(quantity)
        self.cube_values = None if cube_values is None else np.asarray(cube_values)
        if self.cube_values is not None:
            cv = self.cube_values
            if cv.ndim != 4 or len(cv) != len(arr) or cv.shape[2] != cv.shape[3]:
                raise InputError(
                    f"cube_values must have shape (n, n_v, n_c, n_c) with n={len(arr)}; "
                    f"got {cv.shape}"
                )
        self.cube_v_max = None if cube_v_max is None else float(cube_v_max)

    # ---------------------------------------------------------------- views
    @property
    def shape(self) -> tuple[int, ...]:
        """``(n, n_band, npix, npix)``."""
        return tuple(self.values.shape)

    @property
    def n_bands(self) -> int:
        """Number of band planes."""
        return int(self.values.shape[1])

    @property
    def npix(self) -> int:
        """Pixels per image side."""
        return int(self.values.shape[-1])

    @property
    def pixel_size(self) -> float:
        """Pixel side in comoving h⁻¹ Mpc."""
        return 2.0 * self.aperture / self.npix

    @property
    def ids(self) -> np.ndarray:
        """Cluster ids (the catalogue's ``id``)."""
        return np.asarray(self.catalog["id"])

    @property
    def delta(self) -> np.ndarray | None:
        """Completeness gap per cluster (integrated gradients), else None."""
        if "delta" in self.catalog.colnames:
            return np.asarray(self.catalog["delta"], dtype=float)
        return None

    def pixel_radius(self) -> np.ndarray:
        """Projected comoving radius (h⁻¹ Mpc) of every pixel centre, shape (npix, npix).

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.table import Table
        >>> amap = AttributionMap(np.zeros((1, 1, 2, 2)), "bolometric",
        ...                       Table({"id": [1], "redshift": [0.1]}), aperture=1.0)
        >>> amap.pixel_radius().round(4).tolist()
        [[0.7071, 0.7071], [0.7071, 0.7071]]
        """
        edges = np.linspace(-self.aperture, self.aperture, self.npix + 1)
        c = 0.5 * (edges[1:] + edges[:-1])
        return np.hypot(c[:, None], c[None, :])

    def r500c(self) -> np.ndarray:
        """Comoving R500c (h⁻¹ Mpc) of every cluster.

        From the catalogue column ``r500c`` when present; otherwise from
        ``log10_m500c`` (the true mass, else the prediction
        ``log10_m500c_pred``) and the redshift with `r500c_from_mass` in the
        maps' cosmology. NaN where neither is known. A column with a unit is
        converted like a catalogue's
        (`~astroclustermass.cosmology.length_to_comoving_h`: h⁻¹ units are
        comoving, plain kpc/Mpc physical).
        """
        from ..cosmology import cosmology_from_dict, length_to_comoving_h

        cat = self.catalog
        cosmo = cosmology_from_dict(self.cosmology) if self.cosmology else None
        if "r500c" in cat.colnames:
            col = cat["r500c"]
            return length_to_comoving_h(
                np.asarray(col, dtype=float),
                getattr(col, "unit", None),
                np.asarray(cat["redshift"], dtype=float),
                cosmo,
                name="the maps' catalogue column 'r500c'",
            )
        for name in ("log10_m500c", "log10_m500c_pred"):
            if name in cat.colnames:
                return r500c_from_mass(cat[name], cat["redshift"], cosmo)
        return np.full(len(cat), np.nan)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, key: Any) -> AttributionMap:
        rows = np.atleast_1d(np.arange(len(self))[key])
        cube = None if self.cube_values is None else self.cube_values[rows]
        return self._replace(self.values[rows], self.catalog[rows], cube)

    def _replace(self, values: np.ndarray, catalog: Table, cube: Any = None) -> AttributionMap:
        return AttributionMap(
            values,
            self.bands,
            catalog,
            self.aperture,
            self.method,
            self.estimator,
            self.wrt,
            self.target,
            self.absolute,
            self.params,
            self.cosmology,
            self.quantity,
            cube,
            self.cube_v_max,
        )

    def __repr__(self) -> str:
        return (
            f"AttributionMap(method={self.method!r}, estimator={self.estimator!r}, "
            f"n={len(self)}, bands={self.bands.name!r}, npix={self.npix}, wrt={self.wrt!r})"
        )

    def colorbar_label(self, log: bool = True) -> str:
        """What `plot` shows: ``quantity``, in ``|...|`` when ``log`` takes absolute values.

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.table import Table
        >>> amap = AttributionMap(np.ones((1, 1, 2, 2)), "bolometric",
        ...     Table({"id": [1], "redshift": [0.1]}), aperture=1.0,
        ...     quantity="n·∂log10 M/∂n [dex]")
        >>> amap.colorbar_label()
        '|n·∂log10 M/∂n [dex]|'
        """
        default = "∂log10 M/∂n [dex per count]" if self.wrt == "counts" else "∂log10 M/∂x"
        what = self.quantity or default
        if log and not self.absolute and not what.startswith("|"):
            what = f"|{what}|"
        return what

    # ------------------------------------------------------------------ I/O
    def _meta(self) -> dict:
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "bands": self.bands.to_dict(),
            "aperture": self.aperture,
            "method": self.method,
            "estimator": self.estimator,
            "wrt": self.wrt,
            "target": self.target,
            "absolute": self.absolute,
            "params": self.params,
            "cosmology": self.cosmology,
            "quantity": self.quantity,
            "cube_v_max": self.cube_v_max,
        }

    def write(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the maps to an HDF5 file (atomically: temporary file, then rename).

        The file holds the dataset ``values``, the numeric catalogue columns
        (``catalog/<name>``) and the provenance as JSON in the attribute
        ``meta``.

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> from astropy.table import Table
        >>> amap = AttributionMap(np.ones((1, 1, 4, 4)), "bolometric",
        ...                       Table({"id": [7], "redshift": [0.1]}), aperture=2.3)
        >>> p = amap.write(pathlib.Path(tempfile.mkdtemp()) / "saliency.h5")
        >>> AttributionMap.read(p).ids.tolist()
        [7]
        """
        with write_hdf5(path, self._meta(), overwrite) as f:
            f.create_dataset("values", data=self.values, compression="gzip", shuffle=True)
            if self.cube_values is not None:
                f.create_dataset("cube_values", data=self.cube_values, compression="gzip")
            grp = f.create_group("catalog")
            for name in self.catalog.colnames:
                col = np.asarray(self.catalog[name])
                if col.dtype.kind in "biuf":
                    grp.create_dataset(name, data=col)
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike) -> AttributionMap:
        """Read maps written by `write`.

        Raises
        ------
        FileFormatError
            When the file is missing or is not an attribution-map file.
        """
        with read_hdf5(path, _FORMAT, "attribution-map") as (f, meta):
            values = np.asarray(f["values"])
            cube = np.asarray(f["cube_values"]) if "cube_values" in f else None
            cat = Table({name: np.asarray(f["catalog"][name]) for name in f["catalog"]})
        order = [c for c in _CATALOG_COLUMNS if c in cat.colnames]
        cat = cat[order + [c for c in cat.colnames if c not in order]]
        return cls(
            values,
            EnergyBands.from_dict(meta["bands"]),
            cat,
            meta["aperture"],
            meta["method"],
            meta["estimator"],
            meta["wrt"],
            meta["target"],
            meta["absolute"],
            meta["params"],
            meta["cosmology"],
            meta.get("quantity", ""),
            cube,
            meta.get("cube_v_max"),
        )

    # ------------------------------------------------------------- plotting
    def plot(
        self,
        index: int,
        path: str | os.PathLike | None = None,
        band: int | None = None,
        ax: Any = None,
        log: bool = True,
        cmap: str = "viridis",
        sky: bool = False,
    ):
        """Draw the map of cluster ``index`` (axes in h⁻¹ Mpc, dashed R500c circle).

        The colour bar is labelled with what the map is (``quantity``: e.g.
        the saliency per count, input × gradient in dex, integrated gradients
        from their baseline), between bars when the log scale shows absolute
        values of a signed map.

        Parameters
        ----------
        index : int
            Row of the cluster.
        path : path-like, optional
            Write the figure to this PNG file (atomically).
        band : int or None
            Band plane to draw; None sums the bands.
        ax : matplotlib Axes, optional
            Draw into these axes (default: a new figure).
        log : bool
            Logarithmic colour scale (of the absolute values).
        cmap : str
            Colour map.
        sky : bool
            East to the left, north up (see `~astroclustermass.images.BandImage.plot`).

        Returns
        -------
        fig : `matplotlib.figure.Figure`

        Examples
        --------
        >>> import numpy as np
        >>> from astropy.table import Table
        >>> amap = AttributionMap(np.random.default_rng(0).random((1, 1, 8, 8)), "bolometric",
        ...                       Table({"id": [1], "redshift": [0.1], "r500c": [0.8]}),
        ...                       aperture=2.3, method="saliency")
        >>> fig = amap.plot(0)
        >>> fig.axes[0].get_xlabel()
        'x [$h^{-1}$ Mpc]'
        """
        from ..images import BandImage
        from ..images.plotting import plot_image

        k = int(index)
        if not 0 <= k < len(self):
            raise InputError(f"index must be in [0, {len(self)}); got {index}")
        data = np.abs(self.values[k]) if (log or self.absolute) else self.values[k]
        r500 = float(self.r500c()[k])
        image = BandImage(
            np.asarray(data, dtype=np.float64),
            self.bands,
            aperture=self.aperture,
            redshift=float(self.catalog["redshift"][k]),
            r500c=r500 if np.isfinite(r500) else None,
        )
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(5.2, 4.2), layout="constrained")
            ax = fig.add_subplot()
        fig = ax.figure
        plot_image(image, ax=ax, band=band, log=log, cmap=cmap, colorbar=False, sky=sky)
        mappable = ax.images[-1]
        fig.colorbar(mappable, ax=ax, label=self.colorbar_label(log))
        ax.set_title(f"{self.method or 'attribution'}: id {self.ids[k]}, " + ax.get_title())
        if path is not None:
            save_png(fig, path)
        return fig


def save_png(fig: Any, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    path = Path(path)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


@contextmanager
def write_hdf5(path: str | os.PathLike, meta: dict, overwrite: bool = False) -> Iterator[Any]:
    """Write an HDF5 file of ours atomically: yields the open file for the datasets.

    ``meta`` (with its ``format``) is stored as the JSON attribute ``meta``, the
    package version as ``version``. An existing ``path`` needs ``overwrite``.
    """
    import h5py

    from ..version import __version__

    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        yield f
        f.attrs["meta"] = json.dumps(meta)
        f.attrs["version"] = __version__


@contextmanager
def read_hdf5(path: str | os.PathLike, fmt: str, what: str) -> Iterator[tuple[Any, dict]]:
    """Open an HDF5 file of ours for reading: yields ``(file, meta)``.

    ``meta`` is the JSON attribute ``meta``, whose ``format`` must be ``fmt``.
    A missing file, another format, or a missing or corrupt dataset read in
    the block raises `FileFormatError` naming the file and ``what`` it should be.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{what} file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            meta = json.loads(f.attrs["meta"])
            if meta.get("format") != fmt:
                raise KeyError("format")
            yield f, meta
    except (OSError, KeyError, ValueError) as err:
        article = "an" if what[0] in "aeiou" else "a"
        raise FileFormatError(f"{path} is not {article} {what} file: {err}") from err
