"""The provider-neutral conversation and the `Policy` protocol every backend implements.

The loop keeps one conversation in these types and each backend translates it to its own wire
format on every call. Keeping the history neutral is what lets one loop serve native tool calling
(OpenAI, Anthropic), the text protocol (local models, servers without tools), the builtin
scientist and replays alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Union

from agent.task import Usage

if TYPE_CHECKING:
    from agent.tools_registry import ToolRegistry


class MissingCredentials(RuntimeError):
    """An API key is needed and not set; the one-line message names the variable to set."""


@dataclass
class ToolCall:
    """One action. `error` is set (and `arguments` empty) when the model's arguments were unparseable."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class UserMessage:
    text: str
    images: list[bytes] = field(default_factory=list)


@dataclass
class AssistantTurn:
    """What a policy returns for one round: free text, actions, and what the call cost."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    #: Provider-reported prompt-cache hits (input tokens billed at the cached rate); logged only.
    cached_tokens: int = 0
    seconds: float = 0.0
    #: Transient failures retried before this turn succeeded: {"attempt", "error", "wait"}.
    retries: list[dict] = field(default_factory=list)


@dataclass
class ToolResult:
    """The observation answering one `ToolCall` (same `call_id`)."""

    call_id: str
    name: str
    text: str
    images: list[bytes] = field(default_factory=list)
    is_error: bool = False
    #: The tool's machine-readable result (see ToolOutput.data); never sent to LLM providers.
    data: Any = None


Entry = Union[UserMessage, AssistantTurn, ToolResult]


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
