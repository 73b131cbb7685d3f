"""What every kind of `aia report` shares: the page model, transcripts as page steps, the
hypothesis ledger as a timeline, exemplars shaded by activation, the jinja2 environment, and
the build directory that is swapped in only once every page is written.

Three kinds of records become pages (bench runs, label runs, chat sessions: see
`evals.report`); they differ in their rows, not in how a transcript, a ledger or an exemplar
looks, so those live here once. Every text that comes from a run (descriptions, code,
observations, tokens) is untrusted and goes through jinja2's autoescape. Long texts are clipped
(the transcript on disk keeps them whole) so that big runs stay small and build in seconds.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

import prompts
from agent.transcript import TRANSCRIPT_NAME, TranscriptError, experiment_text, read_transcript

REPORT_DIR = "report"
#: A file in every report directory: only a directory holding it may be replaced by a rebuild.
MARKER = ".aia-report"
TEMPLATE_DIR = Path(prompts.__file__).parent / "report"
#: Texts longer than this are cut on the page (the transcript on disk keeps them whole); tool-call
#: arguments are cut shorter, as the observation that follows usually repeats the inputs.
CLIP_CHARS = 1000
ARGUMENT_CHARS = 200
#: Texts longer than this (or with more lines) are shown collapsed in a <details>.
COLLAPSE_CHARS = 400
COLLAPSE_LINES = 8
#: Ids, categories and unit addresses become file names: nothing that could climb out of the report.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IMAGE_NAME = re.compile(r"^images/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ReportError(Exception):
    """A directory the report cannot be built from (not a run, unreadable rows, unsafe ids, ...)."""


# ----------------------------------------------------------------------------- the page model

@dataclass
class Clip:
    """A text ready for a page: cut to a length, with what was cut and whether to collapse it."""

    text: str
    omitted: int = 0
    collapsed: bool = False

    @property
    def preview(self) -> str:
        """The first line, shortened: the <summary> of a collapsed text."""
        first = self.text.lstrip().split("\n", 1)[0]
        return first if len(first) <= 120 else first[:120] + "…"


def clip(text: Any, limit: int = CLIP_CHARS) -> Clip:
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=repr)
    omitted = max(0, len(text) - limit)
    text = text[:limit] if omitted else text
    return Clip(text, omitted, len(text) > COLLAPSE_CHARS or text.count("\n") >= COLLAPSE_LINES)


#: Lines of an agent's code shown before the click that shows all of it.
CODE_HEAD_LINES = 8
#: Tool calls whose `code` argument is Python the agent wrote (shown as highlighted code, not JSON).
CODE_TOOLS = ("run_python",)


@dataclass
class CodeView:
    """Code an agent ran: all of it (`text`), and the first lines shown before a click (`head`)."""

    text: str
    head: str
    lines: int

    @property
    def more(self) -> bool:
        return self.head != self.text


def code_view(code: str) -> CodeView:
    lines = code.rstrip("\n").split("\n")
    return CodeView(code, "\n".join(lines[:CODE_HEAD_LINES]) if len(lines) > CODE_HEAD_LINES else code, len(lines))


@dataclass
class ToolCallView:
    name: str
    arguments: Clip
    error: str | None = None
    code: CodeView | None = None  # run_python's code, whole: highlighted on the page instead of escaped JSON


def tool_call_view(call: dict[str, Any]) -> ToolCallView:
    """A tool call as a page shows it: the code of a code tool whole (the page folds it), any
    other arguments as clipped JSON."""
    args = call["arguments"]
    code = args.get("code") if call["name"] in CODE_TOOLS and isinstance(args, dict) else None
    if isinstance(code, str):
        rest = {k: v for k, v in args.items() if k != "code"}
        return ToolCallView(call["name"], clip(rest or "", ARGUMENT_CHARS), call["error"], code_view(code))
    return ToolCallView(call["name"], clip(args, ARGUMENT_CHARS), call["error"])


@dataclass
class Step:
    """One transcript event as the page shows it; `kind` picks its colour."""

    kind: str
    title: str
    round: int | None = None
    t: float | None = None
    body: Clip | None = None
    calls: list[ToolCallView] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


@dataclass
class HypothesisView:
    id: str
    statement: str
    status: str


@dataclass
class LedgerMove:
    """One entry of a hypothesis's history: `action` is proposed, supported, refuted or open."""

    hypothesis: str
    statement: str
    action: str
    status: str
    evidence: str


@dataclass
class LedgerRound:
    round: int
    moves: list[LedgerMove]


@dataclass
class TokenShade:
    """A token of an exemplar with the colour its activation gets (red positive, blue negative).

    `activation` is None for tokens the unit has no value on (special tokens: NaN in memory,
    null in JSON); they are shown unshaded rather than as a misleading zero.
    """

    token: str
    raw: str
    activation: float | None
    style: str
    #: The space that precedes the word, kept out of the shaded box so words read apart.
    space: str = ""
    #: What a simulator predicts on this token from the label's description (0-1), where shown.
    simulated: float | None = None
    sim_style: str = ""


@dataclass
class ExemplarView:
    caption: str
    tokens: list[TokenShade]
    held_out: bool = False
    group: str = ""  # the exemplar cache's group: "top" windows or "random" ones

    @property
    def peak(self) -> float | None:
        values = [t.activation for t in self.tokens if t.activation is not None]
        return max(values, key=abs) if values else None


# ----------------------------------------------------------------------------- exemplars

def _number(value: Any) -> float | None:
    """A finite float, or None for null/NaN (a token the unit has no value on)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value) if math.isfinite(value) else None


def display_tokens(tokens: Sequence[str]) -> list[str]:
    """Tokenizer pieces as they read in text.

    Byte-level BPE (GPT-2, Llama: "Ġcat", "▁cat", "Ċ") marks spaces inside the token, so only the
    markers are replaced; WordPiece (BERT, MiniLM: "cat", "##s") marks continuations instead, so
    every other token gets its space back. Telling them apart per exemplar is enough: a BPE window
    of any length carries a space marker somewhere.
    """
    if any(t.startswith(("Ġ", "▁")) or "Ċ" in t for t in tokens):
        return [t.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\n") for t in tokens]
    out = []
    for n, t in enumerate(tokens):
        if t.startswith("##"):
            out.append(t[2:])
        else:
            out.append(t if n == 0 else " " + t)
    return out


def shade_tokens(tokens: Sequence[Any], values: Sequence[Any], scale: float | None = None) -> list[TokenShade]:
    """Colour tokens by activation: opacity is |activation| / scale.

    `scale` defaults to the largest |activation| of these tokens; pass a shared one (the unit's
    maximum over all exemplars) so colours are comparable across exemplars. A null or NaN value
    (a special token) stays unshaded.
    """
    if len(tokens) != len(values):
        raise ValueError(f"{len(tokens)} tokens but {len(values)} values")
    for n, token in enumerate(tokens):
        if not isinstance(token, str):
            raise ValueError(f"token {n} is {token!r}, not a string")
    acts = []
    for n, value in enumerate(values):
        try:
            acts.append(_number(value))
        except TypeError:
            raise ValueError(f"token {n} ({tokens[n]!r}) has activation {value!r}, not a number") from None
    if scale is None:
        scale = max((abs(v) for v in acts if v is not None), default=0.0)
    out = []
    for raw, shown, value in zip(tokens, display_tokens(tokens), acts, strict=True):
        word = shown.lstrip(" ") or shown  # a token that is only spaces keeps them: its activation shows
        space = shown[:len(shown) - len(word)]
        if value is None:
            out.append(TokenShade(word, raw, None, "", space))
            continue
        alpha = min(1.0, abs(value) / scale) if scale > 0 else 0.0
        rgb = "220,60,30" if value >= 0 else "40,90,220"
        out.append(TokenShade(word, raw, value, f"background:rgba({rgb},{alpha:.2f})", space))
    return out


def exemplar_views(groups: Mapping[str, Any]) -> list[ExemplarView]:
    """Views of a unit's exemplars, `{"top": [{"tokens", "values", "held_out"}, ...], "random": [...]}`.

    All exemplars share one colour scale (the largest |activation| among them), so a weak
    exemplar looks weak next to a strong one. Raises ValueError naming the first malformed one.
    """
    if not isinstance(groups, Mapping):
        raise ValueError(f"exemplars are {type(groups).__name__}, expected an object of lists")
    items = []
    for group, exemplars in groups.items():
        if not isinstance(exemplars, list):
            raise ValueError(f"exemplars[{group!r}] is {type(exemplars).__name__}, expected a list")
        for n, ex in enumerate(exemplars):
            if not (isinstance(ex, Mapping) and isinstance(ex.get("tokens"), list)
                    and isinstance(ex.get("values"), list)):
                raise ValueError(f"exemplars[{group!r}][{n}] needs lists 'tokens' and 'values'")
            try:
                shades = shade_tokens(ex["tokens"], ex["values"])
            except ValueError as e:
                raise ValueError(f"exemplars[{group!r}][{n}]: {e}") from None
            items.append((group, n, ex["tokens"], ex["values"], shades, bool(ex.get("held_out"))))
    scale = max((abs(t.activation) for *_, shades, _ in items for t in shades if t.activation is not None),
                default=0.0)
    return [ExemplarView(f"{group} {n + 1}", shade_tokens(tokens, values, scale or None), held, str(group))
            for group, n, tokens, values, _, held in items]


# ----------------------------------------------------------------------------- transcripts

def read_events(log_dir: Path, missing: str) -> tuple[list[dict[str, Any]], str | None]:
    """The events of `log_dir/transcript.jsonl` through the one reader (agent.transcript), and
    the note a page shows instead: `missing` without a transcript, the reader's error for one it
    refuses (one unreadable transcript should not cost the whole report)."""
    if not (log_dir / TRANSCRIPT_NAME).is_file():
        return [], missing
    try:
        return list(read_transcript(log_dir)), None
    except TranscriptError as e:
        return [], f"The transcript cannot be read: {e}"


def ledger_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last ledger snapshot (a `hypotheses` event, or the ledger the `end` event carries)."""
    ledger: dict[str, Any] = {}
    for e in events:
        if e["type"] in ("hypotheses", "end") and e["ledger"]:
            ledger = e["ledger"]
    return ledger


def _statements_then(events: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """(hypothesis, history index) -> its statement in the snapshot where that entry first
    appeared: a hypothesis reworded later keeps its earlier wording in the timeline."""
    out: dict[tuple[str, int], str] = {}
    for e in events:
        if e["type"] in ("hypotheses", "end") and e.get("ledger"):
            for key, h in e["ledger"].items():
                for n in range(len(h["history"])):
                    out.setdefault((key, n), h["statement"])
    return out


def ledger_views(ledger: dict[str, Any], events: list[dict[str, Any]] | None = None
                 ) -> tuple[list[HypothesisView], list[LedgerRound]]:
    """The final state of each hypothesis, and the round-by-round timeline of how it got there,
    each step with the statement as it stood then (from the transcript's snapshots, `events`)."""
    hypotheses = [HypothesisView(h["id"], h["statement"], h["status"]) for h in ledger.values()]
    then = _statements_then(events or [])
    rounds: dict[int, list[LedgerMove]] = {}
    for key, h in ledger.items():
        for n, (rnd, status, evidence) in enumerate(h["history"]):
            if n == 0:
                action = "proposed" if status == "open" else f"proposed, {status}"
            else:
                action = status
            statement = then.get((key, n), h["statement"])
            rounds.setdefault(rnd, []).append(LedgerMove(h["id"], statement, action, status, evidence))
    return hypotheses, [LedgerRound(r, moves) for r, moves in sorted(rounds.items())]


def image_urls(names: list[str], log_dir: Path, page_dir: Path, prefix: str) -> list[str]:
    """Copy an event's images beside the page; returns their URLs relative to the page."""
    urls = []
    for name in names:
        source = log_dir / name
        if not (_IMAGE_NAME.match(name) and source.is_file()):
            continue  # a missing or odd image path is left out, never followed out of the log dir
        target = page_dir / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        urls.append(f"{prefix}/{name}")
    return urls


def _ledger_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What a `hypotheses` event changed: the history entries added since the previous snapshot."""
    lines = []
    for key, h in after.items():
        seen = len(before[key]["history"]) if key in before else 0
        for _, status, evidence in h["history"][seen:]:
            label = "proposed" if seen == 0 and status == "open" else status
            lines.append(f"{key} {label}: {h['statement']}" + (f"\n    evidence: {evidence}" if evidence else ""))
            seen += 1
    return "\n".join(lines) or "(no change)"


def transcript_steps(events: list[dict[str, Any]], log_dir: Path, page_dir: Path, prefix: str) -> list[Step]:
    """The events of a transcript (as agent.transcript.read_transcript returns them: every field
    of the event's model present) as page steps, texts clipped, images copied beside the page.
    """
    steps = []
    ledger: dict[str, Any] = {}
    for e in events:
        kind, rnd, t = e["type"], e.get("round"), e["t"]
        if kind == "start":
            body = f"task {e['task_id']} ({e['kind']}), backend {e['backend']}"
            if e["max_rounds"]:
                body += f", at most {e['max_rounds']} rounds"
            if e["tools"]:
                body += f"\ntools: {', '.join(e['tools'])}"
            steps.append(Step("start", "start", rnd, t, clip(body)))
        elif kind == "system":  # long and the same in every investigation: always collapsed
            steps.append(Step("system", "system prompt", rnd, t, replace(clip(e["text"]), collapsed=True)))
        elif kind in ("user", "final_request"):
            steps.append(Step("user", "final request" if kind == "final_request" else "user", rnd, t, clip(e["text"])))
        elif kind == "assistant":
            calls = [tool_call_view(c) for c in e["tool_calls"]]
            u = e["usage"]
            title = "assistant"
            if u["input_tokens"] or u["output_tokens"]:
                title += f" · {u['input_tokens']} in / {u['output_tokens']} out tokens"
            retries = "\n".join(f"retried: attempt {r['attempt']} failed ({r['error']}); waited {r['wait']} s"
                                 for r in e["retries"])
            text = "\n\n".join(x for x in (e["text"], retries) if x)
            steps.append(Step("assistant", title, rnd, t, clip(text) if text else None, calls))
        elif kind == "tool_result":
            err = e["is_error"]
            steps.append(Step("error" if err else "observation", f"{'error' if err else 'observation'} · {e['name']}",
                              rnd, t, clip(e["text"]), images=image_urls(e["images"], log_dir, page_dir, prefix)))
        elif kind == "experiment":
            steps.append(Step("experiment", f"experiment · {e['purpose']}", rnd, t, clip(experiment_text(e))))
        elif kind == "hypotheses":
            steps.append(Step("hypotheses", "hypotheses", rnd, t, clip(_ledger_changes(ledger, e["ledger"]))))
            ledger = e["ledger"]
        elif kind == "command":
            failed = e["is_error"]
            title = e["text"] + (" · failed" if failed else "") + f" · {e['seconds']:.2f} s"
            steps.append(Step("error" if failed else "command", title, rnd, t, clip(e["output"] or "(no output)"),
                              images=image_urls(e["images"], log_dir, page_dir, prefix)))
        elif kind == "interrupted":
            what = f"tool {e['tool']}" if e["tool"] else "the model's turn"
            if e["command"]:
                what += f" (command {e['command']})"
            steps.append(Step("interrupted", "interrupted", rnd, t, clip(f"interrupted by the user during {what}")))
        elif kind == "error":
            steps.append(Step("error", "error", rnd, t, clip(e["error"])))
        elif kind == "end":
            body = f"stopped: {e['stop_reason']} after {e['rounds']} rounds"
            if e["black_box_calls"] is not None:
                body += f", {e['black_box_calls']} black-box calls"
            if e["answer_problems"]:
                body += "\nanswer problems: " + "; ".join(e["answer_problems"])
            steps.append(Step("end", "end", rnd, t, clip(body)))
        else:  # a version-0 event of a type the schema does not know: shown as written
            steps.append(Step("other", kind, rnd, t,
                              clip({k: v for k, v in e.items() if k not in ("type", "t", "format_version")})))
    return steps


# ----------------------------------------------------------------------------- rendering

def num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and abs(value) < 1e-3:  # NMSEs near zero: 0.000 would hide their size
            return f"{value:.2e}"
        return f"{value:,.{digits}f}"
    return str(value)


def _signed(value: Any, digits: int = 3) -> str:
    """A margin: always with its sign, so +0.120 and -0.120 read apart at a glance."""
    return f"{value:+.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def _score_class(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "none"
    return "hi" if value >= 0.8 else "mid" if value >= 0.4 else "lo"


def _literal(value: Any) -> str:
    """A unit-test value as Python writes it (quotes, escapes): 'a b ' and 'a b' read apart."""
    return repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)


def _sort_value(value: Any) -> str:
    """`data-v` of a sortable numeric cell: empty for a missing value (the script sorts those last)."""
    return ("" if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            else repr(value))


@lru_cache(maxsize=1)
def _highlighter() -> tuple[PythonLexer, HtmlFormatter]:
    return PythonLexer(), HtmlFormatter(nowrap=True)  # building these costs more than highlighting a snippet


def _python(code: str | None) -> Markup:
    """Python source as escaped HTML with a few token classes (pygments escapes every token)."""
    lexer, formatter = _highlighter()
    return Markup(highlight(code or "", lexer, formatter))


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters |= {"num": num, "signed": _signed, "score_class": _score_class, "python": _python,
                    "sort_value": _sort_value, "literal": _literal}
    return env


def render(template: str, **context: Any) -> str:
    """The HTML of `prompts/report/<template>` with `context`."""
    return _env().get_template(template).render(**context)


def write_page(root: Path, href: str, html: str) -> None:
    (root / href).parent.mkdir(parents=True, exist_ok=True)
    (root / href).write_text(html, encoding="utf-8")


@contextmanager
def building(out: Path) -> Iterator[Path]:
    """A fresh build directory beside `out`, swapped in for `out` only when the block succeeds.

    A rebuild thus never leaves pages of two builds mixed (or stale pages of units no longer in
    the run), and a failed build leaves the previous report whole. An `out` that is not a report
    (no MARKER in it) is never touched.
    """
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ReportError(f"{out} exists and is not an aia report (no {MARKER} in it); choose another output")
    tmp = out.with_name(f".{out.name}.building")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / MARKER).write_text("written by `aia report`; this directory is replaced when the report is rebuilt\n")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or a ReportError saying what is wrong with the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReportError(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise ReportError(f"{path} holds {type(data).__name__}, expected a JSON object")
    return data
