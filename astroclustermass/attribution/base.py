"""`Attribution`: the one interface of attribution (saliency) methods, built-in or plugin.

A method follows the estimators' habits: the constructor stores parameters
only, ``get_params``/``set_params`` work, and ``attribute(estimator, sample)``
returns an `AttributionMap` of the fitted estimator's predicted log10 M500c
for every cluster of the sample. A subclass implements
``_attribute(estimator, sample, batch_size, progress) -> (values, columns, bands,
wrt)`` (``values`` an array, or a dict with ``'map'`` and ``'cube'``);
gradient methods derive from `GradientAttribution` and implement
``_explain(forward, raw, rows)`` only.

Examples
--------
>>> sorted(Attribution.available())
['analytic_proxy', 'input_x_gradient', 'integrated_gradients', 'saliency', 'smoothgrad']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from astropy.table import Table

from .._utils import defaults
from ..cosmology import cosmology_to_dict
from ..estimators import check_is_fitted
from ..estimators._params import Options, ParamsMixin
from ..exceptions import InputError
from ._map import AttributionMap

__all__ = ["Attribution", "AttributionMap", "BatchForward", "GradientAttribution", "DEFAULT_METHOD"]

#: The method ``astroclustermass explain`` uses unless told otherwise (owned by
#: `astroclustermass._utils.defaults.ATTRIBUTION_METHOD`; why: docs/attribution.rst).
DEFAULT_METHOD = defaults.ATTRIBUTION_METHOD


class Attribution(ParamsMixin, ABC):
    """Base class of attribution methods; also the entry point to the registry.

    Class attributes a subclass sets: ``name`` (registered name) and
    ``_parameter_constraints`` (checked at `attribute`, with the messages of
    `~astroclustermass.estimators.MassEstimator`).

    Examples
    --------
    >>> method = Attribution.from_name("saliency", absolute=False)
    >>> method.get_params()["absolute"]
    False
    >>> Attribution.from_name("saliencyy")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnknownNameError: unknown attribution 'saliencyy'. ... Did you mean 'saliency'?
    """

    name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    #: Estimator (name, parameters) that `~astroclustermass.testing.check_attribution`
    #: fits to exercise the method: a tiny single-band CNN by default.
    _test_estimator: ClassVar[tuple[str, dict]] = (
        "single_band_cnn",
        {
            "network_params": {"conv": (4, 4, 4, 4), "dense": (8, 8, 8)},
            "max_epochs": 2,
            "batch_size": 16,
            "device": "cpu",
            "num_threads": 1,
        },
    )

    # ---------------------------------------------------------------- registry
    @classmethod
    def from_name(cls, name: str, **params: Any) -> Attribution:
        """Create a registered attribution method by name.

        Raises
        ------
        UnknownNameError
            Listing the registered names (with a "did you mean").
        InputError
            For parameters the method does not take.
        """
        from ..plugins import attribution_registry

        return attribution_registry().create(name, **params)

    @staticmethod
    def available() -> dict[str, str]:
        """Registered attribution names with one-line descriptions.

        Examples
        --------
        >>> "saliency" in Attribution.available()
        True
        """
        from ..plugins import attribution_registry

        return attribution_registry().describe()

    # ------------------------------------------------------------- attribute
    def attribute(
        self,
        estimator: Any,
        sample: Any,
        *,
        batch_size: int = 16,
        progress: bool | None = None,
    ) -> AttributionMap:
        """Attribution maps of ``estimator``'s predicted log10 M500c for every cluster.

        Parameters
        ----------
        estimator : `~astroclustermass.estimators.MassEstimator`
            A fitted estimator.
        sample : `~astroclustermass.ClusterSample`
            Clusters to explain; checked against the estimator exactly as
            ``predict`` checks it (bands, npix, aperture, cosmology).
        batch_size : int
            Clusters per forward/backward pass.
        progress : bool or None
            Progress bar (None: only on a terminal).

        Returns
        -------
        `AttributionMap`

        Raises
        ------
        NotFittedError
            When the estimator is not fitted.
        BandMismatchError
            When the sample lacks images in the estimator's bands.
        """
        self._validate_params()
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}")
        check_is_fitted(estimator)
        estimator._check_inputs(sample, "attribution")
        estimator._check_compatible(sample)
        values, columns, bands, wrt = self._attribute(estimator, sample, int(batch_size), progress)
        cube = None
        if isinstance(values, dict):
            values, cube = values["map"], values.get("cube")
        cat = sample.catalog
        table = Table()
        table["id"] = np.asarray(cat["id"]) if "id" in cat.colnames else np.arange(len(cat))
        table["redshift"] = np.asarray(cat["redshift"], dtype=float)
        for name in ("log10_m500c", "r500c"):
            if name in cat.colnames:
                table[name] = cat[name]
        for name, col in columns.items():
            table[name] = np.asarray(col, dtype=float)
        return AttributionMap(
            values,
            bands,
            table,
            aperture=float(sample.aperture),
            method=self.name or type(self).__name__,
            estimator=getattr(estimator, "name", "") or type(estimator).__name__,
            wrt=wrt,
            absolute=self._is_absolute(),
            params=_json_safe(self.get_params()),
            cosmology=cosmology_to_dict(sample.cosmology),
            quantity=self._quantity(wrt),
            cube_values=cube,
            cube_v_max=None if cube is None else _cube_v_max(estimator, sample),
        )

    def _is_absolute(self) -> bool:
        return bool(getattr(self, "absolute", False))

    def _quantity(self, wrt: str) -> str:
        """What a map value is, for colour-bar labels (subclasses refine it)."""
        text = "∂log10 M/∂n" if wrt == "counts" else "∂log10 M/∂x"
        text = f"|{text}|" if self._is_absolute() else text
        return text + (" [dex per count]" if wrt == "counts" else "")

    @abstractmethod
    def _attribute(
        self, estimator: Any, sample: Any, batch_size: int, progress: bool | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], Any, str]:
        """Return (values, extra catalogue columns, bands, wrt) (subclasses)."""


def _cube_v_max(estimator: Any, sample: Any) -> float | None:
    """Half-width (km/s) of the velocity axis of the cubes the estimator was trained on."""
    value = (getattr(estimator, "transforms_", None) or {}).get("cube_v_max")
    if value is None:
        build = (getattr(sample, "meta", None) or {}).get("build", {})
        value = build.get("v_max") if isinstance(build, dict) else None
    return None if value is None else float(value)


def _json_safe(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


class BatchForward:
    """The prediction of one batch as a function of its differentiable inputs.

    Built by `GradientAttribution` from the estimator's public torch forward
    (``count_inputs``, ``forward_counts``; ``torch_inputs`` and
    ``forward_inputs`` for ``wrt='input'``). ``raw`` holds the batch's raw
    inputs as tensors — ``'map'`` the photon counts and, for the joint model,
    ``'cube'`` the dynamical cubes — and ``leaves`` the same in the space the
    attribution is taken in: the raw inputs (``wrt='counts'``) or the
    network inputs (``wrt='input'``). Calling it on leaves gives the
    predicted log10 M500c ``(B,)``.

    Examples
    --------
    >>> BatchForward.__call__.__doc__.split(".")[0]
    'Predicted log10 M500c (B,) of leaves shaped like `leaves`'
    """

    def __init__(self, estimator: Any, raw: dict[str, np.ndarray], wrt: str, device: Any) -> None:
        import torch

        self.estimator = estimator
        self.wrt = wrt
        self.redshift = np.asarray(raw["redshift"], dtype=float)
        self.raw = {"map": torch.as_tensor(raw["counts"], dtype=torch.float64, device=device)}
        if "cube" in raw:
            self.raw["cube"] = torch.as_tensor(raw["cube"], dtype=torch.float64, device=device)
        self._fixed: dict[str, Any] = {}
        if wrt == "input":
            with torch.no_grad():
                self._fixed = estimator.torch_inputs(
                    self.raw["map"], self.redshift, self.raw.get("cube")
                )
        self.leaves = self.to_leaves(self.raw)

    def to_leaves(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Raw inputs (``'map'`` counts, ``'cube'``) mapped to the attribution's space."""
        import torch

        if self.wrt == "counts":
            return dict(raw)
        with torch.no_grad():
            inputs = self.estimator.torch_inputs(raw["map"], self.redshift, raw.get("cube"))
        out = {"map": inputs["image"].double()}
        if "cube" in raw:
            out["cube"] = inputs["cube"][:, 0].double()
        return out

    def __call__(self, leaves: dict[str, Any]) -> Any:
        """Predicted log10 M500c (B,) of leaves shaped like `leaves`."""
        est = self.estimator
        if self.wrt == "counts":
            return est.forward_counts(leaves["map"], self.redshift, leaves.get("cube"))
        inputs = {**self._fixed, "image": leaves["map"]}
        if "cube" in leaves:
            inputs["cube"] = leaves["cube"].unsqueeze(1)
        return est.forward_inputs(inputs)

    def gradient(self, leaves: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """(∂f/∂leaf for every leaf, f); each cluster's output depends on its own inputs."""
        import torch

        xs = {k: v.detach().requires_grad_(True) for k, v in leaves.items()}
        with torch.enable_grad():
            f = self(xs)
            grads = torch.autograd.grad(f.sum(), list(xs.values()))
        return {k: g.double() for k, g in zip(xs, grads)}, f.detach()


class GradientAttribution(Attribution):
    """Base of attributions computed by autograd through the estimator's network.

    Uses only the estimators' public torch forward (``count_inputs``,
    ``forward_counts``, ``torch_inputs``, ``forward_inputs``,
    ``torch_networks``), so that the attribution and ``predict`` cannot drift
    apart. Handles the batching, the device (the estimator's), torch threads
    and the choice of ``wrt``: ``'counts'`` differentiates through the
    estimator's fitted input transforms (Eq. 1 redshift normalisation, Eq. 2
    log scaling, standardisation; or the Krippendorf pipeline) back to the
    photon counts; ``'input'`` differentiates with respect to the network's
    input. For the joint model the dynamical cube is attributed as well
    (`AttributionMap.cube_values`). A subclass implements
    ``_explain(forward, raw, rows) -> (attributions per leaf, delta or None)``
    with a `BatchForward` and the batch's raw inputs ``raw`` (``forward.raw``
    or a perturbed copy; ``forward.to_leaves(raw)`` maps them to the space
    of ``wrt``); ``rows`` are the clusters' rows in the sample (for
    per-cluster random streams).
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "wrt": [Options({"counts", "input"})],
    }

    def _wrt(self) -> str:
        return self.wrt

    def _attribute(
        self, estimator: Any, sample: Any, batch_size: int, progress: bool | None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Any, str]:
        import torch

        from .._utils import progress_bar, resolve_device
        from ..bands import get_bands

        if not callable(getattr(estimator, "forward_counts", None)):
            raise InputError(
                f"{type(estimator).__name__} has no differentiable image network "
                "(forward_counts), so gradient attributions are undefined for it; for the "
                "power_law N_phot proxy use Attribution.from_name('analytic_proxy')"
            )
        wrt = self._wrt()
        device = resolve_device(getattr(estimator, "device", "auto"))
        n = len(sample)
        values: dict[str, np.ndarray] = {}
        f_all = np.empty(n)
        delta_all = np.full(n, np.nan)
        threads = torch.get_num_threads()
        if getattr(estimator, "num_threads", None):
            torch.set_num_threads(int(estimator.num_threads))
        networks = estimator.torch_networks()
        try:
            for net in networks:
                net.to(device).eval()
            starts = range(0, n, batch_size)
            for start in progress_bar(starts, progress=progress, desc=self.name or "attribution"):
                rows = np.arange(start, min(start + batch_size, n))
                forward = BatchForward(estimator, estimator.count_inputs(sample[rows]), wrt, device)
                attrs, delta = self._explain(forward, forward.raw, rows)
                with torch.no_grad():
                    f_all[rows] = forward(forward.leaves).cpu().numpy()
                for key, attr in attrs.items():
                    if key not in values:
                        values[key] = np.empty((n, *attr.shape[1:]), dtype=np.float32)
                    values[key][rows] = attr.double().cpu().numpy()
                if delta is not None:
                    delta_all[rows] = delta.cpu().numpy()
        finally:
            torch.set_num_threads(threads)
            for net in networks:
                net.cpu().eval()
        columns = {"log10_m500c_pred": f_all}
        if np.isfinite(delta_all).any():
            columns["delta"] = delta_all
        return values, columns, get_bands(estimator.bands), wrt

    @abstractmethod
    def _explain(
        self, forward: BatchForward, raw: dict[str, Any], rows: np.ndarray
    ) -> tuple[dict[str, Any], Any]:
        """Return (attribution tensor per leaf, completeness gap (B,) or None) (subclasses)."""
