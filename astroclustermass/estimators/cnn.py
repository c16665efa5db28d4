"""CNN mass estimators on X-ray photon maps (Ho et al. 2023; Lovig 2024).

All three are thin subclasses of `ImageCNNEstimator`, which fits the image
transforms on the training clusters, trains with the shared `Trainer` and
saves the transforms with the weights; they differ in their default bands,
network and training settings.

Examples
--------
>>> from astroclustermass.estimators import MassEstimator
>>> est = MassEstimator.from_name("multiband_cnn", max_epochs=5)
>>> est.bands, est.max_epochs
('erosita_3', 5)
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._cnn_base import ImageCNNEstimator, with_defaults

__all__ = ["SingleBandCNN", "MultiBandCNN", "GAPCNN"]


class SingleBandCNN(ImageCNNEstimator):
    """CNN on the single-band (0.5-10 keV) photon map, Ho et al. (2023) Sec. 4.1.

    The network is `~astroclustermass.estimators.networks.HoCNN` (363,629
    parameters at 128²): MSE loss, no dropout, Adam 1e-3, L2 1e-4 on the
    kernels, batch 50, up to 200 epochs with early stopping (patience 20) on
    a 10 % validation split of the training data. Inputs are the redshift-
    normalised (Eq. 1), log-scaled (Eq. 2) and standardised count maps. σ is
    the scatter of the validation residuals (the same for every cluster).
    Parameters are those of `ImageCNNEstimator`.

    Examples
    --------
    >>> est = SingleBandCNN(max_epochs=10, seed=1)
    >>> est.bands, est.loss, est.get_params()["seed"]
    ('bolometric', 'mse', 1)
    """

    name: ClassVar[str] = "single_band_cnn"


@with_defaults(bands="erosita_3")
class MultiBandCNN(ImageCNNEstimator):
    """CNN on multi-band photon maps, Ho et al. (2023) Sec. 5.1.

    The same network and training as `SingleBandCNN` with one input channel
    per band: eROSITA's soft, medium and hard bands (0.5-1.2, 1.2-2, 2-7 keV;
    364,829 parameters at 128²) by default, any `EnergyBands` allowed. The
    paper trains it exactly as the single-band model (MSE, no dropout); the
    reference code used MAE and dropout 0.1 (``loss='mae', dropout=0.1``).

    Examples
    --------
    >>> MultiBandCNN().bands, MultiBandCNN(bands="krippendorf_10").bands
    ('erosita_3', 'krippendorf_10')
    """

    name: ClassVar[str] = "multiband_cnn"


@with_defaults(bands="lovig_4", lr=5e-4, batch_size=16, max_epochs=100, augment=True, tta=True)
class GAPCNN(ImageCNNEstimator):
    """Small CNN with global average pooling, Lovig (2024) Fig. 6.

    Conv 16/32/64 @3×3 each followed by max-pool 2, global average pooling,
    dense 200 → 100 → 20 → 1 (58,869 parameters for 4 bands), on Lovig's four
    bands (0-2.5, 2.5-5, 5-7.5, >7.5 keV). Training follows the report:
    Adam 5e-4, batch 16, 100 epochs, all eight rotations/flips at training
    (``augment``) and test time (``tta``). Unlike the report, the maps are
    also redshift-normalised and standardised and early stopping watches a
    validation split (set ``normalise_redshift=False``, ``patience=100`` to
    follow it literally). ``network_params`` override the layer sizes (see
    `~astroclustermass.estimators.networks.GAPCNN`).

    Examples
    --------
    >>> est = GAPCNN()
    >>> est.bands, est.batch_size, est.augment, est.tta
    ('lovig_4', 16, True, True)
    """

    name: ClassVar[str] = "gap_cnn"

    _test_params: ClassVar[dict] = {
        **ImageCNNEstimator._test_params,
        "network_params": {"conv": (4, 4, 4), "dense": (8,)},
    }

    def _build_network(self, input_shapes: dict[str, tuple]) -> Any:
        from .networks import GAPCNN as GAPNet

        c, _, _ = input_shapes["image"]
        params = {"dropout": float(self.dropout), **(self.network_params or {})}
        return GAPNet(in_channels=c, n_outputs=self._n_outputs, **params)
