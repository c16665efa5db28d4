"""Accuracy metrics: scatter, bias, robust variants, calibration, Table 3 comparison."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from scipy import stats

from astroclustermass.estimators import MassPrediction
from astroclustermass.evaluation import metrics
from astroclustermass.evaluation._paper import canonical_observables, paper_reference
from astroclustermass.exceptions import EmptyInputError, InputError, MissingColumnError


def _gaussian_prediction(n=40_000, sigma=0.1, sigma_claimed=None, seed=0, name="demo"):
    rng = np.random.default_rng(seed)
    true = 13.5 + rng.exponential(0.3, n)
    pred = true + rng.normal(0.0, sigma, n)
    claimed = sigma if sigma_claimed is None else sigma_claimed
    sig = np.full(n, claimed) * rng.uniform(0.999, 1.001, n)  # per-cluster, ~constant
    return MassPrediction.from_arrays(
        np.arange(n), rng.uniform(0.07, 0.47, n), pred, sig, truth=true, estimator=name
    )


def test_residuals_scatter_bias_match_numpy():
    rng = np.random.default_rng(3)
    true = rng.uniform(13.5, 15, 500)
    pred = true + rng.normal(0.02, 0.15, 500)
    p = MassPrediction.from_arrays(np.arange(500), np.full(500, 0.2), pred, 0.1, truth=true)
    eps = pred - true
    np.testing.assert_allclose(metrics.residuals(p), eps)
    assert metrics.scatter(p) == pytest.approx(np.std(eps, ddof=0))
    assert metrics.scatter(eps) == pytest.approx(np.std(eps))
    assert metrics.bias(p) == pytest.approx(np.mean(eps))
    assert metrics.robust_bias(p) == pytest.approx(np.median(eps))
    p16, p84 = np.percentile(eps, [15.865525393145708, 84.13447460685429])
    assert metrics.robust_scatter(p) == pytest.approx(0.5 * (p84 - p16))


def test_percent_is_ln10_times_dex():
    # Ho et al. Table 3 quotes 0.0773 dex = 17.80 % and 0.1479 dex = 34.07 %
    assert float(metrics.dex_to_percent(0.0773)) == pytest.approx(17.80, abs=0.01)
    assert float(metrics.dex_to_percent(0.1479)) == pytest.approx(34.07, abs=0.02)


def test_robust_scatter_of_gaussian_and_outliers():
    rng = np.random.default_rng(5)
    eps = rng.normal(0.0, 0.12, 200_000)
    assert metrics.robust_scatter(eps) == pytest.approx(0.12, rel=0.01)
    eps[:2000] = 5.0  # 1 % catastrophic outliers
    assert metrics.robust_scatter(eps) == pytest.approx(0.12, rel=0.03)
    assert metrics.scatter(eps) > 0.4
    assert abs(metrics.robust_bias(eps)) < 0.01


def test_coverage_of_calibrated_gaussian():
    p = _gaussian_prediction()
    assert metrics.coverage(p, 0.68) == pytest.approx(0.68, abs=0.01)
    assert metrics.coverage(p, 0.95) == pytest.approx(0.95, abs=0.005)
    # sigma claimed too small by a factor 2: the 68 % interval covers 2Φ(0.497)-1 ≈ 0.38
    small = _gaussian_prediction(sigma_claimed=0.05)
    expected = 2 * stats.norm.cdf(stats.norm.ppf(0.84) / 2) - 1
    assert metrics.coverage(small, 0.68) == pytest.approx(expected, abs=0.01)


def test_pit_uniform_when_calibrated():
    p = _gaussian_prediction(n=5000)
    pit = metrics.pit_values(p)
    assert stats.kstest(pit, "uniform").pvalue > 1e-3
    density, edges = metrics.pit_histogram(p, bins=5)
    np.testing.assert_allclose(edges, np.linspace(0, 1, 6))
    np.testing.assert_allclose(density, 1.0, atol=0.15)
    # over-confident sigma gives a U-shaped histogram
    density, _ = metrics.pit_histogram(_gaussian_prediction(n=5000, sigma_claimed=0.04), bins=5)
    assert density[0] > 1.5 and density[-1] > 1.5 and density[2] < 0.6


def test_summarize_and_per_cluster_sigma():
    p = _gaussian_prediction(n=2000)
    s = metrics.summarize(p)
    assert s["n"] == 2000
    assert s["scatter_percent"] == pytest.approx(100 * np.log(10) * s["scatter_dex"])
    assert s["mean_sigma_dex"] == pytest.approx(0.1, rel=0.01)
    assert np.isfinite(s["coverage_68"])
    const = MassPrediction.from_arrays(
        [0, 1, 2], [0.1] * 3, [14.0, 14.1, 14.2], 0.1, truth=[14.0, 14.0, 14.0]
    )
    assert not metrics.has_per_cluster_sigma(const)
    assert np.isnan(metrics.summarize(const)["coverage_68"])
    const.meta["provides_sigma"] = True
    # residuals 0, 0.1, 0.2 dex with sigma 0.1: the 95 % interval (±0.196) holds two of three
    assert metrics.summarize(const)["coverage_95"] == pytest.approx(2 / 3)


def test_binned_statistics_against_numpy():
    rng = np.random.default_rng(7)
    true = rng.uniform(13.5, 15.0, 3000)
    pred = true + rng.normal(0, 0.1, 3000)
    p = MassPrediction.from_arrays(np.arange(3000), np.full(3000, 0.2), pred, 0.1, truth=true)
    edges = [13.5, 14.0, 14.5, 15.0]
    b = metrics.binned_statistics(p, bins=edges)
    assert b["n"].tolist() == np.histogram(true, bins=edges)[0].tolist()
    sel = (true >= 14.0) & (true < 14.5)
    np.testing.assert_allclose(b["pred_median"][1], np.median(pred[sel]))
    np.testing.assert_allclose(b["pred_p16"][1], np.percentile(pred[sel], 16))
    np.testing.assert_allclose(b["resid_p84"][1], np.percentile((pred - true)[sel], 84))
    np.testing.assert_allclose(b["resid_mean"][1], np.mean((pred - true)[sel]))
    assert len(metrics.binned_statistics(p, bins=6)) == 6


def test_mass_bin_bias_recovers_injected_bias():
    rng = np.random.default_rng(11)
    true = rng.uniform(13.0, 15.0, 8000)
    pred = true - 0.2 * (true - 14.0) + rng.normal(0, 0.05, true.size)  # regression to mean
    p = MassPrediction.from_arrays(
        np.arange(true.size), np.full(true.size, 0.2), pred, 0.05, truth=true
    )
    t = metrics.mass_bin_bias(p, bins=[13.0, 13.5, 14.5, 15.0])
    np.testing.assert_allclose(t["bias_dex"], [0.15, 0.0, -0.15], atol=0.01)
    assert np.all(t["bias_err_dex"] < 0.01)
    default = metrics.mass_bin_bias(p)
    np.testing.assert_allclose(np.diff(default["true_lo"]), 0.25)


def test_compare_table_columns_paper_and_markdown(tmp_path):
    a = _gaussian_prediction(n=1000, sigma=0.15, name="power_law")
    b = _gaussian_prediction(n=1000, sigma=0.07, seed=1, name="multiband_cnn")
    t = metrics.compare(a, b, names=["power_law(n_phot_500c)", "multiband_cnn"])
    for col in (
        "model",
        "n",
        "scatter_dex",
        "scatter_percent",
        "bias_dex",
        "robust_scatter_dex",
        "coverage_68",
        "coverage_95",
        "paper_dex",
        "paper_percent",
    ):
        assert col in t.colnames
    assert t["paper_dex"].tolist() == [0.1479, 0.0703]
    assert t["scatter_dex"][0] == pytest.approx(0.15, rel=0.05)
    assert t["scatter_dex"][0] == pytest.approx(metrics.scatter(a))
    md = metrics.to_markdown(t, columns=["model", "scatter_dex", "paper_percent"])
    lines = md.splitlines()
    assert lines[0] == "| model | scatter_dex | paper_percent |"
    assert lines[1] == "|---|---|---|"
    assert lines[3].startswith("| multiband_cnn | 0.07") and lines[3].endswith("| 16.18 |")
    t.write(tmp_path / "t.ecsv", format="ascii.ecsv")
    back = Table.read(tmp_path / "t.ecsv", format="ascii.ecsv")
    np.testing.assert_allclose(back["scatter_dex"], t["scatter_dex"])
    t.write(tmp_path / "t.tex", format="ascii.latex")
    assert "multiband" in (tmp_path / "t.tex").read_text()
    # names default to meta['estimator']; unknown models get NaN paper numbers
    t2 = metrics.compare(_gaussian_prediction(n=100, name="my_plugin"), paper=True)
    assert t2["model"][0] == "my_plugin" and np.isnan(t2["paper_dex"][0])
    assert "paper_dex" not in metrics.compare(a, paper=False).colnames


def test_paper_reference_names():
    assert paper_reference("n_phot_500c")["percent"] == 34.07
    assert paper_reference("M_gas, M_star")["dex"] == 0.0214
    assert paper_reference("multi_property(T+M_gas+M_star)")["dex"] == 0.0176
    assert paper_reference("joint_cnn")["dex"] == 0.0691
    assert paper_reference("unknown thing") is None
    assert canonical_observables("Ngal, nphot500c") == frozenset({"n_gal", "n_phot_500c"})


def test_bad_input_raises_package_errors():
    no_truth = MassPrediction.from_arrays([0], [0.1], [14.0], 0.1)
    with pytest.raises(MissingColumnError, match="log10_m500c_true"):
        metrics.residuals(no_truth)
    nan = MassPrediction.from_arrays([0, 1], [0.1] * 2, [14.0, np.nan], 0.1, truth=[14, 14])
    with pytest.raises(InputError, match="non-finite"):
        metrics.scatter(nan)
    with pytest.raises(EmptyInputError):
        metrics.scatter([])
    with pytest.raises(EmptyInputError):
        metrics.compare()
    with pytest.raises(InputError, match="between 0 and 1"):
        metrics.coverage(_gaussian_prediction(n=10), 1.5)
    zero_sigma = MassPrediction.from_arrays([0], [0.1], [14.0], 0.0, truth=[14.0])
    with pytest.raises(InputError, match="non-positive"):
        metrics.pit_values(zero_sigma)
    with pytest.raises(InputError, match="2 names for 1"):
        metrics.compare(no_truth, names=["a", "b"])
