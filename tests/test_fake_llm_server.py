"""The fake LLM server speaks both wire formats well enough for the official SDKs, faults included."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import anthropic
import openai
import pytest

from tests.fake_llm import (
    FakeLLMServer,
    Fault,
    Reply,
    ToolCall,
    empty_reply,
    hang,
    malformed_tool_call,
    rate_limited,
    server_error,
)

PNG = b"\x89PNG\r\n\x1a\n-not-really-an-image"
OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "call_function",
        "description": "Evaluate the black box on inputs.",
        "parameters": {"type": "object", "properties": {"inputs": {"type": "array"}}, "required": ["inputs"]},
    },
}
ANTHROPIC_TOOL = {
    "name": "call_function",
    "description": "Evaluate the black box on inputs.",
    "input_schema": {"type": "object", "properties": {"inputs": {"type": "array"}}, "required": ["inputs"]},
}


def _openai(server: FakeLLMServer, **kwargs) -> openai.OpenAI:
    kwargs = {"max_retries": 0, "timeout": 5.0, **kwargs}
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", **kwargs)


def _anthropic(server: FakeLLMServer, **kwargs) -> anthropic.Anthropic:
    kwargs = {"max_retries": 0, "timeout": 5.0, **kwargs}
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", **kwargs)


def _ask_openai(client: openai.OpenAI, messages: list | None = None):
    return client.chat.completions.create(
        model="gpt-test", messages=messages or [{"role": "user", "content": "hi"}], tools=[OPENAI_TOOL]
    )


def _ask_anthropic(client: anthropic.Anthropic, messages: list | None = None):
    return client.messages.create(
        model="claude-test", max_tokens=100, messages=messages or [{"role": "user", "content": "hi"}],
        tools=[ANTHROPIC_TOOL],
    )


def test_openai_tool_call_round_trip() -> None:
    script = [
        Reply(text="Let me probe.", tool_calls=[ToolCall("call_function", {"inputs": [1, 2]}, id="call_a")],
              input_tokens=11, output_tokens=7),
        Reply(text="It doubles its input."),
    ]
    with FakeLLMServer(script) as server:
        client = _openai(server)
        first = _ask_openai(client)
        call = first.choices[0].message.tool_calls[0]
        assert first.choices[0].finish_reason == "tool_calls" and first.choices[0].message.content == "Let me probe."
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("call_a", "call_function",
                                                                                      {"inputs": [1, 2]})
        assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (11, 7, 18)
        image = "data:image/png;base64," + base64.b64encode(PNG).decode()
        messages = [
            {"role": "user", "content": "hi"},
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "[2, 4]"},
            {"role": "user", "content": [{"type": "text", "text": "the plot"},
                                         {"type": "image_url", "image_url": {"url": image}}]},
        ]
        second = _ask_openai(client, messages)
        assert second.choices[0].message.content == "It doubles its input."
        assert second.choices[0].finish_reason == "stop" and second.usage.completion_tokens > 0
        sent = server.requests[1]
        assert sent.format == "openai" and sent.body["model"] == "gpt-test"
        assert sent.tool_names() == ["call_function"] and sent.images() == [PNG]
        assert sent.body["messages"][2] == {"role": "tool", "tool_call_id": "call_a", "content": "[2, 4]"}
        assert sent.headers["authorization"] == "Bearer test"


def test_anthropic_tool_use_round_trip() -> None:
    script = [
        Reply(text="Probing.", tool_calls=[ToolCall("call_function", {"inputs": ["a", "b"]}, id="toolu_a")]),
        Reply(text="It reverses strings.", input_tokens=30, output_tokens=5),
    ]
    with FakeLLMServer(script) as server:
        client = _anthropic(server)
        first = _ask_anthropic(client)
        assert first.stop_reason == "tool_use"
        text, use = first.content
        assert text.type == "text" and text.text == "Probing."
        assert (use.type, use.id, use.name, use.input) == ("tool_use", "toolu_a", "call_function",
                                                           {"inputs": ["a", "b"]})
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                              "data": base64.b64encode(PNG).decode()}}
        messages = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": use.id,
                 "content": [{"type": "text", "text": "['a', 'b']"}, image]},
                image,
            ]},
        ]
        second = _anthropic(server).messages.create(
            model="claude-test", max_tokens=100, system="You are a scientist.", messages=messages,
            tools=[ANTHROPIC_TOOL],
        )
        assert second.content[0].text == "It reverses strings." and second.stop_reason == "end_turn"
        assert (second.usage.input_tokens, second.usage.output_tokens) == (30, 5)
        sent = server.requests[1]
        assert sent.format == "anthropic" and sent.body["system"] == "You are a scientist."
        assert sent.tool_names() == ["call_function"] and sent.images() == [PNG, PNG]
        assert "test" in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "").removeprefix("Bearer "))


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_sdk_retries_honour_429_retry_after_and_500(fmt: str) -> None:
    with FakeLLMServer([rate_limited(retry_after=0.6), server_error(retry_after=0.1), Reply(text="finally")]) as server:
        if fmt == "openai":
            answer = _ask_openai(_openai(server, max_retries=2)).choices[0].message.content
        else:
            answer = _ask_anthropic(_anthropic(server, max_retries=2)).content[0].text
        assert answer == "finally"
        times = [r.received_at for r in server.requests]
        assert len(times) == 3  # one request per step: the SDK retried twice
        assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1", "2"]
        assert times[1] - times[0] >= 0.55  # it waited as long as Retry-After said


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_retries_run_out(fmt: str) -> None:
    with FakeLLMServer([server_error(retry_after=0.05)] * 2) as server:
        if fmt == "openai":
            with pytest.raises(openai.InternalServerError):
                _ask_openai(_openai(server, max_retries=1))
        else:
            with pytest.raises(anthropic.InternalServerError):
                _ask_anthropic(_anthropic(server, max_retries=1))
        assert len(server.requests) == 2 and server.steps_left == 0


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_hang_times_out_and_the_retry_gets_through(fmt: str) -> None:
    with FakeLLMServer([hang(30), hang(30), Reply(text="awake")]) as server:
        started = time.monotonic()
        if fmt == "openai":
            with pytest.raises(openai.APITimeoutError):
                _ask_openai(_openai(server, timeout=0.5))
            answer = _ask_openai(_openai(server, timeout=0.5, max_retries=1)).choices[0].message.content
        else:
            with pytest.raises(anthropic.APITimeoutError):
                _ask_anthropic(_anthropic(server, timeout=0.5))
            answer = _ask_anthropic(_anthropic(server, timeout=0.5, max_retries=1)).content[0].text
        assert answer == "awake" and len(server.requests) == 3
        assert time.monotonic() - started < 10  # the hangs did not run their 30 s


def test_malformed_arguments_arrive_as_sent() -> None:
    raw = '{"inputs": [1, 2'
    with FakeLLMServer([malformed_tool_call("call_function", raw)] * 2) as server:
        call = _ask_openai(_openai(server)).choices[0].message.tool_calls[0]
        assert call.function.arguments == raw
        with pytest.raises(json.JSONDecodeError):
            json.loads(call.function.arguments)
        assert _ask_anthropic(_anthropic(server)).content[0].input == raw


def test_empty_replies() -> None:
    with FakeLLMServer([empty_reply(), empty_reply()]) as server:
        message = _ask_openai(_openai(server)).choices[0].message
        assert message.content is None and message.tool_calls is None
        reply = _ask_anthropic(_anthropic(server))
        assert reply.content == [] and reply.stop_reason == "end_turn"


def test_a_responder_answers_what_was_sent() -> None:
    def responder(body: dict) -> Reply:
        last = body["messages"][-1]["content"]
        if last == "tools?":
            return Reply(text=", ".join(t["function"]["name"] for t in body.get("tools", [])))
        if last == "x":
            return Reply(text=f"you said {last!r}")
        raise KeyError(last)

    with FakeLLMServer(responder) as server:
        client = _openai(server)
        reply = _ask_openai(client, [{"role": "user", "content": "tools?"}])
        assert reply.choices[0].message.content == "call_function"
        assert _ask_openai(client, [{"role": "user", "content": "x"}]).choices[0].message.content == "you said 'x'"
        with pytest.raises(ValueError, match="responder"):
            server.push(Reply("no"))
        with pytest.raises(openai.BadRequestError, match="the responder raised KeyError: 'unexpected'"):
            _ask_openai(_openai(server, max_retries=2), [{"role": "user", "content": "unexpected"}])
        assert len(server.responder_errors) == 1 and len(server.requests) == 3  # a 400 is not retried


def test_an_exhausted_script_is_a_clear_non_retried_error() -> None:
    with FakeLLMServer(["only one"]) as server:
        client = _openai(server, max_retries=2)
        assert _ask_openai(client).choices[0].message.content == "only one"
        with pytest.raises(openai.BadRequestError, match="no step left for request #2"):
            _ask_openai(client)
        assert len(server.requests) == 2
        server.push("more")
        assert _ask_openai(client).choices[0].message.content == "more"


def test_an_unknown_fault_is_refused_when_scripted() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'teapot'"):
        Fault("teapot")  # type: ignore[arg-type]


def test_stopping_a_server_that_never_started() -> None:
    """stop() returns at once (shutdown() alone would wait forever for a serving loop that never
    ran) and closes the socket the server was listening on."""
    server = FakeLLMServer(["unused"])
    host, port = server.url.removeprefix("http://").split(":")
    socket.create_connection((host, int(port)), timeout=1).close()  # bound and listening until stopped
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive(), "stop() hung on a server that never started"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1)
    assert server.requests == [] and server.steps_left == 1
