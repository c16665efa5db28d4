"""Mass estimators: the common interface, scaling relations and CNNs.

Built-in estimators are registered through the plugin hooks and created by
name with `MassEstimator.from_name`; importing this package does not import
torch (the CNN modules are imported on first use).

Examples
--------
>>> from astroclustermass.estimators import MassEstimator
>>> "power_law" in MassEstimator.available()
True
"""

import importlib
from typing import Any

from .base import InputSpec, MassEstimator, check_is_fitted, clone
from .prediction import MassPrediction

# public name -> submodule, imported on first access
_LAZY = {
    "PowerLawEstimator": "scaling",
    "MultiPropertyEstimator": "scaling",
    "search_combinations": "scaling",
    "scatter_table": "scaling",
    "residual_correlation": "scaling",
    "ScalingRelation": "relations",
    "available_relations": "relations",
    "convert_mass_definition": "relations",
    "ConformalEstimator": "conformal",
    "DeepEnsemble": "deep_ensemble",
    "publication_table": "publish",
    "pretrained_models": "pretrained",
    "model_card": "pretrained",
    "load_pretrained": "pretrained",
}

__all__ = ["MassEstimator", "MassPrediction", "InputSpec", "clone", "check_is_fitted", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
