"""The built-in scientist's entity investigation: which topic (or pair of topics) does a word unit respond to?

An entity function (or a word-selective neuron) maps any word or phrase to a value in [0, 1]: how
strongly the input belongs to a concept, or to either of two. The scientist sees only black-box
values. Its world knowledge is WordNet's taxonomy (hypernyms, part holonyms, topic and region
domains) and word frequencies; it never reads a function's ground truth or any suite's concept
inventory. Hypotheses are WordNet synsets ("the unit responds to members of tennis.n.01"); the
experiments decide between them:

1. *survey*: ask a stratified vocabulary of 5,000 WordNet nouns (`vocabulary.probe_vocabulary`);
2. *candidates*: every synset that explains one of the strongest responses (an ancestor, holonym or
   topic domain of one of its senses) is a hypothesis, scored by its *net response*: the sum over the
   observed words it explains of (value - TAU). The true topic collects many strong responders and
   few weak ones; a broader synset adds weak members (each costs TAU), a narrower one misses members;
3. *targeted probes*: for each of the strongest responses, the two candidates that explain it best
   (so that a second, smaller cluster of responders gets its own hypotheses); members of these that
   the survey did not contain (hyponyms, parts, domain members) are asked in one call, every other
   member held back for confirmation;
4. *selection*: greedy cover. The synset with the best net response is chosen; the words it explains
   are set aside; the next synset must still have a positive net response on what is left, with at
   least two strong responders (and a net response of at least 1 and MIN_SHARE of the first's).
   Chosen synsets that are related (one explains the other, a shared specific ancestor, or close
   names) form one concept; two unrelated groups make "either of two";
5. *confirmation*: fresh members of each chosen synset against fresh members of its siblings (the
   rest of its parent): the chosen topic must respond clearly more. When the siblings respond as
   much, the topic is too narrow and its parent replaces it (if the parent's net response is better);
   when the fresh members do not respond, the hypothesis is refuted and the synset dropped;
6. *answer*: "responds to words related to tennis (lawn tennis) (e.g. forehand, Wimbledon, ...)",
   plus the strongest responses no named topic explains ("it also responds strongly to ..."): an
   observation, not a topic, for links WordNet lacks or a second topic with too little evidence.

WordNet is the naming signal. MiniLM (`find_functions.embedding`) is used only to decide whether two
chosen synsets are one concept or two; it never proposes or names a topic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .findings import Findings, Notebook
from .vocabulary import explaining, explanations, members, probe_vocabulary, wordnet

Probe = Callable[[Sequence[str]], list[Any]]

TAU = 0.45  #: the value a word must exceed to count for a topic (net response = sum of value - TAU)
HIGH = 0.6  #: a strong response
N_TOP = 40  #: strongest survey responders whose explanations become candidates
N_TARGETED = 24  #: candidates that get targeted probes (all in one call: each call has a fixed cost)
PER_CANDIDATE = 3  #: targeted probes per candidate
PER_CONFIRM = 6  #: fresh members (and as many sibling controls) per chosen synset
MAX_TOPICS = 5
MAX_GENERIC = 0.08  #: candidates explaining more than this share of the vocabulary are too generic
MIN_DEPTH = 3  #: synsets this close to WordNet's root ('entity', 'object') name nothing
N_EXAMPLES = 4
N_LEFTOVER = 5  #: strong responses outside every named topic that the description lists
MIN_SHARE = 0.05  #: a further topic needs at least this share of the first topic's net response
NAME_LINK = 0.42  #: MiniLM cosine of two topic names above which they are one concept


def _values(outputs: Sequence[Any]) -> np.ndarray:
    out = np.zeros(len(outputs))
    for i, y in enumerate(outputs):
        try:
            out[i] = float(y)
        except (TypeError, ValueError):
            out[i] = 0.0
    return np.nan_to_num(out, nan=0.0)


@dataclass
class Topic:
    """A chosen synset and what supports it."""

    synset: str
    score: float
    responders: list[str] = field(default_factory=list)

    def name(self) -> str:
        lemmas = [lemma.replace("_", " ") for lemma in wordnet().synset(self.synset).lemma_names()]
        return lemmas[0] if len(lemmas) == 1 else f"{lemmas[0]} ({', '.join(lemmas[1:3])})"


class EntityScientist:
    """One investigation of one black-box word unit."""

    def __init__(self, probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> None:
        self.probe = probe
        self.rng = random.Random(f"entities-scientist:{seed}")
        self.notes = notebook or Notebook()
        self.vocab = probe_vocabulary()
        self.values: dict[str, float] = {}  # every word asked -> value
        self.extra: dict[str, list[str]] = {}  # synset -> words outside the vocabulary that it explains
        self.calls = 0
        self.candidates_all: list[str] = []

    # -- experiments
    def ask(self, words: Sequence[str], purpose: str) -> np.ndarray:
        new = [w for w in dict.fromkeys(words) if w not in self.values]
        if new:
            outputs = list(self.probe(new))
            self.calls += 1
            if len(outputs) != len(new):
                raise ValueError(f"probe answered {len(outputs)} outputs for {len(new)} inputs")
            values = _values(outputs)
            self.values.update(zip(new, values.tolist()))
            self.notes.record(purpose, new, outputs)
            vocab_index = set(self.vocab.words)
            for w in new:
                if w not in vocab_index:
                    for s in explanations(w):
                        self.extra.setdefault(s, []).append(w)
        return np.array([self.values[w] for w in words])

    # -- hypotheses
    def observed_members(self, synset: str) -> list[str]:
        """Every word asked so far that `synset` explains."""
        return [self.vocab.words[i] for i in self.vocab.explained_by(synset)] + self.extra.get(synset, [])

    def net(self, synset: str, exclude: set[str] = frozenset()) -> float:
        return sum(self.values[w] - TAU for w in self.observed_members(synset) if w not in exclude)

    def candidates(self) -> list[str]:
        """Hypotheses worth a targeted probe. The strongest responses are visited in order; a word no
        candidate found so far explains contributes the two specific synsets explaining it with the
        best net response. So a second, smaller cluster of responders (the other concept of an
        "either" unit) gets hypotheses of its own instead of being crowded out by the first."""
        top = sorted(self.values, key=lambda w: (-self.values[w], w))[:N_TOP]
        found: list[str] = []
        explained: set[str] = set()
        for w in top:
            if self.values[w] < TAU or len(found) >= N_TARGETED:
                break
            if w in explained:
                continue
            mine = sorted(((self.net(s), s) for s in explanations(w) if self._specific(s)), key=lambda x: (-x[0], x[1]))
            for _, s in mine[:2]:
                if s not in found:
                    found.append(s)
                    explained.update(self.observed_members(s))
        return found[:N_TARGETED]

    def targeted(self, cands: list[str]) -> dict[str, list[str]]:
        """Ask members of these candidates that were never asked; return the members held back."""
        asked, held = [], {}
        for s in cands:
            fresh = [w for w in members(s) if w not in self.values]
            asked += fresh[0:2 * PER_CANDIDATE:2]  # every other member: the rest is held back
            held[s] = fresh[1::2]
        self.ask(asked, "targeted: members of the leading candidate topics the survey did not contain")
        return held

    def select(self) -> tuple[list[Topic], list[str]]:
        """Greedy cover of the strong responses: the synset with the best net response over what is
        still uncovered, until what is left is too little (see the module docstring). Returns the
        topics and the leading candidates considered."""
        pool = sorted({s for s in self.extra if self._specific(s)} | set(self.candidates_all),
                      key=lambda s: (-self.net(s), s))
        covered: set[str] = set()
        chosen: list[Topic] = []
        first = None
        for _ in range(MAX_TOPICS):
            taken = {t.synset for t in chosen}
            ranked = sorted(((self.net(s, covered), s) for s in pool if s not in taken), key=lambda x: (-x[0], x[1]))
            if not ranked:
                break
            score, best = ranked[0]
            strong = [w for w in self.observed_members(best) if w not in covered and self.values[w] >= HIGH]
            if first is None:
                if score <= 0 or not strong:
                    break
                first = score
            elif score < max(1.0, MIN_SHARE * first) or len({w.casefold() for w in strong}) < 2:
                break
            chosen.append(Topic(best, score, sorted(strong, key=lambda w: (-self.values[w], w))))
            covered |= set(self.observed_members(best))
        return chosen, pool[:10]

    def _specific(self, synset: str) -> bool:
        return (len(self.vocab.explained_by(synset)) <= MAX_GENERIC * len(self.vocab.words)
                and wordnet().synset(synset).min_depth() >= MIN_DEPTH)

    def confirm(self, topics: list[Topic], held: dict[str, list[str]]) -> list[Topic]:
        """Fresh members of each topic against fresh members of its siblings; keep those that pass."""
        wn = wordnet()
        plan: list[tuple[Topic, list[str], list[str]]] = []
        for t in topics:
            fresh = [w for w in held.get(t.synset) or members(t.synset) if w not in self.values][:PER_CONFIRM]
            own = set(members(t.synset))
            siblings = [h for p in wn.synset(t.synset).hypernyms() + wn.synset(t.synset).instance_hypernyms()
                        for h in p.hyponyms() + p.instance_hyponyms() if h.name() != t.synset]
            controls = []
            for sib in siblings:
                controls += [w for w in members(sib.name(), limit=40) if w not in own and w not in self.values][:2]
            controls = controls[:PER_CONFIRM]
            plan.append((t, fresh, controls))
        self.ask([w for _, f, c in plan for w in f + c], "confirm: fresh members of each chosen topic, and of "
                 "its siblings as controls")
        kept = []
        for t, fresh, controls in plan:
            m = float(np.mean([self.values[w] for w in fresh])) if fresh else None
            c = float(np.mean([self.values[w] for w in controls])) if controls else 0.0
            h = self.notes.propose(f"responds to {t.name()} ({t.synset}: {wn.synset(t.synset).definition()})",
                                   "open", f"net response {t.score:.2f}; strongest: {', '.join(t.responders[:5])}")
            verdict = (f"{len(fresh)} fresh members mean {m if m is not None else 0:.2f} "
                       f"vs {len(controls)} siblings {c:.2f}")
            if m is None:
                self.notes.settle(h, "open", "no fresh members left to confirm with")
                kept.append(t)
            elif m >= TAU and m - c >= 0.2:
                self.notes.settle(h, "supported", verdict)
                kept.append(t)
            elif m >= TAU and c >= TAU:
                self.notes.settle(h, "refuted", verdict + ": the siblings respond too, the topic is broader")
                kept.append(self._broaden(t))
            else:
                self.notes.settle(h, "refuted", verdict)
        return kept or topics[:1]

    def _broaden(self, topic: Topic) -> Topic:
        """The parent of a topic whose siblings respond as much as its members (when the parent's
        net response, siblings included, beats the topic's)."""
        parents = wordnet().synset(topic.synset).hypernyms() + wordnet().synset(topic.synset).instance_hypernyms()
        if not parents:
            return topic
        parent = parents[0].name()
        net_parent, net_topic = self.net(parent), self.net(topic.synset)
        h = self.notes.propose(f"responds to all of {parent} (siblings included)", "open",
                               f"net response {net_parent:.2f} vs {net_topic:.2f} for {topic.synset}")
        if net_parent > net_topic:
            self.notes.settle(h, "supported", "the broader topic explains more strong responses than it adds weak ones")
            strong = [w for w in self.observed_members(parent) if self.values[w] >= HIGH]
            return Topic(parent, net_parent, sorted(strong, key=lambda w: (-self.values[w], w)))
        self.notes.settle(h, "refuted", "the broader topic adds more weak responses than strong ones")
        return topic

    def record_rivals(self, cands: list[str], topics: list[Topic]) -> None:
        """The best candidates not chosen, and each topic's parent (too broad), as refuted hypotheses."""
        wn = wordnet()
        chosen = {t.synset for t in topics}
        for t in topics:
            for parent in wn.synset(t.synset).hypernyms()[:1]:
                obs = self.observed_members(parent.name())
                if obs:
                    mean = float(np.mean([self.values[w] for w in obs]))
                    self.notes.propose(f"responds to all of {parent.name()} (broader)", "refuted",
                                       f"{len(obs)} observed members, mean {mean:.2f}, "
                                       f"net {self.net(parent.name()):.2f}")
        for s in [c for c in cands if c not in chosen][:3]:
            obs = self.observed_members(s)
            mean = float(np.mean([self.values[w] for w in obs])) if obs else 0.0
            self.notes.propose(f"responds to {s}", "refuted",
                               f"net response {self.net(s):.2f} ({len(obs)} members, mean {mean:.2f}) loses "
                               "to the chosen topics")

    # -- grouping and answer
    @staticmethod
    def _related(a: str, b: str) -> bool:
        """Two synsets belong to one concept when one explains the other, they share a specific
        ancestor (min depth >= 5: 'court game', not 'activity'), or their names are close in meaning
        (MiniLM cosine >= NAME_LINK: 'astronomy' and 'celestial body'). The embedding only groups
        synsets already chosen from WordNet evidence; it never names a topic."""
        from find_functions.embedding import embed

        wn = wordnet()
        anc_a, anc_b = explaining(a), explaining(b)
        if a in anc_b or b in anc_a or any(wn.synset(s).min_depth() >= 5 for s in anc_a & anc_b):
            return True
        names = [wn.synset(x).lemma_names()[0].replace("_", " ") for x in (a, b)]
        if names[0].casefold() == names[1].casefold():
            return True
        va, vb = embed(names)
        return float(va @ vb) >= NAME_LINK

    def group(self, topics: list[Topic]) -> list[list[Topic]]:
        groups: list[list[Topic]] = []
        for t in topics:
            home = next((g for g in groups if any(self._related(t.synset, o.synset) for o in g)), None)
            if home is None:
                groups.append([t])
            else:
                home.append(t)
        return groups

    def _phrase(self, group: list[Topic]) -> str:
        """The group's topic names and its strongest responders as examples."""
        names: list[str] = []
        for t in group:  # two senses of one word ('Japan' the islands, 'Japan' the state) read as one
            if t.name().split(" (")[0] not in {n.split(" (")[0] for n in names}:
                names.append(t.name())
        label = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        own = {lemma.replace("_", " ").casefold() for t in group for lemma in wordnet().synset(t.synset).lemma_names()}
        explained = sorted({w for t in group for w in t.responders}, key=lambda w: (-self.values[w], w))
        examples: list[str] = []
        for w in explained:
            if w.casefold() not in own and w.casefold() not in {e.casefold() for e in examples}:
                examples.append(w)
        return label + (f" (e.g. {', '.join(examples[:N_EXAMPLES])})" if examples else "")

    def _unexplained(self, groups: list[list[Topic]]) -> list[str]:
        """The strongest responses no chosen topic explains (WordNet may lack the link, or a second
        topic had too little evidence to name): said as observations, not as a topic."""
        explained = {w.casefold() for g in groups for t in g for w in self.observed_members(t.synset)}
        explained |= {lemma.replace("_", " ").casefold() for g in groups for t in g
                      for lemma in wordnet().synset(t.synset).lemma_names()}
        out: list[str] = []
        for w in sorted(self.values, key=lambda w: (-self.values[w], w)):
            if self.values[w] < HIGH or len(out) >= N_LEFTOVER:
                break
            if w.casefold() not in explained and w.casefold() not in {o.casefold() for o in out}:
                out.append(w)
        return out

    def run(self) -> Findings:
        self.ask(list(self.vocab.words), f"survey: {len(self.vocab.words)} WordNet nouns, stratified by lexical file")
        vals = np.array([self.values[w] for w in self.vocab.words])
        strongest = [self.vocab.words[i] for i in np.argsort(-vals, kind="stable")[:8]]
        if vals.max(initial=0.0) < TAU:
            self.notes.propose("the unit responds to some topic in the vocabulary", "refuted",
                               f"no word of {len(vals)} exceeds {TAU} (max {vals.max(initial=0.0):.2f})")
            return self._answer([], strongest)
        leading = self.candidates()
        held = self.targeted(leading)
        self.candidates_all = leading + [s for w in sorted(self.values, key=lambda w: -self.values[w])[:N_TOP]
                                         if self.values[w] >= HIGH for s in explanations(w) if self._specific(s)]
        topics, considered = self.select()
        if not topics:
            return self._answer([], strongest)
        topics = self.confirm(topics, held)
        self.record_rivals(considered, topics)
        return self._answer(self.group(topics), strongest)

    def _answer(self, groups: list[list[Topic]], strongest: list[str]) -> Findings:
        if not groups:
            top = max(self.values.values(), default=0.0)
            text = (f"responds most to {', '.join(strongest[:5])} (up to {top:.2f}); no topic stands out"
                    if top >= TAU else
                    f"responds weakly to every word tried (at most {top:.2f}); no topic stands out")
            return Findings(text, None, None, "no clear topic", self.notes.hypotheses, self.notes.experiments)
        phrases = [self._phrase(g) for g in groups]
        if len(phrases) == 1:
            text = f"responds to words related to {phrases[0]}"
        elif len(phrases) == 2:
            text = f"responds to words related to either {phrases[0]} or {phrases[1]}"
        else:
            text = f"responds to words related to any of: {'; '.join(phrases[:-1])}; or {phrases[-1]}"
        leftover = self._unexplained(groups)
        if leftover:
            text += f"; it also responds strongly to {', '.join(leftover)}"
        label = " | ".join(g[0].name() for g in groups)
        return Findings(text, None, None, label, self.notes.hypotheses, self.notes.experiments)


def investigate_entities(probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> Findings:
    """Investigate a black-box word unit through `probe` (a batch of strings -> values in [0, 1]);
    `notebook` (optional) receives every experiment and hypothesis as it happens."""
    return EntityScientist(probe, seed, notebook).run()
