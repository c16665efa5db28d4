"""The benchmark report and its figures: files exist, PNGs are valid images, tables agree."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.estimators import MassPrediction
from astroclustermass.evaluation import metrics, plots
from astroclustermass.evaluation.report import benchmark_table, write_report
from astroclustermass.exceptions import InputError, MissingColumnError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _prediction(name, sigma, seed, n=400, per_cluster=False):
    rng = np.random.default_rng(seed)
    true = 13.5 + rng.exponential(0.3, n)
    sig = sigma * (rng.uniform(0.8, 1.2, n) if per_cluster else np.ones(n))
    p = MassPrediction.from_arrays(
        np.arange(n),
        rng.uniform(0.07, 0.47, n),
        true + rng.normal(0, sigma, n),
        sig,
        truth=true,
        estimator=name,
    )
    p.meta["provides_sigma"] = per_cluster
    return p


@pytest.fixture(scope="module")
def predictions():
    return {
        "power_law(n_phot_500c)": _prediction("power_law", 0.15, 0),
        "single_band_cnn": _prediction("single_band_cnn", 0.08, 1),
        "nll_ensemble": _prediction("nll_ensemble", 0.07, 2, per_cluster=True),
    }


def _check_png(path):
    from PIL import Image

    assert path.exists()
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        w, h = im.size
        assert w > 200 and h > 200
        # not a blank canvas
        arr = np.asarray(im.convert("L"))
        assert arr.std() > 5


def test_plots_write_valid_pngs(tmp_path, predictions):
    preds = list(predictions.values())
    fig = plots.plot_predictions(*preds, names=list(predictions), path=tmp_path / "fig4.png")
    assert len(fig.axes) == 3 * len(preds)
    _check_png(tmp_path / "fig4.png")
    corr = np.array([[1.0, 0.4, -0.2], [0.4, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    plots.plot_residual_correlation(corr, ["T", "M_gas", "n_gal"], tmp_path / "fig3.png", n_ideal=2)
    _check_png(tmp_path / "fig3.png")
    plots.plot_coverage(predictions["nll_ensemble"], path=tmp_path / "cov.png")
    _check_png(tmp_path / "cov.png")
    plots.plot_mass_bin_bias(*preds, path=tmp_path / "bias.png")
    _check_png(tmp_path / "bias.png")


def test_plot_errors(tmp_path, predictions):
    with pytest.raises(InputError, match="PNG"):
        plots.plot_predictions(predictions["nll_ensemble"], path=tmp_path / "x.pdf")
    with pytest.raises(InputError, match="square"):
        plots.plot_residual_correlation(np.ones((2, 3)), ["a", "b"])
    with pytest.raises(InputError, match="names"):
        plots.plot_predictions(predictions["nll_ensemble"], names=["a", "b"])


def test_benchmark_table_combines_proxies_and_models(predictions):
    proxy = Table(
        {
            "section": ["ideal", "realistic", "realistic combination"],
            "model": ["M_gas", "n_phot_500c", "n_gal, n_phot_500c"],
            "n": [400, 400, 390],
            "scatter_dex": [0.04, 0.15, 0.12],
        }
    )
    t = benchmark_table(proxy, predictions)
    assert len(t) == 6
    assert t["paper_dex"][:3].tolist() == [0.0367, 0.1479, 0.1252]
    np.testing.assert_allclose(t["scatter_percent"][:3], 100 * np.log(10) * proxy["scatter_dex"])
    assert np.isnan(t["bias_dex"][0])  # Eq. 7 rows have no bias
    cv = t[t["section"] == "cross-validated"]
    np.testing.assert_allclose(
        cv["scatter_dex"], [metrics.scatter(p) for p in predictions.values()]
    )
    # coverage only for the model with a per-cluster sigma
    assert np.isnan(cv["coverage_68"][1]) and np.isfinite(cv["coverage_68"][2])
    with pytest.raises(MissingColumnError, match="scatter_dex"):
        benchmark_table(Table({"model": ["T"]}))


def test_write_report_files(tmp_path, predictions):
    proxy = Table(
        {
            "model": ["T", "n_phot_500c"],
            "scatter_dex": [0.05, 0.15],
            "section": ["ideal", "realistic"],
        }
    )
    corr = (np.array([[1.0, 0.3], [0.3, 1.0]]), ["T", "n_phot_500c"], 1)
    path = write_report(
        tmp_path / "rep",
        predictions=predictions,
        proxy_table=proxy,
        correlation=corr,
        config={"preset": "quick", "npix": 32},
        timings={"simulate": 1.5, "build": 2.0},
        notes=["a note"],
    )
    out = tmp_path / "rep"
    assert path == out / "report.md"
    md = path.read_text()
    for text in (
        "Table 3",
        "paper (dex)",
        "0.1479",
        "fig4_predictions.png",
        "fig3_residual_correlation.png",
        "coverage.png",
        "Timings",
        "a note",
        "astroclustermass",
    ):
        assert text in md
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and "<img" in html
    for name in ("fig4_predictions", "fig3_residual_correlation", "coverage", "mass_bin_bias"):
        _check_png(out / "figures" / f"{name}.png")
    table = Table.read(out / "table3.ecsv", format="ascii.ecsv")
    assert len(table) == 5 and "scatter_percent" in table.colnames
    assert "\\begin{tabular}" in (out / "table3.tex").read_text()
    assert json.loads((out / "config.json").read_text())["npix"] == 32
    back = MassPrediction.read(out / "predictions" / "nll_ensemble.ecsv", format="ascii.ecsv")
    np.testing.assert_allclose(back["log10_m500c"], predictions["nll_ensemble"]["log10_m500c"])
    assert (out / "predictions" / "power_law_n_phot_500c.ecsv").exists()


def test_write_report_rejects_unknown_figure_model(tmp_path, predictions):
    with pytest.raises(InputError, match="figure_models"):
        write_report(tmp_path, predictions=predictions, figure_models=["nope"])
