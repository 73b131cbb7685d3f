"""Multiple-choice judges: given only a description, answer FIND's three-way unit tests.

FIND scores a description by letting a judge LLM pick, for each unit test, the input/output pair
(strings, relations) or the word (entities) that the description predicts. `OfflineJudge` does the
same without any LLM, deterministically: it executes descriptions written in the suite's canonical
phrasing (strings), matches relations and exceptions against its own knowledge tables (relations),
and measures concept relatedness (entities). It is weaker than an LLM on free-form prose, so its
calibration (ceiling with ground-truth descriptions, floor with empty ones) is reported beside
every score. `LLMJudge` asks a configured LLM instead.

A judge that cannot read a description answers None ("not judged") instead of guessing: an
unparsed item would otherwise count at chance and make a description the judge cannot read look
like a poor one. Accuracies leave unjudged items out, and the rows count them (`unjudged`). An
empty description is judged, by a deterministic guess: it predicts nothing, so chance is its
honest accuracy (the judge's floor).

The judge of a benchmark never depends on the backend being scored: it is the offline judge
unless `--judge SPEC` names an LLM, so no model grades its own descriptions.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Protocol, Sequence

from agent.registry import complete, register, resolve, retire, via_policy
from find_functions.spec import Category, MultipleChoiceItem
from prompts import render


def chance_choice(description: str, item: MultipleChoiceItem) -> int:
    """A deterministic guess for when a description says nothing usable (scores 1/3 on average)."""
    digest = hashlib.sha256((description + "\x00" + "\x00".join(item.inputs)).encode()).digest()
    return digest[0] % 3


class Judge(Protocol):
    name: str

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int | None:
        """The index of the choice the description predicts; None when the judge cannot tell."""
        ...


@register("judge", "offline")
class OfflineJudge:
    name = "offline"

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int | None:
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
    def _strings(description: str, item: MultipleChoiceItem) -> int | None:
        """Executes a description in the suite's canonical phrasing; None (not judged) for any other."""
        from find_functions.string_description import parse_description
        program = parse_description(description)
        if program is None or item.outputs is None:
            return None
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

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int | None:
        """The LLM's choice; None (not judged) when its reply names none."""
        prompt = render("judge_multiple_choice.j2", category=category, description=description,
                        inputs=item.inputs, outputs=item.outputs)
        reply = self.complete(prompt)
        match = _CHOICE.search(reply or "")
        return int(match.group(1)) - 1 if match else None


retire("judge", "auto", "--judge auto is gone: it let the LLM under test grade its own descriptions; use "
       "--judge offline (the default) or name a judge LLM, e.g. --judge openai:gpt-4o")


@via_policy("judge", llm_only=True)
def _llm_judge(spec: str, **options: object) -> Judge:
    ask = complete(spec, **options)
    system = render("judge_system.j2")
    return LLMJudge(lambda prompt: ask(system, prompt)[0], name=spec)


def make_judge(spec: str) -> Judge:
    """`offline`, or an LLM spec naming the judge LLM (agent.registry resolves it)."""
    return resolve("judge", spec)


def judge_choices(judge: Judge, category: Category, description: str,
                  items: Sequence[MultipleChoiceItem]) -> list[int | None]:
    """The judge's choice for each item (None: it could not tell), in the items' order."""
    if not items:
        raise ValueError("no unit tests to judge")
    return [judge.choose(category, description, it) for it in items]


def accuracy_of(choices: Sequence[int | None], correct: Sequence[int]) -> float | None:
    """The share of judged items answered correctly; None when the judge could judge none."""
    judged = [choice == right for choice, right in zip(choices, correct, strict=True) if choice is not None]
    return sum(judged) / len(judged) if judged else None


def multiple_choice_accuracy(judge: Judge, category: Category, description: str,
                             items: Sequence[MultipleChoiceItem]) -> float | None:
    """The share of judged items answered correctly; None when the judge could judge none."""
    return accuracy_of(judge_choices(judge, category, description, items), [it.correct for it in items])


class TallyingJudge:
    """A judge passed through, counting the items it could not judge (a row's `unjudged`)."""

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.name = judge.name
        self.unjudged = 0

    def choose(self, category: Category, description: str, item: MultipleChoiceItem) -> int | None:
        choice = self.judge.choose(category, description, item)
        self.unjudged += choice is None
        return choice
