"""Causal interventions through nnsight: ablate, patch, patching sweeps, attribution
patching, path patching and steering.

Conventions.  ``patch(clean, corrupt, site)`` runs the *corrupt* prompt and writes the
*clean* run's activation into it (denoising): a large recovery of the clean behaviour
means the site carries what distinguishes the two prompts.  A metric maps the logits at
the last position ``[B, V]`` to one number per row (``logit_diff``, ``logprob``).
Clean and corrupt prompts must tokenize to the same length.

Sweeps reuse the run being patched into: for a patch at block ``l``, blocks ``0..l-1``
would recompute exactly the corrupt run's values, so they are skipped (nnsight
``Envoy.skip``) and fed the cached corrupt outputs; for a patch at position ``p``, nothing
before ``p`` changes, so the forward starts at ``p`` on the corrupt run's keys/values;
patches at one layer are batched; only the last position's logits are computed
(``logits_to_keep=1``).  ``method="naive"`` runs one full forward per patch and is the
reference the fast path is tested against.
"""
from __future__ import annotations

import inspect
import random
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from tools.activations import read_sites, set_site, site_envoy, trace, unit_values
from tools.models import SubjectModel, envoy_at
from tools.units import Unit, validate

Metric = Callable[[torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- metrics
def token_id(model: SubjectModel, token: "str | int") -> int:
    """First token of ``token`` as the model would see it after a prompt."""
    if isinstance(token, int):
        return token
    ids = model.tokenizer(token, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ValueError(f"{token!r} tokenizes to nothing")
    return ids[0]


def logit_diff(model: SubjectModel, answer: "str | int", wrong: "str | int") -> Metric:
    a, b = token_id(model, answer), token_id(model, wrong)
    return lambda logits: logits[:, a] - logits[:, b]


def logprob(model: SubjectModel, answer: "str | int") -> Metric:
    a = token_id(model, answer)
    return lambda logits: logits.log_softmax(-1)[:, a]


def _ids(model: SubjectModel, text: "str | torch.Tensor") -> torch.Tensor:
    if isinstance(text, torch.Tensor):
        return (text if text.dim() == 2 else text[None]).to(model.device)
    return model.tokenize([text])["input_ids"]


def _pair(model: SubjectModel, clean, corrupt) -> tuple[torch.Tensor, torch.Tensor]:
    c, x = _ids(model, clean), _ids(model, corrupt)
    if c.shape != x.shape:
        raise ValueError(f"clean and corrupt must have the same token length: {c.shape[1]} vs "
                         f"{x.shape[1]} (tokens {model.tokenizer.convert_ids_to_tokens(c[0])} vs "
                         f"{model.tokenizer.convert_ids_to_tokens(x[0])})")
    return c, x


def _require_causal(model: SubjectModel, what: str) -> None:
    if not model.is_causal:
        raise ValueError(f"{what} measures next-token logits; {model.name} is an encoder without "
                         f"an LM head (use ablate(), which reports embedding changes)")


def _last_logits_kwargs(model: SubjectModel) -> dict:
    params = inspect.signature(model.model.forward).parameters
    return {"logits_to_keep": 1} if "logits_to_keep" in params else {}


def _last_logits(model: SubjectModel, ids: torch.Tensor) -> torch.Tensor:
    """Unpatched last-position logits [B, V], traced (so it runs remotely when set)."""
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=ids, **_last_logits_kwargs(model)):
        st["logits"] = model.nn.output.logits.save()
    return st["logits"][:, -1].float()


def default_metric(model: SubjectModel, clean, corrupt) -> Metric:
    """Logit difference between the clean and corrupt runs' top next tokens (or the
    clean top token's log-probability when both runs agree)."""
    c, x = _pair(model, clean, corrupt)
    a, b = int(_last_logits(model, c)[0].argmax()), int(_last_logits(model, x)[0].argmax())
    return logprob(model, a) if a == b else logit_diff(model, a, b)


# --------------------------------------------------------------------------- ablation
@dataclass
class AblationResult:
    unit: str
    mode: str
    texts: list[str]
    kl: list[float]                      # KL(original || ablated), next-token, last position
    loss_before: list[float] | None      # mean next-token loss over the text (causal LMs)
    loss_after: list[float] | None
    top_before: list[list[tuple[str, float]]]
    top_after: list[list[tuple[str, float]]]
    embedding_cosine: list[float] | None  # encoders: mean-pooled output, original vs ablated
    downstream: dict[str, list[float]]   # unit -> mean |change| of its activation per text
    #: encoders: per text, each token's output cosine (original vs ablated), and its tokens
    token_cosine: list[list[float]] | None = None
    tokens: list[list[str]] | None = None


def _unit_view(model: SubjectModel, unit: Unit, site_act: torch.Tensor) -> torch.Tensor:
    """The unit's values in a site activation: its elements ([B,T,k(,d_head)]) or, for an SAE
    latent or a direction, the basis's reading of the site ([B,T,k])."""
    if unit.feature is not None:
        return unit_values(model, unit, site_act)
    return _site_as_units(model, unit, site_act)[:, :, _elements(unit)]


def feature_directions(model: SubjectModel, unit: Unit) -> torch.Tensor:
    """[k, d_site]: the vector each unit of a feature family adds to its site per unit of
    activation (an SAE latent's decoder row, a direction's unit vector)."""
    basis = model.features[unit.basis_key]
    indices = unit.indices if unit.indices is not None else range(basis.width)
    return torch.stack([basis.direction(i) for i in indices])


def _replacement(model: SubjectModel, unit: Unit, mode: str, cur: torch.Tensor,
                 mask: torch.Tensor, reference: list[str] | None, seed: int) -> torch.Tensor:
    """Values to write in place of the unit's values ``cur`` (`_unit_view`), shaped like it."""
    if mode == "zero":
        return torch.zeros_like(cur)
    ref_inputs = model.tokenize(reference) if reference else None
    if ref_inputs is not None:
        ref_act = _unit_view(model, unit, read_sites(model, ref_inputs, [unit])[unit.site_unit()])
        ref_mask = ref_inputs["attention_mask"].bool()
    else:
        ref_act, ref_mask = cur, mask
    pool = ref_act[ref_mask]                             # [N_tokens, k(, d_head)]
    if mode == "mean":
        return pool.mean(0).expand_as(cur).clone()
    if mode == "resample":
        gen = torch.Generator().manual_seed(seed)
        pick = torch.randint(len(pool), cur.shape[:2], generator=gen)
        return pool[pick.to(pool.device)]
    raise ValueError(f"unknown ablation mode {mode!r}; choose zero, mean or resample")


def _elements(unit: Unit) -> "list[int] | slice":
    """Index of the unit's elements along axis 2 of a site activation (dims, neurons, heads)."""
    return list(unit.indices) if unit.indices is not None else slice(None)


def _site_as_units(model: SubjectModel, unit: Unit, act: torch.Tensor) -> torch.Tensor:
    """Site activation with unit elements on the last axes (heads: [B,T,H,d_head])."""
    if unit.site == "attn" and act.dim() == 3:
        return act.reshape(*act.shape[:2], model.n_heads, model.d_head)
    return act


def ablate(model: SubjectModel, unit: "str | Unit", texts: "str | list[str]", mode: str = "zero",
           reference: list[str] | None = None, downstream: list[str] | None = None,
           top: int = 5, seed: int = 0) -> AblationResult:
    """Ablate a unit (or range) at every token and measure what changes.

    ``zero`` writes 0; ``mean`` writes its mean over the tokens of ``reference`` (default:
    the texts themselves); ``resample`` writes values of random tokens of ``reference``.
    Effects: next-token KL and top tokens at each text's last token, mean next-token loss
    (causal LMs) or the cosine of the mean-pooled output (encoders), and the mean absolute
    change of each ``downstream`` unit.
    """
    unit = validate(unit, model)
    texts = [texts] if isinstance(texts, str) else list(texts)
    down = [validate(d, model) for d in (downstream or [])]
    for d in down:
        if d.order_key() <= unit.order_key():
            raise ValueError(f"downstream unit {d} is not after {unit} in the forward pass")
    inputs = model.tokenize(texts)
    mask = inputs["attention_mask"].bool()
    base = read_sites(model, inputs, [unit] + down)
    cur = _unit_view(model, unit, base[unit.site_unit()])
    repl = _replacement(model, unit, mode, cur, mask, reference, seed)
    idx = _elements(unit)
    keys = sorted({d.site_unit() for d in down}, key=Unit.order_key)
    # An SAE latent or a direction is ablated in the site's space: its contribution
    # (activation x direction) is replaced by the replacement's.
    shift = ((repl - cur) @ feature_directions(model, unit).to(cur.dtype)) if unit.feature is not None else None
    st: dict = {}
    with torch.no_grad():
        with trace(model, **inputs):
            st["orig"] = model.nn.output.save()
        with trace(model, **inputs):
            if shift is not None:
                site = site_envoy(model, unit.site_unit())
                set_site(model, unit.site_unit(), site + shift.reshape(site.shape).to(site.dtype))
            else:
                new = _site_as_units(model, unit, site_envoy(model, unit.site_unit()).clone())
                new[:, :, idx] = repl
                set_site(model, unit.site_unit(), new.reshape(*new.shape[:2], -1))
            for k in keys:
                st[k] = site_envoy(model, k).save()
            st["abl"] = model.nn.output.save()
    last = mask.sum(1) - 1
    rows = torch.arange(len(texts))
    result = AblationResult(unit=str(unit), mode=mode, texts=texts, kl=[], loss_before=None,
                            loss_after=None, top_before=[], top_after=[], embedding_cosine=None,
                            downstream={})
    if model.is_causal:
        lo, la = st["orig"].logits.float(), st["abl"].logits.float()
        po, pa = lo[rows, last].log_softmax(-1), la[rows, last].log_softmax(-1)
        result.kl = (po.exp() * (po - pa)).sum(-1).tolist()
        result.loss_before = _token_loss(lo, inputs)
        result.loss_after = _token_loss(la, inputs)
        result.top_before = [_top(model, p, top) for p in po]
        result.top_after = [_top(model, p, top) for p in pa]
    else:
        ho, ha = st["orig"].last_hidden_state.float(), st["abl"].last_hidden_state.float()
        m = mask[..., None].float()
        eo, ea = (ho * m).sum(1) / m.sum(1), (ha * m).sum(1) / m.sum(1)
        result.embedding_cosine = torch.cosine_similarity(eo, ea, dim=-1).tolist()
        tok = torch.cosine_similarity(ho, ha, dim=-1)                           # [B, T]
        n = mask.sum(1).tolist()
        result.token_cosine = [tok[b, :n[b]].tolist() for b in range(len(texts))]
        result.tokens = [model.tokenizer.convert_ids_to_tokens(inputs["input_ids"][b, :n[b]].tolist())
                         for b in range(len(texts))]
        result.kl = [0.0] * len(texts)
    for d in down:
        before = _unit_view(model, d, base[d.site_unit()])
        after = _unit_view(model, d, st[d.site_unit()])
        diff = (after - before).abs().flatten(2).mean(-1)                       # [B, T]
        result.downstream[str(d)] = ((diff * mask).sum(1) / mask.sum(1)).tolist()
    return result


@dataclass
class AblationBaseline:
    """The same ablation on ``units``: random other units of the same site, as many as ablated."""

    units: list[str]
    embedding_effect: list[float] | None   # encoders: per text, mean 1 - cosine over the random units
    kl: list[float] | None                 # causal LMs: per text, mean next-token KL


def random_unit_baseline(model: SubjectModel, unit: "str | Unit", texts: "str | list[str]", mode: str = "zero",
                         n: int = 5, seed: int = 0) -> AblationBaseline:
    """Ablate ``n`` random sets of other units of the unit's site (each the size of the unit's)
    and average their effects: what an ablation of this size does anyway, to read the unit's
    effect against."""
    unit = validate(unit, model)
    if unit.indices is None:
        raise ValueError(f"a random-unit baseline needs units, not the whole site {unit}")
    texts = [texts] if isinstance(texts, str) else list(texts)
    width = model.unit_width(unit)
    others = [i for i in range(width) if i not in set(unit.indices)]
    size = len(unit.indices)
    if len(others) < size:
        raise ValueError(f"{unit} leaves too few other units for a baseline")
    rng = random.Random(seed)
    picks = [Unit(unit.layer, unit.site, tuple(sorted(rng.sample(others, size))), unit.feature) for _ in range(n)]
    effects, kls = [], []
    for p in picks:
        r = ablate(model, p, texts, mode=mode, seed=seed)
        kls.append(r.kl)
        if r.embedding_cosine is not None:
            effects.append([1 - c for c in r.embedding_cosine])
    def mean(rows: list[list[float]]) -> list[float]:
        return [sum(col) / len(col) for col in zip(*rows)]

    return AblationBaseline([str(p) for p in picks], mean(effects) if effects else None,
                            None if effects else mean(kls))


def _token_loss(logits: torch.Tensor, inputs: dict) -> list[float]:
    ids, mask = inputs["input_ids"], inputs["attention_mask"].bool()
    ce = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    m = mask[:, 1:].float()
    return ((ce * m).sum(1) / m.sum(1).clamp(min=1)).tolist()


def _top(model: SubjectModel, logp: torch.Tensor, n: int) -> list[tuple[str, float]]:
    p, i = logp.exp().topk(n)
    return [(model.tokenizer.decode([int(t)]), float(v)) for v, t in zip(p, i)]


# --------------------------------------------------------------------------- patching
@dataclass
class PatchResult:
    site: str
    positions: list[int] | None
    clean: float
    corrupt: float
    patched: float
    top_patched: list[tuple[str, float]]   # next-token probabilities of the patched run

    @property
    def recovery(self) -> float:
        """(patched - corrupt) / (clean - corrupt): 1 = fully restored, 0 = no effect."""
        denom = self.clean - self.corrupt
        return float("nan") if abs(denom) < 1e-9 else (self.patched - self.corrupt) / denom


def _run_metric(model: SubjectModel, ids: torch.Tensor, metric: Metric) -> float:
    return float(metric(_last_logits(model, ids))[0])


def patch(model: SubjectModel, clean, corrupt, site: "str | Unit", positions: list[int] | None = None,
          metric: Metric | None = None) -> PatchResult:
    """Write the clean run's activation of ``site`` (at ``positions``, default all) into
    the corrupt run and measure the metric."""
    _require_causal(model, "patch")
    unit = validate(site, model)
    c, x = _pair(model, clean, corrupt)
    metric = metric or default_metric(model, c, x)
    src = _site_as_units(model, unit, read_sites(model, {"input_ids": c}, [unit])[unit.site_unit()])
    pos_mask = torch.zeros(src.shape[1], dtype=torch.bool, device=src.device)
    pos_mask[slice(None) if positions is None else list(positions)] = True
    el_mask = torch.zeros(src.shape[2], dtype=torch.bool, device=src.device)
    el_mask[_elements(unit)] = True
    where = pos_mask[None, :, None] & el_mask[None, None, :]
    where = where[..., None] if src.dim() == 4 else where
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=x, **_last_logits_kwargs(model)):
        cur = _site_as_units(model, unit, site_envoy(model, unit.site_unit()))
        set_site(model, unit.site_unit(), torch.where(where, src, cur).reshape(*src.shape[:2], -1))
        st["logits"] = model.nn.output.logits.save()
    return PatchResult(site=str(unit), positions=None if positions is None else list(positions),
                       clean=_run_metric(model, c, metric), corrupt=_run_metric(model, x, metric),
                       patched=float(metric(st["logits"][:, -1].float())[0]),
                       top_patched=_top(model, st["logits"][0, -1].float().log_softmax(-1), 5))


def _stack_layers(model: SubjectModel, ids: torch.Tensor, site: str) -> list[torch.Tensor]:
    units = [Unit(layer, site) for layer in range(model.n_layers)]
    acts = read_sites(model, {"input_ids": ids}, units)
    return [acts[unit] for unit in units]


@dataclass
class Sweep:
    """``values[l, j]``: metric after patching row ``l`` (layer), column ``j`` (position or
    head).  ``clean``/``corrupt`` are the unpatched metrics, for normalisation."""

    over: str  # "resid" (columns are positions) or "heads" (columns are heads)
    values: np.ndarray
    clean: float
    corrupt: float
    tokens: list[str]

    def recovery(self) -> np.ndarray:
        return (self.values - self.corrupt) / (self.clean - self.corrupt)


def _sweep_inputs(model: SubjectModel, clean, corrupt, over: str, metric: Metric | None, what: str):
    """What both sweeps start from: the token pair, the metric (default: clean vs corrupt answer),
    the site swept ("resid" or "attn" for heads) and the clean run's activations at every layer,
    flattened to [1, T, width]."""
    _require_causal(model, what)
    if over not in ("resid", "heads"):
        raise ValueError(f"over must be 'resid' or 'heads', not {over!r}")
    c, x = _pair(model, clean, corrupt)
    metric = metric or default_metric(model, c, x)
    site = "resid" if over == "resid" else "attn"
    src = [s.reshape(*s.shape[:2], -1) for s in _stack_layers(model, c, site)]
    return c, x, metric, site, src


def patching_sweep(model: SubjectModel, clean, corrupt, over: str = "resid",
                   metric: Metric | None = None, method: str = "fast",
                   batch_size: int = 64, positions_per_batch: int = 8,
                   layers: list[int] | None = None) -> Sweep:
    """Patch every (layer, position) of the residual stream (``over="resid"``) or every
    (layer, head) at all positions (``over="heads"``) from clean into corrupt.
    ``layers`` restricts the sweep to some layers (the other rows stay NaN).

    Fast residual sweeps also reuse the corrupt run's keys/values before the first patched
    position of each batch (``positions_per_batch`` consecutive positions per forward):
    nothing before a patched position changes in a causal model, so only the suffix is run.
    ``batch_size`` bounds the patches per forward otherwise (head sweeps, remote models).
    """
    if method not in ("fast", "naive"):
        raise ValueError(f"method must be 'fast' or 'naive', not {method!r}")
    c, x, metric, site, src = _sweep_inputs(model, clean, corrupt, over, metric, "patching_sweep")
    n_cols = c.shape[1] if over == "resid" else model.n_heads
    rows = list(range(model.n_layers)) if layers is None else sorted(set(layers))
    for layer in rows:
        validate(Unit(layer, site), model)
    out = np.full((model.n_layers, n_cols), np.nan)
    if method == "naive":
        for layer in rows:
            for j in range(n_cols):
                out[layer, j] = _naive_one(model, x, src[layer], layer, site, j, metric)
    else:
        base = _stack_layers(model, x, "resid")
        reuse = over == "resid" and not model.remote and not _sliding_window_below(model, x.shape[1])
        kv = _prefix_cache(model, x) if reuse else None
        step = positions_per_batch if kv is not None else batch_size
        for layer in rows:
            for start in range(0, n_cols, step):
                cols = list(range(start, min(start + step, n_cols)))
                out[layer, cols] = _fast_batch(model, x, base, src[layer], layer, site, cols, metric, kv)
    return Sweep(over=over, values=out, clean=_run_metric(model, c, metric),
                 corrupt=_run_metric(model, x, metric),
                 tokens=model.tokenizer.convert_ids_to_tokens(x[0].tolist()))


def _naive_one(model, x, src, layer, site, j, metric) -> float:
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=x):
        env = site_envoy(model, Unit(layer, site))
        new = env.clone()
        if site == "resid":
            new[:, j] = src[:, j]
        else:
            d = model.d_head
            new[..., j * d:(j + 1) * d] = src[..., j * d:(j + 1) * d]
        set_site(model, Unit(layer, site), new)
        st["logits"] = model.nn.output.logits.save()
    return float(metric(st["logits"][:, -1].float())[0])


def _sliding_window_below(model: SubjectModel, n_tokens: int) -> bool:
    """True if some layer attends through a window shorter than the prompt (Gemma 3,
    Mistral): a restarted suffix would then need the window-trimmed cache, so the sweep
    does not restart at the patched position for such prompts."""
    cfg = model.model.config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    window = getattr(cfg, "sliding_window", None)
    return window is not None and window < n_tokens


def _prefix_cache(model: SubjectModel, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-layer keys and values of the corrupt run, for restarting at a later position."""
    with torch.no_grad():
        cache = model.model(x, use_cache=True).past_key_values
    return [(layer.keys, layer.values) for layer in cache.layers]


def _fast_batch(model, x, base, src, layer, site, cols, metric, kv=None) -> np.ndarray:
    """One forward for all patches ``cols`` of one layer, skipping the blocks below it
    and, with ``kv``, every position before the first patched one."""
    from transformers import DynamicCache
    n = len(cols)
    p0 = cols[0] if kv is not None and site == "resid" else 0
    extra = dict(_last_logits_kwargs(model))
    if p0 > 0:
        cache = DynamicCache()
        for i, (k, v) in enumerate(kv):
            cache.update(k[:, :, :p0].expand(n, -1, -1, -1).contiguous(),
                         v[:, :, :p0].expand(n, -1, -1, -1).contiguous(), i)
        extra.update(past_key_values=cache, use_cache=True)
    xs = x[:, p0:].expand(n, -1)
    rows = torch.arange(n)
    blocks = envoy_at(model.nn, model.adapter.layers)
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=xs, **extra):
        for lower in range(layer):
            blocks[lower].skip(base[lower][:, p0:].expand(n, -1, -1))
        if site == "resid":
            new = base[layer][:, p0:].expand(n, -1, -1).clone()
            new[rows, [c - p0 for c in cols]] = src[0, cols]
            blocks[layer].skip(new)
        else:
            env = site_envoy(model, Unit(layer, "attn"))
            new = env.clone()
            d = model.d_head
            for r, h in enumerate(cols):
                new[r, :, h * d:(h + 1) * d] = src[0, :, h * d:(h + 1) * d]
            set_site(model, Unit(layer, "attn"), new)
        st["logits"] = model.nn.output.logits.save()
    return metric(st["logits"][:, -1].float()).cpu().numpy()


def attribution_sweep(model: SubjectModel, clean, corrupt, over: str = "resid",
                      metric: Metric | None = None) -> Sweep:
    """Attribution patching: a first-order estimate of ``patching_sweep`` from one clean
    forward, one corrupt forward and one backward.

    estimate[l, j] = corrupt + (clean_act - corrupt_act) . d metric / d act, summed over
    the patched elements (the residual vector at position j, or head j at all positions).
    Cheap enough for whole-model sweeps; unreliable where effects are large or nonlinear
    (embeddings, saturated softmax), so confirm the top cells with exact patching.
    """
    c, x, metric, site, src = _sweep_inputs(model, clean, corrupt, over, metric, "attribution_sweep")
    st: dict = {}
    with torch.enable_grad(), trace(model, input_ids=x):
        st["acts"] = [site_envoy(model, Unit(layer, site)).save() for layer in range(model.n_layers)]
        st["logits"] = model.nn.output.logits.save()
    value = metric(st["logits"][:, -1].float())
    grads = torch.autograd.grad(value.sum(), st["acts"])
    rows = []
    for layer in range(model.n_layers):
        contrib = (src[layer] - st["acts"][layer].detach()) * grads[layer]     # [1, T, width]
        if over == "resid":
            rows.append(contrib[0].sum(-1))
        else:
            rows.append(contrib[0].reshape(contrib.shape[1], model.n_heads, model.d_head).sum((0, 2)))
    corrupt_value = float(value[0].detach())
    est = torch.stack(rows).float().cpu().numpy() + corrupt_value
    return Sweep(over=over, values=est, clean=_run_metric(model, c, metric), corrupt=corrupt_value,
                 tokens=model.tokenizer.convert_ids_to_tokens(x[0].tolist()))


# --------------------------------------------------------------------------- steering
@dataclass
class SteerResult:
    site: str
    scale: float
    texts: list[str]
    top_before: list[list[tuple[str, float]]]
    top_after: list[list[tuple[str, float]]]
    kl: list[float]
    continuation_before: list[str]
    continuation_after: list[str]


def _add_at(model: SubjectModel, unit: Unit, vector: torch.Tensor, positions: str, last: torch.Tensor) -> None:
    """Inside a trace: add ``vector`` to the unit's elements at all tokens or the last one."""
    cur = _site_as_units(model, unit, site_envoy(model, unit.site_unit()))
    delta = torch.zeros_like(cur)
    v = vector.to(cur.dtype).reshape(delta[0, 0][_elements(unit)].shape)
    if positions == "all":
        delta[:, :, _elements(unit)] = v
    else:
        for r, t in enumerate(last.tolist()):
            delta[r, t, _elements(unit)] = v
    set_site(model, unit.site_unit(), (cur + delta).reshape(*cur.shape[:2], -1))


def _forward_logits(model: SubjectModel, ids: torch.Tensor, mask: torch.Tensor,
                    steer: tuple[Unit, torch.Tensor, str] | None) -> torch.Tensor:
    last = mask.sum(1) - 1
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=ids, attention_mask=mask):
        if steer is not None:
            _add_at(model, steer[0], steer[1], steer[2], last)
        st["logits"] = model.nn.output.logits.save()
    return st["logits"][torch.arange(len(ids)), last].float()


def _generate(model: SubjectModel, text: str, steer, max_new_tokens: int) -> str:
    """Greedy continuation, steering every forward (no KV cache: short outputs only)."""
    ids = model.tokenize([text])["input_ids"]
    out = []
    for _ in range(max_new_tokens):
        nxt = int(_forward_logits(model, ids, torch.ones_like(ids), steer)[0].argmax())
        if nxt == model.tokenizer.eos_token_id:
            break
        out.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]], device=ids.device)], dim=1)
    return model.tokenizer.decode(out)


def steer(model: SubjectModel, site: "str | Unit", vector: torch.Tensor, scale: float,
          texts: "str | list[str]", positions: str = "all", max_new_tokens: int = 0,
          top: int = 5) -> SteerResult:
    """Add ``scale * vector`` to a site (``layer.L.resid`` takes a d_model vector; a unit
    range takes one value per element) at every token (``positions="all"``) or at each
    text's last token (``"last"``), and report next-token changes and, if
    ``max_new_tokens``, greedy continuations with and without steering."""
    _require_causal(model, "steer")
    unit = validate(site, model)
    if positions not in ("all", "last"):
        raise ValueError(f"positions must be 'all' or 'last', not {positions!r}")
    width = len(unit.indices) if unit.indices is not None else model.unit_width(unit)
    per = model.d_head if unit.site == "attn" and unit.feature is None else 1
    vector = torch.as_tensor(vector, dtype=torch.float32).to(model.device).flatten()
    if vector.numel() != width * per:
        raise ValueError(f"{unit} needs a vector of {width * per} values, got {vector.numel()}")
    texts = [texts] if isinstance(texts, str) else list(texts)
    inputs = model.tokenize(texts)
    plan = (unit, scale * vector, positions)
    if unit.feature is not None:   # one value per latent or direction: along their directions in the site
        plan = (unit.site_unit(), scale * (vector @ feature_directions(model, unit).to(model.device)), positions)
    before = _forward_logits(model, inputs["input_ids"], inputs["attention_mask"], None).log_softmax(-1)
    after = _forward_logits(model, inputs["input_ids"], inputs["attention_mask"], plan).log_softmax(-1)
    return SteerResult(
        site=str(unit), scale=scale, texts=texts,
        top_before=[_top(model, p, top) for p in before], top_after=[_top(model, p, top) for p in after],
        kl=(before.exp() * (before - after)).sum(-1).tolist(),
        continuation_before=[_generate(model, t, None, max_new_tokens) for t in texts] if max_new_tokens else [],
        continuation_after=[_generate(model, t, plan, max_new_tokens) for t in texts] if max_new_tokens else [])


# --------------------------------------------------------------------------- path patching
@dataclass
class PathPatchResult:
    sender: str
    receiver: str | None
    clean: float
    corrupt: float
    patched: float

    @property
    def effect(self) -> float:
        """Change of the metric from the clean run caused by the sender->receiver path."""
        return self.patched - self.clean

    @property
    def relative_drop(self) -> float:
        """(clean - patched) / (clean - corrupt): the share of the full corruption effect."""
        denom = self.clean - self.corrupt
        return float("nan") if abs(denom) < 1e-9 else (self.clean - self.patched) / denom


def path_patch(model: SubjectModel, clean, corrupt, sender: "str | Unit",
               receiver: "str | Unit | None" = None, metric: Metric | None = None) -> PathPatchResult:
    """Path patching (Wang et al.; Prakash et al.): the effect of ``sender`` (heads) on the
    output only through ``receiver``.

    Pass 1 runs the clean prompt with every attention head frozen to its clean value,
    except the sender heads, which get their corrupt value, and the receiver heads, which
    recompute; MLPs recompute.  Without a receiver the metric of this pass is the result
    (sender -> logits via the direct path and MLPs).  With a receiver, its value from pass
    1 is recorded and patched alone into a second clean run (receiver heads: all of their
    q/k/v inputs at once; a resid/mlp receiver: that site).
    """
    _require_causal(model, "path_patch")
    snd = validate(sender, model)
    if snd.site != "attn":
        raise ValueError(f"sender must be attention heads (layer.L.attn.head.H), got {snd}")
    rcv = validate(receiver, model) if receiver is not None else None
    if rcv is not None and rcv.order_key() <= snd.order_key():
        raise ValueError(f"receiver {rcv} must come after sender {snd} in the forward pass")
    c, x = _pair(model, clean, corrupt)
    metric = metric or default_metric(model, c, x)
    clean_z = _stack_layers(model, c, "attn")                                # [1,T,H,dh] each
    corrupt_z = read_sites(model, {"input_ids": x}, [snd])[snd.site_unit()]
    last = model.n_layers - 1 if rcv is None else rcv.layer
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=c) as tracer:
        for layer in range(snd.layer, last + 1):
            if rcv is not None and layer == rcv.layer and rcv.site != "attn":
                # resid/mlp receiver: this block's heads run after the sender, so freeze them too.
                site_envoy(model, Unit(layer, "attn"))
                set_site(model, Unit(layer, "attn"), clean_z[layer].reshape(*clean_z[layer].shape[:2], -1))
                st["recv"] = site_envoy(model, rcv.site_unit()).save()
                tracer.stop()
                break
            cur = _site_as_units(model, Unit(layer, "attn"), site_envoy(model, Unit(layer, "attn")))
            new = clean_z[layer].clone()
            if layer == snd.layer:
                new[:, :, _elements(snd)] = corrupt_z[:, :, _elements(snd)]
            if rcv is not None and layer == rcv.layer:
                new[:, :, _elements(rcv)] = cur[:, :, _elements(rcv)]
                st["recv"] = cur.save()
                set_site(model, Unit(layer, "attn"), new.reshape(*new.shape[:2], -1))
                tracer.stop()
                break
            set_site(model, Unit(layer, "attn"), new.reshape(*new.shape[:2], -1))
        if rcv is None:
            st["logits"] = model.nn.output.logits.save()
    clean_value, corrupt_value = _run_metric(model, c, metric), _run_metric(model, x, metric)
    if rcv is None:
        patched = float(metric(st["logits"][:, -1].float())[0])
    else:
        recv = _site_as_units(model, rcv, st["recv"])
        with torch.no_grad(), trace(model, input_ids=c, **_last_logits_kwargs(model)):
            cur = _site_as_units(model, rcv, site_envoy(model, rcv.site_unit()))
            new = cur.clone()
            new[:, :, _elements(rcv)] = recv[:, :, _elements(rcv)]
            set_site(model, rcv.site_unit(), new.reshape(*new.shape[:2], -1))
            st["logits"] = model.nn.output.logits.save()
        patched = float(metric(st["logits"][:, -1].float())[0])
    return PathPatchResult(str(snd), None if rcv is None else str(rcv), clean_value, corrupt_value, patched)
