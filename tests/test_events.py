"""The run record's schema (agent.events) with its one writer and one reader (agent.transcript).

Every writer aia has (bench with the builtin scientist and with an LLM through the fake server,
label with the builtin and the LLM labeler, chat with the builtin responder, an LLM, a failing
API and an interrupt) writes transcripts whose every line parses as exactly one event model; old
transcripts (tests/transcripts_v0, written by aia before the schema) still read; the torn-line
rule holds for reading and for appending.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from agent.backends import AssistantTurn, ToolCall
from agent.events import EVENT_MODELS, FORMAT_VERSION, Event, EventError
from agent.transcript import TranscriptError, TranscriptWriter, read_transcript, show_transcript
from evals.report_common import transcript_steps
from tests.conftest import CountingBox

V0 = Path(__file__).parent / "transcripts_v0"
UNIT = "layer.1.mlp.neuron.3"


def one_event_per_line(path: Path) -> list[str]:
    """Assert each line of `path` fits exactly one event model, in this format; returns the types."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, f"{path} is empty"
    types = []
    for number, line in enumerate(lines, 1):
        raw = json.loads(line)
        assert raw.get("format_version") == FORMAT_VERSION, f"{path}:{number} {raw.get('type')}"
        fits = [m.__name__ for m in EVENT_MODELS if _fits(m, raw)]
        assert len(fits) == 1, f"{path}:{number}: {raw.get('type')} fits {fits}"
        types.append(raw["type"])
    assert [e["type"] for e in read_transcript(path)] == types
    return types


def _fits(model: Any, raw: dict[str, Any]) -> bool:
    try:
        model.model_validate(raw)
    except ValidationError:
        return False
    return True


# ----------------------------------------------------------------------------- every writer

@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One transcript from each writer, in this module's tmp dir."""
    root = tmp_path_factory.mktemp("writers")
    out = {"bench builtin numeric": _bench_builtin(root / "bbn", "numeric", lambda x: 2.0 * x + 1.0),
           "bench builtin strings": _bench_builtin(root / "bbs", "strings", lambda x: x[::-1]),
           "bench llm": _bench_llm(root / "bl")}
    out.update(_labels(root / "label"))
    out["chat"] = _chat(root / "chat")
    return out


def _bench_builtin(log_dir: Path, kind: str, fn: Any) -> Path:
    from agent.builtin.backend import BuiltinBackend
    from agent.task import Task

    box = CountingBox(fn)
    BuiltinBackend().investigate(Task(id=f"{kind}/x", kind=kind, black_box=box), log_dir=log_dir)
    end = list(read_transcript(log_dir))[-1]
    assert end["black_box_calls"] == box.calls > end["rounds"]  # counted by the black box, not rounds
    return log_dir / "transcript.jsonl"


def _bench_llm(log_dir: Path) -> Path:
    """Capped at 3 rounds, so the final request is written too."""
    from tests.fake_llm import FakeLLMServer
    from tests.test_agent_e2e import backend, investigation_script, numeric_task

    with FakeLLMServer(investigation_script()) as server:
        backend("openai:gpt-4o-mini", server).investigate(numeric_task(max_rounds=3), log_dir)
    return log_dir / "transcript.jsonl"


def _labels(root: Path) -> dict[str, Path]:
    from evals.label_runner import run_labeling
    from tests.fake_llm import FakeLLMServer
    from tests.planted_tiny import NEURON, planted_model
    from tests.test_label_llm import _responder
    from tests.test_labeling import _corpus

    model, unit = planted_model(), f"layer.0.mlp.neuron.{NEURON}"
    root.mkdir()
    kw = {"k": 8, "corpus": str(_corpus(root / "corpus.txt")), "max_windows": None, "n_random": 6,
          "cache_root": root / "cache"}
    run_labeling(model, unit, "builtin", root / "builtin", **kw)
    with pytest.MonkeyPatch.context() as mp, FakeLLMServer(_responder) as server:
        for name, value in server.sdk_env("openai").items():
            mp.setenv(name, value)
        run_labeling(model, unit, "openai:gpt-4o-mini", root / "llm", **kw)
    return {"label builtin": root / "builtin" / unit / "transcript.jsonl",
            "label llm": root / "llm" / unit / "transcript.jsonl"}


class _Broken:
    """A policy whose API refuses every request (the chat logs an error and goes on)."""

    name, native_tools, accepts_images = "broken", True, False

    def next_turn(self, system: str, history: list, tools: Any) -> AssistantTurn:
        raise RuntimeError("the API refused the request")


class _Interrupting:
    """A policy whose turn is interrupted (Ctrl-C) before its tool call runs."""

    name, native_tools, accepts_images = "interrupting", True, False

    def __init__(self, ctx: Any):
        self.ctx = ctx

    def next_turn(self, system: str, history: list, tools: Any) -> AssistantTurn:
        self.ctx.interrupt.set()
        return AssistantTurn("Listing units.", [ToolCall("i1", "list_units", {})])


def _chat(session_dir: Path) -> Path:
    """A builtin chat with slash commands, then resumed with an LLM, a failing API and an interrupt."""
    from rich.console import Console

    from agent.chat.repl import ChatApp
    from agent.chat.responder import BuiltinResponder
    from agent.chat.session import Session
    from agent.model_tools import ModelToolContext
    from agent.registry import make_policy
    from tests.fake_llm import FakeLLMServer, Reply
    from tests.fake_llm import ToolCall as WireCall
    from tools.corpus import Corpus
    from tools.models import tiny_model

    rng = random.Random(0)
    words = "the river bank flows past a stone mill near green fields".split()
    corpus = Corpus("words", [" ".join(rng.choice(words) for _ in range(12)) for _ in range(80)])
    ctx = ModelToolContext(tiny_model("llama"), corpus=corpus, cache_root=session_dir.parent / "cache", window=12,
                           max_windows=None)
    console = Console(file=io.StringIO(), width=200)
    session = Session.create(session_dir, "tiny", "builtin")
    app = ChatApp(session, ctx, BuiltinResponder(), console)
    app.command("/units")
    app.command("/bogus")
    app.ask(f"show exemplars of {UNIT}")
    app.command("/hypotheses")
    session.close()

    session = Session.resume(session_dir)
    script = [Reply("Measuring.", [WireCall("call_unit", {"unit": UNIT, "texts": ["the old town"]})]),
              Reply("It is nearly silent on these texts.")]
    with FakeLLMServer(script) as server:
        llm = make_policy("openai:gpt-4o-mini", api_key="k", base_url=server.openai_base_url, max_attempts=1)
        ChatApp(session, ctx, llm, console).ask("What does it respond to?")
    ChatApp(session, ctx, _Broken(), console).ask("Still there?")
    ChatApp(session, ctx, _Interrupting(ctx), console).ask("Which units are there?")
    session.close()
    return session_dir / "transcript.jsonl"


def test_every_writer_writes_only_schema_events(written: dict[str, Path]) -> None:
    seen: set[str] = set()
    for name, path in written.items():
        types = one_event_per_line(path)
        if name != "chat":
            assert types[0] == "start" and types[-1] == "end", name
        seen.update(types)
    # No dead types: every event the schema knows is written by some writer.
    assert seen == {m.model_fields["type"].default for m in EVENT_MODELS}


def test_builtin_runs_write_experiments_not_llm_turns(written: dict[str, Path]) -> None:
    for name in ("bench builtin numeric", "bench builtin strings", "label builtin"):
        events = list(read_transcript(written[name]))
        types = [e["type"] for e in events]
        assert "assistant" not in types and "tool_result" not in types, name
        assert events[-1]["rounds"] == types.count("experiment") > 0, name
        assert events[-1]["ledger"], name  # the end carries the final ledger, as the LLM runs' ends do
    label_end = list(read_transcript(written["label builtin"]))[-1]
    assert label_end["black_box_calls"] is None  # the subject model's calls are not counted; rounds are no count


def test_resumed_chat_appends_one_stream(written: dict[str, Path]) -> None:
    events = list(read_transcript(written["chat"]))
    types = [e["type"] for e in events]
    assert types[:2] == ["command", "command"] and "error" in types and types[-1] == "interrupted"
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)  # the clock continues on resume
    assert events[-1]["tool"] == "list_units"


# ----------------------------------------------------------------------------- the writer

def test_the_union_holds_every_event_model() -> None:
    union = get_args(get_args(Event)[0])
    assert set(union) == set(EVENT_MODELS) and len(EVENT_MODELS) == len({m.model_fields["type"].default
                                                                         for m in EVENT_MODELS})


def test_writer_refuses_unknown_types_and_fields(tmp_path: Path) -> None:
    log = TranscriptWriter(tmp_path)
    with pytest.raises(EventError, match="unknown event type 'retry'"):
        log.write("retry", attempt=1, error="429", wait=1.0)
    with pytest.raises(EventError, match="event 'user': unknown field 'images'"):
        log.write("user", text="hi", images=[])
    with pytest.raises(EventError, match="event 'tool_result': missing field 'call_id'"):
        log.write("tool_result", round=1, name="call_function", text="f(1) = 2")
    with pytest.raises(EventError, match="event 'assistant': missing field 'tool_calls.0.id'"):
        log.write("assistant", round=1, tool_calls=[{"name": "call_function"}])
    with pytest.raises(EventError, match="event 'hypotheses': field 'round': Input should be a valid integer"):
        log.write("hypotheses", round="second", ledger={})
    log.close()
    assert (tmp_path / "transcript.jsonl").read_text() == ""  # nothing invalid reached the disk


def test_writer_returns_what_the_reader_reads(tmp_path: Path) -> None:
    log = TranscriptWriter(tmp_path)
    log.write("start", task_id="t", kind="numeric", backend="b", max_rounds=3)
    log.write("assistant", round=1, text="probe", tool_calls=[{"id": "c1", "name": "call_function",
                                                              "arguments": {"inputs": (1, 2)}}])
    log.write("experiment", round=1, purpose="p", inputs=[1.5, float("nan")], outputs=[{1}, b"\xff", range(2)],
              seconds=0.1)
    log.close()
    assert log.events == list(read_transcript(tmp_path))
    first = json.loads((tmp_path / "transcript.jsonl").read_text().splitlines()[0])
    assert first == {"type": "start", "format_version": FORMAT_VERSION, "t": first["t"], "task_id": "t",
                     "kind": "numeric", "backend": "b", "max_rounds": 3}  # on disk: only the fields given
    assert log.events[0]["tools"] is None and log.events[0]["seed"] is None  # read: every field
    assert log.events[2]["inputs"] == [1.5, None] and log.events[2]["outputs"] == [[1], "_w==", "range(0, 2)"]


# ----------------------------------------------------------------------------- the reader

def test_torn_last_line_is_skipped_and_cut_before_appending(tmp_path: Path) -> None:
    log = TranscriptWriter(tmp_path)
    log.write("user", text="first")
    log.save_images([b"png"])
    log.close()
    path = tmp_path / "transcript.jsonl"
    with open(path, "ab") as f:
        f.write('{"type": "user", "text": "caf\u00e9'.encode()[:-1])  # killed mid-write, inside a character
    assert [e["text"] for e in read_transcript(path)] == ["first"]
    resumed = TranscriptWriter(tmp_path, append=True)
    assert [e["text"] for e in resumed.events] == ["first"]
    resumed.write("user", text="second")
    assert resumed.save_images([b"png"]) == ["images/0002.png"]  # image numbers continue
    resumed.close()
    assert [e["text"] for e in read_transcript(path)] == ["first", "second"]
    assert path.read_text().count("\n") == 2


def test_a_bad_line_before_the_end_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    good = json.dumps({"type": "user", "format_version": 1, "t": 0.0, "text": "hi"})
    path.write_text(f"{good}\n{{not json\n{good}\n")
    with pytest.raises(TranscriptError, match=r"transcript.jsonl:2: not a JSON line"):
        list(read_transcript(path))
    extra = json.dumps({"type": "user", "format_version": 1, "t": 0.0, "text": "x", "extra": 1})
    path.write_text(f"{good}\n{extra}\n")
    with pytest.raises(TranscriptError, match=r":2: event 'user': unknown field 'extra'"):
        list(read_transcript(path))
    path.write_text(json.dumps({"type": "retry", "format_version": 1, "t": 0.0}) + "\n")
    with pytest.raises(TranscriptError, match=r":1: unknown event type 'retry'"):
        list(read_transcript(path))
    path.write_text(json.dumps({"type": "user", "format_version": 2, "t": 0.0, "text": "x"}) + "\n")
    with pytest.raises(TranscriptError, match="event format 2 by a newer aia; this aia reads formats 0 to 1"):
        list(read_transcript(path))
    path.write_text(json.dumps({"type": "tool_result", "t": 0.0, "round": 1, "text": "x"}) + "\n")
    with pytest.raises(TranscriptError, match="'tool_result' in format version 0 .*: missing field 'call_id'"):
        list(read_transcript(path))


# ----------------------------------------------------------------------------- format version 0

@pytest.mark.parametrize("name", sorted(p.stem for p in V0.glob("*.jsonl")))
def test_version_0_transcripts_still_read(name: str, tmp_path: Path) -> None:
    """Transcripts written by aia before the schema: read, shown, and turned into report steps."""
    path = V0 / f"{name}.jsonl"
    events = list(read_transcript(path))
    assert len(events) == len(path.read_text().splitlines())
    assert all(e["format_version"] == 0 for e in events)
    assert {e["type"] for e in events} <= {m.model_fields["type"].default for m in EVENT_MODELS}
    assert show_transcript(path)
    assert len(transcript_steps(events, V0, tmp_path, "x")) == len(events)
    end = events[-1] if events[-1]["type"] == "end" else None
    if name == "label_builtin":  # its black_box_calls counted rounds: dropped on reading
        assert end is not None and end["black_box_calls"] is None and end["rounds"] == 4
    elif name.startswith("bench"):
        assert end is not None and end["black_box_calls"] > 0


def test_version_0_unknown_types_are_kept_as_written(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(json.dumps({"type": "compaction", "t": 1.0, "dropped": 3}) + "\n")
    assert list(read_transcript(path)) == [{"type": "compaction", "format_version": 0, "t": 1.0, "dropped": 3}]
    assert '{"dropped": 3}' in show_transcript(path)
