"""Sky and particle background.

* **Sky** (focused, so folded through the effective area): the unresolved
  cosmic X-ray background, a Γ = 1.45 power law of ``cxb_norm`` photons
  cm⁻² s⁻¹ sr⁻¹ keV⁻¹ at 1 keV (≈ 10.9; e.g. Moretti et al. 2009), absorbed
  by the Galactic column, plus the Galactic foreground, a kT = 0.2 keV
  thermal plasma with 0.5–2 keV surface brightness ``galactic_sb``.
* **Particle background** (not focused): ``particle_rate`` counts s⁻¹ deg⁻²
  flat in detected energy over the simulated band, with 10 % in the Al-Kα
  fluorescence line at 1.49 keV. The eROSITA filter-wheel-closed rate is
  ≈ 90–170 counts/min per module in 0.5–10 keV, ≈ 14 counts/s/deg² for the
  seven modules.

Both are scaled by ``background_scale`` (see `MockConfig`).

Examples
--------
>>> from astroclustermass.simulate.config import MockConfig
>>> from astroclustermass.simulate.background import sky_counts_spectrum
>>> from astroclustermass.simulate.spectra import energy_grid
>>> edges, centres = energy_grid()
>>> spec = sky_counts_spectrum(edges, MockConfig())
>>> 1 < float(spec.sum()) < 100  # counts/s/deg², survey level
True
"""

from __future__ import annotations

import numpy as np

from .config import MockConfig
from .instrument import effective_area
from .spectra import KEV_TO_ERG, band_energy_integral, photoabsorption, thermal_spectrum

__all__ = ["sky_counts_spectrum", "particle_counts_spectrum"]

_SR_PER_DEG2 = (np.pi / 180.0) ** 2


def sky_counts_spectrum(edges: np.ndarray, config: MockConfig) -> np.ndarray:
    """Expected sky counts per s per deg² in each energy bin (before scaling).

    Examples
    --------
    >>> import numpy as np
    >>> s = sky_counts_spectrum(np.linspace(0.2, 12.0, 1181), MockConfig())
    >>> int(np.argmax(s)) < 200  # soft
    True
    """
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    absorb = photoabsorption(centres, config.nh_gal)
    area = effective_area(centres, config.area_scale)
    cxb = config.cxb_norm * centres**-1.45 * _SR_PER_DEG2  # ph/cm2/s/deg2/keV
    shape = thermal_spectrum(centres, 0.2, 1.0)
    norm = config.galactic_sb / (
        band_energy_integral(thermal_spectrum, kt=0.2, abundance=1.0) * KEV_TO_ERG
    )
    gal = norm * shape
    return (cxb + gal) * absorb * area * width


def particle_counts_spectrum(edges: np.ndarray, config: MockConfig) -> np.ndarray:
    """Expected particle counts per s per deg² in each detected-energy bin (before scaling).

    Examples
    --------
    >>> import numpy as np
    >>> s = particle_counts_spectrum(np.linspace(0.2, 12.0, 1181), MockConfig())
    >>> round(float(s.sum()), 6) == MockConfig().particle_rate
    True
    """
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    flat = width / width.sum()
    line = np.exp(-0.5 * ((centres - 1.49) / 0.035) ** 2) * width
    line = line / line.sum() if line.sum() > 0 else flat
    return config.particle_rate * (0.9 * flat + 0.1 * line)
