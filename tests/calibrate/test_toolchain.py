"""Finding the host parts and the kernel, and saying how to get what is missing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from shrinkfw.calibrate import toolchain
from shrinkfw.calibrate.errors import ToolchainError
from shrinkfw.calibrate.toolchain import (
    Part,
    ToolchainReport,
    cache_dir,
    cached_kernels,
    check,
    install,
    resolve_kernel,
)

PACKAGE = "linux-image-6.1.0-56-cloud-amd64-unsigned"


def fake_bzimage(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(0x400)
    data[0x202:0x206] = b"HdrS"
    path.write_bytes(bytes(data))
    return path


def fake_elf(path: Path, *types: int) -> Path:
    """A little-endian x86-64 ELF header with program headers of ``types``."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<H", header, 18, 62)
    struct.pack_into("<Q", header, 32, 64)  # e_phoff
    struct.pack_into("<HH", header, 54, 56, len(types))
    table = b"".join(struct.pack("<I", t) + bytes(52) for t in types)
    path.write_bytes(bytes(header) + table)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("SHRINKFW_CACHE", str(root))
    monkeypatch.setattr(toolchain, "default_kernel_package", lambda: PACKAGE)
    return root


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHRINKFW_CACHE", "/x/y")
    assert cache_dir() == Path("/x/y")
    monkeypatch.delenv("SHRINKFW_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert cache_dir() == Path("/xdg/shrinkfw")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "shrinkfw"


def test_static_elf_detection(tmp_path: Path) -> None:
    pt_load, pt_interp = 1, 3
    assert toolchain._is_static_x86_64(fake_elf(tmp_path / "s", pt_load, pt_load)) is True
    assert toolchain._is_static_x86_64(fake_elf(tmp_path / "d", pt_load, pt_interp)) is False
    (tmp_path / "t").write_text("#!/bin/sh\n")
    assert toolchain._is_static_x86_64(tmp_path / "t") is None
    assert toolchain._is_static_x86_64(tmp_path / "missing") is None


def test_a_kernel_image_path(tmp_path: Path, cache: Path) -> None:
    image = fake_bzimage(tmp_path / "vmlinuz-6.1.0-9-cloud-amd64")
    kernel = resolve_kernel(str(image))
    assert (kernel.image, kernel.package, kernel.release) == (image, "", "6.1.0-9-cloud-amd64")
    (tmp_path / "notakernel").write_bytes(b"x" * 0x400)
    with pytest.raises(ToolchainError, match="not a bootable x86 kernel image"):
        resolve_kernel(tmp_path / "notakernel")


def test_an_unpacked_package_directory(tmp_path: Path, cache: Path) -> None:
    image = fake_bzimage(tmp_path / "tree" / "boot" / "vmlinuz-6.1.0-7-cloud-amd64")
    assert resolve_kernel(tmp_path / "tree").image == image
    (tmp_path / "empty").mkdir()
    with pytest.raises(ToolchainError, match="holds no boot/vmlinuz"):
        resolve_kernel(tmp_path / "empty")


def test_cached_packages_newest_first_by_version(cache: Path) -> None:
    for nn in (9, 47, 10):
        name = f"linux-image-6.1.0-{nn}-cloud-amd64-unsigned"
        fake_bzimage(cache / "kernels" / name / "root" / "boot" / f"vmlinuz-6.1.0-{nn}-cloud-amd64")
    assert [k.release for k in cached_kernels()] == [
        "6.1.0-9-cloud-amd64",
        "6.1.0-10-cloud-amd64",
        "6.1.0-47-cloud-amd64",
    ]
    assert resolve_kernel(None).release == "6.1.0-47-cloud-amd64"
    named = resolve_kernel("linux-image-6.1.0-9-cloud-amd64-unsigned", fetch=False)
    assert named.package == "linux-image-6.1.0-9-cloud-amd64-unsigned"


def test_no_kernel_says_what_to_run(cache: Path) -> None:
    with pytest.raises(ToolchainError) as info:
        resolve_kernel(None)
    message = str(info.value)
    assert "shrinkfw calibrate --setup" in message
    assert f"apt-get download {PACKAGE}" in message
    assert f"dpkg -x {PACKAGE}_*.deb root" in message
    with pytest.raises(ToolchainError, match=f"apt-get download {PACKAGE}"):
        resolve_kernel(PACKAGE, fetch=False)
    with pytest.raises(ToolchainError, match="not a package name"):
        resolve_kernel("no-such-thing")


def test_check_reports_each_part(cache: Path) -> None:
    report = check()
    names = [p.name for p in report.parts]
    assert names == ["qemu-system-x86_64", "busybox", "mkfs.ext4", "gcc", "kernel"]
    kernel = report.parts[-1]
    assert not kernel.ok
    assert kernel.fix.startswith(f"mkdir -p {cache / 'kernels' / PACKAGE} && cd ")
    assert not report.ok
    assert kernel in report.missing
    text = report.describe()
    assert "kernel" in text
    assert "MISSING" in text
    assert kernel.fix in text


def test_describe_lists_fixes() -> None:
    report = ToolchainReport(
        parts=(
            Part(name="qemu-system-x86_64", path=None, detail="not on PATH", fix="apt-get x"),
            Part(name="busybox", path=Path("/bin/busybox"), detail="static"),
        )
    )
    lines = report.describe().splitlines()
    assert lines[0].startswith("qemu-system-x86_64  MISSING")
    assert lines[1] == "busybox             ok       /bin/busybox (static)"
    assert lines[-1] == "  apt-get x"


def test_install_needs_root_for_apt(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = ToolchainReport(
        parts=(Part(name="qemu-system-x86_64", path=None, fix="apt-get install qemu"),)
    )
    monkeypatch.setattr(toolchain, "check", lambda *a, **k: missing)
    monkeypatch.setattr(toolchain.os, "geteuid", lambda: 1000)
    with pytest.raises(ToolchainError, match=r"needs root.*qemu-system-x86"):
        install()


def test_the_helper_is_compiled_once(tmp_path: Path) -> None:
    gcc = toolchain._which("gcc")
    if gcc is None or toolchain._static_libc(gcc) is None:
        pytest.skip("no gcc with a static libc")
    first = toolchain.build_helper(gcc, cache=tmp_path)
    assert toolchain._is_static_x86_64(first) is True
    stamp = first.stat().st_mtime_ns
    assert toolchain.build_helper(gcc, cache=tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
