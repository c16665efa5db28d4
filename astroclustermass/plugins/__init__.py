"""Plugin system: pluggy hooks and typed registries of estimators and attributions.

Built-in estimators and attribution methods are registered through the same
hooks as third-party ones. A third-party package registers itself with an entry
point in the group ``astroclustermass``::

    # pyproject.toml of the plugin package
    [project.entry-points.astroclustermass]
    my_plugin = "my_plugin_package.plugin"

and implements one or more hooks in that module::

    from astroclustermass.plugins import hookimpl

    @hookimpl
    def astroclustermass_register_estimators(registry):
        registry.register("my_estimator", MyEstimator,
                          description="one line shown by `astroclustermass plugins`")

Plugins are loaded lazily, the first time a registry is needed (never at
import). A plugin that fails to import gives a `PluginWarning` naming it; the
others keep working. The environment variable ``ASTROCLUSTERMASS_BLOCK_PLUGINS``
(comma-separated entry-point names) blocks plugins, and
``ASTROCLUSTERMASS_NO_ENTRY_POINTS=1`` skips entry-point discovery altogether.

Examples
--------
>>> from astroclustermass.plugins import estimator_registry
>>> "power_law" in estimator_registry()
True
"""

from .manager import (
    NAME,
    HookSpecs,
    Registry,
    RegistryEntry,
    attribution_registry,
    estimator_registry,
    get_plugin_manager,
    hookimpl,
    hookspec,
    list_plugins,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)

__all__ = [
    "NAME",
    "hookimpl",
    "hookspec",
    "HookSpecs",
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
