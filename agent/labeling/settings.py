"""The builtin labelers' thresholds, gathered so that a label run can record what shaped it.

Each was a module constant of `agent.labeling.neurons` (neurons and dims) or `agent.labeling.heads`
(attention heads), where no run recorded it. They live here as frozen records with one docstring
per field (after Delphi's config dataclasses); the labelers take them as an argument and
`aia label` writes them to its run's config.json. The defaults are the values the labelers were
tuned with: changing one changes the labels and their scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NeuronLabelerSettings:
    """Thresholds of the builtin neuron (and residual-dimension) labeler, `agent.labeling.neurons`."""

    hot_fraction: float = 0.5
    """A word is "hot" in an exemplar when it reaches this fraction of that exemplar's peak."""

    candidate_pool: int = 12
    """Hot lemmas (by exemplar weight) from which the candidate words are drawn."""

    max_candidates: int = 8
    """Candidate words kept from that pool (those without an apostrophe)."""

    max_words: int = 5
    """Candidate words tested in synthetic sentences, and words a description names."""

    support_fraction: float = 0.25
    """How far a word's mean activation in synthetic sentences must rise above the control
    words', as a fraction of (top exemplar activation - controls), to drive the unit alone."""

    name_fraction: float = 0.25
    """A context-dependent word is named when its exemplar weight reaches this fraction of the
    top word's."""

    min_selectivity: float = 0.0
    """A named word's mean activation over all its occurrences must exceed the mean token's by
    this fraction of the top activation."""

    second_pool: int = 24
    """Hot words among which a second concept (a polysemantic unit) is looked for."""

    second_selectivity: float = 0.5
    """Selectivity (fraction of the top activation above the mean token) a second-concept word
    needs."""

    second_probes: int = 3
    """Second-concept words tested at most."""

    second_words: int = 2
    """Second-concept words named at most (the first group then keeps
    max_words - second_words + 1 words, so every named word stays above the simulator's
    detection threshold)."""

    related_wup: float = 0.7
    """Two words are one concept when WordNet's Wu-Palmer similarity of some pair of their first
    senses reaches this (or when they share a stem)."""

    category_share: float = 0.5
    """A WordNet category is proposed when its words hold this share of the candidates' weight."""

    category_probes: int = 6
    """Unseen words of a proposed category tested in synthetic sentences."""

    token_class_candidate: float = 0.3
    """Share of exemplars peaking on punctuation (or the start of the text) at which that token
    class is tested."""

    token_class_share: float = 0.6
    """Share of exemplars peaking on a token class at which the description names it."""

    causal_exemplars: int = 4
    """Top exemplars the ablation and word-swap experiments run on (each one 64-token window)."""

    ablation_ratio: float = 2.0
    """Ablation matters when its effect on the top exemplars is this many times its effect on
    control sentences (where the unit is near rest)."""

    edit_drop: float = 0.5
    """A swapped-out word drives the unit when the swap removes this fraction of its peak."""


@dataclass(frozen=True)
class HeadLabelerSettings:
    """Thresholds and probe sizes of the builtin attention-head labeler, `agent.labeling.heads`."""

    pattern_threshold: float = 0.4
    """Mean attention a head must put on its role's target position."""

    ablation_threshold: float = 0.03
    """Mean-ablation increase of the mean next-token loss over the whole probe text (both halves,
    so about half the effect on the repeated half) that shows the model needs the head."""

    dominant: float = 0.3
    """Attention share at which a pattern counts as an "other" head's dominant behaviour."""

    n_seqs: int = 16
    """Probe sequences of random words repeated once."""

    half: int = 20
    """Distinct words in each probe sequence's first half."""

    seed: int = 0
    """Seed of the probe sequences' words."""

    word_pool: int = 4000
    """Whole-word vocabulary tokens the probe words are drawn from (most frequent first)."""

    n_ablate: int = 8
    """Probe sequences the ablation runs on: two full forwards per candidate head, the costly
    step on a real model."""


@dataclass(frozen=True)
class LabelerSettings:
    """Everything the builtin labelers are tuned by; recorded in a label run's config.json."""

    neuron: NeuronLabelerSettings = field(default_factory=NeuronLabelerSettings)
    """The neuron and residual-dimension labeler's."""

    head: HeadLabelerSettings = field(default_factory=HeadLabelerSettings)
    """The attention-head labeler's."""
