"""Function vectors (Todd et al. 2024): a task's in-context-learned function, carried by a
few attention heads, extracted as one residual-stream vector.

1. ICL prompts of ``n_shots`` demonstration pairs plus a query; for every head, the mean
   over prompts of its out-projection input at the last token.
2. Corrupted prompts: the same demonstrations with shuffled labels.  Causal indirect
   effect of a head: P(answer | corrupted, head set to its mean) - P(answer | corrupted);
   its average over prompts is the AIE.
3. The function vector is the sum over the ``top_heads`` highest-AIE heads of what their
   mean activation writes into the residual stream (out-projection slice, no bias).
4. Added to a layer's output (about a third of the way up) at the last token of a
   zero-shot prompt, it should make the model perform the task: scored by top-1 accuracy.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from tools.activations import set_site, site_envoy, trace
from tools.interventions import _add_at, _require_causal, token_id
from tools.models import SubjectModel
from tools.units import Unit

TEMPLATE = "Q: {x}\nA: {y}\n\n"
QUERY = "Q: {x}\nA:"


def icl_prompt(demos: list[tuple[str, str]], query: str) -> str:
    return "".join(TEMPLATE.format(x=x, y=y) for x, y in demos) + QUERY.format(x=query)


@dataclass
class FunctionVector:
    vector: torch.Tensor              # [d_model]
    aie: np.ndarray                   # [layers, heads]
    heads: list[tuple[int, int]]      # the top heads, (layer, head), best first
    mean_heads: torch.Tensor          # [layers, heads, d_head], mean last-token activations

    def head_units(self) -> list[str]:
        return [f"layer.{layer}.attn.head.{h}" for layer, h in self.heads]


def _last_token_heads(model: SubjectModel, prompt: str) -> torch.Tensor:
    """[layers, heads, d_head] out-projection inputs at the last token."""
    ids = model.tokenize([prompt])["input_ids"]
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=ids) as tracer:
        st["z"] = [site_envoy(model, Unit(layer, "attn"))[0, -1].save() for layer in range(model.n_layers)]
        tracer.stop()
    return torch.stack(st["z"]).reshape(model.n_layers, model.n_heads, model.d_head)


def _prob_with_head_means(model: SubjectModel, prompt: str, answer: int, layer: int,
                          mean: torch.Tensor) -> torch.Tensor:
    """P(answer) with each head of ``layer`` (one per batch row) set to its mean at the
    last token; row ``heads`` is the unpatched run.  -> [heads + 1]."""
    ids = model.tokenize([prompt])["input_ids"]
    n = model.n_heads + 1
    d = model.d_head
    st: dict = {}
    with torch.no_grad(), trace(model, input_ids=ids.expand(n, -1)):
        env = site_envoy(model, Unit(layer, "attn"))
        new = env.clone()
        for h in range(model.n_heads):
            new[h, -1, h * d:(h + 1) * d] = mean[h]
        set_site(model, Unit(layer, "attn"), new)
        st["logits"] = model.nn.output.logits.save()
    return st["logits"][:, -1].float().softmax(-1)[:, answer]


def function_vector(model: SubjectModel, pairs: list[tuple[str, str]], n_prompts: int = 10,
                    n_shots: int = 10, top_heads: int = 10, seed: int = 0) -> FunctionVector:
    """Compute head AIEs over ICL prompts of ``pairs`` and the function vector."""
    _require_causal(model, "function_vector")
    if len(pairs) < n_shots + 1:
        raise ValueError(f"need at least {n_shots + 1} (input, output) pairs, got {len(pairs)}")
    rng = random.Random(seed)
    prompts = []
    for _ in range(n_prompts):
        chosen = rng.sample(pairs, n_shots + 1)
        demos, (qx, qy) = chosen[:-1], chosen[-1]
        labels = [y for _, y in demos]
        rng.shuffle(labels)
        corrupt = [(x, y) for (x, _), y in zip(demos, labels)]
        prompts.append((icl_prompt(demos, qx), icl_prompt(corrupt, qx), token_id(model, " " + qy)))
    mean = torch.stack([_last_token_heads(model, clean) for clean, _, _ in prompts]).mean(0)
    cie = np.zeros((len(prompts), model.n_layers, model.n_heads))
    for i, (_, corrupt, answer) in enumerate(prompts):
        for layer in range(model.n_layers):
            p = _prob_with_head_means(model, corrupt, answer, layer, mean[layer])
            cie[i, layer] = (p[:-1] - p[-1]).cpu().numpy()
    aie = cie.mean(0)
    order = np.argsort(-aie, axis=None)[:top_heads]
    heads = [(int(i // model.n_heads), int(i % model.n_heads)) for i in order]
    vec = torch.zeros(model.d_model)
    for layer, h in heads:
        w = model.head_out_weight(layer).detach()[h]               # [d_head, d_model]
        vec += (mean[layer, h] @ w).float().cpu()
    return FunctionVector(vector=vec, aie=aie, heads=heads, mean_heads=mean)


def zero_shot_accuracy(model: SubjectModel, pairs: list[tuple[str, str]], fv: FunctionVector | None = None,
                       layer: int | None = None, scale: float = 1.0) -> float:
    """Top-1 accuracy on zero-shot prompts ``Q: x\\nA:``, optionally adding the function
    vector to block ``layer``'s output (default: n_layers // 3) at the last token."""
    layer = model.n_layers // 3 if layer is None else layer
    hits = 0
    for x, y in pairs:
        ids = model.tokenize([QUERY.format(x=x)])["input_ids"]
        st: dict = {}
        with torch.no_grad(), trace(model, input_ids=ids):
            if fv is not None:
                _add_at(model, Unit(layer, "resid"), scale * fv.vector.to(model.device), "last",
                        torch.tensor([ids.shape[1] - 1]))
            st["logits"] = model.nn.output.logits.save()
        hits += int(st["logits"][0, -1].argmax()) == token_id(model, " " + y)
    return hits / len(pairs)
