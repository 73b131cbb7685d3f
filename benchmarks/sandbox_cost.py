"""What the OS sandbox costs `run_python`, measured in one process against the unconfined child.

    python benchmarks/sandbox_cost.py [--repeats 15]

Two figures, each as a median over repeats and as a ratio confined / unconfined:
- start-up: `Sandbox.start()` until the child says it is ready (numpy and pillow preloaded);
- round trip: one `run_python` cell that calls the black box on 100 inputs and prints a summary,
  in a sandbox already started (what every code round of an investigation pays).
The unconfined child is the same process with the same limits, started without bubblewrap (the
explicit opt-out), which is also what `run_python` was before the OS layer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.sandbox import Sandbox  # noqa: E402
from tools import isolation  # noqa: E402

CELL = "ys = f([x * 0.5 for x in range(100)])\nprint(len(ys), min(ys), max(ys))"


def _line(x: list[float]) -> list[float]:
    return [3.0 * v + 1.0 for v in x]


def measure(confine: bool, repeats: int) -> tuple[float, float]:
    """(median start-up seconds, median round-trip seconds)."""
    starts, trips = [], []
    for _ in range(repeats):
        box = Sandbox({"f": _line}, confine=confine)
        t = time.perf_counter()
        box.start()
        starts.append(time.perf_counter() - t)
        for _ in range(5):
            t = time.perf_counter()
            result = box.run(CELL)
            trips.append(time.perf_counter() - t)
            assert result.ok, result.error
        box.close()
    return statistics.median(starts), statistics.median(trips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"isolation: {isolation.probe().describe()}")
    measure(False, 1)  # warm the page cache for both
    plain = measure(False, args.repeats)
    confined = measure(True, args.repeats)
    print(f"{'':12} {'unconfined':>12} {'bubblewrap':>12} {'ratio':>7}")
    for name, a, b in (("start-up", plain[0], confined[0]), ("round trip", plain[1], confined[1])):
        print(f"{name:12} {a * 1000:10.1f}ms {b * 1000:10.1f}ms {b / a:7.2f}")


if __name__ == "__main__":
    main()
