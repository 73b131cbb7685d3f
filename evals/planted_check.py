"""`aia check planted`: does a neuron labeler recover concepts planted in a real model?

Ground truth for neuron labels is rare: nobody knows what a real neuron computes. Here it is
known by construction (`find_functions.planted`): entity functions of the suite generator are
planted into neurons of a real model, the labeler labels those neurons from the planted model
alone, and each description is scored with FIND's protocol for entity functions: a judge reads
only the description and answers the function's three-way multiple-choice unit tests (which
word is the function most selective for). Two references sit beside the mean accuracy:
chance (1/3) and the judge's ceiling, its accuracy with the ground-truth descriptions, since
an offline judge cannot read every description perfectly.

RUN_DIR layout: `check.json` (what was planted, how it is scored; a resume must match it),
`labels/` (an ordinary `aia label` run: labels.jsonl, transcripts, its own summary),
`planted.jsonl` (one row per planted unit: concepts, ground truth, label, description,
accuracy) and `summary.json`. RUN_DIR is an `tools.run_dir.RunDirectory` (one process at a
time, checked before any work) and `labels/` another. Labeling resumes through `run_labeling`;
judged rows whose description is unchanged are reused, so an LLM judge is not asked twice. The
judge is the offline one unless `judge` names an LLM: never the labeler's own LLM by default.
An accuracy is None where the judge could judge none of the unit's items; means leave it out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from evals.judge import Judge, multiple_choice_accuracy
from evals.label_config import LabelConfig
from evals.label_runner import run_labeling
from evals.runner import check_judge
from find_functions.planted import PlantedSuite, PlantedUnit, planted_suite
from tools.models import SubjectModel
from tools.run_dir import KINDS, RunDirectory, RunError, read_results

CATEGORY = "neurons_entities"
CHANCE = 1 / 3
RECORD, ROWS, _ = KINDS["check-planted"]


def run_planted_check(model: str | SubjectModel = "minilm", n: int = 10, backend: str = "builtin",
                      out: Path = Path("runs/planted"), judge: str = "offline", seed: int = 0,
                      layer: int | None = None, corpus: str = LabelConfig.corpus,
                      max_windows: int | None = LabelConfig.max_windows,
                      cache_root: Path | None = None, suite: PlantedSuite | None = None,
                      console: Console | None = None) -> dict[str, Any]:
    """Plant `n` entity functions into `model`, label the planted neurons, score the labels.

    model: a short name (`minilm`, `smollm2`), hub name, path or loaded `SubjectModel` to plant into.
    n, seed, layer: how many functions of the entity generator (seed `seed`) are planted, into
        random neurons of `layer` (default: the middle layer).
    backend: the labeling backend, as `run_labeling` takes it.
    out: RUN_DIR (see the module docstring); rerunning with the same arguments resumes.
    judge: `offline` or an LLM spec (`evals.judge.make_judge`).
    corpus, max_windows, cache_root: the exemplar corpus (also used to calibrate the planted
        activations' scale), how many of its windows are scanned, and where the cache lives.
    suite: an already planted suite (then model, n, seed and layer are ignored).

    Returns the summary (also written to RUN_DIR/summary.json): mean multiple-choice accuracy
    of the labeler's descriptions beside chance and the judge's ceiling.
    """
    console = console or Console()
    out = Path(out)
    scorer = check_judge(judge)
    # The directory first: a locked, unwritable or damaged one is refused before anything is planted.
    with RunDirectory(out, "check-planted") as run_dir:
        if suite is None:
            with console.status(f"planting {n} entity functions into "
                                f"{model if isinstance(model, str) else model.name}"):
                suite = planted_suite(model, n=n, seed=seed, layer=layer, corpus=corpus)
        run_dir.start_or_resume({"planted_model": suite.model.name, "fingerprint": suite.model.fingerprint(),
                                 "units": [u.unit for u in suite.units], "backend": backend, "judge": judge,
                                 "corpus": corpus, "max_windows": max_windows})
        run_labeling(suite.model, suite.address, backend, out / "labels", corpus=corpus, max_windows=max_windows,
                     cache_root=cache_root, console=console)
        labels = {r["unit"]: r for r in read_results(out / "labels" / "labels.jsonl")}
        missing = [u.unit for u in suite.units if u.unit not in labels]
        if missing:
            raise RunError(f"{out / 'labels'} has no label for planted units {missing}")
        previous = {r["unit"]: r for r in run_dir.rows()}
        rows = [_score(u, labels[u.unit], scorer, previous.get(u.unit)) for u in suite.units]
        run_dir.replace_rows(rows)
        summary = summarize(rows, backend=backend, judge=scorer.name, planted_model=suite.model.name)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(_table(rows, summary))
    return summary


def _score(unit: PlantedUnit, label: dict[str, Any], judge: Judge, previous: dict[str, Any] | None) -> dict[str, Any]:
    """One planted.jsonl row; a previous row with the same texts and judge is reused.

    The labeling run's baseline labels (a random token's, the top token's), where its rows
    carry them, are judged too: a labeler must beat naming its unit's single top word.
    """
    description = label["description"]
    baselines = {name: b["label"] for name, b in (label.get("baselines") or {}).items()
                 if isinstance(b, dict) and isinstance(b.get("label"), str)}
    if previous and previous.get("description") == description and previous.get("judge") == judge.name \
            and {n: b["label"] for n, b in previous.get("baselines", {}).items()} == baselines:
        return previous
    tests = unit.unit_tests

    def accuracy(text: str) -> float | None:
        return multiple_choice_accuracy(judge, CATEGORY, text, tests)

    return {"unit": unit.unit, "concepts": list(unit.concepts), "function_id": unit.function_id,
            "ground_truth": unit.description, "label": label["label"], "description": description,
            "judge": judge.name, "n_tests": len(tests), "mc_accuracy": accuracy(description),
            "ceiling": accuracy(unit.description),
            "baselines": {name: {"label": text, "mc_accuracy": accuracy(text)} for name, text in baselines.items()}}


def summarize(rows: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
    """Mean accuracy beside chance and ceiling; `normalized` places the mean between them
    (0 = chance, 1 = as good as the ground-truth description under this judge)."""
    if not rows:
        return {"units": 0, **context}

    acc, ceiling = _mean(r["mc_accuracy"] for r in rows), _mean(r["ceiling"] for r in rows)
    out: dict[str, Any] = {"units": len(rows), **context, "mc_accuracy": acc, "chance": round(CHANCE, 4),
                           "ceiling": ceiling,
                           "normalized": round((acc - CHANCE) / (ceiling - CHANCE), 4)
                           if acc is not None and ceiling is not None and ceiling > CHANCE else None}
    names = sorted({n for r in rows for n in r.get("baselines", {})})
    shared = [n for n in names if all(n in r.get("baselines", {}) for r in rows)]
    if shared:
        out["baselines"] = {n: _mean(r["baselines"][n]["mc_accuracy"] for r in rows) for n in shared}
    for name, chosen in (("one_concept", [r for r in rows if len(r["concepts"]) == 1]),
                         ("two_concepts", [r for r in rows if len(r["concepts"]) == 2])):
        if chosen:
            out[name] = {"units": len(chosen), "mc_accuracy": _mean(r["mc_accuracy"] for r in chosen),
                         "ceiling": _mean(r["ceiling"] for r in chosen)}
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    """The mean of the judged accuracies (None: the judge judged none of a unit's items)."""
    judged = [v for v in values if v is not None]
    return round(sum(judged) / len(judged), 4) if judged else None


def _table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> Table:
    t = Table(title=f"aia check planted: {summary['units']} planted neurons")
    for col in ("unit", "planted concept", "label"):
        t.add_column(col)
    for col in ("accuracy", "top token", "ceiling"):
        t.add_column(col, justify="right")

    def f(acc: float | None, digits: int = 2) -> str:
        return "-" if acc is None else f"{acc:.{digits}f}"

    for r in rows:
        t.add_row(r["unit"], " | ".join(r["concepts"]), r["label"][:48], f(r["mc_accuracy"]),
                  f(r.get("baselines", {}).get("top_token", {}).get("mc_accuracy")), f(r["ceiling"]))
    if rows:
        t.add_row("MEAN", f"chance {summary['chance']:.2f}", "", f(summary["mc_accuracy"], 3),
                  f(summary.get("baselines", {}).get("top_token")), f(summary["ceiling"], 3), style="bold")
    return t
