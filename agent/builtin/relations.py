"""The built-in scientist's relation investigation: which fact does the black box look up, and where not?

A relation function maps an entity (a country, an opera, an animal...) to a related fact and answers
`undefined` outside its domain and, sometimes, on a sub-domain (the *exception*). The scientist sees
only black-box outputs. Its world knowledge is the knowledge tables of `find_functions.knowledge`
(public facts standing in for what an LLM knows: every country's capital, every opera's composer...);
it never reads a function's ground truth or the suite's relation inventory, only the tables and its
own vocabulary for what each table column means (`TABLES`, `COLUMNS` below).

The investigation, every step recorded in a `Notebook`:

1. *survey*: ask a sample of entities of every kind the tables know (countries, cities, people, operas,
   books, rivers, animals, gemstones, names, monuments...) plus a few non-entities. Which inputs give a
   defined output shows the domain;
2. *read the relation*: each hypothesis is "the output is column C of table T for inputs in T" (a list
   column may answer its alphabetically first, first-listed or any member). A hypothesis is scored by
   the defined outputs it reproduces minus those it contradicts; the best is tested on the rest of its
   domain;
3. *the exception*: ask every member of the domain, the first half to fit and the second half to
   confirm. Among domain members, which answer `undefined`? Hypotheses are predicates the tables can
   express: attribute = value (continent, country, state, language, gender, diet, realm, colour...,
   the country's continent for entities that have a country), first letter, and numeric thresholds
   (year before/after, lengths, heights). The predicate that separates the undefined members from the
   defined ones with the fewest errors wins; the second half of the domain then checks its predictions;
4. *answer* in plain words: "maps a country to its capital city; returns undefined when the input
   country is in Asia, and for inputs that are not countries", with a few observed examples.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from find_functions.knowledge import TABLE_NAMES, Table, load_table, normalize

from .findings import Findings, Hypothesis, Notebook

Probe = Callable[[Sequence[str]], list[Any]]

#: How the scientist names an input of each table: (one, many, noun used in "the input <noun>").
TABLES: dict[str, tuple[str, str, str]] = {
    "countries": ("a country", "countries", "country"),
    "borders": ("a country", "countries with at least one land border", "country"),
    "skyscrapers": ("a country", "countries with a notable skyscraper", "country"),
    "male_height": ("a country", "countries with a known average male height", "country"),
    "world_cities": ("a city", "cities", "city"),
    "us_cities": ("a US city", "US cities", "city"),
    "heads_of_state": ("a head of state", "heads of state", "head of state"),
    "monuments": ("a monument", "monuments", "monument"),
    "operas": ("an opera", "operas", "opera"),
    "books": ("a book title", "book titles", "book"),
    "politicians": ("a politician", "politicians", "politician"),
    "rivers": ("a river", "rivers", "river"),
    "animals": ("an animal", "animals", "animal"),
    "gemstones": ("a gemstone", "gemstones", "gemstone"),
    "first_names": ("a first name", "first names", "name"),
    "people": ("a well-known person", "well-known people", "person"),
}

#: What each column of each table means, said of one input ("maps a country to <phrase>").
COLUMNS: dict[tuple[str, str], str] = {
    ("countries", "capital"): "its capital city",
    ("countries", "continent"): "the continent it is on",
    ("countries", "language"): "its official language",
    ("countries", "flag_colours"): "the colours of its flag",
    ("countries", "highest_point_km"): "the elevation of its highest point, in kilometres",
    ("borders", "neighbours"): "a country it shares a land border with",
    ("skyscrapers", "building"): "the name of its tallest skyscraper",
    ("skyscrapers", "height_m"): "the height of its tallest skyscraper (building), in metres",
    ("male_height", "height_m"): "the average height of its adult men, in metres",
    ("world_cities", "country"): "the country it is in",
    ("world_cities", "continent"): "the continent it is on",
    ("world_cities", "time_zone"): "its standard time zone",
    ("us_cities", "state"): "the US state it is in",
    ("heads_of_state", "country"): "the country they led",
    ("heads_of_state", "gender"): "their gender",
    ("monuments", "city"): "the city it is in",
    ("monuments", "country"): "the country it is in",
    ("monuments", "continent"): "the continent it is on",
    ("operas", "composer"): "its composer",
    ("operas", "language"): "the language it is sung in (its libretto)",
    ("books", "author"): "its author (who wrote it)",
    ("books", "year"): "the year it was first published",
    ("politicians", "party"): "the political party they belong to",
    ("politicians", "gender"): "their gender",
    ("rivers", "continent"): "the continent it flows through",
    ("rivers", "length_km"): "its length in kilometres",
    ("rivers", "country"): "the main country it flows through",
    ("animals", "food"): "its main food source (what it eats)",
    ("animals", "habitat"): "its typical habitat",
    ("animals", "diet"): "its diet type (carnivore, herbivore or omnivore)",
    ("animals", "realm"): "whether it lives on land, in the ocean or in fresh water",
    ("gemstones", "colour"): "its colour",
    ("first_names", "gender"): "the most likely gender of a person with that name (male or female)",
    ("people", "occupation"): "their occupation",
    ("people", "gender"): "their gender",
}

#: Tables keyed by country name: their records are joined with the countries table, so that a
#: country's continent or language can explain an exception.
_COUNTRY_KEYED = ("borders", "skyscrapers", "male_height")
#: Inputs no table knows: controls for "undefined outside the domain".
CONTROLS: tuple[str, ...] = ("hello", "42", "blue sky", "xqzv", "table", "running")
SURVEY_PER_TABLE = 24
UNDEFINED_WORDS = frozenset({"undefined", "none", "null", "", "nan"})
EXAMPLES_IN_DESCRIPTION = 3


def is_undefined(output: Any) -> bool:
    return output is None or normalize(str(output)) in UNDEFINED_WORDS


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def same_value(observed: Any, expected: str) -> bool:
    """Whether a black-box output states a table value (case, accents, spacing and 0.5% of numbers aside)."""
    a, b = normalize(str(observed)), normalize(expected)
    if a == b:
        return True
    fa, fb = _as_float(str(observed)), _as_float(expected)
    return fa is not None and fb is not None and abs(fa - fb) <= 0.005 * max(abs(fa), abs(fb), 1e-9)


# ----------------------------------------------------------------------------- readings of the output

@dataclass(frozen=True)
class Reading:
    """A hypothesis about what the output is: column `column` of table `table` (for list columns,
    which member: `pick` is "value", "first", "alphabetical" or "any")."""

    table: str
    column: str
    pick: str = "value"

    def expected(self, record: dict[str, str]) -> list[str]:
        """The outputs this reading allows for a record."""
        cell = record[self.column]
        if self.pick == "value":
            return [cell]
        members = [m.strip() for m in cell.split(";") if m.strip()]
        if self.pick == "first":
            return members[:1]
        if self.pick == "alphabetical":
            return sorted(members)[:1]
        return members

    def agrees(self, record: dict[str, str], output: Any) -> bool:
        return any(same_value(output, e) for e in self.expected(record))

    def phrase(self) -> str:
        base = COLUMNS.get((self.table, self.column), f"its {self.column.replace('_', ' ')}")
        return {"value": base, "first": f"{base} (the first one listed)",
                "alphabetical": f"{base} (the alphabetically first one)",
                "any": f"{base} (one of several)"}[self.pick]

    def statement(self) -> str:
        one = TABLES.get(self.table, (f"an entry of {self.table}",))[0]
        return f"maps {one} to {self.phrase()}"


@lru_cache(maxsize=1)
def _readings() -> tuple[Reading, ...]:
    """Every reading the tables can express (list-valued columns get their three picks)."""
    out = []
    for name in TABLE_NAMES:
        table = load_table(name)
        for column in table.columns[1:]:
            if any(";" in r[column] for r in table.rows.values()):
                out += [Reading(name, column, p) for p in ("alphabetical", "first", "any")]
            else:
                out.append(Reading(name, column))
    return tuple(out)


def _record(table: Table, key: str) -> dict[str, str]:
    """A table row, joined with the countries table where the row is (or names) a country."""
    row = table.rows[key]
    countries = load_table("countries")
    if table.name in _COUNTRY_KEYED:
        return {**countries.rows[row["country"]], **row}
    if "country" in row and table.name != "countries":
        joined = countries.lookup(row["country"])
        if joined is not None:
            extra = {f"country's {c}": joined[c] for c in ("continent", "language")
                     if c not in row}
            return {**row, **extra}
    return row


# ----------------------------------------------------------------------------- exception predicates

@dataclass(frozen=True)
class Predicate:
    """A sub-domain the tables can express: `attribute op value` over a (joined) record."""

    attribute: str
    op: str  # eq | gt | lt | startswith
    value: str
    rank: int  # preference among predicates that fit equally well (lower first)

    def holds(self, record: dict[str, str]) -> bool:
        actual = record.get(self.attribute)
        if actual is None:
            return False
        if self.op == "eq":
            return actual == self.value
        if self.op == "startswith":
            return normalize(actual).startswith(normalize(self.value))
        number = _as_float(actual)
        if number is None:
            return False
        return number > float(self.value) if self.op == "gt" else number < float(self.value)

    def phrase(self, noun: str) -> str:
        """The predicate in words, about "the input <noun>"."""
        subject = f"the input {noun}"
        a, v = self.attribute, self.value
        if self.op == "startswith":
            return f"{subject} begins with the letter {v}"
        if a == "year":
            return f"{subject} was written {'after' if self.op == 'gt' else 'before'} {v}"
        if self.op in ("gt", "lt"):
            quantity = a.replace("_km", " in km").replace("_m", " in m").replace("_", " ")
            return f"the {quantity} of {subject} is {'above' if self.op == 'gt' else 'below'} {v}"
        if a == "gender":
            return f"{subject} is a {'man (male)' if v == 'male' else 'woman (female)' if v == 'female' else v}"
        if a == "diet":
            return f"{subject} is a {v}"
        if a == "realm":
            return f"{subject} lives " + {"land": "on land", "ocean": "in the ocean",
                                          "freshwater": "in fresh water"}.get(v, f"in {v}")
        if a == "colour":
            return f"{subject} is {v}"
        if a == "language" and noun == "opera":
            return f"{subject} is in {v}"
        if a == "language":
            return f"the official language of {subject} is {v}"
        if a == "country's continent":
            return f"the country of {subject} is in {v}"
        if a == "country's language":
            return f"the language of the country of {subject} is {v}"
        if a in ("continent", "country", "city", "state"):
            return f"{subject} is in {_place(v)}"
        return f"the {a.replace('_', ' ')} of {subject} is {v}"


_THE = frozenset({"netherlands", "philippines", "bahamas", "gambia", "maldives", "comoros", "seychelles",
                  "vatican city", "bronx"})


def _place(name: str) -> str:
    """A place name as it reads after "in": "the United States", "the Netherlands", "France"."""
    low = name.casefold()
    if low in _THE or low.startswith("united ") or " republic" in low or low.endswith(" islands"):
        return f"the {name}"
    return name


_NICE_STEPS = (1000, 500, 100, 50, 10, 5, 1, 0.5, 0.1, 0.05, 0.01, 0.001)


def _round_threshold(low: float, high: float) -> float:
    """The roundest number strictly between low and high (the most natural way to state a cut)."""
    for step in _NICE_STEPS:
        candidate = (low // step + 1) * step
        if low < candidate < high:
            return candidate
    return (low + high) / 2


def _predicates(records: dict[str, dict[str, str]], key_column: str) -> list[Predicate]:
    """Every predicate worth testing on these records: equality on categorical attributes, first
    letter of the key, and one threshold per direction on numeric attributes (chosen later)."""
    out: list[Predicate] = []
    if not records:
        return out
    attributes = [a for a in next(iter(records.values())) if a != key_column]
    n = len(records)
    for a in attributes:
        values = [r.get(a) for r in records.values() if r.get(a) is not None]
        numbers = [_as_float(v) for v in values]
        if values and all(x is not None for x in numbers) and len(set(values)) > 8:
            continue  # numeric: thresholds are fitted in _threshold_predicates
        counts = Counter(values)
        rank = 0 if len(counts) <= 12 else 1 if len(counts) < n else 2
        if a.startswith("country's"):
            rank += 1
        out += [Predicate(a, "eq", v, rank) for v in counts if ";" not in v]
    letters = Counter(normalize(k)[:1].upper() for k in records)
    out += [Predicate(key_column, "startswith", letter, 2) for letter in letters if letter]
    return out


def _threshold_predicates(records: dict[str, dict[str, str]], key_column: str,
                          undefined: set[str]) -> list[Predicate]:
    """For each numeric attribute, the cut (each direction) that best separates undefined members."""
    out = []
    if not records:
        return out
    for a in next(iter(records.values())):
        if a == key_column:
            continue
        pairs = [(k, _as_float(r.get(a, ""))) for k, r in records.items()]
        if any(x is None for _, x in pairs) or len({x for _, x in pairs}) <= 8:
            continue
        xs = sorted({x for _, x in pairs})
        for op in ("gt", "lt"):
            best = None
            for lo, hi in itertools.pairwise(xs):
                cut = lo if op == "gt" else hi
                inside = {k for k, x in pairs if (x > cut if op == "gt" else x < cut)}
                errors = len(inside ^ undefined)
                if best is None or errors < best[0]:
                    best = (errors, lo, hi)
            if best is not None:
                out.append(Predicate(a, op, f"{_round_threshold(best[1], best[2]):g}", 0))
    return out


@dataclass
class ExceptionFit:
    predicate: Predicate
    errors: int
    equivalents: list[Predicate]


def fit_exception(records: dict[str, dict[str, str]], key_column: str, undefined: set[str]) -> list[ExceptionFit]:
    """Predicates ranked by errors (undefined members it misses + defined members it includes), then
    by preference; predicates with the same extension as a better one are kept as its equivalents."""
    candidates = _predicates(records, key_column) + _threshold_predicates(records, key_column, undefined)
    scored = []
    for p in candidates:
        inside = frozenset(k for k, r in records.items() if p.holds(r))
        if not inside:
            continue
        scored.append((len(inside ^ undefined), p.rank, -len(inside), p, inside))
    scored.sort(key=lambda s: s[:3])
    fits: list[ExceptionFit] = []
    seen: dict[frozenset[str], ExceptionFit] = {}
    for errors, _, _, p, inside in scored:
        if inside in seen:
            seen[inside].equivalents.append(p)
            continue
        fit = ExceptionFit(p, errors, [])
        seen[inside] = fit
        fits.append(fit)
    return fits


# ----------------------------------------------------------------------------- the investigation

class RelationScientist:
    """One investigation of one black-box relation function."""

    def __init__(self, probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> None:
        self.probe = probe
        self.rng = random.Random(f"relations-scientist:{seed}")
        self.notes = notebook or Notebook()
        self.outputs: dict[str, Any] = {}  # every input asked -> its output
        self.calls = 0

    # -- experiments
    def ask(self, inputs: Sequence[str], purpose: str) -> list[Any]:
        new = [x for x in dict.fromkeys(inputs) if x not in self.outputs]
        if new:
            answers = list(self.probe(new))
            self.calls += 1
            if len(answers) != len(new):
                raise ValueError(f"probe answered {len(answers)} outputs for {len(new)} inputs")
            self.outputs.update(zip(new, answers))
            self.notes.record(purpose, new, answers)
        return [self.outputs[x] for x in inputs]

    def survey(self) -> list[str]:
        """A sample of every table's keys (one call): which kinds of entity get an answer?"""
        inputs: list[str] = []
        seen: set[str] = set()
        for name in TABLE_NAMES:
            keys = load_table(name).keys()
            for k in self.rng.sample(keys, min(SURVEY_PER_TABLE, len(keys))):
                if normalize(k) not in seen:
                    seen.add(normalize(k))
                    inputs.append(k)
        inputs += [c for c in CONTROLS if normalize(c) not in seen]
        self.ask(inputs, "survey: entities of every kind the tables know, and non-entities")
        return inputs

    # -- reading the relation
    def score_readings(self) -> list[tuple[int, int, Reading]]:
        """(explained, contradicted, reading) for every reading with any support, best first."""
        defined = {x: y for x, y in self.outputs.items() if not is_undefined(y)}
        scored = []
        for reading in _readings():
            table = load_table(reading.table)
            explained = contradicted = 0
            for x, y in defined.items():
                key = table.canonical(x)
                if key is None:
                    contradicted += 1
                elif reading.agrees(table.rows[key], y):
                    explained += 1
                else:
                    contradicted += 1
            if explained:
                scored.append((explained, contradicted, reading))
        order = {"value": 0, "alphabetical": 1, "first": 2, "any": 3}
        scored.sort(key=lambda s: (-(s[0] - s[1]), order[s[2].pick], TABLE_NAMES.index(s[2].table)))
        return scored

    def read_relation(self) -> Reading | None:
        scored = self.score_readings()
        if not scored:
            self.notes.propose("some table column explains the defined outputs", "refuted",
                               f"{sum(not is_undefined(y) for y in self.outputs.values())} defined outputs, "
                               "none equal to any table value for its input")
            return None
        best = scored[0]
        for explained, contradicted, reading in scored[:4]:
            status = "open" if reading == best[2] else "refuted"
            self.notes.propose(reading.statement(), status,
                               f"survey: explains {explained} defined outputs, contradicts {contradicted}")
        return best[2]

    # -- the whole plan
    def run(self) -> Findings:
        self.survey()
        reading = self.read_relation()
        if reading is None:
            return self._answer_unknown()
        table = load_table(reading.table)
        keys = table.keys()
        self.rng.shuffle(keys)
        half = len(keys) // 2
        fit_keys, check_keys = keys[:half], keys[half:]
        self.ask(fit_keys, f"fit: members of the domain ({TABLES[reading.table][1]}), first half")
        relation_h = next(h for h in self.notes.hypotheses if h.status == "open")
        wrong = self._contradictions(reading, fit_keys)
        if wrong:
            n_defined = sum(not is_undefined(self.outputs[k]) for k in fit_keys)
            self.notes.settle(relation_h, "open", f"{len(wrong)} of {n_defined} defined domain outputs "
                              f"differ from the table, e.g. {wrong[0]!r} -> {self.outputs[wrong[0]]!r}")
        exception, exception_h = self._fit_exception(table, fit_keys)
        self.ask(check_keys, f"confirm: the other half of the domain ({TABLES[reading.table][1]})")
        self._confirm(relation_h, reading, exception, exception_h, table, check_keys)
        # the answer rests on the whole domain: refit when the confirmation half disagreed
        final, _ = self._fit_exception(table, keys, record=False)
        if (final is None) != (exception is None) or (final is not None and final.predicate != exception.predicate):
            exception = final
            if final is not None:
                self.notes.propose(f"undefined when {final.predicate.phrase(TABLES[reading.table][2])}",
                                   "supported" if final.errors == 0 else "open",
                                   f"refit on the whole domain ({len(keys)} members): {final.errors} errors")
        outside = self._outside_domain(table)
        return self._answer(reading, table, exception, outside)

    def _contradictions(self, reading: Reading, keys: Sequence[str]) -> list[str]:
        table = load_table(reading.table)
        return [k for k in keys if not is_undefined(self.outputs[k])
                and not reading.agrees(table.rows[k], self.outputs[k])]

    def _fit_exception(self, table: Table, keys: Sequence[str], record: bool = True
                       ) -> tuple[ExceptionFit | None, Hypothesis | None]:
        """The best exception predicate for the domain members `keys` (None when every member answers),
        and, when `record`, the hypothesis it was recorded as (rivals that fit worse are recorded refuted)."""
        noun = TABLES[table.name][2]
        undefined = {k for k in keys if is_undefined(self.outputs[k])}
        if record:
            self.notes.propose(f"every {noun} of the domain gets an answer (no exception)",
                               "refuted" if undefined else "supported",
                               f"{len(undefined)} of {len(keys)} domain members answered undefined"
                               + (", e.g. " + ", ".join(sorted(undefined)[:3]) if undefined else ""))
        if not undefined:
            return None, None
        fits = fit_exception({k: _record(table, k) for k in keys}, table.key_column, undefined)
        if not fits:
            return None, None
        best = fits[0]
        if not record:
            return best, None
        for other in fits[1:4]:
            self.notes.propose(f"undefined when {other.predicate.phrase(noun)}", "refuted",
                               f"{other.errors} of {len(keys)} domain members disagree")
        evidence = f"fits {len(keys) - best.errors} of {len(keys)} domain members"
        if best.equivalents:
            evidence += "; indistinguishable here from: " + "; ".join(p.phrase(noun) for p in best.equivalents[:2])
        return best, self.notes.propose(f"undefined when {best.predicate.phrase(noun)}", "open", evidence)

    def _confirm(self, relation_h: Hypothesis, reading: Reading, exception: ExceptionFit | None,
                 exception_h: Hypothesis | None, table: Table, keys: Sequence[str]) -> None:
        """Predictions for the held-back half of the domain, checked against what it answered."""
        wrong_value = self._contradictions(reading, keys)
        n_defined = sum(not is_undefined(self.outputs[k]) for k in keys)
        if not wrong_value:
            status = "supported" if relation_h.status == "open" and n_defined else relation_h.status
            self.notes.settle(relation_h, status, f"confirmation half: all {n_defined} defined outputs as predicted")
        else:
            self.notes.settle(relation_h, "open", f"confirmation half: {len(wrong_value)} of {n_defined} defined "
                              "outputs differ from the prediction")
        predicted = {k: exception is not None and exception.predicate.holds(_record(table, k)) for k in keys}
        missed = [k for k in keys if predicted[k] != is_undefined(self.outputs[k])]
        if exception_h is not None:
            verdict = "supported" if not missed else "refuted" if len(missed) > len(keys) // 10 else "open"
            self.notes.settle(exception_h, verdict, f"confirmation half: {len(keys) - len(missed)} of {len(keys)} "
                              "members answered as predicted (undefined or not)")
        elif missed:
            self.notes.propose(f"every {TABLES[table.name][2]} of the domain gets an answer (no exception)",
                               "refuted", f"confirmation half: {len(missed)} members answered undefined")

    def _outside_domain(self, table: Table) -> list[str]:
        """Inputs outside the table that nevertheless got an answer (should be none)."""
        outside = [x for x, y in self.outputs.items() if table.canonical(x) is None and not is_undefined(y)]
        n_out = sum(table.canonical(x) is None for x in self.outputs)
        self.notes.propose(f"inputs that are not {TABLES[table.name][1]} answer undefined",
                           "supported" if not outside else "refuted",
                           f"{n_out - len(outside)} of {n_out} such inputs answered undefined"
                           + (f"; answered: {', '.join(outside[:3])}" if outside else ""))
        return outside

    # -- answers
    def _answer(self, reading: Reading, table: Table, exception: ExceptionFit | None,
                outside: list[str]) -> Findings:
        one, many, noun = TABLES[table.name]
        text = f"Maps {one} to {reading.phrase()}; returns undefined "
        if exception is not None:
            clause = exception.predicate.phrase(noun)
            if exception.equivalents:
                clause += f" (equivalently here, when {exception.equivalents[0].phrase(noun)})"
            if exception.errors:
                clause += f" (with {exception.errors} exceptions among the {len(table.rows)} {many} tried)"
            text += f"when {clause}, and "
        text += f"for inputs that are not {many}."
        if outside:
            text += f" A few other inputs also get answers (e.g. {', '.join(outside[:2])})."
        examples = [k for k in table.rows if k in self.outputs and not is_undefined(self.outputs[k])]
        if examples:
            picks = self.rng.sample(examples, min(EXAMPLES_IN_DESCRIPTION, len(examples)))
            text += " Examples: " + ", ".join(f"{k} -> {self.outputs[k]}" for k in picks) + "."
        label = f"{one} -> {reading.phrase()}"
        if exception is not None:
            label += f", except when {exception.predicate.phrase(noun)}"
        return Findings(text, None, None, label, self.notes.hypotheses, self.notes.experiments)

    def _answer_unknown(self) -> Findings:
        defined = {x: y for x, y in self.outputs.items() if not is_undefined(y)}
        if not defined:
            text = "Returns undefined for every input tried (entities of every kind and non-entities)."
        else:
            shown = ", ".join(f"{x} -> {y}" for x, y in list(defined.items())[:4])
            share = "every input tried" if len(defined) == len(self.outputs) else \
                f"{len(defined)} of {len(self.outputs)} inputs tried (undefined for the rest)"
            text = f"Answers {share} with values that no known fact about the input explains (e.g. {shown})."
        return Findings(text, None, None, "unidentified relation", self.notes.hypotheses, self.notes.experiments)


def investigate_relations(probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> Findings:
    """Investigate a black-box relation function through `probe` (a batch of strings -> outputs);
    `notebook` (optional) receives every experiment and hypothesis as it happens."""
    return RelationScientist(probe, seed, notebook).run()
