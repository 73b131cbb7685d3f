"""Simulation scoring of unit labels (explain-simulate-score, Bills et al. 2023), offline.

A simulator reads only the *description* and predicts, for every token of held-out
excerpts (top-activating and random windows the labeler never saw), how strongly the
unit fires; the score is the Pearson correlation between predicted and true activations
pooled over all those tokens.  Pooling top and random excerpts rewards a description
that says both where the unit fires and where it does not.

The offline simulator is deterministic and lexical: the terms a description names
(quoted words, else its content words; strongest first) predict 1.0 on tokens with the
same lemma, decaying gently with rank; a named WordNet lexname (``noun.animal``)
predicts 0.5 on tokens of that category; ``punctuation`` and ``start of the text`` name
token classes.  Baselines go through the same simulator: a random vocabulary word, and
the most frequent max-activating token of the labeling exemplars.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from agent.labeling import is_punctuation, lemma, lexnames, peak_index, token_word
from tools.exemplars import Exemplar

_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")
_LEXNAME = re.compile(r"\b(noun|verb|adj|adv)\.[a-z_]+\b")
_STOP = frozenset([
    "a", "an", "the", "and", "or", "but", "of", "on", "in", "at", "to", "for", "with", "by", "from",
    "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these",
    "those", "fires", "fire", "firing", "activates", "activate", "activation", "unit", "neuron",
    "words", "word", "tokens", "token", "also", "other", "such", "like", "when", "where", "which",
    "who", "what", "their", "there", "they", "them", "he", "she", "his", "her", "not", "no",
    "strongest", "first", "own", "contexts", "context", "top", "exemplars", "text", "start",
    "mostly", "about", "responds", "respond", "detects", "detect", "strongly", "highly",
    "selective", "related", "mentions", "mention",
])
CATEGORY_WEIGHT = 0.5
CLASS_WEIGHT = 0.5
RANK_DECAY = 0.1


@dataclass(frozen=True)
class SimulationSpec:
    """What a description names, as the simulator understands it."""

    terms: tuple[str, ...]
    categories: tuple[str, ...]
    punctuation: bool
    start: bool


def parse_description(description: str) -> SimulationSpec:
    """Terms (lemmatized), WordNet lexnames and token classes named by a description."""
    if not description or not description.strip():
        raise ValueError("cannot simulate an empty description")
    categories = tuple(m.group(0) for m in _LEXNAME.finditer(description))
    rest = _LEXNAME.sub(" ", description)
    quoted = [a or b for a, b in _QUOTED.findall(rest)]
    if quoted:
        raw = [q.strip().lower() for q in quoted]
    else:
        raw = [w.lower() for w in re.findall(r"[A-Za-z]+", rest) if w.lower() not in _STOP and len(w) > 2]
        if "punctuation" in raw:
            raw.remove("punctuation")
    terms = tuple(dict.fromkeys(lemma(t) for t in raw if t))
    low = description.lower()
    return SimulationSpec(terms, categories, "punctuation" in low, "start of the text" in low)


def simulate(description: str, excerpts: list[list[str]]) -> list[np.ndarray]:
    """Predicted activation of every token of every excerpt (token lists as in the cache)."""
    spec = parse_description(description)
    rank = {t: 1.0 - RANK_DECAY * i for i, t in enumerate(spec.terms)}
    out = []
    for tokens in excerpts:
        pred = np.zeros(len(tokens))
        for i, tok in enumerate(tokens):
            w = token_word(tok)
            if not w:
                continue
            p = rank.get(lemma(w), rank.get(w, 0.0))
            if spec.categories and set(lexnames(w)) & set(spec.categories):
                p = max(p, CATEGORY_WEIGHT)
            if spec.punctuation and is_punctuation(w):
                p = max(p, CLASS_WEIGHT)
            if spec.start and i <= 2:
                p = max(p, CLASS_WEIGHT)
            pred[i] = p
        out.append(pred)
    return out


def simulation_score(description: str, excerpts: list[Exemplar]) -> float:
    """Pooled Pearson r between simulated and true activations (special tokens, NaN, dropped).

    A constant prediction (the description names nothing present) scores 0.
    """
    if not excerpts:
        raise ValueError("simulation scoring needs at least one held-out excerpt")
    preds = simulate(description, [e.tokens for e in excerpts])
    true = np.concatenate([np.asarray(e.values, dtype=float) for e in excerpts])
    pred = np.concatenate(preds)
    keep = ~np.isnan(true)
    true, pred = true[keep], pred[keep]
    if len(true) < 2 or pred.std() == 0 or true.std() == 0:
        return 0.0
    r = float(np.corrcoef(pred, true)[0, 1])
    return 0.0 if math.isnan(r) else r


def top_token_label(exemplars: list[Exemplar]) -> str:
    """Baseline: the most frequent max-activating word of the (labeling) exemplars."""
    counts: Counter = Counter()
    for e in exemplars:
        word = token_word(e.tokens[peak_index(e.values)])
        if word:
            counts[word] += 1
    if not counts:
        raise ValueError("no exemplar has a scorable max token")
    word = counts.most_common(1)[0][0].replace("'", "")
    return f"Fires on the word '{word}'."


def random_label(vocabulary: list[str], seed: int) -> str:
    """Baseline: a random alphabetic vocabulary word (deterministic in ``seed``)."""
    words = sorted({token_word(t) for t in vocabulary if token_word(t).isalpha() and len(token_word(t)) >= 3})
    if not words:
        raise ValueError("the vocabulary has no alphabetic words of 3+ letters")
    return f"Fires on the word '{random.Random(seed).choice(words)}'."


def score_label(description: str, held_out: list[Exemplar], labeling: list[Exemplar],
                vocabulary: list[str], seed: int = 0) -> dict[str, float | str]:
    """Simulation score of a description beside the two baselines, on the same excerpts."""
    rnd, top = random_label(vocabulary, seed), top_token_label(labeling)
    return {"simulation": round(simulation_score(description, held_out), 4),
            "random_baseline": round(simulation_score(rnd, held_out), 4),
            "top_token_baseline": round(simulation_score(top, held_out), 4),
            "random_label": rnd, "top_token_label": top}
