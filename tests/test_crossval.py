"""Cross-validation: out-of-fold predictions, fold hygiene and validation splits."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pytest

from astroclustermass.estimators import InputSpec, MassEstimator
from astroclustermass.estimators._torch_base import split_validation
from astroclustermass.evaluation import cross_validate
from astroclustermass.evaluation.crossval import resolve_folds
from astroclustermass.exceptions import AstroClusterMassWarning, InputError, OutOfRangeWarning
from astroclustermass.testing import make_tiny_sample

SPY_LOG: list[dict] = []


class SpyEstimator(MassEstimator):
    """Predicts the training mean and records which clusters it saw."""

    name: ClassVar[str] = "spy"

    def __init__(self, offset: float = 0.0, validation_fraction: float = 0.2, seed: int = 0):
        self.offset = offset
        self.validation_fraction = validation_fraction
        self.seed = seed

    def input_spec(self) -> InputSpec:
        return InputSpec(redshift=True)

    def _fit(self, sample, validation) -> None:
        sample, validation = split_validation(
            sample, validation, self.validation_fraction, self.seed
        )
        self.n_validation_ = 0 if validation is None else len(validation)
        SPY_LOG.append(
            {
                "train": np.asarray(sample.catalog["id"]).copy(),
                "validation": None if validation is None else np.asarray(validation.catalog["id"]),
            }
        )
        self.mean_ = float(np.mean(sample.catalog["log10_m500c"])) + self.offset

    def _predict(self, sample):
        SPY_LOG[-1]["test"] = np.asarray(sample.catalog["id"]).copy()
        return np.full(len(sample), self.mean_), np.full(len(sample), 0.3)

    def _get_state(self):
        return {"mean": self.mean_}, {}

    def _set_state(self, state, arrays):
        self.mean_ = state["mean"]


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(n=120, seed=3)


def run_cv(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return cross_validate(*args, **kwargs)


def test_every_cluster_exactly_once_in_sample_order(sample):
    pred = run_cv("power_law", sample, folds="octant", min_per_bin=10)
    assert len(pred) == len(sample)
    np.testing.assert_array_equal(pred["id"], sample.catalog["id"])
    np.testing.assert_array_equal(pred["log10_m500c_true"], sample.catalog["log10_m500c"])
    folds = sample.folds(kind="octant")
    expected = np.empty(len(sample), dtype=int)
    for i, (_, test) in enumerate(folds):
        expected[test] = i
    np.testing.assert_array_equal(pred["fold"], expected)
    assert [f["n_test"] for f in pred.meta["folds"]] == [len(t) for _, t in folds]
    assert pred.meta["cv"] == "octant" and pred.meta["estimator"] == "power_law"
    assert all(f["fit_seconds"] >= 0 for f in pred.meta["folds"])


def test_out_of_fold_predictions_use_only_the_other_folds(sample):
    """Each cluster's prediction equals that of a model trained on the other folds only."""
    folds = sample.folds(kind="kfold", k=4, seed=0)
    pred = run_cv("power_law", sample, folds=folds, beta=0.0, min_per_bin=10)
    for train, test in folds:
        alone = MassEstimator.from_name("power_law", beta=0.0, min_per_bin=10).fit(sample[train])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutOfRangeWarning)
            direct = alone.predict(sample[test])
        np.testing.assert_allclose(pred["log10_m500c"][test], direct["log10_m500c"])


def test_validation_split_comes_from_the_training_folds_only(sample):
    SPY_LOG.clear()
    pred = run_cv(SpyEstimator(seed=7), sample, folds=5, seed=7)
    assert len(SPY_LOG) == 5
    ids = np.asarray(sample.catalog["id"])
    seen_test = []
    for entry in SPY_LOG:
        train, val, test = entry["train"], entry["validation"], entry["test"]
        assert val is not None and len(val) == round(0.2 * (len(ids) - len(test)))
        assert not set(val) & set(test), "validation clusters taken from the test fold"
        assert not set(train) & set(test), "training on the test fold"
        assert not set(train) & set(val), "validation clusters also used for training"
        assert set(train) | set(val) | set(test) == set(ids)
        seen_test.extend(test)
    assert sorted(seen_test) == sorted(ids)
    assert [f["n_validation"] for f in pred.meta["folds"]] == [
        len(e["validation"]) for e in SPY_LOG
    ]
    # the split is seeded: the same seed gives the same validation clusters
    first = [e["validation"].copy() for e in SPY_LOG]
    SPY_LOG.clear()
    run_cv(SpyEstimator(seed=7), sample, folds=5, seed=7)
    for a, e in zip(first, SPY_LOG):
        np.testing.assert_array_equal(a, e["validation"])


def test_estimators_without_validation_get_none(sample):
    SPY_LOG.clear()
    pred = run_cv(SpyEstimator(validation_fraction=0.0), sample, folds=3)
    assert all(e["validation"] is None for e in SPY_LOG)
    assert all(f["n_validation"] == 0 for f in pred.meta["folds"])


def test_estimators_own_validation_fraction_takes_effect(sample):
    """Under cross_validate an estimator's validation_fraction means what it says."""
    pred = run_cv(
        "nll_ensemble",
        sample,
        folds=4,
        n_members=1,
        max_epochs=1,
        batch_size=64,
        progress=False,
        bands="bolometric",
    )
    for f in pred.meta["folds"]:
        assert f["n_validation"] == round(0.15 * f["n_train"])
    pred = run_cv(
        "single_band_cnn", sample, folds=4, max_epochs=1, validation_fraction=0.3, progress=False
    )
    assert [f["n_validation"] for f in pred.meta["folds"]] == [
        round(0.3 * f["n_train"]) for f in pred.meta["folds"]
    ]


def test_template_is_left_unfitted_and_fold_estimators_returned(sample):
    template = SpyEstimator(offset=0.5)
    pred = run_cv(template, sample, folds=3, return_estimators=True)
    assert not getattr(template, "is_fitted_", False)
    assert len(pred.fold_estimators) == 3
    assert all(e.is_fitted_ and e.offset == 0.5 for e in pred.fold_estimators)
    assert pred.fold_estimators[0] is not template


def test_parallel_folds_match_serial(sample):
    serial = run_cv("multi_property", sample, folds=4, observables=("T", "M_gas"), min_per_bin=10)
    parallel = run_cv(
        "multi_property", sample, folds=4, n_jobs=2, observables=("T", "M_gas"), min_per_bin=10
    )
    np.testing.assert_array_equal(serial["log10_m500c"], parallel["log10_m500c"])
    np.testing.assert_array_equal(serial["fold"], parallel["fold"])


def test_only_one_folds_sub_samples_live_at_a_time(sample, monkeypatch):
    """Sub-samples are made per fold, so memory holds one fold's copies, not all."""
    import gc
    import weakref

    made: list = []
    cls = type(sample)
    getitem = cls.__getitem__

    def tracking_getitem(self, rows):
        sub = getitem(self, rows)
        made.append(weakref.ref(sub))
        return sub

    monkeypatch.setattr(cls, "__getitem__", tracking_getitem)
    alive: list[int] = []

    class CountingSpy(SpyEstimator):
        def _fit(self, train, validation):
            gc.collect()
            alive.append(sum(ref() is not None for ref in made))
            super()._fit(train, validation)

    run_cv(CountingSpy(), sample, folds=5)
    assert len(alive) == 5 and max(alive) <= 3, alive  # train, validation, test


class TorchLikeSpy(SpyEstimator):
    """A spy that, like the CNNs, must not be fitted in forked workers."""

    parallel_folds: ClassVar[bool] = False


def test_torch_estimators_run_folds_in_spawned_workers(sample):
    """n_jobs=2 sends torch-like folds to spawned workers (no warning, nothing logged here)."""
    SPY_LOG.clear()
    serial = run_cv(TorchLikeSpy(), sample, folds=3)
    assert len(SPY_LOG) == 3
    SPY_LOG.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", AstroClusterMassWarning)
        pred = run_cv(TorchLikeSpy(), sample, folds=3, n_jobs=2)
    assert SPY_LOG == [] and len(pred) == len(sample)  # the spies logged in the workers
    np.testing.assert_array_equal(serial["log10_m500c"], pred["log10_m500c"])
    assert MassEstimator.from_name("single_band_cnn").parallel_folds is False
    assert MassEstimator.from_name("nll_ensemble").parallel_folds is False
    assert MassEstimator.from_name("power_law").parallel_folds is True


def test_cnn_folds_on_two_workers_equal_one_worker():
    """Same seed, same out-of-fold predictions with n_jobs=1 and 2 (spawned, 1 thread each)."""
    s = make_tiny_sample(n=48, npix=16, seed=5)
    params = {
        "network_params": {"conv": (4, 4, 4, 4), "dense": (8,)},
        "max_epochs": 2,
        "batch_size": 16,
        "device": "cpu",
        "seed": 1,
    }
    one = run_cv("single_band_cnn", s, folds=2, **params)
    two = run_cv("single_band_cnn", s, folds=2, n_jobs=2, **params)
    np.testing.assert_array_equal(one["log10_m500c"], two["log10_m500c"])
    np.testing.assert_array_equal(one["fold"], two["fold"])


class WarningSpy(SpyEstimator):
    """A spy that warns while fitting."""

    def _fit(self, sample, validation) -> None:
        warnings.warn(f"fold of {len(sample)} clusters", AstroClusterMassWarning, stacklevel=2)
        super()._fit(sample, validation)


def test_warnings_of_worker_folds_reach_the_caller(sample):
    with pytest.warns(AstroClusterMassWarning, match="fold of") as caught:
        cross_validate(WarningSpy(), sample, folds=3, n_jobs=2)
    assert len([w for w in caught if "fold of" in str(w.message)]) == 3


def test_bad_folds_are_rejected(sample):
    n = len(sample)
    idx = np.arange(n)
    with pytest.raises(InputError, match="exactly once"):
        resolve_folds(sample, [(idx[10:], idx[:10])])
    with pytest.raises(InputError, match="own test"):
        resolve_folds(sample, [(idx, idx[:60]), (idx[:60], idx[60:])])
    with pytest.raises(InputError, match="more than one"):
        resolve_folds(sample, [(idx[70:], idx[:70]), (idx[:60], idx[60:])])
    with pytest.raises(InputError, match="an integer >= 2"):
        resolve_folds(sample, 1)
    with pytest.raises(InputError, match="octant"):
        resolve_folds(sample, "quadrant")
    with pytest.raises(InputError, match="only with an estimator name"):
        cross_validate(SpyEstimator(), sample, folds=3, offset=1.0)


def test_one_fold_parser_for_api_cli_and_benchmark(sample):
    """cross_validate, the CLI's --folds and the benchmark read fold specs the same way."""
    import argparse

    from astroclustermass.benchmarks._stages import _resolve_folds
    from astroclustermass.cli._common import folds as _folds
    from astroclustermass.sample.folds import parse_fold_spec

    for text, expected in (("octant", "octant"), ("kfold", 10), ("4", 4)):
        assert parse_fold_spec(text) == _folds(text) == expected
        assert _resolve_folds(text, sample, True, []) == expected
    for bad in ("1", "quadrant", "0"):
        with pytest.raises(InputError, match="folds must be"):
            parse_fold_spec(bad)
        with pytest.raises(argparse.ArgumentTypeError, match="--folds must be"):
            _folds(bad)
        with pytest.raises(InputError, match="folds must be"):
            _resolve_folds(bad, sample, True, [])
        with pytest.raises(InputError, match="folds must be"):
            cross_validate("power_law", sample, folds=bad)
