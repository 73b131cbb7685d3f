"""`aia localize`: which attention heads carry a behaviour, resumably, scored where the truth is known.

The stages are tools.mediation's (attribution on every head, exact patching to verify, intervals,
the found set patched together); this module makes them a run: one locked run directory of kind
`localize`, one row per pair and stage in `effects.jsonl` as each finishes (an interrupted run
resumes without redoing or duplicating a pair), and `localization.json` with the mediators. When
the model's mechanism is known (the toy induction model's verified heads, for the induction task)
the found heads are scored against it: precision and recall.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from tools.run_dir import RunDirectory, RunError, last_per_key, versions

if TYPE_CHECKING:  # numpy and the models load when a run starts: the CLI reads LocalizeConfig to build its options
    import numpy as np

#: Built-in tasks (contrast-pair generators) by name.
TASKS = ("induction",)


@dataclass
class LocalizeConfig:
    """One localize run's settings; localize.json records them."""

    model: str
    """A model name or path (`aia label`'s choices)."""

    task: str
    """A built-in task (``induction``) or a JSONL file of contrast pairs: one ``{"clean", "corrupt", "answer",
    "wrong"}`` object per line."""

    out: Path
    """The run directory (re-use it to resume)."""

    pairs: int = 48
    """Pairs a built-in task generates (a JSONL file gives its own)."""

    seed: int = 0
    """The generator's seed."""

    min_effect: float = 0.0
    """Smallest |mean recovery| a head needs, beside an interval that excludes zero, to be reported."""

    exhaustive_heads: int = 256
    """Up to this many heads in the model, every head is patched exactly; above it only attribution's top."""

    verify_top: int = 32
    """Heads verified by exact patching when the model has more than `exhaustive_heads`."""


def _truth(model: str, task: str) -> set[str] | None:
    """The heads known to carry the task in the model, when aia knows them."""
    if model == "toy-induction" and task == "induction":
        from find_functions.heads import load_roles

        return {unit for unit, role in load_roles().items() if role != "other"}
    return None


def _pairs(cfg: LocalizeConfig, subject: Any) -> list:
    from tools.mediation import induction_pairs, load_pairs

    if cfg.task == "induction":
        return induction_pairs(subject, n=cfg.pairs, seed=cfg.seed)
    return load_pairs(cfg.task)


def run_localize(cfg: LocalizeConfig, console: Console | None = None) -> dict[str, Any]:
    """Run (or resume) the plan and return what localization.json holds."""
    import numpy as np

    from evals.config_help import recorded
    from tools.mediation import PairRun, candidates, recovery_of, summarize
    from tools.models import load_model

    console = console or Console(stderr=True)
    if cfg.pairs < 2:
        raise RunError(f"pairs must be >= 2 (intervals need two), got {cfg.pairs}")
    if cfg.task not in TASKS and not Path(cfg.task).is_file():
        raise RunError(f"unknown task {cfg.task!r}: choose {', '.join(TASKS)} or a JSONL file of contrast pairs")
    # The model first: one that cannot work is refused before a run directory is made.
    subject = load_model(cfg.model)
    if not subject.is_causal:
        raise RunError(f"{cfg.model} is an encoder: localize patches next-token logits, which it has not")
    pairs = _pairs(cfg, subject)
    with RunDirectory(cfg.out, "localize") as run_dir:
        run_dir.start_or_resume({"model": subject.name, "fingerprint": subject.fingerprint(), "task": cfg.task,
                                 "pairs": len(pairs), "seed": cfg.seed, "exhaustive_heads": cfg.exhaustive_heads,
                                 "verify_top": cfg.verify_top},
                                new={"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "versions": versions()},
                                latest={"config": recorded(cfg)})
        runs = [PairRun(subject, p) for p in pairs]
        rows = last_per_key(run_dir.rows(), "key")
        started = time.perf_counter()
        for stage in ("attribution", "exact"):
            heads = None
            if stage == "exact":
                mean = np.nanmean(np.stack([np.array(rows[f"attribution:{i}"]["values"], dtype=float)
                                            for i in range(len(runs))]), axis=0)
                heads = candidates(subject, mean, cfg.exhaustive_heads, cfg.verify_top)
            todo = [i for i in range(len(runs)) if f"{stage}:{i}" not in rows]
            for n, i in enumerate(todo, 1):
                values = runs[i].attribution() if stage == "attribution" else runs[i].exact(heads)
                row = {"key": f"{stage}:{i}", "stage": stage, "pair": i,
                       "values": [[None if not math.isfinite(v) else round(float(v), 6) for v in r] for r in values]}
                run_dir.append(row)
                rows[row["key"]] = row
                if n % 8 == 0 or n == len(todo):
                    console.print(f"{stage} patching: {n}/{len(todo)} pairs")

        def stacked(stage: str) -> np.ndarray:
            return np.stack([np.array([[np.nan if v is None else v for v in r] for r in rows[f"{stage}:{i}"]["values"]])
                             for i in range(len(runs))])

        found = summarize(subject, runs, stacked("attribution"), stacked("exact"), cfg.min_effect,
                          {"patching": round(time.perf_counter() - started, 3)})
        result = {"model": subject.name, "task": cfg.task, **found.to_json()}
        truth = _truth(cfg.model, cfg.task)
        if truth is not None:
            result["truth"] = sorted(truth)
            result["recovery"] = recovery_of(found.found, truth)
        target = Path(cfg.out) / "localization.json"
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(result, indent=1, default=float) + "\n")
        partial.replace(target)
        return result
