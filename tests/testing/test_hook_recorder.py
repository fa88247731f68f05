"""``HookRecorder``: what it records, in which order, at which time, and what its assertion
messages say."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shrinkfw import GFP_KERNEL, UsageError, hookspecs
from shrinkfw.consumer import Decision
from shrinkfw.sim import Simulation
from shrinkfw.testing import (
    NOTIFICATION_HOOKS,
    TRACEPOINT_HOOKS,
    HookRecorder,
    ObjectCacheShrinker,
    make_kmem_memcg,
)
from shrinkfw.vmpressure import Level

if TYPE_CHECKING:
    from shrinkfw.shrinker import ShrinkControl

SEED = "v3.14-kmemcg-v15"


def _build(recorder: HookRecorder, profile: str = "v6.7") -> Simulation:
    return Simulation.build(profile=profile, plugins=[recorder], autoload=False, memory=64 << 20)


def _decision(sim: Simulation, memcg: str = "/") -> Decision:
    return Decision(
        time=sim.now, consumer="test", plugin="test", action="note", memcg=memcg, reason="r"
    )


class BrokenCount(ObjectCacheShrinker):
    """Counts a negative number of objects: breaks the shrinker contract."""

    def count_objects(self, sc: ShrinkControl) -> int:
        return -1


# -- the hooks it covers ----------------------------------------------------------------------


def test_it_covers_exactly_the_notification_hooks_of_the_hookspecs() -> None:
    """Every hookspec that is neither a setup hook nor a protocol (firstresult) hook is a
    notification, and the recorder implements each with the spec's arguments."""
    setup = {"addhooks", "configure"}
    notifications = []
    for name in dir(hookspecs):
        if not name.startswith("shrinkfw_"):
            continue
        opts = getattr(getattr(hookspecs, name), "shrinkfw_spec", {})
        short = name.removeprefix("shrinkfw_")
        if opts.get("firstresult") or short in setup or short.startswith("register_"):
            continue
        notifications.append(short)
    assert sorted(notifications) == sorted(NOTIFICATION_HOOKS)
    assert set(TRACEPOINT_HOOKS) <= set(NOTIFICATION_HOOKS)
    sim = _build(recorder := HookRecorder())
    impls = {
        short: [i.plugin for i in getattr(sim.pm.hook, f"shrinkfw_{short}").get_hookimpls()]
        for short in NOTIFICATION_HOOKS
    }
    assert all(any(p is recorder for p in plugins) for plugins in impls.values())


def test_hooks_left_out_are_not_implemented() -> None:
    recorder = HookRecorder(hooks=["consumer_decision", "shrinkfw_memcg_online"])
    assert recorder.hooks == ("memcg_online", "consumer_decision")
    sim = _build(recorder)
    for short in NOTIFICATION_HOOKS:
        plugins = [i.plugin for i in getattr(sim.pm.hook, f"shrinkfw_{short}").get_hookimpls()]
        assert (recorder in plugins) is (short in recorder.hooks)
    assert not sim.hooks.wants_shrink_slab_start


def test_tracepoints_fire_only_when_recorded() -> None:
    """Recording the tracepoints makes the core build and deliver them; without them the
    core skips them, as a disabled kernel tracepoint costs nothing."""
    quiet = HookRecorder(tracepoints=False)
    assert quiet.hooks == tuple(h for h in NOTIFICATION_HOOKS if h not in TRACEPOINT_HOOKS)
    for recorder, fired in ((quiet, False), (HookRecorder(), True)):
        sim = _build(recorder)
        assert sim.hooks.wants_shrink_slab_start is fired
        cache = ObjectCacheShrinker(sim, "objs")
        cache.alloc(make_kmem_memcg(sim, "a"), 100)
        sim.drop_caches()
        if fired:
            assert recorder.count("shrink_slab_start shrink_slab_end") > 0
            start = recorder.getcalls("shrink_slab_start")[0]
            assert start.event.shrinker == "objs"
        else:
            with pytest.raises(UsageError, match="does not record 'shrink_slab_start'"):
                recorder.getcalls("shrink_slab_start")


def test_unknown_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="'shrink_slab' is not a shrinkfw notification hook"):
        HookRecorder(hooks=["shrink_slab"])
    with pytest.raises(UsageError, match="not both"):
        HookRecorder(hooks=["mount"], tracepoints=False)
    recorder = HookRecorder()
    with pytest.raises(UsageError, match="'memcg_onlin' is not a shrinkfw notification hook"):
        recorder.getcalls("memcg_onlin")


# -- what it records --------------------------------------------------------------------------


def test_calls_are_kept_in_order_with_the_simulation_time() -> None:
    recorder = HookRecorder(tracepoints=False)
    sim = _build(recorder, SEED)
    sim.vfs.fs_types.add("testfs", plugin="test")
    sim.run(until=1.0)
    a = sim.memcgs.create("a")
    sim.run(until=2.5)
    sb = sim.vfs.mount("testfs", "vdb")
    inode = sim.vfs.iget(sb, 7, None)
    sim.vfs.evict_inode(inode)
    sim.run(until=3.0)
    sim.record_decision(_decision(sim, "/a"))
    sim.rmdir(a)
    sim.run(until=4.0)
    sim.vfs.umount(sb)
    assert [(c.name, c.time) for c in recorder.calls] == [
        ("memcg_online", 1.0),
        ("mount", 2.5),
        ("evict_inode", 2.5),
        ("consumer_decision", 3.0),
        ("memcg_offline", 3.0),
        ("memcg_free", 3.0),
        ("umount", 4.0),
    ]
    online, mount, evict, decision, *_ = recorder.calls
    assert online.memcg is a
    assert online.kwargs == {"memcg": a}
    assert mount.sb is sb
    assert evict.inode is inode
    assert decision.decision.memcg == "/a"
    assert [c.memcg for c in recorder.getcalls("memcg_offline memcg_free")] == [a, a]
    assert recorder.getcalls(["shrinkfw_memcg_free", "umount"])[1].sb is sb
    with pytest.raises(AttributeError, match="has no argument 'sb'"):
        _ = online.sb
    assert repr(online).startswith("<RecordedCall memcg_online at 1 s (memcg=")


def test_reclaim_vmpressure_and_a_disabled_plugin_are_recorded() -> None:
    recorder = HookRecorder()
    sim = _build(recorder)
    sim.on_plugin_error = "disable"
    box = sim.memcgs.create("box")
    sim.set_max(box, 256)
    listener = sim.vmpressure.register_event(box, Level.LOW)
    for _ in range(8):
        sim.alloc_user_pages(box, 64)
    done = recorder.getcalls("reclaim_done")
    assert done
    assert all(c.record.target is box and not c.reclaim and c.in_reclaim for c in done)
    window = recorder.assert_called("vmpressure_window", window__memcg=box)
    assert window.in_reclaim
    event = recorder.assert_called("vmpressure", event__listener=listener)
    assert event.event.memcg is box
    assert recorder.count("vmpressure") == listener.total

    BrokenCount(sim, "broken", plugin="someone")
    sim.shrink_slab(nid=0, memcg=None, gfp_mask=GFP_KERNEL)
    disabled = recorder.assert_called("plugin_disabled", plugin="someone")
    assert "broken" in disabled.error


def test_the_recorder_can_join_a_built_simulation_and_be_cleared() -> None:
    sim = Simulation.build(profile="v6.7", autoload=False)
    recorder = HookRecorder(hooks=["memcg_online"])
    sim.pm.register(recorder)
    sim.memcgs.create("a")
    assert recorder.count("memcg_online") == 1
    assert repr(recorder) == "<HookRecorder 1 calls: memcg_online=1>"
    recorder.clear()
    assert recorder.calls == []
    sim.memcgs.create("b")
    assert recorder.getcall("memcg_online").memcg.path == "/b"


def test_two_recorders_get_their_own_names_in_build() -> None:
    first, second = HookRecorder(), HookRecorder()
    sim = Simulation.build(profile="v6.7", autoload=False, plugins=[first, second])
    names = dict(sim.pm.list_name_plugin())
    assert names["shrinkfw.testing.HookRecorder"] is first
    assert names["shrinkfw.testing.HookRecorder#2"] is second


# -- assertions -------------------------------------------------------------------------------


@pytest.fixture
def offlined() -> tuple[HookRecorder, Simulation]:
    recorder = HookRecorder(tracepoints=False)
    sim = _build(recorder)
    for name in ("a", "b"):
        sim.run(until=sim.now + 0.5)
        sim.rmdir(sim.memcgs.create(name))
    return recorder, sim


def test_assert_called_returns_the_first_matching_call(
    offlined: tuple[HookRecorder, Simulation],
) -> None:
    recorder, _ = offlined
    call = recorder.assert_called("memcg_offline", memcg__path="/b")
    assert call.time == 1.0
    assert recorder.assert_called("memcg_offline").memcg.path == "/a"
    assert recorder.assert_called("shrinkfw_memcg_free", time=pytest.approx(0.5)).memcg.path == "/a"
    assert recorder.assert_called("memcg_offline", in_reclaim=False, reclaim=None) is not None


def test_assert_called_says_how_each_call_differs(
    offlined: tuple[HookRecorder, Simulation],
) -> None:
    recorder, _ = offlined
    with pytest.raises(AssertionError) as excinfo:
        recorder.assert_called("memcg_offline", memcg__path="/c", time=1.0)
    assert str(excinfo.value) == (
        "no call of shrinkfw_memcg_offline matched memcg__path='/c', time=1.0; 2 recorded:\n"
        "  [0] at 0.5 s: memcg__path='/a', time=0.5\n"
        "  [1] at 1 s: memcg__path='/b'"
    )
    with pytest.raises(AssertionError) as excinfo:
        recorder.assert_called("memcg_offline", memcg__no_such_field=1)
    assert "[0] at 0.5 s: memcg__no_such_field=<no such attribute>" in str(excinfo.value)


def test_assert_called_on_a_hook_never_called(
    offlined: tuple[HookRecorder, Simulation],
) -> None:
    recorder, _ = offlined
    with pytest.raises(AssertionError) as excinfo:
        recorder.assert_called("consumer_decision", decision__action="kill")
    assert str(excinfo.value) == (
        "shrinkfw_consumer_decision was never called (wanted decision__action='kill'); "
        "recorded: memcg_online x2, memcg_offline x2, memcg_free x2"
    )
    with pytest.raises(AssertionError, match=r"recorded: nothing$"):
        HookRecorder().assert_called("mount")


def test_assert_called_rejects_arguments_the_hook_does_not_have(
    offlined: tuple[HookRecorder, Simulation],
) -> None:
    recorder, _ = offlined
    with pytest.raises(UsageError) as excinfo:
        recorder.assert_called("memcg_offline", event=1)
    assert str(excinfo.value) == (
        "shrinkfw_memcg_offline has no argument 'event'; match on memcg, time, reclaim, in_reclaim"
    )


def test_getcall_wants_exactly_one(offlined: tuple[HookRecorder, Simulation]) -> None:
    recorder, _ = offlined
    with pytest.raises(
        AssertionError, match="expected exactly one call of shrinkfw_memcg_free, got 2"
    ):
        recorder.getcall("memcg_free")


def test_the_long_list_of_non_matching_calls_is_cut() -> None:
    recorder = HookRecorder(hooks=["memcg_online"])
    sim = _build(recorder)
    for i in range(13):
        sim.memcgs.create(f"m{i}")
    with pytest.raises(AssertionError) as excinfo:
        recorder.assert_called("memcg_online", memcg__path="/zz")
    lines = str(excinfo.value).splitlines()
    assert len(lines) == 12
    assert lines[-1] == "  ... and 3 more"
