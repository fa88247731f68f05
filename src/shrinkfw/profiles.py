"""Kernel profiles: each era's behaviour as frozen data.

A profile names one kernel (or the kmemcg v15 patch set on v3.14-rc1) and holds everything in
which kernels differ for reclaim: the ``do_shrink_slab`` arithmetic
(:class:`~shrinkfw.shrink_arith.SlabArith`), where deferred work lives, how ``shrink_slab``
picks shrinkers for a memcg, the list_lru layout, the kmem accounting policy, and the trace
format. The driver reads these fields; nothing else in shrinkfw tests the era.

``scope`` tells how much of the behaviour a profile models: ``"full"`` profiles
(``v3.14-kmemcg-v15``, the default, and ``v6.7``) model reclaim end to end; ``"arithmetic"``
profiles model the per-shrinker arithmetic, the deferral slots and the trace format exactly
and say in ``not_modelled`` what they leave out. A profile never falls back silently to
another's behaviour.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from .errors import ProfileError
from .list_lru import ListLRULayout
from .lruvec import LRU_V3_14, LRU_V6_7, LruPolicy
from .memcg import KMEM_V4_7, KMEM_V5_9, KMEM_V5_18, KMEM_V15, KmemPolicy
from .shrink_arith import ARITH_VARIANTS, SlabArith
from .slab import SLAB_V4_0, SLAB_V5_9, SLAB_V15, SlabPolicy
from .vmpressure import POLICY_V3_14, POLICY_V6, POLICY_V15, VmpressurePolicy

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "DeferredSlot",
    "KernelProfile",
    "ReclaimStyle",
    "SlabDispatch",
    "TraceFormat",
    "get_profile",
]


class DeferredSlot(enum.Enum):
    """Where a shrinker's deferred work is kept."""

    #: ``shrinker->nr_deferred[nid]``, shared by every memcg (v3.12-v5.12).
    PER_NODE = "per-node"
    #: memcg-aware shrinkers keep it per (memcg, node) in ``shrinker_info`` (v5.13+).
    PER_MEMCG = "per-memcg"


class SlabDispatch(enum.Enum):
    """How ``shrink_slab`` chooses the shrinkers of a pass (spec section 3)."""

    #: mainline v3.12-v3.18: no memcg-aware shrinkers; memcg limit reclaim never shrinks slab.
    NODE_ONLY = "node-only"
    #: kmemcg v15: memcg-aware shrinkers walk the target subtree's kmem-active memcgs on nid 0.
    KMEMCG_V15 = "kmemcg-v15"
    #: v4.0-v4.5: per memcg inside the memcg loop, then all shrinkers with memcg NULL.
    MEMCG_LOOP = "memcg-loop"
    #: v4.6-v4.18 ("pass root_mem_cgroup instead of NULL to memcg aware shrinker", 2016):
    #: a memcg pass (root included) runs memcg-aware shrinkers of an online memcg, the NULL
    #: pass only the unaware ones.
    ROOT_PASS = "root-pass"
    #: v4.19+: the per-(memcg, node) shrinker bitmap with ``SHRINK_EMPTY`` clearing.
    BITMAP = "bitmap"


class ReclaimStyle(enum.Enum):
    """How the reclaim driver walks nodes and memcgs (spec section 3)."""

    #: no reclaim driver: the profile models arithmetic only.
    NONE = "none"
    #: v3.14 / the seed: zones, then one ``shrink_slab`` for all visited nodes (ratio).
    ZONES_V3 = "zones-v3"
    #: v4.19+: ``shrink_node_memcgs``: LRU, slab and vmpressure per (node, memcg).
    NODE_MEMCGS = "node-memcgs"


class TraceFormat(enum.Enum):
    """Which ``mm_shrink_slab_start`` layout the era prints (spec section 9.1)."""

    #: v3.12-v3.15: ``pgs_scanned`` and ``lru_pgs``, no ``nid:``; the end line's
    #: ``total_scan`` is new minus unused (nid arrived in v3.16).
    RATIO_NO_NID = "ratio-no-nid"
    #: v3.16-v4.15: ``nid:``, ``pgs_scanned`` and ``lru_pgs``.
    RATIO = "ratio"
    #: v4.16+: ``priority``.
    PRIORITY = "priority"


@attrs.frozen(kw_only=True)
class KernelProfile:
    """One kernel's reclaim behaviour.

    :ivar name: the profile name used on the command line.
    :ivar era: the spec's era tag.
    :ivar summary: one line for ``shrinkfw profiles``.
    :ivar scope: ``"full"`` or ``"arithmetic"``.
    :ivar arith: the ``do_shrink_slab`` arithmetic.
    :ivar deferred: where deferred work is kept.
    :ivar dispatch: how ``shrink_slab`` chooses shrinkers.
    :ivar lru_layout: the per-memcg list_lru layout.
    :ivar kmem: kmemcg_id allocation, activation and release.
    :ivar trace_format: the tracepoint layout.
    :ivar super_scan_plus_one: ``super_cache_scan`` gives each cache ``part + 1`` (v4.0+).
    :ivar first_put_referenced: a dentry or inode put on the LRU for the first time is marked
        REFERENCED (v3.14), so it needs two shrinker visits to go.
    :ivar xfs_buf_inverted: the ``xfs_buftarg_isolate`` test is inverted (v3.12-v4.15).
    :ivar gfs2_busy_removed: ``gfs2_qd_isolate`` returns REMOVED for busy entries (before ~v6.5).
    :ivar reclaim: the reclaim driver's structure; ``NONE`` for arithmetic-only profiles.
    :ivar memcg_slab_reclaim: memcg limit reclaim shrinks slab (the seed's
        ``memcg_kmem_should_reclaim``; every kernel from v4.0).
    :ivar vmpressure: window accounting, propagation and in-kernel events.
    :ivar lru: page LRU rules (scan targets, balance, early stop).
    :ivar slab: slab accounting: per-memcg caches, or objcg per-object charges (v5.9+).
    :ivar watermark_scale_factor: ``vm.watermark_scale_factor`` (v4.6+), ``None`` before.
    :ivar memcg_reclaim_retries: limit-reclaim rounds before a charge fails (OOM).
    :ivar dead_memcg_reaper: the seed's 13/13: a root vmpressure listener shrinks the slab
        caches of dead memcgs.
    :ivar slab_credit_memcg: freed slab pages count toward ``nr_reclaimed`` in memcg limit
        reclaim too (the seed installs a ``reclaim_state`` there); from v6.5 only global
        reclaim credits them, once per node pass ("ignore non-LRU-based reclaim in memcg
        reclaim").
    :ivar reclaim_walks_offline: reclaim walks visit offline (dying) memcgs (v4.0 "force scan
        offline memory cgroups"); v3.14's ``mem_cgroup_iter`` returns only online ones.
    :ivar memcg_reclaim_goal_is_charge: limit reclaim asks for ``max(nr_pages,
        SWAP_CLUSTER_MAX)`` pages (later kernels) instead of ``SWAP_CLUSTER_MAX`` (v3.14).
    :ivar lru_node_nr_items: list_lrus keep a per-node total (``nlru->nr_items``, v4.19+)
        that the walker also drops on REMOVED.
    :ivar inode_page_cache_off_lru: inodes with page cache stay off the inode LRU
        (``mapping_shrinkable``, v5.15+).
    :ivar ratio_zero_scanned_fixup: ``shrink_slab`` reads 0 pages scanned as
        ``SWAP_CLUSTER_MAX`` (the ratio eras).
    :ivar modelled: what the profile models, for ``shrinkfw profiles``.
    :ivar not_modelled: what it does not model yet.
    """

    name: str
    era: str
    summary: str
    scope: str
    arith: SlabArith
    deferred: DeferredSlot
    dispatch: SlabDispatch
    lru_layout: ListLRULayout
    kmem: KmemPolicy
    trace_format: TraceFormat
    super_scan_plus_one: bool
    first_put_referenced: bool
    xfs_buf_inverted: bool
    gfs2_busy_removed: bool
    reclaim: ReclaimStyle = ReclaimStyle.NONE
    memcg_slab_reclaim: bool = True
    vmpressure: VmpressurePolicy = POLICY_V6
    lru: LruPolicy = LRU_V6_7
    slab: SlabPolicy = SLAB_V5_9
    watermark_scale_factor: int | None = 10
    memcg_reclaim_retries: int = 16
    dead_memcg_reaper: bool = False
    slab_credit_memcg: bool = False
    reclaim_walks_offline: bool = True
    memcg_reclaim_goal_is_charge: bool = True
    ratio_zero_scanned_fixup: bool = False
    lru_node_nr_items: bool = True
    inode_page_cache_off_lru: bool = True
    modelled: tuple[str, ...] = ()
    not_modelled: tuple[str, ...] = ()

    def with_options(self, *, tight_mem_loop: bool | None = None) -> KernelProfile:
        """This profile with a switch flipped (the spec's ``tight_mem_loop`` for E1)."""
        arith = self.arith
        if tight_mem_loop is not None and tight_mem_loop != arith.tight_mem_loop:
            arith = attrs.evolve(arith, tight_mem_loop=tight_mem_loop)
            return attrs.evolve(
                self, arith=arith, name=f"{self.name}+tight_mem_loop={int(tight_mem_loop)}"
            )
        return self


_ARITH_ONLY: Final = (
    "the reclaim driver (page LRU reclaim, kswapd, memcg limit reclaim, vmpressure) does not "
    "run on this profile; its do_shrink_slab arithmetic, deferral slots, shrink_slab "
    "dispatch, list_lru layout and trace format do",
)

PROFILES: Final[dict[str, KernelProfile]] = {
    p.name: p
    for p in (
        KernelProfile(
            name="v3.14",
            era="E1",
            summary="mainline v3.14: count/scan shrinkers, node-only list_lru, ratio pressure",
            scope="arithmetic",
            arith=ARITH_VARIANTS["v3.14"],
            deferred=DeferredSlot.PER_NODE,
            dispatch=SlabDispatch.NODE_ONLY,
            lru_layout=ListLRULayout.NODE_ONLY,
            kmem=KMEM_V15,
            trace_format=TraceFormat.RATIO_NO_NID,
            super_scan_plus_one=False,
            first_put_referenced=True,
            xfs_buf_inverted=True,
            gfs2_busy_removed=True,
            memcg_slab_reclaim=False,
            reclaim_walks_offline=False,
            memcg_reclaim_goal_is_charge=False,
            ratio_zero_scanned_fixup=True,
            vmpressure=POLICY_V3_14,
            lru=LRU_V3_14,
            slab=SLAB_V15,
            watermark_scale_factor=None,
            memcg_reclaim_retries=5,
            lru_node_nr_items=False,
            inode_page_cache_off_lru=False,
            modelled=("ratio do_shrink_slab with the tight-memory loop", "per-node nr_deferred"),
            not_modelled=_ARITH_ONLY,
        ),
        KernelProfile(
            name="v3.14-kmemcg-v15",
            era="E1+v15",
            summary="the seed: kmemcg shrinkers v15 on v3.14-rc1 (per-memcg list_lru, "
            "memcg-aware shrinkers, slab shrinking on memcg pressure)",
            scope="full",
            arith=ARITH_VARIANTS["v3.14"],
            deferred=DeferredSlot.PER_NODE,
            dispatch=SlabDispatch.KMEMCG_V15,
            lru_layout=ListLRULayout.MEMCG_ARRAY_V15,
            kmem=KMEM_V15,
            trace_format=TraceFormat.RATIO_NO_NID,
            super_scan_plus_one=False,
            first_put_referenced=True,
            xfs_buf_inverted=True,
            gfs2_busy_removed=True,
            reclaim=ReclaimStyle.ZONES_V3,
            vmpressure=POLICY_V15,
            lru=LRU_V3_14,
            slab=SLAB_V15,
            watermark_scale_factor=None,
            memcg_reclaim_retries=5,
            dead_memcg_reaper=True,
            slab_credit_memcg=True,
            reclaim_walks_offline=False,
            memcg_reclaim_goal_is_charge=False,
            ratio_zero_scanned_fixup=True,
            lru_node_nr_items=False,
            inode_page_cache_off_lru=False,
            modelled=(
                "ratio do_shrink_slab with the tight-memory loop, leftover put-back",
                "one list per kmem-active memcg indexed by kmemcg_id, array growth",
                "memcg-aware shrinkers scanned on nid 0, sharing nr_deferred[0]",
                "kmemcg_id released when the dead memcg is freed",
                "zone-walk reclaim: LRU pages per memcg, then one ratio shrink_slab",
                "slab shrinking on memcg limit reclaim (memcg_kmem_should_reclaim)",
                "kmem limit below the user limit fails without reclaim",
                "memcg_drop_slab flush at offline; dead memcgs pinned by their slab pages",
                "v3.14 vmpressure propagation and in-kernel events; the 13/13 root reaper",
            ),
            not_modelled=(
                "the reclaim cookie's round-robin memcg position (every walk starts at the target)",
                "the shrinker_rwsem trylock bail-out (no concurrency in the model)",
                "asynchronous per-memcg cache creation (first objects go to the memcg cache)",
                "swap accounting, memsw limits, use_hierarchy=0",
                "compaction, high-order allocations, watermark boosting",
            ),
        ),
        KernelProfile(
            name="v4.9",
            era="E2",
            summary="v4.9: memcg x node list_lru, per-memcg shrinkers, leftover put-back",
            scope="arithmetic",
            arith=ARITH_VARIANTS["v3.19"],
            deferred=DeferredSlot.PER_NODE,
            dispatch=SlabDispatch.ROOT_PASS,
            lru_layout=ListLRULayout.MEMCG_NODE_ARRAY,
            kmem=KMEM_V4_7,
            slab=SLAB_V4_0,
            trace_format=TraceFormat.RATIO,
            super_scan_plus_one=True,
            first_put_referenced=True,
            xfs_buf_inverted=True,
            gfs2_busy_removed=True,
            ratio_zero_scanned_fixup=True,
            lru_node_nr_items=False,
            inode_page_cache_off_lru=False,
            modelled=("ratio do_shrink_slab, leftover put-back", "per-node nr_deferred"),
            not_modelled=_ARITH_ONLY,
        ),
        KernelProfile(
            name="v4.14",
            era="E2",
            summary="v4.14: unclamped next_deferred (v4.10), sc->nr_scanned feedback",
            scope="arithmetic",
            arith=ARITH_VARIANTS["v4.14"],
            deferred=DeferredSlot.PER_NODE,
            dispatch=SlabDispatch.ROOT_PASS,
            lru_layout=ListLRULayout.MEMCG_NODE_ARRAY,
            kmem=KMEM_V4_7,
            slab=SLAB_V4_0,
            trace_format=TraceFormat.RATIO,
            super_scan_plus_one=True,
            first_put_referenced=False,
            xfs_buf_inverted=True,
            gfs2_busy_removed=True,
            ratio_zero_scanned_fixup=True,
            lru_node_nr_items=False,
            inode_page_cache_off_lru=False,
            modelled=("ratio do_shrink_slab, unclamped put-back", "per-node nr_deferred"),
            not_modelled=_ARITH_ONLY,
        ),
        KernelProfile(
            name="v5.4",
            era="E3",
            summary="v5.4: priority-based delta, shrinker bitmap, SHRINK_EMPTY, zero-seek",
            scope="arithmetic",
            arith=ARITH_VARIANTS["v5.0"],
            deferred=DeferredSlot.PER_NODE,
            dispatch=SlabDispatch.BITMAP,
            lru_layout=ListLRULayout.MEMCG_NODE_ARRAY,
            kmem=KMEM_V5_9,
            slab=SLAB_V4_0,
            trace_format=TraceFormat.PRIORITY,
            super_scan_plus_one=True,
            first_put_referenced=False,
            xfs_buf_inverted=False,
            gfs2_busy_removed=True,
            inode_page_cache_off_lru=False,
            modelled=("priority do_shrink_slab with clamps, unclamped put-back",),
            not_modelled=_ARITH_ONLY,
        ),
        KernelProfile(
            name="v6.1",
            era="E4",
            summary="v6.1: per-memcg nr_deferred, simplified deferral, slab credited to memcg "
            "reclaim",
            scope="full",
            arith=ARITH_VARIANTS["v5.13"],
            deferred=DeferredSlot.PER_MEMCG,
            dispatch=SlabDispatch.BITMAP,
            lru_layout=ListLRULayout.MEMCG_XARRAY,
            kmem=KMEM_V5_18,
            trace_format=TraceFormat.PRIORITY,
            super_scan_plus_one=True,
            first_put_referenced=False,
            xfs_buf_inverted=False,
            gfs2_busy_removed=True,
            reclaim=ReclaimStyle.NODE_MEMCGS,
            # before v6.5 memcg limit reclaim counts the slab pages the shrinkers free
            # (reclaim_state is set for every reclaim), so it stops at a higher priority
            slab_credit_memcg=True,
            modelled=(
                "simplified do_shrink_slab, per-memcg nr_deferred reparented on offline",
                "xarray list_lru with kmemcg_id = memcg id, dead lists retry on the parent",
                "shrinker bitmap dispatch with SHRINK_EMPTY clearing and re-check",
                "shrink_node_memcgs: LRU, slab and vmpressure per memcg; memory.min/low",
                "freed slab pages credited to memcg limit reclaim too (changed in v6.5)",
                "objcg slab accounting: slab no longer pins dying memcgs, page cache does",
                "memory.high / memory.max / memory.reclaim writes reclaim synchronously",
                "the gfs2 busy-entry REMOVED quirk (fixed in v6.5)",
            ),
            not_modelled=(
                "MGLRU (lru_gen), which Debian's 6.1 builds in but leaves off",
                "effective memory.min/low propagation (a memcg's own values are used)",
                "memcg OOM kills: a failed charge is counted as an oom event only",
                "PSI, throttling delays of memory.high, swap",
                "compaction, high-order allocations, watermark boosting",
            ),
        ),
        KernelProfile(
            name="v6.7",
            era="E5",
            summary="v6.7: lockless shrink_slab, mm/shrinker.c, shrinker bitmap, reparenting",
            scope="full",
            arith=ARITH_VARIANTS["v6.7"],
            deferred=DeferredSlot.PER_MEMCG,
            dispatch=SlabDispatch.BITMAP,
            lru_layout=ListLRULayout.MEMCG_XARRAY,
            kmem=KMEM_V5_18,
            trace_format=TraceFormat.PRIORITY,
            super_scan_plus_one=True,
            first_put_referenced=False,
            xfs_buf_inverted=False,
            gfs2_busy_removed=False,
            reclaim=ReclaimStyle.NODE_MEMCGS,
            modelled=(
                "simplified do_shrink_slab, per-memcg nr_deferred reparented on offline",
                "xarray list_lru with kmemcg_id = memcg id, dead lists retry on the parent",
                "shrinker bitmap dispatch with SHRINK_EMPTY clearing and re-check",
                "shrink_node_memcgs: LRU, slab and vmpressure per memcg; memory.min/low",
                "objcg slab accounting: slab no longer pins dying memcgs, page cache does",
                "memory.high / memory.max / memory.reclaim writes reclaim synchronously",
                "vmpressure modes (default, hierarchy, local) and socket pressure",
            ),
            not_modelled=(
                "MGLRU (lru_gen) and the v6.10 shared direct-reclaim memcg iterator",
                "effective memory.min/low propagation (a memcg's own values are used)",
                "memcg OOM kills: a failed charge is counted as an oom event only",
                "PSI, throttling delays of memory.high, swap",
                "compaction, high-order allocations, watermark boosting",
            ),
        ),
    )
}

#: The profile used when none is named: the kmemcg v15 seed.
DEFAULT_PROFILE: Final = "v3.14-kmemcg-v15"


def get_profile(name: str | KernelProfile) -> KernelProfile:
    """Look a profile up by name.

    :raises ProfileError: no such profile; the message lists the valid names.
    """
    if isinstance(name, KernelProfile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(
            f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}"
        ) from None
