"""Published accuracy numbers to print beside ours (Ho et al. 2023 Table 3 and others).

Scatter is in dex; per cent is σ_lnM = ln(10)·σ_dex as in the paper. Keys are
the package's names: observable column names (``T``, ``L_X``, ``M_gas``,
``M_star``, ``sigma_v_true``, ``n_gal``, ``sigma_v``, ``n_phot``,
``n_phot_500c``) for the scalar proxies and their combinations, registered
estimator names for the networks.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "PAPER_ROWS",
    "paper_reference",
    "paper_best_combination",
    "observable_label",
    "canonical_observables",
]

_HO = "Ho+23 Table 3"
_KRIPPENDORF = "Krippendorf+23 Sec. 4 (eFEDS mocks)"

#: (key, label, section, dex, per cent, source). ``key`` is a frozenset of
#: observable names for proxy rows, or an estimator name for the networks.
PAPER_ROWS: list[tuple[Any, str, str, float, float, str]] = [
    (frozenset({"T"}), "T", "ideal", 0.0510, 11.75, _HO),
    (frozenset({"L_X"}), "L_X", "ideal", 0.1144, 26.33, _HO),
    (frozenset({"M_gas"}), "M_gas", "ideal", 0.0367, 8.46, _HO),
    (frozenset({"M_star"}), "M_star", "ideal", 0.0545, 12.56, _HO),
    (frozenset({"sigma_v_true"}), "sigma_v,1D,true", "ideal", 0.1631, 37.56, _HO),
    (frozenset({"n_gal"}), "N_gal", "realistic", 0.1725, 39.72, _HO),
    (frozenset({"sigma_v"}), "sigma_v,1D", "realistic", 0.3057, 70.39, _HO),
    (frozenset({"n_phot"}), "N_phot", "realistic", 0.1738, 40.02, _HO),
    (frozenset({"n_phot_500c"}), "N_phot,500c", "realistic", 0.1479, 34.07, _HO),
    (frozenset({"M_gas", "M_star"}), "M_gas, M_star", "ideal combination", 0.0214, 4.93, _HO),
    (
        frozenset({"T", "M_gas", "M_star"}),
        "T, M_gas, M_star",
        "ideal combination",
        0.0176,
        4.06,
        _HO,
    ),
    (
        frozenset({"T", "L_X", "M_gas", "M_star"}),
        "T, L_X, M_gas, M_star",
        "ideal combination",
        0.0170,
        3.90,
        _HO,
    ),
    (
        frozenset({"T", "L_X", "M_gas", "M_star", "sigma_v_true"}),
        "T, L_X, M_gas, M_star, sigma_v,1D,true",
        "ideal combination",
        0.0169,
        3.90,
        _HO,
    ),
    (
        frozenset({"n_gal", "n_phot_500c"}),
        "N_gal, N_phot,500c",
        "realistic combination",
        0.1252,
        28.82,
        _HO,
    ),
    (
        frozenset({"n_gal", "sigma_v", "n_phot_500c"}),
        "N_gal, sigma_v,1D, N_phot,500c",
        "realistic combination",
        0.1198,
        27.59,
        _HO,
    ),
    (
        frozenset({"n_gal", "sigma_v", "n_phot", "n_phot_500c"}),
        "N_gal, sigma_v,1D, N_phot, N_phot,500c",
        "realistic combination",
        0.1187,
        27.34,
        _HO,
    ),
    ("single_band_cnn", "Single-band X-ray CNN", "machine learning", 0.0773, 17.80, _HO),
    ("multiband_cnn", "Multi-band X-ray CNN", "machine learning", 0.0703, 16.18, _HO),
    ("joint_cnn", "X-ray+Spec-z CNN", "machine learning", 0.0691, 15.90, _HO),
    # Krippendorf et al. quote sigma = 0.188 (log10) on their eFEDS test set.
    ("nll_ensemble", "NLL deep ensemble", "machine learning", 0.188, 43.29, _KRIPPENDORF),
]

_OBS_ALIASES = {
    "t": "T",
    "temperature": "T",
    "l_x": "L_X",
    "lx": "L_X",
    "m_gas": "M_gas",
    "mgas": "M_gas",
    "m_star": "M_star",
    "mstar": "M_star",
    "sigma_v_true": "sigma_v_true",
    "sigv_true": "sigma_v_true",
    "n_gal": "n_gal",
    "ngal": "n_gal",
    "richness": "n_gal",
    "sigma_v": "sigma_v",
    "sigv": "sigma_v",
    "n_phot": "n_phot",
    "nphot": "n_phot",
    "n_phot_500c": "n_phot_500c",
    "nphot500c": "n_phot_500c",
    "nphot_500c": "n_phot_500c",
}

_LABELS = {row[0]: row[1] for row in PAPER_ROWS if isinstance(row[0], frozenset)}


def canonical_observables(name: str) -> frozenset[str] | None:
    """Parse a model name such as ``"power_law(n_phot_500c)"`` or ``"T+M_gas"``.

    Returns the set of canonical observable names, or None when ``name``
    does not name scalar observables.

    Examples
    --------
    >>> sorted(canonical_observables("multi_property(M_gas, M_star)"))
    ['M_gas', 'M_star']
    >>> canonical_observables("multiband_cnn") is None
    True
    """
    text = str(name).strip()
    match = re.search(r"\(([^()]*)\)", text)
    if match:
        text = match.group(1)
    parts = [p for p in re.split(r"[,+\s]+", text) if p]
    if not parts:
        return None
    out = set()
    for part in parts:
        key = _OBS_ALIASES.get(part.lower())
        if key is None:
            return None
        out.add(key)
    return frozenset(out)


def observable_label(observables) -> str:
    """Readable label of a set of observable names, in the paper's spelling.

    Examples
    --------
    >>> observable_label(["n_phot_500c"])
    'N_phot,500c'
    """
    names = list(observables)
    single = {next(iter(k)): v for k, v in _LABELS.items() if len(k) == 1}
    return ", ".join(single.get(n, str(n)) for n in names)


def paper_reference(name: str) -> dict[str, Any] | None:
    """The published number for a model name, or None if the papers have none.

    Parameters
    ----------
    name : str
        An estimator name (``"multiband_cnn"``), a set of observables
        (``"M_gas, M_star"``) or a proxy estimator with its observables in
        parentheses (``"power_law(n_phot_500c)"``).

    Returns
    -------
    dict or None
        Keys ``label``, ``section``, ``dex``, ``percent``, ``source``.

    Examples
    --------
    >>> paper_reference("power_law(n_phot_500c)")["dex"]
    0.1479
    >>> paper_reference("multiband_cnn")["percent"]
    16.18
    """
    base = str(name).strip()
    head = base.split("(")[0].strip().lower()
    obs = canonical_observables(base)
    for key, label, section, dex, percent, source in PAPER_ROWS:
        hit = (key == obs) if isinstance(key, frozenset) else (key == head and obs is None)
        if hit:
            return {
                "label": label,
                "section": section,
                "dex": dex,
                "percent": percent,
                "source": source,
            }
    return None


def paper_best_combination(section: str, size: int) -> dict[str, Any] | None:
    """The paper's lowest-scatter combination of ``size`` observables in ``section``.

    Parameters
    ----------
    section : str
        ``"ideal combination"`` or ``"realistic combination"`` (``"ideal"``
        and ``"realistic"`` are accepted too).
    size : int
        Number of observables.

    Returns
    -------
    dict or None
        As `paper_reference`, or None when Table 3 lists no such row.

    Examples
    --------
    >>> paper_best_combination("ideal combination", 2)["label"]
    'M_gas, M_star'
    """
    key = section if section.endswith("combination") else f"{section} combination"
    for obs, label, sec, dex, percent, source in PAPER_ROWS:
        if sec == key and isinstance(obs, frozenset) and len(obs) == int(size):
            return {
                "label": label,
                "section": sec,
                "dex": dex,
                "percent": percent,
                "source": source,
            }
    return None
