"""The command line never deletes what it did not write, and checks --out before any work."""

from __future__ import annotations

import json

import pytest

from astroclustermass.cli import main
from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators.scaling import PowerLawEstimator
from astroclustermass.testing import make_tiny_sample


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    return make_tiny_sample(n=40, seed=2).write(tmp_path_factory.mktemp("s") / "s.h5")


def _train(out, sample, *extra):
    args = ["train", "power_law", "--sample", str(sample), "--out", str(out), "--quiet"]
    return main([*args, "--param", "min_per_bin=10", *extra])


def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_train_refuses_a_non_empty_out_before_any_work(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    # the sample does not exist: the --out check must come first
    assert _train(out, tmp_path / "no_such_sample.h5") == 2
    err = _one_line_error(capsys)
    assert "not empty; pass --overwrite" in err and "no_such_sample" not in err
    assert (out / "notes.txt").read_text() == "my notes"


def test_train_overwrite_refuses_foreign_files_and_keeps_them(tmp_path, sample_file, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert _train(out, tmp_path / "no_such_sample.h5", "--overwrite") == 2
    err = _one_line_error(capsys)
    assert "did not write (notes.txt)" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.filterwarnings("ignore::astroclustermass.exceptions.OutOfRangeWarning")
def test_train_overwrite_replaces_a_saved_model(tmp_path, sample_file, capsys):
    out = tmp_path / "model"
    out.mkdir()  # an empty directory needs no --overwrite
    assert _train(out, sample_file) == 0
    assert _train(out, sample_file) == 2
    assert "--overwrite" in _one_line_error(capsys)
    assert _train(out, sample_file, "--overwrite", "--param", "observable=n_gal") == 0
    loaded = MassEstimator.load(out)
    assert isinstance(loaded, PowerLawEstimator) and loaded.observable == "n_gal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_predict_checks_out_before_predicting(tmp_path, capsys):
    out = tmp_path / "p.ecsv"
    out.write_text("my table")
    args = ["predict", str(tmp_path / "no_model"), "--sample", "s.h5", "--out", str(out)]
    assert main(args) == 2
    err = _one_line_error(capsys)
    assert "p.ecsv exists; pass --overwrite" in err and "no_model" not in err
    assert out.read_text() == "my table"


def test_simulate_overwrite_keeps_foreign_files(tmp_path, capsys):
    out = tmp_path / "sim"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    args = ["simulate", "--n-clusters", "2", "--out", str(out), "--n-jobs", "1", "--quiet"]
    assert main(args) == 2
    assert "--overwrite" in _one_line_error(capsys)
    assert main([*args, "--overwrite"]) == 2
    assert "did not write (notes.txt)" in _one_line_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_messages_use_command_line_spelling(tmp_path, capsys):
    sim = tmp_path / "sim"
    assert main(["simulate", "--n-clusters", "2", "--out", str(sim), "--n-jobs", "1", "-q"]) == 0
    next((sim / "events").iterdir()).unlink()
    capsys.readouterr()
    build = ["build", str(sim), "--npix", "8", "--bands", "bolometric", "--no-dynamics"]
    assert main([*build, "--out", str(tmp_path / "s.h5"), "--n-jobs", "1", "-q"]) == 2
    err = _one_line_error(capsys)
    assert "--on-error skip" in err and "on_error=" not in err
    (tmp_path / "taken.h5").write_text("x")
    assert main([*build, "--out", str(tmp_path / "taken.h5"), "-q"]) == 2
    err = _one_line_error(capsys)
    assert "--overwrite" in err and "overwrite=True" not in err


@pytest.mark.filterwarnings("always::astroclustermass.exceptions.VersionMismatchWarning")
@pytest.mark.filterwarnings("ignore::astroclustermass.exceptions.OutOfRangeWarning")
def test_warnings_print_one_line_without_python_source(tmp_path, sample_file, capsys):
    from astroclustermass.estimators._persistence import _sha256

    model = tmp_path / "model"
    assert _train(model, sample_file) == 0
    config = json.loads((model / "config.json").read_text())
    config["package_version"] = "0.0.1"
    (model / "config.json").write_text(json.dumps(config))
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["sha256"]["config.json"] = _sha256(model / "config.json")
    (model / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    out = tmp_path / "p.ecsv"
    assert main(["predict", str(model), "--sample", str(sample_file), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "astroclustermass: warning:" in err and "saved by astroclustermass 0.0.1" in err
    assert "warnings.warn" not in err and ".py:" not in err
