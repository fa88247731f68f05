"""Scenario files: typed loading, and one located error per mistake."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shrinkfw import ScenarioError, Simulation
from shrinkfw.scenario import check_plugins, default_scenario, load_scenario, parse_scenario

from .toyplugin import ToyPlugin

if TYPE_CHECKING:
    from pathlib import Path

GOOD = """\
name = "two jobs"
duration = 5.0
tick = 0.5

[machine]
nodes = 2
memory = "256MiB"

[[memcg]]
path = "/jobs"
max = "64MiB"
kmem_limit = "1G"

[[memcg]]
path = "/jobs/a"
create = 1.0
lifetime = 2.0
respawn = 0.5

[[mount]]
fs = "ext4"
device = "sda1"
umount = 4.0

[[workload]]
type = "fill"
memcg = "/jobs/a"
mount = "sda1"
stop = 3.5
params = { rate = 50 }
[[workload.phases]]
at = 2.0
params = { rate = 10 }

[[consumer]]
type = "echo"
settings = { memcg = "/jobs" }
"""


def test_a_scenario_becomes_typed_objects() -> None:
    s = parse_scenario(GOOD, file="two.toml")
    assert (s.name, s.duration, s.tick) == ("two jobs", 5.0, 0.5)
    assert (s.machine.nodes, s.machine.memory) == (2, 256 << 20)
    jobs, a = s.memcgs
    assert (jobs.max, jobs.kmem_limit, jobs.lifetime) == (64 << 20, 1 << 30, None)
    assert (a.parent_path, a.name, a.create, a.lifetime, a.respawn) == ("/jobs", "a", 1, 2, 0.5)
    assert s.mounts[0].umount == 4.0
    (wl,) = s.workloads
    assert wl.params_at(1.9) == {"rate": 50}
    assert wl.params_at(2.0) == {"rate": 10}
    assert s.consumers[0].settings == {"memcg": "/jobs"}
    assert s.line_of("workload[0].params") == 30
    assert s.line_of("workload[0].phases[0].at") == 32


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("duration = 5.0", "duration = -1"), "two.toml:2: duration:", "> 0, got -1"),
        (('max = "64MiB"', 'max = "64 parsecs"'), "two.toml:11: memcg[0].max:", "size"),
        (('max = "64MiB"', 'maxx = "64MiB"'), "two.toml:11: memcg[0].maxx:", "unknown field"),
        (('path = "/jobs/a"', 'path = "/job/a"'), "two.toml:15: memcg[1].path:", "parent /job"),
        (("respawn = 0.5", "respawn = true"), "two.toml:18: memcg[1].respawn:", "seconds"),
        (('memcg = "/jobs/a"', 'memcg = "/nope"'), "two.toml:27: workload[0].memcg:", "/nope"),
        (("stop = 3.5", "stop = 4.5"), "two.toml:29: workload[0].stop:", "unmounted"),
        (("at = 2.0", "at = 2.0\nwhen = 3"), "two.toml:33: workload[0].phases[0].when:", "unknown"),
        (("nodes = 2", "nodes = 0"), "two.toml:6: machine.nodes:", ">= 1"),
        (("[[mount]]", "[[mount]\n"), "two.toml:", "not valid TOML"),
    ],
)
def test_each_mistake_is_one_located_error(
    change: tuple[str, str], where: str, message: str
) -> None:
    text = GOOD.replace(*change, 1)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="two.toml")
    assert str(info.value).startswith(where)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_plugin_references_are_checked_against_a_simulation() -> None:
    s = parse_scenario(GOOD.replace("rate = 10", "rat = 10"), file="two.toml")
    sim = Simulation.build(plugins=[ToyPlugin()], autoload=False)
    with pytest.raises(ScenarioError, match=r"two.toml:33: workload\[0\].phases\[0\].params.rat:"):
        check_plugins(s, sim)
    s = parse_scenario(GOOD.replace('"fill"', '"fil"'), file="two.toml")
    with pytest.raises(ScenarioError, match=r":26: workload\[0\].type: unknown workload 'fil'"):
        check_plugins(s, sim)
    # cgroup v1 (the seed) has no memory.high
    s = parse_scenario(GOOD.replace('max = "64MiB"', 'high = "64MiB"'), file="two.toml")
    with pytest.raises(ScenarioError, match=r":11: memcg\[0\].high: profile v3.14-kmemcg-v15"):
        check_plugins(s, sim)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'name = "ok"\n# caf\xe9\n')
    with pytest.raises(ScenarioError, match=r"latin1.toml:2: not UTF-8"):
        load_scenario(bad)


def test_the_embedded_default_is_valid() -> None:
    s = default_scenario()
    assert s.name == "default"
    assert s.machine.nodes == 2
    assert {w.type for w in s.workloads} >= {
        "metadata-copy-hardlinks",
        "negative-dentry-storm",
        "quota-churn",
    }
    assert any(m.respawn is not None for m in s.memcgs)
    assert {c.type for c in s.consumers} == {"reaper", "oomd"}
