"""Records of the ``mm_shrink_slab_start`` / ``mm_shrink_slab_end`` tracepoints.

Models ``include/trace/events/vmscan.h``. The driver fills one record per ``do_shrink_slab``
call and hands it to the notification hooks; field names follow the kernel's trace output so
simulated and real traces compare one to one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .shrinker import Gfp

__all__ = ["ShrinkSlabEnd", "ShrinkSlabStart"]


@attrs.frozen(kw_only=True)
class ShrinkSlabStart:
    """``mm_shrink_slab_start``: printed before the batch loop.

    :ivar shrinker: the shrinker's name.
    :ivar nid: the node of the call (the ``shrink_control``'s nid).
    :ivar memcg: the memcg of the call, ``None`` for the global lists.
    :ivar nr_objects_to_shrink: work taken from ``nr_deferred`` ("objects to shrink").
    :ivar gfp_flags: the reclaim context.
    :ivar pgs_scanned: ratio eras: pages scanned ("pgs_scanned").
    :ivar lru_pgs: ratio eras: eligible pages ("lru_pgs").
    :ivar cache_items: ``count_objects`` result ("cache items").
    :ivar delta: new work.
    :ivar total_scan: objects to scan after the clamps.
    :ivar priority: priority eras: the reclaim priority.
    """

    shrinker: str
    nid: int
    memcg: MemCgroup | None
    nr_objects_to_shrink: int
    gfp_flags: Gfp
    pgs_scanned: int
    lru_pgs: int
    cache_items: int
    delta: int
    total_scan: int
    priority: int


@attrs.frozen(kw_only=True)
class ShrinkSlabEnd:
    """``mm_shrink_slab_end``: printed after the put-back.

    :ivar shrinker: the shrinker's name.
    :ivar nid: the node of the call.
    :ivar memcg: the memcg of the call, ``None`` for the global lists.
    :ivar unused_scan_cnt: the work taken at the start ("unused scan count").
    :ivar new_scan_cnt: ``nr_deferred`` after the put-back ("new scan count").
    :ivar total_scan: ``total_scan`` left after the loop.
    :ivar retval: objects freed ("last shrinker return val").
    :ivar scanned: objects the loop scanned (not printed by the kernel).
    """

    shrinker: str
    nid: int
    memcg: MemCgroup | None
    unused_scan_cnt: int
    new_scan_cnt: int
    total_scan: int
    retval: int
    scanned: int
