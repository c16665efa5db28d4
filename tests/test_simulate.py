"""Tests of the built-in mock universe (astroclustermass.simulate)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from astroclustermass.cosmology import default_cosmology
from astroclustermass.exceptions import InputError, UnknownNameError
from astroclustermass.simulate import (
    EXPOSURE_PRESETS,
    SNAPSHOT_REDSHIFTS,
    MockConfig,
    MockUniverse,
    calibration_report,
    calibration_tables,
    measure_observables,
    resolve_exposure,
    simulate_cluster_events,
)
from astroclustermass.simulate.photons import counts_per_luminosity
from astroclustermass.simulate.report import single_scatter

SIXTE_COLUMNS = {
    "TIME": "D",
    "FRAME": "J",
    "PHA": "J",
    "SIGNAL": "E",
    "PI": "J",
    "RA": "D",
    "DEC": "D",
    "RAWX": "I",
    "RAWY": "I",
    "PH_ID": "J",
    "SRC_ID": "J",
}
N_SMALL = 16


@pytest.fixture(scope="module")
def universe():
    return MockUniverse(n_clusters=N_SMALL, seed=7)


@pytest.fixture(scope="module")
def sim_dir(universe, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "universe"
    return universe.write(out, n_jobs=1, progress=False)


def _read_events(path):
    with fits.open(path) as hdul:
        return hdul["EVENTS"].header, Table(hdul["EVENTS"].data)


# ---------------------------------------------------------------- file layout
def test_event_files_are_sixte_layout(sim_dir):
    cat = Table.read(sim_dir / "catalog.ecsv")
    assert len(cat) == N_SMALL
    for row in cat:
        path = sim_dir / row["file"]
        with fits.open(path) as hdul:
            assert hdul[0].data is None
            hdu = hdul["EVENTS"]
            formats = {c.name: c.format for c in hdu.columns}
            assert formats == SIXTE_COLUMNS
            h = hdu.header
            for key in (
                "TELESCOP",
                "INSTRUME",
                "EXPOSURE",
                "RA_OBJ",
                "DEC_OBJ",
                "REDSHIFT",
                "OBJECT",
                "CREATOR",
            ):
                assert key in h
            assert h["TELESCOP"] == "SRG" and h["INSTRUME"] == "eROSITA"
            assert h["SRCICM"] == "1" and h["SRCAGN"] == "2,3" and h["SRCBKG"] == "-1"
            assert h["EXPOSURE"] == pytest.approx(2000.0)
            assert h["RA_OBJ"] == pytest.approx(row["ra"])
            assert h["REDSHIFT"] == pytest.approx(row["redshift"])
            assert "DATE" not in h and "DATE" not in hdul[0].header  # no time stamps
            d = hdu.data
            assert np.all(np.diff(d["TIME"]) >= 0)
            assert np.all((d["TIME"] >= 0) & (d["TIME"] < 2000.0))
            assert np.all(d["PI"] == np.rint(d["SIGNAL"].astype(float) * 1000))
            assert set(np.unique(d["SRC_ID"])) <= {1, 2, 3, -1}
            assert np.array_equal(d["PH_ID"], np.arange(1, len(d) + 1))
            assert hdu.columns["SIGNAL"].unit == "keV"


def test_counts_match_catalogue(sim_dir):
    cat = Table.read(sim_dir / "catalog.ecsv")
    for row in cat:
        _, ev = _read_events(sim_dir / row["file"])
        src = np.asarray(ev["SRC_ID"])
        assert row["n_icm"] == np.sum(src == 1)
        assert row["n_agn"] == np.sum((src == 2) | (src == 3))
        assert row["n_bkg"] == np.sum(src == -1)
    assert np.all(cat["n_icm"] > 0)


def test_positions_are_pixel_centres_on_tangent_plane(sim_dir):
    """Independent gnomonic projection (astropy WCS, TAN) lands on the 9.6" grid."""
    cat = Table.read(sim_dir / "catalog.ecsv")
    row = cat[int(np.argmax(cat["n_icm"]))]
    h, ev = _read_events(sim_dir / row["file"])
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [h["RA_OBJ"], h["DEC_OBJ"]]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [9.6 / 3600.0, 9.6 / 3600.0]
    px, py = w.world_to_pixel_values(np.asarray(ev["RA"]), np.asarray(ev["DEC"]))
    assert np.allclose(px, np.round(px), atol=1e-6)
    assert np.allclose(py, np.round(py), atol=1e-6)
    half = h["FOVHALF"] * 3600 / 9.6
    assert np.abs(px).max() <= half + 1 and np.abs(py).max() <= half + 1
    # RAWX/RAWY are those pixel indices, shifted to be positive
    assert np.ptp(np.asarray(ev["RAWX"]) - np.round(px)) == 0
    # ICM photons cluster around the centre, background does not
    icm = np.asarray(ev["SRC_ID"]) == 1
    bkg = np.asarray(ev["SRC_ID"]) == -1
    r = np.hypot(px, py)
    assert np.median(r[icm]) < 0.5 * np.median(r[bkg])


def test_catalogue_columns_and_units(sim_dir):
    cat = Table.read(sim_dir / "catalog.ecsv")
    need = [
        "id",
        "file",
        "ra",
        "dec",
        "redshift",
        "log10_m500c",
        "r500c",
        "x",
        "y",
        "z",
        "exposure",
        "T",
        "L_X",
        "M_gas",
        "M_star",
        "sigma_v_true",
        "n_icm",
        "n_agn",
        "n_bkg",
        "cool_core",
        "disturbed",
    ]
    assert set(need) <= set(cat.colnames)
    assert cat.meta["box_size"] == 352.0
    assert str(cat["ra"].unit) == "deg" and str(cat["T"].unit) == "keV"
    assert np.all((cat["x"] >= 0) & (cat["x"] < 352) & (cat["z"] >= 0) & (cat["z"] < 352))
    assert np.all((cat["log10_m500c"] >= 13.5) & (cat["log10_m500c"] <= 15.07))
    assert np.all(np.asarray(cat["exposure"]) == 2000.0)
    # r500c is comoving h^-1 Mpc: check against astropy's critical density
    cosmo = default_cosmology()
    z = np.asarray(cat["redshift"])
    rho = cosmo.critical_density(z).to_value("Msun / Mpc3") / cosmo.h**2  # h^2 Msun/Mpc^3
    m = 10 ** np.asarray(cat["log10_m500c"])
    r_phys = (3 * m / (4 * np.pi * 500 * rho)) ** (1 / 3)
    assert np.allclose(cat["r500c"], r_phys * (1 + z), rtol=1e-3)
    # ideal observables follow the mean relations roughly
    assert np.all((cat["M_gas"] / m > 0.04) & (cat["M_gas"] / m < 0.2))
    assert np.all(cat["T"] > 0.5) and np.all(cat["L_X"] > 0)
    snaps = np.array(list(SNAPSHOT_REDSHIFTS.values()))
    assert np.all(np.min(np.abs(z[:, None] - snaps[None, :]), axis=1) < 1e-9)


def test_galaxies_file(sim_dir):
    gal = Table.read(sim_dir / "galaxies.ecsv")
    assert set(gal.colnames) >= {
        "cluster_id",
        "x_proj",
        "y_proj",
        "v_los",
        "m_star",
        "is_member",
        "r3d",
    }
    assert set(np.unique(gal["cluster_id"])) <= set(range(N_SMALL))
    assert np.all(np.hypot(gal["x_proj"], gal["y_proj"]) <= 2.3)
    assert np.all(np.abs(gal["v_los"]) <= 3785.0)
    assert np.all(gal["m_star"] >= 10**9.5 - 1e6)
    assert gal["is_member"].dtype == bool and gal["is_member"].any() and (~gal["is_member"]).any()
    # sigma_v_true in the catalogue = std (ddof=1) of galaxies with 3D r < 2.3
    cat = Table.read(sim_dir / "catalog.ecsv")
    for cid in range(3):
        sel = (gal["cluster_id"] == cid) & (gal["r3d"] < 2.3)
        expect = np.std(np.asarray(gal["v_los"][sel]), ddof=1)
        assert cat["sigma_v_true"][cid] == pytest.approx(expect, rel=1e-3)


def test_simulation_json_and_matches(sim_dir, universe):
    meta = json.loads((sim_dir / "simulation.json").read_text())
    assert meta["seed"] == 7 and meta["n_clusters"] == N_SMALL
    assert "version" in meta and MockConfig.from_dict(meta["config"]) == universe.config
    assert universe.matches(sim_dir)
    assert not MockUniverse(n_clusters=N_SMALL, seed=8).matches(sim_dir)
    assert not MockUniverse(n_clusters=N_SMALL, seed=7, exposure="efeds").matches(sim_dir)


# ---------------------------------------------------------------- determinism
def _all_bytes(directory):
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_same_seed_identical_bytes_and_n_jobs_independent(tmp_path):
    u = MockUniverse(n_clusters=5, seed=11)
    a = _all_bytes(u.write(tmp_path / "a", n_jobs=1, progress=False))
    b = _all_bytes(
        MockUniverse(n_clusters=5, seed=11).write(tmp_path / "b", n_jobs=2, progress=False)
    )
    assert a.keys() == b.keys() and len(a) == 5 + 3
    for k in a:
        assert a[k] == b[k], k
    c = _all_bytes(
        MockUniverse(n_clusters=5, seed=12).write(tmp_path / "c", n_jobs=1, progress=False)
    )
    assert c["events/cluster_00000.fits"] != a["events/cluster_00000.fits"]


def test_cluster_independent_of_universe_size():
    small = MockUniverse(n_clusters=3, seed=4)
    big = MockUniverse(n_clusters=3, seed=4)
    e1 = small.simulate_cluster(1)
    e2 = big.simulate_cluster(1)
    assert np.array_equal(e1.columns["RA"], e2.columns["RA"])


def test_write_refuses_non_empty_directory(tmp_path):
    (tmp_path / "x.txt").write_text("keep")
    with pytest.raises(InputError, match="overwrite=True"):
        MockUniverse(n_clusters=1).write(tmp_path, n_jobs=1, progress=False)
    assert (tmp_path / "x.txt").read_text() == "keep"


# ---------------------------------------------------------------- physics
def _spec(universe, **changes):
    spec = universe.cluster_spec(0)
    spec.update(changes)
    return spec


def _hardness(energy):
    e = np.asarray(energy, dtype=float)
    return np.sum((e >= 2.0) & (e < 7.0)) / np.sum((e >= 0.5) & (e < 2.0))


def test_icm_softer_than_agn_and_hotter_is_harder(universe):
    cfg = universe.config
    base = dict(redshift=0.1, L_X=3e44, core_excess=0.2)
    icm_e, agn_e = [], []
    for k in range(6):
        ev = simulate_cluster_events(
            _spec(universe, T=3.0, m500c=5e14, **base), cfg, 2000.0, seed=k
        )
        src, e = ev.columns["SRC_ID"], ev.columns["SIGNAL"]
        icm_e.append(e[src == 1])
        agn_e.append(e[(src == 2) | (src == 3)])
    icm_e, agn_e = np.concatenate(icm_e), np.concatenate(agn_e)
    assert agn_e.size > 200
    assert _hardness(icm_e) < _hardness(agn_e)
    assert np.mean(icm_e) < np.mean(agn_e)
    cool = simulate_cluster_events(_spec(universe, T=1.0, **base), cfg, 2000.0, seed=1)
    hot = simulate_cluster_events(_spec(universe, T=8.0, **base), cfg, 2000.0, seed=1)
    e_cool = cool.columns["SIGNAL"][cool.columns["SRC_ID"] == 1]
    e_hot = hot.columns["SIGNAL"][hot.columns["SRC_ID"] == 1]
    assert _hardness(e_hot) > 2 * _hardness(e_cool)
    assert np.mean(e_hot) > np.mean(e_cool) + 0.1
    # cool (~1 keV) plasma shows the Fe-L bump: the 0.8-1.1 keV share is larger
    frac = [np.mean((e > 0.8) & (e < 1.1)) for e in (e_cool, e_hot)]
    assert frac[0] > frac[1]


def test_counts_scale_with_exposure_and_luminosity(universe):
    cfg = universe.config.replace(
        cluster_agn_rate=0.0, field_agn_scale=0.0, bcg_agn_fraction=0.0, background_scale=0.0
    )
    spec = _spec(universe, redshift=0.2, L_X=1e44, T=4.0)
    n1 = len(simulate_cluster_events(spec, cfg, 2000.0, seed=1))
    n2 = len(simulate_cluster_events(spec, cfg, 4000.0, seed=2))
    assert n2 / n1 == pytest.approx(2.0, rel=0.06)
    n3 = len(simulate_cluster_events({**spec, "L_X": 2e44}, cfg, 2000.0, seed=3))
    assert n3 / n1 == pytest.approx(2.0, rel=0.06)
    # presets change the EXPOSURE keyword and the counts
    u = MockUniverse(n_clusters=2, seed=7, exposure="erass1")
    ev = u.simulate_cluster(0)
    assert ev.header["EXPOSURE"] == 200.0
    assert np.all(ev.columns["TIME"] < 200.0)
    assert float(u.catalog()["exposure"][0]) == 200.0


def test_counts_per_luminosity_order_of_magnitude():
    """Independent estimate: t * <A> / (<E> 4 pi D_L^2) for a 5 keV plasma at low z."""
    cosmo = default_cosmology()
    z = 0.05
    d_l = cosmo.luminosity_distance(z).to_value("cm")
    rough = 2000.0 * 1000.0 / (1.2 * 1.602e-9 * 4 * np.pi * d_l**2)
    got = counts_per_luminosity(5.0, z, 2000.0, MockConfig())
    assert 0.6 < got / rough < 1.8
    # and it falls with distance roughly as D_L^-2 (K-correction aside)
    d2 = cosmo.luminosity_distance(0.4).to_value("cm")
    ratio = counts_per_luminosity(5.0, 0.4, 2000.0, MockConfig()) / got
    assert 0.5 < ratio / (d_l / d2) ** 2 < 2.0


def test_cool_cores_are_more_peaked(universe):
    cfg = universe.config.replace(
        cluster_agn_rate=0.0, field_agn_scale=0.0, bcg_agn_fraction=0.0, background_scale=0.0
    )
    common = dict(redshift=0.1, L_X=2e44, T=4.0, r500c=0.9, sub_frac=[0.0] * 4)
    cc = _spec(universe, cool_core=True, core_excess=1.5, x_cc=0.03, x_c=0.12, **common)
    ncc = _spec(universe, cool_core=False, core_excess=0.05, x_cc=0.08, x_c=0.25, **common)

    def concentration(spec):
        ev = simulate_cluster_events(spec, cfg, 2000.0, seed=5)
        ra, dec = ev.columns["RA"], ev.columns["DEC"]
        dx = (ra - spec["ra"]) * np.cos(np.radians(spec["dec"]))
        r = np.hypot(dx, dec - spec["dec"])
        return np.mean(r < np.quantile(r, 0.9) * 0.1), len(ev)

    c_cc, n_cc = concentration(cc)
    c_ncc, n_ncc = concentration(ncc)
    assert c_cc > 1.5 * c_ncc


def test_population_statistics():
    cat = MockUniverse(n_clusters=3285, seed=0).catalog()
    assert np.median(cat["log10_m500c"]) == pytest.approx(13.94, abs=0.04)
    assert np.median(cat["redshift"]) == pytest.approx(0.2125, abs=0.01)
    assert len(np.unique(cat["redshift"])) == 11
    t1, t3 = calibration_tables(cat)
    ideal = {r["observable"]: r["sigma_dex"] for r in t3}
    for key, paper in [
        ("T", 0.051),
        ("L_X", 0.1144),
        ("M_gas", 0.0367),
        ("M_star", 0.0545),
        ("sigma_v_true", 0.1631),
    ]:
        assert ideal[key] == pytest.approx(paper, rel=0.2), key


# ---------------------------------------------------------------- report
def test_single_scatter_recovers_known_values():
    rng = np.random.default_rng(3)
    n = 6000
    zbin = rng.integers(0, 3, n)
    logm = rng.uniform(13.5, 15.0, n)
    mu = np.log(10**logm / 1e14)
    alpha = np.array([1.2, 1.5, 1.8])[zbin]
    s = np.exp(0.4 + alpha * mu + 0.3 * rng.standard_normal(n))
    res = single_scatter(logm, s, zbin)
    expect = np.mean(0.3 / np.array([1.2, 1.5, 1.8])) / np.log(10)
    assert res["sigma_dex"] == pytest.approx(expect, rel=0.05)
    assert res["alpha_bins"] == pytest.approx([1.2, 1.5, 1.8], abs=0.05)


def test_measure_and_report(sim_dir):
    obs = measure_observables(sim_dir, progress=False)
    cat = Table.read(sim_dir / "catalog.ecsv")
    assert np.array_equal(obs["id"], cat["id"])
    assert np.all(obs["n_phot"] == obs["n_icm_box"] + obs["n_agn_box"] + obs["n_bkg_box"])
    assert np.all(obs["n_icm_box"] <= cat["n_icm"])
    assert np.all(obs["n_phot_500c"] <= obs["n_phot"])
    assert np.all(obs["n_gal"] > 0)
    text = calibration_report(sim_dir, observables=obs)
    for needle in ("13.94", "1072", "0.1479", "N_phot_500c", "sigma_v_1D", "Table 1", "Table 3"):
        assert needle in text
    t1, t3 = calibration_tables(cat, observables=obs)
    assert list(t1["property"]) == ["log10_m500c", "z", "N_phot", "N_ICM", "N_AGN", "N_gal"]
    assert t1["median"][3] == pytest.approx(np.median(obs["n_icm_box"]))
    assert len(t3) == 9 and np.all(np.isfinite(t3["sigma_dex"][:5]))


# ---------------------------------------------------------------- config and input errors
def test_config_and_presets():
    cfg = MockConfig(psf_hew_arcsec=20.0)
    assert MockConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(InputError):
        MockConfig(psf_hew_arcsec=-1.0)
    with pytest.raises(InputError):
        MockConfig(snapshots=(1, 2))
    with pytest.raises(InputError):
        MockConfig.from_dict({"not_a_knob": 1})
    with pytest.raises(InputError):
        MockConfig(sigma_lnT=float("nan"))
    assert resolve_exposure("paper") == EXPOSURE_PRESETS["paper"] == 2000.0
    assert resolve_exposure("efeds") == 2200.0
    with pytest.raises(UnknownNameError, match="erass1"):
        resolve_exposure("erass_1")
    with pytest.raises(InputError):
        resolve_exposure(-5)
    with pytest.raises(InputError):
        MockUniverse(n_clusters=0)
    with pytest.raises(InputError):
        MockUniverse(n_clusters=2).cluster_spec(5)
    spec = MockUniverse(n_clusters=2).cluster_spec(0)
    del spec["T"]
    with pytest.raises(InputError, match="'T'"):
        simulate_cluster_events(spec)


def test_event_list_reader_reads_simulated_file(sim_dir):
    events = pytest.importorskip("astroclustermass.events")
    if not hasattr(events, "EventList"):
        pytest.skip("EventList not available yet")
    cat = Table.read(sim_dir / "catalog.ecsv")
    path = sim_dir / cat["file"][0]
    ev = events.EventList.read(path)
    _, raw = _read_events(path)
    src = np.asarray(raw["SRC_ID"])
    labels = np.asarray(ev.source)
    assert len(labels) == len(src)
    assert np.all(labels[src == 1] == events.SOURCE_ICM)
    assert np.all(labels[(src == 2) | (src == 3)] == events.SOURCE_AGN)
    assert np.all(labels[src == -1] == events.SOURCE_BACKGROUND)
