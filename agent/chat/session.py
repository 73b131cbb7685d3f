"""Chat sessions on disk: SESSION_DIR/session.json plus SESSION_DIR/transcript.jsonl.

A session directory is a run directory of kind "chat" (tools.run_dir): session.json is its
record (with `kind` and `format_version`), and an open session holds the directory's lock, so a
second `aia chat --resume` of the same session is refused, naming the process that has it.

The transcript is the session: every event is appended and flushed as it happens, so a
killed chat loses nothing, and resuming rebuilds the LLM history and the hypothesis ledger
from it, read through the one transcript reader (agent.transcript; a torn last line is cut
before the resumed chat appends). Events are the engine's (user, assistant, tool_result,
hypotheses, final_request) plus `command` (a slash command, its output and duration),
`interrupted` (Ctrl-C stopped a tool) and `error` (a question the LLM API refused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from agent.ledger import Hypothesis, Ledger
from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.transcript import TRANSCRIPT_NAME, TranscriptError, TranscriptWriter
from prompts import render
from tools.models import cache_dir
from tools.run_dir import KINDS, RunDirectory, RunError, versions

SESSION_FILE = KINDS["chat"][0]
#: The observation given to a tool call whose result never reached the transcript (the
#: process was killed mid-tool), so a resumed history answers every call.
LOST_RESULT = render("chat_lost_result")


class SessionError(ValueError):
    """A session directory that cannot be created or resumed; the message says why."""


def command_note(text: str, output: str) -> str:
    """How a slash command appears in the LLM's history (the person ran a tool directly)."""
    return render("chat_command_note", command=text, output=output)


def sessions_root() -> Path:
    return cache_dir() / "chats"


def new_session_dir(model: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or model)[:40]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = sessions_root() / f"{stamp}-{slug}"
    n = 1
    while path.exists():
        n += 1
        path = sessions_root() / f"{stamp}-{slug}-{n}"
    return path


def resolve_session(name: str | Path) -> Path:
    """A session directory given as a path or as a name under the sessions root."""
    for candidate in (Path(name).expanduser(), sessions_root() / str(name)):
        if (candidate / SESSION_FILE).is_file():
            return candidate
    raise SessionError(f"no chat session at {name!r} (looked for {SESSION_FILE} there and under {sessions_root()})")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Session:
    """An open session: its directory (locked while open), metadata and transcript writer."""

    path: Path
    meta: dict[str, Any]
    transcript: TranscriptWriter
    run_dir: RunDirectory

    @classmethod
    def create(cls, path: Path, model: str, backend: str, seed: int = 0) -> "Session":
        path = Path(path).expanduser()
        if (path / TRANSCRIPT_NAME).exists():
            raise SessionError(f"{path} already holds a session; resume it with --resume {path}")
        run_dir = RunDirectory(path, "chat")
        try:
            run_dir.open()
            meta = run_dir.start_or_resume({"model": model}, new={
                "backend": backend, "created": _now(), "seed": seed,
                "versions": versions(("aia", "torch", "transformers", "nnsight"))})
            return cls(path, meta, TranscriptWriter(path), run_dir)
        except RunError as e:
            run_dir.close()
            raise SessionError(str(e)) from None
        except BaseException:
            run_dir.close()
            raise

    @classmethod
    def resume(cls, name: str | Path) -> "Session":
        path = resolve_session(name)
        run_dir = RunDirectory(path, "chat")
        try:
            run_dir.open()
            meta = run_dir.read_record() or {}
            return cls(path, meta, TranscriptWriter(path, append=True), run_dir)
        except (RunError, TranscriptError) as e:
            run_dir.close()
            raise SessionError(f"cannot resume {path}: {e}") from None
        except BaseException:
            run_dir.close()
            raise

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.transcript.events

    def save(self, **updates: Any) -> Path:
        """Rewrite session.json (the transcript is already on disk, flushed per event)."""
        self.meta = self.run_dir.update_record(**updates, saved=_now())
        return self.path

    def close(self) -> None:
        """Close the transcript and release the session's lock."""
        try:
            self.transcript.close()
        finally:
            self.run_dir.close()


def rebuild_history(events: list[dict[str, Any]], log_dir: Path | None = None) -> list[Entry]:
    """The provider-neutral history a conversation had, from its transcript events (as
    read_transcript returns them: every field of the event's model present).

    Slash commands become notes, as they were during the session; tool calls whose result
    was never written (a killed process) get LOST_RESULT so every call is answered.
    """
    history: list[Entry] = []
    pending: list[ToolCall] = []

    def settle() -> None:
        for call in pending:
            history.append(ToolResult(call.id, call.name, LOST_RESULT, is_error=True))
        pending.clear()

    for e in events:
        event_type = e["type"]
        if event_type == "tool_result":
            pending[:] = [c for c in pending if c.id != e["call_id"]]
            images = [(log_dir / p).read_bytes() for p in e["images"] if log_dir and (log_dir / p).is_file()]
            history.append(ToolResult(e["call_id"], e["name"], e["text"], images, e["is_error"]))
            continue
        if event_type in ("user", "final_request", "assistant", "command"):
            settle()
        if event_type in ("user", "final_request"):
            history.append(UserMessage(e["text"]))
        elif event_type == "command":
            history.append(UserMessage(command_note(e["text"], e["output"])))
        elif event_type == "assistant":
            calls = [ToolCall(c["id"], c["name"], c["arguments"], c["error"]) for c in e["tool_calls"]]
            history.append(AssistantTurn(e["text"], calls))
            pending.extend(calls)
    settle()
    return history


def rebuild_ledger(events: list[dict[str, Any]]) -> Ledger:
    """The ledger as of the last `hypotheses` snapshot."""
    snapshots = [e for e in events if e["type"] == "hypotheses"]
    if not snapshots:
        return Ledger()
    return Ledger(hypotheses={k: Hypothesis.model_validate(v) for k, v in snapshots[-1]["ledger"].items()})


def last_round(events: list[dict[str, Any]]) -> int:
    return max((int(e.get("round") or 0) for e in events), default=0)
