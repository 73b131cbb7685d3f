"""What a built-in investigation produces: experiments run, hypotheses and their fate, the answer.

Every built-in investigator (numeric, strings, entities, relations) reports in these terms, so its
transcript reads like any other investigation: what was asked, what came back, which hypothesis
each observation supported or refuted, and what was concluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Hypothesis:
    id: str
    statement: str
    status: str = "open"  # open | supported | refuted
    evidence: list[str] = field(default_factory=list)


@dataclass
class Experiment:
    purpose: str
    inputs: list[Any]
    outputs: list[Any]


@dataclass
class Findings:
    """The conclusion of one investigation: the fields of the submitted answer plus its record."""

    description: str
    code: str | None
    domain: tuple[float, float] | None
    label: str
    hypotheses: list[Hypothesis]
    experiments: list[Experiment]


#: Called with each event as it happens: ("experiment", Experiment) or ("hypothesis", Hypothesis),
#: so a transcript streams while the investigation runs.
EventSink = Callable[[str, Any], None]


class Notebook:
    """The running record of one investigation: every experiment and every hypothesis."""

    def __init__(self, on_event: EventSink | None = None) -> None:
        self.experiments: list[Experiment] = []
        self.hypotheses: list[Hypothesis] = []
        self._on_event = on_event

    def _emit(self, kind: str, item: Any) -> None:
        if self._on_event is not None:
            self._on_event(kind, item)

    def record(self, purpose: str, inputs: list[Any], outputs: list[Any]) -> None:
        experiment = Experiment(purpose, list(inputs), list(outputs))
        self.experiments.append(experiment)
        self._emit("experiment", experiment)

    def propose(self, statement: str, status: str = "open", evidence: str | None = None) -> Hypothesis:
        h = Hypothesis(f"H{len(self.hypotheses) + 1}", statement, status, [evidence] if evidence else [])
        self.hypotheses.append(h)
        self._emit("hypothesis", h)
        return h

    def settle(self, h: Hypothesis, status: str, evidence: str) -> None:
        h.status = status
        h.evidence.append(evidence)
        self._emit("hypothesis", h)
