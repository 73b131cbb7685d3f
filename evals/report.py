"""`aia report PATH`: a static HTML report of a bench run, a label run or a chat session.

A run directory is the record of a benchmark; reading it means reading JSON lines. The report
turns it into pages a person can skim, self-contained (inline CSS, a few lines of inline JS,
images copied beside the pages) so that it can be zipped, mailed or opened from `file://` with
no network. `build_report` dispatches on the `kind` of the directory's record (`RunDirectory.open_existing`):

- a bench run (`run.json`, `results.jsonl`, written by `aia bench`): built here;
  `report/index.html` (run metadata, the summary by category and variant, a sortable and
  filterable list of investigations) and one page per investigation
  (`report/<category>/<id>.html`: answer, scores against their baselines, the hypothesis ledger
  as a timeline, the transcript with its images);
- a label run (kind "label": `config.json`, `labels.jsonl`, written by `aia label`): `evals.report_label`;
- a chat session (kind "chat": `session.json`, written by `aia chat`): `evals.report_chat`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tools.run_dir import KINDS, RunDirectory, RunError, read_results

from .report_chat import build_chat_report
from .report_common import (
    REPORT_DIR,
    SAFE_NAME,
    HypothesisView,
    LedgerRound,
    ReportError,
    Step,
    building,
    ledger_of,
    ledger_views,
    read_events,
    read_json_object,
    render,
    transcript_steps,
    write_page,
)
from .report_label import build_label_report
from .report_plot import NumericPlot, numeric_plot, observations
from .runner import RESULTS, RUN_META
from .summary import summarize


def detect_kind(path: Path) -> str:
    """The kind of run `path` holds, as its record says (`RunDirectory.open_existing`, which alone
    knows older directories by their file names); a ReportError when it holds none."""
    try:
        kind, _ = RunDirectory.open_existing(Path(path))
    except RunError as e:
        raise ReportError(str(e)) from None
    return kind


#: A report builder for each kind of run directory that has one.
BUILDERS: dict[str, Callable[[Path, Path | None], Path]] = {}


def build_report(path: Path, out: Path | None = None) -> Path:
    """Write the HTML report of a bench run, label run or chat session (default `PATH/report`);
    returns its index.html. The builder is chosen by the record's `kind`."""
    kind = detect_kind(path)
    if kind not in BUILDERS:
        raise ReportError(f"{path} holds a {KINDS[kind][2] if kind in KINDS else repr(kind)} run; "
                          f"reports exist for {', '.join(BUILDERS)} directories")
    return BUILDERS[kind](Path(path), out)


# ----------------------------------------------------------------------------- results rows

@dataclass
class InvestigationView:
    """Everything a bench investigation page shows."""

    key: str
    variant: str | None
    answer: dict[str, Any]
    error: str | None = None
    score: float | None = None
    scores: list[tuple[str, Any, str]] = field(default_factory=list)  # (name, value, what it means)
    facts: list[tuple[str, Any]] = field(default_factory=list)
    hypotheses: list[HypothesisView] = field(default_factory=list)
    timeline: list[LedgerRound] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    transcript_note: str | None = None
    plot: NumericPlot | None = None
    code_tests: dict[str, Any] | None = None
    mc_items: list[ChoiceItem] = field(default_factory=list)


@dataclass
class ChoiceItem:
    """One multiple-choice unit test as the judge answered it: the three (input, output) choices
    (output None for entities), the right one, the judge's (None: not judged), and the outcome."""

    choices: list[tuple[Any, Any]]
    correct: int
    choice: int | None

    @property
    def outcome(self) -> str:
        return "unjudged" if self.choice is None else "ok" if self.choice == self.correct else "wrong"


def choice_items(raw: Any) -> list[ChoiceItem]:
    """The scorer's `mc_items` (evals.scoring) as views; a malformed record is left out, not fatal."""
    items = []
    for it in raw if isinstance(raw, list) else []:
        if not (isinstance(it, dict) and isinstance(it.get("inputs"), list) and isinstance(it.get("correct"), int)):
            continue
        raw_outputs = it.get("outputs")
        outputs: list[Any] = raw_outputs if isinstance(raw_outputs, list) else [None] * len(it["inputs"])
        choice = it.get("choice")
        items.append(ChoiceItem(list(zip(it["inputs"], outputs)), it["correct"],
                                choice if isinstance(choice, int) and not isinstance(choice, bool) else None))
    return items


def _code_tests(raw: Any) -> dict[str, Any] | None:
    """The scorer's `code_tests` record when it is well formed (older rows have none)."""
    if not (isinstance(raw, dict) and isinstance(raw.get("n"), int) and isinstance(raw.get("failed"), list)):
        return None
    failed = [f for f in raw["failed"] if isinstance(f, dict) and {"input", "expected", "got"} <= set(f)]
    return {"n": raw["n"], "n_failed": raw.get("n_failed", len(failed)), "failed": failed}


def render_investigation(view: InvestigationView, index_href: str = "../index.html", title: str = "") -> str:
    """The HTML of one investigation page."""
    return render("investigation.html.j2", v=view, index_href=index_href, title=title or view.key)


#: Scores shown on an investigation page, in this order, with what each one means.
SCORE_NOTES: dict[str, str] = {
    "score": "headline score",
    "find": "FIND's own numeric protocol",
    "strict_nmse": "NMSE on held-out points against the noise-free reference",
    "find_nmse": "NMSE under FIND's protocol",
    "tabulated": "the code is a lookup table (scored 0)",
    "domain_iou": "overlap of the answered domain with the true one",
    "code_exact": "code output matches on the unit tests",
    "description_mc": "multiple-choice accuracy of the description",
    "judge_ceiling": "the judge's accuracy with the ground-truth description",
    "judge_floor": "the judge's accuracy with an empty description",
    "unjudged": "unit tests the judge could not judge (left out of the accuracy)",
}


#: Records a row's scores carry for the report's views, not scores to list.
SCORE_RECORDS = ("error", "score", "curves", "code_tests", "mc_items")


def _scores(row: dict[str, Any]) -> list[tuple[str, Any, str]]:
    scores = row.get("scores") or {}
    merged = {"score": row.get("score")} | {k: v for k, v in scores.items() if k not in SCORE_RECORDS}
    known = [(k, merged[k], SCORE_NOTES[k]) for k in SCORE_NOTES if k in merged]
    return known + [(k, v, "") for k, v in merged.items() if k not in SCORE_NOTES]


def _facts(row: dict[str, Any], events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    usage = row.get("usage") or {}
    end: dict[str, Any] = next((e for e in reversed(events) if e["type"] == "end"), {})
    facts: list[tuple[str, Any]] = [("black-box calls", row.get("black_box_calls")), ("rounds", row.get("rounds")),
                                    ("seconds", row.get("seconds")), ("stop reason", end.get("stop_reason"))]
    if usage.get("llm_calls") or usage.get("input_tokens"):
        facts += [("LLM calls", usage.get("llm_calls")), ("input tokens", usage.get("input_tokens")),
                  ("output tokens", usage.get("output_tokens")), ("cost (USD)", usage.get("cost_usd"))]
    return [(k, v) for k, v in facts if v is not None]


def page_path(category: str, fid: str) -> str:
    """Where an investigation's page lives, relative to the report root."""
    return f"{category}/{fid}.html"


def investigation_from_result(row: dict[str, Any], run_dir: Path, out: Path) -> InvestigationView:
    """The view of one results row, with its transcript (when the backend wrote one)."""
    category, fid = row["category"], row["id"]
    log_dir = run_dir / category / fid
    events, note = read_events(
        log_dir, "No transcript: this backend wrote none, or the investigation failed before it started one.")
    hypotheses, timeline = ledger_views(ledger_of(events), events)
    answer = row.get("answer") or next((e["answer"] for e in reversed(events) if e["type"] == "end"), None)
    answer = answer if isinstance(answer, dict) else {}
    raw_scores = row.get("scores")
    scores: dict[str, Any] = raw_scores if isinstance(raw_scores, dict) else {}
    plot = None
    if category == "numeric":
        seen, unrecorded = observations(events)
        plot = numeric_plot(scores.get("curves"), seen, unrecorded, answer.get("domain"))
    return InvestigationView(
        key=row.get("key", f"{category}/{fid}"), variant=row.get("variant"),
        answer=answer, error=row.get("error"), score=row.get("score"),
        scores=_scores(row), facts=_facts(row, events), hypotheses=hypotheses, timeline=timeline,
        steps=transcript_steps(events, log_dir, out / category, fid), transcript_note=note,
        plot=plot, code_tests=_code_tests(scores.get("code_tests")), mc_items=choice_items(scores.get("mc_items")),
    )


def _check_rows(rows: list[Any]) -> None:
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ReportError(f"{RESULTS} line {n} holds {type(row).__name__}, expected a JSON object")
        for key in ("category", "id"):
            value = row.get(key)
            if not (isinstance(value, str) and SAFE_NAME.match(value)):
                raise ReportError(f"{RESULTS} line {n}: {key} {value!r} cannot name a report page "
                                  "(letters, digits, '_', '.', '-' only)")


def _latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per function (the last one, as a resumed or rescored run means it)."""
    by_key = {row.get("key", f"{row.get('category')}/{row.get('id')}"): row for row in rows}
    return list(by_key.values())


def _summary_columns(summary: dict[str, Any]) -> list[str]:
    """Optional summary columns that some group has a value for (a numeric run has no judge)."""
    groups = [summary["overall"], *[g for c in summary["categories"].values() for g in [c, *c["by_variant"].values()]]]
    optional = ["find", "description_mc", "domain_iou", "judge_ceiling", "unjudged", "tabulated", "tokens",
                "cost_usd"]

    def has(g: dict[str, Any], k: str) -> bool:
        if k == "tokens":
            return bool(g.get("input_tokens") or g.get("output_tokens"))
        if k in ("cost_usd", "unjudged"):
            return bool(g.get(k))
        return g.get(k) is not None  # summarize() adds these keys only where some row has the score

    return [k for k in optional if any(has(g, k) for g in groups)]


@dataclass
class ListedInvestigation:
    """One line of the index's list of investigations."""

    id: str
    category: str
    variant: str
    score: float | None
    calls: int | None
    rounds: int | None
    label: str
    error: str
    href: str


#: run.json fields the index shows (absent ones show as "–").
META_SHOWN = ("backend", "suite", "seed", "judge", "max_rounds", "budget", "created", "platform", "versions",
              "suite_manifest")


def _write_page(row: dict[str, Any], run_dir: Path, out: Path) -> ListedInvestigation:
    view = investigation_from_result(row, run_dir, out)
    href = page_path(row["category"], row["id"])
    write_page(out, href, render_investigation(view))
    score = view.score if isinstance(view.score, (int, float)) and not isinstance(view.score, bool) else None
    return ListedInvestigation(
        id=row["id"], category=row["category"], variant=str(row.get("variant") or ""), score=score,
        calls=row.get("black_box_calls"), rounds=row.get("rounds"), label=str(view.answer.get("label") or ""),
        error=str(row.get("error") or ""), href=href)


def build_bench_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of the bench run in `run_dir` and return its index.html."""
    meta_path = run_dir / RUN_META
    if not meta_path.is_file():
        raise ReportError(f"{run_dir} is not a bench run directory ({RUN_META} is missing)")
    meta = read_json_object(meta_path)
    try:
        rows = read_results(run_dir / RESULTS)
    except RunError as e:
        raise ReportError(f"cannot read the run in {run_dir}: {e}") from e
    _check_rows(rows)
    rows = _latest(rows)
    started = time.perf_counter()
    out = Path(out) if out is not None else run_dir / REPORT_DIR
    with building(out) as root:
        listed = [_write_page(row, run_dir, root) for row in rows]
        summary = summarize(rows, meta)
        write_page(root, "index.html", render(
            "index.html.j2", meta=dict.fromkeys(META_SHOWN) | meta, summary=summary,
            columns=_summary_columns(summary), items=listed, categories=sorted(summary["categories"]),
            run_dir=str(run_dir.resolve()), built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            build_seconds=time.perf_counter() - started))
    return out / "index.html"


BUILDERS.update(bench=build_bench_report, label=build_label_report, chat=build_chat_report)
