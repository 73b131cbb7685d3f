"""Two reference backends that prove the scorers, not the agent.

`oracle` answers with the ground truth (it is the only backend handed the suite's sealed files,
which is why it lives in evals/ and not among the agent's backends): every category must score
near 1. `null` answers nothing: code scores must be 0 and multiple choice about chance.
If either is off, a scorer is wrong. Both register with the spec registry (agent.registry) here,
so `--backend oracle` and `--backend null` resolve wherever evals.runner is imported.
"""

from __future__ import annotations

from pathlib import Path

from agent.registry import register
from agent.task import Answer, Investigation, Task
from find_functions.layout import Suite


@register("investigator", "oracle", title="answers with the ground truth: the scorers' ceiling",
          writes_no_code=True)
class OracleBackend:
    name = "oracle"

    def __init__(self, suite: Suite):
        if any(e.ground_truth is None for e in suite.entries):
            raise ValueError(f"the oracle answers with ground truth, and {suite.root} has none "
                             "(a directory of scripts)")
        self._entries = {e.key: e for e in suite.entries}

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        gt = self._entries[task.id].ground_truth
        assert gt is not None  # checked in __init__
        answer = Answer(description=gt.description, code=gt.code, domain=gt.domain, label=gt.label)
        return Investigation(answer=answer, rounds=0)


@register("investigator", "null", title="answers nothing: the scorers' floor", writes_no_code=True)
class NullBackend:
    name = "null"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        return Investigation(answer=Answer(), rounds=0)
