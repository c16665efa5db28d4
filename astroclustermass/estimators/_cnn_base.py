"""`ImageCNNEstimator`: the shared base of every image-based neural-network estimator.

It turns a `~astroclustermass.ClusterSample` into network inputs with
transforms fitted on the training data only — the redshift normalisation of
Ho et al. (2023) Eq. 1, the log scaling of Eq. 2 and a per-channel
standardisation — splits a validation set off the training fold for early
stopping (never the test fold), trains with `~.training.Trainer`, and saves
the fitted transforms with the weights.

Subclasses set ``name`` and override, as needed,

* ``_build_network(input_shapes) -> nn.Module`` (default: `HoCNN`),
* ``_make_inputs(sample, fit) -> dict[str, ndarray]`` (default: the images of
  ``bands``; call ``super()`` and add ``'cube'`` or ``'redshift'``),
* ``input_spec()``.

Class defaults of hyper-parameters are changed without repeating the
signature with the `with_defaults` class decorator.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..bands import get_bands
from ..exceptions import InputError, ModelFileError
from ..sample.arrays import match_band_set
from ._losses import LOG_SIGMA_MIN
from ._params import Interval, Options, with_defaults
from ._torch_base import TorchMassEstimator
from .base import InputSpec, check_is_fitted

__all__ = [
    "ImageCNNEstimator",
    "with_defaults",
    "sample_images",
    "flat_mass_weights",
]


def sample_images(sample: Any, bands: Any) -> np.ndarray:
    """The raw count images ``(N, n_band, npix, npix)`` of ``sample`` in ``bands``.

    Raises
    ------
    BandMismatchError
        When the sample holds no images in these bands.

    Examples
    --------
    >>> from astroclustermass.sample import ClusterSample
    >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
    ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
    >>> sample_images(s, "bolometric").shape
    (1, 1, 4, 4)
    """
    bands = get_bands(bands)
    match_band_set(getattr(sample, "band_sets", None) or {}, bands)
    return np.asarray(sample.images(bands))


def flat_mass_weights(log_mass: np.ndarray, n_bins: int = 10, edges=None) -> np.ndarray:
    """Weights that flatten the distribution of ``log_mass`` (Krippendorf et al. 2023, Sec. 4).

    Each cluster gets ``1 / (number of clusters in its mass bin)``, normalised
    to mean 1, so every mass bin carries the same total weight.

    Examples
    --------
    >>> w = flat_mass_weights(np.array([13.6, 13.7, 13.65, 14.9]), n_bins=2)
    >>> w.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0]
    """
    m = np.asarray(log_mass, dtype=float)
    if edges is None:
        edges = np.linspace(m.min(), m.max(), int(n_bins) + 1)
    idx = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(idx, minlength=len(edges) - 1).astype(float)
    w = 1.0 / counts[idx]
    return w / w.mean()


class ImageCNNEstimator(TorchMassEstimator):
    """Base class of CNN mass estimators on photon-count images.

    Parameters
    ----------
    bands : str or `EnergyBands`
        Energy bands of the input images (a preset name or bands); the sample
        must hold images in exactly these bands.
    network_params : dict or None
        Extra keyword arguments for the network constructor (e.g.
        ``{"conv": (16, 8, 16, 8)}``); None for the defaults.
    dropout : float
        Dropout after each hidden dense layer.
    loss : {'mse', 'mae', 'nll'}
        ``'nll'`` makes the network predict a σ per cluster: two outputs,
        μ and log σ of the standardised target, trained with the Gaussian
        negative log-likelihood of Krippendorf et al. (2023) Eq. 1
        (`~._losses.gaussian_nll`). log σ is clamped below at
        ``LOG_SIGMA_MIN = -7`` in training and prediction, a σ floor of
        ``e⁻⁷ ≈ 9e-4`` times the training standard deviation of log10 M500c
        (≈ 4e-4 dex), far below any real scatter.
    lr, weight_decay, batch_size, max_epochs, patience : optional
        Optimiser and early-stopping settings (see `Trainer`). The default
        ``weight_decay=2e-4`` reproduces the papers' Keras ``l2(1e-4)``.
    augment, tta : bool
        D4 rotation/flip augmentation in training / averaging in prediction.
    normalise_redshift : bool
        Apply Eq. 1 of Ho et al. (2023) (`~astroclustermass.images.RedshiftNormalizer`,
        fitted on the training clusters).
    log_scale : bool
        Apply Eq. 2, ``log10(n + 1)``.
    standardise : bool
        Subtract the training mean and divide by the training standard
        deviation of each channel.
    sample_weighting : None or 'flat'
        ``'flat'`` weights training clusters to a uniform mass distribution.
    validation_fraction : float
        Fraction of the training sample held out for early stopping when
        ``fit`` gets no ``validation`` sample.
    device : str
        ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda[:n]'``.
    seed : int
        Seeds the weight initialisation, the validation split, shuffling,
        augmentation and dropout.
    checkpoint_dir : path-like or None
        Directory for per-epoch training checkpoints; with it,
        ``fit(sample, resume=True)`` continues an interrupted fit.
    num_threads : int or None
        CPU threads used by torch during fit/predict (None: torch's default).
    depth_input : None, 'scale' or 'map'
        The survey depth as an input (`astroclustermass.estimators._depth_input`):
        ``'scale'`` brings every map to the median training exposure
        (counts × t_ref / t) before the transforms; ``'map'`` adds the
        standardised log10 exposure (the per-pixel exposure map of a survey
        build, else the cluster's exposure) as an input channel. Both read
        the cluster's exposure (`~astroclustermass.sample.depth.cluster_exposure`).
        None: counts only (maps at another depth than training's are
        extrapolations; ``predict`` warns).

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (on the CPU after loading).
    history_ : `TrainHistory`
        Per-epoch losses; ``plot_history()`` draws them.
    transforms_ : dict
        Fitted input and target transforms (JSON-safe).
    input_shapes_ : dict
        Shape of each network input without the sample axis.
    sigma_ : float
        Scatter (dex) of the validation residuals, returned as σ of every
        cluster by models without a per-cluster σ.
    training_means_ : dict
        Mean raw input of the training clusters: ``counts`` ``(n_band, npix,
        npix)`` (and ``cube`` for the joint model); the ``'mean'`` baseline of
        integrated gradients.

    Notes
    -----
    ``fit(sample, resume=True)`` continues an interrupted fit from the
    checkpoint in ``checkpoint_dir`` (one file per estimator name, seed and
    training set), reaching the same weights as an uninterrupted fit.

    Examples
    --------
    >>> est = ImageCNNEstimator(bands="erosita_3", max_epochs=50, device="cpu")
    >>> est.input_spec()["bands"][0].n_bands, est.get_params()["patience"]
    (3, 20)
    >>> est._build_network({"image": (3, 32, 32)}).head[-1].out_features
    1
    """

    #: Network outputs: 1 (MSE/MAE) or 2 (NLL: mu, log sigma); see ``_n_outputs``.
    #: Whether the network also receives the (standardised) redshift.
    redshift_input: ClassVar[bool] = False

    #: small settings for `astroclustermass.testing.check_estimator`
    _test_params: ClassVar[dict] = {
        "max_epochs": 2,
        "batch_size": 16,
        "num_threads": 1,
        "network_params": {"conv": (4, 4, 4, 4), "dense": (16,)},
    }
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "network_params": [None, dict],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "loss": [Options({"mse", "mae", "nll"})],
        "lr": [Interval(float, 0, None, closed="neither")],
        "weight_decay": [Interval(float, 0, None, closed="left")],
        "batch_size": [Interval(int, 1, None)],
        "max_epochs": [Interval(int, 1, None)],
        "patience": [Interval(int, 1, None)],
        "augment": ["boolean"],
        "tta": ["boolean"],
        "normalise_redshift": ["boolean"],
        "log_scale": ["boolean"],
        "standardise": ["boolean"],
        "sample_weighting": [None, Options({"flat"})],
        "validation_fraction": [Interval(float, 0, 1, closed="left")],
        "seed": [Interval(int, 0, None)],
        "checkpoint_dir": [None, str, os.PathLike],
        "num_threads": [None, Interval(int, 1, None)],
        "depth_input": [None, Options({"scale", "map"})],
    }

    def __init__(
        self,
        bands: Any = "bolometric",
        network_params: dict | None = None,
        dropout: float = 0.0,
        loss: str = "mse",
        lr: float = 1e-3,
        weight_decay: float = 2e-4,
        batch_size: int = 50,
        max_epochs: int = 200,
        patience: int = 20,
        augment: bool = False,
        tta: bool = False,
        normalise_redshift: bool = True,
        log_scale: bool = True,
        standardise: bool = True,
        sample_weighting: str | None = None,
        validation_fraction: float = 0.1,
        device: str = "auto",
        seed: int = 0,
        checkpoint_dir: str | Path | None = None,
        num_threads: int | None = None,
        depth_input: str | None = None,
    ) -> None:
        self.bands = bands
        self.network_params = network_params
        self.dropout = dropout
        self.loss = loss
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.augment = augment
        self.tta = tta
        self.normalise_redshift = normalise_redshift
        self.log_scale = log_scale
        self.standardise = standardise
        self.sample_weighting = sample_weighting
        self.validation_fraction = validation_fraction
        self.device = device
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self.num_threads = num_threads
        self.depth_input = depth_input

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters; paths and torch devices are given as strings (JSON-safe)."""
        params = super().get_params(deep)
        for key in ("checkpoint_dir", "device"):
            value = params.get(key)
            if value is not None and not isinstance(value, str):
                params[key] = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        return params

    # ------------------------------------------------------------ hooks
    @property
    def provides_sigma(self) -> bool:  # type: ignore[override]
        """True with ``loss='nll'``: the network's σ head gives every cluster its own σ."""
        return self.loss == "nll"

    @property
    def _n_outputs(self) -> int:
        return 2 if self.loss == "nll" else 1

    def input_spec(self) -> InputSpec:
        """Images in ``bands`` and the redshift (for Eq. 1)."""
        return InputSpec(bands=[self._bands], redshift=True)

    def _build_network(self, input_shapes: dict[str, tuple]):
        """The network for inputs of these shapes (default: `HoCNN`)."""
        from .networks import HoCNN

        c, h, w = input_shapes["image"]
        if h != w:
            raise InputError(f"{type(self).__name__} needs square images; got {h}x{w}")
        params = {"dropout": float(self.dropout), **(self.network_params or {})}
        return HoCNN(in_channels=c, npix=h, n_outputs=self._n_outputs, **params)

    def _make_inputs(self, sample: Any, fit: bool) -> dict[str, np.ndarray]:
        """Network inputs of ``sample``; ``fit=True`` fits the transforms first."""
        raw = sample_images(sample, self._bands)
        images = raw.astype(np.float32)  # float32 throughout: 4 bytes per pixel
        z = np.asarray(sample.catalog["redshift"], dtype=float)
        if fit:
            self.transforms_ = {}
            self.training_means_ = {"counts": raw.mean(axis=0, dtype=np.float64)}
        tr = self.transforms_
        if self.depth_input == "scale":  # counts at the reference (median training) exposure
            from ._depth_input import scale_counts

            raw = images = scale_counts(self, sample, raw, fit)
        if self.normalise_redshift:
            from ..images import RedshiftNormalizer

            if fit:
                totals = raw.reshape(len(raw), -1).sum(axis=1, dtype=np.float64)
                tr["redshift_normalizer"] = RedshiftNormalizer().fit(totals, z).to_dict()
            norm = RedshiftNormalizer.from_dict(tr["redshift_normalizer"])
            images = np.asarray(norm.transform(images, z), dtype=np.float32)
        if self.log_scale:
            from ..images import log_scale

            images = np.asarray(log_scale(images), dtype=np.float32)
        if self.standardise:
            if fit:
                mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
                std = images.std(axis=(0, 2, 3), dtype=np.float64)
                tr["image_mean"] = mean.tolist()
                tr["image_std"] = np.where(std > 0, std, 1.0).tolist()
            images = images - np.asarray(tr["image_mean"], np.float32)[None, :, None, None]
            images /= np.asarray(tr["image_std"], np.float32)[None, :, None, None]
        if self.depth_input == "map":  # one more channel: the standardised log exposure
            from ._depth_input import exposure_channel

            images = np.concatenate([images, exposure_channel(self, sample, fit)], axis=1)
        inputs = {"image": images.astype(np.float32)}
        if self.redshift_input:
            if fit:
                tr["redshift_mean"] = float(z.mean())
                tr["redshift_std"] = float(z.std()) if z.std() > 0 else 1.0
            zs = (z - tr["redshift_mean"]) / tr["redshift_std"]
            inputs["redshift"] = zs.astype(np.float32)[:, None]
        return inputs

    def _make_trainer(self, progress: bool | None = None, checkpoint_path=None):
        from .training import Trainer

        return Trainer(
            loss=self.loss,
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            patience=int(self.patience),
            augment=self.augment,
            tta=self.tta,
            device=self.device,
            seed=int(self.seed),
            checkpoint_path=checkpoint_path,
            progress=progress,
            num_threads=self.num_threads,
        )

    def _scale_target(self, log_mass: np.ndarray) -> np.ndarray:
        t = self.transforms_
        return (np.asarray(log_mass, dtype=float) - t["target_mean"]) / t["target_std"]

    def _unscale_target(self, scaled: np.ndarray) -> np.ndarray:
        """Network output (scaled target) → log10 M500c; the inverse of `_scale_target`."""
        t = self.transforms_
        return np.asarray(scaled) * t["target_std"] + t["target_mean"]

    def _checkpoint_path(self, train: Any) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        h = hashlib.sha256()
        cat = train.catalog
        ids = cat["id"] if "id" in cat.colnames else np.arange(len(cat))
        h.update(np.asarray(ids).astype(np.int64).tobytes())
        h.update(np.asarray(cat["log10_m500c"], dtype=np.float64).tobytes())
        name = self.name or type(self).__name__
        return Path(self.checkpoint_dir) / f"{name}-seed{self.seed}-{h.hexdigest()[:12]}.pt"

    def _prepare_training(self, train: Any) -> tuple[dict, np.ndarray, np.ndarray | None, Any]:
        """Fit the input and target transforms on ``train``; return its network inputs,
        log masses, flat-mass weights (None unless ``sample_weighting='flat'``) and a
        freshly initialised network.
        """
        import torch

        x_tr = self._make_inputs(train, fit=True)
        y_tr = np.asarray(train.catalog["log10_m500c"], dtype=float)
        self.transforms_["target_mean"] = float(y_tr.mean())
        self.transforms_["target_std"] = float(y_tr.std()) if y_tr.std() > 0 else 1.0
        w_tr = flat_mass_weights(y_tr) if self.sample_weighting == "flat" else None
        self.input_shapes_ = {k: tuple(int(s) for s in v.shape[1:]) for k, v in x_tr.items()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            network = self._build_network(self.input_shapes_)
        return x_tr, y_tr, w_tr, network

    def _fit(
        self,
        sample: Any,
        validation: Any,
        *,
        progress: bool | None = None,
        resume: bool = False,
    ) -> None:
        train, val = self._split(sample, validation)
        x_tr, y_tr, w_tr, network = self._prepare_training(train)
        x_va = y_va = w_va = None
        if val is not None:
            x_va = self._make_inputs(val, fit=False)
            y_va = np.asarray(val.catalog["log10_m500c"], dtype=float)
            if w_tr is not None:  # the training bins, validation masses clipped into them
                edges = np.linspace(y_tr.min(), y_tr.max(), 11)
                w_va = flat_mass_weights(np.clip(y_va, edges[0], edges[-1]), edges=edges)
        trainer = self._make_trainer(progress, self._checkpoint_path(train))
        self.history_ = trainer.fit(
            network,
            x_tr,
            self._scale_target(y_tr),
            x_va,
            None if y_va is None else self._scale_target(y_va),
            sample_weight=w_tr,
            val_sample_weight=w_va,
            resume=resume,
        )
        self.network_ = network.cpu().eval()
        x_res, y_res = (x_va, y_va) if val is not None else (x_tr, y_tr)
        mu = self._network_predict(x_res)[:, 0]
        self.sigma_ = float(np.std(mu - y_res))

    # ------------------------------------------------------------ prediction
    def _network_predict(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Outputs in log10 M units: column 0 = mu, column 1 (NLL) = sigma in dex."""
        trainer = self._make_trainer(progress=False)
        out = trainer.predict(self.network_, inputs)
        self.network_.cpu()
        t = self.transforms_
        res = np.empty_like(out)
        res[:, 0] = self._unscale_target(out[:, 0])
        if out.shape[1] > 1:  # the σ floor of the NLL loss (LOG_SIGMA_MIN) holds here too
            res[:, 1] = np.exp(np.maximum(out[:, 1], LOG_SIGMA_MIN)) * t["target_std"]
        return res

    def _embedding(self, sample: Any) -> np.ndarray:
        """The network's features of each cluster: the activations entering its output layer."""
        from ._domain import network_embedding

        return network_embedding(self, self._make_inputs(sample, fit=False))

    def _domain_features(self, sample: Any) -> dict[str, np.ndarray]:
        """The base features plus the network's embedding (PCA-reduced by `DomainModel`)."""
        from ._domain import EMBEDDING

        return {**super()._domain_features(sample), EMBEDDING: self._embedding(sample)}

    def _predict(self, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        inputs = self._make_inputs(sample, fit=False)
        out = self._network_predict(inputs)
        if out.shape[1] > 1:
            return out[:, 0], out[:, 1]
        return out[:, 0], np.full(len(out), self.sigma_)

    # ------------------------------------------------------------ torch forward
    def count_inputs(self, sample: Any) -> dict[str, np.ndarray]:
        """The raw inputs of `forward_counts` for the clusters of ``sample``.

        Returns
        -------
        dict
            ``counts`` ``(N, n_band, npix, npix)`` float64 photon counts in the
            estimator's bands, ``redshift`` ``(N,)`` and, for estimators on
            dynamical cubes, ``cube`` ``(N, n, n, n)`` (``sample.cubes``).
        """
        out = {
            "counts": sample_images(sample, self.bands).astype(np.float64),
            "redshift": np.asarray(sample.catalog["redshift"], dtype=float),
        }
        if self.input_spec().get("cubes"):
            out["cube"] = np.asarray(sample.cubes, dtype=np.float64)
        return out

    def torch_inputs(self, counts: Any, redshift: Any, cube: Any = None) -> dict[str, Any]:
        """The network inputs, as torch tensors, of raw counts (and cubes) through the fitted
        transforms: what ``predict`` computes in numpy, differentiable.

        Parameters are those of `forward_counts`; the result goes to `forward_inputs`.
        """
        from ._forward import cube_input, image_inputs

        check_is_fitted(self)
        if getattr(self, "depth_input", None) is not None:
            raise InputError(
                f"{type(self).__name__}(depth_input={self.depth_input!r}) reads each cluster's "
                "exposure, which forward_counts does not take; attribution and the torch "
                "forward pass need a model trained with depth_input=None"
            )
        inputs = image_inputs(self, counts, redshift)
        if self.input_spec().get("cubes"):
            if cube is None:
                raise InputError(f"{type(self).__name__} needs the dynamical cubes: pass cube=")
            inputs["cube"] = cube_input(self, cube)
        elif cube is not None:
            raise InputError(f"{type(self).__name__} takes no dynamical cube")
        return inputs

    def forward_inputs(self, inputs: dict[str, Any]) -> Any:
        """Predicted log10 M500c, a torch tensor ``(B,)``, from network inputs (`torch_inputs`),
        with the test-time augmentation of ``tta``; the network moves to their device.
        """
        from ._forward import network_mu

        check_is_fitted(self)
        return network_mu(self, inputs)

    def forward_counts(self, counts: Any, redshift: Any, cube: Any = None) -> Any:
        """Predicted log10 M500c as a torch function of the raw photon counts.

        The fitted input transforms (Eq. 1 redshift normalisation, Eq. 2 log
        scaling, standardisation; the dynamical-cube scaling of the joint
        model), the network in evaluation mode and the test-time
        augmentation, in torch: equal to ``predict(...)['log10_m500c']`` up
        to float32 rounding, and differentiable with respect to ``counts``
        (and ``cube``). Attribution methods are built on it.

        Parameters
        ----------
        counts : torch.Tensor, shape (B, n_band, npix, npix)
            Photon counts in the estimator's bands (float; any device).
        redshift : array-like, shape (B,)
            Cluster redshifts (held fixed).
        cube : torch.Tensor, shape (B, n, n, n), optional
            Dynamical cubes ``[v, x, y]`` (``joint_cnn`` only).

        Returns
        -------
        torch.Tensor, shape (B,), float64

        Examples
        --------
        >>> import torch
        >>> from astroclustermass.testing import make_tiny_sample
        >>> s = make_tiny_sample(n=16, npix=16)
        >>> est = ImageCNNEstimator(max_epochs=1, device="cpu",
        ...     network_params={"conv": (2, 2, 2, 2), "dense": (4, 4, 4)}).fit(s, progress=False)
        >>> raw = est.count_inputs(s[:2])
        >>> f = est.forward_counts(torch.as_tensor(raw["counts"]), raw["redshift"])
        >>> bool(torch.allclose(f, torch.as_tensor(est.predict(s[:2])["log10_m500c"]), atol=1e-4))
        True
        """
        return self.forward_inputs(self.torch_inputs(counts, redshift, cube))

    def torch_networks(self) -> list:
        """The fitted torch network(s) `forward_counts` runs (to move them between devices)."""
        check_is_fitted(self)
        return [self.network_]

    # ------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        state = {
            "transforms": self.transforms_,
            "input_shapes": {k: list(v) for k, v in self.input_shapes_.items()},
            "history": self.history_.to_dict(),
            "sigma": float(self.sigma_),
            "n_outputs": self._n_outputs,
        }
        arrays = {}
        for key, value in self.network_.state_dict().items():
            arr = value.detach().cpu().contiguous().numpy()
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            arrays[f"net.{key}"] = arr
        for key, value in getattr(self, "training_means_", {}).items():
            arrays[f"mean.{key}"] = np.asarray(value, dtype=np.float32)
        return state, arrays

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        import torch

        from .training import TrainHistory

        self.transforms_ = dict(state["transforms"])
        self.input_shapes_ = {k: tuple(int(s) for s in v) for k, v in state["input_shapes"].items()}
        self.history_ = TrainHistory.from_dict(state["history"])
        self.sigma_ = float(state["sigma"])
        self.training_means_ = {
            k[len("mean.") :]: np.asarray(v, dtype=np.float64)
            for k, v in arrays.items()
            if k.startswith("mean.")
        }
        network = self._build_network(self.input_shapes_)
        weights = {
            k[len("net.") :]: torch.from_numpy(np.array(v))
            for k, v in arrays.items()
            if k.startswith("net.")
        }
        try:
            network.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            raise ModelFileError(
                f"the saved weights do not fit the {type(self).__name__} network: {err}"
            ) from err
        self.network_ = network.cpu().eval()

    # ------------------------------------------------------------ plotting
    @property
    def training_history_(self):
        """Alias of ``history_`` (the `TrainHistory` of the last fit)."""
        check_is_fitted(self)
        return self.history_

    def plot_history(self, ax: Any = None):
        """Plot training and validation loss per epoch; returns the matplotlib Figure.

        The restored (best) epoch is marked with a vertical line.
        """
        check_is_fitted(self)
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(5, 3.5))
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        h = self.history_
        epochs = np.arange(1, len(h.train_loss) + 1)
        ax.plot(epochs, h.train_loss, label="training")
        if np.isfinite(h.val_loss).any():
            ax.plot(epochs, h.val_loss, label="validation")
        if h.best_epoch >= 0:
            ax.axvline(h.best_epoch + 1, color="0.5", ls="--", lw=1, label="restored")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{self.loss} loss (scaled target)")
        ax.set_title(self.name or type(self).__name__)
        ax.legend()
        return fig
