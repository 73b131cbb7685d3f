"""The HTML report of a chat session (`aia chat`): one page with the conversation in order.

A chat is an investigation a person steers: the page shows what they asked, what the model
answered, every tool call and result (with its images), the slash commands they ran with their
outputs, where they interrupted, and the hypothesis ledger as a timeline, so a session can be
read (or shared) after the terminal is gone.

Input: SESSION_DIR/session.json ({"kind": "chat", "model", "backend", "created", "seed",
"versions"}) and SESSION_DIR/transcript.jsonl (agent.events, read through agent.transcript:
a torn last line is skipped), images under SESSION_DIR/images/.
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
        return sum(e["type"] == kind for e in events)

    turns = [e for e in events if e["type"] == "assistant"]

    def total(key: str) -> float:
        return sum(e["usage"][key] for e in turns)

    stats: list[tuple[str, Any]] = [("user messages", count("user")), ("assistant turns", len(turns)),
                                    ("tool calls", sum(len(e["tool_calls"]) for e in turns)),
                                    ("tool errors", sum(e["is_error"] for e in events if e["type"] == "tool_result")),
                                    ("slash commands", count("command")), ("interruptions", count("interrupted"))]
    if total("input_tokens") or total("output_tokens"):
        stats += [("input tokens", int(total("input_tokens"))), ("output tokens", int(total("output_tokens")))]
    if total("cost_usd"):
        stats.append(("cost (USD)", total("cost_usd")))
    if events:
        stats.append(("session seconds", max(e["t"] for e in events)))
    return stats


def build_chat_report(session_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML page of the chat session in `session_dir` (default `SESSION_DIR/report`); returns it."""
    meta = read_json_object(session_dir / SESSION)
    if meta.get("kind") != "chat":
        raise ReportError(f"{session_dir / SESSION} is a session of kind {meta.get('kind')!r}, expected 'chat'")
    events, note = read_events(session_dir, "No transcript: the session ended before anything was said.")
    hypotheses, timeline = ledger_views(ledger_of(events), events)
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
