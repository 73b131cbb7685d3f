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
  controlling terminal; all capabilities dropped, no nested user namespaces, `/proc/sys` and
  `/dev` read-only (its root is the host's root where aia runs as root: a writable `/proc/sys`
  would let it set the host's `core_pattern`);
- every writable place a tmpfs of bounded size (`/tmp`, `/dev/shm`, the caller's scratch
  directories), so it cannot fill the host's disk;
- resource limits set before `bwrap` starts (address space, file size, open files, CPU time,
  no core files) and, where the machine lets this process make cgroups, a cgroup per sandbox
  capping its processes and its memory as a whole (RLIMIT_NPROC is not enforced for root, and
  a user namespace does not change that).

`probe()` says whether bubblewrap works on this machine; `spawn` raises `IsolationUnavailable`
(with the install hint) when it does not. Callers that may run unconfined on an explicit opt-out
decide that themselves; this module never falls back silently.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
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

logger = logging.getLogger(__name__)

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
    total_memory_bytes: int | None = 4 << 30
    """Memory of the whole sandbox, its tmpfs pages included (a memory cgroup where one is writable)."""
    tmpfs_bytes: int = 256 << 20
    """Size of each writable tmpfs (`/tmp`, `/dev/shm`, the jail's scratch directories)."""


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
    scratch: Sequence[str] = ()
    """Inside directories that get a fresh writable tmpfs of `Limits.tmpfs_bytes` (gone with the process)."""


@dataclass(frozen=True)
class Probe:
    """Whether bubblewrap works here, and how processes can be capped."""

    bwrap: str | None
    version: str | None
    problem: str | None
    cgroups: tuple[str, ...] = ()
    """Parent cgroup directories under which a sandbox's own group is made (pids and memory)."""

    @property
    def available(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        """One line for run records and `aia` output."""
        if self.problem:
            return f"unavailable: {self.problem}"
        cap = "a cgroup" if self.cgroups else "RLIMIT_NPROC (not enforced for root) and RLIMIT_AS per process"
        return f"bubblewrap {self.version}; processes and memory capped by {cap}"


@functools.cache
def probe() -> Probe:
    """Find bwrap and check, once per process, that it can build a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Probe(None, None, f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    try:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = "unknown"
    try:
        check = subprocess.run(
            _command(bwrap, [sys.executable, "-I", "-S", "-c", "print('ok')"], Jail(), Limits()),
            capture_output=True, text=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(bwrap, version, f"bubblewrap could not start a sandbox ({exc}): {INSTALL_HINT}")
    if check.returncode != 0 or check.stdout.strip() != "ok":
        why = (check.stderr.strip().splitlines() or [f"exit status {check.returncode}"])[-1]
        return Probe(bwrap, version, f"bubblewrap cannot create a sandbox here ({why}): {INSTALL_HINT}")
    return Probe(bwrap, version, None, _Cgroup.usable_parents())


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
    """Where this project's packages live, to be masked if an interpreter bind would show them:
    where Python imports them from, and any copy of them in a bound site-packages directory."""
    out: set[str] = set()
    for name in PROJECT_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            out.update(os.path.realpath(p) for p in spec.submodule_search_locations)
        for root in site.getsitepackages():
            if os.path.isdir(os.path.join(root, name)):
                out.add(os.path.realpath(os.path.join(root, name)))
    return sorted(out)


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


def _command(bwrap: str, argv: Sequence[str], jail: Jail, limits: Limits, info_fd: int | None = None) -> list[str]:
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
           "--clearenv", "--cap-drop", "ALL", "--hostname", "sandbox"]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    size = str(int(limits.tmpfs_bytes))
    # the tmpfs mounts first: a bind below comes on top of them (a venv under /tmp stays visible)
    cmd += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",  # the kernel's knobs: never writable
            "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--size", size, "--tmpfs", "/tmp"]
    cmd += _system_binds()
    binds = interpreter_binds()
    for root in binds:
        cmd += ["--ro-bind", root, root]
    for pkg in project_package_dirs():
        if any(pkg.startswith(r.rstrip("/") + "/") for r in binds):
            cmd += ["--tmpfs", pkg, "--remount-ro", pkg]
    for src, dst in jail.read_only:
        cmd += ["--ro-bind", os.fspath(src), dst]
    for src, dst in jail.writable:
        cmd += ["--bind", os.fspath(src), dst]
    for inside in jail.scratch:
        cmd += ["--size", size, "--tmpfs", inside]
    for inside in jail.hide:
        cmd += ["--tmpfs", inside, "--remount-ro", inside]
    for key, value in {**BASE_ENV, **jail.env}.items():
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", jail.cwd, "--", *argv]
    return cmd


def command(argv: Sequence[str], jail: Jail, limits: Limits = Limits()) -> list[str]:
    """The full bwrap command line that runs `argv` inside `jail` (raises IsolationUnavailable)."""
    found = require()
    assert found.bwrap is not None
    return _command(found.bwrap, argv, jail, limits)


# ---------------------------------------------------------------------------------- the process

class Confined:
    """A process started by `spawn` (or `spawn_unconfined`), and what its teardown needs.

    `returncode` and `wait` read like Popen's: bwrap reports a command killed by signal N as exit
    status 128+N, which is translated back to -N so callers can tell crashes from exits.
    """

    def __init__(self, popen: subprocess.Popen, cgroup: _Cgroup | None, init_pid: int | None, *,
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

    def kill_strays(self) -> int:
        """Kill every process of the sandbox but the command itself (and bwrap's): what code it ran
        left behind (a forked busy loop, a daemon). Needs the cgroup; returns how many were killed."""
        if self._cgroup is None:
            return 0
        keep = {self.popen.pid, self._init_pid, self.payload_pid()}
        killed = 0
        for pid in self._cgroup.members():
            if pid not in keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except (ProcessLookupError, PermissionError):
                    pass
        return killed

    def kill(self) -> None:
        """Kill bwrap's process group (the whole sandbox goes with its PID namespace), reap, drop the cgroup."""
        kill_group(self.popen)
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None


def spawn_unconfined(argv: Sequence[str], limits: Limits = Limits(), *, cwd: str | Path, env: Mapping[str, str],
                     stdin: Any = None, stdout: Any = None, stderr: Any = None, pass_fds: Sequence[int] = (),
                     text: bool = False) -> Confined:
    """Start `argv` with the same limits and session but no namespaces: only on a user's explicit opt-out."""
    cgroup = _Cgroup.make(probe().cgroups, limits)
    try:
        popen = subprocess.Popen(list(argv), stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds),
                                 cwd=cwd, env=dict(env), text=text, start_new_session=True,
                                 preexec_fn=_preexec(limits, cgroup))
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        raise
    return Confined(popen, cgroup, None, confined=False)


def spawn(argv: Sequence[str], jail: Jail, limits: Limits = Limits(), *, stdin: Any = None,
          stdout: Any = None, stderr: Any = None, pass_fds: Sequence[int] = (),
          text: bool = False) -> Confined:
    """Start `argv` inside `jail` under `limits`, in its own session (raises IsolationUnavailable)."""
    found = require()
    assert found.bwrap is not None
    cgroup = _Cgroup.make(found.cgroups, limits)
    info_r, info_w = os.pipe()
    try:
        popen = subprocess.Popen(
            _command(found.bwrap, argv, jail, limits, info_fd=info_w), stdin=stdin, stdout=stdout, stderr=stderr,
            pass_fds=(*pass_fds, info_w), env={}, text=text, start_new_session=True,
            preexec_fn=_preexec(limits, cgroup))
    except BaseException:
        os.close(info_r)
        if cgroup is not None:
            cgroup.remove()
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


def _preexec(limits: Limits, cgroup: _Cgroup | None) -> Any:
    """What the forked child does before exec'ing bwrap: join the cgroup, set the rlimits.

    Only async-signal-safe calls (os.open/os.write/setrlimit): the parent may have threads.
    """
    settings = [(resource.RLIMIT_CORE, 0)]
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_FSIZE, limits.file_bytes),
                        (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CPU, limits.cpu_seconds)):
        if value is not None:
            settings.append((kind, int(value)))
    if cgroup is None and hasattr(resource, "RLIMIT_NPROC"):
        settings.append((resource.RLIMIT_NPROC, int(limits.processes)))
    procs = [os.path.join(d, "cgroup.procs").encode() for d in cgroup.dirs] if cgroup else []

    def run() -> None:
        for path in procs:
            fd = os.open(path, os.O_WRONLY)
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


# ---------------------------------------------------------------------------------- cgroups

class _Cgroup:
    """One sandbox's cgroup: a directory per hierarchy (cgroup v1: pids and memory; v2: one),
    capping its processes (`pids.max`) and its memory, tmpfs pages included."""

    #: limit file -> the Limits field it takes (v1 names, v2 names)
    FILES = {"pids.max": "processes", "memory.limit_in_bytes": "total_memory_bytes", "memory.max": "total_memory_bytes"}

    def __init__(self, dirs: list[str]) -> None:
        self.dirs = dirs

    @classmethod
    def usable_parents(cls) -> tuple[str, ...]:
        """Parent directories under which this process can make a capped group (checked by trying)."""
        own: dict[str, str] = {}
        try:
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    own[name] = path.rstrip("/")
        except (OSError, ValueError):
            return ()
        candidates = [f"/sys/fs/cgroup/pids{own['pids']}" if "pids" in own else "",
                      f"/sys/fs/cgroup/memory{own['memory']}" if "memory" in own else ""]
        if "" in own and not candidates[0]:  # cgroup v2 only: our own group, if it delegates pids and memory
            candidates = [f"/sys/fs/cgroup{own['']}"]
        found = tuple(c for c in candidates if c and os.path.isdir(c) and os.access(c, os.W_OK))
        for parent in found:
            cls._sweep(parent)
        probe_group = cls.make(found, Limits(processes=8, total_memory_bytes=64 << 20))
        if probe_group is None:
            return ()
        probe_group.remove()
        return found

    @staticmethod
    def _sweep(parent: str) -> None:
        """Remove the groups of aia processes that died without removing theirs (kill -9), with
        whatever is left in them: a process killed while bwrap was starting can leave bwrap
        waiting forever with no sandbox inside, and nothing else would ever end it."""
        for name in os.listdir(parent):
            owner = name.split("-")[1] if name.startswith("aia-") and name.count("-") == 2 else ""
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                _Cgroup([os.path.join(parent, name)]).remove(patience=2.0)

    @classmethod
    def make(cls, parents: Sequence[str], limits: Limits) -> _Cgroup | None:
        """A fresh group under each parent with the limits written, or None if any step fails."""
        if not parents:
            return None
        group = cls([])
        name = f"aia-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            for parent in parents:
                path = os.path.join(parent, name)
                os.mkdir(path)
                group.dirs.append(path)
                wrote = False
                for file, field_name in cls.FILES.items():
                    value = getattr(limits, field_name)
                    if value is not None and os.path.exists(os.path.join(path, file)):
                        Path(path, file).write_text(str(int(value)))
                        wrote = True
                if not wrote:
                    raise OSError(f"{path} has no pids or memory limit files")
        except OSError:
            group.remove()
            return None
        return group

    def members(self) -> list[int]:
        pids: set[int] = set()
        for path in self.dirs:
            try:
                pids.update(int(p) for p in Path(path, "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(pids)

    def remove(self, patience: float = 10.0) -> None:
        """Kill what is left in the groups and remove them once empty (a killed process takes a
        moment to leave, longer on a loaded machine); a group still busy after `patience` seconds
        is logged and left for the kernel to free when it empties."""
        deadline = time.monotonic() + patience
        for path in self.dirs:
            while True:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        logger.warning("cgroup %s still has members; left in place", path)
                        break
                    for pid in self.members():
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except (ProcessLookupError, PermissionError):
                            pass
                    time.sleep(0.02)
        self.dirs = []
