"""Publishable predictions (positions, M500c in Msun for h, R500c, provenance) and --ids/--split."""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.cli import main
from astroclustermass.cosmology import r500c_comoving
from astroclustermass.estimators import MassPrediction, publication_table
from astroclustermass.exceptions import InputError
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import make_tiny_sample


def _sample(n=3):
    cat = {"id": np.arange(10, 10 + n), "ra": np.linspace(150, 151, n) * u.deg,
           "dec": np.linspace(2, 3, n), "redshift": np.full(n, 0.3)}  # fmt: skip
    return ClusterSample.from_arrays(cat, images={"bolometric": np.zeros((n, 1, 4, 4), np.int32)})


def test_units_match_a_hand_calculation():
    s = _sample()
    # 3e14 Msun at h = 0.7 is log10(2.1e14) h^-1 Msun
    mu = np.log10(np.array([2.1e14, 7e13, 1e15]))
    p = MassPrediction.from_arrays(s.ids, s.redshift, mu, [0.1, 0.2, 0.3], estimator="demo",
                                   intervals={0.9: (mu - 0.2, mu + 0.3)})  # fmt: skip
    p.meta["provides_sigma"] = True
    t = publication_table(p, s, h=0.7)
    assert t.colnames[:4] == ["id", "ra", "dec", "redshift"] and t["ra"].unit == u.deg
    np.testing.assert_allclose(t["ra"], [150.0, 150.5, 151.0])
    np.testing.assert_allclose(t["m500c"], [3.0, 1.0, 1e15 / 0.7 / 1e14], rtol=1e-12)
    assert t["m500c"].unit == u.Unit(1e14 * u.Msun)
    np.testing.assert_allclose((t["m500c"].quantity[0]).to_value(u.Msun), 3e14, rtol=1e-12)
    np.testing.assert_allclose(t["log10_m500c_msun"][0], np.log10(3e14), rtol=1e-12)
    np.testing.assert_allclose(t["m500c_lo90"], 10 ** (mu - 0.2) / 0.7 / 1e14, rtol=1e-12)
    np.testing.assert_allclose(t["m500c_hi90"], 10 ** (mu + 0.3) / 0.7 / 1e14, rtol=1e-12)
    # R500c: comoving h^-1 Mpc / (1 + z) / h -> physical kpc
    r = r500c_comoving(2.1e14, 0.3, s.cosmology) / 1.3 / 0.7 * 1000
    np.testing.assert_allclose(t["r500c"][0], r, rtol=1e-12)
    assert t["r500c"].unit == u.kpc and 700 < t["r500c"][0] < 1100
    assert t.meta["h"] == 0.7 and t.meta["sigma_kind"] == "per-cluster"
    assert t.meta["cosmology"]["name"] == "WMAP7" and "500 times" in t.meta["mass_definition"]
    assert t.meta["model"]["name"] == "demo"
    # h changes the Msun columns only
    t1 = publication_table(p, s, h=1.0)
    np.testing.assert_allclose(t1["m500c"], 10 ** (mu - 14))
    np.testing.assert_array_equal(t1["log10_m500c"], t["log10_m500c"])
    # without interval columns: mu +/- sigma
    q = MassPrediction.from_arrays(s.ids, s.redshift, mu, 0.1)
    q.meta["provides_sigma"] = False
    tq = publication_table(q, s)
    np.testing.assert_allclose(tq["m500c_lo68"], 10 ** (mu - 0.0994458) / 0.7e14, rtol=1e-5)
    assert tq.meta["sigma_kind"] == "constant"


def test_mismatched_inputs_are_refused():
    s = _sample()
    p = MassPrediction.from_arrays([10, 11], [0.3, 0.3], [14.0, 14.0], 0.1)
    with pytest.raises(InputError, match="2 rows and the sample 3"):
        publication_table(p, s)
    p = MassPrediction.from_arrays([10, 11, 99], [0.3] * 3, [14.0] * 3, 0.1)
    with pytest.raises(InputError, match="ids are not the sample's"):
        publication_table(p, s)
    with pytest.raises(InputError, match="h must be"):
        publication_table(MassPrediction.from_arrays(s.ids, s.redshift, [14.0] * 3, 0.1), s, h=70)


def test_cli_train_and_predict_on_complementary_splits(tmp_path, capsys):
    s = make_tiny_sample(n=60, bands=("bolometric",), npix=8, seed=1)
    s.catalog["ra"] = np.linspace(10, 20, 60)
    s.catalog["dec"] = np.linspace(-5, 5, 60)
    h5, model, out = tmp_path / "s.h5", tmp_path / "m", tmp_path / "p.ecsv"
    s.write(h5)
    split = ["--split", "train:sky:4:1"]
    assert main(["train", "power_law", "--sample", str(h5), "--out", str(model), "-q",
                 "--param", "observable=n_phot_500c", "--param", "min_per_bin=5", *split]) == 0  # fmt: skip
    assert "selected 45 of 60 clusters" in capsys.readouterr().out
    assert main(["predict", str(model), "--sample", str(h5), "--out", str(out), "-q",
                 "--split", "test:sky:4:1", "--h", "0.7"]) == 0  # fmt: skip
    t = Table.read(out, format="ascii.ecsv")
    assert len(t) == 15
    from astroclustermass.sample.folds import make_folds

    expect = np.asarray(s.ids)[make_folds(s.catalog, "sky:4")[1][1]]
    np.testing.assert_array_equal(t["id"], expect)
    for col, unit in (("ra", u.deg), ("m500c", u.Unit(1e14 * u.Msun)), ("r500c", u.kpc)):
        assert t[col].unit == unit
    manifest = json.loads((model / "manifest.json").read_text())
    assert t.meta["model"]["sha256"] == manifest["sha256"]
    assert t.meta["model"]["name"] == "power_law" and t.meta["h"] == 0.7
    # --ids, and --raw writes only the package's columns
    ids = ",".join(str(i) for i in expect[:3])
    assert main(["predict", str(model), "--sample", str(h5), "--out", str(out), "-q",
                 "--overwrite", "--ids", ids, "--raw"]) == 0  # fmt: skip
    t = Table.read(out, format="ascii.ecsv")
    assert t["id"].tolist() == expect[:3].tolist() and "m500c" not in t.colnames
    for bad, match in ((["--ids", "9999"], "not in the sample"),
                       (["--split", "half:0.5"], "train:SPEC or test:SPEC"),
                       (["--split", "test:sky:4:7"], "there are 4 folds"),
                       (["--split", "test:1.5"], "between 0 and 1")):  # fmt: skip
        assert main(["predict", str(model), "--sample", str(h5), "--out", str(out), "-q",
                     "--overwrite", *bad]) == 2  # fmt: skip
        assert match in capsys.readouterr().err
