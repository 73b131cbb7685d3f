"""The bench backend: an LLM investigator solving one task on the investigation engine.

`AgentBackend.investigate(task)` writes the run's start, the system prompt and the task into the
transcript, runs the engine (agent.engine) until the investigator submits an accepted answer
(the finishing tool is `submit`), the round cap or a budget is reached, and writes the end: the
answer (the last one offered, if none was accepted), usage, and black-box calls counted by the
black box itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from agent.backends.base import Policy
from agent.context import ContextPolicy
from agent.engine import Budget, Engine
from agent.task import Answer, Investigation, Task
from agent.tools_registry import DEFAULT_TOOLS, ToolContext, ToolRegistry
from agent.transcript import TranscriptWriter
from prompts import render


def default_sandbox_factory(confine: bool = True) -> Callable[[dict], Any]:
    """The sandbox for run_python: confined by the OS unless the user explicitly opted out."""
    from agent.sandbox import Sandbox

    return lambda proxies: Sandbox(proxies, confine=confine)


class AgentBackend:
    """A `Backend` (see agent.task): one investigation per task on the engine, with a given policy."""

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
        context: ContextPolicy | None = None,
    ):
        self.policy = policy
        self.name = name or policy.name
        self.budget = budget or Budget()
        self.tools = tools
        # run_python is offered only when there is a sandbox to run it in.
        self.sandbox_factory = (sandbox_factory or default_sandbox_factory(confine)) if use_sandbox else None
        self.observation_chars = observation_chars
        self.max_batch = max_batch
        self.context = context  # what of old observations is re-sent (agent.context); None: all

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        log = TranscriptWriter(log_dir)
        tools = self.tools.for_scope(task.kind)
        if self.sandbox_factory is None:  # run_python and check_code (the candidate runs there) need a sandbox
            tools = tools.without("run_python", "check_code")
        ctx = ToolContext(task, max_batch=self.max_batch, sandbox_factory=self.sandbox_factory)
        text_protocol = not self.policy.native_tools
        max_rounds = self.budget.max_rounds or task.max_rounds
        calls_before = task.black_box.calls
        engine = Engine(self.policy, tools, ctx,
                        system=render("system", text_protocol=text_protocol, tools=tools.docs(), kind=task.kind),
                        transcript=log, finish_tool="submit", observation_chars=self.observation_chars,
                        observe_extra=lambda: {"black_box_calls": task.black_box.calls}, task_kind=task.kind,
                        context=self.context,
                        # the final request is one round past the cap: it still reads "20 of 20 used"
                        status_line=lambda: render("status_line", round=min(engine.rounds, max_rounds),
                                                   max_rounds=max_rounds,
                                                   calls=task.black_box.calls - calls_before))
        try:
            log.write("start", task_id=task.id, kind=task.kind, backend=self.name, max_rounds=max_rounds,
                      tools=tools.names(), native_tools=self.policy.native_tools)
            log.write("system", text=engine.system)
            outcome = engine.run(render(f"task_{task.kind}", task=task, max_rounds=max_rounds),
                                 max_rounds=max_rounds, budget=self.budget)
            accepted = outcome.finish.answer if outcome.finish is not None else None
            final = accepted or ctx.attempted or Answer()
            log.write("end", stop_reason="submitted" if accepted is not None else outcome.stop_reason,
                      rounds=engine.rounds, accepted=accepted is not None, answer=final.model_dump(),
                      answer_problems=final.problems(task.kind), usage=engine.usage.model_dump(),
                      black_box_calls=task.black_box.calls - calls_before,
                      ledger={k: h.model_dump() for k, h in ctx.ledger.hypotheses.items()})
            return Investigation(answer=final, usage=engine.usage, rounds=engine.rounds)
        except Exception as e:
            # Non-transient API errors (auth, bad request, retries exhausted) end the run; the
            # transcript says why before the runner sees the exception.
            log.write("error", error=f"{type(e).__name__}: {e}", rounds=engine.rounds, usage=engine.usage.model_dump())
            raise
        finally:
            ctx.close()
            log.close()
