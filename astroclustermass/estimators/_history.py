"""`TrainHistory`: per-epoch losses and the early-stopping outcome of a fit."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

__all__ = ["TrainHistory"]


@dataclass
class TrainHistory:
    """Per-epoch losses and the early-stopping outcome of `Trainer.fit`.

    Attributes
    ----------
    train_loss, val_loss : list of float
        Mean loss per epoch (``val_loss`` is NaN when no validation set).
    best_epoch : int
        0-based epoch whose weights were restored (-1 before training).
    best_val_loss : float
    epochs_run : int
    stopped_early : bool
    epoch_time : list of float
        Wall time of each epoch in seconds.

    Examples
    --------
    >>> h = TrainHistory(train_loss=[1.0, 0.5], val_loss=[0.9, 0.7], best_epoch=1,
    ...                  best_val_loss=0.7, epochs_run=2, stopped_early=False)
    >>> TrainHistory.from_dict(h.to_dict()) == h
    True
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    epochs_run: int = 0
    stopped_early: bool = False
    epoch_time: list[float] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict:
        """Plain dict of Python numbers and lists."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainHistory:
        """Inverse of `to_dict` (unknown keys are ignored)."""
        names = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in data.items() if k in names}
        for key in ("train_loss", "val_loss", "epoch_time"):
            kw[key] = [float(v) for v in kw.get(key, [])]
        return cls(**kw)
