"""`aia bench`: investigate every selected function with a backend, score it, stream results.

A run directory is the unit of work and of record:
```
RUN_DIR/run.json           what was run: suite, backend, seed, budget, versions, scoring seed
RUN_DIR/results.jsonl      one line per function, appended (and fsynced) as each one finishes
RUN_DIR/summary.json       per category and variant: n, headline score, calls, tokens, cost
RUN_DIR/<category>/<id>/   the investigation's own log (transcript.jsonl) when the backend writes one
```
Re-running with the same `--out` resumes: functions already in results.jsonl are skipped, a
line cut short by a crash (`kill -9`) is dropped and its function redone, so nothing is lost or
counted twice.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import platform
import secrets
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.task import Answer, Backend, Task, TaskKind
from find_functions.layout import Suite, SuiteEntry

from .judge import make_judge, multiple_choice_accuracy
from .scoring import ScoringContext, score_answer
from .suites import FIND_PREFIX, open_suite, serve

T = TypeVar("T")
R = TypeVar("R")

RESULTS = "results.jsonl"
RUN_META = "run.json"
SUMMARY = "summary.json"

KIND: dict[str, TaskKind] = {"numeric": "numeric", "strings": "strings",
                             "neurons_entities": "entities", "neurons_relations": "relations"}


class RunError(Exception):
    """A run that cannot start (inconsistent resume, empty selection, ...)."""


@dataclass
class BenchConfig:
    suite: str
    backend: str
    out: Path
    categories: list[str] | None = None
    ids: list[str] | None = None
    limit: int | None = None
    workers: int = 1
    seed: int = 0
    max_rounds: int = 20
    judge: str = "auto"  # offline | auto (the run's LLM, if it uses one) | an LLM backend spec
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- results file

def read_results(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """Complete JSON lines of a results file. With `repair`, a torn last line is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete, _, torn = data.rpartition(b"\n")
    if torn and repair:
        with open(path, "r+b") as fh:
            fh.truncate(len(complete) + 1 if complete else 0)
    rows = []
    for n, line in enumerate(complete.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise RunError(f"{path}:{n} is not valid JSON ({e}); fix or remove that line") from e
    return rows


def append_result(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# ----------------------------------------------------------------------------- backends

def build_backend(spec: str, suite: Suite) -> Backend:
    if spec == "oracle":
        from .reference_backends import OracleBackend
        return OracleBackend({e.key: e for e in suite.entries})
    if spec == "null":
        from .reference_backends import NullBackend
        return NullBackend()
    if spec.startswith("py:"):  # your own backend: py:package.module:ClassName (constructed without arguments)
        module_name, _, attr = spec[3:].partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)()
        except (ImportError, AttributeError) as e:
            raise RunError(f"cannot load backend {spec!r}: {e}") from e
    from agent.backends import make_backend
    return make_backend(spec)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("aia", "torch", "transformers", "openai", "anthropic", "nnsight"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


# ----------------------------------------------------------------------------- one function

class _Worker:
    """Per-process state: the suite, the backend, the black-box server, the judge."""

    def __init__(self, cfg: BenchConfig, scoring_seed: int):
        self.cfg = cfg
        self.suite = open_suite(cfg.suite)
        self.entries = {e.key: e for e in self.suite.entries}
        self._backend: Backend | None = None
        self.judge = make_judge(cfg.judge, cfg.backend)
        self.scoring_seed = scoring_seed

    @property
    def backend(self) -> Backend:
        """Built on first use, so re-scoring needs no API key."""
        if self._backend is None:
            self._backend = build_backend(self.cfg.backend, self.suite)
        return self._backend

    def run(self, key: str) -> dict[str, Any]:
        entry = self.entries[key]
        log_dir = self.cfg.out / entry.category / entry.id
        log_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        row: dict[str, Any] = {"key": key, "id": entry.id, "category": entry.category, "variant": entry.variant}
        with serve(entry) as black_box:
            task = Task(id=key, kind=KIND[entry.category], black_box=black_box, max_rounds=self.cfg.max_rounds,
                        seed=self.cfg.seed, input_range=(-128.0, 128.0) if entry.category == "numeric" else None)
            try:
                inv = self.backend.investigate(task, log_dir=log_dir)
            except Exception as e:  # one failed investigation must not stop the run
                row |= {"error": f"investigation failed: {type(e).__name__}: {e}", "score": 0.0,
                        "scores": {}, "black_box_calls": black_box.calls,
                        "seconds": round(time.perf_counter() - start, 3)}
                return row
            calls = black_box.calls
        investigated = time.perf_counter() - start
        scores = self.score(entry, inv.answer)
        row |= {
            "score": scores["score"], "scores": scores, "black_box_calls": calls, "rounds": inv.rounds,
            "seconds": round(investigated, 3), "usage": inv.usage.model_dump(),
            "answer": inv.answer.model_dump(mode="json"), "error": scores.get("error"),
        }
        return row

    def score(self, entry: SuiteEntry, answer: Answer) -> dict[str, Any]:
        """Scores of `answer`, with a fresh black box (scoring calls are not experiments)."""
        with serve(entry) as scoring_box:
            scores = score_answer(entry, answer, ScoringContext(scoring_box, self.judge, self.scoring_seed))
        return scores | self._judge_calibration(entry)

    def _judge_calibration(self, entry: SuiteEntry) -> dict[str, Any]:
        """The judge's ceiling (ground-truth description) and floor (empty description) on this item set."""
        if not entry.unit_tests or entry.ground_truth is None:
            return {}
        return {
            "judge_ceiling": multiple_choice_accuracy(self.judge, entry.category, entry.ground_truth.description,
                                                      entry.unit_tests),
            "judge_floor": multiple_choice_accuracy(self.judge, entry.category, "", entry.unit_tests),
        }


_PROCESS_WORKER: _Worker | None = None


def _init_process(cfg: BenchConfig, scoring_seed: int) -> None:
    global _PROCESS_WORKER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _PROCESS_WORKER = _Worker(cfg, scoring_seed)


def _run_in_process(key: str) -> dict[str, Any]:
    assert _PROCESS_WORKER is not None
    return _PROCESS_WORKER.run(key)


# ----------------------------------------------------------------------------- the run

def _start_or_resume(cfg: BenchConfig, suite: Suite) -> dict[str, Any]:
    cfg.out.mkdir(parents=True, exist_ok=True)
    meta_path = cfg.out / RUN_META
    identity = {"suite": cfg.suite, "backend": cfg.backend, "seed": cfg.seed, "max_rounds": cfg.max_rounds,
                "judge": cfg.judge}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        clash = {k: (meta.get(k), v) for k, v in identity.items() if meta.get(k) != v}
        if clash:
            detail = ", ".join(f"{k}: was {a!r}, now {b!r}" for k, (a, b) in clash.items())
            raise RunError(f"{cfg.out} holds a different run ({detail}); resume it with the same options or "
                           "choose another --out")
        return meta
    meta = identity | {"scoring_seed": secrets.randbits(63), "versions": _versions(),
                       "platform": platform.platform(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "suite_manifest": suite.manifest, "budget": {"max_rounds": cfg.max_rounds} | cfg.extra}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def select(cfg: BenchConfig, suite: Suite) -> list[SuiteEntry]:
    chosen = suite.select(cfg.categories, cfg.ids)
    if cfg.limit is not None:
        # --limit N takes the first N of each category, so a small run still covers every category.
        per_cat: dict[str, int] = {}
        kept = []
        for e in chosen:
            per_cat[e.category] = per_cat.get(e.category, 0) + 1
            if per_cat[e.category] <= cfg.limit:
                kept.append(e)
        chosen = kept
    if not chosen:
        raise RunError("the selection is empty: check --category / --ids / --limit")
    return chosen


def run_bench(cfg: BenchConfig, console: Console | None = None) -> dict[str, Any]:
    """Run (or resume) a benchmark; returns the summary."""
    from .summary import summarize, write_summary

    console = console or Console(stderr=True)
    suite = open_suite(cfg.suite)
    for problem in suite.problems:
        console.print(f"[yellow]skipped:[/] {problem}")
    # a stable name for the resume check and the worker processes ("default" resolves to a path)
    cfg.suite = f"{FIND_PREFIX}{suite.root}" if cfg.suite.startswith(FIND_PREFIX) else str(suite.root)
    if not cfg.backend.startswith("local:"):  # fail now on a bad spec or a missing API key (a local model is heavy)
        from agent.backends.base import MissingCredentials

        try:
            build_backend(cfg.backend, suite)
        except (ValueError, MissingCredentials) as e:
            raise RunError(str(e)) from e
    selected = select(cfg, suite)
    if cfg.backend == "oracle" and any(e.ground_truth is None for e in selected):
        raise RunError(f"the oracle answers with ground truth, and {suite.root} has none (a directory of scripts)")
    meta = _start_or_resume(cfg, suite)
    results_path = cfg.out / RESULTS
    done = {r["key"] for r in read_results(results_path, repair=True)}
    todo = [e.key for e in selected if e.key not in done]
    total = len(selected)
    if done:
        console.print(f"resuming {cfg.out}: {len(done)} done, {len(todo)} to go")
    with _progress(console) as progress:
        bar = progress.add_task(f"{cfg.backend}", total=total, completed=total - len(todo))
        for row in _execute(cfg, meta["scoring_seed"], todo):
            append_result(results_path, row)
            progress.advance(bar)
    summary = summarize(read_results(results_path), meta)
    write_summary(cfg.out / SUMMARY, summary)
    return summary


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def _execute(cfg: BenchConfig, scoring_seed: int, keys: list[str]) -> Iterator[dict[str, Any]]:
    if not keys:
        return
    if cfg.workers <= 1:
        worker = _Worker(cfg, scoring_seed)
        for key in keys:
            yield worker.run(key)
        return
    with ProcessPoolExecutor(cfg.workers, initializer=_init_process, initargs=(cfg, scoring_seed)) as pool:
        yield from bounded_map(pool, _run_in_process, keys, in_flight=2 * cfg.workers)


def bounded_map(pool: Executor, fn: Callable[[T], R], items: Iterable[T], in_flight: int) -> Iterator[R]:
    """``fn`` over ``items`` in ``pool``, results in completion order, with at most ``in_flight``
    tasks submitted at once, so that an interrupted run loses little work."""
    queue = iter(items)
    pending: set[Future] = {pool.submit(fn, item) for item in itertools.islice(queue, in_flight)}
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            yield fut.result()
            nxt = next(queue, _DONE)
            if nxt is not _DONE:
                pending.add(pool.submit(fn, nxt))


_DONE = object()


def rescore(run_dir: Path, console: Console | None = None) -> dict[str, Any]:
    """Score the saved answers of a run again (after a scorer changed); rewrites results atomically."""
    from .summary import summarize, write_summary

    meta_path = run_dir / RUN_META
    if not meta_path.exists():
        raise RunError(f"{run_dir} is not a run directory ({RUN_META} is missing)")
    meta = json.loads(meta_path.read_text())
    rows = read_results(run_dir / RESULTS)
    cfg = BenchConfig(suite=meta["suite"], backend=meta["backend"], out=run_dir, seed=meta["seed"],
                      judge=meta.get("judge", "auto"))
    worker = _Worker(cfg, meta["scoring_seed"])
    tmp = run_dir / (RESULTS + ".rescoring")
    tmp.unlink(missing_ok=True)
    try:
        with _progress(console or Console(stderr=True)) as progress:
            for row in progress.track(rows, description="re-scoring"):
                if "answer" in row and row["key"] in worker.entries:
                    scores = worker.score(worker.entries[row["key"]], Answer.model_validate(row["answer"]))
                    row = row | {"score": scores["score"], "scores": scores, "error": scores.get("error")}
                append_result(tmp, row)
    except BaseException:  # interrupted: the saved results stay as they were
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, run_dir / RESULTS)
    summary = summarize(read_results(run_dir / RESULTS), meta)
    write_summary(run_dir / SUMMARY, summary)
    return summary

