"""The ``reaper`` consumer: kmemcg v15 13/13 under the settings it exposes."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
import shrinkfw_reaper.plugin
from reaper_helpers import (
    ALL_PROFILES,
    SEED,
    build,
    global_anon_exhaustion,
    global_file_pressure,
    make_dead,
    root_windows,
    start,
    states,
    window,
)
from shrinkfw_reaper import CONSUMER_NAME, PARAMS, DeadMemcgReaper, start_reaper

import shrinkfw
from shrinkfw import MemcgState, Simulation, UsageError
from shrinkfw.consumer import Decision
from shrinkfw.testing import ObjectCacheShrinker
from shrinkfw.vmpressure import Level

DYING = {MemcgState.DYING}
FREED = {MemcgState.FREED}
#: (scanned, reclaimed) of one window of each level: pressure 0, 80 and 100 percent
WINDOWS = {Level.LOW: (512, 512), Level.MEDIUM: (512, 100), Level.CRITICAL: (512, 0)}


class DecisionRecorder:
    """A plugin that keeps what reaches ``shrinkfw_consumer_decision``."""

    name = "decision-recorder"

    def __init__(self) -> None:
        self.seen: list[Decision] = []

    @shrinkfw.hookimpl
    def shrinkfw_consumer_decision(self, decision: Decision, sim: Simulation) -> None:
        self.seen.append(decision)


# -- registration ---------------------------------------------------------------------------


def test_the_plugin_registers_the_reaper_consumer() -> None:
    sim = build()
    registered = sim.consumers.get("reaper")
    assert registered.plugin == "shrinkfw_reaper.plugin"
    assert registered.start is start_reaper
    assert registered.params == PARAMS
    assert registered.params is not PARAMS
    assert "13/13" in registered.description


def test_the_entry_point_is_declared() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project["name"] == "shrinkfw-reaper"
    assert project["entry-points"]["shrinkfw"] == {"reaper": "shrinkfw_reaper.plugin"}
    assert project["dependencies"] == ["shrinkfw>=0.1.dev0"]


def test_a_simulation_without_the_plugin_has_no_reaper_consumer() -> None:
    sim = Simulation.build(profile=SEED, autoload=False)
    assert CONSUMER_NAME not in sim.consumers
    with pytest.raises(UsageError, match="unknown consumer 'reaper'"):
        sim.consumers.get(CONSUMER_NAME)


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_it_starts_on_every_profile(profile: str) -> None:
    """A kernel callback where the profile has in-kernel events (the seed), otherwise a
    userspace eventfd; the kernel's own reaper exists on the seed only."""
    sim = build(profile)
    root = sim.memcgs.root
    run = start(sim)
    seed = profile == SEED
    assert run.kernel is seed
    assert run.listener.level is Level.LOW
    assert run.listener.memcg is root
    assert run.listener in sim.vmpressure.listeners(root)
    assert (run.replaced is not None) is seed
    run.stop()
    assert not run.listener.registered
    assert run.listener not in sim.vmpressure.listeners(root)


# -- the seed: dead memcgs pinned by slab until the reaper runs --------------------------------


def _seed_with_dead(n: int = 5) -> tuple[Simulation, ObjectCacheShrinker, list[shrinkfw.MemCgroup]]:
    sim = build(SEED)
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = sim.memcgs.create("parent")
    sim.memcgs.set_kmem_limit(parent, 1 << 40)
    dead = make_dead(sim, dcache, parent, [f"c{i}" for i in range(n)])
    return sim, dcache, dead


def test_dead_memcgs_stay_dying_until_global_pressure_then_the_reaper_frees_them() -> None:
    sim, _, dead = _seed_with_dead(5)
    assert states(dead) == DYING
    assert [m.own_kmem for m in dead] == [1, 1, 1, 1, 1]  # one empty slab page each
    run = start(sim)  # level "low": a kernel callback, as the patch registers
    builtin = run.replaced
    assert builtin is not None

    sim.run(until=10.0)  # time alone reaps nothing
    assert states(dead) == DYING
    assert run.deliveries == 0
    assert sim.decisions == []

    global_file_pressure(sim, sim.memcgs.create("hog"))

    assert states(dead) == FREED
    assert sim.memcgs.nr_dying_descendants(sim.memcgs.root) == 0
    assert run.deliveries == 1
    assert (run.reaps, run.freed_pages, run.memcgs_freed) == (1, 5, 5)
    [decision] = sim.decisions
    assert decision == run.decisions[0]
    window_ = root_windows(sim)[0]
    assert window_.level is Level.LOW
    assert decision == Decision(
        time=10.0,
        consumer="reaper",
        plugin="shrinkfw_reaper.plugin",
        action="reap",
        memcg="/",
        reason=f"low pressure on / (window {window_.scanned} scanned, {window_.reclaimed} "
        "reclaimed): 5 dead memcgs, 5 freed, 5 slab pages released",
        dry_run=False,
        freed_pages=5,
        freed_objects=0,
    )
    # the kernel's own reaper did not run: it was unregistered
    assert sim.vmstat["dead_memcg_reaps"] == 0
    assert builtin.total == 0
    assert sim.vmstat["decision_reap"] == 1


def test_without_any_reaper_the_same_pressure_leaves_them_dying() -> None:
    """The control of the test above: the plugin is what frees them."""
    sim, _, dead = _seed_with_dead(5)
    assert sim.dead_memcg_reaper is not None
    sim.vmpressure.unregister(sim.dead_memcg_reaper)
    global_file_pressure(sim, sim.memcgs.create("hog"), windows=3)
    assert states(dead) == DYING
    assert sim.decisions == []


def test_the_decision_reaches_the_consumer_decision_hook() -> None:
    recorder = DecisionRecorder()
    sim = build(SEED, plugins=[shrinkfw_reaper.plugin, recorder])
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = sim.memcgs.create("parent")
    sim.memcgs.set_kmem_limit(parent, 1 << 40)
    make_dead(sim, dcache, parent, ["a", "b"])
    start(sim)
    window(sim, None, *WINDOWS[Level.LOW])
    assert [d.reason for d in recorder.seen] == [
        "low pressure on / (window 512 scanned, 512 reclaimed): 2 dead memcgs, 2 freed, "
        "2 slab pages released"
    ]


def test_nothing_is_recorded_while_there_is_nothing_to_reap() -> None:
    sim = build(SEED)
    run = start(sim)
    for _ in range(3):
        window(sim, None, *WINDOWS[Level.CRITICAL])
    assert run.deliveries == 3
    assert run.reaps == 0
    assert sim.decisions == []


# -- level --------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", list(Level))
@pytest.mark.parametrize("window_level", list(Level))
def test_a_window_reaps_when_its_level_reaches_the_setting(
    setting: Level, window_level: Level
) -> None:
    sim, _, dead = _seed_with_dead(3)
    run = start(sim, level=setting.label)
    assert run.kernel is (setting is Level.LOW)
    window(sim, None, *WINDOWS[window_level])
    reaped = window_level >= setting
    assert states(dead) == (FREED if reaped else DYING)
    assert [d.reason.split(" pressure")[0] for d in sim.decisions] == (
        [window_level.label] if reaped else []
    )


def test_at_critical_only_the_critical_windows_of_real_reclaim_reap() -> None:
    """Page cache reclaim gives LOW windows: ignored. Running out of anonymous memory with
    no swap drives reclaim to priority <= 3, whose injected windows are CRITICAL: reaped."""
    sim, _, dead = _seed_with_dead(4)
    run = start(sim, level="critical")
    assert not run.kernel
    hog = sim.memcgs.create("hog")

    global_file_pressure(sim, hog, windows=5)
    levels = {w.level for w in root_windows(sim)}
    assert levels == {Level.LOW}
    assert run.deliveries == 0
    assert states(dead) == DYING

    global_anon_exhaustion(sim, hog)
    first = next(w for w in root_windows(sim) if w.level is Level.CRITICAL)
    assert states(dead) == FREED
    assert run.reaps == 1
    [decision] = sim.decisions
    assert decision.time == first.time
    assert decision.reason == (
        f"critical pressure on / (window {first.scanned} scanned, {first.reclaimed} "
        "reclaimed): 4 dead memcgs, 4 freed, 4 slab pages released"
    )
    # the window was critical although it reclaimed a few pages: >= 95 % pressure
    assert first.pressure >= 95


# -- memcg --------------------------------------------------------------------------------


def test_a_listener_below_the_root_reaps_only_its_subtree() -> None:
    sim = build(SEED)
    dcache = ObjectCacheShrinker(sim, "dentry")
    jobs = sim.memcgs.create("jobs")
    other = sim.memcgs.create("other")
    for memcg in (jobs, other):
        sim.memcgs.set_kmem_limit(memcg, 1 << 40)
    mine = make_dead(sim, dcache, jobs, ["a", "b"])
    theirs = make_dead(sim, dcache, other, ["c"])
    run = start(sim, memcg="/jobs")
    assert run.listener.memcg is jobs

    window(sim, None, *WINDOWS[Level.CRITICAL])  # a root window does not reach /jobs
    assert run.deliveries == 0
    assert states(mine) == DYING

    window(sim, jobs, *WINDOWS[Level.MEDIUM])
    assert states(mine) == FREED
    assert states(theirs) == DYING
    [decision] = sim.decisions
    assert decision.memcg == "/jobs"
    assert decision.reason == (
        "medium pressure on /jobs (window 512 scanned, 100 reclaimed): 2 dead memcgs, "
        "2 freed, 2 slab pages released"
    )


def test_an_ancestor_listener_names_the_window_it_heard_from() -> None:
    """Pressure that fills a window on /jobs walks up to the root listener (v3.14
    propagation: nothing below signalled it)."""
    sim, _, dead = _seed_with_dead(1)
    jobs = sim.memcgs.create("jobs")
    start(sim)
    window(sim, jobs, *WINDOWS[Level.CRITICAL])
    assert states(dead) == FREED
    assert sim.decisions[0].reason.startswith(
        "critical pressure on / (window of /jobs 512 scanned, 0 reclaimed)"
    )


# -- min_interval -----------------------------------------------------------------------------


def test_min_interval_rate_limits_reaps() -> None:
    sim = build(SEED)
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = sim.memcgs.create("parent")
    sim.memcgs.set_kmem_limit(parent, 1 << 40)
    run = start(sim, min_interval=1.0)
    first = make_dead(sim, dcache, parent, ["a"])
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(first) == FREED

    sim.run(until=0.5)
    second = make_dead(sim, dcache, parent, ["b", "c"])
    window(sim, None, *WINDOWS[Level.LOW])  # 0.5 s after the reap: too early
    assert states(second) == DYING
    assert run.rate_limited == 1

    sim.run(until=1.0)
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(second) == FREED
    assert [(d.time, d.freed_pages) for d in sim.decisions] == [(0.0, 1), (1.0, 2)]
    assert (run.deliveries, run.reaps, run.rate_limited) == (3, 2, 1)


def test_a_window_without_dead_memcgs_does_not_start_the_interval() -> None:
    sim = build(SEED)
    dcache = ObjectCacheShrinker(sim, "dentry")
    parent = sim.memcgs.create("parent")
    sim.memcgs.set_kmem_limit(parent, 1 << 40)
    run = start(sim, min_interval=1.0)
    window(sim, None, *WINDOWS[Level.LOW])  # nothing dead: no reap
    dead = make_dead(sim, dcache, parent, ["a"])
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(dead) == FREED
    assert run.rate_limited == 0


# -- replace_builtin and stop ---------------------------------------------------------------


def test_replace_builtin_unregisters_the_kernels_reaper_and_records_nothing() -> None:
    sim = build(SEED)
    builtin = sim.dead_memcg_reaper
    assert builtin is not None
    assert builtin in sim.vmpressure.listeners(sim.memcgs.root)
    run = start(sim)
    assert run.replaced is builtin
    assert not builtin.registered
    assert builtin not in sim.vmpressure.listeners(sim.memcgs.root)
    assert sim.dead_memcg_reaper is builtin
    assert sim.decisions == []


def test_replace_builtin_false_keeps_both_reapers() -> None:
    """With both registered, the plugin's callback (registered last) hears a window first
    (the kernel's list_add order) and leaves nothing for the kernel's own reaper."""
    sim, _, dead = _seed_with_dead(2)
    builtin = sim.dead_memcg_reaper
    assert builtin is not None
    run = start(sim, replace_builtin=False)
    assert run.replaced is None
    assert builtin.registered
    assert sim.vmpressure.listeners(sim.memcgs.root) == (builtin, run.listener)
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(dead) == FREED
    assert builtin.total == 1
    assert run.reaps == 1
    assert sim.vmstat["dead_memcg_reaps"] == 0


def test_replace_builtin_false_lets_the_kernel_reap_what_the_plugin_ignores() -> None:
    sim, _, dead = _seed_with_dead(2)
    run = start(sim, level="critical", replace_builtin=False)
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(dead) == FREED
    assert sim.vmstat["dead_memcg_reaps"] == 1
    assert run.deliveries == 0
    assert sim.decisions == []


def test_stop_unregisters_and_gives_the_kernel_its_reaper_back() -> None:
    sim, _, dead = _seed_with_dead(2)
    root = sim.memcgs.root
    run = start(sim)
    builtin = run.replaced
    assert builtin is not None
    run.stop()
    assert not run.listener.registered
    assert run.listener not in sim.vmpressure.listeners(root)
    restored = sim.dead_memcg_reaper
    assert restored is not None
    assert restored is not builtin
    assert restored.registered
    assert restored.kernel
    assert restored.fn is builtin.fn
    assert sim.vmpressure.listeners(root) == (restored,)

    window(sim, None, *WINDOWS[Level.LOW])
    assert states(dead) == FREED  # by the kernel's reaper, not by the stopped plugin
    assert run.deliveries == 0
    assert sim.decisions == []
    assert sim.vmstat["dead_memcg_reaps"] == 1
    run.stop()  # idempotent
    assert sim.dead_memcg_reaper is restored


def test_stop_of_a_run_that_replaced_nothing_leaves_the_kernel_alone() -> None:
    sim = build(SEED)
    builtin = sim.dead_memcg_reaper
    run = start(sim, replace_builtin=False)
    run.stop()
    assert sim.dead_memcg_reaper is builtin
    assert sim.vmpressure.listeners(sim.memcgs.root) == (builtin,)


def test_a_second_reaper_finds_the_builtin_already_replaced() -> None:
    sim = build(SEED)
    first = start(sim)
    second = start(sim, level="medium")
    assert first.replaced is not None
    assert second.replaced is None
    second.stop()
    assert sim.dead_memcg_reaper is first.replaced
    assert not first.replaced.registered


# -- other profiles -------------------------------------------------------------------------


def test_on_v6_7_dead_memcgs_are_pinned_by_page_cache_and_a_reap_frees_nothing() -> None:
    """Objcg kernels have no per-memcg caches to shrink: the reap is empty (a decision only
    with ``record="all"``), and only page reclaim can free the memcg."""
    sim = build("v6.7")
    assert sim.dead_memcg_reaper is None
    parent = sim.memcgs.create("parent")
    child = sim.memcgs.create("child", parent)
    sim.alloc_user_pages(child, 1)
    sim.rmdir(child)
    assert child.state is MemcgState.DYING
    quiet = start(sim)
    window(sim, None, *WINDOWS[Level.LOW])
    assert (quiet.reaps, quiet.empty_reaps, sim.decisions) == (1, 1, [])
    quiet.stop()
    run = start(sim, record="all")
    assert not run.kernel
    window(sim, None, *WINDOWS[Level.LOW])
    assert child.state is MemcgState.DYING
    [decision] = sim.decisions
    assert decision.freed_pages == 0
    assert decision.reason == (
        "low pressure on / (window 512 scanned, 512 reclaimed): 1 dead memcg, 0 freed, "
        "0 slab pages released"
    )


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"levle": "low"}, "reaper: unknown setting 'levle' (known: level, memcg, "),
        ({"level": "high"}, "reaper: level: must be one of low, medium, critical, got 'high'"),
        ({"level": 1}, "reaper: level: must be one of low, medium, critical, got 1"),
        ({"level": "LOW"}, "reaper: level: "),
        ({"memcg": "/nope"}, "reaper: memcg: no online memcg at '/nope'"),
        ({"memcg": "jobs"}, "reaper: memcg: memcg path must start with '/'"),
        ({"memcg": 3}, "reaper: memcg: must be a memcg path such as '/', got 3"),
        ({"replace_builtin": "yes"}, "reaper: replace_builtin: must be true or false"),
        ({"replace_builtin": 1}, "reaper: replace_builtin: must be true or false, got 1"),
        ({"min_interval": -1}, "reaper: min_interval: must be a number of seconds >= 0, got -1"),
        ({"min_interval": math.nan}, "reaper: min_interval: "),
        ({"min_interval": math.inf}, "reaper: min_interval: "),
        ({"min_interval": True}, "reaper: min_interval: "),
        ({"record": "some"}, "reaper: record: must be one of freed, all, got 'some'"),
        ({"min_interval": "1"}, "reaper: min_interval: "),
    ],
)
def test_a_bad_setting_is_refused_by_name_before_anything_changes(
    settings: dict[str, Any], message: str
) -> None:
    sim = build(SEED)
    builtin = sim.dead_memcg_reaper
    assert builtin is not None
    with pytest.raises(UsageError) as info:
        start(sim, **settings)
    assert str(info.value).startswith(message)
    assert builtin.registered
    assert sim.vmpressure.listeners(sim.memcgs.root) == (builtin,)


def test_good_settings_of_every_type_are_accepted() -> None:
    sim = build(SEED)
    sim.memcgs.create("jobs")
    run = start(sim, level=Level.MEDIUM, memcg="/jobs", replace_builtin=False, min_interval=2)
    assert isinstance(run, DeadMemcgReaper)
    assert run.level is Level.MEDIUM
    assert run.min_interval == 2.0
    assert isinstance(run.min_interval, float)
    assert "medium on /jobs" in repr(run)


def test_start_reaper_works_without_the_plugin_registered() -> None:
    """Called directly (a host simulator embedding the model), decisions name the package."""
    sim, _, dead = _seed_with_dead(1)
    sim2 = Simulation.build(profile=SEED, autoload=False, memory=256 << 20)
    run = start_reaper(sim2)
    assert run.replaced is not None
    run.stop()
    reaper = start_reaper(sim)  # sim has the plugin registered
    window(sim, None, *WINDOWS[Level.LOW])
    assert states(dead) == FREED
    assert reaper.decisions[0].plugin == "shrinkfw_reaper.plugin"
    dcache = ObjectCacheShrinker(sim2, "dentry")
    parent = sim2.memcgs.create("parent")
    sim2.memcgs.set_kmem_limit(parent, 1 << 40)
    dead2 = make_dead(sim2, dcache, parent, ["x"])
    direct = start_reaper(sim2)
    window(sim2, None, *WINDOWS[Level.LOW])
    assert states(dead2) == FREED
    assert direct.decisions[0].plugin == "shrinkfw_reaper"
