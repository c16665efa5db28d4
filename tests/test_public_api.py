"""Public names keep their import paths across the package's reorganisation."""

from __future__ import annotations

import importlib

import pytest

import astroclustermass

# each public module's ``__all__`` as of the subpackage move (0.x, 2026-12)
PUBLIC = {
    "events": [
        "EventList",
        "read_events",
        "SOURCE_UNKNOWN",
        "SOURCE_ICM",
        "SOURCE_AGN",
        "SOURCE_BACKGROUND",
        "SOURCE_LABELS",
        "FORMATS",
    ],
    "images": [
        "BandImage",
        "bin_events",
        "bin_many",
        "binning_backend",
        "assign_bands",
        "image_edges",
        "source_masks",
        "RedshiftNormalizer",
        "KrippendorfPipeline",
        "log_scale",
        "inverse_log_scale",
        "core_excision",
    ],
    "sample": ["ClusterSample", "SOURCES"],
    "dynamics": [
        "DynamicalCube",
        "gapper_sigma",
        "dynamical_observables",
        "galaxy_phase_space",
        "MIN_GALAXIES",
        "SPEED_OF_LIGHT_KMS",
    ],
    "plugins": [
        "NAME",
        "hookimpl",
        "hookspec",
        "Registry",
        "RegistryEntry",
        "get_plugin_manager",
        "estimator_registry",
        "attribution_registry",
        "register_plugin",
        "unregister_plugin",
        "list_plugins",
        "reset_plugins",
    ],
    "transforms": [
        "RedshiftNormalizer",
        "log_scale",
        "inverse_log_scale",
        "KrippendorfPipeline",
        "core_excision",
        "transform_from_dict",
    ],
    "bands": ["EnergyBands", "get_bands", "BAND_PRESETS", "available_bands"],
    "cosmology": [
        "default_cosmology",
        "get_cosmology",
        "cosmology_to_dict",
        "cosmology_from_dict",
        "comoving_distance_h",
        "transverse_comoving_distance_h",
        "efunc",
        "RHO_CRIT0",
        "r500c_comoving",
    ],
    "exceptions": [
        "AstroClusterMassError",
        "InputError",
        "FileFormatError",
        "MissingColumnError",
        "EmptyInputError",
        "UnitError",
        "BandMismatchError",
        "IncompatibleSampleError",
        "NotFittedError",
        "UnknownNameError",
        "ModelFileError",
        "PluginError",
        "AstroClusterMassWarning",
        "OutOfRangeWarning",
        "PluginWarning",
        "VersionMismatchWarning",
        "OutputExistsError",
        "RecoveryWarning",
    ],
    "testing": ["check_estimator", "estimator_checks", "make_tiny_sample", "check_attribution"],
    "estimators": [
        "MassEstimator",
        "MassPrediction",
        "InputSpec",
        "clone",
        "check_is_fitted",
        "PowerLawEstimator",
        "MultiPropertyEstimator",
        "search_combinations",
        "scatter_table",
        "residual_correlation",
        "ScalingRelation",
        "available_relations",
        "convert_mass_definition",
        "publication_table",
        "pretrained_models",
        "model_card",
        "load_pretrained",
    ],
    "attribution": [
        "Attribution",
        "AttributionMap",
        "GradientAttribution",
        "Saliency",
        "IntegratedGradients",
        "AnalyticProxySaliency",
        "radial_profile",
        "plot_radial_profile",
        "mask_saliency",
        "band_summary",
        "r500c_from_mass",
        "channel_dynamics",
        "TrainingDynamics",
    ],
    "evaluation": [
        "cross_validate",
        "residuals",
        "dex_to_percent",
        "scatter",
        "bias",
        "robust_scatter",
        "robust_bias",
        "coverage",
        "pit_values",
        "pit_histogram",
        "has_per_cluster_sigma",
        "summarize",
        "binned_statistics",
        "mass_bin_bias",
        "compare",
        "to_markdown",
        "plot_predictions",
        "plot_residual_correlation",
        "plot_coverage",
        "plot_mass_bin_bias",
        "write_report",
    ],
    "simulate": [
        "MockUniverse",
        "MockConfig",
        "EXPOSURE_PRESETS",
        "SNAPSHOT_REDSHIFTS",
        "resolve_exposure",
        "ClusterEvents",
        "simulate_cluster_events",
        "calibration_report",
        "calibration_tables",
        "measure_observables",
        "PAPER_TABLE1",
        "PAPER_TABLE3",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_import_from_their_module(module):
    mod = importlib.import_module(f"astroclustermass.{module}")
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"astroclustermass.{module} lost {missing}"
    assert set(PUBLIC[module]) <= set(mod.__all__)


@pytest.mark.parametrize("name", sorted(astroclustermass._LAZY))
def test_top_level_names_are_the_module_objects(name):
    module = importlib.import_module(f"astroclustermass.{astroclustermass._LAZY[name]}")
    assert getattr(astroclustermass, name) is getattr(module, name)
    assert name in PUBLIC[astroclustermass._LAZY[name]]


def test_from_import_of_every_public_name():
    for module, names in PUBLIC.items():
        ns: dict = {}
        exec(f"from astroclustermass.{module} import {', '.join(names)}", ns)
        mod = importlib.import_module(f"astroclustermass.{module}")
        assert all(ns[n] is getattr(mod, n) for n in names)
