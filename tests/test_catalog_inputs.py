"""Catalogue values are checked where they enter, and units go through astropy with h."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.cosmology import default_cosmology, get_cosmology
from astroclustermass.exceptions import InputError, UnitError
from astroclustermass.sample.catalog import read_catalog

H = default_cosmology().h  # WMAP7: 0.704


def _write(tmp_path, **columns):
    base = {
        "id": [7, 8],
        "file": ["a.fits", "b.fits"],
        "ra": [150.0, 151.0] * u.deg,
        "dec": [2.0, 3.0] * u.deg,
        "redshift": [0.1, 0.3],
    }
    base.update(columns)
    path = tmp_path / "catalog.ecsv"
    Table(base).write(path, overwrite=True)
    return path


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("dec", [2.0, 95.0] * u.deg, r"column 'dec' has 1 declination\(s\) outside -90..90"),
        ("redshift", [0.1, 1e-9], r"column 'redshift' has 1 redshift\(s\) outside 0.001-10"),
        ("redshift", [0.1, 12.0], r"column 'redshift' has 1 redshift\(s\) outside 0.001-10"),
        ("r500c", [1.0, -0.8], r"column 'r500c' has 1 non-positive"),
        ("r500c", [0.8, 0.0], r"column 'r500c' has 1 non-positive"),
        ("m500c", [1e14, -1e14], r"column 'm500c' has 1 non-positive"),
    ],
)
def test_bad_values_are_refused_naming_file_column_row_and_cluster(tmp_path, column, values, match):
    path = _write(tmp_path, **{column: values})
    with pytest.raises(InputError, match=match) as info:
        read_catalog(path)
    message = str(info.value)
    assert str(path) in message and "row 1 (cluster id 8)" in message


def test_unknown_r500c_stays_allowed(tmp_path):
    path = _write(tmp_path, r500c=np.ma.masked_array([1.0, 0.0], mask=[False, True]))
    r500 = np.asarray(read_catalog(path)["r500c"], dtype=float)
    assert r500[0] == 1.0 and np.isnan(r500[1])


@pytest.mark.parametrize("unit", ["Mpc / littleh", "Mpc / h", "Mpc h^-1"])
def test_h_units_are_comoving_h_mpc(tmp_path, unit):
    path = _write(tmp_path, r500c=[1.0, 0.8])
    # the unit string exactly as a user's file would hold it
    plain = "- {name: r500c, datatype: float64}"
    path.write_text(
        path.read_text().replace(plain, plain[:-18] + f"unit: {unit}, datatype: float64}}")
    )
    cat = read_catalog(path)
    assert "converted from" in cat["r500c"].description  # the unit was read
    np.testing.assert_allclose(cat["r500c"], [1.0, 0.8])


def test_physical_kpc_and_mpc_get_h_and_one_plus_z(tmp_path):
    z = np.array([0.1, 0.3])
    path = _write(tmp_path, r500c=[1000.0, 700.0] * u.kpc)
    expected = np.array([1.0, 0.7]) * H * (1 + z)
    np.testing.assert_allclose(read_catalog(path)["r500c"], expected, rtol=1e-12)
    path = _write(tmp_path, r500c=[1.0, 0.7] * u.Mpc)
    np.testing.assert_allclose(read_catalog(path)["r500c"], expected, rtol=1e-12)
    # the keyword says what a unit cannot: comoving Mpc without h
    np.testing.assert_allclose(
        read_catalog(path, r500c_frame="comoving")["r500c"], [H, 0.7 * H], rtol=1e-12
    )
    planck = get_cosmology("Planck18")
    np.testing.assert_allclose(
        read_catalog(path, planck)["r500c"], np.array([1.0, 0.7]) * planck.h * (1 + z)
    )


def test_physical_frame_keyword_on_h_units(tmp_path):
    path = _write(tmp_path, r500c=[1.0, 0.7] * u.Mpc)
    path.write_text(path.read_text().replace("unit: Mpc,", "unit: Mpc / littleh,"))
    cat = read_catalog(path, r500c_frame="physical")
    np.testing.assert_allclose(cat["r500c"], [1.1, 0.7 * 1.3], rtol=1e-12)
    with pytest.raises(InputError, match="frame must be one of"):
        read_catalog(path, r500c_frame="proper")


def test_masses_in_msun_or_msun_per_h(tmp_path):
    path = _write(tmp_path, m500c=[1e14, 1e15] * u.Msun)
    np.testing.assert_allclose(read_catalog(path)["log10_m500c"], np.log10([1e14 * H, 1e15 * H]))
    path.write_text(path.read_text().replace("unit: solMass,", "unit: Msun / h,"))
    np.testing.assert_allclose(read_catalog(path)["log10_m500c"], [14.0, 15.0])
    path = _write(tmp_path, m500c=[1e14, 1e15])  # plain numbers: h^-1 Msun, as documented
    np.testing.assert_allclose(read_catalog(path)["log10_m500c"], [14.0, 15.0])


def test_a_unit_of_the_wrong_kind_is_a_unit_error_naming_the_column(tmp_path):
    path = _write(tmp_path, r500c=[1.0, 0.7] * u.s)
    with pytest.raises(UnitError, match=r"column 'r500c' has unit 's', which is not a length"):
        read_catalog(path)
    path.write_text(path.read_text().replace("unit: s,", "unit: parsec_per_banana,"))
    with pytest.raises(UnitError, match=r"column 'r500c' has unit 'parsec_per_banana'"):
        read_catalog(path)


def test_build_counts_within_a_kpc_r500c_like_the_comoving_one(tmp_path):
    from astroclustermass.sample import ClusterSample
    from astroclustermass.simulate import MockUniverse

    sim = MockUniverse(n_clusters=3, seed=4).write(tmp_path / "sim", n_jobs=1, progress=False)
    cat = Table.read(sim / "catalog.ecsv")
    kw = dict(bands="bolometric", npix=8, dynamics=False, n_jobs=1, progress=False)
    comoving = ClusterSample.build(sim, **kw).observables["n_phot_500c"]
    r_kpc = np.asarray(cat["r500c"]) / H / (1 + np.asarray(cat["redshift"])) * 1000.0
    cat["r500c"] = r_kpc * u.kpc  # the same radii as physical kpc
    cat.write(sim / "catalog.ecsv", overwrite=True)
    physical = ClusterSample.build(sim, **kw).observables["n_phot_500c"]
    np.testing.assert_array_equal(physical, comoving)
    assert np.all(np.asarray(comoving) > 0)


def test_an_unparseable_coordinate_unit_is_a_unit_error(tmp_path):
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("name: ra, unit: deg,", "name: ra, unit: degreez,"))
    with pytest.raises(UnitError, match=r"column 'ra' has unit degreez, which cannot be converted"):
        read_catalog(path)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("redshift", 1e-9, r"column 'redshift' has 1 redshift\(s\) outside 0.001-10"),
        ("dec", 95.0, r"column 'dec' has 1 declination\(s\) outside -90..90"),
        ("r500c", -0.9, r"column 'r500c' has 1 non-positive"),
    ],
)
def test_a_sample_made_from_arrays_checks_its_catalogue(column, value, match):
    from astroclustermass.sample import ClusterSample
    from astroclustermass.testing import make_tiny_sample

    smp = make_tiny_sample(n=4, seed=0)
    cat = smp.catalog.copy()
    cat[column] = np.asarray(cat[column], dtype=float) if column in cat.colnames else 1.0
    cat[column][2] = value
    images = {"bolometric": np.asarray(smp.images("bolometric"))}
    with pytest.raises(InputError, match=match) as info:
        ClusterSample(cat, images, aperture=smp.aperture)
    assert f"row 2 (cluster id {cat['id'][2]})" in str(info.value)
    with pytest.raises(InputError, match="aperture must be a positive"):
        ClusterSample(smp.catalog, images, aperture=-2.3)
