"""The survey depth as an input of the CNN estimators (private; ``depth_input=``).

`ImageCNNEstimator` takes the exposure of each cluster
(`~astroclustermass.sample.depth.cluster_exposure`) in one of two ways:

``'scale'``
    The count maps are multiplied by ``t_ref / t`` before the fitted
    transforms, ``t`` the cluster's effective exposure and ``t_ref`` the
    median training exposure (``transforms_['reference_exposure']``): maps
    at any depth are brought to the counts they would have at the training
    depth (their Poisson noise is not). Works with a training set of one
    depth.
``'map'``
    An extra input channel, ``log10`` of the exposure (s) standardised with
    the training mean and standard deviation (1 when the training depth was
    uniform): the per-pixel exposure map when the sample stores one
    (``sample.maps('exposure')``, survey builds), else the cluster's
    exposure in every pixel. The network learns what depth does, so it needs
    a training set spanning the depths it will be applied to.

None (the default) leaves the inputs as they were. The fitted numbers live
in ``transforms_`` and are saved with the model (JSON; no code). The torch
path `ImageCNNEstimator.forward_counts` takes no exposure and refuses
depth-input models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import IncompatibleSampleError

__all__ = ["DEPTH_INPUTS", "exposure_of", "scale_counts", "exposure_channel"]

#: The values of ``depth_input`` besides None.
DEPTH_INPUTS = ("scale", "map")


def exposure_of(est: Any, sample: Any) -> np.ndarray:
    """Each cluster's exposure (s), or IncompatibleSampleError naming the fix."""
    from ..sample.depth import cluster_exposure

    t = cluster_exposure(sample)
    if t is None or not np.all(np.isfinite(t) & (t > 0)):
        what = "has no 'exposure' column" if t is None else "has clusters without exposure > 0"
        raise IncompatibleSampleError(
            f"{type(est).__name__}(depth_input={est.depth_input!r}) needs each cluster's "
            f"exposure, but the sample {what} (observables or catalogue); build it from survey "
            "tiles or event files with an EXPOSURE header, or add an 'exposure' column in s"
        )
    return np.asarray(t, dtype=np.float64)


def scale_counts(est: Any, sample: Any, raw: np.ndarray, fit: bool) -> np.ndarray:
    """``depth_input='scale'``: raw counts times ``t_ref / t`` (float32)."""
    t = exposure_of(est, sample)
    if fit:
        est.transforms_["reference_exposure"] = float(np.median(t))
    factor = est.transforms_["reference_exposure"] / t
    return (raw.astype(np.float32) * factor.astype(np.float32)[:, None, None, None]).astype(
        np.float32
    )


def exposure_channel(est: Any, sample: Any, fit: bool) -> np.ndarray:
    """``depth_input='map'``: the standardised log10 exposure, ``(N, 1, npix, npix)`` float32."""
    npix = int(sample.npix)
    if "exposure" in getattr(sample, "map_names", ()):
        maps = np.asarray(sample.maps("exposure"), dtype=np.float64)
        exposure_of(est, sample)  # the scalar too: the range check and domain features use it
    else:
        t = exposure_of(est, sample)
        maps = np.broadcast_to(t[:, None, None], (len(t), npix, npix))
    log_t = np.log10(np.maximum(maps, 1.0))  # masked / off-survey pixels (0 s) read as 1 s
    tr = est.transforms_
    if fit:
        tr["log_exposure_mean"] = float(log_t.mean())
        std = float(log_t.std())
        tr["log_exposure_std"] = std if std > 1e-6 else 1.0
    z = (log_t - tr["log_exposure_mean"]) / tr["log_exposure_std"]
    return z.astype(np.float32)[:, None]
