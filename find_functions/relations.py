"""FIND-style relation functions ("synthetic neural modules, relations"): entity -> related fact.

FIND's 75 relation functions map an entity of one domain (a country, an opera, an animal...) to a
related fact (its capital, its composer, its habitat...) and answer `undefined` outside the domain;
50 of them also answer `undefined` on a sub-domain (the *exception*, e.g. "the input country is in
Asia"). Here each relation is an exact lookup in the knowledge tables of `find_functions.knowledge`,
so a function's behaviour is fully determined by (relation, exception) and can be re-executed by a
scorer or by the offline judge.

`generate_relations(seed, n)` builds the suite: FIND's composition (each of the 25 relations once
without an exception and twice with one, with FIND's own exception clauses), each function with a
runnable script, a ground-truth description, held-out inputs and 10 three-way unit tests built the
way FIND builds them (one correct execution, two distractor pairs taken from other relations).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Literal

from .knowledge import Table, load_table, normalize
from .script import render_script
from .spec import UNDEFINED, GroundTruth, MultipleChoiceItem, SuiteFunction, function_id

Op = Literal["eq", "gt", "lt", "startswith"]


@dataclass(frozen=True)
class Relation:
    """One of FIND's 25 base relations, bound to the knowledge table that answers it.

    `domain` and `mapping` are FIND's wording (concept1 / concept2). `noun` and `plural` name an input
    in descriptions ("a country", "countries"), `target` names the answer ("its capital"). `output` computes the
    answer from a record (the table row, joined with the countries table for country-keyed tables).
    """

    name: str
    domain: str
    mapping: str
    table: str
    noun: str
    plural: str
    target: str
    output: Callable[[dict[str, str]], str]
    domain_note: str = ""  # restriction of the domain beyond "is a <noun>", said in descriptions


@dataclass(frozen=True)
class ExceptionClause:
    """A sub-domain on which the function answers `undefined` (FIND's `exeption` clause)."""

    clause: str  # FIND's wording, e.g. "the input country is in Asia"
    attribute: str  # record attribute tested
    op: Op
    value: str

    def holds(self, record: dict[str, str]) -> bool:
        """Whether `record` falls inside the exception."""
        actual = record[self.attribute]
        if self.op == "eq":
            return actual == self.value
        if self.op == "gt":
            return int(actual) > int(self.value)
        if self.op == "lt":
            return int(actual) < int(self.value)
        return normalize(actual).startswith(normalize(self.value))


def _column(name: str) -> Callable[[dict[str, str]], str]:
    return lambda record: record[name]


def _first_neighbour(record: dict[str, str]) -> str:
    return sorted(record["neighbours"].split(";"))[0]


RELATIONS: dict[str, Relation] = {r.name: r for r in (
    Relation("country_capital", "a country", "the capital of that country", "countries",
             "a country", "countries", "its capital", _column("capital")),
    Relation("city_country", "a city", "the country where that city is located", "world_cities",
             "a city", "cities", "the country it is in", _column("country")),
    Relation("head_of_state_country", "a head of state", "the country where that person was head of state",
             "heads_of_state", "a head of state", "heads of state", "the country they led", _column("country")),
    Relation("monument_country", "a monument", "the country where that monument is located", "monuments",
             "a monument", "monuments", "the country it is in", _column("country")),
    Relation("monument_continent", "a monument", "the continent where that monument is located", "monuments",
             "a monument", "monuments", "the continent it is on", _column("continent")),
    Relation("us_city_state", "a city in the United States", "the state in which that city is located",
             "us_cities", "a US city", "US cities", "the state it is in", _column("state")),
    Relation("country_language", "a country", "the official language of that country", "countries",
             "a country", "countries", "its official language (the main one where there are several)",
             _column("language")),
    Relation("person_occupation", "a well-known person", "the occupation of that person", "people",
             "a well-known person", "well-known people", "their occupation", _column("occupation")),
    Relation("name_gender", "the name of a person", "the most likely gender of that person", "first_names",
             "a first name", "first names", "the most likely gender of a person with that name (male or female)",
             _column("gender")),
    Relation("country_continent", "a country", "the continent where that country is located", "countries",
             "a country", "countries", "the continent it is on", _column("continent")),
    Relation("opera_composer", "an opera", "the composer of that opera", "operas",
             "an opera", "operas", "its composer", _column("composer")),
    Relation("book_author", "the title of a book", "the author of that book", "books",
             "a book title", "book titles", "its author", _column("author")),
    Relation("country_neighbour", "a country", "another country on its border", "borders",
             "a country", "countries",
             "a country sharing a land border with it (the alphabetically first such neighbour)",
             _first_neighbour, domain_note="with at least one land border"),
    Relation("politician_party", "a politician", "the political party of which this politician is a member",
             "politicians", "a politician", "politicians", "the political party they belong to", _column("party")),
    Relation("river_continent", "a river", "the continent where that river is located", "rivers",
             "a river", "rivers", "the continent it flows through (where most of it lies)", _column("continent")),
    Relation("city_time_zone", "a city", "the time zone of that city", "world_cities",
             "a city", "cities", "its standard time zone", _column("time_zone")),
    Relation("opera_language", "an opera", "the language of that opera", "operas",
             "an opera", "operas", "the language of its libretto", _column("language")),
    Relation("animal_food", "an animal", "the main food source of that animal", "animals",
             "an animal", "animals", "its main food source", _column("food")),
    Relation("animal_habitat", "an animal", "the typical habitat of that animal", "animals",
             "an animal", "animals", "its typical habitat", _column("habitat")),
    Relation("gemstone_colour", "a gemstone", "the color of that gemstone", "gemstones",
             "a gemstone", "gemstones", "its colour", _column("colour")),
    Relation("country_flag_colours", "a country", "the color of that country's flag", "countries",
             "a country", "countries", "the colours of its flag", _column("flag_colours")),
    Relation("river_length", "a river", "the length of that river, in kilometers", "rivers",
             "a river", "rivers", "its length in kilometres", _column("length_km")),
    Relation("country_highest_point", "a country",
             "the height of the maximum elevation in that country, in kilometers", "countries",
             "a country", "countries", "the elevation of its highest point in kilometres", _column("highest_point_km")),
    Relation("country_tallest_building", "a country",
             "the height of the tallest skyscraper in that country, in meters", "skyscrapers",
             "a country", "countries", "the height in metres of its tallest skyscraper", _column("height_m"),
             domain_note="with a notable skyscraper"),
    Relation("country_male_height", "a country", "the height of the average male in that country, in meters",
             "male_height", "a country", "countries", "the average height of its adult men in metres",
             _column("height_m"),
             domain_note="with a tabulated average male height"),
)}


def _exc(clause: str, attribute: str, value: str, op: Op = "eq") -> ExceptionClause:
    return ExceptionClause(clause, attribute, op, value)


#: FIND's 75 functions in FIND's order: (relation, exception clause or None). Exception clauses keep
#: FIND's wording; their predicates are the knowledge-table attributes they test.
FIND_COMPOSITION: tuple[tuple[str, ExceptionClause | None], ...] = tuple(
    [(name, None) for name in RELATIONS] + [
        ("country_capital", _exc("the input country is in Asia", "continent", "Asia")),
        ("city_country", _exc("the input city is in Mexico", "country", "Mexico")),
        ("head_of_state_country", _exc("the input is a man", "gender", "male")),
        ("monument_country", _exc("the input monument is in New York City", "city", "New York City")),
        ("monument_continent", _exc("the input monument is in South America", "continent", "South America")),
        ("us_city_state", _exc("the input city is in California", "state", "California")),
        ("country_language", _exc("the input country is in North America", "continent", "North America")),
        ("person_occupation", _exc("the input person is a woman", "gender", "female")),
        ("name_gender", _exc("the input begins with T", "name", "T", "startswith")),
        ("country_continent", _exc("the input country is in Asia", "continent", "Asia")),
        ("opera_composer", _exc("the input opera is in Italian", "language", "Italian")),
        ("book_author", _exc("the input book was written after 1900", "year", "1900", "gt")),
        ("country_neighbour", _exc("the input country is in Africa", "continent", "Africa")),
        ("politician_party", _exc("the input politician is a man", "gender", "male")),
        ("river_continent", _exc("the input is in Africa", "continent", "Africa")),
        ("city_time_zone", _exc("the input city is in North America", "continent", "North America")),
        ("opera_language", _exc("the input opera is in English", "language", "English")),
        ("animal_food", _exc("the input animal is a carnivore", "diet", "carnivore")),
        ("animal_habitat", _exc("the input animal lives on land", "realm", "land")),
        ("gemstone_colour", _exc("the input gemstone is red", "colour", "red")),
        ("country_flag_colours", _exc("the input country is in North America", "continent", "North America")),
        ("river_length", _exc("the input river is in North America", "continent", "North America")),
        ("country_highest_point", _exc("the input country is in South America", "continent", "South America")),
        ("country_tallest_building", _exc("the input country is in North America", "continent", "North America")),
        ("country_male_height", _exc("the input country is in Europe", "continent", "Europe")),
        ("country_capital", _exc("the input country is in South America", "continent", "South America")),
        ("city_country", _exc("the input city is in the United States", "country", "United States")),
        ("head_of_state_country", _exc("the input is a woman", "gender", "female")),
        ("monument_country", _exc("the input monument is in France", "country", "France")),
        ("monument_continent", _exc("the input monument is in Australia", "country", "Australia")),
        ("us_city_state", _exc("the input city is in Texas", "state", "Texas")),
        ("country_language", _exc("the input country is in South America", "continent", "South America")),
        ("person_occupation", _exc("the input person is a man", "gender", "male")),
        ("name_gender", _exc("the input begins with S", "name", "S", "startswith")),
        ("country_continent", _exc("the input country is in Europe", "continent", "Europe")),
        ("opera_composer", _exc("the input opera is in German", "language", "German")),
        ("book_author", _exc("the input book was written before 1900", "year", "1900", "lt")),
        ("country_neighbour", _exc("the input country is in North America", "continent", "North America")),
        ("politician_party", _exc("the input politician is a woman", "gender", "female")),
        ("river_continent", _exc("the input is in Europe", "continent", "Europe")),
        ("city_time_zone", _exc("the input city is in Asia", "continent", "Asia")),
        ("opera_language", _exc("the input opera is in Italian", "language", "Italian")),
        ("animal_food", _exc("the input animal is a herbivore", "diet", "herbivore")),
        ("animal_habitat", _exc("the input animal lives in the ocean", "realm", "ocean")),
        ("gemstone_colour", _exc("the input gemstone is blue", "colour", "blue")),
        ("country_flag_colours", _exc("the input country is in Asia", "continent", "Asia")),
        ("river_length", _exc("the input river is in Europe", "continent", "Europe")),
        ("country_highest_point", _exc("the input country is in Africa", "continent", "Africa")),
        ("country_tallest_building", _exc("the input country is in Asia", "continent", "Asia")),
        ("country_male_height", _exc("the input country is in South America", "continent", "South America")),
    ])

#: Every exception clause FIND uses, by normalized clause (one predicate per wording).
EXCEPTIONS: dict[str, ExceptionClause] = {normalize(e.clause): e for _, e in FIND_COMPOSITION if e is not None}

#: Country-keyed tables that carry no continent of their own: joined with the countries table.
_JOINED_WITH_COUNTRIES = {"borders", "skyscrapers", "male_height"}


def get_relation(relation: str) -> Relation:
    """A relation by its short name ("country_capital") or by FIND's mapping phrase."""
    if relation in RELATIONS:
        return RELATIONS[relation]
    wanted = normalize(relation)
    for rel in RELATIONS.values():
        if normalize(rel.mapping) == wanted or normalize(rel.name) == wanted:
            return rel
    raise ValueError(f"unknown relation {relation!r}; known: {', '.join(RELATIONS)}")


def get_exception(clause: str) -> ExceptionClause:
    """A FIND exception clause ("the input country is in Asia") as a predicate."""
    try:
        return EXCEPTIONS[normalize(clause)]
    except KeyError:
        raise ValueError(f"unknown exception clause {clause!r}; known: "
                         + "; ".join(e.clause for e in EXCEPTIONS.values())) from None


class RelationFunction:
    """input -> related fact as a string; `undefined` outside the domain or inside the exception.

    `RelationFunction("country_capital", "the input country is in Asia")("France") == "Paris"`,
    `...("Japan") == "undefined"`, `...("Adam") == "undefined"`.
    """

    def __init__(self, relation: str, exception: str | None = None) -> None:
        self.relation = get_relation(relation)
        self.exception = None if exception is None else get_exception(exception)
        self._table: Table = load_table(self.relation.table)
        if self.exception is not None:
            probe = self.record(self._table.keys()[0])
            if probe is None or self.exception.attribute not in probe:
                raise ValueError(f"exception {self.exception.clause!r} tests {self.exception.attribute!r}, "
                                 f"which relation {self.relation.name!r} does not know")

    def record(self, x: str) -> dict[str, str] | None:
        """Everything known about input `x` in this relation's domain (None outside it).

        Country-keyed tables are joined with the countries table so that exceptions on the continent
        apply to every country relation.
        """
        row = self._table.lookup(x)
        if row is None:
            return None
        if self.relation.table in _JOINED_WITH_COUNTRIES:
            return {**load_table("countries").rows[row["country"]], **row}
        return row

    def in_domain(self, x: str) -> bool:
        """Whether `x` is a member of the relation's domain (exception members included)."""
        return isinstance(x, str) and self._table.canonical(x) is not None

    def in_exception(self, x: str) -> bool:
        """Whether `x` is a domain member on which the exception makes the answer `undefined`."""
        record = self.record(x) if isinstance(x, str) else None
        return record is not None and self.exception is not None and self.exception.holds(record)

    def __call__(self, x: str) -> str:
        if not isinstance(x, str):
            return UNDEFINED
        record = self.record(x)
        if record is None or (self.exception is not None and self.exception.holds(record)):
            return UNDEFINED
        return self.relation.output(record)

    def domain_members(self) -> list[str]:
        """Canonical names of every domain member, in table order."""
        return self._table.keys()


def describe(relation: Relation, exception: ExceptionClause | None) -> str:
    """The ground-truth description of a (relation, exception) function."""
    members = relation.plural + (f" {relation.domain_note}" if relation.domain_note else "")
    text = f"maps {relation.noun} to {relation.target}; returns undefined "
    if exception is not None:
        text += f"when {exception.clause}, and "
    return text + f"for inputs that are not {members}"


def _label(relation: Relation, exception: ExceptionClause | None) -> str:
    base = f"{relation.domain} -> {relation.mapping}"
    return base if exception is None else f"{base}; undefined when {exception.clause}"


_BODY = '''from find_functions.relations import RelationFunction

_relation = RelationFunction({relation!r}, {exception!r})


def function(x):
    return _relation(str(x))
'''

N_UNIT_TESTS = 10
N_HELD_OUT = 30
N_UNDEFINED_ITEMS = 2  # unit-test items whose correct pair is an exception member -> undefined (as in FIND)


def _pools(fn: RelationFunction) -> tuple[list[str], list[str]]:
    """Domain members outside and inside the exception."""
    members = fn.domain_members()
    inside = [m for m in members if fn.in_exception(m)]
    return [m for m in members if not fn.in_exception(m)], inside


def _distractor(fn: RelationFunction, rng: random.Random, avoid: set[str]) -> tuple[str, str]:
    """An (input, output) pair that is a correct execution of another relation on an input outside
    `fn`'s domain, so that it is a wrong execution of `fn` (FIND's construction)."""
    others = [r for r in RELATIONS.values() if r.table != fn.relation.table]
    for _ in range(1000):
        other = RelationFunction(rng.choice(others).name)
        x = rng.choice(other.domain_members())
        if fn.in_domain(x) or normalize(x) in avoid:
            continue
        return x, other(x)
    raise RuntimeError(f"no distractor found for {fn.relation.name}")


def _unit_tests(fn: RelationFunction, rng: random.Random, defined: list[str],
                undefined: list[str]) -> tuple[list[MultipleChoiceItem], set[str]]:
    correct_inputs = rng.sample(undefined, min(N_UNDEFINED_ITEMS, len(undefined))) if fn.exception else []
    correct_inputs += rng.sample(defined, N_UNIT_TESTS - len(correct_inputs))
    used = {normalize(x) for x in correct_inputs}
    items = []
    for x in correct_inputs:
        pairs = [(x, fn(x))]
        for _ in range(2):
            pair = _distractor(fn, rng, used)
            used.add(normalize(pair[0]))
            pairs.append(pair)
        order = rng.sample(range(3), 3)
        shuffled = [pairs[i] for i in order]
        item = MultipleChoiceItem(inputs=[p[0] for p in shuffled], outputs=[p[1] for p in shuffled],
                                  correct=order.index(0))
        n_correct = sum(fn(i) == o for i, o in zip(item.inputs, item.outputs))
        if n_correct != 1:
            raise AssertionError(f"unit test {item} of {fn.relation.name} has {n_correct} correct pairs")
        items.append(item)
    return items, used


def _held_out(fn: RelationFunction, rng: random.Random, defined: list[str], undefined: list[str],
              used: set[str]) -> list[str]:
    """30 inputs: domain members outside and inside the exception, and inputs outside the domain."""
    defined = [x for x in defined if normalize(x) not in used]
    undefined = [x for x in undefined if normalize(x) not in used]
    n_exception = min(len(undefined), 8) if fn.exception else 0
    n_outside = 8
    n_defined = min(len(defined), N_HELD_OUT - n_exception - n_outside)
    chosen = rng.sample(undefined, n_exception) + rng.sample(defined, n_defined)
    taken = used | {normalize(x) for x in chosen}
    while len(chosen) < N_HELD_OUT:
        x, _ = _distractor(fn, rng, taken)
        taken.add(normalize(x))
        chosen.append(x)
    rng.shuffle(chosen)
    return chosen


def build_relation_function(index: int, relation: str, exception: str | None, seed: int) -> SuiteFunction:
    """One suite function: script, ground truth, unit tests and held-out inputs."""
    fn = RelationFunction(relation, exception)
    rng = random.Random(f"relations:{seed}:{index}:{fn.relation.name}:{exception}")
    defined, undefined = _pools(fn)
    if fn.exception is not None and len(undefined) < N_UNDEFINED_ITEMS + 1:
        raise ValueError(f"exception {exception!r} of {relation!r} has too few members in the tables")
    unit_tests, used = _unit_tests(fn, rng, defined, undefined)
    body = _BODY.format(relation=fn.relation.name, exception=None if fn.exception is None else fn.exception.clause)
    return SuiteFunction(
        id=function_id(index),
        category="neurons_relations",
        variant="base" if fn.exception is None else "exception",
        script=render_script(body, "str", docstring="A FIND-style relation function (entity -> related fact)."),
        ground_truth=GroundTruth(
            description=describe(fn.relation, fn.exception),
            label=_label(fn.relation, fn.exception),
            metadata={"relation": fn.relation.name,
                      "exception": None if fn.exception is None else fn.exception.clause,
                      "domain": fn.relation.domain, "mapping": fn.relation.mapping},
        ),
        unit_tests=unit_tests,
        held_out_inputs=_held_out(fn, rng, defined, undefined, used),
    )


def generate_relations(seed: int, n: int = 75) -> list[SuiteFunction]:
    """FIND's relation suite. n=75 gives FIND's exact composition in FIND's order (25 base relations,
    then the 50 with an exception); a smaller n keeps the 1:2 base:exception ratio, sampled by seed."""
    total = len(FIND_COMPOSITION)
    if not 1 <= n <= total:
        raise ValueError(f"n must be between 1 and {total} (the distinct relation functions), got {n}")
    picks = list(range(total))
    if n < total:
        rng = random.Random(f"relations-pick:{seed}")
        n_base = round(n / 3)
        picks = sorted(rng.sample(range(25), n_base) + rng.sample(range(25, total), n - n_base))
    functions = []
    for index, pick in enumerate(picks):
        relation, exception = FIND_COMPOSITION[pick]
        functions.append(build_relation_function(index, relation, None if exception is None else exception.clause,
                                                 seed))
    return functions
