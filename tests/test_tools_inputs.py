"""Template fills, edits (swaps, removals), LLM hook, and measuring an edit's effect."""
import pytest
import torch

from tools.inputs import edit_inputs, fill_template, measure_edits, synthesize_inputs
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
