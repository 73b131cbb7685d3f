"""Reading unit activations through nnsight, and ``call_unit`` for an investigator.

What one unit's "activation" on a token is:
- an MLP neuron: the value entering the down-projection (after the nonlinearity/gating);
- a residual dim: that coordinate of the block output;
- an attention head: the L2 norm of what the head writes into the residual stream
  (its out-projection input slice times its slice of the out-projection), because a
  head's raw ``d_head`` vector has no preferred direction while its write does;
- a whole site or a range: one value per element (neuron/dim/head) instead of one.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from tools.models import SubjectModel, envoy_at
from tools.units import Unit, parse_unit, validate


@contextmanager
def eager_attention(model: torch.nn.Module) -> Iterator[None]:
    """Fused attention kernels (sdpa, flash) return no weights: switch a HF model to eager for a moment."""
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(before)


def trace(model: SubjectModel, **inputs: Any) -> Any:
    """Open an nnsight trace, passing the model's ``remote`` setting (NDIF) when set."""
    if model.remote:
        return model.nn.trace(remote=model.remote, **inputs)
    return model.nn.trace(**inputs)


def site_envoy(model: SubjectModel, unit: Unit) -> Any:
    """The nnsight proxy of a site's full activation inside an open trace.

    resid -> block output [B,T,D]; mlp -> down-projection input [B,T,d_mlp];
    attn -> out-projection input [B,T,H*d_head].  Read/assign it in forward order.
    """
    block = envoy_at(model.nn, f"{model.adapter.layers}.{unit.layer}")
    if unit.site == "resid":
        return block.output
    path = model.adapter.attn_out if unit.site == "attn" else model.adapter.mlp_out
    return envoy_at(block, path).input


def set_site(model: SubjectModel, unit: Unit, value: torch.Tensor) -> None:
    """Replace a site's full activation inside an open trace."""
    block = envoy_at(model.nn, f"{model.adapter.layers}.{unit.layer}")
    if unit.site == "resid":
        block.output = value
    else:
        path = model.adapter.attn_out if unit.site == "attn" else model.adapter.mlp_out
        envoy_at(block, path).input = value


def read_sites(model: SubjectModel, inputs: dict[str, torch.Tensor],
               sites: list[Unit]) -> dict[Unit, torch.Tensor]:
    """One forward pass; returns each site's full activation (attn as [B,T,H,d_head]).

    The forward stops after the last site read: blocks above it and the unembedding
    (often the costliest matmul of a small model) are never run.
    """
    keys = sorted({u.site_unit() for u in sites}, key=Unit.order_key)
    saved = {}
    with torch.no_grad(), trace(model, **inputs) as tracer:
        for key in keys:
            saved[key] = site_envoy(model, key).save()
        tracer.stop()
    out = {}
    for key, val in saved.items():
        val = val.detach()
        if key.site == "attn":
            val = val.reshape(*val.shape[:2], model.n_heads, model.d_head)
        out[key] = val
    return out


def head_write_norms(model: SubjectModel, layer: int, z: torch.Tensor) -> torch.Tensor:
    """``z`` [B,T,H,d_head] -> [B,T,H]: norm of each head's write into the residual.

    |z_h W_h|^2 = z_h (W_h W_h^T) z_h: with the per-head Gram matrix [d_head, d_head] this
    costs d_head/d_model of forming the writes (a tenth for SmolLM2), which matters in the
    exemplar pass over every head of every layer.
    """
    gram = model.head_gram(layer).to(z.dtype)
    sq = (torch.einsum("bthd,hde->bthe", z, gram) * z).sum(-1)
    return sq.clamp(min=0).sqrt()


def unit_values(model: SubjectModel, unit: Unit, site_act: torch.Tensor) -> torch.Tensor:
    """Per-token values of every element of ``unit`` -> [B, T, n_elements]; for an SAE latent
    or a direction, the attached basis reads the site's activation vector."""
    if unit.feature is not None:
        x = site_act.flatten(-2) if unit.site == "attn" else site_act
        vals = model.features[unit.basis_key].encode(x.float())
        if unit.indices is not None and not unit.feature.startswith("direction."):
            vals = vals[..., list(unit.indices)]
        return vals
    vals = head_write_norms(model, unit.layer, site_act) if unit.site == "attn" else site_act
    if unit.indices is not None:
        vals = vals[..., list(unit.indices)]
    return vals


@dataclass
class TokenActivations:
    """Activations of one unit on one text: ``values`` is [T] (single unit) or [T, k]."""

    text: str
    tokens: list[str]
    values: np.ndarray
    unit: str

    def top_tokens(self, n: int = 5) -> list[tuple[str, float]]:
        flat = self.values if self.values.ndim == 1 else self.values.max(axis=1)
        order = np.argsort(-flat)[:n]
        return [(self.tokens[i], float(flat[i])) for i in order]


def call_unit(model: SubjectModel, unit: "str | Unit", texts: "str | list[str]",
              batch_size: int = 32) -> list[TokenActivations]:
    """Per-token activations of a unit (or range) on each text; padding is dropped."""
    unit = validate(parse_unit(unit), model)
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise ValueError("call_unit needs at least one text")
    out: list[TokenActivations] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        inputs = model.tokenize(chunk)
        act = read_sites(model, inputs, [unit])[unit.site_unit()]
        vals = unit_values(model, unit, act).float().cpu().numpy()
        for row, text in enumerate(chunk):
            n = int(inputs["attention_mask"][row].sum())
            ids = inputs["input_ids"][row, :n].tolist()
            v = vals[row, :n]
            out.append(TokenActivations(text=text, tokens=model.tokenizer.convert_ids_to_tokens(ids),
                                        values=v[:, 0] if unit.is_single else v, unit=str(unit)))
    return out


@dataclass
class TopUnits:
    """The units that respond most to one token of a text: ``units[i]`` has ``values[i]``."""

    text: str
    tokens: list[str]
    position: int
    units: list[str]
    values: list[float]


def top_units(model: SubjectModel, text: str, sites: "list[str | Unit]", position: int = -1,
              k: int = 10) -> TopUnits:
    """The ``k`` units with the largest activation at one token (``position``: an index into
    the text's tokens, negative from the end) among every element of ``sites`` (whole sites or
    ranges, e.g. ``layer.3.mlp`` or one site per layer): "which neurons fire on 'she' here?"
    in one forward pass instead of a scan of unit ranges. Heads are compared by the norm of
    their write, like every head activation; sites of different kinds are ranked together, so
    ask for one kind at a time when their scales differ."""
    if not text.strip():
        raise ValueError("top_units needs a non-empty text")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    parsed = [validate(parse_unit(s), model) for s in sites]
    if not parsed:
        raise ValueError("top_units needs at least one site")
    inputs = model.tokenize([text])
    n = int(inputs["attention_mask"][0].sum())
    tokens = model.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0, :n].tolist())
    if not -n <= position < n:
        raise ValueError(f"position {position} is outside the text's {n} tokens (0..{n - 1}, or -1 for the last)")
    pos = position % n
    acts = read_sites(model, inputs, parsed)
    names: list[str] = []
    values: list[torch.Tensor] = []
    for unit in parsed:
        v = unit_values(model, unit, acts[unit.site_unit()])[0, pos].float().cpu()
        indices = unit.indices if unit.indices is not None else range(v.shape[0])
        names += [str(Unit(unit.layer, unit.site, (int(i),), unit.feature)) for i in indices]
        values.append(v)
    flat = torch.cat(values)
    best = flat.topk(min(k, flat.numel()))
    return TopUnits(text=text, tokens=tokens, position=pos, units=[names[int(i)] for i in best.indices],
                    values=[float(x) for x in best.values])
