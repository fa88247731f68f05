"""The simulation: one kernel's state, its plugins and its seeded RNG.

A :class:`Simulation` owns everything one simulated machine needs: a plugin manager of its own
(two simulations in one process never share plugins or state), the kernel profile, the nodes,
the memcg tree, the shrinker registry, the list_lrus plugins create through it, vmstat
counters and one seeded :class:`random.Random`. Build one with :meth:`Simulation.build`.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from ._hooks import Hooks
from ._log import get_logger
from ._plugins import PluginManager, make_plugin_manager
from .errors import UsageError
from .list_lru import ListLRU
from .memcg import MemCgroup, MemcgTree
from .profiles import DEFAULT_PROFILE, DeferredSlot, KernelProfile, get_profile
from .registry import ShrinkerEntry, ShrinkerRegistry
from .shrink_arith import Pressure
from .shrinker import GFP_KERNEL, ShrinkControl

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Simulation"]

#: ``drop_slab`` and the seed's ``memcg_drop_slab`` loop while a pass frees more than this.
DROP_SLAB_THRESHOLD = 10


class Simulation:
    """One simulated machine. Create it with :meth:`build`."""

    def __init__(
        self,
        *,
        profile: KernelProfile,
        seed: int,
        nr_nodes: int,
        pm: PluginManager,
        logger: Any = None,
    ) -> None:
        if nr_nodes < 1:
            raise UsageError(f"nr_nodes must be at least 1, got {nr_nodes}")
        self.profile = profile
        self.seed = seed
        self.nr_nodes = nr_nodes
        self.pm = pm
        self.hooks = Hooks(pm)
        self.log = logger if logger is not None else get_logger("shrinkfw.sim")
        self.rng = random.Random(seed)
        self.vmstat: Counter[str] = Counter()
        self.memcgs = MemcgTree(profile.kmem, nr_nodes)
        self.shrinkers = ShrinkerRegistry(nr_nodes)
        self.lrus: list[ListLRU] = []
        self.memcgs.on_array_grow.append(self._grow_lrus)
        self.memcgs.on_online.append(self._memcg_online)
        self.memcgs.on_offline.append(self._memcg_offline)
        self.memcgs.on_free.append(self._memcg_free)

    @classmethod
    def build(
        cls,
        *,
        profile: str | KernelProfile = DEFAULT_PROFILE,
        seed: int = 0,
        nr_nodes: int = 1,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        disable: Iterable[str] = (),
        logger: Any = None,
    ) -> Simulation:
        """Build a simulation and run the plugins' setup hooks.

        :param profile: a profile name from ``shrinkfw profiles`` or a profile object.
        :param seed: seeds the simulation's only RNG.
        :param nr_nodes: NUMA nodes of the machine.
        :param plugins: plugin objects or modules to register besides the entry points.
        :param autoload: load the ``shrinkfw`` entry points (default: unless
            ``SHRINKFW_DISABLE_PLUGIN_AUTOLOAD`` is set).
        :param disable: plugin names not to load.
        :param logger: a structlog logger to use instead of the stdlib-backed default.
        """
        pm = make_plugin_manager(plugins=plugins, autoload=autoload, disable=disable)
        sim = cls(profile=get_profile(profile), seed=seed, nr_nodes=nr_nodes, pm=pm, logger=logger)
        sim.hooks.register_shrinkers(sim.shrinkers, sim)
        sim.hooks.configure(sim)
        return sim

    # -- list_lrus -------------------------------------------------------------------------

    def new_list_lru(
        self, *, memcg_aware: bool, shrinker: ShrinkerEntry | None = None, name: str = ""
    ) -> ListLRU:
        """A list_lru laid out as the profile's kernel does (``list_lru_init_memcg``).

        :param memcg_aware: keep per-memcg lists (superblock dentry and inode LRUs); global
            caches such as the XFS and GFS2 quota LRUs are not.
        :param shrinker: the shrinker whose bit is set in a memcg's shrinker map when one of
            this lru's (memcg, node) lists gets its first item (v4.19+).
        """
        lru = ListLRU(self.profile.lru_layout, self.nr_nodes, memcg_aware=memcg_aware, name=name)
        if memcg_aware:
            lru.memcg_update_size(self.memcgs.kmem_array_size)
        if shrinker is not None and shrinker.id >= 0:
            shrinker_id = shrinker.id

            def set_shrinker_bit(memcg: MemCgroup | None, nid: int) -> None:
                if memcg is not None:
                    memcg.shrinker_info[nid].set_bit(shrinker_id)

            lru.on_nonempty = set_shrinker_bit
        self.lrus.append(lru)
        return lru

    def _grow_lrus(self, new_size: int) -> None:
        for lru in self.lrus:
            if lru.memcg_aware:
                lru.memcg_update_size(new_size)

    # -- memcg lifecycle ---------------------------------------------------------------------

    def _memcg_online(self, memcg: MemCgroup) -> None:
        self.hooks.memcg_online(memcg, self)

    def _memcg_offline(self, memcg: MemCgroup) -> None:
        """Models the kmem half of ``mem_cgroup_css_offline`` for the profile.

        The seed flushes the memcg's slab with ``memcg_drop_slab``; later kernels splice its
        list_lru lists into the parent's (``memcg_reparent_list_lrus``) and, from v5.13, add
        its deferred shrinker work to the parent's (``reparent_shrinker_deferred``).
        """
        parent = memcg.parent
        if self.profile.lru_layout.reparents:
            for lru in self.lrus:
                if lru.memcg_aware:
                    lru.reparent(memcg, parent)
            if self.profile.deferred is DeferredSlot.PER_MEMCG and parent is not None:
                for nid in range(self.nr_nodes):
                    src = memcg.shrinker_info[nid].nr_deferred
                    dst = parent.shrinker_info[nid].nr_deferred
                    for shrinker_id, nr in src.items():
                        dst[shrinker_id] = dst.get(shrinker_id, 0) + nr
                    src.clear()
        elif memcg.kmem_active and memcg.kmemcg_id >= 0:
            self.memcg_drop_slab(memcg)
        self.hooks.memcg_offline(memcg, self)

    def _memcg_free(self, memcg: MemCgroup) -> None:
        self.hooks.memcg_free(memcg, self)

    # -- slab reclaim entry points -----------------------------------------------------------

    def shrink_slab(
        self,
        *,
        nid: int = 0,
        memcg: MemCgroup | None = None,
        pressure: Pressure | None = None,
        gfp_mask: Any = GFP_KERNEL,
        target_mem_cgroup: MemCgroup | None = None,
        nodes_to_scan: tuple[int, ...] | None = None,
    ) -> int:
        """One ``shrink_slab`` pass through the protocol hook; returns objects freed."""
        sc = ShrinkControl(
            gfp_mask=gfp_mask,
            nid=nid,
            memcg=memcg,
            target_mem_cgroup=target_mem_cgroup,
            nodes_to_scan=nodes_to_scan,
        )
        return self.hooks.shrink_slab(sc, pressure or Pressure(), self)

    def memcg_drop_slab(self, memcg: MemCgroup) -> int:
        """The seed's offline flush: ``shrink_slab(target = memcg, 1000, 1000)`` until a pass
        frees at most 10 objects (kmemcg v15 11/13, memcg_drop_slab). Returns the total."""
        total = 0
        nodes = tuple(range(self.nr_nodes))
        while True:
            freed = self.shrink_slab(
                memcg=None,
                target_mem_cgroup=memcg,
                pressure=Pressure.drop_caches(),
                nodes_to_scan=nodes,
            )
            total += freed
            self.vmstat["memcg_drop_slab_passes"] += 1
            if freed <= DROP_SLAB_THRESHOLD:
                return total
