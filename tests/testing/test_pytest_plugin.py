"""The opt-in pytest plugin ``shrinkfw.testing.pytest_plugin``, used from inner pytest
sessions (``pytester``), and what ``import shrinkfw.testing`` costs."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

PLUGIN = "shrinkfw.testing.pytest_plugin"
#: Options of every inner session: hypothesis's plugin would import hypothesis afresh in each.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

FIXTURE_TESTS = """
import pytest

import shrinkfw


class Counter:
    name = "counter"

    def __init__(self):
        self.online = 0

    @shrinkfw.hookimpl
    def shrinkfw_memcg_online(self):
        self.online += 1


COUNTER = Counter()


@pytest.fixture
def shrinkfw_plugins():
    return [COUNTER]


def test_sim_is_built_from_the_fixtures(sim, shrinkfw_profile):
    assert shrinkfw_profile == "v6.7"
    assert sim.profile.name == "v6.7"
    assert sim.pm.get_plugin("counter") is COUNTER


def test_make_sim_takes_build_arguments(make_sim):
    other = Counter()
    sim = make_sim(nr_nodes=2, plugins=[other], seed=5)
    assert (sim.nr_nodes, sim.seed) == (2, 5)
    assert sim.pm.get_plugin("counter") is COUNTER
    assert sim.pm.get_plugin("counter#2") is other
    assert make_sim(profile="v4.9").profile.name == "v4.9"


def test_entry_points_are_not_loaded_unless_asked(make_sim, monkeypatch):
    monkeypatch.delenv("SHRINKFW_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    names = {name for name, _ in make_sim().pm.list_name_plugin()}
    assert names == {"counter", "shrinkfw.vfs", "shrinkfw.vmscan"}


def test_hook_recorder_is_registered_on_sim(sim, hook_recorder):
    memcg = sim.memcgs.create("a")
    hook_recorder.assert_called("memcg_online", memcg=memcg)
    assert sim.pm.get_plugin("shrinkfw.testing.HookRecorder") is hook_recorder


@pytest.mark.shrinkfw_profile("v3.14-kmemcg-v15")
def test_the_marker_picks_the_profile_and_kmem_memcg_turns_kmem_on(sim, kmem_memcg, make_sim):
    assert sim.profile.name == "v3.14-kmemcg-v15"
    assert not sim.memcgs.create("plain").kmem_active
    parent = kmem_memcg("a")
    child = kmem_memcg("b", parent)
    assert parent.kmem_active and child.kmem_active
    assert child.path == "/a/b"
    other = make_sim()
    mine = kmem_memcg("c", sim=other)
    assert mine.kmem_active
    assert other.memcgs.get("/c") is mine
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(f"pytest_plugins = [{PLUGIN!r}]")
    return pytester


def test_the_fixtures_work(inner: pytest.Pytester) -> None:
    inner.makepyfile(FIXTURE_TESTS)
    result = inner.runpytest(*QUIET, "--strict-markers")
    result.assert_outcomes(passed=5)


def test_the_command_line_option_picks_the_profile(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        def test_option(sim):
            assert sim.profile.name == "v3.14-kmemcg-v15"

        @pytest.mark.shrinkfw_profile("v6.7")
        def test_the_marker_wins(sim):
            assert sim.profile.name == "v6.7"
        """
    )
    result = inner.runpytest(*QUIET, "--shrinkfw-profile", "v3.14-kmemcg-v15")
    result.assert_outcomes(passed=2)


def test_a_parametrized_override_of_the_profile_fixture(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.fixture(params=["v3.14-kmemcg-v15", "v6.7"])
        def shrinkfw_profile(request):
            return request.param

        def test_each(sim, shrinkfw_profile):
            assert sim.profile.name == shrinkfw_profile
        """
    )
    inner.runpytest(*QUIET).assert_outcomes(passed=2)


def test_a_malformed_marker_is_an_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.shrinkfw_profile()
        def test_it(sim):
            pass
        """
    )
    result = inner.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*use @pytest.mark.shrinkfw_profile('<profile name>')*"])


def test_it_is_opt_in(pytester: pytest.Pytester) -> None:
    """Without the plugin enabled the fixtures do not exist; ``-p`` enables it."""
    pytester.makepyfile("def test_it(sim):\n    assert sim.profile.name == 'v6.7'\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'sim' not found*"])
    pytester.runpytest(*QUIET, "-p", PLUGIN).assert_outcomes(passed=1)
    result = pytester.runpytest(*QUIET, "-p", PLUGIN, "--help")
    result.stdout.fnmatch_lines(["*--shrinkfw-profile=NAME*"])


def test_shrinkfw_declares_no_pytest11_entry_point() -> None:
    found = [
        ep.value
        for ep in importlib.metadata.entry_points(group="pytest11")
        if ep.value.startswith("shrinkfw")
    ]
    assert found == []


def test_importing_the_kit_does_not_import_pytest() -> None:
    """``import shrinkfw.testing``, the fakes and the recorder work without pytest; the
    contract suites load (and import pytest) on first use."""
    code = (
        "import sys\n"
        "import shrinkfw.testing as t\n"
        "assert t.HookRecorder and t.ObjectCacheShrinker and t.make_kmem_memcg\n"
        "assert 'pytest' not in sys.modules, 'imported pytest'\n"
        "assert {'ShrinkerContract', 'VmpressureConsumerContract'} <= set(dir(t))\n"
        "assert t.VmpressureConsumerContract.__module__ == 'shrinkfw.testing.consumer'\n"
        "assert t.ShrinkerContract.__module__ == 'shrinkfw.testing.contract'\n"
        "assert 'pytest' in sys.modules\n"
        "try:\n"
        "    t.NoSuchThing\n"
        "except AttributeError as e:\n"
        "    assert 'NoSuchThing' in str(e)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
