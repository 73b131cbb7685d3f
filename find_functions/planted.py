"""Planted concept neurons: ground truth for neuron labeling inside a real model.

A FIND entity function ("synthetic neuron") is a function of a word; a neuron of a real model
is a function of a token in context. To check a neuron labeler against known answers, this
module *plants* entity functions into real MLP neurons: after planting, the chosen neuron's
activation on every token is the entity function's value on that token's word, and nothing
else about the model changes. The planted model is an ordinary `SubjectModel`, so every tool
(nnsight traces, `call_unit`, the exemplar cache, ablation and patching) reads and intervenes on
a planted neuron exactly as on a real one, and the labeler gets nothing but that model.

How a neuron is planted. The value of `layer.L.mlp.neuron.K` is the input of block L's MLP
down-projection, column K. Planting replaces that down-projection module with a
`PlantedProjection` that overwrites column K and then calls the original projection, which it
keeps as its child `linear`; the model's adapter then points at `<down-projection>.linear`, so
the tools read (and ablate) the value *after* the overwrite, as they would a real neuron's.
The token ids reach the layer through a forward pre-hook on the input embedding; a pre-hook on
the model clears them at the start of every forward, so a forward that bypasses the embedding
(`inputs_embeds`) fails loudly instead of reusing stale ids.

Word of a token. Every piece of a word gets the *whole word's* value (`basket ##ball` both get
f('basketball')), because the entity function is defined on words and a labeler reads words.
Words are maximal runs of pieces, grouped by `tools.words` (the rule the labeler and the
offline simulator read words by too): WordPiece continues a word with `##` pieces; byte-level
BPE and SentencePiece continue it with a piece that starts with a letter or digit right after a
piece that ends with one (a piece starting with a space mark, `Ġ`/`▁`, starts a word). Special
tokens get the layer's resting value. Pieces are grouped within one forward call only: in
incremental decoding with a key/value cache, a piece continuing a word from an earlier call is
read as a word of its own.

Scale. Values are mapped as `rest + f(word) * (peak - rest)`, where `rest` is the median
activation of the layer's real neurons over calibration text and `peak` the median over those
neurons of each one's maximum, so a planted neuron fires about as hard as a typical neuron of
its layer fires at its strongest.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from find_functions.concepts import get_concept
from find_functions.entities import EntityFunction
from find_functions.spec import MultipleChoiceItem, SuiteFunction
from tools.models import SubjectModel, wrap_model
from tools.units import Unit, UnitError, validate
from tools.words import word_spans

#: Version of the planting rule (word grouping, scaling): part of the planted model's fingerprint.
PLANT_RULE = "planted-v1"
#: Calibration: this many corpus windows of this many tokens (from the corpus's first documents).
CALIBRATION_WINDOWS = 64
CALIBRATION_DOCUMENTS = 400
CALIBRATION_WINDOW = 64


@dataclass(frozen=True)
class Plant:
    """One planted neuron: the unit address and the entity concept(s) it computes.

    With two concepts the neuron computes their max (a polysemantic neuron, like FIND's
    two-concept entity functions).
    """

    unit: str
    concepts: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.concepts, str):
            raise TypeError(f"Plant.concepts is a tuple of concept names, not a string: {self.concepts!r}")
        object.__setattr__(self, "concepts", tuple(self.concepts))
        if len(self.concepts) not in (1, 2):
            raise ValueError(f"a planted neuron computes one or two concepts, got {len(self.concepts)}")
        for name in self.concepts:
            try:
                get_concept(name)
            except KeyError as e:
                raise ValueError(f"Plant {self.unit}: {e.args[0]}") from None

    def parsed(self, model: SubjectModel) -> Unit:
        unit = validate(self.unit, model)
        if unit.site != "mlp" or not unit.is_single:
            raise UnitError(f"only single MLP neurons can be planted (layer.L.mlp.neuron.K), got {self.unit!r}")
        return unit


@dataclass
class LayerScale:
    """How the layer's real neurons are scaled: resting (median) and peak (median of maxima)."""

    rest: float
    peak: float


# ----------------------------------------------------------------------------- words


class WordReader:
    """Groups token ids into words and maps each word to the planted functions' values.

    One reader serves every planted neuron of a model, so each word is evaluated once per
    distinct concept set and cached for the life of the model.
    """

    def __init__(self, tokenizer: Any, functions: Sequence[EntityFunction]):
        self.tokenizer = tokenizer
        self.functions = list(functions)
        self.special = set(tokenizer.all_special_ids)
        backend = getattr(tokenizer, "backend_tokenizer", None)
        kind = type(backend.model).__name__ if backend is not None else ""
        self.wordpiece = kind == "WordPiece" or type(tokenizer).__name__.startswith("Bert")
        self._pieces: dict[int, str] = {}
        self._values: dict[str, np.ndarray] = {}

    def _piece(self, token_id: int) -> str:
        piece = self._pieces.get(token_id)
        if piece is None:
            piece = self.tokenizer.convert_ids_to_tokens(token_id) or ""
            self._pieces[token_id] = piece
        return piece

    def words(self, ids: Sequence[int]) -> list[tuple[int, int, str | None]]:
        """Spans `(start, end, word)` covering `ids`; special tokens are spans with word None."""
        pieces = [self._piece(i) for i in ids]
        breaks = [i in self.special for i in ids]
        return [(s, e, None if breaks[s] else self._text(ids[s:e]))
                for s, e in word_spans(pieces, self.wordpiece, breaks)]

    def _text(self, ids: Sequence[int]) -> str:
        return self.tokenizer.convert_tokens_to_string([self._piece(i) for i in ids]).strip()

    def values(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """Each word's value under every function, `[n_functions]`, evaluating new words in one batch."""
        new = [w for w in dict.fromkeys(words) if w not in self._values]
        if new:
            table = np.array([fn.batch(new) for fn in self.functions], dtype=np.float32).T
            for w, row in zip(new, table):
                self._values[w] = row
        return {w: self._values[w] for w in words}

    def table(self, input_ids: torch.Tensor) -> torch.Tensor:
        """`[B, T, n_functions]` values of every token's word; NaN on special tokens."""
        rows = input_ids.tolist()
        spans = [self.words(r) for r in rows]
        values = self.values([w for s in spans for _, _, w in s if w is not None])
        out = np.full((len(rows), input_ids.shape[1], len(self.functions)), np.nan, dtype=np.float32)
        for b, row_spans in enumerate(spans):
            for start, end, word in row_spans:
                if word is not None:
                    out[b, start:end] = values[word]
        return torch.from_numpy(out)


# ----------------------------------------------------------------------------- modules


class PlantState:
    """What the planted modules of one model share: the plants, the current forward's ids and
    the word values computed for them (once per forward, whichever planted layer asks first)."""

    def __init__(self, plants: Sequence[Plant], units: Sequence[Unit], scales: dict[int, LayerScale],
                 reader: WordReader, function_of: dict[tuple[str, ...], int]):
        self.plants = list(plants)
        self.units = list(units)
        self.scales = scales
        self.reader = reader
        self.function_of = function_of
        self._ids: torch.Tensor | None = None
        self._table: torch.Tensor | None = None

    def start_forward(self, _module: nn.Module, _args: Any) -> None:
        self._ids, self._table = None, None

    def read_ids(self, _module: nn.Module, args: tuple) -> None:
        if args and isinstance(args[0], torch.Tensor) and not args[0].is_floating_point():
            self._ids, self._table = args[0].detach(), None

    def word_table(self, shape: torch.Size) -> torch.Tensor:
        if self._ids is None:
            raise RuntimeError("a planted neuron needs the token ids of its input: call the model with "
                               "input_ids (inputs_embeds bypass the embedding, where the ids are read)")
        if tuple(self._ids.shape) != tuple(shape):
            raise RuntimeError(f"planted neuron: MLP input has positions {tuple(shape)} but the token ids "
                               f"{tuple(self._ids.shape)}; planted models run whole sequences per forward")
        if self._table is None:
            self._table = self.reader.table(self._ids.cpu())
        return self._table

    def layer_plants(self, layer: int) -> list[tuple[int, int]]:
        """`(neuron, function index)` of every plant in `layer`."""
        return [(u.indices[0], self.function_of[p.concepts])
                for p, u in zip(self.plants, self.units) if u.layer == layer]


class PlantedProjection(nn.Module):
    """An MLP down-projection whose input has some columns replaced by planted values.

    The original projection is the child `linear`; tools read and intervene on its input, which
    is the planted activation. Layers without plants pass their input through unchanged.
    """

    def __init__(self, linear: nn.Module, layer: int, state: PlantState):
        super().__init__()
        self.linear = linear
        self.layer = layer
        self.state = state
        self.columns = state.layer_plants(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.columns:
            table = self.state.word_table(x.shape[:-1]).to(device=x.device)
            scale = self.state.scales[self.layer]
            x = x.clone()
            for neuron, fn in self.columns:
                f = table[..., fn]
                planted = scale.rest + f.nan_to_num(0.0) * (scale.peak - scale.rest)
                x[..., neuron] = planted.to(x.dtype)
        return self.linear(x)


# ----------------------------------------------------------------------------- planting


def calibrate(model: SubjectModel, layers: Sequence[int], corpus: Any = "default") -> dict[int, LayerScale]:
    """Resting and peak activation of each layer's real MLP neurons over calibration windows."""
    from tools.activations import read_sites
    from tools.corpus import Corpus, load_corpus, token_windows

    corp = load_corpus(corpus) if isinstance(corpus, str) else corpus
    corp = Corpus(f"{corp.name}[:{CALIBRATION_DOCUMENTS}]", corp.documents[:CALIBRATION_DOCUMENTS])
    ids, mask = token_windows(corp, model.tokenizer, CALIBRATION_WINDOW)
    ids, mask = ids[:CALIBRATION_WINDOWS], mask[:CALIBRATION_WINDOWS]
    sites = [Unit(layer, "mlp") for layer in sorted(set(layers))]
    acts = read_sites(model, {"input_ids": ids.to(model.device)}, sites)
    out = {}
    for site in sites:
        vals = acts[site].float().cpu()[mask]                       # [tokens, d_mlp]
        # Rounded, so that float noise between machines never changes the planted model's fingerprint.
        out[site.layer] = LayerScale(rest=round(float(vals.median()), 4),
                                     peak=round(float(vals.max(dim=0).values.median()), 4))
    return out


def _plant_digest(model: SubjectModel, plants: Sequence[Plant], scales: dict[int, LayerScale]) -> str:
    payload = json.dumps({"rule": PLANT_RULE, "base": model.fingerprint(),
                          "plants": sorted([p.unit, list(p.concepts)] for p in plants),
                          "scales": {str(k): [v.rest, v.peak] for k, v in sorted(scales.items())}},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def plant_concept_neurons(model: SubjectModel, plants: Sequence[Plant], corpus: Any = "default",
                          scales: dict[int, LayerScale] | None = None) -> SubjectModel:
    """A copy of `model` in which each plant's neuron computes its concept's entity function.

    The original model is left untouched. The copy is named `<name>+planted-<digest>` and has
    its own fingerprint (a digest of the base fingerprint, the plants and the scales), so
    exemplar caches of the unplanted model are never reused. `scales` (per layer) overrides
    the calibration on `corpus`.
    """
    plants = list(plants)
    if not plants:
        raise ValueError("plant_concept_neurons needs at least one Plant")
    units = [p.parsed(model) for p in plants]
    seen: dict[Unit, Plant] = {}
    for p, u in zip(plants, units):
        if u in seen:
            raise ValueError(f"{u} is planted twice ({list(seen[u].concepts)} and {list(p.concepts)})")
        seen[u] = p
    layers = sorted({u.layer for u in units})
    if scales is None:
        scales = calibrate(model, layers, corpus)
    missing = [layer for layer in layers if layer not in scales]
    if missing:
        raise ValueError(f"no scale given for planted layers {missing}")
    digest = _plant_digest(model, plants, scales)

    net = copy.deepcopy(model.model)
    subject = wrap_model(net, model.tokenizer, f"{model.name}+planted-{digest}", remote=model.remote)
    concept_sets = list(dict.fromkeys(p.concepts for p in plants))
    reader = WordReader(model.tokenizer, [EntityFunction(list(c)) for c in concept_sets])
    state = PlantState(plants, units, dict(scales), reader, {c: i for i, c in enumerate(concept_sets)})
    for layer in range(subject.n_layers):
        parent_path, _, child = subject.adapter.mlp_out.rpartition(".")
        block = subject.block(layer)
        parent = block.get_submodule(parent_path)
        setattr(parent, child, PlantedProjection(getattr(parent, child), layer, state))
    subject.adapter.mlp_out = f"{subject.adapter.mlp_out}.linear"
    net.register_forward_pre_hook(state.start_forward)
    net.get_input_embeddings().register_forward_pre_hook(state.read_ids)
    subject._fingerprint = hashlib.sha256(f"{model.fingerprint()}:{digest}".encode()).hexdigest()[:16]
    return subject


def plant_state(model: SubjectModel) -> PlantState:
    """The planting of a planted model (its plants and scales); error for an unplanted one."""
    for module in model.model.modules():
        if isinstance(module, PlantedProjection):
            return module.state
    raise ValueError(f"{model.name} has no planted neurons")


# ----------------------------------------------------------------------------- the suite


@dataclass
class PlantedUnit:
    """Ground truth of one planted neuron: never shown to a labeler."""

    unit: str
    concepts: tuple[str, ...]
    description: str          # the entity function's ground-truth description
    unit_tests: list[MultipleChoiceItem]
    function_id: str          # the entity function it was drawn from


@dataclass
class PlantedSuite:
    """A planted model (all a labeler gets) and the ground truth of each planted neuron."""

    model: SubjectModel
    units: list[PlantedUnit] = field(default_factory=list)

    @property
    def address(self) -> str:
        """All planted units as one address (they share a layer): what `run_labeling` takes."""
        sites = {str(validate(u.unit, self.model).site_unit()) for u in self.units}
        if len(sites) != 1:
            raise ValueError(f"planted units span several sites {sorted(sites)}; label them per site")
        neurons = sorted(validate(u.unit, self.model).indices[0] for u in self.units)
        return f"{sites.pop()}.neuron.{','.join(map(str, neurons))}"


def default_layer(model: SubjectModel) -> int:
    """The middle block: deep enough to be a real mid-network layer on every architecture."""
    return model.n_layers // 2


def plan_planted(model: SubjectModel, functions: Sequence[SuiteFunction], seed: int = 0,
                 layer: int | None = None, corpus: Any = "default") -> PlantedSuite:
    """Plant each entity function of `functions` into a distinct random neuron of one layer."""
    if not functions:
        raise ValueError("no entity functions to plant")
    bad = [f.id for f in functions if f.category != "neurons_entities"]
    if bad:
        raise ValueError(f"only neurons_entities functions can be planted, not {bad}")
    bare = [f.id for f in functions if not f.unit_tests or "concepts" not in f.ground_truth.metadata]
    if bare:
        raise ValueError(f"functions {bare} lack unit tests or ground-truth concepts (generated suites have both)")
    layer = default_layer(model) if layer is None else layer
    validate(Unit(layer, "mlp"), model)
    if len(functions) > model.d_mlp:
        raise ValueError(f"{len(functions)} plants do not fit in {model.d_mlp} neurons")
    neurons = random.Random(f"{seed}:planted:{model.name}").sample(range(model.d_mlp), len(functions))
    units = [PlantedUnit(unit=f"layer.{layer}.mlp.neuron.{k}", concepts=tuple(f.ground_truth.metadata["concepts"]),
                         description=f.ground_truth.description, unit_tests=list(f.unit_tests), function_id=f.id)
             for f, k in zip(functions, neurons)]
    planted = plant_concept_neurons(model, [Plant(u.unit, u.concepts) for u in units], corpus=corpus)
    return PlantedSuite(model=planted, units=units)


def planted_suite(model_name: str | SubjectModel = "minilm", n: int = 10, seed: int = 0,
                  layer: int | None = None, corpus: Any = "default") -> PlantedSuite:
    """`n` entity functions of the suite generator (FIND's 70% one-concept, 30% two-concept mix,
    with their multiple-choice unit tests), planted into `n` neurons of the middle layer."""
    from find_functions.entities import generate_entities
    from tools.models import load_model

    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    model = load_model(model_name) if isinstance(model_name, str) else model_name
    return plan_planted(model, generate_entities(seed, n), seed=seed, layer=layer, corpus=corpus)
