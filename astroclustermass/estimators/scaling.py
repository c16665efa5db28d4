r"""Scaling-relation mass estimators: the scalar-proxy baseline of Ho et al. (2023), Sec. 3.

Both estimators fit, per redshift bin, the multi-property model of Evrard et
al. (2014): the logs ``s = ln S`` of one or more observables scale linearly with
``mu = ln(M500c / M_p)`` (Eq. 3), ``M_p = 10^14 h⁻¹ M☉``, with correlated
log-normal scatter of covariance ``C`` (Eq. 4), and the local mass function is
``dn/dmu ∝ exp(-beta mu)`` (Eq. 5). A mass is the posterior mean (Eq. 6)

.. math::

    \langle\mu|s\rangle = \sigma^2_{\mu|s}\,[\alpha^T C^{-1}(s - \pi) - \beta],
    \qquad \sigma^2_{\mu|s} = (\alpha^T C^{-1} \alpha)^{-1},

with Eq. 7 written as printed corrected (the paper has ``alphaᵀ C alpha``). For
one observable this is Eq. 11, ``(s - pi)/alpha - beta sigma²``. Each cluster's
1σ is ``sigma_{mu|s} / ln 10`` dex.

* ``power_law`` (`PowerLawEstimator`): one observable.
* ``multi_property`` (`MultiPropertyEstimator`): any set of observables.

Observables are read from ``sample.observables`` (realistic: ``n_phot``,
``n_phot_500c``, ``n_gal``, ``sigma_v``, ...) or from the catalogue (ideal:
``T``, ``L_X``, ``M_gas``, ``M_star``, ``sigma_v_true``).

Examples
--------
>>> from astroclustermass.estimators import MassEstimator
>>> est = MassEstimator.from_name("multi_property", observables=("n_phot_500c", "n_gal"))
>>> est.input_spec()["observables"]
['n_phot_500c', 'n_gal']
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from astropy.table import Table

from .._utils import as_finite_array
from ..exceptions import AstroClusterMassWarning, InputError
from ._params import Interval, Options
from ._scaling_core import (
    LN10,
    assign_bins,
    fit_beta,
    fit_relations,
    interpolate_in_z,
    log_observables,
    posterior,
    redshift_bin_edges,
)
from ._scaling_search import residual_correlation, scatter_table, search_combinations
from .base import InputSpec, MassEstimator, check_is_fitted, get_observable

__all__ = [
    "PowerLawEstimator",
    "MultiPropertyEstimator",
    "search_combinations",
    "scatter_table",
    "residual_correlation",
]

_BIN_CONSTRAINTS = [Options({"auto"}), Interval(int, 1, None), list, tuple, np.ndarray]


#: Hyper-parameter constraints shared by both scaling estimators.
_COMMON_CONSTRAINTS: dict[str, list] = {
    "redshift_bins": _BIN_CONSTRAINTS,
    "pivot_log10_mass": [Interval(float, 10, 17)],
    "beta": [Options({"fit"}), Interval(float, None, None)],
    "min_per_bin": [Interval(int, 2, None)],
}


class _ScalingEstimator(MassEstimator):
    """Shared fit/predict of the scaling-relation estimators (not registered)."""

    provides_sigma: ClassVar[bool] = True

    def _observable_names(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def input_spec(self) -> InputSpec:
        """Scalar observables and redshift (see `InputSpec`).

        Examples
        --------
        >>> PowerLawEstimator(observable="T").input_spec()["redshift"]
        True
        """
        return InputSpec(observables=self._observable_names(), redshift=True)

    # --------------------------------------------------------------- fitting
    def _fit(self, sample: Any, validation: Any) -> None:
        names = self._observable_names()
        cat = sample.catalog
        log_m = as_finite_array(cat["log10_m500c"], "catalogue column 'log10_m500c'")
        z = as_finite_array(cat["redshift"], "catalogue column 'redshift'")
        raw = np.column_stack([get_observable(sample, c) for c in names])
        s, ok = log_observables(raw)
        rows = ok.all(axis=1)
        if not rows.all():
            bad = {c: int((~ok[:, i]).sum()) for i, c in enumerate(names) if (~ok[:, i]).any()}
            warnings.warn(
                f"{int((~rows).sum())} of {len(rows)} training clusters have a non-positive or "
                f"non-finite observable ({bad}); ln S is undefined for them and they are left "
                "out of the fit",
                AstroClusterMassWarning,
                stacklevel=3,
            )
        mu = LN10 * (log_m[rows] - float(self.pivot_log10_mass))
        z, s = z[rows], s[rows]
        if mu.size < len(names) + 2:
            raise InputError(
                f"only {mu.size} training clusters have usable {names}; at least "
                f"{len(names) + 2} are needed"
            )
        edges = redshift_bin_edges(z, self.redshift_bins, int(self.min_per_bin))
        bins = assign_bins(z, edges)
        nb = edges.size - 1
        params = fit_relations(mu, s, bins, nb, names)
        centres = np.array([np.median(z[bins == b]) for b in range(nb)])
        if isinstance(self.beta, str):
            beta = np.array([fit_beta(mu[bins == b]) for b in range(nb)])
        else:
            beta = np.full(nb, float(self.beta))
        self.observables_ = list(names)
        self.bin_edges_ = edges
        self.z_centres_ = centres
        self.pi_ = params["pi"]
        self.alpha_ = params["alpha"]
        self.cov_ = params["cov"]
        self.n_per_bin_ = params["n"]
        self.beta_ = beta

    # ------------------------------------------------------------ prediction
    def _posterior(self, sample: Any, weights: bool = False) -> tuple[np.ndarray, ...]:
        """``<mu|s>`` and ``var(mu|s)`` per cluster (and ``d<mu|s>/d ln S_j`` with ``weights``)."""
        z = as_finite_array(sample.catalog["redshift"], "catalogue column 'redshift'")
        raw = np.column_stack([get_observable(sample, c) for c in self.observables_])
        s, ok = log_observables(raw)
        pi = interpolate_in_z(z, self.z_centres_, self.pi_)
        alpha = interpolate_in_z(z, self.z_centres_, self.alpha_)
        cov = interpolate_in_z(z, self.z_centres_, self.cov_)
        beta = interpolate_in_z(z, self.z_centres_, self.beta_)
        partial = ~ok.all(axis=1)
        if partial.any():
            none = int((~ok.any(axis=1)).sum())
            warnings.warn(
                f"{int(partial.sum())} of {len(z)} clusters have a non-positive or non-finite "
                f"observable among {self.observables_}; it is ignored (the posterior uses the "
                f"others), and {none} cluster(s) with no usable observable get NaN",
                AstroClusterMassWarning,
                stacklevel=4,
            )
        return posterior(s, ok, pi, alpha, cov, beta, weights=weights)

    def _predict(self, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        mean, var = self._posterior(sample)
        log10_m = float(self.pivot_log10_mass) + mean / LN10
        return log10_m, np.sqrt(var) / LN10

    def relation_table(self) -> Table:
        """The fitted relation per redshift bin.

        Returns
        -------
        table : `~astropy.table.Table`
            One row per bin: ``z`` (bin centre), ``z_lo``, ``z_hi``, ``n``,
            ``beta``, ``sigma_ln_m`` (Eq. 7 scatter of ln M), ``sigma_dex``, and
            for each observable ``pi_<name>``, ``alpha_<name>``,
            ``sigma_<name>`` (√C_ii, scatter of ln S at fixed mass).

        Examples
        --------
        >>> from astroclustermass.sample import ClusterSample
        >>> rng = np.random.default_rng(0)
        >>> logm = rng.uniform(13.5, 15.0, 300)
        >>> s = ClusterSample.from_arrays(
        ...     {"redshift": np.repeat([0.1, 0.2], 150), "log10_m500c": logm},
        ...     images={"bolometric": np.zeros((300, 1, 2, 2), np.int32)},
        ...     observables={"n_gal": 10 ** (logm - 12.5 + rng.normal(0, 0.1, 300))})
        >>> t = PowerLawEstimator(observable="n_gal").fit(s).relation_table()
        >>> t["z"].tolist(), t["alpha_n_gal"].round(1).tolist()
        ([0.1, 0.2], [1.0, 1.0])
        """
        check_is_fitted(self)
        t = Table()
        t["z"] = self.z_centres_
        t["z_lo"] = self.bin_edges_[:-1]
        t["z_hi"] = self.bin_edges_[1:]
        t["n"] = self.n_per_bin_
        t["beta"] = self.beta_
        prec = np.einsum("bi,bij,bj->b", self.alpha_, np.linalg.inv(self.cov_), self.alpha_)
        t["sigma_ln_m"] = 1.0 / np.sqrt(prec)
        t["sigma_dex"] = t["sigma_ln_m"] / LN10
        for i, c in enumerate(self.observables_):
            t[f"pi_{c}"] = self.pi_[:, i]
            t[f"alpha_{c}"] = self.alpha_[:, i]
            t[f"sigma_{c}"] = np.sqrt(self.cov_[:, i, i])
        t.meta["pivot_log10_mass"] = float(self.pivot_log10_mass)
        return t

    # ------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays = {
            "bin_edges": self.bin_edges_,
            "z_centres": self.z_centres_,
            "pi": self.pi_,
            "alpha": self.alpha_,
            "cov": self.cov_,
            "beta": self.beta_,
            "n_per_bin": self.n_per_bin_,
        }
        return {"observables": list(self.observables_)}, arrays

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        names = list(state["observables"])
        nb, k = arrays["pi"].shape
        if (
            k != len(names)
            or arrays["cov"].shape != (nb, k, k)
            or arrays["alpha"].shape != (nb, k)
            or arrays["z_centres"].shape != (nb,)
            or arrays["bin_edges"].shape != (nb + 1,)
            or arrays["beta"].shape != (nb,)
        ):
            raise ValueError("array shapes do not match the saved observables")
        self.observables_ = names
        self.bin_edges_ = np.asarray(arrays["bin_edges"], float)
        self.z_centres_ = np.asarray(arrays["z_centres"], float)
        self.pi_ = np.asarray(arrays["pi"], float)
        self.alpha_ = np.asarray(arrays["alpha"], float)
        self.cov_ = np.asarray(arrays["cov"], float)
        self.beta_ = np.asarray(arrays["beta"], float)
        self.n_per_bin_ = np.asarray(arrays["n_per_bin"], np.int64)


class MultiPropertyEstimator(_ScalingEstimator):
    """Several scalar observables with correlated scatter (Evrard et al. 2014; Ho+23 Eq. 3-7).

    Per redshift bin, each ``ln S_i`` is regressed on ``mu = ln(M500c/M_p)`` by
    ordinary least squares (intercept ``pi_i``, slope ``alpha_i``); the
    residuals give the covariance ``C`` (Eq. 4, ddof = 1); the local slope of
    the mass function ``beta`` (Eq. 5) is fitted from the training sample's own
    masses or given. The prediction is the Gaussian posterior of ``mu`` given
    all observables (Eq. 6-7 corrected), so its σ is per cluster.

    Parameters
    ----------
    observables : tuple of str
        Column names in ``sample.observables`` or the catalogue.
    redshift_bins : 'auto', int or sequence of float
        ``'auto'`` (default): one bin per distinct redshift if the sample has at
        most 20 (snapshot catalogues, as in the paper), otherwise equal-count
        bins of at least ``max(min_per_bin, 30)`` clusters (at most 10). An
        int: that many equal-count bins. A sequence: explicit bin edges
        (clusters outside join the outer bins). Between bin centres the
        parameters ``pi``, ``alpha``, ``C`` and ``beta`` are interpolated
        linearly in z; beyond the outer centres they are held constant (the
        base class warns with `OutOfRangeWarning` outside the trained
        redshift range).
    pivot_log10_mass : float
        log10 of the pivot mass ``M_p`` in h⁻¹ M☉ (paper: 14).
    beta : 'fit' or float
        ``'fit'`` (default): per bin, the maximum-likelihood slope of
        ``dn/dmu ∝ exp(-beta mu)`` truncated to the bin's mass range (see
        Notes). A number: that slope everywhere; ``0`` reproduces the reference
        code, which dropped the mass-function term.
    min_per_bin : int
        Redshift bins with fewer clusters are merged with a neighbour.

    Notes
    -----
    *The mass-function term.* ``-beta sigma²`` is the Eddington correction: at
    a given observable there are more low-mass clusters scattered up than
    high-mass ones scattered down, so ``<mu|s>`` lies below the naive inversion
    ``(s - pi)/alpha``. The posterior mean is unbiased *at fixed observable*
    (binned by predicted mass, or for an observable-selected survey sample).
    Binned by **true** mass, every cluster's residual has mean ``-beta sigma²``
    instead of 0 (the naive inversion is the one unbiased at fixed true mass);
    the scatter (std of residuals) is the same for both. Pass ``beta=0`` for
    the naive inversion.

    *Fitting beta.* The training masses of one bin are treated as draws from
    ``exp(-beta mu)`` on ``[min mu, max mu]``, and ``beta`` solves
    ``<mu>_beta = mean(mu)``. For a volume-limited simulation this is the
    average logarithmic slope of the mass function over the sample's mass
    range rather than its slope exactly at the pivot.

    *Unusable observables.* ln S needs S > 0. Training clusters with a zero,
    negative or non-finite value of any observable are left out of the fit
    (with a warning). At prediction such an observable is ignored for that
    cluster (the posterior of the others is exact under the model), and a
    cluster without any usable observable gets NaN (with a warning).

    Examples
    --------
    >>> est = MultiPropertyEstimator(observables=("T", "M_gas"))
    >>> est.get_params()["beta"]
    'fit'
    """

    name: ClassVar[str] = "multi_property"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "observables": [tuple, list],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        observables: tuple[str, ...] = ("n_phot_500c", "n_gal"),
        redshift_bins: Any = "auto",
        pivot_log10_mass: float = 14.0,
        beta: str | float = "fit",
        min_per_bin: int = 30,
    ) -> None:
        self.observables = observables
        self.redshift_bins = redshift_bins
        self.pivot_log10_mass = pivot_log10_mass
        self.beta = beta
        self.min_per_bin = min_per_bin

    def _observable_names(self) -> list[str]:
        names = [self.observables] if isinstance(self.observables, str) else self.observables
        names = list(names)
        if not names or not all(isinstance(c, str) for c in names):
            raise InputError(
                f"observables must be a non-empty tuple of column names; got {self.observables!r}"
            )
        if len(set(names)) != len(names):
            raise InputError(f"observables lists a column twice: {names}")
        return names


class PowerLawEstimator(_ScalingEstimator):
    """One scalar observable, ``ln S = pi + alpha mu`` per redshift bin (Ho+23 Eq. 11).

    The mass is ``<ln(M/M_p)|s> = (s - pi)/alpha - beta sigma²`` with
    ``sigma² = C/alpha²`` the bin's predictive variance of ln M (Eq. 7), so
    each cluster's σ is the scatter of its redshift bin in dex. Photon counts
    within R500c (``n_phot_500c``) are the paper's best realistic proxy.

    Parameters
    ----------
    observable : str
        Column name in ``sample.observables`` or the catalogue.
    redshift_bins, pivot_log10_mass, beta, min_per_bin
        As for `MultiPropertyEstimator` (see its Notes on the mass-function
        term, ``beta``, and observables that are zero).

    Examples
    --------
    >>> est = PowerLawEstimator(observable="n_phot_500c")
    >>> est.input_spec()["observables"], est.provides_sigma
    (['n_phot_500c'], True)
    """

    name: ClassVar[str] = "power_law"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "observable": [str],
        **_COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        observable: str = "n_phot_500c",
        redshift_bins: Any = "auto",
        pivot_log10_mass: float = 14.0,
        beta: str | float = "fit",
        min_per_bin: int = 30,
    ) -> None:
        self.observable = observable
        self.redshift_bins = redshift_bins
        self.pivot_log10_mass = pivot_log10_mass
        self.beta = beta
        self.min_per_bin = min_per_bin

    def _observable_names(self) -> list[str]:
        if not isinstance(self.observable, str) or not self.observable:
            raise InputError(f"observable must be a column name; got {self.observable!r}")
        return [self.observable]
