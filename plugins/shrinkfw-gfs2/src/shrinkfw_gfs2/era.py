"""What changes between kernel eras for GFS2 quota data, read from the simulation's profile.

This is the only module that looks at the profile. Two facts differ by era:

* :func:`busy_status`: what ``gfs2_qd_isolate`` answers for an entry that is still referenced.
  The profile field ``gfs2_busy_removed`` says it.
* :func:`quotad_reclaim_account`: whether the ``gfs2_quotad`` slab cache is created with
  ``SLAB_RECLAIM_ACCOUNT``. No profile field says it, so it is derived from the era tag here
  (the core should add a ``KernelProfile`` flag for it; see the README).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw import LRU_REMOVED, LRU_SKIP, LRUStatus

if TYPE_CHECKING:
    from shrinkfw import KernelProfile

__all__ = ["busy_status", "quotad_reclaim_account"]

#: Eras whose kernels create ``gfs2_quotad`` with ``SLAB_RECLAIM_ACCOUNT`` (v5.12 and later).
_RECLAIM_ACCOUNT_ERAS: Final = frozenset({"E4", "E5"})


def busy_status(profile: KernelProfile) -> LRUStatus:
    """The status ``gfs2_qd_isolate`` returns for an entry whose count is not 0.

    Before the fix it returns ``LRU_REMOVED`` although it leaves the entry on the list
    (linux v3.14-v6.5 fs/gfs2/quota.c, gfs2_qd_isolate). Andreas Gruenbacher's "gfs2: Fix wrong
    quota shrinker return value" (posted 24 Aug 2023, pulled in the v6.6 merge window) returns
    ``LRU_SKIP`` instead.
    """
    return LRU_REMOVED if profile.gfs2_busy_removed else LRU_SKIP


def quotad_reclaim_account(profile: KernelProfile) -> bool:
    """Whether the ``gfs2_quotad`` cache counts as reclaimable slab (``SLAB_RECLAIM_ACCOUNT``).

    ``init_gfs2_fs`` created it with no flags (linux v3.14 fs/gfs2/main.c) until Zhaoyang
    Huang's "fs: amend SLAB_RECLAIM_ACCOUNT on gfs2_quotad_cachep" (posted Dec 2020, taken
    with the glock cache for v5.12; release unverified). v5.12 is the last E3 release, so the
    era tags give E4 (v5.13+) and later; no E3 profile exists past v5.4.
    """
    return profile.era in _RECLAIM_ACCOUNT_ERAS
