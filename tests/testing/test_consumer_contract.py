"""The pressure-consumer contract suite, run against a minimal correct consumer, and shown to
catch each rule broken on purpose (in inner pytest sessions, through ``pytester``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shrinkfw import UsageError
from shrinkfw.testing import ConsumerSetup, VmpressureConsumerContract

from .fakeconsumer import BREAKS, FakeConsumerPlugin, pressure


class TestFakeConsumer(VmpressureConsumerContract):
    """The fake as it is meant to be passes on both full profiles."""

    @pytest.fixture
    def consumer_setup(self) -> ConsumerSetup:
        return ConsumerSetup(
            name="fake",
            plugins=[FakeConsumerPlugin()],
            pressure=pressure,
            settings={"memcg": "/box"},
            duration=1.0,
        )


def test_the_setup_needs_a_positive_duration() -> None:
    with pytest.raises(UsageError, match=r"ConsumerSetup.duration must be > 0, got 0"):
        ConsumerSetup(name="x", plugins=[], pressure=pressure, duration=0)


INNER = """
import pytest

from fakeconsumer import BREAKS, FakeConsumerPlugin, pressure
from shrinkfw.testing import ConsumerSetup, VmpressureConsumerContract


class Broken(VmpressureConsumerContract):
    breaks = ()

    @pytest.fixture
    def contract_profile(self):
        return "v6.7"

    @pytest.fixture
    def consumer_setup(self):
        return ConsumerSetup(
            name="fake",
            plugins=[FakeConsumerPlugin(*self.breaks)],
            pressure=pressure,
            settings={"memcg": "/box"},
            duration=1.0,
        )


for _b in BREAKS:
    globals()[f"Test_{_b}"] = type(f"Test_{_b}", (Broken,), {"breaks": (_b,)})


class TestNothingBroken(Broken):
    pass


class TestNoSetup(VmpressureConsumerContract):
    @pytest.fixture
    def contract_profile(self):
        return "v6.7"
"""

#: The tests of the suite each broken rule must fail, and nothing else.
EXPECTED = {
    "in_reader": {"test_no_decision_from_inside_reclaim"},
    "wrong_time": {"test_decisions_are_well_formed_records"},
    "keeps_listening": {
        "test_starts_with_its_defaults",
        "test_stop_unregisters_and_ends_decisions",
    },
    "acts_after_stop": {"test_stop_unregisters_and_ends_decisions"},
    "accepts_anything": {"test_an_unknown_setting_is_a_usage_error_naming_it"},
    "restless": {"test_same_seed_same_decisions"},
    "bypasses_record": {
        "test_decisions_are_well_formed_records",
        "test_no_decision_from_inside_reclaim",
        "test_stop_unregisters_and_ends_decisions",
    },
    "bad_memcg": {"test_decisions_are_well_formed_records"},
    "undocumented": {"test_registered_under_its_name_by_its_plugin"},
}
TESTS = {
    "test_registered_under_its_name_by_its_plugin",
    "test_an_unknown_setting_is_a_usage_error_naming_it",
    "test_starts_with_its_defaults",
    "test_decisions_are_well_formed_records",
    "test_no_decision_from_inside_reclaim",
    "test_stop_unregisters_and_ends_decisions",
    "test_same_seed_same_decisions",
}


def test_each_broken_rule_fails_exactly_its_tests(pytester: pytest.Pytester) -> None:
    """One inner session over the fake with each rule broken (on v6.7 only, to stay quick):
    each fails the suite's tests for that rule and passes the others; the fake as it is
    meant to be passes all; a subclass that provides no setup is told to."""
    pytester.makepyfile(
        fakeconsumer=Path(__file__).with_name("fakeconsumer.py").read_text(),
        test_broken=INNER,
    )
    reprec = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    failed: dict[str, set[str]] = {}
    passed: dict[str, set[str]] = {}
    messages: dict[str, str] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when != "call" and report.passed:
            continue
        _, cls, test = report.nodeid.split("::")
        (passed if report.passed else failed).setdefault(cls, set()).add(test)
        if not report.passed:
            messages[f"{cls}::{test}"] = report.longreprtext
    assert set(BREAKS) == set(EXPECTED)
    assert "TestNothingBroken" not in failed
    assert passed["TestNothingBroken"] == TESTS
    assert failed["TestNoSetup"] == TESTS
    assert (
        "override the 'consumer_setup' fixture"
        in messages["TestNoSetup::test_same_seed_same_decisions"]
    )
    for rule, tests in EXPECTED.items():
        assert failed.get(f"Test_{rule}") == tests, rule
        assert passed[f"Test_{rule}"] == TESTS - tests, rule

    def says(rule: str, test: str, text: str) -> None:
        assert text in messages[f"Test_{rule}::{test}"], messages[f"Test_{rule}::{test}"]

    says("in_reader", "test_no_decision_from_inside_reclaim", "defer the action")
    says("wrong_time", "test_decisions_are_well_formed_records", "is not the time it was recorded")
    says("keeps_listening", "test_stop_unregisters_and_ends_decisions", "still registered")
    says("acts_after_stop", "test_stop_unregisters_and_ends_decisions", "decisions after stop()")
    says("accepts_anything", "test_an_unknown_setting_is_a_usage_error_naming_it", "DID NOT RAISE")
    says("bypasses_record", "test_decisions_are_well_formed_records", "sim.record_decision")
    says("bad_memcg", "test_decisions_are_well_formed_records", "'/nowhere' is neither '/'")
    says("undocumented", "test_registered_under_its_name_by_its_plugin", "are not among")
