"""Backends: `make_backend(spec)` turns a spec string into a `Backend` (agent.task) running the loop.

Specs:
    openai:MODEL                  OpenAI API, native tools, images (OPENAI_API_KEY, OPENAI_BASE_URL)
    anthropic:MODEL               Anthropic API, native tools, images (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)
    openai-compatible:MODEL@URL   vLLM, Ollama, llama.cpp server ... (key optional; text protocol with native_tools=False)
    local:PATH|smollm2            a chat model in-process with transformers, text protocol
    builtin                       the offline scientist (agent.builtin.backend.BuiltinBackend)
    replay:FILE                   replays a transcript.jsonl (or the run directory holding it)
"""

from __future__ import annotations

import inspect
from typing import Any

from typing import TYPE_CHECKING

# Only the dependency-free types load eagerly: the loop and the tools import this package's
# `base`, so importing them here would be circular.
from agent.backends.base import AssistantTurn, Entry, MissingCredentials, Policy, ToolCall, ToolResult, UserMessage

if TYPE_CHECKING:
    from agent.loop import AgentBackend

__all__ = [
    "AssistantTurn", "Entry", "MissingCredentials", "Policy", "ToolCall", "ToolResult", "UserMessage",
    "make_backend", "make_policy",
]

SPEC_FORMS = "openai:MODEL, anthropic:MODEL, openai-compatible:MODEL@URL, local:PATH|smollm2, builtin, replay:FILE"
_BUDGET_OPTIONS = ("max_rounds", "max_tokens", "max_usd")
_LOOP_OPTIONS = ("tools", "sandbox_factory", "use_sandbox", "confine", "observation_chars", "max_batch")


def make_backend(spec: str, **options: Any) -> "AgentBackend":
    """Build the backend named by `spec`.

    Loop options: max_rounds, max_tokens, max_usd (budgets), tools, sandbox_factory,
    use_sandbox (False: no run_python), confine (False: run_python without the OS sandbox, an
    explicit opt-out), observation_chars, max_batch. Everything else goes to
    the policy (for remote models e.g. api_key, base_url, client, prices=PATH, timeout,
    max_output_tokens, temperature, max_attempts, max_wait, native_tools, accepts_images;
    for local models max_new_tokens, temperature, context_tokens, seed).
    """
    from agent.loop import AgentBackend, Budget

    if spec == "builtin":  # not a language model: it runs its own investigation plan, no LLM loop
        from agent.builtin.backend import BuiltinBackend

        if options:
            raise ValueError(f"the builtin backend takes no options, got {sorted(options)}")
        return BuiltinBackend()
    budget = Budget(**{k: options.pop(k) for k in _BUDGET_OPTIONS if k in options})
    loop = {k: options.pop(k) for k in _LOOP_OPTIONS if k in options}
    policy = make_policy(spec, **options)
    if budget.max_usd is not None:
        prices = getattr(policy, "prices", None)
        if prices is not None and prices.lookup(policy.model) is None:
            raise ValueError(f"max_usd needs a price for {policy.model!r}: add it to a prices JSON file (prices=PATH or AIA_PRICES)")
    return AgentBackend(policy, name=spec, budget=budget, **loop)


def make_policy(spec: str, **options: Any) -> Policy:
    """The policy half of `make_backend` (what decides the next action)."""
    from agent.backends.pricing import PriceTable

    kind, _, rest = spec.partition(":")
    if "prices" in options and not isinstance(options["prices"], PriceTable):
        options["prices"] = PriceTable.load(options["prices"])
    if kind == "openai" and rest:
        from agent.backends.openai_backend import OpenAIPolicy

        return _build(OpenAIPolicy, spec, rest, **options)
    if kind == "openai-compatible" and rest:
        from agent.backends.openai_backend import OpenAIPolicy

        model, at, url = rest.rpartition("@")
        if not (at and model and url):
            raise ValueError(f"bad spec {spec!r}: expected openai-compatible:MODEL@BASE_URL, e.g. openai-compatible:llama3@http://localhost:8000/v1")
        return _build(OpenAIPolicy, spec, model, base_url=url, compatible=True, **options)
    if kind == "anthropic" and rest:
        from agent.backends.anthropic_backend import AnthropicPolicy

        return _build(AnthropicPolicy, spec, rest, **options)
    if kind == "local" and rest:
        from agent.backends.local_backend import LocalPolicy

        return _build(LocalPolicy, spec, rest, **options)
    if kind == "replay" and rest:
        from agent.backends.replay_backend import ReplayPolicy

        return _build(ReplayPolicy, spec, rest, **options)
    raise ValueError(f"unknown backend spec {spec!r}; expected one of: {SPEC_FORMS}")


def _build(cls: type, spec: str, *args: Any, **options: Any) -> Policy:
    """Construct `cls`, naming the spec when an option does not apply to it."""
    accepted = inspect.signature(cls).parameters
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        raise ValueError(f"option(s) {unknown} do not apply to {spec!r}; it takes {sorted(k for k in accepted if k not in ('self',))}")
    return cls(*args, **options)
