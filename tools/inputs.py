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
_PUNCT = ".,;:!?\"'()[]{}<>-"


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
    return [f.text for f in fill_template_spans(template, slots, n, seed)]


@dataclass
class Filled:
    """One filled template and where each slot's value landed: ``spans[name]`` are the
    ``(start, end)`` character spans of that slot's fills (a slot may occur twice)."""

    text: str
    spans: dict[str, list[tuple[int, int]]]


def fill_template_spans(template: str, slots: dict[str, list[str]], n: int | None = None,
                        seed: int = 0) -> list[Filled]:
    """``fill_template`` with the character span of every slot fill (same texts, same order)."""
    names = _SLOT.findall(template)
    missing = sorted(set(names) - set(slots))
    if missing:
        raise ValueError(f"template slots {missing} have no values; given {sorted(slots)}")
    keys = sorted(set(names))
    combos = list(itertools.product(*(slots[k] for k in keys)))
    if n is not None and n < len(combos):
        combos = random.Random(seed).sample(combos, n)
    out = []
    for combo in combos:
        values = dict(zip(keys, combo))
        text, spans, last = "", {k: [] for k in keys}, 0
        for m in _SLOT.finditer(template):
            text += template[last:m.start()].replace("{{", "{").replace("}}", "}")
            value = str(values[m.group(1)])
            spans[m.group(1)].append((len(text), len(text) + len(value)))
            text += value
            last = m.end()
        text += template[last:].replace("{{", "{").replace("}}", "}")
        out.append(Filled(text, spans))
    return out


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


def word_pattern(text: str, word: str) -> "re.Pattern[str] | None":
    """A pattern matching ``word`` as a whole word of ``text`` (case-sensitive): not inside a
    longer word, whatever punctuation surrounds it.  A word given with punctuation around it
    ('river.', '"bank') that does not occur as given is tried without that punctuation.
    None when neither occurs."""
    for w in dict.fromkeys([word, word.strip(_PUNCT)]):
        if not w.strip():
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(w)}(?!\w)")
        if pattern.search(text):
            return pattern
    return None


def swap_word(text: str, old: str, new: str) -> str:
    """Replace whole-word occurrences of ``old`` (case-sensitive); error if absent."""
    pattern = word_pattern(text, old)
    if pattern is None:
        raise ValueError(f"word {old!r} not in {text!r}")
    return pattern.sub(new, text)


def edit_inputs(text: str, swaps: dict[str, list[str]] | None = None,
                remove_sentences: bool = False, remove_words: list[str] | None = None,
                instruction: str | None = None, llm: LLMHook | None = None,
                skipped: list[str] | None = None) -> list[Edit]:
    """Minimal edits of one text, each a controlled change:

    - ``swaps``: ``{"cat": ["dog", "bird"]}`` -> one edit per replacement word;
    - ``remove_sentences``: one edit per sentence, with that sentence removed;
    - ``remove_words``: one edit per listed word, every occurrence removed;
    - ``instruction`` (needs ``llm``): one LLM-rewritten version following the instruction.

    Words match whole words (``word_pattern``).  With a ``skipped`` list, an edit whose word
    is not in the text is left out and the reason appended there, instead of raising; an error
    is raised only when no edit at all is left.
    """
    edits: list[Edit] = []

    def missing(word: str, what: str) -> None:
        reason = f"{what}: word {word!r} not in {text!r}"
        if skipped is None:
            raise ValueError(f"word {word!r} not in {text!r}")
        skipped.append(reason)

    for old, news in (swaps or {}).items():
        pattern = word_pattern(text, old)
        if pattern is None:
            missing(old, f"swap {old!r} -> {', '.join(map(repr, news))}")
            continue
        edits += [Edit(text, pattern.sub(new, text), f"swapped {old!r} -> {new!r}") for new in news]
    if remove_sentences:
        sents = split_sentences(text)
        for i, s in enumerate(sents):
            edits.append(Edit(text, " ".join(sents[:i] + sents[i + 1:]), f"removed sentence {i}: {s!r}"))
    for word in remove_words or []:
        pattern = word_pattern(text, word)
        if pattern is None:
            missing(word, f"remove {word!r}")
            continue
        edited = re.sub(r"\s{2,}", " ", pattern.sub("", text)).strip()
        edits.append(Edit(text, edited, f"removed word {word!r}"))
    if instruction is not None:
        if llm is None:
            raise ValueError("an instruction edit needs an llm hook; none is configured")
        out = llm(render("inputs_rewrite", instruction=instruction, text=text)).strip()
        edits.append(Edit(text, out, f"llm: {instruction}"))
    if not edits:
        if skipped:
            raise ValueError("no edit could be made: " + "; ".join(skipped))
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
