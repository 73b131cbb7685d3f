"""The tool registry: schemas and docs from signatures, argument validation, each tool's behaviour."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from agent.ledger import HypothesisUpdate, Ledger
from agent.messages import ToolCall
from agent.task import Task
from agent.tools_registry import DEFAULT_TOOLS, ToolContext, ToolOutput, round_inputs, tool
from prompts import render
from tests.conftest import CountingBox


def ctx(kind="numeric", fn=lambda x: x * x, **kw) -> ToolContext:
    return ToolContext(Task(id="t", kind=kind, black_box=CountingBox(fn)), **kw)


def run(c: ToolContext, name: str, **args) -> ToolOutput:
    return DEFAULT_TOOLS.execute(c, ToolCall("1", name, args))


def test_schemas_come_from_signatures_and_docstrings():
    openai = {t["function"]["name"]: t["function"] for t in DEFAULT_TOOLS.openai_schemas()}
    anthropic = {t["name"]: t for t in DEFAULT_TOOLS.anthropic_schemas()}
    assert list(openai) == list(anthropic) == ["call_function", "run_python", "plot_function", "check_code",
                                               "record_hypotheses", "submit"]
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
        ({"inputs": ["dog"]}, "argument 'inputs'.0: Input should be a valid number"),
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
    # the summary samples f at round inputs: the grid's integers, and ±0.5, ±0.2, ±0.1 evaluated on their own
    assert c.task.black_box.calls == 21 + 6
    samples = out.text.split("Samples: ")[1]
    assert samples.startswith("f(-10)=-10, f(-5)=-5, f(-2)=-2, f(-1)=-1, f(-0.5)=-0.5") and "f(10)=None" in samples
    assert "smaller than high" in run(c, "plot_function", low=1, high=1).text
    assert "between 2 and 1000" in run(c, "plot_function", low=0, high=1, points=5000).text


def test_plot_summary_samples_round_inputs_only():
    c = ctx(fn=lambda x: 2 * x)
    text = run(c, "plot_function", low=-128, high=128).text  # a grid step of 2.56: no grid point but 0 is round
    samples = [part.split("=")[0] for part in text.split("Samples: ")[1].split(", ")]
    assert samples == [f"f({x})" for x in (-100, -50, -20, -10, -5, -2, -1, 0, 1, 2, 5, 10, 20, 50, 100)]
    assert c.task.black_box.calls == 101 + 14
    assert round_inputs(2.5, 7.3) == [2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]


def test_plots_have_ticks_and_gridlines():
    """Gridlines are light gray columns across the plot area; a plain frame has none."""
    c = ctx(fn=lambda x: x)
    image = Image.open(io.BytesIO(run(c, "plot_function", low=-100, high=100, points=11).images[0])).convert("RGB")
    row = [image.getpixel((x, 100)) for x in range(image.width)]
    column = [image.getpixel((100, y)) for y in range(image.height)]
    # x ticks at -100, -50, 0, 50, 100: the ends are the frame, 0 the darker axis; y likewise
    assert len([x for x, p in enumerate(row) if p == (225, 225, 225)]) >= 2
    assert len([y for y, p in enumerate(column) if p == (225, 225, 225)]) >= 2


def test_each_kind_gets_its_own_schemas():
    numeric, strings = DEFAULT_TOOLS.for_scope("numeric"), DEFAULT_TOOLS.for_scope("strings")
    inputs = {k: {t["name"]: t for t in r.anthropic_schemas()}["call_function"]["input_schema"]["properties"]["inputs"]
              for k, r in [("numeric", numeric), ("strings", strings)]}
    assert inputs["numeric"]["items"] == {"type": "number"} and inputs["strings"]["items"] == {"type": "string"}
    entities = DEFAULT_TOOLS.for_scope("entities")
    submit = {k: set({t["name"]: t for t in r.anthropic_schemas()}["submit"]["input_schema"]["properties"])
              for k, r in [("numeric", numeric), ("strings", strings), ("entities", entities)]}
    assert submit == {"numeric": {"description", "code", "domain", "label"},
                      "strings": {"description", "code", "label"}, "entities": {"description", "label"}}
    assert "check_code" in strings and "check_code" not in DEFAULT_TOOLS.for_scope("entities")
    assert "f(numpy_array)" in numeric.tools["run_python"].description
    strings_doc = strings.tools["run_python"].description
    assert "plot(" not in strings_doc and "show(" not in strings_doc
    # an unnarrowed registry still runs the variant for the context's kind
    assert "unknown argument(s) ['domain']" in run(ctx(kind="strings"), "submit", description="d",
                                                   code="def function(x): return x", domain=[0, 1]).text


def test_check_code_needs_a_sandbox_and_sane_points():
    assert "not available" in run(ctx(), "check_code", code="def function(x): return x").text
    assert "between 10 and 1000" in run(ctx(), "check_code", code="def function(x): return x", points=5).text


def test_check_inputs_are_fresh_and_in_range():
    from agent.tools_registry import check_inputs

    task = Task(id="t", kind="numeric", black_box=CountingBox(abs), input_range=(-3.0, 5.0))
    first, second = check_inputs(task, 50, 1), check_inputs(task, 50, 2)
    assert all(-3 <= x <= 5 for x in first) and first != second and first == check_inputs(task, 50, 1)
    words = check_inputs(Task(id="s", kind="strings", black_box=CountingBox(str.upper)), 300, 1)
    assert len(set(words)) == 300 and any("ß" in w for w in words) and any(len(w) > 60 for w in words)


def test_compare_reports_nmse_and_exact_match():
    from agent.tools_registry import compare

    text = compare("numeric", [1.0, 2.0], [1.0, 2.0], [1.0, 2.5], [None, None])
    assert text.startswith("NMSE 0.05 on 2 inputs") and "x=2: f=2, code=2.5" in text and "x=1:" not in text
    assert "code=ValueError: bad" in compare("numeric", [1.0], [1.0], [None], ["ValueError: bad"])
    text = compare("strings", ["ß", "a"], ["SS", "A"], ["ß", "A"], [None, None])
    assert text.startswith("exact match on 1 of 2 inputs (50.0%)") and "x='ß': f='SS', code='ß'" in text


def test_kind_filtering():
    assert "plot_function" not in DEFAULT_TOOLS.for_scope("strings")
    assert "plot_function" in DEFAULT_TOOLS.for_scope("numeric")
    assert DEFAULT_TOOLS.without("run_python").names() == ["call_function", "plot_function", "check_code",
                                                           "record_hypotheses", "submit"]


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


def test_string_observations_escape_combining_marks():
    from agent.tools_registry import format_value

    shown = format_value("e\u0301\u00e9")
    assert shown == "'e\\u0301\u00e9'" and eval(shown) == "e\u0301\u00e9"   # still the literal of the same string
    assert format_value("a\u00a0b") == "'a\\xa0b'" and format_value(0.1 + 0.2) == "0.3"
