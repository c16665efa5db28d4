"""Entry-point module of the toy plugin: registers the ``toy_mean`` estimator."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from astroclustermass.estimators import InputSpec, MassEstimator
from astroclustermass.plugins import Registry, hookimpl


class ToyMeanEstimator(MassEstimator):
    """Predicts the mean training log-mass (plus ``shift``) for every cluster.

    Parameters
    ----------
    shift : float
        Added to the prediction, in dex.
    """

    name: ClassVar[str] = "toy_mean"

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def input_spec(self) -> InputSpec:
        return InputSpec()

    def _fit(self, sample: Any, validation: Any) -> None:
        logm = np.asarray(sample.catalog["log10_m500c"], dtype=float)
        self.mean_ = float(logm.mean())
        self.std_ = float(logm.std())

    def _predict(self, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        n = len(sample)
        return np.full(n, self.mean_ + self.shift), np.full(n, self.std_)

    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"mean": self.mean_, "std": self.std_}, {}

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        self.mean_ = float(state["mean"])
        self.std_ = float(state["std"])


@hookimpl
def astroclustermass_register_estimators(registry: Registry) -> None:
    registry.register("toy_mean", ToyMeanEstimator, description="predicts the training mean")
