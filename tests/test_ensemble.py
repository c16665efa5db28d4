"""Tests of the Gaussian-NLL deep ensemble ``nll_ensemble`` (Krippendorf et al. 2023)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _mock_maps import APERTURE, beta_model_maps
from astropy.table import Table

from astroclustermass.exceptions import BandMismatchError, InputError, OutOfRangeWarning

torch = pytest.importorskip("torch")

from astroclustermass.estimators import MassEstimator  # noqa: E402
from astroclustermass.estimators._cnn_base import ImageCNNEstimator  # noqa: E402
from astroclustermass.estimators.ensemble import (  # noqa: E402
    NLLEnsemble,
    combine_members,
    member_seed,
)
from astroclustermass.sample import ClusterSample  # noqa: E402

FAST = {
    "n_members": 3,
    "max_epochs": 50,
    "patience": 15,
    "batch_size": 32,
    "lr": 1e-3,
    "pipeline_params": {"rebin": 1},  # 32^2 maps are small already
    "network_params": {"conv": (8, 8, 8), "dense": (32,)},
    "device": "cpu",
    "num_threads": 1,
    "seed": 0,
}


def make_sample(n, seed=0, band_set="krippendorf_10", npix=32):
    """Mock photon maps: beta models with core radius ∝ M^(1/3) and counts ∝ M^1.5 / z.

    The counts scatter by 0.4 dex (log-normal) at fixed mass, the core radius
    by 1 %, so the image morphology carries information the photon count
    does not; the hardness of the spectrum rises with mass. Poisson counts
    on a flat background. ``n_phot_500c`` counts photons within R500 ∝ M^(1/3).
    """
    rng = np.random.default_rng(seed)
    logm, z, m, r500, r2, images = beta_model_maps(rng, n, npix, band_set, 300, 0.4)
    inside = r2[None] <= r500[:, None, None] ** 2
    obs = Table({"n_phot_500c": (images.sum(axis=1) * inside).sum(axis=(1, 2))})
    return ClusterSample.from_arrays(
        Table({"redshift": z, "log10_m500c": logm}),
        images={band_set: images},
        observables=obs,
        aperture=APERTURE,
    )


@pytest.fixture(scope="module")
def split():
    sample = make_sample(400, seed=2)
    return sample[np.arange(300)], sample[np.arange(300, 400)]


@pytest.fixture(scope="module")
def fitted(split):
    train, _ = split
    est = MassEstimator.from_name("nll_ensemble", **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        est.fit(train, progress=False)
    return est


def _quiet_predict(est, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return est.predict(sample)


# ----------------------------------------------------------------- Eq. 2-3
def test_combine_members_is_krippendorf_eq_2_3():
    rng = np.random.default_rng(1)
    mu = rng.normal(0.3, 0.2, (5, 7))
    sigma = rng.uniform(0.05, 0.3, (5, 7))
    n = len(mu)
    mu_star = sum(mu[i] for i in range(n)) / n  # Eq. 2
    var_star = sum(sigma[i] ** 2 + mu[i] ** 2 for i in range(n)) / n - mu_star**2  # Eq. 3
    got_mu, got_sigma = combine_members(mu, sigma)
    np.testing.assert_allclose(got_mu, mu_star, rtol=1e-12)
    np.testing.assert_allclose(got_sigma, np.sqrt(var_star), rtol=1e-10)
    # at realistic log masses the stable form agrees with Eq. 3 to float precision
    got_mu, got_sigma = combine_members(mu + 14.0, sigma)
    np.testing.assert_allclose(got_mu, mu_star + 14.0, rtol=1e-12)
    np.testing.assert_allclose(got_sigma, np.sqrt(var_star), rtol=1e-6)
    # one member: the member itself
    m1, s1 = combine_members(mu[:1], sigma[:1])
    np.testing.assert_allclose(m1, mu[0])
    np.testing.assert_allclose(s1, sigma[0])
    with pytest.raises(InputError, match="n_members"):
        combine_members(mu, sigma[:, :3])


def test_member_seeds_are_distinct_and_stable():
    seeds = [member_seed(7, i) for i in range(30)]
    assert len(set(seeds)) == 30
    assert all(0 <= s < 2**31 for s in seeds)
    assert member_seed(7, 3) == seeds[3] != member_seed(8, 3)
    est = NLLEnsemble(n_members=3, seed=7)
    assert [est._make_member(i).seed for i in range(3)] == seeds[:3]


# ----------------------------------------------------------------- training
def test_ensemble_beats_count_proxy_and_sigma_is_calibrated(split, fitted):
    train, test = split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        proxy = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(train)
        proxy_scatter = float(np.std(proxy.predict(test).residuals()))
    pred = _quiet_predict(fitted, test)
    resid = pred.residuals()
    scatter = float(np.std(resid))
    mean_sigma = float(np.mean(pred["sigma_log10_m500c"]))
    assert scatter < proxy_scatter, (scatter, proxy_scatter)
    assert abs(float(np.mean(resid))) < 0.1
    assert 1 / 1.5 < mean_sigma / scatter < 1.5, (mean_sigma, scatter)
    assert fitted.resolved_pipeline == "krippendorf"
    assert fitted.transforms_["pipeline"]["clip"] == 36.0
    assert len(fitted.members_) == 3
    assert len(set(fitted.member_seeds_)) == 3
    # every member was early-stopped on the same validation split of the training fold
    for member in fitted.members_:
        assert np.isfinite(member.history_.val_loss).all()
    assert np.isfinite(fitted.validation_scatter_) and fitted.validation_mean_sigma_ > 0


def test_prediction_combines_members_with_eq_2_3(split, fitted):
    _, test = split
    pred = _quiet_predict(fitted, test)
    mu, sigma = fitted.member_predictions(test)
    assert mu.shape == sigma.shape == (3, len(test))
    assert (sigma > 0).all()
    assert np.ptp(mu, axis=0).max() > 0  # members differ (different seeds)
    mu_star = mu.mean(axis=0)
    var_star = (sigma**2 + mu**2).mean(axis=0) - mu_star**2
    np.testing.assert_allclose(pred["log10_m500c"], mu_star, rtol=1e-12)
    np.testing.assert_allclose(pred["sigma_log10_m500c"], np.sqrt(var_star), rtol=1e-5)
    # the mixture is at least as wide as the mean member and as the members' spread
    assert (pred["sigma_log10_m500c"] >= np.sqrt((sigma**2).mean(axis=0)) - 1e-12).all()


def test_save_load_predict_identical(split, fitted, tmp_path):
    from safetensors.numpy import load_file

    _, test = split
    path = fitted.save(tmp_path / "ensemble")
    names = set(load_file(str(path / "arrays.safetensors")))
    # per-member weights, plus the training mean maps (the attribution baseline)
    assert {n.split(".")[0] for n in names} == {"member0", "member1", "member2", "mean"}
    assert any(n.startswith("member0.net.") for n in names)
    loaded = MassEstimator.load(path)
    assert isinstance(loaded, NLLEnsemble) and loaded.member_seeds_ == fitted.member_seeds_
    a, b = _quiet_predict(fitted, test), _quiet_predict(loaded, test)
    np.testing.assert_array_equal(a["log10_m500c"], b["log10_m500c"])
    np.testing.assert_array_equal(a["sigma_log10_m500c"], b["sigma_log10_m500c"])


def test_wrong_bands_refused(fitted):
    other = make_sample(8, seed=9, band_set="erosita_3")
    with pytest.raises(BandMismatchError, match="krippendorf_10"):
        fitted.predict(other)
    with pytest.raises(BandMismatchError):
        fitted.member_predictions(other)


# ----------------------------------------------------------------- plumbing
def test_members_share_one_input_preparation(monkeypatch):
    """The pipeline and transforms run once per sample, not once per member."""
    from astroclustermass.images import KrippendorfPipeline

    calls = {"pipeline": 0, "inputs": 0}
    transform = KrippendorfPipeline.transform
    make_inputs = ImageCNNEstimator._make_inputs

    def counting_transform(self, images):
        calls["pipeline"] += 1
        return transform(self, images)

    def counting_inputs(self, sample, fit):
        calls["inputs"] += 1
        return make_inputs(self, sample, fit)

    monkeypatch.setattr(KrippendorfPipeline, "transform", counting_transform)
    monkeypatch.setattr(ImageCNNEstimator, "_make_inputs", counting_inputs)
    sample = make_sample(40, seed=4)
    est = NLLEnsemble(**{**FAST, "n_members": 3, "max_epochs": 1})
    est.fit(sample, progress=False)
    # training + validation split, + the whole training sample once for the domain check
    assert calls == {"pipeline": 3, "inputs": 3}
    calls.update(pipeline=0, inputs=0)
    _quiet_predict(est, sample)
    assert calls == {"pipeline": 1, "inputs": 1}


def test_standard_pipeline_flat_weights_and_given_validation():
    sample = make_sample(60, seed=5, band_set="erosita_3")
    train, val = sample[np.arange(45)], sample[np.arange(45, 60)]
    est = NLLEnsemble(
        **{**FAST, "n_members": 2, "max_epochs": 3, "bands": "erosita_3", "pipeline_params": None},
        sample_weighting="flat",
        augment=False,
        tta=True,
    )
    assert est.resolved_pipeline == "standard"
    est.fit(train, validation=val, progress=False)
    assert "redshift_normalizer" in est.transforms_ and "pipeline" not in est.transforms_
    pred = _quiet_predict(est, val)
    # the validation diagnostics were computed on exactly the given validation sample
    assert est.validation_scatter_ == pytest.approx(float(np.std(pred.residuals())), rel=1e-9)
    assert np.isfinite(pred["sigma_log10_m500c"]).all()
    with pytest.raises(InputError, match="pipeline"):
        NLLEnsemble(pipeline="fancy").fit(train)
    with pytest.raises(InputError, match="pipeline='krippendorf'"):
        NLLEnsemble(bands="erosita_3", pipeline_params={"rebin": 2}).fit(train)
    with pytest.raises(InputError, match="pipeline_params"):
        NLLEnsemble(bands="erosita_3", pipeline="krippendorf", pipeline_params={"x": 1}).fit(train)
