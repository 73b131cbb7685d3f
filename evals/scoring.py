"""Score one answer against one suite function: the category decides which scorers apply.

Every result has a headline `score` in [0, 1]:
- numeric: the strict score (held-out points, noise-free reference, tabulated answers get 0);
  FIND's own protocol is reported beside it as `find`;
- strings: FIND's code score (exact match on the unit tests; a function without unit tests is
  scored against its own outputs on held-out strings drawn from the scoring seed); the
  description's multiple-choice accuracy is reported beside it as `description_mc`;
- entities, relations: the description's multiple-choice accuracy (FIND's protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from agent.task import Answer, output_as_float
from find_functions.layout import SuiteEntry

from .code_exec import run_code
from .judge import Judge, multiple_choice_accuracy
from .numeric_scoring import FIND_GRID, detect_tabulation, interval_iou, nmse, solved, strict_points
from .string_held_out import held_out_strings

#: How many calls of a served script are averaged to estimate its noise-free output when the
#: suite carries no ground-truth code (official FIND directories).
NOISE_AVERAGING_CALLS = 8


@dataclass
class ScoringContext:
    """What a scorer may use. `serve` evaluates the served function (a fresh black box, not the
    investigator's, so scoring calls are never counted as experiments)."""

    serve: Callable[[Sequence[Any]], list[Any]]
    judge: Judge
    seed: int  # the scoring seed: never given to an investigator
    confine: bool = True  # run answer code in the OS sandbox (False: trusted answers, or the user's opt-out)


def score_answer(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    if entry.category == "numeric":
        return score_numeric(entry, answer, ctx)
    if entry.category == "strings":
        return score_strings(entry, answer, ctx)
    return score_description(entry, answer, ctx)


def _noise_free_reference(entry: SuiteEntry, xs: list[float], ctx: ScoringContext) -> list[Any]:
    gt = entry.ground_truth
    if gt is not None and gt.code:
        run = run_code(gt.code, xs, confine=ctx.confine)
        if run.error:
            raise RuntimeError(f"{entry.key}: ground-truth code failed: {run.error}")
        return run.outputs
    samples = np.array([[output_as_float(v) for v in ctx.serve(xs)] for _ in range(NOISE_AVERAGING_CALLS)])
    with np.errstate(all="ignore"):
        return np.nanmean(samples, axis=0).tolist() if samples.size else []


def score_numeric(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    out: dict[str, Any] = {"score": 0.0, "find": 0.0, "find_nmse": None, "strict_nmse": None,
                           "tabulated": False, "domain_iou": None, "error": None}
    truth_domain = entry.ground_truth.domain if entry.ground_truth else None
    out["domain_iou"] = interval_iou(answer.domain, truth_domain)
    if not answer.code:
        out["error"] = "no code in the answer"
        return out
    grid = list(FIND_GRID)
    held_out = strict_points(ctx.seed)
    if entry.variant == "mlp" and entry.ground_truth and entry.ground_truth.metadata.get("domain"):
        # An MLP approximates its function only on the domain it was trained on; beyond it, it
        # extrapolates linearly, which no description of the function could predict.
        lo, hi = entry.ground_truth.metadata["domain"]
        held_out = [x for x in held_out if lo <= x <= hi]
    run = run_code(answer.code, grid + held_out, confine=ctx.confine)
    if run.error:
        out["error"] = run.error
        return out
    pred_grid, pred_held = run.outputs[: len(grid)], run.outputs[len(grid):]
    # FIND: any exception scores 0 (a None output where the reference is finite makes NMSE inf).
    out["find_nmse"] = nmse(ctx.serve(grid), pred_grid)
    out["find"] = solved(out["find_nmse"])
    out["strict_nmse"] = nmse(_noise_free_reference(entry, held_out, ctx), pred_held)
    tab = detect_tabulation(answer.code)
    out["tabulated"] = tab.tabulated
    if tab.tabulated:
        out["error"] = f"tabulated answer: {tab.reason}"
    out["score"] = 0.0 if tab.tabulated else solved(out["strict_nmse"])
    out["error"] = out["error"] or run.first_error()
    return _json_safe(out)


def score_strings(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    out: dict[str, Any] = {"score": 0.0, "code_exact": 0.0, "description_mc": None, "error": None}
    if entry.unit_tests:
        inputs = [it.inputs[it.correct] for it in entry.unit_tests]
        expected = [it.outputs[it.correct] for it in entry.unit_tests]  # type: ignore[index]
        out["description_mc"] = multiple_choice_accuracy(ctx.judge, entry.category, answer.description,
                                                         entry.unit_tests)
    else:  # a directory of scripts without unit tests: the reference script itself is the oracle
        inputs = [str(x) for x in entry.held_out_inputs] or held_out_strings(ctx.seed, entry.key)
        expected = ctx.serve(inputs)
    if answer.code:
        run = run_code(answer.code, inputs, confine=ctx.confine)
        out["error"] = run.first_error()
        if not run.error:
            out["code_exact"] = sum(o == e for o, e in zip(run.outputs, expected)) / len(inputs)
    else:
        out["error"] = "no code in the answer"
    out["score"] = out["code_exact"]
    return out


def score_description(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    if not entry.unit_tests:
        raise RuntimeError(f"{entry.key}: no multiple-choice unit tests to score the description with")
    mc = multiple_choice_accuracy(ctx.judge, entry.category, answer.description, entry.unit_tests)
    return {"score": mc, "description_mc": mc, "error": None}


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf/nan: store them as strings so results.jsonl stays valid JSON."""
    return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
