"""Exception and warning classes of astroclustermass.

Every error a user can cause with bad input is raised as one of these classes,
with a message that names the offending file, column or value and says how to
fix it. All errors derive from :class:`AstroClusterMassError`, so a caller can
catch everything the package raises on purpose with one ``except`` clause.

Examples
--------
>>> from astroclustermass.exceptions import InputError, AstroClusterMassError
>>> try:
...     raise InputError("column 'RA' is missing from events.fits")
... except AstroClusterMassError as err:
...     print(err)
column 'RA' is missing from events.fits
"""

from __future__ import annotations

__all__ = [
    "AstroClusterMassError",
    "InputError",
    "FileFormatError",
    "MissingColumnError",
    "EmptyInputError",
    "UnitError",
    "OutputExistsError",
    "BandMismatchError",
    "IncompatibleSampleError",
    "NotFittedError",
    "UnknownNameError",
    "ModelFileError",
    "PluginError",
    "AstroClusterMassWarning",
    "OutOfRangeWarning",
    "DomainShiftWarning",
    "PluginWarning",
    "VersionMismatchWarning",
    "RecoveryWarning",
    "ConvergenceWarning",
]


class AstroClusterMassError(Exception):
    """Base class of every error raised on purpose by astroclustermass."""


class InputError(AstroClusterMassError, ValueError):
    """Input data or arguments are invalid (NaN/inf, wrong shape, bad value)."""


class FileFormatError(InputError):
    """A file is missing, corrupt, truncated or not in a recognised format."""


class MissingColumnError(InputError, KeyError):
    """A table or FITS extension lacks a required column.

    Notes
    -----
    Derives from `KeyError` as well, but formats its message like a
    `ValueError` (no extra quotes).
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class EmptyInputError(InputError):
    """An event list, table or sample holds nothing where something is required."""


class UnitError(InputError):
    """A quantity has units that cannot be converted to the expected ones."""


class OutputExistsError(InputError, FileExistsError):
    """An output path exists and may not be replaced (``overwrite=False``, or foreign files).

    Parameters
    ----------
    message : str
        What exists and how to proceed.
    path : path-like, optional
        The output path, kept as ``.path``.

    Examples
    --------
    >>> err = OutputExistsError("out.h5 exists", path="out.h5")
    >>> isinstance(err, FileExistsError), err.path
    (True, 'out.h5')
    """

    def __init__(self, message: str, *, path=None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BandMismatchError(InputError):
    """Images were built with other energy bands than the model was trained on."""


class IncompatibleSampleError(InputError):
    """A sample differs from the training sample (npix, aperture, cosmology, inputs)."""


class NotFittedError(AstroClusterMassError, ValueError, AttributeError):
    """An estimator or transform is used before ``fit`` was called."""


class UnknownNameError(AstroClusterMassError, KeyError):
    """A registry lookup (estimator, attribution, band preset, format) failed."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelFileError(AstroClusterMassError):
    """A saved model is unreadable, tampered with or from an incompatible version."""


class PluginError(AstroClusterMassError):
    """A plugin is malformed (bad hook implementation, duplicate name)."""


class AstroClusterMassWarning(UserWarning):
    """Base class of every warning issued by astroclustermass."""


class OutOfRangeWarning(AstroClusterMassWarning):
    """Input lies outside the range a model or relation was calibrated on."""


class DomainShiftWarning(OutOfRangeWarning):
    """The clusters to predict differ from the training clusters (photon counts against
    redshift, image statistics, the network's features); see the prediction's
    ``out_of_distribution`` and ``domain_distance`` columns.
    """


class PluginWarning(AstroClusterMassWarning):
    """A third-party plugin failed to load; the others keep working."""


class VersionMismatchWarning(AstroClusterMassWarning):
    """A saved model was written by another version of astroclustermass."""


class RecoveryWarning(AstroClusterMassWarning):
    """A file or model was restored from the copy an interrupted save left behind."""


class ConvergenceWarning(AstroClusterMassWarning):
    """Training ran all its epochs without early stopping: it may not have converged."""
