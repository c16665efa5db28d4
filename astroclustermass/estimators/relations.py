r"""Published scaling relations as objects, and mass-definition conversion.

A `ScalingRelation` is a log-linear relation between a cluster observable
``S`` and its mass ``M`` (default M500c), written in the *forward* form

.. math::

    S = N \, (M / M_p)^{B} \, [E(z) / E(z_p)]^{\gamma}

with normalisation ``N`` (in ``unit``), pivot mass ``M_p``, slope ``B``,
E(z) power ``γ`` and log-normal intrinsic scatter. Relations published in
the *inverse* form ``M = A (S / S_0)^α E(z)^δ`` (e.g. X-ray M–T relations)
are read with `ScalingRelation.from_inverse`, which keeps the published
numbers and converts exactly (``M_p = A``, ``N = S_0``, ``B = 1/α``,
``γ = -δ/α``). The scatter is stored along the axis it was published on.

Masses in the package are h⁻¹ M☉; ``h_convention`` says how the relation's
masses scale with h: ``'h100'`` (h⁻¹ M☉), ``'h70'`` (h₇₀⁻¹ M☉, i.e. M☉ for
H0 = 70 km/s/Mpc) or ``'none'`` (M☉ for the cosmology passed in). Observables
are in the relation's own units and h convention (see each relation's ``note``).

Examples
--------
>>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
>>> log10_m, sigma = rel.predict_mass(5.0, 0.05)
>>> round(float(log10_m), 3), round(float(sigma), 3)
(14.416, 0.039)
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import as_finite_array, atomic_write
from ..cosmology import get_cosmology
from ..exceptions import FileFormatError, InputError, OutOfRangeWarning, UnknownNameError
from ._nfw import concentration_duffy08, convert_mass_definition

__all__ = [
    "ScalingRelation",
    "available_relations",
    "convert_mass_definition",
    "concentration_duffy08",
]

LN10 = float(np.log(10.0))
_H_CONVENTIONS = ("h100", "h70", "none")
_FIELDS = (
    "observable",
    "unit",
    "pivot_mass",
    "pivot_redshift",
    "slope",
    "normalisation",
    "ez_power",
    "scatter",
    "scatter_axis",
    "mass_definition",
    "valid_mass_range",
    "valid_redshift_range",
    "valid_observable_range",
    "reference",
    "h_convention",
    "name",
    "note",
)


def _range(value: Any, what: str) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = (float(v) for v in value)
    if not lo < hi:
        raise InputError(f"{what} must be (low, high) with low < high; got {value!r}")
    return (lo, hi)


@dataclass
class ScalingRelation:
    """A log-linear observable–mass relation ``S = N (M/M_p)^B [E(z)/E(z_p)]^γ``.

    Parameters
    ----------
    observable : str
        What ``S`` is (``'T'``, ``'L_X'``, ``'Y_X'``, ...).
    unit : str
        Unit of ``S`` (an astropy unit string such as ``'keV'``).
    pivot_mass : float
        ``M_p`` in M☉ under ``h_convention``.
    pivot_redshift : float
        ``z_p``; ``E(z_p)`` divides ``E(z)``.
    slope : float
        ``B = d ln S / d ln M``.
    normalisation : float
        ``N``, the observable at ``M = M_p``, ``z = z_p``.
    ez_power : float
        ``γ``.
    scatter : float
        Intrinsic log-normal scatter (natural log).
    scatter_axis : {'observable', 'mass'}
        Whether ``scatter`` is of ln S at fixed M or of ln M at fixed S.
    mass_definition : str
        ``'500c'``, ``'200c'``, ...
    valid_mass_range, valid_redshift_range, valid_observable_range : (float, float), optional
        Where the relation was calibrated (mass in M☉ under ``h_convention``);
        predictions outside warn with `OutOfRangeWarning`.
    reference : str
        Citation.
    h_convention : {'h100', 'h70', 'none'}
        How the relation's masses scale with h (see the module notes).
    name : str
        Short identifier.
    note : str
        Free text: the published form, caveats.

    Examples
    --------
    >>> rel = ScalingRelation("T", "keV", pivot_mass=3e14, pivot_redshift=0.0, slope=2 / 3,
    ...                       normalisation=5.0, ez_power=2 / 3, scatter=0.1)
    >>> round(float(rel.predict_observable(np.log10(3e14), 0.0)), 3)  # h100: M_p is 3e14 h^-1
    5.0
    """

    observable: str
    unit: str
    pivot_mass: float
    pivot_redshift: float
    slope: float
    normalisation: float
    ez_power: float
    scatter: float
    scatter_axis: str = "observable"
    mass_definition: str = "500c"
    valid_mass_range: tuple[float, float] | None = None
    valid_redshift_range: tuple[float, float] | None = None
    valid_observable_range: tuple[float, float] | None = None
    reference: str = ""
    h_convention: str = "h100"
    name: str = ""
    note: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        for key in ("pivot_mass", "normalisation"):
            value = float(getattr(self, key))
            if not np.isfinite(value) or value <= 0:
                raise InputError(f"{key} must be a positive number; got {value!r}")
            setattr(self, key, value)
        for key in ("pivot_redshift", "slope", "ez_power", "scatter"):
            value = float(getattr(self, key))
            if not np.isfinite(value):
                raise InputError(f"{key} must be finite; got {value!r}")
            setattr(self, key, value)
        if self.slope == 0:
            raise InputError("slope must be non-zero (the relation could not be inverted)")
        if self.scatter < 0:
            raise InputError(f"scatter must be >= 0; got {self.scatter}")
        if self.scatter_axis not in ("observable", "mass"):
            raise InputError(
                f"scatter_axis must be 'observable' or 'mass'; got {self.scatter_axis!r}"
            )
        if self.h_convention not in _H_CONVENTIONS:
            raise InputError(
                f"h_convention must be one of {_H_CONVENTIONS}; got {self.h_convention!r}"
            )
        self.valid_mass_range = _range(self.valid_mass_range, "valid_mass_range")
        self.valid_redshift_range = _range(self.valid_redshift_range, "valid_redshift_range")
        self.valid_observable_range = _range(self.valid_observable_range, "valid_observable_range")

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_inverse(
        cls,
        observable: str,
        unit: str,
        mass_normalisation: float,
        pivot_observable: float,
        slope: float,
        ez_power: float,
        scatter_ln_mass: float,
        **kwargs: Any,
    ) -> ScalingRelation:
        """A relation published as ``M = A (S / S_0)^α E(z)^δ`` with scatter of ln M.

        Parameters
        ----------
        observable, unit : str
        mass_normalisation : float
            ``A`` in M☉ (under ``h_convention``).
        pivot_observable : float
            ``S_0`` in ``unit``.
        slope : float
            ``α = d ln M / d ln S``.
        ez_power : float
            ``δ``; e.g. -1 for ``E(z) M = A (T / 5 keV)^α``.
        scatter_ln_mass : float
            Intrinsic scatter of ln M at fixed S.
        **kwargs
            Other `ScalingRelation` fields (ranges, reference, ...).

        Examples
        --------
        >>> rel = ScalingRelation.from_inverse("T", "keV", 1e14, 5.0, 1.5, -1.0, 0.1)
        >>> round(rel.slope, 4), round(rel.ez_power, 4)
        (0.6667, 0.6667)
        """
        if slope == 0:
            raise InputError("slope must be non-zero")
        return cls(
            observable=observable,
            unit=unit,
            pivot_mass=mass_normalisation,
            pivot_redshift=0.0,
            slope=1.0 / slope,
            normalisation=pivot_observable,
            ez_power=-ez_power / slope,
            scatter=scatter_ln_mass,
            scatter_axis="mass",
            **kwargs,
        )

    @classmethod
    def from_literature(cls, name: str) -> ScalingRelation:
        """A relation shipped with the package (see `available_relations`).

        Raises
        ------
        UnknownNameError
            Listing the shipped names.

        Examples
        --------
        >>> ScalingRelation.from_literature("arnaud07_m500_tx").observable
        'T'
        """
        data = _literature()
        if name not in data:
            import difflib

            close = difflib.get_close_matches(name, list(data), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown relation {name!r}; shipped relations: {', '.join(data)}.{hint}"
            )
        return cls.from_dict(data[name])

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """JSON-safe dict of the forward-form fields.

        Examples
        --------
        >>> ScalingRelation.from_literature("arnaud07_m500_tx").to_dict()["ez_power"] > 0
        True
        """
        out = asdict(self)
        for key in ("valid_mass_range", "valid_redshift_range", "valid_observable_range"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ScalingRelation:
        """Rebuild from `to_dict` output, or from ``{"form": "inverse", ...}`` entries.

        Inverse entries take the arguments of `from_inverse`, where
        ``log10_mass_normalisation`` and ``scatter_log10_mass`` (dex) may replace
        ``mass_normalisation`` and ``scatter_ln_mass``.

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_mgas")
        >>> ScalingRelation.from_dict(rel.to_dict()) == rel
        True
        """
        if not isinstance(data, dict):
            raise InputError(f"a scaling relation must be a JSON object; got {type(data).__name__}")
        data = dict(data)
        form = data.pop("form", "forward")
        data.pop("published", None)
        try:
            if form == "inverse":
                if "log10_mass_normalisation" in data:
                    data["mass_normalisation"] = 10.0 ** float(data.pop("log10_mass_normalisation"))
                if "scatter_log10_mass" in data:
                    data["scatter_ln_mass"] = LN10 * float(data.pop("scatter_log10_mass"))
                return cls.from_inverse(**data)
            if form != "forward":
                raise InputError(f"unknown relation form {form!r}; use 'forward' or 'inverse'")
            unknown = set(data) - set(_FIELDS)
            if unknown:
                raise InputError(f"unknown scaling-relation fields: {sorted(unknown)}")
            return cls(**data)
        except TypeError as err:
            raise InputError(f"invalid scaling relation {data.get('name', '')!r}: {err}") from err

    def to_json(self) -> str:
        """The relation as a JSON string (see `to_dict`).

        Examples
        --------
        >>> '"observable": "T"' in ScalingRelation.from_literature("arnaud07_m500_tx").to_json()
        True
        """
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ScalingRelation:
        """Rebuild from `to_json` output.

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> ScalingRelation.from_json(rel.to_json()) == rel
        True
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON: {err}") from err
        return cls.from_dict(data)

    def write(self, path: str | Path, overwrite: bool = True) -> Path:
        """Write the relation to a JSON file (atomically).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "rel.json"
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> ScalingRelation.read(rel.write(p)) == rel
        True
        """
        path = Path(path)
        with atomic_write(path, overwrite=overwrite) as tmp:
            tmp.write_text(self.to_json())
        return path

    @classmethod
    def read(cls, path: str | Path) -> ScalingRelation:
        """Read a relation written by `write`.

        Raises
        ------
        FileFormatError
            Missing file or invalid content (the message names the file).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "mgas.json"
        >>> _ = ScalingRelation.from_literature("arnaud07_m500_mgas").write(p)
        >>> ScalingRelation.read(p).observable
        'M_gas'
        """
        path = Path(path)
        if not path.is_file():
            raise FileFormatError(f"scaling-relation file {path} does not exist")
        try:
            return cls.from_json(path.read_text())
        except (InputError, UnicodeDecodeError) as err:
            raise FileFormatError(f"{path} is not a valid scaling-relation file: {err}") from err

    # ------------------------------------------------------------ predictions
    def _mass_factor(self, cosmology: Any) -> float:
        """Multiply a mass in h⁻¹ M☉ by this to get the relation's mass units."""
        if self.h_convention == "h100":
            return 1.0
        if self.h_convention == "h70":
            return 1.0 / 0.7
        return 1.0 / float(get_cosmology(cosmology).h)

    def _ez_term(self, z: np.ndarray, cosmology: Any) -> np.ndarray:
        cosmo = get_cosmology(cosmology)
        return (
            np.asarray(cosmo.efunc(z)) / float(cosmo.efunc(self.pivot_redshift))
        ) ** self.ez_power

    def _warn_range(self, values: np.ndarray, rng: tuple[float, float] | None, what: str) -> None:
        if rng is None:
            return
        out = (values < rng[0]) | (values > rng[1])
        if np.any(out):
            warnings.warn(
                f"{int(np.sum(out))} of {values.size} {what} lie outside the range "
                f"{rng[0]:.4g}-{rng[1]:.4g} where the relation {self.name or self.observable!r} "
                f"was calibrated ({self.reference or 'no reference'}); these are extrapolations",
                OutOfRangeWarning,
                stacklevel=3,
            )

    @property
    def sigma_ln_mass(self) -> float:
        """Intrinsic scatter of ln M at fixed observable.

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> round(rel.sigma_ln_mass / 2.302585, 3)
        0.039
        """
        return self.scatter if self.scatter_axis == "mass" else self.scatter / abs(self.slope)

    @property
    def sigma_ln_observable(self) -> float:
        """Intrinsic scatter of ln S at fixed mass (``sigma_ln_mass * |slope|`` if published in M).

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> round(rel.sigma_ln_observable, 4)  # 0.039 ln(10) / 1.71
        0.0525
        """
        return self.scatter if self.scatter_axis == "observable" else self.scatter * abs(self.slope)

    def predict_observable(self, log10_mass: Any, z: Any, cosmology: Any = None) -> np.ndarray:
        """Mean observable (in ``unit``) at log10 mass (h⁻¹ M☉) and redshift.

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> round(float(rel.predict_observable(14.416, 0.05)), 2)
        5.0
        """
        lm = as_finite_array(log10_mass, "log10_mass")
        zz = as_finite_array(z, "redshift")
        lm, zz = np.broadcast_arrays(lm, zz)
        mass = 10.0**lm * self._mass_factor(cosmology)
        self._warn_range(mass, self.valid_mass_range, "masses")
        self._warn_range(zz, self.valid_redshift_range, "redshifts")
        return (
            self.normalisation
            * (mass / self.pivot_mass) ** self.slope
            * self._ez_term(zz, cosmology)
        )

    def predict_mass(
        self,
        observable: Any,
        z: Any,
        cosmology: Any = None,
        *,
        beta: float = 0.0,
        observable_error: Any = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mass from an observable: ``(log10 M [h⁻¹ M☉], sigma [dex])``.

        The mean of ln M is the inverse relation minus the Eddington term
        ``beta sigma²`` (Ho et al. 2023 Eq. 11) where ``beta`` is the local
        slope of the mass function ``dn/dln M ∝ M^-beta`` (0: plain inversion);
        ``sigma² = sigma_ln_mass² + (observable_error / slope)²``.

        Parameters
        ----------
        observable : array-like
            In ``unit``; must be positive.
        z : array-like
        cosmology : FLRW, optional
        beta : float
            Local mass-function slope.
        observable_error : array-like
            Measurement error of ln S (fractional error), added in quadrature.

        Examples
        --------
        >>> rel = ScalingRelation.from_literature("arnaud07_m500_tx")
        >>> m0, s = rel.predict_mass(5.0, 0.05)
        >>> m1, _ = rel.predict_mass(5.0, 0.05, beta=2.0)
        >>> round(float((m0 - m1) * np.log(10)), 4)  # beta sigma_ln^2
        0.0161
        """
        obs = as_finite_array(observable, "observable")
        if np.any(obs <= 0):
            raise InputError(f"observable {self.observable!r} must be positive to invert")
        zz = as_finite_array(z, "redshift")
        err = as_finite_array(observable_error, "observable_error")
        obs, zz, err = np.broadcast_arrays(obs, zz, err)
        self._warn_range(obs, self.valid_observable_range, f"{self.observable} values")
        self._warn_range(zz, self.valid_redshift_range, "redshifts")
        ln_rel = (
            np.log(self.pivot_mass)
            + (np.log(obs / self.normalisation) - np.log(self._ez_term(zz, cosmology))) / self.slope
        )
        var = self.sigma_ln_mass**2 + (err / self.slope) ** 2
        ln_rel = ln_rel - float(beta) * var
        log10_m = (ln_rel - np.log(self._mass_factor(cosmology))) / LN10
        self._warn_range(np.exp(ln_rel), self.valid_mass_range, "masses")
        return log10_m, np.sqrt(var) / LN10


def _literature() -> dict[str, dict]:
    text = resources.files("astroclustermass").joinpath("data/relations.json").read_text()
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def available_relations() -> dict[str, str]:
    """Shipped literature relations: name → citation.

    Examples
    --------
    >>> "arnaud07_m500_tx" in available_relations()
    True
    """
    return {name: entry.get("reference", "") for name, entry in _literature().items()}
