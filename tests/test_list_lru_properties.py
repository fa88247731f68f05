"""Properties of shrinkfw.list_lru, checked with hypothesis.

The walker is compared with a reference built on a real circular doubly-linked list walked the
way the kernel walks it (``list_for_each_safe``: the next pointer is read when an item becomes
current). The other properties drive random add / del / walk / reparent sequences and check the
lru's bookkeeping after every step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shrinkfw.list_lru import (
    LRU_REMOVED,
    LRU_REMOVED_RETRY,
    LRU_RETRY,
    LRU_ROTATE,
    LRU_SKIP,
    LRU_STOP,
    ListLRU,
    ListLRULayout,
    LRUItem,
    LRUList,
    LRUStatus,
    memcg_caches_array_size,
)

if TYPE_CHECKING:
    from collections.abc import Callable

SETTINGS = settings(max_examples=200, deadline=None)

#: A status the scripted callback answers; LEFT is REMOVED without unlinking (the gfs2 quirk).
LEFT = "LEFT"
STATUSES = [LRU_REMOVED, LRU_REMOVED_RETRY, LRU_ROTATE, LRU_SKIP, LRU_RETRY, LRU_STOP, LEFT]


class Item(LRUItem):
    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def __repr__(self) -> str:
        return f"i{self.n}"


class Memcg:
    def __init__(self, name: str, kmemcg_id: int, parent: Memcg | None) -> None:
        self.name = name
        self.kmemcg_id = kmemcg_id
        self.parent = parent
        self.children: list[Memcg] = []
        if parent is not None:
            parent.children.append(self)

    def __repr__(self) -> str:
        return f"Memcg({self.name})"


# -- the reference: a kernel list_head and list_for_each_safe ---------------------------------


class Node:
    __slots__ = ("item", "next", "prev")

    def __init__(self, item: object) -> None:
        self.item = item
        self.prev: Node = self
        self.next: Node = self


class RefList:
    """A circular doubly-linked list with a head sentinel (``struct list_head``)."""

    def __init__(self, items: list[object]) -> None:
        self.head = Node(None)
        for item in items:
            self.add_tail(Node(item))

    def add_tail(self, node: Node) -> None:
        last = self.head.prev
        node.prev, node.next = last, self.head
        last.next = node
        self.head.prev = node

    @staticmethod
    def unlink(node: Node) -> None:  # list_del_init
        node.prev.next = node.next
        node.next.prev = node.prev
        node.prev = node.next = node

    def move_tail(self, node: Node) -> None:  # list_move_tail
        self.unlink(node)
        self.add_tail(node)

    def order(self) -> list[object]:
        out = []
        node = self.head.next
        while node is not self.head:
            out.append(node.item)
            node = node.next
        return out


def reference_walk(
    items: list[object], answer: Callable[[int], object], budget: int
) -> tuple[list[object], int, int, list[object]]:
    """``__list_lru_walk_one`` on a real linked list: (visits, isolated, budget left, order)."""
    lst = RefList(items)
    visits: list[object] = []
    isolated = 0
    while True:  # restart:
        pos = lst.head.next
        nxt = pos.next
        restart = False
        while pos is not lst.head:
            if budget == 0:
                break
            budget -= 1
            visits.append(pos.item)
            ret = answer(len(visits) - 1)
            if ret is LRU_REMOVED or ret is LRU_REMOVED_RETRY:
                lst.unlink(pos)
                isolated += 1
                if ret is LRU_REMOVED_RETRY:
                    restart = True
                    break
            elif ret == LEFT:
                isolated += 1
            elif ret is LRU_ROTATE:
                lst.move_tail(pos)
            elif ret is LRU_RETRY:
                restart = True
                break
            elif ret is LRU_STOP:
                return visits, isolated, budget, lst.order()
            pos = nxt
            nxt = pos.next
        if not restart:
            return visits, isolated, budget, lst.order()


def scripted(script: list[object], visits: list[Item]) -> Callable[[Item, LRUList], LRUStatus]:
    """An isolate callback answering ``script[k % len]`` on its k-th visit."""

    def isolate(item: Item, lst: LRUList) -> LRUStatus:
        ret = script[len(visits) % len(script)]
        visits.append(item)
        if ret == LEFT:
            return LRU_REMOVED
        if ret is LRU_REMOVED or ret is LRU_REMOVED_RETRY:
            lst.isolate(item)
        assert isinstance(ret, LRUStatus)
        return ret

    return isolate


sizes = st.integers(0, 12) | st.integers(200, 600)


@SETTINGS
@given(
    n=sizes,
    extra=st.integers(0, 900),
    script=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=40),
    layout=st.sampled_from([ListLRULayout.NODE_ONLY, ListLRULayout.MEMCG_NODE_ARRAY]),
)
def test_walker_matches_the_linked_list_reference(
    n: int, extra: int, script: list[object], layout: ListLRULayout
) -> None:
    budget = n + extra if n < 100 else extra + n // 2
    lru = ListLRU(layout, 1, memcg_aware=True)
    objs = [Item(k) for k in range(n)]
    for obj in objs:
        lru.add(obj, 0)
    visits: list[Item] = []
    isolated, left = lru.walk_one(0, None, scripted(script, visits), budget)

    ref_visits, ref_isolated, ref_left, ref_order = reference_walk(
        list(objs), lambda k: script[k % len(script)], budget
    )
    assert visits == ref_visits
    assert isolated == ref_isolated
    assert left == ref_left == budget - len(visits)
    assert list(lru.items(0)) == ref_order

    lst = lru.list_at(0)
    assert lst is not None
    linked = set(map(id, ref_order))
    for obj in objs:
        assert (obj.lru_link is lst) == (id(obj) in linked)
    left_linked = sum(1 for k in range(len(visits)) if script[k % len(script)] == LEFT)
    if layout is ListLRULayout.NODE_ONLY:
        # E1: the walker drops the list count for a REMOVED item left on the list
        assert lst.nr_items == len(lst) - left_linked
    else:
        assert lst.nr_items == len(lst)


@SETTINGS
@given(n=st.integers(0, 30), budget=st.integers(0, 100), rotate_every=st.integers(1, 4))
def test_a_walk_never_visits_more_than_its_budget(n: int, budget: int, rotate_every: int) -> None:
    lru = ListLRU(ListLRULayout.MEMCG_XARRAY, 1, memcg_aware=True)
    memcg = Memcg("A", 3, None)
    for k in range(n):
        lru.add(Item(k), 0, memcg)
    visits: list[Item] = []

    def isolate(item: Item, lst: LRUList) -> LRUStatus:
        visits.append(item)
        return LRU_ROTATE if item.n % rotate_every else LRU_SKIP

    isolated, left = lru.walk_one(0, memcg, isolate, budget)
    assert isolated == 0
    assert len(visits) <= budget
    assert left == budget - len(visits)
    assert lru.count_one(0, memcg) == n


# -- random operation sequences --------------------------------------------------------------


def tree() -> list[Memcg]:
    root = Memcg("root", -1, None)
    a = Memcg("A", 0, root)
    a1 = Memcg("A1", 1, a)
    a2 = Memcg("A2", 2, a1)
    b = Memcg("B", 3, root)
    return [root, a, a1, a2, b]


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 29), st.integers(0, 1), st.integers(0, 5)),
        st.tuples(st.just("del"), st.integers(0, 29)),
        st.tuples(st.just("walk"), st.integers(0, 1), st.integers(0, 5), st.integers(0, 12)),
        st.tuples(st.just("walk_node"), st.integers(0, 1), st.integers(0, 30)),
        st.tuples(st.just("reparent"), st.integers(1, 4)),
    ),
    max_size=60,
)


def honest(seed: int) -> Callable[[Item, LRUList], LRUStatus]:
    """A callback that unlinks what it says it removed, its answers fixed by the item."""

    def isolate(item: Item, lst: LRUList) -> LRUStatus:
        pick = (item.n * 7 + seed) % 5
        if pick == 0:
            lst.isolate(item)
            return LRU_REMOVED
        if pick == 1:
            lst.isolate_move(item, [])
            return LRU_REMOVED
        return (LRU_ROTATE, LRU_SKIP, LRU_ROTATE)[pick - 2]

    return isolate


def all_lists(lru: ListLRU, memcgs: list[Memcg]) -> list[LRUList]:
    seen: dict[int, LRUList] = {}
    for nid in range(lru.nr_nodes):
        for memcg in [None, *memcgs]:
            lst = lru.list_at(nid, memcg)
            if lst is not None:
                seen[id(lst)] = lst
    return list(seen.values())


def check(lru: ListLRU, memcgs: list[Memcg], objs: list[Item]) -> None:
    lists = all_lists(lru, memcgs)
    on_lists: dict[int, LRUList] = {}
    per_node = [0] * lru.nr_nodes
    for lst in lists:
        if lst.dead:
            assert len(lst) == 0
            continue
        assert lst.nr_items == len(lst)  # honest callbacks: counts equal items
        if lst.memcg is None or lru.layout is not ListLRULayout.MEMCG_ARRAY_V15:
            per_node[lst.nid] += len(lst)
        for obj in lst:
            assert id(obj) not in on_lists  # no item on two lists
            on_lists[id(obj)] = lst
            assert obj.lru_link is lst
    for obj in objs:
        assert (obj.lru_link is not None) == (id(obj) in on_lists)
        assert (obj in lru) == (id(obj) in on_lists)
    assert len(lru) == len(on_lists) == lru.count()
    assert [lru.count_node(nid) for nid in range(lru.nr_nodes)] == per_node
    expected = {
        (id(lst.memcg), lst.nid) for lst in lists if lst.memcg is not None and lst.nr_items > 0
    }
    assert {(id(m), nid) for m, nid in lru.nonempty()} == expected


@SETTINGS
@given(
    layout=st.sampled_from(list(ListLRULayout)),
    aware=st.booleans(),
    steps=ops,
    seed=st.integers(0, 4),
)
def test_bookkeeping_holds_through_random_operations(
    layout: ListLRULayout, aware: bool, steps: list[tuple[Any, ...]], seed: int
) -> None:
    memcgs = tree()
    lru = ListLRU(layout, 2, memcg_aware=aware, array_size=memcg_caches_array_size(len(memcgs)))
    objs = [Item(k) for k in range(30)]
    offline: set[int] = set()
    for step in steps:
        kind = step[0]
        if kind == "add":
            _, k, nid, m = step
            memcg = memcgs[m] if m < len(memcgs) else None
            was_linked = objs[k].lru_link is not None
            assert lru.add(objs[k], nid, memcg) is not was_linked
        elif kind == "del":
            obj = objs[step[1]]
            was_linked = obj.lru_link is not None
            assert lru.del_(obj) is was_linked
        elif kind == "walk":
            _, nid, m, budget = step
            memcg = memcgs[m] if m < len(memcgs) else None
            isolated, left = lru.walk_one(nid, memcg, honest(seed), budget)
            assert 0 <= left <= budget
            assert isolated <= budget - left
        elif kind == "walk_node":
            _, nid, budget = step
            isolated, left = lru.walk_node(nid, honest(seed), budget)
            assert 0 <= left <= budget
            assert isolated <= budget - left
        elif kind == "reparent" and layout.reparents:
            child = memcgs[step[1]]
            if id(child) in offline or any(id(c) not in offline for c in child.children):
                continue  # rmdir needs the children gone first
            parent = child.parent
            before = len(lru)
            child_items = 0
            if aware and child.kmemcg_id >= 0:
                for nid in range(lru.nr_nodes):
                    lst = lru.list_at(nid, child)
                    if lst is not None and not lst.dead:
                        child_items += len(lst)
            if child_items and parent is not None:
                assert parent.kmemcg_id != child.kmemcg_id
            assert lru.reparent(child, parent) == child_items
            assert len(lru) == before  # reparenting conserves items
            offline.add(id(child))
            if layout is ListLRULayout.MEMCG_NODE_ARRAY and parent is not None:
                # memcg_offline_kmem: the subtree holding the id takes the parent's
                old = child.kmemcg_id
                stack = [child]
                while stack:
                    node = stack.pop()
                    if node.kmemcg_id == old:
                        node.kmemcg_id = parent.kmemcg_id
                    stack.extend(node.children)
        check(lru, memcgs, objs)
