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
from tools.exemplars import CacheSpec, Exemplar, Exemplars, build_cache, dataset_exemplars
from tools.function_vectors import zero_shot_accuracy
from tools.inputs import edit_inputs, fill_template
from tools.models import SubjectModel
from tools.plots import token_activations
from tools.units import Unit, UnitError, validate

#: Texts per forward pass in tools that take many texts; the interrupt flag is checked between them.
BATCH = 16
#: Most texts one call may send (each is a forward pass row).
MAX_TEXTS = 256
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
    ledger: Ledger = field(default_factory=Ledger)
    unit: str | None = None
    round_no: int = 0
    interrupt: threading.Event = field(default_factory=threading.Event)
    submitted: LabelSubmission | None = None
    #: Receives one line per step of a long tool (describe_unit), for a person watching; not
    #: part of the observation.
    progress: Callable[[str], None] | None = None
    _corpus: Any = field(default=None, init=False, repr=False)

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
            tenth = [0]

            def progress(done: int, total: int) -> None:
                self.check_interrupt()
                if done * 10 // total > tenth[0]:
                    tenth[0] = done * 10 // total
                    self.report(f"{done}/{total} windows scanned")

            build_cache(self.model, self._corpus, [parsed.layer], k=max(k, 20), window=self.window,
                        max_windows=self.max_windows, root=self.cache_root, progress=progress)
        self.check_interrupt()
        return dataset_exemplars(self.model, parsed, k=k, corpus=self._corpus, window=self.window,
                                 max_windows=self.max_windows, root=self.cache_root)

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
    for i, e in enumerate(found, 1):
        finite = sorted(((float(v), t) for t, v in zip(e.tokens, e.values) if not math.isnan(float(v))), reverse=True)
        strongest = ", ".join(f"{_clean(t).strip()} {v:.3g}" for v, t in finite[:3])
        lines.append(f"{i}. {e.score:.3g}: {snippet(e)}   [strongest tokens: {strongest}]")
    images = [_activation_image([(e.tokens, e.values) for e in found], f"top exemplars of {parsed}")] if image else []
    return ToolOutput("\n".join(lines), images=images, data={"unit": str(parsed), "exemplars": found})


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
def synthesize(ctx: ModelToolContext, unit: str, template: str, slots: dict[str, list[str]], n: int = 20) -> ToolOutput:
    """Fill a template's {slots} with every combination of the given values (or n of them), run the texts, and return
    the unit's peak activation on each, strongest first.

    Args:
        unit: A unit address, e.g. layer.3.mlp.neuron.117.
        template: Text with named slots in braces, e.g. "I saw a {animal} near the {place}."
        slots: Values for each slot, e.g. {"animal": ["dog", "cat"], "place": ["river", "road"]}.
        n: At most this many filled texts (sampled when there are more combinations; up to 256).
    """

    if not 1 <= n <= MAX_TEXTS:
        raise ToolInputError(f"n must be between 1 and {MAX_TEXTS}, got {n}")
    texts = _wrap_value_error(lambda: fill_template(template, slots, n))
    if not texts:
        raise ToolInputError("the template produced no texts: every slot needs at least one value")
    acts = ctx.activations(unit, texts)
    peaks = []
    for a in acts:
        values = [float(v) for v in (a.values if a.values.ndim == 1 else a.values.max(axis=1))]
        i, peak = _peak(values, a.tokens, ctx.special_tokens())
        peaks.append((peak, a.text, _clean(a.tokens[i]).strip()))
    peaks.sort(key=lambda p: -p[0] if not math.isnan(p[0]) else math.inf)
    lines = [f"{_num(p)}  {t!r} (peak at {tok!r})" for p, t, tok in peaks]
    return ToolOutput(f"Peak activation of {acts[0].unit} on {len(texts)} filled templates, strongest first:\n"
                      + "\n".join(lines),
                      data={"unit": acts[0].unit, "texts": [t for _, t, _ in peaks], "peaks": [p for p, _, _ in peaks]})


@tool()
def edit(ctx: ModelToolContext, unit: str, text: str, swaps: dict[str, list[str]] | None = None,
         remove_words: list[str] | None = None) -> ToolOutput:
    """Make minimal edits of one text (swap a word for others, or remove a word) and report how each changes the unit's
    peak activation.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117.
        text: The original text.
        swaps: Words to replace and their replacements, e.g. {"river": ["lake", "road"]} (whole words, case-sensitive).
        remove_words: Words whose every occurrence is removed, one edit per word.
    """

    parsed = ctx.unit_of(unit, single=True)
    edits = _wrap_value_error(lambda: edit_inputs(text, swaps=swaps, remove_words=remove_words))
    texts = list(dict.fromkeys([text] + [e.edited for e in edits]))
    acts = {a.text: _peak([float(v) for v in a.values], a.tokens, ctx.special_tokens())[1]
            for a in ctx.activations(str(parsed), texts)}
    before = acts[text]
    lines = [f"original {text!r}: peak {_num(before)}"]
    effects = []
    for e in edits:
        after = acts[e.edited]
        effects.append({"change": e.change, "edited": e.edited, "before": before, "after": after,
                        "delta": after - before})
        lines.append(f"{e.change}: peak {_num(after)} (change {after - before:+.3g})  {e.edited!r}")
    return ToolOutput(f"Edits of one text, unit {parsed}:\n" + "\n".join(lines),
                      data={"unit": str(parsed), "effects": effects})


@tool()
def ablate(ctx: ModelToolContext, unit: str, texts: list[str], mode: Literal["zero", "mean", "resample"] = "zero",
           downstream: list[str] | None = None) -> ToolOutput:
    """Knock a unit (or range) out at every token and measure what changes: next-token predictions and loss (language
    models) or the sentence embedding (encoders), and optionally later units.

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
        lines.append(line)
    for d, changes in r.downstream.items():
        lines.append(f"downstream {d}: mean |change| per text " + ", ".join(f"{c:.3g}" for c in changes))
    data = {"unit": r.unit, "mode": r.mode, "kl": r.kl, "loss_before": r.loss_before, "loss_after": r.loss_after,
            "embedding_cosine": r.embedding_cosine, "downstream": r.downstream}
    return ToolOutput("\n".join(lines), data=data)


@tool()
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


@tool()
def steer(ctx: ModelToolContext, site: str, scale: float, texts: list[str], positions: Literal["all", "last"] = "all",
          max_new_tokens: int = 0) -> ToolOutput:
    """Steering (language models only): add `scale` to each neuron or residual dimension of the site and report how
    next-token predictions (and, if asked, greedy continuations) change.

    Args:
        site: MLP neurons or residual dimensions, e.g. layer.3.mlp.neuron.117 or layer.4.resid.dim.0:10.
        scale: The value added to each element (try values near the unit's top activations, and negative ones).
        texts: Prompts to steer (up to 16).
        positions: all (every token) or last (each prompt's last token).
        max_new_tokens: Greedy continuation length with and without steering (0 to 20; 0 skips generation).
    """


    parsed = ctx.unit_of(site)
    if parsed.site == "attn":
        raise ToolInputError("steer adds values to neurons or residual dimensions; to test a head, use ablate or patch")
    texts = _texts(texts)
    if len(texts) > 16:
        raise ToolInputError(f"{len(texts)} texts; steer takes up to 16")
    if not 0 <= max_new_tokens <= 20:
        raise ToolInputError(f"max_new_tokens must be between 0 and 20, got {max_new_tokens}")
    width = len(parsed.indices) if parsed.indices is not None else ctx.model.site_width(parsed.site)
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
def attention(ctx: ModelToolContext, unit: str, text: str) -> ToolOutput:
    """An attention head's pattern on one text: for each token, the tokens it attends to most (with weights), plus the
    share of attention to the previous token.

    Args:
        unit: One head, e.g. layer.2.attn.head.5.
        text: The text to run.
    """

    parsed = ctx.unit_of(unit, single=True)
    if parsed.site != "attn":
        raise ToolInputError(f"{parsed} is not an attention head; give layer.L.attn.head.H")
    if not text.strip():
        raise ToolInputError("text is empty")
    m = ctx.model
    inputs = m.tokenize([text])
    with torch.no_grad(), eager_attention(m.model):
        out = m.model(**inputs, output_attentions=True)
    pattern = out.attentions[parsed.layer][0, parsed.indices[0]].float()      # [T, T]
    tokens = m.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    lines = [f"Attention of {parsed} on {text!r} (query token -> its top keys):"]
    for q, tok in enumerate(tokens[:MAX_TOKENS_SHOWN]):
        w, k = pattern[q].topk(min(3, len(tokens)))
        keys = ", ".join(f"{_clean(tokens[int(j)]).strip() or tokens[int(j)]}@{int(j)} {float(v):.2f}"
                         for v, j in zip(w, k))
        lines.append(f"{q} {_clean(tok).strip() or tok}: {keys}")
    prev = (float(torch.stack([pattern[q, q - 1] for q in range(1, len(tokens))]).mean()) if len(tokens) > 1
            else float("nan"))
    lines.append(f"mean attention to the previous token: {_num(prev)}")
    return ToolOutput("\n".join(lines), data={"unit": str(parsed), "tokens": tokens, "pattern": pattern.tolist(),
                                              "previous_token": prev})


@tool(kinds=["chat"])
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


@tool(kinds=["chat"])
def describe_unit(ctx: ModelToolContext, unit: str) -> ToolOutput:
    """Run the builtin labeler on one unit: it reads the unit's top exemplars, tests the candidate words in synthetic
    sentences against control words and a WordNet category on unseen words, and returns a label, a description and its
    evidence (attention heads: their previous-token/induction role is tested instead). A quick automatic first pass;
    check its claims with your own experiments.

    Args:
        unit: One unit, e.g. layer.3.mlp.neuron.117 or layer.2.attn.head.5.
    """
    from agent.builtin.findings import Notebook
    from agent.labeling.neurons import label_unit
    from agent.ledger import HypothesisUpdate

    parsed = ctx.unit_of(unit, single=True)
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


@tool(kinds=["label"])
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
    return ToolOutput("Label accepted.", answer=Answer(description=description.strip(), label=label.strip()),
                      data=ctx.submitted)


MODEL_TOOLS = ToolRegistry([list_units, exemplars, call_unit, synthesize, edit, ablate, patch, steer, attention,
                            function_vector, describe_unit, record_hypotheses, submit_label])


def model_tool_registry(kind: Literal["label", "chat"]) -> ToolRegistry:
    """The tools for a labeling investigation ("label": ends with submit_label) or a chat ("chat")."""
    if kind not in ("label", "chat"):
        raise ValueError(f"kind must be 'label' or 'chat', not {kind!r}")
    return MODEL_TOOLS.for_kind(kind)
