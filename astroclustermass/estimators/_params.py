"""Declarative hyper-parameter constraints checked in ``fit`` (scikit-learn style)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["Interval", "Options", "validate_params"]


@dataclass(frozen=True)
class Interval:
    """A numeric interval constraint.

    Examples
    --------
    >>> Interval(float, 0, None, closed="neither").is_satisfied_by(1e-3)
    True
    >>> str(Interval(int, 1, None))
    'an int in the range [1, inf)'
    """

    type: type
    left: float | None
    right: float | None
    closed: str = "both"

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` lies in the interval (and has the right type)."""
        if isinstance(value, bool | np.bool_):
            return False
        kind = numbers.Integral if self.type is int else numbers.Real
        if not isinstance(value, kind):
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        name = "an int" if self.type is int else "a float"
        return f"{name} in the range {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """A constraint to a finite set of values.

    Examples
    --------
    >>> Options({"mse", "nll"}).is_satisfied_by("mse")
    True
    """

    options: frozenset | set

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` is one of the options."""
        try:
            return value in self.options
        except TypeError:
            return False

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options, key=str)) + "}"


def _satisfied(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "seed":
        return value is None or (
            isinstance(value, numbers.Integral) and not isinstance(value, bool)
        )
    if constraint == "callable":
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "a bool"
    if constraint == "seed":
        return "an int seed or None"
    if constraint == "callable":
        return "a callable"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__}"
    return str(constraint)


def validate_params(owner: str, params: dict[str, Any], constraints: dict[str, list]) -> None:
    """Raise `InputError` for the first parameter that meets none of its constraints.

    Examples
    --------
    >>> validate_params("X", {"lr": 0.1}, {"lr": [Interval(float, 0, None, closed="neither")]})
    >>> try:
    ...     validate_params("X", {"lr": -1.0}, {"lr": [Interval(float, 0, None, closed="neither")]})
    ... except InputError as err:
    ...     print(err)
    The 'lr' parameter of X must be a float in the range (0, inf). Got -1.0 instead.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfied(c, value) for c in allowed):
            continue
        options = [_describe(c) for c in allowed]
        text = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
        raise InputError(
            f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead."
        )
