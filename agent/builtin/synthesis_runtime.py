"""The primitives the string synthesizer composes, as one Python source text.

The source below is executed once to give the synthesizer its callables, and the same text is put
at the top of every answer it writes, so the program that was checked against the observations
and the code that is scored can never disagree (as `find_functions.string_ops` does for the DSL).
Everything is stdlib-only and self-contained, because answers run in a sandbox without aia.

The primitives are general on purpose: one per-character map with a predicate on the character's
class or position (`chars`), one slice (`cut`), one partition by a predicate, one run grouping
with a format, word split/map/join (`each_word`, `word_order`), counts with a number format,
concatenation (`+`) and interleaving of transformed copies. Named operations of the DSL, such as
"remove every vowel" or "swap case", are not here: they are programs of these primitives.
"""

from __future__ import annotations

from typing import Any

from find_functions.string_ops import HELPERS

RUNTIME_SOURCE = HELPERS["sets"] + HELPERS["number_words"] + HELPERS["shift_letter"] + r'''

_CLASS = {
    "every": lambda c: True,
    "vowel": lambda c: c in _VOWELS,
    "consonant": lambda c: (c in _LOWER or c in _UPPER) and c not in _VOWELS,
    "uppercase": lambda c: c in _UPPER,
    "lowercase": lambda c: c in _LOWER,
    "letter": lambda c: c in _LOWER or c in _UPPER,
    "non-letter": lambda c: not (c in _LOWER or c in _UPPER),
    "digit": lambda c: c in _DIGITS,
    "space": lambda c: c == " ",
    "whitespace": lambda c: c.isspace(),
    "punctuation": lambda c: c in _PUNCT,
    "alphanumeric": lambda c: c in _LOWER or c in _UPPER or c in _DIGITS,
}

_POSITION = {
    "even": lambda i, n: i % 2 == 0,
    "odd": lambda i, n: i % 2 == 1,
    "first": lambda i, n: i == 0,
    "last": lambda i, n: i == n - 1,
    "third": lambda i, n: i % 3 == 2,
    "third0": lambda i, n: i % 3 == 0,
    "middle": lambda i, n: i == n // 2,
    "second": lambda i, n: i == 1,
    "second to last": lambda i, n: i == n - 2,
    "first half": lambda i, n: i < n // 2,
    "second half": lambda i, n: i >= n - n // 2,
}


def _pred(name):
    """A predicate (i, c, n) -> bool: a character class, a position rule, or 'not ' one of them."""
    if name.startswith("not "):
        inner = _pred(name[4:])
        return lambda i, c, n: not inner(i, c, n)
    if name.startswith("is "):
        this = name[3:]
        return lambda i, c, n: c == this
    if name in _CLASS:
        test = _CLASS[name]
        return lambda i, c, n: test(c)
    rule = _POSITION[name]
    return lambda i, c, n: rule(i, n)


def _atbash(c):
    if "a" <= c <= "z":
        return chr(219 - ord(c))
    if "A" <= c <= "Z":
        return chr(155 - ord(c))
    return c


_NEXT_VOWEL = str.maketrans("aeiouAEIOU", "eiouaEIOUA")

_MAPS = {
    "same": lambda c, i: c,
    "upper": lambda c, i: c.upper(),
    "lower": lambda c, i: c.lower(),
    "swapcase": lambda c, i: c.swapcase(),
    "double": lambda c, i: c + c,
    "drop": lambda c, i: "",
    "atbash": lambda c, i: _atbash(c),
    "next vowel": lambda c, i: c.translate(_NEXT_VOWEL),
    "digit mirror": lambda c, i: str(9 - int(c)) if c in _DIGITS else c,
    "digit word": lambda c, i: _ONES[int(c)] if c in _DIGITS else c,
    "shift by position": lambda c, i: _shift_letter(c, i),
    "shift back by position": lambda c, i: _shift_letter(c, -i),
    "position": lambda c, i: str(i),
    "repeat by position": lambda c, i: c * (i + 1),
    "alphabet position": lambda c, i: str(ord(c.lower()) - 96) if c in _LOWER or c in _UPPER else c,
}
_MAP_CACHE = {}


def _map(name):
    """A character map (c, i) -> str by name; 'shift K' and 'digit shift K' take a number."""
    if name in _MAPS:
        return _MAPS[name]
    if name.startswith("const "):
        text = name[6:]
        return lambda c, i: text
    if name not in _MAP_CACHE:
        kind, k = name.rsplit(" ", 1)
        k = int(k)
        if kind == "shift":
            _MAP_CACHE[name] = lambda c, i: _shift_letter(c, k)
        elif kind == "digit shift":
            _MAP_CACHE[name] = lambda c, i: str((int(c) + k) % 10) if c in _DIGITS else c
        else:
            raise ValueError("unknown character map " + name)
    return _MAP_CACHE[name]


_BY_INDEX = ("shift by position", "shift back by position", "position", "repeat by position")


class _Table(dict):
    """A translation table filled in as characters come: for maps that ignore positions."""

    def __init__(self, p, F, G):
        super().__init__()
        self.p, self.F, self.G = p, F, G

    def __missing__(self, o):
        c = chr(o)
        out = self[o] = self.F(c, 0) if self.p(0, c, 1) else self.G(c, 0)
        return out


_TABLES = {}


def _by_class(name):
    name = name[4:] if name.startswith("not ") else name
    return name in _CLASS or name.startswith("is ")


def _in_context(s, pred):
    """Predicates on how often a character occurs in the whole string."""
    counts = {}
    for c in s:
        counts[c] = counts.get(c, 0) + 1
    if pred == "unique":
        return lambda i, c, n: counts[c] == 1
    return lambda i, c, n: counts[c] > 1


def chars(s, pred, f, g="same"):
    """Map every character: f where the predicate holds, g elsewhere."""
    if pred in ("unique", "repeated"):
        p, F, G, n = _in_context(s, pred), _map(f), _map(g), len(s)
        return "".join(F(c, i) if p(i, c, n) else G(c, i) for i, c in enumerate(s))
    key = (pred, f, g)
    table = _TABLES.get(key)
    if table is None:
        index_free = _by_class(pred) and f not in _BY_INDEX and g not in _BY_INDEX
        table = _TABLES[key] = _Table(_pred(pred), _map(f), _map(g)) if index_free else False
    if table is not False:
        return s.translate(table)
    p, F, G, n = _pred(pred), _map(f), _map(g), len(s)
    return "".join(F(c, i) if p(i, c, n) else G(c, i) for i, c in enumerate(s))


def cut(s, start=None, stop=None, step=None):
    """A slice of the string."""
    return s[start:stop:step]


def rotate(s, k):
    """Rotate left by k (right when k < 0), cyclically."""
    if not s:
        return s
    k %= len(s)
    return s[k:] + s[:k]


def partition(s, pred):
    """The characters where the predicate holds first, then the others, each in their order."""
    p, n = _pred(pred), len(s)
    keep = [p(i, c, n) for i, c in enumerate(s)]
    return "".join(c for c, k in zip(s, keep) if k) + "".join(c for c, k in zip(s, keep) if not k)


def reverse_where(s, pred):
    """Reverse the order of the characters where the predicate holds; the others stay in place."""
    p, n = _pred(pred), len(s)
    picked = [c for i, c in enumerate(s) if p(i, c, n)]
    return "".join(picked.pop() if p(i, c, n) else c for i, c in enumerate(s))


def order(s, how):
    """Rearrange the characters: sorted by code point, case-insensitively, by frequency, ..."""
    if how == "ascending":
        return "".join(sorted(s))
    if how == "descending":
        return "".join(sorted(s, reverse=True))
    if how == "alphabetical":
        return "".join(sorted(s, key=str.lower))
    if how == "frequency":
        counts = {}
        for c in s:
            counts[c] = counts.get(c, 0) + 1
        return "".join(c * counts[c] for c in sorted(counts, key=lambda c: -counts[c]))
    if how == "swap halves":
        return s[len(s) // 2:] + s[:len(s) // 2]
    if how == "swap pairs":
        return "".join(s[i:i + 2][::-1] for i in range(0, len(s), 2))
    if how == "swap ends":
        return s[-1] + s[1:-1] + s[0] if len(s) > 1 else s
    if how == "evens then odds":
        return s[::2] + s[1::2]
    if how == "dedupe":
        return "".join(dict.fromkeys(s))
    if how == "outside in":
        return "".join(s[j] for i in range((len(s) + 1) // 2) for j in dict.fromkeys((i, len(s) - 1 - i)))
    raise ValueError("unknown order " + how)


def runs(s, fmt):
    """Group runs of equal adjacent characters and write each run in a format."""
    out, i = [], 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        c, n = s[i], j - i
        out.append({"char": c, "char count": c + str(n), "count char": str(n) + c,
                    "count": str(n), "char twice": c + c}[fmt])
        i = j
    return "".join(out)


def count(s, what):
    """How many characters of a class (or words, or distinct characters) the string has."""
    if what == "characters":
        return len(s)
    if what == "words":
        return len(s.split())
    if what == "distinct characters":
        return len(set(s))
    p, n = _pred(what), len(s)
    return sum(1 for i, c in enumerate(s) if p(i, c, n))


def number(n, fmt):
    """A number written in digits or in English words."""
    return str(n) if fmt == "digits" else _number_words(n)


def _split(s, sep):
    return s.split() if sep is None else s.split(sep)


_WORD_POSITION = {
    "every": lambda i, n: True,
    "even": lambda i, n: i % 2 == 0,
    "odd": lambda i, n: i % 2 == 1,
    "first": lambda i, n: i == 0,
    "last": lambda i, n: i == n - 1,
    "not first": lambda i, n: i > 0,
    "not last": lambda i, n: i < n - 1,
}


def _word_where(where):
    """Which words a map applies to: a position rule, or a rule on the word ('longer|3', 'contains|e')."""
    if where in _WORD_POSITION:
        rule = _WORD_POSITION[where]
        return lambda i, n, w: rule(i, n)
    name, k = where.split("|")
    test, k = _WORD_RULE[name], (int(k) if name in ("longer", "shorter") else k)
    return lambda i, n, w: test(w, k)


def each_word(s, f, sep=" ", joiner=" ", where="every", order="keep"):
    """Split into words, map those the rule picks, reorder, join."""
    w = _split(s, sep)
    p, n = _word_where(where), len(w)
    out = [f(v) if p(i, n, v) else v for i, v in enumerate(w)]
    if order == "reverse":
        out = out[::-1]
    elif order == "rotate left":
        out = out[1:] + out[:1]
    elif order == "rotate right":
        out = out[-1:] + out[:-1]
    return joiner.join(out)


def each_char(s, f, keep="every", joiner=" "):
    """Map every character (of a class) to a text, and join the texts."""
    p, n = _pred(keep), len(s)
    return joiner.join(f(c) for i, c in enumerate(s) if p(i, c, n))


def trim(s, chars=None):
    """Remove the given characters (whitespace by default) from both ends."""
    return s.strip(chars)


_WORD_RULE = {
    "longer": lambda w, k: len(w) > k,
    "shorter": lambda w, k: len(w) < k,
    "capitalized": lambda w, k: w[:1] in _UPPER,
    "lowercase": lambda w, k: w[:1] in _LOWER,
    "with a digit": lambda w, k: any(c in _DIGITS for c in w),
    "alphabetic": lambda w, k: w != "" and all(c in _LOWER or c in _UPPER for c in w),
    "contains": lambda w, k: k in w,
}


def half(s, which):
    """One half of the string (the first rounded down, or the rest)."""
    return s[:len(s) // 2] if which == "first" else s[len(s) // 2:]


def word_filter(s, rule, k=0, keep=True):
    """Keep (or drop) the words that satisfy a rule."""
    test = _WORD_RULE[rule]
    return " ".join(w for w in s.split(" ") if test(w, k) == keep)


def count_words(s, rule, k=0):
    """How many words (split on whitespace) satisfy a rule."""
    test = _WORD_RULE[rule]
    return sum(1 for w in s.split() if test(w, k))


def word_cut(s, start=None, stop=None, sep=" "):
    """Some of the words."""
    return " ".join(_split(s, sep)[start:stop])


def word_order(s, how, sep=" "):
    """Rearrange the words."""
    w = _split(s, sep)
    if how == "reverse":
        w = w[::-1]
    elif how == "sort":
        w = sorted(w)
    elif how == "by length":
        w = sorted(w, key=len)
    elif how == "by last character":
        w = sorted(w, key=lambda v: v[-1:])
    elif how == "alphabetical":
        w = sorted(w, key=str.lower)
    elif how == "descending":
        w = sorted(w, reverse=True)
    elif how == "rotate left":
        w = w[1:] + w[:1]
    elif how == "rotate right":
        w = w[-1:] + w[:-1]
    elif how == "swap ends":
        w = w[-1:] + w[1:-1] + w[:1] if len(w) > 1 else w
    elif how == "dedupe":
        w = list(dict.fromkeys(w))
    else:
        raise ValueError("unknown word order " + how)
    return " ".join(w)


def interleave(a, b):
    """The characters of a and b alternately (as far as both go)."""
    return "".join(p + q for p, q in zip(a, b))
'''

RUNTIME: dict[str, Any] = {}
exec(RUNTIME_SOURCE, RUNTIME)  # noqa: S102 - this module's own fixed source
