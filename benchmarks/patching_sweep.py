"""Full residual patching sweep (every layer x position) on SmolLM2-135M: the fast path
(lower blocks skipped, earlier positions restarted from the corrupt run's keys/values,
batched patches, last-position logits) against
the naive one-patch-per-forward loop, plus attribution patching against both.

    python benchmarks/patching_sweep.py [--model smollm2] [--tokens 32] [--threads 2]

Prints one JSON object: times, speed-up (target >= 3x), max |fast - naive| (target
<= 1e-4), attribution time ratio and its correlation with the exact sweep.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from tools.interventions import attribution_sweep, logit_diff, patching_sweep
from tools.models import load_model

FILLER = ("It was a warm and quiet afternoon in the small town by the river, and the streets "
          "were almost empty because everyone had gone to the fair. ")
IOI = "When Mary and John went to the store, {name} gave a bottle of milk to"


def prompts(model, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An IOI pair of token ids (answer ' Mary' for clean, ' John' for corrupt) differing
    in one name, left-padded with filler text to exactly ``n_tokens`` tokens."""
    tok = model.tokenizer
    out = []
    for name in ("John", "Mary"):
        filler = tok(FILLER)["input_ids"]
        ioi = tok(IOI.format(name=name))["input_ids"]
        if len(ioi) > n_tokens or len(filler) + len(ioi) < n_tokens:
            raise SystemExit(f"cannot build a {n_tokens}-token prompt from {len(ioi)} + {len(filler)} tokens")
        out.append(torch.tensor([filler[len(filler) + len(ioi) - n_tokens:] + ioi]))
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--positions-per-batch", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    clean, corrupt = prompts(model, args.tokens)
    n = clean.shape[1]
    metric = logit_diff(model, " Mary", " John")
    attribution_sweep(model, clean, corrupt, metric=metric)       # warm-up (allocator, nnsight)
    t0 = time.perf_counter()
    fast = patching_sweep(model, clean, corrupt, metric=metric, batch_size=args.batch_size,
                          positions_per_batch=args.positions_per_batch).values
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()             # ablation of the design: no position-prefix reuse
    no_prefix = patching_sweep(model, clean, corrupt, metric=metric, batch_size=args.batch_size,
                               positions_per_batch=n).values
    t_no_prefix = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = patching_sweep(model, clean, corrupt, metric=metric, method="naive")
    t_naive = time.perf_counter() - t0
    naive, clean_value, corrupt_value = reference.values, reference.clean, reference.corrupt
    t0 = time.perf_counter()
    attr = attribution_sweep(model, clean, corrupt, metric=metric)
    t_attr = time.perf_counter() - t0
    same = (clean[0] == corrupt[0]).nonzero()[:, 0].tolist()
    print(json.dumps({
        "model": args.model, "tokens": n, "layers": model.n_layers, "patches": int(naive.size),
        "threads": args.threads,
        "naive_s": round(t_naive, 2), "fast_s": round(t_fast, 2), "speedup": round(t_naive / t_fast, 2),
        "max_abs_diff": float(np.abs(fast - naive).max()),
        "fast_without_prefix_reuse_s": round(t_no_prefix, 2),
        "max_abs_diff_without_prefix_reuse": float(np.abs(no_prefix - naive).max()),
        "clean_metric": clean_value, "corrupt_metric": corrupt_value,
        "attribution_s": round(t_attr, 3), "attribution_vs_fast_time": round(t_attr / t_fast, 4),
        "attribution_corr": float(np.corrcoef(attr.values.ravel(), naive.ravel())[0, 1]),
        # The linear estimate is known to fail where the patch is large: the token that differs.
        "attribution_corr_other_positions": float(np.corrcoef(
            attr.values[:, same].ravel(), naive[:, same].ravel())[0, 1]),
    }, indent=1))


if __name__ == "__main__":
    main()
