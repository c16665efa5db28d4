"""Declarative hyper-parameter constraints checked in ``fit`` (scikit-learn style)."""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["Interval", "Options", "ParamsMixin", "validate_params", "with_defaults"]


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


class ParamsMixin:
    """scikit-learn-style parameters: the constructor's arguments, stored as given.

    Shared by estimators and attribution methods: ``get_params``,
    ``set_params``, validation against the class's ``_parameter_constraints``
    and a ``repr`` listing the parameters that differ from their defaults.

    Examples
    --------
    >>> class Smoother(ParamsMixin):
    ...     _parameter_constraints = {"width": [Interval(float, 0, None)]}
    ...     def __init__(self, width=1.0):
    ...         self.width = width
    >>> Smoother(width=2.0)
    Smoother(width=2.0)
    >>> Smoother().set_params(width=-1.0)._validate_params()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: ...
    """

    _parameter_constraints: dict[str, list] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        names = []
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as given to the constructor."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any):
        """Set parameters; unknown names raise `InputError`. Returns self."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise InputError(
                    f"{key!r} is not a parameter of {type(self).__name__}; "
                    f"valid parameters: {', '.join(valid)}"
                )
            setattr(self, key, value)
        return self

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = []
        for k, v in self.get_params().items():
            d = defaults.get(k, inspect.Parameter.empty)
            try:
                same = bool(v == d)
            except Exception:
                same = False
            if not same:
                changed.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def with_defaults(**defaults: Any):
    """Class decorator: the parent's ``__init__`` with other default values.

    The new ``__init__`` has the parent's signature (so ``get_params`` and
    ``repr`` work) with the given defaults replaced.

    Examples
    --------
    >>> class A:
    ...     def __init__(self, bands="bolometric", lr=1e-3):
    ...         self.bands, self.lr = bands, lr
    >>> @with_defaults(bands="erosita_3")
    ... class B(A):
    ...     pass
    >>> B().bands, B(lr=0.1).lr
    ('erosita_3', 0.1)
    >>> import inspect
    >>> str(inspect.signature(B.__init__))
    "(self, bands='erosita_3', lr=0.001)"
    """

    def decorate(cls):
        parent_init = cls.__init__
        sig = inspect.signature(parent_init)
        unknown = set(defaults) - set(sig.parameters)
        if unknown:
            raise TypeError(f"{cls.__name__}: no parameters {sorted(unknown)} to give defaults")
        new_sig = sig.replace(
            parameters=[
                p.replace(default=defaults[p.name]) if p.name in defaults else p
                for p in sig.parameters.values()
            ]
        )

        def __init__(self, *args, **kwargs):
            bound = new_sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            parent_init(**bound.arguments)

        __init__.__signature__ = new_sig
        __init__.__doc__ = parent_init.__doc__
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__
        return cls

    return decorate
