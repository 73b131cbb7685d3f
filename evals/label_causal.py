"""Causal contrast score of a unit's description (MAIA, Shaham et al. 2024).

Exemplars only show correlation.  A description is a causal claim too: inputs written to
match it should make the unit fire more than inputs that differ only where the
description says it matters.  Each *matched* input is paired with a *control* input, the
unit's peak activation (over non-special tokens, through ``call_unit``) is read on both,
and the score is the share of pairs whose matched input wins (ties count half): the
paired AUROC, 0.5 = chance, 1 = the description always picks the stronger input.

- offline: the description's named terms are put into ``TEMPLATES`` and each is paired
  with the same template holding a *matched control word*: an alphabetic English word of
  similar frequency (Zipf, wordfreq) and length, so the contrast is not just "rare words
  fire more".  Punctuation and numbers get controls of the same class.  The templates
  differ from the builtin labeler's own test frames (agent/labeling/neurons.py), so the labeler
  is not graded on the sentences it already tried.  A description naming no term scores None.
- LLM: the LLM writes ``n`` sentences matching the description, each with a minimal-edit
  control that should not fire.
"""
from __future__ import annotations

import json
import random
import re
from functools import lru_cache

import numpy as np

from evals.label_simulators import LLMClient, ScorerReplyError, parse_description
from tools.activations import call_unit
from tools.models import SubjectModel

TEMPLATES = ("We found {w} in the old report.", "Nobody expected {w} to matter so much.",
             "The next part is about {w}.", "After lunch, {w} came up again.",
             "It was {w}, as far as I remember.", "Here is a short note on {w} from last week.")
#: Matched control sentences per term and template (each with its own control word).
N_CONTROLS = 2
#: At most this many named terms (strongest first) are tested.
MAX_TERMS = 5
#: Pairs the LLM is asked to write.
N_LLM_PAIRS = 8
PUNCT_POOL = (",", ";", ":", "!", "?", "-", "(", ")", "/", "&")
#: Size of wordfreq's most-frequent list that matched control words come from.
CONTROL_VOCAB = 30000


@lru_cache(maxsize=1)
def _control_pool() -> tuple[tuple[str, float], ...]:
    """Common alphabetic English words with their Zipf frequencies."""
    from wordfreq import top_n_list, zipf_frequency
    words = [w for w in top_n_list("en", CONTROL_VOCAB) if w.isascii() and w.isalpha() and len(w) >= 3]
    return tuple((w, zipf_frequency(w, "en")) for w in words)


def matched_controls(word: str, n: int, rng: random.Random, exclude: set[str]) -> list[str]:
    """``n`` control words matched to ``word``: same class (word/punctuation/number) and, for
    words, the nearest Zipf frequency (ties broken by length) among common English words."""
    if re.fullmatch(r"\d+", word):
        return [str(rng.randrange(10 ** (len(word) - 1) if len(word) > 1 else 0, 10 ** len(word)))
                for _ in range(n)]
    if not re.search(r"[A-Za-z]", word):
        pool = [p for p in PUNCT_POOL if p != word and p not in exclude]
        return rng.sample(pool, min(n, len(pool)))
    from wordfreq import zipf_frequency
    parts = word.split()
    if len(parts) > 1:      # a phrase: match each word, keep the shape
        per = [matched_controls(p, n, rng, exclude) for p in parts]
        return [" ".join(ws[i] for ws in per) for i in range(min(map(len, per)))]
    z = zipf_frequency(word, "en")
    near = sorted((abs(zf - z) + 0.05 * abs(len(w) - len(word)), w) for w, zf in _control_pool()
                  if w not in exclude and w != word.lower())
    return rng.sample([w for _, w in near[:max(20, 5 * n)]], n)


def peak(values: "np.ndarray", tokens: list[str], special: set[str]) -> float:
    """The highest activation over non-special tokens ([CLS], BOS... are attention sinks)."""
    vals = [float(v) for v, t in zip(values, tokens) if t not in special]
    if not vals:
        raise ValueError(f"no scorable token in {tokens}")
    return max(vals)


def contrast_score(model: SubjectModel, unit: str, pairs: list[tuple[str, str]]) -> float:
    """Share of (matched, control) pairs whose matched input has the higher peak (ties: half)."""
    if not pairs:
        raise ValueError("the causal contrast needs at least one (matched, control) pair")
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    special = set(model.tokenizer.all_special_tokens)
    acts = {a.text: peak(a.values, a.tokens, special) for a in call_unit(model, unit, texts)}
    wins = [1.0 if acts[m] > acts[c] else 0.5 if acts[m] == acts[c] else 0.0 for m, c in pairs]
    return sum(wins) / len(wins)


def offline_pairs(description: str, seed: int = 0) -> list[tuple[str, str]]:
    """Template sentences holding each named term, each paired with matched-control twins."""
    spec = parse_description(description)
    terms = list(spec.surface[:MAX_TERMS])
    exclude = {t.lower() for t in spec.surface} | set(spec.terms)
    rng = random.Random(seed)
    pairs = []
    for term in terms:
        # A different control word in every pair: the score should not hinge on one draw.
        controls = matched_controls(term, N_CONTROLS * len(TEMPLATES), rng, exclude)
        for i, template in enumerate(TEMPLATES):
            for j in range(N_CONTROLS):
                control = controls[(i * N_CONTROLS + j) % len(controls)]
                pairs.append((template.format(w=term), template.format(w=control)))
    return pairs


def parse_pairs(reply: str, n: int) -> list[tuple[str, str]]:
    """(match, control) pairs from the LLM's JSON list; pairs that are not two different
    non-empty strings are dropped; fewer than half of ``n`` usable is an error."""
    for block in reversed(re.findall(r"\[.*\]", reply, flags=re.S)):
        try:
            items = json.loads(block)
        except json.JSONDecodeError:
            continue
        if not isinstance(items, list):
            continue
        pairs = [(str(it["match"]).strip(), str(it["control"]).strip()) for it in items
                 if isinstance(it, dict) and isinstance(it.get("match"), str) and isinstance(it.get("control"), str)]
        pairs = [(m, c) for m, c in pairs if m and c and m != c]
        if 2 * len(pairs) >= n:
            return pairs
    raise ScorerReplyError(f"expected a JSON list of {n} {{\"match\", \"control\"}} objects, got: {reply[:200]!r}")


def llm_pairs(llm: LLMClient, description: str, n: int = N_LLM_PAIRS) -> list[tuple[str, str]]:
    return parse_pairs(llm.ask("simulate_contrast.j2", description=description, n=n), n)


def causal_contrast(description: str, model: SubjectModel, unit: str, llm: LLMClient | None = None,
                    seed: int = 0) -> float | None:
    """The causal contrast score: LLM-written pairs with ``llm``, else offline template pairs
    (None when the description names no term to put into a sentence)."""
    pairs = llm_pairs(llm, description) if llm is not None else offline_pairs(description, seed)
    return contrast_score(model, unit, pairs) if pairs else None
