"""The investigation engine: one loop of policy turns and tool calls for every job.

`aia bench` (an investigator solving one task), the LLM labeler and `aia chat` all run here
(after Inspect AI's `react()`): a policy proposes a turn, the engine runs its tool calls and
appends the observations, until the run's ending says it is over. How a run ends is a parameter:

- a finishing tool (`submit` for bench, `submit_label` for labeling): the run ends when that
  tool accepts a call; a reply without tool calls is nudged back to work;
- no finishing tool (chat): the run ends at the first reply without tool calls.

At the round cap, or when a budget is spent, the policy is asked once more (the final request),
and only the finishing call is run. The history is append-only and the system prompt and tool
list never change, so the prompt prefix stays stable and provider prompt caching applies. What is
sent each call is a view of the history (agent.context): old images and old long observations
are trimmed once, at a fixed age, so the context stays bounded and the prefix stays byte-stable.

Two step functions do the work, shared by every job: `generate` (one policy call: usage,
history, the `assistant` event) and `execute` (the turn's calls: observations, `tool_result`
and `hypotheses` events, interrupts). `run` strings them together; a caller that needs another
shape (a chat that keeps the history across questions) calls `run` once per question.

An interrupt (`ctx.interrupt` set, e.g. by Ctrl-C in the chat) stops the running tool at its next
check; the calls of that turn that did not finish get an "interrupted" observation, so the
history stays valid for every provider (each tool call answered), and an `interrupted` event is
written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from agent.backends.base import Policy
from agent.context import ContextPolicy, sent_view
from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.task import Usage
from agent.tools_registry import ToolOutput, ToolRegistry
from agent.transcript import TranscriptWriter
from prompts import render

EventCallback = Callable[[dict[str, Any]], None]


class ToolInterrupted(BaseException):
    """The user interrupted a running tool (Ctrl-C in `aia chat`).

    A BaseException, like KeyboardInterrupt, so that `ToolRegistry.execute`'s catch-all, which
    turns tool failures into observations, lets it through to the engine.
    """


@dataclass
class Budget:
    """Limits of one run of the engine. `max_rounds=None` uses the caller's default (FIND: 20)."""

    max_rounds: int | None = None
    """Policy calls before the final request."""
    max_tokens: int | None = None
    """Input plus output tokens summed over all calls."""
    max_usd: float | None = None
    """Dollars, from the policy's price table."""

    def exceeded(self, usage: Usage) -> str | None:
        if self.max_tokens is not None and usage.input_tokens + usage.output_tokens >= self.max_tokens:
            return f"token budget of {self.max_tokens} reached"
        if self.max_usd is not None and usage.cost_usd >= self.max_usd:
            return f"dollar budget of ${self.max_usd:g} reached"
        return None


@dataclass
class Outcome:
    """How a run ended: `stop_reason` is "finished" (the finishing tool accepted a call),
    "answered" (a reply without tool calls, when there is no finishing tool), "rounds", or the
    budget that was spent; `finish` is the finishing tool's output, when it accepted one."""

    stop_reason: str
    text: str
    finish: ToolOutput | None = None


def truncate(text: str, limit: int) -> str:
    """Keep the head and tail of a long observation; the middle is the least informative part.
    The cut falls at line ends where a line end is near (within a quarter of each part), so no
    line is shown half; a text of few long lines is cut inside them."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    end = text.rfind("\n", 0, head)
    if end >= head * 3 // 4:
        head = end
    start = text.find("\n", len(text) - tail)
    if start != -1 and start <= len(text) - tail * 3 // 4:
        tail = len(text) - start - 1
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[len(text) - tail:]}"


class Engine:
    """Policy + tools + tool context + transcript, for one investigation or one conversation.

    `finish_tool` names the tool whose accepted call ends a run (None: a reply without tool
    calls does). `ctx` is the tools' context; it must have a `ledger` and `round_no`, and may
    have an `interrupt` (threading.Event). `observe_extra()` adds fields to every `tool_result`
    event (bench: the black box's call count). `history` and `rounds` continue an earlier
    conversation (a resumed chat). `task_kind` (bench) words the nudge and the final request for
    a task's answer format (description, domain, code). `status_line()` (bench: rounds used and
    black-box calls) is appended to every observation, so that the investigator always knows what
    it has left; it goes into new messages only, so the cached prefix stays as it was. `context`
    is what of old observations is re-sent (agent.context.ContextPolicy; None, the default:
    everything, which keeps the provider's cached prefix longest: see agent/context.py).
    `cached_tokens` sums the provider-reported prompt-cache hits of every call.
    """

    def __init__(self, policy: Policy, tools: ToolRegistry, ctx: Any, *, system: str,
                 transcript: TranscriptWriter | None = None, finish_tool: str | None = None,
                 observation_chars: int = 4000, on_event: EventCallback | None = None,
                 observe_extra: Callable[[], dict[str, Any]] | None = None, history: list[Entry] | None = None,
                 rounds: int = 0, task_kind: str | None = None,
                 status_line: Callable[[], str] | None = None,
                 context: ContextPolicy | None = None) -> None:
        if finish_tool is not None and finish_tool not in tools:
            raise ValueError(f"finish_tool {finish_tool!r} is not among the tools {tools.names()}")
        self.policy = policy
        self.tools = tools
        self.ctx = ctx
        self.system = system
        self.log = transcript if transcript is not None else TranscriptWriter(None)
        self.finish_tool = finish_tool
        self.observation_chars = observation_chars
        self.on_event = on_event
        self.observe_extra = observe_extra
        self.task_kind = task_kind
        self.status_line = status_line
        self.history: list[Entry] = list(history or [])
        self.rounds = rounds
        self.usage = Usage()
        self.cached_tokens = 0
        self.context = context
        self.text_protocol = not policy.native_tools

    # ------------------------------------------------------------------------------ one run

    def run(self, text: str, *, max_rounds: int, budget: Budget | None = None, event: str = "user") -> Outcome:
        """Say `text`, then turns until the ending; at `max_rounds` or a spent budget, one final request.

        Raises ToolInterrupted (after recording it) when ctx.interrupt is set. The flag is the
        caller's: it is never cleared here, so a Ctrl-C that lands before the work starts is
        not lost; clear it before running again.
        """
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        self.say(text, event)
        stop_reason = "rounds"
        for _ in range(max_rounds):
            spent = budget.exceeded(self.usage) if budget is not None else None
            if spent:
                stop_reason = spent
                break
            turn = self.generate()
            finish = self.execute(turn, final=False)
            if finish is not None:
                return Outcome("finished", turn.text, finish)
            if not turn.tool_calls:
                if self.finish_tool is None:
                    return Outcome("answered", turn.text)
                self.say(render("nudge", empty=not turn.text.strip(), finish_tool=self.finish_tool,
                                text_protocol=self.text_protocol, task_kind=self.task_kind))
        self.say(render("final_request", reason=stop_reason, finish_tool=self.finish_tool, max_rounds=max_rounds,
                        text_protocol=self.text_protocol, task_kind=self.task_kind), "final_request")
        turn = self.generate()
        finish = self.execute(turn, final=True)
        return Outcome("finished" if finish is not None else stop_reason, turn.text, finish)

    def say(self, text: str, event: str = "user") -> None:
        """Put a user message in the history and the transcript."""
        self.history.append(UserMessage(text))
        self.emit(event, text=text)

    def note(self, text: str) -> None:
        """Put text in the history without asking for a reply (e.g. a slash command's output the
        user ran directly, so later questions can refer to it). Logged by the caller."""
        self.history.append(UserMessage(text))

    def emit(self, type_: str, **data: Any) -> dict[str, Any]:
        event = self.log.write(type_, **data)
        if self.on_event is not None:
            self.on_event(event)
        return event

    # ------------------------------------------------------------------------------ the two steps

    def generate(self) -> AssistantTurn:
        """One policy call: the turn joins the history, its usage the totals, an `assistant` event the log."""
        self._check_interrupt(tool=None)
        self.rounds += 1
        self.ctx.round_no = self.rounds
        started = time.monotonic()
        turn = self.policy.next_turn(self.system, sent_view(self.history, self.context), self.tools)
        turn.seconds = turn.seconds or time.monotonic() - started
        self.usage = self.usage + turn.usage
        self.cached_tokens += turn.usage.cached_input_tokens
        self.history.append(turn)
        self.emit("assistant", round=self.rounds, text=turn.text, usage=turn.usage.model_dump(),
                  cached_tokens=turn.usage.cached_input_tokens, seconds=round(turn.seconds, 3), retries=turn.retries,
                  tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error}
                              for c in turn.tool_calls])
        return turn

    def execute(self, turn: AssistantTurn, final: bool) -> ToolOutput | None:
        """Run the turn's tool calls in order; the finishing tool's output when it accepted a call
        (the calls after it are not run). After the final request only the finishing call runs."""
        for i, call in enumerate(turn.tool_calls):
            if self._interrupt_set():
                self._interrupted(turn, i)
            self._notice(call)
            started = time.monotonic()
            ledger = self.ctx.ledger.model_dump()
            if final and call.name != self.finish_tool:
                out = ToolOutput(render("not_run", tool=call.name, finish_tool=self.finish_tool), is_error=True)
            else:
                try:
                    out = self.tools.execute(self.ctx, call)
                except ToolInterrupted:
                    self.record_ledger_change(ledger)  # what the tool recorded before it stopped
                    self._interrupted(turn, i, time.monotonic() - started)
            self._observe(call.id, call.name, out, time.monotonic() - started)
            self.record_ledger_change(ledger)
            if out.answer is not None and call.name == self.finish_tool:
                return out
        return None

    # ------------------------------------------------------------------------------ helpers

    def _observe(self, call_id: str, name: str, out: ToolOutput, seconds: float) -> None:
        text = truncate(out.text, self.observation_chars)
        if self.status_line is not None:
            text += "\n" + self.status_line()
        images = out.images if self.policy.accepts_images else []
        self.history.append(ToolResult(call_id, name, text, images, out.is_error, out.data))
        extra = self.observe_extra() if self.observe_extra is not None else {}
        self.emit("tool_result", round=self.rounds, call_id=call_id, name=name, text=text, is_error=out.is_error,
                  images=self.log.save_images(out.images), seconds=round(seconds, 3), **extra)

    def record_ledger_change(self, before: dict[str, Any]) -> None:
        """A `hypotheses` snapshot when the ledger changed (record_hypotheses, describe_unit)."""
        if self.ctx.ledger.model_dump() != before:
            self.emit("hypotheses", round=self.rounds,
                      ledger={k: h.model_dump() for k, h in self.ctx.ledger.hypotheses.items()})

    def _notice(self, call: ToolCall) -> None:
        """Tell the live observer a tool is about to run (not persisted: the assistant event lists the calls)."""
        if self.on_event is not None:
            self.on_event({"type": "tool_call", "round": self.rounds, "id": call.id, "name": call.name,
                           "arguments": call.arguments, "error": call.error})

    def _interrupt_set(self) -> bool:
        interrupt = getattr(self.ctx, "interrupt", None)
        return interrupt is not None and interrupt.is_set()

    def _check_interrupt(self, tool: str | None) -> None:
        if self._interrupt_set():
            self.emit("interrupted", round=self.rounds, tool=tool)
            raise ToolInterrupted()

    def _interrupted(self, turn: AssistantTurn, first: int, seconds: float = 0.0) -> None:
        """Answer the unfinished calls of `turn` from `first` on (the first ran `seconds`),
        record the interrupt, re-raise."""
        text = render("interrupted_call")
        for j, call in enumerate(turn.tool_calls[first:]):
            self._observe(call.id, call.name, ToolOutput(text, is_error=True), seconds if j == 0 else 0.0)
        self.emit("interrupted", round=self.rounds, tool=turn.tool_calls[first].name)
        raise ToolInterrupted()
