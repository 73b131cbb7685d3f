"""`aia report RUN_DIR`: a static HTML report of a run that anyone can browse offline.

A run directory is the record of a benchmark; reading it means reading JSON lines. The report
turns it into pages a person can skim: `report/index.html` (run metadata, the summary by
category and variant, a sortable and filterable list of investigations) and one page per
investigation (`report/<category>/<id>.html`: answer, scores against their baselines, the
hypothesis ledger as a timeline, the transcript with its images).

The pages are self-contained (inline CSS, a few lines of inline JS, images copied beside the
pages), so a report can be zipped, mailed or opened from `file://` with no network. Every
text that comes from a run (descriptions, code, observations) is untrusted and goes through
jinja2's autoescape. Long texts are clipped (the transcript keeps them whole) so that a full
FIND run (2,275 investigations) stays small and builds in seconds.

Pages are fed by a generic `InvestigationView`, not by a results row directly: label runs
(`labels.jsonl`, with per-token exemplars) and chat sessions will build the same view from
their own records and reuse the same templates.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

import prompts
from agent.transcript import TRANSCRIPT_NAME, read_transcript

from .runner import RESULTS, RUN_META, RunError, read_results
from .summary import summarize

REPORT_DIR = "report"
#: A file in every report directory: only a directory holding it may be replaced by a rebuild.
MARKER = ".aia-report"
TEMPLATE_DIR = Path(prompts.__file__).parent / "report"
#: Texts longer than this are cut on the page (the transcript on disk keeps them whole); tool-call
#: arguments are cut shorter, as the observation that follows usually repeats the inputs.
CLIP_CHARS = 1000
ARGUMENT_CHARS = 200
#: Texts longer than this (or with more lines) are shown collapsed in a <details>.
COLLAPSE_CHARS = 400
COLLAPSE_LINES = 8
#: Category and id become file names: nothing that could climb out of the report directory.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IMAGE_NAME = re.compile(r"^images/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ReportError(Exception):
    """A run directory the report cannot be built from (missing run.json, unsafe ids, ...)."""


# ----------------------------------------------------------------------------- the page model

@dataclass
class Clip:
    """A text ready for a page: cut to a length, with what was cut and whether to collapse it."""

    text: str
    omitted: int = 0
    collapsed: bool = False

    @property
    def preview(self) -> str:
        """The first line, shortened: the <summary> of a collapsed text."""
        first = self.text.lstrip().split("\n", 1)[0]
        return first if len(first) <= 120 else first[:120] + "…"


def clip(text: Any, limit: int = CLIP_CHARS) -> Clip:
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=repr)
    omitted = max(0, len(text) - limit)
    text = text[:limit] if omitted else text
    return Clip(text, omitted, len(text) > COLLAPSE_CHARS or text.count("\n") >= COLLAPSE_LINES)


@dataclass
class ToolCallView:
    name: str
    arguments: Clip
    error: str | None = None


@dataclass
class Step:
    """One transcript event as the page shows it; `kind` picks its colour."""

    kind: str
    title: str
    round: int | None = None
    t: float | None = None
    body: Clip | None = None
    calls: list[ToolCallView] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


@dataclass
class HypothesisView:
    id: str
    statement: str
    status: str


@dataclass
class LedgerMove:
    """One entry of a hypothesis's history: `action` is proposed, supported, refuted or open."""

    hypothesis: str
    statement: str
    action: str
    status: str
    evidence: str


@dataclass
class LedgerRound:
    round: int
    moves: list[LedgerMove]


@dataclass
class TokenShade:
    """A token of an exemplar with the colour its activation gets (red positive, blue negative)."""

    token: str
    activation: float
    style: str


@dataclass
class ExemplarView:
    caption: str
    tokens: list[TokenShade]


@dataclass
class InvestigationView:
    """Everything an investigation page shows, whatever produced the investigation."""

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
    exemplars: list[ExemplarView] = field(default_factory=list)
    transcript_note: str | None = None


# ----------------------------------------------------------------------------- exemplars

def shade_tokens(pairs: Sequence[Sequence[Any]], scale: float | None = None) -> list[TokenShade]:
    """Colour `[[token, activation], ...]` by activation: opacity is |activation| / scale.

    `scale` defaults to the largest |activation| of these tokens; pass a shared one (the unit's
    maximum over all exemplars) so colours are comparable across exemplars.
    """
    tokens = []
    for n, pair in enumerate(pairs):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"exemplar token {n} is {pair!r}, expected [token, activation]")
        try:
            value = float(pair[1])
        except (TypeError, ValueError):
            raise ValueError(f"exemplar token {n} ({pair[0]!r}) has activation {pair[1]!r}, not a number") from None
        tokens.append((pair[0], value if math.isfinite(value) else 0.0))
    if scale is None:
        scale = max((abs(v) for _, v in tokens), default=0.0)
    out = []
    for token, value in tokens:
        alpha = min(1.0, abs(value) / scale) if scale > 0 else 0.0
        rgb = "220,60,30" if value >= 0 else "40,90,220"
        out.append(TokenShade(token, value, f"background:rgba({rgb},{alpha:.2f})"))
    return out


def exemplar_views(exemplars: Iterable[Any]) -> list[ExemplarView]:
    """Views of a label's exemplars: each a list of [token, activation], or {"caption", "tokens"}.

    All exemplars share one colour scale (the largest |activation| among them), so a weak
    exemplar looks weak next to a strong one.
    """
    items = []
    for n, ex in enumerate(exemplars):
        caption, pairs = (str(ex.get("caption") or ""), ex.get("tokens") or []) if isinstance(ex, dict) else ("", ex)
        items.append((caption or f"exemplar {n + 1}", shade_tokens(pairs)))  # validates every pair
    scale = max((abs(t.activation) for _, shades in items for t in shades), default=0.0)
    return [ExemplarView(caption, shade_tokens([(t.token, t.activation) for t in shades], scale or None))
            for caption, shades in items]


# ----------------------------------------------------------------------------- transcripts

def _ledger_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last ledger snapshot (a `hypotheses` event, or the ledger the `end` event carries)."""
    ledger: dict[str, Any] = {}
    for e in events:
        if e.get("type") in ("hypotheses", "end") and isinstance(e.get("ledger"), dict) and e["ledger"]:
            ledger = e["ledger"]
    return {k: h for k, h in ledger.items() if isinstance(h, dict)}


def _history(h: dict[str, Any]) -> list[tuple[int, str, str]]:
    out = []
    for entry in h.get("history") or []:
        if isinstance(entry, (list, tuple)) and len(entry) == 3:
            rnd, status, evidence = entry
            out.append((rnd if isinstance(rnd, int) else 0, str(status), str(evidence or "")))
    return out


def ledger_views(ledger: dict[str, Any]) -> tuple[list[HypothesisView], list[LedgerRound]]:
    """The final state of each hypothesis, and the round-by-round timeline of how it got there."""
    hypotheses = [HypothesisView(str(h.get("id", k)), str(h.get("statement", "")), str(h.get("status", "open")))
                  for k, h in ledger.items()]
    rounds: dict[int, list[LedgerMove]] = {}
    for key, h in ledger.items():
        for n, (rnd, status, evidence) in enumerate(_history(h)):
            if n == 0:
                action = "proposed" if status == "open" else f"proposed, {status}"
            else:
                action = status
            rounds.setdefault(rnd, []).append(
                LedgerMove(str(h.get("id", key)), str(h.get("statement", "")), action, status, evidence))
    return hypotheses, [LedgerRound(r, moves) for r, moves in sorted(rounds.items())]


def _image_urls(names: Any, log_dir: Path, page_dir: Path, prefix: str) -> list[str]:
    """Copy an event's images beside the page; returns their URLs relative to the page."""
    urls = []
    for name in names if isinstance(names, list) else []:
        source = log_dir / str(name)
        if not (isinstance(name, str) and _IMAGE_NAME.match(name) and source.is_file()):
            continue  # a missing or odd image path is left out, never followed out of the log dir
        target = page_dir / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        urls.append(f"{prefix}/{name}")
    return urls


def _ledger_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What a `hypotheses` event changed: the history entries added since the previous snapshot."""
    lines = []
    for key, h in after.items():
        if not isinstance(h, dict):
            continue
        old = before.get(key)
        seen = len(_history(old)) if isinstance(old, dict) else 0
        for _, status, evidence in _history(h)[seen:]:
            label = "proposed" if seen == 0 and status == "open" else status
            lines.append(f"{key} {label}: {h.get('statement', '')}" + (f"\n    evidence: {evidence}" if evidence else ""))
            seen += 1
    return "\n".join(lines) or "(no change)"


def transcript_steps(events: list[dict[str, Any]], log_dir: Path, page_dir: Path, prefix: str) -> list[Step]:
    """The events of a transcript as page steps (texts clipped, images copied beside the page)."""
    steps = []
    ledger: dict[str, Any] = {}
    for e in events:
        kind = e.get("type", "?")
        rnd = e.get("round") if isinstance(e.get("round"), int) else None
        t = e.get("t") if isinstance(e.get("t"), (int, float)) else None
        if kind == "start":
            body = f"task {e.get('task_id')} ({e.get('kind')}), backend {e.get('backend')}"
            if e.get("max_rounds"):
                body += f", at most {e['max_rounds']} rounds"
            if e.get("tools"):
                body += f"\ntools: {', '.join(map(str, e['tools']))}"
            steps.append(Step("start", "start", rnd, t, clip(body)))
        elif kind == "system":  # long and the same in every investigation: always collapsed
            steps.append(Step("system", "system prompt", rnd, t, replace(clip(e.get("text", "")), collapsed=True)))
        elif kind in ("user", "final_request"):
            steps.append(Step("user", "final request" if kind == "final_request" else "user", rnd, t,
                              clip(e.get("text", ""))))
        elif kind == "assistant":
            calls = [ToolCallView(str(c.get("name")), clip(c.get("arguments", {}), ARGUMENT_CHARS), c.get("error"))
                     for c in e.get("tool_calls") or [] if isinstance(c, dict)]
            u = e.get("usage") or {}
            title = "assistant"
            if u.get("input_tokens") or u.get("output_tokens"):
                title += f" · {u.get('input_tokens', 0)} in / {u.get('output_tokens', 0)} out tokens"
            steps.append(Step("assistant", title, rnd, t, clip(e.get("text", "")) if e.get("text") else None, calls))
        elif kind == "tool_result":
            err = bool(e.get("is_error"))
            steps.append(Step("error" if err else "observation", f"{'error' if err else 'observation'} · {e.get('name')}",
                              rnd, t, clip(e.get("text", "")),
                              images=_image_urls(e.get("images"), log_dir, page_dir, prefix)))
        elif kind == "hypotheses":
            after = e.get("ledger") if isinstance(e.get("ledger"), dict) else {}
            steps.append(Step("hypotheses", "hypotheses", rnd, t, clip(_ledger_changes(ledger, after))))
            ledger = after
        elif kind == "retry":
            steps.append(Step("retry", "retry", rnd, t, clip(
                f"attempt {e.get('attempt')} failed ({e.get('error')}); waited {e.get('wait', 0)} s")))
        elif kind == "error":
            steps.append(Step("error", "investigation error", rnd, t, clip(e.get("error", ""))))
        elif kind == "end":
            body = (f"stopped: {e.get('stop_reason')} after {e.get('rounds')} rounds, "
                    f"{e.get('black_box_calls')} black-box calls")
            if e.get("answer_problems"):
                body += "\nanswer problems: " + "; ".join(map(str, e["answer_problems"]))
            steps.append(Step("end", "end", rnd, t, clip(body)))
        else:
            steps.append(Step("other", str(kind), rnd, t, clip({k: v for k, v in e.items() if k not in ("type", "t")})))
    return steps


# ----------------------------------------------------------------------------- results rows

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
}


def _scores(row: dict[str, Any]) -> list[tuple[str, Any, str]]:
    scores = row.get("scores") or {}
    merged = {"score": row.get("score")} | {k: v for k, v in scores.items() if k not in ("error", "score")}
    known = [(k, merged[k], SCORE_NOTES[k]) for k in SCORE_NOTES if k in merged]
    return known + [(k, v, "") for k, v in merged.items() if k not in SCORE_NOTES]


def _facts(row: dict[str, Any], events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    usage = row.get("usage") or {}
    end = next((e for e in reversed(events) if e.get("type") == "end"), {})
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
    events: list[dict[str, Any]] = []
    note = None
    if (log_dir / TRANSCRIPT_NAME).is_file():
        events = [e for e in read_transcript(log_dir) if isinstance(e, dict)]
    else:
        note = "No transcript: this backend wrote none, or the investigation failed before it started one."
    hypotheses, timeline = ledger_views(_ledger_of(events))
    answer = row.get("answer") or next((e.get("answer") for e in reversed(events) if e.get("type") == "end"), None)
    return InvestigationView(
        key=row.get("key", f"{category}/{fid}"), variant=row.get("variant"),
        answer=answer if isinstance(answer, dict) else {}, error=row.get("error"), score=row.get("score"),
        scores=_scores(row), facts=_facts(row, events), hypotheses=hypotheses, timeline=timeline,
        steps=transcript_steps(events, log_dir, out / category, fid), transcript_note=note,
    )


def _check_rows(rows: list[Any]) -> None:
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ReportError(f"{RESULTS} line {n} holds {type(row).__name__}, expected a JSON object")
        for key in ("category", "id"):
            value = row.get(key)
            if not (isinstance(value, str) and _SAFE_NAME.match(value)):
                raise ReportError(f"{RESULTS} line {n}: {key} {value!r} cannot name a report page "
                                  "(letters, digits, '_', '.', '-' only)")


def _latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per function (the last one, as a resumed or rescored run means it)."""
    by_key = {row.get("key", f"{row.get('category')}/{row.get('id')}"): row for row in rows}
    return list(by_key.values())


# ----------------------------------------------------------------------------- rendering

def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and abs(value) < 1e-3:  # NMSEs near zero: 0.000 would hide their size
            return f"{value:.2e}"
        return f"{value:,.{digits}f}"
    return str(value)


def _score_class(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "none"
    return "hi" if value >= 0.8 else "mid" if value >= 0.4 else "lo"


@lru_cache(maxsize=1)
def _highlighter() -> tuple[PythonLexer, HtmlFormatter]:
    return PythonLexer(), HtmlFormatter(nowrap=True)  # building these costs more than highlighting a snippet


def _python(code: str | None) -> Markup:
    """Python source as escaped HTML with a few token classes (pygments escapes every token)."""
    lexer, formatter = _highlighter()
    return Markup(highlight(code or "", lexer, formatter))


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters |= {"num": _num, "score_class": _score_class, "python": _python}
    return env


def render_investigation(view: InvestigationView, index_href: str = "../index.html", title: str = "") -> str:
    """The HTML of one investigation page."""
    return _env().get_template("investigation.html.j2").render(v=view, index_href=index_href,
                                                                title=title or view.key)


def _summary_columns(summary: dict[str, Any]) -> list[str]:
    """Optional summary columns that some group has a value for (a numeric run has no judge)."""
    groups = [summary["overall"], *[g for c in summary["categories"].values() for g in [c, *c["by_variant"].values()]]]
    optional = ["find", "description_mc", "domain_iou", "judge_ceiling", "tabulated", "tokens", "cost_usd"]

    def has(g: dict[str, Any], k: str) -> bool:
        if k == "tokens":
            return bool(g.get("input_tokens") or g.get("output_tokens"))
        if k == "cost_usd":
            return bool(g.get(k))
        return g.get(k) is not None  # summarize() adds these keys only where some row has the score

    return [k for k in optional if any(has(g, k) for g in groups)]


def _prepare_out(out: Path) -> Path:
    """A fresh build directory beside `out`; refuses to touch an `out` that is not a report."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ReportError(f"{out} exists and is not an aia report (no {MARKER} in it); choose another output")
    building = out.with_name(f".{out.name}.building")
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    (building / MARKER).write_text("written by `aia report`; this directory is replaced when the report is rebuilt\n")
    return building


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
    (out / href).parent.mkdir(parents=True, exist_ok=True)
    (out / href).write_text(render_investigation(view), encoding="utf-8")
    score = view.score if isinstance(view.score, (int, float)) and not isinstance(view.score, bool) else None
    return ListedInvestigation(
        id=row["id"], category=row["category"], variant=str(row.get("variant") or ""), score=score,
        calls=row.get("black_box_calls"), rounds=row.get("rounds"), label=str(view.answer.get("label") or ""),
        error=str(row.get("error") or ""), href=href)


def build_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of `run_dir` (default `RUN_DIR/report`) and return its index.html.

    The report is built in a sibling directory and swapped in at the end, so a rebuild never
    leaves pages of two builds mixed (or stale pages of functions no longer in the results).
    """
    run_dir = Path(run_dir)
    meta_path = run_dir / RUN_META
    if not meta_path.is_file():
        raise ReportError(f"{run_dir} is not a run directory ({RUN_META} is missing)")
    try:
        meta = json.loads(meta_path.read_text())
        rows = read_results(run_dir / RESULTS)
    except (json.JSONDecodeError, RunError) as e:
        raise ReportError(f"cannot read the run in {run_dir}: {e}") from e
    if not isinstance(meta, dict):
        raise ReportError(f"{meta_path} holds {type(meta).__name__}, expected a JSON object")
    _check_rows(rows)
    rows = _latest(rows)
    out = Path(out) if out is not None else run_dir / REPORT_DIR
    building = _prepare_out(out)
    started = time.perf_counter()

    try:
        listed = [_write_page(row, run_dir, building) for row in rows]
        summary = summarize(rows, meta)
        index = _env().get_template("index.html.j2").render(
            meta=dict.fromkeys(META_SHOWN) | meta, summary=summary, columns=_summary_columns(summary), items=listed,
            categories=sorted(summary["categories"]), run_dir=str(run_dir.resolve()),
            built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()), build_seconds=time.perf_counter() - started)
        (building / "index.html").write_text(index, encoding="utf-8")
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    building.rename(out)
    return out / "index.html"
