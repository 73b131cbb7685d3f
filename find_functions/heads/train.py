"""Train the toy induction model from scratch, save it, and verify its head roles.

    python -m find_functions.heads.train                  # seed 0, writes toy-induction/ and roles.json
    python -m find_functions.heads.train --out /tmp/toy --steps 500 --no-roles

A Llama-architecture model (so every tool of the toolkit addresses it like SmolLM2:
``layer.L.attn.head.H``), 2 layers x 4 heads, d_model 64, on ``<bos>`` + n uniform random
words repeated once, n = 8..32 (``data.training_batch``).  The loss sits at chance
(log 128 = 4.85 nats) for several hundred steps, then drops within a few hundred more as
previous-token heads (layer 0) and induction heads (layer 1) form together.  One or two threads: the
run takes a few minutes on a shared CPU.  The seed fixes data, initialisation and the
roles; weights are not bit-identical across torch builds, which is why the roles are
re-verified (``verify.py``) rather than the weights compared.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from find_functions.heads import MODEL_DIR, ROLES_PATH
from find_functions.heads.data import (
    BOS_ID,
    N_WORDS,
    PAD_ID,
    SPECIALS,
    build_tokenizer,
    training_batch,
)

SEED = 0
STEPS = 2500
BATCH = 32
LR = 1e-3
WARMUP = 100


def build_model(seed: int = SEED, n_words: int = N_WORDS) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(SPECIALS) + n_words, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=256, rope_theta=10000.0, tie_word_embeddings=False,
        pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=BOS_ID)
    return LlamaForCausalLM(config)


def lr_at(step: int, steps: int, lr: float = LR, warmup: int = WARMUP) -> float:
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return lr * (step + 1) / warmup
    frac = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def train(out: Path = MODEL_DIR, seed: int = SEED, steps: int = STEPS, batch: int = BATCH,
          log_every: int = 250) -> dict:
    """Train, save model + tokenizer into ``out``; returns timing and final losses."""
    model = build_model(seed)
    model.train()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
    started = time.perf_counter()
    recent: list[float] = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps)
        ids = training_batch(batch, gen)
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        recent.append(float(loss.detach()))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            mean = sum(recent) / len(recent)
            print(f"step {step + 1:>5}/{steps}  loss {mean:.3f}  ({time.perf_counter() - started:.0f} s)",
                  flush=True)
            recent.clear()
    seconds = time.perf_counter() - started
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    build_tokenizer().save_pretrained(out)
    return {"seed": seed, "steps": steps, "batch": batch, "lr": LR,
            "train_seconds": round(seconds, 1), "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--roles", type=Path, default=None,
                        help=f"where to write the verified roles (default {ROLES_PATH} when --out is "
                             f"the shipped model directory, else OUT/roles.json)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    info = train(args.out, seed=args.seed, steps=args.steps)
    print(f"trained in {info['train_seconds']} s on {info['threads']} thread(s); saved {args.out}")
    from find_functions.heads.verify import format_table, verify
    result = verify(args.out)
    result["training"] = info
    print(format_table(result))
    roles = args.roles or (ROLES_PATH if args.out.resolve() == MODEL_DIR else args.out / "roles.json")
    roles.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {roles}")


if __name__ == "__main__":
    main()
