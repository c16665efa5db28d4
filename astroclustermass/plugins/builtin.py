"""The built-in estimators and attribution methods, registered through the plugin hooks.

Targets are ``"module:Class"`` strings so that this L2 module imports nothing
from the estimator or attribution layers; each is imported on first use.
"""

from __future__ import annotations

from .manager import Registry, hookimpl

_EST = "astroclustermass.estimators"

BUILTIN_ESTIMATORS: dict[str, tuple[str, str]] = {
    "power_law": (
        f"{_EST}.scaling:PowerLawEstimator",
        "one scalar observable, ln S = pi + alpha mu per redshift bin, inverted with the "
        "mass-function slope (Ho et al. 2023 Eq. 11)",
    ),
    "multi_property": (
        f"{_EST}.scaling:MultiPropertyEstimator",
        "several scalar observables with correlated scatter (Evrard et al. 2014; Ho et al. "
        "2023 Eq. 3-7)",
    ),
    "single_band_cnn": (
        f"{_EST}.cnn:SingleBandCNN",
        "CNN on the 0.5-10 keV photon map (Ho et al. 2023 Sec. 4.1)",
    ),
    "multiband_cnn": (
        f"{_EST}.cnn:MultiBandCNN",
        "CNN on multi-band photon maps, eROSITA 3 bands by default (Ho et al. 2023 Sec. 5.1)",
    ),
    "gap_cnn": (
        f"{_EST}.cnn:GAPCNN",
        "small CNN with global average pooling on energy-band maps (Lovig 2024)",
    ),
    "joint_cnn": (
        f"{_EST}.joint:JointCNN",
        "joint 2D X-ray + 3D galaxy phase-space CNN (Ho et al. 2023 Sec. 5.2)",
    ),
    "nll_ensemble": (
        f"{_EST}.ensemble:NLLEnsemble",
        "Gaussian-likelihood deep ensemble predicting mass and sigma (Krippendorf et al. 2023)",
    ),
    "deep_ensemble": (
        f"{_EST}.deep_ensemble:DeepEnsemble",
        "deep ensemble of any registered estimator, members with their own seeds, combined "
        "with Krippendorf et al. (2023) Eq. 2-3",
    ),
    "conformal": (
        f"{_EST}.conformal:ConformalEstimator",
        "conformal prediction intervals (split, CV+, jackknife+; normalised, Mondrian) around "
        "any registered estimator",
    ),
}

_ATTR = "astroclustermass.attribution"

BUILTIN_ATTRIBUTIONS: dict[str, tuple[str, str]] = {
    "saliency": (
        f"{_ATTR}.saliency:Saliency",
        "vanilla-gradient saliency |d log10 M / d n| of image CNNs, per photon count "
        "(Ho et al. 2023 Eq. 10)",
    ),
    "input_x_gradient": (
        f"{_ATTR}.input_x_gradient:InputXGradient",
        "input x gradient n d log10 M / d n, in dex per pixel (Shrikumar et al. 2016)",
    ),
    "integrated_gradients": (
        f"{_ATTR}.integrated_gradients:IntegratedGradients",
        "integrated gradients from an empty-sky, training-mean or blurred baseline, with the "
        "completeness gap (Sundararajan et al. 2017)",
    ),
    "smoothgrad": (
        f"{_ATTR}.smoothgrad:SmoothGrad",
        "any gradient method averaged over Poisson resamplings of the photon counts "
        "(Smilkov et al. 2017)",
    ),
    "analytic_proxy": (
        f"{_ATTR}.analytic:AnalyticProxySaliency",
        "exact saliency of the power_law N_phot,500c proxy (Ho et al. 2023 Eq. 13, corrected)",
    ),
}


@hookimpl
def astroclustermass_register_estimators(registry: Registry) -> None:
    """Register the built-in mass estimators."""
    for name, (target, description) in BUILTIN_ESTIMATORS.items():
        registry.register(name, target, description=description)


@hookimpl
def astroclustermass_register_attributions(registry: Registry) -> None:
    """Register the built-in attribution methods."""
    for name, (target, description) in BUILTIN_ATTRIBUTIONS.items():
        registry.register(name, target, description=description)
