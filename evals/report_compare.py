"""`aia report A B [...]`: runs of the same kind side by side.

Two backends benchmarked on one suite (or two labelers on the same units) are only worth
comparing item by item: a mean can hide that each solved what the other failed. The comparison
page puts the same functions (or units) in one table, one column group per run, gives the mean
per category (or unit kind) of each run over the items every run has, with its delta against the
first run, and lists first the items where the runs disagree. Runs of different kinds (a bench
run and a label run) cannot be compared and are refused by name.

It also says when the runs are not comparable as scored: different suites, or different
scoring seeds (held-out points and strings drawn differently), are shown as a warning at the top.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.run_dir import KINDS, RunError, read_results

from .report import _check_rows, _latest, detect_kind, page_path
from .report_common import REPORT_DIR, ReportError, building, read_json_object, render, write_page
from .report_label import LABEL_CONFIG, read_label_rows, unit_page, unit_row
from .report_label import SCORE_NOTES as LABEL_SCORES
from .runner import RESULTS, RUN_META

#: Two runs disagree on an item when its scores differ by more than this (or one of them failed).
DISAGREE = 0.1
#: The kinds of run a comparison exists for.
COMPARABLE = ("bench", "label")


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass
class Cell:
    """One run's result on one item: its score, what it answered, whether it failed, and a link."""

    score: float | None
    text: str = ""
    error: str = ""
    href: str | None = None
    judge: list[int | None] | None = None  # the judge's choice per multiple-choice item (bench rows that record it)


@dataclass
class Item:
    key: str
    group: str  # category (bench) or unit kind (label)
    cells: list[Cell | None]  # per run; None where the run lacks the item
    reasons: list[str] = field(default_factory=list)

    @property
    def disagree(self) -> bool:
        return bool(self.reasons)

    def delta(self, n: int) -> float | None:
        """Run n's score minus the first run's (None where either is missing)."""
        a, b = self.cells[0], self.cells[n]
        if a is None or b is None or a.score is None or b.score is None:
            return None
        return b.score - a.score


@dataclass
class GroupSummary:
    name: str
    n: int  # items every run has
    means: list[float | None]

    def delta(self, n: int) -> float | None:
        a, b = self.means[0], self.means[n]
        return None if a is None or b is None else b - a


@dataclass
class RunInfo:
    path: str
    name: str
    facts: list[tuple[str, Any]]
    items: int


def _link(run_dir: Path, href: str, out: Path) -> str | None:
    """A link from the comparison page to the run's own report page, when that report exists."""
    target = run_dir / REPORT_DIR / href
    return Path(os.path.relpath(target, out)).as_posix() if target.is_file() else None


def _bench_cells(run_dir: Path, out: Path) -> tuple[dict[str, tuple[str, Cell]], dict[str, Any]]:
    meta = read_json_object(run_dir / RUN_META) if (run_dir / RUN_META).is_file() else {}
    try:
        rows = read_results(run_dir / RESULTS)
    except RunError as e:
        raise ReportError(f"cannot read the run in {run_dir}: {e}") from e
    _check_rows(rows)
    cells = {}
    for row in _latest(rows):
        raw_scores, raw_answer = row.get("scores"), row.get("answer")
        scores: dict[str, Any] = raw_scores if isinstance(raw_scores, dict) else {}
        answer: dict[str, Any] = raw_answer if isinstance(raw_answer, dict) else {}
        items = scores.get("mc_items") if isinstance(scores.get("mc_items"), list) else None
        key = row.get("key") or f"{row['category']}/{row['id']}"
        cells[key] = (row["category"], Cell(
            _number(row.get("score")), str(answer.get("label") or answer.get("description") or ""),
            str(row.get("error") or ""), _link(run_dir, page_path(row["category"], row["id"]), out),
            [it.get("choice") if isinstance(it, dict) else None for it in items] if items else None))
    facts = [(k, meta.get(k)) for k in ("backend", "suite", "judge", "scoring_seed", "seed", "created")]
    return cells, {"facts": facts, "suite": meta.get("suite"), "scoring_seed": meta.get("scoring_seed")}


def _label_cells(run_dir: Path, out: Path) -> tuple[dict[str, tuple[str, Cell]], dict[str, Any]]:
    config = read_json_object(run_dir / LABEL_CONFIG) if (run_dir / LABEL_CONFIG).is_file() else {}
    rows = read_label_rows(run_dir)
    names = list(LABEL_SCORES)
    cells = {}
    for row in rows:
        u = unit_row(row, names)
        # a unit's headline for comparison: the mean of its scores over the label's scores it has
        present = [s.label for s in u.scores if s.label is not None]
        cells[u.unit] = (u.kind, Cell(sum(present) / len(present) if present else None, u.label, u.error,
                                      _link(run_dir, unit_page(u.unit), out)))
    facts = [(k, config.get(k)) for k in ("model", "backend", "simulator", "seed", "created")]
    return cells, {"facts": facts, "suite": config.get("model"), "scoring_seed": config.get("seed")}


def _reasons(item: Item) -> list[str]:
    """Why the runs disagree on an item (empty when they agree)."""
    present = [c for c in item.cells if c is not None]
    if len(present) < len(item.cells):
        return ["missing from some runs"]
    reasons = []
    failed = [bool(c.error) for c in present]
    if any(failed) and not all(failed):
        reasons.append("failed in some runs")
    scores = [c.score for c in present]
    if any(s is None for s in scores) and not all(s is None for s in scores):
        reasons.append("unscored in some runs")
    known = [s for s in scores if s is not None]
    if known and max(known) - min(known) > DISAGREE:
        reasons.append(f"scores differ by {max(known) - min(known):.3f}")
    choices = [c.judge for c in present]
    if all(ch is not None for ch in choices) and len({len(ch) for ch in choices if ch is not None}) == 1:
        differ = sum(len(set(col)) > 1 for col in zip(*[ch for ch in choices if ch is not None]))
        if differ:
            reasons.append(f"the judge chose differently on {differ} multiple-choice item{'s' * (differ > 1)}")
    return reasons


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def build_comparison(run_dirs: list[Path], out: Path) -> Path:
    """Write a page comparing `run_dirs` (two or more runs of one kind: bench or label) into `out`;
    returns its index.html. Raises ReportError for fewer than two runs, a directory that holds no
    run, or runs of different kinds (naming each run's kind)."""
    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ReportError("a comparison needs at least two run directories")
    kinds = [detect_kind(d) for d in run_dirs]
    if len(set(kinds)) > 1:
        listed = ", ".join(f"{d} is a {KINDS[k][2] if k in KINDS else f'{k} run'}" for d, k in zip(run_dirs, kinds))
        raise ReportError(f"cannot compare runs of different kinds: {listed}")
    kind = kinds[0]
    if kind not in COMPARABLE:
        raise ReportError(f"comparisons exist for {' and '.join(COMPARABLE)} runs; these are "
                          f"{KINDS[kind][2] if kind in KINDS else kind} directories")
    out = Path(out)
    started = time.perf_counter()
    read = _bench_cells if kind == "bench" else _label_cells
    per_run = [read(d, out) for d in run_dirs]
    names = _run_names(run_dirs)
    keys: dict[str, str] = {}
    for cells, _ in per_run:
        for key, (group, _cell) in cells.items():
            keys.setdefault(key, group)
    items = [Item(key, group, [cells[key][1] if key in cells else None for cells, _ in per_run])
             for key, group in sorted(keys.items(), key=lambda kv: (kv[1], kv[0]))]
    for item in items:
        item.reasons = _reasons(item)
    shared = [i for i in items if all(c is not None for c in i.cells)]
    groups = [GroupSummary("all", len(shared), [_mean([i.cells[n].score for i in shared])  # type: ignore[union-attr]
                                                for n in range(len(run_dirs))])]
    for g in sorted({i.group for i in items}):
        sel = [i for i in shared if i.group == g]
        groups.append(GroupSummary(g, len(sel), [_mean([i.cells[n].score for i in sel])  # type: ignore[union-attr]
                                                 for n in range(len(run_dirs))]))
    runs = [RunInfo(str(d.resolve()), name, info["facts"], len(cells))
            for d, name, (cells, info) in zip(run_dirs, names, per_run)]
    warnings = []
    suites = {str(info["suite"]) for _, info in per_run}
    if len(suites) > 1:
        warnings.append(f"the runs were made on different {'suites' if kind == 'bench' else 'models'}: "
                        + ", ".join(sorted(suites)))
    seeds = {str(info["scoring_seed"]) for _, info in per_run}
    if kind == "bench" and len(seeds) > 1:
        warnings.append("the runs were scored with different scoring seeds (held-out points and strings differ): "
                        + ", ".join(sorted(seeds)))
    if len(shared) < len(items):
        warnings.append(f"{len(items) - len(shared)} of {len(items)} items are missing from some runs; "
                        "means use the items every run has")
    with building(out) as root:
        write_page(root, "index.html", render(
            "compare.html.j2", kind=kind, runs=runs, items=items, groups=groups, warnings=warnings,
            disagreements=[i for i in items if i.disagree], threshold=DISAGREE,
            built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()), build_seconds=time.perf_counter() - started))
    return out / "index.html"


def _run_names(run_dirs: list[Path]) -> list[str]:
    """Short column names: the directory names, or their parents too where names repeat."""
    names = [d.resolve().name for d in run_dirs]
    if len(set(names)) < len(names):
        names = [f"{d.resolve().parent.name}/{d.resolve().name}" for d in run_dirs]
    return [f"{chr(65 + n) if n < 26 else n}: {name}" for n, name in enumerate(names)]
