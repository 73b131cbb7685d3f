"""Inputs an investigator writes: template fills, word swaps, removals, LLM-written text.

Editing is how exogenous variation is made: remove one object from a scene description,
swap one word, and see what the unit does (``measure_edits``).  Everything here is
deterministic given a seed, except LLM-written inputs, which go through a hook the
caller supplies (``LLMHook``: prompt in, text out) so that the tools never depend on an
LLM client.
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from prompts import render

if TYPE_CHECKING:
    from tools.models import SubjectModel

LLMHook = Callable[[str], str]
_SENT = re.compile(r"(?<=[.!?])\s+")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass
class Edit:
    original: str
    edited: str
    change: str            # what was done, e.g. "removed sentence 2: 'A dog barks.'"


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENT.split(text.strip()) if s]


def fill_template(template: str, slots: dict[str, list[str]], n: int | None = None,
                  seed: int = 0) -> list[str]:
    """Every combination of slot values (or ``n`` of them, sampled without replacement)."""
    names = _SLOT.findall(template)
    missing = sorted(set(names) - set(slots))
    if missing:
        raise ValueError(f"template slots {missing} have no values; given {sorted(slots)}")
    keys = sorted(set(names))
    combos = list(itertools.product(*(slots[k] for k in keys)))
    if n is not None and n < len(combos):
        combos = random.Random(seed).sample(combos, n)
    return [template.format(**dict(zip(keys, c))) for c in combos]


def synthesize_inputs(template: str | None = None, slots: dict[str, list[str]] | None = None,
                      description: str | None = None, n: int = 10, llm: LLMHook | None = None,
                      seed: int = 0) -> list[str]:
    """Template fills (``template`` + ``slots``) or, with ``description`` and an ``llm``
    hook, ``n`` LLM-written inputs (one per line of its answer)."""
    if template is not None:
        return fill_template(template, slots or {}, n, seed)
    if description is None:
        raise ValueError("give a template with slots, or a description (with an llm hook)")
    if llm is None:
        raise ValueError("LLM-written inputs need an llm hook (a callable prompt -> text); "
                         "none is configured")
    prompt = render("inputs_write", n=n, description=description)
    lines = [re.sub(r"^\s*(\d+[.)]|[-*])\s*", "", ln).strip() for ln in llm(prompt).splitlines()]
    return [ln for ln in lines if ln][:n]


def swap_word(text: str, old: str, new: str) -> str:
    """Replace whole-word occurrences of ``old`` (case-sensitive); error if absent."""
    pattern = re.compile(rf"\b{re.escape(old)}\b")
    if not pattern.search(text):
        raise ValueError(f"word {old!r} not in {text!r}")
    return pattern.sub(new, text)


def edit_inputs(text: str, swaps: dict[str, list[str]] | None = None,
                remove_sentences: bool = False, remove_words: list[str] | None = None,
                instruction: str | None = None, llm: LLMHook | None = None) -> list[Edit]:
    """Minimal edits of one text, each a controlled change:

    - ``swaps``: ``{"cat": ["dog", "bird"]}`` -> one edit per replacement word;
    - ``remove_sentences``: one edit per sentence, with that sentence removed;
    - ``remove_words``: one edit per listed word, every occurrence removed;
    - ``instruction`` (needs ``llm``): one LLM-rewritten version following the instruction.
    """
    edits: list[Edit] = []
    for old, news in (swaps or {}).items():
        edits += [Edit(text, swap_word(text, old, new), f"swapped {old!r} -> {new!r}") for new in news]
    if remove_sentences:
        sents = split_sentences(text)
        for i, s in enumerate(sents):
            edits.append(Edit(text, " ".join(sents[:i] + sents[i + 1:]), f"removed sentence {i}: {s!r}"))
    for word in remove_words or []:
        edited = re.sub(r"\s{2,}", " ", re.sub(rf"\b{re.escape(word)}\b", "", text)).strip()
        if edited == text:
            raise ValueError(f"word {word!r} not in {text!r}")
        edits.append(Edit(text, edited, f"removed word {word!r}"))
    if instruction is not None:
        if llm is None:
            raise ValueError("an instruction edit needs an llm hook; none is configured")
        out = llm(render("inputs_rewrite", instruction=instruction, text=text)).strip()
        edits.append(Edit(text, out, f"llm: {instruction}"))
    if not edits:
        raise ValueError("no edit requested: give swaps, remove_sentences, remove_words or instruction")
    return edits


@dataclass
class EditEffect:
    edit: Edit
    before: float          # the unit's max activation over tokens, original text
    after: float           # same, edited text

    @property
    def delta(self) -> float:
        return self.after - self.before


def measure_edits(model: "SubjectModel", unit: str, edits: list[Edit]) -> list[EditEffect]:
    """How a single unit's peak activation changes under each edit."""
    from tools.activations import call_unit
    texts = sorted({e.original for e in edits} | {e.edited for e in edits})
    peak = {a.text: float(a.values.max()) for a in call_unit(model, unit, texts)}
    return [EditEffect(e, peak[e.original], peak[e.edited]) for e in edits]
