"""The sandbox runs model code with proxies only, contains what the code tries, and stays usable.

Each containment test runs hostile code, checks the error the model would read, and then checks
that the same Sandbox still runs code (with the namespace kept unless the child had to die).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image

from agent.sandbox import Sandbox, SandboxError, SandboxLimits, SandboxResult
from tools import isolation

pytestmark = pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")

SECRET_DOC = "SECRET-GROUND-TRUTH: three x plus one"


def _secret_rule(xs: list) -> list:
    """SECRET-GROUND-TRUTH: three x plus one"""
    return [3 * x + 1 if isinstance(x, (int, float)) else None for x in xs]


class Recorder:
    """A black box that remembers the size of every request it served."""

    def __init__(self) -> None:
        self.requests: list[int] = []

    def __call__(self, xs: list) -> list:
        self.requests.append(len(xs))
        return _secret_rule(xs)


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """One sandbox for the tests whose code does not kill the child (starting one takes ~0.4 s)."""
    with Sandbox({"f": _secret_rule}, SandboxLimits(wall_seconds=20, output_chars=2000)) as sandbox:
        yield sandbox


def _still_works(sandbox: Sandbox, keeps: bool = True) -> None:
    """The next run in the same sandbox works; `keeps`: `x` set before the hostile code survived."""
    result = sandbox.run("print('alive', x if 'x' in globals() else 'reset')")
    assert result.error is None, result.error
    assert result.stdout.strip() == ("alive 1" if keeps else "alive reset")


def _refused(result: SandboxResult, words: str) -> None:
    assert result.error is not None, result.stdout
    first = result.error.splitlines()[0]
    assert "the sandbox does not allow" in first and words in first, result.error  # libraries may wrap it
    assert "Traceback (most recent call last):" in result.error and "<cell" in result.error
    assert not result.namespace_reset


def test_namespace_persists_and_scalar_and_batch_calls(shared: Sandbox) -> None:
    before = shared.calls["f"]
    assert shared.run("x = 1").ok
    result = shared.run("print(x)\nprint(f(2))\nprint(f([1, 2.5, 'a']))\nimport numpy as np\nf(np.arange(3))")
    assert result.error is None, result.error
    assert result.stdout.splitlines() == ["1", "7", "[4, 8.5, None]", "array([1., 4., 7.])"]  # an array in, out
    assert result.calls == 7 and shared.calls["f"] == before + 7


def test_big_batches_are_split_and_counted() -> None:
    box = Recorder()
    with Sandbox({"f": box}, SandboxLimits(max_batch=100)) as sandbox:
        result = sandbox.run("ys = f(range(250))\nprint(len(ys), ys[-1])\nf([])")
        assert result.error is None, result.error
        assert result.stdout.splitlines() == ["250 748", "[]"]
        assert box.requests == [100, 100, 50]
        assert sandbox.calls == {"f": 250} and result.calls == 250


def test_proxy_misuse_is_a_clear_error(shared: Sandbox) -> None:
    result = shared.run("f(1, 2)")
    assert result.error.startswith("TypeError: f takes one argument"), result.error
    result = shared.run("f(object())")
    assert result.error.startswith("TypeError: inputs to f must be numbers, strings, None or lists"), result.error
    assert "json" not in result.error  # the stub checks inputs itself: no library frames


def test_proxy_carries_nothing_of_the_real_function(shared: Sandbox) -> None:
    needles = [SECRET_DOC, _secret_rule.__name__, __file__]  # the child builds them from character codes
    code = f"""
import gc, sys
needles = [''.join(map(chr, codes)) for codes in {[[ord(c) for c in n] for n in needles]!r}]
found = set()
for obj in gc.get_objects():
    if isinstance(obj, dict):
        values = list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        values = list(obj)
    else:
        values = list(getattr(getattr(obj, '__code__', None), 'co_consts', ()))
    for v in values:
        if isinstance(v, str) and v not in needles:
            found.update(n for n in needles if n in v)
print(sorted(found))
print([a for a in ('__code__', '__closure__', '__globals__', '__wrapped__', '__dict__', '__func__') if hasattr(f, a)])
print(sorted(m for m in sys.modules if m.split('.')[0] in ('tests', 'agent', 'find_functions', 'evals')))
print(repr(f))
"""
    result = shared.run(code)
    assert result.error is None, result.error
    found, attrs, modules, text = result.stdout.splitlines()
    assert found == "[]" and attrs == "[]" and modules == "[]"
    assert "SECRET" not in text and "_secret_rule" not in text


def test_reading_protected_paths_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "ground_truth.json").write_text('{"f00001": "3x+1"}')
    repo_truth = Path(__file__).resolve().parents[1] / "find_functions" / "spec.py"
    with Sandbox({"f": _secret_rule}, deny_read=[suite]) as sandbox:
        assert sandbox.run("x = 1").ok
        path = suite / "ground_truth.json"
        _refused(sandbox.run(f"open({str(path)!r}).read()"), "reading")
        _refused(sandbox.run(f"import pathlib; pathlib.Path({str(path)!r}).read_text()"), "reading")
        _refused(sandbox.run(f"import os; os.listdir({str(suite)!r})"), "reading")
        _refused(sandbox.run(f"import os; os.symlink({str(path)!r}, 'link'); open('link').read()"), "reading")
        _refused(sandbox.run(f"open({str(repo_truth)!r}).read()"), "reading")  # denied by default
        _refused(sandbox.run(f"open('/proc/{os.getpid()}/environ').read()"), "another process")
        _still_works(sandbox)


def test_network_is_refused(shared: Sandbox) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert shared.run("x = 1").ok
        _refused(shared.run(f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"), "network")
        _refused(shared.run(f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/')"), "network")
        _refused(shared.run("import socket; socket.getaddrinfo('pypi.org', 443)"), "network")
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()  # nothing got through
    devices = shared.run("print(open('/proc/net/dev').read())").stdout.splitlines()[2:]  # the OS layer
    assert [line.split(":")[0].strip() for line in devices if line.strip()] == ["lo"]
    _still_works(shared)


def test_new_processes_are_refused(shared: Sandbox) -> None:
    assert shared.run("x = 1").ok
    _refused(shared.run("import os\nwhile True:\n    os.fork()"), "starting processes")
    _refused(shared.run("import subprocess; subprocess.run(['true'])"), "starting processes")
    _refused(shared.run("import os; os.system('true')"), "starting processes")
    _refused(shared.run("import _posixsubprocess; _posixsubprocess.fork_exec()"), "starting processes")
    _refused(shared.run("import ctypes; ctypes.CDLL(None).fork()"), "ctypes")
    _refused(shared.run("import threading; threading.Thread(target=print).start()"), "starting threads")
    _still_works(shared)


def test_killing_the_parent_is_refused(shared: Sandbox) -> None:
    assert shared.run("x = 1").ok
    _refused(shared.run("import os; os.kill(os.getppid(), 9)"), "sending signals")
    _refused(shared.run("import os, signal; os.killpg(os.getpgid(os.getppid()), signal.SIGTERM)"), "sending signals")
    _still_works(shared)


def test_writing_outside_the_working_directory_is_refused(shared: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    assert shared.run("x = 1").ok
    _refused(shared.run(f"open({str(target)!r}, 'w').write('hi')"), "writing")
    _refused(shared.run("open('../escaped.txt', 'a')"), "writing")
    _refused(shared.run(f"import os; os.remove({str(Path(__file__).resolve())!r})"), "writing")
    _refused(shared.run("import resource; resource.setrlimit(resource.RLIMIT_AS, (-1, -1))"), "resource limits")
    assert not target.exists() and not (shared.base / "escaped.txt").exists()
    assert shared.run("open('notes.txt', 'w').write('ok')").ok
    assert shared.run("print(open('notes.txt').read())").stdout == "ok\n"
    _still_works(shared)


def test_huge_allocation_is_a_memory_error(shared: Sandbox) -> None:
    assert shared.run("x = 1").ok
    result = shared.run("blob = bytearray(20 * 2**30)")
    assert result.error.splitlines()[0] == "MemoryError", result.error
    result = shared.run("import numpy as np; np.ones(20 * 2**30 // 8)")
    assert "_ArrayMemoryError: Unable to allocate 20" in result.error.splitlines()[0], result.error
    _still_works(shared)


def test_endless_loop_hits_the_wall_clock_and_the_namespace_is_reset() -> None:
    with Sandbox({"f": _secret_rule}, SandboxLimits(wall_seconds=1.5)) as sandbox:
        assert sandbox.run("x = 1").ok
        result = sandbox.run("print('started')\nwhile True:\n    pass")
        assert result.error.startswith("TimeoutError: the code ran past the 1.5 s wall-clock limit"), result.error
        assert "namespace was reset" in result.error and result.namespace_reset
        assert result.stdout == "started\n"  # output before the kill is kept
        assert 1.5 <= result.seconds < 6
        _still_works(sandbox, keeps=False)
        assert sandbox.restarts == 1
        result = sandbox.run("import time; time.sleep(30)")  # no CPU used: only the wall clock stops it
        assert result.error.startswith("TimeoutError") and result.seconds < 6


def test_cpu_limit_kills_a_busy_child() -> None:
    with Sandbox({"f": _secret_rule}, SandboxLimits(wall_seconds=20, cpu_seconds=1)) as sandbox:
        result = sandbox.run("while True:\n    pass")
        assert result.error.startswith("TimeoutError: the code used more than 1 s of CPU time"), result.error
        assert result.namespace_reset and result.seconds < 20  # CPU, not wall: on a busy machine CPU < wall
        assert sandbox.run("print(f(0))").stdout == "1\n"


def test_a_child_killed_between_runs_is_restarted_with_a_notice() -> None:
    with Sandbox({"f": _secret_rule}) as sandbox:
        assert sandbox.run("x = 1").ok
        assert sandbox.run("import os; print(os.getpid())").stdout == "2\n"  # its own PID namespace
        os.kill(sandbox._proc.payload_pid(), 9)  # e.g. the kernel's OOM killer
        time.sleep(0.2)
        result = sandbox.run("print(x)")
        assert result.namespace_reset and "had died since the last run" in result.notice
        assert result.error.startswith("NameError") and result.observation().startswith("[the sandbox process had died")


def test_a_dying_child_is_restarted_and_says_so() -> None:
    with Sandbox({"f": _secret_rule}) as sandbox:
        assert sandbox.run("x = 1").ok
        result = sandbox.run("import os; os._exit(3)")
        assert result.error.startswith("SystemExit: the sandbox process exited with status 3"), result.error
        assert result.namespace_reset
        _still_works(sandbox, keeps=False)
        result = sandbox.run("import sys; sys.exit(1)")  # exit() is caught: nothing dies
        assert result.error.startswith("SystemExit: the code called exit()") and not result.namespace_reset


def test_garbage_on_the_protocol_pipe_restarts_the_child() -> None:
    with Sandbox({"f": _secret_rule}) as sandbox:
        result = sandbox.run("import os, sys; os.write(int(sys.argv[1]), b'\\xff' * 8)")
        assert result.error.startswith("SandboxError: the sandbox process sent an invalid message"), result.error
        assert result.namespace_reset
        assert sandbox.run("print(f(1))").stdout == "4\n"


def test_stdout_is_truncated_with_a_marker(shared: Sandbox) -> None:
    result = shared.run("print('a' * 100_000)\nprint('never seen')")
    assert result.error is None
    body, marker = result.stdout.split("\n[... output truncated: ")
    assert body == "a" * 2000
    assert marker.startswith("100,012 bytes in all")


def test_errors_name_the_problem_and_the_line(shared: Sandbox) -> None:
    result = shared.run("y = 2\nprint(y / 0)")
    lines = result.error.splitlines()
    assert lines[0] == "ZeroDivisionError: division by zero"
    assert 'File "<cell' in result.error and "line 2" in result.error and "print(y / 0)" in result.error
    assert "sandbox_child" not in result.error  # the runtime's own frames are dropped
    lines = shared.run("def broken(:").error.splitlines()
    assert lines[0] == "SyntaxError: invalid syntax" and "<cell" in lines[1] and "def broken(:" in lines[2]
    assert shared.run("1 + 1").stdout == "2\n"  # a final expression is echoed, as in a notebook
    assert shared.run("print(input())").error.startswith("EOFError")  # stdin is not the protocol pipe


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    with Sandbox({"f": _secret_rule}) as sandbox:
        result = sandbox.run("import os; print(sorted(os.environ)); print(os.getcwd())")
        names, cwd = result.stdout.splitlines()
        assert "OPENAI_API_KEY" not in names and "sk-do-not-leak" not in result.stdout
        assert cwd == "/opt/aia/work"  # the host's working directory, bound at a fixed place inside
        base = sandbox.base
    assert not base.exists()  # close() removes the temporary directory


def test_images_come_back_as_png(shared: Sandbox) -> None:
    code = """
from PIL import Image
import numpy as np
plot(range(-5, 6), [x * x if x else None for x in range(-5, 6)], title='squares')
show(Image.new('RGB', (40, 20), 'red'))
show(np.zeros((8, 16)))
"""
    result = shared.run(code)
    assert result.error is None, result.error
    sizes = [Image.open(io.BytesIO(png)).size for png in result.images]
    assert sizes == [(640, 400), (40, 20), (16, 8)]
    assert result.observation().endswith("[3 image(s) shown]")
    result = shared.run("show('not an image')")
    assert result.error.startswith("TypeError: show() takes a PIL image"), result.error


def test_image_count_is_limited() -> None:
    with Sandbox({}, SandboxLimits(max_images=2)) as sandbox:
        result = sandbox.run("from PIL import Image\nfor i in range(3):\n    show(Image.new('L', (4, 4)))")
        assert len(result.images) == 2 and "only the first 2 images" in result.stdout


def test_open_pyplot_figures_are_captured_and_closed(shared: Sandbox) -> None:
    code = """
import sys, types
from PIL import Image
class Figure:  # stands in for matplotlib, which this environment may not have
    def savefig(self, buf, format):
        Image.new('RGB', (30, 20)).save(buf, format='PNG')
figures = {1: Figure(), 2: Figure()}
plt = types.ModuleType('matplotlib.pyplot')
plt.get_fignums = lambda: sorted(figures)
plt.figure = lambda number: figures[number]
plt.close = lambda which: figures.clear()
sys.modules['matplotlib.pyplot'] = plt
"""
    result = shared.run(code)
    assert result.error is None, result.error
    assert [Image.open(io.BytesIO(png)).size for png in result.images] == [(30, 20), (30, 20)]
    assert shared.run("print(len(figures))").stdout == "0\n" and not shared.run("1").images
    assert shared.run("del sys.modules['matplotlib.pyplot']").ok


def test_matplotlib_figures_are_captured() -> None:
    pytest.importorskip("matplotlib")
    with Sandbox({}) as sandbox:
        result = sandbox.run("import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])")
        assert result.error is None, result.error
        assert len(result.images) == 1


def test_black_box_failures_do_not_leak_their_message() -> None:
    def failing(xs: list) -> list:
        raise RuntimeError(SECRET_DOC)

    def numbers_only(xs: list) -> list:
        if any(isinstance(x, str) for x in xs):
            raise TypeError("input 0 is 'a' (str); this function takes numbers")
        return xs

    with Sandbox({"f": failing, "g": lambda xs: xs[:-1], "h": numbers_only}) as sandbox:
        result = sandbox.run("f(1)")
        assert result.error.startswith("BlackBoxError: f failed on this request"), result.error
        assert "SECRET" not in result.error
        result = sandbox.run("h('a')")  # input validation errors are the model's to read
        assert result.error.startswith("BlackBoxError: h rejected the inputs: TypeError: input 0 is 'a'")
        result = sandbox.run("g([1, 2])")
        assert result.error.startswith("BlackBoxError: g returned 1 outputs for 2 inputs"), result.error


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="proxy name 'show'"):
        Sandbox({"show": _secret_rule})
    with pytest.raises(ValueError, match="wall_seconds must be positive"):
        SandboxLimits(wall_seconds=0)
    with Sandbox({}, SandboxLimits(max_code_chars=10)) as sandbox:
        with pytest.raises(TypeError, match="code must be a str"):
            sandbox.run(b"print(1)")  # type: ignore[arg-type]
        assert sandbox.run("print('much too long')").error.startswith("ValueError: the code is 22 characters")


def test_a_child_that_cannot_start_is_a_sandbox_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match=r"did not start \(it exited\)"):
        Sandbox({}, python=shutil.which("false")).start()
    with pytest.raises(SandboxError, match="start.*no-python"):  # named by bwrap's output
        Sandbox({}, python=str(tmp_path / "no-python")).start()
    with pytest.raises(SandboxError, match="could not start.*no-python"):
        Sandbox({}, python=str(tmp_path / "no-python"), confine=False).start()


def test_f_over_an_array_gives_an_array_and_fit_recovers_parameters(shared: Sandbox) -> None:
    result = shared.run(
        "import numpy as np\n"
        "xs = np.linspace(-5, 5, 41)\n"
        "ys = f(xs)\n"
        "print(type(ys).__name__, ys.dtype, ys.shape, type(f([1, 2])).__name__)\n"
        "params, rmse = fit(lambda x, a, b: a * x + b, xs, ys)\n"
        "print(np.round(params, 6).tolist(), rmse < 1e-9)\n"
        "print(np.isnan(f(np.array(['a', 'b']))).all())\n"
    )
    assert result.ok, result.error
    assert result.stdout.splitlines() == ["ndarray float64 (41,) list", "[3.0, 1.0] True", "True"]


def test_what_run_python_lists_as_importable_imports(shared: Sandbox) -> None:
    """The run_python doc lists packages by what is installed; each must import under confinement."""
    from agent.tools_registry import DEFAULT_TOOLS

    doc = DEFAULT_TOOLS.for_scope("numeric").tools["run_python"].description
    listed = doc.split("importable: ")[1].rstrip(".").split(", ")
    assert "numpy" in listed and "scipy" in listed
    result = shared.run("\n".join(f"import {name}" for name in listed + ["math", "statistics", "scipy.optimize"]))
    assert result.ok, result.error
