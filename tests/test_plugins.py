"""The plugin system: entry-point discovery, direct registration, failures, every hook.

The third-party plugin is the package in ``tests/plugin_pkg``. Instead of pip
installing it, the tests put it on ``sys.path`` and write the ``*.dist-info``
directory that an installation would create (``METADATA`` and
``entry_points.txt``) into a temporary directory that is also on
``sys.path``, so `importlib.metadata` discovers it exactly as an installed
distribution, and nothing outlives the test.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from astroclustermass import plugins
from astroclustermass.estimators import MassEstimator
from astroclustermass.evaluation import cross_validate
from astroclustermass.exceptions import InputError, PluginError, PluginWarning, UnknownNameError
from astroclustermass.plugins import (
    HookSpecs,
    Registry,
    attribution_registry,
    estimator_registry,
    hookimpl,
    list_plugins,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)
from astroclustermass.testing import check_estimator, make_tiny_sample

HERE = Path(__file__).parent
PLUGIN_PKG = HERE / "plugin_pkg"
DOCS = HERE.parent / "docs" / "plugins.rst"


def _write_dist(root: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[astroclustermass]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def clean_plugins(monkeypatch):
    """Forget discovered plugins before and after the test (and the toy modules)."""
    monkeypatch.delenv("ASTROCLUSTERMASS_NO_ENTRY_POINTS", raising=False)
    monkeypatch.delenv("ASTROCLUSTERMASS_BLOCK_PLUGINS", raising=False)
    reset_plugins()
    yield
    monkeypatch.undo()
    for mod in [m for m in sys.modules if m == "toy_plugin" or m.startswith("toy_plugin.")]:
        del sys.modules[mod]
    importlib.invalidate_caches()
    reset_plugins()


@pytest.fixture
def toy_installed(clean_plugins, tmp_path, monkeypatch):
    """tests/plugin_pkg made visible to importlib.metadata as distribution 'toy-plugin'."""
    monkeypatch.syspath_prepend(str(PLUGIN_PKG))
    _write_dist(tmp_path / "site", "toy-plugin", "0.1", {"toy": "toy_plugin.plugin"})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    reset_plugins()
    return tmp_path / "site"


@pytest.fixture(scope="module")
def sample():
    return make_tiny_sample(n=40, seed=5)


# ------------------------------------------------------------------ discovery
def test_third_party_plugin_is_discovered_by_entry_point(toy_installed, sample):
    assert "toy_mean" in MassEstimator.available()
    assert estimator_registry().entry("toy_mean").plugin == "toy"
    info = {p["name"]: p for p in list_plugins()}
    assert info["toy"]["version"] == "toy-plugin 0.1"
    assert info["toy"]["hooks"] == ["astroclustermass_register_estimators"]
    # trained and used by name, like a built-in
    est = MassEstimator.from_name("toy_mean", shift=0.1).fit(sample)
    pred = est.predict(sample)
    expected = np.mean(sample.catalog["log10_m500c"]) + 0.1
    np.testing.assert_allclose(pred["log10_m500c"], expected)
    assert pred.meta["estimator"] == "toy_mean"
    oof = cross_validate("toy_mean", sample, folds=4)
    assert len(oof) == len(sample)
    check_estimator("toy_mean")


def test_saved_plugin_model_loads_through_the_registry(toy_installed, sample, tmp_path):
    est = MassEstimator.from_name("toy_mean").fit(sample)
    est.save(tmp_path / "toy")
    loaded = MassEstimator.load(tmp_path / "toy")
    assert type(loaded).__name__ == "ToyMeanEstimator" and loaded.mean_ == est.mean_


def test_broken_plugin_warns_and_the_others_keep_working(toy_installed):
    _write_dist(toy_installed, "broken-plugin", "1.0", {"broken": "toy_plugin.does_not_exist"})
    importlib.invalidate_caches()
    reset_plugins()
    with pytest.warns(PluginWarning, match="'broken'.*failed to load"):
        names = estimator_registry().names()
    assert "toy_mean" in names and "power_law" in names
    status = {p["name"]: p["status"] for p in list_plugins()}
    assert status["broken"].startswith("failed: ModuleNotFoundError")


def test_plugins_can_be_blocked_by_environment(toy_installed, monkeypatch):
    monkeypatch.setenv("ASTROCLUSTERMASS_BLOCK_PLUGINS", "toy, other")
    reset_plugins()
    assert "toy_mean" not in estimator_registry()
    monkeypatch.setenv("ASTROCLUSTERMASS_BLOCK_PLUGINS", "")
    monkeypatch.setenv("ASTROCLUSTERMASS_NO_ENTRY_POINTS", "1")
    reset_plugins()
    assert "toy_mean" not in estimator_registry() and "power_law" in estimator_registry()


def test_direct_registration(clean_plugins, sample, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_PKG))
    toy = importlib.import_module("toy_plugin.plugin")
    name = register_plugin(toy, name="toy-direct")
    try:
        assert name == "toy-direct"
        assert estimator_registry().entry("toy_mean").plugin == "toy-direct"
        pred = MassEstimator.from_name("toy_mean").fit(sample).predict(sample)
        assert len(pred) == len(sample)
    finally:
        unregister_plugin("toy-direct")
    assert "toy_mean" not in estimator_registry()


def test_duplicate_names_are_refused(clean_plugins):
    class Dup:
        @hookimpl
        def astroclustermass_register_estimators(self, registry):
            registry.register("power_law", object)

    register_plugin(Dup(), name="dup")
    try:
        with pytest.raises(PluginError, match="already registered by 'builtin'"):
            estimator_registry()
    finally:
        unregister_plugin("dup")


# ------------------------------------------------------------------ unknown names
def test_unknown_name_lists_known_names_and_suggests(clean_plugins):
    with pytest.raises(UnknownNameError) as info:
        MassEstimator.from_name("power_lw")
    message = str(info.value)
    assert "Did you mean 'power_law'?" in message
    for known in ("multi_property", "power_law"):
        assert known in message
    with pytest.raises(UnknownNameError, match="Known estimators"):
        MassEstimator.from_name("completely_unknown")


def test_bad_hyper_parameters_name_the_valid_ones(clean_plugins):
    with pytest.raises(InputError, match="Valid parameters: observable, redshift_bins"):
        MassEstimator.from_name("power_law", colour="red")


# ------------------------------------------------------------------ every hook
def test_hook_astroclustermass_register_estimators(clean_plugins, sample):
    class Plugin:
        @hookimpl
        def astroclustermass_register_estimators(self, registry):
            assert isinstance(registry, Registry) and registry.kind == "estimator"
            registry.register(
                "lazy_toy", "toy_plugin.plugin:ToyMeanEstimator", description="lazily imported"
            )

    register_plugin(Plugin(), name="hook-est")
    try:
        assert estimator_registry().describe()["lazy_toy"] == "lazily imported"
        sys.path.insert(0, str(PLUGIN_PKG))
        try:
            cls = estimator_registry().get("lazy_toy")
        finally:
            sys.path.remove(str(PLUGIN_PKG))
        assert cls.__name__ == "ToyMeanEstimator"
    finally:
        unregister_plugin("hook-est")


def test_hook_astroclustermass_register_attributions(clean_plugins):
    class Saliencyish:
        """A stand-in attribution method."""

    plugin = types.SimpleNamespace()

    @hookimpl
    def astroclustermass_register_attributions(registry):
        assert isinstance(registry, Registry) and registry.kind == "attribution"
        registry.register("toy_attr", Saliencyish, aliases=("toy_alias",))

    plugin.astroclustermass_register_attributions = astroclustermass_register_attributions
    register_plugin(plugin, name="hook-attr")
    try:
        reg = attribution_registry()
        assert reg.get("toy_attr") is Saliencyish and reg.get("toy_alias") is Saliencyish
        assert reg.describe()["toy_attr"] == "A stand-in attribution method."
    finally:
        unregister_plugin("hook-attr")
    assert "toy_attr" not in attribution_registry()


def _hook_names() -> list[str]:
    return [n for n, _ in inspect.getmembers(HookSpecs) if n.startswith("astroclustermass_")]


def test_every_hookspec_has_a_test():
    assert _hook_names(), "no hooks found"
    missing = [h for h in _hook_names() if f"test_hook_{h}" not in globals()]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_every_hookspec_is_documented():
    text = DOCS.read_text()
    for hook in _hook_names():
        assert re.search(rf"^{hook}\n[-~^=]+$", text, re.MULTILINE), f"{hook} has no section"
    assert "[project.entry-points.astroclustermass]" in text
    assert "check_estimator" in text


def test_plugins_module_documents_the_entry_point_group():
    assert "[project.entry-points.astroclustermass]" in plugins.__doc__
