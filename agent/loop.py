"""The experiment loop: one loop for every task kind and every policy.

Each round the policy proposes actions (tool calls), the loop executes them and appends the
observations; the loop ends on an accepted `submit`, or when the round cap or a budget is hit,
after which the policy is asked exactly once for its final answer. The history is append-only
and the system prompt and tool list never change during a run, so the prompt prefix stays
stable and provider prompt caching applies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agent.backends.base import AssistantTurn, Entry, Policy, ToolResult, UserMessage
from agent.tools_registry import DEFAULT_TOOLS, ToolContext, ToolOutput, ToolRegistry
from agent.transcript import TranscriptWriter
from agent.task import Answer, Investigation, Task, Usage
from prompts import render


@dataclass
class Budget:
    """Per-investigation limits. `max_rounds=None` uses the task's own cap (FIND: 20)."""

    max_rounds: int | None = None
    max_tokens: int | None = None  # input + output tokens summed over all calls
    max_usd: float | None = None

    def exceeded(self, usage: Usage) -> str | None:
        if self.max_tokens is not None and usage.input_tokens + usage.output_tokens >= self.max_tokens:
            return f"token budget of {self.max_tokens} reached"
        if self.max_usd is not None and usage.cost_usd >= self.max_usd:
            return f"dollar budget of ${self.max_usd:g} reached"
        return None


def truncate(text: str, limit: int) -> str:
    """Keep the head and tail of a long observation; the middle is the least informative part."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters omitted ...]\n{text[-tail:]}"


def default_sandbox_factory(confine: bool = True) -> Callable[[dict], Any]:
    """The sandbox for run_python: confined by the OS unless the user explicitly opted out."""
    from agent.sandbox import Sandbox

    return lambda proxies: Sandbox(proxies, confine=confine)


class AgentBackend:
    """A `Backend` (see agent.task) that runs the loop with a given policy."""

    def __init__(
        self,
        policy: Policy,
        *,
        name: str | None = None,
        budget: Budget | None = None,
        tools: ToolRegistry = DEFAULT_TOOLS,
        sandbox_factory: Callable[[dict], Any] | None = None,
        use_sandbox: bool = True,
        confine: bool = True,
        observation_chars: int = 4000,
        max_batch: int = 1000,
    ):
        self.policy = policy
        self.name = name or policy.name
        self.budget = budget or Budget()
        self.tools = tools
        # run_python is offered only when there is a sandbox to run it in.
        self.sandbox_factory = (sandbox_factory or default_sandbox_factory(confine)) if use_sandbox else None
        self.observation_chars = observation_chars
        self.max_batch = max_batch

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        run = _Run(self, task, TranscriptWriter(log_dir))
        try:
            return run.execute()
        except Exception as e:
            # Non-transient API errors (auth, bad request, retries exhausted) end the run; the
            # transcript says why before the runner sees the exception.
            run.log.write("error", error=f"{type(e).__name__}: {e}", rounds=run.rounds, usage=run.usage.model_dump())
            raise
        finally:
            run.close()


class _Run:
    """The state of one investigation (kept out of AgentBackend so a backend can run many)."""

    def __init__(self, backend: AgentBackend, task: Task, transcript: TranscriptWriter):
        self.policy = backend.policy
        self.backend = backend
        self.task = task
        self.log = transcript
        self.tools = backend.tools.for_kind(task.kind)
        if backend.sandbox_factory is None:
            self.tools = self.tools.without("run_python")
        self.ctx = ToolContext(task, max_batch=backend.max_batch, sandbox_factory=backend.sandbox_factory)
        self.text_protocol = not self.policy.native_tools
        self.system = render("system", text_protocol=self.text_protocol, tools=self.tools.docs())
        self.history: list[Entry] = []
        self.usage = Usage()
        self.rounds = 0

    def execute(self) -> Investigation:
        task, budget = self.task, self.backend.budget
        max_rounds = budget.max_rounds or task.max_rounds
        calls_before = task.black_box.calls
        self.log.write("start", task_id=task.id, kind=task.kind, backend=self.backend.name,
                       max_rounds=max_rounds, tools=self.tools.names(), native_tools=self.policy.native_tools)
        self.log.write("system", text=self.system)
        self.say(render(f"task_{task.kind}", task=task, max_rounds=max_rounds))

        answer, stop_reason = None, "rounds"
        while answer is None and self.rounds < max_rounds:
            exceeded = budget.exceeded(self.usage)
            if exceeded:
                stop_reason = exceeded
                break
            answer = self.round(final=False)
        if answer is not None:
            stop_reason = "submitted"
        else:
            self.say(render("final_answer", reason=stop_reason, kind=task.kind, text_protocol=self.text_protocol),
                     event="final_request")
            answer = self.round(final=True)

        final = answer or self.ctx.attempted or Answer()
        self.log.write("end", stop_reason=stop_reason, rounds=self.rounds, accepted=answer is not None,
                       answer=final.model_dump(), answer_problems=final.problems(task.kind),
                       usage=self.usage.model_dump(), black_box_calls=task.black_box.calls - calls_before,
                       ledger={k: h.model_dump() for k, h in self.ctx.ledger.hypotheses.items()})
        return Investigation(answer=final, usage=self.usage, rounds=self.rounds)

    def say(self, text: str, event: str = "user") -> None:
        self.history.append(UserMessage(text))
        self.log.write(event, text=text)

    def round(self, final: bool) -> Answer | None:
        """One policy call and the execution of its actions; returns an accepted answer, if any."""
        self.rounds += 1
        self.ctx.round_no = self.rounds
        started = time.monotonic()
        turn: AssistantTurn = self.policy.next_turn(self.system, self.history, self.tools)
        turn.seconds = turn.seconds or time.monotonic() - started
        self.usage = self.usage + turn.usage
        self.history.append(turn)
        self.log.write("assistant", round=self.rounds, text=turn.text, usage=turn.usage.model_dump(),
                       cached_tokens=turn.cached_tokens, seconds=round(turn.seconds, 3), retries=turn.retries,
                       tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error}
                                   for c in turn.tool_calls])
        if not turn.tool_calls:
            if not final:  # after the final request nothing is asked again
                problem = "Your reply was empty." if not turn.text.strip() else "Your reply contained no action."
                self.say(render("nudge", problem=problem, text_protocol=self.text_protocol))
            return None
        for call in turn.tool_calls:
            started = time.monotonic()
            if final and call.name != "submit":
                out = ToolOutput(f"{call.name} was not run: only a final answer (submit) is accepted now.", is_error=True)
            else:
                out = self.tools.execute(self.ctx, call)
            self.observe(call.id, call.name, out, time.monotonic() - started)
            if out.answer is not None:
                return out.answer
        return None

    def observe(self, call_id: str, name: str, out: ToolOutput, seconds: float) -> None:
        text = truncate(out.text, self.backend.observation_chars)
        images = out.images if self.policy.accepts_images else []
        self.history.append(ToolResult(call_id, name, text, images, out.is_error, out.data))
        self.log.write("tool_result", round=self.rounds, call_id=call_id, name=name, text=text,
                       is_error=out.is_error, images=self.log.save_images(out.images), seconds=round(seconds, 3),
                       black_box_calls=self.task.black_box.calls)
        if name == "record_hypotheses":
            self.log.write("hypotheses", round=self.rounds,
                           ledger={k: h.model_dump() for k, h in self.ctx.ledger.hypotheses.items()})

    def close(self) -> None:
        self.ctx.close()
        self.log.close()
