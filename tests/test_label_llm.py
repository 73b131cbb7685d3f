"""The LLM labeler end to end: `run_labeling` with `openai:` and `anthropic:` backends, through the
real SDKs and the loopback fake server, on the planted 'river' neuron (tests/test_labeling.py).

The scripted investigator reads exemplars, synthesizes, edits, ablates, records a hypothesis
and submits; the test checks that the tools ran on the model (their results went back on the
wire), that the held-out exemplars never reached the LLM, and that the row carries the
label, its scores beside the baselines, and the usage (tokens, dollars) of the unit.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.labeling.llm import LabelingError, investigate_unit_llm, labeling_split_source, labeling_tools
from agent.labeling.neurons import snippet
from agent.model_tools import ModelToolContext
from agent.registry import make_policy
from evals.label_runner import run_labeling
from tests.fake_llm import FakeLLMServer, Reply, ToolCall
from tests.planted_tiny import NEURON, planted_model
from tests.test_labeling import _corpus
from tools.exemplars import Exemplar

UNIT = f"layer.0.mlp.neuron.{NEURON}"


def _script(unit: str) -> list[ToolCall]:
    texts = ["the river ran past the stone house", "a green table by the window"]
    return [
        ToolCall("exemplars", {"unit": unit, "k": 10}),
        ToolCall("synthesize", {"unit": unit, "template": "I saw the {w} today.",
                                "slots": {"w": ["river", "table", "stone", "garden"]}}),
        ToolCall("edit", {"unit": unit, "text": texts[0], "swaps": {"river": ["table", "lake"]}}),
        ToolCall("ablate", {"unit": unit, "texts": texts}),
        ToolCall("record_hypotheses", {"hypotheses": [{"id": "H1", "statement": "fires on the word river",
                                                        "status": "supported", "evidence": "edit: river -> table"}]}),
        ToolCall("submit_label", {"label": "the word 'river'",
                                  "description": "Fires on the word 'river' wherever it appears, and on nothing else.",
                                  "evidence": ["synthesize: 'river' peaks far above the control words",
                                               "edit: swapping 'river' for 'table' silences it"]}),
    ]


def _responder(request: dict) -> Reply:
    """One tool call per turn, chosen by how many tool results the conversation holds so far."""
    text = json.dumps(request)
    unit = re.search(r"Unit under study: (\S+) \(", text).group(1)
    done = text.count('"role": "tool"') + text.count('"type": "tool_result"')
    return Reply(text=f"step {done}", tool_calls=[_script(unit)[done]])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_llm_labels_a_unit_over_the_real_sdk(provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = planted_model()
    kw = {"k": 8, "corpus": str(_corpus(tmp_path / "corpus.txt")), "max_windows": None, "n_random": 6,
          "cache_root": tmp_path / "cache"}
    spec = "openai:gpt-4o-mini" if provider == "openai" else "anthropic:claude-haiku-4-5"
    with FakeLLMServer(_responder) as server:
        for name, value in server.sdk_env(provider).items():
            monkeypatch.setenv(name, value)
        summary = run_labeling(model, UNIT, spec, tmp_path / "run", **kw)
        requests = [json.dumps(r.body) for r in server.requests]
    row = json.loads((tmp_path / "run" / "labels.jsonl").read_text())
    assert "error" not in row, row.get("error")
    assert row["backend"] == spec and row["label"] == "the word 'river'"
    assert row["evidence"][1].startswith("edit: swapping")
    assert row["scores"]["simulation"] > 0.9 > row["baselines"]["random"]["scores"]["simulation"]
    # Usage: six calls, priced from the table.
    assert row["usage"]["llm_calls"] == 6 and row["usage"]["input_tokens"] > 0 and row["usage"]["cost_usd"] > 0
    assert summary["usage"]["llm_calls"] == 6
    # The tools really ran on the model and their results went back to the LLM.
    assert "Edits of one text" in requests[3] and "change -" in requests[3]
    assert "Ablating" in requests[4] and "next-token KL" in requests[4]
    offered = server.requests[0].tool_names()
    assert "submit_label" in offered and "attention" not in offered and "patch" in offered
    # The held-out exemplars never reached the LLM; the labeling ones did, in the first message
    # (run for it before the first turn) and in the exemplars call it made anyway.
    assert "already run for you" in requests[0]
    nan = float("nan")
    for exemplar_reply in (requests[0], requests[1]):
        for e in row["exemplars"]["top"]:
            values = [nan if v is None else v for v in e["values"]]
            text = snippet(Exemplar(0, e["tokens"], values, max(v for v in values if v == v), "top"))
            assert (json.dumps(text)[1:-1] in exemplar_reply) != e["held_out"], text
    transcript = [json.loads(line) for line in (tmp_path / "run" / UNIT / "transcript.jsonl").read_text().splitlines()]
    types = [e["type"] for e in transcript]
    assert types[:3] == ["start", "system", "user"] and types[-1] == "end" and "hypotheses" in types
    assert transcript[-1]["accepted"] is True and transcript[-1]["usage"]["llm_calls"] == 6


def test_labeling_split_source_hides_held_out_windows_of_every_unit(tmp_path: Path) -> None:
    """Other units' exemplars come from their own labeling split (ranks 0, 2, 4...)."""
    model = planted_model()
    corpus = str(_corpus(tmp_path / "corpus.txt"))
    ctx = ModelToolContext(model, corpus=corpus, cache_root=tmp_path / "cache", max_windows=None)
    seen = [Exemplar(0, ["river"], [1.0], 1.0, "top")]
    source = labeling_split_source(ctx, UNIT, seen)
    assert source(UNIT, 5) == seen
    other = "layer.0.mlp.neuron.1"
    full = ctx.dataset_exemplars(other, 20).top
    assert [e.window for e in source(other, 4)] == [e.window for e in full[0:8:2]]


def test_unsubmitted_investigation(tmp_path: Path) -> None:
    """Without submit_label the last answer becomes the description; with no answer at all, an error."""
    model = planted_model()
    seen = [Exemplar(0, ["the", "river"], [0.0, 1.0], 1.0, "top")]
    assert labeling_tools(model, "head").names()[-1] == "submit_label"
    assert "attention" in labeling_tools(model, "head")
    with FakeLLMServer([Reply("It fires on 'river'."), Reply("Still 'river'.")]) as server:
        policy = make_policy("openai:gpt-4o-mini", api_key="k", base_url=server.openai_base_url, max_attempts=1)
        result = investigate_unit_llm(model, UNIT, policy, seen, tmp_path / "a", max_rounds=1, max_windows=None)
    assert result.label == "(not submitted)" and result.description == "Still 'river'."
    assert result.usage.llm_calls == 2
    with FakeLLMServer([Reply(""), Reply("")]) as server:
        with pytest.raises(LabelingError, match="no label"):
            policy = make_policy("openai:gpt-4o-mini", api_key="k", base_url=server.openai_base_url, max_attempts=1)
            investigate_unit_llm(model, UNIT, policy, seen, tmp_path / "b", max_rounds=1, max_windows=None)
    events = [json.loads(line)["type"] for line in (tmp_path / "b" / "transcript.jsonl").read_text().splitlines()]
    assert events[-1] == "error"


def test_labeling_split_serves_up_to_20_windows_and_corpus_search_hides_held_out(tmp_path: Path) -> None:
    """exemplars k=20 is honoured from a deep cache without a held-out window (issue 13), and
    search_corpus never shows the studied unit's held-out or random-sample windows."""
    import random as _random

    from agent.labeling.llm import held_out_windows
    from agent.labeling.neurons import split_exemplars
    from agent.messages import ToolCall as Call
    from agent.model_tools import MODEL_TOOLS
    from tools.corpus import Corpus
    from tools.exemplars import CacheSpec, cache_depth
    from tools.models import tiny_model

    model = tiny_model("llama", n_layers=1, d_model=16, n_heads=2, d_mlp=32)
    words = "the river bank flows past a stone mill near green fields and old town walls".split()
    rng = _random.Random(1)
    corpus = Corpus("big", [" ".join(rng.choice(words) for _ in range(12)) for _ in range(700)])
    unit, other = "layer.0.mlp.neuron.3", "layer.0.mlp.neuron.4"
    ctx = ModelToolContext(model, corpus=corpus, cache_root=tmp_path, window=8, max_windows=None, unit=unit)
    full = ctx.dataset_exemplars(unit, 40).top
    seen, held = split_exemplars(full[:20])
    depth, sample = cache_depth(CacheSpec(model, corpus, 8, None, tmp_path), 0)
    assert depth == 40
    source = labeling_split_source(ctx, unit, seen)
    got = source(unit, 20)
    assert len(got) == 20 and got[:10] == seen
    forbidden = {e.window for e in held} | sample
    assert not {e.window for e in got[10:]} & forbidden and not {e.window for e in got} & {e.window for e in held}
    other_full = ctx.dataset_exemplars(other, 40).top
    assert [e.window for e in source(other, 20)] == [e.window for e in other_full[0:40:2]]
    ctx.exemplar_source = source
    ctx.hidden_windows = lambda: held_out_windows(ctx, unit, seen)
    assert ctx.hidden() >= forbidden
    out = MODEL_TOOLS.execute(ctx, Call("c", "exemplars", {"unit": unit, "k": 20}))
    assert len(out.data["exemplars"]) == 20 and "Scale on random text" in out.text
    out = MODEL_TOOLS.execute(ctx, Call("c", "search_corpus", {"unit": unit, "word": "river", "k": 20}))
    found = out.data["windows"]
    assert found and not {e.window for e in found} & forbidden
    assert out.data["matches"] >= len(found)
    assert all("river" in [t.lower() for t in e.tokens] for e in found)
    # ranked by the activation on the word itself, which is the max over the word's own tokens
    assert [e.at_word for e in found] == sorted((e.at_word for e in found), reverse=True)
    for e in found:
        on_word = [v for t, v in zip(e.tokens, e.values) if t.lower() == "river"]
        assert e.at_word == pytest.approx(max(on_word)) and e.at_word <= e.score
    assert f"{found[0].at_word:.3g} on 'river' (peak" in out.text
