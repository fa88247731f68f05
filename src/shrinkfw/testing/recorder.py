"""A plugin that records shrinkfw's notification hooks, for tests.

:class:`HookRecorder` is the shrinkfw counterpart of pytest's own ``HookRecorder``
(``_pytest.pytester``): where pytest's wraps every hook call of a plugin manager, this one is an
ordinary plugin that implements each *notification* hook (the 1:N hooks that report what the
simulated kernel did) and keeps every call, in order, with the simulation time::

    recorder = HookRecorder()
    sim = Simulation.build(profile="v6.7", plugins=[recorder], autoload=False)
    ...  # drive the simulation
    offline = recorder.assert_called("memcg_offline", memcg__path="/a")
    assert recorder.count("memcg_free") == 1
    assert [c.decision.action for c in recorder.getcalls("consumer_decision")] == ["kill"]

It can also be added to a simulation that is already built: ``sim.pm.register(recorder)``.

Setup and protocol hooks (``shrinkfw_register_*``, ``shrinkfw_do_shrink_slab``, ...) are not
recorded: implementing a protocol hook would change dispatch, and setup hooks run once.

**Speed.** The core does not even build the ``mm_shrink_slab_start`` / ``mm_shrink_slab_end``
tracepoint events while no plugin implements those hooks (see :mod:`shrinkfw._hooks`), just as
a disabled kernel tracepoint costs next to nothing. A recorder that records them makes every
``do_shrink_slab`` build two events and make two hook calls: ``drop_caches`` over 40
shrinkers and 20 memcgs took 1.8 times as long with a recorder of every hook as with one that
leaves the tracepoints out, and the recorded calls keep every event alive. Record only what a
test looks at, for example ``HookRecorder(tracepoints=False)`` or
``HookRecorder(hooks=["consumer_decision"])``, and :meth:`HookRecorder.clear` between phases
of a long run.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Final

import pluggy

from ..errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..consumer import Decision
    from ..memcg import MemCgroup
    from ..sim import Simulation
    from ..tracepoints import ShrinkSlabEnd, ShrinkSlabStart
    from ..vfs import Inode, SuperBlock
    from ..vmpressure import PressureEvent, Window
    from ..vmscan import ReclaimRecord, ScanControl

__all__ = ["NOTIFICATION_HOOKS", "TRACEPOINT_HOOKS", "HookRecorder", "RecordedCall"]

_PREFIX: Final = "shrinkfw_"
hookimpl = pluggy.HookimplMarker("shrinkfw")

#: Every notification hook of :mod:`shrinkfw.hookspecs`, without the ``shrinkfw_`` prefix.
NOTIFICATION_HOOKS: Final = (
    "shrink_slab_start",
    "shrink_slab_end",
    "memcg_online",
    "memcg_offline",
    "memcg_free",
    "vmpressure",
    "vmpressure_window",
    "reclaim_done",
    "consumer_decision",
    "plugin_disabled",
    "mount",
    "umount",
    "evict_inode",
)
#: The shrinker tracepoints: fired only while some plugin implements them (see the module
#: docstring on speed).
TRACEPOINT_HOOKS: Final = ("shrink_slab_start", "shrink_slab_end")
#: Names a match in :meth:`HookRecorder.assert_called` may use besides the hook's arguments.
_RECORD_FIELDS: Final = ("time", "reclaim", "in_reclaim")
#: How many non-matching calls an assertion message lists.
_SHOW: Final = 10


def _short(name: str) -> str:
    return name.removeprefix(_PREFIX)


class RecordedCall:
    """One call of a notification hook.

    The hook's arguments, except ``sim``, are in :attr:`kwargs` and can be read as attributes:
    ``call.decision`` is ``call.kwargs["decision"]``.

    :ivar name: the hook's name without the ``shrinkfw_`` prefix (``"reclaim_done"``).
    :ivar time: the simulation time of the call (``sim.now``).
    :ivar kwargs: the hook's arguments except ``sim``.
    :ivar reclaim: the reclaim invocation running when the hook fired
        (``sim.current_reclaim``), ``None`` outside one.
    :ivar in_reclaim: the hook fired inside the kernel's reclaim path (the kernel's
        ``PF_MEMALLOC``): inside a reclaim invocation, or in the vmpressure work and the
        ``reclaim_done`` notification the model runs synchronously at its end.
    """

    __slots__ = ("in_reclaim", "kwargs", "name", "reclaim", "time")

    def __init__(
        self,
        name: str,
        time: float,
        kwargs: dict[str, Any],
        *,
        reclaim: ScanControl | None = None,
        in_reclaim: bool = False,
    ) -> None:
        self.name = _short(name)
        self.time = time
        self.kwargs = kwargs
        self.reclaim = reclaim
        self.in_reclaim = in_reclaim

    def __getattr__(self, key: str) -> Any:
        # only called when normal lookup fails; never recurse into the slots themselves
        if key.startswith("__") or key in self.__slots__:
            raise AttributeError(key)
        try:
            return self.kwargs[key]
        except KeyError:
            raise AttributeError(
                f"shrinkfw_{self.name} has no argument {key!r} "
                f"(recorded: {', '.join(self.kwargs) or 'none'})"
            ) from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"<RecordedCall {self.name} at {self.time:g} s ({args})>"


_MISSING: Final = object()


def _lookup(call: RecordedCall, key: str) -> object:
    """The value a match key names in ``call``: a hook argument or a record field, then
    attributes along ``__``-separated parts (``decision__memcg``)."""
    head, *rest = key.split("__")
    if head in call.kwargs:
        value: object = call.kwargs[head]
    else:
        value = getattr(call, head)
    for part in rest:
        value = getattr(value, part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _describe(value: object) -> str:
    return "<no such attribute>" if value is _MISSING else repr(value)


class HookRecorder:
    """Records the calls of shrinkfw's notification hooks, in order, with their time.

    Register it as a plugin: ``Simulation.build(plugins=[recorder])`` or
    ``sim.pm.register(recorder)``. One recorder per simulation.

    :param hooks: the notification hooks to record (names with or without the ``shrinkfw_``
        prefix); the default is all of them (:data:`NOTIFICATION_HOOKS`). Hooks left out are
        not implemented at all, so they cost nothing.
    :param tracepoints: with the default ``hooks``, whether to record the shrinker
        tracepoints ``shrink_slab_start`` / ``shrink_slab_end``, which otherwise do not fire
        (see the module docstring on speed).
    :raises UsageError: an unknown hook name, or ``tracepoints=False`` with ``hooks``.

    :ivar calls: every recorded call, oldest first (:class:`RecordedCall`).
    :ivar hooks: the hooks this recorder records, short names.
    """

    #: The plugin name :meth:`shrinkfw.Simulation.build` gives it.
    name = "shrinkfw.testing.HookRecorder"

    def __init__(self, hooks: Iterable[str] | None = None, *, tracepoints: bool = True) -> None:
        if hooks is None:
            wanted = [h for h in NOTIFICATION_HOOKS if tracepoints or h not in TRACEPOINT_HOOKS]
        elif not tracepoints:
            raise UsageError(
                "HookRecorder: give hooks=[...] or tracepoints=False, not both; "
                "leave the tracepoints out of hooks instead"
            )
        else:
            wanted = [_short(h) for h in ([hooks] if isinstance(hooks, str) else hooks)]
            for h in wanted:
                self._check_known(h)
        self.hooks: tuple[str, ...] = tuple(h for h in NOTIFICATION_HOOKS if h in wanted)
        self.calls: list[RecordedCall] = []
        # A hook left out is hidden by a plain instance attribute: pluggy only takes
        # functions and methods as implementations, so it finds none for that name.
        for h in NOTIFICATION_HOOKS:
            if h not in self.hooks:
                setattr(self, _PREFIX + h, None)

    def __repr__(self) -> str:
        counts = Counter(c.name for c in self.calls)
        shown = ", ".join(f"{n}={k}" for n, k in counts.items())
        return f"<HookRecorder {len(self.calls)} calls{': ' if shown else ''}{shown}>"

    # -- reading ----------------------------------------------------------------------------

    def getcalls(self, names: str | Iterable[str]) -> list[RecordedCall]:
        """The recorded calls of one hook or several, oldest first.

        :param names: a hook name, several separated by spaces (``"memcg_offline
            memcg_free"``), or an iterable of names; with or without ``shrinkfw_``.
        :raises UsageError: a name that is not a notification hook, or that this recorder
            was told not to record (an empty list would prove nothing).
        """
        wanted = self._names(names)
        return [c for c in self.calls if c.name in wanted]

    def getcall(self, name: str) -> RecordedCall:
        """The only recorded call of ``name``; fails unless there is exactly one."""
        __tracebackhide__ = True
        calls = self.getcalls(name)
        if len(calls) != 1:
            raise AssertionError(
                f"expected exactly one call of shrinkfw_{_short(name)}, got {len(calls)}"
                + "".join(f"\n  {c!r}" for c in calls[:_SHOW])
            )
        return calls[0]

    def count(self, names: str | Iterable[str]) -> int:
        """How many calls of one hook or several were recorded (names as in
        :meth:`getcalls`)."""
        return len(self.getcalls(names))

    def clear(self) -> None:
        """Forget every recorded call (the recorder keeps recording)."""
        self.calls.clear()

    def assert_called(self, name: str, **match: object) -> RecordedCall:
        """Assert that ``name`` was called with arguments matching ``match``; return the
        first such call.

        Each key of ``match`` names a hook argument (``memcg=m``) or a record field
        (``time``, ``reclaim``, ``in_reclaim``), followed by attributes separated by ``__``
        (``decision__action="kill"``, ``memcg__path="/a"``). Values are compared with
        ``expected == actual``, so ``pytest.approx`` works for times.

        :raises AssertionError: no call matched; the message lists the calls that were
            recorded and how each differs.
        :raises UsageError: ``name`` is not recorded by this recorder, or a key names an
            argument the hook does not have.
        """
        __tracebackhide__ = True
        short = next(iter(self._names(name)))
        for key in match:
            head = key.split("__")[0]
            if head not in _RECORD_FIELDS and head not in _hook_args(short):
                raise UsageError(
                    f"shrinkfw_{short} has no argument {head!r}; match on "
                    f"{', '.join((*_hook_args(short), *_RECORD_FIELDS))}"
                )
        calls = self.getcalls(short)
        for call in calls:
            if all(expected == _lookup(call, key) for key, expected in match.items()):
                return call
        wanted = ", ".join(f"{k}={v!r}" for k, v in match.items())
        if not calls:
            counts = Counter(c.name for c in self.calls)
            seen = ", ".join(f"{k} x{n}" for k, n in counts.items())
            raise AssertionError(
                f"shrinkfw_{short} was never called"
                + (f" (wanted {wanted})" if match else "")
                + f"; recorded: {seen or 'nothing'}"
            )
        lines = [f"no call of shrinkfw_{short} matched {wanted}; {len(calls)} recorded:"]
        for i, call in enumerate(calls[:_SHOW]):
            diffs = ", ".join(
                f"{key}={_describe(_lookup(call, key))}"
                for key, expected in match.items()
                if expected != _lookup(call, key)
            )
            lines.append(f"  [{i}] at {call.time:g} s: {diffs}")
        if len(calls) > _SHOW:
            lines.append(f"  ... and {len(calls) - _SHOW} more")
        raise AssertionError("\n".join(lines))

    def _names(self, names: str | Iterable[str]) -> set[str]:
        items = names.split() if isinstance(names, str) else list(names)
        out = set()
        for item in items:
            short = _short(item)
            self._check_known(short)
            if short not in self.hooks:
                raise UsageError(
                    f"this HookRecorder does not record {short!r}; it records "
                    f"{', '.join(self.hooks) or 'nothing'}"
                )
            out.add(short)
        return out

    @staticmethod
    def _check_known(short: str) -> None:
        if short not in NOTIFICATION_HOOKS:
            raise UsageError(
                f"{short!r} is not a shrinkfw notification hook; "
                f"known: {', '.join(NOTIFICATION_HOOKS)}"
            )

    # -- recording --------------------------------------------------------------------------

    def _record(self, name: str, sim: Simulation, **kwargs: Any) -> None:
        self.calls.append(
            RecordedCall(
                name,
                sim.now,
                kwargs,
                reclaim=sim.current_reclaim,
                in_reclaim=sim.in_reclaim_path,
            )
        )

    @hookimpl
    def shrinkfw_shrink_slab_start(self, event: ShrinkSlabStart, sim: Simulation) -> None:
        self._record("shrink_slab_start", sim, event=event)

    @hookimpl
    def shrinkfw_shrink_slab_end(self, event: ShrinkSlabEnd, sim: Simulation) -> None:
        self._record("shrink_slab_end", sim, event=event)

    @hookimpl
    def shrinkfw_memcg_online(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._record("memcg_online", sim, memcg=memcg)

    @hookimpl
    def shrinkfw_memcg_offline(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._record("memcg_offline", sim, memcg=memcg)

    @hookimpl
    def shrinkfw_memcg_free(self, memcg: MemCgroup, sim: Simulation) -> None:
        self._record("memcg_free", sim, memcg=memcg)

    @hookimpl
    def shrinkfw_vmpressure(self, event: PressureEvent, sim: Simulation) -> None:
        self._record("vmpressure", sim, event=event)

    @hookimpl
    def shrinkfw_vmpressure_window(self, window: Window, sim: Simulation) -> None:
        self._record("vmpressure_window", sim, window=window)

    @hookimpl
    def shrinkfw_reclaim_done(self, record: ReclaimRecord, sim: Simulation) -> None:
        self._record("reclaim_done", sim, record=record)

    @hookimpl
    def shrinkfw_consumer_decision(self, decision: Decision, sim: Simulation) -> None:
        self._record("consumer_decision", sim, decision=decision)

    @hookimpl
    def shrinkfw_plugin_disabled(self, plugin: str, error: str, sim: Simulation) -> None:
        self._record("plugin_disabled", sim, plugin=plugin, error=error)

    @hookimpl
    def shrinkfw_mount(self, sb: SuperBlock, sim: Simulation) -> None:
        self._record("mount", sim, sb=sb)

    @hookimpl
    def shrinkfw_umount(self, sb: SuperBlock, sim: Simulation) -> None:
        self._record("umount", sim, sb=sb)

    @hookimpl
    def shrinkfw_evict_inode(self, inode: Inode, sim: Simulation) -> None:
        self._record("evict_inode", sim, inode=inode)


def _hook_args(short: str) -> tuple[str, ...]:
    """The arguments of notification hook ``short`` except ``sim``, from its hookspec."""
    from .. import hookspecs

    code = getattr(hookspecs, _PREFIX + short).__code__
    return tuple(a for a in code.co_varnames[: code.co_argcount] if a != "sim")
