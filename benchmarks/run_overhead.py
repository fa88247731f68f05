"""What does recording a run cost next to the simulation it records?

The embedded default scenario, shortened to 8 simulated seconds (past the /leak container's
limit storm), is run twice in this process from identically built simulations: once bare
(the scenario's events on the clock, no recorder, nothing written) and once as
``shrinkfw run`` does it (the recorder turning every tracepoint into a JSON event and a
kernel-format trace line, per-tick metrics, the streamed files and summary.json; the
report's plots are not part of it). The best of the repetitions is kept for each.

Prints both times and their ratio, and exits 1 if the ratio exceeds 2.0. Needs the in-repo
plugins installed (the default scenario uses all of them). Run:
``python benchmarks/run_overhead.py``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

try:
    import shrinkfw
except ImportError:  # running from a source tree without an install
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import shrinkfw

from shrinkfw.runner import ScenarioRun
from shrinkfw.scenario import Scenario, parse_scenario

DURATION = 8.0
REPEATS = 3
RATIO_LIMIT = 2.0


def scenario() -> Scenario:
    text = resources.files(shrinkfw).joinpath("scenarios", "default.toml").read_text()
    return parse_scenario(text.replace("duration = 20.0", f"duration = {DURATION}"))


def bare(out: Path) -> float:
    run = ScenarioRun(scenario(), out=out, report=False)
    run.sim.pm.unregister(name="shrinkfw.recorder")
    gc.collect()
    start = time.perf_counter()
    run.sim.run(until=DURATION)
    return time.perf_counter() - start


def recorded(out: Path) -> float:
    run = ScenarioRun(scenario(), out=out, report=False)
    gc.collect()
    start = time.perf_counter()
    run.run()
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        base = min(bare(Path(tmp) / f"bare{i}") for i in range(REPEATS))
        full = min(recorded(Path(tmp) / f"full{i}") for i in range(REPEATS))
        size = sum(f.stat().st_size for f in (Path(tmp) / "full0").iterdir())
    ratio = full / base
    print(f"default scenario, {DURATION:g} simulated s, best of {REPEATS}")
    print(f"  bare simulation:        {base:7.2f} s")
    print(f"  recorded (shrinkfw run): {full:7.2f} s  ({size / 1e6:.1f} MB written)")
    print(f"ratio recorded / bare: {ratio:.2f} (limit {RATIO_LIMIT})")
    return 0 if ratio <= RATIO_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
