"""Galaxy dynamics (L1): phase-space cubes and scalar dynamical observables.

Examples
--------
>>> from astroclustermass.dynamics import MIN_GALAXIES
>>> MIN_GALAXIES
4
"""

from .cube import (
    MIN_GALAXIES,
    SPEED_OF_LIGHT_KMS,
    DynamicalCube,
    dynamical_observables,
    galaxy_phase_space,
    gapper_sigma,
)
from .pooling import sum_pool_cubes

__all__ = [
    "DynamicalCube",
    "gapper_sigma",
    "dynamical_observables",
    "galaxy_phase_space",
    "MIN_GALAXIES",
    "SPEED_OF_LIGHT_KMS",
    "sum_pool_cubes",
]
