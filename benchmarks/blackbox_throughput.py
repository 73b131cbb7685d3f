"""Throughput of the ways to serve a black-box function, measured in one process.

    python benchmarks/blackbox_throughput.py [--repeats 5] [--inputs 256]

Compares calls/s (inputs evaluated per second) for: the function called in-process (the ceiling,
and what an unsealed design would do), the sealed worker subprocess with batches of 1, 16 and 256
inputs, and FIND's way (`python SCRIPT args...` per batch, via ScriptBlackBox) with batches of 1
and 256. The function is a FIND-style numeric script with FIND's imports (numpy, scipy), so the
per-process start-up cost is realistic. Reports medians over repeats and the ratio to in-process.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from find_functions.blackbox import BlackBoxWorker, ScriptBlackBox  # noqa: E402
from find_functions.script import render_script  # noqa: E402

BODY = """
import numpy as np
import scipy.signal
from scipy.special import gamma, factorial, erf


def function(x):
    return 7.6 * np.sin((2 * np.pi / 0.8) * (x - 4.0)) + -1.9
"""


def _in_process(script: Path) -> Callable[[Sequence[float]], list[float]]:
    spec = importlib.util.spec_from_file_location("_bench_function", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return lambda xs: [float(module.function(x)) for x in xs]


def _rate(evaluate: Callable[[list[float]], list], xs: list[float], batch: int, repeats: int) -> float:
    """Median inputs/s over `repeats` passes through `xs` in batches of `batch`."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(xs), batch):
            out = evaluate(xs[i:i + batch])
            assert len(out) == len(xs[i:i + batch]) and out[0] is not None
        rates.append(len(xs) / (time.perf_counter() - start))
    return statistics.median(rates)


def _load_ms(worker: BlackBoxWorker, script: Path, repeats: int) -> float:
    """Median milliseconds to load a script into a warm worker (the per-function cost of a run)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        worker.load(script, "float")([0.5])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--inputs", type=int, default=256, help="inputs per pass (FIND-sized: 256)")
    parser.add_argument("--script-calls", type=int, default=8,
                        help="inputs per pass for FIND's way with batches of 1 (each starts Python)")
    args = parser.parse_args()
    xs = [i + 0.5 for i in range(-args.inputs // 2, args.inputs - args.inputs // 2)]

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "f00000" / "function_code.py"
        script.parent.mkdir()
        script.write_text(render_script(BODY, "float"), encoding="utf-8")
        rows: list[tuple[str, float]] = [("in-process function(x)", _rate(_in_process(script), xs, 1, args.repeats))]
        with BlackBoxWorker() as worker:
            f = worker.load(script, "float")
            f(xs[:1])  # warm-up
            for batch in (1, 16, 256):
                rows.append((f"worker, batch {batch}", _rate(f, xs, batch, args.repeats)))
            load_ms = _load_ms(worker, script, args.repeats)
        box = ScriptBlackBox(script, "float")
        rows.append(("FIND script, batch 1", _rate(box, xs[:args.script_calls], 1, args.repeats)))
        rows.append(("FIND script, batch 256", _rate(box, xs, 256, args.repeats)))

    base = rows[0][1]
    print(f"{'how':<26}{'calls/s':>14}{'vs in-process':>16}")
    for name, rate in rows:
        print(f"{name:<26}{rate:>14,.1f}{rate / base:>16.3g}")
    print(f"worker: load a script into a warm worker and call it once: {load_ms:.1f} ms (median)")
    print(f"(median of {args.repeats} repeats; {args.inputs} inputs per pass; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
