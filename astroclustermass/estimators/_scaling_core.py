"""Numerical core of the multi-property scaling model (Evrard et al. 2014).

Pure numpy on arrays; the estimator classes in `astroclustermass.estimators.scaling`
and the search functions in ``_scaling_search`` wrap it.

The model (Ho et al. 2023, Sec. 3): for observables ``s = ln S`` and
``mu = ln(M / M_p)``, ``s | mu ~ N(pi + alpha mu, C)`` and a local mass function
``dn/dmu ∝ exp(-beta mu)``. Bayes' theorem gives a Gaussian posterior::

    p(mu | s) ∝ exp(-½ (s - pi - alpha mu)ᵀ C⁻¹ (s - pi - alpha mu) - beta mu)
    var(mu | s)  = (alphaᵀ C⁻¹ alpha)⁻¹                          (Eq. 7, corrected)
    <mu | s>     = var · [alphaᵀ C⁻¹ (s - pi) - beta]             (Eq. 6)

For one observable this is Eq. 11, ``(s - pi)/alpha - beta sigma²``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ..exceptions import AstroClusterMassWarning, InputError

__all__ = [
    "LN10",
    "MAX_SNAPSHOTS",
    "redshift_bin_edges",
    "assign_bins",
    "fit_relations",
    "fit_beta",
    "interpolate_in_z",
    "posterior",
    "log_observables",
]

LN10 = float(np.log(10.0))
#: 'auto' treats a catalogue with at most this many distinct redshifts as snapshots.
MAX_SNAPSHOTS = 20
#: 'auto' makes at most this many quantile bins for continuous redshifts.
MAX_AUTO_BINS = 10


def _merge_small_bins(z: np.ndarray, inner: np.ndarray, min_per_bin: int) -> np.ndarray:
    """Drop inner edges until every bin holds at least ``min_per_bin`` clusters.

    Bins are closed greedily from low to high redshift; a short last bin joins
    its neighbour. With fewer than ``min_per_bin`` clusters in total, one bin.
    """
    if inner.size == 0:
        return inner
    counts = np.bincount(np.searchsorted(inner, z, side="right"), minlength=inner.size + 1)
    kept: list[float] = []
    acc = 0
    for b, c in enumerate(counts):
        acc += int(c)
        if acc >= min_per_bin and b < inner.size:
            kept.append(float(inner[b]))
            acc = 0
    if kept and acc < min_per_bin:  # the tail is short: merge it into the previous bin
        kept.pop()
    return np.asarray(kept, dtype=float)


def redshift_bin_edges(z: np.ndarray, redshift_bins: Any, min_per_bin: int) -> np.ndarray:
    """Bin edges ``[z_min, inner..., z_max]`` for the redshift binning option.

    Parameters
    ----------
    z : ndarray
        Redshifts of the fitting sample.
    redshift_bins : 'auto', int or sequence of float
        ``'auto'``: one bin per distinct redshift when there are at most
        20 (snapshot catalogues), else ``min(10, n // max(min_per_bin, 30))``
        equal-count bins. An int: that many equal-count (quantile) bins.
        A sequence: explicit edges; clusters outside them join the nearest bin.
    min_per_bin : int
        Bins with fewer clusters are merged with a neighbour.

    Returns
    -------
    edges : ndarray
        Sorted edges; clusters are assigned with `assign_bins`.

    Examples
    --------
    >>> z = np.repeat([0.1, 0.2, 0.3], 40)
    >>> redshift_bin_edges(z, "auto", 30).round(3).tolist()
    [0.1, 0.15, 0.25, 0.3]
    >>> redshift_bin_edges(z, "auto", 50).round(3).tolist()  # 40 per snapshot: merged
    [0.1, 0.3]
    """
    z = np.asarray(z, dtype=float)
    lo, hi = float(z.min()), float(z.max())
    if isinstance(redshift_bins, str):
        if redshift_bins != "auto":
            raise InputError(
                f"redshift_bins must be 'auto', an int or edges; got {redshift_bins!r}"
            )
        distinct = np.unique(np.round(z, 6))
        if distinct.size <= MAX_SNAPSHOTS:
            inner = 0.5 * (distinct[1:] + distinct[:-1])
        else:
            nb = max(1, min(MAX_AUTO_BINS, z.size // max(min_per_bin, 30)))
            inner = np.quantile(z, np.arange(1, nb) / nb)
    elif isinstance(redshift_bins, int | np.integer) and not isinstance(redshift_bins, bool):
        if redshift_bins < 1:
            raise InputError(f"redshift_bins must be >= 1; got {redshift_bins}")
        inner = np.quantile(z, np.arange(1, int(redshift_bins)) / int(redshift_bins))
    else:
        edges = np.asarray(redshift_bins, dtype=float).ravel()
        if edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise InputError(
                f"explicit redshift_bins must be >= 2 finite, increasing edges; got {edges.tolist()}"
            )
        inner = edges[1:-1]
    inner = np.unique(inner[(inner > lo) & (inner < hi)])
    inner = _merge_small_bins(z, inner, min_per_bin)
    return np.concatenate([[lo], inner, [hi]])


def assign_bins(z: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each redshift; values beyond the outer edges join the outer bins.

    Examples
    --------
    >>> assign_bins(np.array([0.0, 0.12, 0.2, 0.9]), np.array([0.1, 0.15, 0.3])).tolist()
    [0, 0, 1, 1]
    """
    return np.searchsorted(np.asarray(edges)[1:-1], np.asarray(z, dtype=float), side="right")


def log_observables(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Natural log of observables with a mask of usable (finite, positive) entries.

    Examples
    --------
    >>> s, ok = log_observables(np.array([[1.0, 0.0], [np.e, 2.0]]))
    >>> ok.tolist(), float(s[1, 0])
    ([[True, False], [True, True]], 1.0)
    """
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0)
    s = np.full(values.shape, np.nan)
    s[ok] = np.log(values[ok])
    return s, ok


def fit_relations(
    mu: np.ndarray, s: np.ndarray, bins: np.ndarray, n_bins: int, names: list[str]
) -> dict[str, np.ndarray]:
    """Per-bin OLS of each ``s_i`` on ``mu`` and the residual covariance (Eq. 3-4).

    Parameters
    ----------
    mu : ndarray, shape (n,)
        ln(M / M_p) of the clusters.
    s : ndarray, shape (n, k)
        ln S of each observable (all finite).
    bins : ndarray of int, shape (n,)
        Bin of each cluster, ``0 <= bins < n_bins``.
    n_bins : int
        Number of bins.
    names : list of str
        Observable names, used in error messages.

    Returns
    -------
    params : dict
        ``pi`` (n_bins, k), ``alpha`` (n_bins, k), ``cov`` (n_bins, k, k; ddof=1 as
        in Eq. 4 and the reference code), ``n`` (n_bins,).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.uniform(-1, 1, 5000)
    >>> s = 1 + 2 * mu + rng.normal(0, 0.1, 5000)
    >>> p = fit_relations(mu, s[:, None], np.zeros(5000, int), 1, ["x"])
    >>> p["pi"].round(2).tolist(), p["alpha"].round(2).tolist(), p["cov"].round(2).tolist()
    ([[1.0]], [[2.0]], [[[0.01]]])
    """
    k = s.shape[1]
    pi = np.zeros((n_bins, k))
    alpha = np.zeros((n_bins, k))
    cov = np.zeros((n_bins, k, k))
    n = np.zeros(n_bins, dtype=np.int64)
    for b in range(n_bins):
        sel = bins == b
        nb = int(sel.sum())
        if nb < k + 2:
            raise InputError(
                f"redshift bin {b} holds {nb} usable clusters, too few to fit {k} observable(s) "
                f"({', '.join(names)}); use fewer redshift bins or a larger sample"
            )
        m, sb = mu[sel], s[sel]
        dm = m - m.mean()
        var_m = float(dm @ dm)
        if var_m <= 0:
            raise InputError(f"all clusters in redshift bin {b} have the same mass; cannot fit")
        alpha[b] = dm @ (sb - sb.mean(axis=0)) / var_m
        pi[b] = sb.mean(axis=0) - alpha[b] * m.mean()
        resid = sb - pi[b] - np.outer(m, alpha[b])
        cov[b] = resid.T @ resid / (nb - 1)
        n[b] = nb
        try:
            np.linalg.cholesky(cov[b])
        except np.linalg.LinAlgError as err:
            raise InputError(
                f"the residual covariance of {names} in redshift bin {b} is singular (an "
                "observable is constant or a combination of the others); drop one of them"
            ) from err
    return {"pi": pi, "alpha": alpha, "cov": cov, "n": n}


def _mean_truncated_exponential(beta: float, width: float) -> float:
    """Mean of x on [0, width] under density ∝ exp(-beta x)."""
    t = beta * width
    if abs(t) < 1e-6:
        return width / 2.0 - beta * width**2 / 12.0
    return 1.0 / beta - width / np.expm1(t)


def fit_beta(mu: np.ndarray) -> float:
    """Maximum-likelihood slope of a local mass function ``dn/dmu ∝ exp(-beta mu)``.

    The masses are modelled as drawn from an exponential truncated to the
    sample's own range ``[min mu, max mu]``; the ML estimate solves
    ``<mu>_beta = mean(mu)`` (Rozo et al. 2014; Ho et al. 2023 Eq. 5).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mu = -np.log(rng.random(20000)) / 2.0  # exponential, beta = 2
    >>> round(fit_beta(mu), 1)
    2.0
    """
    mu = np.asarray(mu, dtype=float)
    lo, hi = float(mu.min()), float(mu.max())
    width = hi - lo
    if width <= 0:
        raise InputError("cannot fit the mass-function slope beta: all masses are equal")
    target = float(mu.mean()) - lo
    bound = 60.0 / width

    def f(b: float) -> float:
        return _mean_truncated_exponential(b, width) - target

    fa, fb = f(-bound), f(bound)
    if fa * fb > 0:  # masses piled at an edge: the slope is at the bracket's limit
        warnings.warn(
            "the mass distribution is too concentrated at one end to fit a local mass-function "
            f"slope; using beta = {bound if fb > 0 else -bound:.3g}",
            AstroClusterMassWarning,
            stacklevel=3,
        )
        return bound if fb > 0 else -bound
    return float(brentq(f, -bound, bound, xtol=1e-10))


def interpolate_in_z(z: np.ndarray, centres: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Linear interpolation of per-bin parameters to each redshift (held constant beyond).

    Parameters
    ----------
    z : ndarray, shape (n,)
    centres : ndarray, shape (n_bins,), increasing
    table : ndarray, shape (n_bins, ...)

    Returns
    -------
    values : ndarray, shape (n, ...)

    Examples
    --------
    >>> interpolate_in_z(np.array([0.0, 0.15, 0.5]), np.array([0.1, 0.2]),
    ...                  np.array([1.0, 2.0])).round(6).tolist()
    [1.0, 1.5, 2.0]
    """
    z = np.asarray(z, dtype=float)
    nb = centres.size
    if nb == 1:
        return np.broadcast_to(table[0], (z.size, *table.shape[1:])).copy()
    j = np.clip(np.searchsorted(centres, z, side="right") - 1, 0, nb - 2)
    w = (z - centres[j]) / (centres[j + 1] - centres[j])
    w = np.clip(w, 0.0, 1.0)
    w = w.reshape((-1,) + (1,) * (table.ndim - 1))
    return (1.0 - w) * table[j] + w * table[j + 1]


def posterior(
    s: np.ndarray,
    usable: np.ndarray,
    pi: np.ndarray,
    alpha: np.ndarray,
    cov: np.ndarray,
    beta: np.ndarray,
    weights: bool = False,
) -> tuple[np.ndarray, ...]:
    """Posterior mean and variance of ``mu`` per cluster (Eq. 6-7, corrected).

    Observables that are not ``usable`` for a cluster (non-positive or
    non-finite) carry no information: the posterior uses the others.
    Clusters with no usable observable get NaN.

    Parameters
    ----------
    s : ndarray, shape (n, k)
        ln S (any value where not usable).
    usable : ndarray of bool, shape (n, k)
    pi, alpha : ndarray, shape (n, k)
        Per-cluster (interpolated) intercepts and slopes.
    cov : ndarray, shape (n, k, k)
        Per-cluster residual covariance.
    beta : ndarray, shape (n,)
        Local mass-function slope.
    weights : bool
        Also return ``d<mu|s>/ds``: the mean is linear in ``s`` with weights
        ``var · C⁻¹ alpha`` (0 for observables that are not usable).

    Returns
    -------
    mean, var : ndarray, shape (n,)
        ``<mu|s>`` and ``var(mu|s)``.
    w : ndarray, shape (n, k)
        With ``weights=True``: ``d<mu|s>/d s_j`` (``1/alpha`` for one observable).

    Examples
    --------
    >>> m, v = posterior(np.array([[2.0]]), np.array([[True]]), np.array([[0.0]]),
    ...                  np.array([[1.0]]), np.array([[[0.25]]]), np.array([1.0]))
    >>> float(m[0]), float(v[0])
    (1.75, 0.25)
    """
    n, k = s.shape
    r = np.where(usable, s - pi, 0.0)
    a = np.where(usable, alpha, 0.0)
    both = usable[:, :, None] & usable[:, None, :]
    c = np.where(both, cov, 0.0)
    eye = np.broadcast_to(np.eye(k, dtype=bool), (n, k, k))
    c = np.where(eye & ~both, 1.0, c)  # unit variance, no correlation, zero weight
    rhs = np.stack([a, r], axis=-1)  # (n, k, 2)
    sol = np.linalg.solve(c, rhs)  # C^-1 alpha, C^-1 r
    precision = np.einsum("nk,nk->n", a, sol[..., 0])
    info = np.einsum("nk,nk->n", a, sol[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(precision > 0, 1.0 / precision, np.nan)
    mean = var * (info - beta)
    none = ~usable.any(axis=1)
    mean[none] = np.nan
    var[none] = np.nan
    if weights:
        return mean, var, np.where(usable, var[:, None] * sol[..., 0], 0.0)
    return mean, var
