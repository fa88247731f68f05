"""Hook specifications: the contract between shrinkfw and its plugins.

Plugins implement these with ``@shrinkfw.hookimpl`` and are found through the ``shrinkfw``
entry-point group. The hooks come in three tiers:

* **setup** hooks run once while a :class:`~shrinkfw.sim.Simulation` is built: plugins add their
  own hookspecs and register shrinkers;
* **protocol** hooks (``firstresult``) run the phases of reclaim. shrinkfw's built-in
  ``shrinkfw.vmscan`` plugin implements each with ``trylast``, so a plugin may replace a phase
  (return a value) or wrap it (``wrapper=True``) to trace or adjust it;
* **notification** hooks (1:N, return ``None``) report what happened: the
  ``mm_shrink_slab_start`` / ``mm_shrink_slab_end`` tracepoints and memcg lifecycle changes.

Per-object work is not a hook: ``count_objects`` / ``scan_objects`` and list_lru isolate
callbacks are plain method calls on the objects plugins register (see
:class:`shrinkfw.Shrinker`). A hook costs microseconds; reclaim touches millions of objects.

Hook implementations may take any subset of a spec's arguments, by name. New arguments may be
added to a spec in later versions; existing implementations keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
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

__all__ = ["hookspec"]

hookspec = pluggy.HookspecMarker("shrinkfw")

# -- setup -------------------------------------------------------------------------------------


@hookspec(historic=True)
def shrinkfw_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add hook specifications that a plugin owns.

    A filesystem plugin publishes the hooks other plugins implement for it here, with
    ``pluginmanager.add_hookspecs(module)``.

    :param pluginmanager: the simulation's plugin manager.

    Historic: a plugin registered after the call still receives it.
    """


@hookspec
def shrinkfw_register_shrinkers(registry: ShrinkerRegistry, sim: Simulation) -> None:
    """Create this plugin's shrinkers and add them with ``registry.add(shrinker)``.

    Called once while the simulation is built, after its memcg tree and nodes exist and before
    the first reclaim. Plugins are called in the order of their names, so shrinker ids and the
    dispatch order do not depend on how the plugins were installed. A shrinker created later
    (a filesystem mounted mid-run) is added with ``sim.shrinkers.add(shrinker, plugin=...)``.

    :param registry: collects shrinkers; rejects malformed ones and duplicate names.
    :param sim: the simulation being built (profile, nodes, memcg tree, seeded RNG).
    """


@hookspec
def shrinkfw_register_fs_types(registry: FsTypeRegistry, sim: Simulation) -> None:
    """Register filesystem types with ``registry.add(name, zero_seek=..., super_ops=...)``.

    Called once while the simulation is built, before ``shrinkfw_register_shrinkers``.
    ``super_ops(sb)`` builds the fs-private cache operations of a new superblock
    (``nr_cached_objects`` / ``free_cached_objects``), as XFS does for its inode reclaim.

    :param registry: the simulation's filesystem types; names are unique.
    :param sim: the simulation being built.
    """


@hookspec
def shrinkfw_register_workloads(registry: WorkloadRegistry, sim: Simulation) -> None:
    """Register workloads with ``registry.add(name, start, description=..., params=...)``.

    Called once while the simulation is built. ``start(sim, memcg, sb, **params)`` schedules
    the workload's events on ``sim``'s clock and returns an object with ``stop()``.

    :param registry: the simulation's workloads; names are unique.
    :param sim: the simulation being built.
    """


@hookspec
def shrinkfw_register_consumers(registry: ConsumerRegistry, sim: Simulation) -> None:
    """Register pressure consumers with ``registry.add(name, start, description=..., params=...)``.

    Called once while the simulation is built. ``start(sim, **params)`` registers the
    consumer's listeners (``sim.vmpressure.register_event(..., reader=...)``) and returns an
    object with ``stop()``. Report each action with ``sim.record_decision``.

    :param registry: the simulation's consumers; names are unique.
    :param sim: the simulation being built.
    """


@hookspec
def shrinkfw_configure(sim: Simulation) -> None:
    """The simulation is built: every plugin is registered and every setup hook has run.

    :param sim: the simulation.
    """


# -- protocol (firstresult; the built-in default is trylast) -----------------------------------


@hookspec(firstresult=True)
def shrinkfw_shrink_slab(sc: ShrinkControl, pressure: Pressure, sim: Simulation) -> int | None:
    """Run one slab-shrinking pass for ``(sc.nid, sc.memcg)``: models ``shrink_slab``.

    The built-in implementation picks the shrinkers the profile's kernel would call for this
    node and memcg (a memcg-aware walk in the kmemcg v15 seed; the shrinker bitmap from v4.19)
    and runs :hook:`shrinkfw_do_shrink_slab` for each.

    :param sc: the request; ``sc.gfp_mask``, ``sc.nid``, ``sc.memcg`` and (seed only)
        ``sc.target_mem_cgroup`` are set by the caller.
    :param pressure: the pass's reclaim priority and page-scan ratio.
    :param sim: the running simulation.
    :returns: objects freed in this pass.

    First result wins: return ``None`` to let the next implementation decide.
    """


@hookspec(firstresult=True)
def shrinkfw_do_shrink_slab(
    sc: ShrinkControl, shrinker: ShrinkerEntry, pressure: Pressure, sim: Simulation
) -> int | None:
    """Invoke one shrinker once: models ``do_shrink_slab`` (``shrink_slab_node`` in v3.x).

    The built-in implementation counts the shrinker's objects, takes its deferred work, sizes
    the scan by the profile's era arithmetic, runs the batch loop, puts unfinished work back,
    and fires :hook:`shrinkfw_shrink_slab_start` and :hook:`shrinkfw_shrink_slab_end`.

    :param sc: the request for this shrinker; ``sc.nid`` is the node of the call.
    :param shrinker: the registered shrinker with its ``nr_deferred`` and statistics.
    :param pressure: the pass's reclaim priority and page-scan ratio.
    :param sim: the running simulation.
    :returns: objects freed, or ``SHRINK_EMPTY`` (v4.19+ profiles) when the count said the
        cache is empty.

    First result wins: return ``None`` to let the next implementation decide.
    """


@hookspec(firstresult=True)
def shrinkfw_prune_dcache_sb(sb: SuperBlock, sc: ShrinkControl, sim: Simulation) -> int | None:
    """Prune up to ``sc.nr_to_scan`` unused dentries of ``sb`` (``prune_dcache_sb``).

    Called by the superblock shrinker with its share of the scan budget, for the list of
    ``(sc.nid, sc.memcg)`` of ``sb.dentry_lru``. The dcache plugin implements it; the
    built-in default prunes nothing.

    :param sb: the superblock being shrunk.
    :param sc: the request; ``sc.nr_to_scan`` is the dentries' share.
    :param sim: the running simulation.
    :returns: dentries freed.
    """


@hookspec(firstresult=True)
def shrinkfw_prune_icache_sb(sb: SuperBlock, sc: ShrinkControl, sim: Simulation) -> int | None:
    """Prune up to ``sc.nr_to_scan`` unused inodes of ``sb`` (``prune_icache_sb``).

    Called after the dentries, with the inodes' share of the budget. The inode plugin
    implements it; the built-in default prunes nothing.

    :param sb: the superblock being shrunk.
    :param sc: the request; ``sc.nr_to_scan`` is the inodes' share.
    :param sim: the running simulation.
    :returns: inodes freed.
    """


@hookspec(firstresult=True)
def shrinkfw_iget(
    sb: SuperBlock, ino: int, memcg: MemCgroup | None, nid: int, sim: Simulation
) -> Inode | None:
    """Find or create the in-core inode ``ino`` of ``sb`` with a reference (``iget``).

    The inode plugin implements it (inodes are slab objects on ``sb.inode_lru``); the
    built-in default returns a bare :class:`~shrinkfw.vfs.Inode` that only counts references.
    When the inode cannot be allocated, raise :class:`shrinkfw.AllocationError` (the
    kernel's ``iget`` returning ``NULL``); returning ``None`` means "not mine".

    :param sb: the superblock.
    :param ino: the inode number.
    :param memcg: the memcg the allocation is charged to.
    :param nid: the node to allocate on.
    :param sim: the running simulation.
    """


@hookspec(firstresult=True)
def shrinkfw_iput(inode: Inode, sim: Simulation) -> bool | None:
    """Drop a reference to ``inode`` (``iput``); the last one may put it on the inode LRU.

    The dcache plugin calls it (through ``sb.vfs.iput``) when it kills a positive dentry.

    :param inode: the inode.
    :param sim: the running simulation.
    :returns: ``True`` when handled.
    """


# -- notifications -----------------------------------------------------------------------------


@hookspec
def shrinkfw_shrink_slab_start(event: ShrinkSlabStart, sim: Simulation) -> None:
    """The ``mm_shrink_slab_start`` tracepoint: a shrinker's scan target was computed.

    Only called when at least one plugin implements it.

    :param event: the tracepoint's fields.
    :param sim: the running simulation; do not change it from here.
    """


@hookspec
def shrinkfw_shrink_slab_end(event: ShrinkSlabEnd, sim: Simulation) -> None:
    """The ``mm_shrink_slab_end`` tracepoint: a shrinker's batch loop and put-back are done.

    Only called when at least one plugin implements it.

    :param event: the tracepoint's fields.
    :param sim: the running simulation; do not change it from here.
    """


@hookspec
def shrinkfw_memcg_online(memcg: MemCgroup, sim: Simulation) -> None:
    """A memory cgroup came online (``mem_cgroup_css_online``).

    :param memcg: the new memcg; its ``kmemcg_id`` is set when the profile activates kmem at
        online.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_memcg_offline(memcg: MemCgroup, sim: Simulation) -> None:
    """A memory cgroup is going offline (``mem_cgroup_css_offline``).

    Called after the profile's kernel work for offlining is done: the seed's slab flush
    loop, or the reparenting of list_lru items and deferred work to the parent. The memcg
    stays visible as dying while charges pin it.

    :param memcg: the memcg going offline.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_memcg_free(memcg: MemCgroup, sim: Simulation) -> None:
    """A dying memory cgroup was freed: its last pinning charge went away (``css_free``).

    :param memcg: the freed memcg.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_vmpressure(event: PressureEvent, sim: Simulation) -> None:
    """A vmpressure event was delivered to a listener (``vmpressure_event``).

    Called once per delivery: a window's level reaching a user listener registered for it,
    or any window reaching an in-kernel listener (the seed's 12/13 API). ``event.level`` is
    ``Level.LOW``, ``MEDIUM`` or ``CRITICAL``; ``event.memcg`` is the listener's memcg and
    ``event.origin`` the memcg whose window filled.

    :param event: the delivered event.
    :param sim: the running simulation; consumers act through its public API.
    """


@hookspec
def shrinkfw_vmpressure_window(window: Window, sim: Simulation) -> None:
    """A memcg's vmpressure window was evaluated (``vmpressure_work_fn``): its level, whether
    or not anyone listens. Socket-pressure samples are not windows.

    :param window: the memcg, the pages scanned and reclaimed, the pressure and the level.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_consumer_decision(decision: Decision, sim: Simulation) -> None:
    """A pressure consumer acted, or in a dry run decided it would have (an oomd kill, a
    dead-memcg reap).

    :param decision: who decided what about which memcg, why, and what it freed.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_plugin_disabled(plugin: str, error: str, sim: Simulation) -> None:
    """A misbehaving plugin was unregistered (``--on-plugin-error=disable``); the run goes on.

    :param plugin: the plugin's name.
    :param error: the broken rule, as one line naming the plugin and the shrinker or hook.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_reclaim_done(record: ReclaimRecord, sim: Simulation) -> None:
    """A reclaim invocation finished: direct, kswapd, memcg limit or high, drop_caches.

    :param record: what it reclaimed and what it cost (pages, slab pages and objects, the
        lowest priority, memcgs the kernel's walk visits, ``shrink_slab`` passes).
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_mount(sb: SuperBlock, sim: Simulation) -> None:
    """A filesystem was mounted; its superblock shrinker is registered.

    :param sb: the new superblock.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_umount(sb: SuperBlock, sim: Simulation) -> None:
    """A filesystem is being unmounted: free every object you keep for ``sb``.

    Called after its shrinker is unregistered and before its list_lrus are destroyed.

    :param sb: the superblock going away.
    :param sim: the running simulation.
    """


@hookspec
def shrinkfw_evict_inode(inode: Inode, sim: Simulation) -> None:
    """An inode left the VFS (``evict``, then the filesystem's ``destroy_inode``).

    The inode plugin announces every eviction through ``sb.vfs.evict_inode``; a filesystem
    that keeps evicted inodes for its own reclaim (XFS tags them reclaimable and frees them
    through ``free_cached_objects``) takes them over here.

    :param inode: the evicted inode.
    :param sim: the running simulation.
    """
