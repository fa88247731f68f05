"""``shrinkfw trace check`` end to end: output, JSON contract, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from shrinkfw.cli import main

DATA = Path(__file__).parent / "data" / "ftrace"
TRACE_49 = str(DATA / "kswapd-4.9-lru-zero.trace")
TRACE_54 = str(DATA / "kswapd-5.4-xfs-server.trace")
TRACE_61 = str(DATA / "linux-6.1-memcg-max-negative-dentries.trace")
ALTERED = str(DATA / "altered-5.4.trace")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["trace", "check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = run(capsys, "--json", *argv)
    assert err == ""
    return code, json.loads(out)


@pytest.mark.parametrize(
    ("path", "eras", "checked"),
    [(TRACE_49, ["E1", "E2"], 3), (TRACE_54, ["E3"], 4), (TRACE_61, ["E4", "E5"], 48)],
)
def test_samples_match(
    capsys: pytest.CaptureFixture[str], path: str, eras: list[str], checked: int
) -> None:
    code, out, err = run(capsys, path)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == checked + 1
    assert all(" match " in line for line in lines[:-1])
    assert lines[-1].startswith(f"{path}: {checked} checked: {checked} match, 0 mismatch")
    assert lines[-1].endswith(f"eras explaining every line: {' '.join(eras)}")


def test_human_line_layout(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, TRACE_54)
    assert out.splitlines()[0].split() == [
        "5",
        "start",
        "super_cache_scan",
        "nid",
        "1",
        "match",
        "E3",
        "[v4.16",
        "v5.0]",
    ]


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, TRACE_54)
    assert code == 0
    summary = doc["summary"]
    assert {k: summary[k] for k in ("checked", "matched", "mismatched", "ignored")} == {
        "checked": 4,
        "matched": 4,
        "mismatched": 0,
        "ignored": 5,
    }
    assert summary["eras"] == ["E3"]
    lines = doc["lines"]
    assert [line["lineno"] for line in lines] == [5, 6, 7, 8]
    for line in lines:
        for key in ("lineno", "event", "shrinker", "nid", "status", "eras", "expected", "observed"):
            assert key in line
        assert line["status"] == "match"
        assert line["eras"] == ["E3"]
        assert line["shrinker"] == "super_cache_scan"
        assert line["nid"] == 1
    assert lines[0]["event"] == "start"
    assert lines[0]["observed"]["delta"] == 520
    assert lines[0]["expected"] == {"delta": 520, "total_scan": 1344}
    assert lines[1]["event"] == "end"
    assert lines[1]["pair"] == 5
    assert lines[1]["observed"]["new_scan_count"] == 320
    assert doc["ignored_lines"] == []


def test_json_mismatch_and_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, ALTERED)
    assert code == 1
    lines = {line["lineno"]: line for line in doc["lines"]}
    assert lines[4]["status"] == "mismatch"
    assert lines[4]["eras"] == []
    assert lines[4]["expected"]["delta"] == 520
    assert lines[4]["observed"]["delta"] == 521
    assert lines[4]["reason"] == "delta 521 expected 520 (E3 v4.16, seeks 2)"
    assert 21 not in lines
    (ignored,) = doc["ignored_lines"]
    assert ignored["lineno"] == 21
    assert ignored["status"] == "ignored"
    assert "no unpaired start line" in ignored["reason"]
    summary = doc["summary"]
    assert summary["mismatched"] == 7
    assert summary["unpaired_ends"] == 1


def test_mismatch_exit_1_and_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, ALTERED)
    assert code == 1
    assert "MISMATCH  delta 521 expected 520 (E3 v4.16, seeks 2)" in out
    assert "ignored   no unpaired start line" in out


def test_profile_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "--profile", "E3", TRACE_61)
    assert code == 1
    assert doc["summary"]["mismatched"] == 46
    code, doc = run_json(capsys, "--profile", "v3.14-kmemcg-v15", TRACE_49)
    assert code == 0
    code, doc = run_json(capsys, "--profile", "v6.7", TRACE_61)
    assert code == 0
    assert {tuple(line["eras"]) for line in doc["lines"]} == {("E5",)}


def test_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    code, _doc = run_json(capsys, "--batch", "super_cache_scan=100", TRACE_54)
    assert code == 1
    code, _doc = run_json(capsys, "--seeks", "super_cache_scan=2", "--batch=x=0", TRACE_61)
    assert code == 0


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = Path(TRACE_54).read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _err = run(capsys, "-")
    assert code == 0
    assert out.splitlines()[-1].startswith("<stdin>: 4 checked")


# -- exit 2: unreadable input and bad usage ----------------------------------------------------


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "absent.trace"
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert one_line_error(err) == f"shrinkfw: error: {path}: cannot open: No such file or directory"


def test_binary_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "trace.dat"
    path.write_bytes(b"\x17\x08Dtracing6\x00" * 10)
    code, out, err = run(capsys, str(path))
    assert (code, out) == (2, "")
    assert one_line_error(err).startswith(f"shrinkfw: error: {path}:1: binary data")


def test_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, str(tmp_path))  # a directory
    assert (code, out) == (2, "")
    assert "cannot open" in one_line_error(err)


def test_malformed_line_names_file_line_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = Path(TRACE_61).read_text().splitlines()
    assert "delta 1308" in lines[48]
    lines[48] = lines[48].replace("delta 1308", "delta 13o8")
    path = tmp_path / "bad.trace"
    path.write_text("\n".join(lines) + "\n")
    for argv in ([str(path)], ["--json", str(path)]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "")  # nothing half-written on stdout
        assert one_line_error(err) == (
            f"shrinkfw: error: {path}:49: delta: expected an integer, got '13o8'"
        )


def test_no_events(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.trace"
    path.write_text("# tracer: nop\n#\n  <idle>-0 [000] .... 1.0: sched_switch: x\n")
    code, doc = run_json_with_err(capsys, str(path))
    assert code == 0
    assert doc["summary"]["checked"] == 0
    assert doc["summary"]["ignored"] == 3
    assert doc["lines"] == []
    code, out, err = run(capsys, str(path))
    assert code == 0
    assert "no mm_shrink_slab_start/end events" in err
    assert out.splitlines()[-1].startswith(f"{path}: 0 checked")


def run_json_with_err(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = run(capsys, "--json", *argv)
    assert "note:" in err
    return code, json.loads(out)


def test_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--profile", "v9.9", TRACE_54)
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert line.startswith("shrinkfw: error: unknown profile 'v9.9'; valid profiles: auto, E1")
    assert "v3.14-kmemcg-v15" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["--batch", "super_cache_scan"],
        ["--batch", "=12"],
        ["--batch", "super_cache_scan=-1"],
        ["--seeks", "super_cache_scan=two"],
        ["--seeks", "bad name=2"],
    ],
)
def test_bad_override_syntax(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["trace", "check", *argv, TRACE_54])
    assert info.value.code == 2
    _out, err = capsys.readouterr()
    assert f"argument {argv[0]}:" in err
    assert "FUNC=N" in err or "non-negative integer" in err
