"""shrinkfw-dcache: the Linux dentry cache as a shrinkfw plugin.

Dentries are slab objects charged to the memcg that looked them up, cached on each
superblock's memcg-aware ``s_dentry_lru`` after their last ``dput``, and freed by the
superblock shrinker through ``prune_dcache_sb``. See the README for the kernel functions
modelled and the era differences.
"""

from __future__ import annotations

from .dcache import (
    AGE_LIMIT,
    FIRST_INO,
    PRIVATE_KEY,
    ROOT_INO,
    Dcache,
    DentryState,
    dcache_of,
    dentry_state,
)
from .dentry import (
    DCACHE_LRU_LIST,
    DCACHE_REFERENCED,
    DCACHE_SHRINK_LIST,
    DEAD,
    DNAME_INLINE_LEN,
    Dentry,
    flag_names,
)
from .era import AncestorRule, DcacheRules, dcache_rules
from .slabs import DENTRY_CACHE, DENTRY_SIZE, dentry_cache, external_name_cache
from .workloads import (
    NEGATIVE_DENTRY_STORM,
    PATH_WALK,
    STORM_PARAMS,
    WALK_PARAMS,
    NegativeDentryStorm,
    PathWalk,
    start_negative_dentry_storm,
    start_path_walk,
)

__all__ = [
    "AGE_LIMIT",
    "DCACHE_LRU_LIST",
    "DCACHE_REFERENCED",
    "DCACHE_SHRINK_LIST",
    "DEAD",
    "DENTRY_CACHE",
    "DENTRY_SIZE",
    "DNAME_INLINE_LEN",
    "FIRST_INO",
    "NEGATIVE_DENTRY_STORM",
    "PATH_WALK",
    "PRIVATE_KEY",
    "ROOT_INO",
    "STORM_PARAMS",
    "WALK_PARAMS",
    "AncestorRule",
    "Dcache",
    "DcacheRules",
    "Dentry",
    "DentryState",
    "NegativeDentryStorm",
    "PathWalk",
    "dcache_of",
    "dcache_rules",
    "dentry_cache",
    "dentry_state",
    "external_name_cache",
    "flag_names",
    "start_negative_dentry_storm",
    "start_path_walk",
]
