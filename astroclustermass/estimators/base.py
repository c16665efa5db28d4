"""`MassEstimator`: the one interface of every mass estimator, built-in or plugin.

Subclasses follow scikit-learn's habits: the constructor stores
hyper-parameters only; ``fit`` learns and returns ``self``; learned state
ends in ``_``; ``predict`` on an unfitted estimator raises `NotFittedError`.
A subclass implements

* ``_fit(sample, validation)`` — learn from a `~astroclustermass.ClusterSample`
  (``validation`` is an optional held-out part of the *training* data, for
  early stopping; it is never the test fold),
* ``_predict(sample) -> (mu, sigma)`` — arrays of log10 M500c and 1σ in dex
  (optionally a third item: ``{level: (lower, upper)}`` prediction intervals),
  leaving the estimator unchanged,
* ``_get_state() -> (json_dict, arrays)`` and ``_set_state(json_dict, arrays)``
  — everything learned, for `save`/`load` (no pickle),

Options of `MassEstimator.fit` and `MassEstimator.predict` such as ``progress``
(and ``resume`` for the torch estimators) reach ``_fit``/``_predict`` as
keyword arguments when their signatures declare them; nothing travels through
attributes. The estimator declares what it needs in ``input_spec()`` (energy bands of the images,
dynamical cubes, scalar observables, redshift) so that the base class can
refuse a sample that lacks them, or that was built differently from the
training sample (other bands, npix, aperture or cosmology), and warn when a
cluster lies outside the trained redshift, mass or exposure range.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..bands import EnergyBands, get_bands
from ..cosmology import cosmology_to_dict
from ..exceptions import (
    DomainShiftWarning,
    IncompatibleSampleError,
    InputError,
    ModelFileError,
    NotFittedError,
    OutOfRangeWarning,
)
from ..sample.arrays import match_band_set
from ..sample.depth import cluster_exposure
from ..sample.protocol import SampleLike
from ._domain import DomainModel, image_features
from ._params import ParamsMixin
from ._persistence import read_model, write_model
from .prediction import MassPrediction

__all__ = [
    "MassEstimator",
    "InputSpec",
    "clone",
    "check_is_fitted",
    "check_target",
    "MIN_TARGET_STD_DEX",
]


class InputSpec(dict):
    """What an estimator reads from a sample.

    Keys: ``bands`` (list of `EnergyBands`; empty for none), ``cubes`` (bool),
    ``observables`` (list of column names of ``sample.observables`` or the
    catalogue), ``redshift`` (bool).

    Examples
    --------
    >>> spec = InputSpec(bands=["erosita_3"])
    >>> spec["bands"][0].n_bands, spec["cubes"]
    (3, False)
    """

    def __init__(
        self,
        bands: list | tuple = (),
        cubes: bool = False,
        observables: list | tuple = (),
        redshift: bool = False,
    ) -> None:
        super().__init__(
            bands=[get_bands(b) for b in bands],
            cubes=bool(cubes),
            observables=list(observables),
            redshift=bool(redshift),
        )


def check_is_fitted(estimator: MassEstimator) -> None:
    """Raise `NotFittedError` unless ``estimator.fit`` has been called.

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> est = MassEstimator.from_name("power_law")
    >>> try:
    ...     check_is_fitted(est)
    ... except NotFittedError as err:
    ...     print(str(err)[:40])
    This PowerLawEstimator is not fitted yet
    """
    if not getattr(estimator, "is_fitted_", False):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet. Call 'fit' with a training "
            "ClusterSample (or MassEstimator.load a saved model) before 'predict'."
        )


def clone(estimator: MassEstimator) -> MassEstimator:
    """A new unfitted estimator with the same hyper-parameters.

    Examples
    --------
    >>> est = MassEstimator.from_name("power_law", observable="n_phot")
    >>> clone(est).get_params()["observable"]
    'n_phot'
    """
    return type(estimator)(**estimator.get_params())


def _accepted(method: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword ``options`` that ``method``'s signature declares (all, given ``**kwargs``)."""
    params = inspect.signature(method).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params}


def _range(values) -> list[float] | None:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    return [float(arr.min()), float(arr.max())]


class MassEstimator(ParamsMixin, ABC):
    """Base class of mass estimators; also the entry point to the registry.

    Class attributes a subclass sets: ``name`` (registered name),
    ``provides_sigma`` (True when σ is per cluster),
    ``parallel_folds`` (False when folds must not be fitted in forked worker
    processes, e.g. torch models) and ``_parameter_constraints`` (see `astroclustermass.estimators._params`).

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> sorted(MassEstimator.available())[:2]
    ['conformal', 'deep_ensemble']
    >>> est = MassEstimator.from_name("power_law", observable="n_phot_500c")
    >>> est.get_params()["observable"]
    'n_phot_500c'
    """

    name: ClassVar[str] = ""
    provides_sigma: ClassVar[bool] = False
    parallel_folds: ClassVar[bool] = True
    #: Fit the domain-shift model (`domain_distance`); False for the sub-models of
    #: ensembles and wrappers, whose owner checks the domain once for all of them.
    _domain_check: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    # ---------------------------------------------------------------- registry
    @classmethod
    def from_name(cls, name: str, **params: Any) -> MassEstimator:
        """Create a registered estimator by name.

        Parameters
        ----------
        name : str
            A registered name (see `available`).
        **params
            Hyper-parameters passed to the estimator's constructor.

        Raises
        ------
        UnknownNameError
            Listing the registered names.
        """
        from ..plugins import estimator_registry

        return estimator_registry().create(name, **params)

    @classmethod
    def pretrained(cls, name: str) -> MassEstimator:
        """Load a model shipped with the package (see `pretrained_models`).

        Its model card (training data, ranges, held-out scatter, what it is
        not valid for) is on the result as ``model_card_``.

        Examples
        --------
        >>> est = MassEstimator.pretrained("multiband_cnn_2ks")
        >>> est.model_card_["training"]["npix"]
        64
        """
        from .pretrained import load_pretrained

        return load_pretrained(name)

    @staticmethod
    def available() -> dict[str, str]:
        """Registered estimator names with one-line descriptions.

        Examples
        --------
        >>> "multiband_cnn" in MassEstimator.available()
        True
        """
        from ..plugins import estimator_registry

        return estimator_registry().describe()

    # ---------------------------------------------------------------- inputs
    @abstractmethod
    def input_spec(self) -> InputSpec:
        """What this estimator reads from a sample (see `InputSpec`)."""

    def _check_inputs(self, sample: SampleLike, role: str) -> None:
        spec = self.input_spec()
        if len(sample) == 0:
            from ..exceptions import EmptyInputError

            raise EmptyInputError(f"the {role} sample is empty")
        for bands in spec["bands"]:
            match_band_set(
                getattr(sample, "band_sets", {}) or {},
                bands,
                who=f"the {role} sample of {type(self).__name__}",
            )
        if spec["cubes"] and getattr(sample, "cubes", None) is None:
            raise IncompatibleSampleError(
                f"{type(self).__name__} needs dynamical cubes, but the {role} sample has none; "
                "build it with dynamics=True and a galaxies table"
            )
        for col in spec["observables"]:
            if not _has_column(sample, col):
                raise IncompatibleSampleError(
                    f"{type(self).__name__} needs the observable {col!r}, which the {role} "
                    f"sample lacks (observables: {_observable_names(sample)})"
                )

    def _sample_signature(self, sample: Any) -> dict:
        spec = self.input_spec()
        sig: dict[str, Any] = {}
        if spec["bands"] or spec["cubes"]:
            sig["npix"] = int(sample.npix)
            sig["aperture"] = float(sample.aperture)
            sig["cosmology"] = cosmology_to_dict(sample.cosmology)
        sig["bands"] = [b.to_dict() for b in spec["bands"]]
        return sig

    def _training_info(self, sample: Any) -> dict:
        cat = sample.catalog
        info = {
            "n_train": len(sample),
            "n_validation": int(getattr(self, "n_validation_", 0)),
            "signature": self._sample_signature(sample),
        }
        info["redshift_range"] = _range(cat["redshift"])
        if "log10_m500c" in cat.colnames:
            info["log10_m500c_range"] = _range(cat["log10_m500c"])
        exposure = cluster_exposure(sample)
        if exposure is not None:
            info["exposure_range"] = _range(exposure)
        return info

    def _check_compatible(self, sample: Any) -> None:
        trained = self.training_info_["signature"]
        now = self._sample_signature(sample)
        for key in ("npix", "aperture", "cosmology"):
            if key in trained and trained[key] != now.get(key):
                raise IncompatibleSampleError(
                    f"{type(self).__name__} was trained on samples with {key}={trained[key]!r}, "
                    f"but this sample has {key}={now.get(key)!r}; rebuild the sample with the "
                    "training settings"
                )
        cat = sample.catalog
        checks = [(np.asarray(cat["redshift"], dtype=float), "redshift_range", "redshift", "")]
        exposure = cluster_exposure(sample)
        if exposure is not None:
            hint = (
                ""
                if getattr(self, "depth_input", None) is not None
                else " (a model trained across depths with depth_input='map' or 'scale' "
                "reads the exposure)"
            )
            checks.append((exposure, "exposure_range", "exposure time (s)", hint))
        for vals, key, what, hint in checks:
            rng = self.training_info_.get(key)
            if rng is None:
                continue
            tol = 1e-6 * max(1.0, abs(rng[1]))
            out = (vals < rng[0] - tol) | (vals > rng[1] + tol)
            if out.any():
                warnings.warn(
                    f"{int(out.sum())} of {len(vals)} clusters have a {what} outside the range "
                    f"{rng[0]:g}-{rng[1]:g} that {type(self).__name__} was trained on; their "
                    f"masses are extrapolations{hint}",
                    OutOfRangeWarning,
                    stacklevel=3,
                )

    # ------------------------------------------------------------- fit/predict
    def fit(
        self,
        sample: SampleLike,
        *,
        validation: SampleLike | None = None,
        progress: bool | None = None,
    ):
        """Learn from a training sample with known masses. Returns self.

        Parameters
        ----------
        sample : `~astroclustermass.ClusterSample`
            Training clusters; ``sample.catalog`` must hold ``log10_m500c``.
        validation : `~astroclustermass.ClusterSample`, optional
            Held-out part of the training data for early stopping (never the
            test fold). Estimators that need one split ``sample`` themselves
            when it is not given.
        progress : bool or None
            Show progress bars (None: only on a terminal).
        """
        return self._run_fit(sample, validation, progress=progress)

    def _run_fit(self, sample: SampleLike, validation: SampleLike | None, **options: Any):
        """Check the inputs, call ``_fit(sample, validation, **options)``, record ranges.

        ``options`` (``progress``, and ``resume`` for torch estimators) reach
        ``_fit`` as keyword arguments; a plugin's ``_fit(sample, validation)``
        that declares none of them is called without them.
        """
        self._validate_params()
        self._check_inputs(sample, "training")
        check_target(sample, "training", require_spread=True)
        if validation is not None:
            self._check_inputs(validation, "validation")
            check_target(validation, "validation")
        with self._call_cache():
            self._fit(sample, validation, **_accepted(self._fit, options))
            self.training_info_ = self._training_info(sample)
            self.domain_ = (
                DomainModel(seed=0).fit(self._domain_features(sample))
                if self._domain_check
                else None
            )
        self.is_fitted_ = True
        return self

    @contextlib.contextmanager
    def _call_cache(self) -> Iterator[dict]:
        """A dict living for one ``fit`` or ``predict`` call (``self._cache``), in which
        estimators keep inputs they prepare for both the domain check and the model.
        """
        self._cache: dict = {}
        try:
            yield self._cache
        finally:
            self.__dict__.pop("_cache", None)

    def predict(self, sample: SampleLike, *, progress: bool | None = None) -> MassPrediction:
        """Predict log10 M500c (and its σ) for every cluster in ``sample``.

        The estimator is left unchanged.

        Parameters
        ----------
        sample : `~astroclustermass.ClusterSample`
            Clusters built like the training sample.
        progress : bool or None
            Show progress bars (None: only on a terminal); passed to
            ``_predict`` when it takes a ``progress`` keyword.

        Returns
        -------
        prediction : `MassPrediction`
        """
        check_is_fitted(self)
        self._check_inputs(sample, "prediction")
        self._check_compatible(sample)
        with self._call_cache():
            distance = self.domain_distance(sample)
            out = self._predict(sample, **_accepted(self._predict, {"progress": progress}))
        mu, sigma = out[0], out[1]
        intervals = out[2] if len(out) > 2 else None
        mu = np.asarray(mu, dtype=float)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), mu.shape)
        cat = sample.catalog
        truth = cat["log10_m500c"] if "log10_m500c" in cat.colnames else None
        rng = self.training_info_.get("log10_m500c_range")
        if rng is not None:
            out = (mu < rng[0] - 0.1) | (mu > rng[1] + 0.1)
            if out.any():
                warnings.warn(
                    f"{int(out.sum())} predicted masses lie more than 0.1 dex outside the "
                    f"trained mass range {rng[0]:.2f}-{rng[1]:.2f} (log10 h^-1 Msun)",
                    OutOfRangeWarning,
                    stacklevel=2,
                )
        ids = cat["id"] if "id" in cat.colnames else np.arange(len(cat))
        prediction = MassPrediction.from_arrays(
            ids,
            cat["redshift"],
            mu,
            sigma,
            truth=truth,
            estimator=self.name or type(self).__name__,
            intervals=intervals,
        )
        if distance is not None:
            prediction["domain_distance"] = distance
            prediction["out_of_distribution"] = distance > 1.0
        prediction.meta["provides_sigma"] = bool(self.provides_sigma)
        if intervals:
            prediction.meta["interval_method"] = self._interval_method()
        return prediction

    # ------------------------------------------------------------ domain shift
    def _domain_features(self, sample: Any) -> dict[str, np.ndarray]:
        """Per-cluster features compared between training and prediction (see `DomainModel`).

        The redshift and log10 exposure time (when the catalogue has it); for
        every band set the estimator reads, the log10 photon counts per band,
        the fraction of the counts in the central quarter of the image and
        the counts per pixel at its edge (the background level); log10 of
        every scalar observable it reads.
        Subclasses add blocks (CNNs: ``'embedding'``, their network's features).
        """
        spec = self.input_spec()
        cat = sample.catalog
        blocks: dict[str, np.ndarray] = {"redshift": np.asarray(cat["redshift"], float)[:, None]}
        for bands in spec["bands"]:
            blocks.update(image_features(np.asarray(sample.images(bands)), bands.name))
        exposure = cluster_exposure(sample)
        if exposure is not None:
            exposure = np.clip(np.nan_to_num(exposure, nan=1e-3), 1e-3, None)
            blocks["log10 exposure"] = np.log10(exposure)[:, None]
        for col in spec["observables"]:
            values = get_observable(sample, col)
            blocks[f"log10 {col}"] = np.log10(np.clip(values, 1e-30, None))[:, None]
        return blocks

    def _domain_scores(self, sample: Any) -> tuple[np.ndarray | None, dict]:
        """(distance, features) of `domain_distance`, without its warning."""
        check_is_fitted(self)
        model = getattr(self, "domain_", None)
        if model is None:
            return None, {}
        features = self._domain_features(sample)
        return model.distance(features), features

    def domain_distance(self, sample: Any) -> np.ndarray | None:
        """Distance of each cluster from the training clusters (> 1: out of distribution).

        In units of the 99th percentile of out-of-fold training distances (see
        `DomainModel`), so about 1 % of a fresh draw of the training data lies
        above 1. Warns with `DomainShiftWarning` when clearly more do. None for
        models saved before this check existed.
        """
        distance, features = self._domain_scores(sample)
        if distance is None:
            return None
        model = self.domain_
        flagged = int(np.sum(distance > 1.0))
        if flagged >= 3 and _binomial_tail(flagged, distance.size, _FRESH_FLAG_RATE) < 1e-6:
            top = ", ".join(f"{name} {shift:+.1f}σ" for name, shift in model.shifts(features)[:3])
            warnings.warn(
                f"{flagged} of {distance.size} clusters ({flagged / distance.size:.0%}) lie "
                f"outside what {type(self).__name__} was trained on (domain distance > 1, "
                f"median {np.median(distance):.2f}; about 1% of a fresh draw of the training "
                f"data would); the largest mean shifts in training standard deviations: {top}. "
                "Their masses and intervals are extrapolations: see the prediction's "
                "'out_of_distribution' column",
                DomainShiftWarning,
                stacklevel=3,
            )
        return distance

    def _interval_method(self) -> str:
        """How the interval columns of `predict` were made (``meta['interval_method']``)."""
        return type(self).__name__

    @abstractmethod
    def _fit(self, sample: Any, validation: Any) -> None:
        """Learn from ``sample`` (subclasses; may add keyword-only ``progress``)."""

    @abstractmethod
    def _predict(self, sample: Any) -> tuple:
        """Return (log10_m500c, sigma_dex) arrays (subclasses; may add keyword ``progress``).

        An estimator that makes prediction intervals returns a third item, a
        dict ``{level: (lower, upper)}`` of central intervals (``level`` like
        0.68); they become the interval columns of `MassPrediction`.
        """

    # ------------------------------------------------------------ persistence
    @abstractmethod
    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Learned state as (JSON-safe dict, named numpy arrays)."""

    @abstractmethod
    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        """Restore learned state written by `_get_state`."""

    def save(self, path: str | Path) -> Path:
        """Save the fitted estimator to directory ``path`` (atomic; no pickle).

        The directory holds ``config.json`` (name, hyper-parameters, learned
        JSON state, training ranges, package version, checksum) and
        ``arrays.safetensors`` (weights and other arrays).
        """
        config, arrays = self._to_config()
        return write_model(path, config, arrays)

    def _to_config(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The saved model as (config dict, arrays): what `save` writes, and what a
        wrapper stores of each of its sub-models.
        """
        check_is_fitted(self)
        state, arrays = self._get_state()
        config = {
            "estimator": self.name,
            "params": self.get_params(),
            "state": state,
            "training_info": self.training_info_,
        }
        if getattr(self, "domain_", None) is not None:
            config["domain"] = self.domain_.to_dict()
        return config, arrays

    @classmethod
    def load(cls, path: str | Path) -> MassEstimator:
        """Load an estimator written by `save`; never executes code from the file.

        Raises
        ------
        ModelFileError
            Unreadable, tampered or incompatible files, or an estimator name
            that no installed plugin provides.
        """
        from ..exceptions import UnknownNameError
        from ..plugins import estimator_registry

        config, arrays = read_model(path)
        name = config.get("estimator")
        try:
            est_cls = estimator_registry().get(name)
        except UnknownNameError as err:
            raise ModelFileError(
                f"{path} holds a {name!r} estimator, which no installed plugin provides: {err}"
            ) from err
        if cls is not MassEstimator and not issubclass(est_cls, cls):
            raise ModelFileError(f"{path} holds a {name!r} estimator, not a {cls.__name__}")
        try:
            est = est_cls(**config.get("params", {}))
            est._set_state(config.get("state", {}), arrays)
        except (TypeError, KeyError, ValueError) as err:
            raise ModelFileError(f"{path} cannot be restored as {name!r}: {err}") from err
        est.training_info_ = config.get("training_info", {})
        est.domain_ = DomainModel.from_dict(config["domain"]) if "domain" in config else None
        est.is_fitted_ = True
        return est


#: A training target whose standard deviation is below this (dex) cannot teach a mass
#: relation: every estimator refuses it rather than return a constant with a made-up σ.
MIN_TARGET_STD_DEX = 1e-3


def check_target(sample: Any, role: str, *, require_spread: bool = False) -> np.ndarray:
    """The true masses ``log10_m500c`` of ``sample``, refused when absent, NaN/inf or constant.

    The one check every estimator's `MassEstimator.fit` runs (plugins inherit it).

    Parameters
    ----------
    sample : ClusterSample-like
        Needs ``catalog['log10_m500c']`` (and ``id`` to name clusters).
    role : str
        ``"training"`` or ``"validation"``, for messages.
    require_spread : bool
        Also refuse a standard deviation below `MIN_TARGET_STD_DEX`.

    Raises
    ------
    InputError
        Naming the column, the clusters and the fix.

    Examples
    --------
    >>> from astropy.table import Table
    >>> class S:  # a minimal sample-like object
    ...     catalog = Table({"id": [3, 4], "log10_m500c": [14.0, 14.0]})
    >>> check_target(S(), "training", require_spread=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: the training sample's true masses ... are all 14 ...
    """
    cat = sample.catalog
    if "log10_m500c" not in cat.colnames:
        raise InputError(
            f"the {role} sample has no true masses (catalogue column 'log10_m500c'); "
            "a mass estimator can only be fitted on clusters with known masses"
        )
    target = np.ma.filled(np.ma.asarray(cat["log10_m500c"], dtype=float), np.nan)
    ids = np.asarray(cat["id"]) if "id" in cat.colnames else np.arange(len(cat))
    bad = ~np.isfinite(target)
    if bad.any():
        shown = ", ".join(str(i) for i in ids[bad][:5]) + (", ..." if bad.sum() > 5 else "")
        raise InputError(
            f"the {role} sample's catalogue column 'log10_m500c' has {int(bad.sum())} NaN/inf "
            f"value(s), for cluster id(s) {shown}; drop those clusters (e.g. "
            "sample[np.isfinite(sample.catalog['log10_m500c'])]) or give them masses"
        )
    if require_spread:
        spread = float(np.std(target)) if target.size else 0.0
        if target.size < 2 or spread < MIN_TARGET_STD_DEX:
            raise InputError(
                f"the {role} sample's true masses (catalogue column 'log10_m500c') are all "
                f"{float(np.mean(target)):.6g} (standard deviation {spread:.2g} dex over "
                f"{target.size} cluster(s)); a mass estimator needs clusters of different "
                "masses to learn from"
            )
    return target


def _observable_names(sample: Any) -> list[str]:
    names: list[str] = []
    obs = getattr(sample, "observables", None)
    if obs is not None:
        names += list(obs.colnames)
    names += [c for c in sample.catalog.colnames if c not in names]
    return names


def _has_column(sample: Any, col: str) -> bool:
    return col in _observable_names(sample)


def get_observable(sample: Any, col: str) -> np.ndarray:
    """Return a scalar observable column from ``sample.observables`` or the catalogue.

    Examples
    --------
    >>> from astropy.table import Table
    >>> class S:  # a minimal sample-like object
    ...     catalog = Table({"T": [1.0, 2.0]}); observables = None
    >>> get_observable(S(), "T").tolist()
    [1.0, 2.0]
    """
    obs = getattr(sample, "observables", None)
    if obs is not None and col in obs.colnames:
        return np.asarray(obs[col], dtype=float)
    if col in sample.catalog.colnames:
        return np.asarray(sample.catalog[col], dtype=float)
    raise IncompatibleSampleError(
        f"observable {col!r} not found; available: {_observable_names(sample)}"
    )


#: Fraction of a fresh draw of the training data assumed flagged when deciding to warn (the
#: nominal rate is 1 %; twice that leaves room for a small training set).
_FRESH_FLAG_RATE = 0.02


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    from scipy import stats

    return float(stats.binom.sf(k - 1, n, p))


def _bands_equal(a: EnergyBands, b: EnergyBands) -> bool:
    return a == b
