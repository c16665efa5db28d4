"""Photon spectra of the ICM, AGN and background, and sampling from them.

* **ICM**: thermal bremsstrahlung, dN/dE ∝ g(E, T) e^(−E/kT) / (E √T), with a
  smooth Gaunt-factor approximation g = 1 + 0.55 ln(1 + 2.25 kT/E), plus the
  main line complexes of a Z = 0.3 Z☉ plasma (O, Fe-L, Mg, Si, S, Fe-K) as
  Gaussians whose equivalent widths peak at the temperature where the ion
  is most abundant. This is an approximation to APEC good enough to make
  band ratios temperature dependent: cool groups are Fe-L dominated and soft,
  hot clusters hard with a Fe-K line.
* **AGN**: absorbed power laws, dN/dE ∝ E^(−Γ) e^(−σ(E) N_H), Γ ≈ 1.9
  (Nandra & Pounds 1994), intrinsic N_H up to 10²³ cm⁻².
* **Sky background**: a 0.2 keV thermal Galactic foreground and the
  unresolved cosmic X-ray background, a Γ = 1.45 power law absorbed by the
  Galactic column; the **particle background** is flat in detected energy.

Absorption uses σ(E) = 2.4×10⁻²² (E / keV)^(−8/3) cm² per H atom, a power-law
approximation to Morrison & McCammon (1983).

Spectra are tabulated on the observer-frame energy grid of `energy_grid` and
sampled by inverse transform (`sample_energies`), vectorised over photons.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.spectra import thermal_spectrum
>>> e = np.array([0.5, 2.0, 6.0])
>>> cool, hot = thermal_spectrum(e, 1.0), thermal_spectrum(e, 8.0)
>>> bool(hot[2] / hot[0] > cool[2] / cool[0])
True
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid

__all__ = [
    "KEV_TO_ERG",
    "energy_grid",
    "photoabsorption",
    "thermal_spectrum",
    "powerlaw_spectrum",
    "band_energy_integral",
    "sample_energies",
]

#: 1 keV in erg.
KEV_TO_ERG = 1.602176634e-9

# line complexes: centre (keV), Gaussian sigma (keV), peak EW at Z=0.3 (keV),
# temperature of the peak (keV), width of the peak in ln T
_LINES = np.array(
    [
        [0.60, 0.05, 0.15, 0.30, 0.70],  # O VII / O VIII
        [0.95, 0.12, 0.60, 0.90, 0.55],  # Fe-L complex (+ Ne)
        [1.40, 0.04, 0.05, 1.20, 0.60],  # Mg XI / XII
        [1.90, 0.05, 0.08, 1.50, 0.70],  # Si XIII / XIV
        [2.50, 0.05, 0.05, 2.00, 0.70],  # S XV / XVI
        [6.70, 0.06, 0.35, 4.00, 0.80],  # Fe XXV K
        [6.97, 0.05, 0.10, 10.0, 0.70],  # Fe XXVI K
    ]
)


def energy_grid(e_min: float = 0.2, e_max: float = 12.0, step: float = 0.01):
    """Edges and centres (keV) of the tabulation grid.

    Examples
    --------
    >>> edges, centres = energy_grid(0.5, 1.0, 0.1)
    >>> len(edges), round(float(centres[0]), 2)
    (6, 0.55)
    """
    n = int(round((e_max - e_min) / step))
    edges = np.linspace(e_min, e_max, n + 1)
    return edges, 0.5 * (edges[1:] + edges[:-1])


def photoabsorption(energy, nh) -> np.ndarray:
    """Transmission e^(−σ(E) N_H) for columns ``nh`` (cm⁻²); broadcasts.

    Examples
    --------
    >>> round(float(photoabsorption(1.0, 1e22)), 3)
    0.091
    """
    e = np.asarray(energy, dtype=float)
    return np.exp(-2.4e-22 * e ** (-8.0 / 3.0) * np.asarray(nh, dtype=float))


def thermal_spectrum(energy, kt, abundance: float = 0.3) -> np.ndarray:
    """Rest-frame photon spectrum (arbitrary units) of a hot plasma.

    Parameters
    ----------
    energy : array
        Rest-frame energies (keV).
    kt : float or array
        Temperatures (keV); an array of shape (n, 1) gives n spectra.
    abundance : float
        Metallicity in solar units (line strengths scale linearly).

    Returns
    -------
    ndarray
        Photons per keV, broadcast over ``energy`` and ``kt``.

    Examples
    --------
    >>> import numpy as np
    >>> s = thermal_spectrum(np.array([0.95, 3.0]), 1.0)
    >>> bool(s[0] > 10 * s[1])
    True
    """
    e = np.asarray(energy, dtype=float)
    t = np.asarray(kt, dtype=float)
    gaunt = 1.0 + 0.55 * np.log1p(2.25 * t / e)
    cont = gaunt * np.exp(-e / t) / (e * np.sqrt(t))
    lines = np.zeros(np.broadcast(e, t).shape)
    scale = abundance / 0.3
    for e0, sig, ew, t_peak, width in _LINES:
        strength = ew * scale * np.exp(-0.5 * (np.log(t / t_peak) / width) ** 2)
        c0 = (1.0 + 0.55 * np.log1p(2.25 * t / e0)) * np.exp(-e0 / t) / (e0 * np.sqrt(t))
        lines = lines + strength * c0 * np.exp(-0.5 * ((e - e0) / sig) ** 2) / (
            np.sqrt(2 * np.pi) * sig
        )
    return cont + lines


def powerlaw_spectrum(energy, gamma: float = 1.9) -> np.ndarray:
    """Photon spectrum E^(−Γ) (photons per keV, normalised to 1 at 1 keV).

    Examples
    --------
    >>> float(powerlaw_spectrum(2.0, 2.0))
    0.25
    """
    return np.asarray(energy, dtype=float) ** (-float(gamma))


def band_energy_integral(spectrum_fn, lo: float = 0.5, hi: float = 2.0, n: int = 600, **kw):
    """∫ E N(E) dE over [lo, hi] keV for a photon spectrum function (keV² units).

    Any extra keyword is passed to ``spectrum_fn``; array-valued keywords
    broadcast against an energy axis placed last.

    Examples
    --------
    >>> round(float(band_energy_integral(powerlaw_spectrum, 1.0, 2.0, gamma=2.0)), 4)
    0.6931
    """
    e = np.linspace(lo, hi, n + 1)
    f = e * spectrum_fn(e, **kw)
    return trapezoid(f, e, axis=-1)


def sample_energies(
    counts_spectra: np.ndarray,
    which: np.ndarray,
    edges: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw photon energies from tabulated count spectra by inverse transform.

    Parameters
    ----------
    counts_spectra : ndarray, shape (n_spec, n_bin)
        Expected counts per bin (any normalisation) of each spectrum.
    which : ndarray of int, shape (n_photon,)
        Index of the spectrum each photon is drawn from.
    edges : ndarray, shape (n_bin + 1,)
        Bin edges (keV).
    rng : numpy Generator
        Random stream.

    Returns
    -------
    ndarray
        Energies (keV), uniform within the chosen bin.

    Examples
    --------
    >>> import numpy as np
    >>> spec = np.array([[0.0, 1.0, 0.0]])
    >>> e = sample_energies(spec, np.zeros(5, int), np.array([0, 1, 2, 3.0]), np.random.default_rng(0))
    >>> bool(np.all((e >= 1) & (e < 2)))
    True
    """
    spectra = np.atleast_2d(np.asarray(counts_spectra, dtype=float))
    which = np.asarray(which, dtype=np.int64)
    cdf = np.cumsum(spectra, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(which.size)
    out_bin = np.empty(which.size, dtype=np.int64)
    for k in np.unique(which):
        sel = which == k
        out_bin[sel] = np.searchsorted(cdf[k], u[sel], side="right")
    out_bin = np.clip(out_bin, 0, spectra.shape[1] - 1)
    width = np.diff(edges)
    return edges[out_bin] + width[out_bin] * rng.random(which.size)
