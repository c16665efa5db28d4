"""Photon maps of beta-model clusters for the CNN tests (shared by several test files)."""

from __future__ import annotations

import numpy as np

from astroclustermass.bands import get_bands

APERTURE = 2.3


def beta_model_maps(rng, n, npix, band_set, brightness, log_scatter):
    """Mock multi-band photon maps whose counts and shape scale with mass.

    Each cluster is a beta model (beta = 2/3) of core radius ∝ M^(1/3) (1 %
    scatter) and total counts ``brightness`` × M^1.5 / z (log-normal scatter
    ``log_scatter`` dex), shared among the bands with a mass-dependent
    hardness, on a flat background; Poisson counts.

    Returns
    -------
    logm, z, m, r500, r2, images
        Log masses, redshifts, masses in units of 10^14.3, R500 (∝ M^(1/3)),
        squared pixel-centre radii (npix, npix) and the int32 maps
        (n, n_band, npix, npix).
    """
    logm = rng.uniform(13.6, 15.0, n)
    z = rng.uniform(0.1, 0.4, n)
    m = 10 ** (logm - 14.3)
    r500 = 0.6 * m ** (1 / 3)
    rc = 0.3 * m ** (1 / 3) * 10 ** rng.normal(0, 0.01, n)
    total = brightness * m**1.5 * 10 ** rng.normal(0, log_scatter, n) * (0.2 / z)
    edges = np.linspace(-APERTURE, APERTURE, npix + 1)
    c = 0.5 * (edges[1:] + edges[:-1])
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    profile = (1 + r2[None] / rc[:, None, None] ** 2) ** -1.5
    profile /= profile.sum(axis=(1, 2), keepdims=True)
    n_band = get_bands(band_set).n_bands
    tilt = np.linspace(-1, 1, n_band)[None, :]
    frac = np.linspace(1.0, 0.5, n_band)[None, :] * (1 + 0.3 * np.log10(m)[:, None] * tilt)
    frac = np.clip(frac, 0.05, None)
    frac /= frac.sum(axis=1, keepdims=True)
    lam = total[:, None, None, None] * frac[:, :, None, None] * profile[:, None] + 0.02
    images = rng.poisson(lam).astype(np.int32)
    return logm, z, m, r500, r2, images
