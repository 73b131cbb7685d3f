"""Wall time of `aia bench` with an LLM backend at --concurrency 1 and N, over a slow fake API.

    python benchmarks/llm_concurrency.py [--functions 50] [--delay 2.0] [--concurrency 16]

An LLM investigation spends its time waiting on the API. This runs the whole `aia bench` path
(the real OpenAI SDK, the sealed black boxes, scoring, one fsynced row per function) over the
loopback fake server of tests/fake_llm, which waits `--delay` seconds before every reply. Each
investigation takes two requests (probe, submit), so the serial run takes about
functions x 2 x delay seconds. Prints both wall times, their ratio, and whether both runs gave the
same rows. No timed assertions: the figures are for the reader.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.runner import BenchConfig, run_bench  # noqa: E402
from find_functions.layout import write_suite  # noqa: E402
from find_functions.script import render_script  # noqa: E402
from find_functions.spec import GroundTruth, SuiteFunction  # noqa: E402
from tests.fake_llm import FakeLLMServer, Reply, ToolCall  # noqa: E402
from tools.run_dir import read_results  # noqa: E402

CODE = "def function(x):\n    return 2.0 * x + 1.0"


def respond(request: dict[str, Any]) -> Reply:
    """Probe, then submit the linear answer (fixed call ids: token counts match across runs)."""
    if '"role": "tool"' not in json.dumps(request):
        return Reply(tool_calls=[ToolCall("call_function", {"inputs": [0.0, 1.0]}, id="call_probe")])
    return Reply(tool_calls=[ToolCall("submit", {"description": "2x + 1", "code": CODE}, id="call_submit")])


def suite(root: Path, n: int) -> Path:
    functions = [SuiteFunction(id=f"f{i:05d}", category="numeric", variant="clean", script_name="function_code.py",
                               script=render_script(CODE, "float"), held_out_inputs=[1.25],
                               ground_truth=GroundTruth(description="2x + 1", code=CODE, label="linear"))
                 for i in range(n)]
    return write_suite(functions, root / "suite", {"seed": 0})


def run(suite_dir: Path, out: Path, concurrency: int) -> tuple[float, dict[str, Any]]:
    from evals.confinement import sandbox_available

    started = time.perf_counter()
    run_bench(BenchConfig(suite=str(suite_dir), backend="openai:gpt-4o-mini", out=out, workers=1,
                          concurrency=concurrency, unconfined=not sandbox_available()))
    seconds = time.perf_counter() - started
    rows = {r["key"]: {k: r.get(k) for k in ("score", "rounds", "black_box_calls", "answer", "usage", "error")}
            for r in read_results(out / "results.jsonl")}
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=50)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the fake API waits before each reply")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeLLMServer(respond, delay=args.delay) as server:
        os.environ.update(server.sdk_env("openai"))
        suite_dir = suite(Path(tmp), args.functions)
        serial, serial_rows = run(suite_dir, Path(tmp) / "c1", 1)
        concurrent, concurrent_rows = run(suite_dir, Path(tmp) / f"c{args.concurrency}", args.concurrency)
        requests = len(server.requests)
    print(f"{args.functions} functions, {args.delay:g} s per reply, {requests} requests in all")
    print(f"concurrency 1:  {serial:7.1f} s wall")
    print(f"concurrency {args.concurrency}: {concurrent:7.1f} s wall")
    print(f"speed-up: {serial / concurrent:.1f}x   same rows: {serial_rows == concurrent_rows}")


if __name__ == "__main__":
    main()
