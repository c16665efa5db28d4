"""Differentiable re-implementations of fitted estimators' predictions (private).

`differentiable_model` wraps a fitted estimator in a `DifferentiableModel`:
torch functions from the raw photon counts of a batch of clusters to the
estimator's network input (``to_input``) and from that input to the predicted
log10 M500c (``from_input``), with the estimator's own fitted transforms
(Eq. 1 redshift normalisation, Eq. 2 log scaling, per-band standardisation, or
the Krippendorf pipeline), its network, test-time augmentation and ensemble
mean. The composition equals ``estimator.predict`` (up to float32 rounding) and
autograd through it gives gradients with respect to the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["DifferentiableModel", "differentiable_model"]


@dataclass
class DifferentiableModel:
    """Torch view of a fitted estimator: counts → network input → log10 M500c.

    Attributes
    ----------
    bands : EnergyBands
        The band set of the counts.
    context : callable
        ``context(sample) -> dict`` of per-cluster arrays held fixed (redshift,
        network inputs other than the image, such as dynamical cubes).
    to_input : callable
        ``to_input(counts, ctx) -> list of tensors``: the image input of each
        network (one per ensemble member, identical for single networks).
    from_input : callable
        ``from_input(inputs, ctx) -> tensor (B,)`` of log10 M500c.
    input_shared : bool
        True when every network sees the same image input (so ``wrt='input'``
        is defined).
    """

    bands: Any
    context: Any
    to_input: Any
    from_input: Any
    input_shared: bool = True
    modules: list = field(default_factory=list)


def _torch_images_to_input(est: Any, images: Any, z: np.ndarray) -> Any:
    """The `ImageCNNEstimator._make_inputs` image transforms, in torch."""
    import torch

    tr = est.transforms_
    x = images
    if est.normalise_redshift:
        from ..transforms import RedshiftNormalizer

        norm = RedshiftNormalizer.from_dict(tr["redshift_normalizer"])
        f = torch.as_tensor(norm.factor(z), dtype=x.dtype, device=x.device)
        x = x * f.reshape(-1, 1, 1, 1)
    if est.log_scale:
        x = torch.log10(x + 1.0)
    if est.standardise:
        mean = torch.as_tensor(tr["image_mean"], dtype=x.dtype, device=x.device)
        std = torch.as_tensor(tr["image_std"], dtype=x.dtype, device=x.device)
        x = (x - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)
    return x


def _network_mu(est: Any, x: Any, extra: dict[str, Any]) -> Any:
    """Column 0 of the network output in log10 M units, with the estimator's TTA."""
    import torch

    from ..estimators._augment import N_D4, d4_apply

    net = est.network_
    inputs = {"image": x.float(), **{k: v.float() for k, v in extra.items()}}
    if getattr(est, "tta", False):
        outs = []
        for k in range(N_D4):
            tb = {key: (d4_apply(t, k) if t.ndim >= 4 else t) for key, t in inputs.items()}
            outs.append(net(**tb)[:, 0])
        out = torch.stack(outs).mean(0)
    else:
        out = net(**inputs)[:, 0]
    t = est.transforms_
    return out.double() * float(t["target_std"]) + float(t["target_mean"])


def _cnn_context(est: Any, sample: Any) -> dict[str, np.ndarray]:
    """Fixed inputs of an image CNN: redshift, and the network inputs besides the image."""
    z = np.asarray(sample.catalog["redshift"], dtype=float)
    ctx: dict[str, np.ndarray] = {"z": z}
    inputs = est._make_inputs(sample, fit=False)
    for key, value in inputs.items():
        if key == "image":
            ctx["_input"] = value
        else:
            ctx[key] = value
    return ctx


def _extra(ctx: dict[str, Any], device: Any) -> dict[str, Any]:
    import torch

    return {
        k: torch.as_tensor(v, device=device)
        for k, v in ctx.items()
        if k not in ("z", "_input") and not k.startswith("_")
    }


def _image_cnn(est: Any) -> DifferentiableModel:
    from ..bands import get_bands

    def to_input(counts: Any, ctx: dict) -> list:
        return [_torch_images_to_input(est, counts, ctx["z"])]

    def from_input(inputs: list, ctx: dict) -> Any:
        return _network_mu(est, inputs[0], _extra(ctx, inputs[0].device))

    return DifferentiableModel(
        get_bands(est.bands),
        lambda s: _cnn_context(est, s),
        to_input,
        from_input,
        modules=[est.network_],
    )


def _krippendorf_torch(pipe_dict: dict, images: Any) -> Any:
    """`~astroclustermass.images.KrippendorfPipeline.transform` in torch (rebin, smooth, clip)."""
    import torch
    import torch.nn.functional as F

    from ..transforms import KrippendorfPipeline

    pipe = KrippendorfPipeline.from_dict(pipe_dict)
    rebin, _, sizes, clip = pipe._validate()
    b, c, h, w = images.shape
    if h % rebin or w % rebin:
        raise InputError(f"image size {h}x{w} is not divisible by rebin={rebin}")
    x = images
    if rebin > 1:
        x = x.reshape(b, c, h // rebin, rebin, w // rebin, rebin).sum(dim=(3, 5))
    kernel = torch.as_tensor(pipe.kernel, dtype=x.dtype, device=x.device)
    pad = tuple(s // 2 for s in sizes)
    x = F.conv3d(x.unsqueeze(1), kernel[None, None], padding=pad).squeeze(1)
    if clip is not None:
        x = torch.clamp(x, max=clip)
    return x


def _ensemble(est: Any) -> DifferentiableModel:
    import torch

    from ..bands import get_bands

    members = est.members_
    kripp = est.resolved_pipeline == "krippendorf"
    first = members[0].transforms_
    shared = all(m.transforms_ == first for m in members[1:])

    def context(sample: Any) -> dict:
        view = est._view(sample)
        ctx = {"z": np.asarray(sample.catalog["redshift"], dtype=float)}
        for i, member in enumerate(members):
            for key, value in member._make_inputs(view, fit=False).items():
                if key == "image":
                    if i == 0:
                        ctx["_input"] = value
                else:
                    ctx[f"_m{i}_{key}"] = value
        return ctx

    def to_input(counts: Any, ctx: dict) -> list:
        x = _krippendorf_torch(est.transforms_["pipeline"], counts) if kripp else counts
        return [_torch_images_to_input(m, x, ctx["z"]) for m in members]

    def from_input(inputs: list, ctx: dict) -> Any:
        mus = []
        for i, (member, x) in enumerate(zip(members, inputs)):
            prefix = f"_m{i}_"
            extra = {
                k[len(prefix) :]: torch.as_tensor(v, device=x.device)
                for k, v in ctx.items()
                if k.startswith(prefix)
            }
            mus.append(_network_mu(member, x, extra))
        return torch.stack(mus).mean(0)  # Krippendorf et al. (2023) Eq. 2

    return DifferentiableModel(
        get_bands(est.bands),
        context,
        to_input,
        from_input,
        input_shared=shared,
        modules=[m.network_ for m in members],
    )


def differentiable_model(estimator: Any) -> DifferentiableModel:
    """The `DifferentiableModel` of a fitted image estimator.

    Supported: every `~astroclustermass.estimators._cnn_base.ImageCNNEstimator`
    (``single_band_cnn``, ``multiband_cnn``, ``gap_cnn``, ``joint_cnn``, whose
    dynamical cube is held fixed) and `~astroclustermass.estimators.ensemble.NLLEnsemble`
    (the gradient of the ensemble mean μ*).

    Raises
    ------
    InputError
        For estimators without a differentiable image network (scaling
        relations: use the ``analytic_proxy`` attribution).
    """
    from ..estimators._cnn_base import ImageCNNEstimator
    from ..estimators.ensemble import NLLEnsemble

    if isinstance(estimator, NLLEnsemble):
        return _ensemble(estimator)
    if isinstance(estimator, ImageCNNEstimator):
        return _image_cnn(estimator)
    raise InputError(
        f"{type(estimator).__name__} has no differentiable image network, so gradient "
        "attributions are undefined for it; for the power_law N_phot proxy use "
        "Attribution.from_name('analytic_proxy')"
    )
