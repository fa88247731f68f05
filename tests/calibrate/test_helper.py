"""The guest helper (helper.c), compiled and run on the host against a scratch directory."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from shrinkfw.calibrate import toolchain
from shrinkfw.calibrate.console import parse_console

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = toolchain._which("gcc")
    if gcc is None or toolchain._static_libc(gcc) is None:
        pytest.skip("no gcc with a static libc")
    return toolchain.build_helper(gcc, cache=tmp_path_factory.mktemp("cache"))


def tally(helper: Path, *args: str) -> dict[str, int]:
    done = subprocess.run(
        [str(helper), *args], capture_output=True, text=True, check=True, timeout=60
    )
    text = "@@shrinkfw mark begin action=0 kind=run\n" + done.stdout
    (action,) = parse_console(text).actions
    assert action.op
    return {**action.result, f"op_{action.op}": 1}


def test_lookup_of_missing_names(helper: Path, tmp_path: Path) -> None:
    (tmp_path / "ab00007").touch()  # one name exists
    got = tally(helper, "lookup", str(tmp_path), "ab", "5", "100", "0", "1")
    assert got["op_lookup"] == 1
    assert (got["ops"], got["found"], got["missing"], got["failed"]) == (100, 1, 99, 0)


def test_lookup_of_random_names_stays_in_range(helper: Path, tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i:04d}").touch()
    got = tally(helper, "lookup", str(tmp_path), "", "4", "500", "3", "42")
    assert (got["found"], got["missing"]) == (500, 0)


def test_create_with_a_window_unlinks_old_files(helper: Path, tmp_path: Path) -> None:
    got = tally(helper, "create", str(tmp_path), "s0-", "50", "10")
    assert (got["ops"], got["found"], got["failed"]) == (50, 50, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"s0-{i}" for i in range(40, 50))
    again = tally(helper, "create", str(tmp_path), "s0-", "45", "0")
    assert again["failed"] == 5  # O_EXCL: files 40..44 exist
    assert again["errno"] == 17  # EEXIST


def test_read_and_write(helper: Path, tmp_path: Path) -> None:
    for k in range(3):
        (tmp_path / f"f{k}").write_bytes(b"a" * 8192)
    got = tally(helper, "read", str(tmp_path), "3", "7", "8192", "0")
    assert (got["op_read"], got["ops"], got["found"], got["failed"]) == (1, 7, 7, 0)
    got = tally(helper, "read", str(tmp_path), "3", "3", "4096", "1")
    assert got["op_write"] == 1
    assert (tmp_path / "f2").read_bytes() == b"Z" * 4096 + b"a" * 4096
    got = tally(helper, "read", str(tmp_path), "4", "4", "10", "0")
    assert got["missing"] == 1  # f3 does not exist


def test_walk_of_a_tree(helper: Path, tmp_path: Path) -> None:
    for i in range(2):
        for j in range(2):
            leaf = tmp_path / f"pd{i}" / f"pd{j}"
            leaf.mkdir(parents=True)
            for k in range(3):
                (leaf / f"pf{k}").touch()
    got = tally(helper, "walk", str(tmp_path), "p", "2", "2", "3", "200", "9")
    assert (got["ops"], got["found"], got["missing"]) == (200, 200, 0)
    got = tally(helper, "walk", str(tmp_path), "p", "2", "3", "3", "200", "9")
    assert 0 < got["missing"] < 200  # fanout 3 reaches pd2, which does not exist


def test_bad_usage_exits_2(helper: Path) -> None:
    for argv in ([], ["lookup", "x"], ["nope"], ["create", "d", "p", "x", "0"]):
        done = subprocess.run([str(helper), *argv], capture_output=True, check=False)
        assert done.returncode == 2, argv
