"""The one place where the inode cache reads the kernel era.

Two rules of fs/inode.c changed over time and decide when an inode goes on the superblock's
inode LRU and how many shrinker visits it survives:

* ``first_put_referenced``: v3.14 ``iput_final`` sets ``I_REFERENCED`` on every inode it keeps,
  so an inode used once is rotated on the first shrinker visit and freed on the second.
  From Josef Bacik's "fs: don't set \\*REFERENCED on single use objects" (2017, between the
  v4.9 and v4.14 profiles; exact release unverified) only an
  inode that is *already* on the LRU is marked (``inode_lru_list_add`` when ``list_lru_add``
  fails). This one comes from the profile (:attr:`KernelProfile.first_put_referenced`).
* ``page_cache_off_lru``: v5.15 (Johannes Weiner, "vfs: keep inodes with page cache off the
  inode shrinker LRU") adds ``mapping_shrinkable`` to ``__inode_add_lru`` and to the busy test of
  ``inode_lru_isolate``: on a kernel without highmem an inode that has page cache is not put on
  the LRU, is taken off it when the shrinker finds it, and goes back when its last page leaves
  the page cache (``__remove_mapping``, truncation, the shadow-node shrinker). The same commit
  made ``__inode_add_lru(inode, rotate)`` set ``I_REFERENCED`` on a failed add only for
  ``iput_final`` (``rotate``), not for writeback completion or page-cache removal. This one
  comes from :attr:`KernelProfile.inode_page_cache_off_lru`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from shrinkfw import KernelProfile

__all__ = ["IcacheRules", "icache_rules"]


@attrs.frozen(kw_only=True)
class IcacheRules:
    """The era-dependent inode LRU rules of one profile.

    :ivar first_put_referenced: ``iput_final`` marks every kept inode ``I_REFERENCED``
        (v3.14); otherwise only a failed ``list_lru_add`` marks it (by v4.14).
    :ivar page_cache_off_lru: inodes with page cache stay off the LRU (v5.15+,
        ``mapping_shrinkable`` on a kernel without highmem).
    """

    first_put_referenced: bool
    page_cache_off_lru: bool


def icache_rules(profile: KernelProfile) -> IcacheRules:
    """The inode LRU rules of ``profile``, from its data."""
    return IcacheRules(
        first_put_referenced=profile.first_put_referenced,
        page_cache_off_lru=profile.inode_page_cache_off_lru,
    )
