"""Label scorers: simulation, detection, fuzzing and causal contrast, offline and over an LLM.

Three kinds of subject: hand-made exemplars (the scoring arithmetic), a planted tiny GPT-2
whose MLP neuron fires only on 'river' (the causal contrast, where the right answer is
known exactly), and a real MiniLM neuron whose exemplars come from the cached corpus pass
(layer 3 neuron 11 peaks on 'river' in most of its top windows).  The LLM paths talk to
the loopback fake server over the real OpenAI/Anthropic SDKs, so what is asserted is what
went over the wire.
"""
from __future__ import annotations

import json
import math
import random
import re
import warnings

import pytest

from evals.label_causal import (
    TEMPLATES,
    causal_contrast,
    contrast_score,
    matched_controls,
    offline_pairs,
    parse_pairs,
)
from evals.label_detection import (
    balanced_accuracy,
    detection_score,
    fuzzing_score,
    highlights,
    parse_binary,
    render_excerpt,
)
from evals.label_scoring import SCORES, score_description, score_with_baselines
from evals.label_simulators import (
    EARLY_PIECE_WEIGHT,
    LLMSimulator,
    OfflineSimulator,
    ScorerReplyError,
    lexical_simulate,
    make_simulator,
    parse_levels,
)
from tests.fake_llm import FakeLLMServer
from tests.planted_tiny import NEURON, TARGET, planted_model
from tools.activations import call_unit
from tools.exemplars import Exemplar

NAN = float("nan")
UNIT = f"layer.0.mlp.neuron.{NEURON}"


def _ex(tokens: list[str], values: list[float], kind: str = "top") -> Exemplar:
    return Exemplar(window=0, tokens=tokens, values=values, score=max(v for v in values if not math.isnan(v)),
                    kind=kind)


def _toy_excerpts() -> tuple[list[Exemplar], list[Exemplar]]:
    """Top excerpts fire on 'river' (and weakly on its neighbour); random ones fire nowhere."""
    rng = random.Random(0)
    words = ["the", "old", "boat", "went", "down", "past", "a", "town", "and", "then", "home", "."]
    top, rnd = [], []
    for i in range(6):
        toks = rng.sample(words, 8)
        j = rng.randrange(1, 7)
        toks[j] = TARGET
        vals = [0.05 * rng.random() for _ in toks]
        vals[j], vals[j + 1] = 4.0 + i * 0.1, 0.6
        top.append(_ex(["[CLS]"] + toks + ["[SEP]"], [NAN] + vals + [NAN]))
        toks = rng.sample(words, 8)
        rnd.append(_ex(["[CLS]"] + toks + ["[SEP]"], [NAN] + [0.05 * rng.random() for _ in toks] + [NAN], "random"))
    return top, rnd


# ----------------------------------------------------------------------------- arithmetic and parsing

def test_balanced_accuracy() -> None:
    assert balanced_accuracy([True, True, False, False], [True, False, False, False]) == 0.75
    assert balanced_accuracy([True, True, True, False], [True, True, True, True]) == 0.5   # all-yes is chance
    assert balanced_accuracy([True, True], [True, False]) is None
    with pytest.raises(ValueError, match="2 labels but 1"):
        balanced_accuracy([True, False], [True])


def test_parse_levels_reads_json_and_lines_and_rejects_the_rest() -> None:
    assert parse_levels("Sure: [0, 10, 5]", 3) == [0.0, 1.0, 0.5]
    assert parse_levels("[1,2]\nfinal: [0, 20, -3]", 3) == [0.0, 1.0, 0.0]          # last fitting list, clipped
    assert parse_levels("1\tthe\t0\n2\triver\t9\n3\t.\t1", 3) == [0.0, 0.9, 0.1]
    with pytest.raises(ScorerReplyError, match="expected 3 activation levels"):
        parse_levels("[0, 10]", 3)
    with pytest.raises(ScorerReplyError, match="'no idea'"):
        parse_levels("no idea", 2)


def test_parse_binary_and_pairs() -> None:
    assert parse_binary("[1, 0, true]", 3) == [True, False, True]
    assert parse_binary("Excerpt 1: yes\nExcerpt 2: no", 2) == [True, False]
    with pytest.raises(ScorerReplyError, match="expected 3 answers"):
        parse_binary("yes", 3)
    reply = 'Here: [{"match": "The river rose.", "control": "The road rose."}, {"match": "x", "control": "x"}, 7]'
    assert parse_pairs(reply, 2) == [("The river rose.", "The road rose.")]
    with pytest.raises(ScorerReplyError, match="match"):
        parse_pairs(reply, 4)                                       # 1 usable of 4 asked


def test_render_and_highlights() -> None:
    e = _ex(["[CLS]", "the", "pot", "##omac", "river", "flows", "east", "[SEP]"],
            [NAN, 0.0, 0.1, 0.2, 3.0, 2.0, 0.1, NAN])
    assert render_excerpt(e, {4, 5}) == "the potomac <<river>> <<flows>> east"
    hot, wrong = highlights(e, random.Random(0))
    assert hot == {4, 5}
    assert len(wrong) == 2 and not wrong & hot and not wrong & {0, 7}      # cold, scorable tokens
    assert highlights(_ex(["a", "b"], [-1.0, -2.0]), random.Random(0)) is None  # never fires


def test_offline_simulator_predicts_on_every_piece_of_a_named_word() -> None:
    wordpiece = ["[CLS]", "the", "psych", "##ologist", "and", "psych", "##ology", "[SEP]"]
    bpe = ["The", "Ġpsych", "ologist", "Ġand", "Ġpsych", "ology"]
    early = EARLY_PIECE_WEIGHT                  # the last piece is where the whole word has been read
    assert lexical_simulate("Fires on the word 'psychologist'.", [wordpiece])[0].tolist() == \
        [0, 0, early, 1, 0, 0, 0, 0]
    assert lexical_simulate("Fires on the word 'psychologist'.", [bpe])[0].tolist() == [0, early, 1, 0, 0, 0]
    assert 0 < early < 1
    # A quoted piece still predicts on that piece alone.
    assert lexical_simulate("Fires on the word 'ology'.", [wordpiece])[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 0]


# ----------------------------------------------------------------------------- offline detection and fuzzing

def test_offline_detection_and_fuzzing_separate_right_from_wrong() -> None:
    top, rnd = _toy_excerpts()
    sim = OfflineSimulator()
    right, wrong = f"Fires on the word '{TARGET}'.", "Fires on the word 'town'."
    assert detection_score(right, top, rnd, sim) == 1.0
    assert fuzzing_score(right, top, sim) == 1.0
    assert detection_score(wrong, top, rnd, sim) <= 0.5 + 1e-9
    assert fuzzing_score(wrong, top, sim) <= 0.5 + 1e-9
    assert detection_score(right, top, [], sim) is None


def test_matched_controls_are_frequency_matched_and_deterministic() -> None:
    from wordfreq import zipf_frequency
    a = matched_controls("river", 4, random.Random(1), {"river"})
    assert a == matched_controls("river", 4, random.Random(1), {"river"})
    assert "river" not in a and len(set(a)) == 4
    assert all(abs(zipf_frequency(w, "en") - zipf_frequency("river", "en")) < 0.3 for w in a)
    assert set(matched_controls(",", 3, random.Random(0), set())) <= {";", ":", "!", "?", "-", "(", ")", "/", "&"}
    assert all(re.fullmatch(r"\d\d", w) for w in matched_controls("50", 3, random.Random(0), set()))
    pairs = offline_pairs("Fires on the words 'river', 'lake'.", seed=0)
    assert len(pairs) == 2 * len(TEMPLATES) * 2
    assert pairs[0][0] == TEMPLATES[0].format(w="river") and "river" not in pairs[0][1]
    assert offline_pairs("Fires on the start of the text.") == []


# ----------------------------------------------------------------------------- planted tiny model

@pytest.fixture(scope="module")
def planted():
    return planted_model()


def _planted_excerpts(model) -> tuple[list[Exemplar], list[Exemplar]]:
    """Held-out top/random excerpts read from the planted unit itself (special tokens NaN)."""
    special = set(model.tokenizer.all_special_tokens)
    texts = [f"the {TARGET} ran past the old mill.", f"we swam in the {TARGET} all day.",
             f"a long {TARGET} and a short road.", f"boats on the {TARGET} at night."]
    texts += ["the old mill stood still.", "we walked home all day.", "a long road and a short path.",
              "lights in the city at night."]
    out = []
    for i, a in enumerate(call_unit(model, UNIT, texts)):
        vals = [NAN if t in special else float(v) for t, v in zip(a.tokens, a.values)]
        out.append(_ex(a.tokens, vals, "top" if i < 4 else "random"))
    return out[:4], out[4:]


def test_causal_contrast_on_planted_neuron(planted) -> None:
    assert causal_contrast(f"Fires on the word '{TARGET}'.", planted, UNIT, seed=0) == 1.0
    # Other words drive this unit nearly alike (only through layer norm's mean): about chance.
    assert abs(causal_contrast("Fires on the word 'garden'.", planted, UNIT, seed=0) - 0.5) <= 0.2
    assert causal_contrast("Fires on the start of the text.", planted, UNIT) is None
    assert contrast_score(planted, UNIT, [("a river.", "a road."), ("a road.", "a river.")]) == 0.5
    with pytest.raises(ValueError, match="at least one"):
        contrast_score(planted, UNIT, [])


def test_score_with_baselines_offline_is_deterministic_and_shaped(planted) -> None:
    top, rnd = _planted_excerpts(planted)
    kw = dict(model=planted, unit=UNIT, held_top=top, held_random=rnd, seen=top,
              vocab=["garden", "window", "##s", "[CLS]", TARGET + "s"], simulator=make_simulator("offline"), seed=3)
    a = score_with_baselines(f"Fires on the word '{TARGET}'.", **kw)
    assert a == score_with_baselines(f"Fires on the word '{TARGET}'.", **kw)
    assert set(a) == {"scores", "baselines"} and set(a["baselines"]) == {"random", "top_token"}
    assert set(a["scores"]) == set(SCORES) == set(a["baselines"]["random"]["scores"])
    assert a["baselines"]["top_token"]["label"] == f"Fires on the word '{TARGET}'."
    assert a["scores"] == {"simulation": 1.0, "detection": 1.0, "fuzzing": 1.0, "causal_contrast": 1.0}
    rnd_scores = a["baselines"]["random"]["scores"]
    assert rnd_scores["detection"] == 0.5 and abs(rnd_scores["causal_contrast"] - 0.5) <= 0.2


# ----------------------------------------------------------------------------- LLM paths over the wire

def _prompt(body: dict) -> tuple[str, str]:
    """(system, user text) of an OpenAI or Anthropic request body."""
    msgs = body["messages"]
    if "system" in body:                                                      # Anthropic
        system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
    else:
        system = next(m["content"] for m in msgs if m["role"] == "system")
    user = [m for m in msgs if m["role"] == "user"][-1]["content"]
    return system, user if isinstance(user, str) else "".join(p.get("text", "") for p in user)


def _oracle(body: dict) -> str:
    """A perfect LLM for the planted unit: 'river' fires, nothing else does."""
    _, user = _prompt(body)
    if "JSON list of exactly" in user and "integers, one per token" in user:
        toks = re.findall(r"^\d+\t(\".*\")$", user, flags=re.M)
        return json.dumps([10 if json.loads(t) == TARGET else 0 for t in toks])
    if "highlighted" in user:
        excerpts = re.findall(r"^Excerpt \d+: (\".*\")$", user, flags=re.M)
        return json.dumps([int(f"<<{TARGET}>>" in json.loads(e)) for e in excerpts])
    if "Excerpt 1" in user:
        excerpts = re.findall(r"^Excerpt \d+: (\".*\")$", user, flags=re.M)
        return json.dumps([int(TARGET in json.loads(e)) for e in excerpts])
    n = int(re.search(r"Write (\d+) pairs", user).group(1))
    return json.dumps([{"match": f"The {TARGET} number {i} is here.", "control": f"The road number {i} is here."}
                       for i in range(n)])


def test_llm_scores_over_openai_wire(planted) -> None:
    top, rnd = _planted_excerpts(planted)
    with FakeLLMServer(_oracle) as server:
        sim = make_simulator("openai:gpt-4o-mini", api_key="test", base_url=server.openai_base_url, max_attempts=1)
        assert isinstance(sim, LLMSimulator) and sim.llm is not None
        scores = score_description(f"Fires on the word '{TARGET}'.", model=planted, unit=UNIT, held_top=top,
                                   held_random=rnd, simulator=sim, seed=0)
        bodies = [r.body for r in server.requests]
    assert scores == {"simulation": 1.0, "detection": 1.0, "fuzzing": 1.0, "causal_contrast": 1.0}
    # 8 simulation requests (one per excerpt), then detection, fuzzing and contrast: one each.
    assert len(bodies) == 11 and sim.usage.llm_calls == 11 and sim.usage.input_tokens > 0
    system, user = _prompt(bodies[0])
    assert "evaluate descriptions of neurons" in system and "tools" not in bodies[0]
    assert f"Neuron description: Fires on the word '{TARGET}'." in user
    assert f'\t"{TARGET}"' in user and f"exactly {len(top[0].tokens)} integers" in user
    _, detect = _prompt(bodies[8])
    assert detect.count("Excerpt ") == 8 and "[CLS]" not in detect        # specials dropped from the text
    _, fuzz = _prompt(bodies[9])
    assert fuzz.count(f"<<{TARGET}>>") == 4                                 # the correct highlightings


def test_llm_simulator_fallback_and_error_over_anthropic_wire() -> None:
    top, _ = _toy_excerpts()
    replies = iter(["[0, 0, 0, 10, 0, 0, 0, 0, 0, 0]", "I cannot do that.", "[" + ", ".join(["0"] * 10) + "]"])
    with FakeLLMServer(lambda body: next(replies)) as server:
        sim = make_simulator("anthropic:claude-test", api_key="test", base_url=server.anthropic_base_url,
                             max_attempts=1)
        preds = sim.simulate("Fires on 'river'.", [e.tokens for e in top[:3]])
        assert server.requests[0].format == "anthropic"
    assert preds[0][3] == 1.0 and preds[1] == [0.0] * 10                      # unreadable excerpt -> zeros
    assert len(sim.llm.failures) == 1 and "excerpt 1" in sim.llm.failures[0]
    with FakeLLMServer(lambda body: "no numbers here") as server:
        sim = make_simulator("anthropic:claude-test", api_key="test", base_url=server.anthropic_base_url,
                             max_attempts=1)
        with pytest.raises(ScorerReplyError, match="3/3 simulation replies unreadable"):
            sim.simulate("Fires on 'river'.", [e.tokens for e in top[:3]])


def test_unreadable_detection_reply_is_a_clear_error() -> None:
    top, rnd = _toy_excerpts()
    with FakeLLMServer(lambda body: "The first excerpt is the one that activates.") as server:
        sim = make_simulator("openai:gpt-4o-mini", api_key="test", base_url=server.openai_base_url, max_attempts=1)
        with pytest.raises(ScorerReplyError, match="expected 12 answers.*The first excerpt"):
            detection_score("Fires on 'river'.", top, rnd, sim)
    assert sim.usage.llm_calls == 1


def test_make_simulator_rejects_unknown_specs() -> None:
    with pytest.raises(ValueError, match="expected 'offline' or an LLM backend"):
        make_simulator("builtin")
    with pytest.raises(ValueError, match="takes no options"):
        make_simulator("offline", temperature=0.0)
    with pytest.raises(ValueError, match="empty"):
        OfflineSimulator().simulate(" ", [["a"]])


# ----------------------------------------------------------------------------- a real MiniLM neuron

@pytest.fixture(scope="module")
def minilm_river():
    """MiniLM layer 3 neuron 11 and its exemplars from the shared 1000-window cache."""
    from agent.labeling.neurons import split_exemplars
    from tools.exemplars import dataset_exemplars
    from tools.models import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model("minilm")
    unit = "layer.3.mlp.neuron.11"
    ex = dataset_exemplars(model, unit, k=20, max_windows=1000, n_random=10)
    seen, held = split_exemplars(ex.top)
    return model, unit, seen, held, ex.random


def test_hot_word_beats_random_word_on_every_scorer_for_a_real_neuron(minilm_river) -> None:
    model, unit, seen, held, rnd = minilm_river
    out = score_with_baselines(f"Fires on the word '{TARGET}'.", model=model, unit=unit, held_top=held,
                               held_random=rnd, seen=seen, vocab=list(model.tokenizer.get_vocab()),
                               simulator=make_simulator(), seed=0)
    base = out["baselines"]["random"]["scores"]
    for name in SCORES:
        assert out["scores"][name] > base[name] + 0.2, (name, out["scores"], out["baselines"]["random"])
    # A frequent word the unit does not care about is no better than chance at detection.
    the = score_description("Fires on the word 'the'.", model=model, unit=unit, held_top=held, held_random=rnd,
                            simulator=make_simulator(), seed=0)
    assert the["detection"] <= 0.6 and the["simulation"] < out["scores"]["simulation"] - 0.3
