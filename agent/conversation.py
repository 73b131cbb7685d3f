"""A conversation with an investigator over the model tools: `aia chat` and the LLM labeler.

The bench loop (agent.loop) runs one task to a submitted answer; a conversation instead
answers question after question, keeping one history, so each question can build on the
evidence already gathered. Each `ask` runs policy turns and tool calls until the assistant
answers without calling a tool (chat), or until the finishing tool (`submit_label`) is
accepted (labeling). Events use the bench loop's types (user, assistant, tool_result,
hypotheses, final_request), so `aia show` and reports read both; `on_event` sees each event
as it is written, plus a `tool_call` notice just before each tool runs (not persisted: the
assistant event already lists the calls).

An interrupt (ctx.interrupt set, e.g. by Ctrl-C in the chat) stops the running tool at its
next check; the calls of that turn that did not finish get an "interrupted" observation, so
the history stays valid for every provider (each tool call answered), and an `interrupted`
event is written.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from agent.backends.base import AssistantTurn, Entry, Policy, ToolCall, ToolResult, UserMessage
from agent.loop import truncate
from agent.model_tools import ModelToolContext, ToolInterrupted
from agent.task import Usage
from agent.tools_registry import ToolOutput, ToolRegistry
from agent.transcript import TranscriptWriter
from prompts import render

EventCallback = Callable[[dict[str, Any]], None]

INTERRUPTED_TEXT = "Interrupted by the user before it finished; no result."


class Conversation:
    """Policy + tools + tool context + transcript; `ask(text)` returns the assistant's answer.

    `finish_tool` names the tool whose accepted call ends an `ask` (e.g. "submit_label");
    without it an `ask` ends at the first reply with no tool call. `max_rounds` caps the
    policy calls of one `ask`; at the cap the policy is asked once more for its answer (or
    for the finishing call), and tool calls other than the finishing one are not run.
    `history` continues an earlier conversation (a resumed chat session).
    """

    def __init__(self, policy: Policy, tools: ToolRegistry, ctx: ModelToolContext, *, system: str,
                 transcript: TranscriptWriter | None = None, on_event: EventCallback | None = None,
                 max_rounds: int = 20, finish_tool: str | None = None, observation_chars: int = 4000,
                 history: list[Entry] | None = None, rounds: int = 0):
        if finish_tool is not None and finish_tool not in tools:
            raise ValueError(f"finish_tool {finish_tool!r} is not among the tools {tools.names()}")
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        self.policy = policy
        self.tools = tools
        self.ctx = ctx
        self.system = system
        self.log = transcript if transcript is not None else TranscriptWriter(None)
        self.on_event = on_event
        self.max_rounds = max_rounds
        self.finish_tool = finish_tool
        self.observation_chars = observation_chars
        self.history: list[Entry] = list(history or [])
        self.rounds = rounds
        self.usage = Usage()
        self.text_protocol = not policy.native_tools

    @property
    def submission(self):
        """What the finishing tool accepted (ctx.submitted), or None."""
        return self.ctx.submitted

    def emit(self, type_: str, **data: Any) -> dict[str, Any]:
        event = self.log.write(type_, **data)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def note(self, text: str) -> None:
        """Put text in the history without asking for a reply (e.g. a slash command's output the
        user ran directly, so later questions can refer to it). Logged by the caller."""
        self.history.append(UserMessage(text))

    def ask(self, text: str, event: str = "user") -> str:
        """Send `text` and run turns until an answer; returns the last assistant text.

        Raises ToolInterrupted (after recording it) when ctx.interrupt is set. The flag is the
        caller's: it is never cleared here, so a Ctrl-C that lands before the work starts is
        not lost; clear it before asking again.
        """
        self._say(text, event)
        for _ in range(self.max_rounds):
            turn = self._turn(final=False)
            if turn is None:
                return self._last_text()
        self._say(render("model_tools_final", finish_tool=self.finish_tool, text_protocol=self.text_protocol,
                         max_rounds=self.max_rounds), "final_request")
        self._turn(final=True)
        return self._last_text()

    def _say(self, text: str, event: str) -> None:
        self.history.append(UserMessage(text))
        self.emit(event, text=text)

    def _last_text(self) -> str:
        for e in reversed(self.history):
            if isinstance(e, AssistantTurn):
                return e.text
        return ""

    def _turn(self, final: bool) -> AssistantTurn | None:
        """One policy call and its tool calls; None when the `ask` is over."""
        if self.ctx.interrupt.is_set():
            self.emit("interrupted", round=self.rounds, tool=None)
            raise ToolInterrupted()
        self.rounds += 1
        self.ctx.round_no = self.rounds
        started = time.monotonic()
        turn = self.policy.next_turn(self.system, self.history, self.tools)
        turn.seconds = turn.seconds or time.monotonic() - started
        self.usage = self.usage + turn.usage
        self.history.append(turn)
        self.emit("assistant", round=self.rounds, text=turn.text, usage=turn.usage.model_dump(),
                  cached_tokens=turn.cached_tokens, seconds=round(turn.seconds, 3), retries=turn.retries,
                  tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error}
                              for c in turn.tool_calls])
        if not turn.tool_calls:
            if self.finish_tool is None or final:
                return None
            problem = "Your reply was empty." if not turn.text.strip() else "Your reply contained no tool call."
            self._say(render("model_tools_nudge", problem=problem, finish_tool=self.finish_tool,
                             text_protocol=self.text_protocol), "user")
            return turn
        for i, call in enumerate(turn.tool_calls):
            if self.ctx.interrupt.is_set():
                self._interrupted(turn, i)
            self._notice(call)
            started = time.monotonic()
            ledger = self.ctx.ledger.model_dump()
            if final and call.name != self.finish_tool:
                reason = "only the finishing call is accepted now" if self.finish_tool else "the round cap was reached"
                out = ToolOutput(f"{call.name} was not run: {reason}.", is_error=True)
            else:
                try:
                    out = self.tools.execute(self.ctx, call)
                except ToolInterrupted:
                    self.record_ledger_change(ledger)      # what the tool recorded before it stopped
                    self._interrupted(turn, i, time.monotonic() - started)
            self._observe(call.id, call.name, out, time.monotonic() - started)
            self.record_ledger_change(ledger)
            if out.answer is not None and call.name == self.finish_tool:
                return None
        return None if final else turn

    def record_ledger_change(self, before: dict) -> None:
        """A `hypotheses` snapshot when the ledger changed (record_hypotheses, describe_unit)."""
        if self.ctx.ledger.model_dump() != before:
            self.emit("hypotheses", round=self.rounds,
                      ledger={k: h.model_dump() for k, h in self.ctx.ledger.hypotheses.items()})

    def _notice(self, call: ToolCall) -> None:
        if self.on_event is not None:
            self.on_event({"type": "tool_call", "round": self.rounds, "id": call.id, "name": call.name,
                           "arguments": call.arguments, "error": call.error})

    def _interrupted(self, turn: AssistantTurn, first: int, seconds: float = 0.0) -> None:
        """Answer the unfinished calls of `turn` from `first` on (the first ran `seconds`),
        record the interrupt, re-raise."""
        for j, call in enumerate(turn.tool_calls[first:]):
            self._observe(call.id, call.name, ToolOutput(INTERRUPTED_TEXT, is_error=True), seconds if j == 0 else 0.0)
        self.emit("interrupted", round=self.rounds, tool=turn.tool_calls[first].name)
        raise ToolInterrupted()

    def _observe(self, call_id: str, name: str, out: ToolOutput, seconds: float) -> None:
        text = truncate(out.text, self.observation_chars)
        images = out.images if self.policy.accepts_images else []
        self.history.append(ToolResult(call_id, name, text, images, out.is_error, out.data))
        self.emit("tool_result", round=self.rounds, call_id=call_id, name=name, text=text, is_error=out.is_error,
                  images=self.log.save_images(out.images), seconds=round(seconds, 3))
