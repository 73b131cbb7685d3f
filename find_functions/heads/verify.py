"""Verify the head roles of a model: attention scores, then ablation, then a role per head.

On random repeated sequences (``<bos> x1..xn x1..xn``, distinct tokens in each half):

- previous-token score: mean attention from position i to i-1 (over positions whose
  previous token is not ``<bos>``);
- induction score: mean attention from a second-half token to the token that followed
  its previous occurrence (the position an induction head copies from);
- ablation: the increase of the next-token loss on the predictable part of the repeated
  half (``x2..xn`` of the second copy) when the head's output is replaced by its mean over
  the batch (mean ablation) or by zero (zero ablation).

A head gets a role when its score passes ``ATTENTION_THRESHOLD`` *and* mean-ablating it
costs at least ``ABLATION_THRESHOLD`` nats: the pattern says what the head does, the
ablation says the model relies on it.  Everything else is ``other``.

    python -m find_functions.heads.verify                # print scores of the shipped model
    python -m find_functions.heads.verify --write        # and rewrite roles.json
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from find_functions.heads import MODEL_DIR, ROLES_PATH
from find_functions.heads.data import SPECIALS, repeated_batch, word_ids
from tools.activations import eager_attention

ATTENTION_THRESHOLD = 0.4
ABLATION_THRESHOLD = 0.05
PROBE_SEED = 1234
N_SEQS = 64
HALF = 24


def attention_patterns(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """``[layers, batch, heads, T, T]`` attention weights of a causal LM on ``ids``."""
    with torch.no_grad(), eager_attention(model):
        out = model(input_ids=ids, output_attentions=True)
    return torch.stack([a.float() for a in out.attentions])


def previous_token_score(att: torch.Tensor) -> torch.Tensor:
    """``att`` [..., T, T] on ``<bos>``-prefixed ids -> [...]: mean attention to i-1 for i >= 2."""
    t = att.shape[-1]
    i = torch.arange(2, t)
    return att[..., i, i - 1].mean(-1)


def induction_score(att: torch.Tensor, half: int) -> torch.Tensor:
    """Mean attention from second-half position ``half+1+j`` to ``2+j`` (the token after the
    first occurrence of the same token) for ``j = 0..half-2``, on ``<bos> x x`` ids."""
    j = torch.arange(0, half - 1)
    return att[..., half + 1 + j, 2 + j].mean(-1)


def probe_ids(tokenizer, n_seqs: int = N_SEQS, half: int = HALF, seed: int = PROBE_SEED) -> torch.Tensor:
    """``<bos> x x`` sequences over the toy vocabulary (a fixed seed: the same probe each run)."""
    gen = torch.Generator().manual_seed(seed)
    body = repeated_batch(n_seqs, half, gen, word_ids(len(tokenizer) - len(SPECIALS)))
    return torch.cat([torch.full((n_seqs, 1), tokenizer.bos_token_id), body], dim=1)


def _loss_on(logits: torch.Tensor, ids: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean next-token loss of predicting ``ids[:, targets]`` from the positions before them."""
    logp = logits[:, targets - 1].float().log_softmax(-1)
    return float(-logp.gather(-1, ids[:, targets, None]).mean())


def half_losses(model: torch.nn.Module, ids: torch.Tensor, half: int) -> tuple[float, float]:
    """Loss on the first copy's ``x2..xn`` (chance: nothing to copy yet) and on the second
    copy's ``x2..xn`` (predictable by copying) of ``<bos> x x`` ids."""
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    return (_loss_on(logits, ids, torch.arange(2, half + 1)),
            _loss_on(logits, ids, torch.arange(half + 2, 2 * half + 1)))


@contextmanager
def head_ablated(model: torch.nn.Module, layer: int, head: int, mode: str) -> Iterator[None]:
    """Replace one head's slice of the out-projection input by its batch mean or zero."""
    attn = model.model.layers[layer].self_attn
    d_head = attn.head_dim
    cols = slice(head * d_head, (head + 1) * d_head)

    def hook(_module, args):
        z = args[0].clone()
        if mode == "zero":
            z[..., cols] = 0.0
        elif mode == "mean":
            z[..., cols] = z[..., cols].reshape(-1, d_head).mean(0)
        else:
            raise ValueError(f"unknown ablation mode {mode!r}; choose mean or zero")
        return (z,) + tuple(args[1:])

    handle = attn.o_proj.register_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def head_scores(model: torch.nn.Module, tokenizer, n_seqs: int = N_SEQS, half: int = HALF,
                seed: int = PROBE_SEED) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-head scores ``{unit: {previous_token, induction, ablation_mean, ablation_zero}}``
    and the model's clean losses on the two halves (first half: chance is log V)."""
    ids = probe_ids(tokenizer, n_seqs, half, seed)
    att = attention_patterns(model, ids)                          # [L, B, H, T, T]
    prev = previous_token_score(att).mean(1)                      # [L, H]
    ind = induction_score(att, half).mean(1)
    first_loss, clean = half_losses(model, ids, half)
    cfg = model.config
    scores: dict[str, dict[str, float]] = {}
    for layer in range(cfg.num_hidden_layers):
        for head in range(cfg.num_attention_heads):
            row = {"previous_token": round(float(prev[layer, head]), 4),
                   "induction": round(float(ind[layer, head]), 4)}
            for mode in ("mean", "zero"):
                with head_ablated(model, layer, head, mode):
                    row[f"ablation_{mode}"] = round(half_losses(model, ids, half)[1] - clean, 4)
            scores[f"layer.{layer}.attn.head.{head}"] = row
    return scores, {"first_half": round(first_loss, 4), "repeated_half": round(clean, 4)}


def assign_role(row: dict[str, float]) -> str:
    """The role a head's scores verify: its stronger attention score past the threshold,
    confirmed by a mean-ablation loss increase; otherwise ``other``."""
    if row["ablation_mean"] < ABLATION_THRESHOLD:
        return "other"
    best = max(("previous-token", row["previous_token"]), ("induction", row["induction"]), key=lambda kv: kv[1])
    return best[0] if best[1] >= ATTENTION_THRESHOLD else "other"


def verify(model_dir: Path = MODEL_DIR) -> dict:
    """Scores and verified roles of the model saved in ``model_dir`` (the roles.json content)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    scores, losses = head_scores(model, tokenizer)
    heads = {unit: {"role": assign_role(row), **row} for unit, row in scores.items()}
    return {"model": "toy-induction", "probe": {"n_seqs": N_SEQS, "half": HALF, "seed": PROBE_SEED},
            "thresholds": {"attention": ATTENTION_THRESHOLD, "ablation_mean_nats": ABLATION_THRESHOLD},
            "losses": losses, "heads": heads}


def format_table(result: dict) -> str:
    lines = [f"{'head':<22}{'prev-tok':>10}{'induction':>11}{'abl mean':>10}{'abl zero':>10}  role"]
    for unit, row in result["heads"].items():
        lines.append(f"{unit:<22}{row['previous_token']:>10.3f}{row['induction']:>11.3f}"
                     f"{row['ablation_mean']:>10.3f}{row['ablation_zero']:>10.3f}  {row['role']}")
    losses = result["losses"]
    lines.append(f"loss: first half {losses['first_half']:.3f} nats, repeated half {losses['repeated_half']:.3f} nats")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="model directory")
    parser.add_argument("--write", type=Path, nargs="?", const=ROLES_PATH, default=None,
                        help=f"write the verified roles (default path {ROLES_PATH.name})")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    result = verify(args.model)
    print(format_table(result))
    if args.write is not None:
        if args.write.is_file():        # re-verifying keeps the record of how the weights were trained
            previous = json.loads(args.write.read_text())
            if "training" in previous:
                result["training"] = previous["training"]
        args.write.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
