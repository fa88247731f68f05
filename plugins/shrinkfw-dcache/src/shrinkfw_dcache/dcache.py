"""The dentry cache of one superblock: lookup, dget/dput, the shrinker's prune, unmount.

Models fs/dcache.c of the profile's kernel (the era differences come from
:func:`~shrinkfw_dcache.era.dcache_rules`):

* ``d_alloc`` / ``d_add`` / ``d_lookup`` / ``dget`` / ``dput``: a dentry is allocated from the
  ``dentry`` slab cache (plus a kmalloc object for a long name), charged to the allocating
  memcg; while referenced it is off the LRU, and the last ``dput`` of a hashed dentry keeps it
  cached on ``sb.dentry_lru`` (``s_dentry_lru``) in the list of the memcg it is charged to.
* ``prune_dcache_sb``: the superblock shrinker's dentry share, a walk of one (node, memcg)
  list with ``dentry_lru_isolate``, then ``shrink_dentry_list`` on what was isolated.
* ``shrink_dcache_for_umount``: every dentry of the superblock is freed.

The state lives in ``sb.private["dcache"]`` (:func:`dcache_of`). Nothing here is a global:
caches are the simulation's, everything else belongs to the superblock.

Notes against the spec
----------------------
* §7.2 calls modern ancestor handling unverified. Read in a v6.7-era copy of fs/dcache.c
  (``d_subdirs``, ``__dput_to_list``) and a v5.4.241 stable copy: ``shrink_dentry_list``
  still prunes ancestors, but by queueing: before killing a dentry it drops the parent's
  reference with ``__dput_to_list``, which takes the parent off the LRU *even when the parent
  stays referenced*, and puts it on the same dispose list when its count reaches 0, so it is
  killed later in the same call. Only the plain ``dput`` path (a dentry killed because it is
  unhashed) hands the parent to the normal ``dput``/``retain_dentry`` path, which keeps it on
  the LRU; v3.14's ``dput`` does the same (``goto repeat`` with the parent). v6.8
  (``shrink_kill``) kills ancestors at once again, like v3.14.
* The dispose list order differs by era: v3.14's ``d_lru_shrink_move`` uses
  ``list_move_tail``, so ``shrink_dentry_list`` (which takes ``list->prev``) frees the most
  recently isolated dentry first; from v4.0 ``list_lru_isolate_move`` uses ``list_move`` and
  the oldest goes first.
* ``DCACHE_REFERENCED`` on first put: the spec's v3.14 rule is right for v3.14 (``dput`` sets
  it before ``dentry_lru_add``); an intermediate form (``dentry_lru_add`` setting REFERENCED
  only when already on the LRU, called from ``dput``) precedes ``retain_dentry``. Same rule as
  the modern one; its release is unverified, as the spec says.

Simplifications
---------------
* Dentries are freed at once. The kernel frees a dentry that was ever visible to RCU walk
  (every hashed one) through ``call_rcu``, a grace period later.
* No inode or parent ``trylock`` failures in ``shrink_dentry_list`` (re-queue and retry in
  the kernel); ``lock_contended`` only models ``d_lock`` in the isolate callback.
* ``d_delete`` / ``DCACHE_OP_DELETE`` / ``DCACHE_DONTCACHE`` are not modelled: every hashed
  dentry is retained by its last ``dput``.
* Unmount frees dentries that are still referenced (counted in the ``dcache_umount_busy``
  vmstat) where v3.14 would ``BUG()`` and v6.x warns and leaks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from shrinkfw import (
    LRU_REMOVED,
    LRU_ROTATE,
    LRU_SKIP,
    AllocationError,
    PluginError,
    UsageError,
)

from .dentry import (
    DCACHE_LRU_LIST,
    DCACHE_REFERENCED,
    DCACHE_SHRINK_LIST,
    DEAD,
    DNAME_INLINE_LEN,
    Dentry,
)
from .era import AncestorRule, dcache_rules
from .slabs import dentry_cache, external_name_cache

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shrinkfw import LRUList, LRUStatus, MemCgroup, ShrinkControl, Simulation
    from shrinkfw.slab import KmemCache
    from shrinkfw.vfs import Inode, SuperBlock

    from .era import DcacheRules

__all__ = [
    "AGE_LIMIT",
    "FIRST_INO",
    "PRIVATE_KEY",
    "ROOT_INO",
    "Dcache",
    "DentryState",
    "dcache_of",
    "dentry_state",
]

#: The key of the dcache state in ``sb.private``.
PRIVATE_KEY: Final = "dcache"
#: ``dentry_stat.age_limit`` (seconds; reported, unused by the kernel).
AGE_LIMIT: Final = 45
#: Inode number of a filesystem's root directory (``EXT4_ROOT_INO``).
ROOT_INO: Final = 2
#: First inode number handed to files and directories of the simulated namespace
#: (``EXT4_GOOD_OLD_FIRST_INO``).
FIRST_INO: Final = 11
#: Longest name component (``NAME_MAX``).
NAME_MAX: Final = 255

_NOT_REFERENCED: Final = ~DCACHE_REFERENCED
_NOT_LRU: Final = ~DCACHE_LRU_LIST
_NOT_ON_LISTS: Final = ~(DCACHE_LRU_LIST | DCACHE_SHRINK_LIST)
_INLINE_MAX: Final = DNAME_INLINE_LEN - 1


@attrs.frozen
class DentryState:
    """``/proc/sys/fs/dentry-state``: ``nr_dentry nr_unused age_limit want_pages ...``.

    :ivar nr_dentry: allocated dentries (``nr_dentry``).
    :ivar nr_unused: dentries with ``DCACHE_LRU_LIST`` set: on the LRU (busy ones it has not
        noticed yet included) or on a dispose list (``nr_dentry_unused``).
    """

    nr_dentry: int
    nr_unused: int

    def line(self) -> str:
        """The file's text (the v5.x+ ``nr_negative`` field and the dummies read 0)."""
        return f"{self.nr_dentry}\t{self.nr_unused}\t{AGE_LIMIT}\t0\t0\t0"


class Dcache:
    """The dentries of one superblock. Get it with :func:`dcache_of`.

    :ivar sb: the superblock.
    :ivar rules: the era's rules.
    :ivar cache: the ``dentry`` slab cache.
    :ivar nr_dentry: live dentries of this superblock.
    :ivar dead: the superblock was unmounted; every dentry is gone.
    """

    __slots__ = (
        "_dispose",
        "_hash",
        "_ino",
        "_isolate_cb",
        "_name_caches",
        "_next_ino",
        "_root",
        "cache",
        "dead",
        "nr_dentry",
        "rules",
        "sb",
        "sim",
    )

    def __init__(self, sb: SuperBlock) -> None:
        self.sb = sb
        self.sim: Simulation = sb.sim
        self.rules: DcacheRules = dcache_rules(sb.sim.profile)
        self.cache: KmemCache = dentry_cache(sb.sim)
        self.nr_dentry = 0
        self.dead = False
        self._root: Dentry | None = None
        #: the dcache hash: (parent, name) -> hashed dentry (``dentry_hashtable``).
        self._hash: dict[tuple[Dentry, str], Dentry] = {}
        self._name_caches: dict[int, KmemCache] = {}
        #: the simulated on-disk namespace: (directory ino, name) -> ino.
        self._ino: dict[tuple[int, str], int] = {}
        self._next_ino = FIRST_INO
        #: the dispose list of the prune in progress (``LIST_HEAD(dispose)``).
        self._dispose: list[Dentry] = []
        self._isolate_cb = self._isolate

    def __repr__(self) -> str:
        return f"<Dcache {self.sb.s_id} dentries={self.nr_dentry}>"

    # -- the tree ----------------------------------------------------------------------------

    @property
    def root(self) -> Dentry:
        """The root dentry (``sb->s_root``), made on first use by ``d_make_root``: charged to
        no memcg, holding the root inode (``ROOT_INO``), pinned by one reference."""
        root = self._root
        if root is None:
            self._check_alive()
            ref = self.sim.slab.alloc(self.cache, None, 0)
            if ref is None:
                raise PluginError(f"plugin 'dcache': no memory for the root dentry of {self.sb}")
            root = Dentry(self.sb, "/", ref, None)
            self.nr_dentry += 1
            root.d_inode = self.sb.vfs.iget(self.sb, ROOT_INO, None, 0)
            self._root = root
        return root

    def ino(self, dir_ino: int, name: str) -> int:
        """The inode number of ``name`` in directory ``dir_ino`` of the simulated on-disk
        namespace; a name seen for the first time gets the next free number."""
        key = (dir_ino, name)
        ino = self._ino.get(key)
        if ino is None:
            ino = self._ino[key] = self._next_ino
            self._next_ino += 1
        return ino

    def dentries(self) -> Iterator[Dentry]:
        """Every live dentry, parents before children, siblings in creation order."""
        if self._root is None:
            return
        stack = [self._root]
        while stack:
            d = stack.pop()
            yield d
            if d.children:
                stack.extend(reversed(list(d.children)))

    def state(self) -> DentryState:
        """This superblock's share of ``/proc/sys/fs/dentry-state``."""
        in_flight = sum(1 for d in self._dispose if d.flags & DCACHE_SHRINK_LIST)
        return DentryState(self.nr_dentry, len(self.sb.dentry_lru) + in_flight)

    def _check_alive(self) -> None:
        if self.dead:
            raise UsageError(f"{self.sb.s_id} is unmounted: its dentry cache is gone")

    # -- allocation and lookup -----------------------------------------------------------------

    def d_alloc(
        self, parent: Dentry, name: str, memcg: MemCgroup | None, nid: int = 0
    ) -> Dentry | None:
        """``d_alloc``: a new unhashed dentry ``name`` under ``parent`` with one reference,
        charged to ``memcg`` on node ``nid``; ``None`` on ENOMEM.

        ``__d_alloc`` takes the dentry from its slab cache, then, for a name longer than
        ``DNAME_INLINE_LEN - 1`` bytes, an external name from kmalloc (both may reclaim);
        ``d_alloc`` then takes a reference on the parent and links the child (linux v3.14 /
        v6.x fs/dcache.c, __d_alloc, d_alloc).
        """
        self._check_alive()
        if parent.dead or parent.sb is not self.sb:
            raise UsageError(f"d_alloc under {parent!r}, which is not a live dentry of {self.sb}")
        if not name or "/" in name or len(name) > NAME_MAX:
            raise UsageError(f"invalid name {name!r}: 1..{NAME_MAX} bytes without '/'")
        slab = self.sim.slab
        ref = slab.alloc(self.cache, memcg, nid)
        if ref is None:
            return None
        name_ref = None
        if len(name) > _INLINE_MAX:
            name_cache = self._name_caches.get(len(name))
            if name_cache is None:
                name_cache = external_name_cache(self.sim, self.rules, len(name))
                self._name_caches[len(name)] = name_cache
            name_ref = slab.alloc(name_cache, memcg, nid)
            if name_ref is None:
                slab.free(self.cache, ref)
                return None
        d = Dentry(self.sb, name, ref, name_ref)
        d.parent = parent
        parent.count += 1
        children = parent.children
        if children is None:
            children = parent.children = {}
        children[d] = None
        self.nr_dentry += 1
        return d

    def d_add(self, d: Dentry, inode: Inode | None) -> None:
        """``d_add``: attach ``inode`` (``None``: negative) and hash the dentry so lookups
        find it."""
        if d.hashed or d.dead:
            raise UsageError(f"d_add of {d!r}: it is already hashed or dead")
        key = (d.parent, d.name)
        if key in self._hash:
            raise UsageError(f"d_add of {d!r}: {self._hash[key]!r} is hashed under that name")
        d.d_inode = inode
        d.hashed = True
        self._hash[key] = d

    def d_lookup(self, parent: Dentry, name: str) -> Dentry | None:
        """``d_lookup``: the hashed dentry ``name`` under ``parent`` with one more reference,
        or ``None``. A dentry found on the LRU stays there (the LRU is lazy)."""
        d = self._hash.get((parent, name))
        if d is not None:
            d.count += 1
        return d

    def lookup(
        self,
        parent: Dentry,
        name: str,
        memcg: MemCgroup | None,
        nid: int = 0,
        *,
        ino: int | None = None,
    ) -> Dentry | None:
        """One path component, as ``lookup_fast`` then ``lookup_slow`` do it: the cached
        dentry, or a new one the filesystem fills in, with one reference; ``None`` on ENOMEM.

        :param ino: the inode the filesystem finds for ``name`` (``iget``), or ``None`` when
            the name does not exist: the new dentry is then negative.
        """
        d = self.d_lookup(parent, name)
        if d is not None:
            return d
        d = self.d_alloc(parent, name, memcg, nid)
        if d is None:
            return None
        inode = None
        if ino is not None:
            try:
                inode = self.sb.vfs.iget(self.sb, ino, memcg, nid)
            except AllocationError:
                self.dput(d)  # never hashed: a failed lookup discards its dentry
                return None
        self.d_add(d, inode)
        return d

    def dget(self, d: Dentry) -> Dentry:
        """``dget``: one more reference. Does not take the dentry off the LRU."""
        if d.count < 0:
            raise UsageError(f"dget of the dead {d!r}")
        d.count += 1
        return d

    def dput(self, d: Dentry) -> None:
        """``dput``: drop a reference; the last one keeps a hashed dentry cached on the LRU.

        v3.14 ``dput`` sets ``DCACHE_REFERENCED`` and adds the dentry to the LRU if it is not
        there (linux v3.14 fs/dcache.c, dput). Modern ``retain_dentry`` adds a dentry that is
        not on the LRU *without* REFERENCED and sets REFERENCED only on one already there
        (linux v6.7 fs/dcache.c, retain_dentry). An unhashed dentry is killed instead, and its
        parent's reference is dropped the same way (``dentry_kill`` returns the parent).
        """
        first_put_referenced = self.rules.first_put_referenced
        while True:
            count = d.count
            if count > 1:
                d.count = count - 1
                return
            if count != 1:
                raise UsageError(f"dput of {d!r}, which holds no reference")
            if d.hashed:
                flags = d.flags
                if first_put_referenced:
                    flags |= DCACHE_REFERENCED
                    if not flags & DCACHE_LRU_LIST:
                        flags |= DCACHE_LRU_LIST
                        self.sb.dentry_lru.add(d, d.nid, d.ref.memcg)
                elif not flags & DCACHE_LRU_LIST:
                    flags |= DCACHE_LRU_LIST
                    self.sb.dentry_lru.add(d, d.nid, d.ref.memcg)
                else:
                    flags |= DCACHE_REFERENCED
                d.flags = flags
                d.count = 0
                return
            d.count = 0
            parent = self._kill(d)
            if parent is None:
                return
            d = parent

    def d_drop(self, d: Dentry) -> None:
        """``d_drop``: unhash ``d``, so lookups miss it and its last ``dput`` kills it."""
        if d.hashed:
            del self._hash[(d.parent, d.name)]
            d.hashed = False

    # -- killing -------------------------------------------------------------------------------

    def _kill(self, d: Dentry) -> Dentry | None:
        """``__dentry_kill`` of an unreferenced dentry: off the LRU, unhashed, unlinked from
        its parent, its inode reference dropped (``iput``), its memory freed. Returns the
        parent, whose reference the caller still has to drop, or ``None`` for a root."""
        flags = d.flags
        d.count = DEAD
        if flags & DCACHE_LRU_LIST and not flags & DCACHE_SHRINK_LIST:
            self.sb.dentry_lru.del_(d)
        d.flags = 0
        if d.hashed:
            del self._hash[(d.parent, d.name)]
            d.hashed = False
        parent = d.parent
        if parent is not d:
            children = parent.children
            assert children is not None
            del children[d]
            if not children:
                parent.children = None
        inode = d.d_inode
        if inode is not None:
            d.d_inode = None
            self.sb.vfs.iput(inode)
        self.nr_dentry -= 1
        slab = self.sim.slab
        slab.free(self.cache, d.ref)
        name_ref = d.name_ref
        if name_ref is not None:
            slab.free(name_ref.cache.root, name_ref)
        return None if parent is d else parent

    # -- the shrinker --------------------------------------------------------------------------

    def _isolate(self, d: Dentry, lst: LRUList) -> LRUStatus:
        """``dentry_lru_isolate`` (linux v3.14 and v6.7 fs/dcache.c): ``d_lock`` trylock
        fails -> SKIP; referenced -> off the LRU, not freed (``d_lru_isolate``) -> REMOVED;
        ``DCACHE_REFERENCED`` -> cleared, ROTATE; else ``DCACHE_SHRINK_LIST`` and onto the
        dispose list (``d_lru_shrink_move``) -> REMOVED. Allocates nothing."""
        if d.lock_contended:
            return LRU_SKIP
        if d.count:
            lst.isolate(d)
            d.flags &= _NOT_LRU
            return LRU_REMOVED
        flags = d.flags
        if flags & DCACHE_REFERENCED:
            d.flags = flags & _NOT_REFERENCED
            return LRU_ROTATE
        d.flags = flags | DCACHE_SHRINK_LIST
        lst.isolate_move(d, self._dispose)
        return LRU_REMOVED

    def prune(self, sc: ShrinkControl) -> int:
        """``prune_dcache_sb``: walk the ``(sc.nid, sc.memcg)`` list of ``s_dentry_lru`` with
        ``sc.nr_to_scan`` as the budget, then free what was isolated
        (``shrink_dentry_list``). Returns the walk's isolated count, as the kernel does:
        busy dentries merely taken off the LRU count, ancestors freed with a dentry do not
        (linux v3.14 / v6.7 fs/dcache.c, prune_dcache_sb)."""
        if self.dead:
            return 0
        outer = self._dispose
        dispose: list[Dentry] = []
        self._dispose = dispose
        try:
            isolated = self.sb.dentry_lru.shrink_walk(sc, self._isolate_cb)
            self.shrink_dentry_list(dispose)
        finally:
            self._dispose = outer
        return isolated

    def shrink_dentry_list(self, dispose: list[Dentry]) -> int:
        """``shrink_dentry_list``: kill every dentry of a dispose list that is still unused,
        then its ancestors whose count drops to 0. Returns the dentries killed.

        The list holds dentries in the order the isolate callback moved them. v3.14 takes
        the newest first and prunes ancestors at once (``try_prune_one_dentry``); v5.x-v6.7
        take the oldest first and queue ancestors on the same list (``__dput_to_list``); see
        :class:`~shrinkfw_dcache.era.AncestorRule`. A dentry that became busy is only taken
        off the list; one killed meanwhile (unmount) is skipped.
        """
        if self.rules.ancestors is AncestorRule.KILL_AT_ONCE:
            return self._shrink_kill_at_once(dispose)
        return self._shrink_dispose_list(dispose)

    def _shrink_kill_at_once(self, dispose: list[Dentry]) -> int:
        killed = 0
        lifo = self.rules.dispose_lifo
        pos = 0
        while dispose if lifo else pos < len(dispose):
            if lifo:
                d = dispose.pop()
            else:
                d = dispose[pos]
                pos += 1
            if d.count < 0:
                continue
            d.flags &= _NOT_ON_LISTS  # d_shrink_del
            if d.count:
                continue
            parent = self._kill(d)
            killed += 1
            # "Prune ancestors": lockref_put_or_lock, then dentry_kill(parent, 1)
            while parent is not None and parent.count >= 0:
                if parent.count > 1:
                    parent.count -= 1
                    break
                parent.count = 0
                parent = self._kill(parent)
                killed += 1
        dispose.clear()
        return killed

    def _shrink_dispose_list(self, dispose: list[Dentry]) -> int:
        killed = 0
        lru = self.sb.dentry_lru
        lifo = self.rules.dispose_lifo
        pos = 0
        while dispose if lifo else pos < len(dispose):
            if lifo:
                d = dispose.pop()
            else:
                d = dispose[pos]
                pos += 1
            if d.count < 0:
                continue
            d.flags &= _NOT_ON_LISTS  # d_shrink_del
            if d.count:
                continue
            parent = d.parent
            if parent is not d and parent.count >= 0:
                # __dput_to_list(parent, dispose)
                pflags = parent.flags
                if pflags & DCACHE_SHRINK_LIST:
                    parent.count -= 1
                else:
                    if pflags & DCACHE_LRU_LIST:
                        lru.del_(parent)
                        parent.flags = pflags & _NOT_LRU
                    parent.count -= 1
                    if not parent.count:
                        parent.flags |= DCACHE_SHRINK_LIST | DCACHE_LRU_LIST  # d_shrink_add
                        dispose.append(parent)
            self._kill(d)
            killed += 1
        dispose.clear()
        return killed

    # -- unmount -------------------------------------------------------------------------------

    def umount(self) -> int:
        """``shrink_dcache_for_umount``: free every dentry of the superblock, children before
        parents, the root last. Returns the dentries freed.

        A dentry still referenced by someone other than its children (the root: other than
        ``s_root``) is a leak the kernel reports (v3.14 ``BUG()``, v6.x ``WARN``); it is
        counted in the ``dcache_umount_busy`` vmstat and freed anyway.
        """
        if self.dead:
            return 0
        order = list(self.dentries())
        root = self._root
        busy = 0
        for d in reversed(order):
            if d.count < 0:
                continue
            pinned = 1 if d is root else 0
            if d.count > pinned:
                busy += 1
            d.count = 0
            parent = self._kill(d)
            if parent is not None:
                parent.count -= 1
        self.dead = True
        self._root = None
        self._hash.clear()
        if busy:
            self.sim.vmstat["dcache_umount_busy"] += busy
        return len(order)


def dcache_of(sb: SuperBlock) -> Dcache:
    """The dentry cache of ``sb``, created on first use in ``sb.private["dcache"]``."""
    state = sb.private.get(PRIVATE_KEY)
    if state is None:
        if sb.dying:
            raise UsageError(f"{sb.s_id} is being unmounted")
        state = Dcache(sb)
        sb.private[PRIVATE_KEY] = state
    elif not isinstance(state, Dcache):
        raise PluginError(
            f"plugin 'dcache': sb.private[{PRIVATE_KEY!r}] of {sb.s_id} holds {state!r}"
        )
    return state


def dentry_state(sim: Simulation) -> DentryState:
    """``/proc/sys/fs/dentry-state`` of the whole simulation: the sums over the mounted
    superblocks."""
    nr_dentry = nr_unused = 0
    for sb in sim.vfs.supers:
        state = sb.private.get(PRIVATE_KEY)
        if isinstance(state, Dcache):
            s = state.state()
            nr_dentry += s.nr_dentry
            nr_unused += s.nr_unused
    return DentryState(nr_dentry, nr_unused)
