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
from typing import Any, Callable, Iterator

from agent.events import FORMAT_VERSION, EventError, make_event, parse_event
from agent.ledger import changed_lines

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


def _uses_tokens(usage: dict[str, Any]) -> bool:
    """Whether a usage record counts anything: builtin, oracle and null runs use no LLM, and
    their transcripts show no token counter."""
    return bool(usage.get("input_tokens") or usage.get("output_tokens") or usage.get("llm_calls"))


#: Whether the dollars of a backend's tokens are known (True: priced or free, False: an LLM
#: without a price, None: no LLM), as the caller knows it (`aia show` asks the price table).
PriceKnown = Callable[[str], "bool | None"]


def _cost(usage: dict[str, Any], backend: str, price_known: PriceKnown | None) -> str:
    """Dollars as shown: "unknown" where a model used tokens and no price was found (the backends
    record $0 then), never a made-up $0.000; $0 only where the price is known to be 0 (`local:`)."""
    if usage.get("cost_usd") or (price_known is not None and price_known(backend)):
        return f"${usage.get('cost_usd') or 0.0:.4f}"
    return "cost unknown (no price for this model; AIA_PRICES names a price file)"


class _Reader:
    """Turns events into (heading, body) pairs for `aia show`, remembering what it needs across
    events: the backend (for costs) and the ledger shown last, so that a hypotheses event shows
    only what changed (new hypotheses and new statuses), and none at all when nothing did."""

    def __init__(self, width: int, price_known: PriceKnown | None = None) -> None:
        self.width = width
        self.price_known = price_known
        self.backend = ""
        self.ledger: dict[str, tuple[str, str]] = {}

    def clip(self, text: str) -> str:
        if len(text) <= self.width:
            return text
        return text[:self.width] + f" ... [{len(text) - self.width} more characters]"

    def ledger_changes(self, e: dict[str, Any]) -> tuple[str, str] | None:
        lines = changed_lines(self.ledger, e["ledger"])
        if not lines:
            return None
        n = len(e["ledger"])
        head = "hypotheses" if len(lines) == n else f"hypotheses ({len(lines)} changed of {n})"
        return head, "\n".join(lines)

    def lines(self, e: dict[str, Any]) -> tuple[str, str] | None:
        """(heading, body) for one event; None for one that shows nothing new (an unchanged ledger)."""
        clip = self.clip
        kind = e["type"]
        if kind == "start":
            self.backend = str(e.get("backend") or "")
            cap = f"max {e['max_rounds']} rounds" if e.get("max_rounds") else "no round cap (a fixed plan)"
            return "start", f"task {e['task_id']} ({e['kind']}), backend {e['backend']}, {cap}"
        if kind in ("system", "user", "final_request"):
            return kind, clip(e["text"])
        if kind == "assistant":
            calls = "\n".join(_call_text(c) + (f"  [unreadable: {c['error']}]" if c["error"] else "")
                              for c in e["tool_calls"])
            retries = "\n".join(f"retried: attempt {r['attempt']} failed ({r['error']}); waited {r['wait']:.1f}s"
                                for r in e["retries"])
            u = e["usage"]
            usage = (f"[{u['input_tokens']} in / {u['output_tokens']} out tokens, {e['seconds']:.1f}s]"
                     if _uses_tokens(u) else f"[{e['seconds']:.1f}s]")
            return (f"assistant, round {e['round']}",
                    "\n".join(x for x in (clip(e["text"]), calls, retries, usage) if x))
        if kind == "tool_result":
            images = f"\n[images: {', '.join(e['images'])}]" if e["images"] else ""
            return f"{'error' if e['is_error'] else 'observation'} ({e['name']})", clip(e["text"]) + images
        if kind == "experiment":
            return f"experiment, round {e['round']}", clip(f"{e['purpose']}\n{experiment_text(e)}")
        if kind == "hypotheses":
            return self.ledger_changes(e)
        if kind == "command":  # a chat slash command: what was typed and what it printed
            return f"command ({e['seconds']:.1f}s)", clip(f"{e['text']}\n{e['output']}".strip())
        if kind == "interrupted":
            return "interrupted", f"stopped by Ctrl-C: {e['tool'] or e['command'] or 'the running step'}"
        if kind == "error":
            return "error", clip(e["error"])
        if kind == "end":
            a, u = e["answer"], e["usage"]
            calls = f"; {e['black_box_calls']} black-box calls" if e["black_box_calls"] is not None else ""
            parts = [f"stopped: {e['stop_reason']} after {e['rounds']} rounds{calls}"]
            if _uses_tokens(u):
                cost = _cost(u, self.backend, self.price_known)
                parts.append(f"tokens {u['input_tokens']} in / {u['output_tokens']} out, {cost}, "
                             f"{u['llm_calls']} LLM calls")
            parts.append(f"description: {a.get('description', '')}")
            if a.get("domain"):
                parts.append(f"domain: {a['domain']}")
            if a.get("code"):
                parts.append(f"code:\n{a['code']}")
            if e["answer_problems"]:
                parts.append(f"answer problems: {'; '.join(e['answer_problems'])}")
            return "end", "\n".join(parts)
        # A version-0 event of a type the schema does not know: shown as written.
        return kind, clip(json.dumps({k: v for k, v in e.items() if k not in ("type", "t", "format_version")}))


def _call_text(call: dict[str, Any]) -> str:
    """A tool call as a person reads it: the arguments as JSON, but code (run_python,
    check_code, submit) as the code itself, on its own lines, not an escaped string."""
    arguments = dict(call.get("arguments") or {})
    code = arguments.pop("code", None)
    if not isinstance(code, str):
        return f"-> {call['name']}({json.dumps(call.get('arguments') or {})})"
    rest = f"({json.dumps(arguments)})" if arguments else ""
    return f"-> {call['name']}{rest} code:\n{code.rstrip()}"


#: Events `--brief` leaves out: the prompts, which are the same in every investigation.
_BRIEF_SKIPS = ("system", "user", "final_request")


def transcript_view(path: Path | str, width: int = 2000, brief: bool = False,
                    price_known: PriceKnown | None = None) -> list[tuple[str, str, float]]:
    """(heading, body, t) per event worth showing: a hypotheses event only when the ledger changed
    (and only what changed). `brief` leaves out the prompts and keeps each body to its first line
    (clipped to 160 characters), the end event's description and code whole."""
    reader = _Reader(width, price_known)
    out = []
    for e in list(read_transcript(path)):  # read whole first: an unreadable file shows nothing but its error
        shown = reader.lines(e)
        if shown is None or (brief and e["type"] in _BRIEF_SKIPS):
            continue
        head, body = shown
        if brief and e["type"] != "end":
            first = body.splitlines()[0] if body else ""
            more = len(body.splitlines()) - 1
            body = (first[:160] + ("..." if len(first) > 160 else "")) + (f"  (+{more} lines)" if more > 0 else "")
        out.append((head, body, float(e["t"])))
    return out


def show_transcript(path: Path | str, width: int = 2000, brief: bool = False,
                    price_known: PriceKnown | None = None) -> str:
    """The transcript as plain text (long texts clipped to `width` characters)."""
    return "\n\n".join(f"== {head} (t={t:.1f}s)\n{body}" if body else f"== {head} (t={t:.1f}s)"
                        for head, body, t in transcript_view(path, width, brief, price_known))


def render_transcript(path: Path | str, console: Any = None, width: int = 2000, brief: bool = False,
                      price_known: PriceKnown | None = None) -> None:
    """Print the transcript (for `aia show`): rich panels, or with `brief` one line per event."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    styles = {"assistant": "cyan", "experiment": "cyan", "observation": "green", "error": "red",
              "hypotheses": "magenta", "end": "bold yellow"}
    console = console or Console()
    for head, body, t in transcript_view(path, width, brief, price_known):
        style = next((s for k, s in styles.items() if head.startswith(k)), "white")
        if brief:
            console.print(Text.assemble((f"{t:7.1f}s {head}: ", style), body))
        else:
            console.print(Panel(Text(body), title=f"{head}  t={t:.1f}s", title_align="left", border_style=style))
