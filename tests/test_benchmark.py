"""The main job end to end on a tiny configuration: simulate, build, proxies, CNNs, report."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.benchmarks.pipeline import PRESETS, format_table, run_benchmark
from astroclustermass.cli import main
from astroclustermass.evaluation import metrics
from astroclustermass.exceptions import InputError, UnknownNameError

TINY = {"simulate": 40, "npix": 32, "epochs": 1, "folds": 2, "n_jobs": 1, "progress": False}
CNNS = ["single_band_cnn", "multiband_cnn", "joint_cnn", "nll_ensemble", "gap_cnn"]
# the quick preset's calibrated CNN: conformal (split) around multiband_cnn
CALIBRATED = "conformal(multiband_cnn)"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return run_benchmark(out=out, estimators=[*CNNS, "conformal"], **TINY)


def test_report_files_exist(tiny_run):
    out = tiny_run.out
    assert tiny_run.report == out / "report.md"
    for name in (
        "report.md",
        "report.html",
        "table3.ecsv",
        "table3.tex",
        "config.json",
        "sample.h5",
        "simulation/simulation.json",
        "simulation/catalog.ecsv",
    ):
        assert (out / name).exists(), name
    for name in ("fig4_predictions", "fig3_residual_correlation", "mass_bin_bias", "coverage"):
        png = out / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = tiny_run.report.read_text()
    for text in (
        "Table 3",
        "power_law(n_phot_500c)",
        "joint_cnn",
        "paper (dex)",
        "Timings",
        "Preset 'quick'",
    ):
        assert text in md


def test_report_says_what_a_reader_must_know(tiny_run):
    report = tiny_run.report.read_text()
    # one epoch per fold never stops early: one line per estimator, with the count of folds
    (alert,) = [a for a in tiny_run.alerts if "ConvergenceWarning" in a]
    assert "single_band_cnn: 2 times" in alert and "multiband_cnn: 2 times" in alert
    assert report.index("## Read this first") < report.index("## Table 3")
    assert "in-sample" in report and "true R500c of the mock" in report
    notes = report[report.index("## Notes") :] if "## Notes" in report else ""
    assert len(notes.splitlines()) == len(set(notes.splitlines()))  # no repeated line


def test_calibration_table_and_reliability_figures(tiny_run):
    out = tiny_run.out
    cal = Table.read(out / "calibration.ecsv", format="ascii.ecsv")
    # every estimator with intervals: the ensemble's sigma, the conformal columns, the power law
    assert {"nll_ensemble", CALIBRATED, "power_law(n_phot_500c)"} <= set(cal["model"])
    row = cal[cal["model"] == CALIBRATED][0]
    assert row["intervals"].startswith("conformal split (multiband_cnn")
    pred = tiny_run.predictions[CALIBRATED]
    assert {"log10_m500c_lo68", "log10_m500c_hi95"} <= set(pred.colnames)
    lo, hi = pred.interval(0.68)
    truth = np.asarray(pred["log10_m500c_true"])
    assert row["coverage_68"] == pytest.approx(np.mean((truth >= lo) & (truth <= hi)))
    bins = Table.read(out / "calibration_bins.ecsv", format="ascii.ecsv")
    assert {"all", "mass", "redshift"} <= set(bins["by"])
    for name in ("nll_ensemble", "conformal_multiband_cnn"):
        png = out / "figures" / f"reliability_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = Table.read(out / "table3.ecsv", format="ascii.ecsv")
    cv = table[table["section"] == "cross-validated"]
    assert np.all(np.isfinite(cv["scatter_se_dex"])) and np.all(cv["scatter_se_dex"] > 0)
    assert "Calibration of the intervals" in tiny_run.report.read_text()


def test_table_columns_and_finite_numbers(tiny_run):
    table = Table.read(tiny_run.out / "table3.ecsv", format="ascii.ecsv")
    for col in (
        "section",
        "model",
        "method",
        "n",
        "scatter_dex",
        "scatter_percent",
        "bias_dex",
        "coverage_68",
        "coverage_95",
        "paper_dex",
        "paper_percent",
    ):
        assert col in table.colnames
    assert np.all(np.isfinite(table["scatter_dex"])) and np.all(table["scatter_dex"] > 0)
    np.testing.assert_allclose(
        table["scatter_percent"], 100 * np.log(10) * table["scatter_dex"], rtol=1e-6
    )
    sections = set(table["section"])
    assert {
        "ideal",
        "realistic",
        "ideal combination",
        "realistic combination",
        "cross-validated",
    } <= sections
    cv = table[table["section"] == "cross-validated"]
    assert list(cv["model"]) == ["power_law(n_phot_500c)", *CNNS, CALIBRATED]
    assert np.all(np.isfinite(cv["bias_dex"])) and np.all(cv["n"] == 40)
    nll = cv[cv["model"] == "nll_ensemble"][0]
    assert 0 <= nll["coverage_68"] <= 1 and np.isfinite(nll["coverage_95"])
    # the paper's numbers stand beside ours where the paper has the row
    assert cv[cv["model"] == "multiband_cnn"]["paper_dex"][0] == 0.0703
    assert table[table["model"] == "n_phot_500c"]["paper_percent"][0] == 34.07


def test_out_of_fold_predictions_saved(tiny_run):
    for name, pred in tiny_run.predictions.items():
        assert len(pred) == 40 and sorted(set(pred["fold"])) == [0, 1]
        safe = name.replace("(", "_").replace(")", "")
        back = Table.read(tiny_run.out / "predictions" / f"{safe}.ecsv", format="ascii.ecsv")
        np.testing.assert_allclose(back["log10_m500c"], pred["log10_m500c"])
    row = tiny_run.table[tiny_run.table["model"] == "single_band_cnn"][0]
    assert row["scatter_dex"] == pytest.approx(
        metrics.scatter(tiny_run.predictions["single_band_cnn"])
    )
    assert "| section | model |" in format_table(tiny_run.table)
    assert set(tiny_run.timings) >= {"simulate", "build", "proxies", *CNNS}


def test_cache_reused_and_invalidated(tiny_run):
    out = tiny_run.out
    # the same configuration (the estimators decide which band sets are built)
    again = run_benchmark(out=out, estimators=CNNS, **TINY)
    assert again.config["simulation"]["reused"] and again.config["sample"]["reused"]
    np.testing.assert_allclose(
        again.predictions["power_law(n_phot_500c)"]["log10_m500c"],
        tiny_run.predictions["power_law(n_phot_500c)"]["log10_m500c"],
    )
    # fewer estimators need a subset of the band sets: the sample serves them too
    subset = run_benchmark(out=out, estimators=["single_band_cnn"], **{**TINY, "epochs": 1})
    assert subset.config["sample"]["reused"]
    # another npix: the simulation is reused, the sample is rebuilt
    other = run_benchmark(out=out, estimators=[], **{**TINY, "npix": 16})
    assert other.config["simulation"]["reused"] and not other.config["sample"]["reused"]
    assert other.config["sample"]["hash"] != again.config["sample"]["hash"]


def test_sample_cache_builds_the_union_of_band_sets(tiny_run, tmp_path):
    from astroclustermass.benchmarks import _stages

    out = tmp_path / "run"
    out.mkdir()
    source = tiny_run.out / "simulation"
    log = _stages._Log(False, 1)
    first, info = _stages._build(out, source, "key", ["bolometric"], 16, True, 1, False, log)
    assert not info["reused"] and list(first.band_sets) == ["bolometric"]
    # a run needing another band set rebuilds with both, so both later runs reuse it
    both, info = _stages._build(out, source, "key", ["erosita_3"], 16, True, 1, False, log)
    assert not info["reused"] and set(both.band_sets) == {"bolometric", "erosita_3"}
    for bands in (["bolometric"], ["erosita_3"], ["erosita_3", "bolometric"]):
        _, info = _stages._build(out, source, "key", bands, 16, True, 1, False, log)
        assert info["reused"]
    # other data never reuses it
    _, info = _stages._build(out, source, "other", ["bolometric"], 16, True, 1, False, log)
    assert not info["reused"]


def test_user_data_without_ideal_columns(tiny_run, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_run.out / "simulation" / "events", data / "events")
    cat = Table.read(tiny_run.out / "simulation" / "catalog.ecsv", format="ascii.ecsv")
    cat.remove_columns(["T", "L_X", "M_gas", "M_star", "sigma_v_true", "x", "y", "z"])
    cat.write(data / "catalog.ecsv", format="ascii.ecsv")  # no galaxies.ecsv either
    result = run_benchmark(
        data=data, out=tmp_path / "out", estimators=[], npix=16, progress=False, n_jobs=1
    )
    sections = set(result.table["section"])
    assert "ideal" not in sections and "realistic" in sections
    assert "n_gal" not in list(result.table["model"])  # no galaxies, no richness
    assert result.config["folds"] == "sky:8"  # no box positions: sky-region folds
    report = result.report.read_text()
    # said first, not buried in the notes
    first = report.index("## Read this first")
    assert first < report.index("## Table 3") and "8 sky-region folds" in report[first:]
    assert result.alerts and "octants" in result.alerts[0]
    # not the paper's mock: no paper columns anywhere
    assert not [c for c in result.table.colnames if c.startswith("paper")]
    written = Table.read(tmp_path / "out" / "table3.ecsv", format="ascii.ecsv")
    assert "paper_dex" not in written.colnames and "paper (dex)" not in report
    assert "in-sample" in report and "the catalogue's r500c column" in report


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="preset"):
        run_benchmark(preset="fast", out=tmp_path)
    with pytest.raises(InputError, match="not both"):
        run_benchmark(data=tmp_path, simulate=10, out=tmp_path)
    with pytest.raises(UnknownNameError, match="single_band_cnn"):
        run_benchmark(estimators=["single_band"], out=tmp_path, simulate=10)
    nodata = tmp_path / "nodata"
    nodata.mkdir()
    Table({"file": ["a.fits"], "ra": [1.0], "dec": [2.0], "redshift": [0.1]}).write(
        nodata / "catalog.ecsv", format="ascii.ecsv"
    )
    with pytest.raises(InputError, match="true masses"):
        run_benchmark(data=nodata, out=tmp_path / "o", estimators=[])
    assert PRESETS["paper"]["n_clusters"] == 3285 and PRESETS["paper"]["npix"] == 128


def test_cli_benchmark(tiny_run, capsys):
    status = main(
        [
            "benchmark",
            "--simulate",
            "40",
            "--npix",
            "32",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--estimators",
            "single_band_cnn",
            "--out",
            str(tiny_run.out),
            "--n-jobs",
            "1",
            "--quiet",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "| cross-validated | single_band_cnn |" in out and "report:" in out
    assert main(["benchmark", "--data", str(tiny_run.out / "nothing"), "--quiet"]) == 2


def test_unknown_estimator_parameter_is_refused_with_a_suggestion(tmp_path):
    """A typo in estimator_params raises before any work instead of vanishing."""
    from astroclustermass.benchmarks.pipeline import run_benchmark
    from astroclustermass.exceptions import InputError, UnknownNameError

    with pytest.raises(InputError, match=r"'n_member' \(did you mean 'n_members'\?\)"):
        run_benchmark(
            out=tmp_path / "b",
            estimators=["nll_ensemble"],
            estimator_params={"nll_ensemble": {"n_member": 3}},
            progress=False,
        )
    assert not (tmp_path / "b").exists()
    with pytest.raises(UnknownNameError):
        run_benchmark(
            out=tmp_path / "b", estimators=["power_law"], estimator_params={"nll_ensembel": {}}
        )
