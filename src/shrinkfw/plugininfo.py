"""What each installed plugin provides: for ``shrinkfw plugins``.

A probe simulation is built with every installed plugin; each filesystem type is mounted
once, so shrinkers that exist only per mounted filesystem (the superblock shrinker, the XFS
buffer cache) are seen too, then unmounted.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

import attrs

from .sim import Simulation

if TYPE_CHECKING:
    from ._plugins import PluginManager

__all__ = ["PluginInfo", "installed_plugins"]

_BUILTIN_DIST = "shrinkfw"


@attrs.frozen(kw_only=True)
class PluginInfo:
    """One plugin: where it comes from and what it registers."""

    name: str
    distribution: str
    version: str
    fs_types: tuple[str, ...] = ()
    shrinkers: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "fs_types": list(self.fs_types),
            "shrinkers": list(self.shrinkers),
            "workloads": list(self.workloads),
            "consumers": list(self.consumers),
        }


def _distributions(pm: PluginManager) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for plugin, dist in pm.list_plugin_distinfo():
        name = pm.get_name(plugin)
        if name is not None:
            out[name] = (dist.metadata["name"], dist.version)
    return out


def installed_plugins() -> list[PluginInfo]:
    """Every plugin the ``shrinkfw`` entry points load, plus the built-ins, by name.

    ``SHRINKFW_DISABLE_PLUGIN_AUTOLOAD`` and ``SHRINKFW_DISABLE_PLUGINS`` apply, as they do
    to every simulation.
    """
    sim = Simulation.build()
    dists = _distributions(sim.pm)
    shrinkers: dict[str, list[str]] = {}
    for entry in sim.shrinkers:
        shrinkers.setdefault(entry.plugin, []).append(entry.name)
    for fs_type in list(sim.vfs.fs_types):
        before = {e.name for e in sim.shrinkers}
        sb = sim.vfs.mount(fs_type.name, "probe")
        for entry in sim.shrinkers:
            if entry.name not in before:
                shrinkers.setdefault(entry.plugin, []).append(
                    entry.name.replace(":probe", ":<dev>")
                )
        sim.vfs.umount(sb)
    fs_types: dict[str, list[str]] = {}
    for fs in sim.vfs.fs_types:
        fs_types.setdefault(fs.plugin, []).append(fs.name)
    workloads: dict[str, list[str]] = {}
    for workload in sim.workloads:
        workloads.setdefault(workload.plugin, []).append(workload.name)
    consumers: dict[str, list[str]] = {}
    for consumer in sim.consumers:
        consumers.setdefault(consumer.plugin, []).append(consumer.name)
    try:
        core_version = dist_version(_BUILTIN_DIST)
    except PackageNotFoundError:  # running from a source tree
        core_version = "0.0.0+unknown"
    infos = []
    for name, _plugin in sorted(sim.pm.list_name_plugin()):
        dist, ver = dists.get(name, (_BUILTIN_DIST, core_version))
        infos.append(
            PluginInfo(
                name=name,
                distribution=dist,
                version=ver,
                fs_types=tuple(fs_types.get(name, ())),
                shrinkers=tuple(shrinkers.get(name, ())),
                workloads=tuple(workloads.get(name, ())),
                consumers=tuple(consumers.get(name, ())),
            )
        )
    return infos
