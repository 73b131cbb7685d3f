"""FIND's numeric protocol, the strict score's points, tabulation detection, interval IoU."""

from __future__ import annotations

import math

import pytest

from evals.numeric_scoring import FIND_GRID, detect_tabulation, interval_iou, nmse, solved, strict_points


def test_find_grid_is_finds() -> None:
    assert len(FIND_GRID) == 256 and FIND_GRID[0] == -127.5 and FIND_GRID[-1] == 127.5


def test_nmse_matches_the_formula_and_drops_non_finite_references() -> None:
    ref = [1.0, 2.0, float("nan"), 4.0]
    pred = [1.0, 2.5, 123.0, 3.0]
    assert nmse(ref, pred) == pytest.approx((0.25 + 1.0) / (1 + 4 + 16))
    assert nmse([1.0, 2.0], [1.0, None]) == math.inf  # an exception where the reference is finite
    assert nmse([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert solved(0.0999) == 1.0 and solved(0.1) == 0.0 and solved(math.inf) == 0.0


def test_strict_points_are_held_out() -> None:
    pts = strict_points(seed=7)
    assert len(pts) == 1000 + 256
    assert not set(pts) & set(FIND_GRID)
    assert all(-128 <= x <= 128 for x in pts)
    assert strict_points(7) == pts and strict_points(8) != pts


def test_integer_exponents_are_not_data() -> None:
    degree_ten = " + ".join(f"{k + 0.5}*x**{k}" for k in range(11))
    assert not detect_tabulation(f"def function(x):\n    return {degree_ten}").tabulated
    many = " + ".join(f"{k + 0.5}*x**{k % 3}" for k in range(41))
    assert detect_tabulation(f"def function(x):\n    return {many}").tabulated


@pytest.mark.parametrize("code", [
    "def function(x):\n    return 3.1 * x - 2.0",
    "import math\ndef function(x):\n    return 2.0 * math.sin((2 * math.pi / 5.0) * (x - 1.0)) + 0.5",
    "def function(x):\n    return 0.1*x**5 - 0.2*x**4 + 0.3*x**3 - 0.4*x**2 + 0.5*x - 0.6 + (1.0 if x > 2.0 else -1.0)",
])
def test_closed_forms_are_not_tabulated(code: str) -> None:
    assert not detect_tabulation(code).tabulated


@pytest.mark.parametrize("code,reason", [
    ("T = {" + ", ".join(f"{i + 0.5}: {i * 2.0}" for i in range(-20, 20)) + "}\ndef function(x):\n    return T[x]",
     "numeric"),
    ("XS = [" + ", ".join(str(i) for i in range(20)) + "]\nYS = XS\nimport numpy as np\n"
     "def function(x):\n    return float(np.interp(x, XS, YS))", "literal sequence"),
    ("import numpy as np\ndef function(x):\n    return float(np.interp(x, [0, 1], [0, 2]))", "interp"),
])
def test_tables_and_interpolants_are_tabulated(code: str, reason: str) -> None:
    verdict = detect_tabulation(code)
    assert verdict.tabulated and reason in verdict.reason


def test_interval_iou() -> None:
    assert interval_iou((0, 10), (0, 10)) == 1.0
    assert interval_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert interval_iou((0, 1), (2, 3)) == 0.0
    assert interval_iou(None, (2, 3)) == 0.0
    assert interval_iou((0, 1), None) is None
    assert interval_iou((-1000, 0), (-128, 0)) == 1.0  # clipped to the query range
