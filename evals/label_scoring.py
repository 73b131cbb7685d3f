"""Scoring unit labels: four scores of one description, beside two baseline descriptions.

Every score reads only the *description* and exemplars the labeler never saw (held-out
top-activating windows and random windows), or fresh inputs run through the unit:

- ``simulation`` (Bills et al. 2023): a simulator predicts each held-out token's
  activation from the description; Pearson r with the true activations, pooled over top
  and random excerpts (so saying where the unit does *not* fire counts too);
- ``detection`` and ``fuzzing`` (Delphi): balanced accuracy of telling top from random
  excerpts, and correct from random token highlightings (evals/label_detection.py);
- ``causal_contrast`` (MAIA): inputs matching the description vs matched controls, run
  through the unit (evals/label_causal.py).

The simulator decides offline vs LLM for all four (evals/label_simulators.py).  Baselines
go through the very same scorers: a random vocabulary word, and the most frequent
max-activating whole word of the labeling exemplars; a label is worth something only when it
beats both.  Everything is deterministic given the seed (and, with an LLM, its replies).
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Any

from agent.labeling.neurons import peak_word, token_word
from agent.labeling.simulate import pooled_correlation
from evals.label_causal import causal_contrast
from evals.label_detection import detection_score, fuzzing_score
from evals.label_simulators import OfflineSimulator, Simulator
from tools.exemplars import Exemplar
from tools.models import SubjectModel
from tools.words import CONTINUATION, SPACE_MARKS, is_bpe

SCORES = ("simulation", "detection", "fuzzing", "causal_contrast")


def simulation_score(description: str, excerpts: list[Exemplar], simulator: Simulator | None = None) -> float:
    """Pooled Pearson r between simulated and true activations (special tokens, NaN, dropped).

    A constant prediction (the description names nothing present) scores 0.
    """
    if not excerpts:
        raise ValueError("simulation scoring needs at least one held-out excerpt")
    simulator = simulator or OfflineSimulator()
    preds = simulator.simulate(description, [e.tokens for e in excerpts])
    try:
        return pooled_correlation(preds, [e.values for e in excerpts])
    except ValueError as e:
        raise ValueError(f"{simulator.name} returned {e}") from None


def top_token_label(exemplars: list[Exemplar]) -> str:
    """Baseline: the most frequent max-activating whole word of the (labeling) exemplars."""
    counts: Counter = Counter()
    for e in exemplars:
        peak = peak_word(e)
        if peak is not None and peak.text:
            counts[peak.text] += 1
    if not counts:
        raise ValueError("no exemplar has a scorable max token")
    word = counts.most_common(1)[0][0]
    quote = '"' if "'" in word else "'"      # an apostrophe token stays quotable
    return f"Fires on the word {quote}{word.replace(quote, '')}{quote}."


def random_label(vocabulary: list[str], seed: int) -> str:
    """Baseline: a random alphabetic vocabulary word (deterministic in ``seed``).

    Only word-initial pieces are drawn (not WordPiece ``##`` continuations; BPE pieces with a
    space mark), since labels name whole words.
    """
    bpe = is_bpe(vocabulary)
    starts = [t for t in vocabulary if (t.startswith(SPACE_MARKS) if bpe else not t.startswith(CONTINUATION))]
    words = sorted({token_word(t) for t in starts if token_word(t).isalpha() and len(token_word(t)) >= 3})
    if not words:
        raise ValueError("the vocabulary has no alphabetic words of 3+ letters")
    return f"Fires on the word '{random.Random(seed).choice(words)}'."


def score_description(description: str, *, model: SubjectModel, unit: str, held_top: list[Exemplar],
                      held_random: list[Exemplar], simulator: Simulator, seed: int) -> dict[str, float | None]:
    """The four scores of one description (``SCORES``), rounded to 4 places; None where a
    score does not apply (no random excerpts for detection, no hot token to highlight for
    fuzzing, no term to write a sentence with for the offline causal contrast)."""
    if not held_top:
        raise ValueError(f"{unit}: scoring needs held-out top exemplars; got none")
    scores: dict[str, float | None] = {
        "simulation": simulation_score(description, held_top + held_random, simulator),
        "detection": detection_score(description, held_top, held_random, simulator, seed),
        "fuzzing": fuzzing_score(description, held_top, simulator, seed),
        "causal_contrast": causal_contrast(description, model, unit, simulator.llm, seed),
    }
    return {k: None if v is None else round(v, 4) for k, v in scores.items()}


def score_with_baselines(description: str, *, model: SubjectModel, unit: str, held_top: list[Exemplar],
                         held_random: list[Exemplar], seen: list[Exemplar], vocab: list[str],
                         simulator: Simulator, seed: int) -> dict[str, Any]:
    """Scores of ``description`` and of the two baselines, through the same scorers and excerpts.

    ``seen`` are the labeling exemplars (the top-token baseline reads them, as the labeler
    did); ``vocab`` the subject's token vocabulary (the random baseline draws from it).
    """
    kw: dict[str, Any] = {"model": model, "unit": unit, "held_top": held_top, "held_random": held_random,
                          "simulator": simulator, "seed": seed}
    baselines = {"random": random_label(vocab, seed), "top_token": top_token_label(seen)}
    return {"scores": score_description(description, **kw),
            "baselines": {name: {"label": label, "scores": score_description(label, **kw)}
                          for name, label in baselines.items()}}
