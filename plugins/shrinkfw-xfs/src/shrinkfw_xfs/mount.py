"""One mounted XFS filesystem: its caches, shrinkers, log workers and super operations.

Models the parts of ``struct xfs_mount`` reclaim touches: the data-device buftarg
(``m_ddev_targp``, :class:`~shrinkfw_xfs.buf.XfsBuftarg`), the quota manager
(``m_quotainfo``, :class:`~shrinkfw_xfs.dquot.XfsQuotaInfo`), the per-AG inode cache
(:class:`~shrinkfw_xfs.icache.XfsInodeCache`) and the AIL, plus ``xfs_super_operations``'
``nr_cached_objects`` / ``free_cached_objects`` (linux v3.14-v6.x fs/xfs/xfs_super.c).

Lifecycle: the VFS builds :class:`XfsSuperOps` for a new ``xfs`` superblock (``fill_super``),
which creates the :class:`XfsMount` and keeps it in ``sb.private["xfs"]``; the
``shrinkfw_mount`` hook then registers the mount's two shrinkers (``xfs-buf:<dev>``,
``xfs-qm:<dev>``) and starts the log worker; ``shrinkfw_umount`` frees everything and
unregisters them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from .buf import XfsBuftarg
from .dquot import XfsQuotaInfo
from .era import xfs_behaviour
from .icache import XfsInodeCache

if TYPE_CHECKING:
    from shrinkfw import ShrinkControl, Simulation
    from shrinkfw.vfs import Inode, SuperBlock

    from .icache import XfsInode

__all__ = [
    "AIL_PUSH_DELAY",
    "DEFAULT_AGCOUNT",
    "LOG_WORK_INTERVAL",
    "PRIVATE_KEY",
    "XfsAil",
    "XfsMount",
    "XfsSuperOps",
]

#: ``sb.private`` key of a superblock's :class:`XfsMount`.
PRIVATE_KEY: Final = "xfs"
#: Allocation groups of a filesystem (mkfs.xfs gives small devices 4).
DEFAULT_AGCOUNT: Final = 4
#: Seconds from an AIL push to the written-back metadata being clean.
AIL_PUSH_DELAY: Final = 0.05
#: ``xfs_log_worker`` period: ``xfs_syncd_centisecs`` = 30 s; it forces the log and pushes
#: the AIL.
LOG_WORK_INTERVAL: Final = 30.0


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class XfsAil:
    """The active item list and ``xfsaild``: a push writes back everything logged.

    ``xfs_ail_push_all`` asks xfsaild to push every item in the AIL; the model completes the
    push :data:`AIL_PUSH_DELAY` seconds later, when every logged inode and dquot is clean and
    unpinned. Pushes while one is in flight join it.

    :ivar pushes: pushes started.
    :ivar written: inodes and dquots cleaned by completed pushes.
    """

    __slots__ = ("_pending", "mount", "pushes", "written")

    def __init__(self, mount: XfsMount) -> None:
        self.mount = mount
        self._pending: _Cancellable | None = None
        self.pushes = 0
        self.written = 0

    def push_all(self) -> None:
        """``xfs_ail_push_all``."""
        if self._pending is not None:
            return
        self.pushes += 1
        self._pending = self.mount.sim.schedule(AIL_PUSH_DELAY, self._done, name="xfsaild")

    @property
    def pushing(self) -> bool:
        return self._pending is not None

    def _done(self) -> None:
        self._pending = None
        mount = self.mount
        n = mount.icache.ail_written()
        if mount.quotainfo is not None:
            n += mount.quotainfo.ail_written()
        self.written += n

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None


class XfsMount:
    """A mounted XFS filesystem (``struct xfs_mount``).

    :ivar sb: the superblock.
    :ivar dev: the device name (``sb.s_id`` without the ``xfs:`` prefix).
    :ivar behaviour: the kernel's XFS rules, from the simulation's profile.
    :ivar icache: in-core inodes and their reclaim.
    :ivar buftarg: the buffer cache and ``xfs-buf:<dev>`` (set at mount).
    :ivar quotainfo: the dquot cache and ``xfs-qm:<dev>`` (set at mount).
    :ivar ail: the AIL.
    """

    __slots__ = (
        "_log_work",
        "ail",
        "behaviour",
        "buftarg",
        "dev",
        "icache",
        "quotainfo",
        "sb",
        "sim",
    )

    def __init__(self, sb: SuperBlock, *, agcount: int = DEFAULT_AGCOUNT) -> None:
        self.sb = sb
        self.sim: Simulation = sb.sim
        self.dev = sb.s_id.split(":", 1)[-1]
        self.behaviour = xfs_behaviour(self.sim.profile)
        self.ail = XfsAil(self)
        self.icache = XfsInodeCache(
            self.sim, self.behaviour, agcount=agcount, push_ail=self.ail.push_all
        )
        self.buftarg: XfsBuftarg | None = None
        self.quotainfo: XfsQuotaInfo | None = None
        self._log_work: _Cancellable | None = None

    @staticmethod
    def of(sb: SuperBlock) -> XfsMount | None:
        """The XFS mount of ``sb``, ``None`` for another filesystem type."""
        mount = sb.private.get(PRIVATE_KEY)
        return mount if isinstance(mount, XfsMount) else None

    def start(self, *, plugin: str) -> None:
        """``xfs_mountfs``: register the buftarg shrinker (``xfs_alloc_buftarg``), the quota
        shrinker (``xfs_qm_init_quotainfo``) and start the log worker."""
        if self.buftarg is not None:
            return
        sim = self.sim
        self.buftarg = XfsBuftarg.register(sim, self.dev, self.behaviour, plugin=plugin)
        self.quotainfo = XfsQuotaInfo.register(
            sim, self.dev, self.behaviour, self.buftarg, plugin=plugin
        )
        self._log_work = sim.every(LOG_WORK_INTERVAL, self.ail.push_all, name="xfs_log_worker")

    @property
    def bt(self) -> XfsBuftarg:
        """The buftarg; the filesystem must be mounted."""
        assert self.buftarg is not None, "the xfs mount hook registers the buftarg"
        return self.buftarg

    @property
    def qi(self) -> XfsQuotaInfo:
        """The quota info; the filesystem must be mounted."""
        assert self.quotainfo is not None, "the xfs mount hook registers the quota info"
        return self.quotainfo

    def take_over(self, inode: Inode) -> XfsInode | None:
        """``xfs_fs_destroy_inode`` for an inode the VFS evicted: tag the in-core XFS inode
        reclaimable. An inode this plugin did not create (the inode plugin's) gets its
        ``"xfs_inode"`` object now, charged to the inode's memcg: the VFS part it had was
        freed by the evicting plugin. ``None`` on ENOMEM (the inode is simply gone), and
        during the unmount, whose ``xfs_reclaim_inodes`` would free it at once anyway."""
        if self.sb.dying:
            return None
        icache = self.icache
        ip = icache.inodes.get(inode.ino)
        if ip is None:
            ip = icache.alloc_inode(inode.ino, inode.memcg, inode.nid)
            if ip is None:
                return None
        icache.mark_reclaimable(ip)
        return ip

    def shutdown(self) -> None:
        """``xfs_unmountfs``: stop the workers, reclaim every inode, purge the dquots, free
        the buffers and unregister both shrinkers."""
        if self._log_work is not None:
            self._log_work.cancel()
            self._log_work = None
        self.ail.cancel()
        self.icache.shutdown()
        if self.quotainfo is not None:
            self.quotainfo.shutdown()
        if self.buftarg is not None:
            self.buftarg.shutdown()

    def __repr__(self) -> str:
        return f"<XfsMount {self.dev!r} {self.icache!r}>"


class XfsSuperOps:
    """``xfs_super_operations``' fs-object callbacks of one superblock.

    Building it (the fs type's ``super_ops`` factory) creates the superblock's
    :class:`XfsMount`.
    """

    __slots__ = ("mount",)

    def __init__(self, sb: SuperBlock) -> None:
        self.mount = XfsMount(sb)
        sb.private[PRIVATE_KEY] = self.mount

    def nr_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int:
        """``xfs_fs_nr_cached_objects`` → ``xfs_reclaim_inodes_count``: every reclaimable
        inode of the filesystem, whatever ``sc.nid`` and ``sc.memcg``."""
        return self.mount.icache.count()

    def free_cached_objects(self, sb: SuperBlock, sc: ShrinkControl) -> int:
        """``xfs_fs_free_cached_objects`` → ``xfs_reclaim_inodes_nr(sc->nr_to_scan)``;
        returns 0 (see :meth:`XfsInodeCache.reclaim_inodes_nr`)."""
        return self.mount.icache.reclaim_inodes_nr(sc.nr_to_scan)
