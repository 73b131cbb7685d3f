"""Ground-truth heads: the toy induction model, its verified roles, the builtin head
labeler and head-role accuracy.

The shipped model (find_functions/heads/toy-induction) was trained by
``python -m find_functions.heads.train``; its roles.json holds what verify.py measured.
These tests re-measure: the roles must follow from the shipped weights, and the builtin
labeler, which never reads roles.json, must recover them from its own experiments.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agent.builtin.findings import Notebook
from agent.labeling.heads import (
    investigate_head,
    label_head,
    repeated_texts,
    role_from_text,
    word_pool,
)
from agent.labeling.settings import HeadLabelerSettings
from evals.head_roles import head_role_accuracy, predicted_role
from find_functions.heads import MODEL_DIR, ROLES_PATH, load_roles
from find_functions.heads.verify import assign_role, verify
from tools.models import load_model, tiny_model
from tools.units import UnitError, expand


@pytest.fixture(scope="module")
def toy():
    return load_model("toy-induction")


@pytest.fixture(scope="module")
def roles() -> dict[str, str]:
    return load_roles()


def test_shipped_model_is_small_and_loads_as_llama(toy) -> None:
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 5 * 2 ** 20, f"toy-induction is {size} bytes"
    assert (toy.n_layers, toy.n_heads, toy.is_causal) == (2, 4, True)
    assert type(toy.model).__name__ == "LlamaForCausalLM"
    enc = toy.tokenize(["t12 t5 t33 t12 t5"])
    assert toy.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist()) == \
        ["<bos>", "t12", "t5", "t33", "t12", "t5"]


def test_roles_file_names_every_head_with_both_roles_present(toy, roles) -> None:
    assert set(roles) == {str(u) for u in expand("layer.0.attn", toy) + expand("layer.1.attn", toy)}
    layer0 = {r for u, r in roles.items() if u.startswith("layer.0.")}
    layer1 = {r for u, r in roles.items() if u.startswith("layer.1.")}
    assert "previous-token" in layer0 and "induction" in layer1


def test_verify_reproduces_roles_json_from_the_weights(roles) -> None:
    result = verify(MODEL_DIR)
    assert {u: row["role"] for u, row in result["heads"].items()} == roles
    stored = json.loads(ROLES_PATH.read_text())["heads"]
    for unit, row in result["heads"].items():
        for key in ("previous_token", "induction", "ablation_mean", "ablation_zero"):
            assert row[key] == pytest.approx(stored[unit][key], abs=2e-3), (unit, key)
    # Copying works: the repeated half is far below chance (log 128 = 4.85 nats).
    assert result["losses"]["repeated_half"] < 1.0
    assert result["losses"]["first_half"] > 4.0


def test_assign_role_needs_pattern_and_ablation() -> None:
    assert assign_role({"previous_token": 0.9, "induction": 0.0, "ablation_mean": 1.0}) == "previous-token"
    assert assign_role({"previous_token": 0.1, "induction": 0.7, "ablation_mean": 1.0}) == "induction"
    assert assign_role({"previous_token": 0.9, "induction": 0.0, "ablation_mean": 0.0}) == "other"
    assert assign_role({"previous_token": 0.2, "induction": 0.2, "ablation_mean": 2.0}) == "other"


def test_builtin_labeler_recovers_every_role(toy, roles, tmp_path: Path) -> None:
    rows = []
    for unit in sorted(roles):
        label = investigate_head(toy, unit, tmp_path / unit)
        rows.append({"unit": unit, "label": label.label, "description": label.description})
    acc = head_role_accuracy(rows, roles)
    assert acc["accuracy"] == 1.0, acc["wrong"]
    assert acc["missing"] == []
    events = [json.loads(line) for line in (tmp_path / min(roles) / "transcript.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "start" and events[-1]["type"] == "end"
    assert any(e["type"] == "hypotheses" for e in events)


def test_labeler_on_a_random_tiny_model_finds_no_roles() -> None:
    model = tiny_model("llama", n_layers=2, d_model=32, n_heads=4, seed=3)
    notebook = Notebook()
    heads = expand("layer.0.attn", model) + expand("layer.1.attn", model)
    labels = [label_head(model, str(u), notebook) for u in heads]
    assert {role_from_text(x.description) for x in labels} == {"other"}
    assert all(x.label.startswith("other") for x in labels)
    refuted = [h for h in notebook.hypotheses if h.status == "refuted"]
    assert len(refuted) >= len(labels)          # each head refutes at least one role


def test_a_pattern_the_model_does_not_need_is_other(toy) -> None:
    """With an ablation bar no head can pass, the previous-token pattern alone is not a role."""
    notebook = Notebook()
    label = label_head(toy, "layer.0.attn.head.0", notebook, HeadLabelerSettings(ablation_threshold=100.0))
    assert label.label == "other: previous-token-like pattern, not needed"
    assert role_from_text(f"{label.label}. {label.description}") == "other"
    assert [h.status for h in notebook.hypotheses] == ["refuted", "refuted"]
    assert any("ablat" in e.purpose for e in notebook.experiments)


def test_labeler_rejects_units_that_are_not_one_head(toy) -> None:
    with pytest.raises(ValueError, match="one head"):
        label_head(toy, "layer.0.attn", Notebook())
    with pytest.raises(ValueError, match="one head"):
        label_head(toy, "layer.0.mlp.neuron.1", Notebook())
    with pytest.raises(UnitError, match="heads 0..3"):
        label_head(toy, "layer.1.attn.head.7", Notebook())


def test_labeler_refuses_encoders() -> None:
    with pytest.raises(ValueError, match="causal"):
        label_head(tiny_model("bert", n_layers=1), "layer.0.attn.head.0", Notebook())


def test_probe_texts_repeat_distinct_words(toy) -> None:
    texts = repeated_texts(toy.tokenizer, n_seqs=3, half=5, seed=1)
    for text in texts:
        words = text.split()
        assert words[:5] == words[5:] and len(set(words[:5])) == 5
    assert repeated_texts(toy.tokenizer, n_seqs=3, half=5, seed=1) == texts
    assert set(word_pool(toy.tokenizer)) == {f"t{i}" for i in range(128)}


@pytest.mark.parametrize("text, role", [
    ("previous-token head", "previous-token"),
    ("Attends to the previous token.", "previous-token"),
    ("This head looks one position back, at the preceding token", "previous-token"),
    ("prev token head (layer 0)", "previous-token"),
    ("Induction head: attends to the token after the previous occurrence of the current token", "induction"),
    ("copies the token that followed the earlier occurrence", "induction"),
    ("Attends to the token that came after the last occurrence of this token", "induction"),
    ("An induction head, fed by previous-token heads in layer 0", "induction"),
    ("Not a previous-token head; it is an induction head", "induction"),
    ("Other head (no copying role found): mostly attends to the first token", "other"),
    ("other: duplicate-token head", "other"),
    ("Neither a previous-token nor an induction head.", "other"),
    ("Attends to the previous occurrence of the current token (duplicate token head)", "other"),
    ("Fires on the words 'river', 'lake'", "other"),
    ("role: induction", "induction"),
    ("", "other"),
])
def test_role_from_text(text: str, role: str) -> None:
    assert role_from_text(text) == role


def test_role_from_text_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="string"):
        role_from_text(None)  # type: ignore[arg-type]


def test_head_role_accuracy_counts_and_confusion() -> None:
    roles = {"a": "previous-token", "b": "induction", "c": "other", "d": "induction"}
    rows = [{"unit": "a", "label": "previous-token head", "description": ""},
            {"unit": "b", "label": "x", "description": "Attends to the previous token"},
            {"unit": "c", "label": "other", "description": "sink", "role": "other"},
            {"unit": "z", "label": "induction head", "description": ""}]       # not in the key
    acc = head_role_accuracy(rows, roles)
    assert acc["n"] == 3 and acc["accuracy"] == pytest.approx(2 / 3)
    assert acc["confusion"]["induction"]["previous-token"] == 1
    assert acc["per_role"]["induction"] == {"n": 1, "correct": 0, "recall": 0.0}
    assert acc["per_role"]["previous-token"]["recall"] == 1.0
    assert acc["wrong"] == [{"unit": "b", "true": "induction", "predicted": "previous-token"}]
    assert acc["missing"] == ["d"]
    assert head_role_accuracy([], roles)["accuracy"] is None
    with pytest.raises(ValueError, match="not one of"):
        predicted_role({"unit": "a", "role": "copying"})
    with pytest.raises(ValueError, match="unknown roles"):
        head_role_accuracy(rows, {"a": "copying"})


def test_toolkit_tools_address_toy_heads(toy) -> None:
    """The toy model is a plain Llama: the unit grammar, call_unit and ablate work on it."""
    from tools.activations import call_unit
    from tools.interventions import ablate
    acts = call_unit(toy, "layer.1.attn.head.0", "t1 t2 t3 t1 t2 t3")
    assert acts[0].tokens[0] == "<bos>" and acts[0].values.shape == (7,)
    result = ablate(toy, "layer.0.attn", "t1 t2 t3 t4 t5 t1 t2 t3 t4 t5", mode="zero")
    assert result.loss_after[0] > result.loss_before[0]


@pytest.mark.slow
def test_training_from_scratch_reproduces_the_roles(tmp_path: Path, roles) -> None:
    """The full training run (minutes): same seed, same roles (weights need not be identical)."""
    from find_functions.heads.train import main
    torch.set_num_threads(2)
    main(["--out", str(tmp_path / "toy")])
    assert load_roles(tmp_path / "toy" / "roles.json") == roles
