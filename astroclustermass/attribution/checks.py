"""Conformance checks of attribution methods, for astroclustermass and for plugin authors.

`check_attribution` fits a tiny estimator on a tiny sample (both made by
the package, see `astroclustermass.testing.make_tiny_sample`) and checks
the interface every method shares: parameters, the shape, order and
finiteness of the maps, the prediction stored with them, independence of
the batch size, the HDF5 round trip and band checks. It is also importable
from `astroclustermass.testing`, next to the estimators' `check_estimator`.

Examples
--------
>>> from astroclustermass.attribution.checks import check_attribution
>>> check_attribution("analytic_proxy")
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..estimators import MassEstimator, clone
from ..exceptions import BandMismatchError, InputError, NotFittedError, OutOfRangeWarning

__all__ = ["check_attribution"]


def check_attribution(
    method: Any, estimator: MassEstimator | None = None, sample: Any = None
) -> None:
    """Run the conformance checks of an attribution method; raise `AssertionError` on failure.

    Checks: the class has a registered-style ``name``; ``__init__`` only
    stores its parameters; ``get_params``/``set_params`` round trip and reject
    unknown names; ``attribute`` on an unfitted estimator raises
    `NotFittedError`; on a fitted one it returns an
    `~astroclustermass.attribution.AttributionMap` with one finite map per
    cluster of the estimator's image shape (and finite cube attributions for
    an estimator on dynamical cubes), in the sample's order, with the
    prediction ``log10_m500c_pred`` equal to ``estimator.predict``; the maps
    do not depend on ``batch_size``; they survive ``write``/``read``; a
    sample without the estimator's bands raises `BandMismatchError`.

    Parameters
    ----------
    method : `~astroclustermass.attribution.Attribution` or str
        An instance or a registered name.
    estimator : `~astroclustermass.estimators.MassEstimator`, optional
        An unfitted estimator the method can explain; default: the class's
        ``_test_estimator`` (a tiny single-band CNN for gradient methods).
    sample : `~astroclustermass.ClusterSample`, optional
        Data to fit and explain (default `make_tiny_sample`, 32 clusters).

    Examples
    --------
    >>> check_attribution("analytic_proxy")
    """
    from ..testing import _other_bands, _sample_for  # the tiny samples of the estimator checks
    from . import Attribution, AttributionMap

    if isinstance(method, str):
        method = Attribution.from_name(method)
    if not isinstance(method, Attribution):
        raise InputError(f"expected an Attribution instance or a registered name; got {method!r}")
    cls = type(method)

    def fail(what: str) -> None:
        raise AssertionError(f"check_attribution failed for {method!r}: {what}")

    if not (isinstance(cls.name, str) and cls.name.isidentifier()):
        fail(f"{cls.__name__}.name must be an identifier; got {cls.name!r}")
    params = method.get_params()
    fresh = cls(**params)
    if set(vars(fresh)) != set(params):
        fail(f"__init__ must store exactly its parameters; it sets {sorted(vars(fresh))}")
    if fresh.set_params(**params) is not fresh or fresh.get_params() != params:
        fail("set_params must return self and round trip get_params")
    try:
        fresh.set_params(not_a_parameter_of_this_method=1)
    except InputError:
        pass
    else:
        fail("set_params accepted an unknown parameter")
    if estimator is None:
        name, est_params = cls._test_estimator
        estimator = MassEstimator.from_name(name, **est_params)
    est = clone(estimator)
    if sample is None:
        sample = _sample_for(est, n=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        try:
            method.attribute(est, sample)
        except NotFittedError:
            pass
        else:
            fail("attribute on an unfitted estimator must raise NotFittedError")
        est.fit(sample, progress=False)
        amap = method.attribute(est, sample, batch_size=7, progress=False)
        if not isinstance(amap, AttributionMap):
            fail(f"attribute returned {type(amap).__name__}, not an AttributionMap")
        npix = int(sample.npix)
        if amap.shape[0] != len(sample) or amap.shape[2:] != (npix, npix):
            fail(f"maps of shape {amap.shape} for {len(sample)} clusters of {npix}² pixels")
        if not np.all(np.isfinite(amap.values)):
            fail("the maps contain NaN or inf")
        if not np.array_equal(amap.ids, np.asarray(sample.catalog["id"])):
            fail("maps must be in the sample's order")
        pred = np.asarray(est.predict(sample, progress=False)["log10_m500c"], float)
        got = np.asarray(amap.catalog["log10_m500c_pred"], float)
        if not np.allclose(got, pred, rtol=0, atol=1e-4):
            fail(f"log10_m500c_pred differs from predict by {np.abs(got - pred).max():.2g} dex")
        other = method.attribute(est, sample, batch_size=len(sample), progress=False)
        scale = float(np.abs(amap.values).max()) or 1.0
        if not np.allclose(other.values, amap.values, rtol=1e-3, atol=1e-5 * scale):
            fail("the maps depend on batch_size")
        if est.input_spec().get("cubes") and amap.cube_values is None:
            fail("an estimator on dynamical cubes must get cube attributions (cube_values)")
        if amap.cube_values is not None:
            cv = amap.cube_values
            if cv.shape != np.shape(sample.cubes) or not np.all(np.isfinite(cv)):
                fail(f"cube attributions of shape {cv.shape} or not finite")
            c_scale = float(np.abs(cv).max()) or 1.0
            if not np.allclose(other.cube_values, cv, rtol=1e-3, atol=1e-5 * c_scale):
                fail("the cube attributions depend on batch_size")
        with tempfile.TemporaryDirectory() as tmp:
            back = AttributionMap.read(amap.write(Path(tmp) / "maps.h5"))
        if not np.array_equal(back.values, amap.values) or back.method != amap.method:
            fail("write/read does not round trip")
        if (back.cube_values is None) != (amap.cube_values is None):
            fail("write/read loses the cube attributions")
        needed = est.input_spec()["bands"]
        if needed:
            wrong_bands = _other_bands(needed)
            wrong = _sample_for(est, n=8, bands=(wrong_bands,), seed=2)
            try:
                method.attribute(est, wrong)
            except BandMismatchError:
                pass
            else:
                fail(f"a sample with {wrong_bands!r} images must raise BandMismatchError")
