"""Neural networks of the CNN estimators: plain `torch.nn.Module` classes.

* `HoCNN` — the single/multi-band CNN of Ho et al. (2023), Sec. 4.1 and 5.1.
* `JointCNN` — the joint 2-D X-ray + 3-D phase-space network, Sec. 5.2 / Fig. 5.
* `KrippendorfCNN` — conv + average pooling with the redshift at the first
  dense layer and outputs ``(mu, log_sigma)`` (Krippendorf et al. 2023).
* `GAPCNN` — the global-average-pooling CNN of Lovig (2024), Fig. 6.

Every network is called as ``net(image=..., [cube=...], [redshift=...])``
and returns ``(B, n_outputs)``. This module needs only torch (no astropy).

Examples
--------
>>> from astroclustermass.estimators.networks import HoCNN, count_parameters
>>> count_parameters(HoCNN(in_channels=3, npix=128))
364829
"""

from ._net2d import (
    GAPCNN,
    ConvStack2d,
    DenseHead,
    HoCNN,
    KrippendorfCNN,
    SameConv2d,
    count_parameters,
    keras_init_,
)
from ._net3d import ConvStack3d, JointCNN

__all__ = [
    "HoCNN",
    "JointCNN",
    "KrippendorfCNN",
    "GAPCNN",
    "SameConv2d",
    "ConvStack2d",
    "ConvStack3d",
    "DenseHead",
    "count_parameters",
    "keras_init_",
]
