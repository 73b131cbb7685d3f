"""Per-function cost of serving a FIND-layout suite: native vs loaded once vs one process per batch.

    python benchmarks/find_serving.py [--functions 6] [--find-numeric ../shared/find/numeric]

Writes a small numeric suite in FIND's release layout (FIND's own functions rebuilt from its
metadata, as `aia suite build --find-numeric` does, when `--find-numeric` is given; else aia's own
numeric functions, MLP variants left out) and serves every function three ways, in one process:

- native: the suite read as aia's (`load_suite`): the shared, trusted worker imports each script;
- loaded once: read as an official FIND release (`load_find_suite`): a confined worker per
  function loads the foreign script once and calls `function` directly (`serve(mode="loaded")`);
- per process: the same, run as FIND runs it, one confined `python SCRIPT args` per batch
  (`serve(mode="process")`).

A function's time is what `aia bench` spends on it: the builtin scientist investigates a fresh
black box, then the answer is scored (`score_numeric`, its code run in the answer sandbox) against
another fresh one; without ground-truth code (a FIND release) the noise-free reference is the
average of several served calls. Prints medians per function of the investigation, the scoring and
their total, and the median of per-function ratios of the total to native.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.builtin.backend import BuiltinBackend  # noqa: E402
from agent.task import Task  # noqa: E402
from evals.scoring import ScoringContext, score_numeric  # noqa: E402
from evals.suites import serve  # noqa: E402
from find_functions.find_release import load_find_suite  # noqa: E402
from find_functions.layout import SuiteEntry, load_suite, write_suite  # noqa: E402
from find_functions.spec import SuiteFunction  # noqa: E402

WAYS = {"native": {}, "loaded once": {"mode": "loaded"}, "per process": {"mode": "process"}}


def _functions(n: int, find_numeric: Path | None) -> list[SuiteFunction]:
    if find_numeric is not None:
        from find_functions.find_numeric import load_find_records, parse_record

        records = [(r, s) for r, s in load_find_records(find_numeric / "data.json") if s != "load_mlp.py"]
        return [parse_record(r, s).to_suite_function() for r, s in records[:n]]
    from find_functions.numeric import sample_numeric

    return [f.to_suite_function() for f in sample_numeric(0, 4 * n) if f.variant != "mlp"][:n]


def _seconds(entry: SuiteEntry, how: dict[str, str]) -> tuple[float, float]:
    """(serving, scoring) seconds of one function as `aia bench` spends them: the builtin scientist
    investigates a fresh black box, then the answer is scored against another fresh one."""
    start = time.perf_counter()
    with serve(entry, **how) as box:  # type: ignore[arg-type]
        answer = BuiltinBackend().investigate(Task(id=entry.key, kind="numeric", black_box=box)).answer
    investigated = time.perf_counter()
    with serve(entry, **how) as box:  # type: ignore[arg-type]
        score_numeric(entry, answer, ScoringContext(box, judge=None, seed=0))  # type: ignore[arg-type]
    return investigated - start, time.perf_counter() - investigated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=6)
    parser.add_argument("--find-numeric", type=Path, help="FIND's numeric folder (data.json, func_name_dict.json)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_suite(_functions(args.functions, args.find_numeric), Path(tmp) / "suite", {"seed": None})
        entries = {"native": load_suite(root).entries}
        entries["loaded once"] = entries["per process"] = load_find_suite(root).entries
        _seconds(entries["native"][0], WAYS["native"])  # start the shared worker outside the timings
        times: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        for i in range(len(entries["native"])):  # interleaved, so drift in machine load hits all ways alike
            for way, how in WAYS.items():
                times[way].append(_seconds(entries[way][i], how))
    native = [a + b for a, b in times["native"]]
    print(f"{len(native)} numeric functions; medians per function")
    print(f"{'how':<14}{'investigate s':>15}{'score s':>10}{'total s':>10}{'total vs native':>17}")
    for way, rows in times.items():
        total = [a + b for a, b in rows]
        ratio = statistics.median(t / n for t, n in zip(total, native))
        print(f"{way:<14}{statistics.median(a for a, _ in rows):>15.3f}{statistics.median(b for _, b in rows):>10.3f}"
              f"{statistics.median(total):>10.3f}{ratio:>17.2f}")


if __name__ == "__main__":
    main()
