"""Conformance checks for mass estimators, for astroclustermass and for plugin authors.

`check_estimator` runs every check on one estimator; `estimator_checks`
yields them one by one as ``(name, check)`` so a test suite can parametrize
over them (like scikit-learn's ``parametrize_with_checks``). The checks need
only a tiny sample, built by `make_tiny_sample` from random counts and
observables that grow with mass, so they run in seconds for cheap estimators.

An estimator class can set ``_test_params`` (a dict of hyper-parameters)
to make the checks fast, e.g. ``{"max_epochs": 1}`` for a network; it is
applied when `check_estimator` is given a registered *name*. Pass a
configured instance to choose the parameters yourself.

`check_attribution`, the attribution methods' checks, lives in
`astroclustermass.attribution.checks` and is importable from here too.

Examples
--------
>>> from astroclustermass.testing import check_estimator
>>> check_estimator("power_law")
>>> [name for name, _ in estimator_checks("multi_property")][:3]
['check_input_spec', 'check_no_attributes_set_in_init', 'check_get_set_params']
"""

from __future__ import annotations

import contextlib
import inspect
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from .attribution.checks import check_attribution  # the attribution methods' own checks
from .bands import EnergyBands, get_bands
from .estimators import InputSpec, MassEstimator, MassPrediction, clone
from .exceptions import (
    BandMismatchError,
    InputError,
    NotFittedError,
    OutOfRangeWarning,
    VersionMismatchWarning,
)

__all__ = ["check_estimator", "estimator_checks", "make_tiny_sample", "check_attribution"]

_STANDARD_OBSERVABLES = ("n_phot", "n_phot_500c", "n_gal", "sigma_v", "n_gal_cylinder")
_PRESETS = ("bolometric", "erosita_3", "lovig_4", "krippendorf_10", "all_energies")
_PREDICTION_COLUMNS = ("id", "redshift", "log10_m500c", "sigma_log10_m500c", "log10_m500c_true")


def make_tiny_sample(
    n: int = 64,
    bands: tuple | list = ("bolometric",),
    cubes: bool = False,
    npix: int = 32,
    redshifts: tuple[float, ...] = (0.1, 0.2),
    extra_observables: tuple[str, ...] = (),
    truth: bool = True,
    seed: int = 0,
):
    """A small random `~astroclustermass.ClusterSample` whose inputs grow with mass.

    Parameters
    ----------
    n : int
        Number of clusters.
    bands : sequence of str or `~astroclustermass.bands.EnergyBands`
        One image set per entry (Poisson counts of a Gaussian blob whose
        amplitude scales with mass).
    cubes : bool
        Add (n, npix/2, npix/2, npix/2) dynamical cubes that sum to 1.
    npix : int
        Image side in pixels.
    redshifts : tuple of float
        Snapshot redshifts, assigned in turn.
    extra_observables : tuple of str
        More observable columns to create (log-normal, growing with mass).
    truth : bool
        Include the true masses ``log10_m500c``.
    seed : int
        Random seed.

    Returns
    -------
    sample : `~astroclustermass.ClusterSample`

    Examples
    --------
    >>> s = make_tiny_sample(n=8, bands=("erosita_3",), npix=16)
    >>> len(s), s.images("erosita_3").shape, "n_phot_500c" in s.observables.colnames
    (8, (8, 3, 16, 16), True)
    """
    from .sample import ClusterSample

    rng = np.random.default_rng(seed)
    logm = rng.uniform(13.5, 15.0, n)
    x = logm - 14.0  # log10(M / 1e14)

    def lognormal(log10_norm: float, slope: float, scatter_dex: float) -> np.ndarray:
        return 10.0 ** (log10_norm + slope * x + rng.normal(0.0, scatter_dex, n))

    cat = Table()
    cat["id"] = np.arange(1, n + 1, dtype=np.int64)
    cat["redshift"] = np.resize(np.asarray(redshifts, dtype=float), n)
    cat["ra"] = rng.uniform(0.0, 360.0, n)
    cat["dec"] = rng.uniform(-60.0, 60.0, n)
    if truth:
        cat["log10_m500c"] = logm
    cat["r500c"] = 0.7 * 10.0 ** (x / 3.0)
    for name in ("x", "y", "z"):
        cat[name] = rng.uniform(0.0, 100.0, n)
    cat.meta["box_size"] = 100.0
    cat["exposure"] = np.full(n, 1600.0)
    cat["T"] = lognormal(0.5, 0.6, 0.05)
    cat["L_X"] = lognormal(0.0, 1.3, 0.1)
    cat["M_gas"] = lognormal(13.0, 1.1, 0.04)
    cat["M_star"] = lognormal(12.0, 0.8, 0.05)
    cat["sigma_v_true"] = lognormal(2.7, 0.33, 0.06)
    obs = Table()
    obs["n_phot"] = np.round(lognormal(3.3, 1.0, 0.15)) + 1
    obs["n_phot_500c"] = np.round(lognormal(3.0, 1.0, 0.12)) + 1
    obs["n_gal"] = np.round(lognormal(1.5, 0.9, 0.15)) + 1
    obs["sigma_v"] = lognormal(2.7, 0.3, 0.12)
    obs["n_gal_cylinder"] = obs["n_gal"] + np.round(lognormal(1.0, 0.2, 0.1))
    for name in extra_observables:
        if name not in obs.colnames and name not in cat.colnames:
            obs[name] = lognormal(1.0, 1.0, 0.1)

    yy, xx = np.mgrid[:npix, :npix] - (npix - 1) / 2.0
    blob = np.exp(-(xx**2 + yy**2) / (2.0 * (npix / 8.0) ** 2))
    amplitude = 3.0 * 10.0 ** (0.8 * x)
    images, band_sets = {}, {}
    for spec in bands:
        b = get_bands(spec)
        lam = amplitude[:, None, None, None] * blob[None, None] * np.ones((1, b.n_bands, 1, 1))
        images[b.name] = rng.poisson(lam + 0.05).astype(np.int32)
        band_sets[b.name] = b
    if not images:  # a ClusterSample needs one image set even for scalar estimators
        images["bolometric"] = rng.poisson(0.1, (n, 1, npix, npix)).astype(np.int32)
    cube_arr = None
    if cubes:
        m = max(npix // 2, 2)
        cube_arr = rng.random((n, m, m, m)).astype(np.float32) * (1 + x[:, None, None, None])
        cube_arr /= cube_arr.sum(axis=(1, 2, 3), keepdims=True)
    return ClusterSample.from_arrays(
        cat, images=images, band_sets=band_sets, cubes=cube_arr, observables=obs, npix=npix
    )


def _resolve(estimator: MassEstimator | str) -> MassEstimator:
    if isinstance(estimator, str):
        from .plugins import estimator_registry

        cls = estimator_registry().get(estimator)
        return MassEstimator.from_name(estimator, **dict(getattr(cls, "_test_params", {})))
    if not isinstance(estimator, MassEstimator):
        raise InputError(
            f"expected a MassEstimator instance or a registered name; got {estimator!r}"
        )
    return estimator


def _sample_for(est: MassEstimator, **kwargs: Any):
    spec = est.input_spec()
    known = set(_STANDARD_OBSERVABLES) | {"T", "L_X", "M_gas", "M_star", "sigma_v_true"}
    extra = tuple(c for c in spec["observables"] if c not in known)
    return make_tiny_sample(
        bands=kwargs.pop("bands", tuple(spec["bands"])),
        cubes=spec["cubes"],
        extra_observables=extra,
        **kwargs,
    )


def _other_bands(needed: Any) -> str:
    """A band preset none of the ``needed`` band sets equals (for band-mismatch checks)."""
    return next(p for p in _PRESETS if all(get_bands(p) != b for b in needed))


def _predictions_equal(a: MassPrediction, b: MassPrediction) -> bool:
    """Equal to 1e-5 dex (float32 networks may differ in the last bits between batch sizes)."""
    for col in ("log10_m500c", "sigma_log10_m500c"):
        x, y = np.asarray(a[col], float), np.asarray(b[col], float)
        if not np.allclose(x, y, rtol=0.0, atol=1e-5, equal_nan=True):
            return False
    return True


def estimator_checks(
    estimator: MassEstimator | str, sample: Any = None
) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(check_name, check)`` pairs; each check takes no argument and raises on failure.

    Parameters
    ----------
    estimator : `~astroclustermass.estimators.MassEstimator` or str
        An (unfitted) estimator or a registered name.
    sample : `~astroclustermass.ClusterSample`, optional
        Training and prediction data; by default `make_tiny_sample` with the
        bands, cubes and observables of the estimator's `input_spec`.

    Examples
    --------
    >>> for name, check in estimator_checks("power_law"):
    ...     check()
    """
    est = _resolve(estimator)
    state: dict[str, Any] = {}

    def get_sample():
        if "sample" not in state:
            state["sample"] = sample if sample is not None else _sample_for(est)
        return state["sample"]

    def fitted() -> MassEstimator:
        if "fitted" not in state:
            state["fitted"] = clone(est).fit(get_sample(), progress=False)
            state["prediction"] = state["fitted"].predict(get_sample(), progress=False)
        return state["fitted"]

    def check_input_spec() -> None:
        assert isinstance(est.name, str) and est.name.isidentifier(), (
            f"{type(est).__name__}.name must be the registered name (an identifier); "
            f"got {est.name!r}"
        )
        spec = est.input_spec()
        assert isinstance(spec, InputSpec), f"input_spec() returned {type(spec).__name__}"
        assert all(isinstance(b, EnergyBands) for b in spec["bands"])

    def check_no_attributes_set_in_init() -> None:
        params = est.get_params()
        new = type(est)(**params)
        extra = set(vars(new)) - set(params)
        assert not extra, f"__init__ sets attributes that are not parameters: {sorted(extra)}"
        missing = set(params) - set(vars(new))
        assert not missing, f"__init__ does not store the parameters {sorted(missing)}"
        for key, value in params.items():
            assert getattr(new, key) is value, f"__init__ modifies the parameter {key!r}"

    def check_get_set_params() -> None:
        names = [p for p in inspect.signature(type(est).__init__).parameters if p != "self"]
        params = est.get_params()
        assert list(params) == names, f"get_params() keys {list(params)} != __init__ {names}"
        other = clone(est)
        assert other.set_params(**params) is other, "set_params must return self"
        assert other.get_params() == params
        try:
            other.set_params(not_a_parameter_of_this_estimator=1)
        except InputError:
            pass
        else:
            raise AssertionError("set_params accepted an unknown parameter")

    def check_clone() -> None:
        other = clone(fitted())
        assert other is not state["fitted"] and type(other) is type(est)
        assert other.get_params() == est.get_params()
        assert not getattr(other, "is_fitted_", False), "a clone must be unfitted"

    def check_predict_before_fit() -> None:
        try:
            clone(est).predict(get_sample())
        except NotFittedError:
            return
        raise AssertionError("predict on an unfitted estimator must raise NotFittedError")

    def check_fit_returns_self() -> None:
        other = clone(est)
        before = set(vars(other))
        params = other.get_params()
        assert other.fit(get_sample(), progress=False) is other, "fit must return self"
        learned = [k for k in set(vars(other)) - before if not k.startswith("_")]
        bad = [k for k in learned if not k.endswith("_")]
        assert not bad, f"fitted attributes must end with '_': {sorted(bad)}"
        assert other.get_params().keys() == params.keys()
        for key, value in params.items():
            assert other.get_params()[key] is value, f"fit changed the parameter {key!r}"

    def check_predict_output() -> None:
        fitted()
        pred, smp = state["prediction"], get_sample()
        assert isinstance(pred, MassPrediction), f"predict returned {type(pred).__name__}"
        assert len(pred) == len(smp), f"{len(pred)} predictions for {len(smp)} clusters"
        missing = [c for c in _PREDICTION_COLUMNS if c not in pred.colnames]
        assert not missing, f"prediction lacks columns {missing}"
        assert np.array_equal(np.asarray(pred["id"]), np.asarray(smp.catalog["id"])), (
            "predictions must be in the sample's order"
        )
        mu = np.asarray(pred["log10_m500c"], float)
        assert np.all(np.isfinite(mu)), "predicted masses must be finite"
        assert np.all((mu > 10) & (mu < 18)), "predicted log10 masses are implausible"
        sig = np.asarray(pred["sigma_log10_m500c"], float)
        assert np.all(np.isnan(sig) | (sig >= 0)), "sigma must be >= 0 (or NaN when unknown)"
        if est.provides_sigma:  # may depend on the parameters (a CNN with loss='nll')
            assert np.all(np.isfinite(sig)), "provides_sigma is True but sigma is not finite"

    def check_predict_subset_consistent() -> None:
        model = fitted()
        smp = get_sample()
        part = model.predict(smp[np.arange(len(smp) // 2)], progress=False)
        assert _predictions_equal(part, state["prediction"][: len(smp) // 2]), (
            "predicting a subset gives other values than predicting the whole sample"
        )

    def check_save_load_roundtrip() -> None:
        model = fitted()
        with tempfile.TemporaryDirectory() as tmp, _registered(type(est)):
            path = Path(tmp) / "model"
            model.save(path)
            names = sorted(p.name for p in path.iterdir())
            odd = [n for n in names if not n.endswith((".json", ".safetensors"))]
            assert not odd, f"saved files other than JSON/safetensors: {odd}"
            loaded = MassEstimator.load(path)
        assert type(loaded) is type(est)
        assert loaded.get_params() == model.get_params()
        again = loaded.predict(get_sample(), progress=False)
        assert _predictions_equal(again, state["prediction"]), "save/load changes predictions"

    def check_fit_requires_truth() -> None:
        no_truth = _sample_for(est, n=16, truth=False, seed=1)
        try:
            clone(est).fit(no_truth, progress=False)
        except InputError:
            return
        raise AssertionError("fit without 'log10_m500c' must raise InputError")

    def check_fit_refuses_bad_targets() -> None:
        for what, values in (("constant", 14.2), ("NaN", None)):
            bad = _sample_for(est, n=16, seed=3)
            target = np.asarray(bad.catalog["log10_m500c"], dtype=float).copy()
            if values is None:
                target[5] = np.nan
            else:
                target[:] = values
            bad.catalog["log10_m500c"] = target
            try:
                clone(est).fit(bad, progress=False)
            except InputError as err:
                if values is None:
                    cid = str(np.asarray(bad.catalog["id"])[5])
                    assert "log10_m500c" in str(err) and cid in str(err), (
                        f"the NaN-target error must name the column and cluster id {cid}: {err}"
                    )
                continue
            raise AssertionError(f"fit on {what} true masses must raise InputError")

    def check_zero_epochs_refused() -> None:
        if "max_epochs" not in est.get_params():
            return
        try:
            clone(est).set_params(max_epochs=0).fit(get_sample(), progress=False)
        except InputError:
            return
        raise AssertionError("max_epochs=0 must raise InputError (an untrained network)")

    def check_predict_leaves_estimator_unchanged() -> None:
        model = fitted()
        before = dict(vars(model))
        snapshot = {
            k: np.array(v, copy=True) for k, v in before.items() if isinstance(v, np.ndarray)
        }
        model.predict(get_sample(), progress=False)
        after = vars(model)
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        assert not added and not removed, (
            f"predict changed the estimator's attributes (added {added}, removed {removed})"
        )
        replaced = [k for k in before if after[k] is not before[k]]
        assert not replaced, f"predict replaced the attributes {replaced}"
        changed = [k for k, v in snapshot.items() if not np.array_equal(after[k], v)]
        assert not changed, f"predict modified the arrays {changed}"

    def check_fit_is_deterministic() -> None:
        fitted()
        again = clone(est).fit(get_sample(), progress=False).predict(get_sample(), progress=False)
        assert _predictions_equal(again, state["prediction"]), (
            "two fits with the same parameters (and seed) give different predictions"
        )

    def check_band_mismatch() -> None:
        needed = est.input_spec()["bands"]
        if not needed:
            return
        other = _other_bands(needed)
        wrong = _sample_for(est, n=8, bands=(other,), seed=2)
        try:
            fitted().predict(wrong, progress=False)
        except BandMismatchError:
            return
        raise AssertionError(f"predict on {other!r} images must raise BandMismatchError")

    checks = [
        check_input_spec,
        check_no_attributes_set_in_init,
        check_get_set_params,
        check_predict_before_fit,
        check_fit_returns_self,
        check_predict_output,
        check_predict_subset_consistent,
        check_clone,
        check_predict_leaves_estimator_unchanged,
        check_fit_is_deterministic,
        check_save_load_roundtrip,
        check_fit_requires_truth,
        check_fit_refuses_bad_targets,
        check_zero_epochs_refused,
        check_band_mismatch,
    ]
    for check in checks:
        yield check.__name__, _quiet(check)


@contextlib.contextmanager
def _registered(cls: type) -> Iterator[None]:
    """Register ``cls`` under its name for the duration (if it is not registered yet)."""
    from .plugins import estimator_registry, hookimpl, register_plugin, unregister_plugin

    registry = estimator_registry()
    if cls.name in registry:
        other = registry.get(cls.name)
        assert other is cls, (
            f"the name {cls.name!r} of {cls.__name__} is registered to {other.__name__}; "
            "saved models would load as the wrong class"
        )
        yield
        return

    @hookimpl
    def astroclustermass_register_estimators(registry: Any) -> None:
        registry.register(cls.name, cls)

    plugin = types.SimpleNamespace(
        astroclustermass_register_estimators=astroclustermass_register_estimators
    )
    key = register_plugin(plugin, name=f"check_estimator-{cls.__name__}")
    try:
        yield
    finally:
        unregister_plugin(key)


def _quiet(check: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutOfRangeWarning)
            warnings.simplefilter("ignore", VersionMismatchWarning)
            check()

    run.__name__ = check.__name__
    return run


def check_estimator(estimator: MassEstimator | str, sample: Any = None) -> None:
    """Run every conformance check on an estimator; raise `AssertionError` on the first failure.

    Checks: ``input_spec`` returns an `InputSpec`; ``__init__`` only stores
    its parameters; ``get_params``/``set_params`` round trip and reject
    unknown names; ``predict`` before ``fit`` raises `NotFittedError`;
    ``fit`` returns self, leaves the parameters alone and names learned
    attributes with a trailing ``_``; ``predict`` returns a `MassPrediction`
    with one finite row per cluster in the sample's order; predicting a subset
    gives the same values; `clone` gives an unfitted copy; ``save``/``load``
    writes only JSON and safetensors files and reproduces the predictions
    (an estimator class that is not registered yet is registered under its
    ``name`` for this check);
    ``fit`` without true masses, on constant true masses or with a NaN one
    raises `InputError` (the NaN message naming ``log10_m500c`` and the
    cluster id); ``max_epochs=0`` is refused with `InputError` by estimators
    that have that parameter; image estimators refuse
    images in other bands with `BandMismatchError`.

    Parameters
    ----------
    estimator : `~astroclustermass.estimators.MassEstimator` or str
        An unfitted estimator, or a registered name (then the class's
        ``_test_params`` are applied).
    sample : `~astroclustermass.ClusterSample`, optional
        Data for fitting and predicting (default `make_tiny_sample`).

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> check_estimator(MassEstimator.from_name("multi_property", observables=("T", "M_gas")))
    """
    est = _resolve(estimator)
    for name, check in estimator_checks(est, sample):
        try:
            check()
        except Exception as err:
            raise AssertionError(f"{name} failed for {est!r}: {err}") from err
