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
