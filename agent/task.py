"""What an investigator is given and what it must hand back.

A `Task` is sealed: it carries a black box (outputs for inputs, nothing else) and the facts a
FIND interpreter is told (the kind of function and the input range), never ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence

from pydantic import BaseModel, Field

TaskKind = Literal["numeric", "strings", "entities", "relations"]


class BlackBox(Protocol):
    """A function under study. Batched: one call, many inputs; a failing input gives None."""

    def __call__(self, inputs: Sequence[Any]) -> list[Any]: ...

    @property
    def calls(self) -> int:
        """Number of inputs evaluated so far (the cost measure reported by benchmarks)."""
        ...


@dataclass
class Task:
    id: str
    kind: TaskKind
    black_box: BlackBox
    #: FIND's interpreter may query numeric inputs in [-128, 128].
    input_range: tuple[float, float] | None = (-128.0, 128.0)
    max_rounds: int = 20
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Answer(BaseModel):
    """The final answer; which fields are required depends on the task kind (see `validate`)."""

    description: str = ""
    code: str | None = None  # Python defining `function(x)` (FIND's [CODE])
    domain: tuple[float, float] | None = None  # FIND's [DOMAIN]: the interval that behaves differently
    label: str | None = None  # a short name for the behaviour

    def problems(self, kind: TaskKind) -> list[str]:
        """Why this answer is not acceptable for `kind` (empty when it is)."""
        out = []
        if not self.description.strip():
            out.append("description is empty")
        if kind in ("numeric", "strings") and not (self.code and "def function" in self.code):
            out.append("code must define `def function(x): ...`")
        if self.domain is not None and not self.domain[0] <= self.domain[1]:
            out.append(f"domain {self.domain} is not an interval (low > high)")
        return out


class Usage(BaseModel):
    """What LLM calls spent, summed over calls; in every result row."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    #: Of `input_tokens`, those the provider reported as prompt-cache hits (billed at its cached rate).
    cached_input_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            llm_calls=self.llm_calls + other.llm_calls,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
        )


class Investigation(BaseModel):
    """What a backend returns for one task."""

    answer: Answer
    usage: Usage = Field(default_factory=Usage)
    rounds: int = 0


class Backend(Protocol):
    """Anything that turns a task into an answer: an LLM loop, the builtin scientist, a replay."""

    name: str

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation: ...


def output_as_float(v: Any) -> float:
    """A black-box or answer output as a float; NaN for None, text, or anything unconvertible
    (scorers and the investigator's own checks compare outputs the same way)."""
    if v is None or isinstance(v, (str, bool)):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return math.nan
