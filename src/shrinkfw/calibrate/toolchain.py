"""The host parts a calibration needs, where they are, and how to get them.

A calibration boots a real Linux kernel under qemu (TCG emulation: KVM is not required) with
an initramfs built from a static busybox and a small static helper compiled here with gcc, on
an ext4 disk image made with ``mkfs.ext4``. :func:`check` says which parts are present and,
for each missing one, the exact command that fixes it; :func:`install` runs those commands
(``apt-get``, as root: it is what ``shrinkfw calibrate --setup`` does and never happens
implicitly).

The kernel is a Debian package, ``linux-image-6.1.0-NN-cloud-amd64-unsigned`` by default
(the cloud flavour is small and has NVMe, ext4, memcg with kmem accounting and tracing built
in). It is fetched with ``apt-get download`` into the cache and unpacked with ``dpkg -x``; no
package is installed on the host. The cache is ``$SHRINKFW_CACHE`` or, by default,
``~/.cache/shrinkfw`` (``$XDG_CACHE_HOME/shrinkfw`` when that is set); kernels live in its
``kernels/`` directory, the compiled helper in ``helper/``.

A kernel is named by :func:`resolve_kernel` as a path (a ``vmlinuz``/``bzImage``, a directory
holding ``boot/vmlinuz-*``, or a ``.deb``) or as a package name (``linux-image-...``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from .errors import ToolchainError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "APT_PACKAGES",
    "KERNEL_PACKAGE_PATTERN",
    "Kernel",
    "Part",
    "ToolchainReport",
    "Tools",
    "build_helper",
    "cache_dir",
    "cached_kernels",
    "check",
    "default_kernel_package",
    "fetch_kernel",
    "find_tools",
    "install",
    "resolve_kernel",
]

#: the Debian package each host tool comes from
APT_PACKAGES: Final = {
    "qemu-system-x86_64": ("qemu-system-x86",),
    "busybox": ("busybox-static",),
    "mkfs.ext4": ("e2fsprogs",),
    "gcc": ("gcc", "libc6-dev"),
}
#: the kernel packages the default search considers (Debian 12's 6.1 cloud kernels)
KERNEL_PACKAGE_PATTERN: Final = r"^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$"
_PACKAGE_NAME: Final = re.compile(r"^linux-image-[A-Za-z0-9.+~-]+$")
_APT_INSTALL: Final = "apt-get install -y --no-install-recommends"
_ELF_X86_64: Final = 62
_PT_INTERP: Final = 3


def cache_dir() -> Path:
    """The calibration cache: ``$SHRINKFW_CACHE``, else ``$XDG_CACHE_HOME/shrinkfw``, else
    ``~/.cache/shrinkfw``."""
    explicit = os.environ.get("SHRINKFW_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "shrinkfw"


# -- host tools ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Tools:
    """Paths of the host tools a calibration runs."""

    qemu: Path
    busybox: Path
    mkfs_ext4: Path
    gcc: Path


@attrs.frozen(kw_only=True)
class Part:
    """One host part: where it is, or why it is not usable and the command that fixes it.

    :ivar name: ``qemu-system-x86_64``, ``busybox``, ``mkfs.ext4``, ``gcc`` or ``kernel``.
    :ivar path: where it was found; ``None`` when missing or unusable.
    :ivar detail: what was found, or what is wrong.
    :ivar fix: shell commands that make it present ("" when it is).
    """

    name: str
    path: Path | None
    detail: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


@attrs.frozen(kw_only=True)
class ToolchainReport:
    """What :func:`check` found."""

    parts: tuple[Part, ...]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.parts)

    @property
    def missing(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if not p.ok)

    def describe(self) -> str:
        """One line per part, then the commands that fix what is missing."""
        width = max(len(p.name) for p in self.parts)
        lines = []
        for p in self.parts:
            state = f"ok       {p.path}" if p.ok else "MISSING  "
            extra = f" ({p.detail})" if p.detail else ""
            lines.append(f"{p.name:<{width}}  {state}{extra}")
        if not self.ok:
            lines.append("")
            lines.append("to fix (as root), or run: shrinkfw calibrate --setup")
            lines.extend(f"  {p.fix}" for p in self.missing if p.fix)
        return "\n".join(lines)


def _is_static_x86_64(path: Path) -> bool | None:
    """Whether ``path`` is a static x86-64 ELF executable (``None``: not x86-64 ELF)."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            (machine,) = struct.unpack_from("<H", head, 18)
            if machine != _ELF_X86_64:
                return None
            (phoff,) = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return None
    for i in range(phnum):
        (p_type,) = struct.unpack_from("<I", table, i * phentsize)
        if p_type == _PT_INTERP:
            return False
    return True


def _which(name: str, extra: Sequence[str] = ("/usr/sbin", "/sbin")) -> Path | None:
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=os.pathsep.join(extra))
    return Path(found) if found else None


def _tool_parts() -> list[Part]:
    parts = []
    qemu = _which("qemu-system-x86_64")
    parts.append(
        Part(
            name="qemu-system-x86_64",
            path=qemu,
            detail="" if qemu else "not on PATH",
            fix="" if qemu else f"{_APT_INSTALL} qemu-system-x86",
        )
    )
    busybox = _which("busybox")
    static = _is_static_x86_64(busybox) if busybox else None
    if busybox is not None and static:
        parts.append(Part(name="busybox", path=busybox, detail="static"))
    else:
        why = "not on PATH" if busybox is None else f"{busybox} is not a static x86-64 binary"
        parts.append(
            Part(name="busybox", path=None, detail=why, fix=f"{_APT_INSTALL} busybox-static")
        )
    mkfs = _which("mkfs.ext4")
    parts.append(
        Part(
            name="mkfs.ext4",
            path=mkfs,
            detail="" if mkfs else "not on PATH",
            fix="" if mkfs else f"{_APT_INSTALL} e2fsprogs",
        )
    )
    gcc = _which("gcc")
    libc_a = _static_libc(gcc) if gcc else None
    if gcc is not None and libc_a is not None:
        parts.append(Part(name="gcc", path=gcc, detail=f"static libc {libc_a}"))
    else:
        why = "not on PATH" if gcc is None else "no static libc (libc.a) for gcc -static"
        parts.append(Part(name="gcc", path=None, detail=why, fix=f"{_APT_INSTALL} gcc libc6-dev"))
    return parts


def _static_libc(gcc: Path) -> Path | None:
    try:
        out = subprocess.run(
            [str(gcc), "-print-file-name=libc.a"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(out)
    return path.resolve() if path.is_absolute() and path.is_file() else None


def find_tools() -> Tools:
    """The host tools, found on ``PATH`` (and ``/usr/sbin``, ``/sbin``).

    :raises ToolchainError: one is missing; the message lists the commands that fix it.
    """
    parts = {p.name: p for p in _tool_parts()}
    missing = [p for p in parts.values() if not p.ok]
    if missing:
        fixes = "; ".join(p.fix for p in missing)
        names = ", ".join(f"{p.name} ({p.detail})" for p in missing)
        raise ToolchainError(
            f"missing host parts: {names}; fix with (as root): {fixes} "
            "(or: shrinkfw calibrate --setup)"
        )

    def path(name: str) -> Path:
        found = parts[name].path
        assert found is not None
        return found

    return Tools(
        qemu=path("qemu-system-x86_64"),
        busybox=path("busybox"),
        mkfs_ext4=path("mkfs.ext4"),
        gcc=path("gcc"),
    )


# -- kernels -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Kernel:
    """A kernel image to boot.

    :ivar image: the ``vmlinuz`` (bzImage) file.
    :ivar package: the Debian package it came from ("" for a plain file).
    :ivar release: its release as named by the file (``6.1.0-56-cloud-amd64``), or "".
    """

    image: Path
    package: str = ""
    release: str = ""


def _kernels_dir(cache: Path | None) -> Path:
    return (cache or cache_dir()) / "kernels"


def _is_bzimage(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(0x202)
            return f.read(4) == b"HdrS"
    except OSError:
        return False


def _find_vmlinuz(root: Path) -> Path | None:
    candidates = sorted(root.glob("boot/vmlinuz-*")) + sorted(root.glob("vmlinuz-*"))
    for candidate in candidates:
        if candidate.is_file() and _is_bzimage(candidate):
            return candidate
    return None


def _release_of(image: Path) -> str:
    name = image.name
    return name.removeprefix("vmlinuz-") if name.startswith("vmlinuz-") else ""


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


def cached_kernels(cache: Path | None = None) -> list[Kernel]:
    """The kernels unpacked in the cache, oldest first (by the numbers in their names)."""
    base = _kernels_dir(cache)
    found = []
    if base.is_dir():
        for entry in base.iterdir():
            image = _find_vmlinuz(entry / "root") if entry.is_dir() else None
            if image is not None:
                found.append(Kernel(image=image, package=entry.name, release=_release_of(image)))
    return sorted(found, key=lambda k: _version_key(k.package))


def default_kernel_package() -> str | None:
    """The newest ``linux-image-6.1.0-NN-cloud-amd64-unsigned`` the apt sources offer
    (``apt-cache search``), or ``None`` when apt knows none (run ``apt-get update``)."""
    apt_cache = _which("apt-cache")
    if apt_cache is None:
        return None
    try:
        out = subprocess.run(
            [str(apt_cache), "search", "--names-only", KERNEL_PACKAGE_PATTERN],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.split(" - ", 1)[0].strip() for line in out.splitlines() if " - " in line]
    names = [n for n in names if re.match(KERNEL_PACKAGE_PATTERN, n)]
    return max(names, key=_version_key) if names else None


def _fetch_commands(package: str, cache: Path | None) -> str:
    target = _kernels_dir(cache) / package
    return (
        f"mkdir -p {target} && cd {target} && apt-get download {package} && "
        f"dpkg -x {package}_*.deb root"
    )


def _run(argv: Sequence[str], *, cwd: Path | None = None, what: str) -> None:
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, capture_output=True, text=True, timeout=1800, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"{what}: {' '.join(argv)}: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ToolchainError(
            f"{what}: {' '.join(argv)} exited {done.returncode}: {' / '.join(tail)}"
        )


def fetch_kernel(package: str, *, cache: Path | None = None) -> Kernel:
    """Download ``package`` with ``apt-get download`` into the cache and unpack it with
    ``dpkg -x`` (nothing is installed); reuse what an earlier call unpacked.

    :raises ToolchainError: apt or dpkg failed, or the package holds no ``boot/vmlinuz-*``.
    """
    if not _PACKAGE_NAME.match(package):
        raise ToolchainError(f"not a kernel package name: {package!r} (linux-image-...)")
    target = _kernels_dir(cache) / package
    root = target / "root"
    image = _find_vmlinuz(root)
    if image is not None:
        return Kernel(image=image, package=package, release=_release_of(image))
    target.mkdir(parents=True, exist_ok=True)
    debs = sorted(target.glob(f"{package}_*.deb"))
    if not debs:
        apt_get = _which("apt-get")
        if apt_get is None:
            raise ToolchainError(f"apt-get is not available to download {package}")
        _run([str(apt_get), "download", package], cwd=target, what=f"downloading {package}")
        debs = sorted(target.glob(f"{package}_*.deb"))
        if not debs:
            raise ToolchainError(f"apt-get download {package} left no .deb in {target}")
    return _unpack(debs[-1], target, package)


def _unpack(deb: Path, target: Path, package: str) -> Kernel:
    dpkg = _which("dpkg")
    if dpkg is None:
        raise ToolchainError(f"dpkg is not available to unpack {deb}")
    staging = target / "root.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _run([str(dpkg), "-x", str(deb), str(staging)], what=f"unpacking {deb.name}")
    if _find_vmlinuz(staging) is None:
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolchainError(
            f"{deb.name} holds no boot/vmlinuz-* (for Debian's signed kernels use the "
            "-unsigned package, e.g. linux-image-6.1.0-NN-cloud-amd64-unsigned)"
        )
    root = target / "root"
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    image = _find_vmlinuz(root)
    assert image is not None
    return Kernel(image=image, package=package, release=_release_of(image))


def resolve_kernel(
    spec: str | os.PathLike[str] | None, *, cache: Path | None = None, fetch: bool = True
) -> Kernel:
    """The kernel to boot, from what a user gave ``--kernel``.

    - ``None``: the newest kernel unpacked in the cache;
    - an existing file: a ``vmlinuz``/bzImage, or a ``.deb`` (unpacked into the cache);
    - an existing directory: its ``boot/vmlinuz-*`` (a ``dpkg -x`` tree) or ``vmlinuz-*``;
    - ``linux-image-...``: a Debian package, downloaded and unpacked into the cache when
      ``fetch`` (see :func:`fetch_kernel`).

    :raises ToolchainError: nothing usable; the message says what to run.
    """
    if spec is None:
        kernels = cached_kernels(cache)
        if kernels:
            return kernels[-1]
        package = default_kernel_package() or "linux-image-6.1.0-NN-cloud-amd64-unsigned"
        raise ToolchainError(
            f"no kernel in {_kernels_dir(cache)}: run shrinkfw calibrate --setup, or "
            f"{_fetch_commands(package, cache)}, or give --kernel PATH-or-PACKAGE"
        )
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix == ".deb":
            package = path.name.split("_", 1)[0]
            target = _kernels_dir(cache) / package
            image = _find_vmlinuz(target / "root")
            if image is not None:
                return Kernel(image=image, package=package, release=_release_of(image))
            target.mkdir(parents=True, exist_ok=True)
            return _unpack(path, target, package)
        if not _is_bzimage(path):
            raise ToolchainError(f"{path} is not a bootable x86 kernel image (bzImage)")
        return Kernel(image=path, release=_release_of(path))
    if path.is_dir():
        image = _find_vmlinuz(path)
        if image is None:
            raise ToolchainError(f"{path} holds no boot/vmlinuz-* or vmlinuz-*")
        return Kernel(image=image, release=_release_of(image))
    if _PACKAGE_NAME.match(text):
        cached = _find_vmlinuz(_kernels_dir(cache) / text / "root")
        if cached is not None:
            return Kernel(image=cached, package=text, release=_release_of(cached))
        if not fetch:
            raise ToolchainError(
                f"kernel package {text} is not in the cache: {_fetch_commands(text, cache)}"
            )
        return fetch_kernel(text, cache=cache)
    raise ToolchainError(
        f"--kernel {text}: no such file or directory, and not a package name (linux-image-...)"
    )


# -- the guest helper ----------------------------------------------------------------------


def build_helper(gcc: Path, *, cache: Path | None = None) -> Path:
    """The guest helper (``helper.c`` beside this module) compiled static with ``gcc``,
    cached by the hash of its source.

    :raises ToolchainError: the compilation failed.
    """
    source = resources.files("shrinkfw.calibrate").joinpath("helper.c").read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    out_dir = (cache or cache_dir()) / "helper"
    binary = out_dir / f"shrinkfw-load-{digest}"
    if binary.is_file():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / f"helper-{digest}.c"
    src.write_bytes(source)
    partial = binary.with_name(binary.name + f".{os.getpid()}.partial")
    _run(
        [str(gcc), "-static", "-O2", "-Wall", "-o", str(partial), str(src)],
        what="compiling the guest helper",
    )
    partial.replace(binary)
    return binary


# -- check and install ---------------------------------------------------------------------


def check(
    kernel: str | os.PathLike[str] | None = None, *, cache: Path | None = None
) -> ToolchainReport:
    """What is present and what is missing, with the commands that fix each missing part.

    Nothing is downloaded or installed. ``kernel`` is what ``--kernel`` would get (``None``:
    the newest cached kernel).
    """
    parts = _tool_parts()
    parts.append(_kernel_part(kernel, cache))
    return ToolchainReport(parts=tuple(parts))


def _kernel_part(kernel: str | os.PathLike[str] | None, cache: Path | None) -> Part:
    try:
        found = resolve_kernel(kernel, cache=cache, fetch=False)
    except ToolchainError as exc:
        if kernel is None or _PACKAGE_NAME.match(os.fspath(kernel)):
            package = (
                os.fspath(kernel)
                if kernel is not None
                else default_kernel_package() or "linux-image-6.1.0-NN-cloud-amd64-unsigned"
            )
            return Part(
                name="kernel",
                path=None,
                detail=f"{package} not in {_kernels_dir(cache)}",
                fix=_fetch_commands(package, cache),
            )
        return Part(name="kernel", path=None, detail=str(exc), fix="")
    label = found.package or found.release
    return Part(name="kernel", path=found.image, detail=label)


def install(
    kernel: str | None = None,
    *,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> ToolchainReport:
    """Install the missing host tools with ``apt-get`` and fetch the kernel into the cache
    (``shrinkfw calibrate --setup``). ``kernel``: a package name (default: the newest
    ``linux-image-6.1.0-NN-cloud-amd64-unsigned`` apt offers). ``log`` gets each command.

    :raises ToolchainError: not root, or a command failed.
    :returns: :func:`check` after the work.
    """
    before = check(kernel, cache=cache)
    packages: list[str] = []
    for part in before.missing:
        packages.extend(p for p in APT_PACKAGES.get(part.name, ()) if p not in packages)
    if packages:
        if os.geteuid() != 0:
            raise ToolchainError(
                f"installing {' '.join(packages)} needs root: run it with sudo, or "
                f"{_APT_INSTALL} {' '.join(packages)}"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        ):
            log(" ".join(argv))
            done = subprocess.run(argv, env=env, check=False)
            if done.returncode != 0:
                raise ToolchainError(f"{' '.join(argv)} exited {done.returncode}")
    kernel_ok = any(p.name == "kernel" and p.ok for p in before.parts)
    if not kernel_ok and (kernel is None or _PACKAGE_NAME.match(kernel)):
        package = kernel
        if package is None:
            package = default_kernel_package()
            if package is None:
                raise ToolchainError(
                    "apt knows no linux-image-6.1.0-NN-cloud-amd64-unsigned package "
                    "(is a Debian 12 'main' source configured? run apt-get update), or give "
                    "--kernel PATH-or-PACKAGE"
                )
        log(_fetch_commands(package, cache))
        fetch_kernel(package, cache=cache)
    return check(kernel, cache=cache)
