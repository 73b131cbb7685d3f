"""Summaries of a run: per category and variant, the headline score and what it cost.

The strict score is the headline for numeric functions; FIND's own protocol is shown beside it.
Multiple-choice categories show the judge's ceiling (ground-truth descriptions) and floor (empty
descriptions), so a score can be read against what the judge itself can tell apart, and how many
items the judge could not judge (left out of the accuracies); the judge is named under the table.
A function scored None (its judge judged none of its items) is left out of the mean score.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from prompts import render

#: A row's `status`: the function was investigated and scored (its score may be 0), or the
#: investigation failed (a crash, a backend or script that failed): no score, left out of means.
OK, ERROR = "ok", "error"


def row_status(row: dict[str, Any]) -> str:
    """A row's status; rows written before rows carried one are errors when they have an error and
    no answer (an exception or a crash), or every output of the function failed."""
    if "status" in row:
        return str(row["status"])
    error = str(row.get("error") or "")
    if error and ("answer" not in row or error.startswith("every output of the function failed")):
        return ERROR
    return OK


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return round(statistics.fmean(vals), 4) if vals else None


def _median(values: Iterable[Any]) -> float | None:
    vals = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(vals) if vals else None


def _group(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One group's numbers. Means are over the scored rows only: an errored row (a crash, a failed
    backend) has no score, and is counted in `errors`, never averaged in as a 0."""
    all_rows = rows
    rows = [r for r in all_rows if row_status(r) != ERROR]
    scores = [r.get("scores", {}) for r in rows]
    usage = [r.get("usage") or {} for r in all_rows]
    out: dict[str, Any] = {
        "n": len(all_rows),
        "scored": len(rows),
        "score": _mean(r.get("score", 0.0) for r in rows),
        "median_black_box_calls": _median(r.get("black_box_calls") for r in rows),
        "mean_seconds": _mean(r.get("seconds") for r in rows),
        "input_tokens": sum(u.get("input_tokens", 0) for u in usage),
        "output_tokens": sum(u.get("output_tokens", 0) for u in usage),
        "cached_input_tokens": sum(u.get("cached_input_tokens", 0) for u in usage),
        "cost_usd": round(sum(u.get("cost_usd", 0.0) for u in usage), 6),
        "errors": len(all_rows) - len(rows),
    }
    for key in ("find", "domain_iou", "description_mc", "judge_ceiling", "judge_floor"):
        if any(key in s and s[key] is not None for s in scores):
            out[key] = _mean(s.get(key) for s in scores)
    if any("tabulated" in s for s in scores):
        out["tabulated"] = sum(1 for s in scores if s.get("tabulated"))
    if any("unjudged" in s for s in scores):
        out["unjudged"] = sum(s.get("unjudged") or 0 for s in scores)
    return out


def summarize(rows: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    categories: dict[str, Any] = {}
    for category in sorted({r["category"] for r in rows}):
        in_cat = [r for r in rows if r["category"] == category]
        categories[category] = _group(in_cat) | {
            "by_variant": {v: _group([r for r in in_cat if r.get("variant") == v])
                           for v in sorted({r.get("variant", "?") for r in in_cat})}}
    return {
        "backend": meta.get("backend"), "suite": meta.get("suite"), "seed": meta.get("seed"),
        "judge": meta.get("judge"), "isolation": meta.get("isolation"), "versions": meta.get("versions"),
        "scoring_seed": meta.get("scoring_seed"), "price_known": meta.get("price_known"),
        "overall": _group(rows), "categories": categories,
    }


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1))
    tmp.replace(path)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _calls(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    groups = [g for c in summary["categories"].values() for g in [c, *c["by_variant"].values()]]
    optional = {  # columns shown only when some row has a value
        "find": "find", "description_mc": "descr. MC", "judge_ceiling": "judge ceil/floor",
        "unjudged": "unjudged", "tabulated": "tabulated", "input_tokens": "tokens", "cost_usd": "cost $",
    }
    # an LLM without a price in the table: its dollars are unknown, not $0
    unknown_price = summary.get("price_known") is False
    shown = [k for k in optional if any(g.get(k) for g in groups) or (k == "cost_usd" and unknown_price
                                                                     and any(g.get("input_tokens") for g in groups))]
    table = Table(title=f"aia bench · backend {summary['backend']}")
    for col in ["category", "variant", "n", "score", *[optional[k] for k in shown], "calls (median)", "errors"]:
        table.add_column(col, justify="left" if col in ("category", "variant") else "right", no_wrap=True)
    for category, c in summary["categories"].items():
        for i, (variant, g) in enumerate([("all", c), *c["by_variant"].items()]):
            cells = {
                "find": _fmt(g.get("find")), "description_mc": _fmt(g.get("description_mc")),
                "judge_ceiling": f"{_fmt(g.get('judge_ceiling'))}/{_fmt(g.get('judge_floor'))}",
                "unjudged": _fmt(g.get("unjudged")), "tabulated": _fmt(g.get("tabulated")),
                "input_tokens": str(g["input_tokens"] + g["output_tokens"]),
                "cost_usd": "unknown" if unknown_price else _fmt(g["cost_usd"]),
            }
            table.add_row(category if i == 0 else "", variant, str(g["n"]), _fmt(g["score"]),
                          *[cells[k] for k in shown], _calls(g["median_black_box_calls"]), str(g["errors"]),
                          style="bold" if i == 0 else None)
        table.add_section()
    console.print(table)
    console.print(f"judge: {summary.get('judge')}", highlight=False)
    errors = summary.get("overall", {}).get("errors")
    if errors:
        console.print(f"errored: {errors} of {summary['overall']['n']} functions have no score (not counted in "
                      "the means; their rows say why; resume with --retry-errors to investigate them again)",
                      highlight=False, style="bold yellow")
    if unknown_price:
        console.print("cost: unknown (no price for this model in the table; AIA_PRICES names a JSON file "
                      "of prices, see aia bench --help)", highlight=False, style="yellow")
    stopped = summary.get("stopped")
    if stopped and stopped.get("reason") == "budget":
        console.print(f"stopped for budget: ${stopped['spent_usd']:.4f} spent of --max-usd {stopped['max_usd']:g}, "
                      f"{stopped['not_started']} functions not started", highlight=False, style="bold yellow")
    if summary.get("isolation"):
        console.print(f"isolation: {summary['isolation']}", highlight=False, style="bold red" if str(
            summary["isolation"]).startswith("none: --unconfined") else None)
    console.print(render("summary_legend"))
