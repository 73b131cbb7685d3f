"""`aia label`: label many units, one transcript and one labels.jsonl line per unit, resumable.

Layout of RUN_DIR: ``config.json`` (what the run is; a resume must match it),
``labels.jsonl`` (one line per finished unit, appended and fsynced as each finishes, so an
interrupted run loses at most the unit in flight), ``<unit>/transcript.jsonl`` and
``summary.json`` (mean simulation score beside the two baselines, units per minute).

Each unit's exemplars are split once: the labeler sees every other top window; the other
top windows and the random windows are held out for the simulation score only.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from agent.labeling import investigate_unit, split_exemplars
from evals.label_scoring import score_label
from evals.runner import RunError, append_result, read_results
from tools.corpus import load_corpus
from tools.exemplars import build_cache, dataset_exemplars
from tools.models import SubjectModel, load_model
from tools.units import expand

LABELS = "labels.jsonl"
BACKENDS = ("builtin",)


def _config(model: SubjectModel, units: str, backend: str, k: int, corpus: str,
            max_windows: int | None, n_random: int) -> dict[str, Any]:
    return {"model": model.name, "fingerprint": model.fingerprint(), "units": units, "backend": backend,
            "k": k, "corpus": corpus, "max_windows": max_windows, "n_random": n_random}


def _start_or_resume(out: Path, cfg: dict[str, Any]) -> set[str]:
    """Write config.json for a new run, or check it matches; the units already labeled."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.json"
    if path.exists():
        old = json.loads(path.read_text())
        diff = {k: (old.get(k), v) for k, v in cfg.items() if k != "units" and old.get(k) != v}
        if diff:
            raise RunError(f"{out} holds a run with other settings {diff} (old, new); use another --out")
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return {row["unit"] for row in read_results(out / LABELS, repair=True)}


def label_one(model: SubjectModel, unit: str, out: Path | None, k: int, corpus: Any,
              max_windows: int | None, n_random: int, cache_root: Path | None = None) -> dict[str, Any]:
    """Label and score one unit; the row labels.jsonl gets."""
    started = time.perf_counter()
    ex = dataset_exemplars(model, unit, k=k, corpus=corpus, n_random=n_random,
                           max_windows=max_windows, root=cache_root)
    seen, held_top = split_exemplars(ex.top)
    log_dir = out / unit if out is not None else None
    result = investigate_unit(model, unit, seen, log_dir)
    vocab = list(model.tokenizer.get_vocab())
    scores = score_label(result.description, held_top + ex.random, seen, vocab, seed=_unit_seed(unit))
    return {"unit": unit, "label": result.label, "description": result.description,
            "evidence": result.evidence,
            "scores": {k2: scores[k2] for k2 in ("simulation", "random_baseline", "top_token_baseline")},
            "baselines": {"random": scores["random_label"], "top_token": scores["top_token_label"]},
            "held_out": {"top": len(held_top), "random": len(ex.random)}, "labeling_exemplars": len(seen),
            "seconds": round(time.perf_counter() - started, 3)}


def _unit_seed(unit: str) -> int:
    """A stable per-unit seed (Python's ``hash`` is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(unit))


def summarize(rows: list[dict[str, Any]], seconds: float | None = None) -> dict[str, Any]:
    """Means of the three scores, the agent's margins over each baseline, and throughput."""
    if not rows:
        return {"units": 0}
    mean = {k: round(sum(r["scores"][k] for r in rows) / len(rows), 4)
            for k in ("simulation", "random_baseline", "top_token_baseline")}
    out: dict[str, Any] = {"units": len(rows), "mean": mean,
                           "margin_over_random": round(mean["simulation"] - mean["random_baseline"], 4),
                           "margin_over_top_token": round(mean["simulation"] - mean["top_token_baseline"], 4),
                           "beats_top_token_share": round(
                               sum(r["scores"]["simulation"] > r["scores"]["top_token_baseline"] for r in rows)
                               / len(rows), 4)}
    labeled = sum(r.get("seconds", 0.0) for r in rows)
    if labeled > 0:
        out["units_per_minute"] = round(60 * len(rows) / labeled, 2)
    if seconds is not None:
        out["wall_seconds"] = round(seconds, 2)
    return out


def _table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> Table:
    t = Table(title=f"aia label: {summary['units']} units")
    t.add_column("unit", no_wrap=True)
    t.add_column("label")
    for col in ("simulation", "random", "top token"):
        t.add_column(col, justify="right")
    for r in rows[-20:]:
        s = r["scores"]
        t.add_row(r["unit"], r["label"][:40], f"{s['simulation']:.3f}", f"{s['random_baseline']:.3f}",
                  f"{s['top_token_baseline']:.3f}")
    if summary["units"]:
        m = summary["mean"]
        t.add_row("MEAN", "", f"{m['simulation']:.3f}", f"{m['random_baseline']:.3f}",
                  f"{m['top_token_baseline']:.3f}", style="bold")
    return t


def run_labeling(model: str | SubjectModel, units: str, backend: str, out: Path, workers: int = 1,
                 k: int = 20, corpus: str = "default", max_windows: int | None = 4000, n_random: int = 10,
                 cache_root: Path | None = None, console: Console | None = None) -> dict[str, Any]:
    """Label every unit of ``units`` (an address or range), resumably; returns the summary.

    ``max_windows`` caps the corpus windows the exemplar cache scans (None: all of it);
    ``workers`` > 1 is not supported yet by the in-process builtin labeler.
    """
    if backend not in BACKENDS:
        raise RunError(f"labeling backend {backend!r} is not available; choose one of {', '.join(BACKENDS)}")
    if workers != 1:
        raise RunError("--workers > 1 is not supported by the builtin labeler yet (one model per process); use 1")
    if k < 4:
        raise RunError(f"k must be >= 4 (half the top windows are held out for scoring), got {k}")
    console = console or Console()
    out = Path(out)
    subject = load_model(model) if isinstance(model, str) else model
    wanted = expand(units, subject)
    todo_units = [str(u) for u in wanted]
    done = _start_or_resume(out, _config(subject, units, backend, k, corpus, max_windows, n_random))
    todo = [u for u in todo_units if u not in done]
    corp = load_corpus(corpus)
    started = time.perf_counter()
    layers = sorted({u.layer for u in wanted if str(u) not in done})
    if layers:
        with console.status(f"exemplar cache for layers {layers}"):
            build_cache(subject, corp, layers, k=max(k, 20), max_windows=max_windows, root=cache_root)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("labeling", total=len(todo_units), completed=len(todo_units) - len(todo))
        for unit in todo:
            bar.update(task, description=unit)
            append_result(out / LABELS, label_one(subject, unit, out, k, corp, max_windows, n_random, cache_root))
            bar.advance(task)
    chosen = set(todo_units)
    rows = [r for r in read_results(out / LABELS) if r["unit"] in chosen]
    summary = summarize(rows, time.perf_counter() - started)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(_table(rows, summary))
    return summary
