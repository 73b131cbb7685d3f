"""Entity ("synthetic neuron") functions, their suite and their offline judge."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evals import offline_judge_entities as judge
from find_functions import concepts as C
from find_functions.entities import (
    MARGIN,
    MEMBER_MIN,
    N_HELD_OUT,
    N_UNIT_TESTS,
    NON_MEMBER_MAX,
    EntityFunction,
    generate_entities,
    plan_concepts,
    split_counts,
)

REPO = Path(__file__).resolve().parents[1]
FIND_DIR = REPO.parent / "shared" / "find" / "neurons_entities"
SMALL_N = 10


@pytest.fixture(scope="module")
def suite():
    """A small suite (loads WordNet and MiniLM once for the whole module)."""
    return generate_entities(seed=0, n=SMALL_N)


@pytest.fixture(scope="module")
def racket():
    return EntityFunction(["racket sports"])


def test_inventory_has_200_valid_concepts():
    assert len(C.CONCEPTS) == 200
    wn = C.wordnet()
    for concept in C.CONCEPTS.values():
        assert concept.anchors and concept.examples and concept.gloss, concept.name
        for anchor in concept.anchors:
            wn.synset(anchor)  # raises on a bad synset name
        assert set(concept.examples) <= set(C.vocabulary(concept.name))


def test_inventory_covers_find_concept_names():
    if not FIND_DIR.is_dir():
        pytest.skip(f"FIND metadata not found at {FIND_DIR}")
    data = json.loads((FIND_DIR / "data.json").read_text())
    names = {r["concept1"] for r in data} | {r["concept2"] for r in data if r["concept2"]}
    assert names <= set(C.CONCEPT_NAMES)


def test_values_in_unit_interval_for_any_string(racket):
    odd = ["tennis", "", "   ", "123", "3.5e9", "日本語", "🙂", "a" * 2000, "New  York", "-", "ping-pong"]
    values = racket.batch(odd)
    assert len(values) == len(odd)
    assert all(0.0 <= v <= 1.0 for v in values)
    with pytest.raises(TypeError):
        racket(3)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown concept"):
        EntityFunction(["not a concept"])
    with pytest.raises(ValueError):
        EntityFunction(["tennis", "tennis"])


def test_values_are_graded(racket):
    member, related, unrelated = racket.batch(["badminton", "golf", "banana"])
    assert member >= 0.8 and unrelated <= 0.1
    assert unrelated + 0.2 < related < member - 0.2
    birds = EntityFunction(["birds and ornithology"])
    member, related, unrelated = birds.batch(["sparrow", "feather", "spreadsheet"])
    assert member > related > unrelated
    assert member >= 0.8 and unrelated <= 0.2


def test_deterministic_across_calls_and_batches(racket):
    alone = racket("squash")
    assert racket.batch(["cathedral", "squash", "Wimbledon"])[1] == alone
    assert EntityFunction(["racket sports"])("squash") == alone


def test_two_concepts_is_either(racket):
    words = ["badminton", "skyscraper", "banana", "tower", "golf"]
    both = EntityFunction(["racket sports", "buildings"]).batch(words)
    singles = zip(racket.batch(words), EntityFunction(["buildings"]).batch(words))
    assert both == [max(a, b) for a, b in singles]


def test_split_counts_match_find():
    assert split_counts(200) == (140, 60)
    assert split_counts(1) == (1, 0)
    with pytest.raises(ValueError):
        split_counts(0)


def _check_plan(plan, n_single, n_double):
    singles = [p for p in plan if len(p) == 1]
    pairs = [p for p in plan if len(p) == 2]
    assert (len(singles), len(pairs)) == (n_single, n_double)
    assert len(set(singles)) == n_single
    assert len({frozenset(p) for p in pairs}) == n_double
    for a, b in pairs:
        assert a != b and not (C.member_synsets(a) & C.member_synsets(b))


def test_plan_has_distinct_pairs(suite):
    plan = plan_concepts(seed=0, n=20)
    _check_plan(plan, 14, 6)
    assert plan_concepts(seed=0, n=20) == plan


@pytest.mark.slow
def test_full_plan_counts():
    _check_plan(plan_concepts(seed=0, n=200), 140, 60)


def test_suite_records(suite):
    assert len(suite) == SMALL_N
    assert [f.variant for f in suite].count("double") == SMALL_N - round(0.7 * SMALL_N)
    for f in suite:
        concepts = f.ground_truth.metadata["concepts"]
        assert f.ground_truth.label == " | ".join(concepts)
        assert all(c in f.ground_truth.description for c in concepts)
        assert len(f.unit_tests) == N_UNIT_TESTS and len(f.held_out_inputs) == N_HELD_OUT
        ut_words = {w for it in f.unit_tests for w in it.inputs}
        assert not ut_words & set(f.held_out_inputs)


def test_unit_tests_have_the_claimed_margin(suite):
    for f in suite:
        fn = EntityFunction(f.ground_truth.metadata["concepts"])
        for item in f.unit_tests:
            assert item.outputs is None
            values = fn.batch(item.inputs)
            best = values[item.correct]
            others = [v for i, v in enumerate(values) if i != item.correct]
            assert best >= MEMBER_MIN and max(others) <= NON_MEMBER_MAX
            assert best - max(others) >= MARGIN


def test_two_concept_unit_tests_draw_from_both(suite):
    for f in suite:
        concepts = f.ground_truth.metadata["concepts"]
        if len(concepts) == 2:
            singles = [EntityFunction([c]) for c in concepts]
            correct = [it.inputs[it.correct] for it in f.unit_tests]
            for single in singles:
                assert any(v >= MEMBER_MIN for v in single.batch(correct)), concepts


def test_script_runs_in_a_subprocess(suite, tmp_path):
    f = suite[0]
    path = tmp_path / f.script_name
    path.write_text(f.script)
    word = f.unit_tests[0].inputs[f.unit_tests[0].correct]
    out = subprocess.run(
        [sys.executable, str(path), word, "zzzq"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    values = re.findall(r"\(([^,]*), ([^)]*)\)", out.stdout)
    expected = EntityFunction(f.ground_truth.metadata["concepts"]).batch([word, "zzzq"])
    assert [w for w, _ in values] == [word, "zzzq"]
    assert [float(v) for _, v in values] == pytest.approx(expected, abs=1e-3)


def test_judge_ceiling_and_floor(suite, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the judge must not call entity functions")

    monkeypatch.setattr(EntityFunction, "batch", forbidden)
    items = [(f.ground_truth.description, it) for f in suite for it in f.unit_tests]
    ceiling = sum(judge.choose_entity(d, it.inputs) == it.correct for d, it in items) / len(items)
    floor = sum(judge.choose_entity("", it.inputs) == it.correct for _, it in items) / len(items)
    # The full 200-function suite reaches the report's figure; this 10-function suite holds a
    # hard 'psychology | fictional characters' pair (names WordNet lacks), hence 0.9 here.
    assert ceiling >= 0.9
    assert 0.2 <= floor <= 0.47  # 1/3 +- 3 standard deviations over 100 items
    assert judge.choose_entity("", ["a", "b", "c"]) == judge.choose_entity("", ["a", "b", "c"])


def test_judge_reads_free_text():
    choices = ["cathedral", "squash", "tulip"]
    assert judge.choose_entity("This neuron fires for racket sports like badminton.", choices) == 1
    assert judge.choose_entity("birds", ["spreadsheet", "violin", "sparrow"]) == 2
    with pytest.raises(ValueError):
        judge.choose_entity("birds", [])


@pytest.mark.slow
def test_judge_on_find_items_beats_chance():
    if not FIND_DIR.is_dir():
        pytest.skip(f"FIND metadata not found at {FIND_DIR}")
    data = {r["dir"]: r for r in json.loads((FIND_DIR / "data.json").read_text())}
    tests = json.loads((FIND_DIR / "unit_test_data.json").read_text())[:8]
    correct = total = 0
    for t in tests:
        r = data[t["name"]]
        description = r["concept1"] if not r["concept2"] else f"{r['concept1']} or {r['concept2']}"
        for inputs, answer in zip(t["test_vec"], t["correct_inx"]):
            total += 1
            correct += judge.choose_entity(description, [str(w) for w in inputs]) == answer - 1
    assert correct / total >= 0.6
