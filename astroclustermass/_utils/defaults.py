"""The papers' defaults: one owner for every value that signatures share.

Every function, class and command-line option that takes one of these
settings refers to the name here, so that changing a default is one edit.
Values follow Ho et al. (2023, MNRAS 524, 3289): 128² images of a
±2.3 h⁻¹ Mpc comoving box, 64³ phase-space cubes with v_los up to
±3785 km/s and a KDE bandwidth factor of 0.15, galaxies with
M★ ≥ 10^9.5 h⁻¹ M☉, and the small dynamical cylinder (R ≤ 1.25 h⁻¹ Mpc,
|v_los| ≤ 2000 km/s) of the Table 3 richness and velocity dispersion.

Examples
--------
>>> from astroclustermass._utils import defaults
>>> defaults.NPIX, defaults.APERTURE, 2 * defaults.APERTURE / defaults.NPIX
(128, 2.3, 0.0359375)
"""

from __future__ import annotations

__all__ = [
    "APERTURE",
    "NPIX",
    "N_CUBE",
    "V_MAX",
    "KDE_BANDWIDTH",
    "M_STAR_MIN",
    "R_DYN",
    "V_DYN",
    "BANDS",
    "ATTRIBUTION_METHOD",
    "R500C_RTOL",
    "R500C_MAX_ITER",
]

#: Image half-width in comoving h⁻¹ Mpc (a 4.6 h⁻¹ Mpc box); also the radius
#: of the large dynamical cylinder.
APERTURE: float = 2.3
#: Image pixels per side.
NPIX: int = 128
#: Dynamical-cube voxels per side.
N_CUBE: int = 64
#: Half-width of the cube's line-of-sight velocity axis and of the large
#: cylinder, km/s.
V_MAX: float = 3785.0
#: Gaussian KDE bandwidth factor of the dynamical cubes.
KDE_BANDWIDTH: float = 0.15
#: Stellar-mass cut of member galaxies, h⁻¹ M☉.
M_STAR_MIN: float = 10**9.5
#: Radius of the small dynamical cylinder (Table 3 N_gal, σ_v), h⁻¹ Mpc.
R_DYN: float = 1.25
#: Velocity half-width of the small dynamical cylinder, km/s.
V_DYN: float = 2000.0
#: Band sets a sample is built with when none are named: those of the
#: paper's single-band and multi-band CNNs.
BANDS: tuple[str, ...] = ("bolometric", "erosita_3")
#: Attribution method of single-cluster explanations (``astroclustermass explain``):
#: integrated gradients from the empty sky. Plain saliency per count is largest in
#: empty pixels; integrated gradients are zero there and put the attribution on the
#: photons that drive the estimate (tests/test_attribution_default.py measures it;
#: docs/attribution.rst, "The default method").
ATTRIBUTION_METHOD: str = "integrated_gradients"
#: Iterative R500c (`astroclustermass.sample.iterative_r500c`): converged when
#: successive radii differ by less than this fraction.
R500C_RTOL: float = 1e-3
#: Iterative R500c: iteration cap (clusters still moving are flagged and warned about).
R500C_MAX_ITER: int = 50
