"""The string category of the suite: atomic ops and two-op compositions, FIND style.

About half the functions are one op of `find_functions.string_ops`, half are `f1(f2(s))`
compositions (FIND's descriptions show many). Behaviour is judged on a fixed probe set of diverse
strings, and the suite keeps a function only when it

- is informative: several distinct outputs and several inputs it changes;
- is new: no earlier function of the suite has the same outputs on the probe set;
- (composite) is not redundant: it differs from each of its parts, from identity, and from every
  single op on the enumeration grid (so "upper then lower" or "reverse then reverse the words" are
  rejected), and its two ops are from different families that never merge into one op.

Each function gets 30 held-out inputs (targeted at its parameters where it has any) and 10
three-way multiple-choice unit tests built as FIND builds them: three inputs, three outputs, exactly
one pair a correct execution; the wrong outputs are what another suite function, or the same
function on another input, gives. Unit-test inputs never overlap held-out inputs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .script import render_script
from .spec import GroundTruth, MultipleChoiceItem, SuiteFunction, function_id
from .string_ops import (
    ATOMIC_OPS,
    INCOMPATIBLE_FAMILIES,
    StringOp,
    StringProgram,
    enumerate_atomic,
)

#: Strings on which behaviour is compared. Every letter (both cases) occurs at least three times,
#: there are digits, punctuation, runs, several word counts and lengths, and edge cases.
PROBES: tuple[str, ...] = (
    "", "a", "Z", " ", "7", "ab", "Hi", "hello", "HELLO", "Hello", "banana", "racecar",
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "The quick brown fox jumps over the lazy dog",
    "PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS",
    "Sphinx of black quartz, judge my vow!",
    "How Vexingly Quick Daft Zebras Jump",
    "jackdaws love my big sphinx of quartz",
    "WALTZ, NYMPH, FOR QUICK JIGS VEX BUD",
    "Mississippi 1990", "  padded text  ", "double  space", "snake_case_name", "camelCaseWord",
    "a1b2c3d4e5", "0123456789", "Room 404: Not Found!", "e-mail@example.com", "(x + y) * 2 = z",
    "aaabbbcccaaa", "I am here.", "Is it? Yes; it is.", "the cat sat on the mat",
    "Good Morning, Dr. Watson", "queue", "rhythm", "AEIOU aeiou", "éclair café", "naïve Straße",
    "xyzzy XYZZY", "Tab\tseparated", "tomorrow is another day", "Python 3.11 rocks!!!",
)

_EDGE_CASES = ("", " ", "a", "Z", "42", "!?", "  x  ", "aa")

#: Inputs for held-out tests (hidden from the investigator) ...
HELD_OUT_POOL: tuple[str, ...] = (
    "garden", "window", "Mountain", "river bank", "Coffee Break", "elephant", "keyboard", "UPPER",
    "lower case words", "Mixed CaSe InPuT", "zigzag", "quizzical", "jukebox", "Oxygen", "vivid",
    "seventeen apples", "42 is the answer", "Call me at 555-0199", "2024-06-01", "99 bottles",
    "hello, world!", "Wait... what?!", "semi;colon:rich", "#hashtag @mention", "100% sure",
    "A man, a plan, a canal", "never odd or even", "Data Science 101", "open-source software",
    "The rain in Spain", "to be or not to be", "Alice and Bob", "quick quiz", "Jazz Hands",
    "bookkeeper", "committee", "aardvark", "Zyzzyva", "strength", "onomatopoeia", "queueing",
    "Sunday morning coffee", "one two three four five", "MIXED123case", "under_score", "x-ray",
    "ice cream sundae", "Quantum Physics", "Wednesday", "the end.", "O", "Hmm", "tree",
    "carpet", "ocean blue", "Great Expectations", "black & white", "snow-white", "Zebra crossing",
    "fjord", "glyph", "sky", "Q", "ok", "mathematics", "algebra 2", "BASIC", "over the moon",
    "it's fine", "rock and roll", "Video Game 64", "Piano", "lemonade stand", "Tokyo Tower",
    "citrus", "maple syrup", "New York City", "yellow", "velvet", "whisper", "R2-D2", "route 66",
    "4th of July", "7 wonders", "pi is 3.14159", "Area 51", "24/7 support", "1st place", "v2.0.1",
    "room 237", "x1y2z3", "Catch-22", "phone 867-5309", "year 1984",
)

#: ... and disjoint inputs for the multiple-choice unit tests (checked at import).
UNIT_TEST_POOL: tuple[str, ...] = (
    "apple", "Python", "world", "example", "function", "programming", "HelloWorld", "banana split",
    "testing", "12345", "1234567890", "Hello World", "This is a test", "intelligence", "algorithm",
    "computer", "orange", "artificial", "shift", "strings", "Caesar", "Zebra", "machine learning",
    "alphabet", "pineapple", "coding", "Goodbye", "Concatenate", "Natural Language", "cherry",
    "grape", "lovely", "qwerty", "123abc", "program", "rotate", "vowels", "Test123", "text",
    "replace", "uvwxyz", "substitution", "middle", "Mapping", "abracadabra", "Cryptography",
    "OpenAI", "reverse", "PYTHON", "happy", "house", "deep learning", "umbrella", "fish",
    "wonderful", "encryption", "shifted", "Dog", "jupyter", "blueberry", "fantastic", "welcome",
    "Input 7", "sample text", "kiwi fruit", "Madam", "level up", "Zoo", "quiet", "jumping jacks",
    "Xylophone", "buzz", "fizz buzz", "Hello, there!", "What's up?", "email me", "3 little pigs",
    "c0d3", "A to Z", "Seven Seas", "hot dog", "light bulb", "ice", "Y", "i", "mid-day", "two words",
    "spaces  inside", "Jolly Roger", "vacuum", "puzzle", "excellent", "yesterday", "Wizard",
    "agent 007", "9 lives", "top 10 list", "B52", "50 cents", "4 seasons", "H2O", "256 bits",
    "Apollo 11", "route 3",
)

_OVERLAP = set(HELD_OUT_POOL + _EDGE_CASES) & set(UNIT_TEST_POOL)
if _OVERLAP:
    raise RuntimeError(f"held-out and unit-test pools overlap: {sorted(_OVERLAP)}")

N_HELD_OUT = 30
N_UNIT_TESTS = 10

Signature = tuple[str, ...]


def signature(program: StringProgram) -> Signature:
    """The program's outputs on the probe set: its behaviour, for deduplication."""
    return tuple(program(p) for p in PROBES)


_IDENTITY: Signature = PROBES


def _informative(sig: Signature) -> bool:
    changed = sum(out != p for out, p in zip(sig, PROBES))
    return len(set(sig)) >= 3 and changed >= 3


_ATOMIC_SIGNATURES: set[Signature] | None = None


def atomic_signatures() -> set[Signature]:
    """Signatures of every single-op program on the enumeration grid (computed once)."""
    global _ATOMIC_SIGNATURES
    if _ATOMIC_SIGNATURES is None:
        _ATOMIC_SIGNATURES = {signature(p) for p in enumerate_atomic()}
    return _ATOMIC_SIGNATURES


def _sample_step(op: StringOp, rng: random.Random) -> tuple[str, dict]:
    for _ in range(100):
        params = {p.name: p.sample(rng) for p in op.params}
        if op.valid is None or op.valid(params):
            return op.name, params
    raise RuntimeError(f"could not sample valid parameters for op {op.name!r}")


def _composable(inner: StringOp, outer: StringOp) -> bool:
    if inner.family == outer.family:
        return False
    return frozenset({inner.family, outer.family}) not in INCOMPATIBLE_FAMILIES


def _candidate(variant: str, rng: random.Random) -> StringProgram | None:
    if variant == "atomic":
        return StringProgram.of(_sample_step(rng.choice(ATOMIC_OPS), rng))
    inner, outer = rng.choice(ATOMIC_OPS), rng.choice(ATOMIC_OPS)
    if not _composable(inner, outer):
        return None
    return StringProgram.of(_sample_step(inner, rng), _sample_step(outer, rng))


def _accept(program: StringProgram, sig: Signature, seen: set[Signature]) -> bool:
    if sig in seen or sig == _IDENTITY or not _informative(sig):
        return False
    if len(program.steps) == 1:
        return True
    for step in program.steps:
        if signature(StringProgram((step,))) == sig:
            return False
    return sig not in atomic_signatures()


def sample_programs(seed: int, n: int) -> list[tuple[str, StringProgram]]:
    """`n` (variant, program) pairs, half composite, behaviourally distinct, deterministic in `seed`."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = random.Random(f"strings:{seed}")
    variants = ["composite"] * (n // 2) + ["atomic"] * (n - n // 2)
    rng.shuffle(variants)
    seen: set[Signature] = set()
    out: list[tuple[str, StringProgram]] = []
    for variant in variants:
        for _ in range(5000):
            program = _candidate(variant, rng)
            if program is None:
                continue
            sig = signature(program)
            if _accept(program, sig, seen):
                seen.add(sig)
                out.append((variant, program))
                break
        else:
            raise RuntimeError(f"could not find a new {variant} string function after 5000 tries "
                               f"({len(out)} found); ask for fewer functions")
    return out


def _targeted(program: StringProgram, base: Sequence[str], rng: random.Random, k: int) -> list[str]:
    """Strings from `base` with the values the program looks for inserted (at either end or
    inside), so that e.g. "replace every 'q' with 'Z'" is exercised though few words hold a 'q'."""
    tokens = [step.kwargs[p.name] for step in program.steps for p in step.op.params if p.sought]
    if not tokens:
        return []
    out = []
    for _ in range(k):
        s = rng.choice(base)
        for _ in range(rng.randint(1, 2)):
            i = rng.choice([0, len(s), rng.randint(0, len(s))])
            s = s[:i] + rng.choice(tokens) + s[i:]
        out.append(s)
    return out


def _held_out(program: StringProgram, rng: random.Random) -> list[str]:
    """30 inputs: a few edge cases, targeted strings, and pool strings, mostly ones the function changes."""
    chosen = list(rng.sample(_EDGE_CASES, 3))
    targeted = [s for s in _targeted(program, HELD_OUT_POOL, rng, 12) if s not in chosen]
    chosen += list(dict.fromkeys(targeted))
    rest = [s for s in rng.sample(HELD_OUT_POOL, len(HELD_OUT_POOL)) if s not in chosen]
    changed = [s for s in rest if program(s) != s]
    unchanged = [s for s in rest if program(s) == s]
    chosen += (changed + unchanged)[: N_HELD_OUT - len(chosen)]
    chosen = chosen[:N_HELD_OUT]
    rng.shuffle(chosen)
    return chosen


def _wrong_output(program: StringProgram, x: str, inputs: Sequence[str], others: Sequence[StringProgram],
                  rng: random.Random, avoid: set[str]) -> str | None:
    """An output that is not program(x): another function's output on x, or program on another input."""
    truth = program(x)
    for _ in range(40):
        if rng.random() < 0.5:
            out = rng.choice(others)(x)
        else:
            out = program(rng.choice(inputs))
        if out != truth and out not in avoid:
            return out
    return None


def _unit_tests(program: StringProgram, others: Sequence[StringProgram], held_out: Sequence[str],
                rng: random.Random) -> list[MultipleChoiceItem]:
    held = set(held_out)
    pool = [s for s in UNIT_TEST_POOL if s not in held]
    pool += [s for s in dict.fromkeys(_targeted(program, UNIT_TEST_POOL, rng, 10)) if s not in held and s not in pool]
    informative = [s for s in pool if program(s) != s]
    items: list[MultipleChoiceItem] = []
    used: set[str] = set()
    for _ in range(20 * N_UNIT_TESTS):
        if len(items) == N_UNIT_TESTS:
            break
        fresh = [s for s in pool if s not in used] or pool
        correct_candidates = [s for s in informative if s not in used] or fresh
        x_correct = rng.choice(correct_candidates)
        distractor_inputs = rng.sample([s for s in fresh if s != x_correct], 2)
        correct = rng.randrange(3)
        inputs = distractor_inputs[:correct] + [x_correct] + distractor_inputs[correct:]
        outputs: list[str] = []
        for i, x in enumerate(inputs):
            if i == correct:
                outputs.append(program(x))
                continue
            wrong = _wrong_output(program, x, pool, others, rng, avoid={program(x_correct), *outputs})
            if wrong is None:
                break
            outputs.append(wrong)
        if len(outputs) < 3:
            used.update(inputs)
            continue
        items.append(MultipleChoiceItem(inputs=inputs, outputs=outputs, correct=correct))
        used.update(inputs)
    if len(items) < N_UNIT_TESTS:
        raise RuntimeError(f"could not build {N_UNIT_TESTS} unit tests for {program.describe()!r}")
    return items


def describe(program: StringProgram) -> str:
    """The ground-truth description: the canonical phrasing as a sentence."""
    text = program.describe()
    return text[:1].upper() + text[1:] + "."


def build_function(index: int, variant: str, program: StringProgram, others: Sequence[StringProgram],
                   seed: int) -> SuiteFunction:
    """The SuiteFunction record for one program (`others`: the suite's other programs, for distractors)."""
    rng = random.Random(f"strings:{seed}:{index}")
    body = program.source()
    held_out = _held_out(program, rng)
    return SuiteFunction(
        id=function_id(index),
        category="strings",
        variant=variant,
        script=render_script(body, "str"),
        ground_truth=GroundTruth(
            description=describe(program),
            code=body,
            label=";".join(program.op_names),
            metadata={"program": program.to_metadata()},
        ),
        unit_tests=_unit_tests(program, others, held_out, rng),
        held_out_inputs=held_out,
    )


def generate_strings(seed: int, n: int = 1000) -> list[SuiteFunction]:
    """The string suite: `n` functions (about half compositions), deterministic in `seed`."""
    programs = sample_programs(seed, n)
    everything = [p for _, p in programs]
    return [
        build_function(i, variant, program, everything[:i] + everything[i + 1:], seed)
        for i, (variant, program) in enumerate(programs)
    ]
