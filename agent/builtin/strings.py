"""The built-in scientist's string investigation: probe, search the DSL, synthesize, split.

It sees only black-box outputs. Hypotheses are programs of the string DSL
(`find_functions.string_ops`): single ops and compositions `f1(f2(s))` of ops from different
families. The investigation is a version-space search:

1. ask a designed probe set: the empty string, every letter alone in both cases (these expose
   per-letter maps, cipher keys and character parameters), and a few rich strings with both cases,
   digits, punctuation, runs and several words; the first rich string is the *anchor*;
2. enumerate the programs that agree with every observation. Inner steps `f2` come from their
   parameter ranges, or, where a parameter is free text (an inserted word, a cipher key, a replaced
   letter), from values read off the probes (f('') shows the inserted text, the single letters show
   a cipher or a replacement). Outer steps `f1` get their characters, texts, keys and shifts
   inferred from aligned (intermediate, output) pairs (only small integer ranges are tried).
   Inner candidates are grouped by their output on the anchor, each group is checked against each
   outer op on that one pair first (after cheap invariants measured on the ops: length, character
   multiset, case-folded text, subset of characters, a number word), then on every observation;
3. a composition that fits is also tried in the other order (a parameter read off the outer step
   may belong to the inner one);
4. while more than one behaviour survives, ask the inputs that split the survivors most evenly,
   chosen from a pool of everyday strings and from inputs built around the survivors' parameters
   (the letter one removes next to the substring another replaces: where step order shows);
   when no hypothesis survives at all, ask a second set of probes (the DSL's substrings alone,
   every letter around a digit core) and search again;
5. when no program of the DSL fits even then, build one: `agent.builtin.synthesis` enumerates
   compositions of general primitives bottom-up (character maps under class or position
   predicates, filters, slices, word split/map/join, run grouping, orderings, counts, concatenated
   and interleaved copies), pruned by input-output features and by observational equivalence,
   and its consistent programs join the version space (the splitting of step 4 applies to them);
6. answer with the simplest survivor (a DSL program first: the suite's canonical phrasing is what
   the offline judge reads), or, when nothing fits, with the closest DSL program (most
   observations reproduced), saying so. It never answers with a lookup table.

The DSL search runs first because it reads free parameters (inserted texts, cipher keys, replaced
substrings) that the synthesizer does not enumerate; on the default suite it alone scores 1.0,
the synthesizer alone 0.80 on the first 40 functions (it recovers 71 of the DSL's 79 operations
from the probes).
"""

from __future__ import annotations

import itertools
import os
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from find_functions.string_ops import ATOMIC_OPS, INCOMPATIBLE_FAMILIES, OPS_BY_NAME, Inverse, StringOp, StringProgram

from .findings import Findings, Hypothesis, Notebook
from .synthesis import Prog, safe, synthesize

Probe = Callable[[Sequence[str]], list[Any]]
Params = dict[str, Any]
Pairs = Sequence[tuple[str, str]]

#: Characters a character parameter may take (the suite samples letters; space is on the DSL grid).
ALPHABET = string.ascii_letters + " "
_VOWELS = set("aeiouAEIOU")
_DIGITS = set(string.digits)
MAX_ROUNDS = 6
#: Only the simplest survivors are split further; if the new answers refute them all, the search
#: runs again on every observation, so a dropped program comes back when the evidence calls for it.
MAX_SURVIVORS = 300
_NEAR_MISSES = 200
PER_ROUND = 3
_MAX_TEXT = 10  # the longest inserted text read off the observations

# ----------------------------------------------------------------------------- experiments

#: The anchor: short (every candidate is run on it) yet touching every op: both cases, vowels, a
#: run ("ll"), repeated letters, several words, digits and punctuation; long enough for positions <= 9.
ANCHOR = "Hello World 42, quiz!"

#: The DSL's pool of substrings (the values "remove/replace the substring ..." take), a few to a string.
_SUBSTRINGS: tuple[str, ...] = OPS_BY_NAME["replace_substring"].params[0].pool
_SUBSTRING_PROBES = tuple(" ".join(_SUBSTRINGS[i:i + 10]) for i in range(0, len(_SUBSTRINGS), 10))

#: Every letter on both sides of a digit core: f(c + core + c) == f(core) exactly when c is stripped
#: from the ends, whatever a later step does to single letters (asked only when nothing fits).
_FRAME_CORE = "0123456789"
_FRAMED_PROBES = (_FRAME_CORE, *(c + _FRAME_CORE + c for c in string.ascii_letters))

#: The first experiment. Single letters pin down per-letter maps; "" shows inserted text.
BASE_PROBES: tuple[str, ...] = (
    ANCHOR, "Two driven jocks help fax my big quiz 2024!", "Jived fox nymph grabs quick waltz",
    "GLIB JOCKS QUIZ NYMPH TO VEX DWARF", "  leading and trailing  ", "double  space here", "aaabbbccc",
    "Mississippi", "x1y2z3 0987654321", "snake_case-and.dots", "Ab", "Zz", "ok?", "a b c d e f g h i j",
    "One, two; three: four.", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    *_SUBSTRING_PROBES, "", " ", *string.ascii_lowercase, *string.ascii_uppercase,
)

#: The second experiment, for when no program fits the first.
_SECOND_PROBES = (*_SUBSTRINGS, *_FRAMED_PROBES)

#: Inputs from which the splitting experiments are chosen: words and phrases like the ones a
#: function is tested on (mixed case, digits, punctuation, short and long, one to five words).
SPLIT_POOL: tuple[str, ...] = (
    "apple pie", "Zebra 9", "QUIZ show", "hello there", "a.b,c!", "mixedCASE words", "Yellow Submarine",
    "42 is it", "the end", "jump", "fizz buzz 15", "O", "I", "oh no!", "Rhythm and Blues",
    "computer science", "level", "BANANA split", "x-ray vision", "the year 2024", "we are 3",
    "keep it simple", "Nothing Else Matters", "umbrella", "abc def ghi", "zzz", "Quick Brown Fox",
    "hello  world", " trailing ", "UPPER lower", "under_score", "e", "thin ice", "heat wave",
    "rental", "eerie", "zig zag", "aeiou", "bcdfg", "Kiwi", "Vortex 7", "jazz", "Python 3",
    "Great Scott!", "mango tango", "abcdefghij", "ten 10 TEN", "q", "Wonderland", "the thing",
    "snow and ice", "Mountain", "extraordinary", "Hi", "it's", "good morning", "B2B", "v1.2",
    "Alpha Beta Gamma Delta", "racecar", "sequoia", "strength", "X", "Top Secret", "re-entry",
    "Oxford Street 221", "mid day", "Yo-yo", "wolf pack", "NASA", "Quebec", "Hawaii 5-0",
    "went to the store", "reading and writing", "the ideal heart", "it is on", "colder meal",
    "stone tea", "Pattern", "Thinking about it", "room101", "mp3", "Area51", "2fast", "html5", "b4",
)

# ----------------------------------------------------------------------------- what the DSL's ops do

_INVARIANT_STRINGS = ("Hello World 42, quiz!", "aab  XYZ", "", "q", "Mississippi river", "  x y  ", "AEIOU 0")


NUMBER_WORDS = frozenset(OPS_BY_NAME["length_word"].fn("x" * n) for n in range(0, 400))


def _valid_combinations(op: StringOp, values: list) -> list[Params]:
    """Every combination of one value per parameter (in ``op.params`` order) that ``op`` accepts."""
    out = []
    for combo in itertools.product(*values):
        params = dict(zip((p.name for p in op.params), combo))
        if op.valid is None or op.valid(params):
            out.append(params)
    return out


def _sample_params(op: StringOp) -> list[Params]:
    """An op's parameter values on its grid (a fixed key where the grid is empty): what its
    invariants are measured on and its inverse is applied with."""
    grids = []
    for p in op.params:
        grids.append(list(p.grid) if p.grid else ["qwertyuiopasdfghjklzxcvbnm"])
    return _valid_combinations(op, grids)


@dataclass(frozen=True)
class _Invariants:
    """Relations between an op's input and output that hold for every parameter value.

    Measured, not declared: each op is run on a few strings, and a relation is kept when it held on
    all of them. They let the search reject an op on one (intermediate, output) pair without running it.
    """

    same_length: bool
    same_multiset: bool
    same_casefold: bool
    number_word: bool
    fewer_chars: bool  # every output character occurs in the input


def _measure(op: StringOp) -> _Invariants:
    length = multiset = casefold = number = subset = True
    for params in _sample_params(op):
        for s in _INVARIANT_STRINGS:
            out = op.fn(s, **params)
            length &= len(out) == len(s)
            multiset &= sorted(out) == sorted(s)
            casefold &= out.lower() == s.lower()
            number &= out in NUMBER_WORDS
            subset &= set(out) <= set(s)
    return _Invariants(length, multiset, casefold, number, subset)


INVARIANTS: dict[str, _Invariants] = {op.name: _measure(op) for op in ATOMIC_OPS}
_OP_RANK = {op.name: i for i, op in enumerate(ATOMIC_OPS)}

# ----------------------------------------------------------------------------- parameter inference


def _first(pairs: Pairs, ok: Callable[[str, str], bool]) -> tuple[str, str] | None:
    return next(((m, y) for m, y in pairs if ok(m, y)), None)


def _infer_prefix(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    if len(y) > len(m) and y.endswith(m):
        yield {"text": y[: len(y) - len(m)]}


def _infer_suffix(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    if len(y) > len(m) and y.startswith(m):
        yield {"text": y[len(m):]}


def _inserted_at(m: str, y: str, j: int) -> str | None:
    d = len(y) - len(m)
    if d > 0 and y[:j] == m[:j] and y[j + d:] == m[j:]:
        return y[j:j + d]
    return None


def _infer_insert_at(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    op = OPS_BY_NAME["insert_at"]
    low, high = op.params[1].low, op.params[1].high
    for i in range(low, high + 1):
        text = _inserted_at(m, y, min(i, len(m)))
        if text is not None:
            yield {"text": text, "i": i}


def _infer_insert_middle(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    text = _inserted_at(m, y, len(m) // 2)
    if text is not None:
        yield {"text": text}


def _infer_surround(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    if len(y) == len(m) + 2 and y[0] == y[-1]:
        yield {"c": y[0]}


def _infer_interleave(pairs: Pairs) -> Iterable[Params]:
    pair = _first(pairs, lambda m, y: len(m) >= 2)
    if pair is None:
        yield from ({"c": c} for c in ALPHABET)
    elif len(pair[1]) == 2 * len(pair[0]) - 1:
        yield {"c": pair[1][1]}


def _replaced_class(members: set[str], name: str = "c") -> Callable[[Pairs], Iterable[Params]]:
    """Read the replacement character at the first position of a member of the class."""
    def infer(pairs: Pairs) -> Iterable[Params]:
        for m, y in pairs:
            if len(m) != len(y):
                return
            i = next((i for i, ch in enumerate(m) if ch in members), None)
            if i is not None:
                yield {name: y[i]}
                return
        yield from ({name: c} for c in ALPHABET)
    return infer


def _infer_remove_char(pairs: Pairs) -> Iterable[Params]:
    pair = _first(pairs, lambda m, y: len(y) < len(m))
    if pair is not None:
        m, y = pair
        yield from ({"c": c} for c in sorted(set(m) - set(y)))
        return
    seen = set().union(*(set(m) for m, _ in pairs))
    yield from ({"c": c} for c in ALPHABET if c not in seen)


def _infer_count_char(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    if y in NUMBER_WORDS:
        count_word = OPS_BY_NAME["length_word"].fn
        yield from ({"c": c} for c in ALPHABET if count_word("x" * m.count(c)) == y)


def _infer_replace_char(pairs: Pairs) -> Iterable[Params]:
    for m, y in pairs:
        if len(m) != len(y):
            return
        i = next((i for i, (a, b) in enumerate(zip(m, y)) if a != b), None)
        if i is not None:
            yield {"old": m[i], "new": y[i]}
            return


def _infer_strip_chars(pairs: Pairs) -> Iterable[Params]:
    """The letters seen stripped; and that set plus any one letter never seen at an end (whether it
    is stripped too is then for a later experiment to tell)."""
    stripped: set[str] = set()
    ends: set[str] = set()
    for m, y in pairs:
        k = m.find(y) if y else len(m)
        if k < 0:
            return
        stripped.update(m[:k] + m[k + len(y):])
        ends.update(m[:1] + m[-1:])
    if stripped:
        yield {"chars": "".join(sorted(stripped))}
        for c in string.ascii_letters:
            if c not in ends:
                yield {"chars": "".join(sorted(stripped | {c}))}


def _infer_remove_substring(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    for sub in OPS_BY_NAME["remove_substring"].params[0].pool:
        if (sub in m) == (len(y) < len(m)):
            yield {"sub": sub}


def _infer_replace_substring(pairs: Pairs) -> Iterable[Params]:
    """For each pool substring, the replacement read off the first pair whose input contains it."""
    for old in OPS_BY_NAME["replace_substring"].params[0].pool:
        pair = _first(pairs, lambda m, y: old in m)
        if pair is None:
            continue
        m, y = pair
        count, grow = m.count(old), len(y) - len(m)
        if grow % count:
            continue
        size = len(old) + grow // count
        p = m.find(old)
        if size > 0 and y[:p] == m[:p]:
            yield {"old": old, "new": y[p:p + size]}


def _infer_substitute(pairs: Pairs) -> Iterable[Params]:
    """The cipher key read off aligned letters; letters never seen are filled in alphabet order."""
    table: dict[str, str] = {}
    for m, y in pairs:
        if len(m) != len(y):
            return
        for a, b in zip(m, y):
            if "a" <= a <= "z":
                if not ("a" <= b <= "z") or table.setdefault(a, b) != b:
                    return
            elif "A" <= a <= "Z":
                if not ("A" <= b <= "Z") or table.setdefault(a.lower(), b.lower()) != b.lower():
                    return
    if len(set(table.values())) != len(table):
        return
    free = [c for c in string.ascii_lowercase if c not in set(table.values())]
    key = "".join(table[c] if c in table else free.pop(0) for c in string.ascii_lowercase)
    if key != string.ascii_lowercase:  # the identity key is no cipher
        yield {"key": key}


def _letter_shift(m: str, y: str, start: int = 0, stop: int | None = None) -> int | None:
    """How far the first letter in m[start:stop] moved forward (mod 26); None when there is no
    letter there, -1 when it did not stay a letter."""
    for a, b in zip(m[start:stop], y[start:stop]):
        if a.isascii() and a.isalpha():
            return (ord(b.lower()) - ord(a.lower())) % 26 if b.isascii() and b.isalpha() else -1
    return None


def _shift_rule(name: str, sign: int, start: int = 0, stop: int | None = None) -> Callable[[Pairs], Iterable[Params]]:
    """Read the shift k off the first letter whose position the op touches."""
    param = OPS_BY_NAME[name].params[0]

    def infer(pairs: Pairs) -> Iterable[Params]:
        for m, y in pairs:
            if len(m) != len(y):
                return
            k = _letter_shift(m, y, start, stop)
            if k is None:
                continue
            if k < 0:
                return
            k = (sign * k) % 26
            if param.low <= k <= param.high:
                yield {"k": k}
            return
        yield from ({"k": k} for k in range(param.low, param.high + 1))
    return infer


def _infer_shift_digits(pairs: Pairs) -> Iterable[Params]:
    for m, y in pairs:
        i = next((i for i, ch in enumerate(m) if ch in _DIGITS), None)
        if i is None:
            continue
        if len(m) == len(y) and y[i] in _DIGITS and y[i] != m[i]:
            yield {"k": (int(y[i]) - int(m[i])) % 10}
        return
    yield from ({"k": k} for k in range(1, 10))


def _infer_swap_positions(pairs: Pairs) -> Iterable[Params]:
    m, y = pairs[0]
    if len(m) != len(y):
        return
    diff = [i for i, (a, b) in enumerate(zip(m, y)) if a != b]
    if len(diff) == 2:
        yield {"i": diff[0], "j": diff[1]}
    elif not diff:
        yield from _GRID_SWAPS


@dataclass(frozen=True)
class Rule:
    """How an op's parameters are read off (intermediate, output) pairs, instead of tried one by one.

    `propose` proposes values (possibly several); `solve` keeps those that reproduce every pair.
    `all_pairs` says the rule reads past the first pair: the search then solves it again on every
    pair, since an anchor the op leaves alone may still show its parameter elsewhere. A rule that
    reads the first pair only is checked lazily, pair by pair.
    """

    propose: Callable[[Pairs], Iterable[Params]]
    all_pairs: bool = False


INFER: dict[str, Rule] = {
    "shift_forward": Rule(_shift_rule("shift_forward", 1), all_pairs=True),
    "shift_backward": Rule(_shift_rule("shift_backward", -1), all_pairs=True),
    "shift_first_char": Rule(_shift_rule("shift_first_char", 1, 0, 1), all_pairs=True),
    "shift_last_char": Rule(_shift_rule("shift_last_char", 1, -1, None), all_pairs=True),
    "shift_digits": Rule(_infer_shift_digits, all_pairs=True),
    "swap_positions": Rule(_infer_swap_positions),
    "prefix": Rule(_infer_prefix),
    "suffix": Rule(_infer_suffix),
    "insert_at": Rule(_infer_insert_at),
    "insert_middle": Rule(_infer_insert_middle),
    "surround": Rule(_infer_surround),
    "interleave": Rule(_infer_interleave, all_pairs=True),
    "replace_vowels": Rule(_replaced_class(_VOWELS), all_pairs=True),
    "replace_spaces": Rule(_replaced_class({" "}), all_pairs=True),
    "replace_digits": Rule(_replaced_class(_DIGITS), all_pairs=True),
    "remove_char": Rule(_infer_remove_char, all_pairs=True),
    "count_char_word": Rule(_infer_count_char),
    "replace_char": Rule(_infer_replace_char, all_pairs=True),
    "strip_chars": Rule(_infer_strip_chars, all_pairs=True),
    "remove_substring": Rule(_infer_remove_substring),
    "replace_substring": Rule(_infer_replace_substring, all_pairs=True),
    "substitute": Rule(_infer_substitute, all_pairs=True),
}


def _grid_params(op: StringOp) -> list[Params]:
    """Every value of an op whose parameters are integers in a range, characters, or from a pool."""
    values = []
    for p in op.params:
        if p.kind == "int":
            values.append(range(p.low, p.high + 1))
        elif p.kind == "char":
            values.append(ALPHABET)
        else:
            values.append(p.pool)
    return _valid_combinations(op, values)


#: Enumerable parameter spaces. Free text and keys are read off observations instead, and so is
#: replace_char's pair of characters (2,756 pairs: too many to try blindly as a first step).
_GRID: dict[str, list[Params]] = {
    op.name: _grid_params(op) for op in ATOMIC_OPS
    if op.name != "replace_char" and all(p.kind in ("int", "char") or p.pool for p in op.params)}
_GRID_SWAPS = _GRID["swap_positions"]


def solve(op: StringOp, pairs: Pairs) -> list[Params]:
    """Every parameter value for which `op` maps each intermediate to its output (pairs non-empty)."""
    rule = INFER.get(op.name)
    proposals = rule.propose(pairs) if rule else _GRID[op.name]
    fn = op.fn
    found = []
    for params in proposals:
        if rule and not op.accepts(params):
            continue
        if all(fn(m, **params) == y for m, y in pairs):
            found.append(params)
    return found


# ----------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Step:
    """One op with its parameters: hashable (a search key) and callable (fast: no validation)."""

    name: str
    params: tuple[tuple[str, Any], ...]
    op: StringOp = field(compare=False, repr=False)
    kwargs: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def make(cls, op: StringOp, params: Params) -> "Step":
        return cls(op.name, tuple(sorted(params.items())), op, dict(params))

    def __call__(self, s: str) -> str:
        return self.op.fn(s, **self.kwargs)


#: A hypothesis: a program of the DSL (its steps), or one synthesized from primitives.
Steps = tuple[Step, ...]
Candidate = Steps | Prog

#: Seconds the synthesizer may spend on one search (it stops at its first consistent programs).
SYNTHESIS_SECONDS = 8.0
#: A synthesized answer is tested on this many fresh inputs (and, after a refutation, its
#: successor too, up to this many tests).
CHECK_INPUTS = 8
MAX_CHECKS = 3


def run(candidate: Candidate, s: str) -> str:
    if isinstance(candidate, Prog):
        return safe(candidate.fn, s)
    for step in candidate:
        s = step(s)
    return s


def program(candidate: Steps) -> StringProgram:
    return StringProgram.of(*((step.name, step.kwargs) for step in candidate))


def _composable(inner: StringOp, outer: StringOp) -> bool:
    """The DSL's own composition rule: different families, and not a pair that degenerates."""
    return inner.family != outer.family and frozenset({inner.family, outer.family}) not in INCOMPATIBLE_FAMILIES


def describe(candidate: Candidate) -> str:
    return candidate.words if isinstance(candidate, Prog) else program(candidate).describe()


def complexity(candidate: Candidate) -> tuple:
    """Simpler first: fewer steps, fewer parameters, values on the DSL's default grid, earlier ops.
    A synthesized program comes after every DSL program of one or two steps: where both fit, the
    DSL's canonical phrasing is the one the offline judge reads back."""
    if isinstance(candidate, Prog):
        return (2 + candidate.cost, 0, 0, [], [candidate.words])
    off_grid = sum(1 for step in candidate for p in step.op.params if p.grid and step.kwargs[p.name] not in p.grid)
    return (len(candidate), sum(len(s.params) for s in candidate), off_grid,
            [_OP_RANK[s.name] for s in candidate], [repr(s.params) for s in candidate])


def _read_back(t: str) -> list[str]:
    """Strings that some DSL op could have turned into `t`: `t` itself, and what each op's declared
    inverse (`StringOp.inverse`) makes of it on every value of the op's grid. This is how a
    parameter is read back through an outer step: an inserted text that was then reversed, shifted,
    interleaved, rotated or counted."""
    out = [t]
    for inverse, params in _INVERSES:
        read = inverse(t, **params)
        if read is not None:
            out.append(read)
    return list(dict.fromkeys(out))


#: Every declared inverse, on every value of its op's grid.
_INVERSES: list[tuple[Inverse, Params]] = [
    (op.inverse, params) for op in ATOMIC_OPS if op.inverse is not None for params in _sample_params(op)]


def inner_candidates(observed: dict[str, str]) -> list[Step]:
    """Every first step to try: parameter ranges, plus free parameters read off the probes."""
    steps = [Step.make(op, params) for op in ATOMIC_OPS if op.name in _GRID for params in _GRID[op.name]]
    steps += _read_texts(observed) + _read_letter_maps(observed) + _read_substring_replacements(observed)
    return list(dict.fromkeys(steps))


def _plausible_text(t: str) -> bool:
    return 0 < len(t) <= _MAX_TEXT and all(c.isalnum() and c.isascii() for c in t)


def _read_texts(observed: dict[str, str]) -> list[Step]:
    """Inserted text shows in f(''): prefix, suffix, insert at i, insert in the middle."""
    empty = observed.get("")
    if not empty:
        return []
    steps = []
    for t in _read_back(empty):
        if not _plausible_text(t):
            continue
        for name in ("prefix", "suffix", "insert_middle"):
            steps.append(Step.make(OPS_BY_NAME[name], {"text": t}))
        op = OPS_BY_NAME["insert_at"]
        steps += [Step.make(op, {"text": t, "i": i}) for i in range(op.params[1].low, op.params[1].high + 1)]
    return steps + _read_sampled_texts(observed)


def _insertions() -> list[tuple[StringOp, Params, Callable[[str], int]]]:
    """Every way the DSL inserts a text: the op, its other parameters, where it goes in x."""
    at = OPS_BY_NAME["insert_at"]
    out: list[tuple[StringOp, Params, Callable[[str], int]]] = [
        (OPS_BY_NAME["prefix"], {}, lambda x: 0),
        (OPS_BY_NAME["suffix"], {}, len),
        (OPS_BY_NAME["insert_middle"], {}, lambda x: len(x) // 2),
    ]
    out += [(at, {"i": i}, lambda x, i=i: min(i, len(x))) for i in range(at.params[1].low, at.params[1].high + 1)]
    return out


_INSERTIONS = _insertions()


def _read_sampled_texts(observed: dict[str, str]) -> list[Step]:
    """An inserted text seen through "keep one character in every k": each observation shows the
    text's characters at the kept positions, which move with the input's length; solving those
    constraints over all observations recovers the text (its never-kept characters do not matter)."""
    keep = OPS_BY_NAME["keep_every_kth"].params[0]
    steps = []
    for k in range(keep.low, keep.high + 1):
        for op, params, where in _INSERTIONS:
            for length in range(1, _MAX_TEXT + 1):
                text = _solve_sampled_text(observed, k, length, where)
                if text is not None:
                    steps.append(Step.make(op, {"text": text, **params}))
    return steps


def _solve_sampled_text(observed: dict[str, str], k: int, length: int, where: Callable[[str], int]) -> str | None:
    text: list[str | None] = [None] * length
    for x, y in observed.items():
        j, n = where(x), len(x) + length
        if len(y) != -(-n // k):
            return None
        for out, p in zip(y, range(0, n, k)):
            if j <= p < j + length:
                if text[p - j] is None:
                    text[p - j] = out
                elif text[p - j] != out:
                    return None
            elif (x[p] if p < j else x[p - length]) != out:
                return None
    if any(c is not None and not (c.isascii() and c.isalnum()) for c in text):
        return None
    return "".join(c or "x" for c in text)


def _read_letter_maps(observed: dict[str, str]) -> list[Step]:
    """Single letters expose a cipher key, a replaced letter, and a set of stripped letters."""
    letters = string.ascii_lowercase
    if not all(c in observed for c in letters):
        return []
    steps: list[Step] = []
    shift = OPS_BY_NAME["shift_forward"].fn
    undos: list[Callable[[str], str]] = [lambda t: t, str.lower, str.upper, str.swapcase]
    undos += [lambda t, k=k: shift(t, k) for k in range(1, 26)]
    images = [observed[c] for c in letters]
    bare = _strip_affixes(images)  # a text added before or after shows in every image
    for undo in undos:
        for imgs in ([images, bare] if bare != images else [images]):
            key = _partial_key([undo(t) for t in imgs])
            if key is not None:
                steps.append(Step.make(OPS_BY_NAME["substitute"], {"key": key}))
    # replace_char(old, new): old and new give the same output
    by_output: dict[str, list[str]] = {}
    for c in string.ascii_letters:
        if c in observed:
            by_output.setdefault(observed[c], []).append(c)
    pairs = [(a, b) for group in by_output.values() if 1 < len(group) <= 6 for a in group for b in group if a != b]
    if len(pairs) <= 160:
        steps += [Step.make(OPS_BY_NAME["replace_char"], {"old": a, "new": b}) for a, b in pairs]
    # strip_chars: the letters whose output is f('')
    # (a later step may erase a letter too: subsets that leave out one or two are tried as well)
    if "" in observed:
        gone = [c for c in string.ascii_letters if observed.get(c) == observed[""]]
        if 0 < len(gone) <= 8:
            for size in range(len(gone), max(len(gone) - 3, 0), -1):
                steps += [Step.make(OPS_BY_NAME["strip_chars"], {"chars": "".join(chars)})
                          for chars in itertools.combinations(gone, size)]
    if all(x in observed for x in _FRAMED_PROBES):
        framed = "".join(c for c in string.ascii_letters if observed[c + _FRAME_CORE + c] == observed[_FRAME_CORE])
        if framed:
            steps.append(Step.make(OPS_BY_NAME["strip_chars"], {"chars": framed}))
    return steps


def _strip_affixes(images: list[str]) -> list[str]:
    """The images without the prefix and the suffix they all share."""
    head = len(os.path.commonprefix(images))
    tail = len(os.path.commonprefix([t[head:][::-1] for t in images]))
    return [t[head:len(t) - tail] for t in images]


def _partial_key(images: list[str]) -> str | None:
    """A cipher key from the images of a..z, where a later step may have erased a few (a removed
    vowel): the unknown letters get the unused images in alphabet order, which any step that erases
    them cannot tell apart."""
    known = {c: t for c, t in zip(string.ascii_lowercase, images) if len(t) == 1 and "a" <= t <= "z"}
    if len(known) < 18 or len(set(known.values())) != len(known):
        return None
    free = [c for c in string.ascii_lowercase if c not in set(known.values())]
    key = "".join(known[c] if c in known else free.pop(0) for c in string.ascii_lowercase)
    return key if key != string.ascii_lowercase else None


def _read_substring_replacements(observed: dict[str, str]) -> list[Step]:
    """f(old) = outer(new) for replace_substring(old, new), when the pool substrings were asked."""
    op = OPS_BY_NAME["replace_substring"]
    steps = []
    for old in op.params[0].pool:
        out = observed.get(old)
        if out is None or out == old:
            continue
        for t in _read_back(out):
            if _plausible_text(t) and t != old:
                steps.append(Step.make(op, {"old": old, "new": t}))
    return steps


# ----------------------------------------------------------------------------- the search


@dataclass
class SearchResult:
    survivors: list[Candidate]
    near_misses: list[Steps]  # fitted the anchor, failed elsewhere (the simplest few hundred)

    def closest(self, observations: Sequence[tuple[str, str]]) -> list[tuple[int, Steps]]:
        """Near misses with the number of observations each reproduces, best first."""
        scored = [(sum(run(c, x) == y for x, y in observations), c) for c in self.near_misses]
        return sorted(scored, key=lambda t: (-t[0], complexity(t[1])))


def search(observations: Sequence[tuple[str, str]]) -> SearchResult:
    """Every one- or two-step program that reproduces all observations.

    The first observation is the anchor: every inner candidate is run on it, candidates are grouped
    by what they make of it, and the inference rules read parameters off it first."""
    xs = [x for x, _ in observations]
    ys = [y for _, y in observations]
    x0, y0 = observations[0]
    observed = dict(observations)
    inners: list[Steps] = [()] + [(s,) for s in inner_candidates(observed)]
    groups: dict[str, list[int]] = {}
    for k, inner in enumerate(inners):
        groups.setdefault(run(inner, x0), []).append(k)
    cache: list[list[str]] = [[] for _ in inners]  # what each inner candidate makes of the inputs, so far

    def intermediate(k: int, i: int) -> str:
        done = cache[k]
        while len(done) <= i:
            done.append(run(inners[k], xs[len(done)]))
        return done[i]

    def intermediates(k: int) -> list[str]:
        intermediate(k, len(xs) - 1)
        return cache[k]

    def fits(k: int, op: StringOp, params: Params) -> bool:
        """Lazily: most candidates fail on one of the first few inputs."""
        return all(op.fn(intermediate(k, i), **params) == y for i, y in enumerate(ys))

    survivors: list[Steps] = []
    near: list[Steps] = []
    y0_sorted, y0_lower, y0_number, y0_set = sorted(y0), y0.lower(), y0 in NUMBER_WORDS, set(y0)
    for m0, members in groups.items():
        same_len, m0_lower = len(m0) == len(y0), m0.lower()
        multiset = same_len and sorted(m0) == y0_sorted
        subset = y0_set <= set(m0)
        if m0 == y0:
            for k in members:
                if inners[k]:
                    fitted = all(intermediate(k, i) == y for i, y in enumerate(ys))
                    (survivors if fitted else near).append(inners[k])
        for op in ATOMIC_OPS:
            inv = INVARIANTS[op.name]
            if ((inv.same_length and not same_len) or (inv.same_multiset and not multiset)
                    or (inv.same_casefold and m0_lower != y0_lower) or (inv.number_word and not y0_number)
                    or (inv.fewer_chars and not subset)):
                continue
            quick = solve(op, [(m0, y0)])
            all_pairs = op.name in INFER and INFER[op.name].all_pairs
            if not quick and not (m0 == y0 and all_pairs):
                continue  # (an op that left the anchor alone may still show its parameter elsewhere)
            for k in members:
                inner = inners[k]
                if inner and not _composable(inner[0].op, op):
                    continue
                if all_pairs:
                    full = solve(op, list(zip(intermediates(k), ys)))
                else:
                    full = [p for p in quick if fits(k, op, p)]
                survivors += [inner + (Step.make(op, p),) for p in full]
                if not full and len(near) < 4 * _NEAR_MISSES:
                    near += [inner + (Step.make(op, p),) for p in quick[:2]]
    survivors = list(dict.fromkeys(survivors))
    survivors += _swapped(survivors, observations)
    return SearchResult(list[Candidate](survivors), sorted(dict.fromkeys(near), key=complexity)[:_NEAR_MISSES])


def _swapped(survivors: list[Steps], observations: Sequence[tuple[str, str]]) -> list[Steps]:
    """The same two steps in the other order, where that also fits: a parameter read off an outer
    step (a replacement, a stripped set) may belong to the inner one, whose value the search could
    not read off the probes because the outer step hid it."""
    known = set(survivors)
    out = []
    for cand in survivors:
        if len(cand) == 2:
            swapped = (cand[1], cand[0])
            if swapped not in known and all(run(swapped, x) == y for x, y in observations):
                known.add(swapped)
                out.append(swapped)
    return out


def closest_atomic(observations: Sequence[tuple[str, str]]) -> tuple[int, Steps] | None:
    """The single step, from its parameter range, that reproduces the most observations."""
    best: tuple[int, Steps] | None = None
    for op in ATOMIC_OPS:
        for params in _GRID.get(op.name, []):
            cand = (Step.make(op, params),)
            hits = sum(run(cand, x) == y for x, y in observations)
            if best is None or hits > best[0]:
                best = (hits, cand)
    return best


def targeted_inputs(survivors: Sequence[Candidate], limit: int = 6) -> list[str]:
    """Inputs built around the characters and texts the survivors' parameters mention (the letter
    one removes, the substring another replaces), alone, doubled, between letters and next to each
    other: where two programs that use them differ (in their order, say), these show it."""
    counts: Counter[str] = Counter()
    for cand in survivors:
        if isinstance(cand, Prog):
            continue
        for step in cand:
            for _, value in step.params:
                if isinstance(value, str) and len(value) <= 6:
                    counts[value] += 1
    tokens = [t for t, _ in counts.most_common(limit)]
    out = []
    for t in tokens:
        out += [t, t + t, "a" + t + "a", t + "a" + t, "The " + t + " end", t.upper(), t.lower() + " 42"]
    for a, b in itertools.permutations(tokens[:4], 2):
        out += [a + b + a, "x" + a + b + "y " + b + a]
    return list(dict.fromkeys(out))


def partition_score(signatures: Sequence[tuple[str, ...]]) -> int:
    """Expected size of the class a survivor lands in (x n): lower splits better."""
    return sum(n * n for n in Counter(signatures).values())


def choose_splits(survivors: Sequence[Candidate], pool: Sequence[str], k: int) -> list[str]:
    """Up to k inputs whose outputs split the survivors most evenly, chosen greedily together."""
    table = {x: [run(c, x) for c in survivors] for x in pool}
    current: list[tuple[str, ...]] = [() for _ in survivors]
    chosen: list[str] = []
    for _ in range(k):
        best, best_score = None, partition_score(current)
        for x, outs in table.items():
            if x in chosen:
                continue
            score = partition_score([sig + (o,) for sig, o in zip(current, outs)])
            if score < best_score:
                best, best_score = x, score
        if best is None:
            break
        chosen.append(best)
        current = [sig + (o,) for sig, o in zip(current, table[best])]
    return chosen


# ----------------------------------------------------------------------------- the investigation


class StringScientist:
    """One investigation of one string black box."""

    def __init__(self, probe: Probe, seed: int = 0, notebook: Notebook | None = None):
        self._probe = probe
        self.notes = notebook or Notebook()
        self.observations: dict[str, str] = {}
        pool = list(SPLIT_POOL)
        random.Random(seed).shuffle(pool)  # ties between equally good splits are broken by the seed
        self.pool = pool
        self._predictions: dict[Candidate, dict[str, str]] = {}  # what each survivor says of each input
        self._hyps: dict[Candidate, Hypothesis] = {}
        self._targets: list[str] = []  # inputs built around the current survivors' parameters

    def ask(self, inputs: Sequence[str], purpose: str) -> list[str]:
        new = [x for x in dict.fromkeys(inputs) if x not in self.observations]
        if not new:
            return []
        outs = self._probe(new)
        if len(outs) != len(new):
            raise ValueError(f"the probe returned {len(outs)} outputs for {len(new)} inputs")
        outs = [o if isinstance(o, str) else str(o) for o in outs]
        self.notes.record(purpose, new, outs)
        self.observations.update(zip(new, outs))
        return new

    def _pairs(self) -> list[tuple[str, str]]:
        return list(self.observations.items())

    def run(self) -> Findings:
        self.ask(BASE_PROBES, "designed probes: the empty string, every letter alone in both cases, rich strings")
        result = self._search()
        survivors = sorted(result.survivors, key=complexity)[:MAX_SURVIVORS]
        rounds = checks = 0
        while survivors:
            self._targets = targeted_inputs(survivors)
            classes = self._classes(survivors)
            self._track(classes)
            if len(classes) == 1 and isinstance(classes[0][0], Prog) and checks < MAX_CHECKS:
                # A synthesized program was built to fit what was seen: test it on inputs it was not
                # built from before believing it (a wrong one is refuted and the search goes on).
                checks += 1
                fresh = [x for x in self.pool if x not in self.observations][:CHECK_INPUTS]
                new = self.ask(fresh, f"held-out check of the synthesized program: {CHECK_INPUTS} new inputs")
                survivors = self._refute(survivors, new)
                if survivors:
                    break
                result = self._search()
                survivors = sorted(result.survivors, key=complexity)[:MAX_SURVIVORS]
                continue
            if len(classes) == 1:
                break
            if rounds == MAX_ROUNDS:
                break
            candidates = [x for x in self.pool + self._targets if x not in self.observations]
            splits = choose_splits([c[0] for c in classes], candidates, PER_ROUND)
            if not splits:
                break
            rounds += 1
            new = self.ask(splits, f"round {rounds}: inputs that split the {len(classes)} surviving behaviours")
            survivors = self._refute(survivors, new)
            if not survivors:
                result = self._search()
                survivors = sorted(result.survivors, key=complexity)[:MAX_SURVIVORS]
        return self._answer(survivors, result, rounds)

    def _search(self) -> SearchResult:
        """Search on every observation; when nothing fits, run the second experiment and search again."""
        result = search(self._pairs())
        if not result.survivors and not all(x in self.observations for x in _SECOND_PROBES):
            self.ask(_SECOND_PROBES, "no one- or two-step program fits: ask the DSL's substrings alone (to read "
                                     "a replacement off them) and every letter around a digit core (to see "
                                     "which letters are stripped)")
            result = search(self._pairs())
        self._note_search(result)
        if not result.survivors:
            result = self._synthesize(result)
        return result

    def _synthesize(self, result: SearchResult) -> SearchResult:
        """No program of the DSL fits: build one from primitives (`agent.builtin.synthesis`),
        recording what the observations showed and what was built."""
        pairs = self._pairs()
        self.notes.propose("f is a program of the string DSL (one op or two composed)", "refuted",
                           f"no such program reproduces all {len(pairs)} observations")
        noticed = _features_in_words(pairs)
        found = synthesize(pairs, SYNTHESIS_SECONDS)
        if not found:
            self.notes.propose("f is a composition of the synthesizer's primitives", "refuted",
                               f"{noticed}; no composition found within the search budget reproduces every "
                               "observation")
            return result
        for prog in found[:3]:
            self._hyps[prog] = self.notes.propose(
                f"f = {prog.words}", "open",
                f"{noticed}; synthesized from primitives (cost {prog.cost}) and reproduces all {len(pairs)} "
                "observations")
        return SearchResult(list(found), result.near_misses)

    def _classes(self, survivors: list[Candidate]) -> list[list[Candidate]]:
        """Survivors grouped by behaviour on the split pool and the targeted inputs, simplest first."""
        groups: dict[tuple[str, ...], list[Candidate]] = {}
        inputs = self.pool + self._targets
        for cand in sorted(survivors, key=complexity):
            known = self._predictions.setdefault(cand, {})
            for x in inputs:
                if x not in known:
                    known[x] = run(cand, x)
            groups.setdefault(tuple(known[x] for x in inputs), []).append(cand)
        return sorted(groups.values(), key=lambda g: complexity(g[0]))

    def _track(self, classes: list[list[Candidate]]) -> None:
        """Each surviving behaviour (its simplest program) becomes an open hypothesis."""
        for group in classes[:8]:
            if group[0] not in self._hyps:
                self._hyps[group[0]] = self.notes.propose(
                    f"f = {describe(group[0])}", "open",
                    f"reproduces all {len(self.observations)} observations so far"
                    + (f" ({len(group) - 1} equivalent programs behave the same)" if len(group) > 1 else ""))

    def _refute(self, survivors: list[Candidate], new: list[str]) -> list[Candidate]:
        kept = []
        for cand in survivors:
            miss = next((x for x in new if run(cand, x) != self.observations[x]), None)
            if miss is None:
                kept.append(cand)
            elif cand in self._hyps:
                self.notes.settle(self._hyps[cand], "refuted", f"on {miss!r} it gives {run(cand, miss)!r}, "
                                                        f"but f gave {self.observations[miss]!r}")
        return kept

    def _note_search(self, result: SearchResult) -> None:
        """Record the closest refuted programs (among the simplest that fitted the anchor): the
        hypotheses the first experiments ruled out."""
        shortlist = SearchResult([], result.near_misses[:30]).closest(self._pairs())
        for hits, cand in shortlist[:3]:
            miss = next(x for x, y in self.observations.items() if run(cand, x) != y)
            self.notes.propose(f"f = {program(cand).describe()}", "refuted",
                               f"reproduces {hits} of {len(self.observations)} observations; on {miss!r} it gives "
                               f"{run(cand, miss)!r}, but f gave {self.observations[miss]!r}")

    def _answer(self, survivors: list[Candidate], result: SearchResult, rounds: int) -> Findings:
        if survivors:
            classes = self._classes(survivors)
            best = classes[0][0]
            description = describe(best)
            self._refute_parts(best)
            h = self._hyps.get(best) or self.notes.propose(f"f = {description}")
            evidence = f"reproduces all {len(self.observations)} observations"
            if len(classes) > 1:
                self.notes.settle(h, "open", f"{evidence}, but after {rounds} rounds {len(classes)} behaviours "
                                             "still fit; answering with the simplest")
                description += ". Note: other programs also fit every observation; this is the simplest"
            else:
                self.notes.settle(h, "supported", f"{evidence}; no other behaviour survives")
            if isinstance(best, Prog):
                return Findings(description[:1].upper() + description[1:], best.source(), None, "synthesized",
                                self.notes.hypotheses, self.notes.experiments)
            chosen = program(best)
        else:
            fallback = [hc for hc in (result.closest(self._pairs())[:1] + [closest_atomic(self._pairs())]) if hc]
            hits, best = max(fallback, key=lambda hc: (hc[0], [-v for v in complexity(hc[1])[:3]]))
            chosen = program(best)
            description = chosen.describe()
            self.notes.propose(f"f = {description}", "open",
                               f"no program in the search fits all observations; this one reproduces "
                               f"{hits} of {len(self.observations)}")
            description += (f". Note: no program in the search space fits every observation; this is the "
                            f"closest, matching {hits} of {len(self.observations)}")
        return Findings(description, chosen.source(), None, ";".join(chosen.op_names),
                        self.notes.hypotheses, self.notes.experiments)

    def _refute_parts(self, best: Candidate) -> None:
        """For a composition, record why neither step alone explains the observations."""
        if isinstance(best, Prog) or len(best) < 2:
            return
        for part in (best[:1], best[1:]):
            miss = next((x for x, y in self.observations.items() if run(part, x) != y), None)
            if miss is not None:
                self.notes.propose(f"f = {program(part).describe()} (one step alone)", "refuted",
                                   f"on {miss!r} it gives {run(part, miss)!r}, but f gave {self.observations[miss]!r}")


def _features_in_words(pairs: Sequence[tuple[str, str]]) -> str:
    """What the input-output pairs show at a glance, the features that steer the synthesis."""
    rich = [(x, y) for x, y in pairs if len(x) > 1] or list(pairs)
    out = []
    if all(len(x) == len(y) for x, y in rich):
        out.append("every output is as long as its input")
    elif all(len(y) < len(x) for x, y in rich if x):
        out.append("every output is shorter than its input")
    elif all(len(y) > len(x) for x, y in rich):
        out.append("every output is longer than its input")
    if all(sorted(x) == sorted(y) for x, y in rich):
        out.append("with the same characters (a rearrangement)")
    elif all(set(y) <= set(x) for x, y in rich):
        out.append("using only characters of the input")
    if all(len(x.split(" ")) == len(y.split(" ")) for x, y in rich):
        out.append("with as many words as the input")
    if all(y.isdigit() for x, y in rich):
        out.append("every output is a number")
    return "features: " + (", ".join(out) if out else "no simple relation between input and output lengths")


def investigate_strings(probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> Findings:
    """Investigate a string black box: `probe` maps a list of inputs to their outputs."""
    return StringScientist(probe, seed, notebook).run()
