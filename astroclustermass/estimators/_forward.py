"""The torch forward pass of fitted image estimators, from raw photon counts (private).

`ImageCNNEstimator.forward_counts` and `NLLEnsemble.forward_counts` are the
public faces of these functions. The numpy path of ``predict``
(``_make_inputs``) and these torch functions apply the same fitted transforms
— Eq. 1 redshift normalisation, Eq. 2 ``log10(n + 1)``, per-band
standardisation, the redshift input of the Krippendorf networks, the dynamical
cube scaling of `~astroclustermass.estimators.joint.cube_inputs` — read from
the same ``transforms_``; tests compare the two on every estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["image_inputs", "cube_input", "network_mu"]


def _as(values: Any, like: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(values, dtype=float), dtype=like.dtype, device=like.device)


def image_inputs(est: Any, counts: Any, redshift: Any) -> dict[str, Any]:
    """The network inputs ``image`` (and ``redshift``) from counts ``(B, n_band, H, W)``."""
    import torch

    tr = est.transforms_
    z = np.asarray(redshift, dtype=float).reshape(-1)
    x = counts
    if est.normalise_redshift:
        from ..transforms import RedshiftNormalizer

        norm = RedshiftNormalizer.from_dict(tr["redshift_normalizer"])
        x = x * _as(norm.factor(z), x).reshape(-1, 1, 1, 1)
    if est.log_scale:
        x = torch.log10(x + 1.0)
    if est.standardise:
        x = (x - _as(tr["image_mean"], x).reshape(1, -1, 1, 1)) / _as(tr["image_std"], x).reshape(
            1, -1, 1, 1
        )
    inputs = {"image": x}
    if est.redshift_input:
        zs = (z - tr["redshift_mean"]) / tr["redshift_std"]
        inputs["redshift"] = _as(zs, x)[:, None]
    return inputs


def cube_input(est: Any, cube: Any) -> Any:
    """The network input ``(B, 1, n, n, n)`` of dynamical cubes ``(B, n, n, n)`` (`cube_inputs`)."""
    import torch

    tr = est.transforms_
    x = cube * float(cube.shape[-1]) ** 3
    if est.log_scale:
        x = torch.log1p(x)
    if est.standardise:
        x = (x - float(tr["cube_mean"])) / float(tr["cube_std"])
    return x.unsqueeze(1)


def network_mu(est: Any, inputs: dict[str, Any]) -> Any:
    """Predicted log10 M500c ``(B,)`` (float64) from network inputs, with the estimator's TTA."""
    import torch

    from ._augment import N_D4, d4_apply

    first = inputs["image"]
    net = est.network_.to(first.device)
    x = {key: t.float() for key, t in inputs.items()}
    if est.tta:
        outs = []
        for k in range(N_D4):
            tb = {key: (d4_apply(t, k) if t.ndim >= 4 else t) for key, t in x.items()}
            outs.append(net(**tb)[:, 0])
        out = torch.stack(outs).mean(0)
    else:
        out = net(**x)[:, 0]
    t = est.transforms_
    return out.double() * float(t["target_std"]) + float(t["target_mean"])
