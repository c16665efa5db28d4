"""Predictive scatter of scalar mass proxies and the exhaustive search of Ho+23 Table 3.

The scatter of a set of observables at one redshift is the Eq. 7 predictive
standard deviation of ln M, ``sigma = (alphaᵀ C⁻¹ alpha)^(-1/2)``; for a single
observable ``sqrt(C_ii)/|alpha_i|``. Over redshift bins the variances are
averaged (weighted by the number of clusters per bin, so the number is the
expected squared error per cluster of the sample; ``z_weighting='bins'`` gives
the unweighted average of the reference code) and the square root taken.
Singles and combinations use the same rule (the reference code averaged σ,
not σ², for singles). Scatter in per cent is ``100 sigma_ln``, in dex
``sigma_ln / ln 10``, as in Table 3.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils import as_finite_array
from ..exceptions import InputError
from ._scaling_core import LN10, assign_bins, fit_relations, log_observables, redshift_bin_edges
from .base import get_observable

__all__ = ["search_combinations", "scatter_table", "residual_correlation"]

#: Refuse searches over more subsets than this (ask for a smaller ``max_size``).
MAX_SUBSETS = 2_000_000


def _fit_per_bin(
    sample: Any,
    observables: list[str],
    redshift_bins: Any,
    min_per_bin: int,
    pivot_log10_mass: float,
) -> dict[str, np.ndarray]:
    """Fit pi, alpha, C per redshift bin on the clusters where every observable is usable."""
    names = list(observables)
    if not names:
        raise InputError("give at least one observable")
    if len(set(names)) != len(names):
        raise InputError(f"observables lists a column twice: {names}")
    cat = sample.catalog
    if "log10_m500c" not in cat.colnames:
        raise InputError("the sample has no true masses (catalogue column 'log10_m500c')")
    log_m = as_finite_array(cat["log10_m500c"], "catalogue column 'log10_m500c'")
    z = as_finite_array(cat["redshift"], "catalogue column 'redshift'")
    s, ok = log_observables(np.column_stack([get_observable(sample, c) for c in names]))
    rows = ok.all(axis=1)
    if rows.sum() < len(names) + 2:
        raise InputError(
            f"only {int(rows.sum())} clusters have positive, finite values of all of {names}"
        )
    mu = LN10 * (log_m[rows] - pivot_log10_mass)
    z, s = z[rows], s[rows]
    edges = redshift_bin_edges(z, redshift_bins, min_per_bin)
    bins = assign_bins(z, edges)
    params = fit_relations(mu, s, bins, edges.size - 1, names)
    params["z"] = np.array([np.median(z[bins == b]) for b in range(edges.size - 1)])
    params["n_used"] = int(rows.sum())
    return params


def _bin_weights(n: np.ndarray, z_weighting: str) -> np.ndarray:
    if z_weighting == "clusters":
        return n / n.sum()
    if z_weighting == "bins":
        return np.full(n.size, 1.0 / n.size)
    raise InputError(f"z_weighting must be 'clusters' or 'bins'; got {z_weighting!r}")


def _subset_variance(alpha: np.ndarray, cov: np.ndarray, subsets: np.ndarray) -> np.ndarray:
    """Eq. 7 variance per bin for many subsets: shape (n_subsets, n_bins)."""
    a = alpha[:, subsets]  # (nb, m, k)
    c = cov[:, subsets[:, :, None], subsets[:, None, :]]  # (nb, m, k, k)
    sol = np.linalg.solve(c, a[..., None])[..., 0]
    return (1.0 / np.einsum("bmk,bmk->bm", a, sol)).T


def search_combinations(
    sample: Any,
    observables: list[str] | tuple[str, ...],
    max_size: int | None = None,
    redshift_bins: Any = "auto",
    *,
    min_size: int = 1,
    keep: str = "best",
    pivot_log10_mass: float = 14.0,
    min_per_bin: int = 30,
    z_weighting: str = "clusters",
) -> Table:
    """Exhaustive search for the lowest-scatter set of observables (Ho+23 Table 3).

    For every subset of ``observables`` with ``min_size <= size <= max_size``
    the Eq. 7 predictive scatter is computed from one fit of ``pi``,
    ``alpha`` and ``C`` per redshift bin (on the clusters where *all* the
    observables are positive and finite, so every subset sees the same
    clusters); see the module notes for the average over redshift.

    Parameters
    ----------
    sample : `~astroclustermass.ClusterSample`
        Clusters with true masses.
    observables : sequence of str
        Candidate columns of ``sample.observables`` or the catalogue. The paper
        searched the ideal and the realistic sets separately.
    max_size : int, optional
        Largest subset size (default: all).
    redshift_bins : 'auto', int or sequence
        As for `~astroclustermass.estimators.scaling.MultiPropertyEstimator`.
    min_size : int
        Smallest subset size.
    keep : {'best', 'all'}
        One row per size with the lowest scatter (Table 3), or every subset
        sorted by size then scatter.
    pivot_log10_mass, min_per_bin
        As for the estimators.
    z_weighting : {'clusters', 'bins'}
        Weight of each redshift bin in the average of σ².

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``size``, ``observables`` (comma-separated), ``scatter_ln``,
        ``scatter_dex``, ``scatter_percent``; ``meta`` holds the number of
        clusters and redshift bins used.

    Examples
    --------
    >>> from astropy.table import Table
    >>> rng = np.random.default_rng(1)
    >>> mu = rng.uniform(-1, 2, 600)
    >>> e = rng.multivariate_normal([0, 0], [[0.04, -0.03], [-0.03, 0.09]], 600)
    >>> class Sample:  # anything with a catalogue and observables works
    ...     catalog = Table({"log10_m500c": 14 + mu / np.log(10), "redshift": np.zeros(600)})
    ...     observables = Table({"a": np.exp(mu + e[:, 0]), "b": np.exp(mu + e[:, 1])})
    >>> t = search_combinations(Sample(), ["a", "b"])
    >>> t["observables"].tolist(), t["scatter_ln"].round(1).tolist()  # 0.2 alone, 0.12 jointly
    (['a', 'a, b'], [0.2, 0.1])
    """
    names = list(observables)
    p = _fit_per_bin(sample, names, redshift_bins, min_per_bin, pivot_log10_mass)
    w = _bin_weights(p["n"], z_weighting)
    k = len(names)
    max_size = k if max_size is None else int(max_size)
    if not 1 <= min_size <= max_size <= k:
        raise InputError(
            f"need 1 <= min_size <= max_size <= {k}; got min_size={min_size}, max_size={max_size}"
        )
    if keep not in ("best", "all"):
        raise InputError(f"keep must be 'best' or 'all'; got {keep!r}")
    from math import comb

    total = sum(comb(k, r) for r in range(min_size, max_size + 1))
    if total > MAX_SUBSETS:
        raise InputError(
            f"{total} subsets of {k} observables is too many to search; lower max_size"
        )
    rows: list[tuple[int, str, float]] = []
    for size in range(min_size, max_size + 1):
        subsets = np.array(list(itertools.combinations(range(k), size)), dtype=np.intp)
        var = _subset_variance(p["alpha"], p["cov"], subsets) @ w
        sig = np.sqrt(var)
        order = np.argsort(sig, kind="stable")
        for j in order[:1] if keep == "best" else order:
            rows.append((size, ", ".join(names[i] for i in subsets[j]), float(sig[j])))
    t = Table(rows=rows, names=("size", "observables", "scatter_ln"), dtype=(int, str, float))
    t["scatter_dex"] = t["scatter_ln"] / LN10
    t["scatter_percent"] = 100.0 * t["scatter_ln"]
    t.meta.update(n_clusters=p["n_used"], n_redshift_bins=int(p["n"].size))
    return t


def scatter_table(
    sample: Any,
    observables: list[str] | tuple[str, ...],
    redshift_bins: Any = "auto",
    *,
    pivot_log10_mass: float = 14.0,
    min_per_bin: int = 30,
    z_weighting: str = "clusters",
) -> Table:
    """Eq. 7 mass scatter of each single observable (the upper rows of Ho+23 Table 3).

    Each observable is fitted on the clusters where it is positive and finite.

    Parameters
    ----------
    sample : `~astroclustermass.ClusterSample`
    observables : sequence of str
    redshift_bins, pivot_log10_mass, min_per_bin, z_weighting
        As for `search_combinations`.

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``observable``, ``n``, ``alpha`` (bin-weighted mean slope),
        ``sigma_ln_s`` (scatter of ln S at fixed mass), ``scatter_ln``,
        ``scatter_dex``, ``scatter_percent``.

    Examples
    --------
    >>> from astropy.table import Table
    >>> rng = np.random.default_rng(2)
    >>> mu = rng.uniform(-1, 2, 2000)
    >>> class Sample:
    ...     catalog = Table({"log10_m500c": 14 + mu / np.log(10), "redshift": np.zeros(2000),
    ...                      "T": np.exp(0.5 * mu + rng.normal(0, 0.05, 2000))})
    ...     observables = None
    >>> t = scatter_table(Sample(), ["T"])
    >>> round(float(t["scatter_ln"][0]), 2)  # 0.05 / 0.5
    0.1
    """
    rows = []
    for name in observables:
        p = _fit_per_bin(sample, [name], redshift_bins, min_per_bin, pivot_log10_mass)
        w = _bin_weights(p["n"], z_weighting)
        a, c = p["alpha"][:, 0], p["cov"][:, 0, 0]
        var = float(np.sum(w * c / a**2))
        rows.append((name, p["n_used"], float(w @ a), float(np.sqrt(w @ c)), np.sqrt(var)))
    t = Table(
        rows=rows,
        names=("observable", "n", "alpha", "sigma_ln_s", "scatter_ln"),
        dtype=(str, int, float, float, float),
    )
    t["scatter_dex"] = t["scatter_ln"] / LN10
    t["scatter_percent"] = 100.0 * t["scatter_ln"]
    return t


def residual_correlation(
    sample: Any,
    observables: list[str] | tuple[str, ...],
    redshift_bins: Any = "auto",
    *,
    redshift: float | None = None,
    pivot_log10_mass: float = 14.0,
    min_per_bin: int = 30,
) -> np.ndarray:
    """Correlation of the residuals of ln S at fixed mass, ``C_ij / (σ_i σ_j)`` (Ho+23 Fig. 3).

    Parameters
    ----------
    sample : `~astroclustermass.ClusterSample`
    observables : sequence of str
        Order of the rows and columns.
    redshift_bins, pivot_log10_mass, min_per_bin
        As for `search_combinations`.
    redshift : float, optional
        Use the redshift bin whose centre is nearest (the paper shows
        z = 0.17); by default the cluster-weighted mean over bins.

    Returns
    -------
    corr : ndarray, shape (k, k)

    Examples
    --------
    >>> from astropy.table import Table
    >>> rng = np.random.default_rng(3)
    >>> mu = rng.uniform(-1, 2, 3000)
    >>> e = rng.multivariate_normal([0, 0], [[1, -0.5], [-0.5, 1]], 3000) * 0.1
    >>> class Sample:
    ...     catalog = Table({"log10_m500c": 14 + mu / np.log(10), "redshift": np.zeros(3000)})
    ...     observables = Table({"a": np.exp(mu + e[:, 0]), "b": np.exp(2 * mu + e[:, 1])})
    >>> round(float(residual_correlation(Sample(), ["a", "b"])[0, 1]), 1)
    -0.5
    """
    p = _fit_per_bin(sample, list(observables), redshift_bins, min_per_bin, pivot_log10_mass)
    sd = np.sqrt(np.einsum("bii->bi", p["cov"]))
    corr = p["cov"] / (sd[:, :, None] * sd[:, None, :])
    if redshift is not None:
        return corr[int(np.argmin(np.abs(p["z"] - float(redshift))))]
    return np.einsum("b,bij->ij", p["n"] / p["n"].sum(), corr)
