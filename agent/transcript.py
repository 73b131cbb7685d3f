"""The investigation transcript on disk: the one writer, the one reader, and `aia show`'s view.

A transcript is LOG_DIR/transcript.jsonl, one event per line in the schema of agent.events,
flushed as it happens, so a crashed or interrupted run still leaves a readable record. Images go
to `images/NNNN.png` beside it and are referenced by file name.

The torn-line rule, the same for reading and appending: an event is on disk once its newline is.
A last line without one (a process killed mid-write) is skipped by the reader and cut off by a
writer that appends (a resumed chat), so the next event never lands glued onto it. Any other
line that is not an event is an error naming the file and the line, never silently dropped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

from agent.events import FORMAT_VERSION, EventError, make_event, parse_event

TRANSCRIPT_NAME = "transcript.jsonl"


class TranscriptError(ValueError):
    """A transcript that cannot be read; the message names the file, the line and why."""


class TranscriptWriter:
    """Writes events to LOG_DIR/transcript.jsonl; with `log_dir=None` it only keeps them in memory.

    `write` validates each event against agent.events and raises EventError on an unknown type or
    field before anything is written, so no writer can leave a line the reader refuses. It returns
    the event as the reader will read it back (every field of its model), the same dict that
    `events` keeps. `append=True` continues an existing transcript (a resumed chat): the torn last
    line is cut, the clock `t` continues from the last event and image numbers from the saved ones.
    """

    def __init__(self, log_dir: Path | str | None, *, append: bool = False):
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.events: list[dict[str, Any]] = []
        self._file = None
        self._images = 0
        elapsed = 0.0
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            path = self.log_dir / TRANSCRIPT_NAME
            if append and path.is_file():
                _cut_torn_line(path)
                self.events = list(read_transcript(path))
                elapsed = max((e["t"] for e in self.events), default=0.0)
                images = self.log_dir / "images"
                self._images = len(list(images.glob("*.png"))) if images.is_dir() else 0
            self._file = open(path, "a" if append else "w", encoding="utf-8")
        self.started = time.monotonic() - elapsed

    def write(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = make_event(type_, format_version=FORMAT_VERSION, t=round(time.monotonic() - self.started, 3), **fields)
        if self._file is not None:
            # On disk the fields the writer gave (a value JSON cannot hold as its repr); the reader
            # fills in the defaults.
            self._file.write(json.dumps(event.model_dump(mode="json", exclude_unset=True, fallback=repr)) + "\n")
            self._file.flush()
        record = event.model_dump(mode="json", fallback=repr)
        self.events.append(record)
        return record

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


def _cut_torn_line(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def transcript_path(path: Path | str) -> Path:
    """Accept a run directory or the transcript file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / TRANSCRIPT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no transcript at {path}")
    return path


def read_transcript(path: Path | str) -> Iterator[dict[str, Any]]:
    """The one reader: each event validated through agent.events (by its line's format version),
    as a dict with every field of its model. A torn last line is skipped; any other unreadable line
    raises TranscriptError."""
    path = transcript_path(path)
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                return
            if not line.strip():
                continue
            try:
                event = parse_event(json.loads(line.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise TranscriptError(f"{path}:{number}: not a JSON line ({e})") from None
            except EventError as e:
                raise TranscriptError(f"{path}:{number}: {e}") from None
            yield event.model_dump(mode="json")


# ----------------------------------------------------------------------------- `aia show`

def experiment_text(e: dict[str, Any]) -> str:
    """An experiment event's inputs and outputs as `f(x) = y` pairs."""
    text = ", ".join(f"f({x!r}) = {y!r}" for x, y in zip(e["inputs"], e["outputs"]))
    more = max(e["more_inputs"], e["more_outputs"])
    return text + (f" ... and {more} more" if more else "")


def _event_lines(e: dict[str, Any], width: int) -> tuple[str, str]:
    """(heading, body) for one event."""

    def clip(text: str) -> str:
        return text if len(text) <= width else text[:width] + f" ... [{len(text) - width} more characters]"

    kind = e["type"]
    if kind == "start":
        cap = f"max {e['max_rounds']} rounds" if e["max_rounds"] else "no round cap"
        return "start", f"task {e['task_id']} ({e['kind']}), backend {e['backend']}, {cap}"
    if kind in ("system", "user", "final_request"):
        return kind, clip(e["text"])
    if kind == "assistant":
        calls = "\n".join(f"-> {c['name']}({json.dumps(c['arguments'])})"
                          + (f"  [unreadable: {c['error']}]" if c["error"] else "") for c in e["tool_calls"])
        retries = "\n".join(f"retried: attempt {r['attempt']} failed ({r['error']}); waited {r['wait']:.1f}s"
                            for r in e["retries"])
        u = e["usage"]
        usage = f"[{u['input_tokens']} in / {u['output_tokens']} out tokens, {e['seconds']:.1f}s]"
        return f"assistant, round {e['round']}", "\n".join(x for x in (clip(e["text"]), calls, retries, usage) if x)
    if kind == "tool_result":
        images = f"\n[images: {', '.join(e['images'])}]" if e["images"] else ""
        return f"{'error' if e['is_error'] else 'observation'} ({e['name']})", clip(e["text"]) + images
    if kind == "experiment":
        return f"experiment, round {e['round']}", clip(f"{e['purpose']}\n{experiment_text(e)}")
    if kind == "hypotheses":
        return "hypotheses", "\n".join(f"[{h['status']}] {h['id']}: {h['statement']}" for h in e["ledger"].values())
    if kind == "command":  # a chat slash command: what was typed and what it printed
        return f"command ({e['seconds']:.1f}s)", clip(f"{e['text']}\n{e['output']}".strip())
    if kind == "interrupted":
        return "interrupted", f"stopped by Ctrl-C: {e['tool'] or e['command'] or 'the running step'}"
    if kind == "error":
        return "error", clip(e["error"])
    if kind == "end":
        a, u = e["answer"], e["usage"]
        calls = f"; {e['black_box_calls']} black-box calls" if e["black_box_calls"] is not None else ""
        parts = [
            f"stopped: {e['stop_reason']} after {e['rounds']} rounds{calls}",
            f"tokens {u['input_tokens']} in / {u['output_tokens']} out, ${u['cost_usd']:.4f}, "
            f"{u['llm_calls']} LLM calls",
            f"description: {a.get('description', '')}",
        ]
        if a.get("domain"):
            parts.append(f"domain: {a['domain']}")
        if a.get("code"):
            parts.append(f"code:\n{a['code']}")
        if e["answer_problems"]:
            parts.append(f"answer problems: {'; '.join(e['answer_problems'])}")
        return "end", "\n".join(parts)
    # A version-0 event of a type the schema does not know: shown as written.
    return kind, clip(json.dumps({k: v for k, v in e.items() if k not in ("type", "t", "format_version")}))


def show_transcript(path: Path | str, width: int = 2000) -> str:
    """The transcript as plain text (long texts clipped to `width` characters)."""
    blocks = []
    for e in read_transcript(path):
        head, body = _event_lines(e, width)
        blocks.append(f"== {head} (t={e['t']:.1f}s)\n{body}" if body else f"== {head} (t={e['t']:.1f}s)")
    return "\n\n".join(blocks)


def render_transcript(path: Path | str, console: Any = None, width: int = 2000) -> None:
    """Print the transcript with rich panels (for `aia show RUN_DIR/<id>`)."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    styles = {"assistant": "cyan", "experiment": "cyan", "observation": "green", "error": "red",
              "hypotheses": "magenta", "end": "bold yellow"}
    console = console or Console()
    for e in list(read_transcript(path)):  # read whole first: an unreadable file prints nothing but its error
        head, body = _event_lines(e, width)
        style = next((s for k, s in styles.items() if head.startswith(k)), "white")
        console.print(Panel(Text(body), title=f"{head}  t={e['t']:.1f}s", title_align="left", border_style=style))
