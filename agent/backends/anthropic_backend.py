"""Anthropic Messages API with native tool use, image observations and prompt caching.

Cache breakpoints sit on the system prompt, the last tool schema and the newest message, so
each round re-reads the whole earlier conversation from the cache.
"""

from __future__ import annotations

import base64
import os
import time

from agent.backends.openai_backend import require_key
from agent.backends.pricing import PriceTable
from agent.backends.retry import call_with_retries
from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.task import Usage
from agent.tools_registry import ToolRegistry

_CACHE = {"type": "ephemeral"}


def _image_block(png: bytes) -> dict:
    return {"type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()}}


class AnthropicPolicy:
    native_tools = True

    def __init__(
        self,
        model: str,
        *,
        client=None,
        api_key: str | None = None,
        base_url: str | None = None,
        accepts_images: bool = True,
        prices: PriceTable | None = None,
        timeout: float = 120.0,
        max_output_tokens: int = 4096,
        temperature: float | None = None,
        max_attempts: int = 6,
        max_wait: float = 60.0,
    ):
        self.model = model
        self.name = f"anthropic:{model}"
        self.accepts_images = accepts_images
        self.prices = prices or PriceTable.load()
        self.max_output_tokens = max_output_tokens
        self.temperature = temperature
        self.retry = {"max_attempts": max_attempts, "max_wait": max_wait}
        if client is None:
            import anthropic

            # max_retries=0: tenacity (agent.backends.retry) is the one retry policy.
            client = anthropic.Anthropic(api_key=require_key(api_key, "ANTHROPIC_API_KEY"),
                                         base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
                                         timeout=timeout, max_retries=0)
        self.client = client

    def next_turn(self, system: str, history: list[Entry], tools: ToolRegistry) -> AssistantTurn:
        schemas = tools.anthropic_schemas()
        if schemas:
            schemas[-1]["cache_control"] = _CACHE
        request: dict = {
            "model": self.model,
            "system": [{"type": "text", "text": system, "cache_control": _CACHE}],
            "messages": self.messages(history),
            "max_tokens": self.max_output_tokens,
        }
        if schemas:  # a judge call offers no tools
            request["tools"] = schemas
        if self.temperature is not None:
            request["temperature"] = self.temperature
        retries: list[dict] = []
        started = time.monotonic()
        response = call_with_retries(
            lambda: self.client.messages.create(**request),
            on_retry=lambda attempt, exc, wait: retries.append(
                {"attempt": attempt, "error": f"{type(exc).__name__}: {exc}"[:300], "wait": wait}),
            **self.retry,
        )
        seconds = time.monotonic() - started
        texts, calls = [], []
        for block in response.content or []:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                if isinstance(block.input, dict):
                    calls.append(ToolCall(block.id, block.name, block.input))
                else:
                    calls.append(ToolCall(block.id, block.name, {},
                                          f"arguments must be a JSON object, got {str(block.input)[:200]}"))
        usage = self._usage(response)
        return AssistantTurn(text="\n".join(texts), tool_calls=calls, usage=usage,
                             seconds=seconds, retries=retries)

    def _usage(self, response) -> Usage:
        u = response.usage
        cached = getattr(u, "cache_read_input_tokens", 0) or 0
        written = getattr(u, "cache_creation_input_tokens", 0) or 0
        prompt = (u.input_tokens or 0) + cached + written  # Anthropic reports the three separately
        cost = self.prices.cost(self.model, prompt, u.output_tokens or 0, cached) or 0.0
        return Usage(input_tokens=prompt, output_tokens=u.output_tokens or 0, cost_usd=cost, llm_calls=1,
                     cached_input_tokens=cached)

    def messages(self, history: list[Entry]) -> list[dict]:
        """Neutral history -> alternating user/assistant messages; tool results open the user turn."""
        out: list[dict] = []

        def add(role: str, blocks: list[dict]) -> None:
            if out and out[-1]["role"] == role:
                out[-1]["content"].extend(blocks)
            else:
                out.append({"role": role, "content": blocks})

        for e in history:
            if isinstance(e, UserMessage):
                add("user", [{"type": "text", "text": e.text}] + [_image_block(p) for p in e.images])
            elif isinstance(e, ToolResult):
                content = [{"type": "text", "text": e.text or "(no output)"}] + [_image_block(p) for p in e.images]
                add("user", [{"type": "tool_result", "tool_use_id": e.call_id, "content": content,
                              "is_error": e.is_error}])
            elif isinstance(e, AssistantTurn):
                blocks = [{"type": "text", "text": e.text}] if e.text.strip() else []
                blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in e.tool_calls]
                if blocks:  # the API rejects empty assistant messages; an empty reply is dropped
                    add("assistant", blocks)
        if out and out[-1]["content"]:
            last = dict(out[-1]["content"][-1])
            last["cache_control"] = _CACHE
            out[-1]["content"][-1] = last
        return out
