"""The plugin contract: registration, validation, ordering, protocol-hook replacement."""

from __future__ import annotations

import inspect
import re

import pluggy
import pytest

import shrinkfw
from conftest import CountingShrinker, TraceRecorder, make_sim
from shrinkfw import (
    PluginError,
    Pressure,
    ShrinkControl,
    ShrinkerEntry,
    ShrinkerFlags,
    ShrinkerRegistry,
    Simulation,
    UsageError,
    hookspecs,
)
from shrinkfw._plugins import make_plugin_manager
from shrinkfw.registry import ShrinkerRegistrationError


class Registers:
    def __init__(self, name: str, *shrinkers: CountingShrinker) -> None:
        self.name = name
        self.shrinkers = shrinkers

    @shrinkfw.hookimpl
    def shrinkfw_register_shrinkers(self, registry: ShrinkerRegistry) -> None:
        for shrinker in self.shrinkers:
            registry.add(shrinker)


def test_every_hookspec_is_documented_with_every_parameter() -> None:
    """docs/hooks.md is generated from these docstrings (tests/test_docs.py checks that it
    pulls them all in), so they are the hooks' only documentation."""
    specs = [f for name, f in vars(hookspecs).items() if name.startswith("shrinkfw_")]
    assert len(specs) >= 9
    for spec in specs:
        name = spec.__name__
        assert hasattr(spec, "shrinkfw_spec"), f"{name} is named like a hook but not a @hookspec"
        doc = inspect.getdoc(spec) or ""
        assert doc, name
        assert doc.splitlines()[0].strip(), f"{name} has no summary line"
        params = list(inspect.signature(spec).parameters)
        for param in params:
            assert f":param {param}:" in doc, f"{name} does not document {param}"
        documented = re.findall(r"^:param (\w+):", doc, re.M)
        stale = [p for p in documented if p not in params]
        assert not stale, f"{name} documents parameters it does not have: {stale}"
        assert len(documented) == len(set(documented)), f"{name} documents a parameter twice"


def test_registration_order_is_by_plugin_name_not_install_order() -> None:
    b = Registers("b-plugin", CountingShrinker(name="b1", flags=ShrinkerFlags.MEMCG_AWARE))
    a = Registers(
        "a-plugin",
        CountingShrinker(name="a1", flags=ShrinkerFlags.MEMCG_AWARE),
        CountingShrinker(name="a2"),
    )
    for plugins in ([a, b], [b, a]):
        sim = make_sim(plugins=plugins)
        assert [e.name for e in sim.shrinkers.entries] == ["a1", "a2", "b1"]
        assert [e.plugin for e in sim.shrinkers.entries] == ["a-plugin", "a-plugin", "b-plugin"]
        assert [e.id for e in sim.shrinkers.entries] == [0, -1, 1]


def test_shrinker_ids_are_lowest_free() -> None:
    registry = ShrinkerRegistry(nr_nodes=2)
    entries = [
        registry.add(CountingShrinker(name=f"s{i}", flags=ShrinkerFlags.MEMCG_AWARE))
        for i in range(3)
    ]
    registry.remove(entries[1])
    again = registry.add(CountingShrinker(name="s3", flags=ShrinkerFlags.MEMCG_AWARE))
    assert again.id == 1
    assert registry.by_id(1) is again


def test_numa_aware_is_dropped_on_one_node() -> None:
    one = ShrinkerRegistry(nr_nodes=1).add(CountingShrinker(flags=ShrinkerFlags.NUMA_AWARE))
    two = ShrinkerRegistry(nr_nodes=2).add(CountingShrinker(flags=ShrinkerFlags.NUMA_AWARE))
    assert not one.numa_aware
    assert one.nr_deferred == [0]
    assert two.numa_aware
    assert two.nr_deferred == [0, 0]


@pytest.mark.parametrize(
    ("shrinker", "message"),
    [
        (object(), "is not a shrinker: missing name, flags"),
        (CountingShrinker(name=""), "name must be a non-empty str"),
        (CountingShrinker(seeks=-1), "seeks must be an int >= 0"),
        (CountingShrinker(batch=1.5), "batch must be an int >= 0"),  # type: ignore[arg-type]
        (CountingShrinker(flags=3), "flags must be ShrinkerFlags"),  # type: ignore[arg-type]
    ],
)
def test_malformed_shrinkers_are_rejected_naming_the_plugin(shrinker: object, message: str) -> None:
    registry = ShrinkerRegistry(nr_nodes=1)
    with pytest.raises(ShrinkerRegistrationError, match=message) as info:
        registry.add(shrinker, plugin="acme")  # type: ignore[arg-type]
    assert "plugin 'acme'" in str(info.value)


def test_duplicate_shrinker_names_are_rejected() -> None:
    with pytest.raises(ShrinkerRegistrationError, match="already registered by plugin 'a'"):
        make_sim(plugins=[Registers("a", CountingShrinker()), Registers("b", CountingShrinker())])


def test_a_misspelt_hook_is_refused() -> None:
    class Typo:
        @shrinkfw.hookimpl
        def shrinkfw_registr_shrinkers(self, registry: ShrinkerRegistry) -> None: ...

    with pytest.raises(PluginError, match="unknown hook 'shrinkfw_registr_shrinkers'"):
        make_sim(plugins=[Typo()])


def test_a_wrong_argument_name_is_refused() -> None:
    class Wrong:
        @shrinkfw.hookimpl
        def shrinkfw_register_shrinkers(self, regstry: ShrinkerRegistry) -> None: ...

    with pytest.raises(PluginError, match="regstry"):
        make_sim(plugins=[Wrong()])


def test_the_essential_plugin_cannot_be_disabled() -> None:
    with pytest.raises(UsageError, match="essential"):
        make_plugin_manager(disable=["shrinkfw.vmscan"], autoload=False)


def test_two_simulations_do_not_share_plugins() -> None:
    recorder = TraceRecorder()
    with_rec = make_sim("v6.7", plugins=[recorder, Registers("p", CountingShrinker(freeable=5))])
    without = make_sim("v6.7", plugins=[Registers("p", CountingShrinker(freeable=5))])
    without.shrink_slab(pressure=Pressure(priority=0))
    assert recorder.starts == []
    with_rec.shrink_slab(pressure=Pressure(priority=0))
    assert len(recorder.starts) == 1


def test_a_plugin_can_replace_do_shrink_slab() -> None:
    class Halve:
        @shrinkfw.hookimpl
        def shrinkfw_do_shrink_slab(self, shrinker: ShrinkerEntry) -> int:
            return 7

    sim = make_sim("v6.7", plugins=[Halve(), Registers("p", CountingShrinker(freeable=1000))])
    assert sim.shrink_slab(pressure=Pressure(priority=0)) == 7


def test_a_wrapper_sees_the_default_result() -> None:
    seen: list[int] = []

    class Wrap:
        @shrinkfw.hookimpl(wrapper=True)
        def shrinkfw_do_shrink_slab(self) -> object:
            result = yield
            seen.append(result)
            return result

    sim = make_sim(
        "v6.7", plugins=[Wrap(), Registers("p", CountingShrinker(freeable=1000, consume=True))]
    )
    freed = sim.shrink_slab(pressure=Pressure(priority=0))
    assert seen == [freed]
    assert freed == 1000


def test_registering_a_plugin_later_refreshes_the_fast_path() -> None:
    sim = make_sim("v6.7", plugins=[Registers("p", CountingShrinker(freeable=1000))])
    recorder = TraceRecorder()
    sim.pm.register(recorder, name="late")
    sim.shrink_slab(pressure=Pressure(priority=0))
    assert len(recorder.ends) == 1


def test_no_default_result_is_reported() -> None:
    class Nothing:
        @shrinkfw.hookimpl(tryfirst=True)
        def shrinkfw_do_shrink_slab(self) -> None:
            return None

    sim = make_sim("v6.7", plugins=[Nothing(), Registers("p", CountingShrinker(freeable=1))])
    sim.pm.unregister(name="shrinkfw.vmscan")
    with pytest.raises(PluginError, match=r"essential plugin 'shrinkfw\.vmscan'"):
        sim.hooks.do_shrink_slab(
            ShrinkControl(), sim.shrinkers.get("fake"), Pressure(priority=0), sim
        )


def test_hookimpl_marker_is_pluggys() -> None:
    assert isinstance(shrinkfw.hookimpl, pluggy.HookimplMarker)
    assert isinstance(make_sim(), Simulation)
