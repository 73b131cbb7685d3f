"""Parsing replies of models without native tools: FIND's COMMAND forms, code blocks, final answers."""

from __future__ import annotations

import pytest

from agent.backends.text_protocol import chat_messages, parse_reply
from agent.messages import AssistantTurn, ToolResult, UserMessage
from agent.tools_registry import DEFAULT_TOOLS


def one(text: str):
    calls = parse_reply(text, DEFAULT_TOOLS)
    assert len(calls) == 1, calls
    return calls[0]


@pytest.mark.parametrize("text, name, args", [
    ("Let me look.\nCOMMAND: PYTHON(./temp/function.py 1 2 -3.5)", "call_function", {"inputs": [1.0, 2.0, -3.5]}),
    ('COMMAND: PYTHON(./temp/function.py "hello world" dog)', "call_function", {"inputs": ["hello world", "dog"]}),
    ("COMMAND: call_function([1, 2,\n    3])", "call_function", {"inputs": [1, 2, 3]}),
    ("COMMAND: plot_function(-10, 10, points=50) (to see the shape)", "plot_function",
     {"low": -10, "high": 10, "points": 50}),
    ("command: `call_function(inputs=['a'])`", "call_function", {"inputs": ["a"]}),
    ("Try this:\n```python\nprint(f([1, 2]))\n```", "run_python", {"code": "print(f([1, 2]))"}),
    ("Cut off mid-block:\n```python\nys = f([1, 2])\nprint(ys", "run_python", {"code": "ys = f([1, 2])\nprint(ys"}),
])
def test_actions(text, name, args):
    call = one(text)
    assert (call.name, call.arguments, call.error) == (name, args, None)


@pytest.mark.parametrize("text, error", [
    ("COMMAND: call_function([1, 2", "could not parse"),
    ("COMMAND: frobnicate(1)", "unknown tool 'frobnicate'"),
    ("COMMAND: call_function(f(1))", "arguments must be literals"),
    ("COMMAND: plot_function(1, 2, 3, 4)", "at most 3 positional"),
    ("COMMAND: tools.call_function([1])", "a single call"),
    ("COMMAND: 1 + 2", "could not parse"),
])
def test_malformed_commands_carry_an_error(text, error):
    assert error in one(text).error


def test_no_action_is_an_empty_list():
    assert parse_reply("I think f is linear.", DEFAULT_TOOLS) == []
    assert parse_reply("", DEFAULT_TOOLS) == []


def test_final_answer_takes_precedence_and_keeps_code_out_of_run_python():
    text = (
        "COMMAND: call_function([1])\n[DESCRIPTION]: f doubles x.\n[DOMAIN]: [-5, 3.5]\n"
        "[CODE]:\n```python\ndef function(x):\n    return 2 * x\n```\n[LABEL]: doubling\nmore text"
    )
    call = one(text)
    assert call.name == "submit"
    assert call.arguments == {"description": "f doubles x.", "code": "def function(x):\n    return 2 * x",
                              "domain": [-5.0, 3.5], "label": "doubling"}


def test_final_answer_variants():
    assert one("[DESCRIPTION]: f doubles. [CODE]: def function(x): return 2*x").arguments == {
        "description": "f doubles.", "code": "def function(x): return 2*x"}
    assert "domain" not in one("[DESCRIPTION]: x\n[DOMAIN]: none").arguments
    assert one("[DESCRIPTION]: x\n[DOMAIN]: 4").arguments["domain"] == [4.0]  # submit rejects it with a reason


def test_only_offered_tools_are_used_for_code_blocks():
    assert parse_reply("```python\nprint(1)\n```", DEFAULT_TOOLS.without("run_python")) == []


def test_chat_messages_alternate_roles():
    history = [
        UserMessage("task"),
        AssistantTurn("COMMAND: call_function([1])"),
        ToolResult("a", "call_function", "f(1) = 2"),
        ToolResult("b", "submit", "Answer rejected", is_error=True),
        UserMessage("final please"),
    ]
    messages = chat_messages("SYS", history)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    last = messages[-1]["content"]
    assert "Observation (call_function):\nf(1) = 2" in last and "Error (submit):" in last
    assert last.endswith("final please")
