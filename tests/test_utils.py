"""Tests of the L0 helpers: atomic writes, devices, RNG, validation, bands, cosmology."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from astroclustermass._utils import (
    as_finite_array,
    atomic_directory,
    atomic_write,
    check_quantity,
    get_rng,
    resolve_device,
)
from astroclustermass.bands import EnergyBands, available_bands, get_bands
from astroclustermass.cosmology import (
    comoving_distance_h,
    cosmology_from_dict,
    cosmology_to_dict,
    get_cosmology,
)
from astroclustermass.exceptions import InputError, UnitError, UnknownNameError


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_directory_replaces_whole(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(ValueError):
        with atomic_directory(target) as tmp:
            (tmp / "y").write_text("2")
            raise ValueError
    assert sorted(p.name for p in target.iterdir()) == ["x"]
    with atomic_directory(target) as tmp:
        (tmp / "z").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_device_and_rng():
    assert resolve_device("auto").type in {"cpu", "cuda"}
    assert resolve_device("cpu").type == "cpu"
    a, b = get_rng(3).normal(size=4), get_rng(3).normal(size=4)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert get_rng(g) is g


def test_validation_helpers():
    with pytest.raises(InputError, match="non-finite"):
        as_finite_array([1.0, np.nan], "energy")
    with pytest.raises(UnitError, match="cannot be converted"):
        check_quantity(3 * u.m, "keV", "energy")
    with pytest.raises(UnitError, match="must be an astropy Quantity"):
        check_quantity(3.0, "keV", "energy")
    assert check_quantity(3.0, "keV", "energy", assume=True).unit == u.keV


def test_band_presets_match_papers():
    assert get_bands("bolometric").edges_keV.tolist() == [[0.5, 10.0]]
    k10 = get_bands("krippendorf_10")
    assert k10.n_bands == 10
    np.testing.assert_allclose(np.diff(k10.edges_keV, axis=1), 0.205, atol=1e-9)
    assert k10.edges_keV[0, 0] == 0.25 and k10.edges_keV[-1, 1] == pytest.approx(2.30)
    assert np.isinf(get_bands("lovig_4").edges_keV[-1, 1])
    assert set(available_bands()) >= {"bolometric", "erosita_3", "krippendorf_10", "lovig_4"}


def test_band_index_half_open_and_units():
    b = EnergyBands([[0.5, 1.2], [1.2, 2.0], [2.0, 7.0]])
    idx = b.band_index([0.499, 0.5, 1.2, 1.9999, 2.0, 7.0] * u.keV)
    assert idx.tolist() == [-1, 0, 1, 1, 2, -1]
    gap = EnergyBands([[0.5, 1.0], [2.0, 3.0]])
    assert gap.band_index([0.7, 1.5, 2.5]).tolist() == [0, -1, 1]
    assert EnergyBands.from_dict(get_bands("lovig_4").to_dict()) == get_bands("lovig_4")


@pytest.mark.parametrize("edges", [[[1.0, 0.5]], [[0.5]], [[np.nan, 1.0]], [[-1.0, 1.0]]], ids=str)
def test_bad_band_edges(edges):
    with pytest.raises(InputError):
        EnergyBands(edges)


def test_band_edges_wrong_unit_and_unknown_preset():
    with pytest.raises(UnitError):
        EnergyBands([[1, 2]] * u.s)
    with pytest.raises(UnknownNameError, match="Did you mean 'erosita_3'"):
        get_bands("erosita3")


def test_cosmology_round_trip_and_distance():
    c = get_cosmology()
    assert c.name == "WMAP7"
    assert cosmology_from_dict(cosmology_to_dict(c)) is c
    planck = get_cosmology("Planck15")
    again = cosmology_from_dict({**cosmology_to_dict(planck), "name": "mine"})
    assert again.H0 == planck.H0
    # D_C(z) h in h^-1 Mpc equals D_C in Mpc times h
    assert float(comoving_distance_h(0.3)) == pytest.approx(
        c.comoving_distance(0.3).to_value("Mpc") * c.h
    )
    with pytest.raises(InputError, match="unknown cosmology"):
        get_cosmology("NoSuchCosmo")
