"""The MassEstimator contract: parameters, fitting state, persistence without pickle."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator, check_is_fitted, clone
from astroclustermass.estimators.scaling import MultiPropertyEstimator, PowerLawEstimator
from astroclustermass.exceptions import (
    InputError,
    ModelFileError,
    NotFittedError,
    OutOfRangeWarning,
    VersionMismatchWarning,
)
from astroclustermass.testing import check_estimator, estimator_checks, make_tiny_sample


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(n=80, seed=11)


@pytest.fixture
def saved(sample, tmp_path):
    est = MultiPropertyEstimator(observables=("n_phot_500c", "n_gal"), min_per_bin=20).fit(sample)
    return est, est.save(tmp_path / "model")


def quiet_predict(est, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return est.predict(sample)


def test_parameter_validation_message(sample):
    with pytest.raises(InputError) as info:
        PowerLawEstimator(min_per_bin=0).fit(sample)
    assert str(info.value) == (
        "The 'min_per_bin' parameter of PowerLawEstimator must be an int in the range "
        "[2, inf). Got 0 instead."
    )
    with pytest.raises(InputError, match="'beta' parameter .* must be a str among .*'fit'.* or"):
        MultiPropertyEstimator(beta="none").fit(sample)


def test_not_fitted_error(sample):
    est = PowerLawEstimator()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.predict(sample)
    with pytest.raises(NotFittedError):
        est.save("never_written")
    with pytest.raises(NotFittedError):
        est.relation_table()
    err = NotFittedError("x")
    assert isinstance(err, ValueError) and isinstance(err, AttributeError)
    est.fit(sample)
    check_is_fitted(est)


def test_get_set_params_and_clone():
    est = PowerLawEstimator(observable="n_gal", beta=1.5)
    params = est.get_params()
    assert params == {
        "observable": "n_gal",
        "redshift_bins": "auto",
        "pivot_log10_mass": 14.0,
        "beta": 1.5,
        "min_per_bin": 30,
    }
    assert est.set_params(beta=0.0) is est and est.beta == 0.0
    with pytest.raises(
        InputError, match="'colour' is not a parameter.*valid parameters: observable"
    ):
        est.set_params(colour="red")
    other = clone(est)
    assert other is not est and other.get_params() == est.get_params()
    assert repr(est) == "PowerLawEstimator(observable='n_gal', beta=0.0)"


def _looks_pickled(data: bytes) -> bool:
    return len(data) > 1 and data[0] == 0x80 and data[1] in range(2, 6)


def test_saved_model_is_json_plus_safetensors_and_loads_without_pickle(saved, sample, monkeypatch):
    est, path = saved
    files = sorted(p.name for p in path.iterdir())
    assert files == ["arrays.safetensors", "config.json", "manifest.json"]
    for f in path.iterdir():
        assert not _looks_pickled(f.read_bytes()[:2]), f"{f.name} starts with a pickle opcode"
    config = json.loads((path / "config.json").read_text())
    assert config["estimator"] == "multi_property"
    assert config["params"]["observables"] == {"__tuple__": ["n_phot_500c", "n_gal"]}

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    loaded = MassEstimator.load(path)
    monkeypatch.undo()
    assert isinstance(loaded, MultiPropertyEstimator)
    a, b = quiet_predict(est, sample), quiet_predict(loaded, sample)
    np.testing.assert_array_equal(a["log10_m500c"], b["log10_m500c"])
    np.testing.assert_array_equal(a["sigma_log10_m500c"], b["sigma_log10_m500c"])
    assert loaded.training_info_["n_train"] == len(sample)


def test_tampered_arrays_file_is_refused(saved):
    _, path = saved
    data = bytearray((path / "arrays.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "arrays.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        MassEstimator.load(path)


def test_corrupt_or_missing_files_are_refused(saved, tmp_path):
    _, path = saved
    with pytest.raises(ModelFileError, match="not a saved astroclustermass model"):
        MassEstimator.load(tmp_path / "nothing_here")
    (path / "config.json").write_text("{broken")
    with pytest.raises(ModelFileError, match="config.json does not match the checksum"):
        MassEstimator.load(path)
    _reseal(path)  # a deliberate edit, with the manifest brought up to date
    with pytest.raises(ModelFileError, match="not valid model JSON"):
        MassEstimator.load(path)


def _reseal(path):
    """Record the current checksums in the manifest, as a deliberate editor would."""
    from astroclustermass.estimators._persistence import _sha256

    manifest = json.loads((path / "manifest.json").read_text())
    manifest["sha256"] = {name: _sha256(path / name) for name in manifest["sha256"]}
    (path / "manifest.json").write_text(json.dumps(manifest))


def _edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))
    _reseal(path)


def test_version_mismatch_warns(saved, sample):
    _, path = saved
    _edit_config(path, package_version="0.0.1")
    with pytest.warns(VersionMismatchWarning, match="saved by astroclustermass 0.0.1"):
        loaded = MassEstimator.load(path)
    assert len(quiet_predict(loaded, sample)) == len(sample)


def test_incompatible_format_or_unknown_estimator(saved, tmp_path):
    est, path = saved
    _edit_config(path, format_version=999)
    with pytest.raises(ModelFileError, match="format version 999"):
        MassEstimator.load(path)
    other = est.save(tmp_path / "other")
    _edit_config(other, estimator="no_such_estimator")
    with pytest.raises(ModelFileError, match="no installed plugin provides.*power_law"):
        MassEstimator.load(other)


def test_load_through_a_subclass_checks_the_type(saved):
    _, path = saved
    assert isinstance(MultiPropertyEstimator.load(path), MultiPropertyEstimator)
    with pytest.raises(ModelFileError, match="not a PowerLawEstimator"):
        PowerLawEstimator.load(path)


def test_saving_again_replaces_the_model_atomically(saved, sample):
    est, path = saved
    refit = PowerLawEstimator(observable="n_gal", min_per_bin=20).fit(sample)
    refit.save(path)
    assert isinstance(MassEstimator.load(path), PowerLawEstimator)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model"]  # no temporary leftovers


@pytest.mark.parametrize("name", ["power_law", "multi_property"])
def test_check_estimator_on_builtin_scaling_estimators(name):
    check_estimator(name)


def test_check_estimator_catches_a_broken_estimator():
    class Broken(PowerLawEstimator):
        def __init__(
            self,
            observable="n_phot_500c",
            redshift_bins="auto",
            pivot_log10_mass=14.0,
            beta="fit",
            min_per_bin=30,
        ):
            super().__init__(observable, redshift_bins, pivot_log10_mass, beta, min_per_bin)
            self.cache = {}  # not a parameter: violates the estimator contract

    with pytest.raises(AssertionError, match="check_no_attributes_set_in_init.*cache"):
        check_estimator(Broken())


@pytest.mark.parametrize(
    "check", [c for _, c in estimator_checks("power_law")], ids=lambda c: c.__name__
)
def test_estimator_checks_are_individually_runnable(check):
    check()


def test_config_values_round_trip_through_json(tmp_path):
    from astroclustermass.bands import get_bands
    from astroclustermass.estimators._persistence import from_jsonable, to_jsonable

    value = {
        "bands": get_bands("erosita_3"),
        "shape": (3, 4),
        "limits": [float("inf"), -1.5],
        "weights": np.arange(3.0),
        "checkpoint_dir": tmp_path / "ckpt",  # a Path is kept as its text
    }
    back = from_jsonable(json.loads(json.dumps(to_jsonable(value))))
    assert back["bands"] == value["bands"] and back["shape"] == (3, 4)
    assert back["limits"] == [float("inf"), -1.5]
    np.testing.assert_array_equal(back["weights"], value["weights"])
    assert back["checkpoint_dir"] == str(tmp_path / "ckpt")
    with pytest.raises(TypeError, match="cannot store"):
        to_jsonable({"f": object()})


def test_band_mismatch_has_one_message_wherever_it_is_found():
    """Sample look-up, estimator input check and CNN image access share one check."""
    from astroclustermass.estimators._cnn_base import sample_images
    from astroclustermass.exceptions import BandMismatchError
    from astroclustermass.testing import make_tiny_sample

    s = make_tiny_sample(n=8, bands=("bolometric",))
    messages = []
    for call in (
        lambda: s.images("erosita_3"),
        lambda: sample_images(s, "erosita_3"),
        lambda: MassEstimator.from_name("multiband_cnn", max_epochs=1).fit(s),
    ):
        with pytest.raises(BandMismatchError) as info:
            call()
        messages.append(str(info.value))
    tail = "has no images in the bands erosita_3 (0.5-1.2 keV, 1.2-2 keV, 2-7 keV); it has"
    assert all(tail in m and "Rebuild the sample" in m for m in messages), messages
    assert "the training sample of MultiBandCNN" in messages[2]


def test_torch_estimator_bands_are_fixed_at_fit():
    """``bands_`` is resolved once at fit; predict keeps using it after set_params."""
    from astroclustermass.bands import get_bands
    from astroclustermass.testing import make_tiny_sample

    s = make_tiny_sample(n=24, bands=("bolometric", "erosita_3"), npix=16)
    est = MassEstimator.from_name("single_band_cnn", max_epochs=1, batch_size=8)
    est.fit(s, progress=False)
    assert est.bands_ == get_bands("bolometric")
    before = est.predict(s)["log10_m500c"]
    est.set_params(bands="erosita_3")
    np.testing.assert_array_equal(est.predict(s)["log10_m500c"], before)


def _registered_names():
    from astroclustermass.plugins import estimator_registry

    return sorted(estimator_registry().describe())


@pytest.mark.parametrize("name", _registered_names())
@pytest.mark.parametrize("check", ["check_fit_refuses_bad_targets", "check_zero_epochs_refused"])
def test_every_estimator_refuses_bad_targets_and_zero_epochs(name, check):
    """Constant or NaN true masses and max_epochs=0 are refused by every registered estimator."""
    dict(estimator_checks(name))[check]()


def test_constant_target_message_names_the_column():
    est = PowerLawEstimator(observable="n_gal", min_per_bin=5)
    smp = make_tiny_sample(n=20, seed=4)
    smp.catalog["log10_m500c"] = np.full(len(smp), 14.5)
    with pytest.raises(InputError, match=r"'log10_m500c'\) are all 14.5 \(standard deviation 0"):
        est.fit(smp)


def test_trainer_refuses_zero_epochs():
    from astroclustermass.estimators.training import Trainer

    with pytest.raises(InputError, match="max_epochs must be >= 1"):
        Trainer(max_epochs=0, device="cpu")


def _every_registered_estimator() -> list[str]:
    from astroclustermass.plugins import estimator_registry

    return sorted(estimator_registry().names())


@pytest.mark.parametrize("name", _every_registered_estimator())
def test_every_registered_estimator_passes_the_contract(name):
    """check_estimator on every registered name, CNNs included (their ``_test_params``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        check_estimator(name)


def test_the_contract_catches_predict_with_side_effects():
    class Leaky(PowerLawEstimator):
        def _predict(self, sample):
            self.calls_ = getattr(self, "calls_", 0) + 1
            return super()._predict(sample)

    with pytest.raises(AssertionError, match="predict (changed|replaced) the"):
        check_estimator(Leaky())


def test_the_contract_catches_a_nondeterministic_fit():
    class Noisy(PowerLawEstimator):
        def _predict(self, sample):
            mu, sigma = super()._predict(sample)
            return mu + np.random.default_rng().normal(0, 0.1, len(mu)), sigma

    with pytest.raises(AssertionError, match="different predictions|subset"):
        check_estimator(Noisy())
