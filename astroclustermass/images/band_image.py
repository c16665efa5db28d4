"""Photon-count images on the comoving grid, per energy band (L1).

`BandImage` bins an `~astroclustermass.events.EventList` into an
``(n_band, npix, npix)`` int32 cube of counts on a square grid of comoving
h⁻¹ Mpc centred on the cluster (Ho et al. 2023, Sec. 2.1: ±2.3 h⁻¹ Mpc,
128² pixels), exactly as ``np.histogram2d`` would (`bin_events`, `bin_many`;
a compiled numba kernel when numba is installed, see `binning_backend`, and a
pure-numpy one otherwise; ``docs/internals.rst``). It plots itself and round-trips through FITS.

The image transforms — Eq. 1 redshift normalisation, Eq. 2 log scaling,
Krippendorf et al.'s smoothing pipeline, Lovig's core excision — live in
`astroclustermass.transforms` and are re-exported here.
`source_masks` gives the ICM/AGN-dominated pixel masks of Eq. 14.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from astropy.coordinates import SkyCoord
>>> from astroclustermass.events import EventList
>>> from astroclustermass.images import BandImage
>>> rng = np.random.default_rng(0)
>>> ev = EventList(SkyCoord(rng.normal(150, 0.05, 500) * u.deg, rng.normal(2, 0.05, 500) * u.deg),
...                rng.uniform(0.3, 9, 500) * u.keV)
>>> img = BandImage.from_events(ev, SkyCoord(150 * u.deg, 2 * u.deg), redshift=0.1,
...                             bands="erosita_3", npix=32)
>>> img.data.shape, img.data.dtype.name
((3, 32, 32), 'int32')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._utils import check_grid, defaults, positive_length
from .._utils._projection import _center_deg
from ..bands import EnergyBands, get_bands
from ..cosmology import get_cosmology
from ..exceptions import BandMismatchError, InputError
from .band_codes import _band_codes
from .binning import bin_events, image_edges
from .fits import read_band_image, write_band_image

__all__ = ["BandImage", "source_masks"]


def _skycoord(center: Any):
    from astropy.coordinates import SkyCoord

    if center is None or isinstance(center, SkyCoord):
        return center
    ra, dec = _center_deg(center)  # refuses a Dec outside [-90, 90] with the package's error
    return SkyCoord(ra, dec, unit="deg", frame="icrs")


class BandImage:
    """Photon counts per energy band on a square comoving grid.

    Parameters
    ----------
    data : array-like, shape (n_band, npix, npix) or (npix, npix)
        Counts, ``data[band, i, j]`` with ``i`` along ``x`` (east) and ``j``
        along ``y`` (north). Integer data are stored as int32.
    bands : `~astroclustermass.bands.EnergyBands` or str
        The energy bands of the planes.
    aperture : float or Quantity
        Half-width of the image in comoving h⁻¹ Mpc (2.3: a 4.6 h⁻¹ Mpc box).
    redshift : float, optional
        Cluster redshift.
    center : `~astropy.coordinates.SkyCoord` or (ra, dec) in deg, optional
        Sky position of the image centre.
    cosmology : `~astropy.cosmology.FLRW`, str or None
        Cosmology of the projection (default WMAP7).
    r500c : float or Quantity, optional
        R500c of the cluster in comoving h⁻¹ Mpc (drawn by `plot`).
    exposure : array (npix, npix), optional
        Exposure map (s) on the image grid, ``[i, j]`` like the counts.
    mask : array (npix, npix) of bool, optional
        Point-source mask (True = masked) on the image grid.

    Attributes
    ----------
    data, bands, aperture, redshift, center, cosmology, r500c, exposure, mask

    Examples
    --------
    >>> import numpy as np
    >>> img = BandImage(np.ones((2, 4, 4), dtype=int), [(0.5, 2.0), (2.0, 7.0)], aperture=2.0)
    >>> img.npix, img.n_bands, img.pixel_size, img.total
    (4, 2, 1.0, 32)
    >>> img.extent
    (-2.0, 2.0, -2.0, 2.0)
    """

    def __init__(
        self,
        data: Any,
        bands: Any = "bolometric",
        aperture: Any = defaults.APERTURE,
        redshift: float | None = None,
        center: Any = None,
        cosmology: Any = None,
        r500c: Any = None,
        exposure: Any = None,
        mask: Any = None,
    ) -> None:
        arr = np.asarray(data)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] == 0:
            raise InputError(
                f"image data must have shape (n_band, npix, npix); got {np.shape(data)}"
            )
        if arr.dtype.kind in "iub":
            if arr.size and (
                arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max
            ):
                raise InputError("integer counts do not fit in int32")
            arr = arr.astype(np.int32, copy=False)
        elif arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise InputError("image data contain NaN or inf")
        else:
            raise InputError(f"image data must be numeric; got dtype {arr.dtype}")
        self.bands: EnergyBands = get_bands(bands)
        if self.bands.n_bands != arr.shape[0]:
            raise BandMismatchError(
                f"image has {arr.shape[0]} band plane(s) but bands {self.bands.name!r} has "
                f"{self.bands.n_bands}"
            )
        self.data = arr
        self.aperture = positive_length(aperture, "aperture")
        if redshift is not None:
            redshift = float(redshift)
            if not np.isfinite(redshift) or redshift < 0:
                raise InputError(f"redshift must be a finite non-negative number; got {redshift}")
        self.redshift = redshift
        self.center = _skycoord(center)
        self.cosmology = get_cosmology(cosmology)
        self.r500c = None if r500c is None else positive_length(r500c, "r500c")
        self.exposure = self._plane(exposure, "exposure", np.float32)
        self.mask = self._plane(mask, "mask", bool)

    def _plane(self, values: Any, name: str, dtype: Any) -> np.ndarray | None:
        if values is None:
            return None
        arr = np.asarray(values)
        if arr.shape != (self.npix, self.npix):
            raise InputError(f"{name} must have shape ({self.npix}, {self.npix}); got {arr.shape}")
        if name == "exposure" and (not np.all(np.isfinite(arr)) or arr.min() < 0):
            raise InputError("exposure must be finite and >= 0 (s)")
        return arr.astype(dtype)

    # -------------------------------------------------------------- building
    @classmethod
    def from_events(
        cls,
        events: Any,
        center: Any = None,
        redshift: float | None = None,
        bands: Any = "bolometric",
        aperture: Any = defaults.APERTURE,
        npix: int = defaults.NPIX,
        cosmology: Any = None,
        r500c: Any = None,
        exposure: Any = None,
        mask: Any = None,
    ) -> BandImage:
        """Bin an event list on the comoving grid around ``center``.

        Photons are projected with `EventList.to_comoving
        <astroclustermass.events.EventList.to_comoving>`, sorted into
        ``bands`` (``lo <= E < hi``) and counted with `bin_events` — so each
        band's sum is exactly the number of its events with
        ``-aperture <= x, y <= aperture``.

        Parameters
        ----------
        events : `~astroclustermass.events.EventList`
        center : SkyCoord or (ra, dec), optional
            Default: the event file's ``RA_OBJ``/``DEC_OBJ``.
        redshift : float, optional
            Default: the event file's ``REDSHIFT``.
        bands : str or `~astroclustermass.bands.EnergyBands`
            Default ``'bolometric'`` (0.5–10 keV).
        aperture : float or Quantity
            Half-width in h⁻¹ Mpc (default 2.3).
        npix : int
            Pixels per side (default 128).
        cosmology : FLRW, str or None
            Default WMAP7.
        r500c : float, optional
            Stored for plotting.
        exposure, mask : array (npix, npix), optional
            Exposure map (s) and point-source mask on the same grid (see
            `astroclustermass.images.exposure_on_grid` and
            `~astroclustermass.images.point_source_mask`); stored, written to
            FITS, not applied to the counts.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.coordinates import SkyCoord
        >>> from astroclustermass.events import EventList
        >>> ev = EventList(SkyCoord([150.0, 150.0, 152.0] * u.deg, [2.0, 2.0, 2.0] * u.deg),
        ...                [1.0, 20.0, 1.0] * u.keV)
        >>> BandImage.from_events(ev, (150.0, 2.0), 0.2, npix=8).total  # 20 keV, far photon out
        1
        """
        bands = get_bands(bands)
        center_sc = _skycoord(center)
        if center_sc is None:
            ra0, dec0 = events._default_center(None)
            center_sc = _skycoord((ra0, dec0))
        if redshift is None:
            redshift = events.meta.get("redshift")
            if redshift is None:
                raise InputError("pass redshift=... (the event file has no REDSHIFT keyword)")
        cosmology = get_cosmology(cosmology)
        npix, aperture = check_grid(npix, aperture)
        x, y = events.to_comoving(center_sc, redshift, cosmology)
        codes = _band_codes(events._energy, bands).copy() if len(events) else None
        data = bin_events(x, y, codes, bands.n_bands, npix, aperture)
        return cls(data, bands, aperture, redshift, center_sc, cosmology, r500c, exposure, mask)

    # ------------------------------------------------------------ properties
    @property
    def npix(self) -> int:
        """Pixels per side."""
        return int(self.data.shape[-1])

    @property
    def n_bands(self) -> int:
        """Number of band planes."""
        return int(self.data.shape[0])

    @property
    def pixel_size(self) -> float:
        """Pixel side in comoving h⁻¹ Mpc (``2 aperture / npix``)."""
        return 2.0 * self.aperture / self.npix

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` in h⁻¹ Mpc, for `matplotlib.pyplot.imshow`."""
        a = self.aperture
        return (-a, a, -a, a)

    @property
    def edges(self) -> np.ndarray:
        """Pixel edges along x and y (``np.linspace(-aperture, aperture, npix + 1)``)."""
        return image_edges(self.npix, self.aperture)

    @property
    def centers(self) -> np.ndarray:
        """Pixel centres along x and y in h⁻¹ Mpc."""
        e = self.edges
        return 0.5 * (e[:-1] + e[1:])

    @property
    def total(self):
        """Total counts over all bands and pixels."""
        return self.data.sum().item()

    @property
    def band_totals(self) -> np.ndarray:
        """Counts per band."""
        return self.data.sum(axis=(1, 2))

    def __repr__(self) -> str:
        z = "?" if self.redshift is None else f"{self.redshift:g}"
        return (
            f"<BandImage: {self.n_bands} band(s) {self.bands.name!r}, {self.npix}^2 pixels of "
            f"{self.pixel_size:.4g} h^-1 Mpc, z={z}, total={self.total}>"
        )

    # ----------------------------------------------------------------- I/O
    def write(self, path: Any, overwrite: bool = False) -> None:
        """Write to FITS (atomically) with a header describing the comoving grid.

        The cube is stored with FITS axis 1 = x, 2 = y, 3 = band
        (``CTYPE1 = 'X-COMOV'``, ``CUNIT1 = 'Mpc/h'``, ``CRPIX``/``CRVAL``/
        ``CDELT`` mapping pixel centres to comoving offsets); the band edges
        go to a ``BANDS`` table; redshift, centre, R500c and the cosmology to
        header keywords. `read` restores the image exactly.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "img.fits"
        >>> BandImage(np.arange(16).reshape(1, 4, 4), redshift=0.1).write(p)
        >>> bool((BandImage.read(p).data == np.arange(16).reshape(1, 4, 4)).all())
        True
        """
        write_band_image(self, path, overwrite=overwrite)

    @classmethod
    def read(cls, path: Any) -> BandImage:
        """Read a file written by `write`.

        Raises
        ------
        FileFormatError
            Missing or foreign files.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "img.fits"
        >>> BandImage(np.zeros((1, 4, 4)), r500c=0.8).write(p)
        >>> BandImage.read(p).r500c
        0.8
        """
        return cls(**read_band_image(path))

    # ------------------------------------------------------------- plotting
    def plot(
        self,
        ax: Any = None,
        band: int | None = None,
        r500c: Any = None,
        log: bool = True,
        cmap: str = "magma",
        colorbar: bool = True,
        sky: bool = False,
        **kwargs: Any,
    ):
        """Show one band (or the sum of all) in comoving h⁻¹ Mpc.

        Parameters
        ----------
        ax : `matplotlib.axes.Axes`, optional
            Where to draw (default: a new figure).
        band : int, optional
            Band plane to show; default the sum over bands.
        r500c : float, optional
            Radius of a circle drawn at the centre (a `regions.CirclePixelRegion`
            in data units); default the image's ``r500c``.
        log : bool
            Logarithmic colour scale. Empty pixels are drawn in the lowest
            colour; the scale starts at half the smallest positive value (0.5
            for counts), so one-count pixels are visibly above it.
        cmap : str
            Colour map.
        colorbar : bool
            Add a colour bar.
        sky : bool
            Sky orientation: east to the left, north up (``x`` grows towards
            east, so the x axis is reversed), with the axes labelled so;
            default: ``x`` to the right as in the arrays.
        **kwargs
            Passed to `matplotlib.axes.Axes.imshow`.

        Returns
        -------
        ax : `matplotlib.axes.Axes`

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> ax = BandImage(np.eye(8, dtype=int)[None] * 5, r500c=1.0).plot()
        >>> ax.get_xlabel()
        'x [$h^{-1}$ Mpc]'
        >>> ax = BandImage(np.eye(8, dtype=int)[None] * 5).plot(sky=True)
        >>> ax.get_xlabel(), bool(ax.xaxis_inverted())
        ('x [$h^{-1}$ Mpc]  (east ←)', True)
        """
        from .plotting import plot_image

        return plot_image(
            self,
            ax=ax,
            band=band,
            r500c=r500c,
            log=log,
            cmap=cmap,
            colorbar=colorbar,
            sky=sky,
            **kwargs,
        )

    def plot_bands(
        self,
        r500c: Any = None,
        log: bool = True,
        ncols: int | None = None,
        figsize: tuple[float, float] | None = None,
        sky: bool = False,
        **kwargs: Any,
    ):
        """One panel per band, with a shared colour scale.

        ``log`` and ``sky`` as in `plot` (one-count pixels above the lowest
        colour; east to the left with ``sky=True``).

        Returns
        -------
        fig : `matplotlib.figure.Figure`

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> fig = BandImage(np.ones((3, 8, 8), int), "erosita_3").plot_bands()
        >>> len(fig.axes) >= 3
        True
        """
        from .plotting import plot_bands

        return plot_bands(
            self, r500c=r500c, log=log, ncols=ncols, figsize=figsize, sky=sky, **kwargs
        )


def source_masks(icm_counts: Any, agn_counts: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pixels dominated by ICM or by AGN photons (Ho et al. 2023, Eq. 14).

    ``M_ICM = n_ICM > n_AGN`` and ``M_AGN = n_AGN > n_ICM`` (Heaviside of the
    difference; ties, including empty pixels, are in neither mask). The masks
    have the inputs' shape, so they align pixel for pixel with the images the
    counts came from (no rotation or transposition).

    Parameters
    ----------
    icm_counts, agn_counts : array-like or `BandImage`
        Counts of ICM and AGN photons on the same grid, any matching shape.

    Returns
    -------
    m_icm, m_agn : ndarray of bool

    Examples
    --------
    >>> m_icm, m_agn = source_masks([[3, 0], [1, 1]], [[1, 0], [2, 1]])
    >>> m_icm.tolist(), m_agn.tolist()
    ([[True, False], [False, False]], [[False, False], [True, False]])
    """
    icm = icm_counts.data if isinstance(icm_counts, BandImage) else np.asarray(icm_counts)
    agn = agn_counts.data if isinstance(agn_counts, BandImage) else np.asarray(agn_counts)
    if icm.shape != agn.shape:
        raise InputError(
            f"ICM and AGN count arrays must have the same shape; got {icm.shape} and {agn.shape}"
        )
    return icm > agn, agn > icm
