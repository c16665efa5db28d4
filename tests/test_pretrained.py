"""The shipped pretrained models: load without pickle, hold their cards on fresh mocks,
warn outside their ranges; the regeneration script runs end to end on a tiny configuration."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.table import Table

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators.pretrained import (
    CARD_KEYS,
    PRETRAINED_DIR,
    load_pretrained,
    model_card,
    pretrained_models,
)
from astroclustermass.evaluation.metrics import summarize
from astroclustermass.exceptions import DomainShiftWarning, OutOfRangeWarning, UnknownNameError
from astroclustermass.sample import ClusterSample
from astroclustermass.simulate import MockUniverse

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(pretrained_models()["name"])
#: clusters of the fresh mock: its scatter estimate has a relative standard error of
#: about 1/sqrt(2N) = 9 %; the tests allow three of them
N_FRESH = 60
TOLERANCE = 3 / np.sqrt(2 * N_FRESH)


def test_the_package_ships_the_models_the_issue_asks_for():
    assert {"multiband_cnn_2ks", "nll_ensemble_2ks", "multiband_cnn_erass1"} <= set(NAMES)
    for name in NAMES:
        card = model_card(name)
        assert set(CARD_KEYS) <= set(card)
        assert (
            card["training"]["n_train"] + card["performance"]["n_test"]
            == card["training"]["n_clusters"]
        )
        size = sum(p.stat().st_size for p in (PRETRAINED_DIR / name / "model").iterdir())
        assert size <= 2_000_000
        assert (PRETRAINED_DIR / name / "README.md").read_text().startswith("# Model card")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Mocks the models never saw (another seed), one per depth, built as the cards say."""
    out = tmp_path_factory.mktemp("fresh")
    bands = sorted({model_card(n)["training"]["bands"] for n in NAMES})
    (npix,) = {model_card(n)["training"]["npix"] for n in NAMES}
    samples = {}
    for exposure in sorted({model_card(n)["training"]["exposure"] for n in NAMES}):
        sim = out / f"sim_{exposure}"
        MockUniverse(N_FRESH, seed=2026, exposure=exposure).write(sim, n_jobs=1, progress=False)
        samples[exposure] = ClusterSample.build(
            sim, bands=tuple(bands), npix=npix, dynamics=False, n_jobs=1, progress=False
        ).load()
    return samples


def _no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pretrained model must not be unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_loads_without_pickle_and_holds_its_card(name, fresh, monkeypatch):
    _no_unpickling(monkeypatch)
    est = MassEstimator.pretrained(name)
    card = est.model_card_
    assert est.name == card["estimator"]
    with warnings.catch_warnings():
        # a few fresh clusters may lie just outside the trained mass range
        warnings.simplefilter("ignore", OutOfRangeWarning)
        pred = est.predict(fresh[card["training"]["exposure"]])
    s = summarize(pred)
    stated = card["performance"]
    assert s["scatter_dex"] <= stated["scatter_dex"] * (1 + TOLERANCE)
    assert abs(s["bias_dex"]) <= abs(stated["bias_dex"]) + 3 * stated["scatter_dex"] / np.sqrt(
        N_FRESH
    )
    # and it is a mass estimator, not a constant: it beats predicting the mean mass
    truth = np.asarray(pred["log10_m500c_true"])
    assert s["scatter_dex"] < 0.8 * np.std(truth)


def test_outside_the_cards_ranges_warns(fresh):
    est = MassEstimator.pretrained("multiband_cnn_2ks")
    zmax = est.model_card_["ranges"]["redshift_range"][1]
    shifted = fresh["paper"][np.arange(5)].load()
    shifted.catalog["redshift"] = zmax + 0.5
    with pytest.warns(OutOfRangeWarning, match="redshift outside the range"):
        with warnings.catch_warnings():
            # the domain-shift check also sees these clusters as unlike the training set
            warnings.simplefilter("ignore", DomainShiftWarning)
            est.predict(shifted)
    # a model trained at 2 ks applied to eRASS1-like 200 s maps: another depth
    with pytest.warns(OutOfRangeWarning, match=r"exposure time \(s\) outside the range 2000"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DomainShiftWarning)
            est.predict(fresh["erass1"][np.arange(5)].load())


def test_unknown_name_suggests_a_shipped_one():
    with pytest.raises(UnknownNameError, match="did you mean 'multiband_cnn_2ks'"):
        MassEstimator.pretrained("multiband_cnn_2k")


def test_cli_predicts_with_a_shipped_model(fresh, tmp_path, capsys):
    from astroclustermass.cli import main

    h5 = tmp_path / "fresh.h5"
    fresh["paper"].write(h5)
    out = tmp_path / "pred.ecsv"
    args = ["predict", "--model", "pretrained:nll_ensemble_2ks", str(h5), "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        assert main([*args, "--quiet"]) == 0
    pred = Table.read(out, format="ascii.ecsv")
    assert len(pred) == N_FRESH and pred.meta["sigma_kind"] == "per-cluster"
    assert np.std(pred["sigma_log10_m500c"]) > 0
    assert pred.meta["model"]["path"].endswith("nll_ensemble_2ks/model")
    assert main(["plugins"]) == 0
    assert "nll_ensemble_2ks" in capsys.readouterr().out


def test_regeneration_script_runs_on_a_tiny_configuration(tmp_path):
    out = tmp_path / "models"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_pretrained.py"), "--tiny", "--out", str(out)]
        + ["--work", str(tmp_path / "work"), "--n-jobs", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    table = pretrained_models(out)
    assert sorted(table["name"]) == sorted(NAMES)
    card = json.loads((out / "multiband_cnn_2ks" / "card.json").read_text())
    assert card["training"]["n_clusters"] == 40 and card["training"]["npix"] == 16
    est = load_pretrained("multiband_cnn_2ks", out)
    assert est.model_card_ == card and est.training_info_["signature"]["npix"] == 16
