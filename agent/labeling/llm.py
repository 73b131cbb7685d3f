"""The LLM labeler: a language model investigates one unit with the model tools and submits a label.

It runs the investigation engine (agent.engine) over the labeling tools (agent.model_tools:
exemplars, call_unit, synthesize, edit, ablate, patch, steer, attention, record_hypotheses,
submit_label) until `submit_label` is accepted or the round cap is hit.  The scorer's
held-out exemplars must stay unseen, so the tool context gets an exemplar source that
serves only the labeling split: for the unit under study exactly the windows the runner
passes in, for any other unit the same every-other-window split of its cache.

The transcript is the bench loop's format (start, system, user, assistant, tool_result,
hypotheses, end), so `aia show` and the reports read it like any other investigation.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agent.backends.base import Policy
from agent.engine import Engine
from agent.labeling.neurons import UnitLabel, split_exemplars
from agent.messages import ToolCall
from agent.model_tools import LabelSubmission, ModelToolContext, model_tool_registry
from agent.tools_registry import ToolRegistry
from agent.transcript import TranscriptWriter
from prompts import render
from tools.exemplars import Exemplar, cache_depth
from tools.models import SubjectModel
from tools.units import parse_unit, unit_noun


class LabelingError(RuntimeError):
    """The investigation ended without a usable label (nothing submitted, nothing said)."""


def labeling_tools(model: SubjectModel, kind: str) -> ToolRegistry:
    """The label tools that apply: those the model supports (patch and steer need next-token
    logits); attention is for heads."""
    tools = model_tool_registry("label", model)
    if kind != "head":
        tools = tools.without("attention")
    return tools


def _depth(ctx: ModelToolContext, address: str) -> tuple[int, set[int]]:
    """(top windows the unit's layer cache keeps, its random-sample windows); builds a missing cache."""
    ctx.dataset_exemplars(address, 1)
    return cache_depth(ctx.spec(), parse_unit(address).layer)


def labeling_split_source(ctx: ModelToolContext, unit: str, seen: list[Exemplar]):
    """An ``exemplar_source`` that never serves held-out windows (see the module docstring).

    For the unit under study, asking for more than ``seen`` adds the cache's top windows ranked
    below every held-out rank (rank >= 2 x len(seen)) that are not in its random sample (the
    scorer's random windows come from there).
    """

    def source(address: str, k: int) -> list[Exemplar]:
        if address == unit:
            if k <= len(seen):
                return seen[:k]
            depth, sample = _depth(ctx, address)
            below = 2 * len(seen)
            if depth <= below:
                return list(seen)
            mine = {e.window for e in seen}
            extra = [e for e in ctx.dataset_exemplars(address, depth).top[below:]
                     if e.window not in sample and e.window not in mine]
            return (list(seen) + extra)[:k]
        depth, _ = _depth(ctx, address)
        top = ctx.dataset_exemplars(address, min(2 * k, depth)).top
        return split_exemplars(top)[0][:k]

    return source


def held_out_windows(ctx: ModelToolContext, unit: str, seen: list[Exemplar]) -> set[int]:
    """Windows no tool may show while ``unit`` is labeled: its top windows ranked above
    2 x len(seen) that are not in ``seen`` (the scorer's held-out top), and the cache's whole
    random sample (the scorer's random windows are drawn from it)."""
    depth, sample = _depth(ctx, unit)
    mine = {e.window for e in seen}
    top = ctx.dataset_exemplars(unit, min(depth, 2 * len(seen) + 1)).top
    return sample | {e.window for e in top if e.window not in mine}


def investigate_unit_llm(model: SubjectModel, unit: str, policy: Policy, seen: list[Exemplar],
                         log_dir: Path | None = None, *, backend: str | None = None, corpus: Any = "default",
                         max_rounds: int = 12, cache_root: Path | None = None,
                         max_windows: int | None) -> UnitLabel:
    """Let the LLM behind ``policy`` (agent.registry builds one from a spec) investigate ``unit``.

    ``seen`` are the labeling exemplars (the runner's split); ``backend`` is the spec the
    transcript records (default: the policy's name).  The returned label carries the run's
    usage (tokens, dollars, calls).  Raises LabelingError when the LLM neither submitted a
    label nor wrote any answer.
    """
    kind = unit_noun(unit)
    tools = labeling_tools(model, kind)
    ctx = ModelToolContext(model, corpus=corpus, cache_root=cache_root, max_windows=max_windows, unit=unit)
    ctx.exemplar_source = labeling_split_source(ctx, unit, seen)
    ctx.hidden_windows = lambda: held_out_windows(ctx, unit, seen)
    system = render("task_unit_system", model=model, kind=kind, tools=tools.docs(),
                    text_protocol=not policy.native_tools)
    log = TranscriptWriter(log_dir)
    started = time.perf_counter()
    log.write("start", task_id=unit, kind="label", backend=backend or policy.name, max_rounds=max_rounds,
              tools=tools.names(), native_tools=policy.native_tools)
    log.write("system", text=system)
    engine = Engine(policy, tools, ctx, system=system, transcript=log, finish_tool="submit_label")
    try:
        # The labeler starts with its exemplars in hand (the tool's own text, as a first call would
        # return it): no round is spent fetching what every investigation needs first.
        shown = tools.execute(ctx, ToolCall("exemplars-at-start", "exemplars", {"unit": unit, "k": len(seen)}))
        task = render("task_unit", unit=unit, kind=kind, n_exemplars=len(seen), max_rounds=max_rounds,
                      exemplars=None if shown.is_error else shown.text)
        outcome = engine.run(task, max_rounds=max_rounds)
        result = _result(unit, engine, ctx.submitted, outcome.text)
        log.write("end", stop_reason="submitted" if ctx.submitted else outcome.stop_reason, rounds=engine.rounds,
                  accepted=ctx.submitted is not None,
                  answer={"label": result.label, "description": result.description, "evidence": result.evidence},
                  usage=engine.usage.model_dump(), seconds=round(time.perf_counter() - started, 3),
                  ledger={k: h.model_dump() for k, h in ctx.ledger.hypotheses.items()})
        return result
    except Exception as e:
        log.write("error", error=f"{type(e).__name__}: {e}", rounds=engine.rounds, usage=engine.usage.model_dump())
        raise
    finally:
        log.close()


def _result(unit: str, engine: Engine, sub: LabelSubmission | None, last_text: str) -> UnitLabel:
    """The submitted label, or (no submission) the last answer as the description, unlabeled."""
    if sub is not None:
        return UnitLabel(unit, sub.label, sub.description, list(sub.evidence), usage=engine.usage)
    if not last_text.strip():
        raise LabelingError(f"{unit}: the LLM submitted no label in {engine.rounds} rounds and gave no answer")
    return UnitLabel(unit, "(not submitted)", last_text.strip(), [], usage=engine.usage)
