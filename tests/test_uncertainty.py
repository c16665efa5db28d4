"""Per-cluster σ from image CNNs (loss='nll') and the generic deep ensemble."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators._losses import LOG_SIGMA_MIN
from astroclustermass.estimators.ensemble import combine_members, member_seed
from astroclustermass.evaluation.metrics import has_per_cluster_sigma
from astroclustermass.exceptions import AstroClusterMassWarning, OutOfRangeWarning
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import check_estimator, make_tiny_sample

TINY_CNN = {"max_epochs": 2, "batch_size": 16, "num_threads": 1, "device": "cpu"}


def toy(n: int, seed: int):
    """Images that encode an observed o exactly; the true mass is o + σ(o)·N(0, 1)."""
    rng = np.random.default_rng(seed)
    o = rng.uniform(13.5, 15.0, n)
    sigma = 0.03 + 0.2 * (o - 13.5) / 1.5
    truth = o + sigma * rng.standard_normal(n)
    counts = np.round(100 * 10 ** (0.8 * (o - 13.5)))
    images = np.broadcast_to(counts[:, None, None, None], (n, 1, 8, 8)).astype(np.int32)
    sample = ClusterSample.from_arrays(
        {"redshift": np.full(n, 0.1), "log10_m500c": truth}, images={"bolometric": images}
    )
    return sample, o, sigma


@pytest.mark.filterwarnings(f"ignore::{OutOfRangeWarning.__module__}.OutOfRangeWarning")
def test_nll_network_recovers_a_known_sigma():
    """A single-band CNN with loss='nll' learns σ(x) rising from 0.03 to 0.23 dex."""
    train, _, _ = toy(2000, 0)
    test, o, sigma = toy(1000, 1)
    est = MassEstimator.from_name(
        "single_band_cnn",
        loss="nll",
        network_params={"conv": (4,), "kernels": (3,), "pools": (2,), "dense": (32, 32)},
        normalise_redshift=False,
        max_epochs=60,
        patience=10,
        lr=3e-3,
        batch_size=64,
        weight_decay=0.0,
        device="cpu",
        num_threads=1,
    ).fit(train)
    assert est.provides_sigma
    pred = est.predict(test)
    assert pred.meta["provides_sigma"] and has_per_cluster_sigma(pred)
    got = np.asarray(pred["sigma_log10_m500c"])
    inner = (o > 13.7) & (o < 14.8)  # away from the edges of the uniform prior
    ratio = got[inner] / sigma[inner]
    assert abs(np.median(ratio) - 1) < 0.15
    assert np.percentile(ratio, 10) > 0.75 and np.percentile(ratio, 90) < 1.3
    assert np.corrcoef(got[inner], sigma[inner])[0, 1] > 0.95
    # and the σ it gives is calibrated: 68 % of the residuals lie within it
    z = np.abs(np.asarray(pred["log10_m500c"]) - np.asarray(pred["log10_m500c_true"])) / got
    assert abs(np.mean(z[inner] < 1) - 0.68) < 0.05


@pytest.mark.parametrize("name", ["single_band_cnn", "multiband_cnn", "gap_cnn", "joint_cnn"])
def test_every_image_cnn_gives_a_per_cluster_sigma_with_nll(name):
    cls_params = {"joint_cnn": {"network_params": {"cube_kernels": (3, 3, 1)}}}.get(name, {})
    est = MassEstimator.from_name(name, loss="nll", **TINY_CNN, **cls_params)
    bands = est.input_spec()["bands"]
    sample = make_tiny_sample(n=32, bands=tuple(b.name for b in bands), cubes=name == "joint_cnn")
    with warnings.catch_warnings():  # a 2-epoch fit predicts out of range
        warnings.simplefilter("ignore", AstroClusterMassWarning)
        pred = est.fit(sample).predict(sample)
    sig = np.asarray(pred["sigma_log10_m500c"])
    assert est.provides_sigma and np.all(np.isfinite(sig)) and np.ptp(sig) > 0
    floor = np.exp(LOG_SIGMA_MIN) * est.transforms_["target_std"]
    assert np.all(sig >= floor * (1 - 1e-6))
    assert not MassEstimator.from_name(name).provides_sigma  # MSE: one σ for all


def test_deep_ensemble_combines_members_with_eq_2_3(tmp_path):
    check_estimator("deep_ensemble")
    sample = make_tiny_sample(n=48, npix=16)
    est = MassEstimator.from_name(
        "deep_ensemble",
        base="single_band_cnn",
        n_members=3,
        seed=4,
        base_params={**TINY_CNN, "loss": "nll", "seed": 99},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstroClusterMassWarning)
        est.fit(sample)
        pred = est.predict(sample)
    assert est.member_seeds_ == [member_seed(4, i) for i in range(3)]
    assert est.base_params["seed"] == 99  # the parameter is left alone
    mus, sigmas = est.member_outputs(sample)
    assert mus.shape == (3, 48) and np.ptp(mus, axis=0).max() > 0  # the members differ
    mu, sigma = combine_members(mus, sigmas)
    np.testing.assert_allclose(pred["log10_m500c"], mu)
    np.testing.assert_allclose(pred["sigma_log10_m500c"], sigma)
    # σ* is at least the members' mean aleatoric σ (their spread adds to it)
    assert np.all(sigma >= np.sqrt(np.mean(sigmas**2, axis=0)) - 1e-12)
