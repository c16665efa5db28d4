"""Literature scaling relations and NFW mass-definition conversion."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from astropy.cosmology import Planck18
from scipy.optimize import brentq

from astroclustermass.cosmology import default_cosmology
from astroclustermass.estimators import (
    ScalingRelation,
    available_relations,
    convert_mass_definition,
)
from astroclustermass.estimators.relations import concentration_duffy08
from astroclustermass.exceptions import (
    FileFormatError,
    InputError,
    OutOfRangeWarning,
    UnknownNameError,
)

LN10 = np.log(10.0)


def test_shipped_relations_have_citations_and_published_numbers():
    names = available_relations()
    assert set(names) == {"arnaud07_m500_tx", "arnaud07_m500_yx", "arnaud07_m500_mgas"}
    assert all("A&A 474, L37" in ref for ref in names.values())
    mt = ScalingRelation.from_literature("arnaud07_m500_tx")
    # h(z) M500 = 10^14.580 Msun (T / 5 keV)^1.71, sigma_log10 M = 0.039 (Arnaud+07 Table 2)
    assert mt.pivot_mass == pytest.approx(10**14.580)
    assert mt.normalisation == 5.0
    assert 1 / mt.slope == pytest.approx(1.71)
    assert mt.ez_power == pytest.approx(1 / 1.71)  # T ∝ (E(z) M)^(1/1.71)
    assert mt.sigma_ln_mass == pytest.approx(0.039 * LN10)
    assert mt.h_convention == "h70" and mt.mass_definition == "500c"
    yx = ScalingRelation.from_literature("arnaud07_m500_yx")
    assert yx.ez_power == pytest.approx(0.4 / 0.548)  # h(z)^(2/5) M = C (Y_X / 2e14)^0.548
    mg = ScalingRelation.from_literature("arnaud07_m500_mgas")
    assert mg.ez_power == 0.0 and 1 / mg.slope == pytest.approx(0.803)


def test_inverse_prediction_reproduces_the_published_form():
    rel = ScalingRelation.from_literature("arnaud07_m500_tx")
    cosmo = default_cosmology()
    temps, z = np.array([3.0, 5.0, 8.0]), 0.1
    log10_m, sigma = rel.predict_mass(temps, z, cosmo)
    # published: M [h70^-1 Msun] = 10^14.58 (T/5)^1.71 / E(z); in h^-1 Msun multiply by 0.7
    expected = np.log10(0.7 * 10**14.580 * (temps / 5.0) ** 1.71 / cosmo.efunc(z))
    np.testing.assert_allclose(log10_m, expected, atol=1e-10)
    np.testing.assert_allclose(sigma, 0.039, rtol=1e-12)
    # forward and inverse are each other's inverse
    np.testing.assert_allclose(rel.predict_observable(log10_m, z, cosmo), temps, rtol=1e-10)


def test_mass_function_term_and_measurement_error():
    rel = ScalingRelation.from_literature("arnaud07_m500_tx")
    m0, s0 = rel.predict_mass(5.0, 0.05)
    m1, s1 = rel.predict_mass(5.0, 0.05, beta=1.8, observable_error=0.1)
    var_ln = rel.sigma_ln_mass**2 + (0.1 / rel.slope) ** 2
    assert s1 == pytest.approx(np.sqrt(var_ln) / LN10)
    assert (m0 - m1) * LN10 == pytest.approx(1.8 * var_ln)


def test_h_conventions():
    kwargs = dict(
        observable="S",
        unit="",
        pivot_mass=1e14,
        pivot_redshift=0.0,
        slope=1.0,
        normalisation=1.0,
        ez_power=0.0,
        scatter=0.1,
    )
    h100 = ScalingRelation(**kwargs, h_convention="h100")
    h70 = ScalingRelation(**kwargs, h_convention="h70")
    phys = ScalingRelation(**kwargs, h_convention="none")
    assert h100.predict_observable(14.0, 0.0) == pytest.approx(1.0)
    assert h70.predict_observable(14.0, 0.0) == pytest.approx(1 / 0.7)
    assert phys.predict_observable(14.0, 0.0, Planck18) == pytest.approx(1 / Planck18.h)
    assert phys.predict_mass(1 / Planck18.h, 0.0, Planck18)[0] == pytest.approx(14.0)


def test_out_of_range_warnings():
    rel = ScalingRelation.from_literature("arnaud07_m500_tx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rel.predict_mass(12.0, 0.05)
    messages = [str(w.message) for w in caught if w.category is OutOfRangeWarning]
    assert any("T values" in m for m in messages) and any("masses" in m for m in messages)
    with pytest.warns(OutOfRangeWarning, match="redshifts"):
        rel.predict_mass(5.0, 0.5)
    with pytest.warns(OutOfRangeWarning, match="masses"):
        rel.predict_observable(15.6, 0.05)


def test_json_round_trip_and_errors(tmp_path):
    rel = ScalingRelation.from_literature("arnaud07_m500_yx")
    assert ScalingRelation.from_json(rel.to_json()) == rel
    path = rel.write(tmp_path / "r.json")
    assert ScalingRelation.read(path) == rel
    assert json.loads(path.read_text())["observable"] == "Y_X"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="bad.json"):
        ScalingRelation.read(tmp_path / "bad.json")
    with pytest.raises(FileFormatError, match="does not exist"):
        ScalingRelation.read(tmp_path / "missing.json")
    with pytest.raises(InputError, match="unknown scaling-relation fields"):
        ScalingRelation.from_dict({**rel.to_dict(), "colour": "red"})
    with pytest.raises(UnknownNameError, match="Did you mean 'arnaud07_m500_tx'"):
        ScalingRelation.from_literature("arnaud07_m500_t")
    with pytest.raises(InputError, match="scatter"):
        ScalingRelation("T", "keV", 1e14, 0.0, 1.0, 5.0, 0.0, scatter=-1.0)
    with pytest.raises(InputError, match="positive"):
        rel.predict_mass(-1.0, 0.1)


def _ratio_independent(c200: float, delta_to: float) -> float:
    """M_delta / M200c for an NFW halo of concentration c200 (scalar brentq)."""
    m = lambda x: np.log1p(x) - x / (1 + x)  # noqa: E731
    x = brentq(lambda x: m(x) / x**3 - delta_to / 200.0 * m(c200) / c200**3, 1e-3, 1e3)
    return m(x) / m(c200)


def test_mass_conversion_known_values_and_round_trip():
    # c200 = 4: M500c / M200c from an independent scalar solution (~0.69)
    m200 = convert_mass_definition(1e14, 0.2, "500c", "200c", concentration=4.0)
    assert 1e14 / m200 == pytest.approx(_ratio_independent(4.0, 500.0), rel=1e-8)
    assert m200 / 1e14 == pytest.approx(1.445, abs=0.001)
    m = np.array([5e13, 2e14, 1e15])
    z = np.array([0.0, 0.3, 0.8])
    for to in ("200c", "200m", "2500c"):
        there = convert_mass_definition(m, z, "500c", to)
        back = convert_mass_definition(there, z, to, "500c")
        np.testing.assert_allclose(back, m, rtol=1e-9)
    # 200m encloses more mass than 200c, which encloses more than 500c
    m200m = convert_mass_definition(m, z, "500c", "200m")
    m200c = convert_mass_definition(m, z, "500c", "200c")
    assert np.all(m200m > m200c) and np.all(m200c > m)


def test_mass_conversion_uses_duffy08_and_omega_m():
    # Duffy et al. (2008) full sample: c200c = 5.71 (M / 2e12)^-0.084 (1+z)^-0.47
    assert concentration_duffy08(2e13, 1.0) == pytest.approx(5.71 * 10**-0.084 * 2**-0.47)
    m500, z = 3e14, 0.4
    m200c = convert_mass_definition(m500, z, "500c", "200c")
    c = concentration_duffy08(m200c, z)
    assert m500 / m200c == pytest.approx(_ratio_independent(c, 500.0), rel=1e-8)
    # 200m = 200 Om(z) rho_c: the same as converting to an overdensity 200 Om(z) 'c'
    cosmo = default_cosmology()
    m200m = convert_mass_definition(m500, z, "500c", "200m", cosmology=cosmo)
    assert m200m / m200c == pytest.approx(
        _ratio_independent(c, 200.0 * cosmo.Om(z)) / _ratio_independent(c, 200.0), rel=1e-8
    )
    # callables are accepted
    same = convert_mass_definition(m500, z, "500c", "200c", concentration=concentration_duffy08)
    assert same == pytest.approx(m200c)


def test_mass_conversion_errors():
    with pytest.raises(InputError, match="mass definition"):
        convert_mass_definition(1e14, 0.1, "500x", "200c")
    with pytest.raises(InputError, match="positive"):
        convert_mass_definition(14.0 - 20, 0.1)
    with pytest.raises(InputError, match="non-finite"):
        convert_mass_definition(np.nan, 0.1)
    with pytest.raises(UnknownNameError, match="duffy08"):
        convert_mass_definition(1e14, 0.1, concentration="bhattacharya13")
