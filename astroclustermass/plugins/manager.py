"""Plugin manager: hook specifications, typed registries and lazy loading of plugins."""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from ..exceptions import InputError, PluginError, PluginWarning, UnknownNameError

__all__ = [
    "NAME",
    "hookimpl",
    "hookspec",
    "Registry",
    "RegistryEntry",
    "get_plugin_manager",
    "estimator_registry",
    "attribution_registry",
    "register_plugin",
    "unregister_plugin",
    "list_plugins",
    "reset_plugins",
]

#: Project name of the pluggy hooks and entry-point group of plugins.
NAME = "astroclustermass"

#: Marker for hook implementations in plugins.
hookimpl = pluggy.HookimplMarker(NAME)

#: Marker for hook specifications (used by astroclustermass itself).
hookspec = pluggy.HookspecMarker(NAME)

_BUILTIN_PLUGIN = "astroclustermass.plugins.builtin"


class HookSpecs:
    """Hook specifications that plugins may implement.

    Every hook receives a typed `Registry` and calls ``registry.register``.
    """

    @hookspec
    def astroclustermass_register_estimators(self, registry: Registry) -> None:
        """Register `~astroclustermass.estimators.MassEstimator` subclasses.

        Parameters
        ----------
        registry : Registry
            The estimator registry; call ``registry.register(name, cls,
            description=...)`` once per estimator. ``cls`` may be a class or a
            ``"package.module:ClassName"`` string, imported on first use.
        """

    @hookspec
    def astroclustermass_register_attributions(self, registry: Registry) -> None:
        """Register `~astroclustermass.attribution.Attribution` subclasses.

        Parameters
        ----------
        registry : Registry
            The attribution registry; call ``registry.register(name, cls,
            description=...)`` once per method.
        """


@dataclass
class RegistryEntry:
    """One registered object: its name, target, description and origin."""

    name: str
    target: Any
    description: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str = "unknown"
    _resolved: Any = field(default=None, repr=False)

    def resolve(self) -> Any:
        """Import the target if it was registered as a ``"module:attr"`` string."""
        if self._resolved is None:
            if isinstance(self.target, str):
                module_name, _, attr = self.target.partition(":")
                try:
                    module = importlib.import_module(module_name)
                    self._resolved = getattr(module, attr)
                except (ImportError, AttributeError) as err:
                    raise PluginError(
                        f"{self.name!r} (from plugin {self.plugin!r}) points at "
                        f"{self.target!r}, which cannot be imported: {err}"
                    ) from err
            else:
                self._resolved = self.target
        return self._resolved


class Registry:
    """A typed name → class registry filled by plugin hooks.

    Parameters
    ----------
    kind : str
        What the registry holds, used in messages (``"estimator"``).

    Examples
    --------
    >>> reg = Registry("widget")
    >>> reg.register("square", dict, description="a square widget")
    >>> reg.get("square") is dict
    True
    >>> reg.names()
    ['square']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegistryEntry] = {}
        self._aliases: dict[str, str] = {}
        self._current_plugin = "unknown"

    def register(
        self,
        name: str,
        target: Any,
        *,
        description: str = "",
        aliases: tuple[str, ...] | list[str] = (),
        overwrite: bool = False,
    ) -> None:
        """Register ``target`` (a class or ``"module:attr"`` string) under ``name``.

        Raises
        ------
        PluginError
            If ``name`` is taken by another plugin and ``overwrite`` is False.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise PluginError(f"{self.kind} names must be identifiers; got {name!r}")
        if name in self._entries and not overwrite:
            other = self._entries[name].plugin
            raise PluginError(
                f"{self.kind} name {name!r} from plugin {self._current_plugin!r} is already "
                f"registered by {other!r}; choose another name"
            )
        if not description and not isinstance(target, str):
            doc = (getattr(target, "__doc__", "") or "").strip().splitlines()
            description = doc[0] if doc else ""
        self._entries[name] = RegistryEntry(
            name, target, description, tuple(aliases), self._current_plugin
        )
        for alias in aliases:
            self._aliases[alias] = name

    def _canonical(self, name: str) -> str:
        return self._aliases.get(name, name)

    def get(self, name: str) -> Any:
        """Return the registered object, importing it if needed.

        Raises
        ------
        UnknownNameError
            With the list of known names and a "did you mean" suggestion.
        """
        key = self._canonical(name)
        if key not in self._entries:
            known = self.names()
            close = difflib.get_close_matches(str(name), known + list(self._aliases), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}. Known {self.kind}s: "
                f"{', '.join(known) or '(none)'}.{hint}"
            )
        return self._entries[key].resolve()

    def create(self, name: str, **params: Any) -> Any:
        """Instantiate the class registered as ``name`` with ``params``.

        Raises
        ------
        UnknownNameError
            As `get`.
        InputError
            When the class does not take these parameters (naming the valid ones).
        """
        cls = self.get(name)
        try:
            return cls(**params)
        except TypeError as err:
            valid = list(inspect.signature(cls.__init__).parameters)[1:]
            raise InputError(
                f"invalid parameters for {self.kind} {name!r}: {err}. "
                f"Valid parameters: {', '.join(valid)}"
            ) from err

    def entry(self, name: str) -> RegistryEntry:
        """Return the `RegistryEntry` of ``name`` (raises like `get`)."""
        self.get(name)
        return self._entries[self._canonical(name)]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """Mapping of name → one-line description."""
        return {n: self._entries[n].description for n in self.names()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._canonical(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


class _State:
    lock = threading.RLock()
    manager: pluggy.PluginManager | None = None
    registries: dict[str, Registry] = {}
    failed: dict[str, str] = {}
    extra: list[tuple[Any, str]] = []


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    if os.environ.get("ASTROCLUSTERMASS_NO_ENTRY_POINTS", "").lower() in {"1", "true", "yes"}:
        return
    blocked = {
        b.strip()
        for b in os.environ.get("ASTROCLUSTERMASS_BLOCK_PLUGINS", "").split(",")
        if b.strip()
    }
    for name in blocked:
        pm.set_blocked(name)
    for ep in metadata.entry_points(group=NAME):
        if pm.is_blocked(ep.name) or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as err:  # a broken plugin must not break the package
            _State.failed[ep.name] = f"{type(err).__name__}: {err}"
            warnings.warn(
                f"astroclustermass plugin {ep.name!r} ({ep.value}) failed to load and is "
                f"ignored: {type(err).__name__}: {err}",
                PluginWarning,
                stacklevel=3,
            )
            continue
        dist = getattr(ep, "dist", None)
        try:
            pm.register(plugin, name=ep.name)
        except ValueError as err:
            raise PluginError(f"plugin {ep.name!r} could not be registered: {err}") from err
        if dist is not None:
            _plugin_versions[ep.name] = f"{dist.metadata['Name']} {dist.version}"


_plugin_versions: dict[str, str] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the package's one `pluggy.PluginManager`, creating it on first use.

    Examples
    --------
    >>> get_plugin_manager().project_name
    'astroclustermass'
    """
    with _State.lock:
        if _State.manager is None:
            pm = pluggy.PluginManager(NAME)
            pm.add_hookspecs(HookSpecs)
            pm.register(importlib.import_module(_BUILTIN_PLUGIN), name="builtin")
            _load_entry_points(pm)
            for plugin, name in _State.extra:
                if pm.get_plugin(name) is None:
                    pm.register(plugin, name=name)
            pm.check_pending()
            _State.manager = pm
        return _State.manager


def _build_registry(kind: str, hook_name: str) -> Registry:
    pm = get_plugin_manager()
    registry = Registry(kind)
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order: builtins first
        registry._current_plugin = pm.get_name(impl.plugin) or "unknown"
        impl.function(registry)
    registry._current_plugin = "unknown"
    return registry


def _registry(kind: str, hook_name: str) -> Registry:
    with _State.lock:
        if kind not in _State.registries:
            _State.registries[kind] = _build_registry(kind, hook_name)
        return _State.registries[kind]


def estimator_registry() -> Registry:
    """The registry of mass estimators (built on first call).

    Examples
    --------
    >>> "multi_property" in estimator_registry().names()
    True
    """
    return _registry("estimator", "astroclustermass_register_estimators")


def attribution_registry() -> Registry:
    """The registry of attribution (saliency) methods (built on first call).

    Examples
    --------
    >>> isinstance(attribution_registry(), Registry)
    True
    """
    return _registry("attribution", "astroclustermass_register_attributions")


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (module or instance with hook implementations) directly.

    Useful in notebooks and tests, where no entry point is installed. The
    registries are rebuilt so the plugin's names are available at once.

    Returns
    -------
    name : str
        The name the plugin was registered under.
    """
    with _State.lock:
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        _State.extra.append((plugin, name))
        if _State.manager is not None and _State.manager.get_plugin(name) is None:
            _State.manager.register(plugin, name=name)
            _State.manager.check_pending()
        _State.registries.clear()
        return name


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with `register_plugin` and rebuild the registries."""
    with _State.lock:
        _State.extra = [(p, n) for p, n in _State.extra if n != name]
        if _State.manager is not None and _State.manager.get_plugin(name) is not None:
            _State.manager.unregister(name=name)
        _State.registries.clear()


def reset_plugins() -> None:
    """Forget the manager and registries; the next lookup rediscovers plugins."""
    with _State.lock:
        _State.manager = None
        _State.registries.clear()
        _State.failed.clear()


def list_plugins() -> list[dict[str, Any]]:
    """Describe loaded plugins: name, version, hooks, and those that failed to load.

    Examples
    --------
    >>> [p["name"] for p in list_plugins()][:1]
    ['builtin']
    """
    pm = get_plugin_manager()
    from ..version import __version__

    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        version = __version__ if name == "builtin" else _plugin_versions.get(name, "")
        out.append({"name": name, "version": version, "hooks": hooks, "status": "loaded"})
    for name, why in _State.failed.items():
        out.append({"name": name, "version": "", "hooks": [], "status": f"failed: {why}"})
    return out
