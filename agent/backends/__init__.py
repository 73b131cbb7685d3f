"""Backends: the policies that decide an LLM loop's next turn (OpenAI, Anthropic, an
OpenAI-compatible server, a local model, a replay) and the types they share.

Spec strings (`openai:MODEL`, `replay:FILE` ...) are resolved by the spec registry
(agent.registry: `make_policy`, `make_backend`), which sits above this package: nothing here
imports it, so the policies can be imported on their own.
"""

from agent.backends.base import MissingCredentials, Policy
from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage

__all__ = ["AssistantTurn", "Entry", "MissingCredentials", "Policy", "ToolCall", "ToolResult", "UserMessage"]
