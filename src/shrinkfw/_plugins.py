"""Building a simulation's plugin manager: built-ins, entry points, explicit plugins."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Final

import pluggy

from . import hookspecs
from .errors import PluginError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ENTRY_POINT_GROUP", "ESSENTIAL_PLUGINS", "PluginManager", "make_plugin_manager"]

#: The entry-point group plugins register under.
ENTRY_POINT_GROUP: Final = "shrinkfw"
#: Built-in plugins holding the default implementations of the protocol hooks.
ESSENTIAL_PLUGINS: Final = ("shrinkfw.vmscan", "shrinkfw.vfs")


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that counts registrations, so cached hook dispatch can refresh."""

    def __init__(self) -> None:
        super().__init__("shrinkfw")
        self.generation = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        result = super().register(plugin, name)
        self.generation += 1
        return result

    def unregister(self, plugin: object | None = None, name: str | None = None) -> object | None:
        result = super().unregister(plugin, name)
        self.generation += 1
        return result


def _plugin_name(plugin: object, taken: set[str]) -> str:
    """A stable name: a module's name, else the object's ``name`` or class name, numbered."""
    base = getattr(plugin, "__name__", None) or getattr(plugin, "name", None)
    if not isinstance(base, str):
        base = type(plugin).__name__
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}#{n}"
    taken.add(name)
    return name


def make_plugin_manager(
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    disable: Iterable[str] = (),
) -> PluginManager:
    """Create the plugin manager of one simulation.

    :param plugins: plugin objects or modules to register explicitly, after entry points.
    :param autoload: load the ``shrinkfw`` entry points; ``None`` reads
        ``SHRINKFW_DISABLE_PLUGIN_AUTOLOAD`` (set: do not load).
    :param disable: plugin names to block (also read from ``SHRINKFW_DISABLE_PLUGINS``,
        comma-separated). Essential plugins cannot be blocked.
    :raises UsageError: an essential plugin was disabled.
    :raises PluginError: a plugin failed to load or implements a hook that does not exist.
    """
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    # historic: every plugin gets it as it is registered, so its own hookspecs exist before
    # check_pending looks for implementations without a spec
    pm.hook.shrinkfw_addhooks.call_historic(kwargs={"pluginmanager": pm})
    env_disabled = [n.strip() for n in os.environ.get("SHRINKFW_DISABLE_PLUGINS", "").split(",")]
    for name in (*disable, *env_disabled):
        if not name:
            continue
        if name in ESSENTIAL_PLUGINS:
            raise UsageError(f"plugin {name!r} is essential and cannot be disabled")
        pm.set_blocked(name)
    if autoload is None:
        autoload = not os.environ.get("SHRINKFW_DISABLE_PLUGIN_AUTOLOAD")
    try:
        if autoload:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        taken = {name for name, _ in pm.list_name_plugin()}
        for plugin in plugins:
            pm.register(plugin, name=_plugin_name(plugin, taken))
        for modname in ESSENTIAL_PLUGINS:
            pm.register(importlib.import_module(modname), name=modname)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
    return pm
