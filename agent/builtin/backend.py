"""The `builtin` backend: the offline scientist behind the same interface as the LLM backends.

It is not a language model. Each task kind has a deterministic investigator (numeric, strings,
relations, entities) that designs experiments from what earlier ones showed and keeps a
hypothesis ledger. The backend streams those experiments and ledger updates into the same
transcript format the LLM loop writes (`assistant` turns calling `call_function`, `tool_result`
observations, `hypotheses` snapshots), so `aia show` and reports read both alike. It never sees
ground truth: only the task's black box.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from agent.ledger import HypothesisUpdate, Ledger
from agent.task import Answer, Investigation, Task, Usage
from agent.transcript import TranscriptWriter

from .findings import Experiment, Findings, Hypothesis, Notebook

Investigator = Callable[..., Findings]

#: How many inputs/outputs of one experiment the transcript keeps (the rest are counted).
TRANSCRIPT_ITEMS = 48
#: Inputs per black-box request: a survey of thousands of words is sent in chunks, so that no
#: request exceeds the worker's batch limit or its per-request timeout.
CHUNK = 256


def _chunked(black_box: Callable[[list[Any]], list[Any]]) -> Callable[[list[Any]], list[Any]]:
    def probe(inputs: list[Any]) -> list[Any]:
        inputs = list(inputs)
        return [y for i in range(0, len(inputs), CHUNK) for y in black_box(inputs[i:i + CHUNK])]

    return probe


def _investigator(kind: str) -> Investigator:
    if kind == "numeric":
        from .numeric import investigate_numeric as fn
    elif kind == "strings":
        from .strings import investigate_strings as fn
    elif kind == "relations":
        from .relations import investigate_relations as fn
    elif kind == "entities":
        from .entities import investigate_entities as fn
    else:
        raise ValueError(f"the builtin scientist has no investigator for {kind!r} tasks")
    return fn


def _clip(values: list[Any]) -> tuple[list[Any], int]:
    return values[:TRANSCRIPT_ITEMS], max(0, len(values) - TRANSCRIPT_ITEMS)


class TranscriptSink:
    """Turns notebook events into transcript events and ledger updates, as they happen."""

    def __init__(self, log: TranscriptWriter):
        self.log = log
        self.ledger = Ledger()
        self.round = 0
        self.started = time.perf_counter()

    def __call__(self, kind: str, item: Any) -> None:
        if kind == "experiment":
            self._experiment(item)
        elif kind == "hypothesis":
            self._hypothesis(item)

    def _experiment(self, e: Experiment) -> None:
        self.round += 1
        inputs, more_in = _clip(e.inputs)
        outputs, more_out = _clip(e.outputs)
        args: dict[str, Any] = {"inputs": inputs}
        if more_in:
            args["more_inputs_not_shown"] = more_in
        self.log.write("assistant", round=self.round, text=e.purpose,
                       tool_calls=[{"id": f"call_{self.round}", "name": "call_function", "arguments": args}],
                       usage=Usage().model_dump(), seconds=round(time.perf_counter() - self.started, 4))
        pairs = ", ".join(f"f({x!r}) = {y!r}" for x, y in zip(inputs, outputs))
        text = pairs + (f" ... and {more_out} more" if more_out else "")
        self.log.write("tool_result", round=self.round, call_id=f"call_{self.round}", name="call_function",
                       text=text, is_error=False)

    def _hypothesis(self, h: Hypothesis) -> None:
        update = HypothesisUpdate(id=h.id, statement=h.statement, status=h.status,
                                  evidence=h.evidence[-1] if h.evidence else None)
        self.ledger.apply([update], self.round)
        self.log.write("hypotheses", round=self.round, ledger=json.loads(self.ledger.model_dump_json())["hypotheses"])


class BuiltinBackend:
    """`--backend builtin`."""

    name = "builtin"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        log = TranscriptWriter(log_dir)
        try:
            log.write("start", task_id=task.id, kind=task.kind, backend=self.name, max_rounds=None, seed=task.seed)
            sink = TranscriptSink(log)
            findings = _investigator(task.kind)(_chunked(task.black_box), seed=task.seed, notebook=Notebook(sink))
            answer = Answer(description=findings.description, code=findings.code, domain=findings.domain,
                            label=findings.label)
            problems = answer.problems(task.kind)
            log.write("end", stop_reason="submitted", rounds=sink.round, accepted=not problems,
                      answer=answer.model_dump(mode="json"), answer_problems=problems,
                      black_box_calls=task.black_box.calls, usage=Usage().model_dump())
            return Investigation(answer=answer, rounds=sink.round)
        finally:
            log.close()
