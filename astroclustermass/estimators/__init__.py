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

from .base import InputSpec, MassEstimator, check_is_fitted, clone
from .prediction import MassPrediction

__all__ = ["MassEstimator", "MassPrediction", "InputSpec", "clone", "check_is_fitted"]
