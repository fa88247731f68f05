"""shrinkfw.list_lru: routing, counting, walking and reparenting, with the spec's numbers."""

from __future__ import annotations

import enum
from collections import OrderedDict, deque
from typing import TYPE_CHECKING

import pytest

from shrinkfw.errors import ContractViolation, ProfileError, ShrinkfwError, UsageError
from shrinkfw.list_lru import (
    LONG_MIN,
    LRU_REMOVED,
    LRU_REMOVED_RETRY,
    LRU_RETRY,
    LRU_ROTATE,
    LRU_SKIP,
    LRU_STOP,
    MEM_CGROUP_ID_MAX,
    KmemcgIdOutOfRange,
    ListLRU,
    ListLRULayout,
    LRUItem,
    LRUList,
    LRUStatus,
    memcg_caches_array_size,
)
from shrinkfw.shrinker import ShrinkControl

if TYPE_CHECKING:
    from collections.abc import Callable

NODE_ONLY = ListLRULayout.NODE_ONLY
V15 = ListLRULayout.MEMCG_ARRAY_V15
NODE_ARRAY = ListLRULayout.MEMCG_NODE_ARRAY
XARRAY = ListLRULayout.MEMCG_XARRAY
MEMCG_LAYOUTS = (V15, NODE_ARRAY, XARRAY)
PER_NODE_LAYOUTS = (NODE_ARRAY, XARRAY)


class Item(LRUItem):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Memcg:
    """A duck-typed memcg: ``kmemcg_id`` and ``parent``, identity hash."""

    def __init__(self, name: str, kmemcg_id: int, parent: Memcg | None = None) -> None:
        self.name = name
        self.kmemcg_id = kmemcg_id
        self.parent = parent

    def __repr__(self) -> str:
        return f"Memcg({self.name})"


def items(*names: str) -> list[Item]:
    return [Item(n) for n in names]


def names(it: object) -> list[str]:
    return [i.name for i in it]  # type: ignore[attr-defined]


def new_lru(layout: ListLRULayout, nr_nodes: int = 2, **kw: object) -> ListLRU:
    kw.setdefault("memcg_aware", True)
    if layout.has_array:
        kw.setdefault("array_size", memcg_caches_array_size(16))
    return ListLRU(layout, nr_nodes, name="test", **kw)  # type: ignore[arg-type]


def filled(lru: ListLRU, nid: int, memcg: Memcg | None, *names_: str) -> list[Item]:
    objs = items(*names_)
    for obj in objs:
        assert lru.add(obj, nid, memcg)
    return objs


class Recorder:
    """An isolate callback answering from a table (default SKIP) and recording the visits."""

    def __init__(self, answers: dict[str, LRUStatus] | None = None) -> None:
        self.answers = answers or {}
        self.visits: list[str] = []

    def __call__(self, item: Item, lst: LRUList) -> LRUStatus:
        self.visits.append(item.name)
        ret = self.answers.get(item.name, LRU_SKIP)
        if ret is LRU_REMOVED or ret is LRU_REMOVED_RETRY:
            lst.isolate(item)
        return ret


# -- constants and enums ---------------------------------------------------------------------


def test_status_values_follow_the_kernel_enum() -> None:
    assert [s.name for s in LRUStatus] == [
        "REMOVED",
        "REMOVED_RETRY",
        "ROTATE",
        "SKIP",
        "RETRY",
        "STOP",
    ]
    assert [int(s) for s in LRUStatus] == list(range(6))
    assert tuple(LRUStatus) == (
        LRU_REMOVED,
        LRU_REMOVED_RETRY,
        LRU_ROTATE,
        LRU_SKIP,
        LRU_RETRY,
        LRU_STOP,
    )


def test_every_status_documents_its_walker_action() -> None:
    docs = {s: s.__doc__ or "" for s in LRUStatus}
    assert all(doc and doc != LRUStatus.__doc__ for doc in docs.values())
    assert len(set(docs.values())) == len(docs)
    assert "tail" in docs[LRUStatus.ROTATE]
    assert "restart" in docs[LRUStatus.RETRY]


def test_layout_properties() -> None:
    assert not NODE_ONLY.per_memcg
    assert all(layout.per_memcg for layout in MEMCG_LAYOUTS)
    assert [layout.reparents for layout in ListLRULayout] == [False, False, True, True]
    assert [layout.has_array for layout in ListLRULayout] == [False, True, True, False]


@pytest.mark.parametrize(("nr_ids", "size"), [(-1, 0), (0, 0), (1, 4), (4, 8), (5, 10)])
def test_memcg_caches_array_size_clamps(nr_ids: int, size: int) -> None:
    assert memcg_caches_array_size(nr_ids) == size


def test_memcg_caches_array_size_tops_out_at_mem_cgroup_id_max() -> None:
    assert memcg_caches_array_size(40000) == MEM_CGROUP_ID_MAX == 65535


def test_growth_sequence_of_scenario_15() -> None:
    """Ids handed out in order grow the arrays 4 -> 10 -> 22 -> 46 (ids 0, 4, 10, 22)."""
    lru = ListLRU(NODE_ARRAY, 1, memcg_aware=True)
    sizes = []
    grew_at = []
    for kmemcg_id in range(23):
        if kmemcg_id >= lru.array_size:
            lru.memcg_update_size(memcg_caches_array_size(kmemcg_id + 1))
            sizes.append(lru.array_size)
            grew_at.append(kmemcg_id)
        assert lru.add(Item(str(kmemcg_id)), 0, Memcg(str(kmemcg_id), kmemcg_id))
    assert sizes == [4, 10, 22, 46]
    assert grew_at == [0, 4, 10, 22]


# -- add / del -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(ListLRULayout))
def test_add_and_del_return_whether_anything_changed(layout: ListLRULayout) -> None:
    lru = new_lru(layout)
    memcg = Memcg("A", 1)
    a = Item("a")
    assert lru.add(a, 0, memcg)
    assert not lru.add(a, 0, memcg)
    assert not lru.add(a, 1, None)  # already on a list, whatever list it would go to
    assert a in lru
    assert len(lru) == 1
    assert lru.del_(a)
    assert not lru.del_(a)
    assert a not in lru
    assert a.lru_link is None
    assert lru.add(a, 1, None)
    assert lru.list_of(a) is lru.list_at(1, None)


def test_an_item_is_on_one_list_lru_at_a_time() -> None:
    one, two = new_lru(NODE_ONLY), new_lru(NODE_ONLY)
    a = Item("a")
    assert one.add(a, 0)
    assert not two.add(a, 0)
    assert not two.del_(a)
    assert a not in two
    assert two.list_of(a) is None
    assert one.count() == 1
    assert two.count() == 0


def test_an_item_without_a_link_is_refused_with_advice() -> None:
    lru = new_lru(NODE_ONLY)
    with pytest.raises(UsageError, match="lru_link"):
        lru.add(object(), 0)
    assert not lru.del_(object())


def test_items_are_appended_at_the_tail() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")
    assert names(lru.items(0)) == ["a", "b", "c"]
    assert names(lru.list_at(0, None) or ()) == ["a", "b", "c"]


@pytest.mark.parametrize("layout", list(ListLRULayout))
def test_root_and_inactive_memcgs_use_the_global_node_lists(layout: ListLRULayout) -> None:
    lru = new_lru(layout)
    root = Memcg("root", -1)
    inactive = Memcg("B", -1, root)
    a, b, c = items("a", "b", "c")
    lru.add(a, 1, root)
    lru.add(b, 1, inactive)
    lru.add(c, 1, None)
    assert names(lru.items(1, None)) == ["a", "b", "c"]
    assert lru.count_one(1, root) == lru.count_one(1, None) == 3
    assert lru.count_one(0, None) == 0
    assert lru.count_node(1) == 3
    assert list(lru.nonempty()) == []


@pytest.mark.parametrize("layout", MEMCG_LAYOUTS)
def test_a_lru_that_is_not_memcg_aware_uses_the_global_lists(layout: ListLRULayout) -> None:
    lru = new_lru(layout, memcg_aware=False)
    memcg = Memcg("A", 2)
    lru.add(Item("a"), 1, memcg)
    assert lru.count_one(1, None) == lru.count_one(1, memcg) == 1
    assert list(lru.nonempty()) == []


def test_node_only_ignores_memcgs() -> None:
    lru = new_lru(NODE_ONLY)
    memcg = Memcg("A", 2)
    lru.add(Item("a"), 1, memcg)
    assert lru.count_one(1, None) == lru.count_one(1, memcg) == lru.count_node(1) == 1
    assert lru.count_one(0, memcg) == 0


# -- scenario 14: per-memcg routing and counting ----------------------------------------------


def test_scenario_14_v15_one_list_per_memcg_visible_to_nid_0() -> None:
    lru = new_lru(V15)
    memcg_a = Memcg("A", 2)
    obj = Item("obj")
    assert lru.add(obj, 1, memcg_a)
    # the memcg's single list, whatever the node: a nid 0 scan sees the node-1 object
    assert lru.count_one(0, memcg_a) == 1
    assert lru.count_one(1, memcg_a) == 1
    assert lru.list_at(0, memcg_a) is lru.list_at(1, memcg_a)
    assert names(lru.items(0, memcg_a)) == ["obj"]
    assert lru.shrink_count(ShrinkControl(nid=0, memcg=memcg_a)) == 1  # type: ignore[arg-type]
    # list_lru_count_node is the global list of the node; list_lru_count adds the memcg lists
    assert lru.count_node(0) == lru.count_node(1) == 0
    assert lru.count() == 1
    assert list(lru.nonempty()) == [(memcg_a, 0)]
    seen = Recorder()
    assert lru.walk_one(0, memcg_a, seen, 10) == (0, 9)
    assert seen.visits == ["obj"]


@pytest.mark.parametrize("layout", PER_NODE_LAYOUTS)
def test_scenario_14_v4_memcg_by_node_lists(layout: ListLRULayout) -> None:
    lru = new_lru(layout)
    memcg_a = Memcg("A", 2)
    assert lru.add(Item("obj"), 1, memcg_a)
    assert lru.count_one(0, memcg_a) == 0
    assert lru.count_one(1, memcg_a) == 1
    assert lru.shrink_count(ShrinkControl(nid=0, memcg=memcg_a)) == 0  # type: ignore[arg-type]
    assert lru.shrink_count(ShrinkControl(nid=1, memcg=memcg_a)) == 1  # type: ignore[arg-type]
    assert lru.count_node(0) == 0
    assert lru.count_node(1) == 1
    assert lru.count() == 1
    assert list(lru.nonempty()) == [(memcg_a, 1)]
    seen = Recorder()
    assert lru.walk_one(0, memcg_a, seen, 10) == (0, 10)
    assert seen.visits == []


def test_count_node_v4_sums_the_global_and_the_memcg_lists() -> None:
    lru = new_lru(NODE_ARRAY)
    filled(lru, 0, None, "g")
    filled(lru, 0, Memcg("A", 1), "a1", "a2")
    filled(lru, 0, Memcg("B", 3), "b")
    filled(lru, 1, Memcg("B2", 4), "x")
    assert lru.count_node(0) == 4
    assert lru.count_node(1) == 1
    assert lru.count() == 5
    assert len(lru) == 5


# -- array growth ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [V15, NODE_ARRAY])
def test_an_id_beyond_the_array_is_a_bug(layout: ListLRULayout) -> None:
    lru = ListLRU(layout, 2, memcg_aware=True, name="sb", array_size=4)
    memcg = Memcg("E", 4)
    obj = Item("obj")
    with pytest.raises(KmemcgIdOutOfRange, match=r"kmemcg_id 4 .* 4 slots.*= 10") as info:
        lru.add(obj, 0, memcg)
    assert isinstance(info.value, ShrinkfwError)
    assert isinstance(info.value, IndexError)
    assert obj.lru_link is None
    with pytest.raises(KmemcgIdOutOfRange):
        lru.count_one(0, memcg)
    lru.memcg_update_size(10)
    assert lru.array_size == 10
    assert lru.add(obj, 0, memcg)
    assert lru.count_one(0, memcg) == 1


def test_arrays_only_grow() -> None:
    lru = ListLRU(NODE_ARRAY, 1, memcg_aware=True, array_size=10)
    with pytest.raises(UsageError, match="only grow"):
        lru.memcg_update_size(4)
    with pytest.raises(UsageError):
        lru.memcg_update_size(MEM_CGROUP_ID_MAX + 1)
    lru.memcg_update_size(10)
    assert lru.array_size == 10


@pytest.mark.parametrize("layout", [NODE_ONLY, XARRAY])
def test_layouts_without_arrays_ignore_growth(layout: ListLRULayout) -> None:
    lru = ListLRU(layout, 1, memcg_aware=True)
    lru.memcg_update_size(22)
    assert lru.array_size == 0
    assert lru.add(Item("a"), 0, Memcg("big", 5000))


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(UsageError):
        ListLRU(NODE_ONLY, 0, memcg_aware=False)
    with pytest.raises(UsageError):
        ListLRU("node_only", 1, memcg_aware=False)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        ListLRU(NODE_ARRAY, 1, memcg_aware=True, array_size=-1)


# -- walking: the status table ---------------------------------------------------------------


def test_removed_counts_as_isolated_and_unlinks() -> None:
    lru = new_lru(NODE_ONLY)
    a, b = filled(lru, 0, None, "a", "b")
    seen = Recorder({"a": LRU_REMOVED})
    assert lru.walk_one(0, None, seen, 5) == (1, 3)
    assert seen.visits == ["a", "b"]
    assert names(lru.items(0)) == ["b"]
    assert a.lru_link is None
    assert b.lru_link is lru.list_at(0)
    assert lru.count_one(0) == 1


def test_rotate_moves_to_the_tail_and_skip_leaves_in_place() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")
    seen = Recorder({"a": LRU_ROTATE})
    assert lru.walk_one(0, None, seen, 3) == (0, 0)
    assert seen.visits == ["a", "b", "c"]
    assert names(lru.items(0)) == ["b", "c", "a"]


def test_stop_ends_the_walk_of_the_list() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")
    seen = Recorder({"b": LRU_STOP})
    assert lru.walk_one(0, None, seen, 10) == (0, 8)
    assert seen.visits == ["a", "b"]


def test_retry_restarts_from_the_head_and_the_budget_ends_it() -> None:
    """The budget is taken before the callback: a list of RETRY items cannot livelock."""
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b")
    seen = Recorder({"a": LRU_RETRY})
    assert lru.walk_one(0, None, seen, 5) == (0, 0)
    assert seen.visits == ["a"] * 5


def test_removed_retry_isolates_and_restarts_from_the_head() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")
    seen = Recorder({"b": LRU_REMOVED_RETRY, "c": LRU_REMOVED})
    assert lru.walk_one(0, None, seen, 10) == (2, 6)
    assert seen.visits == ["a", "b", "a", "c"]
    assert names(lru.items(0)) == ["a"]


def test_budget_is_taken_before_each_callback() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, *"abcdef")
    seen = Recorder()
    assert lru.walk_one(0, None, seen, 4) == (0, 0)
    assert seen.visits == list("abcd")
    assert lru.walk_one(0, None, seen, 0) == (0, 0)
    assert seen.visits == list("abcd")
    with pytest.raises(UsageError):
        lru.walk_one(0, None, seen, -1)


def test_walking_an_empty_or_unknown_list_visits_nothing() -> None:
    lru = new_lru(NODE_ARRAY)
    seen = Recorder()
    assert lru.walk_one(0, None, seen, 7) == (0, 7)
    assert lru.walk_one(0, Memcg("A", 3), seen, 7) == (0, 7)
    assert seen.visits == []


# -- walking: list_for_each_safe -------------------------------------------------------------


def test_rotated_items_are_revisited_when_the_budget_outlasts_the_list() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "A", "B")
    seen = Recorder({"A": LRU_ROTATE, "B": LRU_ROTATE})
    assert lru.walk_one(0, None, seen, 5) == (0, 0)
    assert seen.visits == ["A", "B", "A", "B", "A"]
    assert names(lru.items(0)) == ["B", "A"]


def test_a_rotated_last_item_ends_the_walk() -> None:
    """B's saved next pointer is the head: nothing before it was rotated behind it."""
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "A", "B")
    seen = Recorder({"A": LRU_SKIP, "B": LRU_ROTATE})
    assert lru.walk_one(0, None, seen, 4) == (0, 2)
    assert seen.visits == ["A", "B"]
    assert names(lru.items(0)) == ["A", "B"]


def test_the_walk_follows_earlier_rotations_past_a_removed_last_item() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "A", "B")
    seen = Recorder({"A": LRU_ROTATE, "B": LRU_REMOVED})
    assert lru.walk_one(0, None, seen, 5) == (1, 2)
    assert seen.visits == ["A", "B", "A"]


def test_rotations_keep_skipped_items_in_front() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "A", "B", "C")
    seen = Recorder({"A": LRU_ROTATE, "B": LRU_SKIP, "C": LRU_ROTATE})
    assert lru.walk_one(0, None, seen, 10) == (0, 0)
    assert seen.visits == ["A", "B", "C", "A", "C", "A", "C", "A", "C", "A"]
    assert names(lru.items(0)) == ["B", "C", "A"]


def test_a_long_walk_crosses_chunks_into_the_rotated_items() -> None:
    lru = new_lru(NODE_ONLY)
    objs = filled(lru, 0, None, *(f"i{n}" for n in range(700)))
    visits: list[Item] = []

    def rotate_all(item: Item, lst: LRUList) -> LRUStatus:
        visits.append(item)
        return LRU_ROTATE

    assert lru.walk_one(0, None, rotate_all, 1500) == (0, 0)
    assert visits == (objs * 3)[:1500]


def test_a_long_walk_of_skips_visits_each_item_once() -> None:
    lru = new_lru(NODE_ONLY)
    objs = filled(lru, 0, None, *(f"i{n}" for n in range(1000)))
    seen = Recorder()
    assert lru.walk_one(0, None, seen, 5000) == (0, 4000)
    assert seen.visits == names(objs)


# -- scenario 9: the dcache isolate table ----------------------------------------------------


class Dentry(LRUItem):
    __slots__ = ("count", "freed", "lock_contended", "name", "referenced")

    def __init__(self, name: str, count: int = 0, referenced: bool = False) -> None:
        super().__init__()
        self.name = name
        self.count = count
        self.referenced = referenced
        self.lock_contended = False
        self.freed = False


def dentry_lru_isolate(dispose: list[Dentry]) -> Callable[[Dentry, LRUList], LRUStatus]:
    """The v3.14 decision table of spec §7.2."""

    def isolate(dentry: Dentry, lst: LRUList) -> LRUStatus:
        if dentry.lock_contended:
            return LRU_SKIP
        if dentry.count > 0:
            lst.isolate(dentry)  # off the LRU, not freed
            return LRU_REMOVED
        if dentry.referenced:
            dentry.referenced = False
            return LRU_ROTATE
        lst.isolate_move(dentry, dispose)
        return LRU_REMOVED

    return isolate


def scenario_9(contended_c: bool) -> tuple[ListLRU, list[Dentry], int, list[Dentry]]:
    lru = new_lru(NODE_ONLY, nr_nodes=1)
    a = Dentry("A", referenced=True)
    b = Dentry("B", count=2)
    c = Dentry("C")
    d = Dentry("D")
    c.lock_contended = contended_c
    for dentry in (a, b, c, d):
        lru.add(dentry, 0)
    dispose: list[Dentry] = []
    sc = ShrinkControl(nid=0, nr_to_scan=3)
    freed = lru.shrink_walk(sc, dentry_lru_isolate(dispose))
    assert sc.nr_to_scan == 0
    for dentry in dispose:
        dentry.freed = True
    return lru, [a, b, c, d], freed, dispose


def test_scenario_9_dcache_walk() -> None:
    lru, (a, b, c, _d), isolated, dispose = scenario_9(contended_c=False)
    assert isolated == 2
    assert names(lru.items(0)) == ["D", "A"]
    assert lru.count_one(0) == 2
    assert not a.referenced
    assert b.lru_link is None
    assert not b.freed
    assert dispose == [c]
    assert c.freed
    assert c.lru_link is None


def test_scenario_9_contended_lock_skips() -> None:
    lru, (_a, _b, c, _d), isolated, dispose = scenario_9(contended_c=True)
    assert isolated == 1
    assert names(lru.items(0)) == ["C", "D", "A"]
    assert lru.count_one(0) == 3
    assert dispose == []
    assert c.lru_link is lru.list_at(0)


def dispose_after_walk(dispose: list[Item] | deque[Item] | OrderedDict[Item, None]) -> list[str]:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")

    def move(item: Item, lst: LRUList) -> LRUStatus:
        lst.isolate_move(item, dispose)
        return LRU_REMOVED

    assert lru.walk_one(0, None, move, 3) == (3, 0)
    assert lru.count_one(0) == 0
    return names(dispose)


def test_isolate_move_puts_items_at_the_head_of_a_dispose_list() -> None:
    """list_move: the newest isolated item is at the head; a Python list holds it reversed."""
    assert dispose_after_walk(deque()) == ["c", "b", "a"]
    assert dispose_after_walk(OrderedDict()) == ["c", "b", "a"]
    assert dispose_after_walk([]) == ["a", "b", "c"]


# -- walking: contract breaches and exceptions -----------------------------------------------


def test_a_raising_callback_leaves_the_item_in_place() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b", "c")

    def boom(item: Item, lst: LRUList) -> LRUStatus:
        if item.name == "b":
            raise RuntimeError("callback failed")
        return LRU_ROTATE

    with pytest.raises(RuntimeError):
        lru.walk_one(0, None, boom, 10)
    assert names(lru.items(0)) == ["b", "c", "a"]
    assert lru.count_one(0) == 3
    assert all(obj.lru_link is lru.list_at(0) for obj in lru.items(0))
    seen = Recorder()
    assert lru.walk_one(0, None, seen, 10) == (0, 7)


def test_a_callback_that_unlinks_then_raises_leaves_a_consistent_lru() -> None:
    lru = new_lru(NODE_ARRAY)
    memcg = Memcg("A", 1)
    (a,) = filled(lru, 0, memcg, "a")

    def unlink_then_fail(item: Item, lst: LRUList) -> LRUStatus:
        lst.isolate(item)
        raise RuntimeError("after unlinking")

    with pytest.raises(RuntimeError):
        lru.walk_one(0, memcg, unlink_then_fail, 5)
    assert a.lru_link is None
    assert lru.count_one(0, memcg) == 0
    assert list(lru.nonempty()) == []
    assert lru.add(a, 0, memcg)


def test_plain_ints_are_accepted_and_junk_is_a_contract_violation() -> None:
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, None, "a", "b")
    assert lru.walk_one(0, None, lambda item, lst: 2, 2) == (0, 0)  # type: ignore[arg-type,return-value]
    assert names(lru.items(0)) == ["a", "b"]
    with pytest.raises(ContractViolation, match="returned None"):
        lru.walk_one(0, None, lambda item, lst: None, 2)  # type: ignore[arg-type,return-value]
    with pytest.raises(ContractViolation):
        lru.walk_one(0, None, lambda item, lst: 9, 2)  # type: ignore[arg-type,return-value]
    assert lru.count_one(0) == 2


def test_rotating_an_unlinked_item_is_a_contract_violation() -> None:
    lru = new_lru(NODE_ONLY)
    (a,) = filled(lru, 0, None, "a")

    def liar(item: Item, lst: LRUList) -> LRUStatus:
        lst.isolate(item)
        return LRU_ROTATE

    with pytest.raises(ContractViolation, match="ROTATE"):
        lru.walk_one(0, None, liar, 1)
    assert a.lru_link is None
    assert lru.count_one(0) == 0


def removed_but_left_linked(item: Item, lst: LRUList) -> LRUStatus:
    """The gfs2 quota isolate before ~v6.5: REMOVED for a busy entry it did not unlink."""
    return LRU_REMOVED


def test_e1_walker_drops_the_list_count_for_a_removed_item_left_linked() -> None:
    lru = new_lru(NODE_ONLY)
    a, _b = filled(lru, 0, None, "a", "b")
    assert lru.walk_one(0, None, removed_but_left_linked, 1) == (1, 0)
    assert a.lru_link is lru.list_at(0)
    assert names(lru.items(0)) == ["a", "b"]
    assert lru.count_one(0) == 1  # the list count drifted from the length
    assert lru.count_node(0) == 1
    lru.walk_one(0, None, removed_but_left_linked, 2)
    # -1 as unsigned long, as v3.14 list_lru_count_node returns it
    assert lru.count_one(0) == (1 << 64) - 1
    lst = lru.list_at(0)
    assert lst is not None
    assert lst.nr_items == -1
    assert len(lst) == 2


@pytest.mark.parametrize(("node_nr_items", "node_count"), [(False, 2), (True, 1)])
def test_v4_walker_keeps_the_list_count_and_maybe_drops_the_node_total(
    node_nr_items: bool, node_count: int
) -> None:
    lru = new_lru(NODE_ARRAY, node_nr_items=node_nr_items)
    memcg = Memcg("A", 1)
    filled(lru, 0, memcg, "a", "b")
    assert lru.walk_one(0, memcg, removed_but_left_linked, 1) == (1, 0)
    assert lru.count_one(0, memcg) == 2
    assert lru.count_node(0) == node_count


def test_xarray_keeps_the_node_total_and_clamps_negative_counts() -> None:
    lru = new_lru(XARRAY)
    memcg = Memcg("A", 7)
    filled(lru, 0, memcg, "a")
    lru.walk_one(0, memcg, removed_but_left_linked, 1)
    assert lru.count_one(0, memcg) == 1
    assert lru.count_node(0) == 0
    lst = lru.list_at(0, memcg)
    assert lst is not None
    lst.nr_items = -3
    assert lru.count_one(0, memcg) == 0
    assert list(lru.nonempty()) == []


def test_a_skipping_walk_of_a_long_list_with_left_linked_removals() -> None:
    lru = new_lru(NODE_ARRAY)
    memcg = Memcg("A", 1)
    objs = filled(lru, 0, memcg, *(f"i{n}" for n in range(600)))
    visits: list[str] = []

    def every_third_left(item: Item, lst: LRUList) -> LRUStatus:
        visits.append(item.name)
        n = int(item.name[1:])
        if n % 3 == 0:
            return LRU_REMOVED  # left linked
        if n % 3 == 1:
            lst.isolate(item)
            return LRU_REMOVED
        return LRU_SKIP

    assert lru.walk_one(0, memcg, every_third_left, 1000) == (400, 400)
    assert visits == names(objs)
    assert len(lru.list_at(0, memcg) or ()) == 400
    assert all(
        obj.lru_link is (None if int(obj.name[1:]) % 3 == 1 else lru.list_at(0, memcg))
        for obj in objs
    )


# -- walk_node --------------------------------------------------------------------------------


def node_lru(layout: ListLRULayout) -> tuple[ListLRU, Memcg, Memcg]:
    lru = new_lru(layout)
    low, high = Memcg("low", 1), Memcg("high", 3)
    filled(lru, 0, None, "g1", "g2")
    filled(lru, 0, high, "h1")
    filled(lru, 0, low, "l1", "l2")
    filled(lru, 1, low, "other-node")
    filled(lru, 1, None, "other-global")
    return lru, low, high


@pytest.mark.parametrize("layout", PER_NODE_LAYOUTS)
def test_walk_node_walks_the_global_list_then_memcgs_by_id(layout: ListLRULayout) -> None:
    lru, _low, _high = node_lru(layout)
    seen = Recorder()
    assert lru.walk_node(0, seen, 10) == (0, 5)
    assert seen.visits == ["g1", "g2", "l1", "l2", "h1"]
    seen = Recorder()
    assert lru.walk_node(0, seen, 3) == (0, 0)
    assert seen.visits == ["g1", "g2", "l1"]


def test_walk_node_in_e1_layouts_walks_the_global_list_only() -> None:
    for layout in (NODE_ONLY, V15):
        lru, _low, _high = node_lru(layout)
        seen = Recorder()
        global_items = ["g1", "g2", "h1", "l1", "l2"] if layout is NODE_ONLY else ["g1", "g2"]
        assert lru.walk_node(0, seen, 10) == (0, 10 - len(global_items))
        assert seen.visits == global_items


def test_walk_node_skips_dead_xarray_lists() -> None:
    lru, low, _high = node_lru(XARRAY)
    lru.reparent(low, None)
    seen = Recorder()
    assert lru.walk_node(0, seen, 10) == (0, 5)
    assert seen.visits == ["l1", "l2", "g1", "g2", "h1"]


# -- scenario 16: reparenting ----------------------------------------------------------------


@pytest.mark.parametrize("layout", PER_NODE_LAYOUTS)
def test_scenario_16_reparenting_splices_the_child_in_front(layout: ListLRULayout) -> None:
    bits: list[tuple[Memcg, int]] = []
    lru = new_lru(layout, on_nonempty=lambda memcg, nid: bits.append((memcg, nid)))
    root = Memcg("root", -1)
    parent = Memcg("P", 1, root)
    child = Memcg("C", 2, parent)
    p_items = filled(lru, 0, parent, "p0", "p1")
    c_items = filled(lru, 0, child, *(f"c{n}" for n in range(10)))
    assert bits == [(parent, 0), (child, 0)]
    bits.clear()

    assert lru.reparent(child, parent) == 10
    assert names(lru.items(0, parent)) == names(c_items) + names(p_items)
    assert lru.count_one(0, parent) == 12
    assert lru.count_one(0, child) == 0
    assert bits == [(parent, 0)]  # the parent's bit, node 0 only: node 1 had nothing
    assert list(lru.nonempty()) == [(parent, 0)]
    assert all(obj.lru_link is lru.list_at(0, parent) for obj in c_items)
    assert lru.count_node(0) == 12

    child_list = lru.list_at(0, child)
    assert child_list is not None
    if layout is XARRAY:
        assert child_list.dead
        assert child_list.nr_items == LONG_MIN == -(1 << 63)
    else:
        assert not child_list.dead
        assert child_list.nr_items == 0
        child.kmemcg_id = parent.kmemcg_id  # the memcg model's job (memcg_offline_kmem)

    late = Item("late")
    assert lru.add(late, 0, child)
    assert names(lru.items(0, parent))[-1] == "late"
    assert lru.count_one(0, parent) == 13
    assert lru.count_one(0, child) == (0 if layout is XARRAY else 13)

    seen = Recorder()
    lru.walk_one(0, parent, seen, 3)
    assert seen.visits == ["c0", "c1", "c2"]  # the child's items come first


def test_scenario_16_the_child_id_is_reusable_after_reparenting() -> None:
    lru = new_lru(NODE_ARRAY)
    root = Memcg("root", -1)
    parent = Memcg("P", 1, root)
    child = Memcg("C", 2, parent)
    filled(lru, 0, child, "c")
    lru.reparent(child, parent)
    child.kmemcg_id = parent.kmemcg_id
    newcomer = Memcg("D", 2, root)  # gets the freed id 2
    filled(lru, 0, newcomer, "d")
    assert lru.count_one(0, newcomer) == 1
    assert lru.count_one(0, parent) == 1
    assert names(lru.items(0, parent)) == ["c"]
    assert list(lru.nonempty()) == [(parent, 0), (newcomer, 0)]


def test_xarray_a_reused_memcg_id_gets_fresh_lists() -> None:
    lru = new_lru(XARRAY)
    root = Memcg("root", -1)
    parent = Memcg("P", 1, root)
    child = Memcg("C", 5, parent)
    filled(lru, 0, child, "c")
    lru.reparent(child, parent)
    newcomer = Memcg("N", 5, root)  # memcg ids are recycled: same kmemcg_id, other memcg
    assert lru.count_one(0, newcomer) == 0
    filled(lru, 0, newcomer, "n")
    assert lru.count_one(0, newcomer) == 1
    assert names(lru.items(0, parent)) == ["c"]
    # the kernel would look the recycled id up too: callers pass a dead memcg's objects with
    # the memcg their reparented objcg points to (the parent), never the dead memcg
    assert lru.add(Item("c2"), 0, child)
    assert lru.count_one(0, newcomer) == 2
    assert lru.count_one(0, parent) == 1
    assert list(lru.nonempty()) == [(parent, 0), (newcomer, 0)]


def test_xarray_dead_lists_send_adds_up_through_every_dead_ancestor() -> None:
    bits: list[tuple[Memcg, int]] = []
    lru = new_lru(XARRAY, on_nonempty=lambda memcg, nid: bits.append((memcg, nid)))
    root = Memcg("root", -1)
    top = Memcg("top", 1, root)
    mid = Memcg("mid", 2, top)
    leaf = Memcg("leaf", 3, mid)
    (x,) = filled(lru, 1, leaf, "x")
    lru.reparent(leaf, mid)
    lru.reparent(mid, top)
    assert names(lru.items(1, top)) == ["x"]
    bits.clear()
    assert lru.del_(x)
    assert lru.add(Item("y"), 1, leaf)
    assert names(lru.items(1, top)) == ["y"]
    # set_shrinker_bit gets the memcg given to list_lru_add (mm.git), not the one that took it
    assert bits == [(leaf, 1)]
    assert list(lru.nonempty()) == [(top, 1)]
    lru.reparent(top, None)
    assert lru.add(Item("z"), 1, leaf)
    assert names(lru.items(1, None)) == ["y", "z"]


def test_xarray_reparenting_a_memcg_without_lists_still_marks_it_dead() -> None:
    lru = new_lru(XARRAY)
    parent = Memcg("P", 1)
    child = Memcg("C", 2, parent)
    assert lru.reparent(child, parent) == 0
    assert lru.add(Item("a"), 0, child)
    assert lru.count_one(0, parent) == 1
    assert lru.reparent(child, parent) == 0  # twice is harmless


@pytest.mark.parametrize("layout", PER_NODE_LAYOUTS)
def test_reparenting_to_the_root_uses_the_global_lists(layout: ListLRULayout) -> None:
    bits: list[tuple[Memcg, int]] = []
    lru = new_lru(layout, on_nonempty=lambda memcg, nid: bits.append((memcg, nid)))
    root = Memcg("root", -1)
    child = Memcg("C", 2, root)
    filled(lru, 0, None, "g")
    filled(lru, 0, child, "c0")
    filled(lru, 1, child, "c1")
    bits.clear()
    assert lru.reparent(child, root) == 2
    assert names(lru.items(0)) == ["c0", "g"]
    assert names(lru.items(1)) == ["c1"]
    assert bits == []
    assert list(lru.nonempty()) == []
    assert lru.count() == 3


def test_reparenting_carries_a_drifted_count() -> None:
    lru = new_lru(NODE_ARRAY)
    parent = Memcg("P", 1)
    child = Memcg("C", 2, parent)
    filled(lru, 0, child, "a", "b")
    lst = lru.list_at(0, child)
    assert lst is not None
    lst.nr_items = 5
    lru.reparent(child, parent)
    assert lru.count_one(0, parent) == 5
    assert lru.count_one(0, child) == 0


def test_reparenting_where_the_layout_has_none() -> None:
    with pytest.raises(ProfileError, match="v15"):
        new_lru(V15).reparent(Memcg("C", 1), None)
    lru = new_lru(NODE_ONLY)
    filled(lru, 0, Memcg("C", 1), "a")
    assert lru.reparent(Memcg("C", 1), None) == 0
    unaware = new_lru(NODE_ARRAY, memcg_aware=False)
    assert unaware.reparent(Memcg("C", 1), None) == 0
    assert new_lru(NODE_ARRAY).reparent(Memcg("inactive", -1), None) == 0


# -- the non-empty index (the shrinker bitmap's feed) ----------------------------------------


def test_nonempty_follows_zero_one_transitions_in_order() -> None:
    bits: list[tuple[Memcg, int]] = []
    lru = new_lru(NODE_ARRAY, on_nonempty=lambda memcg, nid: bits.append((memcg, nid)))
    a, b = Memcg("A", 1), Memcg("B", 2)
    (b1,) = filled(lru, 1, b, "b1")
    a0, a0bis = filled(lru, 0, a, "a0", "a0bis")
    filled(lru, 0, None, "global")
    assert bits == [(b, 1), (a, 0)]  # 0 -> 1 only, never for the global lists
    assert list(lru.nonempty()) == [(b, 1), (a, 0)]
    lru.del_(b1)
    assert list(lru.nonempty()) == [(a, 0)]
    lru.del_(a0)
    assert list(lru.nonempty()) == [(a, 0)]

    def isolate_all(item: Item, lst: LRUList) -> LRUStatus:
        lst.isolate(item)
        return LRU_REMOVED

    assert lru.walk_one(0, a, isolate_all, 5) == (1, 4)
    assert a0bis.lru_link is None
    assert list(lru.nonempty()) == []
    lru.add(b1, 1, b)
    assert list(lru.nonempty()) == [(b, 1)]
    assert bits == [(b, 1), (a, 0), (b, 1)]


def test_nonempty_is_a_snapshot() -> None:
    lru = new_lru(XARRAY)
    memcgs = [Memcg(f"m{n}", n) for n in range(5)]
    objs = [filled(lru, 0, memcg, memcg.name)[0] for memcg in memcgs]
    seen = []
    for memcg, nid in lru.nonempty():
        seen.append((memcg, nid))
        lru.del_(objs[memcg.kmemcg_id])
    assert seen == [(memcg, 0) for memcg in memcgs]
    assert list(lru.nonempty()) == []


def test_v15_nonempty_reports_node_0() -> None:
    bits: list[tuple[Memcg, int]] = []
    lru = new_lru(V15, on_nonempty=lambda memcg, nid: bits.append((memcg, nid)))
    memcg = Memcg("A", 3)
    filled(lru, 1, memcg, "a")
    filled(lru, 0, memcg, "b")
    assert bits == [(memcg, 0)]
    assert list(lru.nonempty()) == [(memcg, 0)]


def test_on_nonempty_can_be_set_later() -> None:
    lru = new_lru(NODE_ARRAY)
    bits: list[tuple[Memcg, int]] = []
    lru.on_nonempty = lambda memcg, nid: bits.append((memcg, nid))
    memcg = Memcg("A", 1)
    filled(lru, 1, memcg, "a")
    assert bits == [(memcg, 1)]


def test_a_descendant_sharing_an_id_keeps_the_owner() -> None:
    """After an E2 offline the child has the parent's id: its adds go to the parent's lists,
    which stay the parent's."""
    lru = new_lru(NODE_ARRAY)
    parent = Memcg("P", 1)
    child = Memcg("C", 1, parent)
    filled(lru, 0, child, "c")
    assert list(lru.nonempty()) == [(child, 0)]
    lru2 = new_lru(NODE_ARRAY)
    filled(lru2, 0, parent, "p")
    filled(lru2, 0, child, "c")
    assert list(lru2.nonempty()) == [(parent, 0)]
    assert lru2.count_one(0, child) == lru2.count_one(0, parent) == 2


def test_repr_and_introspection() -> None:
    lru = new_lru(NODE_ARRAY)
    memcg = Memcg("A", 1)
    (a,) = filled(lru, 0, memcg, "a")
    assert "MEMCG_NODE_ARRAY" in repr(lru)
    lst = lru.list_of(a)
    assert lst is not None
    assert lst.memcg is memcg
    assert lst.nid == 0
    assert len(lst) == 1
    assert a in lst
    assert "nr_items=1" in repr(lst)
    assert isinstance(LRUStatus.ROTATE, enum.IntEnum)
