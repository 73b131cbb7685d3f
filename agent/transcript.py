"""The investigation transcript: a JSONL event stream written as the investigation runs.

Streaming (one flushed line per event) means a crashed or interrupted run still leaves a
readable record. Events: `start`, `system`, `user`, `assistant` (text, tool calls, usage,
timing), `tool_result` (observation text, image files, timing), `hypotheses` (ledger
snapshot), `retry`, `final_request`, `end` (answer, usage totals, black-box calls).
Images go to `images/NNNN.png` beside the transcript and are referenced by file name.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

TRANSCRIPT_NAME = "transcript.jsonl"


class TranscriptWriter:
    """Appends events to LOG_DIR/transcript.jsonl; with `log_dir=None` it only keeps them in memory."""

    def __init__(self, log_dir: Path | str | None):
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self._file = None
        self._images = 0
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.log_dir / TRANSCRIPT_NAME, "w", encoding="utf-8")

    def write(self, type_: str, **data: Any) -> dict[str, Any]:
        event = {"type": type_, "t": round(time.monotonic() - self.started, 3), **data}
        self.events.append(event)
        if self._file is not None:
            self._file.write(json.dumps(event, default=_jsonable) + "\n")
            self._file.flush()
        return event

    def save_images(self, images: list[bytes]) -> list[str]:
        """Store PNG bytes next to the transcript; returns their relative paths (empty in memory mode)."""
        if self.log_dir is None or not images:
            return []
        (self.log_dir / "images").mkdir(exist_ok=True)
        names = []
        for data in images:
            self._images += 1
            name = f"images/{self._images:04d}.png"
            (self.log_dir / name).write_bytes(data)
            names.append(name)
        return names

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return f"<{len(obj)} bytes>"
    return repr(obj)


def transcript_path(path: Path | str) -> Path:
    """Accept a run directory or the transcript file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / TRANSCRIPT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no transcript at {path}")
    return path


def read_transcript(path: Path | str) -> Iterator[dict[str, Any]]:
    """Yield events; a truncated last line (a run killed mid-write) is skipped, not fatal."""
    with open(transcript_path(path), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                return


def _event_lines(e: dict[str, Any], width: int) -> tuple[str, str]:
    """(heading, body) for one event."""

    def clip(text: str) -> str:
        return text if len(text) <= width else text[:width] + f" ... [{len(text) - width} more characters]"

    kind = e["type"]
    if kind == "start":
        return "start", f"task {e.get('task_id')} ({e.get('kind')}), backend {e.get('backend')}, max {e.get('max_rounds')} rounds"
    if kind in ("system", "user", "final_request"):
        return kind, clip(e.get("text", ""))
    if kind == "assistant":
        calls = "\n".join(
            f"-> {c['name']}({json.dumps(c.get('arguments', {}))})" + (f"  [unreadable: {c['error']}]" if c.get("error") else "")
            for c in e.get("tool_calls", [])
        )
        u = e.get("usage", {})
        usage = f"[{u.get('input_tokens', 0)} in / {u.get('output_tokens', 0)} out tokens, {e.get('seconds', 0):.1f}s]"
        return f"assistant, round {e.get('round')}", "\n".join(x for x in (clip(e.get("text", "")), calls, usage) if x)
    if kind == "tool_result":
        images = f"\n[images: {', '.join(e['images'])}]" if e.get("images") else ""
        return f"{'error' if e.get('is_error') else 'observation'} ({e.get('name')})", clip(e.get("text", "")) + images
    if kind == "hypotheses":
        return "hypotheses", "\n".join(f"[{h['status']}] {h['id']}: {h['statement']}" for h in e.get("ledger", {}).values())
    if kind == "command":  # a chat slash command: what was typed and what it printed
        return f"command ({e.get('seconds', 0):.1f}s)", clip(f"{e.get('text', '')}\n{e.get('output', '')}".strip())
    if kind == "interrupted":
        return "interrupted", f"stopped by Ctrl-C: {e.get('tool') or e.get('command') or 'the running step'}"
    if kind == "retry":
        return "retry", f"attempt {e.get('attempt')} failed ({e.get('error')}); waited {e.get('wait', 0):.1f}s"
    if kind == "end":
        a = e.get("answer") or {}
        u = e.get("usage", {})
        parts = [
            f"stopped: {e.get('stop_reason')} after {e.get('rounds')} rounds; {e.get('black_box_calls')} black-box calls",
            f"tokens {u.get('input_tokens', 0)} in / {u.get('output_tokens', 0)} out, ${u.get('cost_usd', 0):.4f}, {u.get('llm_calls', 0)} LLM calls",
            f"description: {a.get('description', '')}",
        ]
        if a.get("domain"):
            parts.append(f"domain: {a['domain']}")
        if a.get("code"):
            parts.append(f"code:\n{a['code']}")
        if e.get("answer_problems"):
            parts.append(f"answer problems: {'; '.join(e['answer_problems'])}")
        return "end", "\n".join(parts)
    return kind, clip(json.dumps({k: v for k, v in e.items() if k not in ("type", "t")}))


def show_transcript(path: Path | str, width: int = 2000) -> str:
    """The transcript as plain text (long texts clipped to `width` characters)."""
    blocks = []
    for e in read_transcript(path):
        head, body = _event_lines(e, width)
        blocks.append(f"== {head} (t={e.get('t', 0):.1f}s)\n{body}" if body else f"== {head} (t={e.get('t', 0):.1f}s)")
    return "\n\n".join(blocks)


def render_transcript(path: Path | str, console: Any = None, width: int = 2000) -> None:
    """Print the transcript with rich panels (for `aia show RUN_DIR/<id>`)."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    styles = {"assistant": "cyan", "observation": "green", "error": "red", "hypotheses": "magenta", "end": "bold yellow"}
    console = console or Console()
    for e in read_transcript(path):
        head, body = _event_lines(e, width)
        style = next((s for k, s in styles.items() if head.startswith(k)), "white")
        console.print(Panel(Text(body), title=f"{head}  t={e.get('t', 0):.1f}s", title_align="left", border_style=style))
