"""Private helpers shared by every layer (L0): atomic writes, devices, RNG, progress bars,
input validation and the papers' defaults (`astroclustermass._utils.defaults`).
"""

from ._atomic import (
    atomic_directory,
    atomic_write,
    check_replaceable,
    foreign_entries,
    recover_directory,
    stale_leftovers,
)
from ._device import resolve_device
from ._progress import progress_bar
from ._random import get_rng
from ._validation import (
    REDSHIFT_RANGE,
    as_finite_array,
    check_dec,
    check_grid,
    check_positive_or_unknown,
    check_quantity,
    check_range,
    check_redshift,
    positive_int,
    positive_length,
)

__all__ = [
    "atomic_write",
    "atomic_directory",
    "foreign_entries",
    "check_replaceable",
    "recover_directory",
    "stale_leftovers",
    "resolve_device",
    "progress_bar",
    "get_rng",
    "as_finite_array",
    "check_quantity",
    "check_grid",
    "positive_int",
    "positive_length",
    "check_range",
    "check_redshift",
    "check_dec",
    "check_positive_or_unknown",
    "REDSHIFT_RANGE",
]
