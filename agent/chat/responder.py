"""The builtin chat responder: what answers plain-language questions when no LLM is configured.

It is a `Policy` like any LLM backend, so its tool calls run, print and persist exactly as
an LLM's do, but it understands only a few question shapes (found by patterns, not by a
language model): what a unit does (the builtin labeler's investigation, `describe_unit`),
where it fires (`exemplars`), which units exist (`list_units`), and the ledger. Anything
else gets an honest answer naming the slash commands that can help and the backends that
can hold a real conversation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from agent.messages import AssistantTurn, Entry, ToolCall, ToolResult, UserMessage
from agent.tools_registry import ToolRegistry
from prompts import render

_SITE = {"neuron": "mlp", "head": "attn", "dim": "resid", "dimension": "resid"}
_ADDRESS = re.compile(r"layer\.\d+\.(?:mlp|attn|resid)\.(?:neuron|head|dim)\.\d+")
_LAYER_FIRST = re.compile(r"\blayer\s*(\d+)\W{0,3}(?:mlp\s+|attention\s+|residual\s+)?"
                          r"(neuron|head|dimension|dim)\s*#?(\d+)", re.I)
_UNIT_FIRST = re.compile(r"\b(neuron|head|dimension|dim)\s*#?(\d+)\s+(?:in|of|at|on)\s+layer\s*(\d+)", re.I)
_EXEMPLARS = re.compile(r"exemplar|example|top.?activat|where does|when does|which (?:texts|tokens|words)", re.I)
_UNITS = re.compile(r"\b(which|what|list|how many|show)\b.*\b(units|neurons|heads|layers)\b", re.I)
_LEDGER = re.compile(r"hypothes", re.I)

#: The reply to anything the responder cannot answer: what it does understand, and what can do more.
CANNOT = render("chat_builtin_cannot")


@dataclass
class Intent:
    tool: str
    arguments: dict


def find_unit(text: str) -> str | None:
    """A single-unit address in a question: `layer.3.mlp.neuron.5`, `layer 3 neuron 5`, `neuron 5 in layer 3`."""
    m = _ADDRESS.search(text)
    if m:
        return m.group(0)
    m = _LAYER_FIRST.search(text)
    if m:
        site = _SITE[m.group(2).lower()]
        return f"layer.{m.group(1)}.{site}.{'dim' if site == 'resid' else m.group(2).lower()}.{m.group(3)}"
    m = _UNIT_FIRST.search(text)
    if m:
        site = _SITE[m.group(1).lower()]
        return f"layer.{m.group(3)}.{site}.{'dim' if site == 'resid' else m.group(1).lower()}.{m.group(2)}"
    return None


def intent_of(question: str) -> Intent | None:
    """The tool call that answers `question`, or None when the builtin responder cannot."""
    unit = find_unit(question)
    if unit is not None:
        if _EXEMPLARS.search(question):
            return Intent("exemplars", {"unit": unit, "k": 10})
        return Intent("describe_unit", {"unit": unit})
    if _LEDGER.search(question):
        return Intent("record_hypotheses", {"hypotheses": []})
    if _UNITS.search(question):
        return Intent("list_units", {})
    return None


class BuiltinResponder:
    """A Policy: one tool call for a recognised question, then an answer from its result."""

    name = "builtin"
    native_tools = True
    accepts_images = False

    def next_turn(self, system: str, history: list[Entry], tools: ToolRegistry) -> AssistantTurn:
        start = max((i for i, e in enumerate(history) if isinstance(e, UserMessage)), default=-1)
        if start < 0:
            return AssistantTurn(CANNOT)
        question = history[start].text
        results = [e for e in history[start + 1:] if isinstance(e, ToolResult)]
        intent = intent_of(question)
        if intent is None:
            return AssistantTurn(CANNOT)
        if intent.tool not in tools:
            return AssistantTurn(render("chat_builtin_unavailable", tool=intent.tool))
        if not results:
            return AssistantTurn(render("chat_builtin_plan", tool=intent.tool, **intent.arguments),
                                 [ToolCall(f"b{len(history)}", intent.tool, intent.arguments)])
        return AssistantTurn(answer_from(intent, results[-1]))


def answer_from(intent: Intent, result: ToolResult) -> str:
    """The answer to the question, from the one tool result (its data where there is some)."""
    if result.is_error:
        return render("chat_builtin_failed", error=result.text)
    data = result.data if isinstance(result.data, dict) else {}
    if intent.tool == "describe_unit" and data:
        return render("chat_builtin_answer", tool=intent.tool, unit=data["unit"], label=data["label"],
                      description=data["description"], n_evidence=len(data["evidence"]))
    if intent.tool == "exemplars" and data.get("exemplars"):
        peaks: Counter = Counter()
        for e in data["exemplars"]:
            finite = [(v, t) for t, v in zip(e.tokens, e.values) if not math.isnan(v)]
            if finite:
                peaks[max(finite)[1].replace("##", "").replace("Ġ", "").strip().lower()] += 1
        common = ", ".join(f"'{t}' ({n})" for t, n in peaks.most_common(5))
        return render("chat_builtin_answer", tool=intent.tool, unit=data["unit"], n_exemplars=len(data["exemplars"]),
                      common=common)
    if intent.tool == "list_units":
        return render("chat_builtin_answer", tool=intent.tool, summary=result.text.splitlines()[0])
    return result.text
