"""Exemplar-cache throughput against a bare forward pass over the same corpus windows.

    python benchmarks/exemplars_throughput.py [--model smollm2] [--windows 128] [--threads 2]

The cache pass reads every unit of every layer (residual dims, MLP neurons, head write
norms) through nnsight and merges a streaming top-k; the bare pass is ``model(ids)`` with
no hooks (and, for reference, the model body without the LM head, which the cache pass
never runs).  Target: cache tokens/s / bare tokens/s >= 0.85.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from tools.corpus import load_corpus
from tools.exemplars import CacheSpec, build_cache
from tools.models import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--windows", type=int, default=128)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    corpus = load_corpus("default")
    root = Path(tempfile.mkdtemp(prefix="aia-bench-"))
    spec = CacheSpec(model, corpus, args.window, args.windows, root)
    ids, _ = spec.windows()
    body = model.model.get_submodule(model.adapter.layers.rsplit(".", 1)[0]) \
        if "." in model.adapter.layers else model.model

    def bare(fn) -> float:
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, len(ids), args.batch_size):
                fn(ids[s:s + args.batch_size])
        return time.perf_counter() - t0

    bare(model.model)                                   # warm-up
    # Bare passes before and after the cache pass, averaged: the machine's load drifts.
    t_bare, t_body = bare(model.model), bare(body)
    t0 = time.perf_counter()
    build_cache(model, corpus, k=20, window=args.window, batch_size=args.batch_size,
                max_windows=args.windows, root=root)
    t_cache = time.perf_counter() - t0
    t_bare, t_body = (t_bare + bare(model.model)) / 2, (t_body + bare(body)) / 2
    tokens = ids.numel()
    print(json.dumps({
        "model": args.model, "tokens": tokens, "layers": model.n_layers, "threads": args.threads,
        "bare_forward_s": round(t_bare, 2), "bare_body_s": round(t_body, 2), "cache_s": round(t_cache, 2),
        "cache_tok_per_s": round(tokens / t_cache, 1), "bare_tok_per_s": round(tokens / t_bare, 1),
        "ratio_vs_bare_forward": round(t_bare / t_cache, 3),
        "ratio_vs_bare_body": round(t_body / t_cache, 3),
    }, indent=1))


if __name__ == "__main__":
    main()
