"""The recipe ablation trains each recipe per seed on the same folds and reports them."""

from __future__ import annotations

import numpy as np
import pytest

from astroclustermass.benchmarks.ablation import RECIPES, run_ablation
from astroclustermass.exceptions import UnknownNameError
from astroclustermass.testing import make_tiny_sample


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(80, bands=["erosita_3"], npix=16, seed=3)


def test_same_seed_twice_has_no_spread_and_its_ensemble_is_itself(sample):
    t = run_ablation(
        sample,
        ["baseline", "augment"],
        seeds=[0, 0],
        max_epochs=2,
        max_folds=2,
        base_params={"device": "cpu"},
    )
    assert list(t["recipe"]) == ["baseline", "augment"]
    assert np.all(t["seed_spread_dex"] == 0)
    np.testing.assert_allclose(t["ensemble_scatter_dex"], t["scatter_dex"], rtol=1e-9)
    # two octants' clusters are the test set of every recipe
    two = sum(len(test) for _, test in sample.folds("octant")[:2])
    assert np.all(t["n_test"] == two)
    assert t["params"][1] == "augment=True"


def test_two_seeds_differ_and_the_seed_mean_is_no_worse_than_the_worse_seed(sample):
    t = run_ablation(
        sample, ["baseline"], seeds=[0, 1], max_epochs=2, max_folds=1, base_params={"device": "cpu"}
    )
    assert t["seed_spread_dex"][0] > 0
    # the mean of two predictions has residuals no larger in scatter than the worse one
    assert t["ensemble_scatter_dex"][0] <= t["scatter_dex"][0] + t["seed_spread_dex"][0] + 1e-12


def test_unknown_recipe_is_named(sample):
    with pytest.raises(UnknownNameError, match="cosine"):
        run_ablation(sample, ["cosine"], seeds=[0])


def test_every_recipe_is_a_valid_set_of_parameters():
    from astroclustermass.estimators import MassEstimator

    for params in RECIPES.values():
        MassEstimator.from_name("multiband_cnn", **params)
