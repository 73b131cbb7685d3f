"""Planted concept neurons (find_functions.planted) and the planted check (evals.planted_check)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from evals.judge import OfflineJudge, multiple_choice_accuracy
from evals.planted_check import CHANCE, run_planted_check
from evals.runner import RunError
from find_functions.entities import EntityFunction, describe
from find_functions.planted import (
    LayerScale,
    Plant,
    PlantedSuite,
    WordReader,
    plan_planted,
    plant_concept_neurons,
    plant_state,
)
from find_functions.script import render_script
from find_functions.spec import GroundTruth, MultipleChoiceItem, SuiteFunction
from tools.activations import call_unit, set_site, site_envoy, trace
from tools.corpus import Corpus
from tools.exemplars import dataset_exemplars
from tools.models import tiny_model
from tools.units import Unit, UnitError

CONCEPT = "racket sports"
UNIT = "layer.0.mlp.neuron.5"
SCALES = {0: LayerScale(rest=-0.1, peak=2.0), 1: LayerScale(rest=-0.1, peak=2.0)}
SENTENCES = [
    "She played tennis and badminton at the club on Sunday.",
    "The cathedral was built with stone and glass over a century.",
    "A squash racket and a shuttlecock lay on the table.",
    "He ordered soup, bread and cheese for dinner.",
    "The checkmate came after a long endgame with rooks.",
    "Wimbledon is the oldest tennis tournament in the world.",
]


@pytest.fixture(scope="module")
def base():
    return tiny_model("bert", n_layers=2, d_model=32, n_heads=4, d_mlp=64, seed=0)


@pytest.fixture(scope="module")
def planted(base):
    return plant_concept_neurons(base, [Plant(UNIT, (CONCEPT,))], scales=SCALES)


def _expected(model, text: str) -> list[float]:
    """rest + f(word) * (peak - rest) for each token, every piece getting its whole word's value."""
    fn, scale = EntityFunction([CONCEPT]), SCALES[0]
    ids = model.tokenize([text])["input_ids"][0].tolist()
    out = [scale.rest] * len(ids)
    for start, end, word in WordReader(model.tokenizer, [fn]).words(ids):
        if word is not None:
            out[start:end] = [scale.rest + fn(word) * (scale.peak - scale.rest)] * (end - start)
    return out


def test_planted_neuron_computes_the_entity_function(base, planted) -> None:
    for act in call_unit(planted, UNIT, SENTENCES[:3]):
        np.testing.assert_allclose(act.values, _expected(planted, act.text), atol=1e-5)
    tennis = call_unit(planted, UNIT, "tennis")[0]
    soup = call_unit(planted, UNIT, "soup")[0]
    assert tennis.values[1] > 1.5 and soup.values[1] < 0.5


def test_other_neurons_and_the_original_model_are_untouched(base, planted) -> None:
    before = call_unit(base, "layer.0.mlp", SENTENCES)
    after = call_unit(planted, "layer.0.mlp", SENTENCES)
    for b, a in zip(before, after):
        others = [i for i in range(base.d_mlp) if i != 5]
        np.testing.assert_allclose(a.values[:, others], b.values[:, others], atol=1e-6)
        assert not np.allclose(a.values[:, 5], b.values[:, 5])
    assert base.adapter.mlp_out == "output.dense"            # the base model was copied, not modified
    assert planted.adapter.mlp_out == "output.dense.linear"
    assert planted.name.startswith(f"{base.name}+planted-")
    assert planted.fingerprint() != base.fingerprint()
    other = plant_concept_neurons(base, [Plant(UNIT, ("chess",))], scales=SCALES)
    assert other.fingerprint() != planted.fingerprint()


def test_ablating_a_planted_neuron_matches_ablating_the_real_one(base, planted) -> None:
    """Interventions write the value after the plant: zeroing the planted neuron leaves a model
    identical to the original with the same neuron zeroed (the plant is its only difference)."""
    unit = Unit(0, "mlp")
    outs = []
    for model in (base, planted):
        inputs = model.tokenize(SENTENCES[:2])
        with torch.no_grad(), trace(model, **inputs):
            act = site_envoy(model, unit).clone()
            act[:, :, 5] = 0.0
            set_site(model, unit, act)
            hidden = model.nn.output.last_hidden_state.save()
        outs.append(hidden)
    torch.testing.assert_close(outs[0], outs[1])
    inputs = planted.tokenize(SENTENCES[:2])
    with torch.no_grad(), trace(planted, **inputs):
        untouched = planted.nn.output.last_hidden_state.save()
    assert not torch.allclose(untouched, outs[1])


def test_word_pieces_share_their_words_value(planted) -> None:
    reader = WordReader(planted.tokenizer, [EntityFunction(["chess"])])
    ids = planted.tokenizer("checkmate, ping-pong", add_special_tokens=True)["input_ids"]
    spans = reader.words(ids)
    assert [w for _, _, w in spans] == [None, "checkmate", ",", "ping", "-", "pong", None]
    table = reader.table(torch.tensor([ids]))[0, :, 0]
    check, mate = 1, 2                                      # 'check', '##mate'
    assert table[check] == table[mate] == pytest.approx(EntityFunction(["chess"])("checkmate"), abs=1e-4)
    assert torch.isnan(table[0]) and torch.isnan(table[-1])


class _BPETokenizer:
    """The slice of a byte-level BPE tokenizer the word reader uses."""

    all_special_ids: ClassVar[list[int]] = [0]
    pieces: ClassVar[dict[int, str]] = {0: "<s>", 1: "Ġbasket", 2: "ball", 3: ",", 4: "Ġthe", 5: "Ġping", 6: "-",
                                        7: "pong", 8: "ĠNBA"}

    def convert_ids_to_tokens(self, i):
        return self.pieces[i]

    def convert_tokens_to_string(self, tokens):
        return "".join(tokens).replace("Ġ", " ")


def test_bpe_words_start_at_space_marks_and_punctuation() -> None:
    reader = WordReader(_BPETokenizer(), [])
    spans = reader.words([0, 1, 2, 3, 4, 5, 6, 7, 8])
    assert [(s, e, w) for s, e, w in spans] == [(0, 1, None), (1, 3, "basketball"), (3, 4, ","), (4, 5, "the"),
                                                (5, 6, "ping"), (6, 7, "-"), (7, 8, "pong"), (8, 9, "NBA")]


def test_forward_without_input_ids_fails_loudly(planted) -> None:
    embeds = torch.zeros(1, 4, planted.d_model)
    with pytest.raises(RuntimeError, match="input_ids"):
        planted.model(inputs_embeds=embeds)


def test_bad_plants_are_rejected(base) -> None:
    with pytest.raises(UnitError, match="single MLP neurons"):
        plant_concept_neurons(base, [Plant("layer.0.attn.head.1", (CONCEPT,))], scales=SCALES)
    with pytest.raises(UnitError, match="single MLP neurons"):
        plant_concept_neurons(base, [Plant("layer.0.mlp.neuron.1:3", (CONCEPT,))], scales=SCALES)
    with pytest.raises(UnitError, match="layers 0..1"):
        plant_concept_neurons(base, [Plant("layer.7.mlp.neuron.1", (CONCEPT,))], scales=SCALES)
    with pytest.raises(ValueError, match="planted twice"):
        plant_concept_neurons(base, [Plant(UNIT, (CONCEPT,)), Plant(UNIT, ("chess",))], scales=SCALES)
    with pytest.raises(ValueError, match="no scale"):
        plant_concept_neurons(base, [Plant("layer.1.mlp.neuron.0", (CONCEPT,))], scales={0: SCALES[0]})
    with pytest.raises(TypeError, match="tuple of concept names"):
        Plant(UNIT, CONCEPT)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one or two concepts"):
        Plant(UNIT, ())
    with pytest.raises(ValueError, match="unknown concept 'no such concept'"):
        Plant(UNIT, ("no such concept",))


def test_calibration_scales_like_the_layers_real_neurons(base) -> None:
    corpus = Corpus("sentences", SENTENCES * 20)
    model = plant_concept_neurons(base, [Plant(UNIT, (CONCEPT,))], corpus=corpus)
    scale = plant_state(model).scales[0]
    real = torch.cat([torch.tensor(a.values[1:-1]) for a in call_unit(base, "layer.0.mlp", SENTENCES)])
    assert scale.rest == pytest.approx(float(real.median()), abs=0.05)
    assert scale.rest < scale.peak <= float(real.max())


# ----------------------------------------------------------------------------- the check


def _entity_function(fid: str, concepts: tuple[str, ...], tests: list[tuple[list[str], int]]) -> SuiteFunction:
    return SuiteFunction(
        id=fid, category="neurons_entities", variant="single" if len(concepts) == 1 else "double",
        script=render_script("def function(x):\n    return 0.0\n", "str"),
        ground_truth=GroundTruth(description=describe(concepts), label=" | ".join(concepts),
                                 metadata={"concepts": list(concepts)}),
        unit_tests=[MultipleChoiceItem(inputs=i, correct=c) for i, c in tests])


RACKET_TESTS = [(["badminton", "cathedral", "soup"], 0), (["bread", "squash", "glass"], 1),
                (["stone", "dinner", "racquetball"], 2), (["tennis", "century", "cheese"], 0)]
CHESS_TESTS = [(["rook", "soup", "cathedral"], 0), (["bread", "pawn", "glass"], 1), (["stone", "tennis", "bishop"], 2)]


def _corpus_file(path: Path) -> Path:
    path.write_text("\n".join(SENTENCES * 30) + "\n")
    return path


def test_run_planted_check_labels_scores_and_resumes(base, tmp_path: Path) -> None:
    functions = [_entity_function("f00000", (CONCEPT,), RACKET_TESTS),
                 _entity_function("f00001", ("chess",), CHESS_TESTS)]
    corpus = Corpus("sentences", SENTENCES * 20)
    suite = plan_planted(base, functions, seed=0, layer=1, corpus=corpus)
    assert isinstance(suite, PlantedSuite) and len({u.unit for u in suite.units}) == 2
    assert all(u.unit.startswith("layer.1.mlp.neuron.") for u in suite.units)

    # The labeler reads the exemplar cache of the planted model: its top tokens are concept words.
    corpus_path = str(_corpus_file(tmp_path / "corpus.txt"))
    ex = dataset_exemplars(suite.model, suite.units[0].unit, k=4, corpus=corpus_path, window=16,
                           root=tmp_path / "cache")
    peaks = {e.tokens[int(np.nanargmax(e.values))] for e in ex.top}
    assert peaks <= {"tennis", "badminton", "squash", "rack", "##et", "shuttle", "##cock", "wimbledon"}

    out = tmp_path / "run"
    kw = {"corpus": corpus_path, "cache_root": tmp_path / "cache"}
    summary = run_planted_check(suite=suite, out=out, max_windows=None, **kw)
    rows = [json.loads(line) for line in (out / "planted.jsonl").read_text().splitlines()]
    assert [r["unit"] for r in rows] == [u.unit for u in suite.units]
    judge = OfflineJudge()
    for row, unit in zip(rows, suite.units):
        assert row["concepts"] == list(unit.concepts) and row["ground_truth"] == unit.description
        assert row["mc_accuracy"] == multiple_choice_accuracy(judge, "neurons_entities", row["description"],
                                                              unit.unit_tests)
        assert row["ceiling"] == multiple_choice_accuracy(judge, "neurons_entities", unit.description, unit.unit_tests)
    racket = rows[0]
    assert any(w in racket["description"] for w in ("tennis", "badminton", "squash", "racket", "wimbledon"))
    assert set(racket["baselines"]) == {"random", "top_token"}
    top = racket["baselines"]["top_token"]
    assert top["mc_accuracy"] == multiple_choice_accuracy(judge, "neurons_entities", top["label"],
                                                          suite.units[0].unit_tests)
    assert summary["units"] == 2 and summary["chance"] == pytest.approx(CHANCE, abs=1e-4)
    assert summary["mc_accuracy"] == pytest.approx(np.mean([r["mc_accuracy"] for r in rows]), abs=1e-4)
    assert summary["one_concept"]["units"] == 2 and "two_concepts" not in summary
    assert set(summary["baselines"]) == {"random", "top_token"}
    assert json.loads((out / "summary.json").read_text()) == summary
    assert (out / "labels" / "labels.jsonl").exists()

    # Resume: nothing is relabeled or rejudged; other settings are refused.
    labels_before = (out / "labels" / "labels.jsonl").read_text()
    assert run_planted_check(suite=suite, out=out, max_windows=None, **kw) == summary
    assert (out / "labels" / "labels.jsonl").read_text() == labels_before
    with pytest.raises(RunError, match="other settings"):
        run_planted_check(suite=suite, out=out, max_windows=10, **kw)


@pytest.mark.slow
def test_planted_suite_on_minilm_end_to_end(tmp_path: Path) -> None:
    """The real thing, small: 3 functions of the generator planted into MiniLM, 300 windows."""
    from find_functions.planted import planted_suite

    suite = planted_suite("minilm", n=3, seed=0)
    assert suite.model.name.startswith("minilm+planted-")
    summary = run_planted_check(suite=suite, out=tmp_path / "run", max_windows=300, cache_root=tmp_path / "cache")
    assert summary["units"] == 3 and summary["ceiling"] > CHANCE


def test_summary_places_accuracy_between_chance_and_ceiling() -> None:
    from evals.planted_check import summarize

    def row(concepts, acc, ceiling, top):
        return {"concepts": concepts, "mc_accuracy": acc, "ceiling": ceiling,
                "baselines": {"top_token": {"label": "x", "mc_accuracy": top}}}

    rows = [row(["a"], 1.0, 1.0, 0.5), row(["a", "b"], 0.5, 0.8, 0.3)]
    s = summarize(rows, judge="offline")
    assert s["judge"] == "offline" and s["mc_accuracy"] == 0.75 and s["ceiling"] == 0.9
    assert s["normalized"] == pytest.approx((0.75 - CHANCE) / (0.9 - CHANCE), abs=1e-4)
    assert s["baselines"] == {"top_token": 0.4}
    assert s["one_concept"] == {"units": 1, "mc_accuracy": 1.0, "ceiling": 1.0}
    assert s["two_concepts"] == {"units": 1, "mc_accuracy": 0.5, "ceiling": 0.8}
    assert summarize([row(["a"], 0.3, 0.3, 0.3)])["normalized"] is None
    assert summarize([]) == {"units": 0}
    # an LLM judge that judged none of a unit's items: that unit is left out of the means
    unjudged = summarize([*rows, row(["a"], None, None, None)])
    assert unjudged["mc_accuracy"] == 0.75 and unjudged["one_concept"]["mc_accuracy"] == 1.0


def test_a_planted_check_refuses_a_directory_in_use_before_planting(tmp_path: Path) -> None:
    from tools.run_dir import RunDirectory

    with RunDirectory(tmp_path / "run", "check-planted"):
        with pytest.raises(RunError, match=rf"in use by another process \(pid {os.getpid()}\)"):
            run_planted_check(model="no-such-model", out=tmp_path / "run")


def test_plan_planted_rejects_what_it_cannot_plant(base) -> None:
    f = _entity_function("f00000", (CONCEPT,), RACKET_TESTS)
    with pytest.raises(ValueError, match="no entity functions"):
        plan_planted(base, [])
    with pytest.raises(ValueError, match="only neurons_entities"):
        plan_planted(base, [f.model_copy(update={"category": "strings"})])
    with pytest.raises(ValueError, match="lack unit tests"):
        plan_planted(base, [f.model_copy(update={"unit_tests": []})])
    with pytest.raises(UnitError, match="layers 0..1"):
        plan_planted(base, [f], layer=5)


def test_planted_causal_model_generates_with_a_key_value_cache() -> None:
    """Incremental decoding feeds one new token per forward: ids and MLP positions still agree."""
    llama = tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64, seed=0)
    model = plant_concept_neurons(llama, [Plant("layer.1.mlp.neuron.3", ("chess",))], scales=SCALES)
    inputs = model.tokenize(["The rook and the pawn"])
    out = model.model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 3
    rook = call_unit(model, "layer.1.mlp.neuron.3", "The rook")[0]
    assert rook.tokens[2] == "rook" and rook.values[2] > 1.5
