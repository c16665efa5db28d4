"""The ``astroclustermass`` command line: a thin layer over the public API.

::

    astroclustermass simulate --n-clusters 600 --seed 0 --out mock/
    astroclustermass build mock/ --out sample.h5 --npix 64
    astroclustermass train multiband_cnn --sample sample.h5 --out model/ --param max_epochs=50
    astroclustermass predict model/ --sample sample.h5 --out predictions.ecsv
    astroclustermass explain model/ sample.h5 --out explain/ --indices 12 40
    astroclustermass explain --section6 sample.h5 --out section6/ --param max_epochs=30
    astroclustermass dynamics multiband_cnn --sample sample.h5 --out dynamics/
    astroclustermass benchmark --preset quick
    astroclustermass plugins

Errors the package raises on purpose (`~astroclustermass.exceptions.AstroClusterMassError`)
and file-system errors print one line to standard error, with options in their
command-line spelling (``--overwrite``, ``--on-error skip``), and exit with
status 2; anything else is reported as an internal error on one line (status
1). Warnings print one line each, without Python source. ``--debug`` shows the
traceback instead. ``--out`` is checked before any work: an existing file or
non-empty directory is refused unless ``--overwrite`` is given, and even then
only the files the command writes are replaced (``train`` and ``simulate``
refuse a directory that holds anything else).

Each command lives in the module of its name (``cli/build.py`` for
``build``), which adds its options (``add_parser``) and runs it (``run``);
``cli/_common.py`` holds what they share.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
astroclustermass ...
0
"""

from __future__ import annotations

from .main import build_parser, main

__all__ = ["main", "build_parser"]
