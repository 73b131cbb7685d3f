"""End to end: the real openai and anthropic SDKs against the loopback fake server, and SmolLM2 locally.

Nothing in the SDKs is mocked: requests go over HTTP to tests.fake_llm, which scripts replies
and injects faults (429 with Retry-After, 500, hangs, malformed tool arguments, empty replies).
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from agent.registry import make_backend
from agent.task import Task
from agent.transcript import read_transcript
from tests.conftest import CountingBox
from tests.fake_llm import (
    FakeLLMServer,
    Reply,
    ToolCall,
    empty_reply,
    hang,
    malformed_tool_call,
    rate_limited,
    server_error,
)

CODE = "def function(x):\n    return 3 * x - 2"




def images_in(node) -> list[bytes]:
    """Every base64 PNG anywhere in a request body (Anthropic nests them inside tool_result blocks)."""
    if isinstance(node, dict):
        if node.get("type") == "image_url":
            return [base64.b64decode(node["image_url"]["url"].split(";base64,", 1)[1])]
        if node.get("type") == "image":
            return [base64.b64decode(node["source"]["data"])]
        return [img for v in node.values() for img in images_in(v)]
    if isinstance(node, list):
        return [img for v in node for img in images_in(v)]
    return []


def numeric_task(max_rounds: int = 20) -> Task:
    return Task(id="lin", kind="numeric", black_box=CountingBox(lambda x: 3 * x - 2), max_rounds=max_rounds)


def investigation_script() -> list:
    """A plausible investigation: probe, plot, hypothesise, a rejected answer, a valid one."""
    return [
        Reply("Let me probe f.", [ToolCall("call_function", {"inputs": [-10, 0, 1, 10]})]),
        Reply(tool_calls=[ToolCall("plot_function", {"low": -100, "high": 100, "points": 21})]),
        Reply(tool_calls=[ToolCall("record_hypotheses", {"hypotheses": [
            {"id": "H1", "statement": "f(x) = 3x - 2", "status": "supported",
             "evidence": "f(0)=-2, f(1)=1, f(10)=28"}]})]),
        Reply(tool_calls=[ToolCall("submit", {"description": "a line"})]),
        Reply(tool_calls=[ToolCall("submit", {"description": "f(x) = 3x - 2, a line", "code": CODE})]),
    ]


def backend(spec: str, server: FakeLLMServer, **options):
    base = server.anthropic_base_url if spec.startswith("anthropic") else server.openai_base_url
    return make_backend(spec, api_key="test-key", base_url=base, use_sandbox=False, **options)


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_full_investigation_over_the_wire(spec, tmp_path):
    task = numeric_task()
    with FakeLLMServer(investigation_script()) as server:
        result = backend(spec, server).investigate(task, tmp_path)
    assert result.answer.code == CODE and result.rounds == 5
    assert task.black_box.calls == 4 + 21 + 6  # the plot's summary adds the round inputs ±1, ±2, ±5
    assert result.usage.llm_calls == 5 and result.usage.input_tokens > 0 and result.usage.cost_usd > 0
    first, second, third, fourth, fifth = server.requests
    assert first.tool_names() == ["call_function", "plot_function", "record_hypotheses", "submit"]
    assert "f(10) = 28" in json.dumps(second.body["messages"])
    assert "[round 1 of 20 used; 4 black-box calls so far]" in json.dumps(second.body["messages"])
    assert "f(-5)=-17, f(-2)=-8, f(-1)=-5, f(0)=-2" in json.dumps(third.body["messages"])
    assert [img[:4] for img in images_in(third.body["messages"])] == [b"\x89PNG"]  # the plot went out as an image
    assert "code must define" in json.dumps(fifth.body["messages"])  # the rejection reason was fed back

    def strip(ms):
        return json.loads(json.dumps(ms).replace('"cache_control": {"type": "ephemeral"}, ', "")
                          .replace(', "cache_control": {"type": "ephemeral"}', ""))

    # Stable prefix: every request starts with the previous request's messages (append-only).
    for a, b in zip(server.requests, server.requests[1:]):
        assert strip(b.body["messages"])[: len(a.body["messages"]) - 1] == strip(a.body["messages"])[:-1]
        assert a.body.get("system") == b.body.get("system") and a.body["tools"] == b.body["tools"]
    end = list(read_transcript(tmp_path))[-1]
    assert end["stop_reason"] == "submitted" and end["black_box_calls"] == 31


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_prompt_cache_hits_reach_the_usage_and_the_price(spec, tmp_path):
    """Cached input tokens, as each provider reports them, are summed into the investigation's
    usage (what a bench row records) and billed at the cached rate."""
    script = [Reply("Probe.", [ToolCall("call_function", {"inputs": [0, 1]})], input_tokens=2000, cached_tokens=0),
              Reply(tool_calls=[ToolCall("submit", {"description": "f(x) = 3x - 2", "code": CODE})],
                    input_tokens=3000, cached_tokens=1800)]
    with FakeLLMServer(script) as server:
        result = backend(spec, server).investigate(numeric_task(), tmp_path)
    assert result.usage.input_tokens == 5000 and result.usage.cached_input_tokens == 1800
    with FakeLLMServer([Reply(tool_calls=s.tool_calls, input_tokens=s.input_tokens) for s in script]) as server:
        uncached = backend(spec, server).investigate(numeric_task(), tmp_path / "uncached")
    assert uncached.usage.cached_input_tokens == 0 and result.usage.cost_usd < uncached.usage.cost_usd
    calls = [e for e in read_transcript(tmp_path) if e["type"] == "assistant"]
    assert [c["cached_tokens"] for c in calls] == [0, 1800]


def test_openai_sdk_retries_are_off_and_tenacity_honours_retry_after(tmp_path):
    task = numeric_task()
    script = [rate_limited(0.3), server_error(),
              Reply(tool_calls=[ToolCall("submit", {"description": "line", "code": CODE})])]
    with FakeLLMServer(script) as server:
        result = backend("openai:gpt-4o-mini", server, max_wait=0.5).investigate(task, tmp_path)
        times = [r.received_at for r in server.requests]
    assert len(times) == 3 and result.answer.code == CODE
    assert times[1] - times[0] >= 0.3  # waited the Retry-After
    retries = [e for e in read_transcript(tmp_path) if e["type"] == "assistant"][0]["retries"]
    assert [r["attempt"] for r in retries] == [1, 2] and "RateLimitError" in retries[0]["error"]


def test_bounded_retries_then_the_error_surfaces(tmp_path):
    with FakeLLMServer([server_error(), server_error(), server_error()]) as server:
        b = backend("anthropic:claude-haiku-4-5", server, max_attempts=2, max_wait=0.1)
        with pytest.raises(Exception, match="internal error"):
            b.investigate(numeric_task(), tmp_path)
        assert len(server.requests) == 2  # exactly our two attempts: the SDK itself did not retry
    assert list(read_transcript(tmp_path))[-1]["type"] == "error"


def test_bad_request_is_not_retried():
    with FakeLLMServer([]) as server:  # an empty script answers 400
        with pytest.raises(Exception, match="no step left"):
            backend("openai:gpt-4o-mini", server).investigate(numeric_task())
        assert len(server.requests) == 1


def test_timeout_is_retried():
    script = [hang(10), Reply(tool_calls=[ToolCall("submit", {"description": "line", "code": CODE})])]
    with FakeLLMServer(script) as server:
        started = time.monotonic()
        result = backend("openai:gpt-4o-mini", server, timeout=0.5, max_wait=0.1).investigate(numeric_task())
        assert time.monotonic() - started < 5
    assert result.answer.code == CODE and len(server.requests) == 2


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"])
def test_malformed_arguments_and_empty_replies_become_observations(spec):
    script = [
        malformed_tool_call("call_function"),
        empty_reply(),
        Reply(tool_calls=[ToolCall("submit", {"description": "line", "code": CODE})]),
    ]
    with FakeLLMServer(script) as server:
        result = backend(spec, server).investigate(numeric_task())
    assert result.answer.code == CODE
    second, third = json.dumps(server.requests[1].body["messages"]), json.dumps(server.requests[2].body["messages"])
    assert "Could not read the call to call_function" in second
    assert "Your reply was empty" in third


def test_openai_compatible_text_protocol(tmp_path):
    task = numeric_task(max_rounds=3)
    script = [
        "I will probe.\nCOMMAND: PYTHON(./temp/function.py -1 0 1)",
        "Hmm, no command here.",
        "```python\nprint(1)\n```",  # run_python is not offered without a sandbox: an error observation
        "[DESCRIPTION]: f(x) = 3x - 2\n[DOMAIN]: none\n[CODE]:\n```python\n" + CODE + "\n```\n[LABEL]: line",
    ]
    with FakeLLMServer(script) as server:
        b = make_backend(f"openai-compatible:llama@{server.openai_base_url}", native_tools=False, use_sandbox=False)
        result = b.investigate(task, tmp_path)
    assert result.answer.code == CODE and result.answer.domain is None and result.rounds == 4
    first, second, third, fourth = server.requests
    assert "tools" not in first.body and "COMMAND: call_function" in first.body["messages"][0]["content"]
    assert "f(1) = 1" in second.body["messages"][-1]["content"]
    assert "no action" in third.body["messages"][-1]["content"]
    assert "final answer" in fourth.body["messages"][-1]["content"]
    assert "max_tokens" in first.body and task.black_box.calls == 3


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="^OPENAI_API_KEY is not set"):
        make_backend("openai:gpt-4o")
    with pytest.raises(RuntimeError, match="^ANTHROPIC_API_KEY is not set"):
        make_backend("anthropic:claude-sonnet-4")


def test_keys_and_base_urls_come_from_the_environment(monkeypatch):
    with FakeLLMServer([Reply(tool_calls=[ToolCall("submit", {"description": "line", "code": CODE})])]) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
        make_backend("anthropic:claude-haiku-4-5", use_sandbox=False).investigate(numeric_task())
        headers = server.requests[0].headers
        assert "env-key" in headers.get("x-api-key", "") + headers.get("authorization", "")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_local_smollm2_end_to_end(tmp_path):
    """SmolLM2-135M on CPU, one thread: two rounds and the final request (see the report for timings)."""
    pytest.importorskip("gguf")
    task = numeric_task(max_rounds=2)
    backend = make_backend("local:smollm2", max_new_tokens=64, threads=1, use_sandbox=False)
    result = backend.investigate(task, tmp_path)
    assert result.rounds == 3 and result.usage.llm_calls == 3 and result.usage.input_tokens > 500
    events = list(read_transcript(tmp_path))
    assert events[-1]["type"] == "end" and sum(e["type"] == "assistant" for e in events) == 3
