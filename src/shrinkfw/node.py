"""NUMA nodes: free pages and watermarks (``pg_data_t`` with one zone per node).

The model keeps one zone per node, so the v3.14 zone walks and the v4.8+ node walks see the
same numbers. Watermarks follow ``__setup_per_zone_wmarks``: ``min`` is the node's share of
``min_free_kbytes``; v3.14 sets ``low = min + min/4`` and ``high = min + min/2``; from v4.6
``watermark_scale_factor`` (default 10, i.e. 0.1 % of the node) widens the gaps when that is
larger than ``min/4``.
"""

from __future__ import annotations

import math
from typing import Final

from .memcg import PAGE_SIZE

__all__ = ["Node", "min_free_kbytes"]

#: ``min_free_kbytes`` bounds: 128 KiB .. 64 MiB (v3.14; raised to 256 MiB in v5.x).
MIN_FREE_KBYTES_MIN: Final = 128
MIN_FREE_KBYTES_MAX: Final = 65536


def min_free_kbytes(total_pages: int) -> int:
    """``init_per_zone_wmark_min``: ``int_sqrt(lowmem_kbytes * 16)`` clamped to 128..65536."""
    lowmem_kbytes = total_pages * (PAGE_SIZE // 1024)
    return min(max(math.isqrt(lowmem_kbytes * 16), MIN_FREE_KBYTES_MIN), MIN_FREE_KBYTES_MAX)


class Node:
    """One node: its pages, what is free, and the three watermarks.

    :ivar nid: node id.
    :ivar present_pages: pages the node manages.
    :ivar free_pages: pages not allocated.
    :ivar wmark_min: below it only atomic allocations succeed; direct reclaim runs.
    :ivar wmark_low: below it kswapd is woken.
    :ivar wmark_high: kswapd reclaims until free pages reach it.
    """

    __slots__ = (
        "free_pages",
        "kswapd_failures",
        "kswapd_pending",
        "nid",
        "present_pages",
        "wmark_high",
        "wmark_low",
        "wmark_min",
    )

    def __init__(
        self, nid: int, present_pages: int, *, min_pages: int, scale_factor: int | None
    ) -> None:
        self.nid = nid
        self.present_pages = present_pages
        self.free_pages = present_pages
        self.wmark_min = min_pages
        gap = min_pages // 4
        if scale_factor is not None:
            gap = max(gap, present_pages * scale_factor // 10000)
        self.wmark_low = min_pages + gap
        self.wmark_high = min_pages + (min_pages // 2 if scale_factor is None else 2 * gap)
        self.kswapd_pending = False
        self.kswapd_failures = 0

    @property
    def used_pages(self) -> int:
        return self.present_pages - self.free_pages

    def balanced(self) -> bool:
        """``pgdat_balanced``: free pages at or above the high watermark."""
        return self.free_pages >= self.wmark_high

    def __repr__(self) -> str:
        return (
            f"Node(nid={self.nid}, free={self.free_pages}/{self.present_pages}, "
            f"wmarks={self.wmark_min}/{self.wmark_low}/{self.wmark_high})"
        )
