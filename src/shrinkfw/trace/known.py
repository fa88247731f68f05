"""What the checker assumes about the shrinkers a trace names.

A trace line prints the shrinker's scan function but neither its ``seeks`` nor its ``batch``,
and both enter the arithmetic: ``seeks`` divides ``delta`` and ``batch`` sets the size of each
``scan_objects`` call, so the remainder the end line prints. This table holds, for scan
functions found in mainline kernels, the values their registration code sets, with the kernel
file and function each comes from. Where a shrinker changed over time, or the same function
serves objects registered with different values, every value is a candidate: a start line
matches when any candidate reproduces it.

Functions not in the table get ``batch`` 0 (``SHRINK_BATCH``, 128 objects) and ``seeks``
``DEFAULT_SEEKS`` (2), what ``register_shrinker`` users get unless they set otherwise and what
``shrinker_alloc`` presets (v6.7+). ``--batch FUNC=N`` and ``--seeks FUNC=N`` pin one value for
a function, known or not.

``lowers_nr_scanned`` marks scan functions that set ``sc->nr_scanned`` to what they really
scanned (possible from v4.14, where the loop subtracts ``nr_scanned``); for them the batch loop
can stop at any remainder, so the checker accepts any ``0 <= left <= total_scan`` in those
eras. ``batch_varies`` marks shrinkers whose ``batch`` changes at run time (read once per
call, but unknown to a trace reader): any remainder is accepted in every era.

Sources (read in public copies of the kernel tree and of patches on the mailing lists):

=============================  =====================================================================
function                       registration
=============================  =====================================================================
super_cache_scan               fs/super.c, alloc_super: ``seeks = DEFAULT_SEEKS``, ``batch = 1024``
                               (v3.12+). Zero-seek superblocks (v4.20+, "mm: zero-seek shrinkers",
                               4b85afbdacd2, merged for 4.20): fs/proc/root.c proc_fill_super and
                               fs/kernfs/mount.c kernfs_fill_super (sysfs, cgroupfs) set
                               ``s_shrink.seeks = 0``; bcachefs too (fs/bcachefs/fs.c).
prune_super                    fs/super.c, alloc_super (v3.1-v3.11, the old ``shrink`` API):
                               ``seeks = DEFAULT_SEEKS``, ``batch = 1024`` (the batch from a 2011
                               patch, v3.1).
scan_shadow_nodes              mm/workingset.c, workingset_init: ``seeks = DEFAULT_SEEKS`` (v3.15)
                               then ``seeks = 0`` ("->count reports only fully expendable
                               nodes", v4.20+); ``batch`` 0.
i915_gem_shrinker_scan         drivers/gpu/drm/i915/gem/i915_gem_shrinker.c,
                               i915_gem_driver_register__shrinker: ``seeks = DEFAULT_SEEKS``,
                               ``batch = 4096`` (older i915_gem_shrinker_init: no batch, 0),
                               and i915_gem_shrinker_count moves ``batch`` towards the average
                               object size (at least 128) at run time; the scan sets
                               ``sc->nr_scanned = 0`` and adds what it scanned.
ttm_pool_shrinker_scan         drivers/gpu/drm/ttm/ttm_pool.c, ttm_pool_mgr_init: ``seeks = 1``,
                               ``batch`` 0 (v5.11+); v6.x sets ``sc->nr_scanned = num_freed``.
xfs_buftarg_shrink_scan        fs/xfs/xfs_buf.c, xfs_alloc_buftarg / xfs_init_buftarg:
                               ``seeks = DEFAULT_SEEKS``, NUMA-aware, ``batch`` 0.
xfs_qm_shrink_scan             fs/xfs/xfs_qm.c, xfs_qm_init_quotainfo: ``seeks = DEFAULT_SEEKS``,
                               NUMA-aware, ``batch`` 0.
gfs2_qd_shrink_scan            fs/gfs2/quota.c, ``gfs2_qd_shrinker`` / gfs2_qd_shrinker_init:
                               ``seeks = DEFAULT_SEEKS``, NUMA-aware, ``batch`` 0.
ext4_es_scan                   fs/ext4/extents_status.c, ext4_es_register_shrinker:
                               ``seeks = DEFAULT_SEEKS``, ``batch`` 0.
mb_cache_scan                  fs/mbcache.c, mb_cache_create: ``seeks = DEFAULT_SEEKS``,
                               ``batch`` 0.
deferred_split_scan            mm/huge_memory.c (``deferred_split_shrinker`` / thp_shrinker_init):
                               ``seeks = DEFAULT_SEEKS``, ``batch`` 0.
shrink_huge_zero_page_scan     mm/huge_memory.c (``huge_zero_page_shrinker``):
                               ``seeks = DEFAULT_SEEKS``, ``batch`` 0.
kfree_rcu_shrink_scan          kernel/rcu/tree.c, kfree_rcu_batch_init: ``seeks = DEFAULT_SEEKS``
                               (explicitly, then by ``shrinker_alloc``), ``batch`` 0.
zs_shrinker_scan               mm/zsmalloc.c, zs_register_shrinker: ``seeks = DEFAULT_SEEKS``,
                               ``batch = 0``.
mmu_shrink_scan                arch/x86/kvm/mmu/mmu.c, ``mmu_shrinker``:
                               ``seeks = DEFAULT_SEEKS * 10``, ``batch`` 0.
msm_gem_shrinker_scan          drivers/gpu/drm/msm/msm_gem_shrinker.c, msm_gem_shrinker_init:
                               ``seeks = DEFAULT_SEEKS``, ``batch`` 0.
=============================  =====================================================================

Notes against the spec
----------------------

- The spec (section 1.2) lists the workingset shadow-node shrinker among the zero-seek users
  without a version: it was ``DEFAULT_SEEKS`` from its introduction (v3.15) until v4.20, so a
  ratio-era trace of ``scan_shadow_nodes`` is computed with seeks 2 (the sample 4.9 trace
  confirms it: ``delta 1280 = 4*32/2 * 20``).
- The spec marks zero-seek shrinkers "v4.20 (unverified)": the patch 4b85afbdacd2 sits between
  the 4.19 release and 4.20-rc1 in a public bisect log, so v4.20 holds.
- ``batch`` is not a constant of the superblock shrinker alone: i915 starts at 4096 and
  changes it at run time. A trace of a shrinker whose batch is not known here fails the
  end-line remainder check until ``--batch FUNC=N`` names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from ..shrinker import DEFAULT_SEEKS, SHRINK_BATCH

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "KNOWN_SHRINKERS",
    "UNKNOWN",
    "ShrinkerFacts",
    "ShrinkerTable",
]


@attrs.frozen(kw_only=True)
class ShrinkerFacts:
    """What the checker assumes about one scan function.

    :ivar batch: objects per ``scan_objects`` call as registered; 0 means ``SHRINK_BATCH``.
    :ivar seeks: candidate ``seeks`` values, most common first.
    :ivar lowers_nr_scanned: the scan function may lower ``sc->nr_scanned``.
    :ivar batch_varies: the shrinker changes its ``batch`` at run time.
    :ivar source: the kernel file and function the values come from.
    :ivar known: whether the values come from the table (or an override) rather than defaults.
    """

    batch: int = 0
    seeks: tuple[int, ...] = (DEFAULT_SEEKS,)
    lowers_nr_scanned: bool = False
    batch_varies: bool = False
    source: str = ""
    known: bool = True

    @property
    def batch_size(self) -> int:
        """The batch the loop really uses (``batch`` or ``SHRINK_BATCH``)."""
        return self.batch or SHRINK_BATCH


#: What a function missing from the table is assumed to be.
UNKNOWN: Final = ShrinkerFacts(source="not in the table: kernel defaults assumed", known=False)

_SB: Final = "fs/super.c alloc_super (seeks 0: procfs, kernfs, bcachefs, v4.20+)"

#: Scan functions of mainline shrinkers, by the name ``%pS`` prints.
KNOWN_SHRINKERS: Final[Mapping[str, ShrinkerFacts]] = {
    "super_cache_scan": ShrinkerFacts(batch=1024, seeks=(2, 0), source=_SB),
    "prune_super": ShrinkerFacts(batch=1024, seeks=(2,), source="fs/super.c alloc_super (<v3.12)"),
    "scan_shadow_nodes": ShrinkerFacts(
        seeks=(2, 0), source="mm/workingset.c workingset_init (seeks 0 from v4.20)"
    ),
    "i915_gem_shrinker_scan": ShrinkerFacts(
        batch=4096,
        lowers_nr_scanned=True,
        batch_varies=True,
        source="drivers/gpu/drm/i915/gem/i915_gem_shrinker.c i915_gem_driver_register__shrinker",
    ),
    "ttm_pool_shrinker_scan": ShrinkerFacts(
        seeks=(1,),
        lowers_nr_scanned=True,
        source="drivers/gpu/drm/ttm/ttm_pool.c ttm_pool_mgr_init",
    ),
    "xfs_buftarg_shrink_scan": ShrinkerFacts(source="fs/xfs/xfs_buf.c xfs_alloc_buftarg"),
    "xfs_qm_shrink_scan": ShrinkerFacts(source="fs/xfs/xfs_qm.c xfs_qm_init_quotainfo"),
    "gfs2_qd_shrink_scan": ShrinkerFacts(source="fs/gfs2/quota.c gfs2_qd_shrinker"),
    "ext4_es_scan": ShrinkerFacts(source="fs/ext4/extents_status.c ext4_es_register_shrinker"),
    "mb_cache_scan": ShrinkerFacts(source="fs/mbcache.c mb_cache_create"),
    "deferred_split_scan": ShrinkerFacts(source="mm/huge_memory.c deferred_split_shrinker"),
    "shrink_huge_zero_page_scan": ShrinkerFacts(source="mm/huge_memory.c huge_zero_page_shrinker"),
    "kfree_rcu_shrink_scan": ShrinkerFacts(source="kernel/rcu/tree.c kfree_rcu_batch_init"),
    "zs_shrinker_scan": ShrinkerFacts(source="mm/zsmalloc.c zs_register_shrinker"),
    "mmu_shrink_scan": ShrinkerFacts(
        seeks=(DEFAULT_SEEKS * 10,), source="arch/x86/kvm/mmu/mmu.c mmu_shrinker"
    ),
    "msm_gem_shrinker_scan": ShrinkerFacts(
        source="drivers/gpu/drm/msm/msm_gem_shrinker.c msm_gem_shrinker_init"
    ),
}


@attrs.frozen(kw_only=True)
class ShrinkerTable:
    """The known table with the command line's overrides applied.

    :ivar batch: ``--batch FUNC=N`` overrides (pin ``batch``).
    :ivar seeks: ``--seeks FUNC=N`` overrides (pin one ``seeks`` value).
    """

    batch: Mapping[str, int] = attrs.field(factory=dict)
    seeks: Mapping[str, int] = attrs.field(factory=dict)
    _cache: dict[str, ShrinkerFacts] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    def lookup(self, function: str) -> ShrinkerFacts:
        """The facts for ``function`` (the scan function's symbol name)."""
        facts = self._cache.get(function)
        if facts is None:
            facts = self._resolve(function)
            self._cache[function] = facts
        return facts

    def _resolve(self, function: str) -> ShrinkerFacts:
        facts = KNOWN_SHRINKERS.get(function, UNKNOWN)
        changes: dict[str, object] = {}
        if function in self.batch:
            changes["batch"] = self.batch[function]
            changes["batch_varies"] = False
        if function in self.seeks:
            changes["seeks"] = (self.seeks[function],)
        if changes:
            changes["known"] = True
            changes["source"] = "command line override"
            facts = attrs.evolve(facts, **changes)  # type: ignore[arg-type]
        return facts
