"""`aia label` slice: the offline labeler, the simulation scorer, baselines and the runner.

The planted-neuron test builds a one-layer GPT-2 whose MLP neuron 3 fires only on the
token 'river' (attention and position embeddings zeroed, one embedding direction read by
the neuron), so the right label is known: it must name 'river' and simulate near-perfectly.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from agent.labeling import snippet, split_exemplars, token_word
from evals.label_runner import run_labeling, summarize
from evals.label_scoring import (
    parse_description,
    random_label,
    simulation_score,
    top_token_label,
)
from evals.runner import RunError
from tools.exemplars import Exemplar
from tools.models import tiny_model

TARGET = "river"
NEURON = 3
WORDS = [
    "table", "green", "walk", "seven", "quickly", "paper", "open", "house", "music", "city",
    "market", "light", "stone", "train", "garden", "winter", "letter", "story", "friend", "window",
]


def _ex(tokens: list[str], values: list[float], kind: str = "top") -> Exemplar:
    return Exemplar(window=0, tokens=tokens, values=values, score=max(values), kind=kind)


def test_token_word_strips_tokenizer_marks() -> None:
    assert [token_word(t) for t in ("##ing", "ĠRiver", "▁the", "[CLS]")] == ["ing", "river", "the", "[cls]"]


def test_snippet_marks_peak_and_joins_word_pieces() -> None:
    nan = float("nan")
    wordpiece = _ex(["[CLS]", "the", "pot", "##omac", "river", "into", "[SEP]"], [nan, 0.1, 0.2, 0.1, 3.0, 0.5, nan])
    bpe = _ex(["The", "Ġpot", "omac", "Ġriver", "Ġinto"], [0.1, 0.2, 0.1, 3.0, 0.5])
    assert snippet(wordpiece) == snippet(bpe).lower() == "the potomac [[river]] into"


def test_parse_description_reads_quotes_lexnames_and_classes() -> None:
    spec = parse_description("Fires on the words 'dogs', 'cat' and other noun.animal words; also on punctuation.")
    assert spec.terms == ("dog", "cat")
    assert spec.categories == ("noun.animal",)
    assert spec.punctuation and not spec.start
    plain = parse_description("The neuron responds to rivers and lakes")
    assert plain.terms == ("river", "lake")
    with pytest.raises(ValueError, match="empty"):
        parse_description("  ")


def test_simulation_score_ranks_right_description_first() -> None:
    held = [_ex(["the", "river", "is", "wide"], [0.0, 5.0, 0.1, 0.0]),
            _ex(["a", "dog", "ran", "."], [0.1, 0.0, 0.0, 0.2], "random"),
            _ex(["[CLS]", "river", "##s", "flow"], [float("nan"), 4.0, 0.5, 0.0])]
    right = simulation_score("Fires on the word 'river'.", held)
    wrong = simulation_score("Fires on the word 'dog'.", held)
    assert right > 0.9
    assert wrong < 0
    assert simulation_score("Fires on the word 'zebra'.", held) == 0.0   # constant prediction
    with pytest.raises(ValueError):
        simulation_score("Fires on 'x'.", [])


def test_baseline_labels() -> None:
    seen = [_ex(["a", "river", "bank"], [0.0, 3.0, 1.0]), _ex(["the", "river"], [0.0, 2.0]),
            _ex(["big", "lake"], [0.0, 1.0])]
    assert top_token_label(seen) == "Fires on the word 'river'."
    vocab = ["river", "##s", "[CLS]", "lake", "ab", "tree"]
    a, b = random_label(vocab, 1), random_label(vocab, 1)
    assert a == b and a.split("'")[1] in {"river", "lake", "tree"}


def test_split_keeps_held_out_apart() -> None:
    top = [_ex(["w"], [float(10 - i)]) for i in range(10)]
    seen, held = split_exemplars(top)
    assert len(seen) == len(held) == 5
    assert not {id(e) for e in seen} & {id(e) for e in held}
    assert [e.score for e in held] == [9.0, 7.0, 5.0, 3.0, 1.0]
    with pytest.raises(ValueError):
        split_exemplars(top, holdout_every=1)


def _planted_model():
    """One-layer GPT-2 whose MLP neuron NEURON reads embedding dim 0, set only for TARGET."""
    model = tiny_model("gpt2", n_layers=1, d_model=32, n_heads=4, d_mlp=16, seed=0)
    net = model.model.transformer
    target = model.tokenizer.convert_tokens_to_ids(TARGET)
    with torch.no_grad():
        block = net.h[0]
        block.attn.c_proj.weight.zero_()
        block.attn.c_proj.bias.zero_()
        net.wpe.weight.zero_()
        net.wte.weight[:, 0] = 0.0
        net.wte.weight[target, 0] = 1.0
        block.ln_2.weight.fill_(1.0)
        block.ln_2.bias.zero_()
        block.mlp.c_fc.weight[:, NEURON] = 0.0
        block.mlp.c_fc.weight[0, NEURON] = 3.0
        block.mlp.c_fc.bias[NEURON] = -2.0
    model._fingerprint = None
    return model


def _corpus(path: Path) -> Path:
    rng = random.Random(0)
    lines = []
    for i in range(260):
        words = rng.sample(WORDS, 8)
        if i % 4 == 0:
            words.insert(rng.randrange(8), TARGET)
        lines.append(" ".join(words) + ".")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_planted_neuron_is_labeled_and_run_resumes(tmp_path: Path) -> None:
    model = _planted_model()
    corpus = str(_corpus(tmp_path / "corpus.txt"))
    out = tmp_path / "run"
    kw = {"k": 8, "corpus": corpus, "max_windows": None, "n_random": 8, "cache_root": tmp_path / "cache"}
    summary = run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}", "builtin", out, **kw)
    rows = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert [r["unit"] for r in rows] == [f"layer.0.mlp.neuron.{NEURON}", f"layer.0.mlp.neuron.{NEURON + 1}"]
    planted = rows[0]
    assert TARGET in planted["label"].split(" / ")[0]
    assert f"'{TARGET}'" in planted["description"]
    assert planted["scores"]["simulation"] > 0.9
    assert planted["scores"]["simulation"] > planted["scores"]["random_baseline"]
    transcript = [json.loads(line) for line in (out / planted["unit"] / "transcript.jsonl").read_text().splitlines()]
    assert any(h["status"] == "supported" and TARGET in h["statement"]
               for e in transcript if e["type"] == "hypotheses" for h in e["ledger"].values())
    events = [e["type"] for e in transcript]
    assert events[0] == "start" and events[-1] == "end" and "tool_result" in events
    assert summary["units"] == 2
    assert json.loads((out / "summary.json").read_text())["units"] == 2

    # Resume: nothing is relabeled; a wider range labels only the new unit.
    run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 3}", "builtin", out, **kw)
    units = [json.loads(line)["unit"] for line in (out / "labels.jsonl").read_text().splitlines()]
    assert units == [f"layer.0.mlp.neuron.{i}" for i in range(NEURON, NEURON + 3)]
    with pytest.raises(RunError, match="other settings"):
        run_labeling(model, f"layer.0.mlp.neuron.{NEURON}", "builtin", out, **{**kw, "k": 10})


def test_run_labeling_rejects_bad_arguments(tmp_path: Path) -> None:
    model = tiny_model("gpt2", n_layers=1, d_model=32, n_heads=4, d_mlp=16)
    with pytest.raises(RunError, match="backend"):
        run_labeling(model, "layer.0.mlp.neuron.0", "gpt-9", tmp_path / "a")
    with pytest.raises(RunError, match="workers"):
        run_labeling(model, "layer.0.mlp.neuron.0", "builtin", tmp_path / "b", workers=2)
    with pytest.raises(RunError, match="k must be"):
        run_labeling(model, "layer.0.mlp.neuron.0", "builtin", tmp_path / "c", k=2)


def test_summarize_margins() -> None:
    rows = [{"scores": {"simulation": 0.6, "random_baseline": 0.0, "top_token_baseline": 0.4}, "seconds": 3.0},
            {"scores": {"simulation": 0.2, "random_baseline": 0.1, "top_token_baseline": 0.3}, "seconds": 3.0}]
    s = summarize(rows)
    assert s["mean"] == {"simulation": 0.4, "random_baseline": 0.05, "top_token_baseline": 0.35}
    assert s["margin_over_top_token"] == 0.05 and s["beats_top_token_share"] == 0.5
    assert s["units_per_minute"] == 20.0
    assert summarize([]) == {"units": 0}
