"""Estimators that hold other estimators: creating, saving and restoring the sub-models.

A wrapper (the ``conformal`` calibration, the generic ``deep_ensemble``)
names its base estimator by its registered name and hyper-parameters, fits
clones of it, and stores each fitted sub-model inside its own saved model:
the sub-model's JSON state under one key of the wrapper's state and its
arrays under a prefix (``model0.net.conv1.weight``), so that the whole
wrapper is still one ``config.json`` plus one ``arrays.safetensors``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError, ModelFileError, UnknownNameError
from .base import MassEstimator, _accepted

__all__ = ["make_base", "submodel_state", "restore_submodel", "WrapperEstimator"]


def make_base(owner: str, base: Any, base_params: dict | None) -> MassEstimator:
    """A fresh, unfitted base estimator from its registered name and hyper-parameters.

    Raises
    ------
    InputError
        When ``base`` is not a registered name, or the parameters do not fit it.

    Examples
    --------
    >>> make_base("conformal", "power_law", {"observable": "n_phot"}).observable
    'n_phot'
    """
    if not isinstance(base, str):
        raise InputError(
            f"the 'base' parameter of {owner} must be a registered estimator name (a str, e.g. "
            f"'multiband_cnn'); got {base!r}. Pass hyper-parameters in base_params"
        )
    if base_params is not None and not isinstance(base_params, dict):
        raise InputError(f"base_params of {owner} must be a dict or None; got {base_params!r}")
    try:
        return MassEstimator.from_name(base, **dict(base_params or {}))
    except UnknownNameError as err:
        raise InputError(f"{owner}: unknown base estimator {base!r}: {err}") from err
    except TypeError as err:
        raise InputError(
            f"{owner}: base_params {base_params!r} do not fit the {base!r} estimator: {err}"
        ) from err


def submodel_state(model: MassEstimator, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
    """One fitted sub-model as (JSON-safe dict, arrays named with ``prefix``).

    Examples
    --------
    >>> from astroclustermass.testing import make_tiny_sample
    >>> est = MassEstimator.from_name("power_law").fit(make_tiny_sample(n=32))
    >>> state, arrays = submodel_state(est, "model0.")
    >>> state["estimator"], all(k.startswith("model0.") for k in arrays)
    ('power_law', True)
    """
    config, arrays = model._to_config()
    return config, {f"{prefix}{k}": v for k, v in arrays.items()}


def restore_submodel(config: dict, arrays: dict[str, np.ndarray], prefix: str) -> MassEstimator:
    """Invert `submodel_state`: the fitted sub-model from its dict and the prefixed arrays.

    Raises
    ------
    ModelFileError
        When the saved sub-model cannot be rebuilt.
    """
    from ..plugins import estimator_registry

    name = config.get("estimator")
    try:
        cls = estimator_registry().get(name)
        model = cls(**config.get("params", {}))
        own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        model._set_state(config.get("state", {}), own)
    except (UnknownNameError, TypeError, KeyError, ValueError) as err:
        raise ModelFileError(
            f"the saved sub-model {prefix!r} ({name!r}) cannot be restored: {err}"
        ) from err
    model.training_info_ = config.get("training_info", {})
    model.is_fitted_ = True
    return model


class WrapperEstimator(MassEstimator):
    """Base of estimators made of fitted copies of one registered base estimator.

    Subclasses take the parameters ``base`` (a registered name) and
    ``base_params`` and keep their fitted sub-models in ``models_``; this
    class gives them the base's inputs, its ``parallel_folds`` and the saving
    and restoring of ``models_`` (`submodel_state`, `restore_submodel`).

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> est = MassEstimator.from_name("deep_ensemble", base="power_law")
    >>> isinstance(est, WrapperEstimator), est.input_spec()["observables"]
    (True, ['n_phot_500c'])
    """

    base: str
    base_params: dict | None

    def _template(self) -> MassEstimator:
        """A fresh unfitted base estimator with ``base_params``."""
        return make_base(type(self).__name__, self.base, self.base_params)

    @property
    def parallel_folds(self) -> bool:  # type: ignore[override]
        """As the base's: torch bases are not fitted in forked workers."""
        return bool(getattr(self._template(), "parallel_folds", True))

    def input_spec(self):
        """The base estimator's inputs."""
        return self._template().input_spec()

    @staticmethod
    def _fit_submodel(
        model: MassEstimator, sample: Any, validation: Any, progress: bool | None
    ) -> MassEstimator:
        """Fit one sub-model (without its own domain check: the wrapper makes one)."""
        model._domain_check = False
        return model.fit(sample, validation=validation, progress=progress)

    @staticmethod
    def _submodel_predict(
        model: MassEstimator, sample: Any, progress: bool | None = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """A fitted sub-model's (mu, sigma), without its own checks and warnings (the
        wrapper's `predict` makes them once).
        """
        out = model._predict(sample, **_accepted(model._predict, {"progress": progress}))
        mu = np.asarray(out[0], dtype=float)
        return mu, np.broadcast_to(np.asarray(out[1], dtype=float), mu.shape).copy()

    def _domain_features(self, sample: Any) -> dict[str, np.ndarray]:
        """The first sub-model's features (for a CNN, its network's embedding)."""
        return self.models_[0]._domain_features(sample)

    def _models_state(self) -> tuple[list[dict], dict[str, np.ndarray]]:
        configs, arrays = [], {}
        for i, model in enumerate(self.models_):
            config, model_arrays = submodel_state(model, f"model{i}.")
            configs.append(config)
            arrays.update(model_arrays)
        return configs, arrays

    def _restore_models(self, configs: list[dict], arrays: dict[str, np.ndarray]) -> None:
        self.models_ = [
            restore_submodel(config, arrays, f"model{i}.") for i, config in enumerate(configs)
        ]
