"""Scaling-relation estimators (Ho et al. 2023 Sec. 3; Evrard et al. 2014) on synthetic data.

The synthetic populations have known intercepts pi, slopes alpha, residual
covariance C and a truncated exponential mass function of slope beta, so
every number the code produces can be compared with its analytic value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators._scaling_core import fit_beta, redshift_bin_edges
from astroclustermass.estimators.scaling import (
    MultiPropertyEstimator,
    PowerLawEstimator,
    residual_correlation,
    scatter_table,
    search_combinations,
)
from astroclustermass.exceptions import AstroClusterMassWarning, InputError, OutOfRangeWarning
from astroclustermass.sample import ClusterSample

LN10 = np.log(10.0)


def truncated_exponential(rng, n, beta, lo, hi):
    """Draws of mu from dn/dmu ∝ exp(-beta mu) on [lo, hi] (inverse CDF)."""
    u = rng.random(n)
    return lo - np.log1p(-u * (-np.expm1(-beta * (hi - lo)))) / beta


def make_sample(mu, z, observables, catalog_extra=None):
    """A ClusterSample of the given masses (mu = ln(M / 1e14)) and observables S."""
    n = len(mu)
    cat = {"redshift": np.asarray(z, float), "log10_m500c": 14.0 + np.asarray(mu) / LN10}
    cat.update(catalog_extra or {})
    return ClusterSample.from_arrays(
        cat, images={"bolometric": np.zeros((n, 1, 2, 2), np.int32)}, observables=observables
    )


def population(rng, n, pi, alpha, cov, beta=2.0, lo=-1.5, hi=2.5, z=(0.1,)):
    """mu from the mass function; ln S = pi + alpha mu + N(0, C), per snapshot redshift."""
    mu = truncated_exponential(rng, n, beta, lo, hi)
    zz = np.resize(np.asarray(z, float), n)
    k = np.atleast_2d(alpha).shape[1]
    pi = np.broadcast_to(np.atleast_2d(pi), (len(z), k))  # (n_z, k)
    alpha = np.broadcast_to(np.atleast_2d(alpha), (len(z), k))
    names = [f"s{i}" for i in range(k)]
    iz = np.searchsorted(np.asarray(z), zz)
    s = pi[iz] + alpha[iz] * mu[:, None] + rng.multivariate_normal(np.zeros(len(cov)), cov, n)
    return make_sample(mu, zz, {c: np.exp(s[:, i]) for i, c in enumerate(names)}), mu, s


def predict(est, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return est.predict(sample)


def analytic_sigma(alpha, cov):
    alpha = np.asarray(alpha, float)
    return 1.0 / np.sqrt(alpha @ np.linalg.solve(cov, alpha))


COV3 = np.array([[0.04, 0.018, -0.012], [0.018, 0.09, 0.0], [-0.012, 0.0, 0.0625]])


def test_multi_property_recovers_pi_alpha_cov_beta():
    rng = np.random.default_rng(1)
    pi = [[1.0, 2.0, -0.5], [1.2, 2.3, -0.4]]
    alpha = [[0.6, 1.3, 1.0], [0.65, 1.2, 1.1]]
    sample, _, _ = population(rng, 40000, pi, alpha, COV3, beta=1.8, z=(0.1, 0.3))
    est = MultiPropertyEstimator(observables=("s0", "s1", "s2")).fit(sample)
    assert est.z_centres_.tolist() == [0.1, 0.3]
    np.testing.assert_allclose(est.pi_, pi, atol=0.01)
    np.testing.assert_allclose(est.alpha_, alpha, atol=0.01)
    for b in range(2):
        np.testing.assert_allclose(est.cov_[b], COV3, atol=0.003)
    # ML slope from the sample's own range; sigma(beta) ~ beta / sqrt(n) ~ 0.013
    np.testing.assert_allclose(est.beta_, 1.8, atol=0.05)
    # Eq. 7 (corrected) from the fitted relation equals the analytic value per bin
    table = est.relation_table()
    for b in range(2):
        np.testing.assert_allclose(
            table["sigma_ln_m"][b], analytic_sigma(alpha[b], COV3), rtol=0.02
        )


def test_sigma_matches_eq7_and_the_held_out_residuals():
    rng = np.random.default_rng(2)
    alpha = [0.8, 1.2, 1.0]
    train, _, _ = population(rng, 20000, [0.0, 1.0, 2.0], alpha, COV3)
    test, mu, _ = population(rng, 20000, [0.0, 1.0, 2.0], alpha, COV3)
    est = MassEstimator.from_name("multi_property", observables=("s0", "s1", "s2")).fit(train)
    pred = predict(est, test)
    sig_ln = analytic_sigma(alpha, COV3)
    np.testing.assert_allclose(pred["sigma_log10_m500c"], sig_ln / LN10, rtol=0.02)
    resid = np.asarray(pred.residuals()) * LN10
    # the scatter of the out-of-sample residuals is the predicted sigma
    assert abs(resid.std() / sig_ln - 1) < 0.03
    # binned by true mass the posterior mean sits beta sigma^2 low (see the Notes)
    assert resid.mean() == pytest.approx(-est.beta_[0] * sig_ln**2, abs=0.01)


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.5])
def test_two_correlated_observables_give_the_analytic_combined_scatter(rho):
    rng = np.random.default_rng(3)
    a1, a2, s1, s2 = 1.0, 0.7, 0.3, 0.25
    cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
    sample, _, _ = population(rng, 30000, [0.0, 0.0], [a1, a2], cov)
    est = MultiPropertyEstimator(observables=("s0", "s1"), beta=0.0).fit(sample)
    # closed form of (alpha^T C^-1 alpha)^-1 for two observables
    precision = (a1**2 / s1**2 + a2**2 / s2**2 - 2 * rho * a1 * a2 / (s1 * s2)) / (1 - rho**2)
    expected = 1.0 / np.sqrt(precision)
    got = est.relation_table()["sigma_ln_m"][0]
    assert got == pytest.approx(expected, rel=0.02)
    singles = [s1 / a1, s2 / a2]
    assert got < min(singles)  # two observables always help, most when anti-correlated
    if rho < 0:
        assert got < 0.6 * min(singles)


def test_power_law_is_unbiased_at_fixed_observable_with_the_mass_function_term():
    """An observable-selected population drawn from the mass function (Eddington bias)."""
    rng = np.random.default_rng(4)
    beta, alpha, sig_s = 2.0, 1.0, 0.3
    train, _, _ = population(rng, 20000, [3.0], [alpha], [[sig_s**2]], beta=beta, lo=-2, hi=3)
    test, mu, s = population(rng, 200000, [3.0], [alpha], [[sig_s**2]], beta=beta, lo=-2, hi=3)
    naive_mu = (s[:, 0] - 3.0) / alpha
    selected = (naive_mu > 0.0) & (naive_mu < 1.0)  # far (> 6 sigma) from both mass limits
    assert selected.sum() > 2000
    with_beta = PowerLawEstimator(observable="s0").fit(train)
    without = PowerLawEstimator(observable="s0", beta=0.0).fit(train)
    r_beta = predict(with_beta, test[selected]).residuals() * LN10
    r_naive = predict(without, test[selected]).residuals() * LN10
    eddington = beta * (sig_s / alpha) ** 2  # 0.18 in ln M
    se = sig_s / np.sqrt(selected.sum())
    assert abs(np.mean(r_beta)) < 4 * se + 0.01
    assert np.mean(r_naive) == pytest.approx(eddington, abs=4 * se + 0.01)
    # and on held-out data binned by predicted mass the residual has no trend
    pred = predict(with_beta, test)
    m = np.asarray(pred["log10_m500c"])
    r = np.asarray(pred.residuals())
    for lo in (13.6, 13.8, 14.0, 14.2):  # away from the lower mass limit at 13.13
        inbin = (m >= lo) & (m < lo + 0.2)
        assert abs(r[inbin].mean()) < 4 * r[inbin].std() / np.sqrt(inbin.sum()) + 0.002


def test_power_law_with_beta_zero_is_the_plain_inversion():
    rng = np.random.default_rng(5)
    sample, _, s = population(rng, 3000, [[2.0], [2.5]], [[1.1], [0.9]], [[0.04]], z=(0.1, 0.2))
    est = PowerLawEstimator(observable="s0", beta=0.0).fit(sample)
    pred = predict(est, sample)
    b = (np.asarray(sample.catalog["redshift"]) > 0.15).astype(int)
    expected = 14.0 + (s[:, 0] - est.pi_[b, 0]) / est.alpha_[b, 0] / LN10
    np.testing.assert_allclose(pred["log10_m500c"], expected, rtol=0, atol=1e-10)
    sig = np.sqrt(est.cov_[b, 0, 0]) / np.abs(est.alpha_[b, 0]) / LN10
    np.testing.assert_allclose(pred["sigma_log10_m500c"], sig, rtol=1e-10)


def test_power_law_equals_multi_property_with_one_observable():
    rng = np.random.default_rng(6)
    sample, _, _ = population(rng, 2000, [1.0], [0.8], [[0.09]])
    a = predict(PowerLawEstimator(observable="s0").fit(sample), sample)
    b = predict(MultiPropertyEstimator(observables=("s0",)).fit(sample), sample)
    np.testing.assert_allclose(a["log10_m500c"], b["log10_m500c"], rtol=0, atol=1e-12)


def test_parameters_are_interpolated_between_snapshot_redshifts():
    rng = np.random.default_rng(7)
    sample, _, _ = population(rng, 4000, [[1.0], [2.0]], [[1.0], [1.0]], [[0.01]], z=(0.1, 0.3))
    est = PowerLawEstimator(observable="s0", beta=0.0).fit(sample)
    mid = make_sample([0.0], [0.2], {"s0": [np.exp(1.5)]})
    pred = predict(est, mid)
    pi_mid = est.pi_[:, 0].mean()
    alpha_mid = est.alpha_[:, 0].mean()
    assert pred["log10_m500c"][0] == pytest.approx(14 + (1.5 - pi_mid) / alpha_mid / LN10, abs=1e-9)
    far = make_sample([0.0], [0.6], {"s0": [np.exp(2.0)]})
    with pytest.warns(OutOfRangeWarning, match="redshift"):
        est.predict(far)


def test_redshift_binning_rules():
    snap = np.repeat([0.07, 0.1, 0.14, 0.2], [50, 50, 10, 50])
    # one bin per snapshot, a small one merged into its neighbour
    np.testing.assert_allclose(redshift_bin_edges(snap, "auto", 30), [0.07, 0.085, 0.12, 0.2])
    cont = np.random.default_rng(0).uniform(0, 1, 1000)
    edges = redshift_bin_edges(cont, "auto", 30)
    assert len(edges) == 11  # min(10, 1000 // 30) equal-count bins
    counts = np.histogram(cont, edges)[0]
    assert counts.min() >= 99
    assert len(redshift_bin_edges(cont, 4, 30)) == 5
    np.testing.assert_allclose(redshift_bin_edges(cont, [0.0, 0.5, 1.0], 30)[1], 0.5)
    with pytest.raises(InputError, match="increasing"):
        redshift_bin_edges(cont, [0.5, 0.2], 30)


def test_fit_beta_recovers_the_slope_and_sign():
    rng = np.random.default_rng(8)
    assert fit_beta(truncated_exponential(rng, 50000, 2.5, -1, 2)) == pytest.approx(2.5, rel=0.03)
    assert fit_beta(truncated_exponential(rng, 50000, -1.0, -1, 2)) == pytest.approx(-1, rel=0.05)
    assert abs(fit_beta(rng.uniform(0, 1, 50000))) < 0.1


def test_search_combinations_finds_the_known_best_pair():
    rng = np.random.default_rng(9)
    # c is the best single observable; a and d are individually poor but anti-correlated
    sd = np.array([0.3, 0.3, 0.22, 0.35])
    corr = np.eye(4)
    corr[0, 3] = corr[3, 0] = -0.9
    cov = corr * np.outer(sd, sd)
    sample, _, _ = population(rng, 20000, [0, 0, 0, 0], [1, 1, 1, 1], cov)
    names = ["s0", "s1", "s2", "s3"]
    table = search_combinations(sample, names)
    assert table["size"].tolist() == [1, 2, 3, 4]
    assert table["observables"][0] == "s2"
    assert table["observables"][1] == "s0, s3"
    assert table["scatter_ln"][1] == pytest.approx(
        analytic_sigma([1, 1], cov[np.ix_([0, 3], [0, 3])]), rel=0.03
    )
    np.testing.assert_allclose(table["scatter_dex"], table["scatter_ln"] / LN10)
    np.testing.assert_allclose(table["scatter_percent"], 100 * table["scatter_ln"])
    assert np.all(np.diff(table["scatter_ln"]) <= 1e-12)  # more observables never hurt
    every = search_combinations(sample, names, max_size=2, keep="all")
    assert len(every) == 4 + 6


def test_scatter_table_and_residual_correlation():
    rng = np.random.default_rng(10)
    cov = np.array([[0.04, -0.03], [-0.03, 0.09]])
    sample, _, _ = population(rng, 30000, [0, 1], [0.5, 1.5], cov, z=(0.1, 0.2))
    t = scatter_table(sample, ["s0", "s1"])
    np.testing.assert_allclose(t["scatter_ln"], [0.2 / 0.5, 0.3 / 1.5], rtol=0.03)
    np.testing.assert_allclose(t["alpha"], [0.5, 1.5], atol=0.02)
    corr = residual_correlation(sample, ["s0", "s1"])
    assert corr[0, 1] == pytest.approx(-0.5, abs=0.02)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    at = residual_correlation(sample, ["s0", "s1"], redshift=0.17)
    assert at[0, 1] == pytest.approx(-0.5, abs=0.03)


def test_ideal_observables_come_from_the_catalogue():
    rng = np.random.default_rng(11)
    mu = rng.uniform(-1, 1, 500)
    temp = np.exp(0.5 + 0.6 * mu + rng.normal(0, 0.05, 500))
    sample = make_sample(mu, np.full(500, 0.1), None, catalog_extra={"T": temp})
    est = PowerLawEstimator(observable="T").fit(sample)
    assert est.alpha_[0, 0] == pytest.approx(0.6, abs=0.02)


def test_non_positive_observables_are_left_out_and_marginalised():
    rng = np.random.default_rng(12)
    sample, _, _ = population(rng, 2000, [0, 0], [1, 1], [[0.04, 0.0], [0.0, 0.04]])
    obs = sample.observables
    obs["s1"][:5] = 0.0
    with pytest.warns(AstroClusterMassWarning, match="left out of the fit"):
        est = MultiPropertyEstimator(observables=("s0", "s1"), beta=0.0).fit(sample)
    assert est.n_per_bin_.sum() == 1995
    test = sample[np.arange(5, 15)]  # an index array copies (a slice would be a view)
    test.observables["s0"][0] = np.nan
    test.observables["s1"][1] = -1.0
    test.observables["s0"][2] = 0.0
    test.observables["s1"][2] = 0.0
    with pytest.warns(AstroClusterMassWarning, match="1 cluster.*NaN"):
        pred = predict(est, test)
    single = PowerLawEstimator(observable="s1", beta=0.0).fit(sample[np.arange(5, 2000)])
    # cluster 0 has only s1 usable: its posterior is the single-observable one
    only_s1 = predict(single, test[[0]])
    assert pred["log10_m500c"][0] == pytest.approx(only_s1["log10_m500c"][0], abs=0.01)
    assert pred["sigma_log10_m500c"][0] > pred["sigma_log10_m500c"][3]
    assert np.isnan(pred["log10_m500c"][2]) and np.isnan(pred["sigma_log10_m500c"][2])
    assert np.all(np.isfinite(pred["log10_m500c"][3:]))


def test_parameter_validation_and_errors():
    rng = np.random.default_rng(13)
    sample, _, _ = population(rng, 200, [0], [1], [[0.04]])
    with pytest.raises(InputError, match="The 'beta' parameter of PowerLawEstimator"):
        PowerLawEstimator(observable="s0", beta="bogus").fit(sample)
    with pytest.raises(InputError, match="twice"):
        MultiPropertyEstimator(observables=("s0", "s0")).fit(sample)
    with pytest.raises(InputError, match="lacks|not found"):
        PowerLawEstimator(observable="nope").fit(sample)
    with pytest.raises(InputError, match="at least 3"):
        PowerLawEstimator(observable="s0", redshift_bins=[0.0, 0.1]).fit(sample[:2])


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(14)
    sample, _, _ = population(
        rng, 500, [[0, 1], [0.1, 1.1]], [[1, 1], [1, 1.1]], COV3[:2, :2], z=(0.1, 0.2)
    )
    est = MultiPropertyEstimator(observables=("s0", "s1")).fit(sample)
    est.save(tmp_path / "m")
    loaded = MassEstimator.load(tmp_path / "m")
    a, b = predict(est, sample), predict(loaded, sample)
    np.testing.assert_array_equal(a["log10_m500c"], b["log10_m500c"])
    np.testing.assert_array_equal(loaded.cov_, est.cov_)
