"""`aia chat`, tested as a person uses it: typed into a terminal (pexpect), read off the screen.

The terminal tests run `python -m evals.cli chat` on a tiny random Llama saved to disk (any
local HF directory loads), with the fake LLM server standing in for OpenAI when a session is
resumed with an LLM backend. The slow tool for Ctrl-C is made deterministic with the chat's
documented test hook AIA_CHAT_TEST_DELAY (the tool waits, checking the interrupt flag).
The parser, intents, session store and history rebuilding are tested in-process.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from agent.chat.commands import COMMANDS, CommandError, parse_command
from agent.chat.responder import CANNOT, BuiltinResponder, find_unit, intent_of
from agent.chat.session import LOST_RESULT, Session, SessionError, command_note, rebuild_history, rebuild_ledger
from agent.messages import ToolResult, UserMessage
from agent.model_tools import model_tool_registry
from agent.transcript import read_transcript
from tests.fake_llm import FakeLLMServer, Reply, ToolCall

try:
    import pexpect
except ImportError:  # the terminal tests need it; the in-process ones do not
    pexpect = None
needs_pexpect = pytest.mark.skipif(pexpect is None, reason="pexpect is not installed (pip install pexpect)")

REPO = Path(__file__).resolve().parent.parent
UNIT = "layer.1.mlp.neuron.3"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ----------------------------------------------------------------------------- in-process

def typed(lines: list[str]):
    """What `ChatApp.loop` reads: the given lines, then end of input (Ctrl-D)."""
    pending = iter(lines)

    def read(prompt: str) -> str:
        line = next(pending, None)
        if line is None:
            raise EOFError
        return line

    return read


def test_slash_commands_parse_into_tool_calls():
    assert parse_command("/units").call.name == "list_units"
    c = parse_command("/call layer.0.mlp.neuron.1 the river bank | it's a stone")
    assert (c.call.name, c.call.arguments) == ("call_unit", {"unit": "layer.0.mlp.neuron.1",
                                                              "texts": ["the river bank", "it's a stone"]})
    assert parse_command("/exemplars layer.0.mlp.neuron.1 5").call.arguments == \
        {"unit": "layer.0.mlp.neuron.1", "k": 5, "image": False}
    assert parse_command("/exemplars layer.0.mlp.neuron.1 image").call.arguments == \
        {"unit": "layer.0.mlp.neuron.1", "image": True}
    synth = parse_command("/synth layer.0.mlp.neuron.1 I saw a {w=dog, cat} by the {p=river,road}.").call.arguments
    assert synth["template"] == "I saw a {w} by the {p}." and \
        synth["slots"] == {"w": ["dog", "cat"], "p": ["river", "road"]}
    assert parse_command("/edit U the river | river->lake,road").call.arguments == \
        {"unit": "U", "text": "the river", "swaps": {"river": ["lake", "road"]}}
    ablate = parse_command("/ablate layer.0.mlp mean the river | a dog").call.arguments
    assert ablate == {"unit": "layer.0.mlp", "texts": ["the river", "a dog"], "mode": "mean"}
    assert parse_command("/ablate layer.0.mlp zeros here").call.arguments["texts"] == ["zeros here"]
    assert parse_command("/patch layer.1.resid a cat | a dog").call.arguments == \
        {"clean": "a cat", "corrupt": "a dog", "site": "layer.1.resid"}
    assert parse_command("/steer layer.0.mlp.neuron.2 -4.5 the river").call.arguments["scale"] == -4.5
    assert parse_command("/fv hot:cold, big:small, up:down").call.arguments["pairs"][1] == ["big", "small"]
    assert parse_command("/hypotheses").call.arguments == {"hypotheses": []}
    assert parse_command("/QUIT").name == "exit" and parse_command("/save").call is None
    for bad, message in [("/nope", "unknown command /nope"), ("/call layer.0.mlp", "no text given"),
                         ("/patch layer.1.resid only one", "clean and a corrupt"),
                         ("/steer U big text", "SCALE must be"),
                         ("/synth U no slots", "no {slot"), ("/exemplars U many", "K must be a number"),
                         ("/fv hot-cold", "IN:OUT"), ("/edit U the river", "usage")]:
        with pytest.raises(CommandError, match=re.escape(message)):
            parse_command(bad)
    tools = model_tool_registry("chat")
    for name in COMMANDS:    # every tool command names a real chat tool
        line = {"units": "/units", "hypotheses": "/hypotheses", "exemplars": "/exemplars U", "describe": "/describe U",
                "call": "/call U t", "synth": "/synth U {a=b}", "edit": "/edit U t | t->s", "ablate": "/ablate U t",
                "patch": "/patch U a | b", "steer": "/steer U 1 t", "attention": "/attention U t",
                "fv": "/fv a:b"}.get(name)
        if line:
            assert parse_command(line).call.name in tools


def test_builtin_intents():
    assert find_unit("what does layer.3.mlp.neuron.5 do?") == "layer.3.mlp.neuron.5"
    assert find_unit("what does neuron 7 in layer 2 respond to") == "layer.2.mlp.neuron.7"
    assert find_unit("layer 4 head 1, please") == "layer.4.attn.head.1"
    assert find_unit("layer 0 residual dimension 9") == "layer.0.resid.dim.9"
    assert intent_of("What does layer 3 neuron 5 do?").tool == "describe_unit"
    assert intent_of("show exemplars of layer.3.mlp.neuron.5").arguments == {"unit": "layer.3.mlp.neuron.5", "k": 10}
    assert intent_of("which units does it have?").tool == "list_units"
    assert intent_of("what are the hypotheses so far") .tool == "record_hypotheses"
    assert intent_of("is this model biased?") is None


def test_builtin_responder_plans_one_call_then_answers():
    tools, responder = model_tool_registry("chat"), BuiltinResponder()
    history = [UserMessage("what does layer 1 neuron 3 do?")]
    turn = responder.next_turn("", history, tools)
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("describe_unit", {"unit": UNIT})]
    data = {"unit": UNIT, "label": "river", "description": "Fires on 'river'.", "evidence": ["a", "b"]}
    history += [turn, ToolResult(turn.tool_calls[0].id, "describe_unit", "...", data=data)]
    answer = responder.next_turn("", history, tools)
    assert not answer.tool_calls and answer.text.startswith(f"{UNIT}: river — Fires on 'river'.") and \
        "2 pieces" in answer.text
    failed = responder.next_turn("", history[:-1] + [ToolResult("x", "describe_unit", "no exemplars", is_error=True)],
                                 tools)
    assert failed.text == "The experiment failed: no exemplars"
    assert responder.next_turn("", [UserMessage("tell me a joke")], tools).text == CANNOT


def test_history_rebuild_answers_every_call_even_after_a_kill(tmp_path):
    session = Session.create(tmp_path / "s", "tiny", "openai:m")
    log = session.transcript
    log.write("user", text="q1")
    log.write("assistant", round=1, text="probing",
              tool_calls=[{"id": "c1", "name": "call_unit", "arguments": {"unit": "u"}},
                          {"id": "c2", "name": "list_units", "arguments": {}}])
    log.write("tool_result", round=1, call_id="c1", name="call_unit", text="acts", is_error=False)
    log.write("hypotheses", round=1, ledger={"H1": {"id": "H1", "statement": "s", "status": "supported",
                                                   "history": [[1, "supported", "acts"]]}})
    session.close()                                                       # killed before c2's result
    with open(tmp_path / "s" / "transcript.jsonl", "a") as f:
        f.write('{"type": "command", "text": "/units", "out')               # a torn last line
    resumed = Session.resume(tmp_path / "s")
    history = rebuild_history(resumed.events)
    assert [type(e).__name__ for e in history] == ["UserMessage", "AssistantTurn", "ToolResult", "ToolResult"]
    assert history[3].call_id == "c2" and history[3].text == LOST_RESULT and history[3].is_error
    assert rebuild_ledger(resumed.events).hypotheses["H1"].status == "supported"
    resumed.transcript.write("command", text="/units", output="listing")
    resumed.close()
    events = list(read_transcript(tmp_path / "s"))
    assert events[-1]["type"] == "command" and events[-1]["t"] >= events[-2]["t"]   # appended, time continues
    assert isinstance(rebuild_history(events)[-1], UserMessage)
    assert rebuild_history(events)[-1].text == command_note("/units", "listing")
    with pytest.raises(SessionError, match="already holds a session"):
        Session.create(tmp_path / "s", "tiny", "builtin")
    with pytest.raises(SessionError, match="no chat session"):
        Session.resume(tmp_path / "nowhere")


def test_chat_app_in_process_saves_command_images_and_answers_exemplar_questions(tmp_path):
    import io
    import random

    from rich.console import Console

    from agent.chat.repl import ChatApp
    from agent.model_tools import ModelToolContext
    from tools.corpus import Corpus
    from tools.models import tiny_model

    rng = random.Random(0)
    words = "the river bank flows past a stone mill near green fields".split()
    corpus = Corpus("words", [" ".join(rng.choice(words) for _ in range(12)) for _ in range(80)])
    ctx = ModelToolContext(tiny_model("llama"), corpus=corpus, cache_root=tmp_path / "cache", window=12,
                           max_windows=None)
    screen = io.StringIO()
    session = Session.create(tmp_path / "s", "tiny", "builtin")
    app = ChatApp(session, ctx, BuiltinResponder(), Console(file=screen, width=200))
    app.loop(typed([f"/exemplars {UNIT} 3 image", f"show exemplars of {UNIT}", "/hypotheses"]))
    session.close()
    text = screen.getvalue()
    assert f"Top 3 exemplars of {UNIT}" in text and f"[image: {tmp_path / 's' / 'images' / '0001.png'}]" in text
    assert (tmp_path / "s" / "images" / "0001.png").read_bytes().startswith(b"\x89PNG")
    assert f"agent: {UNIT} peaks in its top 10 exemplars on: '" in text and "(no hypotheses recorded)" in text
    events = list(read_transcript(tmp_path / "s"))
    assert events[0]["type"] == "command" and events[0]["images"] == ["images/0001.png"]
    assert [e["type"] for e in events[1:5]] == ["user", "assistant", "tool_result", "assistant"]


# ----------------------------------------------------------------------------- in a terminal

@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from tools.models import tiny_model

    path = tmp_path_factory.mktemp("tiny-llama")
    m = tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    m.model.save_pretrained(path)
    m.tokenizer.save_pretrained(path)
    return path


class Terminal:
    """A chat in a pseudo-terminal: type lines, wait for the prompt, read what appeared."""

    PROMPT = "you> "

    def __init__(self, args: list[str], env: dict[str, str]):
        self.child = pexpect.spawn(sys.executable, ["-m", "evals.cli", "chat", *args], cwd=str(REPO), env=env,
                                   encoding="utf-8", timeout=60, dimensions=(60, 220))
        self.screen = self.wait()

    def wait(self) -> str:
        self.child.expect_exact(self.PROMPT)
        return ANSI.sub("", self.child.before).replace("\r", "")

    def type(self, line: str) -> str:
        """Type a line and return what the chat printed before the next prompt."""
        self.child.sendline(line)
        self.child.expect_exact(line)         # the terminal's echo of the typed line
        return self.wait()

    def interrupt_after(self, line: str, started: str) -> str:
        self.child.sendline(line)
        self.child.expect_exact(started)
        self.child.sendintr()
        return self.wait()

    def close(self, line: str = "/exit") -> str:
        self.child.sendline(line)
        self.child.expect(pexpect.EOF)
        text = ANSI.sub("", self.child.before).replace("\r", "")
        self.child.close()
        assert self.child.exitstatus == 0, text
        return text


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, TERM="xterm", COLUMNS="220", AIA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO),
               AIA_CHAT_TEST_DELAY="exemplars:60")
    env.pop("OPENAI_API_KEY", None)
    env.update(extra)
    return env


@needs_pexpect
def test_chat_in_a_terminal_builtin_then_resumed_with_an_llm(tiny_dir, tmp_path):
    session = tmp_path / "session"
    term = Terminal(["--model", str(tiny_dir), "--session-dir", str(session)], _env(tmp_path))
    assert "backend builtin" in term.screen and str(session) in term.screen
    term.child.sendintr()                                                   # at the prompt: a hint, no exit
    assert "/exit or Ctrl-D leaves" in term.wait()

    assert "/call UNIT TEXT [| TEXT ...]" in term.type("/help")
    units = term.type("/units")
    assert "2 layers" in units and "layer.1.mlp.neuron.0:64" in units
    acts = term.type(f"/call {UNIT} the river bank | a stone mill")
    assert f"Activations of {UNIT}" in acts and re.search(r"'the river bank': max [-0-9.e]+ at '", acts)
    honest = term.type("is this model biased against rivers?")
    assert "no language model behind this chat" in honest and "/exemplars UNIT" in honest
    listing = term.type("which units are there?")
    assert "→ list_units()" in listing and "← list_units" in listing and "agent: " in listing
    assert "unknown command /bogus" in term.type("/bogus")
    assert "has layers 0..1" in term.type("/call layer.9.mlp.neuron.0 x")

    started = time.monotonic()
    stopped = term.interrupt_after(f"/exemplars {UNIT}", f"→ exemplars(unit='{UNIT}'")   # waits 60 s unless interrupted
    assert "interrupted." in stopped and time.monotonic() - started < 30
    assert f"session saved: {session}" in term.type("/save")
    assert "resume with: aia chat --resume" in term.close("/exit")

    events = list(read_transcript(session))
    kinds = [e["type"] for e in events]
    assert kinds.count("command") == 4 and kinds.count("user") == 2          # /units, /bogus and two /call
    bogus = next(e for e in events if e["type"] == "command" and e["text"] == "/bogus")
    assert bogus["is_error"] and "unknown command /bogus" in bogus["output"]
    assert {"type": "interrupted", "tool": "exemplars"}.items() <= events[-1].items()
    assert json.loads((session / "session.json").read_text())["backend"] == "builtin"

    # Resume with an LLM: the earlier turns are on screen and in the LLM's history.
    script = [Reply("Measuring.", [ToolCall("call_unit", {"unit": UNIT, "texts": ["the old town"]})]),
              Reply("It is nearly silent on these texts."),
              Reply("Looking at exemplars.", [ToolCall("exemplars", {"unit": UNIT})]),
              Reply("Stopped; ask again when ready.")]
    with FakeLLMServer(script) as server:
        env = _env(tmp_path, OPENAI_API_KEY="k", OPENAI_BASE_URL=server.openai_base_url)
        term = Terminal(["--resume", str(session), "--backend", "openai:fake-model"], env)
        assert "you: is this model biased against rivers?" in term.screen and "resumed" in term.screen
        answer = term.type("What does it respond to?")
        assert f"→ call_unit(unit='{UNIT}', texts=['the old town'])" in answer
        assert f"Activations of {UNIT}" in answer and "agent: It is nearly silent" in answer
        stopped = term.interrupt_after("Show its exemplars", "→ exemplars(")
        assert "interrupted." in stopped
        term.child.kill(9)                    # no goodbye: what is on disk must already be complete
        term.child.expect(pexpect.EOF)
    first = json.dumps(server.requests[0].body["messages"])
    assert "is this model biased against rivers?" in first and "/call layer.1.mlp.neuron.3 the river bank" in first
    assert len(server.requests) == 3                                        # the interrupted turn sent nothing more
    kinds = [e["type"] for e in read_transcript(session)]
    assert kinds[-8:] == ["user", "assistant", "tool_result", "assistant", "user", "assistant", "tool_result",
                          "interrupted"]
    assert json.loads((session / "session.json").read_text())["backend"] == "openai:fake-model"   # set at start


@pytest.mark.slow
@needs_pexpect
def test_builtin_answers_what_a_unit_does(tiny_dir, tmp_path):
    """The builtin labeler's investigation from a plain question (slow: WordNet loads, a cache is built)."""
    corpus = tmp_path / "corpus.txt"
    words = "the river bank flows past a stone mill near green fields and old town walls dog cat".split()
    corpus.write_text("\n".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) for i in range(200)))
    env = _env(tmp_path)
    env.pop("AIA_CHAT_TEST_DELAY")
    term = Terminal(["--model", str(tiny_dir), "--corpus", str(corpus), "--max-windows", "0"], env)
    term.child.timeout = 300
    answer = term.type("what does neuron 3 in layer 1 do?")
    assert f"→ describe_unit(unit='{UNIT}')" in answer and "read 20 top exemplars" in answer
    assert f"agent: {UNIT}: " in answer and "builtin labeler's reading" in answer
    ledger = term.type("/hypotheses")
    assert f"{UNIT}/H1" in ledger
    term.close()


def test_a_session_is_a_locked_run_directory_of_kind_chat(tmp_path):
    import os

    from tools.run_dir import FORMAT_VERSION, RunDirectory

    session = Session.create(tmp_path / "s", "tiny", "builtin")
    assert session.meta["kind"] == "chat" and session.meta["format_version"] == FORMAT_VERSION
    assert RunDirectory.open_existing(tmp_path / "s")[0] == "chat"
    with pytest.raises(SessionError, match=rf"in use by another process \(pid {os.getpid()}\).*start a new session"):
        Session.resume(tmp_path / "s")                  # a second `aia chat --resume` while this one runs
    session.save(backend="openai:m")
    session.close()
    resumed = Session.resume(tmp_path / "s")            # the lock went with the first
    assert resumed.meta["backend"] == "openai:m" and resumed.meta["model"] == "tiny"
    resumed.close()


def test_the_screen_folds_tool_outputs_shows_ledger_changes_once_and_renders_markdown(tmp_path):
    """A long tool output is one line on screen (whole in the transcript; /more prints it), the
    ledger shows a hypothesis only when it is new or changed, and the answer is markdown."""
    import io

    from rich.console import Console

    from agent.chat.repl import ChatApp
    from agent.messages import AssistantTurn
    from agent.messages import ToolCall as Call
    from agent.model_tools import ModelToolContext
    from tests.test_agent_loop import ScriptedPolicy
    from tools.models import tiny_model

    texts = [f"text number {i}" for i in range(12)]
    hyp = {"id": "H1", "statement": "fires on numbers", "status": "open"}
    policy = ScriptedPolicy([
        AssistantTurn("", [Call("b", "record_hypotheses", {"hypotheses": [hyp]})]),
        AssistantTurn("", [Call("c", "record_hypotheses", {"hypotheses": [dict(hyp, evidence="seen")]})]),
        AssistantTurn("", [Call("d", "record_hypotheses", {"hypotheses": [dict(hyp, status="supported")]})]),
        AssistantTurn("", [Call("a", "call_unit", {"unit": UNIT, "texts": texts})]),
        AssistantTurn("It **fires on numbers**:\n\n- text 1\n- text 2"),
    ])
    ctx = ModelToolContext(tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64))
    screen = io.StringIO()
    session = Session.create(tmp_path / "s", "tiny", "scripted")
    app = ChatApp(session, ctx, policy, Console(file=screen, width=200))
    app.loop(typed(["what does it do?", "/more"]))
    session.close()
    text = screen.getvalue()
    before_more = text[: text.index("It fires on numbers")]
    assert f"Activations of {UNIT}:  [+24 lines: /more]" in before_more
    assert "'text number 11'" not in before_more                 # folded: not on screen until /more
    assert "'text number 11': max" in text[text.index("It fires on numbers"):]   # /more prints it whole
    assert before_more.count("[open] H1: fires on numbers") == 1 and "[supported] H1" in before_more
    assert "**" not in text and "agent: It fires on numbers:" in text and "• text 1" in text
    result = next(e for e in read_transcript(tmp_path / "s") if e["type"] == "tool_result" and e["name"] == "call_unit")
    assert "'text number 11': max" in result["text"]             # the transcript keeps everything


def test_a_spinner_with_the_elapsed_time_runs_while_work_does(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from agent.chat.repl import TEST_DELAY_VARIABLE, ChatApp
    from agent.model_tools import ModelToolContext
    from tools.models import tiny_model

    monkeypatch.setenv(TEST_DELAY_VARIABLE, "list_units:1.2")
    ctx = ModelToolContext(tiny_model("llama", n_layers=1, d_model=16, n_heads=2, d_mlp=32))
    screen = io.StringIO()
    session = Session.create(tmp_path / "s", "tiny", "builtin")
    app = ChatApp(session, ctx, BuiltinResponder(), Console(file=screen, width=120, force_terminal=True))
    app.loop(typed(["/units"]))
    session.close()
    shown = ANSI.sub("", screen.getvalue())
    assert "running list_units … 1s" in shown                  # the elapsed time counts up
    assert shown.index("running list_units … 0s") < shown.index("layer.0.mlp.neuron.0:32")   # then the output
