"""The simulation: one machine's kernel state, its plugins, its clock and its seeded RNG.

A :class:`Simulation` owns everything one simulated machine needs: a plugin manager of its own
(two simulations in one process never share plugins or state), the kernel profile, the NUMA
nodes with their watermarks, the memcg tree, page LRUs per (memcg, node), the slab allocator,
vmpressure, the shrinker registry, the list_lrus plugins create through it, vmstat counters,
an event clock and one seeded :class:`random.Random`. Build one with :meth:`Simulation.build`.

Memory enters the model through :meth:`Simulation.alloc_user_pages` (page cache and anon) and
the slab allocator (``sim.slab.alloc``); both charge the memcg first and answer a limit breach
the way the profile's kernel does (limit reclaim, ``memory.high`` reclaim, failure), then take
pages from a node, waking kswapd below the low watermark and reclaiming directly below min.

Time: ``peek()``, ``step()``, ``run(until=)`` and ``advance_to(t)`` drive the clock; kswapd,
writeback completion and plugins' periodic work are events on it.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from ._hooks import Hooks
from ._log import get_logger
from ._plugins import ESSENTIAL_PLUGINS, PluginManager, make_plugin_manager
from .clock import Clock, EventHandle, Series
from .consumer import ConsumerRegistry, Decision
from .errors import ContractViolation, ProfileError, UsageError
from .list_lru import ListLRU
from .lruvec import LruKind, LruScanControl, LruScanResult, Lruvec, shrink_lruvec
from .memcg import PAGE_SIZE, ChargeKind, LimitKind, MemCgroup, MemcgState, MemcgTree
from .memstat import MemoryStat, memory_stat
from .node import Node, min_free_kbytes
from .profiles import DEFAULT_PROFILE, DeferredSlot, KernelProfile, ReclaimStyle, get_profile
from .registry import ShrinkerEntry, ShrinkerRegistry
from .shrink_arith import Pressure
from .shrinker import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, Gfp, ShrinkControl
from .slab import SlabAllocator
from .vfs import Vfs
from .vmpressure import PressureEvent, Vmpressure, Window
from .vmscan import (
    MAX_RECLAIM_RETRIES,
    ReclaimRecord,
    ScanControl,
    balance_pgdat,
    drop_slab,
    record_of,
    try_to_free_mem_cgroup_pages,
    try_to_free_pages,
)
from .workload import WorkloadRegistry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from .vmpressure import Listener

__all__ = ["Simulation"]

#: ``drop_slab`` and the seed's ``memcg_drop_slab`` loop while a pass frees more than this.
DROP_SLAB_THRESHOLD: Final = 10
#: Default machine: 4 GiB.
DEFAULT_MEMORY: Final = 4 << 30
#: Charges of more pages than this spend a retry even when reclaim made progress
#: (``1 << PAGE_ALLOC_COSTLY_ORDER``).
COSTLY_CHARGE_PAGES: Final = 8
#: How many recent reclaim records ``sim.reclaims`` keeps.
RECLAIM_LOG: Final = 10_000
#: Seconds a page takes from writeback start to completion.
WRITEBACK_DELAY: Final = 0.05


class Simulation:
    """One simulated machine. Create it with :meth:`build`."""

    def __init__(
        self,
        *,
        profile: KernelProfile,
        seed: int,
        nr_nodes: int,
        memory: int,
        swap: bool,
        pm: PluginManager,
        logger: Any = None,
    ) -> None:
        if nr_nodes < 1:
            raise UsageError(f"nr_nodes must be at least 1, got {nr_nodes}")
        pages = memory // PAGE_SIZE
        if pages < 1024 * nr_nodes:
            raise UsageError(f"memory must be at least {4 * nr_nodes} MiB, got {memory} bytes")
        self.profile = profile
        self.seed = seed
        self.nr_nodes = nr_nodes
        self.swap_enabled = swap
        self.pm = pm
        self.hooks = Hooks(pm)
        self.log = logger if logger is not None else get_logger("shrinkfw.sim")
        self.rng = random.Random(seed)
        self.clock = Clock()
        self.vmstat: Counter[str] = Counter()
        min_pages = min_free_kbytes(pages) * 1024 // PAGE_SIZE
        self.nodes = [
            Node(
                nid,
                pages // nr_nodes,
                min_pages=min_pages // nr_nodes,
                scale_factor=profile.watermark_scale_factor,
            )
            for nid in range(nr_nodes)
        ]
        self.memcgs = MemcgTree(profile.kmem, nr_nodes)
        self.shrinkers = ShrinkerRegistry(nr_nodes)
        self.lrus: list[ListLRU] = []
        #: the shrinker that scans each list_lru, where one was named at creation
        self.lru_owner: dict[ListLRU, ShrinkerEntry] = {}
        self.vfs = Vfs(self)
        self.workloads = WorkloadRegistry()
        self.consumers = ConsumerRegistry()
        #: what a misbehaving plugin costs: ``"stop"`` raises its ContractViolation out of
        #: the run; ``"disable"`` unregisters it, records that, and goes on
        self.on_plugin_error: str = "stop"
        #: plugins disabled for breaking a contract: ``(plugin, error)`` in order
        self.disabled_plugins: list[tuple[str, str]] = []
        #: every consumer decision, oldest first
        self.decisions: list[Decision] = []
        #: the most recent reclaim invocations (all of them reach ``shrinkfw_reclaim_done``)
        self.reclaims: deque[ReclaimRecord] = deque(maxlen=RECLAIM_LOG)
        self._lruvecs: dict[MemCgroup, list[Lruvec]] = {}
        self._busy: list[dict[MemCgroup, None]] = [{} for _ in range(nr_nodes)]
        self._kswapd_events: list[EventHandle | None] = [None] * nr_nodes
        self._in_reclaim = 0
        self._reclaim_stack: list[ScanControl] = []
        root = self.memcgs.root
        self.vmpressure = Vmpressure(profile.vmpressure, root=root, now=self._now)
        self.vmpressure.on_event = self._pressure_event
        self.vmpressure.on_window = self._pressure_window
        self.slab = SlabAllocator(
            self.memcgs,
            policy=profile.slab,
            alloc_page=self._slab_alloc_page,
            free_page=self._slab_free_page,
            charge_kmem=self._charge_kmem,
            uncharge_kmem=self._uncharge_kmem,
            listen=False,
        )
        self._new_lruvecs(root)
        self.memcgs.on_array_grow.append(self._grow_lrus)
        self.memcgs.on_online.append(self._memcg_online)
        self.memcgs.on_offline.append(self._memcg_offline)
        self.memcgs.on_free.append(self._memcg_free)
        self.memcgs.on_kmem_activate.append(self.slab.memcg_kmem_activate)
        #: the kernel's own dead-memcg reaper (kmemcg v15 13/13); a consumer plugin that
        #: replaces it unregisters it
        self.dead_memcg_reaper: Listener | None = None
        if profile.dead_memcg_reaper:
            self.dead_memcg_reaper = self.vmpressure.register_kernel_event(
                root, self._reap_dead, name="dead-memcg-reaper"
            )

    @classmethod
    def build(
        cls,
        *,
        profile: str | KernelProfile = DEFAULT_PROFILE,
        seed: int = 0,
        nr_nodes: int = 1,
        memory: int = DEFAULT_MEMORY,
        swap: bool = False,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        disable: Iterable[str] = (),
        logger: Any = None,
    ) -> Simulation:
        """Build a simulation and run the plugins' setup hooks.

        :param profile: a profile name from ``shrinkfw profiles`` or a profile object.
        :param seed: seeds the simulation's only RNG.
        :param nr_nodes: NUMA nodes of the machine.
        :param memory: bytes of memory, split evenly between the nodes.
        :param swap: swap space exists, so anon pages can be reclaimed.
        :param plugins: plugin objects or modules to register besides the entry points.
        :param autoload: load the ``shrinkfw`` entry points (default: unless
            ``SHRINKFW_DISABLE_PLUGIN_AUTOLOAD`` is set).
        :param disable: plugin names not to load.
        :param logger: a structlog logger to use instead of the stdlib-backed default.
        """
        pm = make_plugin_manager(plugins=plugins, autoload=autoload, disable=disable)
        sim = cls(
            profile=get_profile(profile),
            seed=seed,
            nr_nodes=nr_nodes,
            memory=memory,
            swap=swap,
            pm=pm,
            logger=logger,
        )
        sim.hooks.register_fs_types(sim.vfs.fs_types, sim)
        sim.hooks.register_shrinkers(sim.shrinkers, sim)
        sim.hooks.register_workloads(sim.workloads, sim)
        sim.hooks.register_consumers(sim.consumers, sim)
        sim.hooks.configure(sim)
        return sim

    # -- the clock -----------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.now

    @property
    def now(self) -> float:
        """Simulated seconds since the start."""
        return self.clock.now

    def peek(self) -> float:
        """Time of the next scheduled event, ``math.inf`` if none."""
        return self.clock.peek()

    def step(self) -> bool:
        """Run the next event; ``False`` when nothing is scheduled."""
        return self.clock.step()

    def run(self, until: float) -> None:
        """Run every event up to ``until`` and leave the clock there."""
        self.clock.advance_to(until)

    def advance_to(self, time: float) -> None:
        """For a host simulator that owns time: catch up to ``time``."""
        self.clock.advance_to(time)

    def schedule(
        self, delay: float, callback: Callable[[], None], *, name: str = ""
    ) -> EventHandle:
        """Run ``callback`` ``delay`` seconds from now."""
        return self.clock.schedule(delay, callback, name=name)

    def every(self, interval: float, callback: Callable[[], None], *, name: str = "") -> Series:
        """Run ``callback`` every ``interval`` seconds."""
        return self.clock.every(interval, callback, name=name)

    # -- page LRUs -------------------------------------------------------------------------

    def _new_lruvecs(self, memcg: MemCgroup) -> None:
        policy = self.profile.lru
        self._lruvecs[memcg] = [Lruvec(policy) for _ in range(self.nr_nodes)]

    def lruvec(self, memcg: MemCgroup, nid: int) -> Lruvec:
        """The page LRU of ``memcg`` on ``nid`` (``mem_cgroup_lruvec``)."""
        return self._lruvecs[memcg][nid]

    def busy_memcgs(self, nid: int) -> list[MemCgroup]:
        """Memcgs with LRU pages or a set shrinker bit on ``nid``: what a modern reclaim
        walk can find work in. Memcgs that have neither any more are dropped here."""
        busy = self._busy[nid]
        stale = [
            m
            for m in busy
            if m.state is MemcgState.FREED
            or (not self._lruvecs[m][nid].nr_pages and not m.shrinker_info[nid].map)
        ]
        for memcg in stale:
            del busy[memcg]
        return list(busy)

    def _mark_busy(self, memcg: MemCgroup, nid: int) -> None:
        self._busy[nid][memcg] = None

    def reclaim_lru(self, memcg: MemCgroup, nid: int, sc: ScanControl) -> LruScanResult:
        """``shrink_lruvec`` for (memcg, nid); uncharges and frees what it reclaims."""
        lruvec = self._lruvecs[memcg][nid]
        result = shrink_lruvec(
            lruvec,
            LruScanControl(
                priority=sc.priority,
                nr_to_reclaim=sc.nr_to_reclaim,
                may_swap=sc.may_swap and self.swap_enabled,
                may_writepage=sc.may_writepage,
                is_kswapd=sc.is_kswapd,
                cgroup_reclaim=sc.target_mem_cgroup is not None,
                memcg_online=memcg.online,
                has_swap=self.swap_enabled,
            ),
        )
        reclaimed = result.reclaimed_anon + result.reclaimed_file
        if reclaimed:
            self.memcgs.uncharge(memcg, reclaimed, ChargeKind.USER)
            self.nodes[nid].free_pages += reclaimed
        if result.nr_writeback_started:
            n = result.nr_writeback_started

            def complete() -> None:
                lruvec.complete_writeback(n)

            self.clock.schedule(WRITEBACK_DELAY, complete, name="writeback")
        return result

    def alloc_user_pages(
        self,
        memcg: MemCgroup,
        nr_pages: int,
        *,
        kind: LruKind = LruKind.FILE,
        nid: int = 0,
        dirty: bool = False,
        gfp: Gfp = GFP_HIGHUSER_MOVABLE,
    ) -> int | None:
        """Allocate ``nr_pages`` of page cache (or anon) for ``memcg``, preferring ``nid``.

        Charges the memcg (reclaiming on a limit), takes pages from the node (waking kswapd,
        reclaiming directly below the min watermark) and puts them on the LRU.

        :returns: the node the pages came from, or ``None`` when the allocation failed (a
            memcg OOM or no memory left); nothing stays charged then.
        """
        if not self.charge(memcg, nr_pages, ChargeKind.USER, gfp):
            return None
        got = self.take_pages(nid, nr_pages, gfp)
        if got is None:
            self.memcgs.uncharge(memcg, nr_pages, ChargeKind.USER)
            return None
        target = memcg if memcg.state is not MemcgState.FREED else self.memcgs.root
        self._lruvecs[target][got].add(kind, nr_pages, dirty=dirty)
        self._mark_busy(target, got)
        return got

    def free_user_pages(self, memcg: MemCgroup, nid: int, nr_pages: int, kind: LruKind) -> int:
        """A workload frees page cache or anon (truncate, munmap); returns pages freed."""
        taken = self._lruvecs[memcg][nid].remove(kind, nr_pages)
        n = sum(taken.values())
        if n:
            self.memcgs.uncharge(memcg, n, ChargeKind.USER)
            self.nodes[nid].free_pages += n
        return n

    # -- charging and the page allocator ---------------------------------------------------

    def charge(
        self, memcg: MemCgroup, nr_pages: int, kind: ChargeKind, gfp: Gfp = GFP_KERNEL
    ) -> bool:
        """Charge ``memcg``, answering a breach as the profile's kernel does.

        * a v1 kmem limit: the charge fails at once, no reclaim (the seed's cover letter);
        * the memory limit or ``memory.max``: limit reclaim on the memcg that hit it, then a
          retry, up to ``memcg_reclaim_retries`` times; then ``oom`` is counted and the
          charge fails;
        * ``memory.high``: the charge stands; each memcg over high reclaims its excess
          (``mem_cgroup_handle_over_high`` on the way back to user space).
        """
        tree = self.memcgs
        if self._in_reclaim:  # PF_MEMALLOC: reclaim's own allocations never reclaim
            tree.charge(memcg, nr_pages, kind=kind, force=True)
            return True
        retries = self.profile.memcg_reclaim_retries
        rounds = 0
        while True:
            result = tree.charge(memcg, nr_pages, kind=kind)
            if result.ok:
                for over in result.high:  # MemcgTree.charge counted MEMCG_HIGH
                    self.reclaim_high(over.memcg, gfp)
                return True
            breach = result.breach
            assert breach is not None
            if breach.limit is LimitKind.KMEM_LIMIT:
                self.vmstat["kmem_limit_fail"] += 1
                return False
            if self.profile.reclaim is ReclaimStyle.NONE or retries <= 0 or rounds > 1000:
                tree.memory_event(breach.memcg, "oom")
                self.vmstat["memcg_oom"] += 1
                return False
            rounds += 1
            got = try_to_free_mem_cgroup_pages(self, breach.memcg, nr_pages, gfp)
            # try_charge retries for free while reclaim makes progress on a small charge
            if not got or nr_pages > COSTLY_CHARGE_PAGES:
                retries -= 1

    def reclaim_high(self, memcg: MemCgroup, gfp: Gfp = GFP_KERNEL) -> int:
        """Reclaim ``memcg`` down to ``memory.high`` (``reclaim_high`` / the high write loop)."""
        total = 0
        retries = self.profile.memcg_reclaim_retries
        while memcg.usage > memcg.high and retries > 0 and not self._in_reclaim:
            got = try_to_free_mem_cgroup_pages(
                self, memcg, memcg.usage - memcg.high, gfp, reason="memcg_high"
            )
            total += got
            if not got:
                retries -= 1
        return total

    def set_high(self, memcg: MemCgroup, pages: int) -> int:
        """Write ``memory.high``: store it, then reclaim down to it (v5.8+ ``memory_high_write``).
        Returns the pages reclaimed."""
        self.memcgs.set_high(memcg, pages)
        return self.reclaim_high(memcg)

    def set_max(self, memcg: MemCgroup, pages: int) -> int:
        """Write ``memory.max``: store it, then reclaim down to it (``memory_max_write``)."""
        self.memcgs.set_max(memcg, pages)
        total = 0
        retries = self.profile.memcg_reclaim_retries
        while memcg.usage > memcg.max and retries > 0:
            got = try_to_free_mem_cgroup_pages(self, memcg, memcg.usage - memcg.max, GFP_KERNEL)
            total += got
            if not got:
                retries -= 1
        if memcg.usage > memcg.max:
            self.memcgs.memory_event(memcg, "oom")
        return total

    def memory_reclaim(self, memcg: MemCgroup, nr_pages: int) -> int:
        """Write ``memory.reclaim``: proactive reclaim of ``nr_pages`` (v5.19+)."""
        total = 0
        retries = self.profile.memcg_reclaim_retries
        while total < nr_pages and retries > 0:
            got = try_to_free_mem_cgroup_pages(
                self, memcg, nr_pages - total, GFP_KERNEL, reason="memory.reclaim", proactive=True
            )
            total += got
            if not got:
                retries -= 1
        return total

    def zonelist(self, nid: int) -> tuple[int, ...]:
        """Nodes in fallback order for an allocation preferring ``nid``."""
        return (nid, *(n for n in range(self.nr_nodes) if n != nid))

    def take_pages(
        self, nid: int, nr_pages: int, gfp: Gfp = GFP_KERNEL, *, this_node: bool = False
    ) -> int | None:
        """Take ``nr_pages`` from the page allocator (``__alloc_pages``); returns the node.

        The fast path takes the first node in fallback order that stays above its low
        watermark; otherwise kswapd is woken on every node and the first node above min is
        used; otherwise the allocator reclaims directly (a few rounds) and fails if that does
        not help. ``this_node`` allows ``nid`` only (slab pages of a per-node cache).
        """
        order = (nid,) if this_node else self.zonelist(nid)
        nodes = self.nodes
        if self._in_reclaim:  # PF_MEMALLOC: the reserves below min are open to reclaim
            for n in order:
                if nodes[n].free_pages >= nr_pages:
                    nodes[n].free_pages -= nr_pages
                    return n
            self.vmstat["alloc_fail"] += 1
            return None
        for n in order:
            if nodes[n].free_pages - nr_pages >= nodes[n].wmark_low:
                nodes[n].free_pages -= nr_pages
                return n
        if gfp & Gfp.KSWAPD_RECLAIM:
            for n in order:
                self.wakeup_kswapd(n)
        for n in order:
            if nodes[n].free_pages - nr_pages >= nodes[n].wmark_min:
                nodes[n].free_pages -= nr_pages
                return n
        if not gfp & Gfp.DIRECT_RECLAIM or self.profile.reclaim is ReclaimStyle.NONE:
            self.vmstat["alloc_fail"] += 1
            return None
        # one reclaim round per SWAP_CLUSTER_MAX-ish chunk, as order-0 allocations would
        # run it; give up after rounds without progress (should_reclaim_retry), or when
        # reclaim keeps "progressing" without ever lifting the node over min (others take
        # the pages it frees)
        failures = rounds = 0
        max_rounds = MAX_RECLAIM_RETRIES + nr_pages // 8
        while failures <= MAX_RECLAIM_RETRIES and rounds < max_rounds:
            rounds += 1
            if not try_to_free_pages(self, nid, gfp, nr_pages, nodes=order):
                failures += 1
            for n in order:
                if nodes[n].free_pages - nr_pages >= nodes[n].wmark_min:
                    nodes[n].free_pages -= nr_pages
                    return n
        self.vmstat["alloc_fail"] += 1
        return None

    def wakeup_kswapd(self, nid: int) -> None:
        """Wake kswapd on ``nid``; it runs as the next event (``wakeup_kswapd``)."""
        if self.profile.reclaim is ReclaimStyle.NONE or self._kswapd_events[nid] is not None:
            return
        if self.nodes[nid].kswapd_failures >= MAX_RECLAIM_RETRIES:
            return

        def run() -> None:
            self._kswapd_events[nid] = None
            balance_pgdat(self, nid)

        self._kswapd_events[nid] = self.clock.schedule(0.0, run, name=f"kswapd{nid}")

    # -- slab pages --------------------------------------------------------------------------

    def _slab_alloc_page(self, memcg: MemCgroup | None, nid: int, nr_pages: int) -> bool:
        per_memcg = self.profile.slab.per_memcg_caches
        if memcg is not None and per_memcg and not self.charge(memcg, nr_pages, ChargeKind.KMEM):
            return False
        if self.take_pages(nid, nr_pages, GFP_KERNEL, this_node=True) is None:
            if memcg is not None and self.profile.slab.per_memcg_caches:
                self.memcgs.uncharge(memcg, nr_pages, ChargeKind.KMEM)
            return False
        return True

    def _slab_free_page(self, memcg: MemCgroup | None, nid: int, nr_pages: int) -> None:
        if memcg is not None and self.profile.slab.per_memcg_caches:
            self.memcgs.uncharge(memcg, nr_pages, ChargeKind.KMEM)
        self.nodes[nid].free_pages += nr_pages

    def _charge_kmem(self, memcg: MemCgroup, nr_pages: int) -> bool:
        return self.charge(memcg, nr_pages, ChargeKind.KMEM)

    def _uncharge_kmem(self, memcg: MemCgroup, nr_pages: int) -> None:
        self.memcgs.uncharge(memcg, nr_pages, ChargeKind.KMEM)

    # -- list_lrus ---------------------------------------------------------------------------

    def new_list_lru(
        self, *, memcg_aware: bool, shrinker: ShrinkerEntry | None = None, name: str = ""
    ) -> ListLRU:
        """A list_lru laid out as the profile's kernel does (``list_lru_init_memcg``).

        :param memcg_aware: keep per-memcg lists (superblock dentry and inode LRUs); global
            caches such as the XFS and GFS2 quota LRUs are not.
        :param shrinker: the shrinker whose bit is set in a memcg's shrinker map when one of
            this lru's (memcg, node) lists gets its first item (v4.19+).
        """
        lru = ListLRU(
            self.profile.lru_layout,
            self.nr_nodes,
            memcg_aware=memcg_aware,
            name=name,
            node_nr_items=self.profile.lru_node_nr_items,
        )
        if memcg_aware:
            lru.memcg_update_size(self.memcgs.kmem_array_size)
        if shrinker is not None:
            self.lru_owner[lru] = shrinker
        if shrinker is not None and shrinker.id >= 0:
            shrinker_id = shrinker.id
            busy = self._busy

            def set_shrinker_bit(memcg: MemCgroup | None, nid: int) -> None:
                if memcg is not None:
                    memcg.shrinker_info[nid].set_bit(shrinker_id)
                    busy[nid][memcg] = None

            lru.on_nonempty = set_shrinker_bit
        self.lrus.append(lru)
        return lru

    def _grow_lrus(self, new_size: int) -> None:
        for lru in self.lrus:
            if lru.memcg_aware:
                lru.memcg_update_size(new_size)

    # -- memcg lifecycle ---------------------------------------------------------------------

    def _memcg_online(self, memcg: MemCgroup) -> None:
        self._new_lruvecs(memcg)
        self.hooks.memcg_online(memcg, self)

    def _memcg_offline(self, memcg: MemCgroup) -> None:
        """Models the kmem half of ``mem_cgroup_css_offline`` for the profile.

        The seed flushes the memcg's slab with ``memcg_drop_slab``; later kernels splice its
        list_lru lists into the parent's (``memcg_reparent_list_lrus``) and, from v5.13, add
        its deferred shrinker work to the parent's (``reparent_shrinker_deferred``). Where the
        era moves user charges to the parent at offline (v3.14), the pages move with them.
        """
        parent = memcg.parent
        assert parent is not None
        if self.profile.lru_layout.reparents:
            for lru in self.lrus:
                if lru.memcg_aware:
                    lru.reparent(memcg, parent)
            if self.profile.deferred is DeferredSlot.PER_MEMCG:
                for nid in range(self.nr_nodes):
                    src = memcg.shrinker_info[nid].nr_deferred
                    dst = parent.shrinker_info[nid].nr_deferred
                    for shrinker_id, nr in src.items():
                        dst[shrinker_id] = dst.get(shrinker_id, 0) + nr
                    src.clear()
        elif memcg.kmem_active and memcg.kmemcg_id >= 0:
            self.memcg_drop_slab(memcg)
        if not self.memcgs.policy.user_pins_dying:
            for nid in range(self.nr_nodes):
                moved = self._lruvecs[memcg][nid].move_all_to(self._lruvecs[parent][nid])
                if moved:
                    self._mark_busy(parent, nid)
        self.slab.memcg_offline(memcg)
        self.hooks.memcg_offline(memcg, self)

    def _memcg_free(self, memcg: MemCgroup) -> None:
        self.slab.memcg_free(memcg)
        self.vmpressure.forget(memcg)
        self.hooks.memcg_free(memcg, self)
        lruvecs = self._lruvecs.pop(memcg)
        parent = memcg.parent or self.memcgs.root
        for nid, lruvec in enumerate(lruvecs):
            if lruvec.nr_pages:  # pages the model still holds go to the parent
                lruvec.move_all_to(self._lruvecs[parent][nid])
                self._mark_busy(parent, nid)

    def rmdir(self, memcg: MemCgroup) -> None:
        """Remove ``memcg`` and its online descendants, deepest first (``rmdir`` of a cgroup
        tree, as a container manager removes one)."""
        for child in list(memcg.children):
            if child.state is MemcgState.ONLINE:
                self.rmdir(child)
        self.memcgs.offline(memcg)

    def kill_memcg(self, memcg: MemCgroup) -> int:
        """Kill every task of ``memcg``'s subtree (``cgroup.kill``, v5.14; an oom group kill
        before): their anonymous memory is freed at once; page cache stays charged until
        reclaim or removal. Returns the pages freed. Workloads are the model's tasks only
        in name: they stop when the memcg goes offline, so a killer follows this with
        :meth:`rmdir`, as a container manager removes a dead container's cgroup."""
        freed = 0
        for m in list(self.memcgs.iter(memcg)):
            if m.state is MemcgState.FREED:
                continue
            for nid in range(self.nr_nodes):
                lruvec = self._lruvecs[m][nid]
                freed += self.free_user_pages(m, nid, lruvec.anon_pages, LruKind.ANON)
        self.vmstat["memcg_kill"] += 1
        return freed

    def memory_stat(self, memcg: MemCgroup, *, recursive: bool = True) -> MemoryStat:
        """``memory.stat`` of ``memcg``: anon, file, slab_reclaimable, slab_unreclaimable,
        pgscan, pgsteal, ... (hierarchical unless ``recursive=False``); see
        :mod:`shrinkfw.memstat`."""
        return memory_stat(self, memcg, recursive=recursive)

    def record_decision(self, decision: Decision) -> None:
        """Report a consumer's decision: kept in ``sim.decisions``, counted in vmstat and
        passed to the ``shrinkfw_consumer_decision`` hook."""
        self.decisions.append(decision)
        self.log.info(
            "consumer decision",
            consumer=decision.consumer,
            action=decision.action,
            memcg=decision.memcg,
            dry_run=decision.dry_run,
            reason=decision.reason,
        )
        dry = "_dry_run" if decision.dry_run else ""
        self.vmstat[f"decision_{decision.action}{dry}"] += 1
        self.hooks.consumer_decision(decision, self)

    # -- misbehaving plugins -----------------------------------------------------------------

    def blame(self, exc: BaseException) -> str | None:
        """The registered plugin whose code raised ``exc``: the innermost traceback frame
        that belongs to a plugin's package, or ``None``."""
        owners: dict[str, str] = {}
        for name, plugin in self.pm.list_name_plugin():
            module = getattr(plugin, "__name__", None) or type(plugin).__module__
            owners[module.partition(".")[0]] = name
        owners.pop("shrinkfw", None)
        culprit = None
        tb = exc.__traceback__
        while tb is not None:
            package = str(tb.tb_frame.f_globals.get("__name__", "")).partition(".")[0]
            culprit = owners.get(package, culprit)
            tb = tb.tb_next
        return culprit

    def shrinker_failed(self, entry: ShrinkerEntry, violation: ContractViolation) -> int:
        """A shrinker broke its contract. Raises ``violation`` unless ``on_plugin_error`` is
        ``"disable"``: then the shrinker and the plugin to blame are unregistered, the
        ``shrinkfw_plugin_disabled`` hook reports it, and the call counts as freeing 0."""
        if self.on_plugin_error != "disable":
            raise violation
        message = str(violation)
        plugin = violation.plugin or entry.plugin
        self.shrinkers.remove(entry)
        if any(p == plugin for p, _ in self.disabled_plugins):
            return 0  # disabled already; its other shrinkers go quietly
        if plugin not in ESSENTIAL_PLUGINS:
            for other in [e for e in self.shrinkers.entries if e.plugin == plugin]:
                self.shrinkers.remove(other)
            if self.pm.get_plugin(plugin) is not None:
                self.pm.unregister(name=plugin)
        self.disabled_plugins.append((plugin, message))
        self.vmstat["plugins_disabled"] += 1
        self.log.warning("plugin disabled", plugin=plugin, error=message)
        self.hooks.plugin_disabled(plugin, message, self)
        return 0

    def _reap_dead(self, event: PressureEvent) -> None:
        """The seed's 13/13: on every root vmpressure event, shrink dead memcgs' caches."""
        dead = [m for m in self.memcgs.iter() if m.state is MemcgState.DYING]
        if dead:
            self.vmstat["dead_memcg_reaps"] += 1
            self.slab.shrink_dead(dead)

    def _pressure_window(self, window: Window) -> None:
        self.hooks.vmpressure_window(window, self)

    def _pressure_event(self, event: PressureEvent) -> None:
        self.vmstat[f"vmpressure_{event.level.label}"] += 1
        self.hooks.vmpressure(event, self)

    # -- reclaim entry points ----------------------------------------------------------------

    @contextmanager
    def in_reclaim(self, sc: ScanControl | None = None) -> Iterator[None]:
        """Mark the code inside as reclaim (the kernel's ``PF_MEMALLOC``): allocations made
        from it (by shrinkers, hooks, listeners) neither reclaim nor fail on limits. ``sc``
        is the reclaim invocation running inside, readable as :attr:`current_reclaim`."""
        self._in_reclaim += 1
        if sc is not None:
            self._reclaim_stack.append(sc)
        try:
            yield
        finally:
            self._in_reclaim -= 1
            if sc is not None:
                self._reclaim_stack.pop()

    @property
    def in_reclaim_path(self) -> bool:
        """Whether the code running now is inside the kernel's reclaim path (under
        :meth:`in_reclaim`, the model of ``PF_MEMALLOC``): shrinkers, reclaim's hooks,
        in-kernel vmpressure callbacks. A userspace consumer never acts from here."""
        return self._in_reclaim > 0

    @property
    def current_reclaim(self) -> ScanControl | None:
        """The innermost reclaim invocation running now (its ``reason``, ``nodes``,
        ``target_mem_cgroup``, ``is_kswapd``), ``None`` outside reclaim."""
        return self._reclaim_stack[-1] if self._reclaim_stack else None

    def reclaim_walk(self, target: MemCgroup | None) -> list[MemCgroup]:
        """The memcgs a reclaim walk from ``target`` visits (``mem_cgroup_iter``): the target
        itself, then its descendants, dying ones only where the profile's kernel scans them."""
        walk = list(self.memcgs.iter(target))
        if self.profile.reclaim_walks_offline:
            return walk
        return walk[:1] + [m for m in walk[1:] if m.state is MemcgState.ONLINE]

    def require_full_profile(self) -> None:
        if self.profile.reclaim is ReclaimStyle.NONE:
            raise ProfileError(
                f"profile {self.profile.name!r} models the shrinker arithmetic only; reclaim "
                "needs a full profile: v3.14-kmemcg-v15, v6.1 or v6.7"
            )

    def finish_reclaim(self, sc: ScanControl) -> None:
        """Book-keeping after a reclaim invocation: stats, the record, vmpressure work."""
        self.vmstat[f"reclaim_{sc.reason}"] += 1
        self.vmstat["pages_reclaimed"] += sc.nr_reclaimed
        self.vmstat["slab_pages_reclaimed"] += sc.slab_pages
        self.vmstat["slab_objects_freed"] += sc.slab_objects
        self.vmstat["memcgs_walked"] += sc.memcgs_walked
        record = record_of(sc, self.clock.now, self.vmstat["count_objects_calls"])
        self.reclaims.append(record)
        with self.in_reclaim():
            self.hooks.reclaim_done(record, self)
            self.vmpressure.run_pending()

    def shrink_slab(
        self,
        *,
        nid: int = 0,
        memcg: MemCgroup | None = None,
        pressure: Pressure | None = None,
        gfp_mask: Gfp = GFP_KERNEL,
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
        nodes = tuple(range(self.nr_nodes))
        with self.in_reclaim():
            return self._drop_memcg_slab(memcg, nodes)

    def _drop_memcg_slab(self, memcg: MemCgroup, nodes: tuple[int, ...]) -> int:
        total = 0
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

    def drop_caches(self) -> int:
        """``echo 2 > /proc/sys/vm/drop_caches``; returns the objects freed."""
        return drop_slab(self)

    def kswapd_pending(self) -> bool:
        return any(e is not None for e in self._kswapd_events)

    def quiesce(self, limit: float = math.inf) -> None:
        """Run scheduled work (kswapd, writeback) until nothing is due before ``limit``."""
        while self.clock.peek() <= min(limit, self.clock.now):
            self.clock.step()
