"""Entity functions ("synthetic neurons", FIND's neurons_entities) and their suite generator.

An entity function maps any word or phrase to a value in [0, 1]: how strongly the input belongs
to a concept (for two concepts: to either, i.e. the max). The value is computed offline from two
real resources so that it is graded rather than a lookup table:

- WordNet membership `m`: is one of the input's senses in the concept's member synsets
  (anchor hyponym closure, part meronyms, topic/region domains; see `concepts.member_synsets`),
  or is the input one of the concept's hand-picked examples? Earlier (more frequent) senses
  count more, so a word whose main sense is a member beats one whose rare sense is.
- MiniLM similarity `e`: cosine of the input to the concept's name, its examples (top-3 mean)
  and its gloss (raw: unrelated words about 0.2, related ones 0.35-0.65, e.g. 'golf' 0.52 for
  racket sports), squashed by a logistic centred at 0.48 so that related words land mid-range.

value = max(m * (0.8 + 0.2 e), 0.85 e): clear members land in [0.8, 1], words that are merely
related land in between, unrelated words near 0. Values are rounded to 4 decimals so that tiny
float differences between batch compositions never change an answer.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from find_functions.concepts import CONCEPT_NAMES, get_concept, member_synsets, vocabulary, wordnet
from find_functions.embedding import embed
from find_functions.script import render_script
from find_functions.spec import GroundTruth, MultipleChoiceItem, SuiteFunction, function_id

#: Logistic calibration of the embedding score (see module docstring).
_E_CENTER = 0.48
_E_SCALE = 0.06
#: Weights of the embedding score: name, top-3 examples, gloss.
_W_NAME, _W_EXAMPLES, _W_GLOSS = 0.4, 0.4, 0.2
#: Weight of a WordNet match by the rank of the matching sense (0 = most frequent sense).
_SENSE_WEIGHTS = (1.0, 0.85, 0.7)
_MAX_LOOKUP_CHARS = 80
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def _wordnet_senses(x: str) -> list[str]:
    """Synset names of `x` in WordNet's sense order ('' when `x` cannot be a lemma)."""
    text = x.strip()
    if not text or len(text) > _MAX_LOOKUP_CHARS or not _LETTER.search(text):
        return []
    # WordNet joins words with '_' and keeps hyphens ('black-backed'); try hyphens as separators
    # only when the hyphenated form is unknown ('ping-pong' vs 'ping_pong').
    for query in (re.sub(r"\s+", "_", text), re.sub(r"[\s\-]+", "_", text)):
        try:
            synsets = wordnet().synsets(query)
        except Exception:  # WordNet's morphology can choke on odd strings: they are not lemmas
            synsets = []
        if synsets:
            return [s.name() for s in synsets]
    return []


@dataclass(frozen=True)
class _ConceptScorer:
    """The precomputed pieces of one concept's response."""

    name: str
    members: frozenset[str]
    examples_lower: frozenset[str]
    name_vec: np.ndarray
    gloss_vec: np.ndarray
    example_vecs: np.ndarray

    def membership(self, x: str, senses: list[str]) -> float:
        if x.strip().lower() in self.examples_lower:
            return 1.0
        for rank, synset in enumerate(senses):
            if synset in self.members:
                return _SENSE_WEIGHTS[min(rank, len(_SENSE_WEIGHTS) - 1)]
        return 0.0

    def similarity(self, vecs: np.ndarray) -> np.ndarray:
        """Calibrated embedding score in (0, 1) for each row of `vecs`."""
        top = np.sort(vecs @ self.example_vecs.T, axis=1)[:, -3:].mean(axis=1)
        raw = _W_NAME * (vecs @ self.name_vec) + _W_EXAMPLES * top + _W_GLOSS * (vecs @ self.gloss_vec)
        return 1.0 / (1.0 + np.exp(-(raw - _E_CENTER) / _E_SCALE))


@lru_cache(maxsize=None)
def _scorer(name: str) -> _ConceptScorer:
    concept = get_concept(name)
    vecs = embed([concept.name, f"{concept.name}: {concept.gloss}", *concept.examples])
    return _ConceptScorer(
        name=name,
        members=member_synsets(name),
        examples_lower=frozenset(e.lower() for e in concept.examples),
        name_vec=vecs[0],
        gloss_vec=vecs[1],
        example_vecs=vecs[2:],
    )


class EntityFunction:
    """How strongly a word or phrase belongs to one concept, or to either of two."""

    def __init__(self, concepts: Sequence[str]) -> None:
        if isinstance(concepts, str):
            raise TypeError("EntityFunction takes a list of concept names, not a single string")
        names = tuple(concepts)
        if len(names) not in (1, 2):
            raise ValueError(f"an entity function has one or two concepts, got {len(names)}")
        if len(set(names)) != len(names):
            raise ValueError(f"the two concepts must differ, got {names}")
        for n in names:
            get_concept(n)
        self.concepts = names
        self._scorers = [_scorer(n) for n in names]

    def __repr__(self) -> str:
        return f"EntityFunction({list(self.concepts)!r})"

    def __call__(self, x: str) -> float:
        return self.batch([x])[0]

    def batch(self, xs: Iterable[str]) -> list[float]:
        """Values for many inputs at once (one batched embedding pass)."""
        items = list(xs)
        for x in items:
            if not isinstance(x, str):
                raise TypeError(f"entity functions take strings, got {type(x).__name__}: {x!r}")
        if not items:
            return []
        vecs = embed([x.strip() for x in items])
        senses = [_wordnet_senses(x) for x in items]
        best = np.zeros(len(items))
        for scorer in self._scorers:
            e = scorer.similarity(vecs)
            m = np.array([scorer.membership(x, s) for x, s in zip(items, senses)])
            best = np.maximum(best, np.maximum(m * (0.8 + 0.2 * e), 0.85 * e))
        return [round(float(v), 4) for v in best]


# --------------------------------------------------------------------------- suite generation

N_UNIT_TESTS = 10
N_HELD_OUT = 30
N_DESCRIPTION_EXAMPLES = 3
MEMBER_MIN = 0.75  #: a unit-test / held-out member has at least this value
NON_MEMBER_MAX = 0.25  #: a non-member has at most this value
MARGIN = 0.5  #: value(member) - value(non-member) in every unit test
_POOL_PER_CONCEPT = 32
_MIN_ZIPF = 2.5  # recognisable words only (wordfreq Zipf scale; 2.5 ~ once per 300M words)
_PAIR_CROSS_MAX = 0.35  # a pair's concepts must not respond to each other's examples


def description_examples(name: str) -> tuple[str, ...]:
    """The examples a ground-truth description lists for concept `name` (never tested)."""
    return get_concept(name).examples[:N_DESCRIPTION_EXAMPLES]


def describe(concepts: Sequence[str]) -> str:
    """Ground-truth description of a one- or two-concept function."""
    parts = [f"{n} ({', '.join(description_examples(n))}...)" for n in concepts]
    if len(parts) == 1:
        return f"responds to words related to {parts[0]}"
    return f"responds to words related to either {parts[0]} or {parts[1]}"


def _recognisable(word: str) -> bool:
    from wordfreq import zipf_frequency

    return len(word) >= 3 and bool(_LETTER.search(word)) and zipf_frequency(word, "en") >= _MIN_ZIPF


def _obscure_person(word: str, name: str) -> bool:
    """Is `word` a member only as a named person ('Cunningham' the dancer)? Such surnames make
    unanswerable unit tests; the hand-picked examples ('Michael Jordan') are kept."""
    wn, members = wordnet(), member_synsets(name)
    for synset in _wordnet_senses(word):
        if synset in members:
            s = wn.synset(synset)
            return bool(s.instance_hypernyms()) and s.lexname() == "noun.person"
    return False


@lru_cache(maxsize=None)
def _pool(name: str, seed: int) -> tuple[str, ...]:
    """A deterministic sample of recognisable member words of `name` (minus described examples)."""
    excluded = {e.lower() for e in description_examples(name)}
    examples = set(get_concept(name).examples)  # hand-picked, hence recognisable
    words = [
        w
        for w in vocabulary(name)
        if w.lower() not in excluded and (w in examples or (_recognisable(w) and not _obscure_person(w, name)))
    ]
    random.Random(f"{seed}:{name}").shuffle(words)
    return tuple(words[:_POOL_PER_CONCEPT])


def _too_close(a: str, b: str) -> bool:
    """Near-synonyms: either concept responds to the other's examples, or names share members."""
    if a == b:
        return True
    fa, fb = EntityFunction([a]), EntityFunction([b])
    cross_ab = float(np.mean(fa.batch(list(get_concept(b).examples))))
    cross_ba = float(np.mean(fb.batch(list(get_concept(a).examples))))
    return max(cross_ab, cross_ba) > _PAIR_CROSS_MAX or bool(member_synsets(a) & member_synsets(b))


def _choose_concepts(rng: random.Random, n_single: int, n_double: int) -> list[tuple[str, ...]]:
    names = list(CONCEPT_NAMES)
    if n_single > len(names):
        raise ValueError(f"at most {len(names)} single-concept functions, asked for {n_single}")
    singles = [(n,) for n in rng.sample(names, n_single)]
    pairs: list[tuple[str, ...]] = []
    seen: set[frozenset[str]] = set()
    attempts = 0
    while len(pairs) < n_double:
        attempts += 1
        if attempts > 100 * max(n_double, 1):
            raise RuntimeError("could not draw enough distinct concept pairs")
        a, b = rng.sample(names, 2)
        if frozenset((a, b)) in seen or _too_close(a, b):
            continue
        seen.add(frozenset((a, b)))
        pairs.append((a, b))
    return singles + pairs


def _build_one(
    index: int, concepts: tuple[str, ...], seed: int, rng: random.Random
) -> SuiteFunction:
    fn = EntityFunction(list(concepts))
    own_vocab = {w.lower() for c in concepts for w in vocabulary(c)}
    # Members: from each concept's pool, alternating concepts for a two-concept function.
    member_lists = []
    for c in concepts:
        pool = list(_pool(c, seed))
        values = fn.batch(pool)
        member_lists.append([(w, v) for w, v in zip(pool, values) if v >= MEMBER_MIN])
    members: list[tuple[str, float]] = []
    for k in range(max(len(m) for m in member_lists)):
        for m in member_lists:
            if k < len(m):
                members.append(m[k])
    if len(members) < N_UNIT_TESTS:
        raise RuntimeError(f"concepts {concepts} have only {len(members)} clear members")
    # Non-members: other concepts' pools, low value, not in this function's vocabulary.
    others = [c for c in CONCEPT_NAMES if c not in concepts]
    rng.shuffle(others)
    candidates = [(w, c) for c in others[:40] for w in _pool(c, seed)[:8] if w.lower() not in own_vocab]
    values = fn.batch([w for w, _ in candidates])
    non_members = [(w, c, v) for (w, c), v in zip(candidates, values) if v <= NON_MEMBER_MAX]
    seen_words: set[str] = set()
    non_members = [x for x in non_members if not (x[0] in seen_words or seen_words.add(x[0]))]

    unit_tests: list[MultipleChoiceItem] = []
    used: set[str] = set()
    for word, value in members[:N_UNIT_TESTS]:
        picks: list[str] = []
        picked_concepts: set[str] = set()
        for w, c, v in non_members:
            if w in used or w in picks or c in picked_concepts or value - v < MARGIN:
                continue
            picks.append(w)
            picked_concepts.add(c)
            if len(picks) == 2:
                break
        if len(picks) < 2:
            raise RuntimeError(f"not enough non-members for {concepts}")
        correct = rng.randrange(3)
        inputs = picks[:]
        inputs.insert(correct, word)
        used.update(inputs)
        unit_tests.append(MultipleChoiceItem(inputs=inputs, outputs=None, correct=correct))

    rest_members = [w for w, _ in members[N_UNIT_TESTS:] if w not in used]
    rest_non = [w for w, _, _ in non_members if w not in used]
    n_mem = min(len(rest_members), N_HELD_OUT // 2)
    held_out = rest_members[:n_mem] + rest_non[: N_HELD_OUT - n_mem]
    rng.shuffle(held_out)

    label = " | ".join(concepts)
    body = (
        "from find_functions.entities import EntityFunction\n\n"
        f"_F = EntityFunction({list(concepts)!r})\n\n\n"
        "def function(x):\n    return _F(x)\n\n\n"
        "def function_batch(xs):\n    return _F.batch(xs)\n"
    )
    return SuiteFunction(
        id=function_id(index),
        category="neurons_entities",
        variant="single" if len(concepts) == 1 else "double",
        script=render_script(body, "str", docstring=f"Entity function {function_id(index)}."),
        ground_truth=GroundTruth(
            description=describe(concepts),
            label=label,
            metadata={"concepts": list(concepts)},
        ),
        unit_tests=unit_tests,
        held_out_inputs=held_out,
    )


def plan_concepts(seed: int, n: int = 200) -> list[tuple[str, ...]]:
    """The concepts of an `n`-function suite: 70% single concepts (distinct), then 30% pairs."""
    n_single, n_double = split_counts(n)
    _warm_concepts()
    return _choose_concepts(random.Random(f"{seed}:plan"), n_single, n_double)


def split_counts(n: int) -> tuple[int, int]:
    """(single-concept, two-concept) counts of an `n`-function suite: FIND's 140/60 for 200."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    n_single = math.ceil(0.7 * n) if n > 1 else 1
    return n_single, n - n_single


def generate_entities(seed: int, n: int = 200) -> list[SuiteFunction]:
    """`n` entity functions (140 "single" and 60 "double" for n=200), deterministic in `seed`."""
    plan = plan_concepts(seed, n)
    _warm_pools(sorted({c for concepts in plan for c in concepts}), seed)
    rng = random.Random(f"{seed}:build")
    return [_build_one(i, concepts, seed, rng) for i, concepts in enumerate(plan)]


def _warm_concepts() -> None:
    """Embed every concept's name, gloss and examples in one batched pass."""
    texts: set[str] = set()
    for c in CONCEPT_NAMES:
        concept = get_concept(c)
        texts.update([concept.name, f"{concept.name}: {concept.gloss}", *concept.examples])
    embed(sorted(texts))


def _warm_pools(names: list[str], seed: int) -> None:
    """Embed the pool words generation will need in one batched pass (later calls hit the cache)."""
    texts = {w for c in CONCEPT_NAMES for w in _pool(c, seed)[:8]} | {w for c in names for w in _pool(c, seed)}
    embed(sorted(texts))
