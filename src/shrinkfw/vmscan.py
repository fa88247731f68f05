"""The reclaim driver, and the built-in ``shrinkfw.vmscan`` plugin.

Models the callers of slab shrinking in mm/vmscan.c: the direct-reclaim priority loop
(``do_try_to_free_pages``), memcg limit reclaim (``try_to_free_mem_cgroup_pages``), kswapd
(``balance_pgdat``) and drop_caches (``drop_slab``). Two structures exist, chosen by the
profile's :class:`~shrinkfw.profiles.ReclaimStyle`:

* ``ZONES_V3`` (v3.14 and the kmemcg v15 seed): ``shrink_zones`` reclaims LRU pages zone by
  zone over the target's memcgs (``shrink_zone``), then calls ``shrink_slab`` once for all the
  visited nodes with the ratio ``nr_scanned / lru_pages``; vmpressure is accounted per zone
  pass for the target;
* ``NODE_MEMCGS`` (v4.19+; v6.7): ``shrink_node`` walks the target's memcgs
  (``shrink_node_memcgs``) and, for each, reclaims its LRU pages, calls ``shrink_slab`` for
  (node, memcg) at the current priority and accounts vmpressure for that memcg; the node pass
  then accounts vmpressure for the target subtree.

Slab pages freed during a pass are credited to ``nr_reclaimed`` only when whole pages are
freed (``reclaim_state->reclaimed_slab``), never per object.

The modern walk visits only the memcgs with LRU pages or a shrinker bit on the node, in the
kernel's pre-order: for every other memcg the kernel's work is a no-op (no pages to scan, an
empty shrinker map, a zero vmpressure sample), so skipping them changes no result, and a pass
costs the same with 10 or 10,000 empty memcgs. The kernel's own walk length is still counted
(``memcgs_walked``) so the cost the kernel pays shows in the model's numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs
import pluggy

from .profiles import ReclaimStyle
from .shrink_arith import DEF_PRIORITY, Pressure
from .shrink_slab import SWAP_CLUSTER_MAX, do_shrink_slab, shrink_slab
from .shrinker import GFP_KERNEL, Gfp, ShrinkControl

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .registry import ShrinkerEntry
    from .sim import Simulation

__all__ = [
    "ReclaimRecord",
    "ScanControl",
    "balance_pgdat",
    "do_try_to_free_pages",
    "drop_slab",
    "try_to_free_mem_cgroup_pages",
]

hookimpl = pluggy.HookimplMarker("shrinkfw")

#: kswapd gives up on a node after this many passes without progress (``MAX_RECLAIM_RETRIES``).
MAX_RECLAIM_RETRIES: Final = 16


@attrs.define(slots=True, eq=False)
class ScanControl:
    """One reclaim invocation (``struct scan_control``).

    :ivar reason: ``"direct"``, ``"kswapd"``, ``"memcg_limit"``, ``"memcg_high"``,
        ``"memory.reclaim"`` or ``"drop_caches"``.
    :ivar nodes: the nodes this reclaim may take pages from.
    :ivar may_writepage: ``!laptop_mode``, on for every reclaimer here. The page LRU model
        reads it for both swap-out and dirty file pages; the kernel lets only kswapd write
        file pages, which the model does not separate (a simplification).
    :ivar proactive: ``memory.reclaim``: not counted as pressure (v6.0+).
    """

    reason: str
    gfp_mask: Gfp
    nr_to_reclaim: int
    nodes: tuple[int, ...]
    target_mem_cgroup: MemCgroup | None = None
    priority: int = DEF_PRIORITY
    may_writepage: bool = True
    may_swap: bool = True
    proactive: bool = False
    is_kswapd: bool = False
    memcg_low_reclaim: bool = False
    memcg_low_skipped: bool = False
    nr_scanned: int = 0
    nr_reclaimed: int = 0
    # what the pass cost and did, for the record
    slab_pages: int = 0
    slab_objects: int = 0
    memcgs_walked: int = 0
    shrink_slab_calls: int = 0
    #: ``vmstat["count_objects_calls"]`` when the invocation began
    count_calls_start: int = 0


@attrs.frozen(kw_only=True)
class ReclaimRecord:
    """What one reclaim invocation did, handed to ``shrinkfw_reclaim_done``.

    :ivar reason: why reclaim ran (see :class:`ScanControl`).
    :ivar target: the memcg under limit reclaim, ``None`` for global reclaim.
    :ivar nr_to_reclaim: the goal in pages.
    :ivar nr_reclaimed: pages reclaimed: LRU pages plus freed slab pages.
    :ivar nr_scanned: LRU pages scanned.
    :ivar slab_pages: slab pages freed (``reclaimed_slab``).
    :ivar slab_objects: objects the shrinkers reported freed.
    :ivar priority: the lowest priority reached.
    :ivar memcgs_walked: memcgs the kernel's walk visits (its cost; the model may visit fewer).
    :ivar shrink_slab_calls: ``shrink_slab`` passes made.
    :ivar count_calls: ``count_objects`` calls made: the (memcg, shrinker) pairs the passes
        visited.
    :ivar time: simulated time of the invocation.
    """

    reason: str
    target: MemCgroup | None
    nr_to_reclaim: int
    nr_reclaimed: int
    nr_scanned: int
    slab_pages: int
    slab_objects: int
    priority: int
    memcgs_walked: int
    shrink_slab_calls: int
    count_calls: int
    time: float


# -- the two reclaim structures ---------------------------------------------------------------


def _lru_scan(sim: Simulation, memcg: MemCgroup, nid: int, sc: ScanControl) -> tuple[int, int]:
    """``shrink_lruvec`` for one (memcg, node); uncharges what it reclaims."""
    if not sim.lruvec(memcg, nid).nr_pages:
        return 0, 0
    result = sim.reclaim_lru(memcg, nid, sc)
    sc.nr_scanned += result.nr_scanned
    sc.nr_reclaimed += result.nr_reclaimed
    return result.nr_scanned, result.nr_reclaimed


def _slab_pass(
    sim: Simulation,
    sc: ScanControl,
    *,
    nid: int,
    memcg: MemCgroup | None,
    pressure: Pressure,
    nodes_to_scan: tuple[int, ...] | None = None,
    credit: bool = True,
) -> int:
    """One ``shrink_slab`` through the protocol hook; returns the slab pages it freed.

    With ``credit`` the pages count toward ``nr_reclaimed`` at once (the v3.14 caller reads
    ``reclaim_state->reclaimed_slab`` right after ``shrink_slab``).
    """
    before = sim.slab.reclaimed_slab
    freed = sim.hooks.shrink_slab(
        ShrinkControl(
            gfp_mask=sc.gfp_mask,
            nid=nid,
            memcg=memcg,
            target_mem_cgroup=sc.target_mem_cgroup,
            nodes_to_scan=nodes_to_scan,
        ),
        pressure,
        sim,
    )
    pages = sim.slab.reclaimed_slab - before
    sc.slab_objects += freed
    sc.slab_pages += pages
    if credit:
        sc.nr_reclaimed += pages
    sc.shrink_slab_calls += 1
    return pages


def _shrink_zones_v3(sim: Simulation, sc: ScanControl) -> None:
    """``shrink_zones`` + ``shrink_zone`` (linux v3.14 mm/vmscan.c; kmemcg v15 08/13)."""
    target = sc.target_mem_cgroup
    tree = sim.memcgs
    walk = list(sim.reclaim_walk(target))
    # lru_pages: zone_reclaimable_pages for global reclaim; the seed sums the target
    # subtree's reclaimable pages (mem_cgroup_zone_reclaimable_pages) for limit reclaim
    lru_pages = sum(
        sim.lruvec(memcg, nid).reclaimable(sc.may_swap) for nid in sc.nodes for memcg in walk
    )
    for nid in sc.nodes:
        scanned0, reclaimed0 = sc.nr_scanned, sc.nr_reclaimed
        for memcg in walk:
            _lru_scan(sim, memcg, nid, sc)
            sc.memcgs_walked += 1
            if target is not None and sc.nr_reclaimed >= sc.nr_to_reclaim:
                break
        if not sc.proactive:
            sim.vmpressure.vmpressure(
                sc.gfp_mask,
                target or tree.root,
                sc.nr_scanned - scanned0,
                sc.nr_reclaimed - reclaimed0,
            )
    if target is None or sim.profile.memcg_slab_reclaim:
        if target is not None and not any(m.kmem_active for m in walk):
            return  # memcg_kmem_should_reclaim: nothing kmem-active under the target
        _slab_pass(
            sim,
            sc,
            nid=sc.nodes[0],
            memcg=None,
            pressure=Pressure(
                priority=sc.priority, nr_scanned=sc.nr_scanned, nr_eligible=lru_pages
            ),
            nodes_to_scan=sc.nodes,
            credit=target is None or sim.profile.slab_credit_memcg,
        )


def _memcgs_to_visit(sim: Simulation, target: MemCgroup, nid: int) -> list[MemCgroup]:
    """The memcgs of ``target``'s subtree with work on ``nid``, in ``mem_cgroup_iter`` order."""
    tree = sim.memcgs
    busy = sim.busy_memcgs(nid)
    if target.is_root:
        chosen = [target, *(m for m in busy if m is not target)]
    else:
        chosen = [m for m in busy if m is target or m.is_descendant_of(target)]
    chosen.sort(key=tree.preorder_index)
    return chosen


def _shrink_node(sim: Simulation, nid: int, sc: ScanControl) -> None:
    """``shrink_node`` + ``shrink_node_memcgs`` (linux v6.7 mm/vmscan.c).

    Slab pages freed during the walk are credited once, after it (``flush_reclaim_state``),
    and from v6.5 only for global reclaim: memcg reclaim counts LRU pages only, which is why
    a memcg full of slab runs its priority loop all the way down (the real 6.1 trace).
    """
    tree = sim.memcgs
    target = sc.target_mem_cgroup or tree.root
    scanned0, reclaimed0 = sc.nr_scanned, sc.nr_reclaimed
    sc.memcgs_walked += tree.subtree_size(target)
    pressure = Pressure(priority=sc.priority)
    vmpressure = sim.vmpressure
    credit = sc.target_mem_cgroup is None or sim.profile.slab_credit_memcg
    slab_pages = 0
    for memcg in _memcgs_to_visit(sim, target, nid):
        if tree.below_min(memcg, target):
            continue
        if tree.below_low(memcg, target):
            if not sc.memcg_low_reclaim:
                sc.memcg_low_skipped = True
                continue
            tree.memory_event(memcg, "low")
        s0, r0 = sc.nr_scanned, sc.nr_reclaimed
        _lru_scan(sim, memcg, nid, sc)
        slab_pages += _slab_pass(sim, sc, nid=nid, memcg=memcg, pressure=pressure, credit=False)
        if not sc.proactive:
            vmpressure.vmpressure(
                sc.gfp_mask, memcg, sc.nr_scanned - s0, sc.nr_reclaimed - r0, tree=False
            )
    if credit:
        sc.nr_reclaimed += slab_pages
    if not sc.proactive:
        vmpressure.vmpressure(
            sc.gfp_mask,
            target,
            sc.nr_scanned - scanned0,
            sc.nr_reclaimed - reclaimed0,
            tree=True,
        )
    if sc.nr_reclaimed > reclaimed0:
        sim.nodes[nid].kswapd_failures = 0


def _shrink_zones(sim: Simulation, sc: ScanControl) -> None:
    if sim.profile.reclaim is ReclaimStyle.ZONES_V3:
        _shrink_zones_v3(sim, sc)
    else:
        for nid in sc.nodes:
            _shrink_node(sim, nid, sc)


# -- entry points ------------------------------------------------------------------------------


def do_try_to_free_pages(sim: Simulation, sc: ScanControl) -> int:
    """The direct-reclaim priority loop, 12 down to 0 (``do_try_to_free_pages``).

    Each round: ``vmpressure_prio``, reset ``nr_scanned``, reclaim the nodes; stop once
    ``nr_to_reclaim`` pages are reclaimed; allow writeback below ``DEF_PRIORITY - 2``. In
    v6.7, a round that reclaimed nothing because protected memcgs were skipped is retried with
    ``memory.low`` ignored.
    """
    sim.require_full_profile()
    with sim.in_reclaim(sc):
        _priority_loop(sim, sc)
    sim.finish_reclaim(sc)
    return sc.nr_reclaimed


def _priority_loop(sim: Simulation, sc: ScanControl) -> None:
    start = sc.priority
    while True:
        sc.priority = start
        while sc.priority >= 0:
            if not sc.proactive:
                sim.vmpressure.vmpressure_prio(sc.gfp_mask, sc.target_mem_cgroup, sc.priority)
            sc.nr_scanned = 0
            _shrink_zones(sim, sc)
            if sc.nr_reclaimed >= sc.nr_to_reclaim:
                break
            if sc.priority < DEF_PRIORITY - 2:
                sc.may_writepage = True
            sc.priority -= 1
        if sc.nr_reclaimed or not sc.memcg_low_skipped or sc.memcg_low_reclaim:
            break
        sc.memcg_low_reclaim = True
        sc.memcg_low_skipped = False


def try_to_free_pages(
    sim: Simulation, nid: int, gfp: Gfp, nr_pages: int, *, nodes: tuple[int, ...] | None = None
) -> int:
    """Global direct reclaim for an allocation on ``nid`` (``try_to_free_pages``).

    :param nodes: the allocation's zonelist; ``(nid,)`` for ``__GFP_THISNODE``.
    """
    sc = ScanControl(
        count_calls_start=sim.vmstat["count_objects_calls"],
        reason="direct",
        gfp_mask=gfp,
        nr_to_reclaim=SWAP_CLUSTER_MAX,
        nodes=nodes if nodes is not None else sim.zonelist(nid),
        may_swap=sim.swap_enabled,
    )
    return do_try_to_free_pages(sim, sc)


def try_to_free_mem_cgroup_pages(
    sim: Simulation,
    memcg: MemCgroup,
    nr_pages: int,
    gfp: Gfp = GFP_KERNEL,
    *,
    reason: str = "memcg_limit",
    proactive: bool = False,
) -> int:
    """Limit reclaim in ``memcg``'s subtree (``try_to_free_mem_cgroup_pages``).

    v3.14 asks for ``SWAP_CLUSTER_MAX`` pages; later kernels for
    ``max(nr_pages, SWAP_CLUSTER_MAX)``. The memcg's pages may sit on any node.
    """
    goal = SWAP_CLUSTER_MAX
    if sim.profile.memcg_reclaim_goal_is_charge:
        goal = max(nr_pages, SWAP_CLUSTER_MAX)
    sc = ScanControl(
        count_calls_start=sim.vmstat["count_objects_calls"],
        reason=reason,
        gfp_mask=gfp,
        nr_to_reclaim=goal,
        nodes=tuple(range(sim.nr_nodes)),
        target_mem_cgroup=memcg,
        may_swap=sim.swap_enabled,
        proactive=proactive,
    )
    return do_try_to_free_pages(sim, sc)


def balance_pgdat(sim: Simulation, nid: int) -> int:
    """kswapd on ``nid`` until the node is balanced (``balance_pgdat``).

    The goal is ``max(high watermark, SWAP_CLUSTER_MAX)`` pages (``kswapd_shrink_node``);
    priority starts at 12 and falls when a round scanned less than the goal or reclaimed
    nothing, down to 1. v3.14 calls ``shrink_slab`` for the node after its zone
    (``kswapd_shrink_zone``), v6.7 through ``shrink_node``. After
    :data:`MAX_RECLAIM_RETRIES` runs without progress kswapd stays asleep until a reclaim
    on the node frees pages again.
    """
    sim.require_full_profile()
    node = sim.nodes[nid]
    if node.balanced():
        return 0
    sc = ScanControl(
        count_calls_start=sim.vmstat["count_objects_calls"],
        reason="kswapd",
        gfp_mask=GFP_KERNEL,
        nr_to_reclaim=max(node.wmark_high, SWAP_CLUSTER_MAX),
        nodes=(nid,),
        may_swap=sim.swap_enabled,
        is_kswapd=True,
    )
    with sim.in_reclaim(sc):
        while sc.priority >= 1 and not node.balanced():
            reclaimed0 = sc.nr_reclaimed
            sc.nr_scanned = 0
            _shrink_zones(sim, sc)
            if sc.nr_scanned < sc.nr_to_reclaim or sc.nr_reclaimed == reclaimed0:
                sc.priority -= 1
    if sc.nr_reclaimed:
        node.kswapd_failures = 0
    else:
        node.kswapd_failures += 1
    sim.finish_reclaim(sc)
    return sc.nr_reclaimed


def drop_slab(sim: Simulation) -> int:
    """``echo 2 > /proc/sys/vm/drop_caches``: shrink every slab cache to the bone.

    v3.14: ``shrink_slab`` with the ratio 1000/1000 over all nodes until a pass frees at most
    10 objects (with the seed, memcg-aware shrinkers also walk every kmem-active memcg).
    v5.x+: every node, every memcg at priority 0, the whole pass repeated while
    ``(freed >> shift++) > 1``.
    Returns the objects freed.
    """
    sim.require_full_profile()
    sc = ScanControl(
        count_calls_start=sim.vmstat["count_objects_calls"],
        reason="drop_caches",
        gfp_mask=GFP_KERNEL,
        nr_to_reclaim=0,
        nodes=tuple(range(sim.nr_nodes)),
        priority=0,
    )
    total = 0
    with sim.in_reclaim(sc):
        if sim.profile.reclaim is ReclaimStyle.ZONES_V3:
            while True:
                before = sc.slab_objects
                _slab_pass(
                    sim,
                    sc,
                    nid=0,
                    memcg=None,
                    pressure=Pressure.drop_caches(),
                    nodes_to_scan=sc.nodes,
                )
                freed = sc.slab_objects - before
                total += freed
                if freed <= 10:
                    break
        else:
            shift = 0
            while True:
                before = sc.slab_objects
                for nid in sc.nodes:
                    for memcg in _memcgs_to_visit(sim, sim.memcgs.root, nid):
                        _slab_pass(sim, sc, nid=nid, memcg=memcg, pressure=Pressure(priority=0))
                    sc.memcgs_walked += len(sim.memcgs)
                freed = sc.slab_objects - before
                total += freed
                if (freed >> shift) <= 1:
                    break
                shift += 1
    sim.finish_reclaim(sc)
    return total


def record_of(sc: ScanControl, time: float, count_calls: int) -> ReclaimRecord:
    return ReclaimRecord(
        reason=sc.reason,
        target=sc.target_mem_cgroup,
        nr_to_reclaim=sc.nr_to_reclaim,
        nr_reclaimed=sc.nr_reclaimed,
        nr_scanned=sc.nr_scanned,
        slab_pages=sc.slab_pages,
        slab_objects=sc.slab_objects,
        # the loop leaves -1 behind when it ran out of priorities; 0 was the last one run
        priority=max(sc.priority, 0),
        memcgs_walked=sc.memcgs_walked,
        shrink_slab_calls=sc.shrink_slab_calls,
        count_calls=count_calls - sc.count_calls_start,
        time=time,
    )


# -- the built-in hook implementations ---------------------------------------------------------


@hookimpl(trylast=True)
def shrinkfw_do_shrink_slab(
    sc: ShrinkControl, shrinker: ShrinkerEntry, pressure: Pressure, sim: Simulation
) -> int:
    return do_shrink_slab(sc, shrinker, pressure, sim)


@hookimpl(trylast=True)
def shrinkfw_shrink_slab(sc: ShrinkControl, pressure: Pressure, sim: Simulation) -> int:
    return shrink_slab(sc, pressure, sim)
