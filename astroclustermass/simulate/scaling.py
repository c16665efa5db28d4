"""Mass–observable scaling relations with correlated log-normal scatter.

Mean relations (M in h⁻¹ M☉, pivot M_p = 10¹⁴ h⁻¹ M☉, E(z) = H(z)/H0):

* T = T₀ (M/M_p)^0.585 E(z)^(2/3) keV — slope of Arnaud, Pointecouteau &
  Pratt (2005), self-similar evolution; T₀ = 2.8 keV.
* M_gas = f_gas M_p (M/M_p)^1.13 — gas fractions rising with mass as in
  Lovisari, Reiprich & Schellenberger (2015).
* M_star = f_★ M_p (M/M_p)^0.7 — stellar fractions falling with mass as in
  Kravtsov, Vikhlinin & Meshcheryakov (2018).
* L_X (rest 0.5–2 keV, within R500c) = L₀ (M/M_p)^1.4 E(z)² — soft-band slope
  of Lovisari et al. (2015), self-similar evolution. L₀ = 5.4×10⁴³ erg/s is
  about twice the observed soft-band normalisation: it is calibrated to the
  paper's photon budget (median N_ICM = 762 in 2 ks), which PHOX built from a
  10 Mpc deep slab around each cluster.

Scatter at fixed mass: (δ_T, δ_gas, δ_★) are drawn from a trivariate normal
with the correlations of `MockConfig` (T–M_gas and M_gas–M_★ anti-correlated,
as found by Farahi et al. 2019 and Fig. 3 of Ho et al. 2023). The luminosity
is built physically rather than drawn independently:

    ln L_X = ln L̄ + 2 δ_gas + δ_out + [ln(1 + κ) − ⟨ln(1 + κ)⟩],

L ∝ ∫n² dV follows the gas mass squared (2 δ_gas), ``δ_out`` is outer
clumping, and κ = L_core / L_outer is the excess emission of a compact core:
large in cool cores, small in relaxed non-cool cores, smallest in disturbed
systems. Most of the L_X scatter thus sits in the core, where it can be seen
in an image (a bright, peaked centre), as observed (Maughan 2007; Pratt et
al. 2009). The ICM module uses the same κ and M_gas to shape the emission.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.config import MockConfig
>>> from astroclustermass.simulate.scaling import mean_relations
>>> m = mean_relations(np.array([1e14]), np.array([0.0]), MockConfig())
>>> round(float(m["T"][0]), 2), round(float(m["M_gas"][0] / 1e14), 3)
(2.8, 0.085)
"""

from __future__ import annotations

import numpy as np

from ..cosmology import efunc
from .config import MockConfig

__all__ = ["mean_relations", "draw_observables", "residual_covariance"]


def mean_relations(m500c: np.ndarray, z: np.ndarray, config: MockConfig, cosmology=None) -> dict:
    """Mean T (keV), L_X (erg/s), M_gas and M_star (h⁻¹ M☉) at given mass and redshift.

    The luminosity returned is the *population mean* ⟨L_X⟩, which includes
    the average core excess.

    Examples
    --------
    >>> import numpy as np
    >>> m = mean_relations(np.array([1e14, 1e15]), np.array([0.2, 0.2]), MockConfig())
    >>> round(float(m["L_X"][1] / m["L_X"][0]), 2)  # 10 ** 1.4
    25.12
    """
    mu = np.asarray(m500c, dtype=float) / config.pivot_mass
    ez = efunc(np.asarray(z, dtype=float), cosmology)
    return {
        "T": config.T_norm * mu**config.T_slope * ez**config.T_ez,
        "L_X": config.Lx_norm * mu**config.Lx_slope * ez**config.Lx_ez,
        "M_gas": config.fgas_norm * config.pivot_mass * mu**config.Mgas_slope,
        "M_star": config.fstar_norm * config.pivot_mass * mu**config.Mstar_slope,
    }


def residual_covariance(config: MockConfig) -> np.ndarray:
    """Covariance of the (ln T, ln M_gas, ln M_star) residuals at fixed mass.

    Examples
    --------
    >>> c = residual_covariance(MockConfig())
    >>> c.shape, bool(np.all(np.linalg.eigvalsh(c) > 0))
    ((3, 3), True)
    """
    s = np.array([config.sigma_lnT, config.sigma_lnMgas, config.sigma_lnMstar])
    r = np.array(
        [
            [1.0, config.corr_T_Mgas, config.corr_T_Mstar],
            [config.corr_T_Mgas, 1.0, config.corr_Mgas_Mstar],
            [config.corr_T_Mstar, config.corr_Mgas_Mstar, 1.0],
        ]
    )
    return r * np.outer(s, s)


def _core_excess_mean(config: MockConfig) -> float:
    f_cc = config.cool_core_fraction
    f_d = (1 - f_cc) * config.disturbed_fraction
    f_r = 1 - f_cc - f_d
    return (
        f_cc * config.core_excess_cc
        + f_r * config.core_excess_relaxed
        + f_d * config.core_excess_disturbed
    )


def draw_observables(
    m500c: np.ndarray, z: np.ndarray, config: MockConfig, rng: np.random.Generator, cosmology=None
) -> dict:
    """Draw the ideal observables and the ICM state of every cluster.

    Parameters
    ----------
    m500c, z : ndarray
        Masses (h⁻¹ M☉) and redshifts.
    config : MockConfig
        Relation parameters.
    rng : numpy Generator
        Random stream.
    cosmology : astropy FLRW, optional
        Default WMAP7.

    Returns
    -------
    dict of ndarray
        ``T`` (keV), ``L_X`` (erg/s, rest 0.5–2 keV within R500c), ``M_gas``,
        ``M_star`` (h⁻¹ M☉), ``cool_core`` and ``disturbed`` (bool),
        ``core_excess`` (κ = L_core / L_outer ≥ 0).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = np.full(4000, 1e14)
    >>> o = draw_observables(m, np.zeros(4000), MockConfig(), rng)
    >>> round(float(np.std(np.log(o["M_gas"]))), 2)
    0.09
    """
    m500c = np.asarray(m500c, dtype=float)
    n = m500c.size
    mean = mean_relations(m500c, z, config, cosmology)
    d = rng.multivariate_normal(np.zeros(3), residual_covariance(config), size=n, method="cholesky")
    d_t, d_g, d_s = d.T
    cool = rng.random(n) < config.cool_core_fraction
    disturbed = (~cool) & (rng.random(n) < config.disturbed_fraction)
    centre = np.where(
        cool,
        config.core_excess_cc,
        np.where(disturbed, config.core_excess_disturbed, config.core_excess_relaxed),
    )
    ln1k = np.clip(centre + config.sigma_core_excess * rng.standard_normal(n), 0.0, None)
    d_out = config.sigma_ln_outer * rng.standard_normal(n)
    ln_lx = np.log(mean["L_X"]) + 2 * d_g + d_out + ln1k - _core_excess_mean(config)
    return {
        "T": mean["T"] * np.exp(d_t),
        "L_X": np.exp(ln_lx),
        "M_gas": mean["M_gas"] * np.exp(d_g),
        "M_star": mean["M_star"] * np.exp(d_s),
        "cool_core": cool,
        "disturbed": disturbed,
        "core_excess": np.expm1(ln1k),
    }
