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
from .judge import Judge, accuracy_of, judge_choices
from .numeric_scoring import FIND_GRID, detect_tabulation, interval_iou, nmse, solved, strict_points
from .string_held_out import held_out_strings

#: How many calls of a served script are averaged to estimate its noise-free output when the
#: suite carries no ground-truth code (official FIND directories).
NOISE_AVERAGING_CALLS = 8
#: How many failed string unit tests a row keeps (input / expected / got) for the report.
FAILED_TESTS_KEPT = 20


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
    grid = list(FIND_GRID)
    if not answer.code:
        out["error"] = "no code in the answer"
        out["curves"] = _curves(grid, ctx.serve(grid), None, None, truth_domain)
        return out
    held_out = strict_points(ctx.seed)
    if entry.variant == "mlp" and entry.ground_truth and entry.ground_truth.metadata.get("domain"):
        # An MLP approximates its function only on the domain it was trained on; beyond it, it
        # extrapolates linearly, which no description of the function could predict.
        lo, hi = entry.ground_truth.metadata["domain"]
        held_out = [x for x in held_out if lo <= x <= hi]
    run = run_code(answer.code, grid + held_out, confine=ctx.confine)
    if run.error:
        out["error"] = run.error
        out["curves"] = _curves(grid, ctx.serve(grid), None, None, truth_domain)
        return out
    pred_grid, pred_held = run.outputs[: len(grid)], run.outputs[len(grid):]
    # FIND: any exception scores 0 (a None output where the reference is finite makes NMSE inf).
    served = ctx.serve(grid)
    out["find_nmse"] = nmse(served, pred_grid)
    out["find"] = solved(out["find_nmse"])
    # The noise-free reference on the grid too, for the report's plot (one run with the held-out points).
    on_grid = bool(entry.ground_truth and entry.ground_truth.code)
    reference = _noise_free_reference(entry, held_out + (grid if on_grid else []), ctx)
    out["strict_nmse"] = nmse(reference[: len(held_out)], pred_held)
    tab = detect_tabulation(answer.code)
    out["tabulated"] = tab.tabulated
    if tab.tabulated:
        out["error"] = f"tabulated answer: {tab.reason}"
    out["score"] = 0.0 if tab.tabulated else solved(out["strict_nmse"])
    out["error"] = out["error"] or run.first_error()
    out["curves"] = _curves(grid, served, pred_grid, reference[len(held_out):] if on_grid else None, truth_domain)
    return _json_safe(out)


def _plot_value(v: Any) -> float | None:
    """A curve point as the report plots it: 5 significant digits, None where there is no finite value."""
    y = output_as_float(v)
    return float(f"{y:.5g}") if math.isfinite(y) else None


def _curves(grid: list[float], served: list[Any], answer: list[Any] | None, reference: list[Any] | None,
            truth_domain: tuple[float, float] | None) -> dict[str, Any]:
    """What the report plots for a numeric function (never shown to an investigator): on FIND's grid,
    the served outputs (noise included; all there is for a FIND release), the answer code's outputs
    and the noise-free reference where the suite has one, and the interval that behaves differently."""
    return {"x": grid, "served": [_plot_value(v) for v in served],
            "answer": None if answer is None else [_plot_value(v) for v in answer],
            "reference": None if reference is None else [_plot_value(v) for v in reference],
            "truth_domain": list(truth_domain) if truth_domain else None}


def score_strings(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    out: dict[str, Any] = {"score": 0.0, "code_exact": 0.0, "description_mc": None, "error": None}
    if entry.unit_tests:
        inputs = [it.inputs[it.correct] for it in entry.unit_tests]
        expected = [it.outputs[it.correct] for it in entry.unit_tests]  # type: ignore[index]
        out["description_mc"], out["mc_items"] = _judged(ctx.judge, entry, answer.description)
    else:  # a directory of scripts without unit tests: the reference script itself is the oracle
        inputs = [str(x) for x in entry.held_out_inputs] or held_out_strings(ctx.seed, entry.key)
        expected = ctx.serve(inputs)
    if answer.code:
        run = run_code(answer.code, inputs, confine=ctx.confine)
        out["error"] = run.first_error()
        if not run.error:
            out["code_exact"] = sum(o == e for o, e in zip(run.outputs, expected)) / len(inputs)
        # The failed tests as input / expected / got, for the report (the first FAILED_TESTS_KEPT).
        got = [f"error: {run.error}"] * len(inputs) if run.error else [
            o if err is None else f"error: {err}" for o, err in zip(run.outputs, run.errors)]
        failed = [{"input": x, "expected": e, "got": g} for x, e, g, o in
                  zip(inputs, expected, got, run.outputs or [None] * len(inputs)) if run.error or o != e]
        out["code_tests"] = {"n": len(inputs), "n_failed": len(failed), "failed": failed[:FAILED_TESTS_KEPT]}
    else:
        out["error"] = "no code in the answer"
    out["score"] = out["code_exact"]
    return out


def score_description(entry: SuiteEntry, answer: Answer, ctx: ScoringContext) -> dict[str, Any]:
    if not entry.unit_tests:
        raise RuntimeError(f"{entry.key}: no multiple-choice unit tests to score the description with")
    mc, items = _judged(ctx.judge, entry, answer.description)
    return {"score": mc, "description_mc": mc, "error": None, "mc_items": items}


def _judged(judge: Judge, entry: SuiteEntry, description: str) -> tuple[float | None, list[dict[str, Any]]]:
    """The description's multiple-choice accuracy, and each item with the judge's choice and the
    right one (for the report; None: the judge could not tell)."""
    choices = judge_choices(judge, entry.category, description, entry.unit_tests)
    items = [{"inputs": list(it.inputs), "outputs": None if it.outputs is None else list(it.outputs),
              "correct": it.correct, "choice": choice} for it, choice in zip(entry.unit_tests, choices)]
    return accuracy_of(choices, [it.correct for it in entry.unit_tests]), items


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf/nan: store them as strings so results.jsonl stays valid JSON."""
    return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
