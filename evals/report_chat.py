"""The HTML report of a chat session (`aia chat`): one page with the conversation in order.

A chat is an investigation a person steers: the page shows what they asked, what the model
answered, every tool call and result (with its images), the slash commands they ran with their
outputs, where they interrupted, and the hypothesis ledger as a timeline, so a session can be
read (or shared) after the terminal is gone.

Input: SESSION_DIR/session.json ({"kind": "chat", "model", "backend", "created", "seed",
"versions"}) and SESSION_DIR/transcript.jsonl (agent/transcript.py events plus `command` and
`interrupted`), images under SESSION_DIR/images/. A session killed mid-write leaves a torn last
line: it is skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .report_common import (
    REPORT_DIR,
    ReportError,
    building,
    ledger_of,
    ledger_views,
    read_events,
    read_json_object,
    render,
    transcript_steps,
    write_page,
)

SESSION = "session.json"
#: session.json fields shown first, in this order; any others follow.
META_SHOWN = ("model", "backend", "created", "seed", "versions")
#: Where the session's images go in the report, beside index.html.
IMAGE_PREFIX = "session"


def session_stats(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """What happened in the session, counted: turns, tool calls, commands, interruptions, tokens."""
    def count(kind: str) -> int:
        return sum(e.get("type") == kind for e in events)

    calls = sum(len(e.get("tool_calls") or []) for e in events if e.get("type") == "assistant")
    usage = [e.get("usage") for e in events if e.get("type") == "assistant" and isinstance(e.get("usage"), dict)]

    def total(key: str) -> float:
        return sum(u[key] for u in usage if isinstance(u.get(key), (int, float)) and not isinstance(u.get(key), bool))

    stats: list[tuple[str, Any]] = [("user messages", count("user")), ("assistant turns", count("assistant")),
                                    ("tool calls", calls), ("tool errors", sum(bool(e.get("is_error")) for e in events
                                                                              if e.get("type") == "tool_result")),
                                    ("slash commands", count("command")), ("interruptions", count("interrupted"))]
    if total("input_tokens") or total("output_tokens"):
        stats += [("input tokens", int(total("input_tokens"))), ("output tokens", int(total("output_tokens")))]
    if total("cost_usd"):
        stats.append(("cost (USD)", total("cost_usd")))
    times = [e["t"] for e in events if isinstance(e.get("t"), (int, float))]
    if times:
        stats.append(("session seconds", max(times)))
    return stats


def build_chat_report(session_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML page of the chat session in `session_dir` (default `SESSION_DIR/report`); returns it."""
    meta = read_json_object(session_dir / SESSION)
    if meta.get("kind") != "chat":
        raise ReportError(f"{session_dir / SESSION} is a session of kind {meta.get('kind')!r}, expected 'chat'")
    events = read_events(session_dir)
    note = None
    if events is None:
        events = []
        note = "No transcript: the session ended before anything was said."
    hypotheses, timeline = ledger_views(ledger_of(events))
    out = Path(out) if out is not None else session_dir / REPORT_DIR
    shown = {k: meta[k] for k in META_SHOWN if k in meta} | {k: v for k, v in meta.items()
                                                              if k not in META_SHOWN and k != "kind"}
    with building(out) as root:
        steps = transcript_steps(events, session_dir, root, IMAGE_PREFIX)
        write_page(root, "index.html", render(
            "chat.html.j2", meta=shown, stats=session_stats(events), hypotheses=hypotheses, timeline=timeline,
            steps=steps, note=note, session_dir=str(session_dir.resolve()),
            built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())))
    return out / "index.html"
