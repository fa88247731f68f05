"""The ``shrinkfw`` command outside ``trace``: profiles, run, usage errors."""

from __future__ import annotations

import pytest

from shrinkfw.cli import main
from shrinkfw.profiles import PROFILES


def test_profiles_lists_every_profile_with_its_scope(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name, profile in PROFILES.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert profile.scope in line
    assert "(default)" in next(line for line in out.splitlines() if "v3.14-kmemcg-v15" in line)


def test_profiles_verbose_says_what_is_not_modelled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "-v"]) == 0
    out = capsys.readouterr().out
    assert "does not model: MGLRU" in out
    assert "models: shrinker bitmap dispatch" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_plugins_json_lists_builtins_with_what_they_provide(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    assert main(["plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    vfs = plugins["shrinkfw.vfs"]
    assert vfs["distribution"] == "shrinkfw"
    assert vfs["fs_types"] == ["ext4", "proc"]
    assert vfs["shrinkers"] == ["sb-ext4:<dev>", "sb-proc:<dev>"]
    assert set(plugins["shrinkfw.vmscan"]) >= {"version", "shrinkers", "workloads"}
