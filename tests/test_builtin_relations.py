"""The built-in relation scientist: black-box probing recovers relation and exception.

Each suite function is wrapped in a probe callable here, in the test; the scientist gets only that
callable. Accuracy is FIND's multiple-choice score with the offline judge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from agent.builtin.relations import (
    Predicate,
    _round_threshold,
    fit_exception,
    investigate_relations,
    is_undefined,
    same_value,
)
from evals.judge import OfflineJudge, multiple_choice_accuracy
from evals.offline_judge_relations import read_description
from find_functions.knowledge import load_table
from find_functions.relations import RelationFunction, generate_relations
from find_functions.spec import UNDEFINED, SuiteFunction


def _probe_for(fn: SuiteFunction) -> Callable[[Sequence[str]], list[str]]:
    meta = fn.ground_truth.metadata
    relation = RelationFunction(meta["relation"], meta["exception"])
    return lambda xs: [relation(x) for x in xs]


@pytest.fixture(scope="module")
def suite() -> list[SuiteFunction]:
    return generate_relations(3, 15)


@pytest.fixture(scope="module")
def findings(suite):
    return [investigate_relations(_probe_for(fn), seed=0) for fn in suite]


def test_multiple_choice_accuracy_on_a_sample(suite, findings):
    judge = OfflineJudge()
    scores = [multiple_choice_accuracy(judge, "neurons_relations", f.description, fn.unit_tests)
              for fn, f in zip(suite, findings)]
    assert sum(scores) / len(scores) >= 0.9, [(fn.id, f.description) for fn, f in zip(suite, findings)]


def test_exceptions_are_found_and_stated(suite, findings):
    """Every exception function's description predicts undefined for exactly its exception members."""
    for fn, f in zip(suite, findings):
        meta = fn.ground_truth.metadata
        if meta["exception"] is None:
            assert "returns undefined for inputs that are not" in f.description
            continue
        relation = RelationFunction(meta["relation"], meta["exception"])
        assert "returns undefined when" in f.description, f.description
        supported = [h for h in f.hypotheses if h.statement.startswith("undefined when") and h.status == "supported"]
        assert supported, [(h.statement, h.status) for h in f.hypotheses]
        assert any(h.status == "refuted" for h in f.hypotheses)
        # the stated exception, as a reader (the offline judge) understands it, has the right members
        reading = read_description(f.description)[0]
        assert reading.relation == meta["relation"] and reading.exception is not None
        for member in relation.domain_members():
            assert reading.exception.holds(relation.record(member)) == relation.in_exception(member), member


def test_records_experiments_and_few_calls(findings):
    for f in findings:
        assert 2 <= len(f.experiments) <= 4
        assert f.code is None and f.domain is None and f.label


def test_deterministic(suite):
    probe = _probe_for(suite[-1])
    assert investigate_relations(probe, seed=7).description == investigate_relations(probe, seed=7).description


def test_an_exception_no_suite_function_uses():
    """A threshold on a numeric column and an equality on a column that is not the output."""
    rivers = load_table("rivers")

    def short_rivers(xs):
        rows = [rivers.lookup(x) for x in xs]
        return [UNDEFINED if r is None or int(r["length_km"]) > 3000 else r["country"] for r in rows]

    f = investigate_relations(short_rivers)
    assert "main country it flows through" in f.description
    assert "length in km of the input river is above 3000" in f.description

    operas = load_table("operas")

    def not_verdi(xs):
        rows = [operas.lookup(x) for x in xs]
        return [UNDEFINED if r is None or r["composer"] == "Giuseppe Verdi" else r["language"] for r in rows]

    assert "composer of the input opera is Giuseppe Verdi" in investigate_relations(not_verdi).description


def test_no_relation_is_said_plainly():
    assert "undefined for every input" in investigate_relations(lambda xs: [UNDEFINED] * len(xs)).description
    f = investigate_relations(lambda xs: [str(len(x)) for x in xs])
    assert "no known fact" in f.description and "every input tried" in f.description
    assert any(h.status == "refuted" for h in f.hypotheses)


def test_probe_answering_the_wrong_number_of_outputs_is_an_error():
    with pytest.raises(ValueError, match="outputs for"):
        investigate_relations(lambda xs: ["Paris"])


def test_helpers():
    assert is_undefined(None) and is_undefined("Undefined") and is_undefined("") and not is_undefined("Paris")
    assert same_value("6650", "6650.0") and same_value("são paulo", "Sao Paulo") and not same_value("1.7", "1.8")
    assert _round_threshold(1899, 1901) == 1900 and _round_threshold(1.72, 1.78) == 1.75
    records = {"a": {"k": "a", "c": "x"}, "b": {"k": "b", "c": "y"}, "c": {"k": "c", "c": "x"}}
    best = fit_exception(records, "k", {"a", "c"})[0]
    assert best.predicate == Predicate("c", "eq", "x", 0) and best.errors == 0


def test_a_given_notebook_receives_every_event():
    from agent.builtin.findings import Notebook

    events: list[str] = []
    relation = RelationFunction("gemstone_colour", "the input gemstone is red")
    findings = investigate_relations(lambda xs: [relation(x) for x in xs],
                                     notebook=Notebook(lambda k, _: events.append(k)))
    assert events.count("experiment") == len(findings.experiments) == 3
    assert "hypothesis" in events and "gemstone is red" in findings.description
