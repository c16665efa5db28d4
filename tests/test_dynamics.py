"""Tests of astroclustermass.dynamics (DynamicalCube, gapper, scalar dynamics)."""

from __future__ import annotations

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.cosmology import WMAP7
from astropy.stats import sigma_clip
from astropy.table import Table
from scipy.stats import gaussian_kde

from astroclustermass.dynamics import (
    DynamicalCube,
    dynamical_observables,
    galaxy_phase_space,
    gapper_sigma,
)
from astroclustermass.exceptions import (
    EmptyInputError,
    InputError,
    MissingColumnError,
    UnitError,
)

matplotlib.use("Agg")


def _galaxies(n=80, seed=0, shift=(0.0, 0.0, 0.0)):
    """Correlated galaxies inside the cylinder: columns x_proj, y_proj, v_los."""
    rng = np.random.default_rng(seed)
    v = rng.normal(shift[0], 700.0, n)
    x = rng.normal(shift[1], 0.6, n) + v / 4000.0
    y = rng.normal(shift[2], 0.5, n) - 0.3 * x
    keep = (np.hypot(x, y) <= 2.3) & (np.abs(v) <= 3785)
    return Table({"x_proj": x[keep], "y_proj": y[keep], "v_los": v[keep]})


def _scipy_cube(gal, n, bw=0.15, aperture=2.3, v_max=3785.0):
    ve = np.linspace(-v_max, v_max, n + 1)
    xe = np.linspace(-aperture, aperture, n + 1)
    vc, xc = 0.5 * (ve[1:] + ve[:-1]), 0.5 * (xe[1:] + xe[:-1])
    V, X, Y = np.meshgrid(vc, xc, xc, indexing="ij")
    data = np.vstack([gal["v_los"], gal["x_proj"], gal["y_proj"]])
    kde = gaussian_kde(data, bw_method=bw)
    dens = kde(np.vstack([V.ravel(), X.ravel(), Y.ravel()])).reshape(n, n, n)
    return dens / dens.sum()


def _assert_close_to_scipy(cube, ref):
    big = ref > 1e-8 * ref.max()
    rel = np.abs(cube.astype(float) - ref)[big] / ref[big]
    assert rel.max() < 1e-5
    assert np.abs(cube - ref).max() < 1e-7 * ref.max()


def test_kde_matches_scipy_on_full_64_grid():
    gal = _galaxies(120, seed=3)
    cube = DynamicalCube.from_galaxies(gal)
    assert cube.data.shape == (64, 64, 64)
    assert cube.data.dtype == np.float32
    assert cube.n_galaxies == len(gal)
    assert cube.bandwidth == 0.15
    assert abs(float(cube.data.sum(dtype=np.float64)) - 1.0) < 1e-5
    _assert_close_to_scipy(cube.data, _scipy_cube(gal, 64))


@pytest.mark.parametrize("n_gal, seed", [(5, 1), (30, 2), (300, 4)])
def test_kde_matches_scipy_small_grid(n_gal, seed):
    gal = _galaxies(n_gal, seed=seed)
    cube = DynamicalCube.from_galaxies(gal, n=20, bw_method=0.3)
    _assert_close_to_scipy(cube.data, _scipy_cube(gal, 20, bw=0.3))


def test_kde_scott_rule_matches_scipy():
    gal = _galaxies(40, seed=7)
    cube = DynamicalCube.from_galaxies(gal, n=16, bw_method="scott")
    assert cube.bandwidth == pytest.approx(len(gal) ** (-1 / 7))
    _assert_close_to_scipy(cube.data, _scipy_cube(gal, 16, bw="scott"))


def test_grid_is_bin_centres():
    cube = DynamicalCube.zeros(4, aperture=2.0, v_max=4000.0)
    np.testing.assert_allclose(cube.x_centers, [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(cube.v_centers, [-3000, -1000, 1000, 3000])
    np.testing.assert_allclose(cube.y_centers, cube.x_centers)


@pytest.mark.parametrize("axis, shift", [(0, (2000.0, 0, 0)), (1, (0, 1.2, 0)), (2, (0, 0, 1.2))])
def test_axis_order_and_alignment(axis, shift):
    rng = np.random.default_rng(11)
    n = 50
    gal = Table(
        {
            "v_los": shift[0] + rng.normal(0, 150, n),
            "x_proj": shift[1] + rng.normal(0, 0.1, n),
            "y_proj": shift[2] + rng.normal(0, 0.1, n),
        }
    )
    cube = DynamicalCube.from_galaxies(gal, n=32)
    others = tuple(a for a in range(3) if a != axis)
    profile = cube.data.sum(axis=others)
    peak = int(profile.argmax())
    centres = [cube.v_centers, cube.x_centers, cube.y_centers][axis]
    expected = int(np.argmin(np.abs(centres - shift[axis])))
    assert abs(peak - expected) <= 1
    assert peak > 20  # the high-index side
    # the other two axes stay centred
    for other in others:
        prof = cube.data.sum(axis=tuple(a for a in range(3) if a != other))
        assert 14 <= int(prof.argmax()) <= 17


def test_cuts_and_stellar_mass():
    gal = _galaxies(60, seed=5)
    extra = Table({"x_proj": [2.2, 0.1, 0.0], "y_proj": [0.8, 0.0, 0.1], "v_los": [0, 4000, 10]})
    both = Table({c: np.concatenate([gal[c], extra[c]]) for c in gal.colnames})
    cube = DynamicalCube.from_galaxies(both, n=12)
    # (2.2, 0.8) lies outside R = 2.3, v = 4000 outside |v| <= 3785; the third is kept
    assert cube.n_galaxies == len(gal) + 1
    # the stellar-mass cut applies only with an m_star column; NaN (unknown) passes
    m = np.full(len(both), 1e10)
    m[:10] = 1e9
    m[10] = np.nan
    both["m_star"] = m
    cube_m = DynamicalCube.from_galaxies(both, n=12)
    assert cube_m.n_galaxies == len(gal) + 1 - 10
    assert DynamicalCube.from_galaxies(both, n=12, m_star_min=None).n_galaxies == len(gal) + 1


def test_sky_positions_and_redshifts():
    z_cl = 0.2
    center = SkyCoord(150.0 * u.deg, 2.0 * u.deg)
    gal = _galaxies(40, seed=9)
    dist = WMAP7.comoving_transverse_distance(z_cl).to_value("Mpc") * WMAP7.h
    # invert the gnomonic projection independently
    xi, eta = gal["x_proj"] / dist, gal["y_proj"] / dist
    ra0, dec0 = np.radians(150.0), np.radians(2.0)
    rho = np.hypot(xi, eta)
    c = np.arctan(rho)
    dec = np.arcsin(np.cos(c) * np.sin(dec0) + eta * np.sin(c) * np.cos(dec0) / rho)
    ra = ra0 + np.arctan2(
        xi * np.sin(c), rho * np.cos(dec0) * np.cos(c) - eta * np.sin(dec0) * np.sin(c)
    )
    z_gal = z_cl + gal["v_los"] * (1 + z_cl) / 299792.458
    sky = Table({"ra": np.degrees(ra) * u.deg, "dec": np.degrees(dec) * u.deg, "z_gal": z_gal})
    v, x, y, m = galaxy_phase_space(sky, center=center, redshift=z_cl)
    assert m is None
    np.testing.assert_allclose(x, gal["x_proj"], atol=1e-9)
    np.testing.assert_allclose(y, gal["y_proj"], atol=1e-9)
    np.testing.assert_allclose(v, gal["v_los"], atol=1e-6)
    a = DynamicalCube.from_galaxies(sky, center=center, redshift=z_cl, n=16).data
    b = DynamicalCube.from_galaxies(gal, n=16).data
    np.testing.assert_allclose(a, b, atol=1e-6 * b.max())


def test_too_few_and_degenerate_galaxies():
    gal = _galaxies(3, seed=1)
    with pytest.raises(EmptyInputError, match="at least 4"):
        DynamicalCube.from_galaxies(gal)
    flat = Table({"x_proj": [0.1, 0.2, 0.3, 0.4, 0.5], "y_proj": [0.0] * 5, "v_los": [1.0] * 5})
    with pytest.raises(InputError, match="singular"):
        DynamicalCube.from_galaxies(flat)


def test_bad_inputs():
    with pytest.raises(MissingColumnError, match="x_proj"):
        DynamicalCube.from_galaxies(Table({"a": [1.0], "v_los": [0.0]}))
    with pytest.raises(MissingColumnError, match="v_los"):
        DynamicalCube.from_galaxies(Table({"x_proj": [1.0], "y_proj": [0.0]}))
    with pytest.raises(InputError, match="center"):
        DynamicalCube.from_galaxies(Table({"ra": [1.0], "dec": [0.0], "v_los": [0.0]}))
    gal = _galaxies(20)
    gal["v_los"][3] = np.nan
    with pytest.raises(InputError, match="'v_los'.*row 3"):
        DynamicalCube.from_galaxies(gal)
    gal = _galaxies(20)
    gal["v_los"].unit = u.s
    with pytest.raises(UnitError, match="v_los"):
        DynamicalCube.from_galaxies(gal)
    with pytest.raises(InputError, match="bw_method"):
        DynamicalCube.from_galaxies(_galaxies(20), bw_method="nope")
    with pytest.raises(InputError, match="shape"):
        DynamicalCube(np.zeros((4, 4, 5)))


def test_quantity_columns_and_apertures():
    gal = _galaxies(30, seed=2)
    q = Table(
        {
            "x_proj": gal["x_proj"] * u.Mpc,
            "y_proj": gal["y_proj"] * u.Mpc,
            "v_los": (gal["v_los"] * u.km / u.s).to(u.m / u.s),
        }
    )
    a = DynamicalCube.from_galaxies(q, n=10, aperture=2300 * u.kpc, v_max=3785 * u.km / u.s)
    b = DynamicalCube.from_galaxies(gal, n=10)
    assert a.aperture == pytest.approx(2.3)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-9)


def test_plot_returns_figure():
    import matplotlib.pyplot as plt

    fig = DynamicalCube.from_galaxies(_galaxies(30), n=16).plot()
    assert len(fig.axes) == 3
    plt.close(fig)


def _gapper_by_hand(v):
    """σ_G = √π / (n(n−1)) Σ_{i=1}^{n−1} i (n−i) (v_(i+1) − v_(i)), written as a loop."""
    s = sorted(float(x) for x in v)
    n = len(s)
    total = 0.0
    for i in range(1, n):
        total += i * (n - i) * (s[i] - s[i - 1])
    return np.sqrt(np.pi) / (n * (n - 1)) * total


def test_gapper_matches_formula():
    rng = np.random.default_rng(4)
    for n in (2, 3, 7, 50):
        v = rng.normal(0, 500, n)
        assert gapper_sigma(v) == pytest.approx(_gapper_by_hand(v), rel=1e-12)
    # n = 2: √π/2 |Δv|
    assert gapper_sigma([0.0, 10.0]) == pytest.approx(np.sqrt(np.pi) / 2 * 10)
    # order does not matter; Quantity in, Quantity out
    v = rng.normal(0, 500, 20)
    assert gapper_sigma(v[::-1]) == pytest.approx(gapper_sigma(v))
    assert gapper_sigma(v * u.km / u.s).unit == u.km / u.s


def test_gapper_vs_std_for_gaussian_samples():
    rng = np.random.default_rng(8)
    v = rng.normal(100.0, 800.0, 20000)
    assert gapper_sigma(v) == pytest.approx(800.0, rel=0.02)
    assert gapper_sigma(v, method="std") == pytest.approx(np.std(v, ddof=1))
    # averaged over many small samples the gapper is close to unbiased
    small = rng.normal(0, 1.0, (4000, 20))
    mean_gapper = np.mean([gapper_sigma(s) for s in small])
    assert mean_gapper == pytest.approx(1.0, abs=0.02)
    with pytest.raises(EmptyInputError):
        gapper_sigma([1.0])
    with pytest.raises(InputError, match="method"):
        gapper_sigma([1.0, 2.0], method="mad")


def test_dynamical_observables_against_manual():
    rng = np.random.default_rng(12)
    n = 200
    gal = Table(
        {
            "x_proj": rng.uniform(-2.3, 2.3, n),
            "y_proj": rng.uniform(-2.3, 2.3, n),
            "v_los": np.concatenate([rng.normal(0, 500, n - 5), [1900, -1950, 1800, 3500, -3700]]),
            "m_star": 10 ** rng.uniform(9.0, 11.0, n),
        }
    )
    obs = dynamical_observables(gal)
    r = np.hypot(gal["x_proj"], gal["y_proj"])
    mass_ok = gal["m_star"] >= 10**9.5
    cyl = (r <= 2.3) & (np.abs(gal["v_los"]) <= 3785) & mass_ok
    small = (r <= 1.25) & (np.abs(gal["v_los"]) <= 2000) & mass_ok
    vs = np.asarray(gal["v_los"][small])
    kept = vs[~sigma_clip(vs, sigma=3, maxiters=5).mask]
    assert obs["n_gal_cylinder"] == int(cyl.sum())
    assert obs["n_gal"] == kept.size
    assert obs["sigma_v"] == pytest.approx(_gapper_by_hand(kept), rel=1e-12)
    obs_std = dynamical_observables(gal, method="std", sigma_clip=None)
    assert obs_std["n_gal"] == int(small.sum())
    assert obs_std["sigma_v"] == pytest.approx(np.std(vs, ddof=1))


def test_dynamical_observables_few_galaxies():
    obs = dynamical_observables({"x_proj": [0.1], "y_proj": [0.0], "v_los": [5.0]})
    assert obs["n_gal"] == 1 and obs["n_gal_cylinder"] == 1
    assert np.isnan(obs["sigma_v"])
    empty = dynamical_observables({"x_proj": [3.0], "y_proj": [0.0], "v_los": [5.0]})
    assert empty["n_gal"] == 0 and empty["n_gal_cylinder"] == 0


def test_mapping_inputs():
    gal = _galaxies(30, seed=6)
    as_dict = {c: np.asarray(gal[c]) for c in gal.colnames}
    as_dict["v_los"] = as_dict["v_los"] * u.km / u.s
    a = DynamicalCube.from_galaxies(as_dict, n=12).data
    np.testing.assert_array_equal(a, DynamicalCube.from_galaxies(gal, n=12).data)
    four = {
        "x_proj": [0.1, -0.3, 0.2, 0.0],
        "y_proj": [0.0, 0.2, -0.1, 0.3],
        "v_los": [100.0, -50.0, 300.0, 20.0],
    }
    assert DynamicalCube.from_galaxies(four, n=8).n_galaxies == 4
    with pytest.raises(InputError, match="equal length"):
        galaxy_phase_space({"x_proj": [0.1, 0.2], "y_proj": [0.0], "v_los": [1.0, 2.0]})
