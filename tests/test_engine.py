"""The investigation engine over the model tools, driven through the real OpenAI and Anthropic
SDKs by the fake LLM server: tool calls run on a tiny model, results go back on the wire, events
stream to the transcript and to `on_event`, labeling ends on submit_label, interrupts keep the
history valid, the round cap asks for an answer. (The bench's use of the same engine is tested in
test_agent_loop.py.)"""

from __future__ import annotations

import pytest

from agent.engine import Engine, ToolInterrupted
from agent.model_tools import ModelToolContext, model_tool_registry
from agent.registry import make_policy
from agent.transcript import TranscriptWriter, read_transcript
from prompts import render
from tests.fake_llm import FakeLLMServer, Reply, ToolCall
from tools.exemplars import Exemplar
from tools.models import tiny_model

UNIT = "layer.1.mlp.neuron.3"
INTERRUPTED_TEXT = render("interrupted_call")


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)


def policy_for(server: FakeLLMServer, provider: str, **options):
    if provider == "openai":
        return make_policy("openai:fake-model", api_key="k", base_url=server.openai_base_url, max_attempts=1, **options)
    return make_policy("anthropic:fake-model", api_key="k", base_url=server.anthropic_base_url, max_attempts=1)


class Conversation:
    """A question at a time on one engine, as `aia chat` asks them."""

    def __init__(self, engine: Engine, max_rounds: int = 20) -> None:
        self.engine, self.max_rounds = engine, max_rounds

    def ask(self, text: str) -> str:
        return self.engine.run(text, max_rounds=self.max_rounds).text

    def __getattr__(self, name):
        return getattr(self.engine, name)


def conversation(model, server, provider, tmp_path, scope="chat", ctx=None, max_rounds=20, **kwargs):
    tools = model_tool_registry(scope)
    policy = policy_for(server, provider)
    events = []
    conv = Engine(policy, tools, ctx or ModelToolContext(model, unit=UNIT),
                  system=render("chat_system", model=model, tools=tools.docs(), text_protocol=not policy.native_tools),
                  transcript=TranscriptWriter(tmp_path), on_event=events.append, **kwargs)
    return Conversation(conv, max_rounds), events


def tool_messages(request) -> list[str]:
    """Tool-result texts the client sent, whatever the wire format."""
    out = []
    for m in request.body["messages"]:
        if m["role"] == "tool":
            out.append(m["content"])
        elif isinstance(m.get("content"), list):
            out += [b["content"][0]["text"] for b in m["content"] if b.get("type") == "tool_result"]
    return out


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_ask_runs_tools_and_answers(model, tmp_path, provider):
    script = [Reply("Let me measure.", [ToolCall("call_unit", {"unit": UNIT, "texts": ["the river bank", "a stone"]}),
                                        ToolCall("record_hypotheses",
                                                 {"hypotheses": [{"id": "H1", "statement": "river"}]})]),
              Reply("It peaks on 'river'.")]
    with FakeLLMServer(script) as server:
        conv, events = conversation(model, server, provider, tmp_path)
        answer = conv.ask(f"What does {UNIT} do?")
    assert answer == "It peaks on 'river'."
    assert "call_unit" in server.requests[0].tool_names() and "submit_label" not in server.requests[0].tool_names()
    sent = tool_messages(server.requests[1])
    assert sent[0].startswith(f"Activations of {UNIT}") and "[open] H1: river" in sent[1]
    kinds = [e["type"] for e in events]
    assert kinds == ["user", "assistant", "tool_call", "tool_result", "tool_call", "tool_result", "hypotheses",
                     "assistant"]
    written = [e["type"] for e in read_transcript(tmp_path)]
    assert written == [k for k in kinds if k != "tool_call"]          # notices are not persisted
    assert conv.usage.llm_calls == 2 and conv.rounds == 2

    # A second question continues the same history; a noted slash command is part of it.
    conv.note("[the user ran /units]\n(units listing)")
    with FakeLLMServer([Reply("Yes, as measured above.")]) as server2:
        conv.engine.policy = policy_for(server2, provider)
        assert conv.ask("Sure?") == "Yes, as measured above."
    texts = str(server2.requests[0].body["messages"])
    assert "What does" in texts and "(units listing)" in texts and "Sure?" in texts


def test_labeling_ends_on_submit_label_and_nudges_plain_replies(model, tmp_path):
    exemplar = Exemplar(0, ["[CLS]", "the", "river"], [float("nan"), 0.1, 2.0], 2.0, "top")
    ctx = ModelToolContext(model, unit=UNIT, exemplar_source=lambda unit, k: [exemplar])
    script = [Reply(tool_calls=[ToolCall("exemplars", {"unit": UNIT, "k": 5})]),
              Reply("I think it is about rivers."),                              # no call: nudged
              Reply(tool_calls=[ToolCall("submit_label", {"label": "river", "description": "Fires on 'river'.",
                                                          "evidence": ["exemplar 1 peaks on river (2.0)"]})]),
              Reply("never requested")]
    with FakeLLMServer(script) as server:
        conv, _ = conversation(model, server, "openai", tmp_path, scope="label", ctx=ctx, finish_tool="submit_label")
        conv.ask("Label the unit.")
    assert conv.ctx.submitted.label == "river" and server.steps_left == 1
    assert "the [[river]]" in tool_messages(server.requests[1])[0]
    assert "contained no tool call" in server.requests[2].body["messages"][-1]["content"]


def test_round_cap_asks_for_the_answer_and_runs_no_more_tools(model, tmp_path):
    probe = ToolCall("call_unit", {"unit": UNIT, "texts": ["a"]})
    with FakeLLMServer([Reply(tool_calls=[probe]), Reply(tool_calls=[probe]),
                        Reply("Final: unclear.", [probe])]) as server:
        conv, events = conversation(model, server, "anthropic", tmp_path, max_rounds=2)
        assert conv.ask("What does it do?") == "Final: unclear."
    final = [e for e in events if e["type"] == "final_request"]
    assert len(final) == 1 and "Answer now" in final[0]["text"]
    last = [e for e in events if e["type"] == "tool_result"][-1]
    assert last["is_error"] and "was not run" in last["text"]


def test_interrupt_answers_pending_calls_and_the_conversation_goes_on(model, tmp_path):
    ctx = ModelToolContext(model, unit=UNIT)

    def slow_source(unit, k):       # stands in for Ctrl-C arriving while the tool runs
        ctx.interrupt.set()
        ctx.check_interrupt()

    ctx.exemplar_source = slow_source
    script = [Reply(tool_calls=[ToolCall("exemplars", {"unit": UNIT}), ToolCall("list_units", {})]),
              Reply("Answer after the interruption.")]
    with FakeLLMServer(script) as server:
        conv, events = conversation(model, server, "openai", tmp_path, ctx=ctx)
        with pytest.raises(ToolInterrupted):
            conv.ask("Show exemplars")
        interrupted = [e for e in events if e["type"] == "interrupted"]
        assert len(interrupted) == 1 and interrupted[0]["tool"] == "exemplars"
        results = [e for e in events if e["type"] == "tool_result"]
        assert [r["name"] for r in results] == ["exemplars", "list_units"]
        assert all(r["text"] == INTERRUPTED_TEXT for r in results)
        with pytest.raises(ToolInterrupted):                              # the flag is still set
            conv.ask("Go on")
        ctx.interrupt.clear()
        assert conv.ask("Go on") == "Answer after the interruption."
    # Every tool call was answered, so the provider accepted the history.
    assert tool_messages(server.requests[1]) == [INTERRUPTED_TEXT, INTERRUPTED_TEXT]


def test_text_protocol_commands(model, tmp_path):
    reply = f'I will measure.\nCOMMAND: call_unit(unit="{UNIT}", texts=["the river"])'
    with FakeLLMServer([Reply(reply), Reply("Measured.")]) as server:
        policy = make_policy("openai-compatible:small@" + server.openai_base_url, native_tools=False, max_attempts=1)
        tools = model_tool_registry("chat")
        system = render("chat_system", model=model, tools=tools.docs(), text_protocol=True)
        conv = Engine(policy, tools, ModelToolContext(model), system=system)
        assert conv.run("measure it", max_rounds=20).text == "Measured."
    assert "COMMAND: call_unit" in server.requests[0].body["messages"][0]["content"]
    assert "tools" not in server.requests[0].body
    assert f"Activations of {UNIT}" in server.requests[1].body["messages"][-1]["content"]


def test_bad_configuration_is_refused(model):
    policy = make_policy("openai:fake-model", api_key="k")
    with pytest.raises(ValueError, match="finish_tool 'submit_label' is not among"):
        Engine(policy, model_tool_registry("chat"), ModelToolContext(model), system="s", finish_tool="submit_label")
