"""Tests of the vmpressure model: levels, windows, propagation per era, v15 kernel events,
socket pressure (spec §6, §12 scenarios 17 and 18)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shrinkfw.errors import UsageError
from shrinkfw.memcg import KMEM_V15, MemCgroup, MemcgTree
from shrinkfw.shrinker import GFP_KERNEL, GFP_NOFS, GFP_NOIO, Gfp
from shrinkfw.vmpressure import (
    CRITICAL_PRIO,
    LEVEL_CRITICAL,
    LEVEL_MED,
    POLICY_V3_14,
    POLICY_V6,
    POLICY_V15,
    SOCKET_PRESSURE_HOLD,
    VMPRESSURE_WIN,
    Level,
    Mode,
    PressureEvent,
    Vmpressure,
    VmpressurePolicy,
    calc_level,
    level_of,
    parse_event_args,
)

LOW, MEDIUM, CRITICAL = Level.LOW, Level.MEDIUM, Level.CRITICAL
#: reclaimed pages giving a MEDIUM window at scanned 512 (pressure 60).
R_MEDIUM = 200
#: reclaimed pages giving a LOW window at scanned 512 (pressure 50).
R_LOW = 256


@attrs.define
class Clock:
    t: float = 0.0

    def __call__(self) -> float:
        return self.t


@attrs.define
class World:
    tree: MemcgTree
    root: MemCgroup
    a: MemCgroup
    b: MemCgroup
    clock: Clock
    vmp: Vmpressure


def world(policy: VmpressurePolicy) -> World:
    """root -> A -> B."""
    tree = MemcgTree(KMEM_V15)
    a = tree.create("A")
    b = tree.create("B", parent=a)
    clock = Clock()
    return World(tree, tree.root, a, b, clock, Vmpressure(policy, root=tree.root, now=clock))


def window(vmp: Vmpressure, memcg: MemCgroup | None, reclaimed: int, **kw: bool) -> None:
    """One full window (512 scanned) for ``memcg``."""
    vmp.vmpressure(GFP_KERNEL, memcg, VMPRESSURE_WIN, reclaimed, **kw)


# -- constants and the level formula (§6.1, §6.2) ---------------------------------------------


def test_constants() -> None:
    assert VMPRESSURE_WIN == 32 * 16
    assert (LEVEL_MED, LEVEL_CRITICAL, CRITICAL_PRIO) == (60, 95, 3)
    assert LOW < MEDIUM < CRITICAL
    assert [m.value for m in Mode] == ["default", "hierarchy", "local"]


@pytest.mark.parametrize(
    ("reclaimed", "pressure", "level"),
    [
        (0, 100, CRITICAL),
        (25, 95, CRITICAL),
        (26, 94, MEDIUM),
        (200, 60, MEDIUM),
        (204, 60, MEDIUM),
        (205, 59, LOW),
        (256, 50, LOW),
        (511, 0, LOW),
    ],
)
@pytest.mark.parametrize("clamp", [False, True])
def test_level_table_at_512(reclaimed: int, pressure: int, level: Level, clamp: bool) -> None:
    """§6.2 reference values and §12 scenario 17's table; the clamp changes none of them."""
    assert calc_level(512, reclaimed, clamp_reclaimed=clamp) == (pressure, level)


def test_level_of_thresholds() -> None:
    assert [level_of(p) for p in (0, 59, 60, 94, 95, 100)] == [
        LOW,
        LOW,
        MEDIUM,
        MEDIUM,
        CRITICAL,
        CRITICAL,
    ]


def test_reclaimed_equal_scanned_is_zero_either_way() -> None:
    assert calc_level(512, 512, clamp_reclaimed=False) == (0, LOW)
    assert calc_level(512, 512, clamp_reclaimed=True) == (0, LOW)


def test_unclamped_reclaimed_above_scanned_wraps_to_critical() -> None:
    """v3.14 unsigned long: scale 1025, 513·1025/512 = 1027 > scale, so scale - 1027 wraps to
    2^64 - 2; ·100 wraps to 2^64 - 200; / 1025."""
    pressure, level = calc_level(512, 513, clamp_reclaimed=False)
    assert pressure == ((1 << 64) - 200) // 1025 == 17996823486545903
    assert level is CRITICAL
    assert calc_level(512, 513, clamp_reclaimed=True) == (0, LOW)


@given(st.integers(1, 1 << 20), st.integers(0, 1 << 20))
def test_calc_level_properties(scanned: int, reclaimed: int) -> None:
    clamped = calc_level(scanned, reclaimed, clamp_reclaimed=True)
    raw = calc_level(scanned, reclaimed, clamp_reclaimed=False)
    if reclaimed < scanned:
        assert clamped == raw
        assert 0 <= raw[0] <= 100
        assert raw[1] is level_of(raw[0])
    else:
        assert clamped == (0, LOW)
        if reclaimed > scanned:
            assert raw[0] > 100
            assert raw[1] is CRITICAL


@pytest.mark.parametrize(("scanned", "reclaimed"), [(0, 0), (-1, 0), (5, -1)])
def test_calc_level_rejects_bad_windows(scanned: int, reclaimed: int) -> None:
    with pytest.raises(UsageError):
        calc_level(scanned, reclaimed, clamp_reclaimed=False)


# -- accounting (§6.3, scenario 17) -----------------------------------------------------------


@pytest.mark.parametrize("policy", [POLICY_V3_14, POLICY_V15, POLICY_V6])
def test_scenario_17_window_after_six_samples(policy: VmpressurePolicy) -> None:
    w = world(policy)
    vmp = w.vmp
    seen = vmp.register_event(w.b, LOW)
    rs = [10, 20, 0, 5, 30, 15]
    for r in rs[:5]:
        vmp.vmpressure(GFP_KERNEL, w.b, 100, r)
    assert vmp.pending() == ()  # 500 < 512
    assert vmp.run_pending() == []
    vmp.vmpressure(GFP_KERNEL, w.b, 100, rs[5])
    assert vmp.pending() == (w.b,)
    assert seen.events == []  # asynchronous: nothing delivered before the work runs
    events = vmp.run_pending()
    # scale 680, 80·680/600 = 90, (680 - 90)·100/680 = 86
    assert [(e.scanned, e.reclaimed, e.pressure, e.level) for e in events] == [
        (600, sum(rs), 86, MEDIUM)
    ]
    assert vmp.pending() == ()
    st_b = vmp.state(w.b)
    assert (st_b.scanned, st_b.reclaimed, st_b.tree_scanned, st_b.tree_reclaimed) == (0, 0, 0, 0)
    assert vmp.stats(w.b) == {LOW: 0, MEDIUM: 1, CRITICAL: 0}


def test_work_is_queued_once_and_takes_everything_accumulated() -> None:
    w = world(POLICY_V3_14)
    lst = w.vmp.register_event(w.a, LOW)
    window(w.vmp, w.a, 0)
    window(w.vmp, w.a, 512)
    assert w.vmp.pending() == (w.a,)
    w.vmp.run_pending()
    assert [(e.scanned, e.reclaimed) for e in lst.events] == [(1024, 512)]


def test_queue_order_is_scheduling_order() -> None:
    w = world(POLICY_V3_14)
    lst = w.vmp.register_event(w.root, LOW)
    window(w.vmp, w.b, 0)
    window(w.vmp, w.a, 0)
    window(w.vmp, w.root, 0)
    assert w.vmp.pending() == (w.b, w.a, w.root)
    assert [e.origin for e in w.vmp.run_pending()] == [w.b, w.a, w.root]
    assert lst.total == 3


@pytest.mark.parametrize("policy", [POLICY_V3_14, POLICY_V6])
@pytest.mark.parametrize("gfp", [Gfp.NONE, GFP_NOIO, Gfp.DIRECT_RECLAIM | Gfp.HARDWALL])
def test_unaccounted_gfp_ignored(policy: VmpressurePolicy, gfp: Gfp) -> None:
    w = world(policy)
    w.vmp.vmpressure(gfp, w.a, 4 * VMPRESSURE_WIN, 0)
    st_a = w.vmp.state(w.a)
    assert (st_a.scanned, st_a.tree_scanned, w.vmp.pending()) == (0, 0, ())


@pytest.mark.parametrize("gfp", [GFP_NOFS, Gfp.IO, Gfp.FS, Gfp.HIGHMEM, Gfp.MOVABLE])
def test_any_accounted_bit_counts(gfp: Gfp) -> None:
    w = world(POLICY_V3_14)
    w.vmp.vmpressure(gfp, w.a, VMPRESSURE_WIN, 0)
    assert w.vmp.pending() == (w.a,)


def test_zero_scanned_sample_ignored() -> None:
    w = world(POLICY_V3_14)
    w.vmp.vmpressure(GFP_KERNEL, w.a, 0, 7)
    assert w.vmp.state(w.a).reclaimed == 0


def test_memcg_none_is_root() -> None:
    w = world(POLICY_V3_14)
    lst = w.vmp.register_event(w.root, LOW)
    window(w.vmp, None, 0)
    assert w.vmp.pending() == (w.root,)
    w.vmp.run_pending()
    assert lst.events[0].origin is w.root


def test_negative_sample_rejected() -> None:
    w = world(POLICY_V3_14)
    with pytest.raises(UsageError):
        w.vmp.vmpressure(GFP_KERNEL, w.a, -1, 0)


def test_root_must_be_a_root() -> None:
    w = world(POLICY_V3_14)
    with pytest.raises(UsageError):
        Vmpressure(POLICY_V3_14, root=w.a, now=w.clock)


# -- vmpressure_prio ----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [POLICY_V3_14, POLICY_V6])
def test_prio_at_3_injects_critical_window(policy: VmpressurePolicy) -> None:
    w = world(policy)
    lst = w.vmp.register_event(w.a, CRITICAL)
    for prio in (12, 5, 4):
        w.vmp.vmpressure_prio(GFP_KERNEL, w.a, prio)
    assert w.vmp.pending() == ()
    w.vmp.vmpressure_prio(GFP_KERNEL, w.a, 3)
    events = w.vmp.run_pending()
    assert [(e.scanned, e.reclaimed, e.pressure, e.level) for e in events] == [
        (512, 0, 100, CRITICAL)
    ]
    assert lst.count[CRITICAL] == 1


def test_prio_with_memcg_none_and_bad_gfp() -> None:
    w = world(POLICY_V3_14)
    w.vmp.vmpressure_prio(GFP_KERNEL, None, 0)
    assert w.vmp.pending() == (w.root,)
    w.vmp.run_pending()
    w.vmp.vmpressure_prio(GFP_NOIO, w.a, 0)
    assert w.vmp.pending() == ()


# -- registration -----------------------------------------------------------------------------


def test_v3_14_registration_has_no_modes() -> None:
    w = world(POLICY_V3_14)
    with pytest.raises(UsageError, match="EINVAL"):
        w.vmp.register_event(w.a, LOW, Mode.HIERARCHY)
    with pytest.raises(UsageError, match="EINVAL"):
        w.vmp.register_event_args(w.a, "low,hierarchy")
    assert parse_event_args("critical", POLICY_V3_14) == (CRITICAL, Mode.DEFAULT)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("low", (LOW, Mode.DEFAULT)),
        ("medium,hierarchy", (MEDIUM, Mode.HIERARCHY)),
        ("critical,local", (CRITICAL, Mode.LOCAL)),
        ("low,default", (LOW, Mode.DEFAULT)),
    ],
)
def test_modes_argument_parsing(args: str, expected: tuple[Level, Mode]) -> None:
    assert parse_event_args(args, POLICY_V6) == expected


@pytest.mark.parametrize("args", ["", "lo", "high", "low,up", "Low"])
def test_bad_arguments(args: str) -> None:
    with pytest.raises(UsageError, match="EINVAL"):
        parse_event_args(args, POLICY_V6)


def test_kernel_events_need_the_v15_policy() -> None:
    for policy in (POLICY_V3_14, POLICY_V6):
        w = world(policy)
        with pytest.raises(UsageError, match="in-kernel"):
            w.vmp.register_kernel_event(w.root, lambda e: None)


def test_unregister() -> None:
    w = world(POLICY_V3_14)
    lst = w.vmp.register_event(w.a, LOW, name="efd")
    assert w.vmp.listeners(w.a) == (lst,)
    w.vmp.unregister(lst)
    w.vmp.unregister(lst)  # idempotent, like the kernel's lookup by eventfd
    assert not lst.registered
    assert w.vmp.listeners(w.a) == ()
    window(w.vmp, w.a, 0)
    assert w.vmp.run_pending() == []
    assert lst.total == 0


# -- propagation (scenario 18) ------------------------------------------------------------------


def test_scenario_18_v3_14_stops_at_first_signalled() -> None:
    w = world(POLICY_V3_14)
    a_med = w.vmp.register_event_args(w.a, "medium")
    root_low = w.vmp.register_event_args(w.root, "low")
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert [(e.listener, e.memcg, e.origin, e.level) for e in events] == [(a_med, w.a, w.b, MEDIUM)]
    assert events[0].ancestor
    assert root_low.total == 0
    # A LOW window does not reach A's "medium": the walk goes on and the root is signalled.
    window(w.vmp, w.b, R_LOW)
    events = w.vmp.run_pending()
    assert [(e.listener, e.level) for e in events] == [(root_low, LOW)]
    assert a_med.count == {LOW: 0, MEDIUM: 1, CRITICAL: 0}


def test_scenario_18_modes() -> None:
    w = world(POLICY_V6)
    a_med = w.vmp.register_event_args(w.a, "medium")
    a_local = w.vmp.register_event_args(w.a, "low,local")
    root_hier = w.vmp.register_event_args(w.root, "low,hierarchy")
    root_default = w.vmp.register_event_args(w.root, "low")
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert {e.listener for e in events} == {a_med, root_hier}
    assert a_local.total == 0
    assert root_default.total == 0
    # A's own window: the local listener is signalled; the root's default one is not, since
    # A's listeners were signalled first; hierarchy always is.
    window(w.vmp, w.a, R_MEDIUM)
    events = w.vmp.run_pending()
    assert {e.listener for e in events} == {a_med, a_local, root_hier}
    assert all(e.origin is w.a for e in events)


def test_modes_default_passes_through_when_nothing_below_signalled() -> None:
    w = world(POLICY_V6)
    a_crit = w.vmp.register_event(w.a, CRITICAL)
    root_default = w.vmp.register_event(w.root, LOW)
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert [e.listener for e in events] == [root_default]
    assert a_crit.total == 0


def test_only_default_listeners_give_the_same_result_in_both_propagations() -> None:
    results = []
    for policy in (POLICY_V3_14, POLICY_V6):
        w = world(policy)
        names = {}
        for memcg, level in ((w.b, CRITICAL), (w.a, MEDIUM), (w.a, LOW), (w.root, LOW)):
            names[w.vmp.register_event(memcg, level)] = f"{memcg.path}:{level.label}"
        got = []
        for r in (0, R_MEDIUM, R_LOW):
            window(w.vmp, w.b, r)
            got.append(sorted(names[e.listener] for e in w.vmp.run_pending()))
        results.append(got)
    assert results[0] == results[1]
    assert results[0] == [["/A/B:critical"], ["/A:low", "/A:medium"], ["/A:low"]]


def test_delivery_order_is_newest_first() -> None:
    """``list_add`` puts new events at the head of the memcg's list."""
    w = world(POLICY_V15)
    first = w.vmp.register_event(w.root, LOW, name="first")
    kernel = w.vmp.register_kernel_event(w.root, lambda e: None, name="kernel")
    last = w.vmp.register_event(w.root, LOW, name="last")
    window(w.vmp, w.root, 0)
    assert [e.listener for e in w.vmp.run_pending()] == [last, kernel, first]


# -- v15 in-kernel events (§6.5, §5 reaper) ------------------------------------------------------


def test_v15_kernel_listener_on_root_gets_every_window() -> None:
    w = world(POLICY_V15)
    got: list[PressureEvent] = []
    reaper = w.vmp.register_kernel_event(w.root, got.append, name="reaper")
    window(w.vmp, w.b, R_LOW)
    window(w.vmp, w.a, R_MEDIUM)
    window(w.vmp, w.root, 0)
    events = w.vmp.run_pending()
    assert events == got == reaper.events
    assert [(e.memcg, e.origin, e.level) for e in got] == [
        (w.root, w.b, LOW),
        (w.root, w.a, MEDIUM),
        (w.root, w.root, CRITICAL),
    ]
    assert reaper.kernel
    assert reaper.count == {LOW: 1, MEDIUM: 1, CRITICAL: 1}


def test_v15_scenario_18_ancestor_eventfd_needs_its_own_notify_flag() -> None:
    """The seed differs from mainline v3.14 here (module notes): A's flag is clear, so A's
    eventfd is skipped and the walk reaches the root's kernel callback."""
    w = world(POLICY_V15)
    a_med = w.vmp.register_event(w.a, MEDIUM)
    root_low = w.vmp.register_event(w.root, LOW)
    reaper = w.vmp.register_kernel_event(w.root, lambda e: None)
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert [e.listener for e in events] == [reaper]
    assert a_med.total == root_low.total == 0
    # A sample of A's own (not a full window) sets A's flag: the next window of B signals A.
    w.vmp.vmpressure(GFP_KERNEL, w.a, 10, 0)
    assert w.vmp.state(w.a).notify_userspace
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert [e.listener for e in events] == [a_med]  # stopped at A: the reaper misses it
    assert not w.vmp.state(w.a).notify_userspace
    assert not w.vmp.state(w.b).notify_userspace


def test_v15_userspace_signal_below_root_stops_the_walk_before_the_reaper() -> None:
    w = world(POLICY_V15)
    b_low = w.vmp.register_event(w.b, LOW)
    b_kernel = w.vmp.register_kernel_event(w.b, lambda e: None)
    reaper = w.vmp.register_kernel_event(w.root, lambda e: None)
    window(w.vmp, w.b, R_LOW)
    events = w.vmp.run_pending()
    assert [e.listener for e in events] == [b_kernel, b_low]
    assert reaper.total == 0
    # A CRITICAL-only eventfd does not stop a LOW window.
    w.vmp.unregister(b_low)
    w.vmp.register_event(w.b, CRITICAL)
    window(w.vmp, w.b, R_LOW)
    assert [e.listener for e in w.vmp.run_pending()] == [b_kernel, reaper]


def test_v15_unaccounted_sample_schedules_work_but_adds_nothing() -> None:
    w = world(POLICY_V15)
    reaper = w.vmp.register_kernel_event(w.root, lambda e: None)
    root_low = w.vmp.register_event(w.root, LOW)
    # Alone: the work is queued, finds an empty window and does nothing.
    w.vmp.vmpressure(GFP_NOIO, w.root, VMPRESSURE_WIN, 0)
    assert w.vmp.pending() == (w.root,)
    assert w.vmp.run_pending() == []
    # Below the window: not even queued.
    w.vmp.vmpressure(GFP_NOIO, w.root, VMPRESSURE_WIN - 1, 0)
    assert w.vmp.pending() == ()
    # With a partial window accumulated, it makes that window be delivered early.
    w.vmp.vmpressure(GFP_KERNEL, w.root, 100, 50)
    w.vmp.vmpressure(GFP_NOIO, w.root, VMPRESSURE_WIN, 0)
    events = w.vmp.run_pending()
    assert [(e.listener, e.scanned, e.reclaimed) for e in events] == [
        (root_low, 100, 50),
        (reaper, 100, 50),
    ]


def test_v3_14_has_no_unaccounted_scheduling() -> None:
    w = world(POLICY_V3_14)
    w.vmp.vmpressure(GFP_KERNEL, w.root, 100, 50)
    w.vmp.vmpressure(GFP_NOIO, w.root, VMPRESSURE_WIN, 0)
    assert w.vmp.pending() == ()


# -- tree split and socket pressure (§6.4) -------------------------------------------------------


def test_tree_samples_feed_listeners_and_tree_counters() -> None:
    w = world(POLICY_V6)
    lst = w.vmp.register_event(w.a, LOW)
    w.vmp.vmpressure(GFP_KERNEL, w.a, 300, 0, tree=True)
    st_a = w.vmp.state(w.a)
    assert (st_a.tree_scanned, st_a.scanned) == (300, 0)
    w.vmp.vmpressure(GFP_KERNEL, w.a, 300, 0, tree=False)
    assert (st_a.tree_scanned, st_a.scanned) == (300, 300)
    assert w.vmp.pending() == ()
    w.vmp.vmpressure(GFP_KERNEL, w.a, 212, 0, tree=True)
    w.vmp.run_pending()
    assert [(e.scanned, e.level) for e in lst.events] == [(512, CRITICAL)]


def test_socket_pressure_hysteresis() -> None:
    w = world(POLICY_V6)
    c = w.tree.create("C", parent=w.b)
    lst = w.vmp.register_event(w.b, LOW)
    w.clock.t = 10.0
    window(w.vmp, w.b, R_MEDIUM, tree=False)
    assert w.vmp.pending() == ()  # evaluated in place, no work, no eventfd
    assert lst.total == 0
    assert w.vmp.state(w.b).socket_pressure_until == 10.0 + SOCKET_PRESSURE_HOLD
    assert w.vmp.stats(w.b, socket=True) == {LOW: 0, MEDIUM: 1, CRITICAL: 0}
    assert w.vmp.stats(w.b) == {LOW: 0, MEDIUM: 0, CRITICAL: 0}
    assert w.vmp.windows[-1].socket
    w.clock.t = 10.5
    assert w.vmp.socket_pressure(w.b)
    assert w.vmp.socket_pressure(c)  # the reader walks the ancestors
    assert not w.vmp.socket_pressure(w.a)
    w.clock.t = 11.0
    assert not w.vmp.socket_pressure(w.b)


def test_socket_low_window_sets_nothing() -> None:
    w = world(POLICY_V6)
    window(w.vmp, w.b, R_LOW, tree=False)
    assert not w.vmp.socket_pressure(w.b)
    assert w.vmp.stats(w.b, socket=True)[LOW] == 1


def test_socket_pressure_ignores_root() -> None:
    w = world(POLICY_V6)
    window(w.vmp, w.root, 0, tree=False)
    window(w.vmp, None, 0, tree=False)
    assert w.vmp.windows == []
    assert not w.vmp.socket_pressure(w.root)


def test_tree_false_needs_tree_split() -> None:
    w = world(POLICY_V15)
    with pytest.raises(UsageError, match="tree=False"):
        window(w.vmp, w.b, 0, tree=False)


# -- records, callback, lifecycle ---------------------------------------------------------------


def test_events_carry_the_window_and_on_event_sees_each_once() -> None:
    w = world(POLICY_V6)
    seen: list[PressureEvent] = []
    w.vmp.on_event = seen.append
    a_low = w.vmp.register_event(w.a, LOW)
    root_hier = w.vmp.register_event(w.root, LOW, Mode.HIERARCHY)
    w.clock.t = 3.25
    window(w.vmp, w.b, R_MEDIUM)
    events = w.vmp.run_pending()
    assert seen == events
    assert events == [
        PressureEvent(w.a, MEDIUM, 60, 512, R_MEDIUM, w.b, 3.25, a_low),
        PressureEvent(w.root, MEDIUM, 60, 512, R_MEDIUM, w.b, 3.25, root_hier),
    ]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].level = LOW  # type: ignore[misc]
    assert [(x.memcg, x.time, x.level, x.socket) for x in w.vmp.windows] == [
        (w.b, 3.25, MEDIUM, False)
    ]


def test_stats_count_windows_without_listeners() -> None:
    w = world(POLICY_V3_14)
    for r in (0, 0, R_MEDIUM, R_LOW):
        window(w.vmp, w.a, r)
        w.vmp.run_pending()
    assert w.vmp.stats(w.a) == {LOW: 1, MEDIUM: 1, CRITICAL: 2}
    assert w.vmp.stats(w.b) == {LOW: 0, MEDIUM: 0, CRITICAL: 0}


def test_callback_work_waits_for_the_next_run() -> None:
    w = world(POLICY_V15)

    def more_pressure(event: PressureEvent) -> None:
        window(w.vmp, w.a, 0)

    w.vmp.register_kernel_event(w.root, more_pressure)
    window(w.vmp, w.b, 0)
    assert [e.origin for e in w.vmp.run_pending()] == [w.b]
    assert w.vmp.pending() == (w.a,)


def test_flush_and_forget() -> None:
    w = world(POLICY_V3_14)
    lst = w.vmp.register_event(w.b, LOW)
    root_lst = w.vmp.register_event(w.root, LOW)
    window(w.vmp, w.a, 0)
    window(w.vmp, w.b, 0)
    assert [e.listener for e in w.vmp.flush(w.a)] == [root_lst]
    assert w.vmp.pending() == (w.b,)
    assert [e.listener for e in w.vmp.forget(w.b)] == [lst]
    assert not lst.registered
    assert w.vmp.pending() == ()
    assert w.vmp.run_pending() == []
