"""vmpressure: reclaim efficiency windows, pressure levels and their listeners.

Models ``mm/vmpressure.c``. Reclaim reports each pass as a sample ``(scanned, reclaimed)`` for
a memcg (:meth:`Vmpressure.vmpressure`); samples add up per memcg, and once 512 pages have
been scanned (:data:`VMPRESSURE_WIN`) a work item is queued for that memcg. The work runs
later, as the kernel's ``vmpressure_work_fn`` does on a workqueue: here when the owner calls
:meth:`Vmpressure.run_pending`. It takes the window's counters, turns them into a pressure
percentage and a :class:`Level` (:func:`calc_level`), and signals the listeners of the memcg
and of its ancestors according to the era's :class:`VmpressurePolicy`:

* ``POLICY_V3_14`` — mainline v3.14: userspace eventfds only; the walk from the memcg up to
  the root stops at the first memcg where something was signalled.
* ``POLICY_V15`` — the seed: v3.14 plus the kmemcg v15 in-kernel notifications (kernel
  callbacks run on every window that reaches their memcg, whatever its level; userspace
  eventfds fire only when the memcg's ``notify_userspace`` flag is set). Its consumer is the
  v15 13/13 dead-memcg reaper on the root memcg.
* ``POLICY_V6`` — v6.x: per-listener modes (``default``, ``hierarchy``, ``local``) with no
  early stop, the ``tree`` split of samples (subtree samples feed the eventfds, per-memcg
  samples feed cgroup v2 socket pressure) and pressure 0 when ``reclaimed >= scanned``.

Every delivery is recorded as an immutable :class:`PressureEvent` on its :class:`Listener`
(``events``, ``count`` per level) and passed to the optional ``on_event`` callback of the
engine, where the simulation plugs its notification hook. Every window is recorded as a
:class:`Window` (``windows``) and counted per memcg and level (:meth:`Vmpressure.stats`).

Delivery order at one memcg
    The kernel keeps one list of events per memcg and adds new ones at its head
    (``list_add`` in ``vmpressure_register_event`` and v15's
    ``vmpressure_register_kernel_event``), so a window is delivered to the most recently
    registered listener first, kernel callbacks and eventfds interleaved in that one order.
    The model keeps that order; memcgs are visited from the window's memcg up to the root.

Sources read: v3.10-v3.14-era ``mm/vmpressure.c`` (torvalds/linux stored copy, no
``tree``, no modes, no clamp); a v4.12 copy (clamp present); v6.x copies (modes, ``tree``,
socket pressure); the in-kernel notification patch as posted in v13 (14/16, Dec 2013; the v15
12/13 mail itself was not found, spec §6.5 describes the same code); v3.14-era and later
``memcg_to_vmpressure`` in ``mm/memcontrol.c``; ``mem_cgroup_under_socket_pressure`` in
``include/linux/memcontrol.h``.

Notes against the spec
    * §6.5 ``notify_userspace`` is a field of each memcg's ``struct vmpressure``, and the
      v15 ``vmpressure_event`` tests and clears the flag of the memcg whose list it is
      walking, not the flag of the memcg whose window filled. An ancestor's eventfds
      therefore fire only if that ancestor had samples of its own since its flag was last
      cleared. Consequence for §12 scenario 18 under the seed (``POLICY_V15``): pressure that
      lands on B does **not** signal A's "medium" eventfd (A's flag is clear); the walk goes
      on to the root. The scenario's "A signalled, root not" is mainline v3.14
      (``POLICY_V3_14``). Every memcg the walk visits has its flag cleared.
    * §6.5 kernel callbacks never count as "signalled", so they do not stop the v3.14 walk;
      but a userspace eventfd signalled below the root does stop it, and then the root's
      kernel callbacks (the v15 reaper) do not run for that window.
    * §6.5 "such a sample alone triggers nothing" holds when nothing is accumulated; when a
      partial window is accumulated, a sample without HIGHMEM/MOVABLE/IO/FS but with
      ``scanned >= 512`` still queues the work, which then delivers the partial window early.
    * §6.5 the kernel callback is ``void (*fn)(void)``: it learns neither level nor memcg.
      The model passes the :class:`PressureEvent` anyway; a faithful consumer ignores it.
      v15 has no kernel-event unregister; :meth:`Vmpressure.unregister` accepts both kinds.
    * §6.3 "NULL → root memcg, unverified": verified, ``memcg_to_vmpressure`` maps a NULL
      memcg to ``root_mem_cgroup`` (v3.14 through v6.x).
    * §6.2 clamp "~v4.x": commit e1587a494540 "mm: vmpressure: fix sending wrong events on
      underflow" (Vinayak Menon, 2017), in the v4.11 mm merge (release tag not checked).
      Before it, ``reclaimed > scanned`` wraps the unsigned arithmetic and yields a huge
      pressure, i.e. CRITICAL (see :func:`calc_level`).
    * §6.4 socket pressure is computed synchronously inside ``vmpressure()`` (no work item)
      from the memcg's own ``scanned/reclaimed`` pair, while eventfds use ``tree_scanned /
      tree_reclaimed``. Its reader, ``mem_cgroup_under_socket_pressure``, walks the
      ancestors on cgroup v2, so :meth:`Vmpressure.socket_pressure` is hierarchical. On a v1
      hierarchy the kernel drops ``tree=false`` samples; the model does not know v1 from v2
      and leaves that to the caller.
    * §6.3 registration: v3.14 compares the whole argument with a level name, so
      ``"low,hierarchy"`` is ``-EINVAL`` there; modes came later. With only ``default``
      listeners the v6 rules deliver exactly what the v3.14 stop-at-first walk delivers.
    * Not re-verified: v3.14 ``parent_mem_cgroup`` follows the res_counter parent, which only
      exists under ``memory.use_hierarchy = 1``; the model always propagates to the parent.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, Literal

import attrs

from .errors import UsageError
from .shrinker import Gfp

if TYPE_CHECKING:
    from collections.abc import Callable

    from .memcg import MemCgroup

__all__ = [
    "CRITICAL_PRIO",
    "LEVEL_CRITICAL",
    "LEVEL_MED",
    "POLICY_V3_14",
    "POLICY_V6",
    "POLICY_V15",
    "SOCKET_PRESSURE_HOLD",
    "VMPRESSURE_WIN",
    "Level",
    "Listener",
    "Mode",
    "PressureEvent",
    "VmprState",
    "Vmpressure",
    "VmpressurePolicy",
    "Window",
    "calc_level",
    "level_of",
    "parse_event_args",
]

#: Pages scanned per window: ``SWAP_CLUSTER_MAX * 16`` (``vmpressure_win``).
VMPRESSURE_WIN: Final = 512
#: Pressure percent from which a window is MEDIUM (``vmpressure_level_med``).
LEVEL_MED: Final = 60
#: Pressure percent from which a window is CRITICAL (``vmpressure_level_critical``).
LEVEL_CRITICAL: Final = 95
#: Reclaim priority at or below which a critical sample is injected:
#: ``ilog2(100 / 10)`` (``vmpressure_level_critical_prio``).
CRITICAL_PRIO: Final = 3
#: Seconds a window above LOW keeps a memcg under socket pressure (``jiffies + HZ``).
SOCKET_PRESSURE_HOLD: Final = 1.0

_ULONG_MASK: Final = (1 << 64) - 1
_ACCOUNTED_GFP: Final = int(Gfp.HIGHMEM | Gfp.MOVABLE | Gfp.IO | Gfp.FS)


class Level(enum.IntEnum):
    """Pressure levels, ordered (``enum vmpressure_levels``)."""

    LOW = 0
    MEDIUM = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        """The name used in ``cgroup.event_control`` (``vmpressure_str_levels``)."""
        return self.name.lower()


class Mode(enum.Enum):
    """Propagation mode of a userspace listener (``enum vmpressure_modes``, v6.x)."""

    #: ``VMPRESSURE_NO_PASSTHROUGH``: skipped once a closer memcg's listener was signalled.
    DEFAULT = "default"
    #: Signalled at any ancestor, whatever was signalled below.
    HIERARCHY = "hierarchy"
    #: Signalled only for windows of its own memcg.
    LOCAL = "local"


def level_of(pressure: int) -> Level:
    """The level of a pressure percentage (``vmpressure_level``)."""
    if pressure >= LEVEL_CRITICAL:
        return Level.CRITICAL
    if pressure >= LEVEL_MED:
        return Level.MEDIUM
    return Level.LOW


def calc_level(scanned: int, reclaimed: int, *, clamp_reclaimed: bool) -> tuple[int, Level]:
    """``(pressure percent, level)`` of a window (``vmpressure_calc_level``).

    With ``scale = scanned + reclaimed``: ``pressure = scale - reclaimed·scale / scanned``,
    then ``pressure·100 / scale``, every step 64-bit ``unsigned long`` arithmetic with
    truncating division (linux v3.14 mm/vmpressure.c). ``clamp_reclaimed`` models the v4.11+
    early exit: ``reclaimed >= scanned`` gives pressure 0 (linux v6.x mm/vmpressure.c).

    Without the clamp a window with ``reclaimed > scanned`` makes the subtraction wrap below
    zero, so the pressure is a huge number and the level CRITICAL, as the unpatched kernel
    reported. ``reclaimed == scanned`` gives 0 either way.

    :raises UsageError: if ``scanned`` is not positive (the kernel never divides by a zero
        window) or ``reclaimed`` is negative.
    """
    if scanned <= 0:
        raise UsageError(f"a vmpressure window needs scanned > 0, got {scanned}")
    if reclaimed < 0:
        raise UsageError(f"reclaimed pages cannot be negative, got {reclaimed}")
    if clamp_reclaimed and reclaimed >= scanned:
        return 0, Level.LOW
    scale = (scanned + reclaimed) & _ULONG_MASK
    pressure = (scale - ((reclaimed * scale) & _ULONG_MASK) // scanned) & _ULONG_MASK
    pressure = ((pressure * 100) & _ULONG_MASK) // scale
    return pressure, level_of(pressure)


_PROPAGATIONS: Final = ("v3.14", "modes")


@attrs.frozen
class VmpressurePolicy:
    """What an era's vmpressure does. Fields are independent switches; the module constants
    are the combinations kernels had.

    :ivar name: short label for messages.
    :ivar propagation: ``"v3.14"``: walk the window's memcg then its ancestors, signal every
        userspace listener whose level the window reaches, and stop after the first memcg
        where one was signalled (v3.14 ``vmpressure_work_fn``); listeners have no mode.
        ``"modes"``: walk to the root with no early stop, passing ``ancestor`` (left the
        window's memcg) and ``signalled`` (something below was signalled) up; ``local``
        listeners are skipped at ancestors, ``default`` ones once something was signalled,
        ``hierarchy`` ones never (v6.x ``vmpressure_event``).
    :ivar kernel_events: the kmemcg v15 in-kernel notifications: kernel callbacks
        (:meth:`Vmpressure.register_kernel_event`) run on every window reaching their memcg,
        with no level filter; userspace listeners of a memcg fire only while that memcg's
        ``notify_userspace`` flag is set (set by an accumulated sample, cleared each time the
        walk passes the memcg); samples whose gfp is not accounted still queue the work when
        their own ``scanned`` reaches the window.
    :ivar tree_split: v4.5+ ``vmpressure(gfp, memcg, tree, ...)``: ``tree=True`` samples feed
        the listeners through ``tree_scanned/tree_reclaimed``; ``tree=False`` samples feed
        socket pressure of non-root memcgs. Without it every sample is a ``tree`` sample and
        ``tree=False`` is refused.
    :ivar clamp_reclaimed: ``reclaimed >= scanned`` gives pressure 0 (v4.11+).
    """

    name: str
    propagation: Literal["v3.14", "modes"] = attrs.field(
        validator=attrs.validators.in_(_PROPAGATIONS)
    )
    kernel_events: bool = False
    tree_split: bool = False
    clamp_reclaimed: bool = False


#: Mainline v3.14: stop-at-first propagation, no kernel events, no tree split, no clamp.
POLICY_V3_14: Final = VmpressurePolicy(name="v3.14", propagation="v3.14")
#: The seed: v3.14 plus the kmemcg v15 in-kernel notifications.
POLICY_V15: Final = VmpressurePolicy(
    name="v3.14-kmemcg-v15", propagation="v3.14", kernel_events=True
)
#: v6.x: modes, tree split with socket pressure, clamp.
POLICY_V6: Final = VmpressurePolicy(
    name="v6", propagation="modes", tree_split=True, clamp_reclaimed=True
)


def parse_event_args(args: str, policy: VmpressurePolicy) -> tuple[Level, Mode]:
    """Parse the ``memory.pressure_level`` argument of ``cgroup.event_control``.

    ``"v3.14"`` propagation takes exactly one level name (``vmpressure_register_event``
    compares the whole string); ``"modes"`` takes ``"<level>[,<mode>]"``, only the first two
    comma-separated tokens being looked at, as ``strsep`` twice does in v6.x.

    :raises UsageError: for an unknown level or mode (the kernel's ``-EINVAL``).
    """
    levels = {level.label: level for level in Level}
    if policy.propagation == "v3.14":
        level = levels.get(args)
        if level is None:
            raise UsageError(
                f"EINVAL: {args!r} is not a pressure level under {policy.name} "
                f"(one of {', '.join(levels)}; modes came later)"
            )
        return level, Mode.DEFAULT
    tokens = args.split(",")
    level = levels.get(tokens[0])
    if level is None:
        raise UsageError(f"EINVAL: unknown pressure level {tokens[0]!r} in {args!r}")
    if len(tokens) < 2:
        return level, Mode.DEFAULT
    try:
        return level, Mode(tokens[1])
    except ValueError:
        raise UsageError(f"EINVAL: unknown mode {tokens[1]!r} in {args!r}") from None


@attrs.define(eq=False, repr=False)
class Listener:
    """One registered vmpressure event: a userspace eventfd or, with v15, a kernel callback.

    :ivar memcg: the memcg it is registered on.
    :ivar level: the lowest level it is signalled for (kernel callbacks: ``LOW``, unused).
    :ivar mode: propagation mode (``DEFAULT`` under v3.14 propagation and for callbacks).
    :ivar name: free label.
    :ivar fn: the kernel callback; ``None`` for a userspace eventfd.
    :ivar reader: for a userspace eventfd, the process reading it: called with each delivery
        (a pressure consumer such as oomd); ``None`` when nobody reads it.
    :ivar events: every delivery, oldest first.
    :ivar count: deliveries per window level (an eventfd's counter, split by level).
    :ivar registered: false once unregistered.
    """

    memcg: MemCgroup
    level: Level
    mode: Mode
    name: str = ""
    fn: Callable[[PressureEvent], None] | None = None
    reader: Callable[[PressureEvent], None] | None = None
    events: list[PressureEvent] = attrs.field(factory=list)
    count: dict[Level, int] = attrs.field(factory=lambda: dict.fromkeys(Level, 0))
    registered: bool = True

    @property
    def kernel(self) -> bool:
        """Whether this is a v15 in-kernel listener."""
        return self.fn is not None

    @property
    def total(self) -> int:
        """Deliveries of every level (the eventfd counter)."""
        return len(self.events)

    def __repr__(self) -> str:
        kind = "kernel" if self.fn is not None else f"{self.level.label},{self.mode.value}"
        return f"Listener({self.name or '?'}, {kind}, on {self.memcg.path}, total={self.total})"


@attrs.frozen
class PressureEvent:
    """One delivery of one window to one listener.

    :ivar memcg: the memcg the listener is registered on.
    :ivar level: the window's level.
    :ivar pressure: the window's pressure percent (huge when the unclamped arithmetic
        wrapped).
    :ivar scanned: pages scanned in the window.
    :ivar reclaimed: pages reclaimed in the window.
    :ivar origin: the memcg whose window filled.
    :ivar time: simulation time when the work ran.
    :ivar listener: who was signalled.
    """

    memcg: MemCgroup
    level: Level
    pressure: int
    scanned: int
    reclaimed: int
    origin: MemCgroup
    time: float
    listener: Listener

    @property
    def ancestor(self) -> bool:
        """Delivered to an ancestor of the memcg whose window filled."""
        return self.memcg is not self.origin


@attrs.frozen
class Window:
    """One evaluated window.

    :ivar socket: a ``tree=False`` window (socket pressure, evaluated synchronously) rather
        than a work run for the listeners.
    """

    memcg: MemCgroup
    time: float
    scanned: int
    reclaimed: int
    pressure: int
    level: Level
    socket: bool = False


def _level_counts() -> dict[Level, int]:
    return dict.fromkeys(Level, 0)


@attrs.define(eq=False)
class VmprState:
    """A memcg's ``struct vmpressure``. Read it; the engine owns it.

    :ivar scanned: accumulated pages scanned: every sample without ``tree_split``, the
        ``tree=False`` (socket) samples with it.
    :ivar reclaimed: pages reclaimed alongside ``scanned``.
    :ivar tree_scanned: accumulated ``tree=True`` samples (``tree_split`` only).
    :ivar tree_reclaimed: pages reclaimed alongside ``tree_scanned``.
    :ivar notify_userspace: v15: set by an accumulated sample, cleared when a walk passes.
    :ivar socket_pressure_until: time until which the memcg itself is under socket
        pressure.
    :ivar listeners: in registration order (delivery is the reverse).
    :ivar pending: the work item is queued.
    :ivar windows: listener windows evaluated, per level.
    :ivar socket_windows: socket windows evaluated, per level.
    """

    scanned: int = 0
    reclaimed: int = 0
    tree_scanned: int = 0
    tree_reclaimed: int = 0
    notify_userspace: bool = False
    socket_pressure_until: float = float("-inf")
    listeners: list[Listener] = attrs.field(factory=list)
    pending: bool = False
    windows: dict[Level, int] = attrs.field(factory=_level_counts)
    socket_windows: dict[Level, int] = attrs.field(factory=_level_counts)


class Vmpressure:
    """The vmpressure state of one simulation.

    :param policy: the era's :class:`VmpressurePolicy`.
    :param root: the root memcg; samples for memcg ``None`` are the root's
        (``memcg_to_vmpressure``).
    :param now: the simulation clock, read when a work item runs and for socket pressure.

    ``on_event`` (default ``None``) is called once per :class:`PressureEvent`, after the
    listener recorded it (and after a kernel callback ran). ``windows`` lists every evaluated
    :class:`Window` in order.
    """

    __slots__ = (
        "_queue",
        "_states",
        "now",
        "on_event",
        "on_window",
        "policy",
        "root",
        "window_counts",
        "windows",
    )

    def __init__(
        self, policy: VmpressurePolicy, *, root: MemCgroup, now: Callable[[], float]
    ) -> None:
        if not root.is_root:
            raise UsageError(f"{root!r} is not a root memcg")
        self.policy = policy
        self.root = root
        self.now = now
        self.on_event: Callable[[PressureEvent], None] | None = None
        self.windows: list[Window] = []
        #: listener windows evaluated so far, by level (every memcg, listened to or not)
        self.window_counts: dict[Level, int] = dict.fromkeys(Level, 0)
        #: called with every listener window as it is evaluated (not socket samples)
        self.on_window: Callable[[Window], None] | None = None
        self._states: dict[MemCgroup, VmprState] = {}
        self._queue: list[MemCgroup] = []

    def state(self, memcg: MemCgroup | None) -> VmprState:
        """The ``struct vmpressure`` of ``memcg`` (``None``: the root)."""
        if memcg is None:
            memcg = self.root
        st = self._states.get(memcg)
        if st is None:
            st = self._states[memcg] = VmprState()
        return st

    # -- registration ---------------------------------------------------------------------

    def register_event(
        self,
        memcg: MemCgroup,
        level: Level,
        mode: Mode = Mode.DEFAULT,
        *,
        name: str = "",
        reader: Callable[[PressureEvent], None] | None = None,
    ) -> Listener:
        """A userspace eventfd on ``memcg`` (``vmpressure_register_event``); ``reader`` is
        called with every delivery, as the process blocked on the eventfd would wake.

        :raises UsageError: for a mode other than ``DEFAULT`` under ``"v3.14"`` propagation,
            which has no modes (the kernel rejects ``"<level>,<mode>"`` with ``-EINVAL``).
        """
        if mode is not Mode.DEFAULT and self.policy.propagation == "v3.14":
            raise UsageError(
                f"EINVAL: vmpressure of {self.policy.name} has no modes ({mode.value!r})"
            )
        listener = Listener(memcg=memcg, level=Level(level), mode=mode, name=name, reader=reader)
        self.state(memcg).listeners.append(listener)
        return listener

    def register_event_args(self, memcg: MemCgroup, args: str, *, name: str = "") -> Listener:
        """:meth:`register_event` from the kernel's argument string (:func:`parse_event_args`)."""
        level, mode = parse_event_args(args, self.policy)
        return self.register_event(memcg, level, mode, name=name)

    def register_kernel_event(
        self, memcg: MemCgroup, fn: Callable[[PressureEvent], None], *, name: str = ""
    ) -> Listener:
        """An in-kernel callback on ``memcg`` (kmemcg v15 12/13,
        ``vmpressure_register_kernel_event``): runs on every window reaching ``memcg``.

        :raises UsageError: if the policy has no kernel events (no released kernel has them).
        """
        if not self.policy.kernel_events:
            raise UsageError(
                f"vmpressure of {self.policy.name} has no in-kernel events "
                "(only the kmemcg v15 patch set had them)"
            )
        listener = Listener(memcg=memcg, level=Level.LOW, mode=Mode.DEFAULT, name=name, fn=fn)
        self.state(memcg).listeners.append(listener)
        return listener

    def unregister(self, listener: Listener) -> None:
        """Remove ``listener`` (``vmpressure_unregister_event``); a no-op if already gone."""
        if not listener.registered:
            return
        listener.registered = False
        st = self._states.get(listener.memcg)
        if st is not None and listener in st.listeners:
            st.listeners.remove(listener)

    def listeners(self, memcg: MemCgroup) -> tuple[Listener, ...]:
        """``memcg``'s listeners in registration order."""
        st = self._states.get(memcg)
        return tuple(st.listeners) if st is not None else ()

    # -- accounting -----------------------------------------------------------------------

    def vmpressure(
        self,
        gfp: Gfp,
        memcg: MemCgroup | None,
        scanned: int,
        reclaimed: int,
        *,
        tree: bool = True,
    ) -> None:
        """Account one reclaim sample (``vmpressure``; linux v3.14 and v6.x mm/vmpressure.c).

        Samples whose ``gfp`` has none of HIGHMEM, MOVABLE, IO, FS and samples with
        ``scanned == 0`` are ignored (with v15 kernel events, an unaccounted sample whose own
        ``scanned`` reaches the window still queues the work). A ``tree`` sample adds to the
        memcg's window and queues its work item once the accumulated ``scanned`` reaches
        :data:`VMPRESSURE_WIN`; the listeners hear of it only when :meth:`run_pending` runs
        the work. A ``tree=False`` sample (``tree_split`` only) adds to the memcg's socket
        window, evaluated right here; the root's are ignored.

        :raises UsageError: for negative counts, or ``tree=False`` without ``tree_split``.
        """
        if scanned < 0 or reclaimed < 0:
            raise UsageError(f"vmpressure sample ({scanned}, {reclaimed}) has a negative count")
        policy = self.policy
        if not tree and not policy.tree_split:
            raise UsageError(
                f"vmpressure of {policy.name} has no tree=False samples (added in v4.5)"
            )
        if memcg is None:
            memcg = self.root
        if not int(gfp) & _ACCOUNTED_GFP:
            if policy.kernel_events and tree and scanned >= VMPRESSURE_WIN:
                self._schedule(memcg)
            return
        if not scanned:
            return
        if not tree:
            self._socket_sample(memcg, scanned, reclaimed)
            return
        st = self._states.get(memcg)
        if st is None:
            st = self._states[memcg] = VmprState()
        if policy.tree_split:
            st.tree_scanned += scanned
            st.tree_reclaimed += reclaimed
            total = st.tree_scanned
        else:
            st.scanned += scanned
            st.reclaimed += reclaimed
            total = st.scanned
        if policy.kernel_events:
            st.notify_userspace = True
        if total >= VMPRESSURE_WIN and not st.pending:
            st.pending = True
            self._queue.append(memcg)

    def vmpressure_prio(self, gfp: Gfp, memcg: MemCgroup | None, prio: int) -> None:
        """At reclaim priority ``<= 3`` account a full window with nothing reclaimed, i.e. a
        critical window (``vmpressure_prio``, linux v3.14 mm/vmpressure.c; ``tree=true``
        from v4.5)."""
        if prio > CRITICAL_PRIO:
            return
        self.vmpressure(gfp, memcg, VMPRESSURE_WIN, 0, tree=True)

    def _schedule(self, memcg: MemCgroup) -> None:
        """``schedule_work``: queue the memcg's work item unless it is already queued."""
        st = self.state(memcg)
        if not st.pending:
            st.pending = True
            self._queue.append(memcg)

    def _socket_sample(self, memcg: MemCgroup, scanned: int, reclaimed: int) -> None:
        """The ``tree=false`` branch of v6.x ``vmpressure``: a per-memcg window evaluated in
        place; a level above LOW holds socket pressure for :data:`SOCKET_PRESSURE_HOLD`."""
        if memcg.is_root:
            return
        st = self.state(memcg)
        st.scanned += scanned
        st.reclaimed += reclaimed
        if st.scanned < VMPRESSURE_WIN:
            return
        scanned, reclaimed = st.scanned, st.reclaimed
        st.scanned = st.reclaimed = 0
        pressure, level = calc_level(
            scanned, reclaimed, clamp_reclaimed=self.policy.clamp_reclaimed
        )
        now = self.now()
        self.windows.append(Window(memcg, now, scanned, reclaimed, pressure, level, socket=True))
        st.socket_windows[level] += 1
        if level > Level.LOW:
            st.socket_pressure_until = now + SOCKET_PRESSURE_HOLD

    # -- the work item ----------------------------------------------------------------------

    def pending(self) -> tuple[MemCgroup, ...]:
        """Memcgs whose work item is queued, in queue order."""
        return tuple(m for m in self._queue if self._states[m].pending)

    def run_pending(self) -> list[PressureEvent]:
        """Run the queued work items in queue order (``vmpressure_work_fn`` on the
        workqueue) and return the events they delivered.

        Work queued while this runs (by a callback) stays queued for the next call, as a
        work item re-queued while running runs again afterwards.
        """
        queue, self._queue = self._queue, []
        out: list[PressureEvent] = []
        for memcg in queue:
            st = self._states.get(memcg)
            if st is None or not st.pending:
                continue  # flushed or forgotten meanwhile
            st.pending = False
            self._work(memcg, st, out)
        return out

    def flush(self, memcg: MemCgroup) -> list[PressureEvent]:
        """Run ``memcg``'s work now if it is queued (``flush_work``)."""
        out: list[PressureEvent] = []
        st = self._states.get(memcg)
        if st is not None and st.pending:
            st.pending = False
            self._queue.remove(memcg)
            self._work(memcg, st, out)
        return out

    def forget(self, memcg: MemCgroup) -> list[PressureEvent]:
        """Flush ``memcg``'s pending work, then drop its state and listeners
        (``vmpressure_cleanup`` when the memcg is freed)."""
        out = self.flush(memcg)
        st = self._states.pop(memcg, None)
        if st is not None:
            for listener in st.listeners:
                listener.registered = False
        return out

    def _work(self, memcg: MemCgroup, st: VmprState, out: list[PressureEvent]) -> None:
        """``vmpressure_work_fn``: take and zero the window, compute its level, deliver."""
        policy = self.policy
        if policy.tree_split:
            scanned, reclaimed = st.tree_scanned, st.tree_reclaimed
            st.tree_scanned = st.tree_reclaimed = 0
        else:
            scanned, reclaimed = st.scanned, st.reclaimed
            st.scanned = st.reclaimed = 0
        if not scanned:
            return
        pressure, level = calc_level(scanned, reclaimed, clamp_reclaimed=policy.clamp_reclaimed)
        now = self.now()
        window = Window(memcg, now, scanned, reclaimed, pressure, level)
        self.windows.append(window)
        self.window_counts[level] += 1
        if self.on_window is not None:
            self.on_window(window)
        st.windows[level] += 1
        stop_at_first = policy.propagation == "v3.14"
        ancestor = False
        signalled = False
        node: MemCgroup | None = memcg
        while node is not None:
            node_st = self._states.get(node)
            if node_st is not None and self._event(node, node_st, window, ancestor, signalled, out):
                if stop_at_first:
                    break
                signalled = True
            ancestor = True
            node = node.parent

    def _event(
        self,
        node: MemCgroup,
        st: VmprState,
        window: Window,
        ancestor: bool,
        signalled: bool,
        out: list[PressureEvent],
    ) -> bool:
        """``vmpressure_event`` for one memcg: deliver to its listeners, newest first; true if
        a userspace listener was signalled (kernel callbacks do not count)."""
        policy = self.policy
        level = window.level
        modes = policy.propagation == "modes"
        gated = policy.kernel_events and not st.notify_userspace
        ret = False
        for listener in reversed(st.listeners.copy()):
            if not listener.registered:
                continue
            if listener.fn is None:
                if gated:
                    continue
                if modes:
                    if ancestor and listener.mode is Mode.LOCAL:
                        continue
                    if signalled and listener.mode is Mode.DEFAULT:
                        continue
                if level < listener.level:
                    continue
                ret = True
            event = PressureEvent(
                node,
                level,
                window.pressure,
                window.scanned,
                window.reclaimed,
                window.memcg,
                window.time,
                listener,
            )
            listener.events.append(event)
            listener.count[level] += 1
            if listener.fn is not None:
                listener.fn(event)
            out.append(event)
            if self.on_event is not None:
                self.on_event(event)
            if listener.reader is not None:
                listener.reader(event)
        if policy.kernel_events:
            st.notify_userspace = False
        return ret

    # -- queries ----------------------------------------------------------------------------

    def stats(self, memcg: MemCgroup, *, socket: bool = False) -> dict[Level, int]:
        """Windows evaluated for ``memcg`` per level: listener windows, or with ``socket``
        the ``tree=False`` ones. A copy."""
        st = self._states.get(memcg)
        if st is None:
            return _level_counts()
        return dict(st.socket_windows if socket else st.windows)

    def socket_pressure(self, memcg: MemCgroup) -> bool:
        """``mem_cgroup_under_socket_pressure`` (cgroup v2): ``now`` is before the socket
        pressure deadline of ``memcg`` or of one of its ancestors."""
        now = self.now()
        node: MemCgroup | None = memcg
        while node is not None:
            st = self._states.get(node)
            if st is not None and now < st.socket_pressure_until:
                return True
            node = node.parent
        return False
