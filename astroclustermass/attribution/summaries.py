"""Summaries of attribution maps: radial profiles, ICM/AGN mask saliency, per band, phase space.

After Ho et al. (2023) Sec. 6: the radial distribution of saliency in units
of R500c (Fig. 7), the saliency of ICM- and AGN-dominated pixels (Eq. 14) and
the per-band distributions (Fig. 9).

Examples
--------
>>> import numpy as np
>>> from astropy.table import Table
>>> from astroclustermass.attribution import AttributionMap
>>> amap = AttributionMap(np.ones((1, 1, 8, 8)), "bolometric",
...                       Table({"id": [1], "redshift": [0.1], "r500c": [1.0]}), aperture=2.0)
>>> band_summary(amap)["median"].tolist()
[1.0]
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from astropy.table import Table

from ..exceptions import IncompatibleSampleError, InputError
from ._map import AttributionMap, save_png

__all__ = [
    "radial_profile",
    "plot_radial_profile",
    "mask_saliency",
    "band_summary",
    "phase_space_profile",
]

_Q = (16.0, 50.0, 84.0)


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return (np.nan, np.nan, np.nan)
    lo, med, hi = np.percentile(values, _Q)
    return float(lo), float(med), float(hi)


def radial_profile(
    amap: AttributionMap,
    r500: Any = None,
    bins: int | Any = 30,
    r_max: float = 3.0,
    band: int | None = None,
) -> Table:
    """Median and 16/84 % of the pixel values in bins of r / R500c (Ho et al. 2023 Fig. 7).

    Pixel values of all clusters are pooled per bin of ``r / R500c``, with
    ``r`` the comoving projected radius of the pixel centre.

    Parameters
    ----------
    amap : `AttributionMap`
        The maps.
    r500 : array-like, optional
        R500c (comoving h⁻¹ Mpc) per cluster; default `AttributionMap.r500c`
        (the catalogue's ``r500c``, else from the mass and redshift).
    bins : int or array-like
        Number of equal bins over ``[0, r_max]``, or the bin edges.
    r_max : float
        Outer radius in units of R500c (with an int ``bins``).
    band : int or None
        One band plane; None pools every band.

    Returns
    -------
    `~astropy.table.Table`
        ``r_lo``, ``r_hi``, ``r_mid`` (R500c units), ``n_pixels``, ``median``,
        ``p16``, ``p84`` and ``mean``; ``meta`` holds the method, estimator and
        ``wrt`` of the maps.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> from astroclustermass.attribution import AttributionMap
    >>> amap = AttributionMap(np.ones((2, 1, 16, 16)), "bolometric",
    ...                       Table({"id": [1, 2], "redshift": [0.1, 0.2],
    ...                              "r500c": [0.5, 1.0]}), aperture=2.0)
    >>> t = radial_profile(amap, bins=3, r_max=3.0)
    >>> t["r_mid"].tolist(), t["median"].tolist()
    ([0.5, 1.5, 2.5], [1.0, 1.0, 1.0])
    """
    r500 = amap.r500c() if r500 is None else np.broadcast_to(np.asarray(r500, float), len(amap))
    if len(r500) != len(amap) or not np.all(np.isfinite(r500) & (r500 > 0)):
        raise InputError(
            "radial_profile needs a positive R500c for every cluster: give r500= or maps whose "
            "catalogue has 'r500c' or 'log10_m500c'"
        )
    edges = _edges(bins, r_max)
    values = amap.values if band is None else amap.values[:, [int(band)]]
    radius = amap.pixel_radius()[None] / r500[:, None, None]  # (n, npix, npix)
    radius = np.broadcast_to(radius[:, None], values.shape)
    table = _binned(values, radius, edges, "r", "n_pixels")
    table.meta.update(
        {"method": amap.method, "estimator": amap.estimator, "wrt": amap.wrt, "unit": "R500c"}
    )
    return table


def _edges(bins: Any, upper: float) -> np.ndarray:
    edges = (
        np.linspace(0.0, float(upper), int(bins) + 1)
        if np.ndim(bins) == 0
        else np.asarray(bins, dtype=float)
    )
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError(f"bins must be a positive int or increasing edges; got {bins!r}")
    return edges


def _binned(values: np.ndarray, coord: np.ndarray, edges: np.ndarray, x: str, n: str) -> Table:
    """Median, 16/84 % and mean of ``values`` pooled in bins of ``coord`` (same shape)."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    which = np.searchsorted(edges, np.asarray(coord).reshape(-1), side="right") - 1
    rows = []
    for b in range(edges.size - 1):
        sel = flat[which == b]
        lo, med, hi = _quantiles(sel)
        mean = float(sel.mean()) if sel.size else np.nan
        rows.append(
            (edges[b], edges[b + 1], 0.5 * (edges[b] + edges[b + 1]), sel.size, med, lo, hi, mean)
        )
    names = (f"{x}_lo", f"{x}_hi", f"{x}_mid", n, "median", "p16", "p84", "mean")
    return Table(rows=rows, names=names)


def phase_space_profile(
    amap: AttributionMap,
    axis: str = "radius",
    bins: int | Any = 20,
    r_max: float = 3.0,
    r500: Any = None,
) -> Table:
    """Attribution to the joint model's dynamical cube against radius or |v_los|.

    The voxel values of `AttributionMap.cube_values` (``cube[v, x, y]`` on
    the bin centres of ``linspace(-aperture, aperture, n + 1)`` and
    ``linspace(-v_max, v_max, n_v + 1)``) of all clusters, pooled per bin
    of the projected radius in units of R500c (``axis='radius'``, every
    velocity) or of the line-of-sight speed ``|v_los|`` in km/s
    (``axis='velocity'``, every sky position): median, 16/84 % and mean.

    Parameters
    ----------
    amap : `AttributionMap`
        Maps with ``cube_values`` (an attribution of ``joint_cnn``).
    axis : {'radius', 'velocity'}
        The phase-space coordinate.
    bins : int or array-like
        Number of equal bins over ``[0, r_max]`` (radius) or ``[0, v_max]``
        (velocity), or the edges.
    r_max : float
        Outer radius in R500c (``axis='radius'`` with an int ``bins``).
    r500 : array-like, optional
        R500c (comoving h⁻¹ Mpc) per cluster; default `AttributionMap.r500c`.

    Returns
    -------
    `~astropy.table.Table`
        ``r_lo``, ``r_hi``, ``r_mid`` (R500c) or ``v_lo``, ``v_hi``, ``v_mid``
        (km/s), ``n_voxels``, ``median``, ``p16``, ``p84``, ``mean``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> from astroclustermass.attribution import AttributionMap
    >>> cube = np.zeros((1, 4, 4, 4)); cube[0, 0] = 1.0  # the most negative v_los plane
    >>> amap = AttributionMap(np.zeros((1, 1, 8, 8)), "bolometric",
    ...     Table({"id": [1], "redshift": [0.1], "r500c": [1.0]}), aperture=2.0,
    ...     cube_values=cube, cube_v_max=2000.0)
    >>> phase_space_profile(amap, "velocity", bins=2)["mean"].tolist()
    [0.0, 0.5]
    """
    cube = amap.cube_values
    if cube is None:
        raise InputError(
            "these maps have no cube attributions: attribute a joint_cnn with a gradient method"
        )
    n_v, n_c = cube.shape[1], cube.shape[-1]
    if axis == "velocity":
        if amap.cube_v_max is None:
            raise InputError("the maps do not record the cubes' velocity range (cube_v_max)")
        v_edges = np.linspace(-amap.cube_v_max, amap.cube_v_max, n_v + 1)
        speed = np.abs(0.5 * (v_edges[1:] + v_edges[:-1]))
        coord = np.broadcast_to(speed[None, :, None, None], cube.shape)
        table = _binned(cube, coord, _edges(bins, amap.cube_v_max), "v", "n_voxels")
        table.meta["unit"] = "km/s"
    elif axis == "radius":
        r500 = amap.r500c() if r500 is None else np.broadcast_to(np.asarray(r500, float), len(amap))
        if not np.all(np.isfinite(r500) & (r500 > 0)):
            raise InputError("phase_space_profile(axis='radius') needs R500c for every cluster")
        edges = np.linspace(-amap.aperture, amap.aperture, n_c + 1)
        c = 0.5 * (edges[1:] + edges[:-1])
        radius = np.hypot(c[:, None], c[None, :])[None] / r500[:, None, None]
        coord = np.broadcast_to(radius[:, None], cube.shape)
        table = _binned(cube, coord, _edges(bins, r_max), "r", "n_voxels")
        table.meta["unit"] = "R500c"
    else:
        raise InputError(f"axis must be 'radius' or 'velocity'; got {axis!r}")
    table.meta.update({"method": amap.method, "estimator": amap.estimator, "wrt": amap.wrt})
    return table


def plot_radial_profile(
    profiles: Table | dict[str, Table],
    path: str | os.PathLike | None = None,
    ax: Any = None,
    log: bool = True,
):
    """Plot one or more radial profiles (median line, 16-84 % band) against r / R500c.

    Parameters
    ----------
    profiles : `~astropy.table.Table` or dict of label → Table
        Outputs of `radial_profile` (e.g. a CNN and the analytic proxy).
    path : path-like, optional
        Write the figure to this PNG (atomically).
    ax : matplotlib Axes, optional
        Draw into these axes.
    log : bool
        Logarithmic y axis.

    Returns
    -------
    fig : `matplotlib.figure.Figure`

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"r_mid": [0.5, 1.5], "median": [2.0, 1.0], "p16": [1.0, 0.5],
    ...            "p84": [3.0, 2.0]})
    >>> fig = plot_radial_profile({"cnn": t})
    >>> fig.axes[0].get_xlabel()
    '$r / R_{500c}$'
    """
    if isinstance(profiles, Table):
        profiles = {profiles.meta.get("estimator") or "attribution": profiles}
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.5, 4.0), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    for label, t in profiles.items():
        r = np.asarray(t["r_mid"], dtype=float)
        (line,) = ax.plot(r, t["median"], label=f"{label} (median)")
        ax.fill_between(r, t["p16"], t["p84"], color=line.get_color(), alpha=0.25, lw=0)
    ax.axvline(1.0, color="0.5", ls="--", lw=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("$r / R_{500c}$")
    wrt = next(iter(profiles.values())).meta.get("wrt", "counts")
    ax.set_ylabel(r"$|\partial \log_{10} M / \partial " + ("n" if wrt == "counts" else "x") + "|$")
    ax.legend()
    if path is not None:
        save_png(fig, path)
    return fig


def _source_masks(amap: AttributionMap, sample: Any, mask_bands: Any) -> tuple[np.ndarray, ...]:
    """Boolean ICM and AGN masks aligned with ``amap.values`` (rows matched by id)."""
    ids = np.asarray(sample.catalog["id"]) if "id" in sample.catalog.colnames else None
    if ids is None:
        raise IncompatibleSampleError("the sample's catalogue has no 'id' column")
    where = {int(i): k for k, i in enumerate(ids)}
    missing = [int(i) for i in amap.ids if int(i) not in where]
    if missing:
        raise IncompatibleSampleError(
            f"{len(missing)} clusters of the maps are not in the sample (ids {missing[:5]})"
        )
    rows = np.array([where[int(i)] for i in amap.ids])
    bands = amap.bands if mask_bands is None else mask_bands
    icm = np.asarray(sample.source_images(bands, "icm"))[rows]
    agn = np.asarray(sample.source_images(bands, "agn"))[rows]
    if icm.shape[-2:] != amap.values.shape[-2:]:
        raise IncompatibleSampleError(
            f"source images are {icm.shape[-1]}² pixels but the maps {amap.npix}²"
        )
    if mask_bands is not None:  # one mask from the summed bands, repeated over the planes
        icm = icm.sum(axis=1, keepdims=True)
        agn = agn.sum(axis=1, keepdims=True)
    elif icm.shape[1] != amap.n_bands:
        raise IncompatibleSampleError("source images and maps have different band planes")
    shape = amap.values.shape
    m_icm = np.broadcast_to(icm > agn, shape)  # Θ[n_ICM − n_AGN]; ties in neither mask
    m_agn = np.broadcast_to(agn > icm, shape)
    counts = np.broadcast_to(icm + agn, shape)
    return m_icm, m_agn, counts


def mask_saliency(
    amap: AttributionMap, sample: Any, mask_bands: Any = None, per_cluster: bool = False
) -> Table:
    """Saliency of ICM- and AGN-dominated pixels (Ho et al. 2023 Eq. 14).

    Masks ``M_ICM = n_ICM > n_AGN`` and ``M_AGN = n_AGN > n_ICM`` (ties in
    neither) come from ``sample.source_images(..., 'icm' / 'agn')`` of the
    same clusters (matched by ``id``), in the maps' own pixel and band layout,
    so they are aligned with the maps (the reference code applied them to
    maps rotated by 90°).

    Parameters
    ----------
    amap : `AttributionMap`
        The maps.
    sample : `~astroclustermass.ClusterSample`
        A sample holding the same clusters with per-source images.
    mask_bands : str, EnergyBands or None
        None: a mask per band plane from the source images in the maps' bands.
        A band set: one mask from its summed source images, used for every
        plane (the reference code's choice for multi-band maps).
    per_cluster : bool
        Return the per-cluster Eq. 14 means instead of the summary.

    Returns
    -------
    `~astropy.table.Table`
        By default one row per ``source`` (``'icm'``, ``'agn'``): ``n_pixels``
        and the pooled pixel values within the mask, zeros dropped (what the
        reference code reported): ``pixel_median``, ``pixel_p16``,
        ``pixel_p84``; Eq. 14 per image (the mean over its masked pixels) over
        the ``n_images`` clusters with a non-empty mask: ``image_median``,
        ``image_p16``, ``image_p84``; and ``counts_per_pixel``, the mean
        photon count of the masked pixels. With ``per_cluster``: ``id``,
        ``s_icm``, ``s_agn``, ``n_icm``, ``n_agn`` (pixels) per cluster.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> from astroclustermass.attribution import AttributionMap
    >>> from astroclustermass.sample import ClusterSample
    >>> icm = np.zeros((1, 1, 2, 2), np.int32); icm[0, 0, 0, 0] = 5
    >>> agn = np.zeros((1, 1, 2, 2), np.int32); agn[0, 0, 1, 1] = 9
    >>> s = ClusterSample.from_arrays({"id": [1], "redshift": [0.1]},
    ...     images={"bolometric": icm + agn},
    ...     source_images={"bolometric": {"icm": icm, "agn": agn}})
    >>> amap = AttributionMap(np.array([[[[1.0, 0.0], [0.0, 0.25]]]]), "bolometric",
    ...                       Table({"id": [1], "redshift": [0.1]}), aperture=2.3)
    >>> t = mask_saliency(amap, s)
    >>> t["source"].tolist(), t["image_median"].tolist()
    (['icm', 'agn'], [1.0, 0.25])
    """
    m_icm, m_agn, counts = _source_masks(amap, sample, mask_bands)
    values = amap.values.astype(np.float64)
    n = len(amap)
    per: dict[str, np.ndarray] = {}
    npx: dict[str, np.ndarray] = {}
    rows = []
    for source, mask in (("icm", m_icm), ("agn", m_agn)):
        k = mask.reshape(n, -1).sum(axis=1)
        s = np.where(mask, values, 0.0).reshape(n, -1).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per[source] = np.where(k > 0, s / np.maximum(k, 1), np.nan)
        npx[source] = k
        pooled = values[mask]
        pooled = pooled[pooled != 0]
        p_lo, p_med, p_hi = _quantiles(pooled)
        img = per[source][np.isfinite(per[source])]
        i_lo, i_med, i_hi = _quantiles(img)
        mean_counts = float(counts[mask].mean()) if mask.any() else np.nan
        rows.append(
            (source, int(k.sum()), p_med, p_lo, p_hi, img.size, i_med, i_lo, i_hi, mean_counts)
        )
    if per_cluster:
        return Table(
            {
                "id": amap.ids,
                "s_icm": per["icm"],
                "s_agn": per["agn"],
                "n_icm": npx["icm"],
                "n_agn": npx["agn"],
            }
        )
    names = (
        "source",
        "n_pixels",
        "pixel_median",
        "pixel_p16",
        "pixel_p84",
        "n_images",
        "image_median",
        "image_p16",
        "image_p84",
        "counts_per_pixel",
    )
    table = Table(rows=rows, names=names)
    table.meta.update({"method": amap.method, "estimator": amap.estimator, "wrt": amap.wrt})
    return table


def band_summary(amap: AttributionMap, drop_zeros: bool = True) -> Table:
    """Distribution of the pixel values of each band plane (Ho et al. 2023 Sec. 6.3).

    Parameters
    ----------
    amap : `AttributionMap`
        The maps.
    drop_zeros : bool
        Leave out pixels whose value is exactly 0 (as the reference code).

    Returns
    -------
    `~astropy.table.Table`
        One row per band: ``band`` (label), ``median``, ``p16``, ``p84``,
        ``mean`` of the pooled pixel values, ``fraction`` (the band's share of
        the summed absolute values).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> from astroclustermass.attribution import AttributionMap
    >>> v = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 2.0), np.full((4, 4), 1.0)])
    >>> amap = AttributionMap(v[None], "erosita_3", Table({"id": [1], "redshift": [0.1]}),
    ...                       aperture=2.3)
    >>> band_summary(amap)["fraction"].tolist()
    [0.25, 0.5, 0.25]
    """
    values = amap.values.astype(np.float64)
    total = float(np.abs(values).sum())
    rows = []
    for b, label in enumerate(amap.bands.labels):
        v = values[:, b].reshape(-1)
        frac = float(np.abs(v).sum()) / total if total > 0 else np.nan
        if drop_zeros:
            v = v[v != 0]
        lo, med, hi = _quantiles(v)
        rows.append((label, med, lo, hi, float(v.mean()) if v.size else np.nan, frac))
    table = Table(rows=rows, names=("band", "median", "p16", "p84", "mean", "fraction"))
    table.meta.update({"method": amap.method, "estimator": amap.estimator, "wrt": amap.wrt})
    return table
