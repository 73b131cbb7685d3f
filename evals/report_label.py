"""The HTML report of a label run (`aia label`): which units got which labels, and whether the
labels beat their baselines.

A label is only worth its margin over cheap baselines (a random word, the unit's most frequent
top token), so every score is shown beside both: in the index (one sortable row per unit), in
the summary (means, margins, the share of units beating the top-token baseline, per unit kind)
and on each unit's page (with its description, evidence, exemplars shaded token by token,
held-out ones marked, the head role where there is one, the ledger timeline and transcript).

Input: RUN_DIR/labels.jsonl (one row per unit, see the row format in `evals.label_runner`),
RUN_DIR/config.json, RUN_DIR/summary.json (both optional: a run in progress has no summary yet),
RUN_DIR/<unit>/transcript.jsonl (optional per unit). A run killed mid-write leaves a torn last
line: it is skipped, as is a unit without transcript.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.registry import is_llm
from tools.run_dir import RunError, read_results

from .report_common import (
    REPORT_DIR,
    SAFE_NAME,
    ExemplarView,
    HypothesisView,
    LedgerRound,
    ReportError,
    Step,
    building,
    exemplar_views,
    ledger_of,
    ledger_views,
    read_events,
    read_json_object,
    render,
    transcript_steps,
    write_page,
)
from .report_plot import Histogram, histogram

LABELS = "labels.jsonl"
LABEL_CONFIG = "config.json"
LABEL_SUMMARY = "summary.json"

#: The scores a label row carries, in display order, with what each measures (0.5 is chance
#: for the classification scores, 0 for the correlation).
SCORE_NOTES: dict[str, str] = {
    "simulation": "correlation of activations simulated from the description with the true ones (held-out exemplars)",
    "detection": "balanced accuracy telling held-out top exemplars from random ones, given the description",
    "fuzzing": "balanced accuracy telling the truly active tokens from random ones highlighted, given the description",
    "causal_contrast": "share of matched/control input pairs where the input written to match the description "
                       "fires more",
}
BASELINES = ("random", "top_token")
_KIND = re.compile(r"\.(neuron|head|dim)\.\d+$")


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: a mistyped field shows as missing."""
    return value if isinstance(value, dict) else {}


class _Margins:
    """The label's margins over the two baselines (None where either side is missing)."""

    label: float | None
    random: float | None
    top_token: float | None

    @property
    def over_random(self) -> float | None:
        return None if self.label is None or self.random is None else self.label - self.random

    @property
    def over_top_token(self) -> float | None:
        return None if self.label is None or self.top_token is None else self.label - self.top_token

    @property
    def standing(self) -> str:
        """The score read against its baselines, not a fixed cut-off: "hi" beats both, "mid" beats
        one of them, "lo" beats neither, "none" where the label or a baseline has no score."""
        if self.label is None or self.random is None or self.top_token is None:
            return "none"
        beaten = (self.label > self.random) + (self.label > self.top_token)
        return ("lo", "mid", "hi")[beaten]

    @property
    def beats_both(self) -> bool:
        return self.standing == "hi"


@dataclass
class ScoreRow(_Margins):
    """One score of a label beside the same score of the two baseline labels."""

    name: str
    note: str
    label: float | None
    random: float | None
    top_token: float | None


@dataclass
class UnitRow:
    """A labels.jsonl row, read defensively: anything missing or mistyped shows as "–"."""

    unit: str
    kind: str
    label: str
    description: str
    evidence: list[str]
    role: str | None
    backend: str
    error: str
    scores: list[ScoreRow]
    baseline_labels: list[tuple[str, str]]
    seconds: float | None
    usage: dict[str, float | None]
    exemplars: Any

    @property
    def href(self) -> str:
        return unit_page(self.unit)

    @property
    def beaten(self) -> tuple[int, int]:
        """(scores on which the label beats both baselines, scores it can be compared on)."""
        comparable = [s for s in self.scores if s.standing != "none"]
        return sum(s.beats_both for s in comparable), len(comparable)

    @property
    def tokens(self) -> int | None:
        parts = [self.usage.get("input_tokens"), self.usage.get("output_tokens")]
        return None if all(p is None for p in parts) else int(sum(p or 0 for p in parts))


def unit_page(unit: str) -> str:
    """Where a unit's page lives, relative to the report root."""
    return f"units/{unit}.html"


def _score_names(rows: list[dict[str, Any]]) -> list[str]:
    """The contract's score keys in their order, then any other key some row carries."""
    extra = []
    for row in rows:
        for k in _obj(row.get("scores")):
            if k not in SCORE_NOTES and k not in extra:
                extra.append(k)
    return list(SCORE_NOTES) + extra


def unit_row(row: dict[str, Any], names: list[str]) -> UnitRow:
    """The view of one labels.jsonl row (`row["unit"]` already checked to be a safe name)."""
    scores = _obj(row.get("scores"))
    base = {b: _obj(_obj(row.get("baselines")).get(b)) for b in BASELINES}
    base_scores = {b: _obj(base[b].get("scores")) for b in BASELINES}
    usage = _obj(row.get("usage"))
    evidence = row.get("evidence")
    kind = row.get("kind")
    if not isinstance(kind, str) or not kind:
        found = _KIND.search(row["unit"])
        kind = found.group(1) if found else "unit"
    return UnitRow(
        unit=row["unit"], kind=kind, label=str(row.get("label") or ""), description=str(row.get("description") or ""),
        evidence=[str(e) for e in evidence] if isinstance(evidence, list) else [],
        role=str(row["role"]) if row.get("role") else None, backend=str(row.get("backend") or ""),
        error=str(row.get("error") or ""),
        scores=[ScoreRow(n, SCORE_NOTES.get(n, ""), _float(scores.get(n)), _float(base_scores["random"].get(n)),
                         _float(base_scores["top_token"].get(n))) for n in names],
        baseline_labels=[(b.replace("_", "-"), str(base[b].get("label") or "–")) for b in BASELINES],
        seconds=_float(row.get("seconds")),
        usage={k: _float(usage.get(k)) for k in ("input_tokens", "output_tokens", "cost_usd", "llm_calls")},
        exemplars=row.get("exemplars"))


def read_label_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The complete rows of labels.jsonl (a torn last line skipped), the last one per unit."""
    try:
        rows = read_results(run_dir / LABELS)
    except RunError as e:
        raise ReportError(f"cannot read the label run in {run_dir}: {e}") from e
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ReportError(f"{LABELS} line {n} holds {type(row).__name__}, expected a JSON object")
        unit = row.get("unit")
        if not (isinstance(unit, str) and SAFE_NAME.match(unit)):
            raise ReportError(f"{LABELS} line {n}: unit {unit!r} cannot name a report page "
                              "(letters, digits, '_', '.', '-' only)")
    return list({row["unit"]: row for row in rows}.values())  # a resumed run: the last row wins


# ----------------------------------------------------------------------------- summary

@dataclass
class ScoreSummary(_Margins):
    """Means of one score over the units that have it, and how often the label beats the top token."""

    name: str
    n: int
    label: float | None
    random: float | None
    top_token: float | None
    beats_top_token: float | None


@dataclass
class Group:
    name: str
    units: int
    scores: list[ScoreSummary]


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def summarize_scores(units: list[UnitRow], names: list[str]) -> list[ScoreSummary]:
    """Per score: means over the units where the label and both baselines have it (failed units
    left out), so the three means always compare like with like (as `aia label`'s summary does);
    heads, for one, have no simulation score."""
    ok = [u for u in units if not u.error]
    out = []
    for i, name in enumerate(names):
        rows = [s for u in ok for s in [u.scores[i]] if None not in (s.label, s.random, s.top_token)]
        out.append(ScoreSummary(
            name, len(rows), _mean([s.label for s in rows]), _mean([s.random for s in rows]),
            _mean([s.top_token for s in rows]),
            sum(s.label > s.top_token for s in rows) / len(rows) if rows else None))  # type: ignore[operator]
    return out


def groups(units: list[UnitRow], names: list[str]) -> list[Group]:
    """All units, then each unit kind (neurons, heads, dims score differently); scores no unit has are left out."""
    kinds = sorted({u.kind for u in units})
    out = [Group("all units", len(units), summarize_scores(units, names))]
    if len(kinds) > 1:
        out += [Group(k, len(sel), summarize_scores(sel, names))
                for k in kinds for sel in [[u for u in units if u.kind == k]]]
    for g in out:
        g.scores = [s for s in g.scores if s.n]
    return out


def throughput(units: list[UnitRow], summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Units per minute (the run's own figure when summary.json has it), time, tokens and cost."""
    labeled = sum(u.seconds or 0.0 for u in units)
    per_minute = _float(summary.get("units_per_minute"))
    if per_minute is None and labeled > 0:
        per_minute = 60 * len(units) / labeled
    facts: list[tuple[str, Any]] = [("units labeled", len(units)), ("failed units", sum(bool(u.error) for u in units)),
                                    ("units per minute", per_minute),
                                    ("seconds labeling (sum)", labeled or None),
                                    ("wall seconds", _float(summary.get("wall_seconds")))]
    for key, name in (("input_tokens", "input tokens"), ("output_tokens", "output tokens"),
                      ("llm_calls", "LLM calls"), ("cost_usd", "cost (USD)")):
        values = [v for u in units for v in [u.usage[key]] if v is not None]
        if any(values):
            facts.append((name, int(sum(values)) if key != "cost_usd" else sum(values)))
    roles: dict[str, int] = {}
    for u in units:
        if u.role:
            roles[u.role] = roles.get(u.role, 0) + 1
    if roles:
        facts.append(("head roles", ", ".join(f"{r} {n}" for r, n in sorted(roles.items()))))
    return [(k, v) for k, v in facts if v is not None and (v or k != "failed units")]


# ----------------------------------------------------------------------------- unit pages

@dataclass
class QuantileBand:
    """Exemplars whose peak activation falls in one quantile band of the recorded exemplars' peaks."""

    name: str
    lo: float
    hi: float
    exemplars: list[ExemplarView]


#: Quantile bands of exemplar peaks, highest first: (name, lower quantile, upper quantile).
QUANTILES = (("top quarter", 0.75, 1.0), ("second quarter", 0.5, 0.75), ("third quarter", 0.25, 0.5),
             ("bottom quarter", 0.0, 0.25))


def _quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values, linearly interpolated."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def quantile_bands(exemplars: list[ExemplarView]) -> list[QuantileBand]:
    """The exemplars grouped by the quantile of their peak activation among the recorded ones,
    highest band first, strongest first within a band; an exemplar without values is left out.

    What the run records is the exemplar cache's top windows and a few random ones, not a sample
    of every activation level, so these are quantiles of what is there (the page says so)."""
    peaks = sorted(p for ex in exemplars for p in [_top(ex)] if p is not None)
    if not peaks:
        return []
    cuts = [(name, _quantile(peaks, lo), _quantile(peaks, hi)) for name, lo, hi in QUANTILES]
    bands = [QuantileBand(name, lo, hi, []) for name, lo, hi in cuts]
    def strength(ex: ExemplarView) -> float:
        peak = _top(ex)
        return -math.inf if peak is None else peak

    for ex in sorted(exemplars, key=strength, reverse=True):
        peak = _top(ex)
        if peak is None:
            continue
        band = next(b for b in bands if peak >= b.lo or b is bands[-1])
        band.exemplars.append(ex)
    return [b for b in bands if b.exemplars]


def _top(ex: ExemplarView) -> float | None:
    """An exemplar's highest activation (a unit's exemplars are ranked by how strongly it fires)."""
    values = [t.activation for t in ex.tokens if t.activation is not None]
    return max(values) if values else None


def simulate_exemplars(description: str, exemplars: list[ExemplarView], raw: Any) -> None:
    """Put the simulator's per-token predictions for `description` beside the real activations:
    those the row records (an exemplar's `simulated` list), else the offline simulator's, recomputed
    (deterministic: the predictions the run's simulation score was computed from)."""
    from evals.label_simulators import OfflineSimulator  # the lexical reader: loaded only for a page that needs it

    recorded = [ex.get("simulated") for group in raw.values() for ex in group]
    if all(isinstance(r, list) for r in recorded):  # the run recorded its simulator's predictions
        predictions = [[v if isinstance(v, (int, float)) else 0.0 for v in r] for r in recorded]  # type: ignore[union-attr]
    else:
        predictions = OfflineSimulator().simulate(description, [ex["tokens"] for group in raw.values() for ex in group])
    for view, pred in zip(exemplars, predictions, strict=True):
        for t, value in zip(view.tokens, pred, strict=True):
            if t.activation is not None:
                t.simulated = float(value)
                green = f"rgba(34,165,89,{min(1.0, max(0.0, float(value))) * 0.45:.2f})"  # over white, not the red
                t.sim_style = f"background:linear-gradient({green},{green}),#fff"


_QUOTED = re.compile(r"""['"‘’“”]([^'"‘’“”]{1,40})['"‘’“”]""")


def refuted_headline(label: str, hypotheses: list[HypothesisView]) -> list[tuple[str, HypothesisView]]:
    """Words of the label that the ledger refuted and never supported: (word, the refuted hypothesis).

    A label's terms ("his / him / he") are matched against the words hypotheses quote ("fires on
    'his'"); a word quoted by a refuted hypothesis and by no supported one means the headline
    rests on a claim the investigation itself rejected."""
    terms = {t.strip().lower() for t in re.split(r"[/,;|]", label) if t.strip()}

    def quoted(h: HypothesisView) -> set[str]:
        return {q.strip().lower() for q in _QUOTED.findall(h.statement)}

    supported = set().union(*[quoted(h) for h in hypotheses if h.status == "supported"])
    flagged = []
    for h in hypotheses:
        if h.status == "refuted":
            for word in sorted(quoted(h) & terms - supported):
                flagged.append((word, h))
    return flagged


@dataclass
class UnitPage:
    """Everything a unit's page shows."""

    row: UnitRow
    facts: list[tuple[str, Any]]
    exemplars: list[ExemplarView] = field(default_factory=list)
    exemplar_note: str | None = None
    bands: list[QuantileBand] = field(default_factory=list)
    histogram: Histogram | None = None
    simulation_note: str | None = None
    refuted: list[tuple[str, HypothesisView]] = field(default_factory=list)
    hypotheses: list[HypothesisView] = field(default_factory=list)
    timeline: list[LedgerRound] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    transcript_note: str | None = None
    prev_href: str | None = None
    next_href: str | None = None


def unit_view(row: UnitRow, run_dir: Path, root: Path, simulator: str = "offline") -> UnitPage:
    """The page of one unit, its transcript read and its images copied beside the page.

    `simulator` is the run's (config.json): the offline one is deterministic, so its per-token
    predictions are recomputed here beside the real activations; an LLM simulator's are not
    recorded by the run, and the page says so rather than show another reader's guesses."""
    events, note = read_events(
        run_dir / row.unit, "No transcript: this labeler wrote none, or the unit failed before it started one.")
    end: dict[str, Any] = next((e for e in reversed(events) if e["type"] == "end"), {})
    facts = [("backend", row.backend or None), ("seconds", row.seconds), ("stop reason", end.get("stop_reason")),
             ("rounds", end.get("rounds"))]
    if any(row.usage.values()):  # an offline labeler spends no tokens: four zeros would only be noise
        facts += [("LLM calls", row.usage["llm_calls"]), ("input tokens", row.usage["input_tokens"]),
                  ("output tokens", row.usage["output_tokens"]), ("cost (USD)", row.usage["cost_usd"])]
    page = UnitPage(row, [(k, int(v) if isinstance(v, float) and k.endswith(("tokens", "calls")) else v)
                          for k, v in facts if v is not None])
    try:
        page.exemplars = exemplar_views(row.exemplars or {})
    except ValueError as e:  # one unreadable row should not cost the whole report
        page.exemplar_note = f"The exemplars of this unit cannot be shown: {e}"
    else:
        if not page.exemplars:
            page.exemplar_note = "No exemplars were recorded for this unit."
    if page.exemplars:
        page.bands = quantile_bands(page.exemplars)
        groups: dict[str, list[float]] = {}
        for ex in page.exemplars:
            groups.setdefault(ex.group, []).extend(t.activation for t in ex.tokens if t.activation is not None)
        page.histogram = histogram(dict(sorted(groups.items(), key=lambda kv: kv[0] != "random")))
        if row.kind == "head":
            page.simulation_note = "Heads have no simulation score: no simulated activations to show."
        elif is_llm(simulator) and not all(
                isinstance(ex.get("simulated"), list) for g in row.exemplars.values() for ex in g):
            page.simulation_note = (f"The run's simulator ({simulator}) is an LLM whose per-token predictions the "
                                    "run does not record, so only the real activations are shown.")
        elif not row.description:
            page.simulation_note = "The unit has no description to simulate from."
        else:
            try:
                simulate_exemplars(row.description, page.exemplars, row.exemplars)
            except ValueError as e:  # recorded predictions that do not fit the tokens: shown without them
                page.simulation_note = f"The simulated activations cannot be shown: {e}"
    page.hypotheses, page.timeline = ledger_views(ledger_of(events), events)
    page.refuted = refuted_headline(row.label, page.hypotheses)
    page.steps = transcript_steps(events, run_dir / row.unit, root / "units", row.unit)
    page.transcript_note = note
    return page


# ----------------------------------------------------------------------------- build

def build_label_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of the label run in `run_dir` (default `RUN_DIR/report`); returns its index.html."""
    if not ((run_dir / LABELS).is_file() or (run_dir / LABEL_CONFIG).is_file()):
        raise ReportError(f"{run_dir} is not a label run directory (no {LABELS} or {LABEL_CONFIG})")
    config = read_json_object(run_dir / LABEL_CONFIG) if (run_dir / LABEL_CONFIG).is_file() else {}
    summary = read_json_object(run_dir / LABEL_SUMMARY) if (run_dir / LABEL_SUMMARY).is_file() else {}
    rows = read_label_rows(run_dir)
    names = _score_names(rows)
    units = [unit_row(r, names) for r in rows]
    used = [i for i, n in enumerate(names) if any(u.scores[i].label is not None for u in units)]
    started = time.perf_counter()
    out = Path(out) if out is not None else run_dir / REPORT_DIR
    simulator = str(config.get("simulator") or "offline")
    with building(out) as root:
        refuted: dict[str, list[str]] = {}
        for n, u in enumerate(units):
            page = unit_view(u, run_dir, root, simulator)
            page.prev_href = f"../{units[n - 1].href}" if n else None
            page.next_href = f"../{units[n + 1].href}" if n + 1 < len(units) else None
            refuted[u.unit] = [word for word, _ in page.refuted]
            write_page(root, u.href, render("unit.html.j2", p=page, r=u, index_href="../index.html",
                                            score_names=[names[i] for i in used]))
        write_page(root, "index.html", render(
            "label_index.html.j2", config=config, summary=summary, units=units, used=used,
            score_names=[names[i] for i in used], notes=SCORE_NOTES, groups=groups(units, names),
            throughput=throughput(units, summary), kinds=sorted({u.kind for u in units}),
            has_roles=any(u.role for u in units), has_errors=any(u.error for u in units),
            has_usage=any(u.tokens or u.usage["cost_usd"] for u in units), refuted=refuted,
            run_dir=str(run_dir.resolve()), built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            build_seconds=time.perf_counter() - started))
    return out / "index.html"
