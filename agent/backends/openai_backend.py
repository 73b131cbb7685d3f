"""OpenAI Chat Completions (and any OpenAI-compatible server: vLLM, Ollama, llama.cpp server).

Native tool calling by default; `native_tools=False` switches to the text protocol for servers
whose models cannot call tools. Chat Completions tool messages carry text only, so images from
observations follow them in one user message of image parts.
"""

from __future__ import annotations

import base64
import json
import os
import time

from agent.backends.base import MissingCredentials
from agent.backends.pricing import PriceTable
from agent.backends.retry import call_with_retries
from agent.backends.text_protocol import chat_messages, parse_reply
from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.task import Usage
from agent.tools_registry import ToolRegistry


def require_key(explicit: str | None, variable: str) -> str:
    key = explicit or os.environ.get(variable)
    if not key:
        raise MissingCredentials(f"{variable} is not set: export {variable}=...")
    return key


def image_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


class OpenAIPolicy:
    def __init__(
        self,
        model: str,
        *,
        client=None,
        api_key: str | None = None,
        base_url: str | None = None,
        compatible: bool = False,
        native_tools: bool = True,
        accepts_images: bool | None = None,
        prices: PriceTable | None = None,
        timeout: float = 120.0,
        max_output_tokens: int = 4096,
        temperature: float | None = None,
        max_attempts: int = 6,
        max_wait: float = 60.0,
    ):
        """`compatible=True` is an OpenAI-style server: the key is optional and images are off by default."""
        self.model = model
        self.name = f"{'openai-compatible' if compatible else 'openai'}:{model}"
        self.native_tools = native_tools
        self.accepts_images = (not compatible) if accepts_images is None else accepts_images
        self.compatible = compatible
        self.prices = prices or PriceTable.load()
        self.max_output_tokens = max_output_tokens
        self.temperature = temperature
        self.retry = {"max_attempts": max_attempts, "max_wait": max_wait}
        if client is None:
            import openai

            key = ((api_key or os.environ.get("OPENAI_API_KEY") or "not-needed") if compatible
                   else require_key(api_key, "OPENAI_API_KEY"))
            # max_retries=0: tenacity (agent.backends.retry) is the one retry policy.
            client = openai.OpenAI(api_key=key, base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
                                   timeout=timeout, max_retries=0)
        self.client = client

    def next_turn(self, system: str, history: list[Entry], tools: ToolRegistry) -> AssistantTurn:
        request: dict = {"model": self.model}
        if self.native_tools:
            request["messages"] = self.messages(system, history)
            if tools.names():  # the API rejects an empty tool list (a judge call offers no tools)
                request["tools"] = tools.openai_schemas()
        else:
            request["messages"] = chat_messages(system, history)
        # Reasoning models reject max_tokens on api.openai.com; many compatible servers only know max_tokens.
        request["max_tokens" if self.compatible else "max_completion_tokens"] = self.max_output_tokens
        if self.temperature is not None:
            request["temperature"] = self.temperature

        retries: list[dict] = []
        started = time.monotonic()
        response = call_with_retries(
            lambda: self.client.chat.completions.create(**request),
            on_retry=lambda attempt, exc, wait: retries.append(
                {"attempt": attempt, "error": f"{type(exc).__name__}: {exc}"[:300], "wait": wait}),
            **self.retry,
        )
        seconds = time.monotonic() - started
        message = response.choices[0].message if response.choices else None
        text = (message.content or "") if message else ""
        if self.native_tools:
            calls = [self._tool_call(tc) for tc in (message.tool_calls or [])] if message else []
        else:
            calls = parse_reply(text, tools, call_prefix=f"t{len(history)}")
        usage = self._usage(response)
        return AssistantTurn(text=text, tool_calls=calls, usage=usage, seconds=seconds,
                             retries=retries)

    @staticmethod
    def _tool_call(tc) -> ToolCall:
        name = tc.function.name
        raw = tc.function.arguments or "{}"
        try:
            args = json.loads(raw)
        except json.JSONDecodeError as e:
            return ToolCall(tc.id, name, {},
                            f"arguments are not valid JSON ({e.msg} at character {e.pos}): {raw[:200]}")
        if not isinstance(args, dict):
            return ToolCall(tc.id, name, {}, f"arguments must be a JSON object, got {raw[:200]}")
        return ToolCall(tc.id, name, args)

    def _usage(self, response) -> Usage:
        u = getattr(response, "usage", None)
        prompt = getattr(u, "prompt_tokens", 0) or 0
        completion = getattr(u, "completion_tokens", 0) or 0
        cached = getattr(getattr(u, "prompt_tokens_details", None), "cached_tokens", 0) or 0
        cost = self.prices.cost(self.model, prompt, completion, cached) or 0.0
        return Usage(input_tokens=prompt, output_tokens=completion, cost_usd=cost, llm_calls=1,
                     cached_input_tokens=cached)

    def messages(self, system: str, history: list[Entry]) -> list[dict]:
        """The neutral history as Chat Completions messages (native tools)."""
        out: list[dict] = [{"role": "system", "content": system}]
        pending_images: list[bytes] = []

        def flush_images() -> None:
            if pending_images:
                images = [{"type": "image_url", "image_url": {"url": image_url(p)}} for p in pending_images]
                out.append({"role": "user", "content": images})
                pending_images.clear()

        for e in history:
            if isinstance(e, ToolResult):
                out.append({"role": "tool", "tool_call_id": e.call_id, "content": e.text})
                pending_images.extend(e.images)
                continue
            flush_images()
            if isinstance(e, UserMessage):
                if e.images:
                    parts = [{"type": "text", "text": e.text}] + [
                        {"type": "image_url", "image_url": {"url": image_url(p)}} for p in e.images]
                    out.append({"role": "user", "content": parts})
                else:
                    out.append({"role": "user", "content": e.text})
            elif isinstance(e, AssistantTurn):
                msg: dict = {"role": "assistant", "content": e.text or None}
                if e.tool_calls:
                    msg["tool_calls"] = [
                        {"id": c.id, "type": "function",
                         "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                        for c in e.tool_calls
                    ]
                elif not e.text:
                    msg["content"] = ""
                out.append(msg)
        flush_images()
        return out
