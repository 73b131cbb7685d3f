"""Slash commands: the chat's direct line to the model tools.

A tool command is parsed into the very `ToolCall` an agent would make and run through the
same registry, so `/call` and the agent's `call_unit` are one implementation and work with
every backend. Several texts are separated by ` | `. Session commands (/help, /save, /exit)
are handled by the REPL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.messages import ToolCall

SESSION_COMMANDS = ("help", "save", "more", "exit", "quit")


@dataclass(frozen=True)
class Spec:
    usage: str
    help: str


COMMANDS: dict[str, Spec] = {
    "units": Spec("/units", "list the model's layers and unit addresses"),
    "exemplars": Spec("/exemplars UNIT [K] [image]", "the K (default 10) corpus windows where UNIT fires most "
                                                    "(image: also save them coloured by activation)"),
    "call": Spec("/call UNIT TEXT [| TEXT ...]", "UNIT's activation on every token of each text"),
    "synth": Spec("/synth UNIT TEMPLATE",
                  "fill {slot=a,b,c} slots, e.g. /synth layer.0.mlp.neuron.3 I saw a {w=dog,cat}."),
    "edit": Spec("/edit UNIT TEXT | OLD->NEW[,NEW...]", "swap a word and compare UNIT's peak activation"),
    "ablate": Spec("/ablate UNIT [zero|mean|resample] TEXT [| TEXT ...]", "knock UNIT out and report what changes"),
    "patch": Spec("/patch SITE CLEAN | CORRUPT", "copy SITE from the clean run into the corrupt one (language models)"),
    "steer": Spec("/steer SITE SCALE TEXT [| TEXT ...]", "add SCALE to SITE and compare next tokens (language models)"),
    "attention": Spec("/attention HEAD TEXT", "where a head attends on a text"),
    "fv": Spec("/fv IN:OUT, IN:OUT, ...", "function vector heads for an input->output task (language models)"),
    "describe": Spec("/describe UNIT", "the builtin labeler's investigation of UNIT"),
    "hypotheses": Spec("/hypotheses", "the hypothesis ledger"),
    "more": Spec("/more", "the last tool output the agent got, in full (the screen folds each to one line)"),
    "save": Spec("/save", "write the session (it is also saved as it goes) and print its path"),
    "help": Spec("/help", "this list"),
    "exit": Spec("/exit", "leave (Ctrl-D too); resume later with --resume"),
}

_SLOT = re.compile(r"\{(\w+)=([^{}]*)\}")


class CommandError(ValueError):
    """A slash command that does not parse; the message gives its usage."""


@dataclass
class Command:
    """A parsed slash command: a tool call, or a session command with `call` None."""

    name: str
    text: str
    call: ToolCall | None = None


def help_text() -> str:
    width = max(len(s.usage) for s in COMMANDS.values())
    lines = ["Slash commands (they run tools directly, with any backend):"]
    lines += [f"  {s.usage.ljust(width)}  {s.help}" for s in COMMANDS.values()]
    lines.append("Anything else is a question for the agent. Ctrl-C stops a running tool.")
    return "\n".join(lines)


def _texts(rest: str, usage: str) -> list[str]:
    texts = [t.strip() for t in rest.split(" | ") if t.strip()]
    if not texts:
        raise CommandError(f"no text given; usage: {usage}")
    return texts


def _split(rest: str, n: int, usage: str) -> list[str]:
    """The first n whitespace-separated words, then the remainder (possibly empty)."""
    parts = rest.split(None, n)
    if len(parts) < n:
        raise CommandError(f"usage: {usage}")
    return parts + [""] * (n + 1 - len(parts))


def parse_command(line: str, call_id: str = "cmd") -> Command:
    """Parse a line starting with '/'; unknown or malformed commands raise CommandError."""
    text = line.strip()
    if not text.startswith("/"):
        raise CommandError("a command starts with '/'")
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name == "quit":
        name = "exit"
    if name not in COMMANDS:
        raise CommandError(f"unknown command /{name}; type /help for the list")
    usage = COMMANDS[name].usage
    if name in SESSION_COMMANDS:
        return Command(name, text)

    def call(tool: str, **args) -> Command:
        return Command(name, text, ToolCall(call_id, tool, args))

    if name == "units":
        return call("list_units")
    if name == "hypotheses":
        return call("record_hypotheses", hypotheses=[])     # no update: returns the ledger
    if name == "describe":
        words = rest.split()
        if len(words) != 1:
            raise CommandError(f"usage: {usage}")
        return call("describe_unit", unit=words[0])
    if name == "exemplars":
        words = rest.split()
        image = bool(words) and words[-1] == "image"
        words = words[:-1] if image else words
        if not 1 <= len(words) <= 2:
            raise CommandError(f"usage: {usage}")
        if len(words) == 2 and not words[1].isdigit():
            raise CommandError(f"K must be a number, got {words[1]!r}; usage: {usage}")
        return call("exemplars", unit=words[0], image=image, **({"k": int(words[1])} if len(words) == 2 else {}))
    if name == "call":
        unit, rest = _split(rest, 1, usage)
        return call("call_unit", unit=unit, texts=_texts(rest, usage))
    if name == "synth":
        unit, template = _split(rest, 1, usage)
        slots = {m.group(1): [v.strip() for v in m.group(2).split(",") if v.strip()] for m in _SLOT.finditer(template)}
        if not slots:
            raise CommandError(f"the template has no {{slot=a,b,c}}; usage: {usage}")
        return call("synthesize", unit=unit, template=_SLOT.sub(lambda m: "{" + m.group(1) + "}", template),
                    slots=slots, n=256)
    if name == "edit":
        unit, rest = _split(rest, 1, usage)
        source, sep, swap = rest.rpartition(" | ")
        old, arrow, new = swap.partition("->")
        if not (sep and arrow and old.strip() and new.strip()):
            raise CommandError(f"usage: {usage}")
        return call("edit", unit=unit, text=source.strip(),
                    swaps={old.strip(): [w.strip() for w in new.split(",") if w.strip()]})
    if name == "ablate":
        unit, rest = _split(rest, 1, usage)
        first, _, remainder = rest.partition(" ")
        mode = first if first in ("zero", "mean", "resample") else "zero"
        texts = _texts(remainder if first == mode else rest, usage)
        return call("ablate", unit=unit, texts=texts, mode=mode)
    if name == "patch":
        site, rest = _split(rest, 1, usage)
        prompts = _texts(rest, usage)
        if len(prompts) != 2:
            raise CommandError(f"give a clean and a corrupt prompt separated by ' | '; usage: {usage}")
        return call("patch", clean=prompts[0], corrupt=prompts[1], site=site)
    if name == "steer":
        site, scale, rest = _split(rest, 2, usage)
        try:
            value = float(scale)
        except ValueError:
            raise CommandError(f"SCALE must be a number, got {scale!r}; usage: {usage}") from None
        return call("steer", site=site, scale=value, texts=_texts(rest, usage), max_new_tokens=5)
    if name == "attention":
        head, rest = _split(rest, 1, usage)
        return call("attention", unit=head, text=_texts(rest, usage)[0])
    if name == "fv":
        pairs = []
        for item in rest.split(","):
            x, colon, y = item.partition(":")
            if not (colon and x.strip() and y.strip()):
                raise CommandError(f"pairs are IN:OUT separated by commas, got {item.strip()!r}; usage: {usage}")
            pairs.append([x.strip(), y.strip()])
        return call("function_vector", pairs=pairs, n_shots=min(5, max(1, len(pairs) - 1)))
    raise CommandError(f"usage: {usage}")   # unreachable: every name in COMMANDS is handled above
