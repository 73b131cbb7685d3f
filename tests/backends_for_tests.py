"""Backends used by the runner tests through `--backend py:tests.backends_for_tests:NAME`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.task import Answer, Investigation, Task


class SlowLinearBackend:
    """Probes the black box, then answers a linear fit after a pause (long enough to be killed)."""

    name = "slow-linear"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        if task.kind != "numeric":
            return Investigation(answer=Answer(description="unknown"))
        y0, y1 = task.black_box([0.0, 1.0])
        time.sleep(float(os.environ.get("AIA_TEST_SLEEP", "0.5")))
        code = f"def function(x):\n    return {y1 - y0!r} * x + {y0!r}"
        return Investigation(answer=Answer(description="a linear function", code=code), rounds=1)


class CrashingBackend:
    name = "crashing"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        raise RuntimeError("backend exploded")


class KillsItsWorkerBackend(SlowLinearBackend):
    """Kills its own process (SIGKILL, as the OS's out-of-memory killer would) on numeric/f00001."""

    name = "kills-its-worker"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        if task.id == "numeric/f00001":
            os.kill(os.getpid(), 9)
        return super().investigate(task, log_dir)


class KillsTheRunBackend(SlowLinearBackend):
    """Kills the `aia bench` process itself (its worker's parent) on numeric/f00001, as a hostile
    investigation without an OS sandbox once did."""

    name = "kills-the-run"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        if task.id == "numeric/f00001":
            os.kill(os.getppid(), 9)
            time.sleep(30)  # the worker itself dies with its pool's parent
        return super().investigate(task, log_dir)


class ProbeThenGuessBackend:
    """Calls the black box once, then answers a constant function with a free-text description
    (which the offline string judge cannot execute)."""

    name = "probe-then-guess"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        task.black_box([0.0, 1.0] if task.kind == "numeric" else ["abc", "dog"])
        return Investigation(answer=Answer(description="It turns the characters around, roughly speaking",
                                           code="def function(x):\n    return x"), rounds=1)
