"""The isolation layer: run untrusted code in a process confined by the operating system.

aia runs three kinds of code it cannot trust: Python an investigator writes (`run_python`), the
answer code it submits (executed at scoring time), and function scripts from a foreign FIND
release (served as black boxes). An audit hook inside the same interpreter is no boundary (code
can find it with `gc.get_objects()` and switch it off), so every one of them runs here, under
bubblewrap (`bwrap`):

- its own user, PID, mount, network, IPC, UTS and cgroup namespaces (`--unshare-all`): it cannot
  see or signal any process outside, and has no network, not even to AF_UNIX services of the host;
- a filesystem built from nothing: read-only binds of the system's libraries (`/usr`), the
  running interpreter's prefix and site-packages (with this project's own packages masked, so
  that the suite generators cannot be imported and re-run), what the caller names, a private
  tmpfs at `/tmp`, and only the directories the caller names writable. No suite, cache or home;
  `/proc` shows only the sandbox's own processes;
- no environment beyond what the caller passes (`--clearenv`): never an API key;
- `--die-with-parent` and `--new-session`: it dies with its parent and cannot reach the
  controlling terminal; all capabilities dropped and no nested user namespaces;
- resource limits set before `bwrap` starts (address space, file size, open files, CPU time,
  no core files) and, where a `pids` cgroup is writable, a cap on its number of processes
  (RLIMIT_NPROC is not enforced for root, and a user namespace does not change that).

`probe()` says whether bubblewrap works on this machine; `spawn` raises `IsolationUnavailable`
(with the install hint) when it does not. Callers that may run unconfined on an explicit opt-out
decide that themselves; this module never falls back silently.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import resource
import shutil
import signal
import site
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: How to get bubblewrap, for every message that says it is missing.
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`, "
                "Arch: `pacman -S bubblewrap`); it needs Linux with user namespaces enabled")

#: This project's packages: masked inside a sandbox wherever the interpreter's binds would show them.
PROJECT_PACKAGES = ("agent", "tools", "evals", "find_functions", "prompts")

#: Where a confined process finds files the caller binds for it (scripts, its working directory).
INSIDE_ROOT = "/opt/aia"

#: The environment a confined Python gets unless the caller adds to it.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TMPDIR": "/tmp",
    "HOME": "/tmp",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
}


class IsolationUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here; the message says how to fix it."""


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits of a confined process (None: no limit of that kind)."""

    memory_bytes: int | None = 2 << 30
    """Address space (RLIMIT_AS): a huge allocation fails with MemoryError instead of swapping the host."""
    file_bytes: int | None = 64 << 20
    """Largest file it may write (RLIMIT_FSIZE)."""
    open_files: int | None = 256
    """Open descriptors (RLIMIT_NOFILE)."""
    cpu_seconds: int | None = None
    """CPU time over the process's life (RLIMIT_CPU); long-lived sandboxes re-arm it per run."""
    processes: int = 64
    """Processes and threads it may have at once (a pids cgroup where one is writable, else RLIMIT_NPROC)."""


@dataclass(frozen=True)
class Jail:
    """What a confined process sees besides the system libraries and the interpreter."""

    read_only: Sequence[tuple[str | Path, str]] = ()
    """(host path, path inside) pairs bound read-only: a file or a directory."""
    writable: Sequence[tuple[str | Path, str]] = ()
    """(host path, path inside) pairs bound read-write: the only places it can change."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to BASE_ENV; nothing else of the parent's environment reaches it."""
    cwd: str = "/tmp"
    """Its working directory (inside)."""
    hide: Sequence[str] = ()
    """Inside paths (directories) covered by an empty tmpfs, e.g. to mask part of a bound tree."""


@dataclass(frozen=True)
class Probe:
    """Whether bubblewrap works here, and how processes can be capped."""

    bwrap: str | None
    version: str | None
    problem: str | None
    pids_cgroup: str | None

    @property
    def available(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """One line for run records and `aia` output."""
        if self.problem:
            return f"unavailable: {self.problem}"
        cap = "a pids cgroup" if self.pids_cgroup else "RLIMIT_NPROC (not enforced for root)"
        return f"bubblewrap {self.version}; process cap by {cap}"


@functools.cache
def probe() -> Probe:
    """Find bwrap and check, once per process, that it can build a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Probe(None, None, f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}", None)
    try:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = "unknown"
    try:
        check = subprocess.run(
            _command(bwrap, [sys.executable, "-I", "-S", "-c", "print('ok')"], Jail()),
            capture_output=True, text=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(bwrap, version, f"bubblewrap could not start a sandbox ({exc}): {INSTALL_HINT}", None)
    if check.returncode != 0 or check.stdout.strip() != "ok":
        why = (check.stderr.strip().splitlines() or [f"exit status {check.returncode}"])[-1]
        return Probe(bwrap, version, f"bubblewrap cannot create a sandbox here ({why}): {INSTALL_HINT}", None)
    return Probe(bwrap, version, None, _pids_cgroup_root())


def require() -> Probe:
    """The probe, or IsolationUnavailable naming what to install."""
    found = probe()
    if not found.available:
        raise IsolationUnavailable(found.problem)
    return found


# ---------------------------------------------------------------------------------- the command

def interpreter_binds() -> list[str]:
    """Host directories the running interpreter needs: its prefixes and site-packages."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user_site and os.path.isdir(user_site):
        roots.add(user_site)
    kept = sorted({os.path.realpath(r) for r in roots if os.path.isdir(r)})
    # a directory inside another bound one is bound already
    return [r for r in kept if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in kept)]


def project_package_dirs() -> list[str]:
    """Where this project's packages live, to be masked if an interpreter bind would show them."""
    out = []
    for name in PROJECT_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            out += [os.path.realpath(p) for p in spec.submodule_search_locations]
    return out


def _system_binds() -> list[str]:
    """bwrap arguments for the system: /usr read-only, and /lib, /bin, ... as they are on the host."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group"):
        if os.path.exists(name):  # a dynamic loader and libc that behave normally; no secrets in these
            args += ["--ro-bind", name, name]
    return args


def _command(bwrap: str, argv: Sequence[str], jail: Jail, info_fd: int | None = None) -> list[str]:
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--cap-drop", "ALL", "--hostname", "sandbox"]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    cmd += _system_binds()
    binds = interpreter_binds()
    for root in binds:
        cmd += ["--ro-bind", root, root]
    for pkg in project_package_dirs():
        if any(pkg.startswith(r.rstrip("/") + "/") for r in binds):
            cmd += ["--tmpfs", pkg, "--remount-ro", pkg]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for src, dst in jail.read_only:
        cmd += ["--ro-bind", os.fspath(src), dst]
    for src, dst in jail.writable:
        cmd += ["--bind", os.fspath(src), dst]
    for inside in jail.hide:
        cmd += ["--tmpfs", inside, "--remount-ro", inside]
    for key, value in {**BASE_ENV, **jail.env}.items():
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", jail.cwd, "--", *argv]
    return cmd


def command(argv: Sequence[str], jail: Jail) -> list[str]:
    """The full bwrap command line that runs `argv` inside `jail` (raises IsolationUnavailable)."""
    found = require()
    assert found.bwrap is not None
    return _command(found.bwrap, argv, jail)


# ---------------------------------------------------------------------------------- the process

class Confined:
    """A process started by `spawn` (or `spawn_unconfined`), and what its teardown needs.

    `returncode` and `wait` read like Popen's: bwrap reports a command killed by signal N as exit
    status 128+N, which is translated back to -N so callers can tell crashes from exits.
    """

    def __init__(self, popen: subprocess.Popen, cgroup: str | None, init_pid: int | None, *,
                 confined: bool = True) -> None:
        self.popen = popen
        self.confined = confined
        self._cgroup = cgroup
        self._init_pid = init_pid

    @property
    def pid(self) -> int:
        """The started process's pid (bwrap's, when confined: the sandbox's processes descend from it)."""
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self._translate(self.popen.returncode)

    def wait(self, timeout: float | None = None) -> int | None:
        return self._translate(self.popen.wait(timeout=timeout))

    def _translate(self, code: int | None) -> int | None:
        if self.confined and code is not None and 128 < code < 128 + 65:
            return -(code - 128)
        return code

    def payload_pid(self) -> int | None:
        """The host pid of the command itself (PID 2 of the sandbox when confined), for prlimit; None if gone."""
        if not self.confined:
            return self.popen.pid if self.popen.poll() is None else None
        if self._init_pid is None:
            return None
        try:
            children = Path(f"/proc/{self._init_pid}/task/{self._init_pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def poll(self) -> int | None:
        return self._translate(self.popen.poll())

    def kill(self) -> None:
        """Kill bwrap's process group (the whole sandbox goes with its PID namespace), reap, drop the cgroup."""
        kill_group(self.popen)
        if self._cgroup is not None:
            _remove_cgroup(self._cgroup)
            self._cgroup = None


def spawn_unconfined(argv: Sequence[str], limits: Limits = Limits(), *, cwd: str | Path, env: Mapping[str, str],
                     stdin: Any = None, stdout: Any = None, stderr: Any = None, pass_fds: Sequence[int] = (),
                     text: bool = False) -> Confined:
    """Start `argv` with the same limits and session but no namespaces: only on a user's explicit opt-out."""
    cgroup = _make_cgroup(probe().pids_cgroup, limits.processes)
    try:
        popen = subprocess.Popen(list(argv), stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds),
                                 cwd=cwd, env=dict(env), text=text, start_new_session=True,
                                 preexec_fn=_preexec(limits, cgroup, use_nproc=cgroup is None))
    except BaseException:
        if cgroup is not None:
            _remove_cgroup(cgroup)
        raise
    return Confined(popen, cgroup, None, confined=False)


def spawn(argv: Sequence[str], jail: Jail, limits: Limits = Limits(), *, stdin: Any = None,
          stdout: Any = None, stderr: Any = None, pass_fds: Sequence[int] = (),
          text: bool = False) -> Confined:
    """Start `argv` inside `jail` under `limits`, in its own session (raises IsolationUnavailable)."""
    found = require()
    assert found.bwrap is not None
    cgroup = _make_cgroup(found.pids_cgroup, limits.processes)
    info_r, info_w = os.pipe()
    try:
        popen = subprocess.Popen(
            _command(found.bwrap, argv, jail, info_fd=info_w), stdin=stdin, stdout=stdout, stderr=stderr,
            pass_fds=(*pass_fds, info_w), env={}, text=text, start_new_session=True,
            preexec_fn=_preexec(limits, cgroup, use_nproc=cgroup is None))
    except BaseException:
        os.close(info_r)
        if cgroup is not None:
            _remove_cgroup(cgroup)
        raise
    finally:
        os.close(info_w)
    return Confined(popen, cgroup, _read_child_pid(info_r))


def _read_child_pid(fd: int) -> int | None:
    """bwrap's `--info-fd` JSON (written before the command starts; EOF if bwrap failed first)."""
    with os.fdopen(fd, "rb") as info:
        data = info.read()
    try:
        return int(json.loads(data)["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None


def _preexec(limits: Limits, cgroup: str | None, use_nproc: bool) -> Any:
    """What the forked child does before exec'ing bwrap: join the cgroup, set the rlimits.

    Only async-signal-safe calls (os.open/os.write/setrlimit): the parent may have threads.
    """
    settings = [(resource.RLIMIT_CORE, 0)]
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_FSIZE, limits.file_bytes),
                        (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CPU, limits.cpu_seconds)):
        if value is not None:
            settings.append((kind, int(value)))
    if use_nproc and hasattr(resource, "RLIMIT_NPROC"):
        settings.append((resource.RLIMIT_NPROC, int(limits.processes)))
    procs = os.path.join(cgroup, "cgroup.procs").encode() if cgroup else None

    def run() -> None:
        if procs is not None:
            fd = os.open(procs, os.O_WRONLY)
            os.write(fd, b"0")  # "0": the writing process itself
            os.close(fd)
        for kind, value in settings:
            _, hard = resource.getrlimit(kind)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (soft, hard if kind == resource.RLIMIT_CPU else soft))
    return run


def kill_group(proc: subprocess.Popen, wait: float = 10.0) -> None:
    """SIGKILL a process that leads its own session, and everything in its process group; reap it.

    The one teardown for every child aia starts (sandboxes, black-box workers, answer code).
    """
    if proc.returncode is None:  # once reaped, its pid (= process group id) may be reused
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------------------------- pids cgroup

def _pids_cgroup_root() -> str | None:
    """A cgroup directory under which this process can make pids-limited children, or None."""
    candidates = ["/sys/fs/cgroup/pids"]  # cgroup v1's pids hierarchy
    try:  # cgroup v2: our own group, if it delegates the pids controller
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                candidates.append("/sys/fs/cgroup" + line[3:].rstrip("/"))
    except OSError:
        pass
    for root in candidates:
        if not os.path.isdir(root) or not os.access(root, os.W_OK):
            continue
        test = _make_cgroup(root, 8)
        if test is not None:
            _remove_cgroup(test)
            return root
    return None


def _make_cgroup(root: str | None, processes: int) -> str | None:
    if root is None:
        return None
    path = os.path.join(root, f"aia-{os.getpid()}-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(path)
        Path(path, "pids.max").write_text(str(int(processes)))
    except OSError:
        try:
            os.rmdir(path)
        except OSError:
            pass
        return None
    return path


def _remove_cgroup(path: str) -> None:
    """Remove a cgroup once its last member has gone (the kernel takes a moment after a kill)."""
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
