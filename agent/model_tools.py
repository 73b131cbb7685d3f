"""Tools for investigating units of a subject model, shared by the LLM labeler and `aia chat`.

They are `@tool` functions (agent.tools_registry), so one signature and docstring give the
OpenAI and Anthropic schemas, the text-protocol documentation and argument validation. Each
takes a `ModelToolContext`: the subject model, where exemplars come from (the labeling runner
injects a source that hides held-out exemplars), the hypothesis ledger and an interrupt flag.

Every tool returns text for the model plus `data` for code that does not read prose (the
builtin chat responder reads exemplars from it). Long tools check `ctx.interrupt` between
batches and raise `ToolInterrupted`, which passes through the registry's catch-all so the
conversation can record the interruption instead of an error observation.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from agent.engine import ToolInterrupted
from agent.ledger import Ledger
from agent.task import Answer
from agent.tools_registry import ToolInputError, ToolOutput, ToolRegistry, record_hypotheses, tool
from prompts import render
from tools import DEFAULT_MAX_WINDOWS, activations, function_vectors, interventions, units
from tools.activations import eager_attention
from tools.corpus import load_corpus
from tools.exemplars import (
    TOP_DEPTH,
    CacheSpec,
    Exemplar,
    Exemplars,
    UnitStats,
    build_cache,
    dataset_exemplars,
    every_tenth,
    search_windows,
)
from tools.exemplars import (
    unit_stats as cache_unit_stats,
)
from tools.function_vectors import zero_shot_accuracy
from tools.inputs import edit_inputs, fill_template_spans
from tools.models import SubjectModel
from tools.plots import heatmap, token_activations
from tools.units import Unit, UnitError, validate
from tools.words import piece_words

#: Texts per forward pass in tools that take many texts; the interrupt flag is checked between them.
BATCH = 16
#: Most texts one call may send (each is a forward pass row).
MAX_TEXTS = 256
#: Random same-size unit sets ablated as the baseline of an encoder ablation.
BASELINE_UNITS = 5
#: Tokens shown per text in per-token listings (the rest are counted).
MAX_TOKENS_SHOWN = 48

ExemplarSource = Callable[[str, int], list[Exemplar]]


@dataclass
class LabelSubmission:
    """What `submit_label` accepted: the end of a labeling investigation."""

    label: str
    description: str
    evidence: list[str]


@dataclass
class ModelToolContext:
    """Per-session state the model tools act on.

    `exemplar_source(unit, k)` returns a unit's top-k exemplars; None means the dataset
    exemplar cache of `corpus` (built on first use, interruptibly) under `cache_root`.
    `unit` is the unit under study when there is one (labeling); tools still accept others.
    """

    model: SubjectModel
    corpus: Any = "default"
    cache_root: Path | None = None
    max_windows: int | None = DEFAULT_MAX_WINDOWS
    window: int = 64
    exemplar_source: ExemplarSource | None = None
    #: Windows of the exemplar corpus that no tool may show (the labeling runner's held-out ones);
    #: called once, on the first corpus search.
    hidden_windows: Callable[[], set[int]] | None = None
    ledger: Ledger = field(default_factory=Ledger)
    unit: str | None = None
    round_no: int = 0
    interrupt: threading.Event = field(default_factory=threading.Event)
    submitted: LabelSubmission | None = None
    #: Receives one line per step of a long tool (describe_unit), for a person watching; not
    #: part of the observation.
    progress: Callable[[str], None] | None = None
    _corpus: Any = field(default=None, init=False, repr=False)
    _stats: dict = field(default_factory=dict, init=False, repr=False)
    _hidden: set[int] | None = field(default=None, init=False, repr=False)

    def report(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def check_interrupt(self) -> None:
        if self.interrupt.is_set():
            raise ToolInterrupted()

    def unit_of(self, address: str, single: bool = False) -> Unit:
        """Validate an address against the model; bad ones become observations naming what exists."""
        try:
            unit = validate(address, self.model)
        except UnitError as e:
            raise ToolInputError(str(e)) from None
        if single and not unit.is_single:
            raise ToolInputError(f"{unit} is several units; give one, e.g. "
                                 f"{Unit(unit.layer, unit.site, ((unit.indices or (0,))[0],))}")
        return unit

    def top_exemplars(self, unit: str, k: int) -> list[Exemplar]:
        if self.exemplar_source is not None:
            return self.exemplar_source(unit, k)
        return self.dataset_exemplars(unit, k).top

    def dataset_exemplars(self, unit: str, k: int) -> Exemplars:
        """`tools.exemplars.dataset_exemplars`, building a missing cache with interrupt checks
        and progress reports."""

        parsed = self.unit_of(unit, single=True)
        if self._corpus is None:
            self._corpus = load_corpus(self.corpus) if isinstance(self.corpus, (str, Path)) else self.corpus
        spec = CacheSpec(self.model, self._corpus, self.window, self.max_windows, self.cache_root)
        if not spec.layer_complete(parsed.layer):
            # The first request for a layer scans the corpus (minutes on a big model): the
            # progress callback is where an interrupt can stop it; the last checkpoint is kept.
            self.report(f"building the exemplar cache of layer {parsed.layer} (once per layer): "
                        f"one pass over the corpus {self._corpus.name}")
            tenths = every_tenth(self.report)

            def progress(done: int, total: int) -> None:
                self.check_interrupt()
                tenths(done, total)

            build_cache(self.model, self._corpus, [parsed.layer], k=max(k, TOP_DEPTH), window=self.window,
                        max_windows=self.max_windows, root=self.cache_root, progress=progress)
        self.check_interrupt()
        return dataset_exemplars(self.model, parsed, k=k, corpus=self._corpus, window=self.window,
                                 max_windows=self.max_windows, root=self.cache_root)

    def spec(self) -> CacheSpec:
        if self._corpus is None:
            self._corpus = load_corpus(self.corpus) if isinstance(self.corpus, (str, Path)) else self.corpus
        return CacheSpec(self.model, self._corpus, self.window, self.max_windows, self.cache_root)

    def unit_stats(self, unit: str, build: bool = True) -> UnitStats | None:
        """The unit's activation scale on random text (tools.exemplars.unit_stats), once per unit;
        None when the layer's cache is missing and `build` is False."""
        if unit not in self._stats:
            parsed = self.unit_of(unit, single=True)
            if not self.spec().layer_complete(parsed.layer):
                if not build:
                    return None
                self.dataset_exemplars(str(parsed), 1)
            self.check_interrupt()
            # Never over held-out windows: in a labeling run the scorer's negatives are excluded.
            self._stats[unit] = cache_unit_stats(self.model, parsed, self._corpus, window=self.window,
                                                 max_windows=self.max_windows, root=self.cache_root,
                                                 exclude=self.hidden())
        return self._stats[unit]

    def hidden(self) -> set[int]:
        if self._hidden is None:
            self._hidden = set(self.hidden_windows()) if self.hidden_windows is not None else set()
        return self._hidden

    def special_tokens(self) -> frozenset[str]:
        return frozenset(getattr(self.model.tokenizer, "all_special_tokens", []) or [])

    def activations(self, unit: str, texts: list[str]) -> list:
        """`call_unit` in batches of BATCH texts, checking the interrupt flag between them."""

        parsed = self.unit_of(unit)
        texts = _texts(texts)
        out = []
        for start in range(0, len(texts), BATCH):
            self.check_interrupt()
            out += activations.call_unit(self.model, parsed, texts[start:start + BATCH], batch_size=BATCH)
        return out


def _texts(texts: list[str]) -> list[str]:
    if not texts:
        raise ToolInputError("texts is empty: give at least one text")
    if len(texts) > MAX_TEXTS:
        raise ToolInputError(f"{len(texts)} texts in one call; the limit is {MAX_TEXTS}")
    if any(not t.strip() for t in texts):
        raise ToolInputError("texts must not be empty strings")
    return list(texts)


def _num(v: float) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _clean(token: str) -> str:
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\\n").replace("##", "")


def _token_listing(tokens: list[str], values: list[float]) -> str:
    """`tok(value)` pairs, the first MAX_TOKENS_SHOWN of them."""
    pairs = " ".join(f"{_clean(t).strip() or repr(t)}({_num(float(v))})"
                     for t, v in zip(tokens[:MAX_TOKENS_SHOWN], values[:MAX_TOKENS_SHOWN]))
    more = len(tokens) - MAX_TOKENS_SHOWN
    return pairs + (f" ... [{more} more tokens]" if more > 0 else "")


def _peak(values: list[float], tokens: list[str] | None = None,
          special: frozenset[str] = frozenset()) -> tuple[int, float]:
    """(position, value) of the largest activation, skipping NaN and special tokens ([CLS], BOS:
    attention sinks whose activations say nothing about the text) when there is anything else."""
    finite = [(i, float(v)) for i, v in enumerate(values) if not math.isnan(float(v))
              and (tokens is None or tokens[i] not in special)] or \
             [(i, float(v)) for i, v in enumerate(values) if not math.isnan(float(v))]
    if not finite:
        return 0, float("nan")
    return max(finite, key=lambda p: p[1])


def _activation_image(rows: list[tuple[list[str], list[float]]], title: str, most: int = 10) -> bytes:
    """PNG of up to `most` texts, one band each, tokens coloured by activation (tools.plots)."""

    from PIL import Image


    bands = [token_activations(tokens, values, title=title if i == 0 else "")
             for i, (tokens, values) in enumerate(rows[:most])]
    sheet = Image.new("RGB", (max(b.width for b in bands), sum(b.height for b in bands)), "white")
    y = 0
    for band in bands:
        sheet.paste(band, (0, y))
        y += band.height
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()


def _wrap_value_error(fn: Callable[[], Any]) -> Any:
    """Library errors about the request (wrong lengths, encoder vs LM) become observations."""
    try:
        return fn()
    except (ValueError, UnitError) as e:
        raise ToolInputError(str(e)) from None


# ---------------------------------------------------------------------------------------------
# The tools


@tool()
def list_units(ctx: ModelToolContext) -> ToolOutput:
    """List the subject model's units: its layers, and the MLP neurons, attention heads and residual dimensions of each,
    as unit addresses."""

    addresses = units.list_units(ctx.model)
    lines = [render("model_tools_units", model=ctx.model), *addresses]
    if ctx.unit:
        lines.append(f"Unit under study: {ctx.unit}")
    return ToolOutput("\n".join(lines), data={"units": addresses})


@tool()
def exemplars(ctx: ModelToolContext, unit: str, k: int = 10, image: bool = False) -> ToolOutput:
    """The corpus text windows on which a unit fires most, strongest first: each with its peak token marked
    [[like this]], its activation, and the unit's strongest tokens in that window.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117 or layer.2.attn.head.5.
        k: How many windows (1 to 20).
        image: Also return an image of the windows with each token coloured by its activation.
    """
    from agent.labeling.neurons import snippet

    if not 1 <= k <= 20:
        raise ToolInputError(f"k must be between 1 and 20, got {k}")
    parsed = ctx.unit_of(unit, single=True)
    found = _wrap_value_error(lambda: ctx.top_exemplars(str(parsed), k))
    if not found:
        return ToolOutput(f"{parsed}: no exemplars available", data={"unit": str(parsed), "exemplars": []})
    lines = [f"Top {len(found)} exemplars of {parsed} (activation at the marked token):"]
    if len(found) < k:
        lines[0] += f" ({k} asked; no more are available to you: the others are held out or not cached)"
    try:
        stats = ctx.unit_stats(str(parsed), build=False) if ctx.exemplar_source is not None \
            else ctx.unit_stats(str(parsed))
    except (ValueError, OSError, UnitError):
        stats = None
    if stats is not None:
        lines.append(_scale_line(stats))
    for i, e in enumerate(found, 1):
        finite = sorted(((float(v), t) for t, v in zip(e.tokens, e.values) if not math.isnan(float(v))), reverse=True)
        strongest = ", ".join(f"{_clean(t).strip()} {v:.3g}" for v, t in finite[:3])
        lines.append(f"{i}. {e.score:.3g}: {snippet(e)}   [strongest tokens: {strongest}]")
    images = [_activation_image([(e.tokens, e.values) for e in found], f"top exemplars of {parsed}")] if image else []
    return ToolOutput("\n".join(lines), images=images, data={"unit": str(parsed), "exemplars": found})


def _scale_line(st: UnitStats) -> str:
    tq = ", ".join(f"p{q * 100:g} {_num(v)}" for q, v in st.token_quantiles.items())
    wq = ", ".join(f"p{q * 100:g} {_num(v)}" for q, v in st.window_quantiles.items())
    return (f"Scale on random text: per token {tq}; fires (> 0) on {st.firing_rate:.1%} of tokens; "
            f"window maxima {wq}; corpus top {_num(st.top)}")


@tool()
def unit_stats(ctx: ModelToolContext, unit: str) -> ToolOutput:
    """A unit's activation scale on random corpus text: quantiles of its per-token activation, the share of tokens on
    which it fires (> 0), quantiles of its per-window maximum, and its top value over the corpus. Use it to tell a
    strong activation from an ordinary one.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117.
    """
    parsed = ctx.unit_of(unit, single=True)
    st = _wrap_value_error(lambda: ctx.unit_stats(str(parsed)))
    return ToolOutput(f"{parsed} on {st.n_windows} random windows ({st.n_tokens} tokens):\n{_scale_line(st)}",
                      data=st)


@tool()
def search_corpus(ctx: ModelToolContext, unit: str, word: str, k: int = 10) -> ToolOutput:
    """Find corpus windows containing a word (whole word, any case) and return them ranked by the unit's activation
    on that word (the window's peak, which may sit on another token, is shown beside it): does the unit fire on this
    word in natural text, and in which contexts?

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117.
        word: The word to look for, e.g. "river".
        k: How many windows to show (1 to 20; up to 64 matching windows are run and ranked).
    """
    from agent.labeling.neurons import snippet

    if not 1 <= k <= 20:
        raise ToolInputError(f"k must be between 1 and 20, got {k}")
    parsed = ctx.unit_of(unit, single=True)
    spec = ctx.spec()
    ctx.check_interrupt()
    found, total = _wrap_value_error(lambda: search_windows(ctx.model, parsed, word, spec.corpus, window=ctx.window,
                                                            max_windows=ctx.max_windows, root=ctx.cache_root,
                                                            exclude=ctx.hidden()))
    if not found:
        return ToolOutput(f"no corpus window contains the word {word!r}", data={"unit": str(parsed), "windows": []})
    lines = [f"{total} corpus windows contain {word!r}; the {min(total, 64)} first were run; "
             f"the {min(k, len(found))} where {parsed} is strongest on {word!r} (activation on the word, then the "
             f"window's peak, peak token marked):"]
    lines += [f"{i}. {_num(e.at_word)} on {word!r} (peak {e.score:.3g}): {snippet(e)}"
              for i, e in enumerate(found[:k], 1)]
    return ToolOutput("\n".join(lines), data={"unit": str(parsed), "windows": found[:k], "matches": total})


@tool()
def call_unit(ctx: ModelToolContext, unit: str, texts: list[str], image: bool = False) -> ToolOutput:
    """Run texts through the model and return the unit's activation on every token (for a range of units: the maximum
    over them), with each text's peak (special tokens such as [CLS] or BOS are listed but not counted as the peak).

    Args:
        unit: A unit address, e.g. layer.3.mlp.neuron.117, or a range like layer.3.mlp.neuron.0:8.
        texts: The texts to run (up to 256); batch many in one call.
        image: Also return an image of the first 10 texts with each token coloured by its activation.
    """
    acts = ctx.activations(unit, texts)
    lines, rows = [], []
    for a in acts:
        values = [float(v) for v in (a.values if a.values.ndim == 1 else a.values.max(axis=1))]
        i, peak = _peak(values, a.tokens, ctx.special_tokens())
        rows.append({"text": a.text, "tokens": a.tokens, "values": values, "max": peak})
        lines.append(f"{a.text!r}: max {_num(peak)} at {_clean(a.tokens[i]).strip()!r}\n"
                     f"    {_token_listing(a.tokens, values)}")
    images = ([_activation_image([(r["tokens"], r["values"]) for r in rows], f"activations of {acts[0].unit}")]
              if image else [])
    return ToolOutput(f"Activations of {acts[0].unit}:\n" + "\n".join(lines), images=images,
                      data={"unit": acts[0].unit, "rows": rows})


@tool()
def top_units(ctx: ModelToolContext, text: str, site: str = "mlp", token: str | None = None, position: int = -1,
              k: int = 10) -> ToolOutput:
    """Which units respond most to one token of a text: the k largest activations at that token among every unit of a
    site, in one forward pass (instead of scanning unit ranges with call_unit).

    Args:
        text: The text to run.
        site: Where to look: mlp, attn or resid (that site in every layer), or one address such as layer.3.mlp or a
            range such as layer.3.mlp.neuron.0:500.
        token: The token to read, by its text (the first token that matches it, case-insensitive); overrides position.
        position: The token to read, by index (negative counts from the end; -1 is the last token).
        k: How many units to return (1 to 100).
    """
    if not 1 <= k <= 100:
        raise ToolInputError(f"k must be 1..100, got {k}")
    if not text.strip():
        raise ToolInputError("text is empty")
    sites: list[str] = ([f"layer.{layer}.{site}" for layer in range(ctx.model.n_layers)]
                        if site in units.SITES else [str(ctx.unit_of(site))])
    if token is not None:
        tokens = ctx.model.tokenizer.convert_ids_to_tokens(ctx.model.tokenize([text])["input_ids"][0].tolist())
        wanted = token.strip().lower()
        matches = [i for i, t in enumerate(tokens) if _clean(t).strip().lower() == wanted]
        if not matches:
            shown = ", ".join(f"{i} {_clean(t).strip() or t!r}" for i, t in enumerate(tokens[:MAX_TOKENS_SHOWN]))
            raise ToolInputError(f"no token {token!r} in the text; its tokens are: {shown}")
        position = matches[0]
    ctx.check_interrupt()
    found = _wrap_value_error(lambda: activations.top_units(ctx.model, text, sites, position=position, k=k))
    where = site if site in units.SITES else sites[0]
    lines = [f"Top {len(found.units)} units of {where} at token {found.position} "
             f"({_clean(found.tokens[found.position]).strip() or found.tokens[found.position]!r}) of {text!r}:"]
    lines += [f"{i}. {u}: {_num(v)}" for i, (u, v) in enumerate(zip(found.units, found.values), 1)]
    return ToolOutput("\n".join(lines), data={"tokens": found.tokens, "position": found.position,
                                              "units": found.units, "values": found.values})


def _token_spans(ctx: ModelToolContext, text: str, n_tokens: int) -> list[tuple[int, int]] | None:
    """Character span of each token of `text` as the model tokenizes it (None when the tokenizer
    gives no offsets or a different token count)."""
    try:
        offsets = ctx.model.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    except (NotImplementedError, TypeError, ValueError, KeyError):
        return None
    return [tuple(o) for o in offsets] if len(offsets) == n_tokens else None


def _slot_activation(values: list[float], offsets: list[tuple[int, int]] | None,
                     spans: list[tuple[int, int]]) -> float:
    """The largest activation on the tokens that overlap a slot's fills (NaN if none do)."""
    if offsets is None:
        return float("nan")
    hit = [v for (a, b), v in zip(offsets, values) if b > a and not math.isnan(v)
           and any(a < e and s < b for s, e in spans)]
    return max(hit) if hit else float("nan")


def _sort_key(v: float) -> float:
    return -v if not math.isnan(v) else math.inf


@tool()
def synthesize(ctx: ModelToolContext, unit: str, template: str, slots: dict[str, list[str]], n: int = 20) -> ToolOutput:
    """Fill a template's {slots} with every combination of the given values (or n of them), run the texts, and return
    the unit's activation at each slot (on the tokens of the filled-in word) beside its peak over the whole text,
    sorted by the slot activation, strongest first.

    Args:
        unit: A unit address, e.g. layer.3.mlp.neuron.117.
        template: Text with named slots in braces, e.g. "I saw a {animal} near the {place}."
        slots: Values for each slot, e.g. {"animal": ["dog", "cat"], "place": ["river", "road"]}.
        n: At most this many filled texts (sampled when there are more combinations; up to 256).
    """

    if not 1 <= n <= MAX_TEXTS:
        raise ToolInputError(f"n must be between 1 and {MAX_TEXTS}, got {n}")
    filled = _wrap_value_error(lambda: fill_template_spans(template, slots, n))
    if not filled:
        raise ToolInputError("the template produced no texts: every slot needs at least one value")
    acts = ctx.activations(unit, [f.text for f in filled])
    rows = []
    for f, a in zip(filled, acts):
        values = [float(v) for v in (a.values if a.values.ndim == 1 else a.values.max(axis=1))]
        i, peak = _peak(values, a.tokens, ctx.special_tokens())
        offsets = _token_spans(ctx, a.text, len(a.tokens))
        at = {name: _slot_activation(values, offsets, spans) for name, spans in f.spans.items()}
        best = max((v for v in at.values() if not math.isnan(v)), default=float("nan"))
        rows.append({"text": a.text, "slot": best, "slots": at, "peak": peak,
                     "peak_token": _clean(a.tokens[i]).strip()})
    rows.sort(key=lambda r: (_sort_key(r["slot"]), _sort_key(r["peak"])))
    several = len(filled[0].spans) > 1
    lines = []
    for r in rows:
        slot = (", ".join(f"{k} {_num(v)}" for k, v in r["slots"].items()) if several else _num(r["slot"]))
        lines.append(f"at slot {slot}; peak {_num(r['peak'])} at {r['peak_token']!r}  {r['text']!r}")
    combinations = math.prod(len(v) for v in slots.values() if v)
    sampled = (f" (a sample of the {combinations} combinations: pass a larger n, up to {MAX_TEXTS}, for more)"
               if combinations > len(filled) else "")
    return ToolOutput(f"Activation of {acts[0].unit} at the filled slot (and its peak over the text) on "
                      f"{len(filled)} filled templates{sampled}, strongest slot first:\n" + "\n".join(lines),
                      data={"unit": acts[0].unit, "texts": [r["text"] for r in rows],
                            "slot_values": [r["slot"] for r in rows], "slots": [r["slots"] for r in rows],
                            "peaks": [r["peak"] for r in rows]})


@tool()
def edit(ctx: ModelToolContext, unit: str, text: str, swaps: dict[str, list[str]] | None = None,
         remove_words: list[str] | None = None) -> ToolOutput:
    """Make minimal edits of one text (swap a word for others, or remove a word) and report how each changes the unit's
    peak activation, and at which word the peak is. An edit whose word is not in the text is skipped (the output
    says so); the others still run.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117.
        text: The original text.
        swaps: Words to replace and their replacements, e.g. {"river": ["lake", "road"]} (whole words, case-sensitive).
        remove_words: Words whose every occurrence is removed, one edit per word.
    """

    parsed = ctx.unit_of(unit, single=True)
    skipped: list[str] = []
    edits = _wrap_value_error(lambda: edit_inputs(text, swaps=swaps, remove_words=remove_words, skipped=skipped))
    texts = list(dict.fromkeys([text] + [e.edited for e in edits]))
    acts = {}
    for a in ctx.activations(str(parsed), texts):
        values = [float(v) for v in a.values]
        i, peak = _peak(values, a.tokens, ctx.special_tokens())
        acts[a.text] = (peak, _peak_place(a.tokens, i))
    before, where = acts[text]
    lines = [f"original {text!r}: peak {_num(before)} at {where}"]
    effects = []
    for e in edits:
        after, at = acts[e.edited]
        effects.append({"change": e.change, "edited": e.edited, "before": before, "after": after,
                        "delta": after - before, "peak_at": at})
        lines.append(f"{e.change}: peak {_num(after)} at {at} (change {after - before:+.3g})  {e.edited!r}")
    lines += [f"skipped {reason}" for reason in skipped]
    return ToolOutput(f"Edits of one text, unit {parsed}:\n" + "\n".join(lines),
                      data={"unit": str(parsed), "effects": effects, "peak_at": where, "skipped": skipped})


def _peak_place(tokens: list[str], i: int) -> str:
    """'token' #i of word 'w': where a peak is, as the token, its position and its whole word."""
    word = piece_words(tokens)[i] if tokens else ""
    tok = _clean(tokens[i]).strip() or tokens[i]
    return f"{tok!r} (token {i}" + (f", word {word!r})" if word and word != tok.lower() else ")")


@tool()
def ablate(ctx: ModelToolContext, unit: str, texts: list[str], mode: Literal["zero", "mean", "resample"] = "zero",
           downstream: list[str] | None = None) -> ToolOutput:
    """Knock a unit (or range) out at every token and measure what changes: next-token predictions and loss (language
    models) or the sentence embedding (encoders: with each token's output change and, as a baseline, the mean effect of
    ablating random other units of the same site, as many as ablated), and optionally later units.

    Args:
        unit: The unit or range to ablate, e.g. layer.3.mlp.neuron.117 or layer.2.attn.head.0:4.
        texts: Texts to run (up to 64).
        mode: zero (set to 0), mean (its mean over the texts' tokens) or resample (values from random tokens).
        downstream: Later units whose mean absolute change to report, e.g. ["layer.5.mlp.neuron.3"].
    """

    parsed = ctx.unit_of(unit)
    texts = _texts(texts)
    if len(texts) > 64:
        raise ToolInputError(f"{len(texts)} texts; ablate takes up to 64")
    ctx.check_interrupt()
    r = _wrap_value_error(lambda: interventions.ablate(ctx.model, parsed, texts, mode=mode, downstream=downstream))
    base = None
    if not ctx.model.is_causal and parsed.indices is not None:
        ctx.check_interrupt()
        try:
            base = interventions.random_unit_baseline(ctx.model, parsed, texts, mode=mode, n=BASELINE_UNITS)
        except ValueError:
            base = None
    lines = [f"Ablating {r.unit} ({r.mode}):"]
    for i, t in enumerate(texts):
        line = f"{t!r}:"
        if r.loss_before is not None:
            line += f" next-token KL {r.kl[i]:.3g}, loss {r.loss_before[i]:.3g} -> {r.loss_after[i]:.3g};"
            before = ", ".join(f"{_clean(w)!r} {p:.2f}" for w, p in r.top_before[i][:3])
            after = ", ".join(f"{_clean(w)!r} {p:.2f}" for w, p in r.top_after[i][:3])
            line += f" top next tokens {before} -> {after}"
        if r.embedding_cosine is not None:
            line += f" embedding cosine (original vs ablated) {r.embedding_cosine[i]:.4f}"
            if base is not None and base.embedding_effect is not None:
                line += (f" (effect 1-cos {1 - r.embedding_cosine[i]:.3g} vs {base.embedding_effect[i]:.3g} "
                         f"for {len(base.units)} random same-size ablations of {parsed.site})")
            if r.token_cosine is not None:
                effect = [1 - c for c in r.token_cosine[i]]
                line += "\n    per-token effect 1-cos: " + _token_listing(r.tokens[i], effect)
        lines.append(line)
    for d, changes in r.downstream.items():
        lines.append(f"downstream {d}: mean |change| per text " + ", ".join(f"{c:.3g}" for c in changes))
    data = {"unit": r.unit, "mode": r.mode, "kl": r.kl, "loss_before": r.loss_before, "loss_after": r.loss_after,
            "embedding_cosine": r.embedding_cosine, "downstream": r.downstream, "token_cosine": r.token_cosine,
            "baseline_units": base.units if base else None,
            "baseline_embedding_effect": base.embedding_effect if base else None}
    return ToolOutput("\n".join(lines), data=data)


@tool(requires=["causal"])
def patch(ctx: ModelToolContext, clean: str, corrupt: str, site: str, positions: list[int] | None = None) -> ToolOutput:
    """Activation patching (language models only): run the corrupt text with the site's activation copied from the clean
    text, and report how much of the clean run's next-token preference it restores (recovery 1 = all, 0 = none).

    Args:
        clean: The clean prompt.
        corrupt: The corrupt prompt; it must have the same number of tokens as the clean one.
        site: Where to patch: a unit, range or whole site, e.g. layer.4.resid, layer.3.attn.head.2.
        positions: Token positions to patch (0-based); default all.
    """

    parsed = ctx.unit_of(site)
    ctx.check_interrupt()
    r = _wrap_value_error(lambda: interventions.patch(ctx.model, clean, corrupt, parsed, positions=positions))
    top = ", ".join(f"{_clean(w)!r} {p:.2f}" for w, p in r.top_patched)
    text = (f"Patching {r.site} (positions {'all' if r.positions is None else r.positions}) from clean into corrupt:\n"
            f"metric clean {r.clean:.4g}, corrupt {r.corrupt:.4g}, patched {r.patched:.4g}; "
            f"recovery {_num(r.recovery)}\n"
            f"top next tokens after patching: {top}")
    return ToolOutput(text, data={"site": r.site, "clean": r.clean, "corrupt": r.corrupt, "patched": r.patched,
                                  "recovery": r.recovery})


@tool(requires=["causal"])
def steer(ctx: ModelToolContext, site: str, scale: float, texts: list[str], positions: Literal["all", "last"] = "all",
          max_new_tokens: int = 0) -> ToolOutput:
    """Steering (language models only): add `scale` to each neuron or residual dimension of the site (for an SAE latent
    or a direction: `scale` times its direction in the site) and report how next-token predictions (and, if asked,
    greedy continuations) change.

    Args:
        site: MLP neurons, residual dimensions, SAE latents or a direction, e.g. layer.3.mlp.neuron.117,
            layer.4.resid.dim.0:10, layer.6.resid.sae.latent.12 or layer.6.resid.direction.NAME.
        scale: The value added to each element (try values near the unit's top activations, and negative ones).
        texts: Prompts to steer (up to 16).
        positions: all (every token) or last (each prompt's last token).
        max_new_tokens: Greedy continuation length with and without steering (0 to 20; 0 skips generation).
    """


    parsed = ctx.unit_of(site)
    if parsed.site == "attn" and parsed.feature is None:
        raise ToolInputError("steer adds values to neurons, residual dimensions, SAE latents or directions; to test a "
                             "head, use ablate or patch")
    texts = _texts(texts)
    if len(texts) > 16:
        raise ToolInputError(f"{len(texts)} texts; steer takes up to 16")
    if not 0 <= max_new_tokens <= 20:
        raise ToolInputError(f"max_new_tokens must be between 0 and 20, got {max_new_tokens}")
    width = len(parsed.indices) if parsed.indices is not None else ctx.model.unit_width(parsed)
    ctx.check_interrupt()
    r = _wrap_value_error(lambda: interventions.steer(ctx.model, parsed, torch.ones(width), scale, texts,
                                            positions=positions, max_new_tokens=max_new_tokens))
    lines = [f"Steering {r.site} by {scale:+g} at {positions} positions:"]
    for i, t in enumerate(texts):
        before = ", ".join(f"{_clean(w)!r} {p:.2f}" for w, p in r.top_before[i][:3])
        after = ", ".join(f"{_clean(w)!r} {p:.2f}" for w, p in r.top_after[i][:3])
        lines.append(f"{t!r}: KL {r.kl[i]:.3g}; top next tokens {before} -> {after}")
        if max_new_tokens:
            lines.append(f"    continuation {r.continuation_before[i]!r} -> {r.continuation_after[i]!r}")
    return ToolOutput("\n".join(lines), data={"site": r.site, "scale": scale, "kl": r.kl,
                                              "continuation_before": r.continuation_before,
                                              "continuation_after": r.continuation_after})


@tool()
def attention(ctx: ModelToolContext, unit: str, text: str, query: int | None = None, key: int | None = None,
              image: bool = False) -> ToolOutput:
    """An attention head's pattern on one text: for each token, the tokens it attends to most (with weights), plus the
    share of attention to the previous token; or one query's whole row, or one query/key weight.

    Args:
        unit: One head, e.g. layer.2.attn.head.5.
        text: The text to run.
        query: A query token's index: list its attention to every key (negative counts from the end).
        key: With query, a key token's index: the weight of that one pair.
        image: Also return the whole pattern as a heatmap (queries as rows, keys as columns).
    """

    parsed = ctx.unit_of(unit, single=True)
    if parsed.site != "attn":
        raise ToolInputError(f"{parsed} is not an attention head; give layer.L.attn.head.H")
    if not text.strip():
        raise ToolInputError("text is empty")
    if key is not None and query is None:
        raise ToolInputError("key needs query: give both for one pair, or query alone for its row")
    m = ctx.model
    inputs = m.tokenize([text])
    with torch.no_grad(), eager_attention(m.model):
        out = m.model(**inputs, output_attentions=True)
    pattern = out.attentions[parsed.layer][0, parsed.indices[0]].float()      # [T, T]
    tokens = m.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    n = len(tokens)

    def index(i: int, what: str) -> int:
        if not -n <= i < n:
            raise ToolInputError(f"{what} {i} is outside the text's {n} tokens (0..{n - 1})")
        return i % n

    def name(i: int) -> str:
        return f"{_clean(tokens[i]).strip() or tokens[i]}@{i}"

    if query is not None and key is not None:
        q, kk = index(query, "query"), index(key, "key")
        lines = [f"Attention of {parsed} on {text!r}: query {name(q)} -> key {name(kk)}: {float(pattern[q, kk]):.3f}"]
    elif query is not None:
        q = index(query, "query")
        lines = [f"Attention of {parsed} on {text!r}: query {name(q)} to every key (weights sum to 1):"]
        lines += [f"{name(j)} {float(pattern[q, j]):.3f}" for j in range(n)]
    else:
        lines = [f"Attention of {parsed} on {text!r} (query token -> its top keys):"]
        for q in range(min(n, MAX_TOKENS_SHOWN)):
            w, top = pattern[q].topk(min(3, n))
            lines.append(f"{q} {_clean(tokens[q]).strip() or tokens[q]}: "
                         + ", ".join(f"{name(int(j))} {float(v):.2f}" for v, j in zip(w, top)))
    prev = (float(torch.stack([pattern[q, q - 1] for q in range(1, n)]).mean()) if n > 1 else float("nan"))
    lines.append(f"mean attention to the previous token: {_num(prev)}")
    images = []
    if image:
        buf = io.BytesIO()
        labels = [name(i) for i in range(n)]
        heatmap(pattern.numpy(), labels, labels, title=f"{parsed}: attention (rows: queries, columns: keys)"
                ).save(buf, format="PNG")
        images.append(buf.getvalue())
    return ToolOutput("\n".join(lines), images=images,
                      data={"unit": str(parsed), "tokens": tokens, "pattern": pattern.tolist(), "previous_token": prev})


@tool(scopes=["chat"], requires=["causal"])
def function_vector(ctx: ModelToolContext, pairs: list[list[str]], n_prompts: int = 5, n_shots: int = 5,
                    top_heads: int = 5) -> ToolOutput:
    """Function probing (language models only): find the attention heads that carry an in-context task (function
    vectors, Todd et al.) from input/output pairs, and test whether their summed output makes the model do the task
    zero-shot.

    Args:
        pairs: Input/output examples of the task, each [input, output], e.g. [["hot", "cold"], ["big", "small"], ...];
            at least n_shots + 1 of them.
        n_prompts: Number of in-context prompts averaged over (1 to 20).
        n_shots: Demonstrations per prompt (1 to 10).
        top_heads: Heads summed into the function vector (1 to 20).
    """

    if not (1 <= n_prompts <= 20 and 1 <= n_shots <= 10 and 1 <= top_heads <= 20):
        raise ToolInputError("n_prompts must be 1..20, n_shots 1..10 and top_heads 1..20")
    if any(len(p) != 2 for p in pairs):
        raise ToolInputError("every pair must be [input, output]")
    examples = [(str(x), str(y)) for x, y in pairs]
    ctx.check_interrupt()
    fv = _wrap_value_error(lambda: function_vectors.function_vector(ctx.model, examples, n_prompts=n_prompts,
                                                                    n_shots=n_shots, top_heads=top_heads))
    ctx.check_interrupt()
    base = zero_shot_accuracy(ctx.model, examples)
    steered = zero_shot_accuracy(ctx.model, examples, fv)
    heads = ", ".join(f"{u} (AIE {fv.aie[layer, h]:.3g})" for u, (layer, h) in zip(fv.head_units(), fv.heads))
    text = (f"Top heads by average indirect effect: {heads}\n"
            f"zero-shot accuracy on the {len(examples)} pairs: {base:.0%} without, {steered:.0%} with the function "
            f"vector added at layer {ctx.model.n_layers // 3}")
    return ToolOutput(text, data={"heads": fv.head_units(), "accuracy_before": base, "accuracy_after": steered})


@tool(scopes=["chat"])
def describe_unit(ctx: ModelToolContext, unit: str) -> ToolOutput:
    """Run the builtin labeler on one unit: it reads the unit's top exemplars, tests the candidate words in synthetic
    sentences against control words and a WordNet category on unseen words, and returns a label, a description and its
    evidence (attention heads of causal LMs: their previous-token/induction role is tested instead). A quick automatic
    first pass; check its claims with your own experiments.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117 or layer.2.attn.head.5.
    """
    from agent.builtin.findings import Notebook
    from agent.labeling.neurons import label_unit
    from agent.ledger import HypothesisUpdate

    parsed = ctx.unit_of(unit, single=True)
    if parsed.site == "attn" and not ctx.model.is_causal:
        raise ToolInputError(f"describe_unit tests heads for previous-token and induction roles, which are defined for "
                             f"causal LMs; {ctx.model.name} is an encoder: study {parsed} with attention and ablate")
    if parsed.site == "attn":
        try:
            from agent.labeling.heads import investigate_head
        except ImportError:
            raise ToolInputError("describing attention heads needs agent.labeling.heads, which is not "
                                 "installed; use attention and ablate on the head instead") from None
        ctx.report(f"testing the role of {parsed} on synthetic sequences")
        result = investigate_head(ctx.model, str(parsed), None)
    else:
        found = _wrap_value_error(lambda: ctx.top_exemplars(str(parsed), 20))
        ctx.report(f"read {len(found)} top exemplars of {parsed}")

        def step(kind: str, item: Any) -> None:
            # Called between the labeler's experiments: where Ctrl-C can stop it.
            ctx.check_interrupt()
            if kind == "experiment":
                ctx.report(f"experiment: {item.purpose} ({len(item.inputs)} inputs)")
            else:
                ctx.ledger.apply([HypothesisUpdate(id=f"{parsed}/{item.id}", statement=item.statement,
                                                   status=item.status,
                                                   evidence=item.evidence[-1] if item.evidence else None)],
                                 ctx.round_no)
                if item.status != "open":
                    ctx.report(f"{item.status}: {item.statement}")

        result = _wrap_value_error(lambda: label_unit(ctx.model, str(parsed), found, Notebook(step)))
    lines = [f"{parsed}: {result.label}", result.description, "Evidence:"] + [f"- {e}" for e in result.evidence]
    return ToolOutput("\n".join(lines), data={"unit": str(parsed), "label": result.label,
                                              "description": result.description, "evidence": result.evidence})


@tool(scopes=["label"])
def submit_label(ctx: ModelToolContext, label: str, description: str, evidence: list[str]) -> ToolOutput:
    """Submit your conclusion about the unit under study; this ends the investigation if it is valid.

    Args:
        label: A short label (a few words), e.g. "the word 'river'".
        description: One paragraph: what the unit responds to, in which contexts, and how strongly;
            quote the words it fires on.
        evidence: One sentence per experiment that supports the description (what you ran and what came back).
    """
    problems = []
    if not label.strip():
        problems.append("label is empty")
    if not description.strip():
        problems.append("description is empty")
    evidence = [e.strip() for e in evidence if e.strip()]
    if not evidence:
        problems.append("evidence is empty: cite at least one experiment")
    if problems:
        return ToolOutput(render("answer_rejected", what="Label", problems=problems, tool="submit_label"),
                          is_error=True)
    ctx.submitted = LabelSubmission(label.strip(), description.strip(), evidence)
    check = _simulation_check(ctx, description.strip())
    return ToolOutput(render("label_accepted", check=check),
                      answer=Answer(description=description.strip(), label=label.strip()), data=ctx.submitted)


#: Labeling exemplars the submit_label check reads, and windows it lists.
CHECK_EXEMPLARS = 20
CHECK_ROWS = 5


def _simulation_check(ctx: ModelToolContext, description: str) -> dict | None:
    """The offline simulator's pooled correlation on the unit's labeling exemplars: those
    `ctx.top_exemplars` serves, which in a labeling run is the labeling split only (the held-out
    windows never reach this check).  None when there is no unit or no exemplar."""
    from agent.labeling.simulate import lexical_simulate, pooled_correlation

    if ctx.unit is None:
        return None
    try:
        found = ctx.top_exemplars(ctx.unit, CHECK_EXEMPLARS)
        preds = lexical_simulate(description, [e.tokens for e in found]) if found else []
    except (ToolInputError, ValueError, OSError, UnitError):
        return None
    if not found:
        return None
    rows = []
    for i, (e, p) in enumerate(zip(found[:CHECK_ROWS], preds), 1):
        j, peak = _peak([float(v) for v in e.values], e.tokens, ctx.special_tokens())
        m = int(p.argmax()) if len(p) and p.max() > 0 else None
        rows.append({"i": i, "peak": peak, "peak_word": piece_words(e.tokens)[j], "predicted": float(p[j]),
                     "matched": piece_words(e.tokens)[m] if m is not None and m != j else ""})
    return {"n": len(found), "r": pooled_correlation(preds, [e.values for e in found]), "rows": rows}


MODEL_TOOLS = ToolRegistry([list_units, exemplars, unit_stats, search_corpus, call_unit, top_units, synthesize, edit,
                            ablate, patch, steer, attention, function_vector, describe_unit, record_hypotheses,
                            submit_label])


def capabilities(model: SubjectModel) -> frozenset[str]:
    """What a model can do that some tools need (`causal`: next-token prediction)."""
    return frozenset({"causal"} if model.is_causal else set())


def model_tool_registry(scope: Literal["label", "chat"], model: SubjectModel | None = None) -> ToolRegistry:
    """The tools for a labeling investigation ("label": ends with submit_label) or a chat ("chat");
    with `model`, only those that work on it (an encoder is offered no patching or steering)."""
    if scope not in ("label", "chat"):
        raise ValueError(f"scope must be 'label' or 'chat', not {scope!r}")
    tools = MODEL_TOOLS.for_scope(scope)
    return tools if model is None else tools.for_capabilities(capabilities(model))
