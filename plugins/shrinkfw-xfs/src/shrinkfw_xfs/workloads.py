"""Workloads that fill and empty an XFS mount's metadata caches.

* ``metadata-copy-hardlinks``: ``cp -al src dst``. For every directory of the source tree a
  directory is created in the copy (``xfs_create`` in a new AG by the directory rotor:
  AGI, inode btree and inode cluster buffers for the inode allocation; AGF, AGFL and both free
  space btrees for its first block; the parent's directory block; sometimes an attribute
  block for the copied xattrs); for every file the source inode is read in (its inode cluster
  buffer) and hard-linked into the copy (``xfs_link``: nlink logged, a directory entry added,
  a new directory block every 64 entries, the block-map btree once a directory outgrows 8
  extents). The owner's dquot is attached each time and logged when blocks are allocated.
  Source inodes stay in core, in use, as the dentry cache would keep them.
* ``rm-rf``: removes an old tree: the mount's in-use inodes oldest first, then cold inodes read
  in from disk. Each unlink logs the directory block, frees the inode (AGI, inode btree,
  inode cluster buffer), frees its data extent (AGF, AGFL, free space btrees), logs the
  owner's dquot, and hands the inode to reclaim dirty and pinned (``destroy_inode`` →
  reclaimable). Every 64 files a directory goes: its block buffer is made stale and freed.

Both run at ``rate`` operations per second in steps of ``interval`` seconds, use ``sim.rng``
for owners and attribute blocks, charge the inodes they read or create to their memcg, and
stop by themselves when done or when the filesystem is being unmounted. Buffers and dquots
are not charged to any memcg (XFS allocates them for the filesystem).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final, Protocol

from shrinkfw.errors import UsageError

from .buf import XfsBufType
from .icache import AGINO_LOG
from .mount import XfsMount

if TYPE_CHECKING:
    from shrinkfw import MemCgroup, Simulation
    from shrinkfw.vfs import SuperBlock
    from shrinkfw.workload import WorkloadRegistry

    from .icache import XfsInode

__all__ = [
    "METADATA_COPY_DEFAULTS",
    "RM_RF_DEFAULTS",
    "MetadataCopy",
    "RmRf",
    "register_workloads",
]

#: Directory entries per directory block (4 KiB blocks, ~60-byte entries).
DIR_ENTRIES_PER_BLOCK: Final = 64
#: Extents a directory keeps in its inode before its block map becomes a btree.
DIR_EXTENTS_IN_INODE: Final = 8
#: Inodes per inode cluster buffer.
INODES_PER_CLUSTER: Final = 32
#: Inodes covered by one inode btree leaf.
INODES_PER_INOBT_LEAF: Final = 16384
#: Free space btree blocks per AG the model spreads updates over.
ALLOCBT_BLOCKS: Final = 8

METADATA_COPY_DEFAULTS: Final[dict[str, object]] = {
    "files": 10000,
    "rate": 2000.0,
    "depth": 3,
    "fanout": 8,
    "users": 16,
    "attr_fraction": 0.25,
    "interval": 0.1,
    "nid": 0,
}
RM_RF_DEFAULTS: Final[dict[str, object]] = {
    "files": 10000,
    "rate": 5000.0,
    "users": 16,
    "interval": 0.1,
    "nid": 0,
}

# block numbers: the AG above bit 48, a region per kind of metadata below (dquot cluster
# buffers sit above every AG's regions, see dquot.DQUOT_BNO_BASE)
_AG_SHIFT: Final = 48
_AGF: Final = 1
_AGI: Final = 2
_AGFL: Final = 3
_INOBT: Final = 0x10
_ALLOCBT: Final = 0x100
_BMBT: Final = 1 << 32
_DIR: Final = 2 << 32
_ATTR: Final = 3 << 32
_INO: Final = 4 << 32
#: directory blocks per directory the layout leaves room for
_DIR_SPAN: Final = 4096


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


def _params(
    workload: str, given: dict[str, object], defaults: dict[str, object]
) -> dict[str, float]:
    """Merge ``given`` over ``defaults``; reject unknown names and bad values by name."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise UsageError(
            f"workload {workload!r}: unknown parameter {unknown[0]!r} (parameters: "
            f"{', '.join(defaults)})"
        )
    out: dict[str, float] = {}
    for name, default in defaults.items():
        value = given.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise UsageError(
                f"workload {workload!r}: parameter {name!r} must be a number, got {value!r}"
            )
        if isinstance(default, int) and value != int(value):
            raise UsageError(
                f"workload {workload!r}: parameter {name!r} must be an integer, got {value!r}"
            )
        if name.endswith("_fraction"):
            if not 0 <= value <= 1:
                raise UsageError(
                    f"workload {workload!r}: parameter {name!r} must be in [0, 1], got {value!r}"
                )
        elif name == "nid":
            if value < 0:
                raise UsageError(
                    f"workload {workload!r}: parameter 'nid' must be >= 0, got {value!r}"
                )
        elif value <= 0:
            raise UsageError(
                f"workload {workload!r}: parameter {name!r} must be > 0, got {value!r}"
            )
        out[name] = value
    return out


def _mount_of(workload: str, sb: SuperBlock | None) -> XfsMount:
    mount = XfsMount.of(sb) if sb is not None else None
    if mount is None or mount.buftarg is None:
        raise UsageError(
            f"workload {workload!r} runs on a mounted xfs filesystem; got "
            f"{sb.s_id if sb is not None else 'no superblock'}: mount one with "
            "sim.vfs.mount('xfs', DEVICE)"
        )
    return mount


class _Run:
    """Pacing shared by the workloads: ``rate`` operations per second in ``interval`` steps."""

    def __init__(
        self, sim: Simulation, memcg: MemCgroup, mount: XfsMount, p: dict[str, float], name: str
    ) -> None:
        if int(p["nid"]) >= sim.nr_nodes:
            raise UsageError(
                f"workload {name!r}: parameter 'nid' must be a node (0..{sim.nr_nodes - 1}), "
                f"got {int(p['nid'])}"
            )
        self.sim = sim
        self.memcg = memcg
        self.mount = mount
        self.nid = int(p["nid"])
        self.rate = p["rate"]
        self.interval = p["interval"]
        self.users = int(p["users"])
        self.total = int(p["files"])
        self.done_ops = 0
        self.enomem = 0
        self.stopped = False
        self._credit = 0.0
        self._name = name
        self._series: _Cancellable | None = None

    def _start(self) -> None:
        """Schedule the steps; subclasses call it last in ``__init__``."""
        self._series = self.sim.every(self.interval, self._tick, name=self._name)

    @property
    def finished(self) -> bool:
        return self.stopped

    def stop(self) -> None:
        """Stop scheduling work; what was made stays."""
        self.stopped = True
        if self._series is not None:
            self._series.cancel()
            self._series = None

    def _tick(self) -> None:
        if self.stopped:
            return
        if self.mount.sb.dying:
            self.stop()
            return
        self._credit += self.rate * self.interval
        n = int(self._credit)
        self._credit -= n
        for _ in range(n):
            if not self._step():
                self.stop()
                return

    def _step(self) -> bool:
        raise NotImplementedError

    # -- transaction pieces ------------------------------------------------------------------

    def _buf(self, agno: int, offset: int, btype: XfsBufType) -> None:
        if not self.mount.bt.touch(agno << _AG_SHIFT | offset, btype, self.nid):
            self.enomem += 1

    def _alloc_extent(self, agno: int) -> None:
        """``xfs_alloc_vextent`` / ``xfs_free_extent``: AGF, AGFL, both free space btrees."""
        rng = self.sim.rng
        self._buf(agno, _AGF, XfsBufType.AGF)
        self._buf(agno, _AGFL, XfsBufType.AGFL)
        self._buf(agno, _ALLOCBT + rng.randrange(ALLOCBT_BLOCKS), XfsBufType.ALLOC_BTREE)
        self._buf(
            agno, _ALLOCBT + ALLOCBT_BLOCKS + rng.randrange(ALLOCBT_BLOCKS), XfsBufType.ALLOC_BTREE
        )

    def _inode_chunk(self, agno: int, agino: int) -> None:
        """``xfs_dialloc`` / ``xfs_difree``: AGI, inode btree leaf, inode cluster buffer."""
        self._buf(agno, _AGI, XfsBufType.AGI)
        self._buf(agno, _INOBT + agino // INODES_PER_INOBT_LEAF, XfsBufType.INO_BTREE)
        self._cluster(agno, agino)

    def _cluster(self, agno: int, agino: int) -> None:
        self._buf(agno, _INO + agino // INODES_PER_CLUSTER, XfsBufType.INO)

    def _dquot(self, uid: int, *, log: bool) -> None:
        """``xfs_qm_dqattach`` ... ``xfs_qm_dqrele``; logged when the transaction changed
        the owner's usage."""
        qi = self.mount.qi
        dq = qi.dqget(uid, self.nid)
        if dq is None:
            self.enomem += 1
            return
        if log:
            qi.log_dquot(dq)
        qi.dqput(dq)

    def _read_inode(self, ino: int) -> XfsInode | None:
        """``xfs_iget`` cache miss: the cluster buffer is read, the inode allocated."""
        icache = self.mount.icache
        ip = icache.inodes.get(ino)
        if ip is not None:
            return ip
        agno, agino = icache.split_ino(ino)
        self._cluster(agno, agino)
        ip = icache.alloc_inode(ino, self.memcg, self.nid)
        if ip is None:
            self.enomem += 1
        return ip


class _Dir:
    __slots__ = ("agno", "blocks", "entries", "id", "ino", "uid")

    def __init__(self, dir_id: int, agno: int, ino: int, uid: int) -> None:
        self.id = dir_id
        self.agno = agno
        self.ino = ino
        self.uid = uid
        self.entries = 0
        self.blocks = 1

    def block_offset(self, block: int) -> int:
        return _DIR + self.id * _DIR_SPAN + block


class MetadataCopy(_Run):
    """A running ``metadata-copy-hardlinks`` (``cp -al``).

    :ivar dirs_made: directories created in the copy.
    :ivar links_made: hard links created.
    :ivar inodes: the in-core inodes it created or read, in order.
    """

    def __init__(
        self, sim: Simulation, memcg: MemCgroup, mount: XfsMount, p: dict[str, float]
    ) -> None:
        super().__init__(sim, memcg, mount, p, "metadata-copy-hardlinks")
        self.depth = int(p["depth"])
        self.fanout = int(p["fanout"])
        self.attr_fraction = p["attr_fraction"]
        self.leaves = self.fanout**self.depth
        self.files_per_leaf = max(1, math.ceil(self.total / self.leaves))
        self.dirs_made = 0
        self.links_made = 0
        self.inodes: list[XfsInode] = []
        self._root = self._new_dir(parent=None)
        #: the directories on the path to the current leaf, root excluded
        self._path: list[_Dir] = []
        self._leaf = -1
        self._in_leaf = self.files_per_leaf
        self._next_dir_id = 1
        self._rotor = 0
        self._start()

    def _new_dir(self, parent: _Dir | None) -> _Dir:
        icache = self.mount.icache
        rng = self.sim.rng
        uid = rng.randrange(self.users)
        if parent is None:
            agno = 0
            dir_id = 0
        else:
            agno = self._rotor
            self._rotor = (self._rotor + 1) % icache.agcount
            dir_id = self._next_dir_id
            self._next_dir_id += 1
        ino = icache.new_ino(agno)
        d = _Dir(dir_id, agno, ino, uid)
        if parent is None:
            return d
        # xfs_create: inode allocation, the new directory's first block, the parent's entry
        agino = ino & ((1 << AGINO_LOG) - 1)
        self._inode_chunk(agno, agino)
        ip = icache.alloc_inode(ino, self.memcg, self.nid)
        if ip is None:
            self.enomem += 1
        else:
            icache.log_inode(ip)
            self.inodes.append(ip)
        self._alloc_extent(agno)
        self._buf(agno, d.block_offset(0), XfsBufType.DIR_BTREE)
        self._add_entry(parent)
        if rng.random() < self.attr_fraction:
            self._buf(agno, _ATTR + dir_id, XfsBufType.ATTR_BTREE)
        self._dquot(uid, log=True)
        self.dirs_made += 1
        return d

    def _add_entry(self, d: _Dir) -> bool:
        """Add a name to ``d``: its last block, a new one every 64 entries (``xfs_dir_createname``);
        returns whether blocks were allocated."""
        allocated = False
        if d.entries and d.entries % DIR_ENTRIES_PER_BLOCK == 0:
            d.blocks += 1
            self._alloc_extent(d.agno)
            allocated = True
        if d.blocks > DIR_EXTENTS_IN_INODE:
            self._buf(d.agno, _BMBT + d.id, XfsBufType.BMAP_BTREE)
        self._buf(d.agno, d.block_offset(d.blocks - 1), XfsBufType.DIR_BTREE)
        d.entries += 1
        return allocated

    def _digits(self, leaf: int) -> list[int]:
        """The path to leaf number ``leaf``: its child index at each level, root first."""
        digits = []
        for _ in range(self.depth):
            digits.append(leaf % self.fanout)
            leaf //= self.fanout
        digits.reverse()
        return digits

    def _enter_next_leaf(self) -> None:
        """Move to the next leaf directory, creating the directories of its path that differ
        from the previous leaf's (depth-first order)."""
        self._leaf += 1
        digits = self._digits(self._leaf)
        keep = 0
        if self._leaf:
            prev = self._digits(self._leaf - 1)
            while keep < self.depth and digits[keep] == prev[keep]:
                keep += 1
        del self._path[keep:]
        while len(self._path) < self.depth:
            parent = self._path[-1] if self._path else self._root
            self._path.append(self._new_dir(parent))
        self._in_leaf = 0

    def _step(self) -> bool:
        if self.links_made >= self.total:
            return False
        if self._in_leaf >= self.files_per_leaf:
            if self._leaf + 1 >= self.leaves:
                return False
            self._enter_next_leaf()
        leaf = self._path[-1]
        # the source file lives in the AG of its source directory
        src_ino = self.mount.icache.new_ino(leaf.agno)
        ip = self._read_inode(src_ino)
        if ip is not None:
            self.mount.icache.log_inode(ip)  # xfs_bumplink
            self.inodes.append(ip)
        allocated = self._add_entry(leaf)
        self._dquot(leaf.uid, log=allocated)
        self.links_made += 1
        self._in_leaf += 1
        self.done_ops += 1
        return True


class RmRf(_Run):
    """A running ``rm-rf``.

    :ivar removed: inodes unlinked and handed to reclaim.
    :ivar dirs_removed: directories removed (their block buffers made stale).
    """

    def __init__(
        self, sim: Simulation, memcg: MemCgroup, mount: XfsMount, p: dict[str, float]
    ) -> None:
        super().__init__(sim, memcg, mount, p, "rm-rf")
        icache = mount.icache
        #: the old tree: in-use inodes, oldest first
        self._victims = [ip for ip in icache.inodes.values() if not ip.reclaimable]
        self._next = 0
        self._rotor = 0
        self.removed = 0
        self.dirs_removed = 0
        self._start()

    def _victim(self) -> XfsInode | None:
        while self._next < len(self._victims):
            ip = self._victims[self._next]
            self._next += 1
            if not ip.reclaimable and self.mount.icache.inodes.get(ip.ino) is ip:
                return ip
        # a cold part of the tree: read the inode in first
        icache = self.mount.icache
        agno = self._rotor
        self._rotor = (self._rotor + 1) % icache.agcount
        return self._read_inode(icache.new_ino(agno))

    def _step(self) -> bool:
        if self.removed >= self.total:
            return False
        icache = self.mount.icache
        rng = self.sim.rng
        ip = self._victim()
        if ip is None:
            return True
        agno = ip.agno
        dir_id = (1 << 20) + self.removed // DIR_ENTRIES_PER_BLOCK
        # xfs_remove: the parent's directory block, the inode freed, its data extent freed
        self._buf(agno, _DIR + dir_id * _DIR_SPAN, XfsBufType.DIR_BTREE)
        self._inode_chunk(agno, ip.agino)
        self._alloc_extent(agno)
        self._dquot(rng.randrange(self.users), log=True)
        icache.log_inode(ip)
        icache.mark_reclaimable(ip)
        self.removed += 1
        self.done_ops += 1
        if self.removed % DIR_ENTRIES_PER_BLOCK == 0:
            self._remove_dir(agno, dir_id)
        return True

    def _remove_dir(self, agno: int, dir_id: int) -> None:
        """``xfs_rmdir`` of an emptied directory: its block is freed, so its buffer is
        invalidated (``xfs_trans_binval`` → ``xfs_buf_stale``) and dropped."""
        bt = self.mount.bt
        bp = bt.get(agno << _AG_SHIFT | (_DIR + dir_id * _DIR_SPAN), XfsBufType.DIR_BTREE, self.nid)
        if bp is None:
            self.enomem += 1
            return
        bt.stale_buf(bp)
        bt.rele(bp)
        self._alloc_extent(agno)
        self.dirs_removed += 1


def start_metadata_copy(
    sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: object
) -> MetadataCopy:
    """Start ``metadata-copy-hardlinks`` on the xfs mount ``sb``."""
    p = _params("metadata-copy-hardlinks", params, METADATA_COPY_DEFAULTS)
    return MetadataCopy(sim, memcg, _mount_of("metadata-copy-hardlinks", sb), p)


def start_rm_rf(sim: Simulation, memcg: MemCgroup, sb: SuperBlock | None, **params: object) -> RmRf:
    """Start ``rm-rf`` on the xfs mount ``sb``."""
    p = _params("rm-rf", params, RM_RF_DEFAULTS)
    return RmRf(sim, memcg, _mount_of("rm-rf", sb), p)


def register_workloads(registry: WorkloadRegistry) -> None:
    """Add both workloads to ``registry``."""
    registry.add(
        "metadata-copy-hardlinks",
        start_metadata_copy,
        description="cp -al of a directory tree: AG headers, btree, directory and inode "
        "buffers, dquots, new directory inodes and source inodes read in",
        needs_fs=True,
        params=dict(METADATA_COPY_DEFAULTS),
    )
    registry.add(
        "rm-rf",
        start_rm_rf,
        description="rm -rf of an old tree: inodes freed and handed to XFS inode reclaim "
        "dirty, directory buffers made stale, dquots logged",
        needs_fs=True,
        params=dict(RM_RF_DEFAULTS),
    )
