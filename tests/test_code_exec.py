"""Answer code runs in a child process: errors, hangs and memory hogs never reach the scorer."""

from __future__ import annotations

import math

from evals.code_exec import run_code


def test_outputs_and_per_input_errors() -> None:
    run = run_code("def function(x):\n    return 1 / x", [1.0, 0.0, 4.0])
    assert run.outputs == [1.0, None, 0.25]
    assert run.errors[1].startswith("ZeroDivisionError")
    assert not run.ok


def test_non_finite_values_survive_the_trip() -> None:
    run = run_code("def function(x):\n    return float('inf') if x > 0 else float('nan')", [1.0, -1.0])
    assert run.outputs[0] == math.inf and math.isnan(run.outputs[1])


def test_bad_code_is_an_error_not_an_exception() -> None:
    assert run_code("def function(x) return x", [1]).error.startswith("SyntaxError")
    assert "neither" in run_code("x = 1", [1]).error
    assert run_code("raise SystemExit(3)", [1]).error.startswith("SystemExit")


def test_hang_and_memory_are_contained() -> None:
    run = run_code("def function(x):\n    while True:\n        pass", [1.0], timeout_s=2)
    assert run.error and "Timeout" in run.error
    run = run_code("def function(x):\n    return len(bytearray(20 * 2**30))", [1.0])
    assert run.errors[0].startswith("MemoryError")
