"""Answer code runs in a child process: errors, hangs and memory hogs never reach the scorer (confined by
the OS sandbox where bubblewrap is there; the error-handling tests run unconfined where it is not)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evals.code_exec import run_code
from tests.conftest import SANDBOX
from tools import isolation


def test_outputs_and_per_input_errors() -> None:
    run = run_code("def function(x):\n    return 1 / x", [1.0, 0.0, 4.0], confine=SANDBOX)
    assert run.outputs == [1.0, None, 0.25]
    assert run.errors[1].startswith("ZeroDivisionError")
    assert not run.ok


def test_non_finite_values_survive_the_trip() -> None:
    run = run_code("def function(x):\n    return float('inf') if x > 0 else float('nan')", [1.0, -1.0], confine=SANDBOX)
    assert run.outputs[0] == math.inf and math.isnan(run.outputs[1])


def test_bad_code_is_an_error_not_an_exception() -> None:
    assert run_code("def function(x) return x", [1], confine=SANDBOX).error.startswith("SyntaxError")
    assert "neither" in run_code("x = 1", [1], confine=SANDBOX).error
    assert run_code("raise SystemExit(3)", [1], confine=SANDBOX).error.startswith("SystemExit")


def test_hang_and_memory_are_contained() -> None:
    run = run_code("def function(x):\n    while True:\n        pass", [1.0], timeout_s=2, confine=SANDBOX)
    assert run.error and "Timeout" in run.error
    run = run_code("def function(x):\n    return len(bytearray(20 * 2**30))", [1.0], confine=SANDBOX)
    assert run.errors[0].startswith("MemoryError")


@pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")
def test_answer_code_cannot_read_the_suite_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer that opens ground_truth.json at scoring time would score itself with the reference."""
    truth = tmp_path / "numeric" / "f00001" / "ground_truth.json"
    truth.parent.mkdir(parents=True)
    truth.write_text('{"code": "def function(x): return 3 * x + 1"}')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    code = f'''
import json, os
def function(x):
    try:
        return json.load(open({str(truth)!r}))["code"]
    except OSError as e:
        return type(e).__name__ + " " + str(sorted(os.environ)) + " " + str(os.path.exists({str(tmp_path)!r}))
'''
    run = run_code(code, [1.0])
    assert run.outputs[0].startswith("FileNotFoundError") and run.outputs[0].endswith("False"), run.outputs
    assert "OPENAI_API_KEY" not in run.outputs[0]
    run = run_code("import find_functions\ndef function(x):\n    return x", [1.0])
    assert run.error == "ModuleNotFoundError: No module named 'find_functions'"  # the generators stay out too


def test_without_the_sandbox_answer_code_is_refused_unless_unconfined(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = isolation.Probe(None, None, "bubblewrap (bwrap) is not installed: install it", None)
    monkeypatch.setattr(isolation, "probe", lambda: missing)
    run = run_code("def function(x):\n    return 2 * x", [1.0, 2.0])
    assert run.error == "answer code needs an OS sandbox: bubblewrap (bwrap) is not installed: install it"
    assert run_code("def function(x):\n    return 2 * x", [1.0, 2.0], confine=False).outputs == [2.0, 4.0]
