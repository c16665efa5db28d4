"""Regenerate the tiny event files shipped for the tests (deterministic).

Run from anywhere: ``python tests/data/make_test_files.py``. Writes, next to
this script:

``sixte_events.fits``
    written by the package itself (`EventList.write`) in the SIXTE layout:
    300 events of a z = 0.2 cluster at (150.0, 2.2) deg with TIME, SRC_ID
    (1 = ICM, 2 = cluster AGN, 3 = field AGN, -1 = background; mapped by the
    SRCICM/SRCAGN/SRCBKG keywords), PH_ID and header metadata.
``esass_events.fits``
    made by hand with astropy in the eSASS layout: an ``EVENTS`` table with
    TIME, RA, DEC, X, Y, PI (float, eV), FLAG, PAT_TYP and a ``GTI``
    extension; exposure only as LIVETIME/ONTIME; no SIGNAL, no SRC_ID.
``phox_phlist.fits``
    a PHOX/SIXTE-style photon list like the reference code's ``phlist.fits``:
    an unrelated table in HDU 1 and ``RA``, ``DEC``, ``ENERGY`` (keV) in HDU 2,
    centred on (10, 10) deg.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits

from astroclustermass.events import SOURCE_AGN, SOURCE_BACKGROUND, SOURCE_ICM, EventList

HERE = Path(__file__).resolve().parent


def _sky(rng, n, ra0, dec0, scale_deg):
    ra = ra0 + rng.normal(0.0, scale_deg, n) / np.cos(np.radians(dec0))
    dec = dec0 + rng.normal(0.0, scale_deg, n)
    return ra, dec


def make_sixte(path: Path) -> None:
    rng = np.random.default_rng(20230301)
    n = 300
    src_id = rng.choice([1, 2, 3, -1], size=n, p=[0.6, 0.15, 0.05, 0.2]).astype(np.int32)
    ra, dec = _sky(rng, n, 150.0, 2.2, 0.05)
    bkg = src_id == -1
    ra[bkg] = 150.0 + rng.uniform(-0.25, 0.25, bkg.sum())
    dec[bkg] = 2.2 + rng.uniform(-0.25, 0.25, bkg.sum())
    energy = np.exp(rng.uniform(np.log(0.2), np.log(10.0), n)).astype(np.float32)
    codes = {1: SOURCE_ICM, 2: SOURCE_AGN, 3: SOURCE_AGN, -1: SOURCE_BACKGROUND}
    ev = EventList(
        SkyCoord(ra * u.deg, dec * u.deg),
        energy.astype(np.float64) * u.keV,
        time=np.sort(rng.uniform(0.0, 2000.0, n)) * u.s,
        source=np.array([codes[int(s)] for s in src_id], dtype=np.int8),
        src_id=src_id,
        meta={
            "telescope": "SRG",
            "instrument": "eROSITA",
            "exposure": 2000.0,
            "object": "mock_cluster_0007",
            "ra_obj": 150.0,
            "dec_obj": 2.2,
            "redshift": 0.2,
            "creator": "astroclustermass tests/data/make_test_files.py",
            "source_map": {1: "icm", 2: "agn", 3: "agn", -1: "background"},
        },
    )
    ev._extra["PH_ID"] = np.arange(1, n + 1, dtype=np.int32)
    ev.write(path, overwrite=True)


def make_esass(path: Path) -> None:
    rng = np.random.default_rng(20230302)
    n = 200
    ra, dec = _sky(rng, n, 135.5, -1.0, 0.04)
    pi = np.round(np.exp(rng.uniform(np.log(200.0), np.log(10000.0), n)), 1).astype(np.float32)
    cols = [
        fits.Column("TIME", "D", unit="s", array=np.sort(rng.uniform(6.1e8, 6.1e8 + 1500, n))),
        fits.Column("RA", "D", unit="deg", array=ra),
        fits.Column("DEC", "D", unit="deg", array=dec),
        fits.Column("X", "E", unit="pixel", array=rng.uniform(-2e4, 2e4, n).astype(np.float32)),
        fits.Column("Y", "E", unit="pixel", array=rng.uniform(-2e4, 2e4, n).astype(np.float32)),
        fits.Column("PI", "E", unit="eV", array=pi),
        fits.Column("FLAG", "J", array=np.zeros(n, np.int32)),
        fits.Column("PAT_TYP", "I", array=rng.integers(1, 5, n).astype(np.int16)),
    ]
    events = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    primary = fits.PrimaryHDU()
    for h in (primary.header, events.header):
        h["TELESCOP"] = "eROSITA"
        h["INSTRUME"] = "TM1"
        h["OBS_ID"] = "300007"
        h["DATE-OBS"] = "2019-11-03T00:00:00"
    events.header["ONTIME"] = 1500.0
    events.header["LIVETIME"] = 1480.5
    gti = fits.BinTableHDU.from_columns(
        [fits.Column("START", "D", array=[6.1e8]), fits.Column("STOP", "D", array=[6.1e8 + 1500])],
        name="GTI1",
    )
    fits.HDUList([primary, events, gti]).writeto(path, overwrite=True)


def make_phox(path: Path) -> None:
    rng = np.random.default_rng(20230303)
    n = 250
    ra, dec = _sky(rng, n, 10.0, 10.0, 0.03)
    energy = np.exp(rng.uniform(np.log(0.1), np.log(12.0), n)).astype(np.float32)
    hdu1 = fits.BinTableHDU.from_columns(
        [fits.Column("SRC_ID", "J", array=[1]), fits.Column("FLUX", "E", array=[1.0e-13])],
        name="SRC_CAT",
    )
    hdu2 = fits.BinTableHDU.from_columns(
        [
            fits.Column("TIME", "D", unit="s", array=np.sort(rng.uniform(0, 1e4, n))),
            fits.Column("ENERGY", "E", unit="keV", array=energy),
            fits.Column("RA", "D", unit="deg", array=ra),
            fits.Column("DEC", "D", unit="deg", array=dec),
        ],
        name="PHLIST",
    )
    fits.HDUList([fits.PrimaryHDU(), hdu1, hdu2]).writeto(path, overwrite=True)


def main() -> None:
    make_sixte(HERE / "sixte_events.fits")
    make_esass(HERE / "esass_events.fits")
    make_phox(HERE / "phox_phlist.fits")


if __name__ == "__main__":
    main()
