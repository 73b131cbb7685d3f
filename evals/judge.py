"""Multiple-choice judges: given only a description, answer FIND's three-way unit tests.

FIND scores a description by letting a judge LLM pick, for each unit test, the input/output pair
(strings, relations) or the word (entities) that the description predicts. `OfflineJudge` does the
same without any LLM, deterministically: it executes descriptions written in the suite's canonical
phrasing (strings), matches relations and exceptions against its own knowledge tables (relations),
and measures concept relatedness (entities). It is weaker than an LLM on free-form prose, so its
calibration (ceiling with ground-truth descriptions, floor with empty ones) is reported beside
every score. `LLMJudge` asks a configured LLM instead.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Protocol, Sequence

from find_functions.spec import Category, MultipleChoiceItem
from prompts import render


def chance_choice(description: str, item: MultipleChoiceItem) -> int:
    """A deterministic guess for when a description says nothing usable (scores 1/3 on average)."""
    digest = hashlib.sha256((description + "\x00" + "\x00".join(item.inputs)).encode()).digest()
    return digest[0] % 3


class Judge(Protocol):
    name: str

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int: ...


class OfflineJudge:
    name = "offline"

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int:
        if not description.strip():
            return chance_choice(description, item)
        if category == "strings":
            return self._strings(description, item)
        if category == "neurons_entities":
            from .offline_judge_entities import choose_entity
            return choose_entity(description, list(item.inputs))
        if category == "neurons_relations":
            from .offline_judge_relations import choose_relation
            return choose_relation(description, list(item.inputs), list(item.outputs or []))
        raise ValueError(f"no multiple-choice unit tests for category {category!r}")

    @staticmethod
    def _strings(description: str, item: MultipleChoiceItem) -> int:
        from find_functions.string_description import parse_description
        program = parse_description(description)
        if program is None or item.outputs is None:
            return chance_choice(description, item)
        agree = []
        for i, (x, y) in enumerate(zip(item.inputs, item.outputs)):
            try:
                if program(x) == y:
                    agree.append(i)
            except Exception:  # a parsed program may not apply to every input; that is a disagreement
                continue
        if len(agree) == 1:
            return agree[0]
        candidates = agree or [0, 1, 2]
        return candidates[chance_choice(description, item) % len(candidates)]


_CHOICE = re.compile(r"\b([123])\b")


class LLMJudge:
    """Asks an LLM (any `complete(prompt) -> text` callable, e.g. from an agent backend)."""

    def __init__(self, complete: Callable[[str], str], name: str = "llm"):
        self.complete = complete
        self.name = name

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int:
        prompt = render("judge_multiple_choice.j2", category=category, description=description,
                        inputs=item.inputs, outputs=item.outputs)
        reply = self.complete(prompt)
        match = _CHOICE.search(reply or "")
        return int(match.group(1)) - 1 if match else chance_choice(description, item)


LLM_BACKENDS = ("openai:", "anthropic:", "openai-compatible:", "local:")


def make_judge(spec: str, backend: str | None = None) -> Judge:
    """`offline`, an LLM backend spec, or `auto`: the run's own LLM when it has one, else offline."""
    if spec == "auto":
        spec = backend if backend and backend.startswith(LLM_BACKENDS) else "offline"
    if spec == "offline":
        return OfflineJudge()
    if not spec.startswith(LLM_BACKENDS):
        raise ValueError(f"--judge {spec!r}: expected offline, auto, or an LLM backend ({', '.join(LLM_BACKENDS)}...)")
    from agent.backends import make_policy
    from agent.backends.base import UserMessage
    from agent.tools_registry import ToolRegistry

    policy = make_policy(spec)
    no_tools = ToolRegistry([])
    system = render("judge_system.j2")

    def complete(prompt: str) -> str:
        return policy.next_turn(system, [UserMessage(text=prompt)], no_tools).text

    return LLMJudge(complete, name=spec)


def multiple_choice_accuracy(judge: Judge, category: Category, description: str,
                             items: Sequence[MultipleChoiceItem]) -> float:
    if not items:
        raise ValueError("no unit tests to judge")
    return sum(judge.choose(category, description, it) == it.correct for it in items) / len(items)
