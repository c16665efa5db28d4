"""astroclustermass: galaxy-cluster masses from X-ray photon event lists.

Public names are imported lazily on first access, so ``import astroclustermass``
is cheap and has no side effects (no plugin loading, no torch import).

Examples
--------
>>> import astroclustermass as acm
>>> acm.get_bands("erosita_3").n_bands
3
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

# public name -> module that defines it
_LAZY = {
    "get_bands": "bands",
    "EnergyBands": "bands",
    "EventList": "events",
    "BandImage": "images",
    "RedshiftNormalizer": "images",
    "DynamicalCube": "dynamics",
    "ClusterSample": "sample",
    "MockUniverse": "simulate",
    "MassEstimator": "estimators",
    "MassPrediction": "estimators",
    "ScalingRelation": "estimators",
    "pretrained_models": "estimators",
    "Attribution": "attribution",
    "AttributionMap": "attribution",
    "cross_validate": "evaluation",
    "compare": "evaluation",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'astroclustermass' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
