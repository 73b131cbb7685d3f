"""What a backend implements (`Policy`) and everything it needs to do so, in one import.

The engine keeps one conversation in the types of agent.messages and each
backend translates it to its own wire format on every call. Keeping the history neutral is what
lets one loop serve native tool calling (OpenAI, Anthropic), the text protocol (local models,
servers without tools), the builtin scientist and replays alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agent.messages import AssistantTurn, Entry

if TYPE_CHECKING:
    from agent.tools_registry import ToolRegistry

__all__ = ["MissingCredentials", "Policy"]


class MissingCredentials(RuntimeError):
    """An API key is needed and not set; the one-line message names the variable to set."""


class Policy(Protocol):
    """Proposes the next actions from the conversation so far.

    LLM backends, the builtin scientist and replays all implement this; the loop owns everything
    else (tools, ledger, budgets, transcript). `native_tools` says whether tools travel as API
    schemas (True) or as documentation in the system prompt plus the text protocol (False);
    `accepts_images` whether image observations are sent as images or as their text summaries.

    The builtin scientist plugs in as `agent.builtin.BuiltinPolicy(**options)` (what
    `make_backend("builtin")` builds): it sets `native_tools = True`, returns `ToolCall`s
    directly (call_function, record_hypotheses, submit...), reads outputs from `ToolResult.data`
    rather than prose, and reports zero usage.
    """

    name: str
    native_tools: bool
    accepts_images: bool

    def next_turn(self, system: str, history: list[Entry], tools: "ToolRegistry") -> AssistantTurn: ...
