"""The offline lexical simulator's core: from a unit's description alone, predict its activation
on every token (see evals/label_simulators.py, whose ``OfflineSimulator`` wraps it).

It lives in agent/ so that the labeling tools (``submit_label``'s check on the labeling
split) run the very simulator the scorer runs; evals imports it from here.

The terms a description names (quoted words, else its content words; strongest first)
predict 1.0 on the whole words (``tools.words``) with the same lemma (on the last piece;
earlier pieces get half), decaying gently with rank; a named WordNet lexname
(``noun.animal``) predicts 0.5 on words of that category; ``punctuation`` and ``start of
the text`` name token classes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from agent.labeling.neurons import is_punctuation, lemma, lexnames, token_word
from tools.words import words_of

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
#: Share of a named word's prediction on its pieces before the last.  Measured on 20 SmolLM2
#: layer-3 neurons, whose activations peak on a word's last piece: simulation 0.249 with
#: every piece at full weight, 0.276 at half (MiniLM neurons: 0.305 vs 0.304).
EARLY_PIECE_WEIGHT = 0.5


@dataclass(frozen=True)
class SimulationSpec:
    """What a description names, as the offline simulator understands it."""

    terms: tuple[str, ...]          # lemmas, strongest first (what the simulator matches)
    categories: tuple[str, ...]
    punctuation: bool
    start: bool
    surface: tuple[str, ...] = ()   # the named terms as written (what the causal contrast types)


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
    raw = [t for t in raw if t]
    terms = tuple(dict.fromkeys(lemma(t) for t in raw))
    low = description.lower()
    return SimulationSpec(terms, categories, "punctuation" in low, "start of the text" in low,
                          tuple(dict.fromkeys(raw)))


def lexical_simulate(description: str, excerpts: list[list[str]]) -> list[np.ndarray]:
    """The offline simulator's per-token predictions (token lists as in the exemplar cache).

    Tokens are read as whole words (``tools.words``): every piece of a named word is
    predicted, as a unit that fires on the word fires on some piece of it; the last piece
    gets the word's full prediction (only there has a left-to-right model read the whole
    word) and earlier pieces ``EARLY_PIECE_WEIGHT`` of it.  A named piece ('ing') still
    predicts fully on that piece alone, for descriptions that quote one.
    """
    spec = parse_description(description)
    rank = {t: 1.0 - RANK_DECAY * i for i, t in enumerate(spec.terms)}
    categories = set(spec.categories)

    def named(text: str) -> float:
        return rank.get(lemma(text), rank.get(text, 0.0)) if text else 0.0

    out = []
    for tokens in excerpts:
        pred = np.zeros(len(tokens))
        for start, end, word in words_of(tokens):
            p = named(word)
            if categories and set(lexnames(word)) & categories:
                p = max(p, CATEGORY_WEIGHT)
            if spec.punctuation and is_punctuation(word):
                p = max(p, CLASS_WEIGHT)
            for i in range(start, end):
                q = p if i == end - 1 else EARLY_PIECE_WEIGHT * p
                if end - start > 1:
                    q = max(q, named(token_word(tokens[i])))
                if spec.start and i <= 2:
                    q = max(q, CLASS_WEIGHT)
                pred[i] = max(0.0, q)
        out.append(pred)
    return out


def pooled_correlation(predictions: list, values: list) -> float:
    """Pooled Pearson r between per-token predictions and true activations (NaN tokens
    dropped); 0 when either side is constant or there are fewer than two tokens."""
    true = np.concatenate([np.asarray(v, dtype=float) for v in values]) if values else np.zeros(0)
    pred = np.concatenate([np.asarray(p, dtype=float) for p in predictions]) if predictions else np.zeros(0)
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predictions for {len(true)} tokens")
    keep = ~np.isnan(true)
    true, pred = true[keep], pred[keep]
    if len(true) < 2 or pred.std() == 0 or true.std() == 0:
        return 0.0
    r = float(np.corrcoef(pred, true)[0, 1])
    return 0.0 if math.isnan(r) else r
