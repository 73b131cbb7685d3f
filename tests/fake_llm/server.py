"""A scripted LLM API on loopback: OpenAI chat completions and Anthropic messages, non-streaming.

Why a real HTTP server and not a mocked client: the agent's backends use the official SDKs, and
what needs testing is what those SDKs do on the wire (the tools and images they send, their
retries on 429/500, their timeouts, how they hand over a malformed tool-argument string). A
mock of the SDK would test the mock.

Each request takes the next step of the script: a `Reply` (text and/or tool calls) or a
`Fault` (429 with Retry-After, 500, a hang longer than the client's timeout, an empty reply).
Alternatively a callable `(request_json) -> step` decides per request. Every request is
recorded, so tests assert on what the client sent. `delay` seconds are waited before each reply
(the latency of a real API, for concurrency benchmarks); requests are served concurrently.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Literal, Union

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
WireFormat = Literal["openai", "anthropic"]


@dataclass
class ToolCall:
    """A tool call in a reply. `arguments` as a str is sent verbatim (e.g. invalid JSON)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None  # default: call_N / toolu_N


@dataclass
class Reply:
    """A successful completion. Token counts default to about a quarter of the characters."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: Of the input tokens, how many the provider says it served from its prompt cache.
    cached_tokens: int = 0
    stop_reason: str | None = None  # default: tool_calls/tool_use when there are tool calls, else stop/end_turn


@dataclass
class Fault:
    """An injected failure. Build with `rate_limited`, `server_error`, `hang` or `empty_reply`."""

    kind: Literal["rate_limit", "server_error", "hang", "empty"]
    retry_after: float | None = None  # seconds, sent as Retry-After (429 and 500)
    seconds: float = 0.0  # how long a hang lasts (the server's stop() ends it early)

    def __post_init__(self) -> None:
        if self.kind not in ("rate_limit", "server_error", "hang", "empty"):
            raise ValueError(f"unknown fault kind {self.kind!r}: rate_limit, server_error, hang or empty")


Step = Union[Reply, Fault, str]  # a str is shorthand for Reply(text=...)
Responder = Callable[[dict[str, Any]], Step]


def rate_limited(retry_after: float = 1.0) -> Fault:
    """HTTP 429 with a Retry-After header (the SDKs wait that long before retrying)."""
    return Fault("rate_limit", retry_after=retry_after)


def server_error(retry_after: float | None = None) -> Fault:
    """HTTP 500 (the SDKs retry it with exponential backoff, or after Retry-After if given)."""
    return Fault("server_error", retry_after=retry_after)


def hang(seconds: float = 30.0) -> Fault:
    """Accept the request and answer nothing for `seconds` (set it above the client's timeout)."""
    return Fault("hang", seconds=seconds)


def empty_reply() -> Fault:
    """HTTP 200 with no text and no tool calls (OpenAI: content null; Anthropic: content [])."""
    return Fault("empty")


def malformed_tool_call(name: str, raw_arguments: str = '{"x": [1, 2') -> Reply:
    """A tool call whose arguments are not valid JSON (Anthropic: the string stands in for `input`)."""
    return Reply(tool_calls=[ToolCall(name, raw_arguments)])


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    format: WireFormat
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    received_at: float  # time.monotonic()

    def tool_names(self) -> list[str]:
        """Names of the tools the client offered."""
        tools = self.body.get("tools") or []
        if self.format == "openai":
            return [t["function"]["name"] for t in tools]
        return [t["name"] for t in tools]

    def images(self) -> list[bytes]:
        """Every base64 image in the messages (also inside Anthropic tool results), decoded, in order."""
        out: list[bytes] = []

        def walk(content: Any) -> None:
            for part in content if isinstance(content, list) else []:
                if part.get("type") == "image_url":  # OpenAI: a data URL
                    url = part["image_url"]["url"]
                    if url.startswith("data:") and ";base64," in url:
                        out.append(base64.b64decode(url.split(";base64,", 1)[1]))
                elif part.get("type") == "image" and part.get("source", {}).get("type") == "base64":
                    out.append(base64.b64decode(part["source"]["data"]))
                elif part.get("type") == "tool_result":
                    walk(part.get("content"))

        for message in self.body.get("messages", []):
            walk(message.get("content"))
        return out


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many clients at once (concurrency tests) must not find the backlog full


class FakeLLMServer:
    """A loopback HTTP server speaking both wire formats, driven by a script or a responder.

    `with FakeLLMServer([Reply("hi"), rate_limited(0.2), ...]) as server:` then point an SDK at
    `server.openai_base_url` or `server.anthropic_base_url`. A request that finds no step left
    gets HTTP 400 naming the problem (400 so that the SDKs do not retry it).
    """

    def __init__(self, script: Iterable[Step] | Responder = (), *, delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        self.delay = delay
        self._responder: Responder | None = script if callable(script) else None
        self._steps: deque[Step] = deque() if callable(script) else deque(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self.requests: list[RecordedRequest] = []
        self.responder_errors: list[Exception] = []  # what the responder raised (each answered with a 400)
        self._httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a hung handler must not hold up stop()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def sdk_env(self, provider: WireFormat) -> dict[str, str]:
        """The environment that points the official SDK of ``provider`` at this server (a dummy key)."""
        if provider == "openai":
            return {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": self.openai_base_url}
        if provider == "anthropic":
            return {"ANTHROPIC_API_KEY": "test", "ANTHROPIC_BASE_URL": self.anthropic_base_url}
        raise ValueError(f"unknown provider {provider!r}; expected 'openai' or 'anthropic'")

    @property
    def steps_left(self) -> int:
        with self._lock:
            return len(self._steps)

    def push(self, *steps: Step) -> None:
        """Append steps to the script."""
        if self._responder is not None:
            raise ValueError("this server is driven by a responder callable; it has no script to extend")
        with self._lock:
            self._steps.extend(steps)

    def start(self) -> "FakeLLMServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hung handlers
        if self._thread.is_alive():  # shutdown() would wait forever for a loop that never ran
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FakeLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ used by the handler

    def _next_step(self, body: dict[str, Any]) -> Step | None:
        if self._responder is not None:
            return self._responder(body)
        with self._lock:
            return self._steps.popleft() if self._steps else None

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _new_id(self) -> int:
        return next(self._ids)


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # keep test output clean; the requests are recorded instead

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            wire: WireFormat | None = {OPENAI_PATH: "openai", ANTHROPIC_PATH: "anthropic"}.get(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if wire is None:
                return self._send(404, {"error": {"message": f"fake LLM server: no endpoint {self.path}"}})
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, _error(wire, "invalid_request_error", "the request body is not JSON"))
            headers = {k.lower(): v for k, v in self.headers.items()}
            number = server._record(RecordedRequest(wire, self.path, headers, body, time.monotonic()))
            if body.get("stream"):
                return self._send(400, _error(wire, "invalid_request_error", "the fake LLM server does not stream"))
            try:
                step = server._next_step(body)
            except Exception as exc:  # a bug in the test's responder: answer clearly, keep it for the test
                server.responder_errors.append(exc)
                message = f"fake LLM server: the responder raised {type(exc).__name__}: {exc}"
                return self._send(400, _error(wire, "invalid_request_error", message))
            if step is None:
                message = f"fake LLM server: the script has no step left for request #{number}"
                return self._send(400, _error(wire, "invalid_request_error", message))
            if isinstance(step, str):
                step = Reply(text=step)
            if server.delay:
                server._wait(server.delay)
            if isinstance(step, Reply):
                return self._send(200, _render(wire, step, body, server._new_id()))
            self._fault(wire, step, body)

        def _fault(self, wire: WireFormat, fault: Fault, body: dict[str, Any]) -> None:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            if fault.kind == "rate_limit":
                self._send(429, _error(wire, "rate_limit_error", "rate limited (injected)"), headers)
            elif fault.kind == "server_error":
                self._send(500, _error(wire, "api_error", "internal error (injected)"), headers)
            elif fault.kind == "hang":
                server._wait(fault.seconds)
                self.close_connection = True
                self._send(200, _render(wire, Reply(text="(answer after a hang)"), body, server._new_id()))
            else:  # "empty"
                self._send(200, _render(wire, Reply(), body, server._new_id()))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. timed out during a hang)

    return Handler


def _error(wire: WireFormat, kind: str, message: str) -> dict[str, Any]:
    if wire == "openai":
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return {"type": "error", "error": {"type": kind, "message": message}}


def _render(wire: WireFormat, reply: Reply, body: dict[str, Any], number: int) -> dict[str, Any]:
    """The reply in the wire format of the request."""
    model = body.get("model", "fake-model")
    prompt_chars = len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("system", "")))
    out_chars = len(reply.text) + sum(len(json.dumps(c.arguments)) for c in reply.tool_calls)
    input_tokens = reply.input_tokens if reply.input_tokens is not None else max(1, prompt_chars // 4)
    output_tokens = reply.output_tokens if reply.output_tokens is not None else max(1, out_chars // 4)
    if wire == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or f"call_{number}_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": _arguments_text(call.arguments)},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        finish = reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
                "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
            },
        }
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [
        {"type": "tool_use", "id": call.id or f"toolu_{number}_{i}", "name": call.name, "input": call.arguments}
        for i, call in enumerate(reply.tool_calls)
    ]
    return {
        "id": f"msg_fake_{number}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn"),
        "stop_sequence": None,
        # Anthropic counts cache reads apart from the (uncached) input tokens.
        "usage": {"input_tokens": input_tokens - reply.cached_tokens, "output_tokens": output_tokens,
                  "cache_read_input_tokens": reply.cached_tokens},
    }


def _arguments_text(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)
