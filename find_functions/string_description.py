"""Parse a canonical description of a string program back into the program.

The offline multiple-choice judge cannot read English in general; it reads the suite's own
canonical phrasing (see `StringOp.phrase`), executes the program it recovers, and picks the one
input/output pair the program reproduces. The parser finds every op phrase in the text (also inside
a longer description), tolerating small variations:

- any letter case and any quote style around parameters;
- "each" for "every", "it"/"the input"/"the text"/"the result" for "the string", "upper case" for
  "uppercase";
- missing commas, and missing clarifications: every comma clause after the first and every
  parenthetical without a parameter is optional ("shift every letter forward by 3 in the alphabet"
  is read like the full "..., wrapping around and keeping case").

The steps found are applied in the order they appear, which is the order of the canonical
"X, then Y".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .string_ops import ATOMIC_OPS, StringOp, StringProgram

_QUOTE = "['\"‘’“”`]"
_NOT_QUOTE = "[^'\"‘’“”`]"
_CAPTURE = {
    "int": r"(\d+)",
    "char": _QUOTE + "(.)" + _QUOTE,
    "text": _QUOTE + "(" + _NOT_QUOTE + "+?)" + _QUOTE,
    "key": _QUOTE + "([A-Za-z]{26})" + _QUOTE,
}

_WORD_SYNONYMS: dict[str, str] = {
    "every": r"(?:every|each)",
    "each": r"(?:every|each)",
    "uppercase": r"(?:uppercase|upper\s+case|upper-case)",
    "lowercase": r"(?:lowercase|lower\s+case|lower-case)",
}
_THE_STRING = r"(?:the\s+(?:input\s+)?string|the\s+input|the\s+text|the\s+result|it)"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PARENTHETICAL = re.compile(r"\s*\([^(){}]*\)")  # one without a parameter inside: optional


def _words(text: str) -> str:
    out = []
    for piece in re.split(r"(\s+)", text):
        if not piece:
            continue
        if piece.isspace():
            out.append(r"\s+")
        elif piece in _WORD_SYNONYMS:
            out.append(_WORD_SYNONYMS[piece])
        else:
            out.append(re.escape(piece).replace(",", ",?"))
    return "".join(out)


def _literal(text: str) -> str:
    """Pattern for fixed text: synonyms, flexible whitespace, optional parentheticals."""
    out, last = [], 0
    for m in _PARENTHETICAL.finditer(text):
        out.append(_THE_STRING.join(_words(c) for c in text[last:m.start()].split("the string")))
        out.append("(?:" + _THE_STRING.join(_words(c) for c in m.group(0).split("the string")) + ")?")
        last = m.end()
    out.append(_THE_STRING.join(_words(c) for c in text[last:].split("the string")))
    return "".join(out)


def _clause(text: str, kinds: dict[str, str], names: list[str]) -> str:
    out, last = [], 0
    for m in _PLACEHOLDER.finditer(text):
        out.append(_literal(text[last:m.start()]))
        out.append(_CAPTURE[kinds[m.group(1)]])
        names.append(m.group(1))
        last = m.end()
    out.append(_literal(text[last:]))
    return "".join(out)


def _top_level_clauses(phrase: str) -> list[str]:
    """Split at commas outside parentheses."""
    clauses, depth, start = [], 0, 0
    for i, ch in enumerate(phrase):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            clauses.append(phrase[start:i])
            start = i + 1
    clauses.append(phrase[start:])
    return clauses


@dataclass(frozen=True)
class _Matcher:
    op: StringOp
    regex: re.Pattern[str]
    names: tuple[str, ...]


def _phrase_regex(op: StringOp) -> _Matcher:
    kinds = {p.name: p.kind for p in op.params}
    names: list[str] = []
    first, *rest = _top_level_clauses(op.phrase)
    pattern = _clause(first, kinds, names)
    for clause in rest:
        body = ",?" + _clause(clause, kinds, names)
        pattern += body if _PLACEHOLDER.search(clause) else "(?:" + body + ")?"
    return _Matcher(op, re.compile(pattern, re.IGNORECASE), tuple(names))


@lru_cache(maxsize=1)
def _matchers() -> tuple[_Matcher, ...]:
    return tuple(_phrase_regex(op) for op in ATOMIC_OPS)


def parse_description(text: str) -> StringProgram | None:
    """The program a (canonical) description states, or None when no op phrase is recognised.

    Overlapping matches are resolved left to right, the longest first, so "keep only the first
    character of each word" is not read as "keep only the first character". A phrase whose
    parameters are invalid (e.g. "replace every 'a' with 'a'") is ignored.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_description takes a str, got {type(text).__name__}")
    found: list[tuple[int, int, StringOp, dict[str, Any]]] = []
    for matcher in _matchers():
        kinds = {p.name: p.kind for p in matcher.op.params}
        for m in matcher.regex.finditer(text):
            params = {name: int(m.group(i + 1)) if kinds[name] == "int" else m.group(i + 1)
                      for i, name in enumerate(matcher.names)}
            try:
                matcher.op.check_params(params)
            except ValueError:
                continue
            found.append((m.start(), m.end(), matcher.op, params))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    steps: list[tuple[str, dict[str, Any]]] = []
    end = -1
    for start, stop, op, params in found:
        if start >= end:
            steps.append((op.name, params))
            end = stop
    return StringProgram.of(*steps) if steps else None
