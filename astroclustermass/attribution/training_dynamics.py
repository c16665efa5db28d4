"""Channel dynamics: how a CNN's predictions change as energy bands are added (Lovig 2024 §4).

Lovig's protocol trains one network in phases. Phase 1 sees only the first
(lowest-energy) band, with every other channel zeroed; each later phase adds
the next band. A phase is ``epochs_per_phase`` epochs, then the weights get a
little Gaussian noise (to leave the minimum the previous inputs settled in)
and train ``extra_epochs`` more. After every epoch the held-out clusters are
predicted. `TrainingDynamics.plot` draws Lovig's Fig. 10: epochs along x, test
clusters sorted by true mass along y, colour = prediction minus the mean true
mass, the truth as the last column, white lines between phases. A cluster
whose colour only matches its truth once a band is added is one that band
helps.

A zeroed channel is zero *after* the estimator's fitted input transforms
(Eq. 1, Eq. 2, per-channel standardisation, all fitted on the full-band
training maps): it holds the channel's training mean everywhere, so it
carries no information. Differences from the report: the Adam moments
restart at each phase (the report kept one Keras optimiser), and the noise
is relative to each weight tensor's RMS.

Examples
--------
>>> from astroclustermass.attribution import channel_dynamics
>>> from astroclustermass.estimators import MassEstimator
>>> from astroclustermass.testing import make_tiny_sample
>>> s = make_tiny_sample(n=40, bands=("erosita_3",), npix=16)
>>> est = MassEstimator.from_name(
...     "multiband_cnn", network_params={"conv": (4, 4, 4, 4), "dense": (8,)},
...     batch_size=16, device="cpu", num_threads=1)
>>> dyn = channel_dynamics(est, s[:30], s[30:], epochs_per_phase=2, progress=False)
>>> dyn.predictions.shape, dyn.phase.tolist()
((9, 10), [1, 1, 1, 2, 2, 2, 3, 3, 3])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from ..bands import EnergyBands, get_bands
from ..exceptions import InputError
from ._map import read_hdf5, save_png, write_hdf5

__all__ = ["TrainingDynamics", "channel_dynamics"]

_FORMAT = "astroclustermass.TrainingDynamics"
_ARRAYS = ("predictions", "truth", "phase", "perturbed", "ids", "train_loss")


class TrainingDynamics:
    """Per-epoch predictions on held-out clusters while bands are added (see `channel_dynamics`).

    Parameters
    ----------
    predictions : array-like, shape (n_epochs, n_test)
        Predicted log10 M500c of every test cluster after every epoch.
    truth : array-like, shape (n_test,)
        True log10 M500c.
    phase : array-like of int, shape (n_epochs,)
        Number of bands the network saw in each epoch.
    perturbed : array-like of bool, shape (n_epochs,)
        Epochs trained after the weight perturbation that ends each phase.
    bands : `~astroclustermass.bands.EnergyBands` or str
        The bands, in the estimator's channel order.
    order : sequence of int
        Channel indices in the order they were added.
    ids : array-like, optional
        Test cluster ids (default 0..n_test-1).
    train_loss : array-like, shape (n_epochs,), optional
        Training loss of each epoch.
    meta : dict, optional
        Provenance (estimator, settings); JSON-safe.

    Examples
    --------
    >>> import numpy as np
    >>> dyn = TrainingDynamics(np.array([[14.0, 14.0], [13.6, 14.4]]), [13.5, 14.5],
    ...                        [1, 2], [False, False], "bolometric", [0])
    >>> dyn.scatter().round(3).tolist()
    [0.5, 0.1]
    """

    def __init__(
        self,
        predictions: Any,
        truth: Any,
        phase: Any,
        perturbed: Any,
        bands: Any,
        order: Sequence[int],
        ids: Any = None,
        train_loss: Any = None,
        meta: dict | None = None,
    ) -> None:
        self.predictions = np.asarray(predictions, dtype=np.float64)
        self.truth = np.asarray(truth, dtype=np.float64)
        self.phase = np.asarray(phase, dtype=np.int64)
        self.perturbed = np.asarray(perturbed, dtype=bool)
        self.bands = get_bands(bands)
        self.order = [int(k) for k in order]
        n_ep, n_te = self.predictions.shape if self.predictions.ndim == 2 else (-1, -1)
        if n_ep < 0 or self.truth.shape != (n_te,):
            raise InputError(
                f"predictions must be (n_epochs, n_test) and truth (n_test,); got "
                f"{self.predictions.shape} and {self.truth.shape}"
            )
        if self.phase.shape != (n_ep,) or self.perturbed.shape != (n_ep,):
            raise InputError(f"phase and perturbed need one entry per epoch ({n_ep})")
        self.ids = np.arange(n_te) if ids is None else np.asarray(ids)
        self.train_loss = (
            np.full(n_ep, np.nan) if train_loss is None else np.asarray(train_loss, float)
        )
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self.phase)

    def __repr__(self) -> str:
        return (
            f"<TrainingDynamics: {len(self)} epochs, {len(self.truth)} test clusters, "
            f"bands {self.bands.name} added in order {self.order}>"
        )

    # ------------------------------------------------------------ numbers
    def scatter(self) -> np.ndarray:
        """Standard deviation of ``prediction - truth`` (dex) after each epoch."""
        return np.std(self.predictions - self.truth[None], axis=1)

    def rank_correlation(self) -> np.ndarray:
        """Spearman ρ between predictions and truth after each epoch: how well the
        network *orders* the clusters, the question Lovig's figure asks.
        """
        from scipy.stats import spearmanr

        out = np.empty(len(self))
        for k, pred in enumerate(self.predictions):
            out[k] = spearmanr(pred, self.truth)[0] if np.ptp(pred) > 0 else 0.0
        return out

    def summary(self) -> Table:
        """One row per phase: the bands seen and the scatter and ρ at its last epoch.

        Examples
        --------
        >>> import numpy as np
        >>> dyn = TrainingDynamics(np.array([[14.0, 14.0], [13.6, 14.4]]), [13.5, 14.5],
        ...                        [1, 2], [False, False], "erosita_3", [0, 1])
        >>> [str(b) for b in dyn.summary()["bands"]]
        ['0.5-1.2 keV', '0.5-1.2 keV + 1.2-2 keV']
        """
        scatter, rho = self.scatter(), self.rank_correlation()
        rows = []
        for p in np.unique(self.phase):
            last = np.flatnonzero(self.phase == p)[-1]
            labels = " + ".join(self.bands.labels[k] for k in self.order[:p])
            rows.append((int(p), labels, int(last + 1), scatter[last], rho[last]))
        return Table(
            rows=rows,
            names=("phase", "bands", "epoch", "scatter_dex", "spearman"),
            dtype=(int, str, int, float, float),
        )

    # ------------------------------------------------------------ plots
    def _boundaries(self) -> list[int]:
        return [int(k) for k in np.flatnonzero(np.diff(self.phase)) + 1]

    def plot(self, path: str | os.PathLike | None = None, ax: Any = None, cmap: str = "RdBu_r"):
        """Lovig's Fig. 10: per-epoch predictions of the test clusters, sorted by truth.

        Parameters
        ----------
        path : path-like, optional
            Write the figure to this PNG file (atomically).
        ax : matplotlib Axes, optional
            Draw into these axes (default: a new figure).
        cmap : str
            Diverging colour map, centred on the mean true mass.

        Returns
        -------
        fig : `matplotlib.figure.Figure`
        """
        order = np.argsort(self.truth, kind="stable")
        mean = float(self.truth.mean())
        grid = np.concatenate([self.predictions[:, order], self.truth[None, order]]) - mean
        lim = float(np.max(np.abs(self.truth - mean))) or 1.0
        if ax is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(7.5, 4.8), layout="constrained")
            ax = fig.add_subplot()
        fig = ax.figure
        n_ep = len(self)
        im = ax.imshow(
            grid.T,
            origin="lower",
            aspect="auto",
            cmap=cmap,
            vmin=-lim,
            vmax=lim,
            interpolation="nearest",
            extent=(0.5, n_ep + 1.5, -0.5, len(order) - 0.5),
        )
        for b in self._boundaries() + [n_ep]:
            ax.axvline(b + 0.5, color="white", lw=1.5)
        for p, start in zip(np.unique(self.phase), [0] + self._boundaries()):
            k = self.order[p - 1]
            ax.text(
                start + 1,
                len(order) - 0.5,
                f"+{self.bands.labels[k]}",
                va="bottom",
                ha="left",
                fontsize=7,
                clip_on=False,
            )
        ax.set_xlabel("epoch (last column: truth)")
        ax.set_ylabel("test clusters, sorted by true mass")
        fig.colorbar(im, ax=ax, label=r"$\log_{10} M_{500c}$ − mean truth [dex]")
        if path is not None:
            save_png(fig, path)
        return fig

    def plot_metrics(self, path: str | os.PathLike | None = None):
        """Scatter (dex) and Spearman ρ of the test predictions against epoch, by phase.

        Returns
        -------
        fig : `matplotlib.figure.Figure`
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        epochs = np.arange(1, len(self) + 1)
        ax1.plot(epochs, self.scatter(), color="C0")
        ax1.set_ylabel("scatter [dex]")
        ax2.plot(epochs, self.rank_correlation(), color="C1")
        ax2.set_ylabel(r"Spearman $\rho$")
        ax2.set_xlabel("epoch")
        for ax in (ax1, ax2):
            for b in self._boundaries():
                ax.axvline(b + 0.5, color="0.6", lw=1, ls="--")
        if path is not None:
            save_png(fig, path)
        return fig

    # ------------------------------------------------------------ I/O
    def write(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write to an HDF5 file (atomically: temporary file, then rename).

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> dyn = TrainingDynamics(np.zeros((2, 3)), [1.0, 2.0, 3.0], [1, 1], [False, True],
        ...                        "bolometric", [0])
        >>> p = dyn.write(pathlib.Path(tempfile.mkdtemp()) / "dynamics.h5")
        >>> TrainingDynamics.read(p).perturbed.tolist()
        [False, True]
        """
        meta = {
            "format": _FORMAT,
            "bands": self.bands.to_dict(),
            "order": self.order,
            "meta": self.meta,
        }
        with write_hdf5(path, meta, overwrite) as f:
            for name in _ARRAYS:
                f.create_dataset(name, data=getattr(self, name))
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike) -> TrainingDynamics:
        """Read a file written by `write`.

        Raises
        ------
        FileFormatError
            When the file is missing or is not a training-dynamics file.
        """
        with read_hdf5(path, _FORMAT, "training-dynamics") as (f, meta):
            arrays = {k: np.asarray(f[k]) for k in _ARRAYS}
            return cls(
                **{k: arrays[k] for k in ("predictions", "truth", "phase", "perturbed")},
                bands=EnergyBands.from_dict(meta["bands"]),
                order=meta["order"],
                ids=arrays["ids"],
                train_loss=arrays["train_loss"],
                meta=meta["meta"],
            )


def _masked(inputs: dict[str, np.ndarray], keep: Sequence[int]) -> dict[str, np.ndarray]:
    """Copy of the network inputs with every image channel not in ``keep`` set to 0."""
    out = dict(inputs)
    image = inputs["image"].copy()
    drop = np.setdiff1d(np.arange(image.shape[1]), np.asarray(keep, dtype=int))
    image[:, drop] = 0.0
    out["image"] = image
    return out


def _perturb(network: Any, noise: float, seed: int) -> None:
    """Add Gaussian noise of ``noise`` × RMS to every weight tensor (in place)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in network.parameters():
            rms = float(p.detach().float().pow(2).mean().sqrt())
            step = torch.randn(p.shape, generator=gen, dtype=torch.float32) * (noise * rms)
            p.add_(step.to(device=p.device, dtype=p.dtype))


def channel_dynamics(
    estimator: Any,
    train: Any,
    test: Any,
    *,
    epochs_per_phase: int = 50,
    extra_epochs: int = 1,
    noise: float = 0.05,
    order: Sequence[int] | None = None,
    progress: bool | None = None,
) -> TrainingDynamics:
    """Train a multi-band CNN one band at a time and record its test predictions.

    Lovig (2024) §4.1: phase ``k`` trains on the first ``k`` bands of
    ``order`` (the others zeroed) for ``epochs_per_phase`` epochs, perturbs
    the weights and trains ``extra_epochs`` more; the test clusters are
    predicted after every epoch. ``estimator`` itself is left untouched (a
    clone is trained).

    Parameters
    ----------
    estimator : `~astroclustermass.estimators.ImageCNNEstimator`
        A CNN on photon maps with at least two bands (``multiband_cnn``,
        ``gap_cnn``, ``joint_cnn``, ...); its settings (network, learning
        rate, batch size, augmentation, transforms, device, seed) are used.
    train, test : `~astroclustermass.ClusterSample`
        Training clusters and held-out clusters (both with ``log10_m500c``).
    epochs_per_phase : int
        Epochs per phase (Lovig: 50).
    extra_epochs : int
        Epochs after each phase's weight perturbation (Lovig: 1).
    noise : float
        Standard deviation of the perturbation relative to each weight
        tensor's RMS (0 turns it off).
    order : sequence of int, optional
        Order in which channels are added (default: increasing energy).
    progress : bool or None
        Progress bars (None: only on a terminal).

    Returns
    -------
    TrainingDynamics

    Raises
    ------
    InputError
        Not an image CNN, fewer than two bands, a bad ``order``, or
        samples without true masses.
    """
    from ..estimators._cnn_base import ImageCNNEstimator
    from ..estimators.base import clone

    if not isinstance(estimator, ImageCNNEstimator):
        raise InputError(
            "channel_dynamics needs a CNN estimator on photon maps (e.g. multiband_cnn, "
            f"gap_cnn); got {type(estimator).__name__}"
        )
    est = clone(estimator)
    bands = get_bands(est.bands)
    order = list(range(bands.n_bands)) if order is None else [int(k) for k in order]
    if bands.n_bands < 2:
        raise InputError(f"channel dynamics needs at least two bands; {bands.name} has one")
    if sorted(order) != list(range(bands.n_bands)):
        raise InputError(f"order must be a permutation of 0..{bands.n_bands - 1}; got {order}")
    if int(epochs_per_phase) < 1 or int(extra_epochs) < 0 or not noise >= 0:
        raise InputError(
            "epochs_per_phase must be >= 1, extra_epochs >= 0 and noise >= 0; got "
            f"{epochs_per_phase}, {extra_epochs}, {noise}"
        )
    for role, s in (("training", train), ("test", test)):
        est._check_inputs(s, role)
        if "log10_m500c" not in s.catalog.colnames:
            raise InputError(f"the {role} sample needs true masses (log10_m500c)")

    x_tr, y_tr, weight, network = est._prepare_training(train)
    x_te = est._make_inputs(test, fit=False)
    trainer = est._make_trainer(progress)
    trainer.restore_best = False  # the protocol continues from the last weights
    target = est._scale_target(y_tr)

    preds: list[np.ndarray] = []
    phase: list[int] = []
    perturbed: list[bool] = []
    losses: list[float] = []

    def record(k: int, after_noise: bool, x_test: dict) -> Any:
        def callback(epoch: int, history: Any) -> None:
            preds.append(est._unscale_target(trainer.predict(network, x_test)[:, 0]))
            phase.append(k)
            perturbed.append(after_noise)
            losses.append(history.train_loss[-1])

        return callback

    for k in range(1, bands.n_bands + 1):
        keep = order[:k]
        x_tr_k, x_te_k = _masked(x_tr, keep), _masked(x_te, keep)
        trainer.seed = int(est.seed) + k  # a fresh shuffling order per phase
        trainer.max_epochs = int(epochs_per_phase)
        trainer.fit(
            network, x_tr_k, target, sample_weight=weight, callback=record(k, False, x_te_k)
        )
        if extra_epochs:
            if noise > 0:
                _perturb(network, float(noise), int(est.seed) + 1000 + k)
            trainer.max_epochs = int(extra_epochs)
            trainer.fit(
                network, x_tr_k, target, sample_weight=weight, callback=record(k, True, x_te_k)
            )
    meta = {
        "estimator": est.name or type(est).__name__,
        "params": est.get_params(),
        "epochs_per_phase": int(epochs_per_phase),
        "extra_epochs": int(extra_epochs),
        "noise": float(noise),
    }
    ids = test.catalog["id"] if "id" in test.catalog.colnames else None
    return TrainingDynamics(
        np.array(preds),
        np.asarray(test.catalog["log10_m500c"], dtype=float),
        phase,
        perturbed,
        bands,
        order,
        ids=None if ids is None else np.asarray(ids),
        train_loss=losses,
        meta=meta,
    )
