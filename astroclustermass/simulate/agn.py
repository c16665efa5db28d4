"""AGN point sources: cluster members and the field population.

* **Cluster AGN** (Martini et al. 2009; Bufanda et al. 2017): a Poisson
  number ∝ (M500c / M_p)^0.8, projected as a β = 2/3 (King) distribution
  with core radius ``cluster_agn_radius`` R500c, plus with probability
  ``bcg_agn_fraction`` an AGN in the central galaxy. Rest-frame 0.5–2 keV
  luminosities follow a power law dN/dlog L ∝ L^(−s) between
  ``agn_lum_min`` and ``agn_lum_max``.
* **Field AGN**: uniform over the field with a broken power-law logN–logS
  (observed 0.5–2 keV, slopes 0.6 below and 1.5 above 10⁻¹⁴ erg/s/cm², a
  shape like Georgakakis et al. 2008), scaled by ``field_agn_scale``: the
  paper's AGN come from the Magneticum volume around each cluster, which holds
  far fewer sources than the full sky (its Table 1 has N_AGN = 0 for some
  clusters).

All AGN have power-law spectra with Γ = ``agn_gamma`` and an intrinsic column
drawn from ``agn_nh_logs`` / ``agn_nh_probs`` (field AGN absorbed at z = 1).

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.config import MockConfig
>>> from astroclustermass.simulate.agn import draw_field_agn
>>> f = draw_field_agn(0.01, MockConfig(field_agn_scale=1.0), np.random.default_rng(0))
>>> bool(np.all(f["flux"] >= 1e-16)), sorted(f)
(True, ['eta', 'flux', 'nh_index', 'xi'])
"""

from __future__ import annotations

import numpy as np

from .config import MockConfig

__all__ = ["draw_cluster_agn", "draw_field_agn", "sample_luminosities"]


def sample_luminosities(n: int, config: MockConfig, rng: np.random.Generator) -> np.ndarray:
    """Draw rest-frame 0.5–2 keV luminosities (erg/s) from dN/dlog L ∝ L^(−s).

    Examples
    --------
    >>> import numpy as np
    >>> cfg = MockConfig()
    >>> lum = sample_luminosities(1000, cfg, np.random.default_rng(0))
    >>> bool(lum.min() >= cfg.agn_lum_min and lum.max() <= cfg.agn_lum_max)
    True
    """
    s = config.agn_lum_slope
    lo, hi = np.log10(config.agn_lum_min), np.log10(config.agn_lum_max)
    u = rng.random(n)
    if abs(s) < 1e-9:
        return 10.0 ** (lo + (hi - lo) * u)
    a, b = 10.0 ** (-s * lo), 10.0 ** (-s * hi)
    return (a - u * (a - b)) ** (-1.0 / s)


def _nh_index(n: int, config: MockConfig, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(config.agn_nh_probs)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)


def draw_cluster_agn(
    m500c: float, r500c: float, config: MockConfig, rng: np.random.Generator
) -> dict:
    """AGN belonging to one cluster.

    Parameters
    ----------
    m500c : float
        Mass (h⁻¹ M☉).
    r500c : float
        Comoving R500c (h⁻¹ Mpc).
    config : MockConfig
        AGN parameters.
    rng : numpy Generator
        Random stream.

    Returns
    -------
    dict of ndarray
        ``x``, ``y`` (comoving h⁻¹ Mpc from the centre), ``lum`` (erg/s),
        ``nh_index`` (into ``config.agn_nh_logs``).

    Examples
    --------
    >>> import numpy as np
    >>> a = draw_cluster_agn(1e15, 1.2, MockConfig(), np.random.default_rng(3))
    >>> a["x"].shape == a["lum"].shape
    True
    """
    lam = config.cluster_agn_rate * (m500c / config.pivot_mass) ** config.cluster_agn_slope
    n_sat = int(rng.poisson(lam))
    rc = config.cluster_agn_radius * r500c
    r_max = 3.0 * r500c
    f_max = 1.0 - 1.0 / np.sqrt(1.0 + (r_max / rc) ** 2)
    u = rng.random(n_sat) * f_max
    r = rc * np.sqrt((1.0 - u) ** -2 - 1.0)
    phi = rng.random(n_sat) * 2 * np.pi
    x, y = r * np.cos(phi), r * np.sin(phi)
    if rng.random() < config.bcg_agn_fraction:
        x = np.concatenate([[0.0], x])
        y = np.concatenate([[0.0], y])
    n = x.size
    return {
        "x": x,
        "y": y,
        "lum": sample_luminosities(n, config, rng),
        "nh_index": _nh_index(n, config, rng),
    }


def draw_field_agn(halfwidth: float, config: MockConfig, rng: np.random.Generator) -> dict:
    """Field AGN over a square field of half-width ``halfwidth`` (radians).

    Returns
    -------
    dict of ndarray
        ``xi``, ``eta`` (tangent-plane radians), ``flux`` (unabsorbed
        observed-frame 0.5–2 keV, erg/s/cm²), ``nh_index``.

    Examples
    --------
    >>> import numpy as np
    >>> f = draw_field_agn(np.radians(0.5), MockConfig(field_agn_scale=1.0),
    ...                    np.random.default_rng(0))
    >>> 300 < f["flux"].size < 450  # 1 deg2: 180 above 1e-14, ~370 above 3e-15
    True
    """
    area_deg2 = (2 * np.degrees(halfwidth)) ** 2
    k = config.field_agn_density * config.field_agn_scale
    s_b = config.field_agn_break
    s_min = min(config.field_agn_min_flux, s_b)
    a_f, a_b = config.field_agn_faint_slope, config.field_agn_bright_slope
    n_tot = k * (s_min / s_b) ** (-a_f)
    n = int(rng.poisson(n_tot * area_deg2))
    big_n = rng.random(n) * n_tot  # N(>S) of each source
    flux = np.where(
        big_n > k,
        s_b * (np.maximum(big_n, 1e-300) / k) ** (-1.0 / a_f),
        s_b * (np.maximum(big_n, 1e-300) / k) ** (-1.0 / a_b),
    )
    flux = np.minimum(flux, 1e-10)
    xi = (2 * rng.random(n) - 1) * halfwidth
    eta = (2 * rng.random(n) - 1) * halfwidth
    return {"xi": xi, "eta": eta, "flux": flux, "nh_index": _nh_index(n, config, rng)}
