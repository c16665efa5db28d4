"""A deep ensemble of any registered estimator (Lakshminarayanan et al. 2017; Krippendorf et al. 2023).

`DeepEnsemble` (registered as ``"deep_ensemble"``) fits ``n_members``
copies of a base estimator that differ only in their seed (weight
initialisation, shuffling, augmentation, dropout, their own validation
split) and combines their predictions with Krippendorf et al. (2023)
Eq. 2-3 (`~.ensemble.combine_members`): the mean of the members' μ, and σ²
= mean of the members' σ² + variance of their μ. With an NLL base
(``base_params={"loss": "nll"}``) each member's σ is its own per-cluster
aleatoric σ; with an MSE/MAE base it is the member's validation scatter, so
σ is that scatter plus the members' disagreement (an upper-side estimate).

``nll_ensemble`` remains the Krippendorf recipe (their pipeline and network,
one shared validation split); this wrapper makes the same combination
available for every registered estimator.

Examples
--------
>>> from astroclustermass.estimators import MassEstimator
>>> est = MassEstimator.from_name("deep_ensemble", base="multiband_cnn", n_members=3,
...                               base_params={"loss": "nll", "max_epochs": 50})
>>> [est._member_params(i)["seed"] == member_seed(0, i) for i in range(2)]
[True, True]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..exceptions import ModelFileError
from ._params import Interval
from ._submodels import WrapperEstimator, make_base
from .ensemble import combine_members, member_seed

__all__ = ["DeepEnsemble"]


class DeepEnsemble(WrapperEstimator):
    """``n_members`` copies of a registered estimator with different seeds, combined (Eq. 2-3).

    Parameters
    ----------
    base : str
        Registered name of the member estimator (``'multiband_cnn'``).
    base_params : dict or None
        Its hyper-parameters; ``seed`` is replaced by ``member_seed(seed, i)``
        for member ``i`` when the base has a seed.
    n_members : int
        Ensemble size.
    seed : int
        Seeds the members.

    Attributes
    ----------
    models_ : list of MassEstimator
        The fitted members.
    member_seeds_ : list of int or None
        Their seeds (None for a base without one).

    Examples
    --------
    >>> from astroclustermass.testing import make_tiny_sample
    >>> s = make_tiny_sample(n=80)
    >>> est = DeepEnsemble(base="power_law", base_params={"observable": "M_gas"}, n_members=2)
    >>> p = est.fit(s).predict(s)
    >>> len(est.models_), bool(np.all(p["sigma_log10_m500c"] > 0))
    (2, True)
    """

    name: ClassVar[str] = "deep_ensemble"
    provides_sigma: ClassVar[bool] = True
    #: Fast settings for `astroclustermass.testing.check_estimator`.
    _test_params: ClassVar[dict] = {
        "base": "single_band_cnn",
        "n_members": 2,
        "base_params": {"max_epochs": 2, "batch_size": 16, "num_threads": 1, "loss": "nll"},
    }

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "base": [str],
        "base_params": [None, dict],
        "n_members": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        base: str = "multiband_cnn",
        base_params: dict | None = None,
        n_members: int = 5,
        seed: int = 0,
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.n_members = n_members
        self.seed = seed

    def _member_params(self, index: int) -> dict[str, Any]:
        params = dict(self.base_params or {})
        if "seed" in self._template().get_params():
            params["seed"] = member_seed(int(self.seed), index)
        return params

    def _fit(self, sample: Any, validation: Any, *, progress: bool | None = None) -> None:
        owner = type(self).__name__
        self.models_ = [
            self._fit_submodel(
                make_base(owner, self.base, self._member_params(i)), sample, validation, progress
            )
            for i in range(int(self.n_members))
        ]
        self.member_seeds_ = [getattr(m, "seed", None) for m in self.models_]

    def member_outputs(
        self, sample: Any, progress: bool | None = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member's (mu, sigma) for every cluster, arrays of shape (n_members, N)."""
        outs = [self._submodel_predict(model, sample, progress) for model in self.models_]
        return np.array([o[0] for o in outs]), np.array([o[1] for o in outs])

    def _predict(
        self, sample: Any, *, progress: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return combine_members(*self.member_outputs(sample, progress))

    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        configs, arrays = self._models_state()
        return {"models": configs, "member_seeds": list(self.member_seeds_)}, arrays

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        if len(state["models"]) != int(self.n_members):
            raise ModelFileError(
                f"the saved ensemble holds {len(state['models'])} members but its config says "
                f"n_members={self.n_members}; the file is inconsistent"
            )
        self._restore_models(state["models"], arrays)
        self.member_seeds_ = list(state["member_seeds"])
