"""`aia report` of a chat session: one page with the conversation in order (user, assistant,
tool calls and results with images, slash commands with outputs, interruptions), the ledger
timeline, a torn last line skipped, and the page in a real headless browser.

The session is written by hand in the format `aia chat` writes (session.json of kind "chat",
agent/transcript.py events plus `command` and `interrupted`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.report import build_report, detect_kind
from evals.report_common import ReportError

from .report_browser import DOM, needs_chromium, png, run_harness, screenshot

HOSTILE = "what does <img src=x onerror=alert(1)> do?"


def write_session(session: Path) -> Path:
    (session / "images").mkdir(parents=True)
    (session / "images" / "0001.png").write_bytes(png((40, 90, 220)))
    (session / "images" / "0002.png").write_bytes(png((220, 60, 30)))
    (session / "session.json").write_text(json.dumps({
        "kind": "chat", "model": "minilm", "backend": "openai:gpt-4o-mini", "created": "2026-11-21T11:00:00Z",
        "seed": 0, "versions": {"aia": "0.1.0", "torch": "2.13.0"}}))
    h1 = {"id": "H1", "statement": "head 2 copies the previous token", "status": "open", "history": [[1, "open", ""]]}
    events = [
        {"type": "user", "t": 1.0, "text": "Look at layer.1.attn.head.2."},
        {"type": "assistant", "t": 2.0, "round": 1, "text": "Let me see its attention pattern.",
         "usage": {"input_tokens": 900, "output_tokens": 40, "cost_usd": 0.0005},
         "tool_calls": [{"id": "c1", "name": "attention",
                         "arguments": {"unit": "layer.1.attn.head.2", "text": "a b c"}}]},
        {"type": "tool_result", "t": 3.0, "round": 1, "call_id": "c1", "name": "attention",
         "text": "mostly one token back", "images": ["images/0001.png"]},
        {"type": "hypotheses", "t": 3.5, "round": 1, "ledger": {"H1": h1}},
        {"type": "assistant", "t": 4.0, "round": 1, "text": "It attends to the previous token.",
         "usage": {"input_tokens": 1000, "output_tokens": 20, "cost_usd": 0.0006}},
        {"type": "command", "t": 5.0, "text": "/ablate layer.1.attn.head.2", "output": "loss +0.31 on the probe text",
         "seconds": 0.42, "images": ["images/0002.png"]},
        {"type": "user", "t": 6.0, "text": HOSTILE},
        {"type": "assistant", "t": 7.0, "round": 2, "text": "",
         "tool_calls": [{"id": "c2", "name": "steer", "arguments": {"unit": "layer.1.attn.head.2", "scale": 4}}]},
        {"type": "interrupted", "t": 8.0, "tool": "steer"},
        {"type": "tool_result", "t": 8.0, "round": 2, "call_id": "c2", "name": "steer", "text": "interrupted",
         "is_error": True},
        {"type": "command", "t": 8.5, "text": "/ablate layer.9.attn.head.0", "output": "no layer 9 (6 layers)",
         "is_error": True, "seconds": 0.01},
        {"type": "interrupted", "t": 8.7, "tool": "steer", "command": "/steer layer.1.attn.head.2 8"},
        {"type": "error", "t": 8.8, "error": "APIConnectionError: connection refused"},
        {"type": "hypotheses", "t": 9.0, "round": 2, "ledger": {"H1": h1 | {
            "status": "supported", "history": [[1, "open", ""], [2, "supported", "ablation raises loss by 0.31"]]}}},
    ]
    with open(session / "transcript.jsonl", "w") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in events)
        fh.write('{"type": "user", "t": 10.0, "te')  # the session was killed mid-write
    return session


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_session(tmp_path_factory.mktemp("chat") / "session")
    build_report(path)
    return path


def _steps(dom: DOM) -> list[str]:
    return [a["class"].split()[1] for a in dom.find("div") if (a.get("class") or "").startswith("step ")]


def test_conversation_in_order(session: Path) -> None:
    assert detect_kind(session) == "chat"
    dom = DOM((session / "report" / "index.html").read_text())
    assert _steps(dom) == ["user", "assistant", "observation", "hypotheses", "assistant", "command", "user",
                           "assistant", "interrupted", "error", "error", "interrupted", "error", "hypotheses"]
    text = dom.text
    order = ["Look at layer.1.attn.head.2.", "attention", "mostly one token back", "It attends to the previous token.",
             "/ablate layer.1.attn.head.2", "loss +0.31 on the probe text", HOSTILE, "steer",
             "interrupted by the user during tool steer", "/ablate layer.9.attn.head.0 · failed",
             "no layer 9 (6 layers)",
             "during tool steer (command /steer layer.1.attn.head.2 8)", "APIConnectionError: connection refused"]
    positions = [text.find(s) for s in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "0.42 s" in text  # the command's time
    assert HOSTILE in text and [a["src"] for a in dom.find("img")] == ["session/images/0001.png",
                                                                     "session/images/0002.png"]
    assert (session / "report" / "session" / "images" / "0002.png").is_file()


def test_session_facts_and_ledger(session: Path) -> None:
    dom = DOM((session / "report" / "index.html").read_text())
    for text in ("minilm", "openai:gpt-4o-mini", "aia 0.1.0, torch 2.13.0", "user messages", "tool calls",
                 "slash commands", "interruptions", "1,900", "head 2 copies the previous token",
                 "evidence: ablation raises loss by 0.31", "round 2"):
        assert text in dom.text, text
    assert {"badge supported", "badge open"} <= {a["class"] for a in dom.find("span") if a.get("class")}
    facts = dom.text.replace("\n", "")
    for counted in ("user messages2", "assistant turns3", "tool calls2", "tool errors1", "slash commands2",
                    "interruptions2", "output tokens60"):
        assert counted in facts, counted


def test_sessions_that_are_not_chats_or_have_no_transcript(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "session.json").write_text(json.dumps({"kind": "label"}))
    with pytest.raises(ReportError, match="of kind 'label', expected 'chat'"):
        build_report(other)
    (other / "session.json").write_text("{torn")
    with pytest.raises(ReportError, match=r"session.json is damaged \(Expecting property name"):
        build_report(other)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "session.json").write_text(json.dumps({"kind": "chat", "model": "minilm"}))
    dom = DOM(build_report(fresh).read_text())
    assert "the session ended before anything was said" in dom.text


READ_CHAT = """
  const imgs = [...d.images];
  return {steps: [...d.querySelectorAll(".step")].map(s => s.classList[1]),
          loaded: imgs.map(i => i.complete && i.naturalWidth),
          scripts: d.querySelectorAll("script").length};
"""


@needs_chromium
def test_real_browser_shows_the_conversation(session: Path, tmp_path: Path) -> None:
    page = session / "report" / "index.html"
    seen = run_harness(page, READ_CHAT, tmp_path)
    assert seen["steps"][:3] == ["user", "assistant", "observation"] and "interrupted" in seen["steps"]
    assert seen["loaded"] == [40, 40]  # both images load from beside the page (lazy ones too, with virtual time)
    assert seen["scripts"] == 0  # the hostile message did not become markup
    screenshot(page, tmp_path / "chat.png")
