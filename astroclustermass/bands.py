"""Energy-band presets and user-defined bands.

An `EnergyBands` object is an ordered set of ``[lo, hi)`` energy intervals in
keV. An event with energy ``E`` belongs to band ``b`` when
``lo_b <= E < hi_b`` (the reference code's convention); the last band of a
preset may extend to infinity.

Presets
-------
``bolometric``
    0.5–10 keV, the single band of Ho et al. (2023), Sec. 2.1.
``erosita_3``
    0.5–1.2, 1.2–2.0, 2.0–7.0 keV, the multi-band images of Ho et al. Sec. 5.1.
``krippendorf_10``
    ten bands of 205 eV over 0.25–2.30 keV (Krippendorf et al. 2023, Sec. 2.3).
``lovig_4``
    0–2.5, 2.5–5, 5–7.5, >7.5 keV (Lovig 2024, Sec. 3.1).
``all_energies``
    every photon (the reference code's single band, which applied no cut).

Examples
--------
>>> from astroclustermass.bands import get_bands
>>> b = get_bands("erosita_3")
>>> b.n_bands
3
>>> b.edges_keV.tolist()
[[0.5, 1.2], [1.2, 2.0], [2.0, 7.0]]
>>> get_bands([(0.5, 2.0)]).name
'custom'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import astropy.units as u
import numpy as np

from .exceptions import InputError, UnitError, UnknownNameError

__all__ = ["EnergyBands", "get_bands", "BAND_PRESETS", "available_bands"]


class EnergyBands:
    """An ordered set of energy bands ``[lo, hi)``.

    Parameters
    ----------
    edges : array-like or `~astropy.units.Quantity`, shape (n_band, 2)
        Lower and upper edge of each band. Plain numbers are taken as keV; a
        Quantity may be in any energy unit (eV, keV, ...). ``np.inf`` is
        allowed as an upper edge.
    name : str, optional
        A label stored with models and samples (``"custom"`` by default).

    Examples
    --------
    >>> import astropy.units as u
    >>> bands = EnergyBands([[500, 2000], [2000, 7000]] * u.eV, name="soft_hard")
    >>> bands.edges
    <Quantity [[0.5, 2. ],
               [2. , 7. ]] keV>
    >>> bands.band_index([0.4, 0.5, 1.99, 2.0, 9.0]).tolist()
    [-1, 0, 0, 1, -1]
    """

    def __init__(self, edges: Any, name: str = "custom") -> None:
        if isinstance(edges, u.Quantity):
            try:
                edges = edges.to_value(u.keV)
            except u.UnitConversionError as err:
                raise UnitError(f"band edges must be energies; got unit {edges.unit}") from err
        arr = np.array(edges, dtype=float)
        if arr.ndim == 1 and arr.size == 2:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
            raise InputError(
                f"band edges must have shape (n_band, 2), e.g. [(0.5, 2.0), (2.0, 7.0)]; "
                f"got shape {arr.shape}"
            )
        if np.isnan(arr).any() or np.isinf(arr[:, 0]).any():
            raise InputError("band edges must be finite numbers (only an upper edge may be inf)")
        if (arr[:, 1] <= arr[:, 0]).any():
            raise InputError(f"every band needs lo < hi; got {arr.tolist()}")
        if (arr[:, 0] < 0).any():
            raise InputError("band edges must be non-negative energies")
        self._edges = arr
        self.name = str(name)

    @property
    def edges(self) -> u.Quantity:
        """Band edges as a Quantity in keV, shape (n_band, 2)."""
        return self._edges * u.keV

    @property
    def edges_keV(self) -> np.ndarray:
        """Band edges as a float array in keV, shape (n_band, 2)."""
        return self._edges.copy()

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return int(self._edges.shape[0])

    @property
    def is_contiguous(self) -> bool:
        """True when each band starts where the previous one ends."""
        return bool(np.all(self._edges[1:, 0] == self._edges[:-1, 1]))

    @property
    def labels(self) -> list[str]:
        """Human-readable labels such as ``'0.5-1.2 keV'``."""
        out = []
        for lo, hi in self._edges:
            hi_s = "inf" if np.isinf(hi) else f"{hi:g}"
            out.append(f"{lo:g}-{hi_s} keV")
        return out

    def band_index(self, energy: Any) -> np.ndarray:
        """Band number of each energy, -1 for energies in no band.

        Parameters
        ----------
        energy : array-like or Quantity
            Energies (plain numbers are keV).

        Returns
        -------
        index : ndarray of int64
            Index of the first band containing each energy, or -1.
        """
        if isinstance(energy, u.Quantity):
            energy = energy.to_value(u.keV)
        e = np.asarray(energy, dtype=float)
        idx = np.full(e.shape, -1, dtype=np.int64)
        if self.is_contiguous:
            # one searchsorted for contiguous bands
            bounds = np.append(self._edges[:, 0], self._edges[-1, 1])
            k = np.searchsorted(bounds, e, side="right") - 1
            ok = (k >= 0) & (k < self.n_bands)
            idx[ok] = k[ok]
            return idx
        for b in range(self.n_bands - 1, -1, -1):
            lo, hi = self._edges[b]
            idx[(e >= lo) & (e < hi)] = b
        return idx

    def to_dict(self) -> dict:
        """JSON-safe representation (``inf`` is written as the string ``"inf"``)."""
        return {
            "name": self.name,
            "edges_keV": [
                [float(lo), "inf" if np.isinf(hi) else float(hi)] for lo, hi in self._edges
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> EnergyBands:
        """Rebuild from `to_dict` output."""
        edges = [[float(lo), float(hi)] for lo, hi in data["edges_keV"]]
        return cls(edges, name=data.get("name", "custom"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnergyBands):
            return NotImplemented
        return self._edges.shape == other._edges.shape and bool(np.all(self._edges == other._edges))

    def __hash__(self) -> int:
        return hash(self._edges.tobytes())

    def __len__(self) -> int:
        return self.n_bands

    def __repr__(self) -> str:
        return f"EnergyBands(name={self.name!r}, bands={self.labels})"


_PRESET_EDGES: dict[str, list[tuple[float, float]]] = {
    "bolometric": [(0.5, 10.0)],
    "erosita_3": [(0.5, 1.2), (1.2, 2.0), (2.0, 7.0)],
    "krippendorf_10": [
        (round(0.25 + 0.205 * i, 3), round(0.25 + 0.205 * (i + 1), 3)) for i in range(10)
    ],
    "lovig_4": [(0.0, 2.5), (2.5, 5.0), (5.0, 7.5), (7.5, np.inf)],
    "all_energies": [(0.0, np.inf)],
}

BAND_PRESETS: dict[str, str] = {
    "bolometric": "0.5-10 keV single band (Ho et al. 2023, Sec. 2.1)",
    "erosita_3": "0.5-1.2, 1.2-2.0, 2.0-7.0 keV (Ho et al. 2023, Sec. 5.1)",
    "krippendorf_10": "10 x 205 eV over 0.25-2.30 keV (Krippendorf et al. 2023)",
    "lovig_4": "0-2.5, 2.5-5, 5-7.5, >7.5 keV (Lovig 2024)",
    "all_energies": "every photon, no energy cut (the reference code's single band)",
}


def available_bands() -> dict[str, str]:
    """Names and descriptions of the band presets.

    Examples
    --------
    >>> "erosita_3" in available_bands()
    True
    """
    return dict(BAND_PRESETS)


def get_bands(spec: str | EnergyBands | Iterable | u.Quantity) -> EnergyBands:
    """Resolve a preset name, an `EnergyBands`, or explicit edges to `EnergyBands`.

    Raises
    ------
    UnknownNameError
        For an unknown preset name (the message lists the known ones).

    Examples
    --------
    >>> get_bands("bolometric").labels
    ['0.5-10 keV']
    """
    if isinstance(spec, EnergyBands):
        return spec
    if isinstance(spec, str):
        if spec not in _PRESET_EDGES:
            close = difflib.get_close_matches(spec, list(_PRESET_EDGES), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown band preset {spec!r}; known presets: {', '.join(_PRESET_EDGES)}.{hint}"
            )
        return EnergyBands(_PRESET_EDGES[spec], name=spec)
    if isinstance(spec, dict):
        return EnergyBands.from_dict(spec)
    return EnergyBands(spec)
