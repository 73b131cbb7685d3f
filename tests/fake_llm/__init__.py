"""A loopback fake of the OpenAI and Anthropic HTTP APIs for testing the agent's backends (see server.py)."""

from tests.fake_llm.server import (
    ANTHROPIC_PATH,
    OPENAI_PATH,
    FakeLLMServer,
    Fault,
    RecordedRequest,
    Reply,
    Responder,
    Step,
    ToolCall,
    empty_reply,
    hang,
    malformed_tool_call,
    rate_limited,
    server_error,
)

__all__ = [
    "ANTHROPIC_PATH",
    "OPENAI_PATH",
    "FakeLLMServer",
    "Fault",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Step",
    "ToolCall",
    "empty_reply",
    "hang",
    "malformed_tool_call",
    "rate_limited",
    "server_error",
]
