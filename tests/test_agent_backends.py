"""Backend construction, wire-format translation, retry classification, prices, transcripts, prompts."""

from __future__ import annotations

import email.utils
import io
import json
import time

import anthropic
import openai
import pytest

try:  # the HTTP client the installed SDKs are built on (openai 3.x / anthropic 2.x use httpx2)
    import httpx2
except ImportError:
    import httpx as httpx2

from agent.backends.anthropic_backend import AnthropicPolicy
from agent.backends.openai_backend import OpenAIPolicy
from agent.backends.pricing import Price, PriceTable
from agent.backends.retry import call_with_retries, is_transient, retry_after
from agent.messages import AssistantTurn, ToolCall, ToolResult, UserMessage
from agent.registry import make_backend, make_policy
from agent.transcript import TranscriptWriter, render_transcript, show_transcript
from prompts import render

HISTORY = [
    UserMessage("task"),
    AssistantTurn("probing", [ToolCall("c1", "call_function", {"inputs": [1]}),
                              ToolCall("c2", "plot_function", {"low": 0, "high": 1})]),
    ToolResult("c1", "call_function", "f(1) = 2"),
    ToolResult("c2", "plot_function", "plot", images=[b"\x89PNGdata"]),
    AssistantTurn(""),  # an empty reply
    UserMessage("Your reply was empty."),
]


def test_spec_parsing_and_clear_errors():
    assert make_backend("openai:gpt-4o", api_key="k").policy.model == "gpt-4o"
    compat = make_policy("openai-compatible:qwen2.5:7b@http://localhost:11434/v1")
    assert compat.model == "qwen2.5:7b" and str(compat.client.base_url).startswith("http://localhost:11434/v1")
    assert compat.accepts_images is False
    with pytest.raises(ValueError, match="unknown backend spec 'gpt-4o'"):
        make_backend("gpt-4o")
    with pytest.raises(ValueError, match=r"option\(s\) \['bogus'\] do not apply to 'openai:gpt-4o'"):
        make_backend("openai:gpt-4o", api_key="k", bogus=1)
    with pytest.raises(ValueError, match="max_usd needs a price for 'my-model'"):
        make_backend("openai:my-model", api_key="k", max_usd=1.0)
    b = make_backend("anthropic:claude-sonnet-4-5", api_key="k", max_rounds=5, max_usd=0.5, max_tokens=10_000)
    assert (b.budget.max_rounds, b.budget.max_usd, b.budget.max_tokens) == (5, 0.5, 10_000)
    assert b.policy.client.max_retries == 0  # tenacity is the only retry policy


def test_openai_messages_put_images_after_the_tool_messages():
    messages = OpenAIPolicy("gpt-4o", api_key="k").messages("SYS", HISTORY)
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user", "assistant", "user"]
    assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"]) == {"inputs": [1]}
    assert messages[5]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert messages[6]["content"] == ""


def test_anthropic_messages_alternate_and_cache_the_prefix():
    messages = AnthropicPolicy("claude-sonnet-4", api_key="k").messages(HISTORY)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]  # the empty reply is dropped
    results = messages[2]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result", "text"]
    assert results[1]["content"][1]["type"] == "image"
    assert results[-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in HISTORY[-1].__dict__  # the neutral history is not modified


def _status_error(cls, status: int, headers: dict | None = None):
    request = httpx2.Request("POST", "http://x/v1")
    return cls("boom", response=httpx2.Response(status, headers=headers or {}, request=request), body=None)


@pytest.mark.parametrize("sdk", [openai, anthropic])
def test_transient_classification(sdk):
    assert is_transient(_status_error(sdk.RateLimitError, 429))
    assert is_transient(_status_error(sdk.InternalServerError, 503))
    assert is_transient(sdk.APITimeoutError(request=httpx2.Request("POST", "http://x")))
    assert is_transient(sdk.APIConnectionError(request=httpx2.Request("POST", "http://x")))
    assert not is_transient(_status_error(sdk.AuthenticationError, 401))
    assert not is_transient(_status_error(sdk.BadRequestError, 400))
    assert not is_transient(ValueError("x"))


def test_retry_after_formats():
    assert retry_after(_status_error(openai.RateLimitError, 429, {"retry-after": "7"})) == 7
    assert retry_after(_status_error(openai.RateLimitError, 429, {"retry-after-ms": "250"})) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after(_status_error(openai.RateLimitError, 429, {"retry-after": later})) <= 31
    assert retry_after(_status_error(openai.RateLimitError, 429)) is None


def test_call_with_retries_waits_as_told_and_stops():
    waits, attempts = [], []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise _status_error(openai.RateLimitError, 429, {"retry-after": "2"})
        return "ok"

    assert call_with_retries(flaky, sleep=waits.append, max_wait=60) == "ok"
    assert waits == [2.0, 2.0]
    attempts.clear()
    with pytest.raises(openai.RateLimitError):
        call_with_retries(flaky, sleep=lambda s: None, max_attempts=2)
    assert len(attempts) == 2

    def unauthorized():
        attempts.append(1)
        raise _status_error(openai.AuthenticationError, 401)

    attempts.clear()
    with pytest.raises(openai.AuthenticationError):
        call_with_retries(unauthorized, sleep=lambda s: None)
    assert len(attempts) == 1


def test_prices_longest_prefix_and_override(tmp_path, monkeypatch):
    table = PriceTable.load()
    assert table.lookup("gpt-4o-mini-2024-07-18") == table.prices["gpt-4o-mini"]
    assert table.cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert table.cost("gpt-4o", 1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(1.25)
    assert table.cost("unknown-model", 10, 10) is None
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-model": {"input": 1.0, "output": 2.0}}))
    monkeypatch.setenv("AIA_PRICES", str(path))
    assert PriceTable.load().lookup("my-model-v2") == Price(1.0, 2.0)
    path.write_text(json.dumps({"m": {"inputs": 1}}))
    with pytest.raises(ValueError, match="bad price file"):
        PriceTable.load(path)


def test_transcript_streams_and_renders(tmp_path):
    writer = TranscriptWriter(tmp_path)
    writer.write("start", task_id="t", kind="numeric", backend="b", max_rounds=3)
    writer.write("assistant", round=1, text="hello", usage={"input_tokens": 5, "output_tokens": 1},
                 tool_calls=[{"id": "c1", "name": "call_function", "arguments": {"inputs": [1]}, "error": None}],
                 seconds=0.1)
    # Streaming: readable before close.
    assert "call_function" in show_transcript(tmp_path)
    writer.close()
    with open(tmp_path / "transcript.jsonl", "a") as f:
        f.write('{"type": "end", "trunc')  # a run killed mid-write
    text = show_transcript(tmp_path / "transcript.jsonl")
    assert "-> call_function({\"inputs\": [1]})" in text and "[5 in / 1 out tokens" in text
    from rich.console import Console

    console = Console(file=io.StringIO(), width=100)
    render_transcript(tmp_path, console=console)
    assert "assistant, round 1" in console.file.getvalue()
    with pytest.raises(FileNotFoundError, match="no transcript"):
        show_transcript(tmp_path / "missing")


def test_chat_commands_read_as_text_in_transcripts(tmp_path):
    writer = TranscriptWriter(tmp_path)
    writer.write("command", text="/call layer.0.mlp.neuron.1 the cat", output="cat 0.93", seconds=0.25)
    writer.write("interrupted", tool="exemplars", command="/exemplars layer.5.mlp.neuron.2")
    writer.close()
    text = show_transcript(tmp_path)
    assert "command (0.2s)" in text and "/call layer.0.mlp.neuron.1 the cat\ncat 0.93" in text
    assert "stopped by Ctrl-C: exemplars" in text


def test_prompts_render_strictly():
    with pytest.raises(ValueError, match="no prompt template 'nope.j2'"):
        render("nope")
    with pytest.raises(Exception, match="undefined"):
        render("final_request")  # missing variables are errors, not blanks
    for kind in ("numeric", "strings", "entities", "relations"):
        class T:
            id, input_range = "x", (-128.0, 128.0)
        assert "Task x" in render(f"task_{kind}", task=T, max_rounds=20)
