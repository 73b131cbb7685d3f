"""Head-role accuracy: labels of attention heads scored against verified roles.

The roles (``previous-token``, ``induction``, ``other``) come from
``find_functions/heads/roles.json`` (attention patterns confirmed by ablation on the toy
induction model); a label row's role is its ``role`` field where the labeler set one,
else what ``role_from_text`` reads in its label and description, so LLM labels written
in free text are scored the same way as the builtin labeler's.
"""
from __future__ import annotations

from typing import Any

from agent.labeling.heads import ROLES, role_from_text


def predicted_role(row: dict[str, Any]) -> str:
    """The role a label row claims: its ``role`` field, else read from label + description."""
    role = row.get("role")
    if role is not None:
        if role not in ROLES:
            raise ValueError(f"{row.get('unit')}: role {role!r} is not one of {', '.join(ROLES)}")
        return role
    return role_from_text(f"{row.get('label', '')}. {row.get('description', '')}")


def head_role_accuracy(rows: list[dict[str, Any]], roles: dict[str, str]) -> dict[str, Any]:
    """Accuracy of the rows' roles on the heads that have a verified role.

    Returns ``accuracy`` (over scored heads), ``n``, ``per_role`` ({role: {n, correct,
    recall}}), ``confusion`` ({true role: {predicted role: count}}), ``wrong`` (the units
    mislabeled, with both roles) and ``missing`` (heads with a verified role but no row).
    Rows of units without a verified role (other models, neurons) are ignored.
    """
    bad = {u: r for u, r in roles.items() if r not in ROLES}
    if bad:
        raise ValueError(f"unknown roles in the answer key: {bad}; expected {', '.join(ROLES)}")
    by_unit = {row["unit"]: row for row in rows if row.get("unit") in roles}
    confusion = {t: dict.fromkeys(ROLES, 0) for t in ROLES}
    wrong = []
    for unit, row in by_unit.items():
        truth, guess = roles[unit], predicted_role(row)
        confusion[truth][guess] += 1
        if guess != truth:
            wrong.append({"unit": unit, "true": truth, "predicted": guess})
    per_role = {}
    for t in ROLES:
        n = sum(confusion[t].values())
        per_role[t] = {"n": n, "correct": confusion[t][t], "recall": confusion[t][t] / n if n else None}
    n = len(by_unit)
    correct = sum(confusion[t][t] for t in ROLES)
    return {"accuracy": correct / n if n else None, "n": n, "per_role": per_role, "confusion": confusion,
            "wrong": sorted(wrong, key=lambda w: w["unit"]), "missing": sorted(set(roles) - set(by_unit))}
