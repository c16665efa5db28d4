"""`Attribution`: the one interface of attribution (saliency) methods, built-in or plugin.

A method follows the estimators' habits: the constructor stores parameters
only, ``get_params``/``set_params`` work, and ``attribute(estimator, sample)``
returns an `AttributionMap` of the fitted estimator's predicted log10 M500c
for every cluster of the sample. A subclass implements
``_attribute(estimator, sample, batch_size, progress) -> (values, columns)``;
gradient methods derive from `GradientAttribution` and implement
``_batch(model, leaf, ctx)`` only.

Examples
--------
>>> sorted(Attribution.available())
['analytic_proxy', 'integrated_gradients', 'saliency']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from astropy.table import Table

from ..cosmology import cosmology_to_dict
from ..estimators import check_is_fitted
from ..estimators._params import Options, ParamsMixin
from ..exceptions import InputError
from ._map import AttributionMap

__all__ = ["Attribution", "AttributionMap", "GradientAttribution"]


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
            absolute=bool(getattr(self, "absolute", False)),
            params=_json_safe(self.get_params()),
            cosmology=cosmology_to_dict(sample.cosmology),
        )

    @abstractmethod
    def _attribute(
        self, estimator: Any, sample: Any, batch_size: int, progress: bool | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], Any, str]:
        """Return (values, extra catalogue columns, bands, wrt) (subclasses)."""


def _json_safe(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


class GradientAttribution(Attribution):
    """Base of attributions computed by autograd through the estimator's network.

    Handles the batching, the device (the estimator's), torch threads, and the
    choice of ``wrt``: ``'counts'`` differentiates through the estimator's
    fitted input transforms (Eq. 1 redshift normalisation, Eq. 2 log scaling,
    standardisation; or the Krippendorf pipeline) back to the photon counts;
    ``'input'`` differentiates with respect to the network's input. A
    subclass implements ``_batch(model, leaf, ctx, wrt) -> (attr, f, delta)``.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "wrt": [Options({"counts", "input"})],
    }

    def _attribute(
        self, estimator: Any, sample: Any, batch_size: int, progress: bool | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], Any, str]:
        import torch

        from .._utils import progress_bar, resolve_device
        from ..estimators._cnn_base import sample_images
        from ._forward import differentiable_model

        model = differentiable_model(estimator)
        if self.wrt == "input" and not model.input_shared:
            raise InputError(
                f"the members of this {type(estimator).__name__} have different input "
                "transforms, so there is no single network input; use wrt='counts'"
            )
        device = resolve_device(getattr(estimator, "device", "auto"))
        n = len(sample)
        starts = list(range(0, n, batch_size))
        values: np.ndarray | None = None
        f_all = np.empty(n)
        delta_all = np.full(n, np.nan)
        threads = torch.get_num_threads()
        if getattr(estimator, "num_threads", None):
            torch.set_num_threads(int(estimator.num_threads))
        modes = [m.training for m in model.modules]
        try:
            for module in model.modules:
                module.to(device).eval()
            for start in progress_bar(starts, progress=progress, desc=self.name or "attribution"):
                rows = np.arange(start, min(start + batch_size, n))
                part = sample[rows]
                ctx = model.context(part)
                if self.wrt == "counts":
                    raw = sample_images(part, model.bands)
                    leaf = torch.as_tensor(raw, dtype=torch.float64, device=device)
                else:
                    leaf = torch.as_tensor(ctx["_input"], dtype=torch.float32, device=device)
                attr, f, delta = self._batch(model, leaf, ctx)
                if values is None:
                    values = np.empty((n, *attr.shape[1:]), dtype=np.float32)
                values[rows] = attr
                f_all[rows] = f
                if delta is not None:
                    delta_all[rows] = delta
        finally:
            torch.set_num_threads(threads)
            for module, mode in zip(model.modules, modes):
                module.cpu().train(mode)
        assert values is not None
        columns = {"log10_m500c_pred": f_all}
        if np.isfinite(delta_all).any():
            columns["delta"] = delta_all
        return values, columns, model.bands, self.wrt

    @staticmethod
    def _forward(model: Any, leaf: Any, ctx: dict, wrt: str) -> Any:
        """log10 M500c of a batch from counts or from the network input."""
        inputs = model.to_input(leaf, ctx) if wrt == "counts" else [leaf] * len(model.modules)
        return model.from_input(inputs, ctx)

    @staticmethod
    def _gradient(model: Any, leaf: Any, ctx: dict, wrt: str) -> tuple[Any, Any]:
        """(d f / d leaf, f) for a batch; each cluster's output depends on its own input only."""
        import torch

        x = leaf.detach().requires_grad_(True)
        with torch.enable_grad():
            f = GradientAttribution._forward(model, x, ctx, wrt)
            (grad,) = torch.autograd.grad(f.sum(), x)
        return grad, f.detach()

    @abstractmethod
    def _batch(self, model: Any, leaf: Any, ctx: dict) -> tuple[np.ndarray, np.ndarray, Any]:
        """Return (attributions, f(x), delta or None) for one batch (subclasses)."""
