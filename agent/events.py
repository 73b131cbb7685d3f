"""The run record's schema: one pydantic model per transcript event, a union discriminated on `type`.

Every transcript (bench, label, chat; LLM or builtin) is a JSONL stream of these events, written
by `agent.transcript.TranscriptWriter` and read by `agent.transcript.read_transcript`. A schema
makes the record a contract: a writer that invents a field or an event type fails at once
instead of leaving a file that `aia show`, the report or a resumed chat misreads later.

Versions. Every event line carries its own `format_version`. Per line, not in a header, because
a chat transcript has no start event to hold one, and a chat written by an older aia and resumed
by a newer one holds events of both formats: each line says how to read itself.

- 1 (FORMAT_VERSION): this module. Unknown types and unknown fields are errors.
- 0: lines without `format_version` (aia before this schema). Read leniently: fields this schema
  does not know are dropped, a type it does not know is kept as an `UnknownEvent`, and one known
  fault is repaired (the builtin labeler recorded its round count as `black_box_calls`; the end
  event it wrote is the only version-0 end with `seconds` and `black_box_calls` both, and loses
  the latter). A known type that still does not validate is an error naming format version 0.

A line with a version above FORMAT_VERSION was written by a newer aia: an error says so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.ledger import Hypothesis
from agent.task import Usage

FORMAT_VERSION = 1


class EventError(ValueError):
    """An event that does not fit the schema; the message names the event and the field."""


# ----------------------------------------------------------------------------- parts of events

#: Unknown fields are errors; bytes in free-form values (tool arguments, experiment outputs) are
#: written as base64 rather than failing on bytes that are not UTF-8.
_STRICT = ConfigDict(extra="forbid", ser_json_bytes="base64")


class _Part(BaseModel):
    model_config = _STRICT


class ToolCallRecord(_Part):
    """One tool call of an assistant turn; `error` is set when its arguments were unreadable."""

    id: str
    name: str
    arguments: dict[str, Any] = {}
    error: str | None = None


class RetryRecord(_Part):
    """A transient API failure retried before the turn succeeded."""

    attempt: int
    error: str
    wait: float


# ----------------------------------------------------------------------------- events

class BaseEvent(BaseModel):
    model_config = _STRICT

    type: str
    format_version: int = FORMAT_VERSION
    #: Seconds since the transcript was opened (a resumed chat continues the clock).
    t: float


class StartEvent(BaseEvent):
    """An investigation begins (bench and label; a chat has none). The fields a kind of run
    lacks stay None: builtin runs have no round cap, no tool list and no tool protocol."""

    type: Literal["start"] = "start"
    task_id: str  # the task's id (bench) or the unit (label)
    kind: str  # the task kind (numeric, strings, relations, entities) or "label"
    backend: str
    max_rounds: int | None = None  # None: no round cap (the builtin scientists and labelers)
    tools: list[str] | None = None  # the tools offered to an LLM; None for builtin runs
    native_tools: bool | None = None  # the LLM's tool protocol (native or text); None without an LLM
    seed: int | None = None  # the builtin investigators' seed; None for LLM runs


class SystemEvent(BaseEvent):
    type: Literal["system"] = "system"
    text: str


class UserEvent(BaseEvent):
    """A message to the investigator: the task, a nudge, or a chat question."""

    type: Literal["user"] = "user"
    text: str


class FinalRequestEvent(BaseEvent):
    """The one last request for an answer, at the round cap or a spent budget."""

    type: Literal["final_request"] = "final_request"
    text: str


class AssistantEvent(BaseEvent):
    """One policy (LLM) turn: its text, its tool calls and what it cost."""

    type: Literal["assistant"] = "assistant"
    round: int
    text: str = ""
    tool_calls: list[ToolCallRecord] = []
    usage: Usage = Field(default_factory=Usage)
    cached_tokens: int = 0
    seconds: float = 0.0
    retries: list[RetryRecord] = []


class ToolResultEvent(BaseEvent):
    """The observation answering one tool call (same `call_id`); images are files beside the transcript."""

    type: Literal["tool_result"] = "tool_result"
    round: int
    call_id: str
    name: str
    text: str
    is_error: bool = False
    images: list[str] = []
    seconds: float | None = None
    #: The black box's own call count after this call (bench); None where nothing counts calls.
    black_box_calls: int | None = None


class ExperimentEvent(BaseEvent):
    """One experiment of a builtin scientist or labeler (no LLM turn: it designs and runs its own
    experiments). Long input and output lists are cut; `more_*` count what was left out."""

    type: Literal["experiment"] = "experiment"
    round: int
    purpose: str
    inputs: list[Any]
    outputs: list[Any]
    more_inputs: int = 0
    more_outputs: int = 0
    seconds: float  # since the previous experiment: designing and running this one
    #: The black box's own call count after this experiment (bench); None for labelers.
    black_box_calls: int | None = None


class HypothesesEvent(BaseEvent):
    """A snapshot of the hypothesis ledger after it changed."""

    type: Literal["hypotheses"] = "hypotheses"
    round: int
    ledger: dict[str, Hypothesis]


class CommandEvent(BaseEvent):
    """A chat slash command the person ran directly: what was typed and what it printed."""

    type: Literal["command"] = "command"
    text: str
    output: str
    is_error: bool = False
    images: list[str] = []
    seconds: float = 0.0


class InterruptedEvent(BaseEvent):
    """Ctrl-C stopped the running step: a tool of the investigator's (`tool`, in `round`), a slash
    command (`command`), or the model's turn (neither set)."""

    type: Literal["interrupted"] = "interrupted"
    round: int | None = None
    tool: str | None = None
    command: str | None = None


class ErrorEvent(BaseEvent):
    """A failure that ended the run (bench, label) or one question (chat, which goes on)."""

    type: Literal["error"] = "error"
    error: str
    rounds: int | None = None  # how far the run got; None in chat
    usage: Usage | None = None


class EndEvent(BaseEvent):
    """The run's outcome. Counts come from their sources: `black_box_calls` is what the black box
    counted (never rounds) and None where nothing counts them (labeling: the subject model's
    forward passes are not counted)."""

    type: Literal["end"] = "end"
    stop_reason: str
    rounds: int
    accepted: bool
    #: The submitted answer: agent.task.Answer's fields (bench) or label, description, evidence (label).
    answer: dict[str, Any]
    answer_problems: list[str] = []
    usage: Usage = Field(default_factory=Usage)
    black_box_calls: int | None = None
    seconds: float | None = None  # the run's wall time, where the writer measured it
    ledger: dict[str, Hypothesis] | None = None  # the final ledger; None where only `hypotheses` events hold it


Event = Annotated[
    Union[StartEvent, SystemEvent, UserEvent, FinalRequestEvent, AssistantEvent, ToolResultEvent, ExperimentEvent,
          HypothesesEvent, CommandEvent, InterruptedEvent, ErrorEvent, EndEvent],
    Field(discriminator="type"),
]
_EVENT: TypeAdapter[BaseEvent] = TypeAdapter(Event)
#: Every event model, and each by the `type` it writes.
EVENT_MODELS: tuple[type[BaseEvent], ...] = tuple(BaseEvent.__subclasses__())
_MODELS = {m.model_fields["type"].default: m for m in EVENT_MODELS}


class UnknownEvent(BaseModel):
    """A version-0 event of a type this schema does not know (older aia wrote others): kept as it
    was written, so a reader can still show it. Never written, and never read from version 1."""

    model_config = ConfigDict(extra="allow")

    type: str
    format_version: Literal[0] = 0
    t: float = 0.0


# ----------------------------------------------------------------------------- validation

def make_event(type_: str, **fields: Any) -> BaseEvent:
    """The event the writer is about to write; EventError on an unknown type or field."""
    return _validate({"type": type_, **fields})


def parse_event(raw: Any) -> BaseEvent | UnknownEvent:
    """One line's decoded JSON as an event, read by the rules of its `format_version`."""
    if not isinstance(raw, dict):
        raise EventError(f"an event is a JSON object, not {type(raw).__name__}")
    version = raw.get("format_version", 0)
    if not isinstance(version, int) or version < 0:
        raise EventError(f"format_version {version!r} is not a format version")
    if version > FORMAT_VERSION:
        raise EventError(f"written in event format {version} by a newer aia; this aia reads formats 0 to "
                         f"{FORMAT_VERSION}: upgrade aia to read it")
    return _parse_v0(raw) if version == 0 else _validate(raw)


def _validate(raw: dict[str, Any]) -> BaseEvent:
    type_ = raw.get("type")
    if type_ not in _MODELS:
        raise EventError(f"unknown event type {type_!r} (agent/events.py knows {', '.join(_MODELS)})")
    try:
        return _EVENT.validate_python(raw)
    except ValidationError as e:
        raise EventError(f"event {type_!r}: {_first_problem(e, tagged=True)}") from None


def _parse_v0(raw: dict[str, Any]) -> BaseEvent | UnknownEvent:
    model = _MODELS.get(raw.get("type"))
    if model is None:
        return UnknownEvent.model_validate({**raw, "format_version": 0})
    fields = {k: v for k, v in raw.items() if k in model.model_fields}
    if model is EndEvent and "seconds" in raw:  # the builtin labeler's end: its black_box_calls counted rounds
        fields.pop("black_box_calls", None)
    try:
        return model.model_validate({**fields, "format_version": 0})
    except ValidationError as e:
        raise EventError(f"event {raw.get('type')!r} in format version 0 (written before aia's event schema): "
                         f"{_first_problem(e, tagged=False)}") from None


def _first_problem(e: ValidationError, tagged: bool) -> str:
    """The first error as one line: which field, and what is wrong with it (`tagged`: the error
    came from the union, whose tag leads each location)."""
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"][1 if tagged else 0:])
    if err["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if err["type"] == "missing":
        return f"missing field {where!r}"
    more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"field {where!r}: {err['msg']}{more}"
