"""The provider-neutral conversation: the messages a policy reads and the turn it returns.

These types live apart from the backends and from the tool registry because both use them (a
backend returns `ToolCall`s, the registry executes them): a module that imports neither lets
each depend on it without depending on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from agent.task import Usage


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
