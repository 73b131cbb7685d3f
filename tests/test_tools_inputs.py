"""Template fills, edits (swaps, removals), LLM hook, and measuring an edit's effect."""
import pytest
import torch

from tools.inputs import edit_inputs, fill_template, fill_template_spans, measure_edits, synthesize_inputs, word_pattern
from tools.models import tiny_model

SCENE = "A red ball lies on the grass. A dog sleeps under the tree. The sun is warm."


def test_fill_template_all_and_sampled():
    out = fill_template("the {animal} ate the {food}", {"animal": ["cat", "dog"], "food": ["fish", "rice"]})
    assert sorted(out) == sorted(["the cat ate the fish", "the cat ate the rice",
                                  "the dog ate the fish", "the dog ate the rice"])
    some = fill_template("the {animal} ate the {food}", {"animal": ["cat", "dog"], "food": ["fish", "rice"]}, n=2)
    assert len(some) == 2 and set(some) <= set(out)
    with pytest.raises(ValueError, match=r"\['food'\]"):
        fill_template("the {animal} ate the {food}", {"animal": ["cat"]})


def test_edits_swap_and_remove():
    edits = edit_inputs(SCENE, swaps={"dog": ["cat"]}, remove_sentences=True, remove_words=["red"])
    edited = [e.edited for e in edits]
    assert edited[0] == SCENE.replace("dog", "cat")
    assert edited[1:4] == ["A dog sleeps under the tree. The sun is warm.",
                           "A red ball lies on the grass. The sun is warm.",
                           "A red ball lies on the grass. A dog sleeps under the tree."]
    assert edited[4] == "A ball lies on the grass. A dog sleeps under the tree. The sun is warm."
    with pytest.raises(ValueError, match="not in"):
        edit_inputs(SCENE, swaps={"horse": ["cow"]})
    with pytest.raises(ValueError, match="no edit requested"):
        edit_inputs(SCENE)


def test_fill_spans_mark_each_slot_fill():
    filled = fill_template_spans("a {x} and {y} and {x}.", {"x": ["cat", "horse"], "y": ["dog"]})
    assert [f.text for f in filled] == fill_template("a {x} and {y} and {x}.", {"x": ["cat", "horse"], "y": ["dog"]})
    for f in filled:
        assert {f.text[s:e] for s, e in f.spans["x"]} == {f.text.split()[1]} and len(f.spans["x"]) == 2
        assert [f.text[s:e] for s, e in f.spans["y"]] == ["dog"]


def test_whole_word_edits_tolerate_punctuation_and_skip_missing_words():
    assert word_pattern("the riverbank, a river.", "river").sub("X", "the riverbank, a river.") == "the riverbank, a X."
    assert word_pattern("on the grass, here", "grass.") is not None       # trailing punctuation dropped
    assert word_pattern("the riverbank", "river") is None
    skipped: list[str] = []
    edits = edit_inputs(SCENE, swaps={"tree": ["bush"], "horse": ["cow"]}, remove_words=["grass.", "cat"],
                        skipped=skipped)
    assert [e.change for e in edits] == ["swapped 'tree' -> 'bush'", "removed word 'grass.'"]
    assert edits[1].edited.startswith("A red ball lies on the A dog")      # as given: with its period
    assert len(skipped) == 2 and "'horse' not in" in skipped[0] and "'cat' not in" in skipped[1]
    with pytest.raises(ValueError, match="no edit could be made"):
        edit_inputs(SCENE, swaps={"horse": ["cow"]}, skipped=[])


def test_llm_hook_is_used_and_required():
    seen = []

    def fake_llm(prompt: str) -> str:
        seen.append(prompt)
        return "1. The ship sailed.\n- A boat floated.\n\nWaves hit the hull."

    out = synthesize_inputs(description="sentences about boats", n=2, llm=fake_llm)
    assert out == ["The ship sailed.", "A boat floated."] and "boats" in seen[0]
    with pytest.raises(ValueError, match="llm hook"):
        synthesize_inputs(description="sentences about boats")
    edit = edit_inputs(SCENE, instruction="make the dog a cat", llm=lambda p: "A cat.")
    assert edit[0].edited == "A cat." and edit[0].change.startswith("llm:")


def test_measure_edits_matches_call_unit():
    torch.set_num_threads(1)
    m = tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    edits = edit_inputs(SCENE, remove_sentences=True)
    effects = measure_edits(m, "layer.1.mlp.neuron.3", edits)
    from tools.activations import call_unit
    peak = float(call_unit(m, "layer.1.mlp.neuron.3", edits[1].edited)[0].values.max())
    assert effects[1].after == pytest.approx(peak, abs=1e-6)
    assert all(e.before == effects[0].before for e in effects)
