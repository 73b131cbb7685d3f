"""The text protocol for models without native tool calling (local models, bare OpenAI-style servers).

Actions are written in the reply: `COMMAND: tool(args)` in Python call syntax, FIND's
`COMMAND: PYTHON(./temp/function.py 1 2 3)`, a fenced python block (run with run_python), or a
final answer in FIND's `[DESCRIPTION]: ... [DOMAIN]: ... [CODE]: ...` format (becomes `submit`).
Parsing never raises: an unreadable command becomes a `ToolCall` with `error` set, a reply with
no action an empty list; the loop turns both into error observations for the model to correct.
"""

from __future__ import annotations

import ast
import re
import shlex

from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.tools_registry import ToolRegistry
from prompts import render

_FIELD = re.compile(r"\[(DESCRIPTION|DOMAIN|CODE|LABEL)\]\s*:?", re.IGNORECASE)
_COMMAND = re.compile(r"COMMAND\s*:\s*", re.IGNORECASE)
# An unclosed fence runs to the end of the reply (small models hit max_new_tokens mid-block).
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf", re.IGNORECASE)


def parse_reply(text: str, tools: ToolRegistry, call_prefix: str = "c") -> list[ToolCall]:
    """Read the actions in one model reply (none found: empty list). A final answer comes first."""
    ids = (f"{call_prefix}-{i}" for i in range(1_000_000))
    if _FIELD.search(text) and re.search(r"\[DESCRIPTION\]", text, re.IGNORECASE):
        return [ToolCall(next(ids), "submit", _parse_final(text))]
    calls = []
    starts = [m.end() for m in _COMMAND.finditer(text)]
    for start in starts:
        name, args, error = _parse_command(text[start:], tools)
        calls.append(ToolCall(next(ids), name, args, error))
    blocks = _FENCE.findall(text)
    if not calls and blocks and "run_python" in tools:
        calls.append(ToolCall(next(ids), "run_python", {"code": blocks[-1].strip()}))
    return calls


def _parse_final(text: str) -> dict:
    """FIND's answer fields -> submit arguments. Bad fields are passed on for submit to reject."""
    marks = list(_FIELD.finditer(text))
    fields = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        fields[m.group(1).lower()] = text[m.end() : nxt.start() if nxt else len(text)].strip()
    args: dict = {"description": fields.get("description", "")}
    if fields.get("code"):
        blocks = _FENCE.findall(fields["code"] + ("\n" if not fields["code"].endswith("\n") else ""))
        args["code"] = (blocks[0] if blocks else fields["code"].strip("`")).strip()
    domain = fields.get("domain", "")
    numbers = _NUMBER.findall(domain)
    if numbers:
        args["domain"] = [float(x) for x in numbers]
    if fields.get("label"):
        args["label"] = fields["label"].splitlines()[0].strip()
    return args


def _parse_command(rest: str, tools: ToolRegistry) -> tuple[str, dict, str | None]:
    """Parse the text after `COMMAND:`: the shortest prefix ending in `)` that is valid Python."""
    find = re.match(r"PYTHON\s*\((.*?)\)\s*$", rest.splitlines()[0] if rest.strip() else "", re.IGNORECASE)
    if find:
        words = find.group(1).split(None, 1)
        try:
            inputs = [_literal_or_text(w) for w in shlex.split(words[1])] if len(words) > 1 else []
        except ValueError as e:
            return "call_function", {}, f"could not split the inputs of PYTHON(...): {e}"
        return "call_function", {"inputs": inputs}, None
    # The call ends at some closing parenthesis; text after it (a remark, a backtick) is not part of it.
    closes = [i for i, ch in enumerate(rest) if ch == ")"][:500]
    for end in closes:
        try:
            node = ast.parse(rest[: end + 1].strip().strip("`"), mode="eval").body
        except SyntaxError:
            continue
        return _call_arguments(node, tools)
    lines = rest.splitlines()
    head = lines[0].strip() if lines else ""
    named = re.match(r"[A-Za-z_]\w*", head)
    return (named.group(0) if named else "?"), {}, f"could not parse `{head[:80]}` as a call like tool_name(arg=value)"


def _call_arguments(node: ast.AST, tools: ToolRegistry) -> tuple[str, dict, str | None]:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return "?", {}, "a command must be a single call like tool_name(arg=value)"
    name = node.func.id
    if name not in tools:
        return name, {}, f"unknown tool '{name}'; available: {', '.join(tools.names())}"
    params = [p.name for p in tools.tools[name].params]
    try:
        if len(node.args) > len(params):
            return name, {}, f"{name} takes at most {len(params)} positional argument(s)"
        args = {p: ast.literal_eval(a) for p, a in zip(params, node.args)}
        args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
    except (ValueError, SyntaxError) as e:
        return name, {}, f"arguments must be literals (numbers, strings, lists): {e}"
    return name, args, None


def _literal_or_text(word: str):
    try:
        return float(word)
    except ValueError:
        return word


def chat_messages(system: str, history: list[Entry]) -> list[dict]:
    """The history as plain chat messages (role/content strings) for text-protocol models.

    Consecutive observations are merged into one user message, so roles alternate as chat
    templates expect.
    """
    messages = [{"role": "system", "content": system}]
    pending: list[ToolResult] = []

    def push(role: str, content: str) -> None:
        if messages[-1]["role"] == role and role == "user":
            messages[-1]["content"] += "\n\n" + content
        else:
            messages.append({"role": role, "content": content})

    def flush() -> None:
        if pending:
            push("user", render("observation", results=pending))
            pending.clear()

    for e in history:
        if isinstance(e, ToolResult):
            pending.append(e)
            continue
        flush()
        if isinstance(e, UserMessage):
            push("user", e.text)
        elif isinstance(e, AssistantTurn):
            push("assistant", e.text)
    flush()
    return messages
