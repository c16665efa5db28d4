"""Rendering result tables as text (Markdown) for reports and the console."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.table import Table

from ..exceptions import MissingColumnError

__all__ = ["to_markdown"]


def _fmt(value: Any, fmt: str | None) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–"
        fmt = fmt or ".4g"
        if fmt.startswith("{"):
            return fmt.format(float(value))
        if fmt.startswith("%"):
            return fmt % float(value)
        return format(float(value), fmt)
    if isinstance(value, np.ma.core.MaskedConstant):
        return "–"
    return str(value)


def to_markdown(table: Table, columns: Sequence[str] | None = None) -> str:
    """Render a table as GitHub-flavoured Markdown (NaN shown as ``–``).

    Column ``format`` attributes are honoured.

    Parameters
    ----------
    table : astropy.table.Table
    columns : sequence of str, optional
        Subset and order of columns.

    Examples
    --------
    >>> from astropy.table import Table
    >>> print(to_markdown(Table({"model": ["a"], "scatter_dex": [0.12345]})))
    | model | scatter_dex |
    |---|---|
    | a | 0.1235 |
    """
    cols = list(columns) if columns is not None else list(table.colnames)
    missing = [c for c in cols if c not in table.colnames]
    if missing:
        raise MissingColumnError(f"the table has no column(s) {missing}")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table:
        cells = [_fmt(row[c], table[c].format).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
