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
function an error row: `status` "error" and no score (never a 0: summaries count errors apart
from the means, and `aia bench` exits 1). A function whose investigation kills its worker process
gets an error row of kind `crashed`. Like every row, an error row is final unless the resume asks
otherwise (`retry_errors`, `--retry-errors`): a plain resume says how many errored and does not
run them again, so a function that kills its worker cannot stall a run however often it is
resumed. Every spec (backend, judge, a `local:` model's name) is checked once before the run
directory and the suite (`evals.preflight`), so a typo is one line, not an error row per
function. If the `aia bench` process itself dies, a resume reruns what was in flight once; a
function in flight at two such deaths gets a `crashed` row too (`RunDirectory.killed_in_flight`).

The scoring seed (held-out points, samples) is fixed per suite unless `scoring_seed` says
otherwise (`bench_config.suite_scoring_seed`), so runs of two backends on one suite compare;
run.json records it, where it came from, and the whole BenchConfig.

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
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from rich.console import Console

from agent.registry import is_llm, make_backend
from agent.task import Answer, Backend, Task, TaskKind
from find_functions.layout import Suite, SuiteEntry
from tools.run_dir import KINDS, MAX_KILLS, RunDirectory, RunError, SpendingCap, last_per_key, now, versions

from . import reference_backends  # noqa: F401 - registers --backend oracle and null
from .bench_config import BenchConfig, suite_scoring_seed
from .config_help import recorded
from .confinement import confinement, writes_no_code
from .judge import Judge, TallyingJudge, make_judge, multiple_choice_accuracy
from .pool import WorkerStartError, resilient_map, threaded_map
from .preflight import check_spec, price_known
from .progress import RunProgress
from .scoring import ScoringContext, score_answer
from .suites import FIND_PREFIX, open_suite, serve
from .summary import ERROR, OK, row_status

RUN_META, RESULTS, _ = KINDS["bench"]
SUMMARY = "summary.json"

KIND: dict[str, TaskKind] = {"numeric": "numeric", "strings": "strings",
                             "neurons_entities": "entities", "neurons_relations": "relations"}

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
            return row | {"status": ERROR, "error": f"{stage} failed: {type(e).__name__}: {e}", "score": None,
                          "scores": {},
                          "black_box_calls": box.calls if box else 0,
                          "seconds": round(time.perf_counter() - start, 3)} | _box_errors(box)
        failed = box.all_failed()
        error = f"every output of the function failed: {failed}" if failed else scores.get("error")
        return row | {
            "status": ERROR if failed else OK, "score": None if failed else scores["score"], "scores": scores,
            "black_box_calls": box.calls, "rounds": inv.rounds,
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
            "error_kind": "crashed", "status": ERROR, "score": None, "scores": {}}


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
    check_spec("judge", spec, what="--judge", build=False)  # a `local:` judge's model name, without loading it
    from agent.backends.base import MissingCredentials

    from .preflight import one_line

    try:
        return make_judge(spec)
    except MissingCredentials as e:
        raise RunError(f"--judge {spec!r}: {one_line(str(e))}") from None
    except ValueError as e:
        raise RunError(one_line(str(e))) from None


def resolve_workers(workers: int) -> int:
    """`workers` as processes: 0 means one per CPU core, at most 8."""
    return workers or min(8, os.cpu_count() or 1)


def run_bench(cfg: BenchConfig, console: Console | None = None) -> dict[str, Any]:
    """Run (or resume) a benchmark; returns the summary.

    Every spec is checked once before anything is built or written: the backend's form (and a
    `local:` model's name) and the judge first, then, with the suite, the backend itself (a
    missing API key, options that do not apply). A failure is one RunError line and no run.json."""
    from .summary import summarize, write_summary

    console = console or Console(stderr=True)
    cfg.workers = resolve_workers(cfg.workers)
    check_limits(cfg)
    # before the directory and the suite: the form, a local model's name, and an LLM's API key
    # (an LLM backend needs no suite to be built; the others are built with it below)
    check_spec("investigator", cfg.backend, what="--backend", build=is_llm(cfg.backend), confine=cfg.confine(),
               **_backend_options(cfg))
    check_judge(cfg.judge)
    # The directory first: a locked, unwritable, damaged or other kind of one is refused before the suite is built.
    with RunDirectory(cfg.out, "bench") as run_dir:
        suite = open_suite(cfg.suite)
        for problem in suite.problems:
            console.print(f"[yellow]skipped:[/] {problem}")
        # a stable name for the resume check and the worker processes ("default" resolves to a path)
        cfg.suite = f"{FIND_PREFIX}{suite.root}" if cfg.suite.startswith(FIND_PREFIX) else str(suite.root)
        # fail now on a backend that cannot be built (a missing API key, options that do not apply)
        check_spec("investigator", cfg.backend, what="--backend", suite=suite, confine=cfg.confine(),
                   **_backend_options(cfg))
        if cfg.max_usd is not None and is_llm(cfg.backend):  # a run cap needs the model's price
            check_spec("investigator", cfg.backend, what="--backend", suite=suite, confine=cfg.confine(),
                       max_usd=cfg.max_usd)
        isolated = confinement(cfg.backend, suite, cfg.unconfined)
        if cfg.concurrency > 1 and not is_llm(cfg.backend):
            console.print(f"[yellow]note:[/] --concurrency applies to LLM backends; {cfg.backend!r} runs one "
                          "investigation at a time per worker process")
            cfg.concurrency = 1
        selected = select(cfg, suite)
        identity = {"suite": cfg.suite, "backend": cfg.backend, "seed": cfg.seed, "max_rounds": cfg.max_rounds,
                    "judge": cfg.judge}
        fixed = suite_scoring_seed(suite.manifest, [e.key for e in suite.entries])
        scoring_seed = fixed if cfg.scoring_seed is None else cfg.scoring_seed
        meta = run_dir.start_or_resume(identity, new={
            "scoring_seed": scoring_seed,
            "scoring_seed_from": "the suite" if cfg.scoring_seed is None else "--scoring-seed",
            "versions": versions(), "platform": platform.platform(),
            "created": now(), "suite_manifest": suite.manifest, "isolation": isolated, "unconfined": cfg.unconfined,
            "serve": cfg.serve,
            # the builtin scientist and the reference backends follow a fixed plan: no round cap to record
            "budget": {"max_rounds": None if writes_no_code(cfg.backend) else cfg.max_rounds,
                       "load_timeout": cfg.load_timeout,
                       "context": None} | cfg.extra},  # the engine re-sends every observation (agent/context.py)
            latest={"concurrency": cfg.concurrency, "max_usd": cfg.max_usd,
                    "max_usd_per_function": cfg.max_usd_per_function, "price_known": price_known(cfg.backend),
                    "config": recorded(cfg, leave_out=("extra",))})
        if cfg.scoring_seed is not None and meta["scoring_seed"] != cfg.scoring_seed:
            raise RunError(f"{cfg.out} was scored with scoring seed {meta['scoring_seed']}, not --scoring-seed "
                           f"{cfg.scoring_seed}; resume it without --scoring-seed or choose another --out")
        if meta.get("isolation") != isolated:  # a resume on another machine, or with another choice
            console.print(f"[yellow]note:[/] this run started with isolation {meta.get('isolation')!r}; "
                          f"now {isolated!r}")
        rows = last_per_key(run_dir.rows(), "key")
        for key, deaths in run_dir.killed_in_flight(rows).items():
            if deaths >= MAX_KILLS and key in {e.key for e in selected}:
                rows[key] = _crashed(next(e for e in selected if e.key == key), whole_run=deaths)
                run_dir.append(rows[key])
        errored = [e for e in selected if e.key in rows and row_status(rows[e.key]) == ERROR]
        todo = [e for e in selected if e.key not in rows or (cfg.retry_errors and e in errored)]
        if len(todo) < len(selected) or errored:
            console.print(resume_line(cfg.out, len(selected), len(todo), len(errored), cfg.retry_errors))
        if cfg.retry_errors:
            rows = {k: r for k, r in rows.items() if row_status(r) != ERROR}
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


def resume_line(out: Path, selected: int, todo: int, errored: int, retry: bool) -> str:
    """What a resume says it does: never "0 to go" while error rows hide behind it."""
    done = selected - todo - (0 if retry else errored)
    line = f"resuming {out}: {done} done"
    if errored:
        line += (f", {errored} errored (investigated again: --retry-errors)" if retry else
                 f", {errored} errored (kept; --retry-errors investigates them again)")
    return line + f", {todo} to go"


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
        scored = [r for r in done if row_status(r) == OK]
        scores = [r["score"] for r in scored if isinstance(r.get("score"), (int, float))]
        mean = f"mean score {sum(scores) / len(scores):.3f}" if scores else "no score"
        unjudged = sum(r.get("scores", {}).get("unjudged") or 0 for r in done)
        errors = len(done) - len(scored)
        extra = "".join(f", {n} {what}" for n, what in ((unjudged, "unjudged"), (errors, "errored, not in the mean"))
                        if n)
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
    if path.is_dir() and not run_dir.record_path.exists():
        try:
            kind, _ = RunDirectory.open_existing(path)
        except RunError:
            kind = "bench"
        if kind != "bench":
            raise RunError(f"{path} holds a {KINDS[kind][2]}, not a bench run: only bench runs are re-scored")
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
                if "answer" in row and row["key"] in worker.entries and row_status(row) == OK:  # errors stay
                    scores = worker.score(worker.entries[row["key"]], Answer.model_validate(row["answer"]))
                    failed = str(scores.get("error") or "").startswith("every output of the function failed")
                    row = row | {"status": ERROR if failed else OK, "score": None if failed else scores["score"],
                                 "scores": scores, "error": scores.get("error")}
                rescored.append(row)
                progress.advance()
        run_dir.replace_rows(rescored)  # interrupted before this: the saved results stay as they were
        summary = summarize(list(last_per_key(rescored, "key").values()), meta)
        write_summary(path / SUMMARY, summary)
    return summary
