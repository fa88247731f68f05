"""``do_shrink_slab`` and ``shrink_slab``: how one slab-shrinking pass calls the shrinkers.

The kernel keeps these in mm/vmscan.c up to v6.6 and in mm/shrinker.c from v6.7. The built-in
``shrinkfw.vmscan`` plugin exposes them as the default implementations of the
``shrinkfw_do_shrink_slab`` and ``shrinkfw_shrink_slab`` protocol hooks.

* :func:`do_shrink_slab` models ``shrink_slab_node`` (linux v3.12-v3.18 mm/vmscan.c) and
  ``do_shrink_slab`` (linux v3.19-v6.6 mm/vmscan.c, v6.7+ mm/shrinker.c) with the profile's
  arithmetic from :mod:`shrinkfw.shrink_arith`.
* :func:`shrink_slab` models the choice of shrinkers for one pass: ``shrink_slab`` of
  mainline v3.14, of the kmemcg v15 patch set (``run_shrinker`` over the target subtree), of
  v4.0 and v4.6, and the v4.19+ bitmap walk ``shrink_slab_memcg``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ContractViolation
from .profiles import DeferredSlot, SlabDispatch
from .shrink_arith import Pressure, next_deferred, plan_scan
from .shrinker import SHRINK_EMPTY, SHRINK_STOP, ShrinkControl
from .tracepoints import ShrinkSlabEnd, ShrinkSlabStart

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .memcg import MemCgroup
    from .registry import ShrinkerEntry
    from .sim import Simulation

__all__ = ["SWAP_CLUSTER_MAX", "do_shrink_slab", "shrink_slab"]

#: The largest ``long``: ``count_objects`` results above it are negative in the kernel.
LONG_MAX = (1 << 63) - 1

#: Pages per reclaim batch; ratio-era ``shrink_slab`` reads 0 pages scanned as this many.
SWAP_CLUSTER_MAX = 32


def _violation(entry: ShrinkerEntry, rule: str, plugin: str | None = None) -> ContractViolation:
    owner = plugin or entry.plugin
    return ContractViolation(
        f"plugin {owner!r}: shrinker {entry.name!r}: {rule}",
        plugin=owner,
        shrinker=entry.name,
        rule=rule,
    )


def _raised(
    sim: Simulation, entry: ShrinkerEntry, method: str, exc: Exception
) -> ContractViolation:
    """A shrinker callback raised: blame the plugin whose code raised it."""
    if isinstance(exc, ContractViolation) and exc.shrinker:
        return exc
    rule = (
        str(exc)
        if isinstance(exc, ContractViolation)
        else f"{method} raised {type(exc).__name__}: {exc}"
    )
    return _violation(entry, rule, sim.blame(exc))


def _check_count(entry: ShrinkerEntry, value: object) -> int:
    if type(value) is not int:
        raise _violation(entry, f"count_objects must return an int, got {value!r}")
    if value < 0:
        raise _violation(entry, f"count_objects returned a negative count {value}")
    return value


def _check_scan(entry: ShrinkerEntry, value: object, sc: ShrinkControl, nr_to_scan: int) -> int:
    if type(value) is not int or value < 0:
        raise _violation(
            entry, f"scan_objects must return an int >= 0 or SHRINK_STOP, got {value!r}"
        )
    if not 0 < sc.nr_scanned <= nr_to_scan:
        raise _violation(
            entry,
            f"scan_objects set nr_scanned to {sc.nr_scanned}; it may only lower it within "
            f"1..{nr_to_scan}, or the batch loop could not make progress",
        )
    return value


def _deferred(
    sim: Simulation, entry: ShrinkerEntry, sc: ShrinkControl
) -> tuple[dict[int, int] | list[int], int]:
    """The ``nr_deferred`` container and key of this call.

    Models the slot rule of ``xchg_nr_deferred`` / ``add_nr_deferred`` (linux v6.7+
    mm/shrinker.c): per (memcg, node) for memcg-aware shrinkers called with a memcg from v5.13,
    else ``shrinker->nr_deferred[nid]`` with nid 0 for shrinkers that are not NUMA-aware.
    """
    nid = sc.nid if entry.numa_aware else 0
    memcg = sc.memcg
    if memcg is not None and entry.memcg_aware and sim.profile.deferred is DeferredSlot.PER_MEMCG:
        return memcg.shrinker_info[nid].nr_deferred, entry.id
    return entry.nr_deferred, nid


def do_shrink_slab(
    sc: ShrinkControl, entry: ShrinkerEntry, pressure: Pressure, sim: Simulation
) -> int:
    """Invoke one shrinker once; a broken contract goes to ``sim.shrinker_failed``, which
    raises or (``on_plugin_error="disable"``) unregisters the offender and returns 0. A
    shrinker unregistered during the pass is not called again."""
    if not entry.registered:
        return 0
    try:
        return _do_shrink_slab(sc, entry, pressure, sim)
    except ContractViolation as violation:
        return sim.shrinker_failed(entry, violation)


def _do_shrink_slab(
    sc: ShrinkControl, entry: ShrinkerEntry, pressure: Pressure, sim: Simulation
) -> int:
    """Invoke one shrinker once and return the objects it freed (or ``SHRINK_EMPTY``).

    Steps, as in every era: count; take all deferred work (``xchg`` with 0); size the scan
    (:func:`~shrinkfw.shrink_arith.plan_scan`); ``mm_shrink_slab_start``; the batch loop
    (``scan_objects`` with ``nr_to_scan = min(batch, total_scan)``, stopping at
    ``SHRINK_STOP``); put unfinished work back by the era's rule; ``mm_shrink_slab_end``.

    A count of ``SHRINK_EMPTY`` is passed up from v4.19 (``arith.shrink_empty``); older
    profiles read it as 0, "nothing to do", as those kernels had no such value.

    :raises ContractViolation: the shrinker returned a value the kernel contract forbids.
    """
    arith = sim.profile.arith
    shrinker = entry.shrinker
    entry.count_calls += 1
    vmstat = sim.vmstat
    vmstat["count_objects_calls"] += 1
    try:
        counted = shrinker.count_objects(sc)
    except Exception as exc:
        raise _raised(sim, entry, "count_objects", exc) from exc
    freeable = _check_count(entry, counted)
    if freeable == 0 or freeable == SHRINK_EMPTY:
        return SHRINK_EMPTY if freeable == SHRINK_EMPTY and arith.shrink_empty else 0
    if freeable > LONG_MAX:
        # the kernel keeps the count in a long: a count that wrapped below zero (a list_lru
        # whose nr_items drifted negative) sizes no scan
        vmstat["shrinker_negative_count"] += 1
        return 0

    slots, key = _deferred(sim, entry, sc)
    nr = slots.get(key, 0) if isinstance(slots, dict) else slots[key]
    slots[key] = 0
    plan = plan_scan(
        arith,
        freeable=freeable,
        nr=nr,
        seeks=entry.seeks,
        batch=entry.batch,
        nr_scanned=pressure.nr_scanned,
        nr_eligible=pressure.nr_eligible,
        priority=pressure.priority,
    )
    hooks = sim.hooks
    if hooks.wants_shrink_slab_start:
        hooks.shrink_slab_start(
            ShrinkSlabStart(
                shrinker=entry.name,
                nid=sc.nid,
                memcg=sc.memcg,
                nr_objects_to_shrink=nr,
                gfp_flags=sc.gfp_mask,
                pgs_scanned=pressure.nr_scanned,
                lru_pgs=pressure.nr_eligible,
                cache_items=freeable,
                delta=plan.delta,
                total_scan=plan.total_scan,
                priority=pressure.priority,
            ),
            sim,
        )

    total_scan = plan.total_scan
    batch = plan.batch
    tight = arith.tight_mem_loop
    feedback = arith.nr_scanned_feedback
    freed = scanned = 0
    entry.invocations += 1
    while total_scan >= batch or (tight and total_scan >= freeable):
        nr_to_scan = batch if batch < total_scan else total_scan
        sc.nr_to_scan = nr_to_scan
        sc.nr_scanned = nr_to_scan
        try:
            ret = shrinker.scan_objects(sc)
        except Exception as exc:
            raise _raised(sim, entry, "scan_objects", exc) from exc
        if ret == SHRINK_STOP:
            break
        ret = _check_scan(entry, ret, sc, nr_to_scan)
        if ret > freeable and ret > nr_to_scan:
            # a call may free more than the count it began with (pruning a dentry can make
            # its inode freeable in the same super_cache_scan) but never more than both the
            # count and what it was asked to scan
            raise _violation(
                entry,
                f"scan_objects reported freeing {ret} objects when count_objects said it "
                f"held {freeable} and it was asked to scan {nr_to_scan}",
            )
        done = sc.nr_scanned if feedback else nr_to_scan
        freed += ret
        total_scan -= done
        scanned += done

    vmstat["slabs_scanned"] += scanned
    vmstat["shrinker_invocations"] += 1
    entry.scanned += scanned
    entry.freed += freed
    put = next_deferred(arith, plan, scanned=scanned, left=total_scan)
    if put is None:
        new_nr = slots.get(key, 0) if isinstance(slots, dict) else slots[key]
    else:
        new_nr = (slots.get(key, 0) if isinstance(slots, dict) else slots[key]) + put
        slots[key] = new_nr
    if hooks.wants_shrink_slab_end:
        hooks.shrink_slab_end(
            ShrinkSlabEnd(
                shrinker=entry.name,
                nid=sc.nid,
                memcg=sc.memcg,
                unused_scan_cnt=nr,
                new_scan_cnt=new_nr,
                total_scan=total_scan,
                retval=freed,
                scanned=scanned,
            ),
            sim,
        )
    return freed


# -- shrink_slab: which shrinkers a pass visits -------------------------------------------------


def _nodes(sc: ShrinkControl) -> tuple[int, ...]:
    return sc.nodes_to_scan if sc.nodes_to_scan is not None else (sc.nid,)


def _run_shrinker_v3(
    sc: ShrinkControl, entry: ShrinkerEntry, pressure: Pressure, sim: Simulation
) -> int:
    """One shrinker of a v3.x pass: once on nid 0, or once per node of ``nodes_to_scan``.

    Models the per-shrinker body of ``shrink_slab`` (linux v3.14 mm/vmscan.c) and
    ``run_shrinker`` (kmemcg v15 08/13): a per-memcg call is always made on nid 0.
    """
    call = sim.hooks.do_shrink_slab
    memcg = sc.memcg
    if not entry.numa_aware or memcg is not None:
        return _nonneg(call(_with(sc, nid=0, memcg=memcg), entry, pressure, sim))
    return sum(
        _nonneg(call(_with(sc, nid=nid, memcg=None), entry, pressure, sim)) for nid in _nodes(sc)
    )


def _nonneg(freed: int) -> int:
    return 0 if freed == SHRINK_EMPTY else freed


def _with(sc: ShrinkControl, *, nid: int, memcg: MemCgroup | None) -> ShrinkControl:
    """A fresh ``shrink_control`` per call, as the kernel builds one per shrinker."""
    return ShrinkControl(
        gfp_mask=sc.gfp_mask,
        nid=nid,
        memcg=memcg,
        target_mem_cgroup=sc.target_mem_cgroup,
        nodes_to_scan=sc.nodes_to_scan,
    )


def _kmem_subtree(sim: Simulation, target: MemCgroup | None) -> Iterator[MemCgroup]:
    for memcg in sim.reclaim_walk(target):
        if memcg.kmem_active and memcg.kmemcg_id >= 0:
            yield memcg


def shrink_slab(sc: ShrinkControl, pressure: Pressure, sim: Simulation) -> int:
    """Run one slab-shrinking pass; the profile's ``dispatch`` picks the shrinkers.

    Ratio eras read ``pressure.nr_scanned == 0`` as ``SWAP_CLUSTER_MAX`` pages.

    * ``NODE_ONLY`` (mainline v3.14 ``shrink_slab``): every shrinker, in registration order,
      on the nodes of ``sc.nodes_to_scan``; nothing for a memcg (limit reclaim never shrinks
      slab in mainline v3.14).
    * ``KMEMCG_V15`` (kmemcg v15 08/13 ``shrink_slab``): unaware shrinkers only without a
      target, with memcg NULL; aware ones for memcg NULL when there is no target, then for
      every kmem-active memcg of the target subtree (the whole tree without one), on nid 0.
    * ``MEMCG_LOOP`` (v4.0-v4.5): a memcg pass runs only memcg-aware shrinkers and only for a
      kmem-active memcg; the NULL pass runs all shrinkers on the global lists.
    * ``ROOT_PASS`` (v4.6-v4.18): a memcg pass (root included) runs memcg-aware shrinkers of an
      online memcg, the NULL pass only the unaware ones.
    * ``BITMAP`` (v4.19+ ``shrink_slab`` / ``shrink_slab_memcg``): the root pass runs every
      shrinker; a non-root memcg runs only the shrinkers whose bit is set in its
      ``shrinker_info[nid].map``; a ``SHRINK_EMPTY`` count clears the bit, then the shrinker
      is called once more and the bit set again unless it is still empty.
    """
    dispatch = sim.profile.dispatch
    if sim.profile.ratio_zero_scanned_fixup and pressure.nr_scanned == 0:
        # "if (nr_pages_scanned == 0) nr_pages_scanned = SWAP_CLUSTER_MAX;"
        pressure = Pressure(
            priority=pressure.priority,
            nr_scanned=SWAP_CLUSTER_MAX,
            nr_eligible=pressure.nr_eligible,
        )
    registry = sim.shrinkers
    call = sim.hooks.do_shrink_slab
    memcg = sc.memcg
    freed = 0
    if dispatch is SlabDispatch.NODE_ONLY:
        if memcg is not None or sc.target_mem_cgroup is not None:
            return 0
        for entry in registry.entries:
            freed += _run_shrinker_v3(sc, entry, pressure, sim)
        return freed

    if dispatch is SlabDispatch.KMEMCG_V15:
        target = sc.target_mem_cgroup
        # the kernel re-walks the subtree for each shrinker; the walk's result is the same
        # for every shrinker of one pass, so it is taken once
        subtree: list[MemCgroup] | None = None
        for entry in list(registry.entries):
            if not entry.memcg_aware:
                if target is None:
                    freed += _run_shrinker_v3(
                        _with(sc, nid=sc.nid, memcg=None), entry, pressure, sim
                    )
                continue
            if target is None:
                freed += _run_shrinker_v3(_with(sc, nid=sc.nid, memcg=None), entry, pressure, sim)
            if subtree is None:
                subtree = list(_kmem_subtree(sim, target))
            for child in subtree:
                freed += _run_shrinker_v3(_with(sc, nid=0, memcg=child), entry, pressure, sim)
        return freed

    nid = sc.nid
    if dispatch is SlabDispatch.MEMCG_LOOP:
        if memcg is not None and not memcg.kmem_active:
            return 0
        for entry in list(registry.entries):
            if memcg is not None and not entry.memcg_aware:
                continue
            freed += _nonneg(
                call(_with(sc, nid=_slot_nid(entry, nid), memcg=memcg), entry, pressure, sim)
            )
        return freed

    if dispatch is SlabDispatch.ROOT_PASS:
        if memcg is not None and not memcg.online:
            return 0
        for entry in list(registry.entries):
            if (memcg is not None) != entry.memcg_aware:
                continue
            freed += _nonneg(
                call(_with(sc, nid=_slot_nid(entry, nid), memcg=memcg), entry, pressure, sim)
            )
        return freed

    # BITMAP
    if memcg is None:
        memcg = sim.memcgs.root
    if not memcg.is_root:
        return _shrink_slab_memcg(sc, memcg, pressure, sim)
    for entry in list(registry.entries):
        freed += _nonneg(call(_with(sc, nid=nid, memcg=memcg), entry, pressure, sim))
    return freed


def _slot_nid(entry: ShrinkerEntry, nid: int) -> int:
    """v4.0-v4.18 ``shrink_slab`` sets ``sc.nid = 0`` for shrinkers that are not NUMA-aware.

    From v4.19 the call keeps the real node in ``sc->nid``; only the deferred slot uses node 0
    (``do_shrink_slab``), which :func:`_deferred` does for every era.
    """
    return nid if entry.numa_aware else 0


def _shrink_slab_memcg(
    sc: ShrinkControl, memcg: MemCgroup, pressure: Pressure, sim: Simulation
) -> int:
    """Models ``shrink_slab_memcg`` (linux v4.19+ mm/vmscan.c, v6.7+ mm/shrinker.c)."""
    if not memcg.online:
        return 0
    nid = sc.nid
    info = memcg.shrinker_info[nid]
    registry = sim.shrinkers
    call = sim.hooks.do_shrink_slab
    freed = 0
    for shrinker_id in list(info.iter_bits()):
        entry = registry.by_id(shrinker_id)
        if entry is None:
            info.clear_bit(shrinker_id)
            continue
        sub = _with(sc, nid=nid, memcg=memcg)
        ret = call(sub, entry, pressure, sim)
        if ret == SHRINK_EMPTY:
            info.clear_bit(shrinker_id)
            ret = call(_with(sc, nid=nid, memcg=memcg), entry, pressure, sim)
            if ret == SHRINK_EMPTY:
                ret = 0
            else:
                info.set_bit(shrinker_id)
        freed += ret
    return freed
