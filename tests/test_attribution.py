"""Tests of the attribution layer: saliency, integrated gradients, analytic proxy, summaries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from _mock_maps import APERTURE, beta_model_maps
from astropy.table import Table

from astroclustermass.attribution import (
    Attribution,
    AttributionMap,
    band_summary,
    mask_saliency,
    plot_radial_profile,
    radial_profile,
)
from astroclustermass.estimators import MassEstimator
from astroclustermass.exceptions import (
    BandMismatchError,
    InputError,
    NotFittedError,
    OutOfRangeWarning,
    UnknownNameError,
)
from astroclustermass.plugins import attribution_registry
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import check_attribution, make_tiny_sample

NPIX = 32
TINY = {
    "network_params": {"conv": (4, 4, 8, 4), "dense": (16, 16, 8)},
    "max_epochs": 6,
    "batch_size": 16,
    "device": "cpu",
    "num_threads": 1,
    "seed": 0,
}
PNG = b"\x89PNG\r\n\x1a\n"


def make_sample(n: int = 48, seed: int = 0) -> ClusterSample:
    """Beta-model ICM plus AGN point sources, with per-source images and r500c."""
    rng = np.random.default_rng(seed)
    logm, z, _, r500, r2, icm = beta_model_maps(rng, n, NPIX, "bolometric", 800.0, 0.1)
    agn = np.zeros_like(icm)
    for k in range(n):
        i, j = rng.integers(0, NPIX, 2)
        agn[k, 0, i, j] = rng.poisson(40)
    images = icm + agn
    inside = r2[None] <= r500[:, None, None] ** 2
    obs = Table({"n_phot": images[:, 0].sum(axis=(1, 2))})
    obs["n_phot_500c"] = (images[:, 0] * inside).sum(axis=(1, 2))
    cat = Table({"id": np.arange(1, n + 1), "redshift": z, "log10_m500c": logm, "r500c": r500})
    return ClusterSample.from_arrays(
        cat,
        images={"bolometric": images},
        observables=obs,
        aperture=APERTURE,
        source_images={"bolometric": {"icm": icm, "agn": agn}},
    )


@pytest.fixture(scope="module")
def sample():
    return make_sample()


@pytest.fixture(scope="module")
def cnn(sample):
    return MassEstimator.from_name("single_band_cnn", **TINY).fit(sample, progress=False)


@pytest.fixture(scope="module")
def signed(cnn, sample):
    return Attribution.from_name("saliency", absolute=False).attribute(cnn, sample[:6])


# ------------------------------------------------------------------ registry
def test_registry_names_and_unknown_name():
    assert {"saliency", "integrated_gradients", "analytic_proxy"} <= set(Attribution.available())
    assert attribution_registry().entry("saliency").plugin == "builtin"
    with pytest.raises(UnknownNameError, match="integrated_gradients.*Did you mean 'saliency'"):
        Attribution.from_name("salency")
    with pytest.raises(InputError, match="Valid parameters: absolute, wrt"):
        Attribution.from_name("saliency", n_steps=3)


def test_params_are_validated_at_attribute(cnn, sample):
    method = Attribution.from_name("saliency").set_params(wrt="pixels")
    with pytest.raises(InputError, match="'wrt' parameter of Saliency"):
        method.attribute(cnn, sample[:2])
    with pytest.raises(InputError, match="not a parameter"):
        method.set_params(absolut=True)


@pytest.mark.parametrize("name", ["saliency", "integrated_gradients", "analytic_proxy"])
def test_check_attribution(name):
    check_attribution(name)


def test_unfitted_estimator_and_wrong_bands(cnn):
    method = Attribution.from_name("saliency")
    with pytest.raises(NotFittedError):
        method.attribute(MassEstimator.from_name("single_band_cnn"), make_sample(4))
    wrong = make_tiny_sample(n=4, bands=("erosita_3",), npix=NPIX)
    with pytest.raises(BandMismatchError, match="bolometric"):
        method.attribute(cnn, wrong)


def test_unsupported_estimators_raise_clear_errors(cnn, sample):
    proxy = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(sample)
    with pytest.raises(InputError, match="analytic_proxy"):
        Attribution.from_name("saliency").attribute(proxy, sample[:2])
    with pytest.raises(InputError, match="power_law"):
        Attribution.from_name("analytic_proxy").attribute(cnn, sample[:2])


# ------------------------------------------------------------------ saliency numbers
class _FloatView:
    """A sample-like view with float counts, read by the estimator's own ``_predict``."""

    def __init__(self, sample: ClusterSample, images: np.ndarray) -> None:
        self.catalog, self.band_sets = sample.catalog, sample.band_sets
        self.npix, self.aperture, self.cosmology = sample.npix, sample.aperture, sample.cosmology
        self._images = images

    def images(self, bands=None) -> np.ndarray:
        return self._images

    def __len__(self) -> int:
        return len(self.catalog)


def test_saliency_matches_finite_differences_of_predict(cnn, sample, signed):
    """Central differences of the prediction in one pixel's counts equal the saliency there.

    The prediction is the estimator's own numpy path (``_predict``: Eq. 1, Eq. 2,
    standardisation, network); counts change by +-0.01, small against the
    curvature of Eq. 2 at a few counts.
    """
    images = sample.images("bolometric")[:3].astype(np.float64)
    h = 0.01
    for k in range(3):
        order = np.argsort(images[k, 0].ravel())[::-1]
        nonzero = int((images[k, 0] > 0).sum())  # -h must keep the counts >= 0
        for flat in order[[0, 5, 40, nonzero - 1]]:
            i, j = np.unravel_index(flat, (NPIX, NPIX))
            preds = []
            for step in (+h, 0.0, -h):
                img = images.copy()
                img[k, 0, i, j] += step
                preds.append(cnn._predict(_FloatView(sample[:3], img))[0][k])
            right, left = (preds[0] - preds[1]) / h, (preds[1] - preds[2]) / h
            grad = float(signed.values[k, 0, i, j])
            # at a ReLU / max-pool kink autograd returns one of the one-sided derivatives
            error = min(abs(grad - right), abs(grad - left), abs(grad - (right + left) / 2))
            assert error <= 0.02 * abs(grad) + 5e-6, (k, i, j, left, right, grad)
    assert np.abs(signed.values).max() > 1e-4


def test_saliency_prediction_equals_predict(cnn, sample, signed):
    pred = cnn.predict(sample[:6])["log10_m500c"]
    np.testing.assert_allclose(signed.catalog["log10_m500c_pred"], pred, atol=1e-5)
    assert signed.wrt == "counts" and signed.target == "log10_m500c"
    assert signed.shape == (6, 1, NPIX, NPIX)


def test_chain_rule_between_input_and_counts(cnn, sample, signed):
    """d f/d n = d f/d x · f_z / ((f_z n + 1) ln 10 σ): Eq. 1 and Eq. 2 and standardisation."""
    wrt_input = Attribution.from_name("saliency", absolute=False, wrt="input")
    amap_x = wrt_input.attribute(cnn, sample[:6])
    from astroclustermass.transforms import RedshiftNormalizer

    tr = cnn.transforms_
    fz = RedshiftNormalizer.from_dict(tr["redshift_normalizer"]).factor(sample.redshift[:6])
    n = sample.images("bolometric")[:6].astype(float)
    dxdn = fz[:, None, None, None] / ((fz[:, None, None, None] * n + 1) * np.log(10))
    dxdn /= tr["image_std"][0]
    scale = np.abs(signed.values).max()
    np.testing.assert_allclose(signed.values, amap_x.values * dxdn, rtol=1e-3, atol=1e-4 * scale)
    absolute = Attribution.from_name("saliency").attribute(cnn, sample[:6])
    np.testing.assert_allclose(absolute.values, np.abs(signed.values), rtol=1e-6)


def test_saliency_of_a_linear_network_is_its_weights(sample):
    """A network whose output is linear in its input has its weights as input saliency."""
    est = MassEstimator.from_name("single_band_cnn", **{**TINY, "max_epochs": 1})
    est.fit(sample, progress=False)
    weights = torch.randn(1, 1, NPIX, NPIX, dtype=torch.float32)

    class Linear(torch.nn.Module):
        def forward(self, image):
            return (image * weights).sum(dim=(1, 2, 3))[:, None]

    est.network_ = Linear()
    amap = Attribution.from_name("saliency", absolute=False, wrt="input").attribute(est, sample[:3])
    expected = weights.numpy() * est.transforms_["target_std"]
    np.testing.assert_allclose(amap.values, np.broadcast_to(expected, amap.shape), rtol=1e-5)


def test_integrated_gradients_completeness(cnn, sample):
    ig = Attribution.from_name("integrated_gradients", n_steps=512)
    amap = ig.attribute(cnn, sample[:4])
    f_x = np.asarray(amap.catalog["log10_m500c_pred"])
    zero = ClusterSample.from_arrays(
        sample.catalog[:4],
        images={"bolometric": np.zeros((4, 1, NPIX, NPIX), np.int32)},
        aperture=APERTURE,
    )
    with warnings.catch_warnings():  # empty images may lie outside the trained range
        warnings.simplefilter("ignore", OutOfRangeWarning)
        f_0 = np.asarray(cnn.predict(zero)["log10_m500c"])
    total = amap.values.reshape(4, -1).sum(axis=1)
    change = f_x - f_0
    assert np.all(np.abs(change) > 1e-3)
    np.testing.assert_allclose(total, change, rtol=0.02, atol=1e-3)
    np.testing.assert_allclose(amap.delta, total - change, atol=1e-5)
    coarse = Attribution.from_name("integrated_gradients", n_steps=16).attribute(cnn, sample[:4])
    assert np.abs(amap.delta).mean() < np.abs(coarse.delta).mean()


@pytest.mark.parametrize(
    ("name", "bands", "cubes", "params"),
    [
        ("multiband_cnn", "erosita_3", False, {}),
        ("gap_cnn", "lovig_4", False, {"network_params": {"conv": (4, 4, 4), "dense": (8, 8, 8)}}),
        ("joint_cnn", "erosita_3", True, {}),
        ("nll_ensemble", "krippendorf_10", False, {}),
    ],
)
def test_every_image_estimator_is_supported(name, bands, cubes, params):
    """The torch forward from counts reproduces predict(); IG completeness holds."""
    cls = MassEstimator.from_name(name).__class__
    p = {**getattr(cls, "_test_params", {}), "max_epochs": 1, "device": "cpu", **params}
    p["num_threads"] = 1
    npix = 32 if cubes else 16  # the joint network needs 16^3 cubes
    s = make_tiny_sample(n=24, bands=(bands,), cubes=cubes, npix=npix)
    est = MassEstimator.from_name(name, **p).fit(s, progress=False)
    part = s[:3]
    amap = Attribution.from_name("saliency").attribute(est, part)
    assert amap.shape == (3, s.images(bands).shape[1], npix, npix)
    np.testing.assert_allclose(
        amap.catalog["log10_m500c_pred"], est.predict(part)["log10_m500c"], atol=1e-4
    )
    ig = Attribution.from_name("integrated_gradients", n_steps=8).attribute(est, part)
    assert np.all(np.isfinite(ig.delta))


# ------------------------------------------------------------------ analytic proxy
def test_analytic_proxy_equals_autograd_of_the_formula(sample):
    est = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(sample)
    part = sample[:5]
    amap = Attribution.from_name("analytic_proxy").attribute(est, part)
    from astroclustermass.estimators._scaling_core import interpolate_in_z

    z = part.redshift
    pi = interpolate_in_z(z, est.z_centres_, est.pi_)[:, 0]
    alpha = interpolate_in_z(z, est.z_centres_, est.alpha_)[:, 0]
    cov = interpolate_in_z(z, est.z_centres_, est.cov_)[:, 0, 0]
    beta = interpolate_in_z(z, est.z_centres_, est.beta_)
    n = torch.tensor(part.images("bolometric"), dtype=torch.float64, requires_grad=True)
    mask = torch.tensor(amap.pixel_radius()[None] <= part.catalog["r500c"][:, None, None])
    big_n = (n[:, 0] * mask).sum(dim=(1, 2))
    ln_m = (torch.log(big_n) - torch.tensor(pi)) / torch.tensor(alpha)
    ln_m = ln_m - torch.tensor(beta * cov / alpha**2)
    log10_m = est.pivot_log10_mass + ln_m / np.log(10)
    (grad,) = torch.autograd.grad(log10_m.sum(), n)
    np.testing.assert_allclose(log10_m.detach().numpy(), est.predict(part)["log10_m500c"])
    np.testing.assert_allclose(amap.values, grad.numpy(), rtol=1e-5, atol=1e-12)
    inside = grad.numpy()[0, 0][mask[0].numpy()]
    assert np.all(inside > 0) and np.all(grad.numpy()[0, 0][~mask[0].numpy()] == 0)
    # with respect to x = log10(n + 1): times (n + 1) ln 10 (the corrected Eq. 13)
    amap_x = Attribution.from_name("analytic_proxy", wrt="input").attribute(est, part)
    np.testing.assert_allclose(
        amap_x.values, amap.values * (part.images("bolometric") + 1.0) * np.log(10), rtol=1e-5
    )


def _with_observables(sample, **columns):
    obs = sample.observables.copy()
    for name, values in columns.items():
        obs[name] = values
    return ClusterSample.from_arrays(
        sample.catalog,
        images={"bolometric": sample.images("bolometric")},
        observables=obs,
        aperture=sample.aperture,
    )


@pytest.mark.filterwarnings("ignore::astroclustermass.exceptions.OutOfRangeWarning")
def test_analytic_proxy_of_multi_property_equals_finite_differences(sample):
    """Two photon observables (N_phot,500c inside R500c, N_phot everywhere) and one that is
    not in the map: each pixel's value is the sum of d log10 M / d N_j over the observables
    whose aperture holds it, here measured by nudging N_j in the estimator's own predict."""
    rng = np.random.default_rng(5)
    logm = np.asarray(sample.catalog["log10_m500c"])
    n_gal = np.round(10 ** (1.5 + 0.9 * (logm - 14) + rng.normal(0, 0.15, len(sample))))
    s = _with_observables(sample, n_gal=n_gal)
    est = MassEstimator.from_name(
        "multi_property", observables=("n_phot_500c", "n_phot", "n_gal")
    ).fit(s)
    part = s[:5]
    amap = Attribution.from_name("analytic_proxy").attribute(est, part)
    base = est.predict(part)["log10_m500c"]
    slope = {}
    for name in ("n_phot_500c", "n_phot"):
        n = np.asarray(part.observables[name], dtype=float)
        bumped = _with_observables(part, **{name: n * (1 + 1e-6)})
        slope[name] = (est.predict(bumped)["log10_m500c"] - base) / (1e-6 * n)
    inside = amap.pixel_radius()[None] <= part.catalog["r500c"][:, None, None]
    for k in range(len(part)):
        v = amap.values[k, 0]
        np.testing.assert_allclose(
            v[inside[k]], slope["n_phot_500c"][k] + slope["n_phot"][k], rtol=1e-4
        )
        np.testing.assert_allclose(v[~inside[k]], slope["n_phot"][k], rtol=1e-4)
    np.testing.assert_allclose(amap.catalog["log10_m500c_pred"], base)
    # one photon observable: the same map as the power law on it
    one = MassEstimator.from_name("multi_property", observables=("n_phot_500c",)).fit(s)
    law = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(s)
    a1 = Attribution.from_name("analytic_proxy").attribute(one, part)
    a2 = Attribution.from_name("analytic_proxy").attribute(law, part)
    np.testing.assert_allclose(a1.values, a2.values, rtol=1e-6)
    with pytest.raises(InputError, match="photon-count observable"):
        gal_only = MassEstimator.from_name("multi_property", observables=("n_gal",)).fit(s)
        Attribution.from_name("analytic_proxy").attribute(gal_only, part)


# ------------------------------------------------------------------ summaries
def test_radial_profile_against_a_hand_computation():
    rng = np.random.default_rng(3)
    values = rng.random((2, 1, 8, 8))
    cat = Table({"id": [1, 2], "redshift": [0.1, 0.2], "r500c": [1.0, 2.0]})
    amap = AttributionMap(values, "bolometric", cat, aperture=2.0)
    t = radial_profile(amap, bins=[0.0, 0.5, 1.0, 3.0])
    c = np.linspace(-2, 2, 9)[:-1] + 0.25  # pixel centres
    r = np.hypot(c[:, None], c[None, :])
    for b, (lo, hi) in enumerate([(0.0, 0.5), (0.5, 1.0), (1.0, 3.0)]):
        pooled = np.concatenate(
            [values[k, 0][(r / R >= lo) & (r / R < hi)] for k, R in enumerate([1.0, 2.0])]
        )
        assert t["n_pixels"][b] == pooled.size
        assert t["median"][b] == pytest.approx(np.median(pooled))
        assert t["p16"][b] == pytest.approx(np.percentile(pooled, 16))
        assert t["p84"][b] == pytest.approx(np.percentile(pooled, 84))
    with pytest.raises(InputError, match="R500c"):
        radial_profile(AttributionMap(values, "bolometric", cat[["id", "redshift"]], 2.0))


def test_r500c_from_mass_when_the_catalogue_has_no_radius():
    cat = Table({"id": [1], "redshift": [0.2], "log10_m500c": [15.0]})
    amap = AttributionMap(np.ones((1, 1, 4, 4)), "bolometric", cat, aperture=2.3)
    assert amap.r500c()[0] == pytest.approx(1.354, abs=1e-3)


def test_mask_saliency_is_aligned_with_the_maps():
    """An asymmetric layout: a 90° rotation or transposition would swap the sources."""
    icm = np.zeros((2, 1, 4, 4), np.int32)
    agn = np.zeros((2, 1, 4, 4), np.int32)
    icm[:, 0, 0, 3] = 10  # pixel (i=0, j=3): ICM-dominated
    agn[:, 0, 3, 3] = 50  # pixel (i=3, j=3): AGN-dominated
    icm[:, 0, 1, 1] = agn[:, 0, 1, 1] = 4  # a tie: in neither mask
    s = ClusterSample.from_arrays(
        {"id": [5, 6], "redshift": [0.1, 0.2]},
        images={"bolometric": icm + agn},
        source_images={"bolometric": {"icm": icm, "agn": agn}},
    )
    values = np.zeros((2, 1, 4, 4))
    values[:, 0, 0, 3] = [1.0, 3.0]
    values[:, 0, 3, 3] = [0.1, 0.3]
    values[:, 0, 1, 1] = 100.0
    amap = AttributionMap(
        values[::-1], "bolometric", Table({"id": [6, 5], "redshift": [0.2, 0.1]}), 2.3
    )
    t = mask_saliency(amap, s)
    assert t["source"].tolist() == ["icm", "agn"]
    assert t["n_pixels"].tolist() == [2, 2]
    assert t["pixel_median"].tolist() == pytest.approx([2.0, 0.2])
    assert t["image_median"].tolist() == pytest.approx([2.0, 0.2])
    assert t["counts_per_pixel"].tolist() == pytest.approx([10.0, 50.0])
    per = mask_saliency(amap, s, per_cluster=True)
    assert per["id"].tolist() == [6, 5]
    assert per["s_icm"].tolist() == pytest.approx([1.0, 3.0][::-1])


def test_mask_saliency_on_a_trained_cnn(signed, sample):
    t = mask_saliency(signed, sample)
    assert np.all(t["n_images"] > 0) and np.all(np.isfinite(t["image_median"]))


def test_band_summary_per_band():
    v = np.zeros((2, 3, 4, 4))
    v[:, 0] = 1.0
    v[:, 1] = 3.0
    v[0, 2, 0, 0] = 2.0
    amap = AttributionMap(v, "erosita_3", Table({"id": [1, 2], "redshift": [0.1, 0.1]}), 2.3)
    t = band_summary(amap)
    assert len(t) == 3 and t["median"].tolist() == [1.0, 3.0, 2.0]
    assert t["fraction"].sum() == pytest.approx(1.0)


# ------------------------------------------------------------------ I/O and plots
def test_write_read_round_trip(signed, tmp_path):
    path = signed.write(tmp_path / "maps.h5")
    back = AttributionMap.read(path)
    np.testing.assert_array_equal(back.values, signed.values)
    assert back.catalog.colnames == signed.catalog.colnames
    for name in signed.catalog.colnames:
        np.testing.assert_array_equal(back.catalog[name], signed.catalog[name])
    assert (back.method, back.estimator, back.wrt, back.absolute) == (
        "saliency",
        "single_band_cnn",
        "counts",
        False,
    )
    assert back.bands == signed.bands and back.aperture == signed.aperture
    with pytest.raises(FileExistsError):
        signed.write(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.h5"]


def test_pngs_are_written(signed, tmp_path):
    signed.plot(0, path=tmp_path / "map.png")
    profile = radial_profile(signed, bins=10)
    plot_radial_profile({"cnn": profile}, path=tmp_path / "profile.png")
    for name in ("map.png", "profile.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG
    with pytest.raises(InputError, match="index"):
        signed.plot(99)


# ------------------------------------------------------------------ command line
def test_cli_explain(cnn, sample, tmp_path, capsys):
    from astroclustermass.cli import main

    sample[:6].write(tmp_path / "s.h5")
    cnn.save(tmp_path / "model")
    out = tmp_path / "explain"
    args = ["explain", str(tmp_path / "model"), str(tmp_path / "s.h5"), "--out", str(out)]
    ids = ["--indices", "3", "1", "--method", "saliency", "--param", "absolute=false", "-q"]
    assert main([*args, *ids]) == 0
    amap = AttributionMap.read(out / "attribution.h5")
    assert amap.ids.tolist() == [3, 1] and not amap.absolute  # cluster ids, as the PNG names
    assert (out / "radial_profile.ecsv").exists()
    for name in ("radial_profile.png", "map_1.png", "map_3.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert main(args) == 2  # the directory is not empty
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--method", "nope"]) == 2
    assert "unknown attribution 'nope'" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--indices", "0"]) == 2
    assert "not cluster ids" in capsys.readouterr().err
