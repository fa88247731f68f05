"""The pressure-consumer contract: tests every vmpressure consumer plugin should pass.

A consumer (see :mod:`shrinkfw.consumer`) models something that listens to the kernel's
pressure signals and acts on them: an in-kernel callback such as the kmemcg v15 dead-memcg
reaper, or a userspace daemon such as oomd or lmkd reading ``memory.pressure_level`` eventfds.
Subclass :class:`VmpressureConsumerContract` in your plugin's tests and override one fixture,
``consumer_setup``, returning a :class:`ConsumerSetup`::

    import pytest
    import my_consumer.plugin
    from shrinkfw.testing import ConsumerSetup, VmpressureConsumerContract

    def pressure(sim):
        # page cache filling the 64 MiB machine: global reclaim within the first second
        hog = sim.memcgs.create("hog")
        sim.every(0.1, lambda: sim.alloc_user_pages(hog, 2048))

    class TestMyConsumer(VmpressureConsumerContract):
        @pytest.fixture
        def consumer_setup(self):
            return ConsumerSetup(
                name="mine",
                plugins=[my_consumer.plugin],
                pressure=pressure,
                settings={"level": "low"},
                duration=5.0,
            )

Each test builds its own simulation: the ``contract_profile`` (both full profiles,
``"v3.14-kmemcg-v15"`` and ``"v6.7"``, unless you override that fixture), one node,
:data:`CONTRACT_MEMORY` bytes of memory, no swap, only your plugins (no entry points) and a
:class:`~shrinkfw.testing.HookRecorder`. Then ``pressure(sim)`` sets up the load, the consumer
is started with ``settings`` through the registry (as a scenario's ``[[consumer]]`` table
starts it), and the clock runs for ``duration`` simulated seconds.

What it checks, in kernel terms:

* **Registration.** The plugin registers the consumer under its name, with a description and
  its settings' defaults (``params``), as ``shrinkfw plugins`` and scenario validation need.
* **Bad settings.** An unknown setting raises ``UsageError`` naming it and registers nothing,
  as a bad write to ``cgroup.event_control`` fails with ``-EINVAL`` and leaves no eventfd.
* **Defaults.** ``start(sim)`` and ``start(sim, **params)`` work on a bare machine and return
  a run with ``stop()`` (opt out with ``starts_with_defaults = False``).
* **Decisions.** Under the pressure, the consumer decides at least once within ``duration``.
  Every decision goes through ``sim.record_decision`` (so the ``shrinkfw_consumer_decision``
  hook, the run's events and ``sim.decisions`` all see it) as a :class:`~shrinkfw.consumer.
  Decision` whose ``time`` is the moment it was recorded, whose ``consumer`` and ``plugin``
  are the registered ones, with an action and a non-empty reason, about ``"/"`` or a memcg
  that exists or existed.
* **Not from inside reclaim.** A userspace daemon reads its eventfd after the kernel has
  finished the reclaim that signalled it, and its ``kill(2)`` comes later still; the model
  runs vmpressure work synchronously at the end of a reclaim invocation (still under the
  kernel's ``PF_MEMALLOC``), so a consumer must defer its action (``sim.schedule(0.0, ...)``)
  rather than act in its eventfd reader. A consumer that models an in-kernel callback (the
  work item itself acts, like the v15 13/13 reaper) sets ``acts_in_kernel = True``; it is
  then only required not to act inside a reclaim invocation itself (``sim.current_reclaim``).
* **stop().** After ``stop()`` every listener the consumer registered is unregistered
  (``vmpressure_unregister_event``, or closing the eventfd), and no decision follows, even
  one that was already scheduled.
* **Determinism.** The same seed gives the same decisions.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs
import pytest

from ..consumer import ConsumerType, Decision
from ..errors import UsageError
from ..sim import Simulation
from .recorder import HookRecorder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ..consumer import ConsumerRun
    from ..vmpressure import Listener
    from .recorder import RecordedCall

__all__ = [
    "CONTRACT_MEMORY",
    "FULL_PROFILES",
    "ConsumerSetup",
    "VmpressureConsumerContract",
]

#: The profiles that model reclaim, hence pressure: the suite runs on each by default.
FULL_PROFILES: Final = ("v3.14-kmemcg-v15", "v6.7")
#: Memory of the suite's machine: 64 MiB (16384 pages) on one node.
CONTRACT_MEMORY: Final = 64 << 20
#: A setting name no consumer has.
_BOGUS: Final = "shrinkfw_contract_no_such_setting"


def _tuple(plugins: Iterable[object]) -> tuple[object, ...]:
    return tuple(plugins)


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise UsageError(f"ConsumerSetup.{attribute.name} must be > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ConsumerSetup:
    """What the suite needs to drive one consumer.

    :ivar name: the consumer's registered name (a scenario's ``[[consumer]] type``).
    :ivar plugins: the plugin objects or modules that register it (and anything it needs).
    :ivar pressure: ``pressure(sim)``: called on a freshly built simulation before the
        consumer starts; creates the memcgs the ``settings`` name and schedules load on the
        clock (``sim.every``) that makes the consumer decide within ``duration`` seconds.
    :ivar settings: valid settings to start it with under ``pressure`` (keys among its
        ``params``).
    :ivar duration: simulated seconds within which it must decide at least once; after
        ``stop()`` the suite runs the pressure this long again to see that nothing follows,
        so make it long enough for a second decision.
    """

    name: str
    plugins: Sequence[object] = attrs.field(converter=_tuple)
    pressure: Callable[[Simulation], object]
    settings: Mapping[str, object] = attrs.field(factory=dict)
    duration: float = attrs.field(default=5.0, validator=_positive)


class _Harness:
    """One simulation of the suite, with its recorder."""

    def __init__(self, setup: ConsumerSetup, profile: str, seed: int) -> None:
        self.setup = setup
        self.recorder = HookRecorder(hooks=("consumer_decision", "memcg_online"))
        self.sim = Simulation.build(
            profile=profile,
            seed=seed,
            nr_nodes=1,
            memory=CONTRACT_MEMORY,
            plugins=[*setup.plugins, self.recorder],
            autoload=False,
        )

    @property
    def type(self) -> ConsumerType:
        sim, name = self.sim, self.setup.name
        if name not in sim.consumers:
            known = ", ".join(t.name for t in sim.consumers) or "none"
            pytest.fail(
                f"the plugins {list(self.setup.plugins)!r} registered no consumer named "
                f"{name!r} (registered: {known}); register it in shrinkfw_register_consumers",
                pytrace=False,
            )
        return sim.consumers.get(name)

    def start(self, **settings: object) -> ConsumerRun:
        run = self.type.start(self.sim, **settings)
        stop = getattr(run, "stop", None)
        assert callable(stop), (
            f"start() of {self.setup.name!r} returned {run!r}, which has no stop(): "
            "return the run, so a scenario can stop it"
        )
        return run

    def pressure(self) -> ConsumerRun:
        """Set up the load and start the consumer with the setup's settings."""
        self.setup.pressure(self.sim)
        return self.start(**self.setup.settings)

    def run_for(self, seconds: float) -> None:
        self.sim.run(until=self.sim.now + seconds)

    @property
    def decisions(self) -> list[RecordedCall]:
        return self.recorder.getcalls("consumer_decision")

    def require_decisions(self) -> list[RecordedCall]:
        calls = self.decisions
        if not calls and self.sim.decisions:
            pytest.fail(
                f"{self.setup.name!r} put {len(self.sim.decisions)} decisions in "
                "sim.decisions but none reached the shrinkfw_consumer_decision hook: report "
                "each with sim.record_decision",
                pytrace=False,
            )
        if not calls:
            pytest.fail(
                f"{self.setup.name!r} made no decision within {self.setup.duration:g} s of "
                f"pressure on {self.sim.profile.name}; make ConsumerSetup.pressure load the "
                "machine harder or raise duration",
                pytrace=False,
            )
        return calls

    def listeners(self) -> dict[int, Listener]:
        """Every registered vmpressure listener of every memcg, by identity."""
        vmpressure = self.sim.vmpressure
        return {
            id(listener): listener
            for memcg in self.sim.memcgs.iter()
            for listener in vmpressure.listeners(memcg)
        }

    def assert_unregistered(self, listeners: Iterable[Listener]) -> None:
        """The consumer's ``listeners`` are gone after its ``stop()``. (A listener ``stop()``
        registers is not the consumer's: the reaper hands the kernel's own back.)"""
        vmpressure = self.sim.vmpressure
        still = [repr(x) for x in listeners if x.registered or x in vmpressure.listeners(x.memcg)]
        assert not still, f"after stop() these listeners are still registered: {still}"

    def known_paths(self) -> set[str]:
        """``"/"``, every memcg that exists, and every memcg that came online."""
        paths = {"/"} | {m.path for m in self.sim.memcgs.iter()}
        return paths | {c.memcg.path for c in self.recorder.getcalls("memcg_online")}


class VmpressureConsumerContract:
    """Base class of a plugin's consumer contract tests; override ``consumer_setup``.

    Class attributes a subclass may set:

    :cvar acts_in_kernel: the consumer models an in-kernel vmpressure callback (kmemcg v15
        12/13 ``vmpressure_register_kernel_event``) that acts from the vmpressure work
        itself, so it may decide while the model is still in the kernel's reclaim path.
    :cvar starts_with_defaults: ``start(sim)`` with no settings works on a bare machine.
    """

    acts_in_kernel: ClassVar[bool] = False
    starts_with_defaults: ClassVar[bool] = True

    @pytest.fixture
    def consumer_setup(self) -> ConsumerSetup:
        raise NotImplementedError("override the 'consumer_setup' fixture to return a ConsumerSetup")

    @pytest.fixture(params=FULL_PROFILES)
    def contract_profile(self, request: pytest.FixtureRequest) -> str:
        """The kernel profile of the suite's simulations; override to run on fewer."""
        profile: str = request.param
        return profile

    @pytest.fixture
    def make_harness(
        self, consumer_setup: ConsumerSetup, contract_profile: str
    ) -> Callable[..., _Harness]:
        def make(seed: int = 0) -> _Harness:
            return _Harness(consumer_setup, contract_profile, seed)

        return make

    # -- registration and settings ------------------------------------------------------------

    def test_registered_under_its_name_by_its_plugin(
        self, make_harness: Callable[..., _Harness]
    ) -> None:
        """``shrinkfw_register_consumers`` added the consumer under its name, owned by one of
        the setup's plugins, with a description and a ``params`` dict of its settings'
        defaults that covers the settings the setup uses."""
        h = make_harness()
        kind = h.type
        owner = h.sim.pm.get_plugin(kind.plugin)
        assert owner is not None, f"{kind.name!r} is owned by {kind.plugin!r}, not a plugin"
        assert any(owner is p for p in h.setup.plugins), (
            f"{kind.name!r} is registered by {kind.plugin!r}, which is none of the setup's plugins"
        )
        assert isinstance(kind.description, str)
        assert kind.description.strip(), "give the consumer a one-line description"
        assert isinstance(kind.params, dict)
        assert all(isinstance(key, str) for key in kind.params)
        undocumented = sorted(set(h.setup.settings) - set(kind.params))
        assert not undocumented, (
            f"settings {undocumented} are not among {kind.name!r}'s params {sorted(kind.params)}: "
            "list every setting with its default in registry.add(..., params=...)"
        )

    def test_an_unknown_setting_is_a_usage_error_naming_it(
        self, make_harness: Callable[..., _Harness]
    ) -> None:
        """A bad setting fails before anything is registered, naming the setting, as the
        kernel answers a bad ``cgroup.event_control`` write with ``-EINVAL`` and no eventfd."""
        h = make_harness()
        h.setup.pressure(h.sim)
        before = h.listeners()
        with pytest.raises(UsageError) as excinfo:
            h.type.start(h.sim, **h.setup.settings, **{_BOGUS: 1})
        assert _BOGUS in str(excinfo.value), (
            f"the UsageError does not name the unknown setting: {excinfo.value}"
        )
        assert h.listeners() == before, "a rejected start() left vmpressure listeners changed"

    def test_starts_with_its_defaults(self, make_harness: Callable[..., _Harness]) -> None:
        """``start(sim)`` and ``start(sim, **params)`` (the documented defaults, given
        explicitly, as a scenario may) both work on a bare machine; ``stop()`` takes its
        listeners away again."""
        if not self.starts_with_defaults:
            pytest.skip("the consumer needs settings to start (starts_with_defaults = False)")
        for explicit in (False, True):
            h = make_harness()
            before = h.listeners()
            params = copy.deepcopy(h.type.params) if explicit else {}
            run = h.start(**params)
            theirs = [x for k, x in h.listeners().items() if k not in before]
            run.stop()
            h.assert_unregistered(theirs)

    # -- decisions ---------------------------------------------------------------------------

    def test_decisions_are_well_formed_records(self, make_harness: Callable[..., _Harness]) -> None:
        """Under pressure the consumer decides, and reports each decision through
        ``sim.record_decision`` as a ``Decision`` stamped with the time it was recorded, its
        own consumer and plugin names, an action, a reason and the memcg acted on."""
        h = make_harness()
        h.pressure()
        h.run_for(h.setup.duration)
        calls = h.require_decisions()
        kind, known = h.type, h.known_paths()
        assert [c.decision for c in calls] == h.sim.decisions, (
            "sim.decisions and the shrinkfw_consumer_decision hook disagree: report every "
            "decision with sim.record_decision, and only that way"
        )
        for call in calls:
            d: Decision = call.decision
            where = f"decision at {call.time:g} s: {d!r}"
            assert isinstance(d, Decision), where
            assert d.time == call.time, (
                f"{where}: its time is not the time it was recorded ({call.time!r}); "
                "stamp it with sim.now when it is made"
            )
            assert d.consumer == kind.name, f"{where}: consumer should be {kind.name!r}"
            assert d.plugin == kind.plugin, f"{where}: plugin should be {kind.plugin!r}"
            assert isinstance(d.action, str), where
            assert d.action, f"{where}: no action"
            assert isinstance(d.reason, str), where
            assert d.reason.strip(), f"{where}: say why in the reason"
            assert d.memcg in known, (
                f"{where}: {d.memcg!r} is neither '/' nor a memcg that exists or existed"
            )
            assert isinstance(d.dry_run, bool), where
            for field in ("freed_pages", "freed_objects"):
                value = getattr(d, field)
                assert type(value) is int, f"{where}: {field} must be an int"
                assert value >= 0, f"{where}: {field} must be >= 0"

    def test_no_decision_from_inside_reclaim(self, make_harness: Callable[..., _Harness]) -> None:
        """A userspace consumer acts after the reclaim that signalled it has returned: its
        eventfd reader runs in the vmpressure work the model does synchronously at the end
        of reclaim, so it must defer the action (``sim.schedule(0.0, ...)``) instead of
        acting there. An in-kernel callback (``acts_in_kernel = True``) acts from the work
        item, but never inside a reclaim invocation itself."""
        h = make_harness()
        h.pressure()
        h.run_for(h.setup.duration)
        for call in h.require_decisions():
            d = call.decision
            assert call.reclaim is None, (
                f"decision at {call.time:g} s about {d.memcg} was made inside "
                f"{call.reclaim.reason!r} reclaim: kernel work never acts from the middle of a "
                "reclaim invocation"
            )
            if not self.acts_in_kernel:
                assert not call.in_reclaim, (
                    f"decision at {call.time:g} s about {d.memcg} was made inside the kernel's "
                    "reclaim path (from the eventfd reader, in the vmpressure work at the end "
                    "of reclaim); a userspace consumer acts later: defer the action with "
                    "sim.schedule(0.0, ...), or set acts_in_kernel = True if the consumer "
                    "models an in-kernel callback"
                )

    def test_stop_unregisters_and_ends_decisions(
        self, make_harness: Callable[..., _Harness]
    ) -> None:
        """``stop()`` right after the first decision unregisters every listener the consumer
        registered, and no decision follows under continuing pressure, not even one the
        consumer had already scheduled."""
        h = make_harness()
        sim = h.sim
        h.setup.pressure(sim)
        before = h.listeners()
        run = h.start(**h.setup.settings)
        end = sim.now + h.setup.duration
        while not h.decisions and sim.peek() <= end:
            sim.step()
        h.require_decisions()
        theirs = [x for k, x in h.listeners().items() if k not in before]
        decided = len(sim.decisions)
        run.stop()
        h.assert_unregistered(theirs)
        h.run_for(h.setup.duration)
        late = [repr(d) for d in sim.decisions[decided:]]
        assert not late, f"decisions after stop() at {sim.now:g} s: {late}"

    def test_same_seed_same_decisions(self, make_harness: Callable[..., _Harness]) -> None:
        """Decisions depend only on the scenario, the profile and the seed."""

        def decisions() -> list[dict[str, Any]]:
            h = make_harness(seed=3)
            h.pressure()
            h.run_for(h.setup.duration)
            return [d.as_dict() for d in h.sim.decisions]

        first = decisions()
        assert first, "no decision to compare"
        assert decisions() == first
