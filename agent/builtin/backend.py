"""The `builtin` backend: the offline scientist behind the same interface as the LLM backends.

It is not a language model. Each task kind has a deterministic investigator (numeric, strings,
relations, entities) that designs experiments from what earlier ones showed and keeps a
hypothesis ledger. The backend streams those experiments and ledger updates through the same
typed event writer the LLM engine uses: an `experiment` event per experiment (it takes no LLM
turns, so it writes none) and `hypotheses` snapshots, so `aia show` and reports read both. It
never sees ground truth: only the task's black box.
"""

from __future__ import annotations

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
    """Turns notebook events into transcript events and ledger updates, as they happen.

    `black_box_calls` reads the black box's own call counter (bench); without it (labelers, whose
    subject model counts nothing) experiments carry no count.
    """

    def __init__(self, log: TranscriptWriter, black_box_calls: Callable[[], int] | None = None):
        self.log = log
        self.ledger = Ledger()
        self.round = 0
        self.black_box_calls = black_box_calls
        self.last = time.perf_counter()

    def __call__(self, kind: str, item: Any) -> None:
        if kind == "experiment":
            self._experiment(item)
        elif kind == "hypothesis":
            self._hypothesis(item)

    def _experiment(self, e: Experiment) -> None:
        self.round += 1
        now = time.perf_counter()
        inputs, more_inputs = _clip(e.inputs)
        outputs, more_outputs = _clip(e.outputs)
        self.log.write("experiment", round=self.round, purpose=e.purpose, inputs=inputs, outputs=outputs,
                       more_inputs=more_inputs, more_outputs=more_outputs, seconds=round(now - self.last, 4),
                       black_box_calls=self.black_box_calls() if self.black_box_calls is not None else None)
        self.last = now

    def _hypothesis(self, h: Hypothesis) -> None:
        update = HypothesisUpdate(id=h.id, statement=h.statement, status=h.status,
                                  evidence=h.evidence[-1] if h.evidence else None)
        self.ledger.apply([update], self.round)
        self.log.write("hypotheses", round=self.round, ledger=self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {k: h.model_dump() for k, h in self.ledger.hypotheses.items()}


class BuiltinBackend:
    """`--backend builtin`."""

    name = "builtin"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        log = TranscriptWriter(log_dir)
        started = time.perf_counter()
        calls_before = task.black_box.calls
        try:
            log.write("start", task_id=task.id, kind=task.kind, backend=self.name, max_rounds=None, seed=task.seed)
            sink = TranscriptSink(log, black_box_calls=lambda: task.black_box.calls)
            findings = _investigator(task.kind)(_chunked(task.black_box), seed=task.seed, notebook=Notebook(sink))
            answer = Answer(description=findings.description, code=findings.code, domain=findings.domain,
                            label=findings.label)
            problems = answer.problems(task.kind)
            log.write("end", stop_reason="submitted", rounds=sink.round, accepted=not problems,
                      answer=answer.model_dump(mode="json"), answer_problems=problems,
                      black_box_calls=task.black_box.calls - calls_before, usage=Usage().model_dump(),
                      seconds=round(time.perf_counter() - started, 3), ledger=sink.snapshot())
            return Investigation(answer=answer, rounds=sink.round)
        finally:
            log.close()
