"""Sealed black boxes: the worker subprocess (import and batch-call) and FIND's per-call scripts."""

from __future__ import annotations

import math
import os
import pickle
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from find_functions.blackbox import (
    BlackBoxError,
    BlackBoxWorker,
    ScriptBlackBox,
    parse_number,
    parse_pairs,
)
from find_functions.script import render_script
from tools import isolation

#: ScriptBlackBox runs scripts confined by bubblewrap.
needs_bwrap = pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")

NUMERIC_BODY = '''
import math, os, time

SECRET_MARKER = "ground truth: square root with a guard"

def function(x):
    print("chatter on stdout must not break the protocol")
    if x == 13:
        time.sleep(60)
    if x == 666:
        os._exit(3)
    if x < 0:
        raise ValueError("negative")
    if x == 7:
        return float("nan")
    return math.sqrt(x)
'''

STRING_BODY = '''
def function(s):
    if s == "boom":
        raise KeyError(s)
    if s == "number":
        return 42
    if s == "nothing":
        return None
    return "(" + s[::-1] + ", x) y"
'''

BATCH_BODY = '''
def function(x):
    return x + 1.0

def function_batch(xs):
    if any(x < 0 for x in xs):
        raise ValueError("the batched path refuses negatives")
    return [x + 100.0 for x in xs]
'''


def _script(tmp_path: Path, fid: str, body: str, input_type: str, name: str = "function_code.py") -> Path:
    fdir = tmp_path / fid
    fdir.mkdir(parents=True, exist_ok=True)
    path = fdir / name
    path.write_text(render_script(body, input_type), encoding="utf-8")  # type: ignore[arg-type]
    return path


@pytest.fixture
def numeric_script(tmp_path: Path) -> Path:
    return _script(tmp_path, "f00001", NUMERIC_BODY, "float", "noised_function_code.py")


@pytest.fixture
def string_script(tmp_path: Path) -> Path:
    return _script(tmp_path, "f00002", STRING_BODY, "str")


def test_worker_serves_numeric_batches(numeric_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(numeric_script, "float")
        out = f([4.0, 2, -1.0, 7.0, math.inf])
        assert out[0] == 2.0 and out[1] == pytest.approx(math.sqrt(2))
        assert out[2] is None  # raised
        assert math.isnan(out[3]) and out[4] == math.inf
        assert f.calls == 5
        assert f.errors == ["f00001: 1 of 5 inputs failed (ValueError); their outputs are None"]
        assert f(np.array([9.0, 16.0])) == [3.0, 4.0]  # numpy batches are fine
        assert f([]) == [] and f.calls == 7


def test_worker_serves_strings(string_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(string_script, "str")
        out = f(["abc", "boom", "number", "nothing", "", "a b\nc ü"])
        assert out == ["(cba, x) y", None, "42", None, "(, x) y", "(ü c\nb a, x) y"]
        assert f.calls == 6 and len(f.errors) == 1 and "KeyError" in f.errors[0]


def test_numeric_outputs_of_numpy_types_become_floats(tmp_path: Path) -> None:
    body = (
        "import numpy as np\n"
        "def function(x):\n"
        "    return [np.float32(x), np.array(x), np.array([x]), np.array([x, x]), 'many', True][int(x)]\n"
    )
    with BlackBoxWorker() as worker:
        f = worker.load(_script(tmp_path, "f00013", body, "float"), "float")
        assert f([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]) == [0.0, 1.0, 2.0, None, None, 1.0]
        assert f.errors == ["f00013: 2 of 6 inputs failed (returned ndarray, returned str); their outputs are None"]


def test_function_batch_is_used_and_falls_back_per_input(tmp_path: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(_script(tmp_path, "f00003", BATCH_BODY, "float"), "float")
        assert f([1.0, 2.0]) == [101.0, 102.0]
        assert f([1.0, -2.0]) == [2.0, -1.0]  # the batch raised: each input alone through function()
        assert f.errors == []


def test_inputs_are_validated(numeric_script: Path, string_script: Path) -> None:
    with BlackBoxWorker(max_batch=8) as worker:
        f = worker.load(numeric_script, "float")
        for bad, kind in [([True], TypeError), (["1.0"], TypeError), ([math.nan], ValueError),
                          (3.0, TypeError), ("abc", TypeError), ([1.0] * 9, ValueError)]:
            with pytest.raises(kind):
                f(bad)
        g = worker.load(string_script, "str")
        with pytest.raises(TypeError, match="takes strings"):
            g(["ok", 3])
        assert f.calls == 0 and g.calls == 0


def test_hanging_call_times_out_and_worker_recovers(numeric_script: Path) -> None:
    with BlackBoxWorker(timeout=1.0) as worker:
        f = worker.load(numeric_script, "float")
        pid = worker.pid
        assert f([1.0, 13.0]) == [None, None]
        assert len(f.errors) == 1 and "no answer within 1 s" in f.errors[0]
        assert worker.restarts == 1 and worker.pid != pid
        assert f([16.0]) == [4.0]
        assert f.calls == 3


def test_worker_killed_from_outside_recovers(numeric_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(numeric_script, "float")
        assert f([4.0]) == [2.0]
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert f([9.0]) == [3.0]
        assert f.errors == [] and worker.restarts == 1


def test_function_that_kills_its_worker_answers_none(numeric_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(numeric_script, "float")
        assert f([4.0, 666.0]) == [None, None]
        assert len(f.errors) == 1 and "died" in f.errors[0]
        assert f([25.0]) == [5.0]


def test_one_worker_serves_scripts_in_sequence(numeric_script: Path, string_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(numeric_script, "float")
        pid = worker.pid
        g = worker.load(string_script, "str")
        assert g(["ab"]) == ["(ba, x) y"]
        assert f([4.0]) == [2.0]  # switching back reloads f's script in the same process
        assert g(["cd"]) == ["(dc, x) y"]
        assert worker.pid == pid and worker.restarts == 0
        assert (f.calls, g.calls) == (1, 2)


def test_function_whose_script_vanished_answers_none(numeric_script: Path, string_script: Path) -> None:
    with BlackBoxWorker() as worker:
        f = worker.load(numeric_script, "float")
        g = worker.load(string_script, "str")
        numeric_script.unlink()
        assert f([4.0]) == [None]
        assert len(f.errors) == 1 and "could not be loaded back" in f.errors[0]
        assert g(["ab"]) == ["(ba, x) y"]


def test_sibling_modules_do_not_leak_between_functions(tmp_path: Path) -> None:
    body = "from helper import VALUE\ndef function(x):\n    return VALUE\n"
    with BlackBoxWorker() as worker:
        boxes = []
        for fid, value in (("f00014", "1.0"), ("f00015", "2.0")):
            (tmp_path / fid).mkdir()
            (tmp_path / fid / "helper.py").write_text(f"VALUE = {value}\n")
            boxes.append(worker.load(_script(tmp_path, fid, body, "float"), "float"))
        assert [b([0.0]) for b in boxes] == [[1.0], [2.0]]
        assert boxes[0]([0.0]) == [1.0]


def test_load_errors_name_the_script(tmp_path: Path) -> None:
    no_function = tmp_path / "f00004" / "function_code.py"
    no_function.parent.mkdir()
    no_function.write_text("x = 1\n")
    broken = tmp_path / "f00005" / "function_code.py"
    broken.parent.mkdir()
    broken.write_text("import no_such_module_anywhere\n")
    with BlackBoxWorker() as worker:
        with pytest.raises(FileNotFoundError, match="f00099"):
            worker.load(tmp_path / "f00099" / "function_code.py", "float")
        with pytest.raises(BlackBoxError, match=r"f00004.*function\(x\)"):
            worker.load(no_function, "float")
        with pytest.raises(BlackBoxError, match=r"f00005.*ModuleNotFoundError"):
            worker.load(broken, "str")
        with pytest.raises(ValueError, match="input_type"):
            worker.load(no_function, "int")  # type: ignore[arg-type]


def test_script_hanging_at_import_fails_to_load_and_worker_goes_on(tmp_path: Path, string_script: Path) -> None:
    hang = tmp_path / "f00011" / "function_code.py"
    hang.parent.mkdir()
    hang.write_text("import time\ntime.sleep(60)\ndef function(x):\n    return x\n")
    with BlackBoxWorker(load_timeout=1.0) as worker:
        with pytest.raises(BlackBoxError, match=r"f00011.*longer than 1 s"):
            worker.load(hang, "str")
        assert worker.load(string_script, "str")(["ab"]) == ["(ba, x) y"]


def test_closed_worker_refuses_calls(numeric_script: Path) -> None:
    worker = BlackBoxWorker()
    worker.start()
    f = worker.load(numeric_script, "float")
    worker.close()
    with pytest.raises(BlackBoxError, match="closed"):
        f([1.0])


def _secrets(script: Path) -> list[str]:
    return [str(script), str(script.parent), script.name, "SECRET_MARKER", "square root"]


def _assert_sealed(box: object, script: Path) -> None:
    visible = [repr(box), str(box), " ".join(dir(box))]
    visible += [f"{k}={v!r}" for k, v in vars(box).items()]
    for text in visible:
        for secret in _secrets(script):
            assert secret not in text, f"{secret!r} leaks through {text[:200]!r}"
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(box)
    # nnsight mounts `save` on every object once a trace has run: what every object has leaks nothing
    public = {name for name in dir(box) if not name.startswith("_")} - set(dir(object()))
    assert public == {"calls", "errors"}


def test_sealed_function_exposes_no_path_or_source(numeric_script: Path) -> None:
    with BlackBoxWorker(timeout=1.0) as worker:
        f = worker.load(numeric_script, "float")
        f([-1.0])  # put errors on record: they must not name the script either
        f([13.0])
        assert len(f.errors) == 2
        _assert_sealed(f, numeric_script)
        for line in f.errors:
            assert all(secret not in line for secret in _secrets(numeric_script))
        if sys.platform.startswith("linux") and worker.pid is not None:
            cmdline = Path(f"/proc/{worker.pid}/cmdline").read_bytes().decode()
            assert str(numeric_script.parent) not in cmdline


@needs_bwrap
def test_script_black_box_exposes_no_path_or_source(numeric_script: Path) -> None:
    box = ScriptBlackBox(numeric_script, "float", timeout=5.0)
    assert box([4.0, -1.0]) == [2.0, None]
    _assert_sealed(box, numeric_script)


@needs_bwrap
def test_script_black_box_parses_tricky_strings(string_script: Path) -> None:
    box = ScriptBlackBox(string_script, "str")
    inputs = ["abc", "a, b", "(x, y)", ") (", "", "  spaced  ", "None", "ü ß", "number", "nothing"]
    out = box(inputs)
    expected = ["(" + s[::-1] + ", x) y" for s in inputs[:8]] + ["42", None]
    assert out == expected
    assert box.calls == len(inputs) and box.errors == []


@needs_bwrap
def test_script_black_box_runs_scripts_as_python_does(tmp_path: Path) -> None:
    fdir = tmp_path / "f00012"
    (fdir / "helper.py").parent.mkdir()
    (fdir / "helper.py").write_text("OFFSET = 0.5\n")
    (fdir / "weights.txt").write_text("3.0")
    body = (
        "import os, sys\n"
        "from helper import OFFSET\n"
        "HERE = os.path.dirname(os.path.realpath(__file__))\n"
        "SCALE = float(open(os.path.join(HERE, 'weights.txt')).read())\n"
        "CMDLINE = open('/proc/self/cmdline', 'rb').read() if os.path.exists('/proc/self/cmdline') else b''\n"
        "def function(x):\n"
        "    if x == 0:\n"
        "        return float(HERE.encode() in CMDLINE or os.path.basename(__file__).encode() in CMDLINE)\n"
        "    return SCALE * x + OFFSET\n"
    )
    script = fdir / "load_mlp.py"
    script.write_text(render_script(body, "float"))
    box = ScriptBlackBox(script, "float")
    assert box([2.0, 0.0]) == [6.5, 0.0]  # weights found via __file__; neither path nor name on argv


@needs_bwrap
def test_script_black_box_chunks_long_batches(tmp_path: Path) -> None:
    box = ScriptBlackBox(_script(tmp_path, "f00006", "def function(x):\n    return 2 * x\n", "float"),
                         "float", max_args=40)
    xs = [float(i) - 50.5 for i in range(100)]
    assert box(xs) == [2 * x for x in xs]
    assert box.calls == 100


@needs_bwrap
def test_script_black_box_isolates_inputs_that_crash_the_script(tmp_path: Path) -> None:
    # FIND's string scripts have no per-input try: one bad input kills the whole run.
    script = tmp_path / "f00007" / "function_code.py"
    script.parent.mkdir()
    script.write_text(
        "import sys\n"
        "def function(s):\n"
        "    if s == 'boom':\n"
        "        raise ValueError(s)\n"
        "    return s.upper()\n"
        "if __name__ == '__main__':\n"
        "    outputs = ''\n"
        "    for arg in sys.argv[1:]:\n"
        "        outputs += f'({arg}, {str(function(arg))}) '\n"
        "    print(f'Function input - output pairs: {outputs}')\n")
    box = ScriptBlackBox(script, "str")
    assert box(["a", "b", "boom", "c"]) == ["A", "B", None, "C"]
    assert len(box.errors) == 1 and "exited with code 1 on 1 inputs" in box.errors[0]
    frugal = ScriptBlackBox(script, "str", max_retries=0)  # no budget to split the batch
    assert frugal(["a", "boom"]) == [None, None]
    assert "exited with code 1 on 2 inputs" in frugal.errors[0]


@needs_bwrap
def test_script_black_box_garbage_and_hangs(tmp_path: Path) -> None:
    garbage = tmp_path / "f00008" / "function_code.py"
    garbage.parent.mkdir()
    garbage.write_text("print('hello, not the FIND format')\n")
    box = ScriptBlackBox(garbage, "float")
    assert box([1.0, 2.0]) == [None, None]
    assert len(box.errors) == 1 and box.errors[0].startswith("f00008: ") and "no parseable" in box.errors[0]

    words = _script(tmp_path, "f00009", "def function(x):\n    return 'many'\n", "float")
    box = ScriptBlackBox(words, "float")
    assert box([1.0]) == [None] and "not numbers" in box.errors[0]

    hang = tmp_path / "f00010" / "function_code.py"
    hang.parent.mkdir()
    hang.write_text("import time\ntime.sleep(60)\n")
    box = ScriptBlackBox(hang, "str", timeout=1.0)
    assert box(["a", "b"]) == [None, None]
    assert len(box.errors) == 1 and "no answer within 1 s" in box.errors[0]
    assert box(["c"]) == [None] and box.calls == 3  # the run goes on


@needs_bwrap
def test_script_black_box_answers_what_argv_can_carry_and_names_the_rest(string_script: Path) -> None:
    box = ScriptBlackBox(string_script, "str")
    inputs = ["ab", "a\nb", "c\rd", "tab\there", "nul\0", "esc\x1b", "\ud800", "x" * 100_001, "ü ß", ""]
    out = box(inputs)
    assert out == ["(ba, x) y", None, None, None, None, None, None, None, "(ß ü, x) y", "(, x) y"]
    assert box.calls == len(inputs)
    assert box.errors == [
        "f00002: input 1 contains a newline, which FIND's command-line serving cannot carry; its output is None",
        "f00002: input 2 contains a carriage return, which FIND's command-line serving cannot carry; "
        "its output is None",
        "f00002: input 3 contains a tab, which FIND's command-line serving cannot carry; its output is None",
        "f00002: input 4 contains a NUL character, which FIND's command-line serving cannot carry; "
        "its output is None",
        "f00002: input 5 contains the control character U+001B, which FIND's command-line serving cannot "
        "carry; its output is None",
        "f00002: input 6 is not valid UTF-8 text (surrogates not allowed), which FIND's command-line "
        "serving cannot carry; its output is None",
        "f00002: input 7 is 100001 bytes long; FIND's command-line serving carries at most 100000 bytes "
        "per input; its output is None",
    ]
    assert box(["\n"]) == [None] and len(box.errors) == 8  # nothing to run: no process, one error
    with pytest.raises(TypeError, match="takes strings"):
        box(["a", 3])
    with pytest.raises(FileNotFoundError):
        ScriptBlackBox(string_script.parent / "missing.py", "str")


def test_parse_pairs_is_sequential_and_robust() -> None:
    args = ["a", "b, c", "(d)"]
    line = "log line\nFunction input - output pairs: (a, 1 (x), 2) (b, c, ) ((d), None) \n"
    assert parse_pairs(line, args) == ["1 (x), 2", "", "None"]
    assert parse_pairs("Function input - output pairs: (a, 1) ", ["a", "b"]) is None
    assert parse_pairs("nothing here", ["a"]) is None
    assert parse_pairs("", []) == []


@pytest.mark.parametrize("text, value", [
    ("1.5", 1.5), ("-2", -2.0), ("inf", math.inf), ("[3.25]", 3.25), ("[[0.5]]", 0.5),
    ("tensor(1.5000)", 1.5), ("tensor([2.], grad_fn=<AddBackward0>)", 2.0), ("np.float64(4.0)", 4.0),
    ("None", None),
])
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def test_parse_number_rejects_garbage() -> None:
    assert math.isnan(parse_number("nan"))  # type: ignore[arg-type]
    for text in ["abc", "[1.0 2.0]", ""]:
        with pytest.raises(ValueError, match="not a number"):
            parse_number(text)
