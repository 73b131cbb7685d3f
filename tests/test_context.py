"""The context view (agent.context): what of old observations is sent, over the real SDK wire."""

from __future__ import annotations

import json

import pytest

from agent.context import ContextPolicy, sent_view
from agent.messages import AssistantTurn, ToolResult, UserMessage
from agent.messages import ToolCall as Call
from agent.transcript import read_transcript
from tests.fake_llm import FakeLLMServer, Reply, ToolCall
from tests.test_agent_e2e import CODE, backend, images_in, numeric_task

WIDE = [i / 4 for i in range(-120, 120)]  # a call_function observation of several thousand characters


def script() -> list:
    plots = [Reply(tool_calls=[ToolCall("plot_function", {"low": -10 - i, "high": 10 + i, "points": 11})])
             for i in range(4)]
    return [Reply(tool_calls=[ToolCall("call_function", {"inputs": WIDE})]), *plots,
            Reply(tool_calls=[ToolCall("submit", {"description": "f(x) = 3x - 2, a line", "code": CODE})])]


def tool_texts(request) -> list[str]:
    """The text of every tool result in a request, in order, in either wire format."""
    out = []
    for m in request.body["messages"]:
        if m.get("role") == "tool":
            out.append(m["content"])
        for block in m["content"] if isinstance(m.get("content"), list) else []:
            if block.get("type") == "tool_result":
                out.append("".join(part.get("text", "") for part in block["content"] if part["type"] == "text"))
    return out


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_old_images_and_long_observations_are_trimmed_on_the_wire(spec, tmp_path):
    with FakeLLMServer(script()) as server:
        trimming = backend(spec, server)
        trimming.context = ContextPolicy()
        result = trimming.investigate(numeric_task(), tmp_path)
    assert result.answer.code == CODE
    policy = ContextPolicy()
    last = server.requests[-1]
    assert len(images_in(last.body["messages"])) == policy.keep_images == 2  # 4 plots, only the newest 2 sent
    assert json.dumps(last.body).count("[image omitted: 1 older plot_function image") == 2
    # The wide probe is long: full while young, then shortened once, then byte-identical.
    firsts = [tool_texts(r)[0] for r in server.requests[1:]]
    assert len(firsts[0]) > policy.long_chars and "older observation omitted" not in firsts[0]
    changed = [i for i, (a, b) in enumerate(zip(firsts, firsts[1:])) if a != b]
    assert changed == [policy.keep_full_turns - 1]  # trimmed exactly once, at a fixed age
    assert "older observation omitted" in firsts[-1] and len(firsts[-1]) < len(firsts[0])
    # The transcript keeps the full observation and every image.
    results = [e for e in read_transcript(tmp_path) if e["type"] == "tool_result"]
    assert results[0]["text"] == firsts[0] and all(e["images"] for e in results[1:5])


def test_the_view_is_stable_and_keeps_the_history_intact():
    long = "x" * 5000
    history: list = [UserMessage("task")]
    views = []
    for i in range(6):
        history.append(AssistantTurn(tool_calls=[Call(f"c{i}", "run_python")]))
        history.append(ToolResult(f"c{i}", "run_python", long + str(i), images=[b"png"], data={"i": i}))
        views.append(sent_view(history, ContextPolicy(keep_images=2, long_chars=1000, keep_full_turns=2)))
    for n, view in enumerate(views):  # once trimmed, an entry is byte-identical in every later view
        for later in views[n + 1:]:
            trimmed = [j for j, e in enumerate(view) if e is not history[j]]
            assert all(later[j] == view[j] for j in trimmed)
    final = views[-1]
    assert [len(e.images) for e in final if isinstance(e, ToolResult)] == [0, 0, 0, 0, 1, 1]
    assert [e.data for e in final if isinstance(e, ToolResult)] == [{"i": i} for i in range(6)]
    assert all(len(e.text) == 5001 and e.images for e in history if isinstance(e, ToolResult))
    assert sent_view(history, None) is history


def test_trimming_every_n_turns_changes_sent_entries_only_at_those_turns():
    """With `every=3`, requests between two trims share their whole prefix: the view only grows."""
    long = "y" * 4000
    history: list = [UserMessage("task")]
    views = []
    policy = ContextPolicy(keep_images=1, long_chars=500, keep_full_turns=1, every=3)
    for i in range(9):
        history.append(AssistantTurn(tool_calls=[Call(f"c{i}", "run_python")]))
        history.append(ToolResult(f"c{i}", "run_python", long + str(i), images=[b"png"]))
        views.append(sent_view(history, policy))
    changed_at = [n for n in range(1, len(views)) if views[n][: len(views[n - 1])] != views[n - 1]]
    assert changed_at == [2, 5, 8]              # the 3rd, 6th and 9th turns, and no other
    assert views[1] == history[: len(views[1])]  # before the first trim, nothing is cut
    trimmed = [e for e in views[-1] if isinstance(e, ToolResult) and "older observation omitted" in e.text]
    assert len(trimmed) == 8 and "older observation omitted" not in views[-1][-1].text
    with pytest.raises(ValueError, match="every >= 1"):
        ContextPolicy(every=0)
