"""`aia bench`: investigate every selected function with a backend, score it, stream results.

A run directory (`tools.run_dir`) is the unit of work and of record:
```
RUN_DIR/run.json           what was run: suite, backend, judge, seed, budget, versions, scoring seed
RUN_DIR/results.jsonl      one line per function, appended (and fsynced) as each one finishes
RUN_DIR/summary.json       per category and variant: n, headline score, calls, tokens, cost
RUN_DIR/<category>/<id>/   the investigation's own log (transcript.jsonl) when the backend writes one
```
Re-running with the same `--out` resumes: functions already in results.jsonl are skipped, a
line cut short by a crash (`kill -9`) is dropped and its function redone, so nothing is lost or
counted twice. One process at a time: a second one on the same directory refuses at once.

Nothing one function does stops the run. Loading it, investigating it and scoring it happen
inside one `try` in a worker process (`evals.pool`, never forked); whatever fails gives that
function an error row. A function whose investigation kills its worker process gets an error row
of kind `crashed`; like every row, it is final: a resume does not run it again, so a function that
kills its worker cannot stall a run however often it is resumed. If the `aia bench` process
itself dies, a resume reruns what was in flight once; a function in flight at two such deaths
gets a `crashed` row too (`RunDirectory.killed_in_flight`).

An LLM investigation spends its time waiting on the API. With `concurrency` N > 1 and an LLM
backend, up to N investigations run at once as threads of the `aia bench` process itself (each
with its own engine, tool context, sandbox and black box; the black-box worker serializes its
requests), rows still appended one at a time by this one thread, in completion order; in-flight
markers and resume work as above. Non-LLM backends (the builtin scientist is CPU-bound) keep
`concurrency` 1 and the worker processes. `max_usd` caps the dollars of the whole run (every row
in the directory, a resume included): once spent, no further investigation starts, those in
flight finish and keep their rows and usage, and the summary says the run stopped for budget.
"""

from __future__ import annotations

import os
import platform
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from rich.console import Console

from agent.registry import check, is_llm, make_backend
from agent.task import Answer, Backend, Task, TaskKind
from find_functions.layout import Suite, SuiteEntry
from tools.run_dir import KINDS, MAX_KILLS, RunDirectory, RunError, SpendingCap, last_per_key, now, versions

from . import reference_backends  # noqa: F401 - registers --backend oracle and null
from .confinement import confinement, sandbox_available
from .judge import Judge, TallyingJudge, make_judge, multiple_choice_accuracy
from .pool import WorkerStartError, resilient_map, threaded_map
from .progress import RunProgress
from .scoring import ScoringContext, score_answer
from .suites import FIND_PREFIX, ServeMode, open_suite, serve

RUN_META, RESULTS, _ = KINDS["bench"]
SUMMARY = "summary.json"

KIND: dict[str, TaskKind] = {"numeric": "numeric", "strings": "strings",
                             "neurons_entities": "entities", "neurons_relations": "relations"}

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
    judge: str = "offline"  # offline | an LLM backend spec; never the backend under test unless named
    load_timeout: float = 60.0  # seconds a function script may take to load before its row is an error
    serve: ServeMode = "loaded"  # foreign FIND scripts: loaded once per function, or one process per batch
    unconfined: bool = False  # the user's explicit opt-out of the OS sandbox (recorded, printed)
    concurrency: int = 1  # LLM backends: investigations at once, as threads of this process
    max_usd: float | None = None  # dollars for the whole run; no new investigation starts once spent
    max_usd_per_function: float | None = None  # LLM backends: each investigation's own dollar budget
    extra: dict[str, Any] = field(default_factory=dict)

    def confine(self) -> bool:
        """Whether untrusted code (model-written, answers, foreign scripts) runs under the OS sandbox."""
        return not self.unconfined and sandbox_available()


class _Watched:
    """A black box passed through, counting its outputs and the failed ones (None), so that a
    function whose every output failed gets an error row saying why instead of a silent 0."""

    def __init__(self, box: Any) -> None:
        self._box = box
        self.outputs = 0
        self.failed = 0

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        out = self._box(inputs)
        self.outputs += len(out)
        self.failed += sum(o is None for o in out)
        return out

    @property
    def calls(self) -> int:
        return self._box.calls

    @property
    def errors(self) -> list[str]:
        return list(getattr(self._box, "errors", []))

    def all_failed(self) -> str | None:
        """Why every output failed (the black box's first error), or None when some did not."""
        if not self.outputs or self.failed < self.outputs:
            return None
        return next(iter(self.errors), "no reason was recorded")


# ----------------------------------------------------------------------------- one function

class _Worker:
    """Per-process state: the suite, the backend, the black-box server, the judge."""

    def __init__(self, cfg: BenchConfig, scoring_seed: int):
        self.cfg = cfg
        self.suite = open_suite(cfg.suite)
        self.entries = {e.key: e for e in self.suite.entries}
        self._backend: Backend | None = None
        self.judge = make_judge(cfg.judge)
        self.scoring_seed = scoring_seed
        # a script that sleeps at import costs its function an error row after load_timeout
        self.serving = {"mode": cfg.serve, "confined": cfg.confine(), "load_timeout": cfg.load_timeout}

    @property
    def backend(self) -> Backend:
        """Built on first use, so re-scoring needs no API key."""
        if self._backend is None:
            self._backend = make_backend(self.cfg.backend, suite=self.suite, confine=self.cfg.confine(),
                                         **_backend_options(self.cfg))
        return self._backend

    def run(self, key: str) -> dict[str, Any]:
        """The function's row. Whatever fails (loading the script, the investigation, scoring)
        gives an error row naming it, never an exception: one function must not stop the run."""
        entry = self.entries[key]
        log_dir = self.cfg.out / entry.category / entry.id
        log_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        row: dict[str, Any] = {"key": key, "id": entry.id, "category": entry.category, "variant": entry.variant}
        stage, box = "loading the function", None
        try:
            with serve(entry, **self.serving) as served:
                box = _Watched(served)
                stage = "investigation"
                task = Task(id=key, kind=KIND[entry.category], black_box=box, max_rounds=self.cfg.max_rounds,
                            seed=self.cfg.seed,
                            input_range=(-128.0, 128.0) if entry.category == "numeric" else None)
                inv = self.backend.investigate(task, log_dir=log_dir)
            investigated = time.perf_counter() - start
            stage = "scoring"
            scores = self.score(entry, inv.answer)
        except Exception as e:  # noqa: BLE001 - the row names it; the run goes on
            return row | {"error": f"{stage} failed: {type(e).__name__}: {e}", "score": 0.0, "scores": {},
                          "black_box_calls": box.calls if box else 0,
                          "seconds": round(time.perf_counter() - start, 3)} | _box_errors(box)
        failed = box.all_failed()
        error = f"every output of the function failed: {failed}" if failed else scores.get("error")
        return row | {
            "score": scores["score"], "scores": scores, "black_box_calls": box.calls, "rounds": inv.rounds,
            "seconds": round(investigated, 3), "usage": inv.usage.model_dump(),
            "answer": inv.answer.model_dump(mode="json"), "error": error,
        } | _box_errors(box)

    def score(self, entry: SuiteEntry, answer: Answer) -> dict[str, Any]:
        """Scores of `answer`, with a fresh black box (scoring calls are not experiments)."""
        judge = TallyingJudge(self.judge)
        with serve(entry, **self.serving) as served:
            box = _Watched(served)
            scores = score_answer(entry, answer, ScoringContext(box, judge, self.scoring_seed, self.cfg.confine()))
        if entry.unit_tests:
            scores["unjudged"] = judge.unjudged
        failed = box.all_failed()
        if failed and not scores.get("error"):
            scores["error"] = f"every output of the function failed while scoring: {failed}"
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


def _backend_options(cfg: BenchConfig) -> dict[str, Any]:
    """Options for the backend: an investigation's own dollar budget, when one is set."""
    return {} if cfg.max_usd_per_function is None else {"max_usd": cfg.max_usd_per_function}


def check_limits(cfg: BenchConfig) -> None:
    """A RunError (one line) for a value no run can use."""
    if cfg.workers < 1:
        raise RunError(f"workers must be >= 1, got {cfg.workers}")
    if cfg.concurrency < 1:
        raise RunError(f"concurrency must be >= 1, got {cfg.concurrency}")
    for name, value in (("max_usd", cfg.max_usd), ("max_usd_per_function", cfg.max_usd_per_function)):
        if value is not None and not value > 0:  # also refuses NaN
            raise RunError(f"{name} must be a positive number of dollars, got {value}")


def _box_errors(box: _Watched | None, most: int = 5) -> dict[str, Any]:
    """What went wrong inside the black box during the investigation, for the row (the first few)."""
    errors = box.errors if box else []
    return {"black_box_errors": errors[:most]} if errors else {}


def _start_worker(cfg: BenchConfig, scoring_seed: int) -> _Worker:
    """A worker process's state. One torch thread per worker unless the user chose otherwise
    (set before anything imports torch: the workers share the machine's cores)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return _Worker(cfg, scoring_seed)


def _crashed(entry: SuiteEntry, whole_run: int = 0) -> dict[str, Any]:
    """The row of a function whose worker process died under it, or (`whole_run` times) the whole
    `aia bench` process (final: see the module docstring)."""
    what = (f"the aia process itself died {whole_run} times while this function was in flight"
            if whole_run else "the worker process investigating this function died")
    return {"key": entry.key, "id": entry.id, "category": entry.category, "variant": entry.variant,
            "error": f"crashed: {what} (killed by a signal, out of memory, or it exited); the run went on without it",
            "error_kind": "crashed", "score": 0.0, "scores": {}}


# ----------------------------------------------------------------------------- the run

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


def check_judge(spec: str) -> Judge:
    """The judge `spec` names, or a RunError now (a bad spec, a missing API key), before any work."""
    from agent.backends.base import MissingCredentials

    try:
        return make_judge(spec)
    except (ValueError, MissingCredentials) as e:
        raise RunError(str(e)) from e


def run_bench(cfg: BenchConfig, console: Console | None = None) -> dict[str, Any]:
    """Run (or resume) a benchmark; returns the summary."""
    from .summary import summarize, write_summary

    console = console or Console(stderr=True)
    check_limits(cfg)
    # The directory first: a locked, unwritable or damaged one is refused before the suite is built.
    with RunDirectory(cfg.out, "bench") as run_dir:
        check_judge(cfg.judge)
        suite = open_suite(cfg.suite)
        for problem in suite.problems:
            console.print(f"[yellow]skipped:[/] {problem}")
        # a stable name for the resume check and the worker processes ("default" resolves to a path)
        cfg.suite = f"{FIND_PREFIX}{suite.root}" if cfg.suite.startswith(FIND_PREFIX) else str(suite.root)
        from agent.backends.base import MissingCredentials

        try:  # fail now on a bad spec or a missing API key
            check("investigator", cfg.backend, suite=suite, confine=cfg.confine(), **_backend_options(cfg))
            if cfg.max_usd is not None and is_llm(cfg.backend):  # a run cap needs the model's price
                check("investigator", cfg.backend, suite=suite, confine=cfg.confine(), max_usd=cfg.max_usd)
        except (ValueError, MissingCredentials) as e:
            raise RunError(str(e)) from e
        isolated = confinement(cfg.backend, suite, cfg.unconfined)
        if cfg.concurrency > 1 and not is_llm(cfg.backend):
            console.print(f"[yellow]note:[/] --concurrency applies to LLM backends; {cfg.backend!r} runs one "
                          "investigation at a time per worker process")
            cfg.concurrency = 1
        selected = select(cfg, suite)
        identity = {"suite": cfg.suite, "backend": cfg.backend, "seed": cfg.seed, "max_rounds": cfg.max_rounds,
                    "judge": cfg.judge}
        meta = run_dir.start_or_resume(identity, new={
            "scoring_seed": secrets.randbits(63), "versions": versions(), "platform": platform.platform(),
            "created": now(), "suite_manifest": suite.manifest, "isolation": isolated, "unconfined": cfg.unconfined,
            "serve": cfg.serve,
            "budget": {"max_rounds": cfg.max_rounds, "load_timeout": cfg.load_timeout,
                       "context": None} | cfg.extra},  # the engine re-sends every observation (agent/context.py)
            latest={"concurrency": cfg.concurrency, "max_usd": cfg.max_usd,
                    "max_usd_per_function": cfg.max_usd_per_function})
        if meta.get("isolation") != isolated:  # a resume on another machine, or with another choice
            console.print(f"[yellow]note:[/] this run started with isolation {meta.get('isolation')!r}; "
                          f"now {isolated!r}")
        rows = last_per_key(run_dir.rows(), "key")
        for key, deaths in run_dir.killed_in_flight(rows).items():
            if deaths >= MAX_KILLS and key in {e.key for e in selected}:
                rows[key] = _crashed(next(e for e in selected if e.key == key), whole_run=deaths)
                run_dir.append(rows[key])
        todo = [e for e in selected if e.key not in rows]
        if len(todo) < len(selected):
            console.print(f"resuming {cfg.out}: {len(selected) - len(todo)} done, {len(todo)} to go")
        categories = _CategoryLines(selected, rows)
        cap = SpendingCap(cfg.max_usd, run_dir.rows())  # every row the run wrote counts
        started = set()

        def submit(key: str) -> None:
            started.add(key)
            run_dir.mark_in_flight(key)

        with RunProgress(console, cfg.backend, total=len(selected), completed=len(selected) - len(todo)) as progress:
            for row in _execute(cfg, meta["scoring_seed"], todo, on_submit=submit, stop=cap.exhausted):
                run_dir.append(row)
                cap.add(row)
                progress.advance(line=categories.add(row))
        summary = summarize(list(last_per_key(run_dir.rows(), "key").values()), meta)
        summary["spent_usd"] = round(cap.spent, 6)
        not_started = [e.key for e in todo if e.key not in started]
        if not_started and cap.exhausted():
            summary["stopped"] = {"reason": "budget", "max_usd": cfg.max_usd, "spent_usd": round(cap.spent, 6),
                                  "not_started": len(not_started)}
            console.print(f"[yellow]stopped for budget:[/] ${cap.spent:.4f} spent of --max-usd {cfg.max_usd:g}; "
                          f"{len(not_started)} functions not started (resume with a higher --max-usd)")
        write_summary(cfg.out / SUMMARY, summary)
    return summary


class _CategoryLines:
    """The plain progress line of each category as its last selected function finishes."""

    def __init__(self, selected: list[SuiteEntry], rows: dict[str, dict[str, Any]]) -> None:
        self.total = Counter(e.category for e in selected)
        self.rows = {e.key: rows[e.key] for e in selected if e.key in rows}
        self.started = time.perf_counter()

    def add(self, row: dict[str, Any]) -> str | None:
        self.rows[row["key"]] = row
        category = row["category"]
        done = [r for r in self.rows.values() if r["category"] == category]
        if len(done) < self.total[category]:
            return None
        scores = [r["score"] for r in done if isinstance(r.get("score"), (int, float))]
        mean = f"mean score {sum(scores) / len(scores):.3f}" if scores else "no score"
        unjudged = sum(r.get("scores", {}).get("unjudged") or 0 for r in done)
        errors = sum(1 for r in done if r.get("error"))
        extra = "".join(f", {n} {what}" for n, what in ((unjudged, "unjudged"), (errors, "failed")) if n)
        return (f"{category}: {len(done)}/{self.total[category]} done, {mean}{extra}, "
                f"{time.perf_counter() - self.started:.1f} s")


def _execute(cfg: BenchConfig, scoring_seed: int, entries: list[SuiteEntry], on_submit: Callable[[str], None],
             stop: Callable[[], bool] = lambda: False) -> Iterator[dict[str, Any]]:
    """Rows in completion order: from worker processes (also with one worker: whatever a
    function does to its process, the run goes on), or, with `concurrency` > 1 (LLM backends),
    from threads of this process. No function starts once `stop()` is true."""
    by_key = {e.key: e for e in entries}
    if cfg.concurrency > 1:
        worker = _start_worker(cfg, scoring_seed)
        _ = worker.backend  # built once, before the threads share it
        yield from threaded_map(worker.run, list(by_key), concurrency=cfg.concurrency, on_submit=on_submit,
                                stop=stop)
        return
    try:
        yield from resilient_map(_start_worker, (cfg, scoring_seed), "run", list(by_key), workers=cfg.workers,
                                 on_crash=lambda key: _crashed(by_key[key]), on_submit=on_submit, stop=stop)
    except WorkerStartError as e:
        raise RunError(f"a bench worker process could not start: {e}") from None


def recorded_judge(meta: dict[str, Any]) -> str:
    """The judge a run was scored with. Runs made before judges were fixed may say `auto`: the
    backend judged itself when it was an LLM, else the offline judge did."""
    judge = meta.get("judge", "auto")
    if judge != "auto":
        return judge
    backend = str(meta.get("backend", ""))
    return backend if is_llm(backend) else "offline"


def rescore(path: Path, console: Console | None = None) -> dict[str, Any]:
    """Score the saved answers of a run again (after a scorer changed); rewrites results atomically."""
    from .summary import summarize, write_summary

    run_dir = RunDirectory(path, "bench")
    if not run_dir.record_path.exists():
        raise RunError(f"{path} is not a run directory ({RUN_META} is missing)")
    with run_dir:
        meta = run_dir.read_record() or {}
        cfg = BenchConfig(suite=meta["suite"], backend=meta["backend"], out=path, seed=meta["seed"],
                          judge=recorded_judge(meta), serve=meta.get("serve", "loaded"),
                          unconfined=bool(meta.get("unconfined", False)))
        check_judge(cfg.judge)
        confinement(cfg.backend, open_suite(cfg.suite), cfg.unconfined)
        worker = _Worker(cfg, meta["scoring_seed"])
        rows = run_dir.rows()
        rescored = []
        with RunProgress(console or Console(stderr=True), "re-scoring", total=len(rows)) as progress:
            for row in rows:
                if "answer" in row and row["key"] in worker.entries:
                    scores = worker.score(worker.entries[row["key"]], Answer.model_validate(row["answer"]))
                    row = row | {"score": scores["score"], "scores": scores, "error": scores.get("error")}
                rescored.append(row)
                progress.advance()
        run_dir.replace_rows(rescored)  # interrupted before this: the saved results stay as they were
        summary = summarize(list(last_per_key(rescored, "key").values()), meta)
        write_summary(path / SUMMARY, summary)
    return summary
