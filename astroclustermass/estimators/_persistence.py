"""Saving and loading estimators: config JSON + safetensors arrays, never pickle."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_directory
from ..bands import EnergyBands
from ..exceptions import ModelFileError, VersionMismatchWarning
from ..version import __version__

__all__ = ["to_jsonable", "from_jsonable", "write_model", "read_model", "FORMAT_VERSION"]

#: Bump when the on-disk layout changes incompatibly.
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
ARRAYS_NAME = "arrays.safetensors"


def to_jsonable(value: Any) -> Any:
    """Convert parameters/state to JSON-safe values (bands, numpy, tuples, inf).

    Examples
    --------
    >>> to_jsonable({"a": (1, 2), "b": float("inf")})
    {'a': {'__tuple__': [1, 2]}, 'b': {'__float__': 'inf'}}
    >>> from pathlib import PurePosixPath
    >>> to_jsonable(PurePosixPath("runs/ckpt"))
    'runs/ckpt'

    """
    if isinstance(value, EnergyBands):
        return {"__bands__": value.to_dict()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [to_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"__ndarray__": to_jsonable(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, os.PathLike):  # e.g. a checkpoint directory: kept as text
        return os.fspath(value)
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a model config")


def from_jsonable(value: Any) -> Any:
    """Invert `to_jsonable`.

    Examples
    --------
    >>> from_jsonable(to_jsonable({"a": (1, 2), "b": float("inf")}))
    {'a': (1, 2), 'b': inf}
    """
    if isinstance(value, dict):
        if "__bands__" in value:
            return EnergyBands.from_dict(value["__bands__"])
        if "__tuple__" in value:
            return tuple(from_jsonable(v) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__ndarray__" in value:
            return np.asarray(from_jsonable(value["__ndarray__"]), dtype=value["dtype"])
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_model(path: str | Path, config: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``config`` (JSON) and ``arrays`` (safetensors) atomically into directory ``path``."""
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_directory(path) as tmp:
        contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        save_file(contiguous, str(tmp / ARRAYS_NAME))
        full = {
            "format": "astroclustermass-model",
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            **config,
            "arrays_sha256": _sha256(tmp / ARRAYS_NAME),
        }
        (tmp / CONFIG_NAME).write_text(json.dumps(to_jsonable(full), indent=2, sort_keys=True))
    return path


def read_model(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a model directory written by `write_model`, verifying its checksum.

    Raises
    ------
    ModelFileError
        Missing files, bad JSON, wrong format or version, checksum mismatch.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    cfg_path, arr_path = path / CONFIG_NAME, path / ARRAYS_NAME
    if not path.is_dir() or not cfg_path.is_file() or not arr_path.is_file():
        raise ModelFileError(
            f"{path} is not a saved astroclustermass model (expected a directory with "
            f"{CONFIG_NAME} and {ARRAYS_NAME})"
        )
    try:
        config = from_jsonable(json.loads(cfg_path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ModelFileError(f"{cfg_path} is not valid model JSON: {err}") from err
    if not isinstance(config, dict) or config.get("format") != "astroclustermass-model":
        raise ModelFileError(f"{cfg_path} is not an astroclustermass model config")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model format version {config.get('format_version')}, but this "
            f"astroclustermass ({__version__}) reads version {FORMAT_VERSION}; re-train the model "
            "or install the version that wrote it"
        )
    if config.get("arrays_sha256") != _sha256(arr_path):
        raise ModelFileError(
            f"{arr_path} does not match the checksum recorded in {cfg_path}: the file was "
            "modified or corrupted after saving"
        )
    try:
        arrays = load_file(str(arr_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(f"{arr_path} cannot be read: {err}") from err
    saved = str(config.get("package_version", ""))
    if saved.split(".")[:2] != __version__.split(".")[:2]:
        warnings.warn(
            f"{path} was saved by astroclustermass {saved}; this is {__version__}. "
            "Predictions may differ; re-train if in doubt.",
            VersionMismatchWarning,
            stacklevel=3,
        )
    return config, arrays
