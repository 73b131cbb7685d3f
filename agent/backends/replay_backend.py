"""Replays the assistant turns of a saved transcript against a (possibly new) black box.

Used for tests and demos: the recorded actions are re-executed, so observations are fresh
while the decisions are the recorded ones. Usage is not replayed (a replay costs nothing).
"""

from __future__ import annotations

from pathlib import Path

from agent.messages import AssistantTurn, Entry, ToolCall
from agent.tools_registry import ToolRegistry
from agent.transcript import read_transcript


class ReplayExhausted(RuntimeError):
    """The loop asked for more turns than the transcript holds."""


class ReplayPolicy:
    accepts_images = False

    def __init__(self, path: str | Path):
        events = list(read_transcript(path))
        self.name = f"replay:{path}"
        start = next((e for e in events if e["type"] == "start"), {})
        # Same protocol as the recording, so the system prompt is the recorded one too.
        self.native_tools = bool(start.get("native_tools", True))
        self.turns = [
            AssistantTurn(
                text=e.get("text", ""),
                tool_calls=[ToolCall(c["id"], c["name"], c.get("arguments") or {}, c.get("error"))
                            for c in e.get("tool_calls", [])],
            )
            for e in events
            if e["type"] == "assistant"
        ]
        if not self.turns and any(e["type"] == "experiment" for e in events):
            # A builtin transcript lists experiments with long input lists cut for reading, so
            # it cannot be re-executed call for call; the builtin itself is deterministic.
            raise ValueError(f"{path}: written by {start.get('backend', 'a builtin')!r}, which records its "
                             "experiments, not assistant turns: there is nothing to replay; re-run it "
                             "with --backend builtin (it is deterministic for a given seed)")
        if not self.turns:
            raise ValueError(f"{path}: the transcript has no assistant turns to replay")
        self.position = 0

    def next_turn(self, system: str, history: list[Entry], tools: ToolRegistry) -> AssistantTurn:
        if len(history) == 1:  # only the task statement: a new investigation starts from the top
            self.position = 0
        if self.position >= len(self.turns):
            raise ReplayExhausted(f"{self.name}: all {len(self.turns)} recorded turns were replayed "
                                  "and the loop asked for more")
        turn = self.turns[self.position]
        self.position += 1
        return AssistantTurn(text=turn.text, tool_calls=list(turn.tool_calls))
