"""``shrinkfw_addhooks``: a plugin adds hookspecs of its own, for other plugins to implement."""

from __future__ import annotations

from typing import Any

import pluggy

import shrinkfw
from shrinkfw import Simulation

spec = pluggy.HookspecMarker("shrinkfw")


class MySpecs:
    @spec
    def shrinkfw_my_event(self, value: int) -> None:
        """A hook the plugin below defines."""


class Definer:
    @shrinkfw.hookimpl
    def shrinkfw_addhooks(self, pluginmanager: pluggy.PluginManager) -> None:
        pluginmanager.add_hookspecs(MySpecs)


class Listener:
    def __init__(self) -> None:
        self.seen: list[int] = []

    @shrinkfw.hookimpl
    def shrinkfw_my_event(self, value: int) -> None:
        self.seen.append(value)


def test_a_plugin_can_add_hookspecs_that_others_implement() -> None:
    listener = Listener()
    sim = Simulation.build(plugins=[Definer(), listener], autoload=False)
    hook: Any = sim.pm.hook
    hook.shrinkfw_my_event(value=3)
    assert listener.seen == [3]
