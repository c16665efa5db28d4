"""An eROSITA-like instrument: effective area, PSF, energy resolution, sky pixels.

* **Effective area**: a smooth curve for the seven telescope modules,
  averaged over the field of view as in survey mode, after Predehl et al.
  (2021, Fig. 9): ≈ 1,100 cm² around 1 keV, a drop at the gold M-edge
  (2.2 keV) and a fast fall to ≈ 100 cm² at 5 keV and ≈ 8 cm² at 10 keV.
  ``area_scale`` multiplies it.
* **PSF**: a King profile P(r) ∝ (1 + (r/r_c)²)^(−3/2), whose half-energy
  width is HEW = 2√3 r_c; the survey-averaged eROSITA HEW is ≈ 26–30″.
* **Energy resolution**: Gaussian with FWHM² = (44 eV)² + 2.67 eV·E, i.e.
  ≈ 77 eV at 1.5 keV and ≈ 138 eV at 6.4 keV.
* **Sky pixels**: event positions are put at the centre of their 9.6″ sky
  pixel (the paper's SIXTE pixel; 75 µm on the CCD), on a tangent-plane grid
  about the pointing.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.instrument import effective_area
>>> a = effective_area(np.array([1.0, 2.0, 5.0]))
>>> bool(a[0] > a[1] > a[2])
True
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "effective_area",
    "psf_core_radius",
    "sample_psf_offsets",
    "energy_resolution_sigma",
    "apply_energy_resolution",
    "sky_to_tangent",
    "tangent_to_sky",
    "quantise",
    "ARCSEC",
]

#: One arcsecond in radians.
ARCSEC = np.pi / 180.0 / 3600.0

_AREA_E = np.array(
    [
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.7,
        1.0,
        1.2,
        1.5,
        1.8,
        2.0,
        2.2,
        2.3,
        2.5,
        3.0,
        4.0,
        5.0,
        6.0,
        7.0,
        8.0,
        9.0,
        10.0,
        12.0,
        15.0,
    ]
)
_AREA_CM2 = np.array(
    [
        20.0,
        300.0,
        700.0,
        850.0,
        950.0,
        1050.0,
        1100.0,
        1100.0,
        1000.0,
        900.0,
        800.0,
        600.0,
        560.0,
        480.0,
        320.0,
        170.0,
        110.0,
        75.0,
        45.0,
        25.0,
        14.0,
        8.0,
        3.0,
        1.0,
    ]
)


def effective_area(energy, area_scale: float = 1.0) -> np.ndarray:
    """Effective area (cm²) at observer-frame energies (keV); log–log interpolated.

    Examples
    --------
    >>> round(float(effective_area(1.0)))
    1100
    """
    e = np.clip(np.asarray(energy, dtype=float), _AREA_E[0], _AREA_E[-1])
    return area_scale * np.exp(np.interp(np.log(e), np.log(_AREA_E), np.log(_AREA_CM2)))


def psf_core_radius(hew_arcsec: float) -> float:
    """King core radius (radians) of a β = 3/2 King PSF with the given HEW.

    Examples
    --------
    >>> round(float(psf_core_radius(30.0) / ARCSEC), 2)
    8.66
    """
    return hew_arcsec / (2.0 * np.sqrt(3.0)) * ARCSEC


def sample_psf_offsets(
    n: int, rng: np.random.Generator, hew_arcsec: float, max_radius_arcsec: float = 300.0
):
    """Random PSF offsets (radians) of ``n`` photons, King profile truncated at a radius.

    The enclosed fraction of the β = 3/2 King profile is
    F(r) = 1 − (1 + r²/r_c²)^(−1/2), inverted analytically.

    Examples
    --------
    >>> import numpy as np
    >>> dx, dy = sample_psf_offsets(20000, np.random.default_rng(1), 30.0)
    >>> r = np.hypot(dx, dy) / ARCSEC
    >>> 28 < 2 * float(np.median(r)) < 31  # the half-energy width (wings cut at 5')
    True
    """
    rc = psf_core_radius(hew_arcsec)
    f_max = 1.0 - 1.0 / np.sqrt(1.0 + (max_radius_arcsec * ARCSEC / rc) ** 2)
    u = rng.random(n) * f_max
    r = rc * np.sqrt((1.0 - u) ** -2 - 1.0)
    phi = rng.random(n) * 2.0 * np.pi
    return r * np.cos(phi), r * np.sin(phi)


def energy_resolution_sigma(energy) -> np.ndarray:
    """Gaussian σ (keV) of the energy redistribution at ``energy`` (keV).

    Examples
    --------
    >>> round(float(energy_resolution_sigma(6.4)) * 2.3548, 3)
    0.138
    """
    e = np.asarray(energy, dtype=float)
    return np.sqrt(0.044**2 + 0.002671 * e) / 2.3548


def apply_energy_resolution(energy, rng: np.random.Generator, floor: float = 0.01) -> np.ndarray:
    """Measured energies: true energies blurred by the detector resolution.

    Examples
    --------
    >>> import numpy as np
    >>> e = apply_energy_resolution(np.full(10000, 6.4), np.random.default_rng(0))
    >>> round(float(np.std(e)), 2)
    0.06
    """
    e = np.asarray(energy, dtype=float)
    out = e + energy_resolution_sigma(e) * rng.standard_normal(e.size)
    return np.maximum(out, floor)


def sky_to_tangent(ra, dec, ra0: float, dec0: float):
    """Gnomonic projection: (ra, dec) deg → (ξ, η) radians about (ra0, dec0).

    ξ grows towards increasing RA (east), η towards increasing Dec (north).

    Examples
    --------
    >>> xi, eta = sky_to_tangent(10.0, 10.0, 10.0, 10.0)
    >>> float(xi), float(eta)
    (0.0, 0.0)
    """
    a = np.radians(np.asarray(ra, dtype=float))
    d = np.radians(np.asarray(dec, dtype=float))
    a0, d0 = np.radians(ra0), np.radians(dec0)
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cosc
    eta = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
    return xi, eta


def tangent_to_sky(xi, eta, ra0: float, dec0: float):
    """Inverse gnomonic projection: (ξ, η) radians → (ra, dec) deg, ra in [0, 360).

    Examples
    --------
    >>> import numpy as np
    >>> ra, dec = tangent_to_sky(np.array([1e-3]), np.array([-2e-3]), 30.0, 45.0)
    >>> xi, eta = sky_to_tangent(ra, dec, 30.0, 45.0)
    >>> np.allclose([xi[0], eta[0]], [1e-3, -2e-3])
    True
    """
    xi = np.asarray(xi, dtype=float)
    eta = np.asarray(eta, dtype=float)
    a0, d0 = np.radians(ra0), np.radians(dec0)
    rho = np.hypot(xi, eta)
    c = np.arctan(rho)
    sinc, cosc = np.sin(c), np.cos(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(rho > 0, eta * sinc / np.where(rho > 0, rho, 1.0), 0.0)
    dec = np.arcsin(cosc * np.sin(d0) + ratio * np.cos(d0))
    ra = a0 + np.arctan2(xi * sinc, rho * np.cos(d0) * cosc - eta * np.sin(d0) * sinc)
    return np.degrees(ra) % 360.0, np.degrees(dec)


def quantise(xi, eta, pixel_arcsec: float):
    """Snap tangent-plane positions to pixel centres; returns (ξ, η, ix, iy).

    Pixel ``k`` covers [(k − ½) p, (k + ½) p), so the pointing sits at the
    centre of pixel 0.

    Examples
    --------
    >>> import numpy as np
    >>> xi, eta, ix, iy = quantise(np.array([14.0 * ARCSEC]), np.array([-3.0 * ARCSEC]), 9.6)
    >>> int(ix[0]), int(iy[0]), round(float(xi[0] / ARCSEC), 1)
    (1, 0, 9.6)
    """
    p = pixel_arcsec * ARCSEC
    ix = np.floor(np.asarray(xi) / p + 0.5).astype(np.int64)
    iy = np.floor(np.asarray(eta) / p + 0.5).astype(np.int64)
    return ix * p, iy * p, ix, iy
