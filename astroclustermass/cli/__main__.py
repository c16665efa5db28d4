"""``python -m astroclustermass.cli``: the same as the ``astroclustermass`` command."""

import sys

from .main import main

sys.exit(main())
