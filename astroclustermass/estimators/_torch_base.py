"""`TorchMassEstimator`: what every torch-trained estimator shares.

Torch estimators checkpoint their training and can resume it (``resume=``,
a keyword of `TorchMassEstimator.fit`), split a validation set off the
training data for early stopping (`split_validation`), and are never fitted
in forked worker processes (torch's thread pools do not survive a fork, and
torch already uses every core).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..bands import EnergyBands, get_bands
from ..exceptions import InputError
from ..sample.protocol import SampleLike
from .base import MassEstimator

__all__ = ["TorchMassEstimator", "split_validation"]


def split_validation(
    sample: Any, validation: Any, fraction: float, seed: int, min_validation: int = 1
) -> tuple[Any, Any]:
    """Split ``sample`` into (train, validation) unless a validation sample is given.

    The split is a seeded random ``fraction`` of the training data (never the
    test fold); ``fraction=0`` means no validation set.

    Examples
    --------
    >>> train, val = split_validation(list(range(10)), [99], 0.2, seed=0)
    >>> val
    [99]
    >>> train, val = split_validation(list(range(10)), None, 0.2, seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    if validation is not None or fraction == 0:
        return sample, validation
    n = len(sample)
    n_val = int(round(fraction * n))
    if n_val < min_validation or n - n_val < 2:
        raise InputError(
            f"a training sample of {n} clusters is too small for validation_fraction="
            f"{fraction}; pass a larger sample or a validation sample"
        )
    perm = np.random.default_rng(seed).permutation(n)
    idx_train, idx_val = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    if isinstance(sample, list):
        return [sample[i] for i in idx_train], [sample[i] for i in idx_val]
    return sample[idx_train], sample[idx_val]


class TorchMassEstimator(MassEstimator):
    """Base class of estimators trained with torch: adds ``resume=`` to `fit`.

    Subclasses have a ``bands`` hyper-parameter, resolved once at `fit` into
    the fitted attribute ``bands_`` (an `~astroclustermass.bands.EnergyBands`)
    that every later check and prediction uses, and implement
    ``_fit(sample, validation, *, progress, resume)``.

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> est = MassEstimator.from_name("multiband_cnn")
    >>> isinstance(est, TorchMassEstimator), est.parallel_folds
    (True, False)
    """

    parallel_folds: ClassVar[bool] = False
    #: smallest validation set `_split` accepts
    _min_validation: ClassVar[int] = 1

    def fit(
        self,
        sample: SampleLike,
        *,
        validation: SampleLike | None = None,
        progress: bool | None = None,
        resume: bool = False,
    ):
        """Train on ``sample``; returns self.

        Parameters
        ----------
        sample : `~astroclustermass.ClusterSample`
            Training clusters with ``log10_m500c``.
        validation : `~astroclustermass.ClusterSample`, optional
            Early-stopping set (part of the training data, never the test
            fold); default: a seeded ``validation_fraction`` split of ``sample``.
        progress : bool or None
            Progress bar (None: only on a terminal).
        resume : bool
            Continue an interrupted fit from the checkpoint in
            ``checkpoint_dir`` (same sample and hyper-parameters); the result
            equals that of an uninterrupted fit.
        """
        self.bands_ = get_bands(self.bands)  # resolved once; predict uses these
        return self._run_fit(sample, validation, progress=progress, resume=bool(resume))

    @property
    def _bands(self) -> EnergyBands:
        """The input bands: ``bands_`` once fitted, else ``bands`` resolved."""
        fitted = self.__dict__.get("bands_")
        return fitted if fitted is not None else get_bands(self.bands)

    def _split(self, sample: Any, validation: Any) -> tuple[Any, Any]:
        """(train, validation): ``validation`` if given, else a seeded split of ``sample``.

        The split takes ``validation_fraction`` of the clusters, drawn with
        ``seed``; its size is recorded as ``n_validation_``.
        """
        train, val = split_validation(
            sample, validation, self.validation_fraction, self.seed, self._min_validation
        )
        self.n_validation_ = 0 if val is None else len(val)
        return train, val
