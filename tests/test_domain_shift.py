"""Domain shift: predictions flag clusters unlike the training ones, and warn when many are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators._domain import DomainModel
from astroclustermass.exceptions import DomainShiftWarning, OutOfRangeWarning
from astroclustermass.sample import ClusterSample
from astroclustermass.simulate import MockUniverse


def _mock(tmp, name, n, seed, exposure="paper"):
    out = tmp / name
    MockUniverse(n_clusters=n, seed=seed, exposure=exposure).write(
        out, n_jobs=1, progress=False, overwrite=True
    )
    return ClusterSample.build(
        out, bands=("erosita_3",), npix=16, dynamics=False, n_jobs=1, progress=False
    )


@pytest.fixture(scope="module")
def mocks(tmp_path_factory):
    """The training mock, a fresh draw of it, and a survey 10x shallower (200 s, eRASS1)."""
    tmp = tmp_path_factory.mktemp("shift")
    return {
        "train": _mock(tmp, "train", 160, 11),
        "fresh": _mock(tmp, "fresh", 160, 12),
        "shallow": _mock(tmp, "shallow", 100, 13, exposure="erass1"),
    }


def predict_quietly(est, sample):
    """Predict; range warnings ignored, a DomainShiftWarning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        warnings.simplefilter("error", DomainShiftWarning)
        return est.predict(sample)


@pytest.mark.parametrize(
    "name, params",
    [
        ("power_law", {}),
        ("multiband_cnn", {"max_epochs": 4, "num_threads": 1, "device": "cpu", "batch_size": 32}),
    ],
)
def test_shallower_survey_flagged_fresh_draw_not(mocks, name, params):
    est = MassEstimator.from_name(name, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        est.fit(mocks["train"])
    fresh = predict_quietly(est, mocks["fresh"])  # no DomainShiftWarning
    assert fresh["out_of_distribution"].dtype == bool
    assert np.mean(fresh["out_of_distribution"]) <= 0.06  # nominal 1 %
    np.testing.assert_array_equal(fresh["out_of_distribution"], fresh["domain_distance"] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        with pytest.warns(DomainShiftWarning, match="log10 (counts erosita_3|n_phot_500c)"):
            shallow = est.predict(mocks["shallow"])
    assert np.mean(shallow["out_of_distribution"]) > 0.8
    assert np.median(shallow["domain_distance"]) > 2 * np.median(fresh["domain_distance"])
    # without its exposure column the depth change is partly degenerate with mass (fewer
    # counts look like a lighter cluster): measured 25-31 % flagged, against <= 6 % fresh
    blind = mocks["shallow"][np.arange(len(mocks["shallow"]))]
    blind.catalog.remove_column("exposure")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        distance = est.domain_distance(blind)
    assert np.mean(distance > 1) > 0.15


def test_domain_model_survives_save_load(mocks, tmp_path):
    est = MassEstimator.from_name("power_law")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        est.fit(mocks["train"])
        before = est.domain_distance(mocks["fresh"])
        est.save(tmp_path / "m")
        after = MassEstimator.load(tmp_path / "m").domain_distance(mocks["fresh"])
    np.testing.assert_allclose(after, before)


def test_conformal_intervals_widen_out_of_distribution(mocks):
    common = dict(base="power_law", method="cv+", alpha=(0.32,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        plain = MassEstimator.from_name("conformal", widen_ood=False, **common).fit(mocks["train"])
        wide = MassEstimator.from_name("conformal", **common).fit(mocks["train"])
        p_plain = plain.predict(mocks["shallow"])
        p_wide = wide.predict(mocks["shallow"])
    d = np.asarray(p_wide["domain_distance"])
    w_plain = np.subtract(*p_plain.interval(0.68)[::-1])
    w_wide = np.subtract(*p_wide.interval(0.68)[::-1])
    np.testing.assert_allclose(w_wide, w_plain * np.maximum(d, 1.0), rtol=1e-9)
    assert "widened out of distribution" in p_wide.meta["interval_method"]


def test_fresh_draws_of_a_gaussian_are_flagged_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 1.0]])
    model = DomainModel().fit({"x": rng.multivariate_normal(np.zeros(3), cov, 400)})
    fresh = rng.multivariate_normal(np.zeros(3), cov, 20_000)
    rate = np.mean(model.distance({"x": fresh}) > 1)
    assert 0.004 < rate < 0.025  # nominal 1 %, the threshold itself estimated from 400 draws
    # a shift along the correlated direction's weak axis is caught although each
    # feature alone stays within its training range
    shifted = fresh + np.array([2.0, -2.0, 0.0])
    assert np.mean(model.distance({"x": shifted}) > 1) > 0.8
