"""The joint X-ray + galaxy-dynamics CNN estimator of Ho et al. (2023), Sec. 5.2.

`JointCNN` reads, for every cluster, the multi-band photon map and the
dynamical phase-space cube ``cube[v, x, y]`` (see ``docs/internals.rst``) and
trains the network of Fig. 5 end to end: a 2-D branch on the map, a 3-D branch
on the cube to which the map, average-pooled to the cube's sky grid, is added
as extra channels tiled along the velocity axis, and a dense head.

Unlike the reference code (``REFERENCE.md`` §4, §7.9) the tiled map lies on
the cube's sky axes ``(x, y)`` — pixel ``(i, j)`` of the pooled map sits on
the cube column ``[:, i, j]`` — and early stopping watches a validation split
of the *training* fold, never the test fold.

Examples
--------
>>> from astroclustermass.estimators import MassEstimator
>>> est = MassEstimator.from_name("joint_cnn", max_epochs=5)
>>> est.bands, est.dropout, est.input_spec()["cubes"]
('erosita_3', 0.1, True)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..exceptions import IncompatibleSampleError, InputError
from ._cnn_base import ImageCNNEstimator, with_defaults
from .base import InputSpec

__all__ = ["JointCNN", "cube_inputs"]

# voxels per chunk in `cube_inputs` (float64 temporaries of ~64 MB)
_CHUNK_VOXELS = 8_000_000


def cube_inputs(
    cubes: np.ndarray, log_scale: bool = True, stats: tuple[float, float] | None = None
) -> np.ndarray:
    """Network input ``(N, 1, n, n, n)`` from normalised dynamical cubes.

    Each cube sums to 1 over its ``n³`` voxels; it is multiplied by ``n³`` so
    that a uniform cube is 1 everywhere (values O(1) whatever ``n``), then,
    with ``log_scale``, mapped by ``log1p`` (the densest voxels of a compact
    cluster reach ~10³), and finally, with ``stats = (mean, std)``,
    standardised.

    Parameters
    ----------
    cubes : ndarray, shape (N, n, n, n)
        Cubes ``[v, x, y]``, each summing to 1 (or all zero).
    log_scale : bool
        Apply ``log1p`` after the ``n³`` scaling.
    stats : (float, float) or None
        Mean and standard deviation (fitted on training cubes) to standardise
        with; None leaves the values unstandardised.

    Returns
    -------
    ndarray, shape (N, 1, n, n, n), float32

    Examples
    --------
    >>> import numpy as np
    >>> cubes = np.full((2, 4, 4, 4), 1 / 64, dtype=np.float32)
    >>> x = cube_inputs(cubes, log_scale=False)
    >>> x.shape, float(x[0, 0, 0, 0, 0])
    ((2, 1, 4, 4, 4), 1.0)
    >>> round(float(cube_inputs(cubes)[0, 0, 0, 0, 0]), 4)  # log(1 + 1)
    0.6931
    """
    arr = cubes if hasattr(cubes, "shape") else np.asarray(cubes)
    if arr.ndim != 4 or len(set(arr.shape[1:])) != 1:
        raise InputError(f"dynamical cubes must have shape (N, n, n, n); got {arr.shape}")
    scale = float(arr.shape[1]) ** 3
    out = np.empty((len(arr), 1, *arr.shape[1:]), dtype=np.float32)
    # chunks bound the float64 temporaries (a 64^3 cube is 2 MB in float64)
    step = max(1, _CHUNK_VOXELS // max(1, int(np.prod(arr.shape[1:]))))
    for start in range(0, len(arr), step):
        x = np.asarray(arr[start : start + step], dtype=np.float64)
        if not np.isfinite(x).all():
            raise InputError("the dynamical cubes contain NaN or inf; rebuild the sample")
        if (x < 0).any():
            raise InputError("the dynamical cubes contain negative densities; rebuild the sample")
        x *= scale
        if log_scale:
            np.log1p(x, out=x)
        if stats is not None:
            x -= float(stats[0])
            x /= float(stats[1])
        out[start : start + step, 0] = x
    return out


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a large float32 array (two float64 passes in chunks)."""
    flat = x.reshape(len(x), -1)
    step = max(1, _CHUNK_VOXELS // max(1, flat.shape[1]))
    chunks = [slice(start, start + step) for start in range(0, len(flat), step)]
    mean = sum(float(flat[c].sum(dtype=np.float64)) for c in chunks) / flat.size
    sq = sum(float(np.square(flat[c].astype(np.float64) - mean).sum()) for c in chunks)
    return mean, float(np.sqrt(sq / flat.size))


@with_defaults(bands="erosita_3", dropout=0.1)
class JointCNN(ImageCNNEstimator):
    """Joint 2-D X-ray + 3-D phase-space CNN, Ho et al. (2023) Sec. 5.2 / Fig. 5.

    Inputs per cluster: the photon map in ``bands`` (eROSITA's three bands
    by default) with the transforms of `ImageCNNEstimator` (Eq. 1 redshift
    normalisation, Eq. 2 log scaling, per-band standardisation, all fitted on
    the training clusters), and the dynamical cube of ``sample.cubes``, scaled
    by ``n³`` so that its values are O(1), ``log1p``-scaled when
    ``log_scale`` and standardised with the mean and standard deviation of
    the training cubes when ``standardise`` (see `cube_inputs`).

    The network (`~astroclustermass.estimators.networks.JointCNN`) pools the
    map to the cube's ``n × n`` sky grid and tiles it along the velocity axis,
    aligned with the cube's ``(x, y)`` axes; this needs ``npix`` to be a
    multiple of the cube size ``n`` (``npix = 2n``, 128 and 64, in the paper).
    The cube size is taken from the training sample, and a sample with
    another cube size, velocity range or ``npix`` is refused at prediction.

    Training follows the paper (same optimiser and procedure as the single-band
    model: Adam 1e-3, MSE, batch 50, early stopping with patience 20) with
    dropout 0.1 after every dense layer (Fig. 5); early stopping watches a
    validation split of the training sample. Hyper-parameters are those of
    `ImageCNNEstimator`; ``network_params`` reach the network's constructor,
    e.g. ``{"cube_kernels": (3, 3, 1)}`` for small cubes or
    ``{"xray_stride": 2}`` for the reference code's X-ray branch.

    Examples
    --------
    >>> est = JointCNN(max_epochs=20, seed=1)
    >>> spec = est.input_spec()
    >>> spec["bands"][0].name, spec["cubes"], spec["redshift"]
    ('erosita_3', True, True)
    """

    name: ClassVar[str] = "joint_cnn"
    #: Fast settings for `astroclustermass.testing.check_estimator`.
    _test_params: ClassVar[dict] = {
        "max_epochs": 2,
        "batch_size": 16,
        "num_threads": 1,
        "network_params": {"conv": (4, 4, 4, 4), "cube_conv": (4, 4, 4), "cube_kernels": (3, 3, 1)},
    }

    def input_spec(self) -> InputSpec:
        """Images in ``bands``, dynamical cubes and the redshift (for Eq. 1)."""
        return InputSpec(bands=[self._bands], cubes=True, redshift=True)

    def _build_network(self, input_shapes: dict[str, tuple]) -> Any:
        from .networks import JointCNN as JointNet

        c, h, w = input_shapes["image"]
        _, n_v, n, _ = input_shapes["cube"]
        params = {"dropout": float(self.dropout), **(self.network_params or {})}
        try:
            return JointNet(
                in_channels=c,
                npix=h,
                cube_size=n,
                n_velocity=n_v,
                n_outputs=self._n_outputs,
                **params,
            )
        except RuntimeError as err:  # a layer larger than what is left of the input
            raise InputError(
                f"the {type(self).__name__} network does not fit {h}x{h} images and {n}^3 "
                f"cubes ({err}); choose smaller kernels or fewer pools in network_params, e.g. "
                "{'cube_kernels': (3, 3, 1)} for 16^3 cubes"
            ) from err

    def _make_inputs(self, sample: Any, fit: bool) -> dict[str, np.ndarray]:
        """Map inputs of `ImageCNNEstimator` plus ``'cube'`` ``(N, 1, n, n, n)``."""
        cubes = sample.cubes
        if cubes is None:
            raise IncompatibleSampleError(
                f"{type(self).__name__} needs dynamical cubes, but the sample has none; "
                "build it with dynamics=True and a galaxies table"
            )
        n = int(cubes.shape[1])
        npix = int(sample.npix)
        v_max = _v_max(sample)
        if fit:
            if npix % n:
                raise IncompatibleSampleError(
                    f"{type(self).__name__} pools the {npix}x{npix} images onto the {n}x{n} sky "
                    f"grid of the dynamical cubes, which needs npix to be a multiple of the cube "
                    f"size; rebuild the sample with npix={2 * n} (or {n})"
                )
        else:
            trained_n = int(self.transforms_["cube_size"])
            trained_v = self.transforms_.get("cube_v_max")
            if n != trained_n:
                raise IncompatibleSampleError(
                    f"{type(self).__name__} was trained on {trained_n}^3 dynamical cubes, but "
                    f"this sample has {n}^3 cubes; rebuild it with the training settings"
                )
            if trained_v is not None and v_max is not None and not np.isclose(trained_v, v_max):
                raise IncompatibleSampleError(
                    f"{type(self).__name__} was trained on cubes spanning |v_los| <= {trained_v:g} "
                    f"km/s, but this sample's cubes span {v_max:g} km/s; rebuild it with the "
                    "training settings"
                )
        inputs = super()._make_inputs(sample, fit)
        tr = self.transforms_
        x = cube_inputs(cubes, log_scale=self.log_scale)
        if fit:
            self.training_means_["cube"] = _mean_cube(cubes)
            tr["cube_size"] = n
            tr["cube_v_max"] = v_max
            if self.standardise:
                mean, std = _mean_std(x)
                tr["cube_mean"], tr["cube_std"] = mean, (std if std > 0 else 1.0)
        if self.standardise:  # in place, the same float32 operations at fit and predict
            x -= np.float32(tr["cube_mean"])
            x /= np.float32(tr["cube_std"])
        inputs["cube"] = x
        return inputs


def _mean_cube(cubes: Any) -> np.ndarray:
    """Mean ``(n, n, n)`` of ``(N, n, n, n)`` cubes, summed in float64 chunks."""
    step = max(1, _CHUNK_VOXELS // max(1, int(np.prod(cubes.shape[1:]))))
    total = np.zeros(cubes.shape[1:], dtype=np.float64)
    for start in range(0, len(cubes), step):
        total += np.asarray(cubes[start : start + step]).sum(axis=0, dtype=np.float64)
    return total / max(1, len(cubes))


def _v_max(sample: Any) -> float | None:
    build = (getattr(sample, "meta", None) or {}).get("build", {})
    value = build.get("v_max") if isinstance(build, dict) else None
    return None if value is None else float(value)
