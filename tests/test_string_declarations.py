"""Each string op is declared once (find_functions/string_ops.py), and what the rest of the project
derives from that declaration agrees with it: the phrase the description parser reads back, the
inverse the builtin scientist reads parameters back through, the grid searches enumerate."""

from __future__ import annotations

import re

import pytest

from agent.builtin import strings as scientist
from find_functions import string_ops
from find_functions.string_description import parse_description
from find_functions.string_ops import ATOMIC_OPS, Inverse, Param, StringOp, enumerate_atomic

SAMPLES = ("", "a", "Zz", "abcde", "Hello World 42, quiz!", "AEIOU aeiou", "Mississippi", "x1 y2 z3",
           "The quick brown fox jumps")
#: A value for a parameter whose grid is empty (a cipher key is read off observations, not enumerated).
KEY = "qwertyuiopasdfghjklzxcvbnm"


def _grid_values(op: StringOp) -> list[dict]:
    return [program.steps[0].kwargs for program in enumerate_atomic({"key": [KEY]}, ops=[op])]


def test_every_op_declares_a_phrase_an_inverse_and_a_grid() -> None:
    for op in ATOMIC_OPS:
        placeholders = re.findall(r"\{(\w+)\}", op.phrase)
        assert sorted(placeholders) == sorted(p.name for p in op.params), op.name
        assert op.inverse is None or callable(op.inverse), op.name
        for p in op.params:
            assert p.grid or op.name in scientist.INFER, f"{op.name}.{p.name}: no grid and no inference rule"
        assert _grid_values(op), f"{op.name}: no valid program on its grid"
    with pytest.raises(TypeError, match="inverse"):  # a declaration without an inverse is refused
        string_ops._op("no_inverse", "case", "do nothing", "def no_inverse(s):\n    return s")  # type: ignore[call-arg]
    assert "no_inverse" not in string_ops.OPS_BY_NAME


def test_every_phrase_parses_back_to_its_op_and_parameters() -> None:
    for op in ATOMIC_OPS:
        for params in _grid_values(op):
            text = op.describe(params)
            parsed = parse_description(text)
            assert parsed is not None, text
            assert parsed.to_metadata() == [{"op": op.name, "params": params}], text


def _inverted() -> list[tuple[StringOp, Inverse]]:
    return [(op, op.inverse) for op in ATOMIC_OPS if op.inverse is not None]


def test_inverses_undo_their_ops() -> None:
    """inverse(op(s)) is s, or another input with the same output: then the op loses what tells
    the two apart, and no inverse could do better."""
    inverted = dict(_inverted())
    assert {"reverse", "shift_forward", "rotate_left", "length_word", "interleave"} <= {op.name for op in inverted}
    for op, inverse in inverted.items():
        for params in _grid_values(op):
            for s in SAMPLES:
                out = op.fn(s, **params)
                back = inverse(out, **params)
                assert back is not None and op.fn(back, **params) == out, (op.name, params, s, back)
    exact = ("reverse", "swapcase", "shift_forward", "shift_backward", "rotate_left", "rotate_right", "atbash",
             "next_vowel", "swap_halves", "shift_by_position", "duplicate_string", "surround")
    by_name = {op.name: (op, inverse) for op, inverse in inverted.items()}
    for name in exact:
        op, inverse = by_name[name]
        for params in _grid_values(op):
            assert [inverse(op.fn(s, **params), **params) for s in SAMPLES] == list(SAMPLES), name


def test_the_builtin_scientist_derives_its_pieces_from_the_declarations() -> None:
    names = {op.name for op in ATOMIC_OPS}
    assert set(scientist.INFER) <= names
    for op in ATOMIC_OPS:  # every op can be solved: from its grid or by its inference rule
        assert op.name in scientist.INFER or op.name in scientist._GRID, op.name
    for op, inverse in _inverted():  # every declared inverse is a way to read a parameter back
        for params in _grid_values(op):
            for s in SAMPLES:
                out = op.fn(s, **params)
                assert inverse(out, **params) in scientist._read_back(out), (op.name, params, s)


@pytest.mark.parametrize("param, value", [
    (Param("k", "int", (1,), minimum=1), 1), (Param("k", "int", (1,), minimum=1), 0),
    (Param("k", "int", (1,)), True), (Param("c", "char", ("a",)), "a"), (Param("c", "char", ("a",)), "ab"),
    (Param("c", "char", ("a",)), "'"), (Param("t", "text", ("ab",)), ""), (Param("t", "text", ("ab",)), "a“b"),
    (Param("key", "key", ()), KEY), (Param("key", "key", ()), KEY[:-1] + "q"),
])
def test_a_search_tests_values_by_the_one_validity_rule(param: Param, value: object) -> None:
    """`StringOp.accepts` (what the builtin search asks of every value it reads off) says yes
    exactly when `check_params` (what a program checks) accepts."""
    op = StringOp("probe", "case", "probe {%s}" % param.name, f"def probe(s, {param.name}):\n    return s\n",
                  (param,), inverse=None)
    try:
        op.check_params({param.name: value})
        valid = True
    except ValueError:
        valid = False
    assert op.accepts({param.name: value}) is valid
