"""The built-in scientist's probe vocabulary for word-level units, and what WordNet says about each word.

Why a designed vocabulary: an entity function (or a neuron) answers one word at a time, and the
scientist must find, among all words, the few it responds to. Asking every WordNet lemma would cost
hundreds of thousands of calls; asking the commonest words only would miss topics whose words are
rare (reptiles, anatomy, kitchenware). So the vocabulary is stratified: WordNet's noun lemmas are
grouped by lexicographer file (noun.animal, noun.food, noun.location, noun.person...) and each group
contributes its most frequent lemmas (wordfreq), single words and multiword names alike, in
proportion to the square root of its size; the names of WordNet's own topic and region domains
(tennis, banking, astronomy, Japan...) are always included. Built once per process and cached.

For every vocabulary word the module also lists the synsets that would *explain* a response to it:
the hypernym ancestors of its first senses, the wholes they are part of (a city's district belongs
to the city) and the topic/region domains they are filed under (WordNet files 'forehand' under
tennis), see `explaining`. An
entity scientist then asks which synset explains most of the strong responses and few weak ones.
This is WordNet's public taxonomy only; no concept inventory of any suite is read.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np

VOCABULARY_SIZE = 5000
MAX_SENSES = 3  #: senses of a word that can explain a response to it (WordNet's sense order)
_MAX_CLIMB = 14  #: ancestor levels followed from a sense
_MIN_ZIPF = 2.0
#: Zipf discount per extra word of a phrase: wordfreq rates a phrase by its words' frequencies, which
#: overrates obscure compounds ('means grass'); attested names ('table tennis') survive the discount.
_PHRASE_PENALTY = 0.75
_OK = re.compile(r"^[A-Za-z][A-Za-z' .\-]*[A-Za-z.]$")


def wordnet() -> Any:
    """The process-wide WordNet 3.0 reader (shared: constructing one takes seconds). Only the reader
    is used from `find_functions.concepts`, never its concept inventory."""
    from find_functions.concepts import wordnet as shared_reader

    return shared_reader()


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en")


def zipf(text: str) -> float:
    """Zipf frequency of a word or phrase (a phrase: harmonic combination of its words' frequencies,
    as wordfreq does), from wordfreq's table; 0 when any word is unknown."""
    freqs = _frequencies()
    parts = re.findall(r"[a-z']+", text.casefold())
    if not parts:
        return 0.0
    inverse = 0.0
    for p in parts:
        f = freqs.get(p)
        if not f:
            return 0.0
        inverse += 1.0 / f
    return math.log10(1e9 / inverse)


def synsets_of(text: str) -> list[Any]:
    """WordNet senses of a word or phrase, most frequent first (spaces or hyphens as '_')."""
    wn = wordnet()
    text = text.strip()
    if not text or len(text) > 80:
        return []
    for query in (re.sub(r"\s+", "_", text), re.sub(r"[\s\-]+", "_", text)):
        try:
            found = wn.synsets(query)
        except Exception:  # noqa: BLE001 - WordNet's morphology chokes on odd strings: they are not lemmas
            found = []
        if found:
            return list(found)
    return []


@cache
def hypernym_closure(synset_name: str) -> frozenset[str]:
    """A synset and all its hypernyms and instance hypernyms, up to WordNet's root."""
    wn = wordnet()
    seen: set[str] = set()
    frontier = [wn.synset(synset_name)]
    while frontier:
        nxt = []
        for s in frontier:
            if s.name() not in seen:
                seen.add(s.name())
                nxt += s.hypernyms() + s.instance_hypernyms()
        frontier = nxt
    return frozenset(seen)


@cache
def _wholes(synset_name: str) -> frozenset[str]:
    """What a synset is part of, two levels up (a district's city, and the city's state)."""
    wn = wordnet()
    first = wn.synset(synset_name).part_holonyms()
    return frozenset(s.name() for s in first + [h for p in first for h in p.part_holonyms()])


@cache
def explaining(synset_name: str) -> frozenset[str]:
    """The synsets whose topic a sense belongs to: its hypernym ancestors, the wholes (two levels) of
    any of them, and the same for its topic and region domains (WordNet files 'forehand' under
    tennis and 'yen' under Japan). Climbing stops there: a part of a part of the Atlantic is not about
    rivers, however WordNet's domains chain on."""
    wn = wordnet()
    sense = wn.synset(synset_name)
    out: set[str] = set()
    for start in [sense] + list(sense.topic_domains()) + list(sense.region_domains()):
        up = hypernym_closure(start.name())
        out |= up
        for a in up:
            out |= _wholes(a)
    return frozenset(out)


def explanations(word: str) -> dict[str, int]:
    """Synset -> the best (lowest) rank of a sense of `word` that it explains."""
    out: dict[str, int] = {}
    for rank, sense in enumerate(synsets_of(word)[:MAX_SENSES]):
        for name in explaining(sense.name()):
            out.setdefault(name, rank)
    return out


def members(synset_name: str, limit: int = 400) -> list[str]:
    """Words that belong to a synset: lemmas of its hyponym closure (breadth-first), its part
    meronyms, and the synsets filed under it as a topic or region domain. Most frequent first."""
    wn = wordnet()
    root = wn.synset(synset_name)
    seen: dict[str, Any] = {}
    frontier = [root] + root.part_meronyms() + list(root.in_topic_domains()) + list(root.in_region_domains())
    while frontier and len(seen) < limit:
        nxt = []
        for s in frontier:
            if s.name() in seen or len(seen) >= limit:
                continue
            seen[s.name()] = s
            nxt += s.hyponyms() + s.instance_hyponyms()
        frontier = nxt
    words = {lemma.replace("_", " ") for s in seen.values() for lemma in s.lemma_names()}
    words = {w for w in words if _OK.match(w)}
    return sorted(words, key=lambda w: (-zipf(w), w))


@dataclass(frozen=True)
class Vocabulary:
    """The probe words and a words x synsets incidence (which synset explains which word)."""

    words: tuple[str, ...]
    synsets: tuple[str, ...]
    index: dict[str, int]  # synset name -> column
    incidence: Any  # scipy.sparse csc matrix, words x synsets, 1 where the synset explains the word

    def explained_by(self, synset_name: str) -> np.ndarray:
        """Row indices of the vocabulary words a synset explains."""
        col = self.index.get(synset_name)
        if col is None:
            return np.zeros(0, dtype=int)
        start, end = self.incidence.indptr[col], self.incidence.indptr[col + 1]
        return self.incidence.indices[start:end]


def _stratified_lemmas(size: int) -> list[str]:
    """The vocabulary's words: per lexicographer file, its most frequent noun lemmas."""
    wn = wordnet()
    by_file: dict[str, dict[str, float]] = defaultdict(dict)
    for synset in wn.all_synsets("n"):
        for lemma in synset.lemma_names():
            word = lemma.replace("_", " ")
            if len(word) < 3 or not _OK.match(word) or word.count(" ") > 2:
                continue
            z = zipf(word) - _PHRASE_PENALTY * word.count(" ")
            if " " in word and not any(lm.count() for lm in synset.lemmas()):
                z -= _PHRASE_PENALTY  # a phrase no tagged corpus sense attests: likely obscure
            if z >= _MIN_ZIPF and z > by_file[synset.lexname()].get(word, -1.0):
                by_file[synset.lexname()][word] = z
    weights = {f: math.sqrt(len(ws)) for f, ws in by_file.items() if f != "noun.Tops"}
    ranked = {f: [w for w, _ in sorted(by_file[f].items(), key=lambda kv: (-kv[1], kv[0]))] for f in weights}

    def take(scale: float) -> dict[str, str]:
        chosen: dict[str, str] = {}  # casefolded -> word ('Chain' and 'chain' are one probe)
        for word in _domain_lemmas():
            chosen.setdefault(word.casefold(), word)
        for f in sorted(weights):
            for word in ranked[f][:max(20, round(scale * weights[f]))]:
                chosen.setdefault(word.casefold(), word)
        return chosen

    # words shared by several files count once: the largest quota scale that stays within `size`
    low, high = 0.0, 10.0 * size / sum(weights.values())
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if len(take(mid)) <= size else (low, mid)
    return list(take(low).values())


@lru_cache(maxsize=1)
def _domain_lemmas() -> tuple[str, ...]:
    """Names of WordNet's topic and region domains (tennis, banking, astronomy, Japan, Chicago...):
    the topics WordNet itself files words under, so every one of them is asked by name."""
    wn = wordnet()
    domains: set[str] = set()
    for synset in wn.all_synsets("n"):
        domains.update(d.name() for d in list(synset.topic_domains()) + list(synset.region_domains()))
    words = []
    for name in sorted(domains):
        for lemma in wn.synset(name).lemma_names()[:2]:
            word = lemma.replace("_", " ")
            if _OK.match(word) and zipf(word) >= _MIN_ZIPF:
                words.append(word)
    return tuple(dict.fromkeys(words))


@lru_cache(maxsize=1)
def probe_vocabulary(size: int = VOCABULARY_SIZE) -> Vocabulary:
    """The stratified vocabulary and its explanation incidence (built once per process)."""
    from scipy.sparse import csc_matrix

    words = _stratified_lemmas(size)
    columns: dict[str, int] = {}
    rows, cols = [], []
    for i, w in enumerate(words):
        for name in explanations(w):
            j = columns.setdefault(name, len(columns))
            rows.append(i)
            cols.append(j)
    matrix = csc_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(words), len(columns)))
    matrix.sort_indices()
    synsets = tuple(sorted(columns, key=columns.get))
    return Vocabulary(tuple(words), synsets, columns, matrix)
