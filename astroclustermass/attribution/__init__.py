"""Attribution (saliency) maps of mass estimators and their summaries (Ho et al. 2023 Sec. 6).

`Attribution.from_name` creates a registered method (``saliency``,
``input_x_gradient``, ``integrated_gradients``, ``smoothgrad``,
``analytic_proxy`` or a plugin's);
``method.attribute(estimator, sample)`` returns an `AttributionMap`;
`radial_profile`, `mask_saliency` and `band_summary` summarise it.
`channel_dynamics` follows a CNN's test predictions while it is trained one
energy band at a time (Lovig 2024, Fig. 10) and returns `TrainingDynamics`.
Importing this package does not import torch.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> sorted(Attribution.available())
['analytic_proxy', 'input_x_gradient', 'integrated_gradients', 'saliency', 'smoothgrad']
"""

from __future__ import annotations

from ._map import AttributionMap, r500c_from_mass
from .analytic import AnalyticProxySaliency
from .base import Attribution, BatchForward, GradientAttribution
from .input_x_gradient import InputXGradient
from .integrated_gradients import BASELINES, IntegratedGradients
from .saliency import Saliency
from .smoothgrad import SmoothGrad
from .summaries import (
    band_summary,
    mask_saliency,
    phase_space_profile,
    plot_radial_profile,
    radial_profile,
)
from .training_dynamics import TrainingDynamics, channel_dynamics

__all__ = [
    "Attribution",
    "AttributionMap",
    "GradientAttribution",
    "BatchForward",
    "Saliency",
    "InputXGradient",
    "IntegratedGradients",
    "BASELINES",
    "SmoothGrad",
    "AnalyticProxySaliency",
    "radial_profile",
    "plot_radial_profile",
    "mask_saliency",
    "band_summary",
    "phase_space_profile",
    "r500c_from_mass",
    "channel_dynamics",
    "TrainingDynamics",
]
