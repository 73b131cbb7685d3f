"""The isolation layer confines by the operating system: what a confined process can see and do.

These tests run code that has no audit hook at all, so whatever they show is the kernel's doing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import isolation

pytestmark = pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")


_GROUPS: list[str] = []  # the cgroups of the last _run, to check they are gone


def _run(code: str, jail: isolation.Jail = isolation.Jail(), limits: isolation.Limits = isolation.Limits(),
         timeout: float = 60) -> tuple[int | None, str]:
    proc = isolation.spawn([sys.executable, "-I", "-c", code], jail, limits, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    _GROUPS[:] = proc._cgroup.dirs if proc._cgroup else []
    try:
        out, _ = proc.popen.communicate(timeout=timeout)
    finally:
        proc.kill()
    return proc.returncode, out


def test_the_host_filesystem_is_not_there(tmp_path: Path) -> None:
    secret = tmp_path / "suite" / "numeric" / "f00001" / "ground_truth.json"
    secret.parent.mkdir(parents=True)
    secret.write_text("{}")
    code, out = _run(f"""
import os
found = [os.path.join(d, n) for d, _, names in os.walk('/') if not d.startswith(('/proc', '/usr', '/dev'))
         for n in names if n in ('ground_truth.json', 'held_out.json')]
home = {str(Path.home())!r}
print(repr((found, os.path.exists({str(secret)!r}), sorted(os.listdir('/tmp')))))
print(sorted(os.listdir(home)) if os.path.isdir(home) else [])
for name in ('find_functions', 'evals', 'agent', 'tools', 'prompts'):
    try:
        __import__(name)
        print('imported', name)
    except ImportError:
        pass
""")
    found, exists, in_tmp = eval(out.split("\n")[0])
    assert code == 0 and found == [] and exists is False, out
    # of /tmp, at most the path down to an interpreter living there (a venv under /tmp is bound in)
    assert all(any(b.startswith(f"/tmp/{name}/") for b in isolation.interpreter_binds()) for name in in_tmp), out
    # of the home directory, at most the path down to the interpreter (pyenv installs it there)
    shown = {os.path.join(str(Path.home()), name) for name in eval(out.split("\n")[1])}
    assert all(any(b.startswith(s + "/") for b in isolation.interpreter_binds()) for s in shown), shown
    assert "imported" not in out  # the project's packages (suite generators among them) are masked


def test_writes_land_only_in_the_writable_bind(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    code, out = _run(f"""
import os, sqlite3
print(open('/opt/aia/work/kept.txt', 'w').write('ok'))
for attempt in (lambda: open({str(outside / 'a.txt')!r}, 'w'), lambda: open('/usr/x', 'w'),
                lambda: sqlite3.connect(':memory:').execute("ATTACH DATABASE {str(outside / 'b.db')}' AS x"),
                lambda: os.mknod({str(outside / 'c')!r}), lambda: os.setxattr('/usr', 'user.x', b'1')):
    try:
        attempt()
        print('escaped')
    except Exception as e:
        print(type(e).__name__)
""", isolation.Jail(writable=[(work, "/opt/aia/work")]))
    assert "escaped" not in out and code == 0, out
    assert (work / "kept.txt").read_text() == "ok" and list(outside.iterdir()) == []


def test_no_network_no_host_sockets_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    path = tmp_path / "service.sock"
    with socket.socket(socket.AF_UNIX) as unix, socket.socket(socket.AF_UNIX) as abstract, \
            socket.create_server(("127.0.0.1", 0)) as tcp:
        unix.bind(str(path))
        abstract.bind("\0aia-test-service")
        for s in (unix, abstract):
            s.listen()
            s.settimeout(0.2)
        code, out = _run(f"""
import os, socket
print(sorted(os.environ))
for family, address in ((socket.AF_UNIX, {str(path)!r}), (socket.AF_UNIX, '\\0aia-test-service'),
                        (socket.AF_INET, ('127.0.0.1', {tcp.getsockname()[1]}))):
    try:
        socket.socket(family).connect(address)
        print('connected')
    except OSError as e:
        print(type(e).__name__)
print(open('/proc/net/dev').read().count(':'))
""")
        for s in (unix, abstract):
            with pytest.raises(TimeoutError):
                s.accept()
    assert "connected" not in out and "OPENAI_API_KEY" not in out and "sk-do-not" not in out, out
    assert out.splitlines()[-1] == "1"  # one network device: the namespace's own loopback


def test_it_cannot_see_or_signal_the_parent() -> None:
    code, out = _run("""
import os, signal
print(os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
for pid in range(1, 50):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
print('still here')
""")
    assert out.splitlines()[0] == "2 [1, 2]" and "still here" in out, out


@pytest.mark.skipif(not isolation.probe().cgroups, reason="no writable cgroup on this machine")
def test_a_fork_bomb_hits_the_process_cap_and_leaves_nothing() -> None:
    started = time.monotonic()
    code, out = _run("""
import os, time
n = 0
try:
    while n < 5000:
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
        n += 1
except OSError as e:
    print('stopped after', n, type(e).__name__)
""", limits=isolation.Limits(processes=20))
    assert "stopped after" in out and int(out.split()[2]) < 20, out
    assert time.monotonic() - started < 30
    time.sleep(0.2)
    left = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).startswith(sys.executable + "\0-I\0-c")]
    assert left == []  # the sleeping children died with the sandbox's PID namespace
    assert _GROUPS and not [d for d in _GROUPS if os.path.exists(d)]  # its cgroups are removed


def test_a_signal_death_reads_as_a_negative_return_code() -> None:
    code, _ = _run("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert code == -11


def test_missing_bubblewrap_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    isolation.probe.cache_clear()
    try:
        found = isolation.probe()
        assert not found.available and "apt-get install bubblewrap" in found.problem
        with pytest.raises(isolation.IsolationUnavailable, match="bubblewrap"):
            isolation.spawn(["true"], isolation.Jail())
    finally:
        monkeypatch.undo()
        isolation.probe.cache_clear()


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def test_an_interpreter_in_a_venv_under_tmp_is_visible_inside(tmp_path: Path) -> None:
    """The sandbox's private /tmp must not hide an interpreter that lives under the host's /tmp
    (a fresh venv there once made every sandbox fail to start)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tools import isolation; "
            "print(isolation.probe().available, isolation.probe().problem)")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code, str(repo)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.stdout.split()[0] == "True", out.stdout + out.stderr


@pytest.mark.skipif(not isolation.probe().cgroups, reason="no writable cgroup on this machine")
def test_the_groups_of_dead_aia_processes_are_swept_with_what_they_hold() -> None:
    """A process killed while bwrap was starting can leave bwrap waiting with no sandbox inside;
    the next aia process to probe ends it and removes the group."""
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is now free: the group's owner is gone
    parent = isolation.probe().cgroups[0]
    group = os.path.join(parent, f"aia-{dead.pid}-test")
    os.mkdir(group)
    orphan = subprocess.Popen(["sleep", "300"])
    Path(group, "cgroup.procs").write_text(str(orphan.pid))
    isolation._Cgroup._sweep(parent)
    assert orphan.wait(timeout=10) == -9 and not os.path.exists(group)
