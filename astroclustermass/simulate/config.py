"""Every physical knob of the mock universe in one JSON-serialisable dataclass.

`MockConfig` holds the parameters of the halo population, the scaling
relations and their correlated scatter, the intra-cluster medium (ICM)
morphology, the AGN and background populations, the instrument and the galaxy
catalogue. The defaults are calibrated so that a 3,285-cluster universe with a
2 ks exposure reproduces Table 1 and the single-observable rows of Table 3 of
Ho et al. (2023); `astroclustermass.simulate.calibration_report` prints the
comparison.

Exposure is not part of the config: it is a survey-depth parameter given to
`MockUniverse` directly, as seconds or as one of the `EXPOSURE_PRESETS`.

Examples
--------
>>> from astroclustermass.simulate.config import MockConfig, resolve_exposure
>>> cfg = MockConfig(psf_hew_arcsec=26.0)
>>> MockConfig.from_dict(cfg.to_dict()) == cfg
True
>>> resolve_exposure("efeds")
2200.0
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Any

from .._utils import defaults
from ..exceptions import InputError, UnknownNameError

__all__ = [
    "MockConfig",
    "EXPOSURE_PRESETS",
    "SNAPSHOT_REDSHIFTS",
    "resolve_exposure",
]

#: Magneticum Box2/hr snapshot numbers and redshifts used by Ho et al. (2023)
#: (snapshots 96...136 in steps of 4, the ``snz`` table of the reference code).
SNAPSHOT_REDSHIFTS: dict[int, float] = {
    96: 0.47019408,
    100: 0.42372720,
    104: 0.37872894,
    108: 0.33515290,
    112: 0.29295412,
    116: 0.25208907,
    120: 0.21251560,
    124: 0.17419289,
    128: 0.13708140,
    132: 0.10114286,
    136: 0.066340191,
}

#: Survey-depth presets (vignetted exposure in seconds).
#:
#: ``paper``
#:     2 ks, the exposure of the Ho et al. (2023) mocks (about the final
#:     eRASS:8 all-sky depth).
#: ``efeds``
#:     2.2 ks, the average depth of the eFEDS field (Brunner et al. 2022).
#: ``erass1``
#:     0.2 ks, a typical single all-sky pass (eRASS1) at low ecliptic latitude.
#: ``erass4`` (alias ``erass``)
#:     0.6 ks, roughly four passes (eRASS:4).
EXPOSURE_PRESETS: dict[str, float] = {
    "paper": 2000.0,
    "efeds": 2200.0,
    "erass1": 200.0,
    "erass4": 600.0,
    "erass": 600.0,
}


def resolve_exposure(exposure: float | str) -> float:
    """Return an exposure in seconds from a number or a preset name.

    Parameters
    ----------
    exposure : float or str
        Seconds (> 0) or a key of `EXPOSURE_PRESETS`.

    Returns
    -------
    float
        The exposure in seconds.

    Examples
    --------
    >>> resolve_exposure(1500)
    1500.0
    >>> resolve_exposure("paper")
    2000.0
    """
    if isinstance(exposure, str):
        key = exposure.strip().lower()
        if key not in EXPOSURE_PRESETS:
            close = difflib.get_close_matches(key, EXPOSURE_PRESETS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown exposure preset {exposure!r}; known presets: "
                f"{sorted(EXPOSURE_PRESETS)} (or give seconds as a number).{hint}"
            )
        return float(EXPOSURE_PRESETS[key])
    try:
        value = float(exposure)
    except (TypeError, ValueError) as err:
        raise InputError(f"exposure must be seconds or a preset name; got {exposure!r}") from err
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"exposure must be a finite positive number of seconds; got {exposure!r}")
    return value


@dataclass(frozen=True)
class MockConfig:
    """Physical parameters of the built-in mock eROSITA universe.

    All masses are in h⁻¹ M☉, lengths in comoving h⁻¹ Mpc unless a name says
    otherwise, energies in keV, luminosities in erg/s, fluxes in erg/s/cm².
    Relations are written about the pivot ``pivot_mass`` and evolve
    self-similarly with E(z) = H(z)/H0.

    Parameters
    ----------
    mass_min, mass_max : float
        log10 M500c limits of the halo population (Ho et al. 2023, Table 1).
    mass_slope : float
        β of the sampled mass distribution dn/dlog10M ∝ 10^(−β (x − mass_min)).
    mass_cutoff : float
        log10 mass of the exponential high-mass cut-off exp(−M/M_cut) at z = 0.
    mass_cutoff_dz : float
        Change of ``mass_cutoff`` per unit redshift (fewer giants at high z).
    snapshots : tuple of int
        Snapshot numbers (keys of `SNAPSHOT_REDSHIFTS`) the clusters are spread over.
    snapshot_weight_slope : float
        Clusters per snapshot ∝ exp(−k z); k = 1.5 puts the median at z = 0.21.
    box_size : float
        Side of the periodic comoving box holding the cluster positions (h⁻¹ Mpc).
    sky_ra_range, sky_dec_range : tuple of float
        Cluster centres are drawn uniformly on the sphere within these limits (deg).
    pivot_mass : float
        Pivot mass of the scaling relations (h⁻¹ M☉).
    T_norm, T_slope, T_ez : float
        T = T_norm (M/M_p)^T_slope E(z)^T_ez keV (slope of Arnaud et al. 2005).
    Lx_norm, Lx_slope, Lx_ez : float
        Mean rest-frame 0.5–2 keV luminosity within R500c at the pivot (erg/s),
        its mass slope and E(z) exponent (soft band: 2, self-similar).
    fgas_norm, Mgas_slope : float
        M_gas = fgas_norm M_p (M/M_p)^Mgas_slope (Lovisari et al. 2015-like).
    fstar_norm, Mstar_slope : float
        M_star = fstar_norm M_p (M/M_p)^Mstar_slope (Kravtsov et al. 2018-like).
    sigma_lnT, sigma_lnMgas, sigma_lnMstar : float
        Intrinsic log-normal scatter at fixed mass.
    corr_T_Mgas, corr_Mgas_Mstar, corr_T_Mstar : float
        Correlation coefficients of those residuals (Farahi et al. 2019 sign
        pattern: T–M_gas and M_gas–M_star anti-correlated).
    sigma_ln_outer : float
        Scatter of the outer (core-excised) emission beyond the 2 δ_gas term.
    cool_core_fraction, disturbed_fraction : float
        Fraction of cool cores, and of disturbed systems among the rest.
    core_excess_cc, core_excess_relaxed, core_excess_disturbed : float
        Mean of ln(1 + κ), κ = L_core / L_outer, per population.
    sigma_core_excess : float
        Scatter of ln(1 + κ) within a population.
    core_radius_relaxed, core_radius_disturbed : float
        β-model core radius of the outer component in units of R500c.
    sigma_ln_core_radius : float
        Log-normal scatter of the core radius.
    beta_mean, beta_sigma : float
        β of the outer component (emissivity ∝ n² ∝ (1 + x²/x_c²)^(−3β)).
    cc_core_radius : float
        Core radius of the compact cool-core component (units of R500c).
    max_radius : float
        Emission is truncated at this 3D radius (units of R500c).
    axis_ratio_relaxed, axis_ratio_disturbed : tuple of float
        Uniform ranges of the projected axis ratio q = b/a.
    substructure_mean : float
        Mean number of infalling sub-clumps in a disturbed cluster (Poisson).
    substructure_fraction : tuple of float
        Uniform range of the fraction of outer emission put into sub-clumps.
    abundance : float
        Metal abundance in solar units scaling the line strengths.
    nh_gal : float
        Galactic absorbing column (cm⁻²).
    area_scale : float
        Multiplier of the built-in eROSITA-like effective-area curve.
    psf_hew_arcsec : float
        Half-energy width of the King-profile PSF (arcsec).
    pixel_arcsec : float
        Sky pixel; event positions are put at the centre of their pixel.
    frame_time : float
        CCD frame time (s) for the FRAME column.
    energy_min, energy_max : float
        Energy range of the simulated photons (keV).
    field_min_halfwidth_deg : float
        Minimum half-width of the square simulated field (deg); the field is
        widened where the ±``aperture`` image box is larger.
    aperture : float
        Half-width (comoving h⁻¹ Mpc) of the image box the field must contain.
    cluster_agn_rate, cluster_agn_slope : float
        Mean number of cluster AGN at the pivot mass and its mass slope.
    cluster_agn_radius : float
        Scale radius (units of R500c) of the projected cluster-AGN distribution.
    bcg_agn_fraction : float
        Probability that the central galaxy hosts an AGN.
    agn_lum_min, agn_lum_max, agn_lum_slope : float
        Power-law luminosity function of cluster AGN, dN/dlog L ∝ L^−slope
        (rest 0.5–2 keV, erg/s).
    agn_gamma : float
        Photon index of AGN spectra.
    agn_nh_logs, agn_nh_probs : tuple of float
        Intrinsic log10 N_H values and their probabilities.
    field_agn_density : float
        Field AGN per deg² brighter than ``field_agn_break`` (before ``field_agn_scale``).
    field_agn_break, field_agn_faint_slope, field_agn_bright_slope : float
        Broken power-law logN–logS (observed 0.5–2 keV flux), slopes of N(>S).
    field_agn_min_flux : float
        Faintest field AGN simulated (erg/s/cm²).
    field_agn_scale : float
        Fraction of the full field-AGN population put in the field (the
        Magneticum light-cone slab of the paper holds far fewer AGN than the sky).
    cxb_norm : float
        Unresolved CXB power law at 1 keV (photons/cm²/s/sr/keV), Γ = 1.45.
    galactic_sb : float
        0.5–2 keV surface brightness of the 0.2 keV Galactic foreground (erg/s/cm²/deg²).
    particle_rate : float
        Particle background (counts/s/deg², 0.2–12 keV, flat in energy, unvignetted).
    background_scale : float
        Multiplier of the survey-level sky + particle background. The paper's
        images were made from SIXTE photon lists, which carry no background;
        its Table 1 photon budgets leave room for only a per cent or so.
    n200_norm, n200_slope, sigma_ln_n200 : float
        Member galaxies (m★ ≥ ``m_star_min``) within R200c at the pivot mass,
        slope in M200c and log-normal scatter.
    member_radius : float
        Members are drawn out to this radius in units of R200c.
    galaxy_concentration : float
        Concentration of the galaxy NFW profile relative to the dark matter.
    interloper_density : float
        Mean comoving density of field galaxies above ``m_star_min`` (h³ Mpc⁻³).
    los_group_rate : float
        Mean number of small groups along the line of sight in the cylinder.
    sigma_ln_vel_los : float
        Log-normal scatter of the line-of-sight velocity dispersion (orbital
        anisotropy and triaxiality seen along one axis; Evrard et al. 2008).
    velocity_bias : float
        Galaxy velocity bias b_v = σ_gal / σ_DM.
    field_velocity : float
        Peculiar velocity dispersion of interlopers (km/s).
    m_star_min : float
        Stellar-mass limit of the galaxy catalogue (h⁻¹ M☉).
    smf_mchar, smf_alpha_members, smf_alpha_field : float
        Schechter stellar-mass function characteristic mass and faint slopes.
    cylinder_radius, cylinder_velocity : float
        Galaxies are written within this projected radius (h⁻¹ Mpc) and ``|v_los|``.

    Examples
    --------
    >>> cfg = MockConfig()
    >>> cfg.mass_min, cfg.mass_max
    (13.5, 15.07)
    >>> cfg.replace(background_scale=1.0).background_scale
    1.0
    """

    # --- halo population (halos.py)
    mass_min: float = 13.5
    mass_max: float = 15.07
    mass_slope: float = 0.3
    mass_cutoff: float = 14.85
    mass_cutoff_dz: float = -0.3
    snapshots: tuple[int, ...] = tuple(sorted(SNAPSHOT_REDSHIFTS))
    snapshot_weight_slope: float = 1.5
    box_size: float = 352.0
    sky_ra_range: tuple[float, float] = (20.0, 340.0)
    sky_dec_range: tuple[float, float] = (-60.0, 60.0)
    # --- scaling relations (scaling.py)
    pivot_mass: float = 1e14
    T_norm: float = 2.8
    T_slope: float = 0.585
    T_ez: float = 2.0 / 3.0
    Lx_norm: float = 5.4e43
    Lx_slope: float = 1.4
    Lx_ez: float = 2.0
    fgas_norm: float = 0.085
    Mgas_slope: float = 1.13
    fstar_norm: float = 0.025
    Mstar_slope: float = 0.7
    sigma_lnT: float = 0.069
    sigma_lnMgas: float = 0.095
    sigma_lnMstar: float = 0.088
    corr_T_Mgas: float = -0.3
    corr_Mgas_Mstar: float = -0.4
    corr_T_Mstar: float = 0.0
    sigma_ln_outer: float = 0.10
    # --- ICM populations and morphology (icm.py)
    cool_core_fraction: float = 0.35
    disturbed_fraction: float = 0.45
    core_excess_cc: float = 0.69
    core_excess_relaxed: float = 0.14
    core_excess_disturbed: float = 0.05
    sigma_core_excess: float = 0.15
    core_radius_relaxed: float = 0.12
    core_radius_disturbed: float = 0.25
    sigma_ln_core_radius: float = 0.25
    beta_mean: float = 0.67
    beta_sigma: float = 0.05
    cc_core_radius: float = 0.03
    max_radius: float = 3.0
    axis_ratio_relaxed: tuple[float, float] = (0.75, 1.0)
    axis_ratio_disturbed: tuple[float, float] = (0.5, 0.9)
    substructure_mean: float = 1.5
    substructure_fraction: tuple[float, float] = (0.05, 0.25)
    # --- spectra and instrument (spectra.py, instrument.py)
    abundance: float = 0.3
    nh_gal: float = 3.0e20
    area_scale: float = 1.0
    psf_hew_arcsec: float = 30.0
    pixel_arcsec: float = 9.6
    frame_time: float = 0.05
    energy_min: float = 0.2
    energy_max: float = 12.0
    field_min_halfwidth_deg: float = 0.5
    aperture: float = defaults.APERTURE
    # --- AGN (agn.py)
    cluster_agn_rate: float = 3.0
    cluster_agn_slope: float = 0.8
    cluster_agn_radius: float = 0.5
    bcg_agn_fraction: float = 0.1
    agn_lum_min: float = 1.0e41
    agn_lum_max: float = 1.0e45
    agn_lum_slope: float = 0.5
    agn_gamma: float = 1.9
    agn_nh_logs: tuple[float, ...] = (20.0, 21.0, 22.0, 22.5, 23.0)
    agn_nh_probs: tuple[float, ...] = (0.45, 0.15, 0.15, 0.15, 0.10)
    field_agn_density: float = 180.0
    field_agn_break: float = 1.0e-14
    field_agn_faint_slope: float = 0.6
    field_agn_bright_slope: float = 1.5
    field_agn_min_flux: float = 3.0e-15
    field_agn_scale: float = 0.16
    # --- background (background.py)
    cxb_norm: float = 10.9
    galactic_sb: float = 1.5e-12
    particle_rate: float = 14.0
    background_scale: float = 0.01
    # --- galaxies (galaxies.py)
    n200_norm: float = 36.0
    n200_slope: float = 0.72
    sigma_ln_n200: float = 0.12
    member_radius: float = 2.0
    galaxy_concentration: float = 0.6
    interloper_density: float = 0.018
    los_group_rate: float = 2.0
    sigma_ln_vel_los: float = 0.10
    velocity_bias: float = 1.0
    field_velocity: float = 300.0
    m_star_min: float = defaults.M_STAR_MIN
    smf_mchar: float = 10**10.8
    smf_alpha_members: float = -1.1
    smf_alpha_field: float = -1.3
    cylinder_radius: float = defaults.APERTURE
    cylinder_velocity: float = defaults.V_MAX

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):  # JSON round trip gives lists
                object.__setattr__(self, f.name, tuple(value))
                value = getattr(self, f.name)
            vals = value if isinstance(value, tuple) else (value,)
            for v in vals:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise InputError(
                        f"MockConfig.{f.name} must be a number (or tuple of numbers); got {value!r}"
                    )
                if not math.isfinite(v):
                    raise InputError(f"MockConfig.{f.name} must be finite; got {value!r}")
        if not self.mass_min < self.mass_max:
            raise InputError(
                f"MockConfig needs mass_min < mass_max; got {self.mass_min}, {self.mass_max}"
            )
        unknown = [s for s in self.snapshots if s not in SNAPSHOT_REDSHIFTS]
        if unknown or not self.snapshots:
            raise InputError(
                f"MockConfig.snapshots must be a non-empty subset of {sorted(SNAPSHOT_REDSHIFTS)}; "
                f"got {list(self.snapshots)}"
            )
        positive = [
            "pivot_mass",
            "T_norm",
            "Lx_norm",
            "fgas_norm",
            "fstar_norm",
            "box_size",
            "psf_hew_arcsec",
            "pixel_arcsec",
            "frame_time",
            "area_scale",
            "max_radius",
            "cc_core_radius",
            "core_radius_relaxed",
            "core_radius_disturbed",
            "beta_mean",
            "agn_lum_min",
            "agn_lum_max",
            "field_agn_break",
            "field_agn_min_flux",
            "n200_norm",
            "member_radius",
            "galaxy_concentration",
            "m_star_min",
            "smf_mchar",
            "cylinder_radius",
            "cylinder_velocity",
            "aperture",
            "field_min_halfwidth_deg",
            "energy_max",
            "energy_min",
        ]
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"MockConfig.{name} must be > 0; got {getattr(self, name)}")
        non_negative = [
            "sigma_lnT",
            "sigma_lnMgas",
            "sigma_lnMstar",
            "sigma_ln_outer",
            "sigma_core_excess",
            "sigma_ln_core_radius",
            "beta_sigma",
            "substructure_mean",
            "abundance",
            "nh_gal",
            "cluster_agn_rate",
            "bcg_agn_fraction",
            "field_agn_density",
            "field_agn_scale",
            "cxb_norm",
            "galactic_sb",
            "particle_rate",
            "background_scale",
            "sigma_ln_n200",
            "interloper_density",
            "los_group_rate",
            "sigma_ln_vel_los",
            "field_velocity",
            "velocity_bias",
        ]
        for name in non_negative:
            if getattr(self, name) < 0:
                raise InputError(f"MockConfig.{name} must be >= 0; got {getattr(self, name)}")
        for name in ("cool_core_fraction", "disturbed_fraction", "bcg_agn_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"MockConfig.{name} must lie in [0, 1]; got {getattr(self, name)}")
        for name in ("corr_T_Mgas", "corr_Mgas_Mstar", "corr_T_Mstar"):
            if not -1 < getattr(self, name) < 1:
                raise InputError(
                    f"MockConfig.{name} must lie in (-1, 1); got {getattr(self, name)}"
                )
        if (
            len(self.agn_nh_logs) != len(self.agn_nh_probs)
            or abs(sum(self.agn_nh_probs) - 1) > 1e-6
        ):
            raise InputError(
                "MockConfig.agn_nh_logs and agn_nh_probs must have equal length and the "
                f"probabilities must sum to 1; got {self.agn_nh_logs}, {self.agn_nh_probs}"
            )
        if not self.energy_min < self.energy_max:
            raise InputError("MockConfig needs energy_min < energy_max")

    def replace(self, **changes: Any) -> MockConfig:
        """Return a copy with some parameters changed.

        Examples
        --------
        >>> MockConfig().replace(psf_hew_arcsec=16.0).psf_hew_arcsec
        16.0
        """
        bad = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if bad:
            raise InputError(f"MockConfig has no parameter(s) {bad}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-safe dict.

        Examples
        --------
        >>> MockConfig().to_dict()["pixel_arcsec"]
        9.6
        """
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> MockConfig:
        """Rebuild a config written by `to_dict`; unknown keys raise `InputError`.

        Examples
        --------
        >>> MockConfig.from_dict({"psf_hew_arcsec": 20.0}).psf_hew_arcsec
        20.0
        """
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(params) - names)
        if bad:
            raise InputError(f"unknown MockConfig parameter(s) {bad}")
        return cls(**params)
