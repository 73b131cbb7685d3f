"""Scoring numeric answers: FIND's protocol, aia's strict score, tabulation, and the domain answer.

FIND's protocol compares the answer with the *served* function on the 256 points x = i + 0.5,
i in -128..127. Those points are public, so an agent can query exactly them and answer with a
lookup table; and noise makes a perfect description fail on noised functions. The strict score
closes both holes: it compares with the noise-free function on held-out points drawn with a
per-run seed the agent never sees, and gives 0 to answers whose code is essentially data.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from agent.task import output_as_float

FIND_GRID: tuple[float, ...] = tuple(i + 0.5 for i in range(-128, 128))
SOLVED_NMSE = 0.1
QUERY_RANGE = (-128.0, 128.0)

#: A closed form over FIND's families needs at most ~14 numeric literals (a composite of two
#: degree-5 polynomials); anything far beyond that is a table.
MAX_LITERALS = 40
MAX_LITERALS_IN_ONE_CONTAINER = 12
_INTERPOLATION_NAMES = {"interp", "interp1d", "searchsorted", "bisect", "bisect_left", "bisect_right",
                        "CubicSpline", "UnivariateSpline", "PchipInterpolator", "Akima1DInterpolator",
                        "make_interp_spline", "splrep", "splev", "griddata", "lagrange", "polyfit"}


def strict_points(seed: int, n_random: int = 1000) -> list[float]:
    """Held-out evaluation points: `n_random` uniform draws in the query range from a scoring seed
    plus the quarter points i + 0.25 (between FIND's grid points), none on FIND's grid."""
    rng = np.random.default_rng([seed, 0x5EA1])
    xs = rng.uniform(*QUERY_RANGE, size=n_random).tolist()
    xs += [i + 0.25 for i in range(-128, 128)]
    return [round(x, 6) for x in xs]



def nmse(reference: Sequence[Any], predicted: Sequence[Any]) -> float:
    """FIND's normalised MSE: sum((ref - pred)^2) / sum(ref^2) over points where the reference is
    finite. A prediction that is missing or non-finite where the reference is finite makes it inf."""
    ref = np.array([output_as_float(v) for v in reference])
    pred = np.array([output_as_float(v) for v in predicted])
    keep = np.isfinite(ref)
    if not keep.any():
        return math.nan
    ref, pred = ref[keep], pred[keep]
    if not np.isfinite(pred).all():
        return math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        err = float(np.sum((ref - pred) ** 2))
        norm = float(np.sum(ref**2))
    if not math.isfinite(err):
        return math.inf
    if norm == 0.0:
        return 0.0 if err == 0.0 else math.inf
    return err / norm


def solved(value: float) -> float:
    return 1.0 if math.isfinite(value) and value < SOLVED_NMSE else 0.0


@dataclass(frozen=True)
class Tabulation:
    tabulated: bool
    reason: str | None = None


def _literal_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def detect_tabulation(code: str) -> Tabulation:
    """Is this answer essentially data (a table of values, an interpolation over samples)?"""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return Tabulation(False)
    # integer exponents (x**3) are structure, not data
    exponents = {id(n.right) for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)
                 and isinstance(n.right, ast.Constant) and isinstance(n.right.value, int)}
    literals = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in exponents
                   and isinstance(n.value, (int, float)) and not isinstance(n.value, bool))
    if literals > MAX_LITERALS:
        return Tabulation(True, f"{literals} numeric literals (a closed form needs far fewer)")
    for n in ast.walk(tree):
        if isinstance(n, (ast.List, ast.Tuple, ast.Set)):
            count = sum(_literal_number(e) for e in n.elts)
            if count > MAX_LITERALS_IN_ONE_CONTAINER:
                return Tabulation(True, f"a literal sequence of {count} numbers (line {n.lineno})")
        if isinstance(n, ast.Dict):
            count = sum(_literal_number(k) for k in n.keys if k is not None)
            if count > MAX_LITERALS_IN_ONE_CONTAINER:
                return Tabulation(True, f"a lookup dict with {count} numeric keys (line {n.lineno})")
        name = n.attr if isinstance(n, ast.Attribute) else n.id if isinstance(n, ast.Name) else None
        if name in _INTERPOLATION_NAMES:
            return Tabulation(True, f"uses `{name}` (interpolation or lookup over samples)")
    return Tabulation(False)


def interval_iou(predicted: tuple[float, float] | None, truth: tuple[float, float] | None) -> float | None:
    """IoU of two intervals clipped to the query range; None when the function has no such interval."""
    if truth is None:
        return None
    if predicted is None:
        return 0.0
    lo, hi = QUERY_RANGE
    a0, a1 = max(lo, min(predicted)), min(hi, max(predicted))
    b0, b1 = max(lo, truth[0]), min(hi, truth[1])
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(0.0, a1 - a0) + max(0.0, b1 - b0) - inter
    return inter / union if union > 0 else 0.0
