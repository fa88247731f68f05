"""``ScenarioRun`` and ``shrinkfw run``: the run directory, determinism, early stops."""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING

import pytest

from shrinkfw import ContractViolation, ScenarioError, UsageError
from shrinkfw.cli import main
from shrinkfw.runner import ScenarioRun
from shrinkfw.scenario import parse_scenario
from shrinkfw.trace.check import check_file

from .toyplugin import ToyPlugin

if TYPE_CHECKING:
    from pathlib import Path

SCENARIO = """\
name = "toy"
duration = 4.0
tick = 0.5

[machine]
memory = "128MiB"

[[memcg]]
path = "/box"
max = "4MiB"
kmem_limit = "1GiB"

[[memcg]]
path = "/short"
kmem_limit = "1GiB"
create = 0.5
lifetime = 1.0
respawn = 0.5

[[memcg]]
path = "/hog"

[[workload]]
type = "fill"
memcg = "/box"
params = { rate = 1000, pages = 50 }

[[workload]]
type = "fill"
memcg = "/short"
params = { rate = 50 }

[[workload]]
type = "fill"
memcg = "/hog"
start = 1.0
params = { rate = 0, pages = 1500 }

[[consumer]]
type = "echo"
settings = { memcg = "/box" }
"""

FILES = ("summary.json", "events.jsonl", "metrics.csv", "ftrace.txt")


def run(tmp_path: Path, name: str = "out", text: str = SCENARIO, **kwargs: object) -> ScenarioRun:
    scenario = parse_scenario(text, file="toy.toml")
    plugin = kwargs.pop("plugin", ToyPlugin())
    r = ScenarioRun(
        scenario,
        out=tmp_path / name,
        plugins=[plugin],
        autoload=False,
        report=False,
        **kwargs,  # type: ignore[arg-type]
    )
    r.run()
    return r


def test_the_run_directory_holds_what_the_contract_says(tmp_path: Path) -> None:
    r = run(tmp_path)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    s = json.loads((out / "summary.json").read_text())
    assert (s["format"], s["profile"], s["seed"], s["ticks"], s["complete"]) == (
        1,
        "v3.14-kmemcg-v15",
        0,
        8,
        True,
    )
    box = next(m for m in s["memcgs"] if m["path"] == "/box")
    assert box["limit_bytes"] == 4 << 20
    assert box["usage_bytes"] <= 4 << 20
    # the box filled its own cache past its limit: memcg reclaim shrank its own slab
    assert s["reclaim"]["memcg_limit"] > 0
    toy = next(sh for sh in s["shrinkers"] if sh["name"] == "toy-cache")
    assert toy["plugin"] == "toy"
    assert toy["freed"] > 0
    assert toy["scanned"] >= toy["freed"]
    # /short lived four times: 0.5-1.5, 2.0-3.0, 3.5-... (three removals would need 4.5 s)
    shorts = [m for m in s["memcgs"] if m["path"] == "/short"]
    assert [(m["created"], m["removed"]) for m in shorts] == [(0.5, 1.5), (2.0, 3.0), (3.5, None)]
    # the echo consumer saw pressure on /box, and every decision is in the summary
    assert s["decisions"]["count"] == len(r.sim.decisions) > 0
    assert s["decisions"]["by_action"] == {"note (dry run)": s["decisions"]["count"]}
    assert sum(s["vmpressure"][k] for k in ("low", "medium", "critical")) > 0

    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    kinds = {e["event"] for e in events}
    assert {"mm_shrink_slab_start", "mm_shrink_slab_end", "reclaim", "memcg_online"} <= kinds
    assert {"memcg_offline", "workload_start", "workload_stop", "decision"} <= kinds
    times = [e["time"] for e in events]
    assert times == sorted(times)

    rows = list(csv.reader((out / "metrics.csv").read_text().splitlines()))
    assert rows[0] == ["time", "scope", "name", "metric", "value"]
    usage = [
        int(v) for t, sc, n, m, v in rows[1:] if (sc, n, m) == ("memcg", "/box", "usage_bytes")
    ]
    assert len(usage) == 9  # t = 0 and eight ticks
    assert max(usage) <= 4 << 20


def test_ftrace_passes_the_trace_checker_of_its_era(tmp_path: Path) -> None:
    run(tmp_path)
    path = tmp_path / "out" / "ftrace.txt"
    text = path.read_text()
    report = check_file(str(path), profile="E1")
    assert report.summary.checked > 20
    assert report.summary.mismatched == 0
    assert "nid:" not in text  # v3.14 printed no nid


def test_same_scenario_profile_and_seed_give_identical_files(tmp_path: Path) -> None:
    run(tmp_path, "a", seed=7)
    run(tmp_path, "b", seed=7)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_v6_7_runs_the_same_scenario_with_its_own_knobs(tmp_path: Path) -> None:
    text = SCENARIO.replace('kmem_limit = "1GiB"\n', "")
    r = run(tmp_path, text=text, profile="v6.7")
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (s["profile"], s["era"]) == ("v6.7", "E5")
    assert r.sim.vmstat["reclaim_memcg_limit"] > 0
    report = check_file(str(tmp_path / "out" / "ftrace.txt"), profile="E5")
    assert report.summary.checked > 0
    assert report.summary.mismatched == 0


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("raise", "scan_objects raised KeyError"),
        ("negative", "negative count -5"),
        ("float", "must return an int, got 1.5"),
        ("overfree", "reported freeing 1000000 objects"),
        ("stall", "could not make progress"),
    ],
)
def test_a_misbehaving_shrinker_stops_the_run_with_complete_files(
    tmp_path: Path, rule: str, words: str
) -> None:
    scenario = parse_scenario(SCENARIO, file="toy.toml")
    r = ScenarioRun(
        scenario,
        out=tmp_path / "out",
        plugins=[ToyPlugin(broken=rule, arm_at=1.2)],
        autoload=False,
        report=False,
    )
    result = r.run()
    assert not result.complete
    assert isinstance(result.error, ContractViolation)
    assert (result.error.plugin, result.error.shrinker) == ("toy", "broken")
    assert words in str(result.error)
    assert str(result.error).startswith("plugin 'toy': shrinker 'broken': ")
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["complete"] is False
    assert s["stopped"] == str(result.error)
    assert 1.0 <= s["time"] < 4.0
    last = json.loads((tmp_path / "out" / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "run_stopped"
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_disable_unregisters_the_offender_and_goes_on(tmp_path: Path) -> None:
    r = run(tmp_path, plugin=ToyPlugin(broken="negative", arm_at=1.2), on_plugin_error="disable")
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["complete"] is True
    assert [e["plugin"] for e in s["plugin_errors"]] == ["toy"]
    assert {"name": "toy", "disabled": True} in s["plugins"]
    assert "broken" not in {e.name for e in r.sim.shrinkers.entries}
    events = (tmp_path / "out" / "events.jsonl").read_text()
    assert events.count('"event":"plugin_disabled"') == 1


def test_a_bad_workload_parameter_writes_nothing(tmp_path: Path) -> None:
    text = SCENARIO.replace("rate = 1000", "rate = -4")
    scenario = parse_scenario(text, file="toy.toml")
    r = ScenarioRun(
        scenario, out=tmp_path / "out", plugins=[ToyPlugin()], autoload=False, report=False
    )
    with pytest.raises(ScenarioError, match=r"toy.toml:26: workload\[0\].params: fill: rate"):
        r.run()
    assert not (tmp_path / "out").exists()


def test_the_command_line_reports_a_bad_scenario_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHRINKFW_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tmp_path / "bad.toml"
    path.write_text(SCENARIO.replace("tick = 0.5", 'tick = "fast"'))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"shrinkfw: error: {path}:3: tick: expected seconds (a number), got 'fast'"
    ]
    assert not out.exists()
    assert main(["scenario", "validate", str(path)]) == 2
    # the embedded default needs the filesystem plugins
    assert main(["run", "--out", str(out)]) == 2
    assert "mount[0].fs: unknown filesystem type 'xfs'" in capsys.readouterr().err
    assert not out.exists()


def test_ctrl_c_leaves_complete_files_for_the_ticks_done(tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    scenario = parse_scenario(SCENARIO, file="toy.toml")
    r = ScenarioRun(
        scenario,
        out=tmp_path / "out",
        plugins=[ToyPlugin()],
        autoload=False,
        report=False,
        progress=interrupt,
    )
    result = r.run()
    assert result.stopped == "interrupted"
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (s["ticks"], s["time"], s["complete"]) == (3, 1.5, False)
    rows = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert rows[-1].startswith("1.500,shrinker,")
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_verbose_json_logging_names_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    path = tmp_path / "toy.toml"
    path.write_text(SCENARIO)
    logger = logging.getLogger("shrinkfw")
    try:
        from shrinkfw._log import configure_cli

        configure_cli(1, "json")
        scenario = parse_scenario(SCENARIO, file=str(path))
        ScenarioRun(
            scenario, out=tmp_path / "out", plugins=[ToyPlugin()], autoload=False, report=False
        ).run()
    finally:
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    started = next(line for line in lines if line["event"] == "run started")
    assert started == {
        "level": "info",
        "logger": "shrinkfw.run",
        "event": "run started",
        "scenario": "toy",
        "profile": "v3.14-kmemcg-v15",
        "seed": 0,
        "ticks": 8,
        "out": str(tmp_path / "out"),
    }
    assert any(line["event"] == "consumer decision" for line in lines)


def test_the_library_is_silent_unless_the_host_configures_logging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_an_out_path_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a directory")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        ScenarioRun(parse_scenario(SCENARIO), out=target, plugins=[ToyPlugin()], autoload=False)
    assert target.read_text() == "not a directory"


def test_the_command_line_runs_with_a_plugin_named_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHRINKFW_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tmp_path / "toy.toml"
    path.write_text(SCENARIO)
    spec = f"{ToyPlugin.__module__}:PLUGIN"
    assert main(["scenario", "validate", str(path), "-p", spec]) == 0
    assert "ok: 3 memcgs, 0 mounts, 3 workloads, 1 consumers" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(path), "-p", spec, "--out", str(out), "--no-report"]) == 0
    table = capsys.readouterr().out
    assert "toy: v3.14-kmemcg-v15 (E1+v15), seed 0: 8 ticks, 4 s simulated" in table
    assert "/box" in table
    assert "toy-cache" in table
    assert f"run directory: {out}/" in table
    assert main(["run", str(path), "-p", "no.such.module", "--out", str(out)]) == 2
    assert "--plugin no.such.module: cannot load it" in capsys.readouterr().err


def test_the_progress_bar_only_draws_on_a_terminal() -> None:
    import io

    from shrinkfw.run_cli import _Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = _Progress(stream, "toy")
        for n in range(1, 5):
            bar(n, 4)
    assert pipe.getvalue() == ""
    assert tty.getvalue().startswith("\rtoy [")
    assert "4/4 ticks" in tty.getvalue()
    assert tty.getvalue().endswith("\n")


def test_a_bad_parameter_found_mid_run_writes_nothing(tmp_path: Path) -> None:
    text = SCENARIO.replace(
        "params = { rate = 1000, pages = 50 }",
        "params = { rate = 1000, pages = 50 }\n[[workload.phases]]\nat = 1.2\n"
        "params = { rate = -1 }",
        1,
    )
    r = ScenarioRun(
        parse_scenario(text, file="toy.toml"),
        out=tmp_path / "out",
        plugins=[ToyPlugin()],
        autoload=False,
        report=False,
    )
    with pytest.raises(ScenarioError, match=r"workload\[0\].params: fill: rate"):
        r.run()
    assert not (tmp_path / "out").exists()


def test_the_last_tick_ends_exactly_at_the_duration(tmp_path: Path) -> None:
    text = SCENARIO.replace("duration = 4.0\ntick = 0.5", "duration = 0.9\ntick = 0.3")
    r = run(tmp_path, text=text)
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (s["ticks"], s["time"]) == (3, 0.9)
    assert r.sim.now == 0.9


def test_a_memcg_aware_offender_is_disabled_once(tmp_path: Path) -> None:
    """Every memcg of a pass would call it again: it is skipped once unregistered."""
    from shrinkfw import ShrinkerFlags

    plugin = ToyPlugin(broken="negative", arm_at=1.2, broken_flags=ShrinkerFlags.MEMCG_AWARE)
    run(tmp_path, plugin=plugin, on_plugin_error="disable")
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [e["plugin"] for e in s["plugin_errors"]] == ["toy"]
    assert s["vmstat"]["plugins_disabled"] == 1
