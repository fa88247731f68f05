"""The ``oomd`` consumer's registration, settings, creation records and candidate rules."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from oomd_helpers import FULL, SEED, V6_7, build, jobs_scenario, start, when
from shrinkfw_oomd import (
    PARAMS,
    Births,
    Oomd,
    OomdConsumer,
    find_candidates,
    parse_settings,
    registered_consumer,
    start_oomd,
)

from shrinkfw import MemcgState, Simulation, UsageError
from shrinkfw.lruvec import LruKind
from shrinkfw.vmpressure import Level

# -- registration ---------------------------------------------------------------------------


def test_the_plugin_registers_the_oomd_consumer() -> None:
    sim = build()
    registered = sim.consumers.get("oomd")
    assert registered.plugin == "shrinkfw_oomd.plugin"
    assert isinstance(registered.start, OomdConsumer)
    assert registered.start.plugin == "shrinkfw_oomd.plugin"
    assert registered.params == PARAMS
    assert registered.params["watch"] is not PARAMS["watch"]
    assert "oomd" in registered.description
    assert registered_consumer(sim) is registered.start


def test_each_simulation_gets_its_own_consumer() -> None:
    first, second = build(), build()
    one, two = registered_consumer(first), registered_consumer(second)
    assert one is not None
    assert two is not None
    assert one is not two
    first.memcgs.create("only-here")
    assert (len(one.births), len(two.births)) == (1, 0)


def test_the_entry_point_is_declared() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project["name"] == "shrinkfw-oomd"
    assert project["entry-points"]["shrinkfw"] == {"oomd": "shrinkfw_oomd.plugin"}
    assert project["dependencies"] == ["shrinkfw>=0.1.dev0"]


def test_a_simulation_without_the_plugin_has_no_oomd_consumer() -> None:
    sim = Simulation.build(profile=V6_7, autoload=False)
    assert "oomd" not in sim.consumers
    assert registered_consumer(sim) is None


def test_defaults() -> None:
    sim = build()
    run = start(sim)
    settings = run.settings
    assert settings.watch == (sim.memcgs.root,)
    assert settings.level is Level.MEDIUM
    assert (settings.duration, settings.gap, settings.cooldown) == (1.0, 0.5, 2.0)
    assert settings.victim == "largest"
    assert settings.protect == ()
    assert settings.dry_run is False
    assert settings.min_usage_bytes == 0
    [watch] = run.watches
    assert watch.listener is not None
    assert watch.listener.level is Level.MEDIUM
    assert watch.listener in sim.vmpressure.listeners(sim.memcgs.root)
    assert repr(run) == "<Oomd medium+ on / kills=0 dry_run_kills=0>"


def test_paths_are_normalised() -> None:
    sim = build()
    jobs = sim.memcgs.create("jobs")
    settings = parse_settings(sim, {"watch": ("/jobs/",), "protect": ["/jobs/a/"]})
    assert settings.watch == (jobs,)
    assert settings.protect == ("/jobs/a",)


# -- creation records -------------------------------------------------------------------------


def test_births_follow_creation_and_are_forgotten_when_freed() -> None:
    sim = build()
    consumer = registered_consumer(sim)
    assert consumer is not None
    births = consumer.births
    a = sim.memcgs.create("a")
    sim.run(until=0.25)
    b = sim.memcgs.create("b")
    assert births.get(sim.memcgs.root) is None
    assert births.get(a) == (0.0, 0)
    assert births.get(b) == (0.25, 1)
    sim.rmdir(a)
    assert a.state is MemcgState.FREED
    assert births.get(a) is None
    assert len(births) == 1


def test_births_order_ties_by_creation() -> None:
    births = Births()
    sim = build()
    x, y = sim.memcgs.create("x"), sim.memcgs.create("y")
    births.note(y, 1.0)
    births.note(x, 1.0)
    births_of_x, births_of_y = births.get(x), births.get(y)
    assert births_of_x is not None
    assert births_of_y is not None
    assert births_of_x > births_of_y  # same time: x was noted later


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"wacth": ["/"]}, "oomd: unknown setting 'wacth' (known: watch, level, duration, "),
        ({"watch": "/jobs"}, "oomd: watch: must be a list of memcg paths, got '/jobs'"),
        ({"watch": []}, "oomd: watch: must name at least one memcg"),
        ({"watch": ["/nope"]}, "oomd: watch: no online memcg at '/nope'"),
        ({"watch": ["jobs"]}, "oomd: watch: 'jobs' is not a memcg path (they start with '/')"),
        ({"watch": [1]}, "oomd: watch: 1 is not a memcg path"),
        ({"watch": ["/jobs", "/jobs/"]}, "oomd: watch: '/jobs/' is listed twice"),
        ({"level": "high"}, "oomd: level: must be one of low, medium, critical, got 'high'"),
        ({"level": 2}, "oomd: level: must be one of low, medium, critical, got 2"),
        ({"duration": -1}, "oomd: duration: must be > 0, got -1"),
        ({"duration": 0}, "oomd: duration: must be > 0, got 0"),
        ({"duration": "1"}, "oomd: duration: must be a finite number of seconds, got '1'"),
        ({"duration": math.inf}, "oomd: duration: must be a finite number of seconds, got inf"),
        ({"duration": True}, "oomd: duration: must be a finite number of seconds, got True"),
        ({"gap": 0.0}, "oomd: gap: must be > 0, got 0.0"),
        ({"gap": math.nan}, "oomd: gap: must be a finite number of seconds, got nan"),
        ({"cooldown": -0.5}, "oomd: cooldown: must be >= 0, got -0.5"),
        ({"victim": "oldest"}, "oomd: victim: must be one of largest, youngest, got 'oldest'"),
        ({"protect": "/jobs/a"}, "oomd: protect: must be a list of memcg paths, got '/jobs/a'"),
        ({"protect": ["a"]}, "oomd: protect: 'a' is not a memcg path"),
        ({"dry_run": "yes"}, "oomd: dry_run: must be true or false, got 'yes'"),
        ({"dry_run": 0}, "oomd: dry_run: must be true or false, got 0"),
        ({"min_usage_bytes": -1}, "oomd: min_usage_bytes: must be an integer >= 0, got -1"),
        ({"min_usage_bytes": 1.5}, "oomd: min_usage_bytes: must be an integer >= 0, got 1.5"),
        ({"min_usage_bytes": False}, "oomd: min_usage_bytes: must be an integer >= 0"),
    ],
)
def test_a_bad_setting_is_refused_by_name_before_anything_is_registered(
    settings: dict[str, Any], message: str
) -> None:
    sim = build()
    jobs = sim.memcgs.create("jobs")
    settings = {"watch": ["/jobs"], **settings}
    with pytest.raises(UsageError) as info:
        start(sim, **settings)
    assert str(info.value).startswith(message)
    assert sim.vmpressure.listeners(jobs) == ()
    assert sim.vmpressure.listeners(sim.memcgs.root) == ()


def test_a_protected_path_need_not_exist_yet() -> None:
    sim = build()
    run = start(sim, protect=["/later"])
    assert run.settings.protect == ("/later",)


def test_good_settings_of_every_type_are_accepted() -> None:
    sim = build()
    sim.memcgs.create("jobs")
    run = start(
        sim,
        watch=("/jobs",),
        level=Level.CRITICAL,
        duration=2,
        gap=1,
        cooldown=0,
        victim="youngest",
        protect=("/jobs/keep",),
        dry_run=True,
        min_usage_bytes=4096,
    )
    assert run.settings.duration == 2.0
    assert isinstance(run.settings.duration, float)
    assert run.settings.level is Level.CRITICAL
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.settings.dry_run = False  # type: ignore[misc]


# -- started without the plugin ---------------------------------------------------------------


def test_start_oomd_uses_the_registered_consumer_when_there_is_one() -> None:
    sim, _, _, _ = jobs_scenario(V6_7)
    run = start_oomd(sim, watch=["/jobs"], victim="youngest")
    sim.run(until=1.85)
    assert when(sim.decisions) == [(1.8, "/jobs/c")]  # created last, at 0 s
    assert run.decisions[0].plugin == "shrinkfw_oomd.plugin"


def test_start_oomd_without_the_plugin() -> None:
    """A host simulator may call it directly: "largest" works, the decisions name the
    package, and "youngest" is refused since nothing recorded creation times."""
    sim = Simulation.build(profile=V6_7, autoload=False, memory=256 << 20)
    jobs = sim.memcgs.create("jobs")
    sim.set_max(jobs, 8192)
    kid = sim.memcgs.create("kid", jobs)
    with pytest.raises(UsageError, match=r"^oomd: victim: 'youngest' needs the oomd plugin"):
        start_oomd(sim, watch=["/jobs"], victim="youngest")
    assert sim.vmpressure.listeners(jobs) == ()
    run = start_oomd(sim, watch=["/jobs"], duration=0.2)
    assert isinstance(run, Oomd)

    def fill() -> None:
        if kid.online:
            sim.alloc_user_pages(kid, 1024, kind=LruKind.ANON)

    sim.every(0.1, fill)
    sim.run(until=2.0)
    assert [d.memcg for d in sim.decisions] == ["/jobs/kid"]
    assert sim.decisions[0].plugin == "shrinkfw_oomd"


# -- candidates ---------------------------------------------------------------------------


@pytest.fixture
def tree() -> Simulation:
    """/jobs/{a, b/{b1, b2}, c} with usages a 300, b1 100, b2 50, c 10 pages; /idle empty."""
    sim = build()
    jobs = sim.memcgs.create("jobs")
    a = sim.memcgs.create("a", jobs)
    b = sim.memcgs.create("b", jobs)
    b1 = sim.memcgs.create("b1", b)
    b2 = sim.memcgs.create("b2", b)
    c = sim.memcgs.create("c", jobs)
    sim.memcgs.create("idle")
    for memcg, pages in ((a, 300), (b1, 100), (b2, 50), (c, 10)):
        assert sim.alloc_user_pages(memcg, pages) is not None
    return sim


def _paths(sim: Simulation, watched: str, **settings: Any) -> tuple[list[str], int, int]:
    parsed = parse_settings(sim, {"watch": [watched], **settings})
    found = find_candidates(sim, parsed.watch[0], parsed)
    return [m.path for m in found.memcgs], found.protected, found.small


def test_candidates_are_the_online_leaves_in_tree_order(tree: Simulation) -> None:
    assert _paths(tree, "/jobs") == (["/jobs/a", "/jobs/b/b1", "/jobs/b/b2", "/jobs/c"], 0, 0)
    assert _paths(tree, "/") == (
        ["/jobs/a", "/jobs/b/b1", "/jobs/b/b2", "/jobs/c", "/idle"],
        0,
        0,
    )


def test_a_memcg_whose_children_are_all_gone_is_a_leaf(tree: Simulation) -> None:
    b1, b2 = tree.memcgs.get("/jobs/b/b1"), tree.memcgs.get("/jobs/b/b2")
    tree.rmdir(b2)
    assert _paths(tree, "/jobs/b") == (["/jobs/b/b1"], 0, 0)
    tree.rmdir(b1)  # its page cache may keep it dying (v6.7): not an online child
    assert _paths(tree, "/jobs")[0] == ["/jobs/a", "/jobs/b", "/jobs/c"]


def test_a_watched_memcg_without_leaves_is_its_own_candidate_but_never_the_root() -> None:
    sim = build()
    sim.memcgs.create("alone")
    assert _paths(sim, "/alone") == (["/alone"], 0, 0)
    assert _paths(sim, "/") == (["/alone"], 0, 0)
    sim.rmdir(sim.memcgs.get("/alone"))
    assert _paths(sim, "/") == ([], 0, 0)


def test_protect_covers_a_whole_subtree(tree: Simulation) -> None:
    assert _paths(tree, "/jobs", protect=["/jobs/b"]) == (["/jobs/a", "/jobs/c"], 2, 0)
    assert _paths(tree, "/jobs", protect=["/jobs/b/b1", "/jobs/c"]) == (
        ["/jobs/a", "/jobs/b/b2"],
        2,
        0,
    )
    # a name that only starts like a protected one is not protected
    assert _paths(tree, "/jobs", protect=["/jobs/b/b"])[1] == 0
    assert _paths(tree, "/", protect=["/"]) == ([], 5, 0)


def test_min_usage_bytes_is_compared_with_memory_current(tree: Simulation) -> None:
    assert _paths(tree, "/jobs", min_usage_bytes=50 * 4096) == (
        ["/jobs/a", "/jobs/b/b1", "/jobs/b/b2"],
        0,
        1,
    )
    assert _paths(tree, "/jobs", min_usage_bytes=50 * 4096 + 1) == (
        ["/jobs/a", "/jobs/b/b1"],
        0,
        2,
    )


def test_a_watched_memcg_that_is_gone_has_no_candidates(tree: Simulation) -> None:
    parsed = parse_settings(tree, {"watch": ["/idle"]})
    tree.rmdir(parsed.watch[0])
    assert find_candidates(tree, parsed.watch[0], parsed).memcgs == ()


@pytest.mark.parametrize("profile", [*FULL, "v3.14", "v6.1"])
def test_it_starts_on_every_profile(profile: str) -> None:
    """Userspace eventfds exist in every era; profiles without reclaim simply never
    deliver."""
    sim = build(profile)
    root = sim.memcgs.root
    before = sim.vmpressure.listeners(root)  # the seed's own reaper
    assert len(before) == (1 if profile == SEED else 0)
    run = start(sim)
    listener = run.watches[0].listener
    assert listener is not None
    assert not listener.kernel
    assert sim.vmpressure.listeners(root) == (*before, listener)
    run.stop()
    assert sim.vmpressure.listeners(root) == before
