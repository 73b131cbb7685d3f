"""String functions without unit tests are scored on held-out strings drawn from the scoring seed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.task import Answer
from evals.scoring import ScoringContext, score_strings
from evals.string_held_out import N_HELD_OUT_STRINGS, held_out_strings
from evals.suites import serve
from find_functions.blackbox import argv_problem
from find_functions.find_release import load_find_suite
from tools import isolation


def test_held_out_strings_are_seeded_varied_and_carriable() -> None:
    strings = held_out_strings(7, "strings/f00003")
    assert strings == held_out_strings(7, "strings/f00003")
    assert len(strings) == len(set(strings)) == N_HELD_OUT_STRINGS
    assert strings != held_out_strings(8, "strings/f00003") and strings != held_out_strings(7, "strings/f00004")
    assert all(argv_problem(i, s) is None for i, s in enumerate(strings))  # every serving mode carries them
    pooled = [s for seed in range(5) for s in held_out_strings(seed, "strings/f00000")]
    for what, pattern in [("several words", r"\w \w+ \w"), ("upper case", r"[A-Z]"), ("lower case", r"[a-z]"),
                          ("digits", r"\d"), ("a repeated letter", r"(\w)\1"),
                          ("punctuation", r"[.,;:!?'\"()@#&*/%+=-]"), ("padding", r"^ | $")]:
        assert any(re.search(pattern, s) for s in pooled), what


@pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")
def test_a_string_script_without_unit_tests_is_scored_against_its_own_outputs(tmp_path: Path) -> None:
    script = tmp_path / "strings" / "f00000" / "function_code.py"
    script.parent.mkdir(parents=True)
    script.write_text("def function(string):\n    return string.swapcase()[::-1]\n")
    entry = load_find_suite(tmp_path).entries[0]
    assert entry.unit_tests == () and entry.held_out_inputs == ()
    right = Answer(description="swaps case and reverses", code="def function(x):\n    return x[::-1].swapcase()\n")
    half = Answer(description="reverses", code="def function(x):\n    return x[::-1]\n")
    with serve(entry) as f:
        ctx = ScoringContext(f, judge=None, seed=11)  # type: ignore[arg-type]  # no unit tests: no judge
        scored = score_strings(entry, right, ctx)
        assert scored["score"] == scored["code_exact"] == 1.0 and scored["error"] is None
        partly = score_strings(entry, half, ctx)["score"]
        assert 0.0 < partly < 1.0  # the strings without letters (or case) still match
        assert f.calls == 2 * N_HELD_OUT_STRINGS
