"""Models trained on the built-in mock and shipped with the package, each with a model card.

A shipped model lives in ``astroclustermass/data/pretrained/<name>/``: the
saved estimator in ``model/`` (JSON + safetensors + checksums, as
`MassEstimator.save` writes it; loading never unpickles) and its model card in
``card.json``: the training data and its configuration and seed, bands, npix,
aperture, cosmology, depth, the mass/redshift/exposure ranges, the held-out
scatter, bias and coverage, the package version, and what the model is not
valid for. ``scripts/make_pretrained.py`` regenerates every one from scratch
(`astroclustermass.benchmarks.pretrained`).

A model applied outside the ranges of its card warns
(`~astroclustermass.exceptions.OutOfRangeWarning`, from the ranges the
estimator stored at training), and a sample built with another npix, aperture
or cosmology is refused (`~astroclustermass.exceptions.IncompatibleSampleError`).

Examples
--------
>>> names = list(pretrained_models()["name"])
>>> "multiband_cnn_2ks" in names
True
>>> model_card("multiband_cnn_2ks")["training"]["npix"]
64
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from astropy.table import Table

from ..exceptions import ModelFileError, UnknownNameError

__all__ = ["PRETRAINED_DIR", "pretrained_models", "model_card", "load_pretrained"]

#: Where the shipped models live (package data).
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "data" / "pretrained"

#: The keys every model card has (`model_card` checks them).
CARD_KEYS = (
    "name",
    "estimator",
    "description",
    "training",
    "ranges",
    "performance",
    "package_version",
    "not_valid_for",
)


def _names(directory: Path = PRETRAINED_DIR) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if (p / "card.json").is_file())


def _model_dir(name: str, directory: Path = PRETRAINED_DIR) -> Path:
    known = _names(directory)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(
            f"no pretrained model {name!r}{hint} The shipped models are: "
            f"{', '.join(known) or 'none'} (see astroclustermass.pretrained_models())"
        )
    return directory / name


def model_card(name: str, directory: str | Path | None = None) -> dict[str, Any]:
    """The model card of a shipped model, as a dict (read from JSON, never executed).

    Parameters
    ----------
    name : str
        A name listed by `pretrained_models`.
    directory : path-like, optional
        Where to look (default `PRETRAINED_DIR`; the regeneration script
        writes elsewhere first).

    Returns
    -------
    dict
        The keys `CARD_KEYS`.

    Raises
    ------
    UnknownNameError
        No such model (the message lists the shipped ones).
    ModelFileError
        The card is unreadable or lacks a key.

    Examples
    --------
    >>> card = model_card("multiband_cnn_2ks")
    >>> card["estimator"], card["training"]["bands"]
    ('multiband_cnn', 'erosita_3')
    """
    path = _model_dir(name, Path(directory) if directory else PRETRAINED_DIR) / "card.json"
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"cannot read the model card {path}: {err}") from err
    missing = [k for k in CARD_KEYS if k not in card]
    if missing:
        raise ModelFileError(f"the model card {path} lacks {missing}; regenerate the model")
    return card


def pretrained_models(directory: str | Path | None = None) -> Table:
    """The shipped models, one row each, with the headline numbers of their cards.

    Parameters
    ----------
    directory : path-like, optional
        Where to look (default `PRETRAINED_DIR`).

    Returns
    -------
    astropy.table.Table
        Columns ``name``, ``estimator``, ``bands``, ``npix``, ``depth``,
        ``n_train``, ``scatter_dex``, ``bias_dex``, ``coverage_68`` (held
        out) and ``description``.

    Examples
    --------
    >>> t = pretrained_models()
    >>> t.colnames[:4]
    ['name', 'estimator', 'bands', 'npix']
    """
    root = Path(directory) if directory else PRETRAINED_DIR
    rows = []
    for name in _names(root):
        card = model_card(name, root)
        train, perf = card["training"], card["performance"]
        rows.append(
            (
                name,
                card["estimator"],
                str(train["bands"]),
                int(train["npix"]),
                str(train["depth"]),
                int(train["n_train"]),
                float(perf["scatter_dex"]),
                float(perf["bias_dex"]),
                float(perf.get("coverage_68", float("nan"))),
                card["description"],
            )
        )
    names = (
        "name",
        "estimator",
        "bands",
        "npix",
        "depth",
        "n_train",
        "scatter_dex",
        "bias_dex",
        "coverage_68",
        "description",
    )
    dtype = (str, str, str, int, str, int, float, float, float, str)
    return Table(rows=rows, names=names, dtype=dtype) if rows else Table(names=names, dtype=dtype)


def load_pretrained(name: str, directory: str | Path | None = None):
    """Load a shipped model; its card is on the estimator as ``model_card_``.

    Use ``MassEstimator.pretrained(name)`` or, on the command line,
    ``astroclustermass predict --model pretrained:NAME SAMPLE``.

    Parameters
    ----------
    name : str
        A name listed by `pretrained_models`.
    directory : path-like, optional
        Where to look (default `PRETRAINED_DIR`).

    Returns
    -------
    MassEstimator
        Fitted; ``model_card_`` holds the card.

    Examples
    --------
    >>> est = load_pretrained("multiband_cnn_2ks")
    >>> est.name, est.model_card_["training"]["depth"]
    ('multiband_cnn', 'paper (uniform 2 ks)')
    """
    from .base import MassEstimator

    card = model_card(name, directory)
    est = MassEstimator.load(
        _model_dir(name, Path(directory) if directory else PRETRAINED_DIR) / "model"
    )
    est.model_card_ = card
    return est
