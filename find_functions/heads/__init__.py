"""Ground truth for attention-head labels: a toy transformer with verified head roles.

A 2-layer, 4-head Llama-architecture model trained (``train.py``, seeded) on random token
sequences with repeated spans, where the only way to beat chance is in-context copying:
it learns previous-token heads in layer 0 and induction heads in layer 1.  ``verify.py``
measures each head's role from its attention pattern and confirms it by ablation, and
writes ``roles.json``: the answer key a head labeler is scored against
(``evals.head_roles``).  The labeler never reads it.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "toy-induction"
ROLES_PATH = HERE / "roles.json"
ROLES = ("previous-token", "induction", "other")


def load_roles(path: Path = ROLES_PATH) -> dict[str, str]:
    """``{"layer.L.attn.head.H": role}`` from a roles file written by ``verify.py``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no roles file; run `python -m find_functions.heads.train`")
    data = json.loads(path.read_text())
    return {unit: row["role"] for unit, row in data["heads"].items()}
