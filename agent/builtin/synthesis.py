"""Bottom-up program synthesis over string primitives, for the builtin scientist.

Why a synthesizer: the DSL search in `agent.builtin.strings` can only answer with operations the
suite was generated from. A black box from anywhere else (rotate the words, swap the ends of each
word, run-length encode) needs hypotheses *built* from smaller parts. The parts here are general
(`agent.builtin.synthesis_runtime`): per-character maps under class or position predicates,
filters (a map to nothing), slices, partitions, run grouping, orderings of characters and of words,
counts with a number format, word split/map/join, and two ways of combining transformed copies
(concatenation and interleaving). Composition chains them.

How the search is kept small (the alternatives, a plain enumeration of all compositions or a
general-purpose solver, are too slow in pure Python for a benchmark of hundreds of functions):

* **Observational equivalence.** Programs are enumerated bottom-up by cost and stored by their
  *signature*, the tuple of outputs on a dozen rich probe inputs; a program whose signature is
  already known is dropped, so `upper` then `upper`, or `reverse` then `reverse`, never grow the
  bank. Compositions are computed from the inner program's signature, not from the inputs.
* **Input-output features prune the primitives.** When every observed output has the input's
  length, only length-preserving primitives are composed; the same multiset of characters keeps
  only rearrangements; outputs whose characters all occur in the input keep only primitives that
  never invent characters (measured on sample strings, never declared).
* **Goal-directed decomposition** (a meet in the middle). The target outputs are taken apart before
  any lookup: a common prefix or suffix of every output is constant text; an output that starts
  with some bank program's output leaves a remainder that another program must explain
  (concatenation); even and odd characters are two targets (interleaving); when the words of the
  output line up with the words of the input, the word pairs become a new, smaller synthesis
  problem (map each word, or the words at some positions, or those a rule on the word picks),
  also after undoing a word reordering; outputs that split into one part per character are a
  problem on (character, part) pairs; outputs made of some of the input's words are a filter
  whose rule is read off the kept and the dropped words; and an invertible last step (reverse,
  rotations, shifts, swaps) is undone on the target, which extends every bank program by one step
  for the price of one lookup.
* **Iterative deepening.** The decompositions are tried on the atoms first and again after each
  level of composition, so a simple function costs a few hundredths of a second.
* **Parameters read off the data.** Removed characters, written constants, letter shifts and
  counted characters come from the observations (`data_atoms`), not from a grid.

Every proposal is verified on all observations before it is returned. Since the signature inputs
are a subset, two programs equal on them may differ elsewhere and the cheaper one may hide the
right one: a proposal that fits the subset but fails another observation adds that observation
to the signature inputs and the search runs again (counterexample-guided, a few times at most).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .synthesis_runtime import RUNTIME, RUNTIME_SOURCE

Sig = tuple[str, ...]
Pairs = Sequence[tuple[str, str]]

#: Inputs a signature is computed on (the richest observations): enough to tell programs apart,
#: few enough that thousands of compositions take a fraction of a second.
SIGNATURE_INPUTS = 12
#: Word pairs a word-level sub-problem is solved on.
WORD_INPUTS = 16
_ERROR = "\x00error"


@dataclass(frozen=True, eq=False)
class Prog:
    """A program: what it does in words, how it runs, how it is written, and its cost."""

    words: str
    fn: Callable[[str], str]
    src: Callable[[str], str]  # the Python expression applying it to the named argument
    cost: int

    def __call__(self, s: str) -> str:
        return self.fn(s)

    def then(self, outer: "Prog") -> "Prog":
        """This program first, `outer` on its result."""
        inner = self
        return Prog(f"{inner.words}, then {outer.words}", lambda s: outer.fn(inner.fn(s)),
                    lambda a: outer.src(inner.src(a)), inner.cost + outer.cost)

    def source(self) -> str:
        """A self-contained body defining `function(x)`: the primitives, then this program."""
        return RUNTIME_SOURCE.strip() + "\n\n\ndef function(x):\n    return " + self.src("x") + "\n"


def safe(fn: Callable[[str], str], s: str) -> str:
    """The output, or a marker no black box returns when the program raises."""
    try:
        out = fn(s)
    except Exception:  # noqa: BLE001 - a candidate that raises simply does not fit
        return _ERROR
    return out if isinstance(out, str) else _ERROR


# ----------------------------------------------------------------------------- primitives

R = RUNTIME

_CLASS_WORDS = {
    "every": "every character", "vowel": "every vowel", "consonant": "every consonant",
    "uppercase": "every uppercase letter", "lowercase": "every lowercase letter", "letter": "every letter",
    "non-letter": "every character that is not a letter", "digit": "every digit", "space": "every space",
    "punctuation": "every punctuation character", "alphanumeric": "every letter and digit",
    "whitespace": "every whitespace character",
}
_POSITION_WORDS = {
    "even": "every character at an even position (counting from 0)",
    "odd": "every character at an odd position (counting from 0)",
    "first": "the first character", "last": "the last character",
    "third": "every third character (positions 2, 5, 8, ...)",
    "third0": "every third character (positions 0, 3, 6, ...)",
    "middle": "the middle character (position len // 2)",
    "second": "the second character", "second to last": "the second to last character",
    "first half": "every character of the first half (rounded down)",
    "second half": "every character of the second half (rounded down)",
}
_NOUN = {**_CLASS_WORDS, **_POSITION_WORDS}
_PLURAL = {"every": "the characters", "vowel": "the vowels", "consonant": "the consonants",
           "uppercase": "the uppercase letters", "lowercase": "the lowercase letters", "letter": "the letters",
           "non-letter": "the characters that are not letters", "digit": "the digits", "space": "the spaces",
           "punctuation": "the punctuation", "alphanumeric": "the letters and digits"}


def _pred_words(pred: str) -> str:
    if pred.startswith("not "):
        return "every character that is not " + _NOUN[pred[4:]].removeprefix("every ").removeprefix("the ")
    return _NOUN[pred]


_MAP_VERBS = {
    "upper": "uppercase {}", "lower": "lowercase {}", "swapcase": "swap the case of {}", "double": "double {}",
    "drop": "remove {}", "atbash": "replace {} with its mirror in the alphabet (a<->z, b<->y), keeping case",
    "next vowel": "replace {} that is a vowel with the next vowel (a->e, ..., u->a)",
    "digit mirror": "replace {} that is a digit d with 9 - d",
    "digit word": "write {} that is a digit as its English name",
    "shift by position": "shift {} forward in the alphabet by its position (counting from 0), keeping case",
    "shift back by position": "shift {} backward in the alphabet by its position (counting from 0), keeping case",
    "position": "replace {} by its position (counting from 0)",
    "repeat by position": "repeat {} one more time than its position (counting from 0)",
    "alphabet position": "replace {} that is a letter by its position in the alphabet (a=1)",
}


def _map_words(f: str, target: str) -> str:
    if f in _MAP_VERBS:
        return _MAP_VERBS[f].format(target)
    kind, k = f.rsplit(" ", 1)
    if kind == "shift":
        return f"shift {target} forward by {k} in the alphabet, wrapping around and keeping case"
    return f"add {k} to {target} that is a digit, modulo 10"


def _call(name: str, *args: Any) -> Callable[[str], Any]:
    fn = R[name]
    return lambda s: fn(s, *args)


def _src(name: str, *args: Any) -> Callable[[str], str]:
    rest = "".join(", " + repr(a) for a in args)
    return lambda a: f"{name}({a}{rest})"


def _prim(words: str, cost: int, name: str, *args: Any) -> Prog:
    return Prog(words, _call(name, *args), _src(name, *args), cost)


def _counting(words: str, cost: int, fmt: str, name: str, *args: Any) -> Prog:
    """A count (the runtime function `name` on the string) written as a number in `fmt`."""
    counter, counter_src, number = _call(name, *args), _src(name, *args), R["number"]
    return Prog(words, lambda s: number(counter(s), fmt), lambda a: f"number({counter_src(a)}, {fmt!r})", cost)


def _char_atoms() -> list[Prog]:
    atoms = []
    preds = list(_CLASS_WORDS) + list(_POSITION_WORDS)
    for pred in preds:
        extra = 0 if pred == "every" else 1
        for f in ("upper", "lower", "swapcase", "double", "drop"):
            if pred == "every" and f == "drop":
                continue
            atoms.append(_prim(_map_words(f, _pred_words(pred)), 1 + extra, "chars", pred, f))
        for f, g in (("upper", "lower"), ("lower", "upper")):
            if pred != "every":
                words = f"{_map_words(f, _pred_words(pred))} and {_map_words(g, 'every other character')}"
                atoms.append(_prim(words, 2 + extra, "chars", pred, f, g))
    for pred in ("vowel", "consonant", "digit", "letter", "uppercase", "lowercase", "punctuation", "alphanumeric",
                 "space", "even", "odd", "third", "third0"):
        atoms.append(_prim(f"keep only {_pred_words(pred)}", 2, "chars", "not " + pred, "drop"))
    for pred in ("vowel", "consonant", "digit", "letter", "space", "punctuation", "uppercase", "lowercase"):
        atoms.append(_prim(_map_words("position", _pred_words(pred)), 2, "chars", pred, "position"))
    for pred, noun in (("unique", "every character that occurs once"),
                       ("repeated", "every character that occurs more than once")):
        for f in ("drop", "upper", "lower", "double"):
            atoms.append(_prim(_map_words(f, noun), 2, "chars", pred, f))
    for f in ("atbash", "next vowel", "digit mirror", "digit word", "shift by position", "shift back by position",
              "alphabet position", "repeat by position"):
        atoms.append(_prim(_map_words(f, "every character"), 1, "chars", "every", f))
    for k in range(1, 26):
        atoms.append(_prim(_map_words(f"shift {k}", "every letter"), 2, "chars", "every", f"shift {k}"))
    for k in range(1, 10):
        atoms.append(_prim(_map_words(f"digit shift {k}", "every character"), 2, "chars", "every", f"digit shift {k}"))
    for pred in ("vowel", "consonant", "even", "odd", "first", "last"):
        for k in (1, 13, 25):
            atoms.append(_prim(_map_words(f"shift {k}", _pred_words(pred)), 3, "chars", pred, f"shift {k}"))
    return atoms


def _slice_atoms() -> list[Prog]:
    atoms = [_prim("reverse the string", 1, "cut", None, None, -1)]
    for k in range(1, 5):
        atoms.append(_prim(f"remove the first {k} characters", 2, "cut", k))
        atoms.append(_prim(f"remove the last {k} characters", 2, "cut", None, -k))
        atoms.append(_prim(f"keep only the last {k} characters", 2, "cut", -k))
    for k in range(1, 9):
        atoms.append(_prim(f"keep only the first {k} characters", 2, "cut", None, k))
    atoms.append(_prim("keep only the first half (rounded down)", 2, "half", "first"))
    atoms.append(_prim("keep only the second half (from the middle character)", 2, "half", "second"))
    for step in (2, 3, 4):
        for start in range(step):
            atoms.append(_prim(f"keep every {step}th character starting at position {start} (counting from 0)",
                               2, "cut", start or None, None, step))
    for k in (1, 2, 3, -1, -2, -3):
        side = "left" if k > 0 else "right"
        atoms.append(_prim(f"rotate the characters {side} by {abs(k)}, cyclically", 2, "rotate", k))
    return atoms


def _order_atoms() -> list[Prog]:
    words = {
        "ascending": "sort the characters by code point", "descending": "sort the characters by code point, descending",
        "alphabetical": "sort the characters alphabetically, ignoring case",
        "frequency": "sort the characters by how often they occur, most frequent first (ties: first seen first)",
        "swap halves": "swap the two halves", "swap pairs": "swap every two adjacent characters",
        "swap ends": "swap the first and last characters",
        "evens then odds": "put the characters at even positions first, then those at odd positions",
        "dedupe": "remove repeated characters, keeping the first occurrence",
        "outside in": "read the characters from the outside in (first, last, second, second to last, ...)",
    }
    atoms = [_prim(w, 1, "order", how) for how, w in words.items()]
    for pred in ("vowel", "consonant", "digit", "letter", "uppercase", "lowercase", "not vowel", "not digit",
                 "not letter", "punctuation", "not space", "space"):
        noun = _PLURAL.get(pred, _pred_words(pred))
        atoms.append(_prim(f"move {noun} to the front, keeping their order and the order of the rest",
                           2, "partition", pred))
    for pred in ("vowel", "consonant", "letter", "digit", "uppercase", "lowercase", "not space", "first half",
                 "second half", "even", "odd"):
        atoms.append(_prim(f"reverse the order of {_PLURAL.get(pred, _pred_words(pred))}, leaving the rest in place",
                           2, "reverse_where", pred))
    formats = {"char": "collapse every run of a repeated character into one",
               "char count": "run-length encode: each run becomes its character followed by its length",
               "count char": "run-length encode: each run becomes its length followed by its character",
               "count": "replace each run of a repeated character by its length",
               "char twice": "replace each run of a repeated character by two copies of it"}
    atoms += [_prim(w, 1 if fmt == "char" else 2, "runs", fmt) for fmt, w in formats.items()]
    return atoms


def _word_atoms() -> list[Prog]:
    words = {"reverse": "reverse the order of the words", "sort": "sort the words",
             "by length": "sort the words by length (stable)",
             "rotate left": "move the first word to the end", "rotate right": "move the last word to the front",
             "swap ends": "swap the first and last words", "dedupe": "remove repeated words",
             "by last character": "sort the words by their last character (stable)",
             "alphabetical": "sort the words alphabetically, ignoring case",
             "descending": "sort the words in descending order"}
    atoms = [_prim(w, 1, "word_order", how) for how, w in words.items()]
    cuts = {(None, 1): "keep only the first word", (-1, None): "keep only the last word",
            (1, None): "remove the first word", (None, -1): "remove the last word"}
    atoms += [_prim(w, 1, "word_cut", a, b) for (a, b), w in cuts.items()]
    return atoms


def _count_atoms() -> list[Prog]:
    atoms = []
    whats = ["characters", "words", "distinct characters", "vowel", "consonant", "uppercase", "lowercase",
             "letter", "digit", "space", "punctuation", "non-letter"]
    for what in whats:
        noun = {"characters": "characters", "words": "words", "distinct characters": "distinct characters"}.get(
            what, _PLURAL.get(what, what).removeprefix("the "))
        for fmt in ("digits", "words"):
            atoms.append(_counting(f"replace the string with its number of {noun}, written in {fmt}", 2, fmt,
                                   "count", what))
    return atoms


_RULE_WORDS = {"longer": "longer than {k} characters", "shorter": "shorter than {k} characters",
               "capitalized": "that start with an uppercase letter", "lowercase": "that start with a lowercase letter",
               "with a digit": "that contain a digit", "alphabetic": "made only of letters"}


def _word_filter_atoms() -> list[Prog]:
    atoms = []
    rules = [(r, k) for r in ("longer", "shorter") for k in range(1, 6)]
    rules += [(r, 0) for r in ("capitalized", "lowercase", "with a digit", "alphabetic")]
    for rule, k in rules:
        which = _RULE_WORDS[rule].format(k=k)
        atoms.append(_prim(f"keep only the words {which}", 2, "word_filter", rule, k, True))
        atoms.append(_prim(f"remove the words {which}", 2, "word_filter", rule, k, False))
        for fmt in ("digits", "words"):
            atoms.append(_counting(f"replace the string with its number of words {which}, written in {fmt}", 3, fmt,
                                   "count_words", rule, k))
    return atoms


def atoms() -> list[Prog]:
    """Every primitive program, cheapest first."""
    out = (_char_atoms() + _slice_atoms() + _order_atoms() + _word_atoms() + _count_atoms() + _word_filter_atoms()
           + [_prim("remove whitespace from both ends", 1, "trim")])
    return sorted(out, key=lambda p: p.cost)


def data_atoms(pairs: Pairs) -> list[Prog]:
    """Primitives whose parameters are read off the observations rather than enumerated: the
    characters the function removes, the characters it writes where the input had others (and
    which ones it replaced), letter shifts seen on aligned pairs, and, when every output is a
    number, counts of each character seen in the inputs."""
    removed: set[str] = set()
    written: Counter[str] = Counter()
    replaced: Counter[str] = Counter()
    shifts: Counter[int] = Counter()
    for x, y in pairs:
        removed |= set(x) - set(y)
        if len(y) >= len(x):  # aligned from the start (the input, possibly followed by more)
            for a, b in zip(x, y):
                if a.lower() != b.lower():  # (a change of case is a case map's business)
                    written[b] += 1
                    replaced[a] += 1
                    if a in _ASCII_LETTERS and b in _ASCII_LETTERS:
                        shifts[(ord(b.lower()) - ord(a.lower())) % 26] += 1
    out = [_prim(f"remove every {c!r}", 2, "chars", f"is {c}", "drop") for c in sorted(removed)[:16]]
    if removed:
        chars = "".join(sorted(removed))
        out.append(_prim(f"strip the characters {chars!r} from both ends", 2, "trim", chars))
    sources = [f"is {a}" for a, _ in replaced.most_common(4)]
    for b, _ in written.most_common(4):
        for pred in [*sources, "vowel", "consonant", "digit", "space", "punctuation", "uppercase", "lowercase",
                     "letter", "every", "even", "odd", "first", "last"]:
            target = f"every {pred[3:]!r}" if pred.startswith("is ") else _pred_words(pred)
            out.append(_prim(f"replace {target} with {b!r}", 2, "chars", pred, f"const {b}"))
    for k, _ in shifts.most_common(3):
        for pred in ("first", "last", "even", "odd", "vowel", "consonant", "uppercase", "lowercase", "middle"):
            out.append(_prim(_map_words(f"shift {k}", _pred_words(pred)), 3, "chars", pred, f"shift {k}"))
    if all(_is_number(y) for _, y in pairs):
        seen = sorted(set("".join(x for x, _ in pairs)))[:80]
        for c in seen:
            for fmt in ("digits", "words"):
                out.append(_counting(f"replace the string with the number of times {c!r} occurs, written in {fmt}",
                                     2, fmt, "count", f"is {c}"))
    return out


_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NUMBER_WORDS = frozenset(RUNTIME["_number_words"](n) for n in range(1000))


def _is_number(y: str) -> bool:
    return y.isdigit() or y in _NUMBER_WORDS


IDENTITY = Prog("leave the string unchanged", lambda s: s, lambda a: a, 0)

# ----------------------------------------------------------------------------- measured invariants

_SAMPLES = ("Hello World 42, quiz!", "aab  XYZ", "", "q", "Mississippi river", "  x y  ", "AEIOU 0", "abc-DEF.ghi")


@dataclass(frozen=True)
class Invariants:
    """Relations between input and output that held on every sample (measured, not declared)."""

    same_length: bool
    same_multiset: bool
    subset: bool           # every output character occurs in the input
    casefold_subset: bool  # the same, ignoring case


def measure(p: Prog, samples: Iterable[str] = _SAMPLES) -> Invariants:
    length = multiset = subset = folded = True
    for s in samples:
        out = safe(p.fn, s)
        length &= len(out) == len(s)
        multiset &= sorted(out) == sorted(s)
        subset &= set(out) <= set(s)
        folded &= set(out.lower()) <= set(s.lower())
    return Invariants(length, multiset, subset, folded)


def features(pairs: Pairs) -> Invariants:
    """The same relations, read off the observations."""
    return Invariants(all(len(x) == len(y) for x, y in pairs), all(sorted(x) == sorted(y) for x, y in pairs),
                      all(set(y) <= set(x) for x, y in pairs), all(set(y.lower()) <= set(x.lower()) for x, y in pairs))


def _allowed(inv: Invariants, target: Invariants) -> bool:
    """May a primitive with invariants `inv` take part in a composition aiming at `target`?"""
    if target.same_multiset:
        return inv.same_multiset
    if target.same_length:
        return inv.same_length
    if target.subset:
        return inv.subset
    if target.casefold_subset:
        return inv.casefold_subset
    return True


ATOMS: list[Prog] = atoms()
INVARIANTS: dict[int, Invariants] = {id(p): measure(p) for p in ATOMS}

# ----------------------------------------------------------------------------- the bank


class Bank:
    """Programs by signature on fixed inputs, enumerated bottom-up by cost: every atom, then (one
    `deepen` at a time) every composition with one more of the atoms allowed by the target's
    features. One program per signature: the cheapest found."""

    def __init__(self, inputs: Sequence[str], target: Invariants, deadline: float, extra: Sequence[Prog] = (),
                 max_depth: int = 3):
        self.inputs = tuple(inputs)
        self.by_sig: dict[Sig, Prog] = {self.inputs: IDENTITY}
        self._memo: dict[int, dict[str, str]] = {}
        everything = [*ATOMS, *extra]
        measured = {**INVARIANTS, **{id(a): measure(a) for a in extra}}
        self.allowed = [a for a in everything if _allowed(measured[id(a)], target)]
        self.depth, self.max_depth = 1, max_depth
        self.level = self._grow([(self.inputs, IDENTITY)], everything, deadline)
        ids = {id(a) for a in self.allowed}
        self.level = [(s, p) for s, p in self.level if id(p) in ids]

    def deepen(self, deadline: float) -> bool:
        """Compose one more allowed atom onto the newest level; False when there is nothing to do."""
        if not self.level or self.depth >= self.max_depth or time.monotonic() > deadline:
            return False
        if self.depth >= 2 and len(self.allowed) * len(self.level) > 40000:
            return False
        self.level = self._grow(self.level, self.allowed, deadline)
        self.depth += 1
        return True

    def _grow(self, inner: list[tuple[Sig, Prog]], outer: list[Prog], deadline: float) -> list[tuple[Sig, Prog]]:
        """Apply every outer atom to every inner signature. Each atom remembers what it made of
        each string: most programs leave most probe strings as some other program did, so the
        same (atom, string) comes back again and again."""
        new: list[tuple[Sig, Prog]] = []
        memo = self._memo
        for k, (sig, p) in enumerate(inner):
            if k % 16 == 0 and time.monotonic() > deadline:
                break
            for a in outer:
                seen = memo.setdefault(id(a), {})
                out = []
                for s in sig:
                    r = seen.get(s)
                    if r is None:
                        r = seen[s] = safe(a.fn, s)
                    if r is _ERROR:
                        break
                    out.append(r)
                else:
                    key = tuple(out)
                    known = self.by_sig.get(key)
                    cost = p.cost + a.cost
                    if known is not None and known.cost <= cost:
                        continue
                    prog = a if p is IDENTITY else p.then(a)
                    self.by_sig[key] = prog
                    new.append((key, prog))
        return new

    def get(self, sig: Sig) -> Prog | None:
        return self.by_sig.get(sig)

    def items(self) -> Iterable[tuple[Sig, Prog]]:
        return self.by_sig.items()




# ----------------------------------------------------------------------------- invertible last steps


def _undo_word_order(how: str) -> Callable[[str], str]:
    def undo(s: str) -> str:
        w = s.split(" ")
        if how == "reverse":
            w = w[::-1]
        elif how == "rotate left":
            w = w[-1:] + w[:-1]
        elif how == "rotate right":
            w = w[1:] + w[:1]
        elif how == "swap ends" and len(w) > 1:
            w = w[-1:] + w[1:-1] + w[:1]
        return " ".join(w)
    return undo


def _unswap_halves(s: str) -> str:
    cut = len(s) - len(s) // 2
    return s[cut:] + s[:cut]


def _invertible() -> list[tuple[Prog, Callable[[str], str], bool]]:
    """Last steps whose input can be read back from their output: (the step, its inverse, whether
    the words of the input line up with the words of the read-back)."""
    by_words = {p.words: p for p in ATOMS}
    out: list[tuple[Prog, Callable[[str], str], bool]] = []

    def add(words: str, inverse: Callable[[str], str], words_too: bool = False) -> None:
        out.append((by_words[words], inverse, words_too))

    add("reverse the string", lambda s: s[::-1])
    add("swap the case of every character", str.swapcase)
    add("swap every two adjacent characters", lambda s: R["order"](s, "swap pairs"))
    add("swap the first and last characters", lambda s: R["order"](s, "swap ends"))
    add("swap the two halves", _unswap_halves)
    add(_map_words("atbash", "every character"), lambda s: R["chars"](s, "every", "atbash"))
    for k in (1, 2, 3):
        add(f"rotate the characters left by {k}, cyclically", _call("rotate", -k))
        add(f"rotate the characters right by {k}, cyclically", _call("rotate", k))
    for k in range(1, 26):
        add(_map_words(f"shift {k}", "every letter"), _call("chars", "every", f"shift {26 - k}"))
    for how in ("reverse", "rotate left", "rotate right", "swap ends"):
        add(_word_phrase(how), _undo_word_order(how), True)
    return out


def _word_phrase(how: str) -> str:
    return {"reverse": "reverse the order of the words", "rotate left": "move the first word to the end",
            "rotate right": "move the last word to the front", "swap ends": "swap the first and last words"}[how]


INVERTIBLE = _invertible()

# ----------------------------------------------------------------------------- combinators


def concat(p: Prog, q: Prog, sep: str) -> Prog:
    joiner = f" + {sep!r} + " if sep else " + "
    return Prog(f"the concatenation of ({p.words}) and ({q.words})" + (f", separated by {sep!r}" if sep else ""),
                lambda s: p.fn(s) + sep + q.fn(s), lambda a: f"{p.src(a)}{joiner}{q.src(a)}", p.cost + q.cost + 1)


def affixed(p: Prog, head: str, tail: str) -> Prog:
    parts = [f"add {head!r} to the beginning"] * bool(head) + [f"append {tail!r} to the end"] * bool(tail)
    words = (p.words + ", then " if p is not IDENTITY else "") + " and ".join(parts)
    return Prog(words, lambda s: head + p.fn(s) + tail, lambda a: f"{head!r} + {p.src(a)} + {tail!r}", p.cost + 1)


def interleaved(p: Prog, q: Prog) -> Prog:
    return Prog(f"interleave the characters of ({p.words}) and ({q.words})",
                lambda s: R["interleave"](p.fn(s), q.fn(s)), lambda a: f"interleave({p.src(a)}, {q.src(a)})",
                p.cost + q.cost + 1)


_WHICH_WORDS = {"every": "every word", "even": "every word at an even position (counting from 0)",
                "odd": "every word at an odd position (counting from 0)", "first": "the first word",
                "last": "the last word", "not first": "every word but the first", "not last": "every word but the last"}


def _which_words(where: str) -> str:
    if where in _WHICH_WORDS:
        return _WHICH_WORDS[where]
    name, k = where.split("|")
    return "every word " + (f"that contains {k!r}" if name == "contains" else _RULE_WORDS[name].format(k=k))


_ORDER_WORDS = {"keep": "", "reverse": ", in reverse order", "rotate left": ", the first word moved to the end",
                "rotate right": ", the last word moved to the front"}


def per_word(t: Prog, sep: str | None, joiner: str, where: str = "every", order: str = "keep") -> Prog:
    split = "split on spaces" if sep == " " else "split on whitespace"
    join = "" if joiner == " " else f", joined by {joiner!r}"
    fn = R["each_word"]
    words = f"in {_which_words(where)} ({split}{join}{_ORDER_WORDS[order]}): {t.words}"
    if t is IDENTITY:
        words = f"split into words ({split}) and join them with {joiner!r}{_ORDER_WORDS[order]}"
    return Prog(words, lambda s: fn(s, t.fn, sep, joiner, where, order),
                lambda a: f"each_word({a}, lambda w: {t.src('w')}, {sep!r}, {joiner!r}, {where!r}, {order!r})",
                t.cost + (1 if where == "every" else 2) + (order != "keep"))


def word_filter(rule: str, k: Any, keep: bool, sep: str = " ") -> Prog:
    which = f"that contain {k!r}" if rule == "contains" else _RULE_WORDS[rule].format(k=k)
    fn = R["word_filter"]
    return Prog(f"{'keep only' if keep else 'remove'} the words {which}", lambda s: fn(s, rule, k, keep),
                lambda a: f"word_filter({a}, {rule!r}, {k!r}, {keep!r})", 2)


def per_char(t: Prog, keep: str, joiner: str) -> Prog:
    which = "every character" if keep == "every" else _pred_words(keep)
    fn = R["each_char"]
    words = (f"keep {which} and put {joiner!r} between them" if t is IDENTITY
             else f"for {which}: {t.words}; join the results with {joiner!r}")
    return Prog(words, lambda s: fn(s, t.fn, keep, joiner),
                lambda a: f"each_char({a}, lambda w: {t.src('w')}, {keep!r}, {joiner!r})", t.cost + 2)


# ----------------------------------------------------------------------------- the search


def _pick_inputs(pairs: Pairs, k: int) -> list[int]:
    """Indices of the richest inputs (longest, most distinct characters), plus the empty string."""
    order = sorted(range(len(pairs)), key=lambda i: (-len(set(pairs[i][0])), -len(pairs[i][0]), i))
    chosen = order[:k]
    empty = next((i for i, (x, _) in enumerate(pairs) if x == ""), None)
    if empty is not None and empty not in chosen:
        chosen.append(empty)
    return chosen


class Synthesizer:
    """One synthesis, bounded by a deadline; banks are memoized by their inputs."""

    def __init__(self, time_limit: float = 8.0):
        self.deadline = time.monotonic() + time_limit
        self._banks: dict[tuple[tuple[str, ...], Invariants, tuple[str, ...]], Bank] = {}

    def bank(self, inputs: Sequence[str], target: Invariants, extra: Sequence[Prog] = ()) -> Bank:
        key = (tuple(inputs), target, tuple(a.words for a in extra))
        if key not in self._banks:
            self._banks[key] = Bank(inputs, target, self.deadline, extra)
        return self._banks[key]

    def solve(self, pairs: Pairs, depth: int = 0, share: float = 1.0) -> list[Prog]:
        """Programs that map every input of `pairs` to its output, cheapest first. `share`: the part
        of the remaining time this (sub-)problem may take."""
        outer_deadline = self.deadline
        self.deadline = time.monotonic() + max(0.0, outer_deadline - time.monotonic()) * share
        try:
            return self._solve(list(dict(pairs).items()), depth)
        finally:
            self.deadline = outer_deadline

    def _solve(self, pairs: list[tuple[str, str]], depth: int) -> list[Prog]:
        """Counterexample-guided: the bank's signature inputs are a few rich observations; a program
        that fits them but fails another observation adds that observation to them (up to
        `_REFINEMENTS` times), since programs equal on the few may differ on the rest."""
        if not pairs:
            return []
        idx = _pick_inputs(pairs, SIGNATURE_INPUTS if depth == 0 else WORD_INPUTS)
        for _ in range(_REFINEMENTS + 1):
            found, counterexample = self._search(pairs, idx, depth)
            if found or counterexample is None or counterexample in idx or time.monotonic() > self.deadline:
                return found
            idx = idx + [counterexample]
        return []

    def _search(self, pairs: list[tuple[str, str]], idx: list[int], depth: int) -> tuple[list[Prog], int | None]:
        xs = [pairs[i][0] for i in idx]
        ys = tuple(pairs[i][1] for i in idx)
        bank = self.bank(xs, features(pairs), data_atoms(pairs))
        found: dict[str, Prog] = {}
        misses: list[int] = []

        def verify(cand: Prog) -> None:
            if cand.words in found:
                return
            miss = next((i for i, (x, y) in enumerate(pairs) if safe(cand.fn, x) != y), None)
            if miss is None:
                found[cand.words] = cand
            else:
                misses.append(miss)

        while True:
            for cand in self._decompose(bank, ys, pairs, depth, found):
                verify(cand)
            for step, inverse, words_too in INVERTIBLE:
                if found or time.monotonic() > self.deadline:
                    break
                try:
                    undone = tuple(inverse(y) for y in ys)
                except Exception:  # noqa: BLE001 - an output the step cannot have made
                    continue
                back = [(x, inverse(y)) for x, y in pairs] if words_too else pairs
                for cand in self._decompose(bank, undone, back, depth if words_too else 1, found, shallow=True):
                    verify(cand.then(step))
            if found or not bank.deepen(self.deadline):
                break
        ranked = sorted(found.values(), key=lambda p: (p.cost, len(p.words)))
        return ranked, (misses[0] if misses else None)

    def _decompose(self, bank: Bank, ys: Sig, pairs: Pairs, depth: int, found: dict[str, Prog],
                   shallow: bool = False) -> Iterable[Prog]:
        """Proposals for the target outputs `ys` (on the bank's inputs): a bank program itself,
        constant text around one, two concatenated or interleaved, or a map over the words or the
        characters (the costly sub-problems only while nothing in `found` fits yet)."""
        direct = bank.get(ys)
        if direct is not None:
            yield direct
        head = os.path.commonprefix(list(ys))
        tail = os.path.commonprefix([y[len(head):][::-1] for y in ys])[::-1]
        if (head or tail) and len(ys) > 2:
            inner = bank.get(tuple(y[len(head):len(y) - len(tail)] for y in ys))
            if inner is not None:
                yield affixed(inner, head, tail)
        if time.monotonic() > self.deadline:
            return
        if not shallow:
            yield from self._concats(bank, ys)
        if all(len(y) % 2 == 0 for y in ys):
            a, b = bank.get(tuple(y[0::2] for y in ys)), bank.get(tuple(y[1::2] for y in ys))
            if a is not None and b is not None:
                yield interleaved(a, b)
        if depth == 0 and not found:
            yield from self._words(pairs, found)
        if depth == 0 and not found and not shallow:
            yield from self._chars(pairs, found)

    def _concats(self, bank: Bank, ys: Sig) -> Iterable[Prog]:
        """p(x) + q(x): every bank program whose outputs start every target, the rest looked up."""
        for sig, p in list(bank.items()):
            if not all(y.startswith(o) for o, y in zip(sig, ys)) or not any(sig) or sig == ys:
                continue
            rest = tuple(y[len(o):] for o, y in zip(sig, ys))
            q = bank.get(rest)
            if q is not None:
                yield concat(p, q, "")
            shared = os.path.commonprefix(list(rest))[:3]
            for sep in dict.fromkeys(shared[:k] for k in range(1, len(shared) + 1)):
                if not any(c.isalnum() for c in sep):  # a separator read off the outputs
                    q = bank.get(tuple(r[len(sep):] for r in rest))
                    if q is not None:
                        yield concat(p, q, sep)

    def _words(self, pairs: Pairs, found: dict[str, Prog]) -> Iterable[Prog]:
        """Map the words: when the output's words line up with the input's (after undoing a
        reordering of the words), the word pairs (at every position, at some positions, or where
        a rule on the word holds, the others unchanged) are a new problem. Also: a filter on words."""
        yield from _word_filters(pairs)
        for sep in (" ", None):
            lined_up = False
            for joiner in dict.fromkeys((" ", ".", "-", "_", ",", "/", ", ", "", *_joiners(pairs))):
                for order in ("keep", "reverse", "rotate left", "rotate right"):
                    if time.monotonic() > self.deadline:
                        return
                    aligned = _align(pairs, sep, joiner, order)
                    if aligned is None:
                        continue
                    lined_up = True
                    for where, rule in _word_selectors(aligned).items():
                        chosen = _select(aligned, rule)
                        if chosen is None or (where != "every" and all(a == b for a, b in chosen)):
                            continue
                        solved = self.solve(chosen, depth=1, share=0.3)[:3]
                        if where == "every" and joiner == " " and order == "keep":
                            solved = [t for t in solved if t is not IDENTITY]
                        yield from (per_word(t, sep, joiner, where, order) for t in solved)
                        if found:  # (the caller verifies each proposal before asking for the next)
                            return
            if lined_up:
                break  # splitting on whitespace instead would line up the same words

    def _chars(self, pairs: Pairs, found: dict[str, Prog]) -> Iterable[Prog]:
        """Map each character to a text and join the texts: when the output, split on a separator,
        has one part per character (of a class) of the input, the (character, part) pairs are a new
        problem."""
        between = {y[1] for x, y in pairs if len(x) >= 2 and len(y) == 2 * len(x) - 1}
        for joiner in dict.fromkeys((" ", "-", ",", ".", ", ", "|", "/", *sorted(between))):
            if not any(joiner in y for _, y in pairs):
                continue
            for keep in ("every", "letter", "alphanumeric", "not space"):
                if time.monotonic() > self.deadline:
                    return
                table = _char_table(pairs, keep, joiner)
                if table is None:
                    continue
                solved = self.solve(table, depth=1, share=0.3)[:3]  # (unchanged characters: a join)
                yield from (per_char(t, keep, joiner) for t in solved)
                if found:
                    return


_REFINEMENTS = 3
_PRED = RUNTIME["_pred"]
_WORD_POSITIONS: dict[str, Callable[[int, int], bool]] = RUNTIME["_WORD_POSITION"]

Aligned = list[tuple[int, int, str, str]]


def _align(pairs: Pairs, sep: str | None, joiner: str, order: str = "keep") -> Aligned | None:
    """(position, word count, input word, output word) for every word of every pair, when each
    output splits into as many words as its input (put back in the input's order) and some input
    has several; None otherwise."""
    out: Aligned = []
    several = False
    for x, y in pairs:
        xw = x.split() if sep is None else x.split(sep)
        if not xw:
            if y:
                return None
            continue
        if joiner:
            yw = y.split(joiner)
        elif sum(map(len, xw)) == len(y):  # joined with nothing: cut where the input's words end
            ends = [0, *itertools.accumulate(map(len, xw))]
            yw = [y[a:b] for a, b in zip(ends, ends[1:])]
        elif len(y) in (len(xw), 2 * len(xw)):  # or one or two characters a word
            k = len(y) // len(xw)
            yw = [y[i:i + k] for i in range(0, len(y), k)]
        else:
            return None
        if len(yw) != len(xw):
            return None
        if order == "reverse":
            yw = yw[::-1]
        elif order == "rotate left":
            yw = yw[-1:] + yw[:-1]
        elif order == "rotate right":
            yw = yw[1:] + yw[:1]
        several |= len(xw) > 1
        out += [(i, len(xw), a, b) for i, (a, b) in enumerate(zip(xw, yw))]
    return out if several else None


def _word_selectors(aligned: Aligned) -> dict[str, Callable[[int, int, str], bool]]:
    """Rules that pick the words a map applies to: positions, lengths, case, digits, and a letter
    the changed words contain (read off the changed words)."""
    where = RUNTIME["_word_where"]
    names = [*_WORD_POSITIONS, *(f"longer|{k}" for k in range(1, 6)), *(f"shorter|{k}" for k in range(2, 7)),
             "capitalized|0", "lowercase|0", "with a digit|0"]
    changed = [a for _, _, a, b in aligned if a != b]
    if changed:
        common = set(changed[0]).intersection(*changed[1:])
        names += [f"contains|{c}" for c in sorted(common) if c.isalnum()][:6]
    return {name: where(name) for name in names}


def _joiners(pairs: Pairs) -> list[str]:
    """Separators read off the outputs: runs of one to three non-alphanumeric characters that occur
    once fewer than the input has words."""
    x, y = max(pairs, key=lambda p: len(p[0].split()))
    n = len(x.split())
    if n < 2:
        return []
    found = {m for m in re.findall(r"[^A-Za-z0-9]{1,3}", y) if y.count(m) == n - 1}
    return sorted(found)


def _word_filters(pairs: Pairs) -> Iterable[Prog]:
    """Keep or remove words by a rule: when every output's words are some of its input's words,
    in order, the rules that separate the kept words from the dropped ones."""
    kept: set[str] = set()
    dropped: set[str] = set()
    for x, y in pairs:
        xw, yw = x.split(" "), (y.split(" ") if y else [])
        j = 0
        for w in xw:
            if j < len(yw) and yw[j] == w:
                kept.add(w)
                j += 1
            else:
                dropped.add(w)
        if j != len(yw):
            return
    yield from _position_filters(pairs)
    if not dropped or kept & dropped:
        return
    rules: list[tuple[str, Any]] = [(r, k) for r in ("longer", "shorter") for k in range(1, 7)]
    rules += [(r, 0) for r in ("capitalized", "lowercase", "with a digit", "alphabetic")]
    rules += [("contains", c) for c in sorted(set("".join(kept))) if c.isalnum()]
    test = RUNTIME["_WORD_RULE"]
    for rule, k in rules:
        if all(test[rule](w, k) for w in kept) and not any(test[rule](w, k) for w in dropped):
            yield word_filter(rule, k, True)


#: Word filters by position: (the rule, its source as a condition on the position i, in words).
_WORD_KEEPS: tuple[tuple[Callable[[int], bool], str, str], ...] = (
    (lambda i: i % 3 != 2, "i % 3 != 2", "remove every third word (positions 2, 5, ...)"),
    (lambda i: i % 3 != 0, "i % 3 != 0", "remove every third word (positions 0, 3, ...)"),
    (lambda i: i % 2 == 0, "i % 2 == 0", "keep only the words at even positions (counting from 0)"),
    (lambda i: i % 2 == 1, "i % 2 == 1", "keep only the words at odd positions (counting from 0)"),
)


def _keep_words_src(condition: str) -> Callable[[str], str]:
    return lambda a: f'" ".join(v for i, v in enumerate({a}.split(" ")) if {condition})'


def _position_filters(pairs: Pairs) -> Iterable[Prog]:
    """Keep the words at some positions: tried directly (cheap, and cuts of the word list are atoms)."""
    for rule, condition, words in _WORD_KEEPS:
        def fn(s: str, rule: Callable[[int], bool] = rule) -> str:
            return " ".join(v for i, v in enumerate(s.split(" ")) if rule(i))
        if all(fn(x) == y for x, y in pairs):
            yield Prog(words, fn, _keep_words_src(condition), 2)


def _select(aligned: Aligned, rule: Callable[[int, int, str], bool]) -> list[tuple[str, str]] | None:
    """The word pairs at the positions the rule picks, when the same input word always gives the
    same output word there and every other word is left unchanged; None otherwise."""
    table: dict[str, str] = {}
    for i, n, a, b in aligned:
        if rule(i, n, a):
            if table.setdefault(a, b) != b:
                return None
        elif a != b:
            return None
    return list(table.items()) or None


def _char_table(pairs: Pairs, keep: str, joiner: str) -> list[tuple[str, str]] | None:
    pred = _PRED(keep)
    table: dict[str, str] = {}
    several = False
    for x, y in pairs:
        kept = [c for i, c in enumerate(x) if pred(i, c, len(x))]
        parts = y.split(joiner) if y else []
        if len(parts) != len(kept):
            return None
        several |= len(kept) > 1
        for c, part in zip(kept, parts):
            if table.setdefault(c, part) != part:
                return None
    return list(table.items()) if several and table else None


def synthesize(observations: Pairs, time_limit: float = 8.0) -> list[Prog]:
    """Programs of the primitives that reproduce every observation, cheapest first."""
    return Synthesizer(time_limit).solve(observations)
