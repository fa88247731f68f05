"""shrinkfw-xfs: XFS's three reclaim paths for shrinkfw.

* the buffer cache shrinker ``xfs-buf:<dev>`` (:class:`XfsBuftarg`, ``xfs_buftarg_isolate``
  with the v3.12-v4.15 inverted test where the profile says so);
* the dquot shrinker ``xfs-qm:<dev>`` (:class:`XfsQuotaInfo`, ``xfs_qm_dquot_isolate``);
* inode reclaim through the superblock shrinker's fs objects and the 5 s background worker
  (:class:`XfsInodeCache`, ``xfs_reclaim_inodes_nr``).

The plugin module registered with shrinkfw is :mod:`shrinkfw_xfs.plugin`.
"""

from __future__ import annotations

from .buf import XBF_STATE_DISPOSE, XFS_BUF_REF, XfsBuf, XfsBuftarg, XfsBufType
from .dquot import Dquot, XfsQuotaInfo
from .era import XfsBehaviour, xfs_behaviour
from .icache import (
    RECLAIM_WORK_INTERVAL,
    XFS_LOOKUP_BATCH,
    XfsInode,
    XfsInodeCache,
    XfsPerAG,
)
from .mount import XfsAil, XfsMount, XfsSuperOps
from .workloads import MetadataCopy, RmRf

__all__ = [
    "RECLAIM_WORK_INTERVAL",
    "XBF_STATE_DISPOSE",
    "XFS_BUF_REF",
    "XFS_LOOKUP_BATCH",
    "Dquot",
    "MetadataCopy",
    "RmRf",
    "XfsAil",
    "XfsBehaviour",
    "XfsBuf",
    "XfsBufType",
    "XfsBuftarg",
    "XfsInode",
    "XfsInodeCache",
    "XfsMount",
    "XfsPerAG",
    "XfsQuotaInfo",
    "XfsSuperOps",
    "xfs_behaviour",
]
