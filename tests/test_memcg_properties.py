"""Invariants of the memcg model under random create / offline / charge / uncharge sequences.

Charges are conserved (each memcg's hierarchical counter is its own charges plus its
children's, the root holds everything still charged), ids are unique among live memcgs, and the
walk visits each memcg once in pre-order with creation-order siblings.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shrinkfw.errors import UsageError
from shrinkfw.memcg import (
    KMEM_V4_0,
    KMEM_V4_7,
    KMEM_V5_9,
    KMEM_V5_18,
    KMEM_V15,
    ChargeKind,
    KmemPolicy,
    MemCgroup,
    MemcgState,
    MemcgTree,
)

POLICIES = (KMEM_V15, KMEM_V4_0, KMEM_V4_7, KMEM_V5_9, KMEM_V5_18)
KINDS = st.sampled_from(list(ChargeKind))


def reference_preorder(memcg: MemCgroup) -> list[MemCgroup]:
    out = [memcg]
    for child in memcg.children:
        out.extend(reference_preorder(child))
    return out


class MemcgMachine(RuleBasedStateMachine):
    policy: KmemPolicy = KMEM_V15

    def __init__(self) -> None:
        super().__init__()
        self.tree = MemcgTree(self.policy, 2)
        self.memcgs: list[MemCgroup] = [self.tree.root]
        self.names = 0
        #: pages charged and not yet uncharged, keyed by the memcg the charge reported
        self.ledger: dict[tuple[MemCgroup, ChargeKind], int] = {}

    def live(self) -> list[MemCgroup]:
        return [m for m in self.memcgs if m.state is not MemcgState.FREED]

    def online(self) -> list[MemCgroup]:
        return [m for m in self.memcgs if m.state is MemcgState.ONLINE]

    @rule(data=st.data())
    def create(self, data: st.DataObject) -> None:
        parent = data.draw(st.sampled_from(self.online()))
        self.names += 1
        self.memcgs.append(self.tree.create(f"m{self.names}", parent))

    @rule(data=st.data())
    def offline(self, data: st.DataObject) -> None:
        candidates = [
            m
            for m in self.online()
            if not m.is_root and all(c.state is not MemcgState.ONLINE for c in m.children)
        ]
        if candidates:
            self.tree.offline(data.draw(st.sampled_from(candidates)))

    @rule(data=st.data(), kind=KINDS, pages=st.integers(0, 50), force=st.booleans())
    def charge(self, data: st.DataObject, kind: ChargeKind, pages: int, force: bool) -> None:
        memcg = data.draw(st.sampled_from(self.live()))
        result = self.tree.charge(memcg, pages, kind=kind, force=force)
        if result.ok:
            assert result.charged is not None
            key = (result.charged, kind)
            self.ledger[key] = self.ledger.get(key, 0) + pages
        else:
            assert result.breach is not None
            assert not force

    @precondition(lambda self: any(self.ledger.values()))
    @rule(data=st.data())
    def uncharge(self, data: st.DataObject) -> None:
        keys = [key for key, pages in self.ledger.items() if pages]
        memcg, kind = data.draw(st.sampled_from(keys))
        pages = data.draw(st.integers(1, self.ledger[memcg, kind]))
        self.tree.uncharge(memcg, pages, kind)
        self.ledger[memcg, kind] -= pages

    @rule(data=st.data(), pages=st.integers(0, 200), knob=st.sampled_from(["limit", "max", "high"]))
    def set_knob(self, data: st.DataObject, pages: int, knob: str) -> None:
        candidates = [m for m in self.online() if not m.is_root]
        if candidates:
            memcg = data.draw(st.sampled_from(candidates))
            getattr(self.tree, f"set_{knob}")(memcg, pages)

    @rule(data=st.data(), pages=st.integers(0, 200))
    def set_kmem_limit(self, data: st.DataObject, pages: int) -> None:
        candidates = [m for m in self.online() if not m.is_root]
        if candidates and self.policy.kmem_feeds_user:
            memcg = data.draw(st.sampled_from(candidates))
            busy = memcg.usage_kmem > pages or (
                not memcg.kmem_active
                and self.policy.activation == "limit_write"
                and any(c.online for c in memcg.children)
            )
            if busy:
                with pytest.raises(UsageError, match="EBUSY"):
                    self.tree.set_kmem_limit(memcg, pages)
            else:
                self.tree.set_kmem_limit(memcg, pages)
                assert memcg.kmem_limit == pages
                assert memcg.kmem_active or self.policy.activation == "online"

    @invariant()
    def counters_are_conserved(self) -> None:
        for memcg in self.live():
            assert memcg.own_user >= 0
            assert memcg.own_kmem >= 0
            assert memcg.usage_user == memcg.own_user + sum(c.usage_user for c in memcg.children)
            assert memcg.usage_kmem == memcg.own_kmem + sum(c.usage_kmem for c in memcg.children)
        for memcg in self.memcgs:
            if memcg.state is MemcgState.FREED:
                assert memcg.usage == memcg.own_user == memcg.own_kmem == 0
        root = self.tree.root
        for kind in ChargeKind:
            total = sum(pages for (_, k), pages in self.ledger.items() if k is kind)
            held = root.usage_user if kind is ChargeKind.USER else root.usage_kmem
            assert held == total

    @invariant()
    def ids_are_unique_among_live_memcgs(self) -> None:
        ids = [m.id for m in self.live() if m.id]
        assert len(ids) == len(set(ids))
        for memcg in self.live():
            if memcg.id:
                assert self.tree.from_id(memcg.id) is memcg
        kmem_ids = [m.kmemcg_id for m in self.online() if m.kmem_active]
        assert len(kmem_ids) == len(set(kmem_ids))
        if self.policy.array_growth:
            assert all(kid < self.tree.kmem_array_size for kid in kmem_ids)
        if self.policy.id_source == "memcg_id":
            assert all(m.kmemcg_id == m.id for m in self.online() if not m.is_root)

    @invariant()
    def walk_visits_each_memcg_once_in_preorder(self) -> None:
        walk = list(self.tree.iter())
        assert walk == reference_preorder(self.tree.root)
        assert len(walk) == len(set(map(id, walk))) == len(self.live()) == len(self.tree)
        for index, memcg in enumerate(walk):
            assert self.tree.preorder_index(memcg) == index
            assert list(self.tree.iter(memcg)) == reference_preorder(memcg)
        assert list(self.tree.iter(online_only=True)) == [
            m for m in walk if m.state is MemcgState.ONLINE
        ]

    @invariant()
    def lifecycle_is_consistent(self) -> None:
        policy = self.policy
        for memcg in self.live():
            dying = sum(1 for m in reference_preorder(memcg)[1:] if not m.online)
            assert self.tree.nr_dying_descendants(memcg) == dying
            assert memcg.state is not MemcgState.OFFLINE
            if memcg.state is MemcgState.DYING:
                assert (
                    memcg.children
                    or (policy.user_pins_dying and memcg.own_user)
                    or (policy.slab_pins_dying and memcg.own_kmem)
                )
            if memcg.online and memcg.parent is not None:
                assert memcg.parent.online


def _machine(policy: KmemPolicy) -> type[MemcgMachine]:
    return type(f"MemcgMachine_{policy.name}", (MemcgMachine,), {"policy": policy})


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
def test_memcg_invariants(policy: KmemPolicy) -> None:
    machine = _machine(policy)
    machine.TestCase.settings = settings(
        max_examples=60, stateful_step_count=40, deadline=None, database=None
    )
    machine.TestCase().runTest()
