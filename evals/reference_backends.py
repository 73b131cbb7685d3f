"""Two reference backends that prove the scorers, not the agent.

`oracle` answers with the ground truth (it is the only backend handed the suite's sealed files,
which is why it lives in evals/ and not among the agent's backends): every category must score
near 1. `null` answers nothing: code scores must be 0 and multiple choice about chance.
If either is off, a scorer is wrong.
"""

from __future__ import annotations

from pathlib import Path

from agent.task import Answer, Investigation, Task
from find_functions.layout import SuiteEntry


class OracleBackend:
    name = "oracle"

    def __init__(self, entries: dict[str, SuiteEntry]):
        self._entries = entries

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        gt = self._entries[task.id].ground_truth
        if gt is None:
            raise ValueError(f"{task.id}: the oracle needs ground truth, and this suite has none")
        answer = Answer(description=gt.description, code=gt.code, domain=gt.domain, label=gt.label)
        return Investigation(answer=answer, rounds=0)


class NullBackend:
    name = "null"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        return Investigation(answer=Answer(), rounds=0)
