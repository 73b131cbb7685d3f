"""Relation functions: knowledge tables, the 75-function suite, its unit tests, and the offline judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from evals.offline_judge_relations import choose_relation, read_description
from find_functions.knowledge import TABLE_NAMES, load_table, normalize
from find_functions.relations import FIND_COMPOSITION, RELATIONS, RelationFunction, generate_relations, get_exception
from find_functions.spec import UNDEFINED

REPO = Path(__file__).resolve().parent.parent

MIN_ROWS = {"countries": 190, "world_cities": 150, "us_cities": 120, "heads_of_state": 80, "monuments": 80,
            "operas": 60, "books": 100, "politicians": 80, "rivers": 60, "animals": 100, "gemstones": 40,
            "first_names": 150, "people": 100, "borders": 150, "skyscrapers": 40, "male_height": 80}


@pytest.fixture(scope="module")
def suite():
    return generate_relations(0)


# --- knowledge tables -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_sizes_and_no_empty_cells(name):
    table = load_table(name)
    assert len(table.rows) >= MIN_ROWS[name]
    for key, row in table.rows.items():
        assert set(row) == set(table.columns)
        assert all(value.strip() == value and value for value in row.values()), (name, key, row)


@pytest.mark.parametrize("relation, x, expected", [
    ("country_capital", "France", "Paris"), ("country_capital", "Japan", "Tokyo"),
    ("country_capital", "Australia", "Canberra"), ("country_continent", "Egypt", "Africa"),
    ("country_language", "Brazil", "Portuguese"), ("country_highest_point", "Nepal", "8.849"),
    ("country_tallest_building", "United Arab Emirates", "828"), ("country_neighbour", "Portugal", "Spain"),
    ("country_neighbour", "Germany", "Austria"), ("country_flag_colours", "Germany", "black, red and gold"),
    ("city_country", "Kyoto", "Japan"), ("city_time_zone", "New York City", "Eastern Time"),
    ("us_city_state", "Dallas", "Texas"), ("head_of_state_country", "Angela Merkel", "Germany"),
    ("monument_country", "Eiffel Tower", "France"), ("monument_continent", "Machu Picchu", "South America"),
    ("opera_composer", "Aida", "Giuseppe Verdi"), ("opera_language", "The Magic Flute", "German"),
    ("book_author", "Pride and Prejudice", "Jane Austen"), ("politician_party", "Marco Rubio", "Republican Party"),
    ("river_continent", "Nile", "Africa"), ("river_length", "Nile", "6650"), ("animal_food", "giant panda", "bamboo"),
    ("animal_habitat", "camel", "deserts"), ("gemstone_colour", "ruby", "red"), ("name_gender", "Emma", "female"),
    ("person_occupation", "Albert Einstein", "physicist"),
])
def test_known_facts(relation, x, expected):
    assert RelationFunction(relation)(x) == expected


def test_lookup_is_forgiving_but_exact():
    capital = RelationFunction("country_capital")
    assert capital("  france ") == "Paris"
    assert capital("USA") == capital("United States") == capital("the united states") == "Washington, D.C."
    assert capital("The Netherlands") == "Amsterdam"
    assert capital("cote d'ivoire") == "Yamoussoukro"
    assert RelationFunction("gemstone_colour")("fire_opal") == "orange"
    assert RelationFunction("head_of_state_country")("Lopez Obrador") == "Mexico"
    assert capital("Fran") == UNDEFINED  # no fuzzy matching
    assert normalize("São  Tomé-and_Príncipe") == "sao tome and principe"


def test_cross_table_consistency():
    countries = load_table("countries").rows
    borders = load_table("borders").rows
    for country, row in borders.items():
        assert country in countries
        for neighbour in row["neighbours"].split(";"):
            assert country in borders[neighbour]["neighbours"].split(";"), (country, neighbour)
    for name in ("skyscrapers", "male_height"):
        assert set(load_table(name).rows) <= set(countries)
    for name in ("world_cities", "monuments"):
        for key, row in load_table(name).rows.items():
            assert countries[row["country"]]["continent"] == row["continent"], (name, key)
    for key, row in load_table("heads_of_state").rows.items():
        assert row["country"] in countries, key
    assert {r["continent"] for r in countries.values()} == {
        "Africa", "Asia", "Europe", "North America", "South America", "Oceania"}
    assert all(int(r["year"]) != 1900 for r in load_table("books").rows.values())  # exceptions split at 1900


# --- relation functions -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(RELATIONS))
def test_every_member_has_a_string_answer(name):
    fn = RelationFunction(name)
    for member in fn.domain_members():
        answer = fn(member)
        assert isinstance(answer, str) and answer and answer != UNDEFINED, (name, member)


def test_out_of_domain_inputs_are_undefined():
    assert RelationFunction("country_capital")("Adam") == UNDEFINED
    assert RelationFunction("opera_composer")("Paris") == UNDEFINED
    assert RelationFunction("name_gender")("Albert Einstein") == UNDEFINED
    assert RelationFunction("river_length")("") == UNDEFINED
    assert RelationFunction("country_neighbour")("Japan") == UNDEFINED  # an island state: no land border
    assert RelationFunction("country_capital")(42) == UNDEFINED  # type: ignore[arg-type]


def test_exception_behaviour():
    fn = RelationFunction("country_capital", "the input country is in Asia")
    assert fn("France") == "Paris" and fn("Japan") == UNDEFINED and fn("Adam") == UNDEFINED
    names = RelationFunction("name_gender", "the input begins with T")
    assert names("Thomas") == UNDEFINED and names("Sarah") == "female"
    books = RelationFunction("book_author", "the input book was written after 1900")
    assert books("Brave New World") == UNDEFINED and books("Moby-Dick") == "Herman Melville"
    height = RelationFunction("country_male_height", "the input country is in Europe")
    assert height("Netherlands") == UNDEFINED and height("Japan") == "1.71"


def test_every_exception_splits_its_domain():
    for relation, exception in FIND_COMPOSITION:
        if exception is None:
            continue
        fn = RelationFunction(relation, exception.clause)
        inside = [m for m in fn.domain_members() if fn.in_exception(m)]
        outside = [m for m in fn.domain_members() if not fn.in_exception(m)]
        assert len(inside) >= 4 and len(outside) >= 20, (relation, exception.clause, len(inside), len(outside))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown relation"):
        RelationFunction("capital_of_mars")
    with pytest.raises(ValueError, match="unknown exception"):
        get_exception("the input is purple")
    with pytest.raises(ValueError, match="does not know"):
        RelationFunction("country_capital", "the input begins with T")
    with pytest.raises(ValueError, match="between 1 and 75"):
        generate_relations(0, 76)


# --- the suite --------------------------------------------------------------------------------------

def test_find_composition(suite):
    assert len(suite) == 75
    assert Counter(f.variant for f in suite) == {"base": 25, "exception": 50}
    assert Counter(f.ground_truth.metadata["relation"] for f in suite) == {name: 3 for name in RELATIONS}
    assert [f.id for f in suite] == [f"f{i:05d}" for i in range(75)]
    assert all(f.category == "neurons_relations" for f in suite)


def test_composition_matches_find_metadata(find_dir):
    records = json.loads((find_dir / "neurons_relations" / "data.json").read_text())
    assert len(records) == len(FIND_COMPOSITION)
    for record, (relation, exception) in zip(records, FIND_COMPOSITION):
        assert RELATIONS[relation].domain == record["concept1"]
        assert RELATIONS[relation].mapping == record["concept2"]
        assert (exception.clause if exception else None) == (record["exeption"] or "").strip() or (
            exception is None and record["exeption"] is None)


def test_smaller_suites_keep_the_ratio():
    small = generate_relations(3, 6)
    assert Counter(f.variant for f in small) == {"base": 2, "exception": 4}


def test_generation_is_deterministic(suite):
    again = generate_relations(0)
    assert [f.model_dump() for f in again] == [f.model_dump() for f in suite]
    other = generate_relations(1)
    assert [f.unit_tests for f in other] != [f.unit_tests for f in suite]


def test_unit_tests_are_valid(suite):
    for f in suite:
        meta = f.ground_truth.metadata
        fn = RelationFunction(meta["relation"], meta["exception"])
        assert len(f.unit_tests) == 10
        undefined_items = 0
        for item in f.unit_tests:
            correct = [i for i, (x, y) in enumerate(zip(item.inputs, item.outputs)) if fn(x) == y]
            assert correct == [item.correct], (f.id, item)
            undefined_items += item.outputs[item.correct] == UNDEFINED
        assert undefined_items == (2 if meta["exception"] else 0), f.id
        assert Counter(item.correct for item in f.unit_tests).most_common(1)[0][1] < 10


def test_held_out_inputs(suite):
    for f in suite:
        meta = f.ground_truth.metadata
        fn = RelationFunction(meta["relation"], meta["exception"])
        held = f.held_out_inputs
        assert len(held) == 30 and len({normalize(x) for x in held}) == 30
        unit_inputs = {normalize(x) for item in f.unit_tests for x in item.inputs}
        assert not unit_inputs & {normalize(x) for x in held}, f.id
        kinds = Counter("outside" if not fn.in_domain(x) else "exception" if fn.in_exception(x) else "defined"
                        for x in held)
        assert kinds["outside"] >= 8 and kinds["defined"] >= 10, (f.id, kinds)
        assert (kinds["exception"] >= 2) == bool(meta["exception"]), (f.id, kinds)


def test_descriptions_and_labels(suite):
    capital_asia = suite[25]
    assert capital_asia.ground_truth.description == (
        "maps a country to its capital; returns undefined when the input country is in Asia, "
        "and for inputs that are not countries")
    assert capital_asia.ground_truth.metadata == {
        "relation": "country_capital", "exception": "the input country is in Asia",
        "domain": "a country", "mapping": "the capital of that country"}
    assert all(f.ground_truth.label for f in suite)


def _run_script(function, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"{function.id}.py"
    path.write_text(function.script)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=True)
    return done.stdout


def test_scripts_run_as_find_scripts(suite, tmp_path):
    out = _run_script(suite[25], tmp_path, "France", "Japan", "Adam")
    assert out == "Function input - output pairs: (France, Paris) (Japan, undefined) (Adam, undefined) \n"
    out = _run_script(suite[8], tmp_path, "Thomas", "Emma")
    assert out == "Function input - output pairs: (Thomas, male) (Emma, female) \n"


# --- offline judge ----------------------------------------------------------------------------------

def _judge_accuracy(suite, describe) -> float:
    items = [(describe(f), item) for f in suite for item in f.unit_tests]
    return sum(choose_relation(d, item.inputs, item.outputs) == item.correct for d, item in items) / len(items)


def test_judge_ceiling_with_ground_truth_descriptions(suite):
    assert _judge_accuracy(suite, lambda f: f.ground_truth.description) >= 0.95


def test_judge_floor_with_empty_descriptions(suite):
    assert 0.22 <= _judge_accuracy(suite, lambda f: "") <= 0.45


def test_judge_wrong_mapping_scores_near_chance(suite):
    """A description with the right domain but the wrong mapping must not score: each function is
    described as its relation's domain-mate (capital -> continent, composer -> language...)."""
    mates = {"country_capital": "country_continent", "country_continent": "country_capital",
             "opera_composer": "opera_language", "opera_language": "opera_composer",
             "animal_food": "animal_habitat", "animal_habitat": "animal_food",
             "monument_country": "monument_continent", "monument_continent": "monument_country",
             "river_length": "river_continent", "river_continent": "river_length"}
    by_relation = {f.ground_truth.metadata["relation"]: f.ground_truth.description for f in suite[:25]}
    chosen = [f for f in suite if f.ground_truth.metadata["relation"] in mates]
    wrong = _judge_accuracy(chosen, lambda f: by_relation[mates[f.ground_truth.metadata["relation"]]])
    assert wrong <= 0.45


def test_judge_without_the_exception_still_finds_undefined_pairs(suite):
    """FIND's distractors have inputs outside the domain, so an in-domain input paired with
    `undefined` is the best answer even when the description omits the exception."""
    exception_functions = [f for f in suite if f.variant == "exception"]
    assert _judge_accuracy(exception_functions, lambda f: f.ground_truth.description.split(";")[0]) >= 0.9


@pytest.mark.parametrize("text, relation, exception", [
    ("Returns the capital city of the input country. For Asian countries it outputs undefined.",
     "country_capital", ("continent", "Asia")),
    ("Given a city name, outputs its time zone, except for North American cities (undefined).",
     "city_time_zone", ("continent", "North America")),
    ("Outputs the country a landmark is located in, unless the landmark is in NYC.",
     "monument_country", ("city", "New York City")),
    ("Predicts the gender of a first name; names starting with S return undefined.", "name_gender", ("name", "S")),
    ("Returns the author of a novel, but undefined for novels published before 1900.", "book_author", ("year", "1900")),
    ("Maps an animal to what it eats; herbivores return undefined.", "animal_food", ("diet", "herbivore")),
    ("Returns the typical habitat of an animal; marine animals give undefined.", "animal_habitat", ("realm", "ocean")),
    ("Maps a U.S. city to its state; Texas cities return undefined.", "us_city_state", ("state", "Texas")),
    ("returns the country a head of state led; undefined for men", "head_of_state_country", ("gender", "male")),
    ("Returns the average height of men in a country, in meters.", "country_male_height", None),
])
def test_judge_reads_paraphrases(text, relation, exception):
    reading = read_description(text)[0]
    assert reading.relation == relation
    got = None if reading.exception is None else (reading.exception.attribute, reading.exception.value)
    assert got == exception


def test_judge_reads_find_phrasing(find_dir):
    records = json.loads((find_dir / "neurons_relations" / "data.json").read_text())
    for record, (relation, exception) in zip(records, FIND_COMPOSITION):
        text = f"Given {record['concept1']}, returns {record['concept2']}"
        if record["exeption"]:
            text += f", except that it returns undefined when {record['exeption'].strip()}"
        reading = read_description(text)[0]
        assert reading.relation == relation, text
        assert (reading.exception is None) == (exception is None), text
        if exception is not None:
            assert reading.exception.value == exception.value, text


def test_judge_rejects_malformed_items():
    with pytest.raises(ValueError, match="3 inputs and 3 outputs"):
        choose_relation("maps a country to its capital", ["France"], ["Paris"])
