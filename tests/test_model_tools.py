"""The model tools (agent.model_tools) on real forward passes: tiny random models and MiniLM.

Each tool is checked against the toolkit function it wraps (same numbers), on the effects
that must hold whatever the weights (patching a whole late residual restores the clean run,
steering by 0 changes nothing, causal attention never looks ahead), and on its errors.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from agent.engine import ToolInterrupted
from agent.messages import ToolCall
from agent.model_tools import (
    MODEL_TOOLS,
    ModelToolContext,
    model_tool_registry,
)
from tools.activations import call_unit
from tools.corpus import Corpus
from tools.exemplars import Exemplar, dataset_exemplars
from tools.models import load_model, tiny_model

WORDS = "the river bank flows past a stone mill near green fields and old town walls".split()


@pytest.fixture(scope="module")
def llama():
    return tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(0)
    return Corpus("words", [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20))) for _ in range(60)])


def run(ctx, name, **args):
    return MODEL_TOOLS.execute(ctx, ToolCall("c1", name, args))


def test_registry_kinds_and_schemas():
    chat, label = model_tool_registry("chat"), model_tool_registry("label")
    assert "submit_label" in label and "submit_label" not in chat
    assert "function_vector" in chat and "function_vector" not in label
    shared = {"list_units", "exemplars", "call_unit", "synthesize", "edit", "ablate", "patch", "steer", "attention",
              "record_hypotheses"}
    assert shared <= set(chat.names()) and shared <= set(label.names())
    schema = {s["name"]: s for s in label.anthropic_schemas()}["submit_label"]["input_schema"]
    assert schema["required"] == ["label", "description", "evidence"]
    with pytest.raises(ValueError, match="scope must be"):
        model_tool_registry("bench")


def test_call_unit_matches_the_toolkit_and_skips_special_tokens_for_the_peak(llama):
    ctx = ModelToolContext(llama)
    texts = ["the river bank", "a stone mill near town"]
    out = run(ctx, "call_unit", unit="layer.1.mlp.neuron.3", texts=texts)
    assert not out.is_error
    direct = call_unit(llama, "layer.1.mlp.neuron.3", texts)
    for row, ref in zip(out.data["rows"], direct):
        assert row["values"] == pytest.approx(ref.values.tolist(), abs=1e-6)
        assert row["max"] == pytest.approx(max(ref.values[1:-1]), abs=1e-6)  # [CLS] and [SEP] excluded
    assert "'the river bank': max" in out.text


def test_synthesize_and_edit_report_peaks_consistently(llama):
    ctx = ModelToolContext(llama)
    out = run(ctx, "synthesize", unit="layer.0.mlp.neuron.5", template="I saw the {w} today.",
              slots={"w": ["river", "stone", "mill", "town"]})
    assert len(out.data["texts"]) == 4 and out.data["slot_values"] == sorted(out.data["slot_values"], reverse=True)
    out = run(ctx, "edit", unit="layer.0.mlp.neuron.5", text="I saw the river today.", swaps={"river": ["stone"]},
              remove_words=["today"])
    effects = out.data["effects"]
    assert [e["change"] for e in effects] == ["swapped 'river' -> 'stone'", "removed word 'today'"]
    peak = {t: float(a.values[1:-1].max()) for t, a in
            zip(["I saw the river today.", "I saw the stone today."],
                call_unit(llama, "layer.0.mlp.neuron.5", ["I saw the river today.", "I saw the stone today."]))}
    assert effects[0]["delta"] == pytest.approx(peak["I saw the stone today."] - peak["I saw the river today."],
                                                abs=1e-6)
    bad = run(ctx, "edit", unit="layer.0.mlp.neuron.5", text="no such word", swaps={"river": ["x"]})
    assert bad.is_error and "'river' not in" in bad.text


def test_synthesize_reports_the_slot_token_beside_the_peak(llama):
    """The value at the filled-in word, not the whole-text peak (issue 13)."""
    unit, words = "layer.0.mlp.neuron.5", ["river", "stone", "mill", "town", "walls"]
    out = run(ModelToolContext(llama), "synthesize", unit=unit, template="the {w} bank flows past", slots={"w": words})
    assert not out.is_error and "at slot" in out.text
    for text, slot, peak in zip(out.data["texts"], out.data["slot_values"], out.data["peaks"]):
        ref = call_unit(llama, unit, text)[0]
        assert ref.tokens[3] == "bank"           # [CLS] the w bank ...: the slot is token 2
        assert slot == pytest.approx(float(ref.values[2]), abs=1e-6)
        assert peak == pytest.approx(float(ref.values[1:-1].max()), abs=1e-6)
    assert any(s < p for s, p in zip(out.data["slot_values"], out.data["peaks"]))   # they differ somewhere
    two = run(ModelToolContext(llama), "synthesize", unit=unit, template="{a} and {b}",
              slots={"a": ["river"], "b": ["stone"]})
    assert set(two.data["slots"][0]) == {"a", "b"} and "a " in two.text
    assert "a sample of" not in out.text                       # 5 combinations, all run
    many = run(ModelToolContext(llama), "synthesize", unit=unit, template="{a} {b}",
               slots={"a": words, "b": words})                  # 25 combinations, n defaults to 20
    assert len(many.data["texts"]) == 20 and "(a sample of the 25 combinations: pass a larger n" in many.text


def test_edit_skips_missing_words_matches_whole_words_and_locates_the_peak(llama):
    unit = "layer.0.mlp.neuron.5"
    out = run(ModelToolContext(llama), "edit", unit=unit, text="I saw the river, today.",
              swaps={"river.": ["stone"], "riv": ["x"]}, remove_words=["today", "absent"])
    assert not out.is_error
    assert [e["change"] for e in out.data["effects"]] == ["swapped 'river.' -> 'stone'", "removed word 'today'"]
    assert out.data["effects"][0]["edited"] == "I saw the stone, today."
    assert len(out.data["skipped"]) == 2 and "skipped swap 'riv'" in out.text and "'absent' not in" in out.text
    ref = call_unit(llama, unit, "I saw the river, today.")[0]
    i = int(np.argmax(ref.values[1:-1])) + 1
    assert f"(token {i}" in out.data["peak_at"] and "peak" in out.text and " at " in out.text.splitlines()[1]


def test_unit_stats_scale(llama, corpus, tmp_path):
    ctx = ModelToolContext(llama, corpus=corpus, cache_root=tmp_path, window=12, max_windows=None)
    out = run(ctx, "unit_stats", unit="layer.1.mlp.neuron.2")
    st = out.data
    assert not out.is_error and "fires (> 0) on" in out.text
    q = list(st.token_quantiles.values())
    assert q == sorted(q) and 0.0 <= st.firing_rate <= 1.0 and st.n_tokens > 0
    assert max(st.window_quantiles.values()) <= st.top + 1e-6
    ex = dataset_exemplars(llama, "layer.1.mlp.neuron.2", k=1, corpus=corpus, window=12, root=tmp_path)
    assert st.top == pytest.approx(ex.top[0].score, abs=1e-5)
    assert "Scale on random text" in run(ctx, "exemplars", unit="layer.1.mlp.neuron.2", k=3).text


def test_unit_stats_never_reads_held_out_windows(llama, tmp_path, monkeypatch):
    """In a labeling run the random sample (the scorer's negatives) and the held-out top windows
    are hidden: unit_stats then reads other windows only, and its top skips hidden ones."""
    from tools import exemplars as ex_module
    from tools.exemplars import CacheSpec, cache_depth

    rng = random.Random(1)   # a corpus with more windows than the cache's random sample
    corpus = Corpus("more words", [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20)))
                                   for _ in range(600)])
    unit = "layer.1.mlp.neuron.2"
    full = ex_module.unit_stats(llama, unit, corpus, window=12, root=tmp_path)
    spec = CacheSpec(llama, corpus, 12, None, tmp_path)
    _, sample = cache_depth(spec, 1)
    ex = dataset_exemplars(llama, unit, k=3, corpus=corpus, window=12, root=tmp_path)
    hidden = sample | {ex.top[0].window}
    ids, _ = spec.windows()
    read: list[torch.Tensor] = []
    real = ex_module._window_values
    monkeypatch.setattr(ex_module, "_window_values", lambda m, u, batch: read.append(batch) or real(m, u, batch))
    ctx = ModelToolContext(llama, corpus=corpus, cache_root=tmp_path, window=12, max_windows=None,
                           hidden_windows=lambda: hidden)
    st = run(ctx, "unit_stats", unit=unit).data
    rows = {tuple(r.tolist()) for batch in read for r in batch}
    assert len(ids) > len(sample) and rows
    assert not rows & {tuple(ids[w].tolist()) for w in hidden}               # no hidden window was read
    assert st.top == pytest.approx(ex.top[1].score, abs=1e-5) and st.top < full.top  # the hidden top is skipped
    again = ex_module.unit_stats(llama, unit, corpus, window=12, root=tmp_path, exclude=hidden)
    assert again.token_quantiles == st.token_quantiles                      # drawn with a seed: reproducible


def test_random_exemplars_are_never_top_windows(llama, corpus, tmp_path):
    ex = dataset_exemplars(llama, "layer.0.mlp.neuron.5", k=20, corpus=corpus, n_random=30, window=12, root=tmp_path)
    assert len(ex.random) == 30 and not {e.window for e in ex.random} & {e.window for e in ex.top}


def test_exemplars_from_an_injected_source_and_from_the_cache(llama, corpus, tmp_path):
    asked = []
    fake = [Exemplar(0, ["[CLS]", "the", "river", "bank"], [math.nan, 0.1, 2.5, 0.3], 2.5, "top")]
    ctx = ModelToolContext(llama, exemplar_source=lambda unit, k: asked.append((unit, k)) or fake)
    out = run(ctx, "exemplars", unit="layer.1.mlp.neuron.2", k=3)
    assert asked == [("layer.1.mlp.neuron.2", 3)]
    assert "the [[river]] bank" in out.text and "river 2.5" in out.text
    assert run(ctx, "exemplars", unit="layer.1.mlp.neuron.2", k=0).is_error
    assert "several units" in run(ctx, "exemplars", unit="layer.1.mlp.neuron.0:4").text

    ctx = ModelToolContext(llama, corpus=corpus, cache_root=tmp_path, window=12, max_windows=None)
    out = run(ctx, "exemplars", unit="layer.1.mlp.neuron.2", k=4)
    ref = dataset_exemplars(llama, "layer.1.mlp.neuron.2", k=4, corpus=corpus, window=12, root=tmp_path)
    assert [e.score for e in out.data["exemplars"]] == pytest.approx([e.score for e in ref.top])


def test_interrupt_stops_a_cache_build_and_passes_through_the_registry(llama, corpus, tmp_path):
    ctx = ModelToolContext(llama, corpus=corpus, cache_root=tmp_path, window=12, max_windows=None)
    ctx.interrupt.set()
    with pytest.raises(ToolInterrupted):
        run(ctx, "exemplars", unit="layer.0.mlp.neuron.1", k=3)
    with pytest.raises(ToolInterrupted):
        run(ctx, "call_unit", unit="layer.0.mlp.neuron.1", texts=["a"])
    assert not list(tmp_path.rglob("layer0.safetensors"))   # stopped before its first batch was merged
    ctx.interrupt.clear()
    assert not run(ctx, "exemplars", unit="layer.0.mlp.neuron.1", k=3).is_error


def test_ablate_patch_steer_effects(llama):
    ctx = ModelToolContext(llama)
    out = run(ctx, "ablate", unit="layer.0.mlp", texts=["the river bank flows"], downstream=["layer.1.mlp.neuron.0"])
    assert out.data["kl"][0] > 0 and out.data["downstream"]["layer.1.mlp.neuron.0"][0] > 0
    assert "loss" in out.text and "top next tokens" in out.text
    out = run(ctx, "patch", clean="the river bank", corrupt="the stone bank", site="layer.1.resid")
    assert out.data["recovery"] == pytest.approx(1.0, abs=1e-4)
    assert "same token length" in run(ctx, "patch", clean="a b", corrupt="a b c", site="layer.1.resid").text
    zero = run(ctx, "steer", site="layer.0.mlp.neuron.3", scale=0.0, texts=["the river"])
    big = run(ctx, "steer", site="layer.0.mlp.neuron.3", scale=50.0, texts=["the river"], max_new_tokens=1)
    assert zero.data["kl"][0] == pytest.approx(0.0, abs=1e-6) and big.data["kl"][0] > 1e-4
    assert len(big.data["continuation_after"]) == 1
    assert "use ablate or patch" in run(ctx, "steer", site="layer.0.attn.head.1", scale=1.0, texts=["a"]).text


def test_attention_is_causal_and_normalised(llama):
    ctx = ModelToolContext(llama)
    out = run(ctx, "attention", unit="layer.1.attn.head.2", text="the river bank flows past")
    pattern = np.array(out.data["pattern"])
    assert np.allclose(pattern.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(pattern, 1), 0.0)
    assert llama.model.config._attn_implementation == "sdpa"           # restored after the eager pass
    assert "not an attention head" in run(ctx, "attention", unit="layer.1.mlp.neuron.2", text="a").text


def test_attention_row_pair_and_image(llama):
    ctx = ModelToolContext(llama)
    text = "the river bank flows past"
    full = np.array(run(ctx, "attention", unit="layer.1.attn.head.2", text=text).data["pattern"])
    row = run(ctx, "attention", unit="layer.1.attn.head.2", text=text, query=-1)
    weights = [float(line.rsplit(" ", 1)[1]) for line in row.text.splitlines()[1:-1]]
    assert weights == pytest.approx(full[-1].tolist(), abs=1e-3) and len(weights) == full.shape[1]
    pair = run(ctx, "attention", unit="layer.1.attn.head.2", text=text, query=3, key=1)
    assert pair.text.splitlines()[0].endswith(f"{full[3, 1]:.3f}")
    shown = run(ctx, "attention", unit="layer.1.attn.head.2", text=text, image=True)
    assert shown.images and shown.images[0].startswith(b"\x89PNG")
    assert "key needs query" in run(ctx, "attention", unit="layer.1.attn.head.2", text=text, key=1).text
    assert "outside the text's" in run(ctx, "attention", unit="layer.1.attn.head.2", text=text, query=99).text


def test_top_units_ranks_the_units_call_unit_reads(llama):
    from tools.activations import call_unit

    ctx = ModelToolContext(llama)
    text = "the river bank flows past"
    out = run(ctx, "top_units", text=text, site="mlp", token="bank", k=5)
    pos = out.data["position"]
    assert out.data["tokens"][pos].replace("▁", "").lower() == "bank"
    everything = {f"layer.{layer}.mlp.neuron.{i}": float(v) for layer in range(2)
                  for i, v in enumerate(call_unit(llama, f"layer.{layer}.mlp", [text])[0].values[pos])}
    best = sorted(everything.items(), key=lambda kv: -kv[1])[:5]
    assert out.data["units"] == [u for u, _ in best]
    assert out.data["values"] == pytest.approx([v for _, v in best], abs=1e-5)
    one = run(ctx, "top_units", text=text, site="layer.1.mlp.neuron.0:10", position=-1, k=3)
    assert all(u.startswith("layer.1.mlp.neuron.") and int(u.rsplit(".", 1)[1]) < 10 for u in one.data["units"])
    assert "no token 'lake' in the text; its tokens are:" in run(ctx, "top_units", text=text, token="lake").text
    assert "has layers 0..1" in run(ctx, "top_units", text=text, site="layer.7.mlp").text


def test_tools_are_offered_only_where_they_work():
    from agent.model_tools import capabilities

    minilm = load_model("minilm")
    causal = tiny_model("llama", n_layers=1, d_model=16, n_heads=2, d_mlp=32)
    assert capabilities(minilm) == frozenset() and capabilities(causal) == {"causal"}
    for scope in ("chat", "label"):
        encoder, lm = model_tool_registry(scope, minilm), model_tool_registry(scope, causal)
        assert not {"patch", "steer", "function_vector"} & set(encoder.names())
        assert {"patch", "steer"} <= set(lm.names()) and "top_units" in encoder
    assert "function_vector" in model_tool_registry("chat", causal)
    head = run(ModelToolContext(minilm), "describe_unit", unit="layer.0.attn.head.1")
    assert head.is_error and "defined for causal LMs" in head.text and "attention and ablate" in head.text


def test_minilm_encoder_tools():
    minilm = load_model("minilm")
    ctx = ModelToolContext(minilm)
    out = run(ctx, "ablate", unit="layer.2.attn.head.0:12", texts=["The cat sat on the mat."])
    assert out.data["embedding_cosine"][0] < 0.999 and out.data["loss_before"] is None
    assert out.data["baseline_units"] is None      # the whole site: no other units to compare with
    out = run(ctx, "ablate", unit="layer.2.mlp.neuron.7", texts=["The cat sat on the mat.", "A dog."])
    assert len(out.data["baseline_units"]) == 5 and "layer.2.mlp.neuron.7" not in out.data["baseline_units"]
    effects = out.data["baseline_embedding_effect"]
    assert len(effects) == 2 and all(e >= 0 for e in effects)
    assert len(out.data["token_cosine"][1]) == 5 and "random same-size ablations" in out.text
    assert "per-token effect" in out.text
    pattern = np.array(run(ctx, "attention", unit="layer.0.attn.head.3", text="The cat sat.").data["pattern"])
    assert np.allclose(pattern.sum(-1), 1.0, atol=1e-5) and np.triu(pattern, 1).max() > 0   # bidirectional
    assert "encoder" in run(ctx, "patch", clean="a cat", corrupt="a dog", site="layer.1.resid").text
    units = run(ctx, "list_units")
    assert "6 layers" in units.text and "layer.5.mlp.neuron.0:1536" in units.data["units"]


def test_unit_errors_are_observations_naming_what_exists(llama):
    out = run(ModelToolContext(llama), "call_unit", unit="layer.7.mlp.neuron.1", texts=["a"])
    assert out.is_error and "has layers 0..1" in out.text
    assert "texts is empty" in run(ModelToolContext(llama), "call_unit", unit="layer.0.mlp", texts=[]).text


def test_submit_label_and_hypotheses(llama):
    ctx = ModelToolContext(llama, unit="layer.0.mlp.neuron.1")
    labels = model_tool_registry("label")
    bad = labels.execute(ctx, ToolCall("c", "submit_label",
                                       {"label": "river", "description": "fires on river", "evidence": []}))
    assert bad.is_error and "evidence is empty" in bad.text and ctx.submitted is None
    ok = labels.execute(ctx, ToolCall("c", "submit_label", {"label": " river ", "description": "Fires on 'river'.",
                                                            "evidence": ["call_unit: 'river' 2.1 vs controls 0.1"]}))
    assert ok.answer is not None and ctx.submitted.label == "river" and ctx.submitted.evidence
    out = labels.execute(ctx, ToolCall("c", "record_hypotheses", {"hypotheses": [{"id": "H1", "statement": "river"}]}))
    assert "[open] H1: river" in out.text and "H1" in ctx.ledger.hypotheses


def test_submit_label_checks_the_description_on_the_labeling_exemplars_only(llama):
    """The simulation check reads exemplars through the context's source (the labeling split in a
    labeling run), so a held-out window cannot reach it; a fitting description scores high."""
    asked = []
    seen = [Exemplar(0, ["[CLS]", "the", "river", "bank"], [math.nan, 0.1, 2.5, 0.3], 2.5, "top"),
            Exemplar(2, ["[CLS]", "a", "river", "mill"], [math.nan, 0.0, 1.9, 0.2], 1.9, "top")]
    ctx = ModelToolContext(llama, unit="layer.0.mlp.neuron.1",
                           exemplar_source=lambda unit, k: asked.append((unit, k)) or seen)
    labels = model_tool_registry("label")
    args = {"label": "river", "description": "Fires on the word 'river'.", "evidence": ["exemplars: river"]}
    ok = labels.execute(ctx, ToolCall("c", "submit_label", args))
    assert ok.answer is not None and ok.text.startswith("Label accepted.")
    assert asked == [("layer.0.mlp.neuron.1", 20)]
    assert "on the 2 labeling exemplars" in ok.text and "r = 0.9" in ok.text
    bad = labels.execute(ctx, ToolCall("c", "submit_label", args | {"description": "Fires on the word 'mill'."}))
    assert "r = -" in bad.text or "r = 0.0" in bad.text or "r = 0.1" in bad.text
    assert 'fires most on "mill"' in bad.text


def test_function_vector_finds_top_heads(llama):
    pairs = [[a, b] for a, b in zip("hot big up in".split(), "cold small down out".split())]
    out = run(ModelToolContext(llama), "function_vector", pairs=pairs, n_prompts=1, n_shots=2, top_heads=2)
    assert not out.is_error and len(out.data["heads"]) == 2 and all(h.startswith("layer.") for h in out.data["heads"])
    assert 0.0 <= out.data["accuracy_after"] <= 1.0
    assert "at least 4" in run(ModelToolContext(llama), "function_vector", pairs=pairs[:2], n_shots=3).text


def test_images_on_request(llama):
    from io import BytesIO

    from PIL import Image

    ctx = ModelToolContext(llama, exemplar_source=lambda unit, k: [
        Exemplar(0, ["[CLS]", "the", "river"], [math.nan, 0.1, 2.0], 2.0, "top"),
        Exemplar(1, ["[CLS]", "a", "stone"], [math.nan, 0.3, 0.2], 0.3, "top")])
    assert run(ctx, "call_unit", unit="layer.0.mlp.neuron.1", texts=["a b"]).images == []
    png = run(ctx, "call_unit", unit="layer.0.mlp.neuron.1", texts=["the river", "a stone mill"], image=True).images
    sheet = Image.open(BytesIO(png[0]))
    assert len(png) == 1 and sheet.height > Image.open(BytesIO(run(ctx, "call_unit", unit="layer.0.mlp.neuron.1",
                                                                     texts=["x"], image=True).images[0])).height
    assert len(run(ctx, "exemplars", unit="layer.0.mlp.neuron.1", image=True).images) == 1
