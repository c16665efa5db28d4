"""Observed scalar proxies measured straight from a simulation directory.

A small, self-contained measurement used by the calibration report, so that
the simulator can check itself without importing the package's readers. It
reads the event files with `astropy.io.fits`, projects photons gnomonically
about ``RA_OBJ``/``DEC_OBJ`` into comoving h⁻¹ Mpc, and counts as Ho et al.
(2023, Sec. 2–3) do:

* ``n_phot``: photons with 0.5 ≤ E < 10 keV in the ±2.3 h⁻¹ Mpc image box;
  ``n_icm_box``, ``n_agn_box``, ``n_bkg_box`` split it by ``SRC_ID``;
* ``n_phot_500c``: the same photons within a projected R500c (times
  ``r500_factor``; the reference code effectively used 2);
* ``n_gal_cylinder``: galaxies with R ≤ 2.3 h⁻¹ Mpc, |v_los| ≤ 3785 km/s
  and m★ ≥ 10^9.5 h⁻¹ M☉ (the N_gal of Table 1);
* ``n_gal`` and ``sigma_v_1d``: galaxies with R ≤ 1.25 h⁻¹ Mpc and
  |v_los| ≤ 2000 km/s kept by 3σ clipping of v_los (5 iterations), their
  number (the richness N_gal of Table 3, "Ngal_clip" in the reference code)
  and standard deviation (ddof = 1; the reference code's "gapper").

Examples
--------
>>> import numpy as np
>>> from astroclustermass.simulate.measure import clipped_std
>>> v = np.r_[np.linspace(-500, 500, 50), 5000.0]
>>> round(float(clipped_std(v)), 1)
297.5
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clip
from astropy.table import Table

from .._utils import defaults, progress_bar
from ..cosmology import cosmology_from_dict, get_cosmology, transverse_comoving_distance_h
from ..exceptions import FileFormatError, MissingColumnError
from .instrument import sky_to_tangent

__all__ = ["clipped_std", "galaxy_observables", "photon_observables", "measure_observables"]


def _clip(v: np.ndarray, sigma: float, maxiters: int) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    if v.size < 2:
        return v
    return sigma_clip(v, sigma=sigma, maxiters=maxiters).compressed()


def clipped_std(v: np.ndarray, sigma: float = 3.0, maxiters: int = 5) -> float:
    """Standard deviation (ddof = 1) after iterative sigma clipping (NaN if < 2 left).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(clipped_std(np.array([1.0, 2.0, 3.0]))), 3)
    1.0
    """
    kept = _clip(v, sigma, maxiters)
    return float(np.std(kept, ddof=1)) if kept.size >= 2 else float("nan")


def galaxy_observables(
    galaxies: Table,
    ids: np.ndarray,
    aperture: float = defaults.APERTURE,
    v_cut: float = defaults.V_MAX,
    m_star_min: float = defaults.M_STAR_MIN,
    r_dyn: float = defaults.R_DYN,
    v_dyn: float = defaults.V_DYN,
) -> dict:
    """Richness (full and clipped small cylinder) and clipped σ_v,1D per cluster id.

    Returns
    -------
    dict of ndarray
        ``n_gal_cylinder``, ``n_gal`` (clipped, small cylinder), ``sigma_v_1d``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> g = Table({"cluster_id": [0, 0, 0], "x_proj": [0.1, 0.2, 2.0], "y_proj": [0.0, 0.0, 0.0],
    ...            "v_los": [-100.0, 100.0, 0.0], "m_star": [1e10, 1e10, 1e10]})
    >>> obs = galaxy_observables(g, np.array([0, 1]))
    >>> obs["n_gal_cylinder"].tolist(), obs["n_gal"].tolist()
    ([3, 0], [2, 0])
    """
    for col in ("cluster_id", "x_proj", "y_proj", "v_los"):
        if col not in galaxies.colnames:
            raise MissingColumnError(f"galaxy table lacks column {col!r}")
    cid = np.asarray(galaxies["cluster_id"], dtype=np.int64)
    r = np.hypot(np.asarray(galaxies["x_proj"], float), np.asarray(galaxies["y_proj"], float))
    v = np.asarray(galaxies["v_los"], dtype=float)
    if "m_star" in galaxies.colnames:
        mass_ok = np.asarray(galaxies["m_star"], dtype=float) >= m_star_min
    else:
        mass_ok = np.ones(v.size, bool)
    ids = np.asarray(ids, dtype=np.int64)
    pos = {int(i): k for k, i in enumerate(ids)}
    n_cyl = np.zeros(ids.size, dtype=np.int64)
    n_gal = np.zeros(ids.size, dtype=np.int64)
    sig = np.full(ids.size, np.nan)
    in_cyl = (r <= aperture) & (np.abs(v) <= v_cut) & mass_ok
    in_dyn = (r <= r_dyn) & (np.abs(v) <= v_dyn) & mass_ok
    order = np.argsort(cid, kind="stable")
    uniq, start = np.unique(cid[order], return_index=True)
    stops = np.r_[start[1:], order.size]
    for c, a, b in zip(uniq, start, stops):
        k = pos.get(int(c))
        if k is None:
            continue
        rows = order[a:b]
        n_cyl[k] = int(in_cyl[rows].sum())
        kept = _clip(v[rows][in_dyn[rows]], 3.0, 5)
        n_gal[k] = kept.size
        sig[k] = float(np.std(kept, ddof=1)) if kept.size >= 2 else np.nan
    return {"n_gal_cylinder": n_cyl, "n_gal": n_gal, "sigma_v_1d": sig}


def _src_set(header, key: str, default: set[int]) -> set[int]:
    val = header.get(key)
    if val is None:
        return default
    return {int(s) for s in str(val).split(",") if s.strip()}


def photon_observables(
    path: str | os.PathLike,
    redshift: float,
    r500c: float | None = None,
    ra: float | None = None,
    dec: float | None = None,
    aperture: float = defaults.APERTURE,
    band: tuple[float, float] = (0.5, 10.0),
    r500_factor: float = 1.0,
    cosmology=None,
) -> dict:
    """Photon counts of one event file in the comoving image box.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astroclustermass.simulate import MockUniverse
    >>> d = MockUniverse(n_clusters=1, seed=0).write(pathlib.Path(tempfile.mkdtemp()) / "s",
    ...                                              n_jobs=1, progress=False)
    >>> obs = photon_observables(d / "events/cluster_00000.fits", 0.2, 0.5)
    >>> obs["n_phot"] == obs["n_icm_box"] + obs["n_agn_box"] + obs["n_bkg_box"]
    True
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            if "EVENTS" not in hdul:
                raise FileFormatError(f"{path} has no EVENTS extension")
            hdr = hdul["EVENTS"].header
            data = hdul["EVENTS"].data
            for col in ("RA", "DEC", "SIGNAL"):
                if col not in data.columns.names:
                    raise MissingColumnError(f"{path} lacks column {col!r} in EVENTS")
            ev_ra = np.asarray(data["RA"], dtype=float)
            ev_dec = np.asarray(data["DEC"], dtype=float)
            energy = np.asarray(data["SIGNAL"], dtype=float)
            src = (
                np.asarray(data["SRC_ID"], dtype=np.int64)
                if "SRC_ID" in data.columns.names
                else np.zeros(energy.size, np.int64)
            )
    except OSError as err:
        raise FileFormatError(f"cannot read event file {path}: {err}") from err
    ra0 = float(hdr.get("RA_OBJ", ra)) if ra is None else float(ra)
    dec0 = float(hdr.get("DEC_OBJ", dec)) if dec is None else float(dec)
    xi, eta = sky_to_tangent(ev_ra, ev_dec, ra0, dec0)
    d_m = float(transverse_comoving_distance_h(redshift, cosmology))
    x, y = xi * d_m, eta * d_m
    sel = (
        (np.abs(x) <= aperture) & (np.abs(y) <= aperture) & (energy >= band[0]) & (energy < band[1])
    )
    icm = _src_set(hdr, "SRCICM", {1})
    agn = _src_set(hdr, "SRCAGN", {2, 3})
    bkg = _src_set(hdr, "SRCBKG", {-1})
    s = src[sel]
    out = {
        "n_phot": int(sel.sum()),
        "n_icm_box": int(np.isin(s, list(icm)).sum()),
        "n_agn_box": int(np.isin(s, list(agn)).sum()),
        "n_bkg_box": int(np.isin(s, list(bkg)).sum()),
    }
    if r500c is not None:
        out["n_phot_500c"] = int((sel & (np.hypot(x, y) <= r500_factor * r500c)).sum())
    return out


def measure_observables(
    directory: str | os.PathLike,
    r500_factor: float = 1.0,
    progress: bool | None = None,
) -> Table:
    """Measure the observed proxies of every cluster of a simulation directory.

    Parameters
    ----------
    directory : path-like
        Holds ``catalog.ecsv``, ``events/`` and optionally ``galaxies.ecsv``.
    r500_factor : float
        Aperture of ``n_phot_500c`` in units of R500c (1 as in the paper's text).
    progress : bool or None
        Progress bar over files.

    Returns
    -------
    astropy.table.Table
        ``id``, ``n_phot``, ``n_icm_box``, ``n_agn_box``, ``n_bkg_box``,
        ``n_phot_500c`` and, with galaxies, ``n_gal_cylinder``, ``n_gal``,
        ``sigma_v_1d``.
    """
    directory = Path(directory)
    cat_path = directory / "catalog.ecsv"
    if not cat_path.is_file():
        raise FileFormatError(f"{cat_path} not found; is {directory} a simulation directory?")
    cat = Table.read(cat_path, format="ascii.ecsv")
    for col in ("file", "redshift"):
        if col not in cat.colnames:
            raise MissingColumnError(f"{cat_path} lacks column {col!r}")
    cosmo = cat.meta.get("cosmology")
    cosmology = cosmology_from_dict(cosmo) if isinstance(cosmo, dict) else get_cosmology(None)
    ids = np.asarray(cat["id"] if "id" in cat.colnames else np.arange(len(cat)), dtype=np.int64)
    rows = []
    for k in progress_bar(range(len(cat)), progress=progress, desc="measuring", unit="file"):
        r500 = float(cat["r500c"][k]) if "r500c" in cat.colnames else None
        rows.append(
            photon_observables(
                directory / str(cat["file"][k]),
                float(cat["redshift"][k]),
                r500,
                float(cat["ra"][k]) if "ra" in cat.colnames else None,
                float(cat["dec"][k]) if "dec" in cat.colnames else None,
                r500_factor=r500_factor,
                cosmology=cosmology,
            )
        )
    out = Table()
    out["id"] = ids
    for key in rows[0] if rows else ():
        out[key] = np.array([r[key] for r in rows], dtype=np.int64)
    gal_path = directory / "galaxies.ecsv"
    if gal_path.is_file():
        gal = Table.read(gal_path, format="ascii.ecsv")
        for key, val in galaxy_observables(gal, ids).items():
            out[key] = val
    return out
