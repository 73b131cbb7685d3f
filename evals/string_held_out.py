"""Held-out strings for scoring a string function that comes without tests.

FIND scores a string answer's code on the function's unit tests. A directory of foreign scripts
may ship none; then the script itself is the oracle, and the answer's code must reproduce its
outputs on inputs the investigator did not choose. They are drawn from the run's scoring seed
(never given to an investigator) and the function's key, so a run is reproducible and functions
get different ones. They vary what string operations react to: words and phrases, case, digits,
repeated letters and words, punctuation and spacing. All are printable, so that every serving mode
carries them (`find_functions.blackbox.argv_problem`).
"""

from __future__ import annotations

import random
from typing import Callable

N_HELD_OUT_STRINGS = 40

#: Every letter occurs; short and long words, doubled letters, vowel-heavy and vowel-free ones.
WORDS = (
    "apple", "river", "zebra", "quiet", "jumping", "oxygen", "fjord", "rhythm", "banana", "letter",
    "committee", "bookkeeper", "sky", "a", "I", "ox", "queue", "jazz", "vivid", "wax", "kayak",
    "level", "mississippi", "strength", "onomatopoeia", "galaxy", "whisper", "yellow", "puzzle",
    "hello", "world", "python", "garden", "window", "mountain", "coffee", "elephant", "keyboard",
    "umbrella", "velvet", "question", "bridge", "dozen", "lamp", "night", "ocean", "tiger", "squid",
)
PUNCTUATION = ".,;:!?-_'\"()[]@#&*/%+="


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _phrase(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))


def _with_digits(rng: random.Random) -> str:
    number = str(rng.randint(0, 10 ** rng.randint(1, 6)))
    word = rng.choice(WORDS)
    return rng.choice([f"{word} {number}", f"{number} {word}", f"{word}{number}", number,
                       "".join(c + str(rng.randint(0, 9)) for c in word[:4])])


def _repeats(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    letter = rng.choice(word)
    return rng.choice([letter * rng.randint(2, 6), " ".join([word] * rng.randint(2, 3)),
                       word.replace(letter, letter * 3, 1), word + word])


def _punctuated(rng: random.Random) -> str:
    text = _phrase(rng) if rng.random() < 0.5 else _word(rng)
    for _ in range(rng.randint(1, 3)):
        i = rng.choice([0, len(text), rng.randint(0, len(text))])
        text = text[:i] + rng.choice(PUNCTUATION) + text[i:]
    return text


def _spacing(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    return rng.choice(["", " ", rng.choice("abcxyzAZ"), f"  {word}  ", f"{word}  {rng.choice(WORDS)}",
                       f" {word}", f"{word} "])


_MAKERS: tuple[Callable[[random.Random], str], ...] = (_word, _phrase, _with_digits, _repeats, _punctuated,
                                                       _spacing)


def _cased(text: str, rng: random.Random) -> str:
    how = rng.choice(["keep", "keep", "lower", "upper", "title", "capitalize", "mixed"])
    if how == "mixed":
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    return text if how == "keep" else getattr(text, how)()


def held_out_strings(seed: int, key: str, n: int = N_HELD_OUT_STRINGS) -> list[str]:
    """`n` distinct strings for the function `key`, determined by the scoring `seed`."""
    rng = random.Random(f"strings-held-out:{seed}:{key}")
    out: dict[str, None] = {}
    while len(out) < n:
        out[_cased(rng.choice(_MAKERS)(rng), rng)] = None
    return list(out)
