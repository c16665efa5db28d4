"""Conformal calibration wrapper: coverage guarantees, Mondrian bins, save/load, cross-validation."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators.base import InputSpec, get_observable
from astroclustermass.estimators.conformal import conformal_quantile, cv_plus_bounds
from astroclustermass.evaluation import cross_validate
from astroclustermass.exceptions import AstroClusterMassWarning, InputError, OutOfRangeWarning
from astroclustermass.plugins import hookimpl, register_plugin, unregister_plugin
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import check_estimator

pytestmark = pytest.mark.filterwarnings(f"ignore::{OutOfRangeWarning.__module__}.OutOfRangeWarning")


class OracleEstimator(MassEstimator):
    """Predicts the observable ``mu_obs`` with σ = ``sigma_obs`` (or a constant); records ids."""

    name = "oracle_test"
    provides_sigma = True
    seen: list = []  # (what, ids) of every fit/predict call, for the leakage test

    def __init__(self, per_cluster_sigma: bool = True) -> None:
        self.per_cluster_sigma = per_cluster_sigma

    def input_spec(self) -> InputSpec:
        return InputSpec(observables=["mu_obs", "sigma_obs"])

    def _fit(self, sample, validation) -> None:
        OracleEstimator.seen.append(("fit", set(np.asarray(sample.catalog["id"]).tolist())))
        self.n_fit_ = len(sample)

    def _predict(self, sample):
        OracleEstimator.seen.append(("predict", set(np.asarray(sample.catalog["id"]).tolist())))
        mu = get_observable(sample, "mu_obs")
        if self.per_cluster_sigma:
            return mu, get_observable(sample, "sigma_obs")
        return mu, np.full(mu.size, 0.1)

    def _get_state(self):
        return {"n_fit": self.n_fit_}, {}

    def _set_state(self, state, arrays):
        self.n_fit_ = int(state["n_fit"])


@pytest.fixture(autouse=True)
def oracle_registered():
    @hookimpl
    def astroclustermass_register_estimators(registry):
        registry.register("oracle_test", OracleEstimator)

    key = register_plugin(
        types.SimpleNamespace(
            astroclustermass_register_estimators=astroclustermass_register_estimators
        ),
        name="test-oracle",
    )
    yield
    unregister_plugin(key)


def heteroscedastic(n: int, rng, id0: int = 1, sigma_of=None):
    """Clusters with predictions μ = m + σ(m, z)·N(0, 1), σ growing with redshift and mass."""
    logm = rng.uniform(13.5, 15.0, n)
    z = rng.uniform(0.05, 0.5, n)
    sigma = 0.03 + 0.25 * z + 0.05 * (logm - 13.5) if sigma_of is None else sigma_of(logm, z)
    mu = logm + sigma * rng.standard_normal(n)
    return ClusterSample.from_arrays(
        {
            "id": np.arange(id0, id0 + n),
            "redshift": z,
            "log10_m500c": logm,
            "exposure": np.full(n, 1600.0),
        },
        images={"bolometric": np.zeros((n, 1, 2, 2), np.int32)},
        observables={"mu_obs": mu, "sigma_obs": sigma},
    )


def covered(pred, level):
    lo, hi = pred.interval(level)
    truth = np.asarray(pred["log10_m500c_true"], float)
    return (truth >= lo) & (truth <= hi)


def test_quantile_and_cv_plus_agree_with_their_definitions():
    scores = np.arange(1.0, 20.0)  # n = 19
    assert conformal_quantile(scores, 0.1) == 18.0  # ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.04) == np.inf  # ceil(20 * 0.96) = 20 > 19
    # one fold: CV+ is split conformal around the single model
    lo, hi = cv_plus_bounds([[14.0, 15.0]], [[1.0, 2.0]], np.zeros(19, int), scores / 100, 0.1)
    np.testing.assert_allclose(lo, [14.0 - 0.18, 15.0 - 0.36])
    np.testing.assert_allclose(hi, [14.0 + 0.18, 15.0 + 0.36])


@pytest.mark.parametrize("normalise", [False, True])
def test_split_conformal_coverage_within_finite_sample_bound(normalise):
    """Over repeated draws, mean coverage lies in [1 − α, 1 − α + 1/(n_cal + 1)] (± 3 s.e.)."""
    rng = np.random.default_rng(1)
    n_train, n_test, draws = 80, 400, 150  # n_cal = 40
    alphas = (0.32, 0.1)
    cov = {a: [] for a in alphas}
    for _ in range(draws):
        est = MassEstimator.from_name(
            "conformal",
            base="oracle_test",
            method="split",
            calibration_fraction=0.5,
            alpha=alphas,
            normalise=normalise,
            seed=int(rng.integers(1 << 30)),
        )
        est.fit(heteroscedastic(n_train, rng))
        pred = est.predict(heteroscedastic(n_test, rng, id0=10_000))
        for a in alphas:
            cov[a].append(covered(pred, 1 - a).mean())
    n_cal = 40
    for a in alphas:
        c = np.asarray(cov[a])
        se = c.std(ddof=1) / np.sqrt(draws)
        assert 1 - a - 3 * se <= c.mean() <= 1 - a + 1 / (n_cal + 1) + 3 * se, (a, c.mean(), se)


def test_normalised_scores_follow_the_base_sigma():
    """With the base's σ(x), intervals are wider where σ is larger and cover in both halves;
    unnormalised ones under-cover the noisy half."""
    rng = np.random.default_rng(2)
    train, test = heteroscedastic(600, rng), heteroscedastic(4000, rng, id0=10_000)
    z = np.asarray(test.catalog["redshift"])
    noisy = z > np.median(z)
    results = {}
    for normalise in (True, False):
        est = MassEstimator.from_name(
            "conformal", base="oracle_test", method="split", normalise=normalise, alpha=(0.1,)
        ).fit(train)
        pred = est.predict(test)
        hit = covered(pred, 0.9)
        results[normalise] = (hit[noisy].mean(), hit[~noisy].mean())
        lo, hi = pred.interval(0.9)
        width = hi - lo
        assert (np.median(width[noisy]) > 1.3 * np.median(width[~noisy])) == normalise
    assert abs(results[True][0] - 0.9) < 0.03 and abs(results[True][1] - 0.9) < 0.03
    assert results[False][0] < 0.86 < 0.93 < results[False][1]


def test_cv_plus_reaches_at_least_one_minus_two_alpha():
    rng = np.random.default_rng(3)
    draws, alpha = 60, 0.1
    cov = []
    for _ in range(draws):
        est = MassEstimator.from_name(
            "conformal",
            base="oracle_test",
            method="cv+",
            n_folds=5,
            alpha=(alpha,),
            seed=int(rng.integers(1 << 30)),
        ).fit(heteroscedastic(60, rng))
        assert len(est.models_) == 5 and est.calibration_fold_.size == 60
        cov.append(covered(est.predict(heteroscedastic(300, rng, id0=10_000)), 1 - alpha).mean())
    cov = np.asarray(cov)
    se = cov.std(ddof=1) / np.sqrt(draws)
    assert cov.mean() >= 1 - 2 * alpha
    assert cov.mean() >= 1 - alpha - 3 * se - 1 / 61  # and in practice close to 1 − α


def test_jackknife_plus_uses_one_model_per_cluster():
    rng = np.random.default_rng(4)
    est = MassEstimator.from_name(
        "conformal", base="oracle_test", method="jackknife+", alpha=(0.2,)
    ).fit(heteroscedastic(30, rng))
    assert len(est.models_) == 30 and sorted(est.calibration_fold_.tolist()) == list(range(30))
    assert 0.7 < covered(est.predict(heteroscedastic(2000, rng, id0=10_000)), 0.8).mean() < 0.9


def test_mondrian_covers_every_redshift_bin():
    """The base's σ is one number for all, but the noise grows with z: pooled calibration
    over-covers low z and under-covers high z; Mondrian calibration covers each bin."""
    rng = np.random.default_rng(5)
    train, test = heteroscedastic(6000, rng), heteroscedastic(6000, rng, id0=10_000)
    z = np.asarray(test.catalog["redshift"])
    common = dict(
        base="oracle_test",
        base_params={"per_cluster_sigma": False},
        method="split",
        calibration_fraction=0.5,
    )
    pooled = MassEstimator.from_name("conformal", alpha=(0.1,), **common).fit(train)
    binned = MassEstimator.from_name(
        "conformal", alpha=(0.1,), mondrian=("redshift",), n_bins=3, **common
    ).fit(train)
    edges = np.asarray(binned.bin_edges_["redshift"])
    assert edges.size == 2
    which = np.searchsorted(edges, z, side="right")
    per_pooled = [covered(pooled.predict(test), 0.9)[which == b].mean() for b in range(3)]
    per_binned = [covered(binned.predict(test), 0.9)[which == b].mean() for b in range(3)]
    assert per_pooled[0] > 0.95 and per_pooled[2] < 0.85
    # n_cal = 1000 per bin: the calibration draw moves coverage by ~0.01, the 2000 test
    # clusters of a bin by ~0.007; 3 of those together
    for c in per_binned:
        assert abs(c - 0.9) < 0.035, per_binned
    assert "mondrian redshift x3" in binned.predict(test).meta["interval_method"]


def test_small_calibration_bins_warn_and_give_infinite_intervals():
    rng = np.random.default_rng(6)
    est = MassEstimator.from_name(
        "conformal", base="oracle_test", method="split", alpha=(0.01,), calibration_fraction=0.2
    )
    with pytest.warns(AstroClusterMassWarning, match="fewer than the 99"):
        est.fit(heteroscedastic(100, rng))
    lo, hi = est.predict(heteroscedastic(5, rng, id0=500)).interval(0.99)
    assert np.all(np.isinf(lo)) and np.all(np.isinf(hi))


def test_bad_parameters_name_the_fix():
    s = heteroscedastic(40, np.random.default_rng(7))
    with pytest.raises(InputError, match="alpha"):
        MassEstimator.from_name("conformal", base="oracle_test", alpha=(1.5,)).fit(s)
    with pytest.raises(InputError, match="mondrian keys"):
        MassEstimator.from_name("conformal", base="oracle_test", mondrian=("colour",)).fit(s)
    with pytest.raises(InputError, match="unknown base"):
        MassEstimator.from_name("conformal", base="no_such_model").fit(s)
    with pytest.raises(InputError, match="invalid parameters"):
        MassEstimator.from_name("conformal", base="oracle_test", base_params={"x": 1}).fit(s)


def test_cross_validate_never_shows_a_test_fold_to_the_calibration():
    rng = np.random.default_rng(8)
    sample = heteroscedastic(120, rng)
    OracleEstimator.seen.clear()
    pred = cross_validate(
        "conformal", sample, folds=4, base="oracle_test", method="cv+", n_folds=3, alpha=(0.32,)
    )
    ids = np.asarray(sample.catalog["id"])
    fold_of = dict(zip(ids.tolist(), np.asarray(pred["fold"]).tolist()))
    calls = list(OracleEstimator.seen)
    # per outer fold: 3 (fit, predict-held-out) pairs, then 3 predictions of the test fold
    assert len(calls) == 4 * (2 * 3 + 3)
    for f in range(4):
        block = calls[f * 9 : (f + 1) * 9]
        test_ids = {i for i, k in fold_of.items() if k == f}
        assert [what for what, _ in block] == ["fit", "predict"] * 3 + ["predict"] * 3
        for _, seen in block[:6]:  # everything the calibration used
            assert not seen & test_ids, f"fold {f}: a test cluster reached the calibration"
        assert all(seen == test_ids for _, seen in block[6:])
    assert 0.55 < covered(pred, 0.68).mean() < 0.8


def test_check_estimator_and_save_load_roundtrip(tmp_path):
    check_estimator("conformal")
    check_estimator(
        MassEstimator.from_name(
            "conformal",
            base="power_law",
            method="split",
            mondrian=("mass", "redshift"),
            n_bins=2,
            alpha=(0.32,),
        )
    )
    rng = np.random.default_rng(9)
    est = MassEstimator.from_name("conformal", base="oracle_test", mondrian=("mass",))
    est.fit(heteroscedastic(100, rng))
    test = heteroscedastic(50, rng, id0=1000)
    before = est.predict(test)
    est.save(tmp_path / "model")
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["arrays.safetensors", "config.json", "manifest.json"]
    after = MassEstimator.load(tmp_path / "model").predict(test)
    for col in ("log10_m500c", "sigma_log10_m500c", "log10_m500c_lo68", "log10_m500c_hi95"):
        np.testing.assert_array_equal(np.asarray(after[col]), np.asarray(before[col]))


def test_cnn_base_roundtrip(tmp_path):
    """A calibrated image CNN: its fold networks are saved as sub-models and reload."""
    from astroclustermass.testing import make_tiny_sample

    sample = make_tiny_sample(n=48, npix=16)
    est = MassEstimator.from_name(
        "conformal",
        base="single_band_cnn",
        method="cv+",
        n_folds=2,
        alpha=(0.32,),
        base_params={"max_epochs": 2, "batch_size": 16, "num_threads": 1, "device": "cpu"},
    )
    assert est.parallel_folds is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstroClusterMassWarning)
        est.fit(sample)
        before = est.predict(sample)
        est.save(tmp_path / "cnn")
        after = MassEstimator.load(tmp_path / "cnn").predict(sample)
    np.testing.assert_allclose(after["log10_m500c_lo68"], before["log10_m500c_lo68"], atol=1e-5)
    assert len(est.models_) == 2
