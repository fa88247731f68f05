"""The slab caches dentries live in: ``dentry`` and the kmalloc caches of external names.

``dcache_init`` creates ``dentry_cache`` with ``SLAB_RECLAIM_ACCOUNT`` (and ``SLAB_ACCOUNT``
from v4.5) for 192-byte objects (linux v3.14 / v6.x fs/dcache.c, dcache_init). A name longer
than ``DNAME_INLINE_LEN - 1`` bytes is copied to a separate ``kmalloc`` object by
``__d_alloc``; kmalloc rounds the size up to its next size class.

Caches belong to the simulation, not to a superblock: every mounted filesystem shares one
``dentry`` cache, and kmalloc caches are shared by everyone, so they are looked up by name in
``sim.slab.caches`` first and created only if missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shrinkfw import PluginError

if TYPE_CHECKING:
    from shrinkfw import Simulation
    from shrinkfw.slab import KmemCache

    from .era import DcacheRules

__all__ = ["DENTRY_CACHE", "DENTRY_SIZE", "KMALLOC_SIZES", "dentry_cache", "external_name_cache"]

#: Name of the dentry slab cache (``/proc/slabinfo``).
DENTRY_CACHE: Final = "dentry"
#: ``sizeof(struct dentry)`` on 64-bit kernels, v3.14 to v6.x.
DENTRY_SIZE: Final = 192
#: The kmalloc size classes up to 8 KiB (``kmalloc_info``: the powers of two plus 96 and 192).
KMALLOC_SIZES: Final = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)


def _find(sim: Simulation, name: str) -> KmemCache | None:
    for cache in sim.slab.caches:
        if cache.name == name:
            return cache
    return None


def dentry_cache(sim: Simulation) -> KmemCache:
    """The simulation's ``dentry`` cache, created on first use (``dcache_init``).

    :raises PluginError: a cache named ``dentry`` exists with another object size.
    """
    cache = _find(sim, DENTRY_CACHE)
    if cache is None:
        return sim.slab.create_cache(DENTRY_CACHE, DENTRY_SIZE, reclaimable=True, account=True)
    if cache.object_size != DENTRY_SIZE:
        raise PluginError(
            f"plugin 'dcache': a kmem cache {DENTRY_CACHE!r} of {cache.object_size}-byte "
            f"objects already exists; dentries are {DENTRY_SIZE} bytes"
        )
    return cache


def kmalloc_size(nbytes: int) -> int:
    """The kmalloc size class serving a request of ``nbytes`` (``kmalloc_index``)."""
    for size in KMALLOC_SIZES:
        if nbytes <= size:
            return size
    raise PluginError(f"plugin 'dcache': a {nbytes}-byte kmalloc is beyond the modelled classes")


def external_name_cache(sim: Simulation, rules: DcacheRules, name_len: int) -> KmemCache:
    """The kmalloc cache an external name of ``name_len`` bytes comes from.

    ``kmalloc(header + len, GFP_KERNEL_ACCOUNT [| __GFP_RECLAIMABLE])`` in ``__d_alloc``
    (linux v6.x fs/dcache.c; v3.14 asks for ``len + 1`` with plain ``GFP_KERNEL``, which the
    seed's kmemcg still charges because accounting was opt-out before v4.5). A 64-byte name
    takes a 96-byte object in both eras. Reclaimable names come from ``kmalloc-rcl-<size>``
    (v4.20+), the others from ``kmalloc-<size>``.
    """
    size = kmalloc_size(rules.external_name_header + name_len)
    reclaimable = rules.external_name_reclaimable
    name = f"kmalloc-rcl-{size}" if reclaimable else f"kmalloc-{size}"
    cache = _find(sim, name)
    if cache is None:
        cache = sim.slab.create_cache(name, size, reclaimable=reclaimable, account=True)
    return cache
