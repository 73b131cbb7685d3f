"""The built-in entity scientist: black-box probing of a word unit finds its topic(s).

Fast tests use black boxes written here from WordNet (a word scores high when it names a member of a
topic's hyponym closure), so they exercise the scientist without the MiniLM-based suite functions;
the suite functions themselves are tested under `slow` (embedding 5,000 words takes a minute on CPU).
The scientist only ever gets the probe callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from agent.builtin.entities import investigate_entities
from agent.builtin.vocabulary import probe_vocabulary, wordnet
from evals.judge import OfflineJudge, multiple_choice_accuracy
from find_functions.spec import MultipleChoiceItem

Probe = Callable[[Sequence[str]], list[float]]


def _topic_unit(*roots: str) -> tuple[Probe, list[int]]:
    """A unit answering 0.9 for lemmas of the roots' hyponym closures, 0.05 otherwise; and a call log."""
    wn = wordnet()
    members: set[str] = set()
    for root in roots:
        frontier = [wn.synset(root)]
        while frontier:
            s = frontier.pop()
            members.update(lemma.replace("_", " ").casefold() for lemma in s.lemma_names())
            frontier += s.hyponyms() + s.instance_hyponyms()
    calls: list[int] = []

    def probe(xs: Sequence[str]) -> list[float]:
        calls.append(len(xs))
        return [0.9 if x.casefold() in members else 0.05 for x in xs]

    return probe, calls


@pytest.fixture(scope="module")
def reptiles():
    probe, calls = _topic_unit("reptile.n.01")
    return investigate_entities(probe, seed=0), calls


@pytest.fixture(scope="module")
def two_topics():
    probe, _ = _topic_unit("reptile.n.01", "musical_instrument.n.01")
    return investigate_entities(probe, seed=0)


def test_vocabulary_is_broad_and_deduplicated():
    vocab = probe_vocabulary()
    assert len(vocab.words) == 5000
    assert len({w.casefold() for w in vocab.words}) == len(vocab.words)
    for topic_name in ("tennis", "astronomy", "banking", "Japan", "museum", "insect"):
        assert topic_name in vocab.words


def test_one_topic_is_named_and_confirmed(reptiles):
    findings, calls = reptiles
    assert "reptile" in findings.description and "either" not in findings.description
    assert findings.code is None and findings.domain is None and findings.label
    supported = [h for h in findings.hypotheses if h.status == "supported"]
    assert any("reptile" in h.statement for h in supported)
    assert any(h.status == "refuted" for h in findings.hypotheses)  # the broader parent, rival candidates
    assert len(calls) == 3 and calls[0] == 5000 and sum(calls[1:]) < 200  # survey, targeted, confirm


def test_two_topics_make_either(two_topics):
    text = two_topics.description
    assert text.startswith("responds to words related to either"), text
    assert "reptile" in text and "instrument" in text


def test_judge_reads_the_description(reptiles, two_topics):
    items = [MultipleChoiceItem(inputs=list(x), outputs=None, correct=c) for x, c in [
        (("iguana", "mortgage", "carpenter"), 0), (("sonata", "cobra", "umbrella"), 1),
        (("airport", "lawyer", "tortoise"), 2), (("crocodile", "bakery", "senate"), 0)]]
    judge = OfflineJudge()
    assert multiple_choice_accuracy(judge, "neurons_entities", reptiles[0].description, items) >= 0.75
    both = items + [MultipleChoiceItem(inputs=["harbour", "violin", "banker"], outputs=None, correct=1)]
    assert multiple_choice_accuracy(judge, "neurons_entities", two_topics.description, both) >= 0.8


def test_a_silent_unit_is_said_plainly_and_events_stream():
    from agent.builtin.findings import Notebook

    events: list[str] = []
    findings = investigate_entities(lambda xs: [None] * len(xs), notebook=Notebook(lambda k, _: events.append(k)))
    assert "no topic stands out" in findings.description
    assert [h.status for h in findings.hypotheses] == ["refuted"]
    assert events == ["experiment", "hypothesis"]


def test_deterministic(reptiles):
    probe, _ = _topic_unit("reptile.n.01")
    assert investigate_entities(probe, seed=0).description == reptiles[0].description


def test_probe_answering_the_wrong_number_of_outputs_is_an_error():
    with pytest.raises(ValueError, match="outputs for"):
        investigate_entities(lambda xs: [0.5])


@pytest.mark.slow
def test_suite_functions_multiple_choice_accuracy():
    """A few real entity functions (MiniLM + WordNet): the offline judge's accuracy on their unit tests."""
    from find_functions.entities import EntityFunction, generate_entities

    suite = generate_entities(1, 4)
    judge = OfflineJudge()
    scores = []
    for fn in suite:
        unit = EntityFunction(fn.ground_truth.metadata["concepts"])
        findings = investigate_entities(lambda xs, unit=unit: unit.batch(list(xs)), seed=0)
        scores.append(multiple_choice_accuracy(judge, "neurons_entities", findings.description, fn.unit_tests))
    assert sum(scores) / len(scores) >= 0.8, scores
