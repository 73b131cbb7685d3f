"""A DSL of atomic string operations, the building blocks of the string ground-truth suite.

Each `StringOp` carries one Python source snippet; its implementation is obtained by executing
that snippet, so the callable the suite checks and the script served as a black box can never
disagree. A `StringProgram` is a sequence of (op, params) steps applied in order; it can run
itself, describe itself in canonical English (which `find_functions.string_description` parses
back), render a self-contained script body, and serialize to JSON-able metadata.

The builtin scientist searches over this DSL: `ATOMIC_OPS` lists the ops, each `Param` has a
finite `grid` for enumeration, `enumerate_atomic` yields every single-op program on a grid, and
each op's `inverse` reads a parameter back through it.

Adding an op is one `_op(...)` declaration below: its source, its phrase, its parameters with
their grids, and its inverse (or None). The description parser, the suite generator and the
builtin scientist derive the rest from it; only a parameter too free to enumerate (an inserted
text, a cipher key) also needs the builtin's rule for reading it off observations
(`agent.builtin.strings.INFER`). tests/test_string_declarations.py checks both.
"""

from __future__ import annotations

import itertools
import random
import string
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

ParamKind = Literal["int", "char", "text", "key"]
#: An op's inverse: (output, **params) -> an input the op maps to that output, or None.
Inverse = Callable[..., "str | None"]

# --------------------------------------------------------------------------------------------
# Shared helper snippets: included in a script only when one of its ops needs them.
# --------------------------------------------------------------------------------------------

HELPERS: dict[str, str] = {
    "sets": '''
_VOWELS = "aeiouAEIOU"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_PUNCT = "!\\"#$%&'()*+,-./:;<=>?@[\\\\]^_`{|}~"
''',
    "number_words": '''
_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(n):
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _number_words(n % 100))
    if n < 1000000:
        return _number_words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + _number_words(n % 1000))
    return str(n)
''',
    "shift_letter": '''
def _shift_letter(c, k):
    if "a" <= c <= "z":
        return chr((ord(c) - 97 + k) % 26 + 97)
    if "A" <= c <= "Z":
        return chr((ord(c) - 65 + k) % 26 + 65)
    return c
''',
}

# --------------------------------------------------------------------------------------------
# Parameters and ops
# --------------------------------------------------------------------------------------------

_QUOTE_SET = frozenset("'\"‘’“”")  # a parameter holding one could not be quoted in a description
_LETTERS = list(string.ascii_lowercase)


@dataclass(frozen=True)
class Param:
    """One parameter of an op.

    `grid` is the finite set the builtin search enumerates; `sample` draws a value for suite
    generation (ints in [low, high]; values from `pool` where one is given; otherwise characters
    and texts from a wider space than the grid, like FIND's random letters). `check` accepts any
    int >= `minimum`: the implementation is defined there, so a parsed description such as "shift
    forward by 20" is still a valid program.
    """

    name: str
    kind: ParamKind
    grid: tuple[Any, ...]
    low: int = 0
    high: int = 0
    minimum: int = 0
    pool: tuple[Any, ...] = ()
    sought: bool = False  # the op looks for this value in its input (tests should contain it)

    def sample(self, rng: random.Random) -> Any:
        if self.pool:
            return rng.choice(self.pool)
        if self.kind == "int":
            return rng.randint(self.low, self.high)
        if self.kind == "char":
            return rng.choice(string.ascii_lowercase) if rng.random() < 0.75 else rng.choice(string.ascii_uppercase)
        if self.kind == "text":
            return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(2, 5)))
        letters = list(string.ascii_lowercase)
        while True:  # a derangement, so that every letter really changes
            rng.shuffle(letters)
            if all(a != b for a, b in zip(letters, string.ascii_lowercase)):
                return "".join(letters)

    def problem(self, value: Any) -> str | None:
        """Why `value` is not a valid value of this param, or None when it is.

        The one validity rule: `check` raises it, and the builtin search, which tries many values
        it reads off observations, asks it without paying for an exception.
        """
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"parameter {self.name!r} must be an int, got {value!r}"
            if value < self.minimum:
                return f"parameter {self.name!r} must be at least {self.minimum}, got {value}"
            return None
        if not isinstance(value, str):
            return f"parameter {self.name!r} must be a string, got {value!r}"
        if _QUOTE_SET.intersection(value):
            return f"parameter {self.name!r} must not contain quote characters, got {value!r}"
        if self.kind == "char" and len(value) != 1:
            return f"parameter {self.name!r} must be one character, got {value!r}"
        if self.kind == "text" and not value:
            return f"parameter {self.name!r} must be a non-empty string"
        if self.kind == "key" and sorted(value) != _LETTERS:
            return f"parameter {self.name!r} must be a permutation of a-z, got {value!r}"
        return None

    def check(self, value: Any) -> None:
        """Raise ValueError naming the problem when `value` is not a valid value of this param."""
        problem = self.problem(value)
        if problem is not None:
            raise ValueError(problem)

    def render(self, value: Any) -> str:
        """How the value appears in a canonical description."""
        return str(value) if self.kind == "int" else f"'{value}'"


@dataclass(frozen=True)
class StringOp:
    """An atomic string operation: name, parameters, source, implementation, canonical phrase.

    Everything about an op is declared here, once; the description parser, the suite generator
    and the builtin scientist derive what they need from it. `phrase` is a template with `{param}`
    placeholders. Each param's `grid` is what searches enumerate. `family` groups ops that merge
    into one op when composed (two Caesar shifts are one shift), so the generator never composes
    within a family. `valid` rejects parameter combinations that would make the op degenerate
    (e.g. replace 'a' with 'a').

    `inverse(output, **params)` gives an input the op maps to `output` (when `output` is one of
    its outputs; None where it can tell it is not): the builtin scientist reads a parameter back
    through an outer step with it (a text inserted and then reversed shows reversed in f('')), on
    every value of the op's grid. For a lossy op it picks one such input (upper: the lowercase
    text). None declares that the search does not read back through this op: a lossy op with no
    useful pick, or one whose inverse would widen the search for little (each declared inverse
    adds candidates to every investigation).
    """

    name: str
    kind: str
    phrase: str
    source: str
    params: tuple[Param, ...] = ()
    helpers: tuple[str, ...] = ()
    family: str = ""
    valid: Callable[[Mapping[str, Any]], bool] | None = None
    inverse: Inverse | None = field(default=None, compare=False)
    fn: Callable[..., str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        namespace: dict[str, Any] = {}
        for helper in _helper_closure(self.helpers):
            exec(HELPERS[helper], namespace)  # noqa: S102 - our own fixed snippets
        exec(self.source, namespace)  # noqa: S102
        if self.name not in namespace:
            raise ValueError(f"source of op {self.name!r} does not define {self.name}()")
        object.__setattr__(self, "fn", namespace[self.name])

    def check_params(self, params: Mapping[str, Any]) -> None:
        expected = {p.name for p in self.params}
        if set(params) != expected:
            raise ValueError(f"op {self.name!r} takes parameters {sorted(expected)}, got {sorted(params)}")
        for p in self.params:
            p.check(params[p.name])
        if self.valid is not None and not self.valid(params):
            raise ValueError(f"invalid parameter combination for op {self.name!r}: {dict(params)}")

    def accepts(self, params: Mapping[str, Any]) -> bool:
        """`check_params` as a test, for params keyed by exactly this op's parameter names (a
        search proposes many values, most of them wrong)."""
        return (all(p.problem(params[p.name]) is None for p in self.params)
                and (self.valid is None or self.valid(params)))

    def describe(self, params: Mapping[str, Any]) -> str:
        return self.phrase.format(**{p.name: p.render(params[p.name]) for p in self.params})

    def call_source(self, params: Mapping[str, Any], arg: str = "x") -> str:
        args = "".join(f", {p.name}={params[p.name]!r}" for p in self.params)
        return f"{self.name}({arg}{args})"


def _helper_closure(names: Sequence[str]) -> list[str]:
    """The helper snippets to include, each once, in a stable order (helpers need no other helper)."""
    unknown = [n for n in names if n not in HELPERS]
    if unknown:
        raise ValueError(f"unknown helper snippets {unknown}")
    return list(dict.fromkeys(names))


_OPS: list[StringOp] = []


def _op(name: str, kind: str, phrase: str, source: str, params: Sequence[Param] = (), *,
        inverse: Inverse | None, helpers: Sequence[str] = (), family: str = "",
        valid: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
    """Declare one op (see `StringOp`). `inverse` has no default: every op says how it is undone,
    or that it is not (None)."""
    _OPS.append(StringOp(name, kind, phrase, source.strip() + "\n", tuple(params), tuple(helpers),
                         family or name, valid, inverse))


def _undone_by(name: str) -> Inverse:
    """The inverse that is an op of the DSL with the same parameters (reverse undoes reverse,
    rotate_right undoes rotate_left)."""
    return lambda output, **params: get_op(name).fn(output, **params)


_PREVIOUS_VOWEL = str.maketrans("eiouaEIOUA", "aeiouAEIOU")


def _shift_back_by_position(output: str) -> str:
    shift_backward = get_op("shift_backward").fn
    return "".join(shift_backward(c, i) for i, c in enumerate(output))


def _unswap_halves(output: str) -> str:
    cut = len(output) - len(output) // 2
    return output[cut:] + output[:cut]


def _counted(letter: str) -> Inverse:
    """The inverse of a count: that many copies of a letter it counts (None for a text that is no
    number word)."""
    def inverse(output: str) -> str | None:
        n = _count_of_words().get(output)
        return None if n is None else letter * n
    return inverse


@lru_cache(maxsize=1)
def _count_of_words() -> dict[str, int]:
    """Number words back to numbers, for counts below 1000 (a read-back text is at most a few
    letters long)."""
    namespace: dict[str, Any] = {}
    exec(HELPERS["number_words"], namespace)  # noqa: S102 - our own fixed snippet
    return {namespace["_number_words"](n): n for n in range(1000)}


def _int(name: str, low: int, high: int, minimum: int = 0) -> Param:
    return Param(name, "int", tuple(range(low, high + 1)), low, high, minimum)


_CHAR_GRID = tuple(string.ascii_lowercase + "AEIOU ")
_TEXT_GRID = ("ab", "xyz", "XY", "123", "!")


#: Substrings frequent in English, so that "remove the substring 'th'" does something on real text.
_SUBSTRINGS = ("th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "es", "or", "te", "ed", "is",
               "it", "al", "ar", "st", "to", "ng", "ou", "le", "co", "me", "de", "ea", "the", "ing", "and")


def _substring(name: str) -> Param:
    return Param(name, "text", _SUBSTRINGS[:8], pool=_SUBSTRINGS, sought=True)


def _char(name: str, sought: bool = False) -> Param:
    return Param(name, "char", _CHAR_GRID, sought=sought)


def _text(name: str, sought: bool = False) -> Param:
    return Param(name, "text", _TEXT_GRID, sought=sought)


def _distinct(a: str, b: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda p: p[a] != p[b]


# ---- case ------------------------------------------------------------------------------------
_op("upper", "case", "convert the string to uppercase", "def upper(s):\n    return s.upper()",
    inverse=lambda output: output.lower())
_op("lower", "case", "convert the string to lowercase", "def lower(s):\n    return s.lower()",
    inverse=lambda output: output.upper())
_op("swapcase", "case", "swap the case of every letter", "def swapcase(s):\n    return s.swapcase()",
    inverse=_undone_by("swapcase"))
_op("capitalize", "case", "uppercase the first character and lowercase all the others", '''
def capitalize(s):
    return s[:1].upper() + s[1:].lower()''', inverse=None)
_op("title", "case", "capitalize the first letter of every word and lowercase the rest of each word", '''
def title(s):
    return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))''', inverse=None)
_op("alternate_case", "case",
    "alternate the case of the characters, uppercase at even positions and lowercase at odd positions "
    "(counting from 0)", '''
def alternate_case(s):
    return "".join(c.upper() if i % 2 == 0 else c.lower() for i, c in enumerate(s))''', inverse=None)
_op("upper_vowels", "case", "convert every vowel to uppercase", '''
def upper_vowels(s):
    return "".join(c.upper() if c in _VOWELS else c for c in s)''', helpers=["sets"], inverse=None)
_op("upper_every_kth", "case",
    "convert every character whose position is a multiple of {k} (counting from 1) to uppercase", '''
def upper_every_kth(s, k):
    return "".join(c.upper() if (i + 1) % k == 0 else c for i, c in enumerate(s))''', [_int("k", 2, 5, minimum=1)],
    inverse=None)
_op("upper_first_char", "case", "convert the first character to uppercase", '''
def upper_first_char(s):
    return s[:1].upper() + s[1:]''', inverse=None)
_op("upper_last_char", "case", "convert the last character to uppercase", '''
def upper_last_char(s):
    return s[:-1] + s[-1:].upper()''', inverse=None)

# ---- reversals -------------------------------------------------------------------------------
_op("reverse", "reverse", "reverse the string", "def reverse(s):\n    return s[::-1]", inverse=_undone_by("reverse"))
_op("reverse_words", "reverse", "reverse the order of the words (split on spaces)", '''
def reverse_words(s):
    return " ".join(reversed(s.split(" ")))''', inverse=None)
_op("reverse_each_word", "reverse", "reverse the characters within each word (split on spaces)", '''
def reverse_each_word(s):
    return " ".join(w[::-1] for w in s.split(" "))''', inverse=None)
_op("reverse_vowels", "reverse", "reverse the order of the vowels, leaving the other characters in place", '''
def reverse_vowels(s):
    vowels = [c for c in s if c in _VOWELS]
    return "".join(vowels.pop() if c in _VOWELS else c for c in s)''', helpers=["sets"],
    inverse=_undone_by("reverse_vowels"))
_op("reverse_prefix", "reverse", "reverse the first {k} characters", '''
def reverse_prefix(s, k):
    return s[:k][::-1] + s[k:]''', [_int("k", 2, 6)], inverse=None)

# ---- counts written as English words ---------------------------------------------------------
_COUNT_TAIL = ", written in English words"
_op("length_word", "count", "replace the string with its number of characters" + _COUNT_TAIL, '''
def length_word(s):
    return _number_words(len(s))''', helpers=["number_words"], family="count", inverse=_counted("E"))
_op("count_vowels_word", "count", "replace the string with its number of vowels" + _COUNT_TAIL, '''
def count_vowels_word(s):
    return _number_words(sum(c in _VOWELS for c in s))''', helpers=["sets", "number_words"], family="count",
    inverse=_counted("E"))
_op("count_consonants_word", "count", "replace the string with its number of consonants" + _COUNT_TAIL, '''
def count_consonants_word(s):
    return _number_words(sum((c in _LOWER or c in _UPPER) and c not in _VOWELS for c in s))''',
    helpers=["sets", "number_words"], family="count", inverse=_counted("B"))
_op("count_words_word", "count", "replace the string with its number of words" + _COUNT_TAIL, '''
def count_words_word(s):
    return _number_words(len(s.split()))''', helpers=["number_words"], family="count", inverse=None)
_op("count_digits_word", "count", "replace the string with its number of digits" + _COUNT_TAIL, '''
def count_digits_word(s):
    return _number_words(sum(c in _DIGITS for c in s))''', helpers=["sets", "number_words"], family="count",
    inverse=None)
_op("count_upper_word", "count", "replace the string with its number of uppercase letters" + _COUNT_TAIL, '''
def count_upper_word(s):
    return _number_words(sum(c in _UPPER for c in s))''', helpers=["sets", "number_words"], family="count",
    inverse=_counted("E"))
_op("count_char_word", "count", "replace the string with the number of times {c} occurs in it" + _COUNT_TAIL, '''
def count_char_word(s, c):
    return _number_words(s.count(c))''', [_char("c", sought=True)], helpers=["number_words"], family="count",
    inverse=None)
_op("digits_to_words", "count", "replace every digit with its English name", '''
def digits_to_words(s):
    return "".join(_ONES[int(c)] if c in _DIGITS else c for c in s)''', helpers=["sets", "number_words"], inverse=None)

# ---- strip / remove --------------------------------------------------------------------------
_op("strip_whitespace", "strip", "remove leading and trailing whitespace", '''
def strip_whitespace(s):
    return s.strip()''', inverse=None)
_op("remove_whitespace", "strip", "remove all whitespace", '''
def remove_whitespace(s):
    return "".join(s.split())''', inverse=None)
_op("remove_digits", "strip", "remove every digit", '''
def remove_digits(s):
    return "".join(c for c in s if c not in _DIGITS)''', helpers=["sets"], inverse=None)
_op("remove_punctuation", "strip", "remove every punctuation character", '''
def remove_punctuation(s):
    return "".join(c for c in s if c not in _PUNCT)''', helpers=["sets"], inverse=None)
_op("remove_vowels", "strip", "remove every vowel", '''
def remove_vowels(s):
    return "".join(c for c in s if c not in _VOWELS)''', helpers=["sets"], inverse=None)
_op("remove_consonants", "strip", "remove every consonant", '''
def remove_consonants(s):
    return "".join(c for c in s if not ((c in _LOWER or c in _UPPER) and c not in _VOWELS))''', helpers=["sets"],
    inverse=None)
_op("remove_char", "strip", "remove every occurrence of {c}", '''
def remove_char(s, c):
    return s.replace(c, "")''', [_char("c", sought=True)], inverse=None)
_op("remove_substring", "strip", "remove every occurrence of the substring {sub}", '''
def remove_substring(s, sub):
    return s.replace(sub, "")''', [_substring("sub")], inverse=None)
_op("strip_chars", "strip", "strip the characters {chars} from both ends", '''
def strip_chars(s, chars):
    return s.strip(chars)''', [_text("chars", sought=True)], inverse=None)
_op("keep_letters", "strip", "remove every character that is not a letter", '''
def keep_letters(s):
    return "".join(c for c in s if c in _LOWER or c in _UPPER)''', helpers=["sets"], inverse=None)
_op("remove_upper", "strip", "remove every uppercase letter", '''
def remove_upper(s):
    return "".join(c for c in s if c not in _UPPER)''', helpers=["sets"], inverse=None)
_op("keep_every_kth", "strip", "keep only one character in every {k}, starting with the first", '''
def keep_every_kth(s, k):
    return s[::k]''', [_int("k", 2, 4, minimum=1)], inverse=None)
_op("drop_first", "strip", "remove the first {k} characters", '''
def drop_first(s, k):
    return s[k:]''', [_int("k", 1, 4)], family="trim", inverse=None)
_op("drop_last", "strip", "remove the last {k} characters", '''
def drop_last(s, k):
    return s[:-k]''', [_int("k", 1, 4, minimum=1)], family="trim", inverse=None)
_op("truncate", "strip", "keep only the first {k} characters", '''
def truncate(s, k):
    return s[:k]''', [_int("k", 2, 8)], family="trim", inverse=None)
_op("first_char", "strip", "keep only the first character", '''
def first_char(s):
    return s[:1]''', family="trim", inverse=None)
_op("last_char", "strip", "keep only the last character", '''
def last_char(s):
    return s[-1:]''', family="trim", inverse=None)
_op("initials", "strip", "keep only the first character of each word", '''
def initials(s):
    return "".join(w[0] for w in s.split())''', family="trim", inverse=None)

# ---- insertions ------------------------------------------------------------------------------
_op("prefix", "insert", "add {text} to the beginning", '''
def prefix(s, text):
    return text + s''', [_text("text")], family="insert", inverse=None)
_op("suffix", "insert", "append {text} to the end", '''
def suffix(s, text):
    return s + text''', [_text("text")], family="insert", inverse=None)
_op("insert_at", "insert", "insert {text} after the first {i} characters (at the end if the string is shorter)", '''
def insert_at(s, text, i):
    return s[:i] + text + s[i:]''', [_text("text"), _int("i", 1, 8)], family="insert", inverse=None)
_op("insert_middle", "insert", "insert {text} in the middle (after the first half, rounded down)", '''
def insert_middle(s, text):
    return s[:len(s) // 2] + text + s[len(s) // 2:]''', [_text("text")], family="insert", inverse=None)
_op("surround", "insert", "put {c} at both the beginning and the end", '''
def surround(s, c):
    return c + s + c''', [_char("c")], family="insert", inverse=lambda output, c: output[1:-1])
_op("interleave", "insert", "insert {c} between every two adjacent characters", '''
def interleave(s, c):
    return c.join(s)''', [_char("c")], inverse=lambda output, c: output[::2])
_op("duplicate_chars", "insert", "double every character", '''
def duplicate_chars(s):
    return "".join(c + c for c in s)''', inverse=lambda output: output[::2])
_op("duplicate_string", "insert", "concatenate the string with itself", '''
def duplicate_string(s):
    return s + s''', family="insert", inverse=lambda output: output[:len(output) // 2])
_op("duplicate_words", "insert", "repeat every word twice (split on spaces)", '''
def duplicate_words(s):
    return " ".join(w + " " + w for w in s.split(" "))''', inverse=None)
_op("append_reversed", "insert", "append the reversed string to the end", '''
def append_reversed(s):
    return s + s[::-1]''', family="insert", inverse=None)
_op("append_first_char", "insert", "append a copy of the first character to the end", '''
def append_first_char(s):
    return s + s[:1]''', family="insert", inverse=None)
_op("append_last_char", "insert", "append a copy of the last character to the end", '''
def append_last_char(s):
    return s + s[-1:]''', family="insert", inverse=None)
_op("append_length", "insert", "append the length of the string, in digits, to the end", '''
def append_length(s):
    return s + str(len(s))''', family="insert", inverse=None)

# ---- letter shifts and maps ------------------------------------------------------------------
_KEEP = ", wrapping around and keeping case"
_op("shift_forward", "shift", "shift every letter forward by {k} in the alphabet" + _KEEP, '''
def shift_forward(s, k):
    return "".join(_shift_letter(c, k) for c in s)''', [_int("k", 1, 13)], helpers=["shift_letter"],
    family="letter_map", inverse=_undone_by("shift_backward"))
_op("shift_backward", "shift", "shift every letter backward by {k} in the alphabet" + _KEEP, '''
def shift_backward(s, k):
    return "".join(_shift_letter(c, -k) for c in s)''', [_int("k", 1, 12)], helpers=["shift_letter"],
    family="letter_map", inverse=_undone_by("shift_forward"))
_op("shift_by_position", "shift",
    "shift every letter forward in the alphabet by its position (counting from 0)" + _KEEP, '''
def shift_by_position(s):
    return "".join(_shift_letter(c, i) for i, c in enumerate(s))''', helpers=["shift_letter"],
    inverse=_shift_back_by_position)
_op("shift_first_char", "shift",
    "shift the first character forward by {k} in the alphabet if it is a letter" + _KEEP, '''
def shift_first_char(s, k):
    return _shift_letter(s[:1], k) + s[1:] if s else s''', [_int("k", 1, 25)], helpers=["shift_letter"], inverse=None)
_op("shift_last_char", "shift", "shift the last character forward by {k} in the alphabet if it is a letter" + _KEEP, '''
def shift_last_char(s, k):
    return s[:-1] + _shift_letter(s[-1:], k) if s else s''', [_int("k", 1, 25)], helpers=["shift_letter"], inverse=None)
_op("atbash", "shift", "replace every letter with its mirror in the alphabet (a<->z, b<->y, ...), keeping case", '''
def atbash(s):
    out = []
    for c in s:
        if "a" <= c <= "z":
            c = chr(219 - ord(c))
        elif "A" <= c <= "Z":
            c = chr(155 - ord(c))
        out.append(c)
    return "".join(out)''', family="letter_map", inverse=_undone_by("atbash"))
_op("next_vowel", "shift", "replace every vowel with the next vowel (a->e, e->i, i->o, o->u, u->a), keeping case", '''
def next_vowel(s):
    table = {"a": "e", "e": "i", "i": "o", "o": "u", "u": "a"}
    out = []
    for c in s:
        if c in table:
            c = table[c]
        elif c.lower() in table and c.isupper():
            c = table[c.lower()].upper()
        out.append(c)
    return "".join(out)''', family="letter_map", inverse=lambda output: output.translate(_PREVIOUS_VOWEL))
_op("shift_digits", "shift", "add {k} to every digit, modulo 10", '''
def shift_digits(s, k):
    return "".join(str((int(c) + k) % 10) if c in _DIGITS else c for c in s)''', [_int("k", 1, 9)], helpers=["sets"],
    inverse=None)
_op("substitute", "map",
    "substitute every letter using the cipher alphabet {key} (a->its first letter, b->its second, ...), "
    "keeping case", '''
def substitute(s, key):
    out = []
    for c in s:
        if "a" <= c <= "z":
            c = key[ord(c) - 97]
        elif "A" <= c <= "Z":
            c = key[ord(c) - 65].upper()
        out.append(c)
    return "".join(out)''', [Param("key", "key", ())], family="letter_map", inverse=None)

# ---- swaps -----------------------------------------------------------------------------------
_op("swap_first_last", "swap", "swap the first and last characters", '''
def swap_first_last(s):
    return s[-1] + s[1:-1] + s[0] if len(s) > 1 else s''', inverse=_undone_by("swap_first_last"))
_op("swap_adjacent", "swap", "swap every pair of adjacent characters (1st with 2nd, 3rd with 4th, ...)", '''
def swap_adjacent(s):
    chars = list(s)
    for i in range(0, len(chars) - 1, 2):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)''', inverse=_undone_by("swap_adjacent"))
_op("swap_halves", "swap",
    "swap the two halves (the second half, which keeps the middle character of an odd length, comes first)", '''
def swap_halves(s):
    return s[len(s) // 2:] + s[:len(s) // 2]''', inverse=_unswap_halves)
_op("swap_positions", "swap", "swap the characters at positions {i} and {j} (counting from 0) when both exist", '''
def swap_positions(s, i, j):
    if j >= len(s):
        return s
    return s[:i] + s[j] + s[i + 1:j] + s[i] + s[j + 1:]''', [_int("i", 0, 6), _int("j", 1, 9)],
    valid=lambda p: p["i"] < p["j"], inverse=None)

# ---- replacements ----------------------------------------------------------------------------
_op("replace_char", "replace", "replace every {old} with {new}", '''
def replace_char(s, old, new):
    return s.replace(old, new)''', [_char("old", sought=True), _char("new")], valid=_distinct("old", "new"),
    inverse=None)
_op("replace_vowels", "replace", "replace every vowel with {c}", '''
def replace_vowels(s, c):
    return "".join(c if ch in _VOWELS else ch for ch in s)''', [_char("c")], helpers=["sets"], inverse=None)
_op("replace_spaces", "replace", "replace every space with {c}", '''
def replace_spaces(s, c):
    return s.replace(" ", c)''', [_char("c")], valid=lambda p: p["c"] != " ", inverse=None)
_op("replace_digits", "replace", "replace every digit with {c}", '''
def replace_digits(s, c):
    return "".join(c if ch in _DIGITS else ch for ch in s)''', [_char("c")], helpers=["sets"], inverse=None)
_op("replace_substring", "replace", "replace every occurrence of the substring {old} with {new}", '''
def replace_substring(s, old, new):
    return s.replace(old, new)''', [_substring("old"), _text("new")],
    valid=_distinct("old", "new"), inverse=None)

# ---- order, dedupe, rotation -----------------------------------------------------------------
_op("sort_chars", "order", "sort the characters in ascending order of code point", '''
def sort_chars(s):
    return "".join(sorted(s))''', family="sort", inverse=None)
_op("sort_chars_desc", "order", "sort the characters in descending order of code point", '''
def sort_chars_desc(s):
    return "".join(sorted(s, reverse=True))''', family="sort", inverse=None)
_op("sort_words", "order", "sort the words (split on spaces) in ascending order of code point", '''
def sort_words(s):
    return " ".join(sorted(s.split(" ")))''', inverse=None)
_op("dedupe", "order", "remove repeated characters, keeping only the first occurrence of each", '''
def dedupe(s):
    return "".join(dict.fromkeys(s))''', inverse=None)
_op("collapse_runs", "order", "collapse every run of identical adjacent characters into one", '''
def collapse_runs(s):
    return "".join(c for i, c in enumerate(s) if i == 0 or s[i - 1] != c)''', inverse=None)
_op("rotate_left", "order", "rotate the string left by {k} positions, cyclically", '''
def rotate_left(s, k):
    if not s:
        return s
    k = k % len(s)
    return s[k:] + s[:k]''', [_int("k", 1, 5)], family="rotate", inverse=_undone_by("rotate_right"))
_op("rotate_right", "order", "rotate the string right by {k} positions, cyclically", '''
def rotate_right(s, k):
    if not s:
        return s
    k = k % len(s)
    return s[len(s) - k:] + s[:len(s) - k]''', [_int("k", 1, 5)], family="rotate", inverse=_undone_by("rotate_left"))


ATOMIC_OPS: tuple[StringOp, ...] = tuple(_OPS)
OPS_BY_NAME: dict[str, StringOp] = {op.name: op for op in ATOMIC_OPS}
if len(OPS_BY_NAME) != len(ATOMIC_OPS):
    raise RuntimeError("duplicate op names in the string DSL")

#: Family pairs whose composition collapses or degenerates (an insertion then a trim of the same end).
INCOMPATIBLE_FAMILIES: frozenset[frozenset[str]] = frozenset({frozenset({"insert", "trim"})})


def get_op(name: str) -> StringOp:
    try:
        return OPS_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown string op {name!r}") from None


# --------------------------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    op: StringOp
    params: tuple[tuple[str, Any], ...]

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class StringProgram:
    """A sequence of ops applied left to right: `steps[0]` sees the input first."""

    steps: tuple[Step, ...]

    @classmethod
    def of(cls, *steps: tuple[str, Mapping[str, Any]] | str) -> "StringProgram":
        """Build from ("name", {params}) pairs or bare names of parameterless ops; validates."""
        built = []
        for step in steps:
            name, params = (step, {}) if isinstance(step, str) else step
            op = get_op(name)
            op.check_params(params)
            built.append(Step(op, tuple((p.name, params[p.name]) for p in op.params)))
        if not built:
            raise ValueError("a string program needs at least one step")
        return cls(tuple(built))

    def __call__(self, s: str) -> str:
        if not isinstance(s, str):
            raise TypeError(f"string programs take a str, got {type(s).__name__}")
        for step in self.steps:
            s = step.op.fn(s, **step.kwargs)
        return s

    def __repr__(self) -> str:
        return f"StringProgram({self.to_metadata()!r})"

    def then(self, other: "StringProgram") -> "StringProgram":
        """The composition: this program first, `other` on its result (for searches over pairs)."""
        return StringProgram(self.steps + other.steps)

    @property
    def op_names(self) -> list[str]:
        return [step.op.name for step in self.steps]

    def describe(self) -> str:
        """Canonical English: the steps in application order joined by ', then '."""
        return ", then ".join(step.op.describe(step.kwargs) for step in self.steps)

    def to_metadata(self) -> list[dict[str, Any]]:
        return [{"op": step.op.name, "params": step.kwargs} for step in self.steps]

    def source(self) -> str:
        """A self-contained, stdlib-only body defining `function(x)`."""
        helpers = _helper_closure([h for step in self.steps for h in step.op.helpers])
        parts = [HELPERS[h].strip() for h in helpers]
        seen: set[str] = set()
        for step in self.steps:
            if step.op.name not in seen:
                seen.add(step.op.name)
                parts.append(step.op.source.strip())
        lines = ["def function(x):"]
        lines += [f"    x = {step.op.call_source(step.kwargs)}" for step in self.steps]
        lines.append("    return x")
        parts.append("\n".join(lines))
        return "\n\n\n".join(parts) + "\n"


def program_from_metadata(metadata: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> StringProgram:
    """Rebuild a program from `ground_truth.metadata` (or directly from its `program` list)."""
    program = metadata.get("program") if isinstance(metadata, Mapping) else metadata
    if not isinstance(program, Sequence) or isinstance(program, str) or not program:
        raise ValueError("metadata must hold a non-empty 'program' list of {op, params} steps")
    steps = []
    for i, step in enumerate(program):
        if not isinstance(step, Mapping) or "op" not in step:
            raise ValueError(f"program step {i} must be a mapping with an 'op' key, got {step!r}")
        steps.append((step["op"], dict(step.get("params") or {})))
    return StringProgram.of(*steps)


def enumerate_atomic(grid: Mapping[str, Sequence[Any]] | None = None,
                     ops: Sequence[StringOp] = ATOMIC_OPS) -> Iterator[StringProgram]:
    """Every single-op program over a parameter grid.

    `grid` overrides value lists by parameter kind ("int", "char", "text", "key") or by
    "op.param" (e.g. {"shift_forward.k": [3]}, {"key": ["qwertyuiopasdfghjklzxcvbnm"]}); other
    parameters use their own `Param.grid`. Ops with a parameter whose grid is empty are skipped,
    as are invalid combinations.
    """
    grid = grid or {}
    for op in ops:
        values = [list(grid.get(f"{op.name}.{p.name}", grid.get(p.kind, p.grid))) for p in op.params]
        for combo in itertools.product(*values):
            params = {p.name: v for p, v in zip(op.params, combo)}
            if op.accepts(params):
                yield StringProgram.of((op.name, params))
