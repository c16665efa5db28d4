"""Saving and loading estimators: config JSON + safetensors arrays, never pickle."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_directory, check_replaceable, recover_directory
from ..bands import EnergyBands
from ..exceptions import ModelFileError, RecoveryWarning, VersionMismatchWarning
from ..version import __version__

__all__ = [
    "to_jsonable",
    "from_jsonable",
    "write_model",
    "read_model",
    "FORMAT_VERSION",
    "MODEL_FILES",
]

#: Bump when the on-disk layout changes incompatibly (2: manifest.json covers every file).
FORMAT_VERSION = 2
CONFIG_NAME = "config.json"
ARRAYS_NAME = "arrays.safetensors"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "astroclustermass-model-manifest"
#: Every file a saved model consists of; nothing else is ever replaced or deleted by a save.
MODEL_FILES = (CONFIG_NAME, ARRAYS_NAME, MANIFEST_NAME)


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


def check_model_path(path: str | Path, overwrite: bool = True) -> None:
    """Refuse ``path`` as a model directory before any work: it exists (``overwrite=False``)
    or holds files that are not part of a saved model.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_model_path(pathlib.Path(tempfile.mkdtemp()) / "new_model")
    """
    check_replaceable(path, overwrite, MODEL_FILES)


def write_model(path: str | Path, config: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``config`` (JSON), ``arrays`` (safetensors) and their manifest into directory ``path``.

    The directory is written and fsynced beside any old model and switched in
    one step (`~astroclustermass._utils.atomic_directory`); ``manifest.json``,
    written last, records the SHA-256 of every other file. A directory holding
    files that are not part of a saved model is refused, never deleted.

    Raises
    ------
    OutputExistsError
        ``path`` holds files other than a saved model's.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
    >>> sorted(p.name for p in write_model(d, {"estimator": "x"}, {}).iterdir())
    ['arrays.safetensors', 'config.json', 'manifest.json']
    """
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_directory(path, owned=MODEL_FILES, fsync=True) as tmp:
        contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        save_file(contiguous, str(tmp / ARRAYS_NAME))
        full = {
            "format": "astroclustermass-model",
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            **config,
        }
        (tmp / CONFIG_NAME).write_text(json.dumps(to_jsonable(full), indent=2, sort_keys=True))
        manifest = {
            "format": MANIFEST_FORMAT,
            "sha256": {name: _sha256(tmp / name) for name in (CONFIG_NAME, ARRAYS_NAME)},
        }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return path


def _verify_manifest(path: Path) -> bool:
    """Check every file against ``manifest.json``; False when a format-1 model has none."""
    man_path = path / MANIFEST_NAME
    if not man_path.is_file():
        return False
    try:
        manifest = json.loads(man_path.read_text())
        sums = manifest["sha256"]
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(sums, dict):
            raise TypeError("not a model manifest")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ModelFileError(
            f"{man_path} is not a valid model manifest ({err}); the model cannot be verified: "
            "re-save it or restore it from a backup"
        ) from err
    missing = [name for name in (CONFIG_NAME, ARRAYS_NAME) if name not in sums]
    unknown = [name for name in sums if name not in MODEL_FILES or name == MANIFEST_NAME]
    if missing or unknown:
        raise ModelFileError(
            f"{man_path} must list exactly {CONFIG_NAME} and {ARRAYS_NAME}; "
            f"missing {missing}, unexpected {unknown}"
        )
    for name, expected in sums.items():
        if _sha256(path / name) != expected:
            raise ModelFileError(
                f"{path / name} does not match the checksum recorded in {man_path}: the file "
                "was modified or corrupted after saving; re-save the model or restore it "
                "from a backup"
            )
    return True


def _locate(path: Path) -> Path:
    """``path`` itself, or the complete old model an interrupted save left hidden beside it."""
    if path.exists() or recover_directory(path) is None:
        return path
    warnings.warn(
        f"{path} was missing after an interrupted save; the previous complete model was "
        "restored from the copy that save left behind",
        RecoveryWarning,
        stacklevel=4,
    )
    return path


def read_model(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a model directory written by `write_model`, verifying every file's checksum.

    A model that an interrupted save left only as a hidden old copy is put
    back first (with a `~astroclustermass.exceptions.RecoveryWarning`).

    Raises
    ------
    ModelFileError
        Missing files, bad JSON, wrong format or version, a file that does not
        match its checksum (the message names the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = write_model(pathlib.Path(tempfile.mkdtemp()) / "m", {"estimator": "x"}, {})
    >>> read_model(d)[0]["estimator"]
    'x'
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = _locate(Path(path))
    cfg_path, arr_path = path / CONFIG_NAME, path / ARRAYS_NAME
    if not path.is_dir() or not cfg_path.is_file() or not arr_path.is_file():
        raise ModelFileError(
            f"{path} is not a saved astroclustermass model (expected a directory with "
            f"{CONFIG_NAME} and {ARRAYS_NAME})"
        )
    verified = _verify_manifest(path)
    try:
        config = from_jsonable(json.loads(cfg_path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ModelFileError(f"{cfg_path} is not valid model JSON: {err}") from err
    if not isinstance(config, dict) or config.get("format") != "astroclustermass-model":
        raise ModelFileError(f"{cfg_path} is not an astroclustermass model config")
    version = config.get("format_version")
    if version not in (1, FORMAT_VERSION):
        raise ModelFileError(
            f"{path} uses model format version {version}, but this "
            f"astroclustermass ({__version__}) reads versions 1-{FORMAT_VERSION}; re-train the "
            "model or install the version that wrote it"
        )
    if not verified:
        _check_format_1(path, config, version)
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


def _check_format_1(path: Path, config: dict, version: Any) -> None:
    """Format 1 had no manifest: only the arrays were checksummed (in config.json)."""
    if version != 1:
        raise ModelFileError(
            f"{path / MANIFEST_NAME} is missing, so the model cannot be verified; re-save "
            "the model or restore it from a backup"
        )
    if config.get("arrays_sha256") != _sha256(path / ARRAYS_NAME):
        raise ModelFileError(
            f"{path / ARRAYS_NAME} does not match the checksum recorded in "
            f"{path / CONFIG_NAME}: the file was modified or corrupted after saving"
        )
    warnings.warn(
        f"{path} was saved in model format 1, whose {CONFIG_NAME} is not covered by a "
        "checksum; save it again to make it tamper-evident",
        VersionMismatchWarning,
        stacklevel=4,
    )
