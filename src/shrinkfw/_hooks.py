"""A typed facade over the plugin manager's hooks; core code never calls ``pm.hook`` itself.

Protocol hooks whose only implementation is the built-in default are called directly, and
notification hooks nobody implements are not called at all: a pluggy call costs microseconds,
and ``do_shrink_slab`` runs for every shrinker of every pass. The choice is refreshed whenever
a plugin is registered or unregistered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, final

from .errors import PluginError
from .shrink_slab import do_shrink_slab, shrink_slab

if TYPE_CHECKING:
    from ._plugins import PluginManager
    from .consumer import ConsumerRegistry, Decision
    from .memcg import MemCgroup
    from .registry import ShrinkerEntry, ShrinkerRegistry
    from .shrink_arith import Pressure
    from .shrinker import ShrinkControl
    from .sim import Simulation
    from .tracepoints import ShrinkSlabEnd, ShrinkSlabStart
    from .vfs import FsTypeRegistry, Inode, SuperBlock
    from .vmpressure import PressureEvent, Window
    from .vmscan import ReclaimRecord
    from .workload import WorkloadRegistry

__all__ = ["Hooks"]

_BUILTIN = "shrinkfw.vmscan"


@final
class Hooks:
    """Typed entry points into the plugin system of one simulation."""

    __slots__ = ("_direct_do", "_direct_shrink", "_generation", "_hook", "_pm", "_wants")

    def __init__(self, pm: PluginManager) -> None:
        self._pm = pm
        self._hook = pm.hook
        self._generation = -1
        self._wants: dict[str, bool] = {}
        self._direct_do = False
        self._direct_shrink = False
        self._refresh()

    def _refresh(self) -> None:
        hook = self._hook

        def only_builtin(name: str) -> bool:
            impls = getattr(hook, name).get_hookimpls()
            return len(impls) == 1 and impls[0].plugin_name == _BUILTIN

        self._direct_do = only_builtin("shrinkfw_do_shrink_slab")
        self._direct_shrink = only_builtin("shrinkfw_shrink_slab")
        self._wants = {
            name: bool(getattr(hook, name).get_hookimpls())
            for name in ("shrinkfw_shrink_slab_start", "shrinkfw_shrink_slab_end")
        }
        self._generation = self._pm.generation

    def _fresh(self) -> None:
        if self._pm.generation != self._generation:
            self._refresh()

    # -- protocol -------------------------------------------------------------------------

    def do_shrink_slab(
        self, sc: ShrinkControl, shrinker: ShrinkerEntry, pressure: Pressure, sim: Simulation
    ) -> int:
        self._fresh()
        if self._direct_do:
            return do_shrink_slab(sc, shrinker, pressure, sim)
        result: int | None = self._hook.shrinkfw_do_shrink_slab(
            sc=sc, shrinker=shrinker, pressure=pressure, sim=sim
        )
        if result is None:
            raise PluginError(
                "no plugin returned a result from shrinkfw_do_shrink_slab; "
                f"is the essential plugin {_BUILTIN!r} registered?"
            )
        return result

    def shrink_slab(self, sc: ShrinkControl, pressure: Pressure, sim: Simulation) -> int:
        self._fresh()
        if self._direct_shrink:
            return shrink_slab(sc, pressure, sim)
        result: int | None = self._hook.shrinkfw_shrink_slab(sc=sc, pressure=pressure, sim=sim)
        if result is None:
            raise PluginError(
                "no plugin returned a result from shrinkfw_shrink_slab; "
                f"is the essential plugin {_BUILTIN!r} registered?"
            )
        return result

    # -- setup ----------------------------------------------------------------------------

    def register_shrinkers(self, registry: ShrinkerRegistry, sim: Simulation) -> None:
        """Call each plugin's ``shrinkfw_register_shrinkers`` in plugin-name order."""
        self._setup("shrinkfw_register_shrinkers", registry, sim)

    def register_fs_types(self, registry: FsTypeRegistry, sim: Simulation) -> None:
        """Call each plugin's ``shrinkfw_register_fs_types`` in plugin-name order."""
        self._setup("shrinkfw_register_fs_types", registry, sim)

    def register_workloads(self, registry: WorkloadRegistry, sim: Simulation) -> None:
        """Call each plugin's ``shrinkfw_register_workloads`` in plugin-name order."""
        self._setup("shrinkfw_register_workloads", registry, sim)

    def register_consumers(self, registry: ConsumerRegistry, sim: Simulation) -> None:
        """Call each plugin's ``shrinkfw_register_consumers`` in plugin-name order."""
        self._setup("shrinkfw_register_consumers", registry, sim)

    def _setup(
        self,
        name: str,
        registry: FsTypeRegistry | WorkloadRegistry | ShrinkerRegistry | ConsumerRegistry,
        sim: Simulation,
    ) -> None:
        """Run a registration hook plugin by plugin, sorted by name, telling the registry
        which plugin is registering."""
        impls = getattr(self._hook, name).get_hookimpls()
        for impl in sorted(impls, key=lambda i: i.plugin_name):
            registry.current_plugin = impl.plugin_name
            try:
                impl.function(
                    **{arg: {"registry": registry, "sim": sim}[arg] for arg in impl.argnames}
                )
            finally:
                registry.current_plugin = None

    def iget(
        self, sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int, sim: Simulation
    ) -> Inode:
        inode: Inode | None = self._hook.shrinkfw_iget(
            sb=sb, ino=ino, memcg=memcg, nid=nid, sim=sim
        )
        assert inode is not None, "the built-in shrinkfw.vfs plugin always answers"
        return inode

    def iput(self, inode: Inode, sim: Simulation) -> None:
        self._hook.shrinkfw_iput(inode=inode, sim=sim)

    def evict_inode(self, inode: Inode, sim: Simulation) -> None:
        self._hook.shrinkfw_evict_inode(inode=inode, sim=sim)

    def prune_dcache_sb(self, sb: SuperBlock, sc: ShrinkControl, sim: Simulation) -> int:
        result: int | None = self._hook.shrinkfw_prune_dcache_sb(sb=sb, sc=sc, sim=sim)
        return result or 0

    def prune_icache_sb(self, sb: SuperBlock, sc: ShrinkControl, sim: Simulation) -> int:
        result: int | None = self._hook.shrinkfw_prune_icache_sb(sb=sb, sc=sc, sim=sim)
        return result or 0

    def mount(self, sb: SuperBlock, sim: Simulation) -> None:
        self._hook.shrinkfw_mount(sb=sb, sim=sim)

    def umount(self, sb: SuperBlock, sim: Simulation) -> None:
        self._hook.shrinkfw_umount(sb=sb, sim=sim)

    def configure(self, sim: Simulation) -> None:
        self._hook.shrinkfw_configure(sim=sim)

    # -- notifications --------------------------------------------------------------------

    @property
    def wants_shrink_slab_start(self) -> bool:
        self._fresh()
        return self._wants["shrinkfw_shrink_slab_start"]

    @property
    def wants_shrink_slab_end(self) -> bool:
        self._fresh()
        return self._wants["shrinkfw_shrink_slab_end"]

    def shrink_slab_start(self, event: ShrinkSlabStart, sim: Simulation) -> None:
        self._hook.shrinkfw_shrink_slab_start(event=event, sim=sim)

    def shrink_slab_end(self, event: ShrinkSlabEnd, sim: Simulation) -> None:
        self._hook.shrinkfw_shrink_slab_end(event=event, sim=sim)

    def memcg_online(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._hook.shrinkfw_memcg_online(memcg=memcg, sim=sim)

    def memcg_offline(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._hook.shrinkfw_memcg_offline(memcg=memcg, sim=sim)

    def memcg_free(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._hook.shrinkfw_memcg_free(memcg=memcg, sim=sim)

    def vmpressure(self, event: PressureEvent, sim: Simulation) -> None:
        self._hook.shrinkfw_vmpressure(event=event, sim=sim)

    def reclaim_done(self, record: ReclaimRecord, sim: Simulation) -> None:
        self._hook.shrinkfw_reclaim_done(record=record, sim=sim)

    def consumer_decision(self, decision: Decision, sim: Simulation) -> None:
        self._hook.shrinkfw_consumer_decision(decision=decision, sim=sim)

    def plugin_disabled(self, plugin: str, error: str, sim: Simulation) -> None:
        self._hook.shrinkfw_plugin_disabled(plugin=plugin, error=error, sim=sim)

    def vmpressure_window(self, window: Window, sim: Simulation) -> None:
        self._hook.shrinkfw_vmpressure_window(window=window, sim=sim)
