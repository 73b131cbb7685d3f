"""Dataset exemplars: the corpus windows on which a unit fires most, plus random and
quantile samples for scoring a label (simulation/detection scoring needs both ends).

One streaming pass over the corpus fills the cache for *every* unit (residual dims, MLP
neurons, heads) of the chosen layers: each batch of windows is scored (a window's score
for a unit is its maximum over scorable tokens) and merged into a running top-k per unit,
so memory is bounded by ``k x units`` whatever the corpus size.  A fixed random sample of
windows (drawn before the pass) records every unit's score too: that gives the random
exemplars and the quantile exemplars.

On disk (safetensors), keyed by model fingerprint, corpus fingerprint, window length and
window count: ``windows.safetensors`` (the token windows) and ``layer{L}.safetensors``.
State is checkpointed every ``checkpoint_every`` batches; an interrupted build resumes
from the last checkpoint of each layer.  Per-token activations of the chosen windows are
recomputed on request (one small forward), which keeps the cache small.
"""
from __future__ import annotations

import hashlib
import random
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from tools.activations import read_sites, unit_values
from tools.corpus import Corpus, load_corpus, token_windows
from tools.models import SubjectModel, cache_dir
from tools.units import SITES, Unit, feature_units, validate

QUANTILES = (0.25, 0.5, 0.75, 0.9, 0.99)
#: Top windows a new cache keeps per unit: twice the 20 a labeler may read, so that a
#: labeling split (every other top window held out) can still serve 20.
TOP_DEPTH = 40


@dataclass
class Exemplar:
    """One window: its tokens, the unit's per-token activations, and its score (max)."""

    window: int
    tokens: list[str]
    values: list[float]
    score: float
    kind: str                 # "top", "random", "quantile" or "search"
    quantile: float | None = None
    #: Search results: the unit's largest activation on the searched word's tokens.
    at_word: float | None = None

    def text(self) -> str:
        return "".join(t.replace("Ġ", " ").replace("▁", " ") for t in self.tokens)


@dataclass
class Exemplars:
    unit: str
    top: list[Exemplar]
    random: list[Exemplar] = field(default_factory=list)
    quantiles: list[Exemplar] = field(default_factory=list)


@dataclass
class CacheSpec:
    """Where one model x corpus x windowing cache lives, and how the windows were cut."""

    model: SubjectModel
    corpus: Corpus
    window: int = 64
    max_windows: int | None = None
    root: Path | None = None

    @property
    def directory(self) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model.name)
        n = "all" if self.max_windows is None else str(self.max_windows)
        return (self.root or cache_dir()) / "exemplars" / f"{slug}-{self.model.fingerprint()}" / \
            f"{re.sub(r'[^A-Za-z0-9._-]+', '_', self.corpus.fingerprint)}-w{self.window}-n{n}"

    def windows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Token windows and scorable-token mask, tokenized once and cached."""
        path = self.directory / "windows.safetensors"
        if path.exists():
            d = load_file(path)
            return d["ids"], d["mask"].bool()
        ids, mask = token_windows(self.corpus, self.model.tokenizer, self.window)
        if self.max_windows is not None:
            ids, mask = ids[:self.max_windows], mask[:self.max_windows]
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"ids": ids.contiguous(), "mask": mask.to(torch.uint8).contiguous()}, str(path))
        return ids, mask

    def layer_path(self, layer: int) -> Path:
        """The layer's cache file; with SAEs or directions attached to the layer, one per set of
        them (their fingerprints name it), so a cache never mixes bases."""
        keys = self.model.feature_keys(layer)
        if not keys:
            return self.directory / f"layer{layer}.safetensors"
        h = hashlib.sha256("|".join(f"{k}:{self.model.features[k].fingerprint()}" for k in keys).encode()
                           ).hexdigest()[:12]
        return self.directory / f"layer{layer}-features-{h}.safetensors"

    def layer_complete(self, layer: int) -> bool:
        """Whether `layer`'s cache is on disk and finished; a partial one is resumed by `build_cache`.

        Callers that build a missing cache their own way (with progress reports, interruptibly)
        ask this first instead of reading the cache's internal state.
        """
        path = self.layer_path(layer)
        return path.exists() and _LayerState.load(self.model, layer, path).complete


def cached_families(model: SubjectModel, layer: int) -> list[Unit]:
    """The unit families one layer's cache scores: its three sites and any attached SAE or direction."""
    return [Unit(layer, s) for s in SITES] + [u.family for u in feature_units(model, layer)]


class _LayerState:
    """Running top-k and random-sample scores for every unit of one layer."""

    def __init__(self, model: SubjectModel, layer: int, k: int, sample: torch.Tensor):
        self.layer, self.k, self.done, self.complete = layer, k, 0, False
        self.t: dict[str, torch.Tensor] = {"sample_windows": sample}
        for family in cached_families(model, layer):
            site, w = family.cache_key, model.unit_width(family)
            self.t[f"{site}.top_values"] = torch.full((k, w), float("-inf"))
            self.t[f"{site}.top_windows"] = torch.full((k, w), -1, dtype=torch.long)
            self.t[f"{site}.top_positions"] = torch.full((k, w), -1, dtype=torch.long)
            self.t[f"{site}.sample_values"] = torch.full((len(sample), w), float("nan"))

    def update(self, site: str, vals: torch.Tensor, mask: torch.Tensor, start: int) -> None:
        """Merge a batch: ``vals`` [B,T,W] per-token values of every unit of the site."""
        vals = vals.float().masked_fill(~mask[..., None], float("-inf"))
        best, pos = vals.max(dim=1)                                    # [B, W]
        win = torch.arange(start, start + len(vals))[:, None].expand_as(best)
        tv, tw, tp = (self.t[f"{site}.top_{n}"] for n in ("values", "windows", "positions"))
        allv, idx = torch.cat([tv, best]).topk(self.k, dim=0)
        self.t[f"{site}.top_values"] = allv
        self.t[f"{site}.top_windows"] = torch.cat([tw, win]).gather(0, idx)
        self.t[f"{site}.top_positions"] = torch.cat([tp, pos]).gather(0, idx)
        sw = self.t["sample_windows"]
        hit = (sw >= start) & (sw < start + len(vals))
        if hit.any():
            self.t[f"{site}.sample_values"][hit] = best[sw[hit] - start]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in self.t.items()}, str(tmp),
                  metadata={"done": str(self.done), "complete": str(int(self.complete)), "k": str(self.k)})
        tmp.replace(path)

    @classmethod
    def load(cls, model: SubjectModel, layer: int, path: Path) -> "_LayerState":
        from safetensors import safe_open
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        state = cls.__new__(cls)
        state.layer, state.k = layer, int(meta["k"])
        state.done, state.complete = int(meta["done"]), meta["complete"] == "1"
        state.t = load_file(str(path))
        return state


def every_tenth(report: Callable[[str], None]) -> Callable[[int, int], None]:
    """A `build_cache` progress callback that reports "done/total windows scanned" at each tenth
    of the pass (a cache build takes minutes on a real corpus; a line per batch would flood)."""
    last = [0]

    def progress(done: int, total: int) -> None:
        if done * 10 // total > last[0]:
            last[0] = done * 10 // total
            report(f"{done}/{total} windows scanned")

    return progress


def build_cache(model: SubjectModel, corpus: "Corpus | str" = "default", layers: list[int] | None = None,
                k: int = 20, window: int = 64, batch_size: int = 32, max_windows: int | None = None,
                n_random: int = 256, checkpoint_every: int = 50, root: Path | None = None,
                seed: int = 0, progress: Callable[[int, int], None] | None = None) -> CacheSpec:
    """One pass over the corpus filling the exemplar cache of every unit of ``layers``.

    Layers already complete on disk are skipped; partial ones resume.  Returns the spec
    (location) of the cache.
    """
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    spec = CacheSpec(model, corpus, window, max_windows, root)
    layers = list(range(model.n_layers)) if layers is None else sorted(set(layers))
    for layer in layers:
        validate(Unit(layer, "resid"), model)
    ids, mask = spec.windows()
    n = len(ids)
    gen = torch.Generator().manual_seed(seed)
    sample = torch.randperm(n, generator=gen)[:min(n_random, n)].sort().values
    states = {}
    for layer in layers:
        path = spec.layer_path(layer)
        st = _LayerState.load(model, layer, path) if path.exists() else None
        if st is None or st.k != k:
            st = _LayerState(model, layer, k, sample)
        if not st.complete:
            states[layer] = st
    if not states:
        return spec
    reader = _AdaptiveReader(model, batch_size)
    families = {layer: cached_families(model, layer) for layer in states}
    sites = [u for layer in states for u in families[layer]]
    start0 = min(st.done for st in states.values())
    for b, start in enumerate(range(start0, n, batch_size)):
        batch = ids[start:start + batch_size].to(model.device)
        acts = reader.read(batch, sites)
        bmask = mask[start:start + batch_size]
        for layer, st in states.items():
            skip = max(0, st.done - start)        # windows this layer already merged
            if skip >= len(batch):
                continue
            for family in families[layer]:
                values = unit_values(model, family, acts[family.site_unit()])
                st.update(family.cache_key, values[skip:].cpu(), bmask[skip:], start + skip)
            st.done = start + len(batch)
        if progress is not None:
            progress(min(start + batch_size, n), n)
        if (b + 1) % checkpoint_every == 0:
            for layer, st in states.items():
                st.save(spec.layer_path(layer))
    for layer, st in states.items():
        st.complete = True
        st.save(spec.layer_path(layer))
    return spec


class _AdaptiveReader:
    """`read_sites` over a batch of windows, in pieces when the device runs out of memory: the
    piece size halves on each out-of-memory error and stays halved (said once, as a warning)."""

    def __init__(self, model: SubjectModel, size: int) -> None:
        self.model, self.size, self.warned = model, size, False

    def read(self, ids: torch.Tensor, sites: list[Unit]) -> dict[Unit, torch.Tensor]:
        while True:
            try:
                pieces = [read_sites(self.model, {"input_ids": ids[i:i + self.size]}, sites)
                          for i in range(0, len(ids), self.size)]
                return {k: torch.cat([p[k] for p in pieces]) for k in pieces[0]}
            except torch.OutOfMemoryError:
                if self.size == 1:
                    raise
                self.size //= 2
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if not self.warned:
                    self.warned = True
                    warnings.warn(f"out of memory on {self.model.device}: reading {self.size} windows at a time "
                                  "(halved again if needed)", stacklevel=2)


def _window_values(model: SubjectModel, unit: Unit, ids: torch.Tensor) -> torch.Tensor:
    acts = read_sites(model, {"input_ids": ids.to(model.device)}, [unit])
    return unit_values(model, unit, acts[unit.site_unit()])[..., 0].float().cpu()


def dataset_exemplars(model: SubjectModel, unit: "str | Unit", k: int = 10,
                      corpus: "Corpus | str" = "default", n_random: int = 5,
                      quantiles: tuple[float, ...] = QUANTILES, window: int = 64,
                      max_windows: int | None = None, root: Path | None = None,
                      seed: int = 0) -> Exemplars:
    """Top-``k`` windows of a single unit, plus random and quantile windows.

    Builds the cache of the unit's layer if missing (every unit of that layer at once).
    Quantile exemplars are the sampled windows whose score is nearest each quantile of
    the unit's score distribution over the random sample.
    """
    unit = validate(unit, model)
    if not unit.is_single:
        raise ValueError(f"dataset_exemplars takes one unit, got {unit}; "
                         f"e.g. {Unit(unit.layer, unit.site, (0,))}")
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    spec = CacheSpec(model, corpus, window, max_windows, root)
    if not spec.layer_complete(unit.layer):
        build_cache(model, corpus, [unit.layer], k=max(k, TOP_DEPTH), window=window,
                    max_windows=max_windows, root=root)
    st = _LayerState.load(model, unit.layer, spec.layer_path(unit.layer))
    if k > st.k:
        raise ValueError(f"cache holds the top {st.k} windows per unit; ask for k <= {st.k} "
                         f"or rebuild with build_cache(..., k={k})")
    ids, mask = spec.windows()
    i = unit.indices[0]
    tv = st.t[f"{unit.cache_key}.top_values"][:, i]
    top_w = [int(w) for w, v in zip(st.t[f"{unit.cache_key}.top_windows"][:k, i], tv[:k]) if v > float("-inf")]
    sw = st.t["sample_windows"]
    sv = st.t[f"{unit.cache_key}.sample_values"][:, i]
    gen = torch.Generator().manual_seed(seed)
    # Random windows are negatives for scoring: never one of the unit's top windows, which a
    # labeler may have been shown.
    tops = set(top_w)
    rnd_w = [w for w in (int(sw[j]) for j in torch.randperm(len(sw), generator=gen)) if w not in tops][:n_random]
    order = sv.argsort()
    q_w = [int(sw[order[min(int(q * len(order)), len(order) - 1)]]) for q in quantiles]
    wanted = top_w + rnd_w + q_w
    vals = _window_values(model, unit, ids[wanted]).masked_fill(~mask[wanted], float("nan"))

    def make(j: int, w: int, kind: str, q: float | None = None) -> Exemplar:
        v = vals[j]
        return Exemplar(window=w, tokens=model.tokenizer.convert_ids_to_tokens(ids[w].tolist()),
                        values=v.tolist(), score=float(v.nan_to_num(float("-inf")).max()),
                        kind=kind, quantile=q)

    return Exemplars(
        unit=str(unit),
        top=[make(j, w, "top") for j, w in enumerate(top_w)],
        random=[make(len(top_w) + j, w, "random") for j, w in enumerate(rnd_w)],
        quantiles=[make(len(top_w) + len(rnd_w) + j, w, "quantile", q)
                   for j, (w, q) in enumerate(zip(q_w, quantiles))])


def cache_depth(spec: CacheSpec, layer: int) -> tuple[int, set[int]]:
    """(top windows kept per unit, the windows of the random sample) of a finished layer cache."""
    st = _LayerState.load(spec.model, layer, spec.layer_path(layer))
    return st.k, {int(w) for w in st.t["sample_windows"]}


@dataclass
class UnitStats:
    """A unit's activation scale on random corpus text.

    ``token_quantiles``: quantiles of its per-token activation over ``n_windows`` random windows
    (``n_tokens`` scorable tokens); ``firing_rate``: share of those tokens above 0.
    ``window_quantiles``: quantiles of the per-window maximum over the cache's random sample;
    ``top``: its largest window maximum in the whole corpus.
    """

    unit: str
    n_windows: int
    n_tokens: int
    token_quantiles: dict[float, float]
    firing_rate: float
    window_quantiles: dict[float, float]
    top: float


STAT_QUANTILES = (0.5, 0.9, 0.99, 0.999)


def unit_stats(model: SubjectModel, unit: "str | Unit", corpus: "Corpus | str" = "default", window: int = 64,
               max_windows: int | None = None, root: Path | None = None, n_windows: int = 32,
               quantiles: tuple[float, ...] = STAT_QUANTILES,
               exclude: "set[int] | frozenset[int]" = frozenset()) -> UnitStats:
    """The unit's distribution on random text (aggregates only, no window is returned): window
    maxima from the exemplar cache's random sample, token values from one pass over the first
    ``n_windows`` windows of that sample.  Builds the layer's cache if missing.

    Windows in ``exclude`` (held out for scoring) are never read. A labeling run holds out the
    whole random sample (the scorer's negatives come from it), so then as many other windows,
    drawn at random with a seed per unit, stand in for it, and ``top`` is the largest value of
    the top windows that are not excluded."""
    unit = validate(unit, model)
    if not unit.is_single:
        raise ValueError(f"unit_stats takes one unit, got {unit}")
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    spec = CacheSpec(model, corpus, window, max_windows, root)
    if not spec.layer_complete(unit.layer):
        build_cache(model, corpus, [unit.layer], k=TOP_DEPTH, window=window, max_windows=max_windows, root=root)
    st = _LayerState.load(model, unit.layer, spec.layer_path(unit.layer))
    i = unit.indices[0]
    ids, mask = spec.windows()
    sample_windows = [int(w) for w in st.t["sample_windows"]]
    top_values = st.t[f"{unit.cache_key}.top_values"][:, i]
    if not exclude:
        sample = torch.tensor(sample_windows[:n_windows], dtype=torch.long)
        vals = _window_values(model, unit, ids[sample])[mask[sample]]
        sv = st.t[f"{unit.cache_key}.sample_values"][:, i]
        top = float(top_values[0])
    else:
        pool = [w for w in range(len(ids)) if w not in exclude]
        drawn = sorted(random.Random(f"unit-stats:{unit}").sample(pool, min(len(sample_windows), len(pool))))
        if not drawn:
            raise ValueError(f"every window of the corpus is held out; no statistics of {unit} can be shown")
        chosen = torch.tensor(drawn, dtype=torch.long)
        per_token = torch.cat([_window_values(model, unit, ids[chosen[j:j + 64]]) for j in range(0, len(chosen), 64)])
        sv = per_token.masked_fill(~mask[chosen], float("-inf")).max(dim=1).values
        vals = per_token[:n_windows][mask[chosen[:n_windows]]]
        sample = chosen[:n_windows]
        shown = [float(v) for v, w in zip(top_values, st.t[f"{unit.cache_key}.top_windows"][:, i])
                 if int(w) not in exclude and v > float("-inf")]
        top = max(shown + [float(sv.max())])
    sv = sv[torch.isfinite(sv)]
    q = torch.tensor(quantiles)

    def quant(x: torch.Tensor) -> dict[float, float]:
        return dict(zip(quantiles, x.float().quantile(q).tolist())) if len(x) else {}

    return UnitStats(str(unit), len(sample), len(vals), quant(vals), float((vals > 0).float().mean()) if len(vals)
                     else float("nan"), quant(sv), top)


def search_windows(model: SubjectModel, unit: "str | Unit", word: str, corpus: "Corpus | str" = "default",
                   window: int = 64, max_windows: int | None = None, root: Path | None = None,
                   limit: int = 64, exclude: "set[int] | frozenset[int]" = frozenset()) -> tuple[list[Exemplar], int]:
    """Corpus windows containing ``word`` as a whole word (``tools.words``, case-insensitive), with the
    unit's activations, ranked by the activation on the word itself (``at_word``; a window's peak
    may sit elsewhere): (the first ``limit`` matching windows, scored; how many windows match in
    all).  Windows in ``exclude`` (held out for scoring) are never read."""
    from tools.words import words_of
    unit = validate(unit, model)
    if not unit.is_single:
        raise ValueError(f"search takes one unit, got {unit}")
    target = word.strip().lower()
    if not target:
        raise ValueError("word is empty")
    corpus = load_corpus(corpus) if isinstance(corpus, str) else corpus
    spec = CacheSpec(model, corpus, window, max_windows, root)
    ids, mask = spec.windows()
    hits: list[int] = []
    spans: dict[int, list[int]] = {}        # window -> positions of the word's tokens
    for w in range(len(ids)):
        if w in exclude:
            continue
        tokens = model.tokenizer.convert_ids_to_tokens(ids[w].tolist())
        positions = [i for s, e, found in words_of(tokens) if found == target for i in range(s, e)]
        if positions:
            hits.append(w)
            spans[w] = positions
    chosen = hits[:limit]
    if not chosen:
        return [], 0
    vals = _window_values(model, unit, ids[chosen]).masked_fill(~mask[chosen], float("nan"))
    out = [Exemplar(window=w, tokens=model.tokenizer.convert_ids_to_tokens(ids[w].tolist()), values=v.tolist(),
                    score=float(v.nan_to_num(float("-inf")).max()), kind="search",
                    at_word=float(v[spans[w]].nan_to_num(float("-inf")).max()))
           for w, v in zip(chosen, vals)]
    return sorted(out, key=lambda e: -(e.at_word if e.at_word is not None else e.score)), len(hits)
