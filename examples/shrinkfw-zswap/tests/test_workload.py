"""The zswap-store workload, and whole simulations and scenarios with only this plugin."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import shrinkfw_zswap.plugin
from shrinkfw_zswap import PARAMS, ZswapStore, zswap_pool
from zswap_helpers import build, memcg, scan, zswap_sim

from shrinkfw import UsageError
from shrinkfw.runner import ScenarioRun
from shrinkfw.scenario import parse_scenario

if TYPE_CHECKING:
    from pathlib import Path

    from shrinkfw import MemCgroup, Simulation


def _start(sim: Simulation, owner: MemCgroup | None = None, /, **params: Any) -> ZswapStore:
    owner = owner or memcg(sim, f"job{len(sim.memcgs.root.children)}")
    run = sim.workloads.get("zswap-store").start(sim, owner, None, **params)
    assert isinstance(run, ZswapStore)
    return run


def test_registered_with_its_parameters() -> None:
    kind = build().workloads.get("zswap-store")
    assert not kind.needs_fs
    assert kind.plugin == "shrinkfw_zswap.plugin"
    assert kind.params == PARAMS
    assert set(PARAMS) == {"rate", "ratio", "nid", "reload_rate", "writeback"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"speed": 3}, "'speed'"),
        ({"rate": 0}, "'rate'"),
        ({"rate": "fast"}, "'rate'"),
        ({"rate": float("inf")}, "'rate'"),
        ({"ratio": 0.9}, "'ratio'"),
        ({"ratio": True}, "'ratio'"),
        ({"nid": 2}, "'nid'"),
        ({"nid": -2}, "'nid'"),
        ({"nid": 0.0}, "'nid'"),
        ({"reload_rate": -1.0}, "'reload_rate'"),
        ({"writeback": "no"}, "'writeback'"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], named: str) -> None:
    sim = build(nr_nodes=2)
    with pytest.raises(UsageError, match=named):
        _start(sim, **params)


def test_without_swap_nothing_is_swapped_out() -> None:
    """No swap device, no swap slot: every page stays in memory and zswap stays empty. The
    workload still starts, so a plugin combination can start every workload with its
    defaults on any machine."""
    sim = build(swap=False)
    pool = zswap_pool(sim)
    run = _start(sim, rate=100.0, reload_rate=10.0)
    sim.run(until=1.0005)
    assert (run.stored, run.kept, run.swapped_out) == (0, 100, 0)
    assert pool.tree == {}
    assert sim.vmstat["zswpout"] == 0


@pytest.mark.parametrize(("rate", "stored"), [(1000.0, 1000), (2500.0, 2500), (3.0, 3)])
def test_it_stores_at_its_rate(rate: float, stored: int) -> None:
    """At most one event per millisecond; faster rates store several pages per event."""
    sim, pool = zswap_sim()
    run = _start(sim, rate=rate, ratio=2.0)
    sim.run(until=1.0005)
    run.stop()
    sim.run(until=2.0)
    assert run.stored == len(pool.tree) == stored
    assert pool.total_size == stored * 2048


def test_pages_go_to_the_node_asked_for() -> None:
    sim, pool = zswap_sim(nr_nodes=2)
    _start(sim, rate=100.0, nid=1)
    _start(sim, rate=100.0, nid=-1)
    sim.run(until=1.0)
    nids = [e.nid for e in pool.tree.values()]
    assert nids.count(1) > nids.count(0) > 0


def test_reloads_are_zswap_hits_until_something_is_written_back() -> None:
    sim, pool = zswap_sim()
    run = _start(sim, rate=1000.0, reload_rate=100.0)
    sim.run(until=1.0005)
    assert (run.zswap_loads, run.disk_reads) == (100, 0)
    assert run.stored - run.zswap_loads == len(pool.tree) == run.swapped_out == 900
    stat = pool.cgroups.stat(run.memcg)
    assert (stat.zswpout, stat.zswpin) == (1000, 100)


def test_reloads_of_written_back_pages_are_disk_swapins() -> None:
    sim, pool = zswap_sim()
    run = _start(sim, rate=1000.0)
    sim.run(until=0.5005)
    run.stop()
    for entry in pool.tree.values():
        entry.referenced = False
    assert scan(pool, run.memcg, 500)[0] == 500  # every entry written back
    assert (len(pool.tree), sim.vmstat["zswpwb"]) == (0, 500)
    for _ in range(20):
        run.swap_in()
    assert (run.zswap_loads, run.disk_reads, sim.vmstat["pswpin"]) == (0, 20, 20)
    assert pool.cgroups.disk_swapins(run.memcg, 0) == 20


def test_the_writeback_parameter_writes_the_knob_only_when_given() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    pool.cgroups.set_writeback(box, False)
    _start(sim, box)
    assert not pool.cgroups.writeback_enabled(box)
    _start(sim, box, writeback=True)
    assert pool.cgroups.writeback_enabled(box)


def test_memcg_limit_reclaim_writes_back_and_stores_go_on() -> None:
    sim, pool = zswap_sim()
    box = memcg(sim, "box")
    sim.set_max(box, 1024)  # 4 MiB
    run = _start(sim, box, rate=5000.0, ratio=3.0, reload_rate=500.0)
    sim.run(until=2.0)
    assert run.rejected == 0
    assert box.usage <= box.max
    assert box.events["oom"] == 0
    assert sim.vmstat["reclaim_memcg_limit"] > 0
    assert sim.vmstat["zswpwb"] == pool.cgroups.stat(box).zswpwb > 0
    assert run.disk_reads > 0  # some reloads found their page written back


def test_without_writeback_the_memcg_fills_up_and_pages_stay_in_memory() -> None:
    sim, _pool = zswap_sim()
    box = memcg(sim, "box")
    sim.set_max(box, 256)  # 1 MiB
    run = _start(sim, box, rate=2000.0, writeback=False)
    sim.run(until=0.5)
    assert sim.vmstat["zswpwb"] == 0
    assert run.rejected == run.kept > 0
    assert run.to_disk == 0
    assert box.events["oom"] > 0


def test_global_pressure_writes_back_a_memcg_without_a_limit() -> None:
    sim, pool = zswap_sim(memory=64 << 20)
    run = _start(sim, rate=20000.0, ratio=2.0)
    sim.run(until=2.0)
    assert sim.vmstat["reclaim_kswapd"] > 0
    assert pool.cgroups.stat(run.memcg).zswpwb > 0
    assert sim.nodes[0].free_pages >= sim.nodes[0].wmark_min


def test_the_seed_what_if_reclaims_through_its_own_dispatch() -> None:
    """On the seed, limit reclaim calls memcg-aware shrinkers for the kmem-active memcgs of
    the target subtree on node 0 (kmemcg v15 08/13): the pool is shrunk the same way."""
    sim, pool = zswap_sim("v3.14-kmemcg-v15")
    box = memcg(sim, "box")
    sim.memcgs.set_limit(box, 1024)
    run = _start(sim, box, rate=5000.0, ratio=3.0)
    sim.run(until=2.0)
    assert run.rejected == 0
    assert box.usage <= 1024
    assert pool.cgroups.stat(box).zswpwb > 0


SCENARIO = """
name = "zswap-mini"
profile = "v6.7"
duration = 2.0
tick = 0.25

[machine]
nodes = 1
memory = "64MiB"
swap = true

[[memcg]]
path = "/capped"
max = "4MiB"

[[memcg]]
path = "/bulk"

[[workload]]
type = "zswap-store"
memcg = "/capped"
params = { rate = 4000.0, ratio = 3.0, reload_rate = 400.0 }

[[workload]]
type = "zswap-store"
memcg = "/bulk"
params = { rate = 20000.0, ratio = 2 }
"""


def test_a_scenario_runs_with_only_this_plugin(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, file="zswap-mini.toml")
    ScenarioRun(
        scenario,
        out=tmp_path / "out",
        plugins=[shrinkfw_zswap.plugin],
        autoload=False,
        report=False,
    ).run()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complete"]
    (zswap,) = [s for s in summary["shrinkers"] if s["name"] == "mm-zswap"]
    assert zswap["plugin"] == "shrinkfw_zswap.plugin"
    assert zswap["freed"] == summary["vmstat"]["zswpwb"] > 0
    assert summary["reclaim"]["memcg_limit"] > 0
    assert summary["reclaim"]["kswapd"] > 0
    capped = next(m for m in summary["memcgs"] if m["path"] == "/capped")
    assert capped["usage_bytes"] <= 4 << 20
    ftrace = (tmp_path / "out" / "ftrace.txt").read_text()
    assert "zswap_shrinker_scan" in ftrace


def test_a_bad_parameter_in_a_scenario_names_the_field(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO.replace("ratio = 3.0", "ratio = 0.5"), file="x.toml")
    run = ScenarioRun(
        scenario, out=tmp_path / "out", plugins=[shrinkfw_zswap.plugin], autoload=False
    )
    with pytest.raises(Exception, match=r"workload\[0\]\.params.*'ratio'"):
        run.run()


def test_the_pool_is_found_from_the_simulation() -> None:
    sim, pool = zswap_sim()
    assert zswap_pool(sim) is pool
