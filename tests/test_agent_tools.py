"""The tool registry: schemas and docs from signatures, argument validation, each tool's behaviour."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from agent.backends.base import ToolCall
from agent.ledger import HypothesisUpdate, Ledger
from agent.task import Task
from agent.tools_registry import DEFAULT_TOOLS, ToolContext, ToolOutput, tool
from prompts import render
from tests.conftest import CountingBox


def ctx(kind="numeric", fn=lambda x: x * x, **kw) -> ToolContext:
    return ToolContext(Task(id="t", kind=kind, black_box=CountingBox(fn)), **kw)


def run(c: ToolContext, name: str, **args) -> ToolOutput:
    return DEFAULT_TOOLS.execute(c, ToolCall("1", name, args))


def test_schemas_come_from_signatures_and_docstrings():
    openai = {t["function"]["name"]: t["function"] for t in DEFAULT_TOOLS.openai_schemas()}
    anthropic = {t["name"]: t for t in DEFAULT_TOOLS.anthropic_schemas()}
    assert list(openai) == list(anthropic) == ["call_function", "run_python", "plot_function", "record_hypotheses",
                                               "submit"]
    submit = anthropic["submit"]["input_schema"]
    assert submit["required"] == ["description"]
    assert set(submit["properties"]) == {"description", "code", "domain", "label"}
    assert "def function(x)" in submit["properties"]["code"]["description"]
    hyp = openai["record_hypotheses"]["parameters"]["properties"]["hypotheses"]["items"]
    assert hyp["properties"]["status"]["enum"] == ["open", "supported", "refuted"] and hyp["required"] == ["id"]
    text = json.dumps([openai, anthropic])
    assert "$ref" not in text and '"title"' not in text
    assert openai["plot_function"]["parameters"]["properties"]["points"]["type"] == "integer"


def test_the_same_registry_documents_the_text_protocol():
    system = render("system", text_protocol=True, tools=DEFAULT_TOOLS.docs())
    assert "plot_function(low: float, high: float, points: int = 101)" in system
    assert "Number of evenly spaced inputs" in system
    assert "COMMAND" not in render("system", text_protocol=False, tools=DEFAULT_TOOLS.docs())


def test_undocumented_arguments_are_refused_at_definition():
    with pytest.raises(TypeError, match="'y' is not documented"):
        @tool()
        def bad(ctx, y: int) -> ToolOutput:
            """No Args section."""


def test_call_function_validates_inputs():
    c = ctx(max_batch=5)
    assert run(c, "call_function", inputs=[1, "2.5"]).text == "f(1) = 1\nf(2.5) = 6.25"
    assert c.task.black_box.calls == 2
    for args, message in [
        ({"inputs": [500]}, "outside the allowed range [-128, 128]: [500.0]"),
        ({"inputs": ["dog"]}, "numeric functions take numbers, got 'dog'"),
        ({"inputs": list(range(6))}, "6 inputs in one call; the limit is 5"),
        ({"inputs": []}, "inputs is empty"),
        ({}, "missing required argument 'inputs'"),
        ({"inputs": [1], "extra": 2}, "unknown argument(s) ['extra']"),
        ({"inputs": "abc"}, "argument 'inputs'"),
    ]:
        out = run(c, "call_function", **args)
        assert out.is_error and message in out.text, (args, out.text)
    assert c.task.black_box.calls == 2  # rejected batches never reach the black box


def test_string_functions_get_strings():
    c = ctx(kind="strings", fn=lambda s: s[::-1])
    assert run(c, "call_function", inputs=["abc", 12]).text == "f('abc') = 'cba'\nf('12') = '21'"


def test_unknown_tool_and_unreadable_call_are_observations():
    c = ctx()
    assert "Unknown tool 'nope'" in run(c, "nope").text
    out = DEFAULT_TOOLS.execute(c, ToolCall("1", "call_function", {}, "arguments are not valid JSON"))
    assert out.is_error and "not valid JSON" in out.text


def test_a_crashing_tool_is_an_observation():
    c = ctx(fn=lambda x: 1 / 0)
    out = run(c, "call_function", inputs=[1])
    assert out.is_error and "ZeroDivisionError" in out.text


def test_submit_validates_per_kind():
    c = ctx()
    assert "code must define" in run(c, "submit", description="square").text
    square = "def function(x): return x*x"
    assert "domain must be [low, high]" in run(c, "submit", description="sq", code=square, domain=[1]).text
    assert "not an interval" in run(c, "submit", description="sq", code=square, domain=[3, 1]).text
    assert "does not compile" in run(c, "submit", description="sq", code="def function(x) return").text
    assert c.attempted.description == "sq"
    ok = run(c, "submit", description="square", code="def function(x):\n    return x * x", domain=[-1, 1],
             label="square")
    assert not ok.is_error and ok.answer.domain == (-1.0, 1.0) and ok.answer.label == "square"
    entities = ctx(kind="entities")
    assert run(entities, "submit", description="animals").answer.description == "animals"
    assert "description is empty" in run(entities, "submit", description=" ").text


def test_record_hypotheses_keeps_a_ledger():
    c = ctx()
    c.round_no = 2
    out = run(c, "record_hypotheses", hypotheses=[{"id": "H1", "statement": "f is quadratic"}, {"id": "H2"}])
    assert out.is_error and "H2: a new hypothesis needs a statement" in out.text
    c.round_no = 3
    out = run(c, "record_hypotheses", hypotheses=[{"id": "H1", "status": "supported", "evidence": "f(3)=9"}])
    assert "[supported] H1: f is quadratic" in out.text
    assert c.ledger.hypotheses["H1"].history == [(2, "open", ""), (3, "supported", "f(3)=9")]
    assert "status" in run(c, "record_hypotheses", hypotheses=[{"id": "H1", "status": "maybe"}]).text


def test_ledger_apply_directly():
    ledger = Ledger()
    assert ledger.apply([HypothesisUpdate(id=" ", statement="x")], 1) == ["a hypothesis needs a non-empty id"]
    assert ledger.render() == "(no hypotheses recorded)"


def test_plot_function_returns_a_png_and_a_summary():
    c = ctx(fn=lambda x: None if x > 5 else x)
    out = run(c, "plot_function", low=-10, high=10, points=21)
    assert "outputs range from -10 to 5" in out.text and "5 input(s) gave no finite output" in out.text
    assert Image.open(io.BytesIO(out.images[0])).size == (480, 320)
    assert c.task.black_box.calls == 21
    assert "smaller than high" in run(c, "plot_function", low=1, high=1).text
    assert "between 2 and 1000" in run(c, "plot_function", low=0, high=1, points=5000).text


def test_kind_filtering():
    assert "plot_function" not in DEFAULT_TOOLS.for_kind("strings")
    assert "plot_function" in DEFAULT_TOOLS.for_kind("numeric")
    assert DEFAULT_TOOLS.without("run_python").names() == ["call_function", "plot_function", "record_hypotheses",
                                                           "submit"]


def test_run_python_without_a_sandbox_is_an_error():
    out = run(ctx(), "run_python", code="print(1)")
    assert out.is_error and "not available" in out.text


class _NoisyTransport(CountingBox):
    """A served function whose transport drops inputs it cannot carry and says why in `errors`."""

    def __init__(self) -> None:
        super().__init__(lambda x: x.upper())
        self.errors: list[str] = []

    def __call__(self, inputs):
        outputs = []
        for i, x in enumerate(inputs):
            if "\n" in x:
                self.errors.append(f"f00001: input {i} contains a newline, which the serving cannot carry; "
                                   "its output is None")
                outputs.append(None)
            else:
                outputs.append(super().__call__([x])[0])
        return outputs


def test_call_function_shows_why_the_serving_answered_none():
    c = ToolContext(Task(id="t", kind="strings", black_box=_NoisyTransport()))
    text = run(c, "call_function", inputs=["ab", "a\nb"]).text
    assert text.splitlines()[:2] == ["f('ab') = 'AB'", "f('a\\nb') = None"]
    assert text.splitlines()[2] == ("[note: f00001: input 1 contains a newline, which the serving cannot carry; "
                                    "its output is None]")
    assert "[note" not in run(c, "call_function", inputs=["cd"]).text  # only this call's incidents
