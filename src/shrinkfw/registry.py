"""Registered shrinkers: the core-owned half of ``struct shrinker``.

A plugin's shrinker object carries the callbacks and tunables (:class:`~shrinkfw.Shrinker`);
registering it creates a :class:`ShrinkerEntry` that holds what the kernel keeps beside them:
the per-node ``nr_deferred`` array, the ``shrinker_idr`` id of a memcg-aware shrinker, the
effective flags, and the statistics the model reports. Models ``register_shrinker`` /
``unregister_shrinker`` (linux v3.14 mm/vmscan.c) and ``shrinker_alloc`` / ``shrinker_register``
/ ``shrinker_free`` (linux v6.7+ mm/shrinker.c).

Order is the kernel's: entries are kept in registration order (``list_add_tail`` onto
``shrinker_list``), and :meth:`ShrinkerRegistry.add` is called in a deterministic order by the
simulation (plugins by name, each plugin's shrinkers in the order it adds them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from .errors import PluginError
from .shrinker import Shrinker, ShrinkerFlags

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ShrinkerEntry", "ShrinkerRegistrationError", "ShrinkerRegistry"]

_REQUIRED: Final = ("name", "flags", "seeks", "batch", "count_objects", "scan_objects")


class ShrinkerRegistrationError(PluginError, ValueError):
    """A shrinker cannot be registered: not a shrinker, a bad tunable, or a duplicate name."""


@attrs.define(slots=True, eq=False)
class ShrinkerEntry:
    """One registered shrinker.

    :ivar shrinker: the plugin's object; ``count_objects`` / ``scan_objects`` are called on it.
    :ivar plugin: name of the plugin that registered it.
    :ivar flags: effective flags (``NUMA_AWARE`` is dropped on a single-node machine).
    :ivar id: ``shrinker_idr`` id for memcg-aware shrinkers (the bit in each memcg's shrinker
        map, v4.19+), -1 otherwise.
    :ivar seq: registration sequence number; the dispatch order.
    :ivar nr_deferred: deferred work per node (one slot when not NUMA-aware). Used by every
        shrinker up to v5.12 and by non-memcg-aware ones later.
    """

    shrinker: Shrinker
    plugin: str
    flags: ShrinkerFlags
    id: int
    seq: int
    nr_deferred: list[int]
    invocations: int = 0
    scanned: int = 0
    freed: int = 0
    count_calls: int = 0
    #: false once unregistered (a pass that took its list before goes past it)
    registered: bool = True
    #: ``NUMA_AWARE`` in ``flags``, kept as a plain bool: it is read on every call
    numa_aware: bool = attrs.field(init=False)
    #: ``MEMCG_AWARE`` in ``flags``
    memcg_aware: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.numa_aware = bool(self.flags & ShrinkerFlags.NUMA_AWARE)
        self.memcg_aware = bool(self.flags & ShrinkerFlags.MEMCG_AWARE)

    @property
    def name(self) -> str:
        return self.shrinker.name

    @property
    def seeks(self) -> int:
        return self.shrinker.seeks

    @property
    def batch(self) -> int:
        return self.shrinker.batch

    def __repr__(self) -> str:
        return f"<ShrinkerEntry {self.name!r} plugin={self.plugin!r} id={self.id}>"


class ShrinkerRegistry:
    """The ``shrinker_list`` and ``shrinker_idr`` of one simulation."""

    __slots__ = (
        "_by_id",
        "_by_name",
        "_entries",
        "_free_ids",
        "_next_id",
        "_seq",
        "current_plugin",
        "nr_nodes",
    )

    def __init__(self, nr_nodes: int) -> None:
        self.nr_nodes = nr_nodes
        self._entries: list[ShrinkerEntry] = []
        self._by_name: dict[str, ShrinkerEntry] = {}
        self._by_id: dict[int, ShrinkerEntry] = {}
        self._free_ids: list[int] = []
        self._next_id = 0
        self._seq = 0
        #: the plugin whose ``shrinkfw_register_shrinkers`` is running, set by the simulation
        self.current_plugin: str | None = None

    def add(self, shrinker: Shrinker, *, plugin: str | None = None) -> ShrinkerEntry:
        """Register ``shrinker`` and return its entry.

        :raises ShrinkerRegistrationError: ``shrinker`` lacks part of the protocol, has a
            negative ``seeks`` or ``batch``, or reuses a registered name.
        """
        if plugin is None:
            plugin = self.current_plugin or "<inline>"
        missing = [attr for attr in _REQUIRED if not hasattr(shrinker, attr)]
        if missing:
            raise ShrinkerRegistrationError(
                f"plugin {plugin!r}: {shrinker!r} is not a shrinker: missing {', '.join(missing)}"
            )
        name = shrinker.name
        if not isinstance(name, str) or not name:
            raise ShrinkerRegistrationError(
                f"plugin {plugin!r}: shrinker name must be a non-empty str, got {name!r}"
            )
        for attr in ("seeks", "batch"):
            value = getattr(shrinker, attr)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ShrinkerRegistrationError(
                    f"plugin {plugin!r}: shrinker {name!r}: {attr} must be an int >= 0, "
                    f"got {value!r}"
                )
        if not isinstance(shrinker.flags, ShrinkerFlags):
            raise ShrinkerRegistrationError(
                f"plugin {plugin!r}: shrinker {name!r}: flags must be ShrinkerFlags, "
                f"got {shrinker.flags!r}"
            )
        if name in self._by_name:
            other = self._by_name[name].plugin
            raise ShrinkerRegistrationError(
                f"plugin {plugin!r}: shrinker name {name!r} is already registered by plugin "
                f"{other!r}; shrinker names must be unique"
            )
        flags = shrinker.flags
        if self.nr_nodes == 1:
            flags &= ~ShrinkerFlags.NUMA_AWARE
        shrinker_id = self._alloc_id() if flags & ShrinkerFlags.MEMCG_AWARE else -1
        slots = self.nr_nodes if flags & ShrinkerFlags.NUMA_AWARE else 1
        entry = ShrinkerEntry(
            shrinker=shrinker,
            plugin=plugin,
            flags=flags,
            id=shrinker_id,
            seq=self._seq,
            nr_deferred=[0] * slots,
        )
        self._seq += 1
        self._entries.append(entry)
        self._by_name[name] = entry
        if shrinker_id >= 0:
            self._by_id[shrinker_id] = entry
        return entry

    def remove(self, entry: ShrinkerEntry) -> None:
        """Unregister ``entry``; its id becomes free for the next memcg-aware shrinker.

        The entry list is replaced, not edited, so a pass iterating it runs to its end (and
        skips the entry, which is marked unregistered). Removing it twice is a no-op."""
        if not entry.registered:
            return
        entry.registered = False
        self._entries = [e for e in self._entries if e is not entry]
        del self._by_name[entry.name]
        if entry.id >= 0:
            del self._by_id[entry.id]
            self._free_ids.append(entry.id)
            self._free_ids.sort()

    def _alloc_id(self) -> int:
        """Lowest free id, as ``idr_alloc(&shrinker_idr, …, 0, 0)`` gives."""
        if self._free_ids:
            return self._free_ids.pop(0)
        self._next_id += 1
        return self._next_id - 1

    def get(self, name: str) -> ShrinkerEntry:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise KeyError(f"no shrinker named {name!r}; registered: {known}") from None

    def by_id(self, shrinker_id: int) -> ShrinkerEntry | None:
        """The memcg-aware shrinker with ``shrinker_id`` (``idr_find``), or ``None``."""
        return self._by_id.get(shrinker_id)

    @property
    def entries(self) -> list[ShrinkerEntry]:
        """Entries in dispatch (registration) order. Do not mutate."""
        return self._entries

    def __iter__(self) -> Iterator[ShrinkerEntry]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name
