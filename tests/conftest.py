"""Shared fixtures: a tiny hand-written suite (no generators involved), and the FIND metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from find_functions.layout import write_suite
from find_functions.script import render_script
from find_functions.spec import GroundTruth, MultipleChoiceItem, SuiteFunction
from tools import isolation

REPO = Path(__file__).resolve().parent.parent

#: Whether this machine has the OS sandbox (bubblewrap). Tests of the sandbox itself skip without
#: it; tests of other things that happen to run untrusted code run it unconfined there instead.
SANDBOX = isolation.probe().available
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason=f"no OS sandbox: {isolation.probe().problem}")
SHARED_FIND = REPO.parent / "shared" / "find"


class CountingBox:
    """A black-box stand-in for tests of the agent: batched, counts the inputs it evaluates."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, inputs):
        self.calls += len(inputs)
        return [self.fn(x) for x in inputs]


@pytest.fixture(scope="session")
def find_dir() -> Path:
    """FIND's public metadata; absent on a user's clone, where these tests skip."""
    if not (SHARED_FIND / "numeric" / "data.json").is_file():
        pytest.skip(f"FIND metadata not found at {SHARED_FIND} (only CI and developers have ../shared)")
    return SHARED_FIND


def _numeric(fid: str, body: str, reference: str, variant: str = "clean",
             domain: tuple[float, float] | None = None) -> SuiteFunction:
    return SuiteFunction(
        id=fid, category="numeric", variant=variant,
        script_name={"clean": "function_code.py", "noised": "noised_function_code.py",
                     "corrupted": "corrupted_function_code.py"}[variant],
        script=render_script(body, "float"),
        ground_truth=GroundTruth(description=f"test function {fid}", code=reference, domain=domain, label="linear"),
        held_out_inputs=[1.25, -3.5],
    )


def _reverse_tests() -> list[MultipleChoiceItem]:
    words = [("abc", "xyz", "hello"), ("dog", "cat", "sun"), ("one", "two", "six")]
    items = []
    for i, (a, b, c) in enumerate(words):
        outs = [a, b, c]
        correct = i % 3
        outs[correct] = outs[correct][::-1]
        items.append(MultipleChoiceItem(inputs=[a, b, c], outputs=outs, correct=correct))
    return items


def tiny_functions() -> list[SuiteFunction]:
    return [
        _numeric("f00000", "def function(x):\n    return 2.0 * x + 1.0", "def function(x):\n    return 2.0 * x + 1.0"),
        _numeric("f00001", "import random\ndef function(x):\n    return x * x + random.gauss(0, 1)",
                 "def function(x):\n    return x * x", variant="noised"),
        _numeric("f00002", "import random\ndef function(x):\n    return 500.0 + random.gauss(0, 0.1) if x > 50 else -x",
                 "def function(x):\n    return 500.0 if x > 50 else -x", variant="corrupted", domain=(50.0, 128.0)),
        SuiteFunction(
            id="f00000", category="strings", variant="atomic",
            script=render_script("def function(x):\n    return x[::-1]", "str"),
            ground_truth=GroundTruth(description="reverse the string", code="def function(x):\n    return x[::-1]",
                                     label="reverse"),
            unit_tests=_reverse_tests(), held_out_inputs=["held", "out"],
        ),
    ]


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    return write_suite(tiny_functions(), tmp_path / "suite", {"seed": 0})
