"""Detection and fuzzing scores of a unit's description (Delphi, Paulo et al. 2024).

Both are classification tasks graded by balanced accuracy (0.5 = chance, 1 = perfect),
which keeps them fair when the two classes differ in size:

- **detection**: given the description, tell the held-out top-activating excerpts from
  the held-out random ones.  A description that names what the unit fires on, and not
  something every text contains, separates them.
- **fuzzing**: the held-out top excerpts are shown twice, once with their truly hot tokens
  highlighted and once with as many other tokens highlighted at random; tell the correct
  highlighting from the wrong one.  This checks the description pins down *which tokens*
  fire, not only which texts.

With an LLM (``simulator.llm``) one prompt per task asks for a 0/1 answer per excerpt.
Offline, the answers are derived from the simulator's per-token predictions by a fixed
rule: an excerpt is "activating" when its highest predicted token reaches
``THRESHOLD``; a highlighting is "correct" when the *mean* prediction over the
highlighted tokens reaches ``THRESHOLD`` (so naming one of three hot tokens is not enough).
"""
from __future__ import annotations

import json
import math
import random
import re

import numpy as np

from evals.label_simulators import LLMClient, ScorerReplyError, Simulator
from tools.exemplars import Exemplar
from tools.words import join_pieces

#: Offline decision threshold on simulated activations in [0, 1]: the lexical simulator
#: gives 1.0 (decaying 0.1 per rank) to named words and 0.5 to named categories/classes.
THRESHOLD = 0.5
#: A token is hot when it reaches this fraction of its excerpt's max (agent/labeling/neurons.py's rule).
HOT_FRACTION = 0.5
#: At most this many hot tokens are highlighted per excerpt (the strongest).
MAX_HIGHLIGHT = 3


def balanced_accuracy(truth: list[bool], guess: list[bool]) -> float | None:
    """Mean of the true-positive and true-negative rates; None without both classes."""
    if len(truth) != len(guess):
        raise ValueError(f"{len(truth)} labels but {len(guess)} guesses")
    pos = [g for t, g in zip(truth, guess) if t]
    neg = [not g for t, g in zip(truth, guess) if not t]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(neg) / len(neg)) / 2


def render_excerpt(e: Exemplar, highlight: set[int] = frozenset()) -> str:
    """The excerpt as text (special tokens dropped, word pieces joined), ``<<marked>>`` tokens."""
    keep = [i for i, v in enumerate(e.values) if not math.isnan(v)]
    return join_pieces(e.tokens, keep, marked=highlight)


def parse_binary(reply: str, n: int) -> list[bool]:
    """``n`` yes/no answers: a JSON list of 0/1 (or true/false) anywhere in the reply, else
    ``n`` lines each holding one answer (``1``, ``yes``, ``Excerpt 3: no``)."""
    for block in reversed(re.findall(r"\[[^\[\]]*\]", reply)):
        try:
            vals = json.loads(block.lower())
        except json.JSONDecodeError:
            continue
        if isinstance(vals, list) and len(vals) == n and all(v in (0, 1, True, False) for v in vals):
            return [bool(v) for v in vals]
    answers = []
    for line in reply.lower().splitlines():
        words = re.findall(r"\b(yes|no|true|false|[01])\b", line.split(":", 1)[-1])
        if words:
            answers.append(words[-1] in ("yes", "true", "1"))
    if len(answers) == n:
        return answers
    raise ScorerReplyError(f"expected {n} answers (a JSON list of {n} zeros and ones), got: {reply[:200]!r}")


def _max_pred(preds: list[float], e: Exemplar) -> float:
    vals = [p for p, v in zip(preds, e.values) if not math.isnan(v)]
    return max(vals, default=0.0)


def _ask_binary(llm: LLMClient, template: str, description: str, texts: list[str]) -> list[bool]:
    """One request listing every excerpt (JSON-quoted, one per line); one 0/1 per excerpt back."""
    quoted = [json.dumps(t, ensure_ascii=False) for t in texts]
    return parse_binary(llm.ask(template, description=description, excerpts=quoted), len(texts))


def detection_score(description: str, held_top: list[Exemplar], held_random: list[Exemplar],
                    simulator: Simulator, seed: int = 0) -> float | None:
    """Balanced accuracy of telling held-out top excerpts from random ones (None without both)."""
    if not held_top or not held_random:
        return None
    items = [(e, True) for e in held_top] + [(e, False) for e in held_random]
    random.Random(seed).shuffle(items)      # the LLM must not learn "top ones come first"
    truth = [t for _, t in items]
    if simulator.llm is not None:
        guess = _ask_binary(simulator.llm, "detect_activating.j2", description,
                            [render_excerpt(e) for e, _ in items])
    else:
        preds = simulator.simulate(description, [e.tokens for e, _ in items])
        guess = [_max_pred(p, e) >= THRESHOLD for p, (e, _) in zip(preds, items)]
    return balanced_accuracy(truth, guess)


def highlights(e: Exemplar, rng: random.Random) -> tuple[set[int], set[int]] | None:
    """(truly hot positions, as many random non-hot positions) of a top excerpt, or None when
    the excerpt has no positive peak or too few cold tokens to fake a highlighting."""
    vals = np.array([float("-inf") if math.isnan(v) else v for v in e.values])
    peak = vals.max(initial=float("-inf"))
    if not np.isfinite(peak) or peak <= 0:
        return None
    order = [int(i) for i in np.argsort(-vals, kind="stable")]
    hot = [i for i in order if vals[i] >= HOT_FRACTION * peak][:MAX_HIGHLIGHT]
    cold = [i for i in range(len(vals)) if np.isfinite(vals[i]) and vals[i] < HOT_FRACTION * peak]
    if len(cold) < len(hot):
        return None
    return set(hot), set(rng.sample(cold, len(hot)))


def fuzzing_score(description: str, held_top: list[Exemplar], simulator: Simulator,
                  seed: int = 0) -> float | None:
    """Balanced accuracy of telling correct from random highlightings of held-out top excerpts."""
    rng = random.Random(seed)
    items: list[tuple[Exemplar, set[int], bool]] = []
    for e in held_top:
        marks = highlights(e, rng)
        if marks is not None:
            items += [(e, marks[0], True), (e, marks[1], False)]
    if not items:
        return None
    rng.shuffle(items)
    truth = [t for _, _, t in items]
    if simulator.llm is not None:
        guess = _ask_binary(simulator.llm, "detect_fuzzing.j2", description,
                            [render_excerpt(e, marks) for e, marks, _ in items])
    else:
        excerpts = list({id(e): e for e, _, _ in items}.values())
        preds = dict(zip(map(id, excerpts), simulator.simulate(description, [e.tokens for e in excerpts])))
        guess = [float(np.mean([preds[id(e)][i] for i in marks])) >= THRESHOLD for e, marks, _ in items]
    return balanced_accuracy(truth, guess)
