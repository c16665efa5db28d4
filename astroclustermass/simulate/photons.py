"""Photon generation for one cluster field: ICM + AGN + background → event columns.

`simulate_cluster_events` draws Poisson-many photons from every source in a
square tangent-plane field around the cluster, folds them through the
instrument (effective area in the spectra, PSF, energy resolution, 9.6″
pixels) and returns the SIXTE-style event columns. Expected counts follow
from the physics: an ICM component of luminosity L (rest 0.5–2 keV) gives

    N = t_exp ∫ A(E) e^(−σ(E) N_H) Ṅ_rest((1 + z) E) / (4π D_M²) dE,

with Ṅ_rest the rest-frame photon spectrum normalised to L, so counts scale
with L_X / D_L², exposure, effective area and (through the spectrum and the
redshift) with temperature.

Examples
--------
>>> from astroclustermass.simulate.photons import counts_per_luminosity
>>> from astroclustermass.simulate.config import MockConfig
>>> c1 = counts_per_luminosity(3.0, 0.1, 2000.0, MockConfig())
>>> c2 = counts_per_luminosity(3.0, 0.2, 2000.0, MockConfig())
>>> bool(c1 > 3 * c2)  # roughly the distance squared
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cosmology import get_cosmology, transverse_comoving_distance_h
from ..exceptions import InputError
from .agn import draw_cluster_agn, draw_field_agn
from .background import particle_counts_spectrum, sky_counts_spectrum
from .config import MockConfig
from .icm import icm_components, sample_icm_photons
from .instrument import (
    ARCSEC,
    apply_energy_resolution,
    effective_area,
    quantise,
    sample_psf_offsets,
    tangent_to_sky,
)
from .spectra import (
    KEV_TO_ERG,
    band_energy_integral,
    energy_grid,
    photoabsorption,
    powerlaw_spectrum,
    sample_energies,
    thermal_spectrum,
)

__all__ = [
    "SRC_ICM",
    "SRC_CLUSTER_AGN",
    "SRC_FIELD_AGN",
    "SRC_BACKGROUND",
    "ClusterEvents",
    "field_halfwidth",
    "counts_per_luminosity",
    "simulate_cluster_events",
]

#: SRC_ID values written to the event files.
SRC_ICM, SRC_CLUSTER_AGN, SRC_FIELD_AGN, SRC_BACKGROUND = 1, 2, 3, -1

_MPC_CM = 3.0856775814913673e24
_SPEC_KEYS = (
    "id",
    "ra",
    "dec",
    "redshift",
    "m500c",
    "r500c",
    "T",
    "L_X",
    "core_excess",
    "cool_core",
    "x_c",
    "beta",
    "x_cc",
    "q",
    "pa",
    "shift_x",
    "shift_y",
    "sub_frac",
    "sub_x",
    "sub_y",
    "sub_rc",
)
_FIELD_AGN_Z = 1.0


@dataclass
class ClusterEvents:
    """The simulated events of one cluster field.

    Attributes
    ----------
    columns : dict of ndarray
        SIXTE event columns, time-ordered: ``TIME``, ``FRAME``, ``PHA``,
        ``SIGNAL``, ``PI``, ``RA``, ``DEC``, ``RAWX``, ``RAWY``, ``PH_ID``,
        ``SRC_ID``.
    header : dict
        Keywords for the EVENTS header (EXPOSURE, RA_OBJ, DEC_OBJ, ...).
    counts : dict
        ``n_icm``, ``n_agn``, ``n_bkg``: events of each source in the file.
    """

    columns: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.columns["TIME"].size) if self.columns else 0


def field_halfwidth(z: float, config: MockConfig, cosmology=None) -> float:
    """Half-width (radians) of the simulated square field at redshift ``z``.

    At least ``field_min_halfwidth_deg``, and wide enough to contain the
    ±``aperture`` comoving image box plus a 2′ margin (0.71° at z = 0.066).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(np.degrees(field_halfwidth(0.066340191, MockConfig()))), 2)
    0.71
    """
    d_m = float(transverse_comoving_distance_h(z, cosmology))
    need = config.aperture / d_m + 120.0 * ARCSEC
    return max(np.radians(config.field_min_halfwidth_deg), need)


def _grid(config: MockConfig):
    edges, centres = energy_grid(config.energy_min, config.energy_max, 0.01)
    response = effective_area(centres, config.area_scale) * photoabsorption(centres, config.nh_gal)
    return edges, centres, response * np.diff(edges)


def _distance_cm2(z: float, cosmology) -> float:
    cosmology = get_cosmology(cosmology)
    d_m = float(transverse_comoving_distance_h(z, cosmology)) / cosmology.h * _MPC_CM
    return 4.0 * np.pi * d_m**2


def counts_per_luminosity(
    kt: float, z: float, exposure: float, config: MockConfig, cosmology=None
) -> float:
    """Expected ICM counts per erg/s of rest-frame 0.5–2 keV luminosity.

    Examples
    --------
    >>> c = counts_per_luminosity(2.0, 0.2, 2000.0, MockConfig())
    >>> 1e-41 < c < 1e-39
    True
    """
    edges, centres, resp = _grid(config)
    lum_norm = band_energy_integral(thermal_spectrum, kt=kt, abundance=config.abundance)
    spec = thermal_spectrum((1 + z) * centres, kt, config.abundance) / (lum_norm * KEV_TO_ERG)
    return float(exposure * np.sum(resp * spec) / _distance_cm2(z, cosmology))


def _powerlaw_rates(nh_logs, z: float, exposure: float, config: MockConfig, resp, centres):
    """Counts per unit unabsorbed observed 0.5–2 keV flux, and count spectra, per N_H."""
    g = config.agn_gamma
    flux_norm = band_energy_integral(powerlaw_spectrum, gamma=g) * KEV_TO_ERG
    nh = 10.0 ** np.asarray(nh_logs, dtype=float)[:, None]
    spectra = resp * powerlaw_spectrum(centres, g) * photoabsorption((1 + z) * centres, nh)
    return exposure * spectra.sum(axis=1) / flux_norm, spectra


def _psf(n, rng, config):
    return sample_psf_offsets(n, rng, config.psf_hew_arcsec)


def simulate_cluster_events(
    spec: dict,
    config: MockConfig | None = None,
    exposure: float = 2000.0,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    cosmology=None,
) -> ClusterEvents:
    """Simulate the event list of one cluster observation.

    Parameters
    ----------
    spec : dict
        One cluster: ``id``, ``ra``, ``dec`` (deg), ``redshift``, ``m500c``
        (h⁻¹ M☉), ``r500c`` (comoving h⁻¹ Mpc), ``T`` (keV), ``L_X`` (erg/s),
        ``core_excess``, ``cool_core`` and the morphology of
        `astroclustermass.simulate.icm.draw_morphology` (one row). A row of
        `MockUniverse.cluster_spec` has all of them.
    config : MockConfig, optional
        Physical parameters (defaults if None).
    exposure : float
        Exposure time (s).
    seed : int, SeedSequence or Generator
        Randomness for this cluster only.
    cosmology : astropy FLRW, optional
        Default WMAP7.

    Returns
    -------
    ClusterEvents
        Event columns, header keywords and per-source counts.

    Examples
    --------
    >>> from astroclustermass.simulate import MockUniverse
    >>> u = MockUniverse(n_clusters=2, seed=3)
    >>> ev = simulate_cluster_events(u.cluster_spec(0), u.config, 2000.0, seed=1)
    >>> sum(ev.counts.values()) == len(ev)
    True
    """
    missing = sorted(set(_SPEC_KEYS) - set(spec))
    if missing:
        raise InputError(
            f"cluster spec lacks {missing}; build it with MockUniverse.cluster_spec(i) or give "
            f"all of {sorted(_SPEC_KEYS)}"
        )
    exposure = float(exposure)
    if not np.isfinite(exposure) or exposure <= 0:
        raise InputError(f"exposure must be a positive number of seconds; got {exposure}")
    config = MockConfig() if config is None else config
    cosmology = get_cosmology(cosmology)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    z = float(spec["redshift"])
    d_m = float(transverse_comoving_distance_h(z, cosmology))  # h^-1 Mpc
    halfwidth = field_halfwidth(z, config, cosmology)
    edges, centres, resp = _grid(config)
    parts_xi, parts_eta, parts_e, parts_src, parts_fold = [], [], [], [], []

    # --- ICM
    kt = float(spec["T"])
    comp = icm_components(spec, config)
    cpl = counts_per_luminosity(kt, z, exposure, config, cosmology)
    n_outer = int(rng.poisson(cpl * comp["lum_outer"]))
    n_core = int(rng.poisson(cpl * comp["lum_core"]))
    n_sub = [int(rng.poisson(cpl * lum)) for lum in comp["lum_sub"]]
    ph = sample_icm_photons({"outer": n_outer, "core": n_core, "sub": n_sub}, spec, comp, rng)
    scale = float(spec["r500c"]) / d_m
    t_phot = np.clip(kt * ph["t_factor"], 0.08, 60.0)
    if t_phot.size:
        lt = np.log10(t_phot)
        lo = np.floor(lt.min() / 0.04) * 0.04
        idx = np.floor((lt - lo) / 0.04).astype(np.int64)
        t_bins = 10.0 ** (lo + 0.04 * (np.arange(idx.max() + 1) + 0.5))
        spectra = resp * thermal_spectrum((1 + z) * centres, t_bins[:, None], config.abundance)
        e_icm = sample_energies(spectra, idx, edges, rng)
    else:
        e_icm = np.empty(0)
    parts_xi.append(ph["x"] * scale)
    parts_eta.append(ph["y"] * scale)
    parts_e.append(e_icm)
    parts_src.append(np.full(e_icm.size, SRC_ICM))
    parts_fold.append(np.ones(e_icm.size, bool))

    # --- cluster AGN
    agn = draw_cluster_agn(float(spec["m500c"]), float(spec["r500c"]), config, rng)
    rate, pl_spectra = _powerlaw_rates(config.agn_nh_logs, z, exposure, config, resp, centres)
    d_l2 = _distance_cm2(z, cosmology) * (1 + z) ** 2
    flux = agn["lum"] * (1 + z) ** (config.agn_gamma - 2.0) / d_l2
    n_each = rng.poisson(flux * rate[agn["nh_index"]])
    src_of = np.repeat(np.arange(n_each.size), n_each)
    e_agn = sample_energies(pl_spectra, agn["nh_index"][src_of], edges, rng)
    parts_xi.append(agn["x"][src_of] / d_m)
    parts_eta.append(agn["y"][src_of] / d_m)
    parts_e.append(e_agn)
    parts_src.append(np.full(e_agn.size, SRC_CLUSTER_AGN))
    parts_fold.append(np.ones(e_agn.size, bool))

    # --- field AGN
    fld = draw_field_agn(halfwidth, config, rng)
    rate_f, pl_f = _powerlaw_rates(
        config.agn_nh_logs, _FIELD_AGN_Z, exposure, config, resp, centres
    )
    n_each = rng.poisson(fld["flux"] * rate_f[fld["nh_index"]])
    src_of = np.repeat(np.arange(n_each.size), n_each)
    e_fld = sample_energies(pl_f, fld["nh_index"][src_of], edges, rng)
    parts_xi.append(fld["xi"][src_of])
    parts_eta.append(fld["eta"][src_of])
    parts_e.append(e_fld)
    parts_src.append(np.full(e_fld.size, SRC_FIELD_AGN))
    parts_fold.append(np.ones(e_fld.size, bool))

    # --- sky and particle background (uniform over the field)
    area_deg2 = (2.0 * np.degrees(halfwidth)) ** 2
    bscale = config.background_scale * exposure * area_deg2
    sky = sky_counts_spectrum(edges, config)
    n_sky = int(rng.poisson(bscale * sky.sum()))
    e_sky = sample_energies(sky[None, :], np.zeros(n_sky, np.int64), edges, rng)
    part = particle_counts_spectrum(edges, config)
    n_part = int(rng.poisson(bscale * part.sum()))
    e_part = sample_energies(part[None, :], np.zeros(n_part, np.int64), edges, rng)
    n_bkg = n_sky + n_part
    parts_xi.append((2 * rng.random(n_bkg) - 1) * halfwidth)
    parts_eta.append((2 * rng.random(n_bkg) - 1) * halfwidth)
    parts_e.append(np.concatenate([e_sky, e_part]))
    parts_src.append(np.full(n_bkg, SRC_BACKGROUND))
    # the particle background is not focused and is already in detected energy
    parts_fold.append(np.concatenate([np.ones(n_sky, bool), np.zeros(n_part, bool)]))

    # --- instrument
    xi = np.concatenate(parts_xi)
    eta = np.concatenate(parts_eta)
    energy = np.concatenate(parts_e)
    src = np.concatenate(parts_src).astype(np.int32)
    fold = np.concatenate(parts_fold)
    nf = int(fold.sum())
    dx, dy = _psf(nf, rng, config)
    xi[fold] += dx
    eta[fold] += dy
    signal = energy.copy()
    signal[fold] = apply_energy_resolution(energy[fold], rng)
    keep = (
        (np.abs(xi) <= halfwidth)
        & (np.abs(eta) <= halfwidth)
        & (signal >= config.energy_min)
        & (signal < config.energy_max)
    )
    xi, eta, signal, src = xi[keep], eta[keep], signal[keep], src[keep]
    xi_q, eta_q, ix, iy = quantise(xi, eta, config.pixel_arcsec)
    ra, dec = tangent_to_sky(xi_q, eta_q, float(spec["ra"]), float(spec["dec"]))
    n = signal.size
    time = np.sort(rng.random(n) * exposure, kind="stable")
    order = rng.permutation(n)  # events arrive in random order of source
    signal, src, ra, dec, ix, iy = (a[order] for a in (signal, src, ra, dec, ix, iy))
    half_pix = int(np.ceil(halfwidth / (config.pixel_arcsec * ARCSEC)))
    signal32 = signal.astype(np.float32)
    signal = signal32.astype(np.float64)
    columns = {
        "TIME": time,
        "FRAME": np.floor(time / config.frame_time).astype(np.int32),
        "PHA": np.clip(np.floor(signal / 0.005), 0, 4095).astype(np.int32),
        "SIGNAL": signal32,
        "PI": np.rint(signal * 1000.0).astype(np.int32),
        "RA": ra,
        "DEC": dec,
        "RAWX": (ix + half_pix + 1).astype(np.int16),
        "RAWY": (iy + half_pix + 1).astype(np.int16),
        "PH_ID": np.arange(1, n + 1, dtype=np.int32),
        "SRC_ID": src.astype(np.int32),
    }
    header = {
        "EXPOSURE": float(exposure),
        "RA_OBJ": float(spec["ra"]),
        "DEC_OBJ": float(spec["dec"]),
        "RA_PNT": float(spec["ra"]),
        "DEC_PNT": float(spec["dec"]),
        "REDSHIFT": z,
        "OBJECT": f"cluster_{int(spec['id']):05d}",
        "FOVHALF": float(np.degrees(halfwidth)),
        "PIXSIZE": float(config.pixel_arcsec),
        "PSF_HEW": float(config.psf_hew_arcsec),
    }
    counts = {
        "n_icm": int(np.sum(src == SRC_ICM)),
        "n_agn": int(np.sum((src == SRC_CLUSTER_AGN) | (src == SRC_FIELD_AGN))),
        "n_bkg": int(np.sum(src == SRC_BACKGROUND)),
    }
    return ClusterEvents(columns=columns, header=header, counts=counts)
