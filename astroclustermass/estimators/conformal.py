"""Conformal calibration of any estimator: prediction intervals with guaranteed coverage.

`ConformalEstimator` (registered as ``"conformal"``) wraps any registered
estimator, fits it on part of the *training* data and uses the residuals of
clusters the fitted model has not seen to turn its predictions into
intervals of log10 M500c that contain the true mass with probability at
least ``1 − alpha`` (for exchangeable clusters; Vovk et al. 2005; Lei et al.
2018; Barber et al. 2021):

* ``method='split'``: the base is fitted on ``1 − calibration_fraction`` of
  the training sample; the conformity scores of the remaining calibration
  clusters give the interval half-width ``q`` = the ⌈(n + 1)(1 − α)⌉-th
  smallest score. Coverage lies in ``[1 − α, 1 − α + 1/(n + 1))``.
* ``method='cv+'``: K-fold CV+ (Barber et al. 2021): the base is fitted K
  times, each time without one fold; every training cluster gets an
  out-of-fold residual, and the interval of a new cluster is made of the K
  fold models' predictions at it shifted by those residuals. Coverage ≥
  1 − 2α (in practice ≈ 1 − α), and every training cluster serves both
  for fitting and for calibration.
* ``method='jackknife+'``: CV+ with one fold per cluster (cheap bases only).

Scores are ``|y − μ| / σ`` (normalised conformal, intervals wider where the
base is less sure) when the base gives a per-cluster σ
(``normalise='auto'``), else ``|y − μ|``. With ``mondrian=('mass', ...)`` the
calibration is done separately in bins of predicted mass, redshift and/or
exposure (Mondrian conformal prediction, Vovk et al. 2005 §4.5), so coverage
holds in each bin, not only on average.

Nothing of a test fold can reach the calibration: under `cross_validate` the
wrapper only ever sees the fold's training clusters, and splits them itself.

Examples
--------
>>> conformal_quantile([0.1, 0.2, 0.3, 0.4], alpha=0.4)
0.3
>>> conformal_quantile([0.1, 0.2, 0.3], alpha=0.1)  # too few scores for 90 %
inf
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from scipy import special

from ..exceptions import AstroClusterMassWarning, InputError, ModelFileError
from ._params import Interval, Options
from ._submodels import WrapperEstimator
from .base import clone

__all__ = ["ConformalEstimator", "conformal_quantile", "cv_plus_bounds", "METHODS"]

#: Calibration methods of `ConformalEstimator`.
METHODS = ("split", "cv+", "jackknife+")
#: What a Mondrian bin can be defined by.
MONDRIAN_KEYS = ("mass", "redshift", "exposure")
# (calibration clusters x test clusters) per chunk of the CV+ order statistics
_CHUNK = 4_000_000


def conformal_quantile(scores: Any, alpha: float) -> float:
    """The split-conformal half-width: the ⌈(n + 1)(1 − α)⌉-th smallest of ``n`` scores.

    ``inf`` when ``n < 1/α − 1`` (too few calibration clusters for that level).

    Examples
    --------
    >>> conformal_quantile(np.arange(1, 20), alpha=0.1)  # ceil(20 * 0.9) = 18th
    18.0
    """
    s = np.sort(np.asarray(scores, dtype=float).ravel())
    k = int(np.ceil((s.size + 1) * (1.0 - float(alpha)) - 1e-9))
    if k > s.size:
        return float("inf")
    return float(s[max(k, 1) - 1])


def cv_plus_bounds(
    mu: Any, scale: Any, fold: Any, scores: Any, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """CV+ interval bounds (Barber et al. 2021, Eq. 6, with normalised scores).

    Parameters
    ----------
    mu, scale : array-like, shape (K, m)
        Prediction and score scale (σ, or 1) of each of the K fold models at
        each of the m new clusters.
    fold : array-like of int, shape (n,)
        Fold (model index) of each calibration cluster, i.e. the model that
        did not see it.
    scores : array-like, shape (n,)
        Out-of-fold conformity scores ``|y − μ| / scale`` of the calibration clusters.
    alpha : float
        Miscoverage level.

    Returns
    -------
    lower, upper : ndarray, shape (m,)
        The ⌊α(n + 1)⌋-th smallest of ``μ_k(i)(x) − R_i s_k(i)(x)`` and the
        ⌈(1 − α)(n + 1)⌉-th smallest of ``μ_k(i)(x) + R_i s_k(i)(x)``; ±inf
        when ``n`` is too small. With one fold this is split conformal.

    Examples
    --------
    >>> lo, hi = cv_plus_bounds([[14.0]], [[1.0]], [0, 0, 0], [0.1, 0.2, 0.3], alpha=0.25)
    >>> float(lo[0]), float(hi[0])
    (13.7, 14.3)
    """
    mu = np.atleast_2d(np.asarray(mu, dtype=float))
    scale = np.broadcast_to(np.asarray(scale, dtype=float), mu.shape)
    fold = np.asarray(fold, dtype=np.int64).ravel()
    scores = np.asarray(scores, dtype=float).ravel()
    n, m = scores.size, mu.shape[1]
    k_lo = int(np.floor(float(alpha) * (n + 1) + 1e-9))
    k_hi = int(np.ceil((1.0 - float(alpha)) * (n + 1) - 1e-9))
    lower = np.full(m, -np.inf)
    upper = np.full(m, np.inf)
    step = max(1, _CHUNK // max(n, 1))
    for start in range(0, m, step):
        cols = slice(start, min(m, start + step))
        centre = mu[fold, cols]  # (n, chunk)
        width = scores[:, None] * scale[fold, cols]
        if 1 <= k_lo <= n:
            lower[cols] = np.partition(centre - width, k_lo - 1, axis=0)[k_lo - 1]
        if 1 <= k_hi <= n:
            upper[cols] = np.partition(centre + width, k_hi - 1, axis=0)[k_hi - 1]
    return lower, upper


class ConformalEstimator(WrapperEstimator):
    """Conformal prediction intervals around any registered estimator.

    Parameters
    ----------
    base : str
        Registered name of the estimator to calibrate (``'multiband_cnn'``).
    base_params : dict or None
        Its hyper-parameters.
    method : {'split', 'cv+', 'jackknife+'}
        See the module notes. ``'cv+'`` fits the base ``n_folds`` times and
        keeps every fold model (the point prediction is their mean).
    alpha : tuple of float
        Miscoverage levels; one interval per level (0.32 → 68 %, 0.05 → 95 %).
    normalise : 'auto' or bool
        Scale the scores by the base's per-cluster σ; ``'auto'``: when the
        base has one (``provides_sigma``).
    mondrian : tuple of str
        Calibrate separately per bin of ``'mass'`` (the predicted mass),
        ``'redshift'`` and/or ``'exposure'`` (a catalogue column); () for one
        calibration of all clusters.
    n_bins : int
        Bins per Mondrian key, with edges at quantiles of the calibration
        clusters (each bin needs ≥ 1/α − 1 clusters for a finite interval).
    calibration_fraction : float
        Share of the training sample held out for calibration (``'split'``).
    n_folds : int
        Folds of ``'cv+'``.
    widen_ood : bool
        Widen the intervals of clusters out of the training distribution
        (`~MassEstimator.domain_distance` ``d > 1``) by the factor ``d``
        about the point prediction; the coverage guarantee holds only for
        clusters like the training ones, so this heuristic keeps intervals
        of extrapolated clusters from looking as sure as the rest.
    seed : int
        Seeds the calibration split or the fold assignment.

    Attributes
    ----------
    models_ : list of MassEstimator
        The fitted base model (split) or the K fold models (CV+).
    levels_ : list of float
        Interval levels, ascending (``1 − alpha``).
    scores_ : ndarray
        Conformity scores of the calibration clusters.
    normalised_ : bool
        Whether the scores are scaled by the base σ.

    Notes
    -----
    ``predict`` writes the interval columns ``log10_m500c_lo68`` /
    ``log10_m500c_hi68`` (and so on per level) and, as
    ``sigma_log10_m500c``, half the width of the 68 % interval (or of the
    narrowest level, divided by its Gaussian z), so that Gaussian summaries
    also see the calibrated width.

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> from astroclustermass.testing import make_tiny_sample
    >>> s = make_tiny_sample(n=200)
    >>> est = MassEstimator.from_name("conformal", base="power_law", method="split",
    ...                               base_params={"observable": "M_gas"},
    ...                               alpha=(0.32, 0.05)).fit(s[:150])
    >>> p = est.predict(s[150:])
    >>> p.interval_levels, p.meta["interval_method"]
    ([0.68, 0.95], 'conformal split (power_law, normalised, widened out of distribution)')
    >>> lo, hi = p.interval(0.95)
    >>> bool(np.all(hi > lo))
    True
    """

    name: ClassVar[str] = "conformal"
    provides_sigma: ClassVar[bool] = True
    #: Fast settings for `astroclustermass.testing.check_estimator`.
    _test_params: ClassVar[dict] = {"base": "power_law", "method": "cv+", "n_folds": 4}

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "base": [str],
        "base_params": [None, dict],
        "method": [Options(set(METHODS))],
        "alpha": [tuple, list],
        "normalise": ["boolean", Options({"auto"})],
        "mondrian": [tuple, list],
        "n_bins": [Interval(int, 1, None)],
        "calibration_fraction": [Interval(float, 0, 1, closed="neither")],
        "n_folds": [Interval(int, 2, None)],
        "widen_ood": ["boolean"],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        base: str = "power_law",
        base_params: dict | None = None,
        method: str = "cv+",
        alpha: tuple = (0.32, 0.10, 0.05),
        normalise: bool | str = "auto",
        mondrian: tuple = (),
        n_bins: int = 3,
        calibration_fraction: float = 0.25,
        n_folds: int = 5,
        widen_ood: bool = True,
        seed: int = 0,
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.method = method
        self.alpha = alpha
        self.normalise = normalise
        self.mondrian = mondrian
        self.n_bins = n_bins
        self.calibration_fraction = calibration_fraction
        self.n_folds = n_folds
        self.widen_ood = widen_ood
        self.seed = seed

    # ------------------------------------------------------------ settings
    def _validate_params(self) -> None:
        super()._validate_params()
        alphas = list(self.alpha)
        if not alphas or not all(
            isinstance(a, int | float) and not isinstance(a, bool) and 0.0 < a < 1.0 for a in alphas
        ):
            raise InputError(
                f"alpha of {type(self).__name__} must be a non-empty tuple of miscoverage levels "
                f"in (0, 1), e.g. (0.32, 0.05); got {self.alpha!r}"
            )
        bad = [k for k in self.mondrian if k not in MONDRIAN_KEYS]
        if bad:
            raise InputError(
                f"mondrian keys must be among {', '.join(MONDRIAN_KEYS)}; got {bad} "
                f"in mondrian={self.mondrian!r}"
            )

    def _interval_method(self) -> str:
        parts = [self.base]
        if self.normalised_:
            parts.append("normalised")
        if self.mondrian:
            parts.append(f"mondrian {'+'.join(self.mondrian)} x{self.n_bins}")
        if self.widen_ood:
            parts.append("widened out of distribution")
        return f"conformal {self.method} ({', '.join(parts)})"

    # ------------------------------------------------------------ bins
    def _bin_values(self, key: str, mu: np.ndarray, sample: Any) -> np.ndarray:
        if key == "mass":
            return np.asarray(mu, dtype=float)
        cat = sample.catalog
        if key not in cat.colnames:
            raise InputError(
                f"{type(self).__name__} calibrates per bin of {key!r} (mondrian={self.mondrian!r}),"
                f" but the sample's catalogue has no column {key!r}; drop it from mondrian"
            )
        return np.asarray(cat[key], dtype=float)

    def _bins(self, mu: np.ndarray, sample: Any) -> np.ndarray:
        index = np.zeros(len(mu), dtype=np.int64)
        for key in self.mondrian:
            edges = np.asarray(self.bin_edges_[key], dtype=float)
            which = np.searchsorted(edges, self._bin_values(key, mu, sample), side="right")
            index = index * (edges.size + 1) + which
        return index

    def _scale(self, sigma: np.ndarray) -> np.ndarray:
        if not self.normalised_:
            return np.ones_like(sigma)
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise InputError(
                f"normalised conformal needs a positive finite sigma from {self.base!r}; got "
                f"{int(np.sum(~(np.isfinite(sigma) & (sigma > 0))))} invalid value(s); pass "
                "normalise=False"
            )
        return sigma

    # ------------------------------------------------------------ fit
    def _fit(self, sample: Any, validation: Any, *, progress: bool | None = None) -> None:
        template = self._template()
        n = len(sample)
        rng = np.random.default_rng(int(self.seed))
        self.normalised_ = (
            bool(template.provides_sigma) if self.normalise == "auto" else bool(self.normalise)
        )
        if self.method == "split":
            n_cal = int(round(float(self.calibration_fraction) * n))
            if n_cal < 1 or n - n_cal < 2:
                raise InputError(
                    f"a training sample of {n} clusters is too small for calibration_fraction="
                    f"{self.calibration_fraction}; use a larger sample or method='cv+'"
                )
            perm = rng.permutation(n)
            assign = np.full(n, -1, dtype=np.int64)
            assign[perm[:n_cal]] = 0
        else:
            k = n if self.method == "jackknife+" else int(self.n_folds)
            if k > n:
                raise InputError(f"cannot make {k} CV+ folds from {n} training clusters")
            assign = rng.permutation(n) % k
        cal = np.flatnonzero(assign >= 0)
        mu = np.empty(cal.size)
        sigma = np.empty(cal.size)
        models = []
        for k in range(int(assign.max()) + 1):
            held = assign[cal] == k
            model = self._fit_submodel(
                clone(template), sample[np.flatnonzero(assign != k)], validation, progress
            )
            mu[held], sigma[held] = self._submodel_predict(model, sample[cal[held]])
            models.append(model)
        cal_sample = sample[cal]
        truth = np.asarray(cal_sample.catalog["log10_m500c"], dtype=float)
        self.models_ = models
        self.levels_ = sorted(round(1.0 - float(a), 10) for a in self.alpha)
        self.scores_ = np.abs(truth - mu) / self._scale(sigma)
        self.calibration_fold_ = assign[cal]
        self.bin_edges_ = {}
        for key in self.mondrian:
            values = self._bin_values(key, mu, cal_sample)
            inner = np.quantile(values, np.linspace(0, 1, int(self.n_bins) + 1)[1:-1])
            self.bin_edges_[key] = np.unique(inner).tolist()
        self.calibration_bin_ = self._bins(mu, cal_sample)
        self._warn_small_bins()

    def _warn_small_bins(self) -> None:
        counts = np.bincount(self.calibration_bin_)
        counts = counts[counts > 0]
        need = int(np.ceil(1.0 / (1.0 - self.levels_[-1]) - 1.0 - 1e-9))
        if counts.min() < need:
            where = " in its smallest Mondrian bin" if self.mondrian else ""
            warnings.warn(
                f"{type(self).__name__} has {int(counts.min())} calibration clusters{where}, "
                f"fewer than the {need} a finite {self.levels_[-1]:.0%} interval needs; those "
                "intervals are infinite. Use more training clusters, method='cv+' or fewer bins",
                AstroClusterMassWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------ predict
    def _predict(self, sample: Any, *, progress: bool | None = None) -> tuple:
        outs = [self._submodel_predict(model, sample, progress) for model in self.models_]
        mus = np.array([o[0] for o in outs])
        scale = self._scale(np.array([o[1] for o in outs]))
        mu = mus.mean(axis=0)
        bins = self._bins(mu, sample)
        intervals = {}
        for level in self.levels_:
            lo = np.empty(mu.size)
            hi = np.empty(mu.size)
            for b in np.unique(bins):
                test = bins == b
                cal = self.calibration_bin_ == b
                if not cal.any():  # a bin no calibration cluster fell in: pooled scores
                    cal = np.ones_like(cal)
                lo[test], hi[test] = cv_plus_bounds(
                    mus[:, test],
                    scale[:, test],
                    self.calibration_fold_[cal],
                    self.scores_[cal],
                    1.0 - level,
                )
            intervals[level] = (lo, hi)
        if self.widen_ood:
            distance = self._domain_scores(sample)[0]
            if distance is not None:
                factor = np.maximum(distance, 1.0)
                intervals = {
                    lv: (mu - (mu - lo) * factor, mu + (hi - mu) * factor)
                    for lv, (lo, hi) in intervals.items()
                }
        ref = 0.68 if 0.68 in intervals else self.levels_[0]
        z = float(np.sqrt(2.0) * special.erfinv(ref))
        lo, hi = intervals[ref]
        return mu, (hi - lo) / (2.0 * z), intervals

    # ------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        state: dict[str, Any] = {
            "levels": list(self.levels_),
            "normalised": bool(self.normalised_),
            "bin_edges": {k: list(v) for k, v in self.bin_edges_.items()},
        }
        state["models"], arrays = self._models_state()
        arrays |= {
            "calibration.scores": np.asarray(self.scores_, dtype=np.float64),
            "calibration.fold": np.asarray(self.calibration_fold_, dtype=np.int64),
            "calibration.bin": np.asarray(self.calibration_bin_, dtype=np.int64),
        }
        return state, arrays

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        try:
            self.scores_ = np.asarray(arrays["calibration.scores"], dtype=float)
            self.calibration_fold_ = np.asarray(arrays["calibration.fold"], dtype=np.int64)
            self.calibration_bin_ = np.asarray(arrays["calibration.bin"], dtype=np.int64)
        except KeyError as err:
            raise ModelFileError(f"the saved conformal model lacks the array {err}") from err
        self.levels_ = [float(v) for v in state["levels"]]
        self.normalised_ = bool(state["normalised"])
        self.bin_edges_ = {k: list(v) for k, v in state["bin_edges"].items()}
        self._restore_models(state["models"], arrays)
        if self.calibration_fold_.size and self.calibration_fold_.max() >= len(self.models_):
            raise ModelFileError(
                f"the saved conformal model refers to fold {int(self.calibration_fold_.max())} "
                f"but holds {len(self.models_)} models; the file is inconsistent"
            )
