"""Mediator search over attention heads: which heads carry a behaviour, with how much confidence.

A behaviour is given as a contrast dataset: pairs of a clean prompt (the behaviour shows) and a
corrupted one of the same length (it does not), with the answer token the clean prompt should
produce and the one the corrupted prompt would. A head mediates the behaviour to the degree that
writing its clean output into the corrupted run restores the clean answer (activation patching;
recovery 1 = all of it, 0 = none).

`localize_heads` runs the default plan of the field, in the order cost suggests: attribution
patching of every head on every pair (one forward and one backward per pair: cheap estimates),
then exact patching to verify (every head on a small model, else the attribution's top
candidates), then a mean effect per head with a confidence interval over the pairs. A head is
reported as a mediator when its interval excludes zero (Bonferroni-corrected over the heads
checked) and its mean effect is at least `min_effect` in size. Effects may be negative: a head
whose clean output *hurts* in the corrupted context (the previous-token head of an induction
circuit, patched alone, points the induction heads at the wrong copy) is a mediator too.

Heads that share a job are each weak alone (four redundant induction heads each restore a few
percent), so the found set is also patched in together: its recovery is the circuit's
faithfulness. It also reports how well attribution ranked the heads against exact patching
(Spearman's rho, and the share of exact patching's top-k in attribution's top-k), which decides
whether attribution alone can be trusted on a model too large to patch exhaustively.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from tools.interventions import attribution_sweep, logit_diff, patch, patching_sweep
from tools.models import SubjectModel


@dataclass
class ContrastPair:
    """A clean and a corrupted prompt of equal token length, and the answers they lead to.

    Prompts are texts, or token ids (a generator's exact sequences, specials included)."""

    clean: str | list[int]
    corrupt: str | list[int]
    answer: str | int
    """The clean prompt's next token (text or id)."""
    wrong: str | int
    """The token the corrupted prompt leads to instead (the metric is answer minus wrong logit)."""


@dataclass
class Mediator:
    unit: str
    effect: float
    """Mean recovery over the pairs when the head's clean output is patched in (exact patching)."""
    low: float
    high: float
    """The confidence interval of the mean (t over the pairs, 95% Bonferroni-corrected over heads)."""
    attribution: float
    """Mean recovery attribution patching estimated."""


@dataclass
class Localization:
    """What `localize_heads` found, and the figures that say how far to trust it."""

    mediators: list[Mediator]
    """Every head checked exactly, strongest first."""
    found: list[str]
    """Heads whose interval excludes zero and whose mean effect is at least `min_effect` in size."""
    min_effect: float
    faithfulness: float
    """Mean recovery when every found head is patched in at once (NaN when none is found)."""
    pairs: int
    exact_checked: int
    """Heads verified by exact patching (all of them on a small model)."""
    attribution_rho: float
    """Spearman's rank correlation of attribution with exact patching over the checked heads."""
    attribution_top_k_share: float
    """Share of exact patching's top-k heads (k = len(found), at least 1) in attribution's top-k."""
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def load_pairs(path: str | Path) -> list[ContrastPair]:
    """Pairs from a JSONL file: one `{"clean", "corrupt", "answer", "wrong"}` object per line."""
    pairs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(ContrastPair(row["clean"], row["corrupt"], row["answer"], row["wrong"]))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: expected a JSON object with clean, corrupt, answer and wrong "
                             f"({type(e).__name__}: {e})") from None
    if not pairs:
        raise ValueError(f"{path}: no pairs")
    return pairs


def induction_pairs(model: SubjectModel, n: int = 16, half: int = 12, seed: int = 0) -> list[ContrastPair]:
    """Induction as a contrast: clean = random tokens A, then A again up to some point, so the
    next token is predictable only by copying; corrupt = other random tokens B, then the same
    repeated part of A, so nothing earlier says what comes next. The answer is A's next token,
    the wrong one B's at that place."""
    rng = random.Random(seed)
    special = set(model.tokenizer.all_special_ids or [])
    pool = [i for i in range(len(model.tokenizer)) if i not in special]
    if len(pool) < 2 * half:
        raise ValueError(f"{model.name}: too few ordinary tokens ({len(pool)}) for sequences of {half}")
    prefix = model.tokenize([""])["input_ids"][0].tolist()        # the tokenizer's own leading specials
    pairs = []
    for _ in range(n):
        a = rng.sample(pool, half)
        b = rng.sample([t for t in pool if t not in a], half)
        k = rng.randrange(half // 2, half - 1)                      # how much of A is repeated
        pairs.append(ContrastPair(prefix + a + a[:k], prefix + b + a[:k], a[k], b[k]))
    return pairs


def _ids(model: SubjectModel, prompt: str | list[int]) -> torch.Tensor:
    if isinstance(prompt, str):
        return model.tokenize([prompt])["input_ids"]
    return torch.tensor([prompt], device=model.device)


def _interval(values: np.ndarray, tests: int) -> tuple[float, float, float]:
    """Mean and t-interval, 95% after a Bonferroni correction for `tests` intervals."""
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return mean, float("-inf"), float("inf")
    from scipy import stats

    half = float(stats.t.ppf(1 - 0.025 / tests, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def patch_heads(model: SubjectModel, clean: torch.Tensor, corrupt: torch.Tensor, heads: list[tuple[int, int]],
                metric: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """The metric of the corrupted run with every head in `heads` given its clean output at
    every position, all in one forward pass (what one head's patch cannot show: a job shared)."""
    from tools.activations import read_sites, set_site, site_envoy, trace
    from tools.units import Unit

    layers = sorted({layer for layer, _ in heads})
    src = read_sites(model, {"input_ids": clean}, [Unit(layer, "attn") for layer in layers])
    d = model.d_head
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=corrupt):
        for layer in layers:
            site = Unit(layer, "attn")
            new = site_envoy(model, site).clone()
            clean_heads = src[site].reshape(*src[site].shape[:2], -1)
            for _, h in (x for x in heads if x[0] == layer):
                new[..., h * d:(h + 1) * d] = clean_heads[..., h * d:(h + 1) * d]
            set_site(model, site, new)
        st["logits"] = model.nn.output.logits.save()
    return float(metric(st["logits"][:, -1].float())[0])


class PairRun:
    """One contrast pair prepared for patching: token ids and the answer-minus-wrong logit metric."""

    def __init__(self, model: SubjectModel, pair: ContrastPair) -> None:
        self.model = model
        self.clean, self.corrupt = _ids(model, pair.clean), _ids(model, pair.corrupt)
        self.metric = logit_diff(model, pair.answer, pair.wrong)

    def attribution(self) -> np.ndarray:
        """[L, H] recovery per head, estimated by attribution patching (one forward and backward)."""
        return attribution_sweep(self.model, self.clean, self.corrupt, over="heads", metric=self.metric).recovery()

    def exact(self, heads: list[tuple[int, int]] | None = None) -> np.ndarray:
        """[L, H] recovery per head by exact patching: every head, or only `heads` (others NaN)."""
        if heads is None:
            return patching_sweep(self.model, self.clean, self.corrupt, over="heads", metric=self.metric).recovery()
        out = np.full((self.model.n_layers, self.model.n_heads), np.nan)
        for layer, h in heads:
            out[layer, h] = patch(self.model, self.clean, self.corrupt, f"layer.{layer}.attn.head.{h}",
                                  metric=self.metric).recovery
        return out

    def set_recovery(self, heads: list[tuple[int, int]]) -> float | None:
        """Recovery when all of `heads` are patched in together (None when clean and corrupt agree)."""
        from tools.interventions import _last_logits

        full = float(self.metric(_last_logits(self.model, self.clean))[0])
        none = float(self.metric(_last_logits(self.model, self.corrupt))[0])
        if abs(full - none) <= 1e-9:
            return None
        return (patch_heads(self.model, self.clean, self.corrupt, heads, self.metric) - none) / (full - none)


def candidates(model: SubjectModel, attribution: np.ndarray, exhaustive_heads: int = 256,
               verify_top: int = 32) -> list[tuple[int, int]] | None:
    """Heads to verify by exact patching: None (all of them) on a model with at most
    `exhaustive_heads` heads, else the `verify_top` largest by |mean attribution| ([L, H])."""
    if model.n_layers * model.n_heads <= exhaustive_heads:
        return None
    order = np.argsort(-np.abs(attribution), axis=None)[:verify_top]
    return [divmod(int(i), model.n_heads) for i in order]


def summarize(model: SubjectModel, runs: list[PairRun], attribution: np.ndarray, exact: np.ndarray,
              min_effect: float = 0.0, seconds: dict[str, float] | None = None) -> Localization:
    """Mediators from per-pair effects: `attribution` [pairs, L, H], `exact` [pairs, L, H] (NaN
    where a head was not verified); intervals, the found set, its faithfulness, attribution's agreement."""
    import time

    mean_attribution = np.nanmean(attribution, axis=0)
    checked = [(layer, h) for layer in range(model.n_layers) for h in range(model.n_heads)
               if np.isfinite(exact[:, layer, h]).any()]
    mediators = []
    for layer, h in checked:
        values = exact[:, layer, h]
        values = values[np.isfinite(values)]
        mean, low, high = _interval(values, len(checked))
        mediators.append(Mediator(f"layer.{layer}.attn.head.{h}", mean, low, high, float(mean_attribution[layer, h])))
    mediators.sort(key=lambda m: -abs(m.effect))
    found = [m.unit for m in mediators if (m.low > 0 or m.high < 0) and abs(m.effect) >= min_effect]
    t0 = time.perf_counter()
    faithfulness = float("nan")
    if found:
        heads = [(int(u.split(".")[1]), int(u.split(".")[4])) for u in found]
        recovered = [r for r in (run.set_recovery(heads) for run in runs) if r is not None]
        faithfulness = float(np.mean(recovered)) if recovered else float("nan")
    seconds = dict(seconds or {}, circuit=time.perf_counter() - t0)
    k = max(1, len(found))
    by_attr = sorted(mediators, key=lambda m: -abs(m.attribution))
    share = len({m.unit for m in mediators[:k]} & {m.unit for m in by_attr[:k]}) / k
    return Localization(mediators, found, min_effect, faithfulness, len(runs), len(checked), _spearman(
        [m.attribution for m in mediators], [m.effect for m in mediators]), share, seconds)


def localize_heads(model: SubjectModel, pairs: list[ContrastPair], min_effect: float = 0.0,
                   exhaustive_heads: int = 256, verify_top: int = 32,
                   progress: Callable[[str], None] | None = None) -> Localization:
    """The default plan (module doc), in memory: attribution on all heads, exact patching to verify
    (every head up to `exhaustive_heads`, else attribution's `verify_top`), intervals, the circuit.
    `evals.localize_runner` runs the same stages resumably, one row per pair."""
    import time

    if not pairs:
        raise ValueError("localize needs at least one contrast pair")
    say = progress or (lambda line: None)
    runs = [PairRun(model, pair) for pair in pairs]
    t0 = time.perf_counter()
    attribution = np.stack([run.attribution() for run in runs])
    seconds = {"attribution": time.perf_counter() - t0}
    say(f"attribution patching: {len(pairs)} pairs, {model.n_layers * model.n_heads} heads")
    t0 = time.perf_counter()
    heads = candidates(model, np.nanmean(attribution, axis=0), exhaustive_heads, verify_top)
    exact = np.stack([run.exact(heads) for run in runs])
    seconds["exact"] = time.perf_counter() - t0
    say(f"exact patching: {model.n_layers * model.n_heads if heads is None else len(heads)} heads verified")
    return summarize(model, runs, attribution, exact, min_effect, seconds)


def _spearman(a: list[float], b: list[float]) -> float:
    if len(a) < 2:
        return float("nan")
    from scipy import stats

    rho = stats.spearmanr(a, b).statistic
    return float(rho)


def recovery_of(found: list[str], truth: set[str]) -> dict[str, float]:
    """Precision and recall of the found heads against the heads known to carry the behaviour."""
    hits = len(set(found) & truth)
    return {"precision": hits / len(found) if found else float("nan"),
            "recall": hits / len(truth) if truth else float("nan")}
