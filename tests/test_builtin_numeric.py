"""The built-in scientist on numeric functions: it solves most of them, reads like an investigation,
and never answers with a table."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from agent.builtin.backend import BuiltinBackend
from agent.builtin.numeric import investigate_numeric
from agent.task import Task
from evals.code_exec import run_code
from evals.numeric_scoring import detect_tabulation, nmse, solved, strict_points
from find_functions.numeric import compile_function, sample_numeric
from tests.conftest import SANDBOX


class InProcessBox:
    """A black box over a generated function's served code (the scientist only sees calls)."""

    def __init__(self, code: str):
        self._fn = compile_function(code)
        self.calls = 0
        # Served code draws its noise from the global `random`: seeded per function, so a test's
        # score is a fixed figure, not one that moves with the noise drawn (CI failed on such a draw).
        random.seed(f"in-process-box:{code}")

    def __call__(self, inputs):
        self.calls += len(inputs)
        out = []
        for x in inputs:
            try:
                out.append(self._fn(x))
            except Exception:
                out.append(None)
        return out


@pytest.fixture(scope="module")
def sample():
    fns = [f for f in sample_numeric(seed=11, n=200) if f.variant != "mlp"]
    by_variant = {v: [f for f in fns if f.variant == v][:6] for v in ("clean", "noised", "corrupted")}
    return [f for group in by_variant.values() for f in group]


def _strict_score(fn, code: str) -> float:
    pts = strict_points(seed=3)
    ref = run_code(fn.reference_code(), pts, confine=SANDBOX).outputs
    pred = run_code(code, pts, confine=SANDBOX)
    return 0.0 if pred.error or detect_tabulation(code).tabulated else solved(nmse(ref, pred.outputs))


def test_solves_most_functions_strictly(sample) -> None:
    scores = []
    for fn in sample:
        findings = investigate_numeric(InProcessBox(fn.served_code()), seed=0)
        scores.append(_strict_score(fn, findings.code))
        assert not detect_tabulation(findings.code).tabulated
    assert sum(scores) / len(scores) >= 0.8, scores


def test_finds_the_corrupted_interval(sample) -> None:
    fn = next(f for f in sample if f.variant == "corrupted")
    findings = investigate_numeric(InProcessBox(fn.served_code()))
    lo, hi = fn.corrupted_interval()
    assert findings.domain is not None
    assert abs(findings.domain[0] - lo) < 0.5 and abs(findings.domain[1] - hi) < 0.5
    assert any(h.status == "refuted" and "deterministic" in h.statement for h in findings.hypotheses)


def test_deterministic_for_a_seed(sample) -> None:
    fn = next(f for f in sample if f.variant == "noised")
    a = investigate_numeric(InProcessBox(fn.served_code()), seed=4)
    b = investigate_numeric(InProcessBox(fn.served_code()), seed=4)
    assert a.label == b.label and [e.inputs for e in a.experiments] == [e.inputs for e in b.experiments]


def test_backend_streams_a_transcript_with_the_ledger(sample, tmp_path: Path) -> None:
    fn = next(f for f in sample if f.variant == "clean")
    box = InProcessBox(fn.served_code())
    inv = BuiltinBackend().investigate(Task(id="numeric/x", kind="numeric", black_box=box), log_dir=tmp_path)
    events = [json.loads(line) for line in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert "experiment" in kinds and "hypotheses" in kinds and "assistant" not in kinds
    assert events[-1]["answer"]["code"] == inv.answer.code and inv.rounds == kinds.count("experiment")
    assert events[-1]["black_box_calls"] == box.calls
