"""Survey depth per cluster (L2): effective exposure and count rates.

A survey's depth varies across the sky, so photon counts mix mass with
exposure. This module gives every cluster one *effective exposure* and turns
counts into count rates that do not depend on it:

* `aperture_exposure` — the mean vignetted exposure (s) of a cluster's
  exposure map (`ClusterSample.maps('exposure')`, the survey's maps reprojected
  onto its comoving grid) over the pixels whose centres lie within a radius:
  the whole image (the region of ``n_phot``) or R500c (that of
  ``n_phot_500c``). Masked pixels and pixels off the survey count with
  exposure 0, exactly as they count with no photons, so ``counts / exposure``
  estimates the rate of the whole region (holes do not bias it).
* A sample built from survey tiles stores ``exposure`` (image mean, s),
  ``exposure_500c`` (within R500c, s), and the count rates ``rate`` =
  ``n_phot / exposure`` and ``rate_500c`` = ``n_phot_500c / exposure_500c``
  (counts/s) among its observables; a uniform-depth mock stores the same
  columns with its one exposure. Scaling relations read them like any
  observable (``PowerLawEstimator(observable="rate_500c")``), so one relation
  can be fitted across depths.
* `cluster_exposure` — the exposure of each cluster of a sample: the
  observables' ``exposure`` (measured), else the catalogue's, else None.
* `with_count_rates` adds or refreshes the rate columns of any sample (e.g.
  after `iterative_r500c` replaced ``n_phot_500c``).

Per-band exposure maps: the survey mock writes one map per tile, used for
every band; the mean over a band-independent map is one number per cluster.

Examples
--------
>>> import numpy as np
>>> expmap = np.full((4, 4), 1000.0); expmap[0, :] = 0.0   # a row off the survey
>>> float(aperture_exposure(expmap, aperture=2.0))          # 12 of 16 pixels at 1 ks
750.0
>>> float(aperture_exposure(expmap, aperture=2.0, radius=1.0))  # the central 2 x 2
1000.0
>>> count_rate([150, 0], [1000.0, 0.0]).tolist()
[0.15, nan]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.table import Table

from ..exceptions import InputError

__all__ = [
    "aperture_exposure",
    "cluster_exposure",
    "count_rate",
    "with_count_rates",
    "RATE_COLUMNS",
]

#: Count-rate observables and the (counts, exposure) columns they are made of.
RATE_COLUMNS: dict[str, tuple[str, str]] = {
    "rate": ("n_phot", "exposure"),
    "rate_500c": ("n_phot_500c", "exposure_500c"),
}


def _pixel_radii(npix: int, aperture: float) -> np.ndarray:
    """(npix, npix) distance of every pixel centre from the image centre."""
    from ..images import image_edges

    edges = image_edges(npix, aperture)
    c = 0.5 * (edges[1:] + edges[:-1])
    return np.hypot(c[:, None], c[None, :])


def aperture_exposure(exposure: Any, aperture: float, radius: Any = None) -> np.ndarray:
    """Mean exposure (s) of exposure maps within a radius of the image centre.

    Parameters
    ----------
    exposure : array (npix, npix) or (N, npix, npix)
        Exposure (s) at each pixel of a comoving grid of half-width ``aperture``.
    aperture : float
        Half-width of the images (comoving h⁻¹ Mpc).
    radius : float, array (N,) or None
        Radius (same units) whose pixel centres count; None for the whole
        image. A radius smaller than the distance of the central pixels
        keeps those central pixels; a NaN radius gives NaN.

    Returns
    -------
    ndarray
        Shape ``()`` for one map, ``(N,)`` for several.

    Examples
    --------
    >>> m = np.arange(16.0).reshape(4, 4)
    >>> float(aperture_exposure(m, 2.0)), float(aperture_exposure(m, 2.0, radius=0.1))
    (7.5, 7.5)
    """
    arr = np.asarray(exposure, dtype=np.float64)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise InputError(
            f"exposure maps must be (npix, npix) or (N, npix, npix); got shape {arr.shape}"
        )
    n, npix = arr.shape[0], arr.shape[1]
    if radius is None:
        out = arr.reshape(n, -1).mean(axis=1)
    else:
        rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n,))
        r = _pixel_radii(npix, float(aperture))
        out = np.full(n, np.nan)
        for k in np.flatnonzero(np.isfinite(rad)):
            inside = r <= max(float(rad[k]), float(r.min()))
            out[k] = arr[k][inside].mean()
    return out[0] if single else out


def count_rate(counts: Any, exposure: Any) -> np.ndarray:
    """Counts per second; NaN where the exposure is not > 0 or either value is undefined.

    Examples
    --------
    >>> count_rate(200, 2000.0).tolist()
    0.1
    """
    c = np.asarray(np.ma.filled(np.ma.asarray(counts, dtype=float), np.nan), dtype=float)
    e = np.asarray(np.ma.filled(np.ma.asarray(exposure, dtype=float), np.nan), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, c / np.where(e > 0, e, 1.0), np.nan)


def cluster_exposure(sample: Any) -> np.ndarray | None:
    """Each cluster's effective exposure (s), or None when the sample has none.

    The ``exposure`` column of ``sample.observables`` (measured from the
    exposure maps or the event headers at build time) when it is there and
    finite, else the catalogue's ``exposure``.

    Examples
    --------
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"redshift": [0.1, 0.2], "exposure": [200.0, 2000.0]},
    ...                               images={"bolometric": np.ones((2, 1, 4, 4))})
    >>> cluster_exposure(s).tolist()
    [200.0, 2000.0]
    """
    obs = getattr(sample, "observables", None)
    cat = sample.catalog
    values = None
    if obs is not None and "exposure" in obs.colnames:
        values = np.asarray(np.ma.filled(np.ma.asarray(obs["exposure"], float), np.nan), float)
    if "exposure" in cat.colnames:
        fallback = np.asarray(np.ma.filled(np.ma.asarray(cat["exposure"], float), np.nan), float)
        values = fallback if values is None else np.where(np.isfinite(values), values, fallback)
    return values


def rate_columns(obs: dict) -> dict:
    """The ``exposure_500c`` and rate entries of one cluster's build observables (in place)."""
    if "exposure_500c" not in obs and "n_phot_500c" in obs:
        obs["exposure_500c"] = obs.get("exposure", float("nan"))
    for name, (counts, exposure) in RATE_COLUMNS.items():
        if counts in obs and exposure in obs:
            obs[name] = float(count_rate(obs[counts], obs[exposure]))
    return obs


def with_count_rates(sample: Any) -> Any:
    """A copy of ``sample`` whose observables hold ``rate`` and ``rate_500c`` (counts/s).

    ``exposure_500c`` is recomputed from the stored exposure maps within
    the catalogue's ``r500c`` (or the iterated ``r500c_iter``) when the
    sample has maps; otherwise it is the cluster's exposure.

    Examples
    --------
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"redshift": [0.1], "exposure": [500.0]},
    ...                               images={"bolometric": np.ones((1, 1, 4, 4))},
    ...                               observables={"n_phot": [100], "n_phot_500c": [50]})
    >>> out = with_count_rates(s)
    >>> float(out.observables["rate"][0]), float(out.observables["rate_500c"][0])
    (0.2, 0.1)
    """
    import astropy.units as u

    obs = Table({"id": sample.ids}) if sample.observables is None else sample.observables.copy()
    exposure = cluster_exposure(sample)
    if exposure is None:
        raise InputError(
            "the sample has no exposure (no 'exposure' column in its observables or catalogue); "
            "build it from survey tiles or event files with an EXPOSURE header, or add the column"
        )
    obs["exposure"] = exposure * u.s
    exp500 = exposure
    radius = None
    if "r500c_iter" in obs.colnames:
        radius = np.asarray(obs["r500c_iter"], float)
    elif "r500c" in sample.catalog.colnames:
        radius = np.asarray(sample.catalog["r500c"], float)
    if radius is not None and "exposure" in getattr(sample, "map_names", ()):
        exp500 = aperture_exposure(sample.maps("exposure"), sample.aperture, radius)
    obs["exposure_500c"] = np.asarray(exp500, float) * u.s
    for name, (counts, col) in RATE_COLUMNS.items():
        if counts in obs.colnames:
            obs[name] = count_rate(obs[counts], obs[col]) / u.s
    out = sample[np.arange(len(sample))]
    out._observables = obs
    return out
