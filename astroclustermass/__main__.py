"""``python -m astroclustermass``: the ``astroclustermass`` command (also under ``torchrun -m``)."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
