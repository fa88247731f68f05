"""The page side of reclaim: one memcg's LRU lists on one node, and one ``shrink_lruvec`` pass.

Slab shrinking is driven by what page reclaim did: the ratio eras hand ``shrink_slab`` the pages
scanned and the eligible LRU pages, vmpressure reads scanned against reclaimed, and limit
reclaim lowers the priority while the LRU gives nothing. This module produces those numbers.
It models, from ``mm/vmscan.c``: ``get_scan_count`` (how many pages of each list a pass scans),
``shrink_lruvec`` (the batch loop and its early stop), ``shrink_inactive_list`` with
``shrink_page_list`` / ``page_check_references`` (what happens to each scanned inactive page),
``shrink_active_list`` (deactivation), ``inactive_list_is_low`` / ``inactive_is_low`` and
``zone_reclaimable_pages``; from ``mm/swap.c``: ``lru_cache_add``, ``mark_page_accessed`` and
``rotate_reclaimable_page`` / ``lru_note_cost``.

Pages are counts
    A :class:`Lruvec` holds, for each of the four evictable lists, how many pages are in each
    :class:`PageState` (clean / dirty / under writeback, referenced or not, marked for
    immediate reclaim). No per-page objects exist. A list is taken to be an even mix of its
    states, except pages whose reclaim-initiated writeback has finished: the kernel rotates
    those to the tail of the inactive list (``rotate_reclaimable_page``), so scanning takes
    them first. When a count of pages has to be split between states (which of the ``k``
    oldest pages are dirty, which touched pages were referenced) the split is exact integer
    proportion, computed state after state in a fixed order (floor for each state, the
    remainder to the last one); the split of the first ``k`` pages never shrinks as ``k``
    grows, so batch-by-batch and all-at-once give the same pages. Nothing is random.

One pass is closed-form
    ``shrink_lruvec`` does not loop over ``SWAP_CLUSTER_MAX`` batches. The kernel scans the
    lists round-robin, 32 pages a list a round, and (depending on the era and the reclaimer)
    checks ``nr_reclaimed >= nr_to_reclaim`` after each round. Because a pass only ever scans
    the oldest pages of each list, which pages it sees does not depend on the interleaving;
    the pages reclaimed after ``r`` rounds is a monotone function of ``r``, so the stopping
    round is found by bisection and the rest (the proportional rescaling, the rounds after it)
    is arithmetic. A pass costs a few hundred integer operations whatever the list sizes.

Eras (:class:`LruPolicy`)
    ==========================  ==================================  ==========================
    behaviour                   v3.14 (:data:`LRU_V3_14`)           v6.x (:data:`LRU_V6_7`)
    ==========================  ==================================  ==========================
    new anon pages              active list                         inactive list (v5.9)
    tiny scan target            limit reclaim scans min(size, 32)   only offline memcgs
                                of a list whose ``size >> prio``    (v4.12; memory.low/min
                                is 0                                floors not modelled)
    inactive list too small     file: active > inactive;            both: ``inactive *
                                anon: ``inactive * sqrt(10 GB)``    sqrt(10 GB) < active``
                                ``< active``                        (2016)
    anon / file balance         recent_rotated / recent_scanned;    anon_cost / file_cost
                                file only while inactive file is    (``lru_note_cost``);
                                not low                             file only in
                                                                    ``cache_trim_mode`` (v5.8+)
    stop at ``nr_to_reclaim``   global direct: at once; kswapd and  rescale once, one more
                                limit: rescale once, then scan the  round, stop (v6.0); no stop
                                rest                                for global direct reclaim
                                                                    at DEF_PRIORITY (v3.16)
    ``sc->nr_scanned``          anon pages count twice              once (v4.19)
    without ``may_writepage``   dirty / writeback pages are not     scanned; dirty and
                                isolated (ISOLATE_CLEAN, until      writeback file pages are
                                v4.10)                              activated (v4.11)
    ==========================  ==================================  ==========================

Modelling decisions
    * File pages are unmapped page cache, aged by ``mark_page_accessed`` (:meth:`Lruvec.touch`):
      the first access sets PG_referenced, a second access to a referenced inactive page
      activates it at once. When reclaim meets a referenced inactive file page,
      ``page_check_references`` says ``PAGEREF_RECLAIM_CLEAN``: it is reclaimed if clean, kept
      if dirty. Mapped file pages (two-touch rule through PTEs, VM_EXEC protection) are not
      modelled, so ``shrink_active_list`` deactivates every file page it scans, referenced or
      not: the kernel keeps on the active list only referenced *executable mapped* file pages.
    * Anon pages are mapped; "referenced" is the PTE young bit. A referenced inactive anon page
      is activated when scanned; ``shrink_active_list`` clears the bit as it deactivates.
    * ``may_writepage`` stands for "reclaim may write this dirty page": the caller folds in the
      era's rule of who may write file pages from reclaim (v3.14: kswapd only, once the zone is
      flagged dirty; v4.11+: kswapd only, for pages seen twice). Written dirty file pages go
      under writeback with PG_reclaim and are reclaimable once the simulation calls
      :meth:`Lruvec.complete_writeback`. Swap-out is synchronous: an anon page written to swap
      is reclaimed in the same pass (a zram-like device), so ``reclaimed_anon`` are pages the
      caller moves from memory to swap.
    * Dirty pages that reclaim declines to write are marked PG_reclaim; when the flusher
      (:meth:`Lruvec.start_writeback`) writes them and the write completes, they land at the
      inactive tail like reclaim's own writes.
    * Whether an active list may be deactivated is decided once per pass from the lruvec's own
      lists (the kernel checks per batch in v3.14, and on the reclaim target's lruvec in v5.x+).
      ``lru_note_cost`` is applied once per list per pass and is not propagated to parent
      memcgs; refaults (workingset) are not modelled.
    * Statistics count every scan of this lruvec, global or limit reclaim alike, like
      memory.stat in v6.x; v3.14 counted pgscan / pgsteal only for global reclaim.

Notes against the spec
    Checked in kernel sources and patch mails while writing this module:

    * §2.5 "``scan = size >> priority`` (partially verified)": verified for v3.14 (the
      ``get_scan_count`` context of Hugh Dickins' March 2014 patch against 3.14-rc6) and v6.x.
      The shifted size is then scaled by the anon/file balance (``SCAN_FRACT``), or set to 0
      for the type not scanned. For memcg limit reclaim (and kswapd on an unreclaimable zone)
      v3.x-v4.11 raised a 0 to ``min(size, SWAP_CLUSTER_MAX)``: per list in v3.14, only when
      every list came out 0 from v3.15; J. Weiner removed it in Feb 2017 ("mm: don't avoid
      high-priority reclaim on memcg limit reclaim", v4.12), leaving only offline memcgs.
    * §3.3 "``nr_eligible = Σ lru_pages`` returned by ``get_scan_count``": verified, with a
      detail the spec omits: under ``SCAN_FILE`` / ``SCAN_ANON`` the lists of the other type
      count 0, so without swap ``nr_eligible`` is the file pages only (:attr:`LruScanResult.
      lru_pages`). The E1 denominator is ``zone_reclaimable_pages`` (:meth:`Lruvec.reclaimable`),
      which counts anon whenever swap space is free, even when this reclaim may not swap.
    * §3.1 says limit reclaim stops walking memcgs once ``nr_reclaimed >= nr_to_reclaim``; inside
      one lruvec v3.14 does not stop early for limit reclaim when only one type is scanned (no
      swap): the one-time rescale keeps the whole file target (M. Gorman's proportional scan,
      v3.11; the "entire other list" side effect H. Dickins reported, fixed in v3.16 by breaking
      out when either type has nothing left). So a v3.14 limit-reclaim pass scans
      ``size >> priority`` file pages even with ``nr_to_reclaim = 32``.
    * §3.5 (the 6.1 observation): with no LRU pages every scan target is 0 in both eras (the
      forced minimum is ``min(size, 32) = 0``), so a slab-only memcg's pass scans and reclaims
      nothing and limit reclaim can only lower the priority: consistent with the trace.
    * §8 ``test_memcg_high`` / ``test_memcg_max`` with ``swap.max = 0``: ``may_swap`` is then
      false (``can_reclaim_anon_pages`` looks at the memcg's swap), the scan balance is
      ``SCAN_FILE`` and anon is never scanned, which is why 31M of anon stays above a 30M
      ``memory.high`` while page cache is trimmed to the limit.
    * Not verified here: the exact releases of the 2016 inactive-ratio unification (R. van
      Riel, "reduce size of inactive file list") and of the removal of the doubled
      ``sc->nr_scanned`` for mapped pages (Yang Shi, 2018); the ``lru_note_cost`` form modelled
      (I/O weighed ``SWAP_CLUSTER_MAX`` times a rotation) is the v6.5+ one.
"""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Final

import attrs

from .errors import UsageError
from .shrink_arith import DEF_PRIORITY

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "LRU_POLICIES",
    "LRU_V3_14",
    "LRU_V6_7",
    "PAGE_SHIFT",
    "SWAP_CLUSTER_MAX",
    "EarlyStop",
    "ForceScan",
    "InactiveRatio",
    "LruKind",
    "LruList",
    "LruPolicy",
    "LruScanControl",
    "LruScanResult",
    "Lruvec",
    "PageState",
    "ScanBalance",
    "ScanBalanceModel",
    "ScanPlan",
    "get_scan_count",
    "inactive_is_low",
    "shrink_lruvec",
]

#: Pages a reclaim batch takes from one list (``SWAP_CLUSTER_MAX``).
SWAP_CLUSTER_MAX: Final = 32
#: 4 KiB pages.
PAGE_SHIFT: Final = 12


class LruList(enum.IntEnum):
    """The evictable LRU lists in the kernel's order (``enum lru_list`` without UNEVICTABLE)."""

    INACTIVE_ANON = 0
    ACTIVE_ANON = 1
    INACTIVE_FILE = 2
    ACTIVE_FILE = 3

    @property
    def is_file(self) -> bool:
        """``is_file_lru``."""
        return self >= 2

    @property
    def is_active(self) -> bool:
        """``is_active_lru``."""
        return bool(self & 1)

    @property
    def kind(self) -> LruKind:
        """Anon or file."""
        return LruKind(self >> 1)


class LruKind(enum.IntEnum):
    """Anon or file pages; the value is the kernel's ``file`` index (0 anon, 1 file)."""

    ANON = 0
    FILE = 1

    @property
    def inactive(self) -> LruList:
        """This kind's inactive list."""
        return LruList(2 * self)

    @property
    def active(self) -> LruList:
        """This kind's active list."""
        return LruList(2 * self + 1)


class PageState(enum.IntEnum):
    """What reclaim needs to know of a page. Anon pages are only ``CLEAN`` / ``CLEAN_REF``."""

    #: Clean, not referenced since the last scan.
    CLEAN = 0
    #: Clean, referenced (PG_referenced for file pages, the PTE young bit for anon).
    CLEAN_REF = 1
    #: Dirty file page.
    DIRTY = 2
    #: Dirty and referenced.
    DIRTY_REF = 3
    #: Dirty, and reclaim has seen it and set PG_reclaim ("reclaim as soon as written").
    DIRTY_RECLAIM = 4
    #: ``DIRTY_RECLAIM`` and referenced since.
    DIRTY_RECLAIM_REF = 5
    #: Under writeback (started by the flusher).
    WRITEBACK = 6
    #: Under writeback with PG_reclaim (started by reclaim, or reclaim has seen it).
    WRITEBACK_RECLAIM = 7
    #: Writeback done and rotated to the inactive tail: the next scan takes it first.
    RECLAIM_READY = 8


_CU, _CR, _DU, _DR, _PU, _PR, _WB, _WBR, _RR = range(9)
_NSTATES: Final = 9
#: Split order of a list body: the remainder of each integer split lands on CLEAN.
_BODY_ORDER: Final = (_CR, _DR, _PR, _DU, _PU, _WB, _WBR, _CU)
_DIRTY_STATES: Final = (_DU, _DR, _PU, _PR)
_NOT_CLEAN: Final = (_DU, _DR, _PU, _PR, _WB, _WBR)


class ForceScan(enum.Enum):
    """When a list whose ``size >> priority`` is 0 is scanned ``min(size, 32)`` anyway."""

    #: v3.8-v3.14: for limit reclaim (and kswapd on an unreclaimable zone), per list.
    PER_LIST = "per-list"
    #: v3.15-v4.11: same reclaimers plus offline memcgs, only if every list came out 0.
    TWO_PASS = "two-pass"
    #: v4.12+: only for offline memcgs, per list; ``SCAN_FRACT`` rounds up for them (v4.20).
    OFFLINE_ONLY = "offline-only"


class InactiveRatio(enum.Enum):
    """The rule of ``inactive_list_is_low`` / ``inactive_is_low``."""

    #: v3.14: file ``active > inactive``; anon ``inactive * ratio < active``.
    V3_14 = "v3.14"
    #: 2016+: ``inactive * ratio < active`` for both, ``ratio = int_sqrt(10 * GB)`` or 1.
    SQRT = "sqrt"


class ScanBalanceModel(enum.Enum):
    """How ``get_scan_count`` weighs anon against file under ``SCAN_FRACT``."""

    #: v2.6.28-v5.7: ``recent_scanned / recent_rotated``; ``SCAN_FILE`` while the inactive
    #: file list is not low.
    ROTATED = "recent-rotated"
    #: v5.8+: ``anon_cost`` / ``file_cost`` from ``lru_note_cost``; ``SCAN_FILE`` in
    #: ``cache_trim_mode``.
    COST = "cost"


class EarlyStop(enum.Enum):
    """What ``shrink_lruvec`` does once the pass has reclaimed ``nr_to_reclaim``."""

    #: v3.11-v3.15: global direct reclaim stops at once; kswapd and limit reclaim rescale the
    #: larger type once to the smaller one's progress and scan the rest.
    DIRECT_BREAK = "direct-break"
    #: v3.16-v5.19: no stop for global direct reclaim at DEF_PRIORITY; otherwise stop if a
    #: type has nothing left, else rescale once and scan the rest.
    PROPORTIONAL = "proportional"
    #: v6.0+: as PROPORTIONAL, but after the rescale one more round, then stop.
    ONE_ROUND = "one-round"


class ScanBalance(enum.Enum):
    """``enum scan_balance``: the outcome of ``get_scan_count``."""

    EQUAL = "equal"
    FRACT = "fract"
    ANON = "anon"
    FILE = "file"


@attrs.frozen(kw_only=True)
class LruPolicy:
    """An era's page-reclaim rules (see the module docstring's table).

    :ivar name: for messages and reports.
    :ivar anon_starts_active: new anon pages go to the active list (until v5.9).
    :ivar force_scan: the forced-minimum-scan rule.
    :ivar inactive_ratio: the inactive-list-is-low rule.
    :ivar balance: the anon/file balance model.
    :ivar early_stop: the ``nr_to_reclaim`` rule of the batch loop.
    :ivar double_mapped_scan: mapped pages (all anon in the model) count twice in
        ``sc->nr_scanned`` ("Double the slab pressure for mapped and swapcache pages", until
        2018).
    :ivar isolate_clean: without ``may_writepage`` dirty and writeback pages are not isolated
        (ISOLATE_CLEAN, until v4.10): they stay in place and are not counted in
        ``sc->nr_scanned``.
    :ivar dirty_activate: dirty or writeback file pages reclaim cannot write are activated
        instead of rotated, and a finished PG_reclaim writeback moves an active page to the
        inactive tail (v4.11+).
    """

    name: str
    anon_starts_active: bool
    force_scan: ForceScan
    inactive_ratio: InactiveRatio
    balance: ScanBalanceModel
    early_stop: EarlyStop
    double_mapped_scan: bool
    isolate_clean: bool
    dirty_activate: bool


#: Mainline v3.14 (and the kmemcg v15 seed on v3.14-rc1).
LRU_V3_14: Final = LruPolicy(
    name="v3.14",
    anon_starts_active=True,
    force_scan=ForceScan.PER_LIST,
    inactive_ratio=InactiveRatio.V3_14,
    balance=ScanBalanceModel.ROTATED,
    early_stop=EarlyStop.DIRECT_BREAK,
    double_mapped_scan=True,
    isolate_clean=True,
    dirty_activate=False,
)

#: v6.x with the classic two-list LRU (MGLRU off), as read in v6.5+ sources.
LRU_V6_7: Final = LruPolicy(
    name="v6.7",
    anon_starts_active=False,
    force_scan=ForceScan.OFFLINE_ONLY,
    inactive_ratio=InactiveRatio.SQRT,
    balance=ScanBalanceModel.COST,
    early_stop=EarlyStop.ONE_ROUND,
    double_mapped_scan=False,
    isolate_clean=False,
    dirty_activate=True,
)

LRU_POLICIES: Final[dict[str, LruPolicy]] = {p.name: p for p in (LRU_V3_14, LRU_V6_7)}


def _check_count(n: int, what: str) -> None:
    if n < 0:
        raise UsageError(f"{what} must be >= 0, got {n}")


def _proportional(counts: Sequence[int], k: int) -> list[int]:
    """Split ``k`` of ``sum(counts)`` items by exact integer proportion, in the given order.

    Each entry gets ``floor(k_left * c / n_left)``, the last non-empty one the remainder. Every
    share is at most its count and never shrinks as ``k`` grows.
    """
    out = [0] * len(counts)
    if k <= 0:
        return out
    left = sum(counts)
    if k >= left:
        return list(counts)
    for i, c in enumerate(counts):
        if not c:
            continue
        if c >= left:
            out[i] = k
            break
        take = k * c // left
        out[i] = take
        k -= take
        left -= c
        if not k:
            break
    return out


def _split(states: Sequence[int], k: int) -> list[int]:
    """Which of a list's pages the ``k`` oldest are: reclaim-ready tail first, then the mix."""
    out = [0] * _NSTATES
    if k <= 0:
        return out
    ready = states[_RR]
    if ready:
        take = k if k < ready else ready
        out[_RR] = take
        k -= take
    if k:
        body = _proportional([states[i] for i in _BODY_ORDER], k)
        for i, take in zip(_BODY_ORDER, body, strict=True):
            out[i] = take
    return out


class Lruvec:
    """One memcg's LRU lists on one node (``struct lruvec``), as page counts per state.

    :ivar policy: the era's rules.
    :ivar recent_scanned: ``[anon, file]`` pages taken by reclaim (v3.14 balance).
    :ivar recent_rotated: ``[anon, file]`` pages reclaim put back on an active list.
    :ivar anon_cost: ``lruvec->anon_cost`` (v5.8+ balance).
    :ivar file_cost: ``lruvec->file_cost``.
    :ivar pgscan_kswapd: inactive pages scanned by kswapd (memory.stat ``pgscan_kswapd``).
    :ivar pgscan_direct: inactive pages scanned by direct and limit reclaim.
    :ivar pgsteal_kswapd: pages reclaimed by kswapd.
    :ivar pgsteal_direct: pages reclaimed by direct and limit reclaim.
    :ivar pgactivate: pages moved to an active list (reclaim and ``mark_page_accessed``).
    :ivar pgdeactivate: pages moved to an inactive list by ``shrink_active_list``.
    :ivar pgrefill: active pages scanned.
    :ivar pgrotated: pages moved to the inactive tail when their writeback finished.
    :ivar nr_added: pages ever added.
    :ivar nr_removed: pages the workload freed (not reclaim).
    """

    __slots__ = (
        "_pages",
        "anon_cost",
        "file_cost",
        "nr_added",
        "nr_removed",
        "pgactivate",
        "pgdeactivate",
        "pgrefill",
        "pgrotated",
        "pgscan_direct",
        "pgscan_kswapd",
        "pgsteal_direct",
        "pgsteal_kswapd",
        "policy",
        "recent_rotated",
        "recent_scanned",
    )

    def __init__(self, policy: LruPolicy = LRU_V3_14) -> None:
        self.policy = policy
        self._pages: list[list[int]] = [[0] * _NSTATES for _ in LruList]
        self.recent_scanned = [0, 0]
        self.recent_rotated = [0, 0]
        self.anon_cost = 0
        self.file_cost = 0
        self.pgscan_kswapd = 0
        self.pgscan_direct = 0
        self.pgsteal_kswapd = 0
        self.pgsteal_direct = 0
        self.pgactivate = 0
        self.pgdeactivate = 0
        self.pgrefill = 0
        self.pgrotated = 0
        self.nr_added = 0
        self.nr_removed = 0

    def __repr__(self) -> str:
        sizes = ", ".join(f"{lru.name.lower()}={self.size(lru)}" for lru in LruList)
        return f"Lruvec({self.policy.name}: {sizes})"

    # -- reading ---------------------------------------------------------------------------

    def size(self, lru: LruList) -> int:
        """Pages on ``lru`` (``lruvec_lru_size``)."""
        return sum(self._pages[lru])

    def count(self, lru: LruList, state: PageState) -> int:
        """Pages on ``lru`` in ``state``."""
        return self._pages[lru][state]

    def states(self, lru: LruList) -> dict[PageState, int]:
        """Pages on ``lru`` by state."""
        return {s: self._pages[lru][s] for s in PageState}

    @property
    def nr_pages(self) -> int:
        """Pages on all four lists."""
        return sum(sum(p) for p in self._pages)

    @property
    def anon_pages(self) -> int:
        """Anon pages, both lists."""
        return sum(self._pages[0]) + sum(self._pages[1])

    @property
    def file_pages(self) -> int:
        """File pages, both lists."""
        return sum(self._pages[2]) + sum(self._pages[3])

    def nr_referenced(self, lru: LruList) -> int:
        """Pages on ``lru`` referenced since the last scan."""
        p = self._pages[lru]
        return p[_CR] + p[_DR] + p[_PR]

    @property
    def nr_dirty(self) -> int:
        """Dirty file pages (not yet under writeback)."""
        return sum(p[i] for p in self._pages[2:] for i in _DIRTY_STATES)

    @property
    def nr_writeback(self) -> int:
        """File pages under writeback."""
        return sum(p[_WB] + p[_WBR] for p in self._pages[2:])

    @property
    def nr_reclaimed(self) -> int:
        """Pages reclaim has taken from this lruvec so far (``pgsteal`` total)."""
        return self.pgsteal_kswapd + self.pgsteal_direct

    @property
    def pgscan(self) -> int:
        """Inactive pages scanned so far, kswapd and direct."""
        return self.pgscan_kswapd + self.pgscan_direct

    def reclaimable(self, may_swap: bool) -> int:
        """``zone_reclaimable_pages``: file pages, plus anon pages when swap space is free.

        The E1 / kmemcg-v15 ``lru_pages`` denominator; evaluate it before the pass, as
        ``shrink_zones`` does. ``may_swap`` is "swap space is available"
        (``get_nr_swap_pages() > 0``), not the reclaimer's ``sc->may_swap``.
        """
        return self.file_pages + (self.anon_pages if may_swap else 0)

    # -- the workload's side ---------------------------------------------------------------

    def add(self, where: LruList | LruKind, n: int, *, dirty: bool = False) -> LruList:
        """Add ``n`` new pages and return the list they went to (``lru_cache_add``).

        An :class:`LruKind` places them as the era does: file pages on the inactive list,
        anon pages on the active list if ``policy.anon_starts_active`` (v3.14
        ``page_add_new_anon_rmap`` sets PageActive) else on the inactive list (v5.9+). An
        :class:`LruList` puts them on that list (to set up a scenario's state). New pages are
        unreferenced; ``dirty`` (file only) adds them dirty, as a ``write()`` does.
        """
        _check_count(n, "n")
        if isinstance(where, LruList):
            lru = where
        elif where is LruKind.ANON and self.policy.anon_starts_active:
            lru = LruList.ACTIVE_ANON
        else:
            lru = LruKind(where).inactive
        if dirty and not lru.is_file:
            raise UsageError("anon pages cannot be added dirty")
        self._pages[lru][_DU if dirty else _CU] += n
        self.nr_added += n
        return lru

    def touch(self, kind: LruKind, n: int) -> int:
        """Access ``n`` distinct pages of ``kind``; return how many that activated.

        The accessed pages are spread over both lists in proportion to their states. File
        pages follow ``mark_page_accessed``: an unreferenced page becomes referenced, a
        referenced inactive page is activated (and its PG_referenced cleared). Anon pages get
        the PTE young bit; ``shrink_page_list`` / ``shrink_active_list`` act on it. Accesses
        to pages under writeback change nothing in the model. ``n`` is capped at the pages of
        ``kind``.
        """
        _check_count(n, "n")
        kind = LruKind(kind)
        ina, act = self._pages[kind.inactive], self._pages[kind.active]
        hit = _proportional(ina + act, n)
        hi, ha = hit[:_NSTATES], hit[_NSTATES:]
        activated = 0
        if kind is LruKind.FILE:
            for src, dst in ((_CU, _CR), (_DU, _DR), (_PU, _PR), (_RR, _CR)):
                ina[src] -= hi[src]
                ina[dst] += hi[src]
            for ref, plain in ((_CR, _CU), (_DR, _DU), (_PR, _PU)):
                # hi[ref] counts pages that were referenced before this call
                ina[ref] -= hi[ref]
                act[plain] += hi[ref]
                activated += hi[ref]
        else:
            ina[_CU] -= hi[_CU]
            ina[_CR] += hi[_CU]
        for src, dst in ((_CU, _CR), (_DU, _DR), (_PU, _PR)):
            act[src] -= ha[src]
            act[dst] += ha[src]
        self.pgactivate += activated
        return activated

    def remove(self, kind: LruKind, n: int) -> dict[LruList, int]:
        """The workload frees ``n`` pages of ``kind``: inactive ones first, then active.

        Returns the pages taken from each list (both keys present) so the caller uncharges
        them; fewer than ``n`` if the lists hold fewer. Within a list the freed pages are
        spread over the states in proportion.
        """
        _check_count(n, "n")
        kind = LruKind(kind)
        out: dict[LruList, int] = {}
        for lru in (kind.inactive, kind.active):
            p = self._pages[lru]
            take = _proportional(p, n)
            got = sum(take)
            for i in range(_NSTATES):
                p[i] -= take[i]
            out[lru] = got
            n -= got
            self.nr_removed += got
        return out

    def move_all_to(self, other: Lruvec) -> int:
        """Move every page, state kept, to ``other``; return how many moved.

        Models the LRU side of ``mem_cgroup_reparent_charges`` (v3.14 offline: a removed
        memcg's pages go to its parent) and of a freed memcg handing on what it still held.
        """
        moved = 0
        for mine, theirs in zip(self._pages, other._pages, strict=True):
            for i in range(_NSTATES):
                theirs[i] += mine[i]
                moved += mine[i]
                mine[i] = 0
        return moved

    def dirty(self, n: int) -> int:
        """Dirty ``n`` clean file pages (a write to cached data); return how many.

        Referenced pages stay referenced; a reclaim-ready page leaves the tail.
        """
        _check_count(n, "n")
        ina, act = self._pages[2], self._pages[3]
        cand = [ina[_CU], ina[_CR], ina[_RR], act[_CU], act[_CR]]
        take = _proportional(cand, n)
        ina[_CU] -= take[0]
        ina[_CR] -= take[1]
        ina[_RR] -= take[2]
        ina[_DU] += take[0] + take[2]
        ina[_DR] += take[1]
        act[_CU] -= take[3]
        act[_CR] -= take[4]
        act[_DU] += take[3]
        act[_DR] += take[4]
        return sum(take)

    def start_writeback(self, n: int) -> int:
        """The flusher starts writeback of ``n`` dirty file pages; return how many.

        Pages reclaim has marked PG_reclaim keep the mark. The referenced bit of a page under
        writeback is not tracked.
        """
        _check_count(n, "n")
        ina, act = self._pages[2], self._pages[3]
        cand = [p[i] for p in (ina, act) for i in _DIRTY_STATES]
        take = _proportional(cand, n)
        for j, p in enumerate((ina, act)):
            t = take[4 * j : 4 * j + 4]
            for i, got in zip(_DIRTY_STATES, t, strict=True):
                p[i] -= got
            p[_WB] += t[0] + t[1]
            p[_WBR] += t[2] + t[3]
        return sum(take)

    def complete_writeback(self, n: int | None = None) -> int:
        """Finish writeback of ``n`` pages (all if ``None``); return how many.

        A page without PG_reclaim becomes clean where it is. A PG_reclaim page is rotated to
        the inactive tail (``rotate_reclaimable_page``), reclaimable by the next scan; on the
        active list that happens from v4.11 (``policy.dirty_activate``), before it just
        becomes clean there.
        """
        ina, act = self._pages[2], self._pages[3]
        cand = [ina[_WB], ina[_WBR], act[_WB], act[_WBR]]
        if n is None:
            n = sum(cand)
        _check_count(n, "n")
        take = _proportional(cand, n)
        ina[_WB] -= take[0]
        ina[_CU] += take[0]
        ina[_WBR] -= take[1]
        ina[_RR] += take[1]
        act[_WB] -= take[2]
        act[_CU] += take[2]
        act[_WBR] -= take[3]
        if self.policy.dirty_activate:
            ina[_RR] += take[3]
            self.pgrotated += take[1] + take[3]
        else:
            act[_CU] += take[3]
            self.pgrotated += take[1]
        return sum(take)

    # -- reclaim bookkeeping ---------------------------------------------------------------

    def _note_cost(self, file: bool, nr_io: int, nr_rotated: int) -> None:
        """``lru_note_cost`` for this lruvec only (v6.5+ weights)."""
        cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated
        if not cost:
            return
        if file:
            self.file_cost += cost
        else:
            self.anon_cost += cost
        if self.file_cost + self.anon_cost > self.nr_pages // 4:
            self.file_cost //= 2
            self.anon_cost //= 2


def inactive_is_low(lruvec: Lruvec, file: bool) -> bool:
    """Whether the inactive list of a type is too small, so the active one should be aged.

    ``inactive_is_low`` (v6.x) / ``inactive_list_is_low`` (v3.14): ``inactive * ratio <
    active`` with ``ratio = int_sqrt(10 * GB)`` of the type's pages (1 below 1 GB); v3.14 file
    lists use ``active > inactive`` instead. v3.14's anon check also returns false when no swap
    is configured; :func:`shrink_lruvec` applies that condition itself. v3.14 with memcg
    enabled sizes the ratio by the lruvec, as here (the zone's ratio only without memcg).
    """
    p = lruvec._pages
    if file:
        inactive, active = sum(p[2]), sum(p[3])
        if lruvec.policy.inactive_ratio is InactiveRatio.V3_14:
            return active > inactive
    else:
        inactive, active = sum(p[0]), sum(p[1])
    gb = (inactive + active) >> (30 - PAGE_SHIFT)
    ratio = math.isqrt(10 * gb) if gb else 1
    return inactive * ratio < active


@attrs.frozen(kw_only=True)
class LruScanControl:
    """The fields of ``struct scan_control`` one ``shrink_lruvec`` pass reads.

    :ivar priority: ``sc->priority``, 12 (DEF_PRIORITY) down to 0.
    :ivar nr_to_reclaim: ``sc->nr_to_reclaim``; the pass compares its own reclaimed pages with it.
    :ivar may_swap: anon may be reclaimed: ``sc->may_swap`` and swap space left for this memcg.
    :ivar swappiness: the memcg's (or ``vm.swappiness`` for v3.14 global reclaim), 0..200.
    :ivar may_writepage: reclaim may write dirty pages it meets (see the module docstring).
    :ivar is_kswapd: kswapd, not direct or limit reclaim (statistics, early stop).
    :ivar cgroup_reclaim: reclaim on behalf of a memcg's limit (``sc->target_mem_cgroup``).
    :ivar memcg_online: the lruvec's memcg is online (offline ones are force-scanned, v4.0+).
    :ivar zone_unreclaimable: kswapd's zone is unreclaimable (v3.x force-scan trigger).
    :ivar file_is_tiny: global reclaim found file + free pages under the high watermark
        (``SCAN_ANON``).
    :ivar force_deactivate: age both active lists regardless of ratios (v5.x retry).
    :ivar has_swap: swap is configured at all (``total_swap_pages > 0``, anon aging);
        ``None`` means the same as ``may_swap``.
    """

    priority: int = DEF_PRIORITY
    nr_to_reclaim: int = SWAP_CLUSTER_MAX
    may_swap: bool = True
    swappiness: int = 60
    may_writepage: bool = True
    is_kswapd: bool = False
    cgroup_reclaim: bool = False
    memcg_online: bool = True
    zone_unreclaimable: bool = False
    file_is_tiny: bool = False
    force_deactivate: bool = False
    has_swap: bool | None = None

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.priority <= DEF_PRIORITY:
            raise UsageError(f"priority must be 0..{DEF_PRIORITY}, got {self.priority}")
        if not 0 <= self.swappiness <= 200:
            raise UsageError(f"swappiness must be 0..200, got {self.swappiness}")
        _check_count(self.nr_to_reclaim, "nr_to_reclaim")


@attrs.frozen(kw_only=True)
class ScanPlan:
    """What ``get_scan_count`` decided.

    :ivar nr: pages to scan per list, indexed by :class:`LruList`.
    :ivar lru_pages: the eligible pages (E2 ``nr_eligible``): sizes of the lists whose type is
        scanned.
    :ivar balance: the scan balance.
    """

    nr: tuple[int, int, int, int]
    lru_pages: int
    balance: ScanBalance


@attrs.frozen(kw_only=True)
class LruScanResult:
    """What one ``shrink_lruvec`` pass did.

    :ivar nr_scanned: added to ``sc->nr_scanned``: inactive pages taken for
        ``shrink_page_list`` (anon twice in v3.14). What ``shrink_slab`` (E1, E2) and
        vmpressure see.
    :ivar nr_reclaimed: pages freed (``reclaimed_anon + reclaimed_file``).
    :ivar reclaimed_anon: anon pages swapped out and freed: uncharge them, charge swap.
    :ivar reclaimed_file: page cache pages freed: uncharge them.
    :ivar nr_writeback_started: dirty file pages reclaim started writing.
    :ivar nr_activated: inactive pages reclaim moved to an active list.
    :ivar nr_deactivated: active pages moved to an inactive list.
    :ivar lru_pages: ``get_scan_count``'s eligible pages (E2 ``nr_eligible``); the E1 value is
        :meth:`Lruvec.reclaimable` taken before the pass.
    :ivar balance: the scan balance used.
    :ivar targets: ``get_scan_count``'s targets per list.
    :ivar scanned: pages actually scanned per list, including the final anon aging.
    :ivar pgscan: inactive pages scanned, skipped ones included.
    :ivar pgrefill: active pages scanned.
    :ivar nr_dirty: dirty pages met and not written.
    :ivar nr_writeback: pages met under writeback.
    """

    nr_scanned: int = 0
    nr_reclaimed: int = 0
    reclaimed_anon: int = 0
    reclaimed_file: int = 0
    nr_writeback_started: int = 0
    nr_activated: int = 0
    nr_deactivated: int = 0
    lru_pages: int = 0
    balance: ScanBalance = ScanBalance.FILE
    targets: tuple[int, int, int, int] = (0, 0, 0, 0)
    scanned: tuple[int, int, int, int] = (0, 0, 0, 0)
    pgscan: int = 0
    pgrefill: int = 0
    nr_dirty: int = 0
    nr_writeback: int = 0


def _file_only(lruvec: Lruvec, sc: LruScanControl, inactive_file: int) -> bool:
    """Enough inactive page cache to leave anon alone.

    v3.14: the inactive file list is not low. v5.8+ ``cache_trim_mode``: ``inactive file >>
    priority`` is non-zero and the file list is not to be deactivated (refaults, which also
    turn deactivation on, are not modelled).
    """
    if lruvec.policy.balance is ScanBalanceModel.ROTATED:
        return not inactive_is_low(lruvec, True)
    return bool(inactive_file >> sc.priority) and not (
        sc.force_deactivate or inactive_is_low(lruvec, True)
    )


def get_scan_count(lruvec: Lruvec, sc: LruScanControl) -> ScanPlan:
    """``get_scan_count``: how many pages of each list this pass scans.

    The balance: ``SCAN_FILE`` without swap, or for limit reclaim at swappiness 0;
    ``SCAN_EQUAL`` at priority 0; ``SCAN_ANON`` if ``file_is_tiny``; ``SCAN_FILE`` while the
    inactive file list is not low (v3.14) or in ``cache_trim_mode`` (v5.8+: ``inactive file >>
    priority`` non-zero and the file list not to be deactivated); otherwise ``SCAN_FRACT``,
    weighting anon by ``swappiness`` and file by ``200 - swappiness``, each divided by its
    recent reclaim cost. Per list ``scan = size >> priority`` (forced to ``min(size, 32)`` in
    the cases of :class:`ForceScan`), scaled by the balance. Under ``SCAN_FRACT`` the v3.14
    model halves ``recent_scanned`` / ``recent_rotated`` of a type once they exceed a quarter
    of its pages, as the kernel does here.
    """
    pol = lruvec.policy
    sizes = [sum(p) for p in lruvec._pages]
    prio = sc.priority
    swappiness = sc.swappiness
    frac = (0, 0)
    denominator = 1
    if not sc.may_swap or (sc.cgroup_reclaim and not swappiness):
        balance = ScanBalance.FILE
    elif not prio and swappiness:
        balance = ScanBalance.EQUAL
    elif sc.file_is_tiny:
        balance = ScanBalance.ANON
    elif _file_only(lruvec, sc, sizes[LruList.INACTIVE_FILE]):
        balance = ScanBalance.FILE
    else:
        balance = ScanBalance.FRACT
        if pol.balance is ScanBalanceModel.ROTATED:
            rs, rr = lruvec.recent_scanned, lruvec.recent_rotated
            for t, total in ((0, sizes[0] + sizes[1]), (1, sizes[2] + sizes[3])):
                if rs[t] > total // 4:
                    rs[t] //= 2
                    rr[t] //= 2
            ap = swappiness * (rs[0] + 1) // (rr[0] + 1)
            fp = (200 - swappiness) * (rs[1] + 1) // (rr[1] + 1)
            denominator = ap + fp + 1
        else:
            total = lruvec.anon_cost + lruvec.file_cost
            anon_cost = total + lruvec.anon_cost
            file_cost = total + lruvec.file_cost
            total = anon_cost + file_cost
            ap = swappiness * (total + 1) // (anon_cost + 1)
            fp = (200 - swappiness) * (total + 1) // (file_cost + 1)
            denominator = ap + fp
        frac = (ap, fp)

    reclaimer_forces = sc.cgroup_reclaim or (sc.is_kswapd and sc.zone_unreclaimable)
    if pol.force_scan is ForceScan.PER_LIST:
        force = reclaimer_forces
    elif pol.force_scan is ForceScan.TWO_PASS:
        force = reclaimer_forces or not sc.memcg_online
    else:
        force = not sc.memcg_online
    round_up = pol.force_scan is ForceScan.OFFLINE_ONLY and not sc.memcg_online

    def targets(forced: bool) -> tuple[list[int], int]:
        nr = [0, 0, 0, 0]
        lru_pages = 0
        for lru in range(4):
            size = sizes[lru]
            scan = size >> prio
            if not scan and forced:
                scan = min(size, SWAP_CLUSTER_MAX)
            file = lru >= 2
            if balance is ScanBalance.FRACT:
                share = scan * frac[file]
                scan = -(-share // denominator) if round_up else share // denominator
            elif balance is not ScanBalance.EQUAL and (balance is ScanBalance.FILE) != file:
                scan = size = 0
            lru_pages += size
            nr[lru] = scan
        return nr, lru_pages

    nr, lru_pages = targets(force and pol.force_scan is not ForceScan.TWO_PASS)
    if force and pol.force_scan is ForceScan.TWO_PASS and not any(nr):
        nr, lru_pages = targets(True)
    return ScanPlan(nr=(nr[0], nr[1], nr[2], nr[3]), lru_pages=lru_pages, balance=balance)


def _rounds(ia: int, if_: int, af: int) -> int:
    """Rounds of the batch loop until ``nr[INACTIVE_ANON|INACTIVE_FILE|ACTIVE_FILE]`` are 0."""
    m = max(ia, if_, af)
    return -(-m // SWAP_CLUSTER_MAX)


def _after(nr: Sequence[int], rounds: int) -> list[int]:
    cap = rounds * SWAP_CLUSTER_MAX
    return [x if x < cap else cap for x in nr]


def _reclaimable_in(states: Sequence[int], k: int, *, file: bool, may_writepage: bool) -> int:
    """Pages ``shrink_page_list`` would free among the ``k`` oldest of an inactive list."""
    t = _split(states, k)
    if file:
        return t[_RR] + t[_CU] + t[_CR]
    return t[_CU] if may_writepage else 0


def _final_scan(lruvec: Lruvec, sc: LruScanControl, nr: tuple[int, int, int, int]) -> list[int]:
    """Pages the batch loop takes from each list, the ``nr_to_reclaim`` rules applied."""
    pol = lruvec.policy
    rounds = _rounds(nr[0], nr[2], nr[3])
    if not rounds:
        return [0, 0, 0, 0]
    full = _after(nr, rounds)
    global_direct = not sc.is_kswapd and not sc.cgroup_reclaim
    if (
        pol.early_stop is not EarlyStop.DIRECT_BREAK
        and global_direct
        and sc.priority == DEF_PRIORITY
    ):
        return full
    ia_states, if_states = lruvec._pages[0], lruvec._pages[2]
    wp = sc.may_writepage

    def reclaimed(r: int) -> int:
        cap = r * SWAP_CLUSTER_MAX
        return _reclaimable_in(
            ia_states, min(nr[0], cap), file=False, may_writepage=wp
        ) + _reclaimable_in(if_states, min(nr[2], cap), file=True, may_writepage=wp)

    goal = sc.nr_to_reclaim
    if reclaimed(rounds) < goal:
        return full
    lo, hi = 1, rounds
    while lo < hi:
        mid = (lo + hi) // 2
        if reclaimed(mid) >= goal:
            hi = mid
        else:
            lo = mid + 1
    done = _after(nr, lo)
    if pol.early_stop is EarlyStop.DIRECT_BREAK and global_direct:
        return done
    left = [nr[i] - done[i] for i in range(4)]
    nr_anon, nr_file = left[0] + left[1], left[2] + left[3]
    if pol.early_stop is not EarlyStop.DIRECT_BREAK and (not nr_anon or not nr_file):
        return done
    # Stop the type with less left; rescale the other to the stopped one's progress.
    if nr_file > nr_anon:
        pct = nr_anon * 100 // (nr[0] + nr[1] + 1)
        stop, go = (0, 1), (2, 3)
    else:
        pct = nr_file * 100 // (nr[2] + nr[3] + 1)
        stop, go = (2, 3), (0, 1)
    for i in stop:
        left[i] = 0
    for i in go:
        target = nr[i] * (100 - pct) // 100
        left[i] = target - min(target, done[i])
    extra = _rounds(left[0], left[2], left[3])
    if pol.early_stop is EarlyStop.ONE_ROUND:
        extra = min(extra, 1)
    more = _after(left, extra)
    return [done[i] + more[i] for i in range(4)]


_EMPTY_RESULT: Final = LruScanResult()


def shrink_lruvec(lruvec: Lruvec, sc: LruScanControl) -> LruScanResult:
    """One ``shrink_lruvec`` pass over ``lruvec``; the caller adds the result to its totals.

    ``get_scan_count`` sets the targets; the batch loop scans them with the era's
    ``nr_to_reclaim`` rule (:class:`EarlyStop`). Inactive pages taken
    (``shrink_inactive_list`` → ``shrink_page_list``): reclaim-ready and clean file pages are
    freed (a referenced clean file page too: ``PAGEREF_RECLAIM_CLEAN``); a referenced anon page
    is activated; an unreferenced anon page is swapped out and freed if ``may_writepage``, else
    kept; a dirty file page is written (goes under writeback with PG_reclaim) if unreferenced
    and ``may_writepage``, kept if referenced, and otherwise marked PG_reclaim and rotated
    (v3.14) or activated (v4.11+); a page under writeback is marked PG_reclaim and rotated or
    activated the same way. With ``isolate_clean`` and no ``may_writepage``, dirty and
    writeback pages are skipped. Active pages taken (``shrink_active_list``, when
    :func:`inactive_is_low` or ``force_deactivate``) are all deactivated, anon ones losing the
    young bit. After the loop the active anon list is aged by up to ``SWAP_CLUSTER_MAX`` pages
    if swap exists and its inactive list is low. The kernel reclaims from the same lruvec
    (memcg, node) with the same pages whatever the interleaving; see the module docstring.
    """
    if not lruvec.nr_pages:
        return _EMPTY_RESULT
    pol = lruvec.policy
    plan = get_scan_count(lruvec, sc)
    nr = plan.nr
    if sc.force_deactivate:
        deact = [True, True]
    else:
        deact = [inactive_is_low(lruvec, False), inactive_is_low(lruvec, True)]
    has_swap = sc.may_swap if sc.has_swap is None else sc.has_swap
    if pol.inactive_ratio is InactiveRatio.V3_14 and not has_swap:
        # v3.14 inactive_anon_is_low: "If we don't have swap space, anonymous page
        # deactivation is pointless" (v6.x gates only the final aging, below).
        deact[0] = False
    final = _final_scan(lruvec, sc, nr)

    pages = lruvec._pages
    snap = [list(p) for p in pages]
    wp = sc.may_writepage
    skip = pol.isolate_clean and not wp
    scanned = [0, 0, 0, 0]
    nr_scanned = reclaimed_anon = reclaimed_file = wb_started = 0
    activated = deactivated = nr_dirty = nr_writeback = 0
    taken_kind = [0, 0]
    rotated_kind = [0, 0]
    pageout_kind = [0, 0]
    isolate_kind = [0, 0]
    reclaim_kind = [0, 0]

    # Inactive lists: shrink_inactive_list.
    for lru in (LruList.INACTIVE_ANON, LruList.INACTIVE_FILE):
        k = final[lru]
        if not k:
            continue
        t = _split(snap[lru], k)
        p = pages[lru]
        act = pages[lru + 1]
        for i in range(_NSTATES):
            p[i] -= t[i]
        scanned[lru] = k
        file = lru.is_file
        isolate_kind[file] += k
        if file:
            freed = t[_RR] + t[_CU] + t[_CR]
            reclaimed_file += freed
            reclaim_kind[1] += freed
            taken = k
            if skip:
                for i in _NOT_CLEAN:
                    p[i] += t[i]
                    taken -= t[i]
            else:
                dirty = t[_DU] + t[_DR] + t[_PU] + t[_PR]
                wback = t[_WB] + t[_WBR]
                nr_dirty += dirty
                nr_writeback += wback
                dest = act if pol.dirty_activate else p
                dest[_WBR] += wback
                if wp:
                    started = t[_DU] + t[_PU]
                    p[_WBR] += started
                    p[_DU] += t[_DR]
                    p[_PU] += t[_PR]
                    wb_started += started
                    pageout_kind[1] += started
                    nr_dirty -= started
                else:
                    dest[_PU] += dirty
                if pol.dirty_activate:
                    moved = wback + (0 if wp else dirty)
                    activated += moved
                    rotated_kind[1] += moved
            nr_scanned += taken
            taken_kind[1] += taken
        else:
            act[_CU] += t[_CR]
            activated += t[_CR]
            rotated_kind[0] += t[_CR]
            if wp:
                reclaimed_anon += t[_CU]
                reclaim_kind[0] += t[_CU]
                pageout_kind[0] += t[_CU]
            else:
                p[_CU] += t[_CU]
            nr_scanned += 2 * k if pol.double_mapped_scan else k
            taken_kind[0] += k

    # Active lists: shrink_active_list, when the inactive list is low.
    def age(lru: LruList, k: int, states: Sequence[int]) -> int:
        nonlocal deactivated
        t = _split(states, k)
        p = pages[lru]
        ina = pages[lru - 1]
        for i in range(_NSTATES):
            p[i] -= t[i]
        taken = k
        if skip:
            for i in _NOT_CLEAN:
                p[i] += t[i]
                taken -= t[i]
                t[i] = 0
        if lru.is_file:
            for i in range(_NSTATES):
                ina[i] += t[i]
        else:
            ina[_CU] += t[_CU] + t[_CR]
            rotated_kind[0] += t[_CR]
        deactivated += taken
        taken_kind[lru.is_file] += taken
        return k

    for lru in (LruList.ACTIVE_ANON, LruList.ACTIVE_FILE):
        if final[lru] and deact[lru.is_file]:
            scanned[lru] += age(lru, final[lru], snap[lru])
    # "Even if we did not try to evict anon pages at all": only with swap configured.
    if has_swap and inactive_is_low(lruvec, False):
        aa = pages[LruList.ACTIVE_ANON]
        k = min(sum(aa), SWAP_CLUSTER_MAX)
        if k:
            scanned[LruList.ACTIVE_ANON] += age(LruList.ACTIVE_ANON, k, list(aa))

    nr_reclaimed = reclaimed_anon + reclaimed_file
    pgscan = isolate_kind[0] + isolate_kind[1]
    pgrefill = scanned[1] + scanned[3]
    if sc.is_kswapd:
        lruvec.pgscan_kswapd += pgscan
        lruvec.pgsteal_kswapd += nr_reclaimed
    else:
        lruvec.pgscan_direct += pgscan
        lruvec.pgsteal_direct += nr_reclaimed
    lruvec.pgactivate += activated
    lruvec.pgdeactivate += deactivated
    lruvec.pgrefill += pgrefill
    if pol.balance is ScanBalanceModel.ROTATED:
        for ty in (0, 1):
            lruvec.recent_scanned[ty] += taken_kind[ty]
            lruvec.recent_rotated[ty] += rotated_kind[ty]
    else:
        for ty in (0, 1):
            if isolate_kind[ty]:
                lruvec._note_cost(bool(ty), pageout_kind[ty], isolate_kind[ty] - reclaim_kind[ty])
    return LruScanResult(
        nr_scanned=nr_scanned,
        nr_reclaimed=nr_reclaimed,
        reclaimed_anon=reclaimed_anon,
        reclaimed_file=reclaimed_file,
        nr_writeback_started=wb_started,
        nr_activated=activated,
        nr_deactivated=deactivated,
        lru_pages=plan.lru_pages,
        balance=plan.balance,
        targets=nr,
        scanned=(scanned[0], scanned[1], scanned[2], scanned[3]),
        pgscan=pgscan,
        pgrefill=pgrefill,
        nr_dirty=nr_dirty,
        nr_writeback=nr_writeback,
    )
