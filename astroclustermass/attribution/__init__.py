"""Attribution (saliency) maps of mass estimators and their summaries (Ho et al. 2023 Sec. 6).

`Attribution.from_name` creates a registered method (``saliency``,
``integrated_gradients``, ``analytic_proxy`` or a plugin's);
``method.attribute(estimator, sample)`` returns an `AttributionMap`;
`radial_profile`, `mask_saliency` and `band_summary` summarise it.
`channel_dynamics` follows a CNN's test predictions while it is trained one
energy band at a time (Lovig 2024, Fig. 10) and returns `TrainingDynamics`.
Importing this package does not import torch.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> sorted(Attribution.available())
['analytic_proxy', 'integrated_gradients', 'saliency']
"""

from __future__ import annotations

from ._map import AttributionMap, r500c_from_mass
from .analytic import AnalyticProxySaliency
from .base import Attribution, GradientAttribution
from .integrated_gradients import IntegratedGradients
from .saliency import Saliency
from .summaries import band_summary, mask_saliency, plot_radial_profile, radial_profile
from .training_dynamics import TrainingDynamics, channel_dynamics

__all__ = [
    "Attribution",
    "AttributionMap",
    "GradientAttribution",
    "Saliency",
    "IntegratedGradients",
    "AnalyticProxySaliency",
    "radial_profile",
    "plot_radial_profile",
    "mask_saliency",
    "band_summary",
    "r500c_from_mass",
    "channel_dynamics",
    "TrainingDynamics",
]
