"""Predictions an astronomer can publish (L3): `publication_table`.

A `MassPrediction` holds log10 M500c in h⁻¹ M☉, the package's unit. A table
for a paper or a catalogue release also needs the cluster's position, the
mass in M☉ for the h the survey quotes (eRASS1: h = 0.7), the radius it
implies, the uncertainty and what kind of uncertainty it is, and enough
metadata to say which model made it. `publication_table` adds:

* ``ra``, ``dec`` (deg) from the sample's catalogue;
* ``m500c`` in 10¹⁴ M☉ for ``h`` (``10^log10_m500c / h``) and, from the
  interval columns when the model made them, else from ``μ ± σ``, the
  ``m500c_lo68`` / ``m500c_hi68`` bounds (and one pair per interval level);
* ``log10_m500c_msun``: log10(M500c / M☉) for ``h``;
* ``r500c``: the R500c the predicted mass implies, physical kpc for ``h``
  (`~astroclustermass.cosmology.r500c_comoving` ÷ (1 + z) ÷ h);
* meta: ``h``, ``cosmology`` (the sample's, by parameter), ``mass_definition``,
  ``sigma_kind`` (``'per-cluster'`` when the model predicts σ per cluster,
  ``'constant'`` when it is one validation scatter), ``model`` (name,
  package version, and with ``model_path`` the SHA-256 of the saved
  ``config.json`` and ``arrays.safetensors``, i.e. of its weights and its
  training configuration, from the model's manifest).

Examples
--------
>>> import numpy as np
>>> from astroclustermass.estimators import MassPrediction
>>> from astroclustermass.sample import ClusterSample
>>> s = ClusterSample.from_arrays({"id": [7], "ra": [150.0], "dec": [2.0], "redshift": [0.3]},
...                               images={"bolometric": np.zeros((1, 1, 4, 4), np.int32)})
>>> p = MassPrediction.from_arrays([7], [0.3], [np.log10(2.1e14)], [0.1], estimator="demo")
>>> t = publication_table(p, s)
>>> round(float(t["m500c"][0]), 3), str(t["m500c"].unit), t.meta["h"]
(3.0, '1e+14 solMass', 0.7)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from ..cosmology import cosmology_to_dict, get_cosmology, r500c_comoving
from ..exceptions import InputError
from .prediction import interval_columns, level_label

__all__ = ["publication_table", "DEFAULT_PUBLICATION_H"]

#: The h of the published masses by default: the eRASS1 and most X-ray catalogues' 0.7.
DEFAULT_PUBLICATION_H = 0.7

_MASS_DEFINITION = (
    "M500c: the mass within R500c, the radius inside which the mean density is 500 times "
    "the critical density at the cluster's redshift"
)


def _model_meta(estimator: Any, model_path: Any, prediction: Any) -> dict:
    from ..version import __version__

    meta: dict[str, Any] = {
        "name": getattr(estimator, "name", None) or prediction.meta.get("estimator", ""),
        "package_version": __version__,
    }
    if estimator is not None:
        meta["class"] = type(estimator).__name__
        try:
            meta["params"] = json.loads(json.dumps(estimator.get_params(), default=repr))
        except (AttributeError, TypeError):
            pass
    if model_path is not None:
        from ._persistence import MANIFEST_NAME

        manifest = Path(model_path) / MANIFEST_NAME
        if manifest.is_file():
            man = json.loads(manifest.read_text())
            meta["path"] = str(Path(model_path).resolve())
            meta["sha256"] = dict(man.get("sha256", {}))
            config = Path(model_path) / "config.json"
            if config.is_file():
                cfg = json.loads(config.read_text())
                for key in ("format_version", "package_version"):
                    if key in cfg:
                        meta[f"saved_{key}"] = cfg[key]
    return meta


def publication_table(
    prediction: Any,
    sample: Any,
    *,
    h: float = DEFAULT_PUBLICATION_H,
    estimator: Any = None,
    model_path: Any = None,
) -> Any:
    """The prediction with positions, masses in M☉ for ``h``, R500c and provenance.

    Parameters
    ----------
    prediction : MassPrediction
        What ``estimator.predict(sample)`` returned (rows in the sample's order).
    sample : ClusterSample
        Supplies ``ra``, ``dec`` and the cosmology.
    h : float
        Dimensionless Hubble constant of the published masses and radii (0.7).
    estimator : MassEstimator, optional
        The model (its name and parameters go into the meta).
    model_path : path-like, optional
        The saved model directory: its manifest's SHA-256 of the weights and
        configuration go into the meta.

    Returns
    -------
    MassPrediction
        A copy with the columns and meta of the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.estimators import MassPrediction
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"ra": [1.0], "dec": [2.0], "redshift": [0.1]},
    ...                               images={"bolometric": np.zeros((1, 1, 4, 4), np.int32)})
    >>> p = MassPrediction.from_arrays([0], [0.1], [14.0], [0.1])
    >>> t = publication_table(p, s, h=0.7)
    >>> t.colnames[:4], t.meta["sigma_kind"]
    (['id', 'ra', 'dec', 'redshift'], 'constant')
    """
    h = float(h)
    if not (np.isfinite(h) and 0.1 < h < 2.0):
        raise InputError(f"h must be the dimensionless Hubble constant (e.g. 0.7); got {h!r}")
    cat = sample.catalog
    if len(prediction) != len(cat):
        raise InputError(
            f"the prediction has {len(prediction)} rows and the sample {len(cat)}; pass the "
            "sample that was predicted on"
        )
    if "id" in cat.colnames and not np.array_equal(np.asarray(prediction["id"]), cat["id"]):
        raise InputError("the prediction's ids are not the sample's, in its order")
    out = prediction.copy()
    pos = 1
    for name in ("ra", "dec"):
        if name in cat.colnames:
            col = cat[name]
            deg = u.Quantity(col).to_value(u.deg) if getattr(col, "unit", None) else col
            out.add_column(np.asarray(deg, float), name=name, index=pos)
            out[name].unit = u.deg
            pos += 1
    z = np.asarray(out["redshift"], float)
    mu = np.asarray(out["log10_m500c"], float)
    sigma = np.asarray(out["sigma_log10_m500c"], float)
    unit = u.Unit(1e14 * u.Msun)
    out["m500c"] = 10.0 ** (mu - 14.0) / h
    out["m500c"].unit = unit
    out["m500c"].description = f"M500c in 1e14 Msun for h = {h:g}"
    levels = list(prediction.interval_levels) or [0.68]
    for level in levels:
        lo, hi = prediction.interval(level)
        label = level_label(level)
        for side, bound in (("lo", lo), ("hi", hi)):
            name = f"m500c_{side}{label}"
            out[name] = 10.0 ** (np.asarray(bound, float) - 14.0) / h
            out[name].unit = unit
        how = "interval columns " + "/".join(interval_columns(level))
        if not prediction.interval_levels:
            how = "mu +/- z sigma (Gaussian in log10 M)"
        out[f"m500c_lo{label}"].description = f"lower bound of the {level:.0%} interval ({how})"
        out[f"m500c_hi{label}"].description = f"upper bound of the {level:.0%} interval ({how})"
    out["log10_m500c_msun"] = mu - np.log10(h)
    out["log10_m500c_msun"].unit = u.dex(u.Msun)
    out["log10_m500c_msun"].description = f"log10(M500c / Msun) for h = {h:g}"
    cosmo = get_cosmology(getattr(sample, "cosmology", None))
    r_kpc = np.asarray(r500c_comoving(10.0**mu, z, cosmo), float) / (1.0 + z) / h * 1000.0
    out["r500c"] = r_kpc
    out["r500c"].unit = u.kpc
    out["r500c"].description = f"R500c implied by log10_m500c, physical kpc for h = {h:g}"
    if "provides_sigma" in prediction.meta:  # what predict() records
        per_cluster = bool(prediction.meta["provides_sigma"])
    else:
        per_cluster = np.unique(sigma).size > 1
    out.meta.update(
        {
            "h": h,
            "cosmology": cosmology_to_dict(cosmo),
            "mass_definition": _MASS_DEFINITION,
            "log10_m500c_unit": "log10(M500c / (h^-1 Msun)), h-free",
            "sigma_kind": "per-cluster" if per_cluster else "constant",
            "model": _model_meta(estimator, model_path, prediction),
        }
    )
    return out
