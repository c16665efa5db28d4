"""Saved models are tamper-evident and a save never leaves the model missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.estimators.scaling import MultiPropertyEstimator, PowerLawEstimator
from astroclustermass.exceptions import (
    ModelFileError,
    OutOfRangeWarning,
    OutputExistsError,
    RecoveryWarning,
    VersionMismatchWarning,
)
from astroclustermass.testing import make_tiny_sample


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(n=80, seed=11)


@pytest.fixture(scope="module")
def two_models(sample):
    a = MultiPropertyEstimator(observables=("n_phot_500c", "n_gal"), min_per_bin=20).fit(sample)
    b = PowerLawEstimator(observable="n_gal", min_per_bin=20).fit(sample)
    return a, b


def _masses(est, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return np.asarray(est.predict(sample)["log10_m500c"])


def _edit_json(path, **changes):
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_an_edited_config_is_refused_naming_the_file(two_models, tmp_path):
    a, _ = two_models
    path = a.save(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    config["params"]["min_per_bin"] = 21  # any edit: a shifted target mean, a flipped flag
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"config\.json does not match the checksum"):
        MassEstimator.load(path)


def test_a_missing_or_broken_manifest_is_refused(two_models, tmp_path):
    a, _ = two_models
    path = a.save(tmp_path / "model")
    (path / "manifest.json").write_text("{}")
    with pytest.raises(ModelFileError, match=r"manifest\.json is not a valid model manifest"):
        MassEstimator.load(path)
    (path / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match=r"manifest\.json is missing"):
        MassEstimator.load(path)


def test_a_format_1_model_still_loads_with_a_warning(two_models, sample, tmp_path):
    from astroclustermass.estimators._persistence import _sha256

    a, _ = two_models
    path = a.save(tmp_path / "model")
    (path / "manifest.json").unlink()
    _edit_json(
        path / "config.json", format_version=1, arrays_sha256=_sha256(path / "arrays.safetensors")
    )
    with pytest.warns(VersionMismatchWarning, match="format 1.*save it again"):
        loaded = MassEstimator.load(path)
    np.testing.assert_array_equal(_masses(loaded, sample), _masses(a, sample))


def test_save_refuses_a_directory_holding_foreign_files(two_models, tmp_path):
    a, b = two_models
    path = a.save(tmp_path / "model")
    (path / "notes.txt").write_text("my notes")
    with pytest.raises(OutputExistsError, match=r"1 file\(s\) that astroclustermass did not write"):
        b.save(path)
    assert (path / "notes.txt").read_text() == "my notes"
    assert isinstance(MassEstimator.load(path), MultiPropertyEstimator)


_INTERRUPTED_SAVE = """
import os, sys
from astroclustermass._utils import _atomic
from astroclustermass.estimators import MassEstimator

new, target, where = sys.argv[1:4]
est = MassEstimator.load(new)
calls = []
real_rename = _atomic._rename

def rename_then_die(src, dst):
    calls.append(dst)
    if len(calls) == 2:  # killed between the two renames of a replacing save
        os._exit(17)
    real_rename(src, dst)

if where == "between_renames":
    _atomic._exchange = lambda a, b: False  # a file system without RENAME_EXCHANGE
    _atomic._rename = rename_then_die
else:  # killed just before the single atomic switch
    _atomic._exchange = lambda a, b: os._exit(17)
est.save(target)
"""


def _interrupted_save(new, target, where):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = textwrap.dedent(_INTERRUPTED_SAVE)
    cmd = [sys.executable, "-c", code, str(new), str(target), where]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_a_save_killed_between_renames_leaves_the_old_model_loadable(two_models, sample, tmp_path):
    a, b = two_models
    target = a.save(tmp_path / "model")
    b.save(tmp_path / "new")
    run = _interrupted_save(tmp_path / "new", target, "between_renames")
    assert run.returncode == 17, run.stderr
    assert not target.exists()  # the window the issue describes
    assert [p.name.startswith(".model.old-") for p in tmp_path.iterdir()].count(True) == 1
    with pytest.warns(RecoveryWarning, match="interrupted save"):
        loaded = MassEstimator.load(target)
    assert isinstance(loaded, MultiPropertyEstimator)  # complete and verified: the old model
    np.testing.assert_array_equal(_masses(loaded, sample), _masses(a, sample))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".model.")]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")  # the dead writer's new tree
    b.save(target)  # the next save removes what the killed one left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "new"]
    assert isinstance(MassEstimator.load(target), PowerLawEstimator)


def test_a_save_killed_before_the_switch_keeps_the_old_model(two_models, sample, tmp_path):
    a, b = two_models
    target = a.save(tmp_path / "model")
    b.save(tmp_path / "new")
    run = _interrupted_save(tmp_path / "new", target, "before_switch")
    assert run.returncode == 17, run.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".model.")]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    np.testing.assert_array_equal(_masses(MassEstimator.load(target), sample), _masses(a, sample))
    b.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "new"]


def test_replacing_save_switches_in_one_step_where_the_kernel_can(two_models, tmp_path):
    from astroclustermass._utils import _atomic

    a, b = two_models
    a.save(tmp_path / "m1")
    (tmp_path / "m2").mkdir()
    (tmp_path / "m2" / "x").write_text("1")
    if not _atomic._exchange(tmp_path / "m1", tmp_path / "m2"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (tmp_path / "m1" / "x").read_text() == "1"
    assert isinstance(MassEstimator.load(tmp_path / "m2"), MultiPropertyEstimator)
