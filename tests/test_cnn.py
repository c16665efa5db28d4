"""Tests of the CNN estimators single_band_cnn, multiband_cnn and gap_cnn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.bands import get_bands
from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators._cnn_base import ImageCNNEstimator, flat_mass_weights
from astroclustermass.exceptions import (
    BandMismatchError,
    IncompatibleSampleError,
    ModelFileError,
    OutOfRangeWarning,
)
from astroclustermass.sample import ClusterSample

APERTURE = 2.3
NPIX = 32
SMALL = {"conv": (8, 8, 16, 8), "dense": (32, 32, 16)}
FAST = {
    "max_epochs": 40,
    "patience": 10,
    "batch_size": 32,
    "device": "cpu",
    "num_threads": 1,
    "seed": 0,
}


def make_sample(n: int, seed: int = 0, npix: int = NPIX) -> ClusterSample:
    """Mock clusters in which image shape carries mass information beyond counts.

    Each cluster is a beta model (beta = 2/3) of core radius ∝ M^(1/3) (2 %
    scatter) and total counts ∝ M^1.5 × (0.2/z)² with 0.35 dex log-normal
    scatter, plus a flat background and 0-3 point sources (AGN) with
    log-normal counts at random positions; Poisson sampled. The cluster
    spectrum hardens with mass, AGN are hard. Images are made in the
    bolometric (1 band), eROSITA (3) and Lovig (4) band sets; ``n_phot_500c``
    counts the bolometric photons within the true R500 ∝ M^(1/3).
    """
    rng = np.random.default_rng(seed)
    logm = rng.uniform(13.6, 15.0, n)
    z = rng.uniform(0.1, 0.4, n)
    m = 10 ** (logm - 14.3)
    r500 = 0.7 * m ** (1 / 3)
    rc = 0.45 * m ** (1 / 3) * 10 ** rng.normal(0, 0.01, n)
    total = 1500 * m**1.5 * 10 ** rng.normal(0, 0.35, n) * (0.2 / z) ** 2
    edges = np.linspace(-APERTURE, APERTURE, npix + 1)
    c = 0.5 * (edges[1:] + edges[:-1])
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    beta = (1 + r2[None] / rc[:, None, None] ** 2) ** -1.5
    beta /= beta.sum(axis=(1, 2), keepdims=True)
    icm = total[:, None, None] * beta
    agn = np.zeros_like(icm)
    n_agn = rng.poisson(1.0, n)
    for k in np.flatnonzero(n_agn):
        i, j = rng.integers(0, npix, (2, n_agn[k]))
        np.add.at(agn[k], (i, j), 10 ** rng.normal(1.8, 0.4, n_agn[k]))
    # spectral split: ICM softer for low masses, AGN hard
    hard_icm = np.clip(0.25 + 0.1 * np.log10(m), 0.05, 0.6)
    images = {}
    for name in ("bolometric", "erosita_3", "lovig_4"):
        nb = get_bands(name).n_bands
        w = np.linspace(0.0, 1.0, nb) if nb > 1 else np.ones(1)
        f_icm = (1 - hard_icm[:, None]) * (1 - w) + hard_icm[:, None] * w + 1e-3
        f_icm /= f_icm.sum(axis=1, keepdims=True)
        f_agn = 0.3 + w
        f_agn = f_agn / f_agn.sum()
        lam = (
            icm[:, None] * f_icm[:, :, None, None]
            + agn[:, None] * f_agn[None, :, None, None]
            + 0.05 / nb
        )
        images[name] = rng.poisson(lam).astype(np.int32)
    inside = r2[None] <= r500[:, None, None] ** 2
    bol = images["bolometric"][:, 0]
    obs = Table({"n_phot": bol.sum(axis=(1, 2)), "n_phot_500c": (bol * inside).sum(axis=(1, 2))})
    catalog = Table({"id": np.arange(n), "redshift": z, "log10_m500c": logm})
    return ClusterSample.from_arrays(catalog, images=images, observables=obs, aperture=APERTURE)


NAMES = ("single_band_cnn", "multiband_cnn", "gap_cnn")


def _params(name: str) -> dict:
    return {**FAST, "network_params": None if name == "gap_cnn" else SMALL}


def _scatter(pred, sample) -> float:
    return float(
        np.std(np.asarray(pred["log10_m500c"]) - np.asarray(sample.catalog["log10_m500c"]))
    )


@pytest.fixture(scope="module")
def split():
    sample = make_sample(400, seed=1)
    return sample[np.arange(320)], sample[np.arange(320, 400)]


@pytest.fixture(scope="module")
def fitted(split):
    """Each estimator fitted once by name on the training split (cached)."""
    train, _ = split
    cache = {}

    def get(name):
        if name not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OutOfRangeWarning)
                cache[name] = MassEstimator.from_name(name, **_params(name)).fit(
                    train, progress=False
                )
        return cache[name]

    return get


def _predict(est, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return est.predict(sample)


@pytest.mark.parametrize("name", NAMES)
def test_trains_by_name_and_beats_count_proxy(name, split, fitted):
    train, test = split
    est = fitted(name)
    assert type(est).name == name and est.is_fitted_
    proxy = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(train)
    s_proxy = _scatter(_predict(proxy, test), test)
    pred = _predict(est, test)
    s_cnn = _scatter(pred, test)
    assert s_cnn < s_proxy, (name, s_cnn, s_proxy)
    # sigma is the validation scatter, the same for every cluster, and realistic
    assert np.all(np.asarray(pred["sigma_log10_m500c"]) == est.sigma_)
    assert 0.3 * s_cnn < est.sigma_ < 3 * s_cnn
    assert len(est.history_.train_loss) == est.history_.epochs_run


@pytest.mark.parametrize("name", NAMES)
def test_save_load_predict_identical(name, split, fitted, tmp_path):
    _, test = split
    est = fitted(name)
    est.save(tmp_path / name)
    loaded = MassEstimator.load(tmp_path / name)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    # weights are stored as float32 numpy arrays and load onto the CPU whatever
    # device trained them (the GPU -> CPU path)
    loaded.set_params(device="cpu")
    assert next(loaded.network_.parameters()).device.type == "cpu"
    a, b = _predict(est, test), _predict(loaded, test)
    np.testing.assert_array_equal(np.asarray(a["log10_m500c"]), np.asarray(b["log10_m500c"]))
    np.testing.assert_array_equal(
        np.asarray(a["sigma_log10_m500c"]), np.asarray(b["sigma_log10_m500c"])
    )
    assert loaded.history_ == est.history_


def test_wrong_bands_refused(split, fitted):
    _, test = split
    only_mb = ClusterSample.from_arrays(
        test.catalog,
        images={"erosita_3": test.images("erosita_3")},
        observables=test.observables,
        aperture=APERTURE,
    )
    with pytest.raises(BandMismatchError, match="bolometric"):
        _predict(fitted("single_band_cnn"), only_mb)
    only_sb = ClusterSample.from_arrays(
        test.catalog, images={"bolometric": test.images("bolometric")}, aperture=APERTURE
    )
    with pytest.raises(BandMismatchError, match="erosita_3"):
        MassEstimator.from_name("multiband_cnn", **FAST).fit(only_sb)
    other_npix = make_sample(5, seed=4, npix=16)
    with pytest.raises(IncompatibleSampleError, match="npix"):
        _predict(fitted("single_band_cnn"), other_npix)


def test_tampered_weights_refused(split, fitted, tmp_path):
    est = fitted("gap_cnn")
    path = est.save(tmp_path / "gap")
    arrays = path / "arrays.safetensors"
    data = bytearray(arrays.read_bytes())
    data[-5] ^= 0xFF
    arrays.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum|modified"):
        MassEstimator.load(path)


def test_transforms_fitted_on_training_part_only(split):
    train, test = split
    tr, va = train[np.arange(60)], train[np.arange(60, 80)]
    est = MassEstimator.from_name("multiband_cnn", **{**FAST, "max_epochs": 1})
    est.set_params(network_params=SMALL).fit(tr, validation=va)
    # independent computation: OLS of log10 N_tot on z over the training part only
    img = tr.images("erosita_3").astype(float)
    z = np.asarray(tr.catalog["redshift"])
    gamma, eta = np.polyfit(z, np.log10(img.sum(axis=(1, 2, 3))), 1)
    norm = est.transforms_["redshift_normalizer"]
    assert np.isclose(norm["gamma_"], gamma) and np.isclose(norm["eta_"], eta)
    x = np.log10(img * (4000 / 10 ** (gamma * z + eta))[:, None, None, None] + 1)
    np.testing.assert_allclose(est.transforms_["image_mean"], x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(est.transforms_["image_std"], x.std(axis=(0, 2, 3)), rtol=1e-5)
    m = np.asarray(tr.catalog["log10_m500c"])
    assert np.isclose(est.transforms_["target_mean"], m.mean())
    # sigma_ is the scatter of the validation residuals
    assert np.isclose(est.sigma_, _scatter(_predict(est, va), va), rtol=1e-6)


def test_resume_and_nll_sigma(split, tmp_path):
    train, _ = split
    small = train[np.arange(60)]
    kw = {
        **FAST,
        "network_params": {"conv": (4, 4, 4, 4), "dense": (16,)},
        "loss": "nll",
        "checkpoint_dir": str(tmp_path),
        "augment": True,
    }
    full = MassEstimator.from_name("single_band_cnn", **{**kw, "max_epochs": 4})
    full.set_params(checkpoint_dir=str(tmp_path / "full")).fit(small)
    part = MassEstimator.from_name("single_band_cnn", **{**kw, "max_epochs": 2}).fit(small)
    assert part.history_.epochs_run == 2
    resumed = MassEstimator.from_name("single_band_cnn", **{**kw, "max_epochs": 4})
    resumed.fit(small, resume=True)
    assert resumed.history_ == full.history_
    a, b = _predict(full, small), _predict(resumed, small)
    np.testing.assert_array_equal(np.asarray(a["log10_m500c"]), np.asarray(b["log10_m500c"]))
    # NLL models return a sigma per cluster
    sig = np.asarray(a["sigma_log10_m500c"])
    assert np.all(sig > 0) and np.ptp(sig) > 0


def test_params_history_plot_and_weights(fitted):
    from astroclustermass.estimators.cnn import GAPCNN, MultiBandCNN, SingleBandCNN

    assert SingleBandCNN().bands == "bolometric"
    assert MultiBandCNN().get_params()["bands"] == "erosita_3"
    assert "lovig_4" in repr(GAPCNN()) or GAPCNN().bands == "lovig_4"
    assert repr(MultiBandCNN(seed=3)) == "MultiBandCNN(seed=3)"
    assert issubclass(GAPCNN, ImageCNNEstimator)
    est = fitted("single_band_cnn")
    fig = est.plot_history()
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # train, validation, restored epoch
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    # flat weights: every mass bin carries the same total weight
    m = np.r_[np.full(30, 13.7), np.full(10, 14.3), np.full(5, 14.9)]
    w = flat_mass_weights(m, edges=np.array([13.5, 14.0, 14.5, 15.0]))
    totals = [w[m == v].sum() for v in (13.7, 14.3, 14.9)]
    np.testing.assert_allclose(totals, totals[0])
    assert np.isclose(w.mean(), 1.0)
