"""Opt-in pytest fixtures for testing shrinkfw plugins.

Not registered automatically (it is not a ``pytest11`` entry point, like pytest's own
``pytester``): enable it in your ``conftest.py``::

    pytest_plugins = ["shrinkfw.testing.pytest_plugin"]

or on the command line with ``-p shrinkfw.testing.pytest_plugin``. Then::

    import pytest
    import my_plugin

    @pytest.fixture
    def shrinkfw_plugins():
        return [my_plugin]              # registered with every simulation the fixtures build

    def test_offline(sim, kmem_memcg, hook_recorder):
        memcg = kmem_memcg("a")
        sim.memcgs.offline(memcg)
        hook_recorder.assert_called("memcg_offline", memcg=memcg)

    @pytest.mark.shrinkfw_profile("v3.14-kmemcg-v15")
    def test_on_the_seed(sim):
        assert sim.profile.name == "v3.14-kmemcg-v15"

Fixtures:

``shrinkfw_profile``
    The kernel profile name: the test's ``shrinkfw_profile(name)`` marker, else the
    ``--shrinkfw-profile`` option, else ``"v6.7"``. Override the fixture (for example
    parametrized over profiles) to choose otherwise.
``shrinkfw_plugins``
    Plugins every simulation is built with; ``[]`` unless you override it.
``make_sim``
    ``make_sim(**build_kwargs)``: a new :class:`~shrinkfw.Simulation`, built with
    ``profile=shrinkfw_profile``, ``autoload=False`` (entry points are loaded only with
    ``autoload=True``) and ``plugins=shrinkfw_plugins``; ``plugins=[...]`` adds to those.
``sim``
    ``make_sim()``.
``hook_recorder``
    A :class:`~shrinkfw.testing.HookRecorder` registered on ``sim``. It records the shrinker
    tracepoints too, which makes reclaim slower; build your own with ``tracepoints=False``
    where that matters.
``kmem_memcg``
    ``kmem_memcg(name, parent=None, *, sim=None)``: a memcg of ``sim`` (the fixture unless
    given) with kernel memory accounting on, on any profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pytest

from ..sim import Simulation
from .fakes import make_kmem_memcg
from .recorder import HookRecorder

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..memcg import MemCgroup

__all__ = [
    "DEFAULT_TEST_PROFILE",
    "hook_recorder",
    "kmem_memcg",
    "make_sim",
    "shrinkfw_plugins",
    "shrinkfw_profile",
    "sim",
]

#: The profile of the fixtures' simulations when nothing else is asked for.
DEFAULT_TEST_PROFILE: Final = "v6.7"
_OPTION: Final = "shrinkfw_profile"
_MARKER: Final = "shrinkfw_profile"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shrinkfw")
    group.addoption(
        "--shrinkfw-profile",
        dest=_OPTION,
        default=None,
        metavar="NAME",
        help="kernel profile of the simulations the shrinkfw fixtures build "
        f"(default {DEFAULT_TEST_PROFILE})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(name): the shrinkfw fixtures build this test's simulations with "
        "kernel profile NAME",
    )


@pytest.fixture
def shrinkfw_profile(request: pytest.FixtureRequest) -> str:
    """The kernel profile name: the ``shrinkfw_profile`` marker, the ``--shrinkfw-profile``
    option, or ``"v6.7"``."""
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str) or marker.kwargs:
            raise pytest.UsageError(
                f"{request.node.nodeid}: use @pytest.mark.{_MARKER}('<profile name>')"
            )
        return marker.args[0]
    option: str | None = request.config.getoption(_OPTION)
    return option or DEFAULT_TEST_PROFILE


@pytest.fixture
def shrinkfw_plugins() -> list[object]:
    """Plugins every simulation of the fixtures is built with; override to add yours."""
    return []


@pytest.fixture
def make_sim(shrinkfw_profile: str, shrinkfw_plugins: list[object]) -> Callable[..., Simulation]:
    """``make_sim(**build_kwargs)``: :meth:`Simulation.build <shrinkfw.Simulation.build>`
    with the test's profile, ``autoload=False`` and ``shrinkfw_plugins`` (plus any
    ``plugins=`` given) unless the arguments say otherwise."""

    def make(**kwargs: Any) -> Simulation:
        kwargs.setdefault("profile", shrinkfw_profile)
        kwargs.setdefault("autoload", False)
        kwargs["plugins"] = [*shrinkfw_plugins, *kwargs.get("plugins", ())]
        return Simulation.build(**kwargs)

    return make


@pytest.fixture
def sim(make_sim: Callable[..., Simulation]) -> Simulation:
    """A simulation built by ``make_sim()``."""
    return make_sim()


@pytest.fixture
def hook_recorder(sim: Simulation) -> HookRecorder:
    """A :class:`~shrinkfw.testing.HookRecorder` of every notification hook, registered on
    ``sim``."""
    recorder = HookRecorder()
    sim.pm.register(recorder, name=HookRecorder.name)
    return recorder


@pytest.fixture
def kmem_memcg(request: pytest.FixtureRequest) -> Callable[..., MemCgroup]:
    """``kmem_memcg(name, parent=None, *, sim=None)``: create a memcg with kernel memory
    accounting on (the v3.x profiles need a kmem limit written for that) in ``sim``, the
    ``sim`` fixture unless another simulation is given."""

    def make(
        name: str, parent: MemCgroup | None = None, *, sim: Simulation | None = None
    ) -> MemCgroup:
        target: Simulation = request.getfixturevalue("sim") if sim is None else sim
        return make_kmem_memcg(target, name, parent)

    return make
