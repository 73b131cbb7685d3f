"""The builtin head labeler: what an attention head does, from experiments of its own.

It runs the two tests that define the classic copying circuit (Olsson et al. 2022) on
sequences it synthesizes, random words repeated once (``w1 .. wn w1 .. wn``), where
copying is the only way to predict the second half:

- does the head attend to the previous token (a *previous-token* head)?
- does it attend to the token that followed the current token's previous occurrence
  (an *induction* head)?
- and, for a head whose pattern says yes, does mean-ablating it raise the loss on those
  sequences (does the model rely on it)?

A head passing a pattern test and the ablation test gets that role; any other head is
``other``, described by its dominant pattern (first-token sink, current token, the
previous occurrence of the same token, or spread).  Every hypothesis and experiment goes
into a Notebook streamed to the transcript, so the record reads like any investigation.
It works on any causal LM the toolkit loads (on a real model most heads are ``other``);
it never sees ground-truth roles.

``role_from_text`` reads the role back out of any label or description, this labeler's
or an LLM's, for head-role accuracy (``evals.head_roles``).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from agent.builtin.findings import Notebook
from agent.labeling.neurons import UnitLabel, run_notebook
from agent.labeling.settings import HeadLabelerSettings
from tools.activations import eager_attention
from tools.interventions import ablate
from tools.models import SubjectModel
from tools.units import parse_unit, validate

ROLES = ("previous-token", "induction", "other")
#: The labeler's thresholds and probe sizes when a caller names none (a label run passes its own
#: and records them).
DEFAULTS = HeadLabelerSettings()


# ----------------------------------------------------------------------------- probes

def word_pool(tokenizer, limit: int = DEFAULTS.word_pool) -> list[str]:
    """Whole-word tokens of the vocabulary, most frequent first where ids follow merge order.

    Words are taken from word-start tokens (``Ġ``/``▁`` marks for BPE and SentencePiece,
    non-``##`` pieces for WordPiece, every token for a word-level vocabulary) so that a
    space-joined text of them tokenizes back to one token per word, mostly.
    """
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    special = set(tokenizer.all_special_ids)
    marked = [(t, i) for t, i in vocab if t.startswith(("Ġ", "▁"))]
    if len(marked) > len(vocab) // 4:
        pieces = [(t[1:], i) for t, i in marked]
    else:
        pieces = [(t, i) for t, i in vocab if not t.startswith("##")]
    words = [w for w, i in pieces if i not in special and 2 <= len(w) <= 12 and w[0].isalpha() and w.isalnum()]
    return list(dict.fromkeys(words))[:limit]


def repeated_texts(tokenizer, n_seqs: int = DEFAULTS.n_seqs, half: int = DEFAULTS.half, seed: int = DEFAULTS.seed,
                   pool_size: int = DEFAULTS.word_pool) -> list[str]:
    """``n_seqs`` texts of ``half`` distinct random words, then the same words again."""
    pool = word_pool(tokenizer, pool_size)
    if len(pool) < half:
        raise ValueError(f"the tokenizer has only {len(pool)} whole-word tokens; need {half}")
    rng = random.Random(seed)
    out = []
    for _ in range(n_seqs):
        ws = rng.sample(pool, half)
        out.append(" ".join(ws + ws))
    return out


# ----------------------------------------------------------------------------- attention

_KINDS = ("previous", "induction", "duplicate", "first", "current")


@dataclass
class PatternScores:
    """Mean attention of every head ([layers, heads]) to each candidate target position."""

    previous: torch.Tensor     # position i-1
    induction: torch.Tensor    # the token after the previous occurrence of token i
    duplicate: torch.Tensor    # the previous occurrence of token i itself
    first: torch.Tensor        # the first position (BOS / [CLS]: the attention sink)
    current: torch.Tensor      # position i itself
    n_tokens: int


def _targets(ids: list[int], special: set[int]) -> dict[str, list[tuple[int, int]]]:
    """(query, key) position pairs of each pattern for one sequence of ids."""
    pairs: dict[str, list[tuple[int, int]]] = {k: [] for k in _KINDS}
    last_seen: dict[int, int] = {}
    for i, tok in enumerate(ids):
        if tok in special:
            continue
        if i > 0:
            pairs["first"].append((i, 0))
        pairs["current"].append((i, i))
        if i >= 1 and ids[i - 1] not in special:
            pairs["previous"].append((i, i - 1))
        p = last_seen.get(tok)
        if p is not None:
            pairs["duplicate"].append((i, p))
            if p + 1 < i:
                pairs["induction"].append((i, p + 1))
        last_seen[tok] = i
    return pairs


def pattern_scores(model: SubjectModel, texts: list[str]) -> PatternScores:
    """One forward with attention weights; the mean weight of each pattern for every head."""
    inputs = model.tokenize(texts)
    with torch.no_grad(), eager_attention(model.model):
        out = model.model(**inputs, output_attentions=True)
    att = torch.stack([a.float() for a in out.attentions], dim=0)          # [L, B, H, T, T]
    special = set(model.tokenizer.all_special_ids)
    sums = {k: torch.zeros(att.shape[0], att.shape[2]) for k in _KINDS}
    counts = dict.fromkeys(sums, 0)
    for row in range(len(texts)):
        n = int(inputs["attention_mask"][row].sum())
        ids = inputs["input_ids"][row, :n].tolist()
        for name, pairs in _targets(ids, special).items():
            if pairs:
                q, k = (torch.tensor(x) for x in zip(*pairs))
                sums[name] += att[:, row, :, q, k].sum(-1)
                counts[name] += len(pairs)
    mean = {k: sums[k] / max(1, counts[k]) for k in sums}
    return PatternScores(n_tokens=int(inputs["attention_mask"].sum()), **mean)


_CACHE: dict[tuple[str, int, int, int, int], tuple[list[str], PatternScores]] = {}


def probe(model: SubjectModel, settings: HeadLabelerSettings = DEFAULTS) -> tuple[list[str], PatternScores]:
    """The probe texts and every head's pattern scores, computed once per model: one
    forward serves all heads, so labeling all heads of a model costs one pass, not one per head."""
    key = (model.fingerprint(), settings.n_seqs, settings.half, settings.seed, settings.word_pool)
    if key not in _CACHE:
        texts = repeated_texts(model.tokenizer, settings.n_seqs, settings.half, settings.seed, settings.word_pool)
        _CACHE[key] = (texts, pattern_scores(model, texts))
    return _CACHE[key]


# ----------------------------------------------------------------------------- investigation

_PATTERN_WORDS = {"previous": "the previous token", "induction": "the token after the previous occurrence "
                  "of the current token", "duplicate": "the previous occurrence of the current token",
                  "first": "the first token (an attention sink)", "current": "the current token itself"}


def label_head(model: SubjectModel, unit: str, notebook: Notebook,
               settings: HeadLabelerSettings = DEFAULTS) -> UnitLabel:
    """Investigate one head; every step goes into ``notebook``."""
    u = validate(parse_unit(unit), model)
    if u.site != "attn" or not u.is_single:
        raise ValueError(f"{unit}: the head labeler takes one head, e.g. layer.{u.layer}.attn.head.0")
    if not model.is_causal:
        raise ValueError(f"{model.name}: previous-token and induction roles are defined for causal LMs; "
                         "this model attends both ways")
    layer, head = u.layer, u.indices[0]
    texts, scores = probe(model, settings)
    s = {k: float(getattr(scores, k)[layer, head]) for k in _PATTERN_WORDS}
    notebook.record(f"mean attention of {unit}, by target position, on {len(texts)} sequences of random "
                    f"words repeated once ({scores.n_tokens} tokens), e.g. '{texts[0]}'",
                    list(_PATTERN_WORDS.values()), [round(s[k], 3) for k in _PATTERN_WORDS])
    evidence = [f"mean attention to {_PATTERN_WORDS[k]}: {s[k]:.2f}" for k in _PATTERN_WORDS]
    candidates = []
    for role, key in (("previous-token", "previous"), ("induction", "induction")):
        article = "an" if role[0] in "aeiou" else "a"
        h = notebook.propose(f"{unit} is {article} {role} head: it attends to {_PATTERN_WORDS[key]}")
        if s[key] >= settings.pattern_threshold:
            notebook.settle(h, "open", f"attention pattern fits: {s[key]:.2f} >= {settings.pattern_threshold}; "
                                       "testing whether the model relies on it")
            candidates.append((s[key], role, h))
        else:
            notebook.settle(h, "refuted", f"mean attention to {_PATTERN_WORDS[key]} is {s[key]:.2f} "
                                          f"< {settings.pattern_threshold}")
    role, cost = "other", None
    for _, cand, h in sorted(candidates, key=lambda c: c[0], reverse=True):
        if cost is None:        # one ablation answers for every candidate pattern
            cost = _ablation_cost(model, unit, texts[:settings.n_ablate], notebook)
        msg = f"mean-ablating it changes the loss on the repeated sequences by {cost:+.3f} nats"
        if msg not in evidence:
            evidence.append(msg)
        if cost >= settings.ablation_threshold:
            notebook.settle(h, "supported", f"{msg} (>= {settings.ablation_threshold}): the model relies on it")
            role = cand
            break
        notebook.settle(h, "refuted", f"{msg} (< {settings.ablation_threshold}): the pattern is there, "
                                      "but the model does not need this head for copying")
    unneeded = None if role != "other" or not candidates else (max(candidates, key=lambda c: c[0])[1], cost)
    label, description = _describe(role, s, settings.dominant, unneeded)
    return UnitLabel(unit, label, description, evidence)


def _ablation_cost(model: SubjectModel, unit: str, texts: list[str], notebook: Notebook) -> float:
    result = ablate(model, unit, texts, mode="mean")
    deltas = [a - b for a, b in zip(result.loss_after, result.loss_before)]
    cost = sum(deltas) / len(deltas)
    notebook.record(f"mean-ablate {unit} on {len(texts)} repeated sequences: next-token loss before -> after "
                    f"(mean change {cost:+.3f} nats)",
                    texts, [f"{b:.3f} -> {a:.3f}" for b, a in zip(result.loss_before, result.loss_after)])
    return cost


def _describe(role: str, s: dict[str, float], dominant_share: float,
              unneeded: tuple[str, float] | None = None) -> tuple[str, str]:
    """Label and description; the description names the role in the words ``role_from_text``
    reads.  ``unneeded``: the role whose attention pattern the head shows although ablating
    it costs the model next to nothing (with that cost): still ``other``, said so plainly.
    ``dominant_share``: the attention at which an "other" head's strongest pattern names it."""
    if role == "previous-token":
        return ("previous-token head",
                (f"Previous-token head: attends from each token to the token just before it "
                 f"({s['previous']:.0%} of its attention on repeated random words), and the model "
                 "relies on it to copy repeated text."))
    if role == "induction":
        return ("induction head",
                (f"Induction head: attends from a repeated token to the token that followed its "
                 f"previous occurrence ({s['induction']:.0%} of its attention in the repeated half) "
                 "and the model relies on it to continue repeated text."))
    if unneeded is not None:
        like, cost = unneeded
        key = "previous" if like == "previous-token" else "induction"
        return (f"other: {like}-like pattern, not needed",
                (f"Other head (no copying role found): it attends to {_PATTERN_WORDS[key]} ({s[key]:.0%}) "
                 f"like a {like} head, but mean-ablating it changes the loss on repeated random words by "
                 f"only {cost:+.3f} nats, so the model does not rely on it."))
    dominant = max(("first", "current", "duplicate"), key=lambda k: s[k])
    if s[dominant] >= dominant_share:
        label = {"first": "attention-sink head", "current": "current-token head",
                 "duplicate": "duplicate-token head"}[dominant]
        where = f"mostly attends to {_PATTERN_WORDS[dominant]} ({s[dominant]:.0%})"
    else:
        label = "diffuse head"
        where = f"spreads its attention over earlier tokens (at most {max(s.values()):.0%} on any tested position)"
    return f"other: {label}", f"Other head (no copying role found): on repeated random words it {where}."


def investigate_head(model: SubjectModel, unit: str, log_dir: Path | None = None,
                     settings: HeadLabelerSettings = DEFAULTS) -> UnitLabel:
    """``label_head`` with its notebook streamed to ``log_dir/transcript.jsonl``, like
    ``agent.labeling.neurons.investigate_unit``."""
    return run_notebook(unit, lambda notebook: label_head(model, unit, notebook, settings), log_dir,
                        seed=settings.seed)


# ----------------------------------------------------------------------------- reading roles back

_EXPLICIT = re.compile(r"\brole\s*[:=]\s*\"?(previous[- ]token|induction|other)\b")
_NEGATED = re.compile(r"\b(?:neither|not|no|nor|never|isn't|rather than|instead of|unlike|without)\b[^.;,:()]*")
_PATTERNS = {
    "induction": re.compile(r"\binduction\b|token (?:that )?(?:followed|follows|came after|comes after|after) "
                            r"(?:its|the|an?) (?:previous|prior|earlier|last) (?:occurrence|instance|copy)"
                            r"|in-context cop|copies? (?:the )?(?:continuation|next token) of"),
    "previous-token": re.compile(r"\bprev(?:ious)?[- ]tok|\b(?:previous|preceding|prior) (?:token|position|word)\b"
                                 r"|token (?:just |immediately )?(?:before|preceding)"
                                 r"|one (?:position|token) (?:back|before)"
                                 r"|\bi ?- ?1\b"),
}


def role_from_text(text: str) -> str:
    """``previous-token`` | ``induction`` | ``other``, read from a free-text label or description.

    An explicit ``role: X`` wins; otherwise negated phrases ("not an induction head",
    "neither ... nor ...") are dropped and the role mentioned first is taken, so a
    description that opens with its verdict and mentions the other role later (an
    induction head "fed by previous-token heads") reads correctly.  Nothing matched: other.
    """
    if not isinstance(text, str):
        raise TypeError(f"role_from_text expects a string, got {type(text).__name__}")
    low = " ".join(text.lower().replace("–", "-").replace("—", "-").split())
    m = _EXPLICIT.search(low)
    if m:
        return m.group(1).replace(" ", "-")
    if re.match(r"\W*other\b", low):
        return "other"
    kept = _NEGATED.sub(" ", low)
    hits = [(m.start(), role) for role, pat in _PATTERNS.items() if (m := pat.search(kept))]
    return min(hits)[1] if hits else "other"
