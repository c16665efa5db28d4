"""The command line: every subcommand's help, plugins listing, error handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from astroclustermass import __version__
from astroclustermass.cli import build_parser, main
from astroclustermass.cli._common import parse_params as _parse_params
from astroclustermass.exceptions import AstroClusterMassError, InputError

SUBCOMMANDS = [
    "simulate",
    "build",
    "train",
    "predict",
    "explain",
    "dynamics",
    "benchmark",
    "plugins",
]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_subcommand_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: astroclustermass {command}")


def test_top_level_help_lists_subcommands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in SUBCOMMANDS:
        assert command in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"astroclustermass {__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out


def test_plugins_lists_builtin_estimators(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "builtin" in out and __version__ in out
    assert "power_law" in out and "multi_property" in out
    assert "attributions:" in out and "saliency" in out and "analytic_proxy" in out


def test_package_error_exits_2_with_one_line(capsys, tmp_path):
    status = main(["build", str(tmp_path / "missing"), "--out", str(tmp_path / "s.h5")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("astroclustermass build: error:")
    assert "missing" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_estimator_lists_known_ones(capsys, tmp_path):
    status = main(
        ["train", "powerlaw", "--sample", str(tmp_path / "s.h5"), "--out", str(tmp_path / "m")]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "power_law" in err and "Did you mean" in err


def test_bad_param_and_missing_model(capsys, tmp_path):
    assert main(["train", "power_law", "--sample", "s.h5", "--out", "m", "--param", "oops"]) == 2
    assert "key=value" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                str(tmp_path / "nomodel"),
                "--sample",
                "s.h5",
                "--out",
                str(tmp_path / "p.ecsv"),
            ]
        )
        == 2
    )
    assert "error" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["benchmark", "--folds", "1"]) == 2
    assert "--folds" in capsys.readouterr().err
    assert main(["benchmark", "--data", "x", "--simulate", "10"]) == 2
    assert main(["simulate"]) == 2  # --n-clusters and --out are required


def test_debug_shows_traceback(tmp_path):
    with pytest.raises(AstroClusterMassError):
        main(["--debug", "build", str(tmp_path / "missing"), "--out", str(tmp_path / "s.h5")])


def test_parse_params():
    assert _parse_params(
        [
            "max_epochs=5",
            "lr=1e-3",
            "bands=erosita_3",
            "augment=true",
            "observables=['T', 'M_gas']",
            "x=None",
        ]
    ) == {
        "max_epochs": 5,
        "lr": 1e-3,
        "bands": "erosita_3",
        "augment": True,
        "observables": ["T", "M_gas"],
        "x": None,
    }
    with pytest.raises(InputError):
        _parse_params(["=3"])


def test_parser_benchmark_defaults():
    args = build_parser().parse_args(["benchmark"])
    assert args.preset == "quick" and args.out == "acm-benchmark" and args.folds is None
    args = build_parser().parse_args(["benchmark", "--folds", "5", "--estimators", "a", "b"])
    assert args.folds == 5 and args.estimators == ["a", "b"]


def test_console_script_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "astroclustermass.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and __version__ in result.stdout


@pytest.mark.filterwarnings("ignore::astroclustermass.exceptions.OutOfRangeWarning")
def test_simulate_build_train_predict(tmp_path, capsys):
    sim, h5, model, pred = (tmp_path / n for n in ("sim", "s.h5", "model", "p.ecsv"))
    args = ["simulate", "--n-clusters", "24", "--seed", "3", "--out", str(sim), "--n-jobs", "1"]
    assert main([*args, "--quiet", "--report"]) == 0
    out = capsys.readouterr().out
    assert "wrote 24 clusters" in out and "Table 1" in out
    assert (sim / "catalog.ecsv").exists()
    assert (
        main(
            [
                "build",
                str(sim),
                "--out",
                str(h5),
                "--npix",
                "8",
                "--bands",
                "bolometric",
                "--no-dynamics",
                "--n-jobs",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert "24 clusters" in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "power_law",
                "--sample",
                str(h5),
                "--out",
                str(model),
                "--param",
                "observable=n_phot",
                "--quiet",
            ]
        )
        == 0
    )
    assert (model / "config.json").exists()
    capsys.readouterr()
    assert main(["predict", str(model), "--sample", str(h5), "--out", str(pred), "--quiet"]) == 0
    assert "scatter" in capsys.readouterr().out
    from astroclustermass.estimators import MassPrediction

    table = MassPrediction.read(pred, format="ascii.ecsv")
    assert len(table) == 24 and np.all(np.isfinite(table["log10_m500c"]))
    # the file exists now: refuse to overwrite without --overwrite
    assert main(["predict", str(model), "--sample", str(h5), "--out", str(pred)]) == 2
    assert "--overwrite" in capsys.readouterr().err

    # a calibrated model: the interval columns reach the file and the summary
    conformal, cpred = tmp_path / "conformal", tmp_path / "c.ecsv"
    params = ["base=power_law", 'base_params={"observable": "n_phot"}', "n_folds=3"]
    params += ["alpha=(0.32, 0.05)"]
    train = ["train", "conformal", "--sample", str(h5), "--out", str(conformal), "--quiet"]
    assert main([*train, *[a for p in params for a in ("--param", p)]]) == 0
    capsys.readouterr()
    assert main(["predict", str(conformal), "--sample", str(h5), "--out", str(cpred)]) == 0
    out = capsys.readouterr().out
    assert "log10_m500c_lo68/log10_m500c_hi68" in out and "coverage of the 95% intervals" in out
    back = MassPrediction.read(cpred, format="ascii.ecsv")
    assert back.interval_levels == [0.68, 0.95] and "out_of_distribution" in back.colnames


def test_dynamics_command(tmp_path, capsys):
    from astroclustermass.testing import make_tiny_sample

    path = make_tiny_sample(n=30, bands=("erosita_3",), npix=16).write(tmp_path / "s.h5")
    out = tmp_path / "dyn"
    args = [
        "dynamics",
        "multiband_cnn",
        "--sample",
        str(path),
        "--out",
        str(out),
        "--epochs-per-phase",
        "1",
        "--param",
        "network_params={'conv': (4, 4, 4, 4), 'dense': (8,)}",
        "--param",
        "device=cpu",
        "--quiet",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "phase 3 (0.5-1.2 keV + 1.2-2 keV + 2-7 keV)" in text
    for name in ("dynamics.h5", "dynamics.png", "metrics.png", "summary.ecsv"):
        assert (out / name).stat().st_size > 0
    from astroclustermass.attribution import TrainingDynamics

    dyn = TrainingDynamics.read(out / "dynamics.h5")
    assert dyn.predictions.shape == (6, 6)  # 3 phases x (1 + 1 epochs), 20 % of 30
    assert main(args) == 2  # out is not empty
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args[:-1], "--test-fraction", "1.5", "--overwrite"]) == 2


def test_cli_passes_only_the_options_a_user_gave(monkeypatch, tmp_path):
    """Options not given leave the Python API's defaults in charge (one owner per value)."""
    from astroclustermass.sample import ClusterSample

    seen = {}

    def fake_build(directory, **kwargs):
        seen.update(kwargs)
        return "sample"

    monkeypatch.setattr(ClusterSample, "build", staticmethod(fake_build))
    assert main(["build", str(tmp_path), "--out", str(tmp_path / "s.h5"), "-q"]) == 0
    for name in ("npix", "aperture", "n_cube", "bands", "n_jobs"):
        assert name not in seen
    seen.clear()
    main(["build", str(tmp_path), "--out", str(tmp_path / "s.h5"), "--npix", "32", "-q"])
    assert seen["npix"] == 32 and "aperture" not in seen
