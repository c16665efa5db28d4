"""Input x gradient, SmoothGrad, integrated-gradients baselines, the torch forward of the
estimators, and attributions to the joint model's dynamical cube."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from astroclustermass.attribution import Attribution, SmoothGrad, phase_space_profile
from astroclustermass.estimators import MassEstimator
from astroclustermass.exceptions import InputError
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import check_attribution, make_tiny_sample

NPIX = 16
TINY = {
    "network_params": {"conv": (4, 4, 4, 4), "dense": (8, 8, 8)},
    "max_epochs": 2,
    "batch_size": 16,
    "device": "cpu",
    "num_threads": 1,
}
JOINT = {
    **TINY,
    "network_params": {"conv": (4, 4, 4, 4), "cube_conv": (4, 4, 4), "cube_kernels": (3, 3, 1)},
}


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(n=32, npix=NPIX, seed=3)


@pytest.fixture(scope="module")
def cnn(sample):
    return MassEstimator.from_name("single_band_cnn", **TINY).fit(sample, progress=False)


@pytest.fixture(scope="module")
def joint_sample():
    return make_tiny_sample(n=24, bands=("erosita_3",), cubes=True, npix=32, seed=4)


@pytest.fixture(scope="module")
def joint(joint_sample):
    return MassEstimator.from_name("joint_cnn", **JOINT).fit(joint_sample, progress=False)


@pytest.mark.parametrize("name", sorted(Attribution.available()))
def test_every_registered_method_passes_check_attribution(name):
    check_attribution(name)


@pytest.mark.parametrize("name", ["saliency", "input_x_gradient", "integrated_gradients"])
def test_gradient_methods_pass_check_attribution_on_the_joint_model(name, joint):
    check_attribution(name, estimator=joint, sample=None)


# ------------------------------------------------------------------ the public torch forward
def test_forward_counts_equals_predict_and_its_inputs_equal_the_numpy_path(cnn, joint, sample):
    for est, s in (
        (cnn, sample[:5]),
        (joint, make_tiny_sample(n=5, bands=("erosita_3",), cubes=True, npix=32, seed=9)),
    ):
        raw = est.count_inputs(s)
        counts = torch.as_tensor(raw["counts"])
        cube = None if "cube" not in raw else torch.as_tensor(raw["cube"])
        f = est.forward_counts(counts, raw["redshift"], cube).detach().numpy()
        np.testing.assert_allclose(f, est.predict(s)["log10_m500c"], atol=1e-4)
        inputs = est.torch_inputs(counts, raw["redshift"], cube)
        numpy_inputs = est._make_inputs(s, fit=False)
        assert set(inputs) == set(numpy_inputs)
        for key, value in numpy_inputs.items():
            np.testing.assert_allclose(inputs[key].numpy(), value, rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match="cube="):
        joint.forward_counts(counts, raw["redshift"])
    with pytest.raises(InputError, match="no dynamical cube"):
        cnn.torch_inputs(torch.zeros(1, 1, NPIX, NPIX), [0.1], cube=torch.zeros(1, 8, 8, 8))


def test_training_means_are_saved_and_loaded(cnn, sample, tmp_path):
    expected = sample.images("bolometric").mean(axis=0)
    # the estimator may have held out a validation split: the mean is of its training clusters
    assert cnn.training_means_["counts"].shape == expected.shape
    back = MassEstimator.load(cnn.save(tmp_path / "m"))
    np.testing.assert_allclose(
        back.training_means_["counts"], cnn.training_means_["counts"], rtol=1e-6
    )


def test_a_loaded_model_is_explained_after_it_predicted(cnn, sample, tmp_path):
    # predict runs in inference mode; the loaded weights must stay usable by autograd
    back = MassEstimator.load(cnn.save(tmp_path / "m"))
    back.predict(sample[:2], progress=False)
    amap = Attribution.from_name("saliency").attribute(back, sample[:4], progress=False)
    want = Attribution.from_name("saliency").attribute(cnn, sample[:4], progress=False)
    np.testing.assert_allclose(amap.values, want.values, rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------ input x gradient
class _Linear(torch.nn.Module):
    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, image):
        return (image * self.weights).sum(dim=(1, 2, 3))[:, None]


def test_input_x_gradient_of_a_linear_model_is_weights_times_input(cnn, sample):
    est = MassEstimator.from_name("single_band_cnn", **TINY).fit(sample, progress=False)
    weights = torch.randn(1, 1, NPIX, NPIX, generator=torch.Generator().manual_seed(1))
    est.network_ = _Linear(weights)
    part = sample[:4]
    amap = Attribution.from_name("input_x_gradient", wrt="input").attribute(est, part)
    x = est._make_inputs(part, fit=False)["image"]
    expected = weights.numpy() * x * est.transforms_["target_std"]
    np.testing.assert_allclose(amap.values, expected, rtol=1e-5, atol=1e-7)
    # per count: n * df/dn, zero in empty pixels; equals the signed saliency times the counts
    per_count = Attribution.from_name("input_x_gradient").attribute(est, part)
    sal = Attribution.from_name("saliency", absolute=False).attribute(est, part)
    n = part.images("bolometric").astype(float)
    np.testing.assert_allclose(per_count.values, sal.values * n, rtol=1e-5, atol=1e-9)
    assert np.all(per_count.values[n == 0] == 0)
    assert "dex" in per_count.quantity


# ------------------------------------------------------------------ SmoothGrad
def test_smoothgrad_with_zero_noise_equals_the_inner_method(cnn, sample):
    part = sample[:5]
    for inner, params in (("saliency", {}), ("input_x_gradient", {"wrt": "input"})):
        base = Attribution.from_name(inner, **params).attribute(cnn, part)
        sg = SmoothGrad(method=inner, method_params=params, n_samples=3, noise_level=0.0)
        np.testing.assert_allclose(sg.attribute(cnn, part).values, base.values, rtol=1e-6)


def test_smoothgrad_is_the_mean_over_the_documented_poisson_copies(cnn, sample):
    """Copies n + lam (Poisson(n) - n), clipped at 0, from default_rng([seed, row, draw])."""
    part = sample[:4]
    lam, n_samples, seed = 1.5, 3, 7
    sg = SmoothGrad(
        n_samples=n_samples, noise_level=lam, seed=seed, method_params={"absolute": False}
    )
    amap = sg.attribute(cnn, part, batch_size=3)
    raw = cnn.count_inputs(part)
    expected = np.zeros_like(raw["counts"])
    for draw in range(n_samples):
        noisy = np.empty_like(raw["counts"])
        for row in range(len(part)):
            rng = np.random.default_rng([seed, row, draw])
            n = raw["counts"][row]
            noisy[row] = np.maximum(0.0, n + lam * (rng.poisson(n) - n))
        x = torch.as_tensor(noisy).requires_grad_(True)
        (grad,) = torch.autograd.grad(cnn.forward_counts(x, raw["redshift"]).sum(), x)
        expected += grad.numpy() / n_samples
    np.testing.assert_allclose(amap.values, expected, rtol=1e-4, atol=1e-7)
    # the prediction is the one at the input, not at the noisy copies
    np.testing.assert_allclose(
        amap.catalog["log10_m500c_pred"], cnn.predict(part)["log10_m500c"], atol=1e-4
    )


def test_smoothgrad_noise_level_moves_the_map_away_from_saliency(cnn, sample):
    part = sample[:6]
    sal = Attribution.from_name("saliency").attribute(cnn, part).values
    dist = []
    for lam in (0.25, 1.0, 3.0):
        sg = SmoothGrad(n_samples=4, noise_level=lam).attribute(cnn, part).values
        dist.append(np.abs(sg - sal).mean())
    assert dist[0] > 0 and dist[0] < dist[1] < dist[2], dist
    with pytest.raises(InputError, match="gradient method"):
        SmoothGrad(method="analytic_proxy").attribute(cnn, part)


# ------------------------------------------------------------------ IG baselines
@pytest.mark.parametrize("baseline", ["empty", "mean", "blurred", 1.0])
def test_integrated_gradients_baselines_converge_to_completeness(cnn, sample, baseline):
    """The gap sum(IG) - (f(x) - f(x0)) shrinks with the steps; for baselines away from
    the steep few-count end of log10(n + 1) (empty sky, 1 count) 128 steps make it small."""
    part = sample[:3]
    gaps = []
    for n_steps in (8, 128):
        ig = Attribution.from_name("integrated_gradients", baseline=baseline, n_steps=n_steps)
        amap = ig.attribute(cnn, part)
        gaps.append(np.abs(amap.delta).mean())
    assert gaps[1] < gaps[0]
    if baseline in ("mean", "blurred"):
        change = amap.values.reshape(3, -1).sum(axis=1) - amap.delta  # f(x) - f(x0)
        assert np.all(np.abs(amap.delta) <= 0.05 * np.abs(change) + 1e-3), (amap.delta, change)
    assert (str(baseline) if isinstance(baseline, str) else "1 counts") in amap.quantity


def test_integrated_gradients_mean_and_blurred_baselines_are_what_they_say(cnn, sample):
    from scipy.ndimage import gaussian_filter

    part = sample[:2]
    raw = cnn.count_inputs(part)
    z = raw["redshift"]
    for baseline, x0 in (
        ("mean", np.broadcast_to(cnn.training_means_["counts"], raw["counts"].shape)),
        ("blurred", gaussian_filter(raw["counts"], (0, 0, 2.0, 2.0), mode="reflect")),
    ):
        ig = Attribution.from_name("integrated_gradients", baseline=baseline, blur_sigma=2.0)
        amap = ig.attribute(cnn, part)
        with torch.no_grad():
            f0 = cnn.forward_counts(torch.as_tensor(np.array(x0)), z).numpy()
        f = np.asarray(amap.catalog["log10_m500c_pred"])
        np.testing.assert_allclose(
            amap.values.reshape(2, -1).sum(1) - amap.delta, f - f0, atol=1e-6
        )
    old = MassEstimator.from_name("single_band_cnn", **{**TINY, "max_epochs": 1})
    old.fit(sample, progress=False)
    del old.training_means_  # as a model saved before the means were recorded
    with pytest.raises(InputError, match="refit"):
        Attribution.from_name("integrated_gradients", baseline="mean").attribute(old, part)


# ------------------------------------------------------------------ the dynamical cube
class _Toy(torch.nn.Module):
    """A smooth toy joint network: tanh of weighted sums of the map and the cube."""

    def __init__(self, n: int, npix: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w_map = torch.randn(1, 3, npix, npix, generator=g) * 0.004
        self.w_cube = torch.randn(1, 1, n, n, n, generator=g) * 0.004
        self.head = torch.nn.Linear(1, 1)  # identity; predict reads features entering it
        with torch.no_grad():
            self.head.weight.fill_(1.0)
            self.head.bias.zero_()

    def forward(self, image, cube):
        a = (image * self.w_map).sum(dim=(1, 2, 3))
        b = (cube * self.w_cube).sum(dim=(1, 2, 3, 4))
        return self.head(torch.tanh(a + b + 0.3 * b**2)[:, None])


def _with_cubes(s: ClusterSample, cubes: np.ndarray) -> ClusterSample:
    return ClusterSample.from_arrays(
        s.catalog, images={"erosita_3": s.images("erosita_3")}, cubes=cubes, aperture=s.aperture
    )


def test_cube_attribution_matches_finite_differences_of_predict(joint_sample):
    est = MassEstimator.from_name("joint_cnn", **JOINT).fit(joint_sample, progress=False)
    n = joint_sample.cubes.shape[1]
    est.network_ = _Toy(n, joint_sample.npix)
    part = joint_sample[:2]
    amap = Attribution.from_name("saliency", absolute=False).attribute(est, part)
    assert amap.cube_values.shape == (2, n, n, n)
    cubes = np.asarray(part.cubes, dtype=np.float64)
    # central differences of the numpy predict path, in voxels dense enough that -h keeps
    # the density positive; h is a tenth of a uniform cube's density (curvature error < 1 %)
    h = 0.1 / n**3
    rng = np.random.default_rng(0)
    for k in range(2):
        dense = np.argwhere(cubes[k] > 3 * h)
        for v, i, j in dense[rng.choice(len(dense), 6, replace=False)]:
            preds = []
            for step in (+h, -h):
                c = cubes.copy()
                c[k, v, i, j] += step
                preds.append(est.predict(_with_cubes(part, c))["log10_m500c"][k])
            assert abs(preds[0] - preds[1]) > 1e-6  # ~100x the rounding of the float32 output
            fd = (preds[0] - preds[1]) / (2 * h)
            grad = amap.cube_values[k, v, i, j]
            assert abs(fd - grad) <= 0.02 * abs(grad) + 1e-6, (k, v, i, j, fd, grad)
    assert np.abs(amap.cube_values).max() > 0


def test_joint_integrated_gradients_are_complete_over_map_and_cube(joint, joint_sample):
    part = joint_sample[:2]
    amap = Attribution.from_name("integrated_gradients", n_steps=64).attribute(joint, part)
    total = amap.values.reshape(2, -1).sum(1) + amap.cube_values.reshape(2, -1).sum(1)
    # f(x0): an empty map and an empty cube
    zeros = torch.zeros((2, *part.images("erosita_3").shape[1:]), dtype=torch.float64)
    cube0 = torch.zeros((2, *part.cubes.shape[1:]), dtype=torch.float64)
    with torch.no_grad():
        f0 = joint.forward_counts(zeros, part.redshift, cube0).numpy()
    change = np.asarray(amap.catalog["log10_m500c_pred"]) - f0
    np.testing.assert_allclose(total - amap.delta, change, atol=1e-5)


def test_phase_space_profiles_of_the_cube_attribution(joint, joint_sample):
    amap = Attribution.from_name("saliency").attribute(joint, joint_sample[:4])
    n = amap.cube_values.shape[1]
    by_r = phase_space_profile(amap, "radius", bins=6, r_max=3.0)
    inside = np.hypot(*np.meshgrid(*[np.linspace(-1, 1, n + 1)[:-1] + 1 / n] * 2))
    r_over = inside[None] * amap.aperture / amap.r500c()[:, None, None]
    assert by_r["n_voxels"].sum() == n * int((r_over < 3.0).sum())
    # the tiny sample does not record its velocity range: the velocity profile says so
    assert amap.cube_v_max is None
    with pytest.raises(InputError, match="velocity range"):
        phase_space_profile(amap, "velocity")
    amap.cube_v_max = 3000.0
    by_v = phase_space_profile(amap, "velocity", bins=4)
    assert by_v["n_voxels"].sum() == 4 * n**3
    speed = np.abs(np.linspace(-3000, 3000, n + 1)[:-1] + 3000 / n)
    slow = amap.cube_values[:, speed < 750].ravel()
    np.testing.assert_allclose(by_v["median"][0], np.median(slow))
    plain = amap[:]
    plain.cube_values = None
    with pytest.raises(InputError, match="cube attributions"):
        phase_space_profile(plain)


# ------------------------------------------------------------------ Section 6
def _section6_sample(n: int = 40, npix: int = 64) -> ClusterSample:
    """Beta-model clusters with AGN; 64 pixels so that pixel centres reach 0.07 R500c."""
    from _mock_maps import APERTURE, beta_model_maps
    from astropy.table import Table

    rng = np.random.default_rng(5)
    logm, z, _, r500, r2, icm = beta_model_maps(rng, n, npix, "erosita_3", 600.0, 0.1)
    agn = np.zeros_like(icm)
    for k in range(n):
        i, j = rng.integers(0, npix, 2)
        agn[k, :, i, j] = rng.poisson(15, 3)
    multi = icm + agn
    bolo = multi.sum(axis=1, keepdims=True)
    inside = r2[None] <= r500[:, None, None] ** 2
    obs = Table({"n_phot_500c": (bolo[:, 0] * inside).sum(axis=(1, 2)) + 1})
    cat = Table({"id": np.arange(10, 10 + n), "redshift": z, "log10_m500c": logm, "r500c": r500})
    return ClusterSample.from_arrays(
        cat,
        images={"bolometric": bolo, "erosita_3": multi},
        observables=obs,
        aperture=APERTURE,
        source_images={
            "bolometric": {"icm": icm.sum(1, keepdims=True), "agn": agn.sum(1, keepdims=True)}
        },
    )


def test_section6_measures_what_it_says_and_writes_table_and_figures(tmp_path):
    from astropy.table import Table

    from astroclustermass.attribution.section6 import PAPER, section6
    from astroclustermass.cli import main

    s = _section6_sample()
    res = section6(s, cnn_params={**TINY, "max_epochs": 1}, test_fraction=0.3)
    rows = {r["quantity"]: r for r in res.table}
    assert res.table.meta["n_test"] == 12 and set(PAPER) <= set(rows)
    # the AGN/ICM ratio is the ratio of the two log-normal medians
    for model in ("single-band CNN", "multi-band CNN"):
        agn, icm = rows[f"log10 S_AGN {model}"], rows[f"log10 S_ICM {model}"]
        assert np.isclose(
            rows[f"agn_icm_ratio {model}"]["median"], 10 ** (agn["median"] - icm["median"])
        )
        assert icm["p16"] <= icm["median"] <= icm["p84"]
    # the core ratio is the pixel-by-pixel per-count CNN / proxy ratio in 0.035-0.105 R500c
    cnn, proxy = res.per_count["single-band CNN"], res.per_count["N_phot proxy"]
    assert cnn.wrt == proxy.wrt == "counts" and not cnn.absolute
    assert np.array_equal(cnn.ids, res.maps["single-band CNN"].ids)
    r = cnn.pixel_radius()[None] / cnn.r500c()[:, None, None]
    sel = (r >= 0.035) & (r < 0.105)
    assert sel.sum() >= 12
    ratio = np.abs(cnn.values[:, 0])[sel] / np.abs(proxy.values[:, 0])[sel]
    assert np.isclose(
        rows["cnn_to_proxy per photon at 0.07 R500c single-band CNN"]["median"], np.median(ratio)
    )
    # and on the scale of the maps (the network input, the paper's comparison)
    cnn_x, proxy_x = res.maps["single-band CNN"], res.maps["N_phot proxy"]
    ratio_x = np.abs(cnn_x.values[:, 0])[sel] / np.abs(proxy_x.values[:, 0])[sel]
    assert np.isclose(
        rows["cnn_to_proxy at 0.07 R500c single-band CNN"]["median"], np.median(ratio_x)
    )
    # multi-band: the derivative for one more photon of the pixel's spectrum
    multi = res.per_count["multi-band CNN"]
    n = s[np.isin(s.catalog["id"], multi.ids)].images("erosita_3").astype(float)
    rm = multi.pixel_radius()[None] / multi.r500c()[:, None, None]
    inner = (rm >= 0.035) & (rm < 0.105)
    share = n / np.maximum(n.sum(axis=1, keepdims=True), 1)
    lonely = n.sum(axis=1, keepdims=True) == 0
    spectrum = n.sum(axis=(2, 3), keepdims=True) / n.sum(axis=(1, 2, 3))[:, None, None, None]
    share = np.where(lonely, spectrum, share)
    per_photon = np.abs((share * multi.values).sum(axis=1))
    assert np.isclose(
        rows["cnn_to_proxy per photon at 0.07 R500c multi-band CNN"]["median"],
        np.median(per_photon[inner] / np.abs(proxy.values[:, 0])[inner]),
    )
    paths = res.write(tmp_path / "s6")
    assert {p.name for p in paths} == {
        "section6.ecsv",
        "fig7_radial_saliency.png",
        "fig7_cnn_to_proxy.png",
        "eq14_mask_saliency.png",
        "fig9_band_saliency.png",
    }
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths if p.suffix == ".png")
    s.write(tmp_path / "s.h5")
    argv = ["explain", "--section6", str(tmp_path / "s.h5"), "--out", str(tmp_path / "cli"), "-q"]
    params = ["--param", "max_epochs=1", "--param", "device='cpu'", "--param", "num_threads=1"]
    assert main([*argv, *params, "--save-models"]) == 0
    assert (tmp_path / "cli" / "section6.ecsv").exists()
    # the saved models, given back with the same seed, explain the same held-out clusters
    models = tmp_path / "cli" / "models"
    assert sorted(p.name for p in models.iterdir()) == [
        "multiband_cnn",
        "power_law",
        "single_band_cnn",
    ]
    reuse = [
        *("--single", str(models / "single_band_cnn"), "--multi", str(models / "multiband_cnn")),
        *("--proxy", str(models / "power_law")),
    ]
    argv[4] = str(tmp_path / "again")
    assert main([*argv, *reuse]) == 0
    first = Table.read(tmp_path / "cli" / "section6.ecsv")
    again = Table.read(tmp_path / "again" / "section6.ecsv")
    np.testing.assert_allclose(again["median"], first["median"], rtol=1e-5, equal_nan=True)
