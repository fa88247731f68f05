"""shrinkfw-inode: the VFS inode cache and its share of the superblock shrinker.

Register :mod:`shrinkfw_inode.plugin` (entry point ``inode``) to give every mounted superblock
an inode cache: ``iget`` / ``iput`` with the era's LRU rules, ``inode_lru_isolate`` and
``prune_icache_sb`` behind the superblock shrinker, page cache per inode, and the
``create-open-close`` and ``read-into-page-cache`` workloads.
"""

from __future__ import annotations

from .era import IcacheRules, icache_rules
from .errors import InodeAllocError
from .icache import (
    FIRST_WORKLOAD_INO,
    INODE_CACHE,
    INODE_SIZE,
    PRIVATE_KEY,
    Icache,
    SuperInodes,
)
from .inode import PageKey, VfsInode
from .pagecache import PageCache
from .plugin import get_icache
from .state import (
    I_CLEAR,
    I_DIRTY,
    I_DIRTY_DATASYNC,
    I_DIRTY_PAGES,
    I_DIRTY_SYNC,
    I_FREEING,
    I_NEW,
    I_REFERENCED,
    I_SYNC,
    I_WILL_FREE,
    InodeState,
)
from .workloads import (
    CREATE_OPEN_CLOSE,
    DIRTY_EXPIRE,
    READ_INTO_PAGE_CACHE,
    CreateOpenClose,
    ReadIntoPageCache,
)

__all__ = [
    "CREATE_OPEN_CLOSE",
    "DIRTY_EXPIRE",
    "FIRST_WORKLOAD_INO",
    "INODE_CACHE",
    "INODE_SIZE",
    "I_CLEAR",
    "I_DIRTY",
    "I_DIRTY_DATASYNC",
    "I_DIRTY_PAGES",
    "I_DIRTY_SYNC",
    "I_FREEING",
    "I_NEW",
    "I_REFERENCED",
    "I_SYNC",
    "I_WILL_FREE",
    "PRIVATE_KEY",
    "READ_INTO_PAGE_CACHE",
    "CreateOpenClose",
    "Icache",
    "IcacheRules",
    "InodeAllocError",
    "InodeState",
    "PageCache",
    "PageKey",
    "ReadIntoPageCache",
    "SuperInodes",
    "VfsInode",
    "get_icache",
    "icache_rules",
]
