"""`aia label`: the offline labeler (reading, word tests, causal tests), the runner (row
format, resume, workers, summary) and the baselines it is scored beside.

The planted-neuron test builds a one-layer GPT-2 whose MLP neuron 3 fires only on the
token 'river' (attention and position embeddings zeroed, one embedding direction read by
the neuron), so the right label is known: it must name 'river' and simulate near-perfectly,
and swapping 'river' out of its exemplars must silence it.
"""
from __future__ import annotations

import io
import json
import os
import random
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from rich.console import Console

from agent.builtin.findings import Notebook
from agent.labeling.neurons import (
    _read_exemplars,
    _second_probes,
    ablation_test,
    edit_test,
    exemplar_text,
    exemplar_words,
    peak_word,
    related,
    snippet,
    split_exemplars,
    token_word,
)
from agent.labeling.settings import LabelerSettings
from evals.label_runner import (
    exemplars_json,
    run_labeling,
    summarize,
    summary_table,
    unit_kind,
)
from evals.label_scoring import random_label, simulation_score, top_token_label
from evals.label_simulators import parse_description
from evals.runner import RunError
from tests.planted_tiny import NEURON, TARGET, planted_model
from tools.exemplars import Exemplar
from tools.models import tiny_model

WORDS = [
    "table", "green", "walk", "seven", "quickly", "paper", "open", "house", "music", "city",
    "market", "light", "stone", "train", "garden", "winter", "letter", "story", "friend", "window",
]


NAN = float("nan")


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
            _ex(["[CLS]", "river", "##s", "flow"], [float("nan"), 4.0, 3.5, 0.0])]     # the word 'rivers' fires
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
    vocab = ["river", "##s", "[CLS]", "lake", "ab", "tree", "##ology"]
    a, b = random_label(vocab, 1), random_label(vocab, 1)
    assert a == b and a.split("'")[1] in {"river", "lake", "tree"}
    assert {random_label(vocab, s) for s in range(20)} == \
        {f"Fires on the word '{w}'." for w in ("river", "lake", "tree")}
    bpe = ["Ġriver", "ology", "Ġlake", "Ġtree"]                       # BPE: only word-start pieces
    assert {random_label(bpe, s).split("'")[1] for s in range(20)} == {"river", "lake", "tree"}
    # The baseline names the whole word whose piece peaks, not the piece.
    pieces = [_ex(["[CLS]", "a", "psych", "##ologist", "[SEP]"], [NAN, 0.1, 0.5, 2.0, NAN])] * 2
    assert top_token_label(pieces + seen) == "Fires on the word 'psychologist'."


def test_labeler_reads_and_names_whole_words() -> None:
    seen = [_ex(["[CLS]", "the", "psych", "##ologist", "said", "[SEP]"], [NAN, 0.0, 0.4, 3.0, 0.1, NAN]),
            _ex(["Ġa", "Ġpsych", "ologist", "Ġwrote"], [0.0, 2.5, 0.2, 0.0])]
    assert [(w.text, w.value) for w in exemplar_words(seen[0])] == \
        [("the", 0.0), ("psychologist", 3.0), ("said", 0.1)]
    assert peak_word(seen[1]).text == "psychologist"
    r = _read_exemplars(seen)
    assert list(r.weight) == ["psychologist"] and r.surface["psychologist"] == {"psychologist": 2}


def test_second_concept_probes_are_unrelated_selective_words() -> None:
    # A max-of-two-concepts unit: military ranks dominate, geology fires in one window.
    def window(hot: str, value: float) -> Exemplar:
        return _ex(["the", hot, "of", "the", "day"], [0.0, value, 0.0, 0.0, 0.0])
    seen = [window("commander", 3.0), window("lieutenant", 3.0), window("commander", 2.9),
            window("general", 2.8), window("geology", 1.0), window("table", 0.1)]
    r = _read_exemplars(seen)
    assert related("commander", "lieutenant") and related("chemist", "chemistry")
    assert not related("commander", "geology")
    assert _second_probes(r, ["commander", "lieutenant", "general"]) == []       # geology not hot enough
    seen[4] = window("geology", 2.5)
    assert _second_probes(_read_exemplars(seen), ["commander", "lieutenant", "general"]) == ["geology"]


def test_split_keeps_held_out_apart() -> None:
    top = [_ex(["w"], [float(10 - i)]) for i in range(10)]
    seen, held = split_exemplars(top)
    assert len(seen) == len(held) == 5
    assert not {id(e) for e in seen} & {id(e) for e in held}
    assert [e.score for e in held] == [9.0, 7.0, 5.0, 3.0, 1.0]
    with pytest.raises(ValueError):
        split_exemplars(top, holdout_every=1)


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


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]


def test_planted_neuron_is_labeled_and_run_resumes(tmp_path: Path) -> None:
    model = planted_model()
    corpus = str(_corpus(tmp_path / "corpus.txt"))
    out = tmp_path / "run"
    kw = {"k": 8, "corpus": corpus, "max_windows": None, "n_random": 8, "cache_root": tmp_path / "cache"}
    summary = run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}", "builtin", out, **kw)
    rows = _rows(out)
    assert [r["unit"] for r in rows] == [f"layer.0.mlp.neuron.{NEURON}", f"layer.0.mlp.neuron.{NEURON + 1}"]
    planted = rows[0]
    assert planted["kind"] == "neuron" and planted["backend"] == "builtin"
    assert TARGET in planted["label"].split(" / ")[0]
    assert f"'{TARGET}'" in planted["description"]
    scores, baselines = planted["scores"], planted["baselines"]
    assert set(scores) == {"simulation", "detection", "fuzzing", "causal_contrast"}
    assert scores["simulation"] > 0.9
    assert scores["simulation"] > baselines["random"]["scores"]["simulation"]
    assert baselines["top_token"]["label"] == f"Fires on the word '{TARGET}'."
    # Exemplars: the top windows in rank order, every other one held out; random ones all held out.
    top = planted["exemplars"]["top"]
    assert [e["held_out"] for e in top] == [i % 2 == 1 for i in range(len(top))]
    assert all(e["held_out"] for e in planted["exemplars"]["random"])
    assert all(len(e["tokens"]) == len(e["values"]) for e in top)
    assert planted["usage"] == {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "llm_calls": 0,
                                "cached_input_tokens": 0}
    # Causal evidence: ablation and the word swap, the swap silencing the planted neuron.
    assert any("zero-ablating" in e for e in planted["evidence"])
    assert any(f"swapping '{TARGET}'" in e and "(100% drop)" in e for e in planted["evidence"])
    transcript = [json.loads(line) for line in (out / planted["unit"] / "transcript.jsonl").read_text().splitlines()]
    ledger = [h for e in transcript if e["type"] == "hypotheses" for h in e["ledger"].values()]
    assert any(h["status"] == "supported" and TARGET in h["statement"] for h in ledger)
    assert any(h["status"] == "supported" and "not its context" in h["statement"] for h in ledger)
    events = [e["type"] for e in transcript]
    assert events[0] == "start" and events[-1] == "end" and "experiment" in events
    assert "black_box_calls" not in transcript[-1]  # nothing counts the subject model's calls; rounds are no count
    assert summary["units"] == 2 and summary["errors"] == 0 and summary["kinds"] == {"neuron": 2}
    sim = summary["scores"]["simulation"]
    assert sim["n"] == 2 and sim["margin_over_random"] == round(sim["agent"] - sim["random"], 4)
    assert summary["units_per_minute"] > 0
    assert json.loads((out / "summary.json").read_text())["units"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["simulator"] == "offline" and config["units"] == f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}"
    assert config["max_windows"] is None and config["labeler_settings"] == asdict(LabelerSettings())

    # Resume: nothing is relabeled; a wider range labels only the new unit.
    run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 3}", "builtin", out, **kw)
    assert [r["unit"] for r in _rows(out)] == [f"layer.0.mlp.neuron.{i}" for i in range(NEURON, NEURON + 3)]
    with pytest.raises(RunError, match="other settings"):
        run_labeling(model, f"layer.0.mlp.neuron.{NEURON}", "builtin", out, **{**kw, "k": 10})

    # Two spawned worker processes (the model sent by value) give the same rows, in any order.
    par = tmp_path / "parallel"
    run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}", "builtin", par, workers=2, **kw)
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    assert sorted(map(strip, _rows(par)), key=lambda r: r["unit"]) == [strip(r) for r in rows]


def test_failed_unit_is_recorded_and_retried_on_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One failing unit gives an error row, not a stopped run; resuming labels it again."""
    import agent.labeling.neurons as labeling

    model = planted_model()
    kw = {"k": 8, "corpus": str(_corpus(tmp_path / "corpus.txt")), "max_windows": None, "n_random": 4,
          "cache_root": tmp_path / "cache"}
    real = labeling.investigate_unit

    def flaky(model, unit, exemplars, log_dir, settings):
        if unit.endswith(f".{NEURON}"):
            raise RuntimeError("boom")
        return real(model, unit, exemplars, log_dir, settings)

    monkeypatch.setattr(labeling, "investigate_unit", flaky)
    out = tmp_path / "run"
    log = io.StringIO()  # not a terminal: one plain line per unit instead of a bar
    summary = run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}", "builtin", out,
                           console=Console(file=log, width=200), **kw)
    assert summary["errors"] == 1 and summary["scores"]["simulation"]["n"] == 1
    lines = [line for line in log.getvalue().splitlines() if line.startswith("layer.0.")]
    assert lines[0].startswith(f"layer.0.mlp.neuron.{NEURON}: failed: RuntimeError: boom (1/2 done, ")
    assert lines[1].startswith(f"layer.0.mlp.neuron.{NEURON + 1}: '") and "(2/2 done, " in lines[1]
    failed = _rows(out)[0]
    assert failed["error"] == "RuntimeError: boom" and failed["scores"]["simulation"] is None
    monkeypatch.setattr(labeling, "investigate_unit", real)
    summary = run_labeling(model, f"layer.0.mlp.neuron.{NEURON}:{NEURON + 2}", "builtin", out, **kw)
    assert summary["errors"] == 0 and summary["units"] == 2
    assert [r["unit"] for r in _rows(out)] == [f"layer.0.mlp.neuron.{i}" for i in (NEURON, NEURON + 1, NEURON)]


def test_a_unit_whose_worker_crashed_is_final_and_a_locked_run_is_refused(tmp_path: Path) -> None:
    """A unit that killed its worker is not labeled again on resume (it would kill it again)."""
    from tools.run_dir import RunDirectory

    model = planted_model()
    kw = {"k": 8, "corpus": str(_corpus(tmp_path / "corpus.txt")), "max_windows": None, "n_random": 4,
          "cache_root": tmp_path / "cache"}
    out = tmp_path / "run"
    with RunDirectory(out, "label"):
        with pytest.raises(RunError, match=rf"in use by another process \(pid {os.getpid()}\)"):
            run_labeling(model, f"layer.0.mlp.neuron.{NEURON}", "builtin", out, **kw)
    run_labeling(model, f"layer.0.mlp.neuron.{NEURON}", "builtin", out, **kw)
    [row] = _rows(out)
    crashed = row | {"label": "", "error": "crashed: ...", "error_kind": "crashed"}
    (out / "labels.jsonl").write_text(json.dumps(crashed) + "\n")
    summary = run_labeling(model, f"layer.0.mlp.neuron.{NEURON}", "builtin", out, **kw)
    assert _rows(out) == [crashed] and summary["errors"] == 1


def test_causal_experiments_on_planted_neuron() -> None:
    """Ablation matters where the neuron fires; swapping its word out silences it, a context word does not."""
    model = planted_model()
    texts = ["the river ran past the stone house", "a quiet river in winter light", "table green river walk"]
    ex = []
    for t in texts:
        from tools.activations import call_unit
        a = call_unit(model, f"layer.0.mlp.neuron.{NEURON}", t)[0]
        ex.append(Exemplar(window=0, tokens=a.tokens, values=[float(v) for v in a.values], score=float(a.values.max()),
                           kind="top"))
    assert exemplar_text(model, ex[0]) == texts[0]
    notebook, evidence = Notebook(), []
    effect = ablation_test(model, f"layer.0.mlp.neuron.{NEURON}", ex, notebook, evidence)
    assert effect > 0 and notebook.hypotheses[-1].status == "supported"
    assert edit_test(model, f"layer.0.mlp.neuron.{NEURON}", ex, TARGET, {TARGET}, notebook, evidence) == \
        pytest.approx(1.0, abs=0.01)
    assert notebook.hypotheses[-1].status == "supported"
    assert edit_test(model, f"layer.0.mlp.neuron.{NEURON}", ex, "stone", set(), notebook, evidence) == \
        pytest.approx(0.0, abs=0.01)
    assert notebook.hypotheses[-1].status == "refuted"
    assert edit_test(model, f"layer.0.mlp.neuron.{NEURON}", ex, "zebra", set(), notebook, evidence) is None
    assert len(evidence) == 3 and "control sentences" in evidence[0]


def test_run_labeling_rejects_bad_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model("gpt2", n_layers=1, d_model=32, n_heads=4, d_mlp=16)
    with pytest.raises(RunError, match="gpt-9"):
        run_labeling(model, "layer.0.mlp.neuron.0", "gpt-9", tmp_path / "a")
    with pytest.raises(RunError, match="workers"):
        run_labeling(model, "layer.0.mlp.neuron.0", "builtin", tmp_path / "b", workers=0)
    with pytest.raises(RunError, match="k must be"):
        run_labeling(model, "layer.0.mlp.neuron.0", "builtin", tmp_path / "c", k=2)
    with pytest.raises(RunError, match="simulator"):
        run_labeling(model, "layer.0.mlp.neuron.0", "builtin", tmp_path / "d", simulator="nonsense")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(RunError, match="OPENAI_API_KEY"):
        run_labeling(model, "layer.0.mlp.neuron.0", "openai:gpt-4o-mini", tmp_path / "e")
    monkeypatch.setitem(sys.modules, "agent.labeling.heads", None)   # the head labeler missing
    with pytest.raises(RunError, match="head labeler"):
        run_labeling(model, "layer.0.attn.head.1", "builtin", tmp_path / "f")


def test_unit_kinds_and_exemplar_json() -> None:
    assert [unit_kind(u) for u in ("layer.0.mlp.neuron.3", "layer.2.attn.head.1", "layer.1.resid.dim.7")] == \
        ["neuron", "head", "dim"]
    nan = float("nan")
    top = [_ex(["[CLS]", "river"], [nan, 2.0]), _ex(["a", "river"], [0.5, 1.23456])]
    rnd = [_ex(["x", "y"], [0.0, 0.1], "random")]
    out = exemplars_json(top, [top[1]], rnd)
    assert out["top"] == [{"tokens": ["[CLS]", "river"], "values": [None, 2.0], "held_out": False},
                          {"tokens": ["a", "river"], "values": [0.5, 1.2346], "held_out": True}]
    assert out["random"] == [{"tokens": ["x", "y"], "values": [0.0, 0.1], "held_out": True}]
    json.dumps(out, allow_nan=False)    # valid JSON: no NaN


def _row(unit: str, sim: float, rnd: float, top: float, seconds: float = 3.0, **extra) -> dict:
    keys = ("simulation", "detection", "fuzzing", "causal_contrast")
    pad = lambda v: {k: (v if k == "simulation" else None) for k in keys}  # noqa: E731
    return {"unit": unit, "kind": "neuron", "label": unit, "scores": pad(sim),
            "baselines": {"random": {"label": "r", "scores": pad(rnd)},
                          "top_token": {"label": "t", "scores": pad(top)}},
            "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5, "llm_calls": 1},
            "seconds": seconds, **extra}


def test_summarize_means_margins_and_throughput() -> None:
    rows = [_row("a", 0.6, 0.0, 0.4), _row("b", 0.2, 0.1, 0.3),
            {**_row("c", 0.0, 0.0, 0.0), "error": "RuntimeError: x"},
            {**_row("d", 0.0, 0.0, 0.0), "kind": "head", "role": "induction",
             "scores": {k: None for k in ("simulation", "detection", "fuzzing", "causal_contrast")}}]
    s = summarize(rows)
    sim = s["scores"]["simulation"]
    assert sim == {"n": 2, "agent": 0.4, "random": 0.05, "margin_over_random": 0.35, "beats_random_share": 1.0,
                   "top_token": 0.35, "margin_over_top_token": 0.05, "beats_top_token_share": 0.5}
    assert set(s["scores"]) == {"simulation"}       # scores nobody has are left out
    assert s["errors"] == 1 and s["kinds"] == {"head": 1, "neuron": 3} and s["roles"] == {"induction": 1}
    assert s["usage"] == {"input_tokens": 40, "output_tokens": 20, "llm_calls": 4, "cost_usd": 2.0,
                          "cached_input_tokens": 0}
    assert s["units_per_minute"] == 20.0            # from per-unit seconds when nothing ran now
    assert summarize(rows, labeled_now=4, wall_seconds=6.0)["units_per_minute"] == 40.0
    assert summarize([]) == {"units": 0, "errors": 0, "kinds": {}}
    from rich.console import Console
    console = Console(width=200, record=True)
    console.print(summary_table(rows, s))
    text = console.export_text()
    assert "0.60*" in text and "0.20 " in text and "failed: RuntimeError" in text   # a beats both, b does not
    margins = [line for line in text.splitlines() if "over random word" in line or "over top token" in line]
    assert "+0.35" in margins[0] and "+0.05" in margins[1]
    assert "baseline: random" in text and "4 units, 1 failed" in text


def _aia(*args: str):
    """`aia ARGS` in-process (a subprocess would import torch again, for seconds)."""
    from typer.testing import CliRunner

    from evals.cli import app
    return CliRunner().invoke(app, list(args))


def test_aia_label_command_and_check_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`aia label` on a model saved to disk (--units repeated, overlapping: one unit), then its resume;
    bad options fail in one line."""
    model = planted_model()
    path = tmp_path / "planted"
    model.model.save_pretrained(path)
    model.tokenizer.save_pretrained(path)
    monkeypatch.setenv("AIA_CACHE_DIR", str(tmp_path / "cache"))
    args = ["label", "--model", str(path), "--units", f"layer.0.mlp.neuron.{NEURON}",
            "--units", f"layer.0.mlp.neuron.{NEURON}:{NEURON + 1}",
            "--out", str(tmp_path / "run"), "--corpus", str(_corpus(tmp_path / "c.txt")), "--max-windows", "0",
            "--k", "8"]
    res = _aia(*args)
    assert res.exit_code == 0, res.output[-2000:]
    assert [r["unit"] for r in _rows(tmp_path / "run")] == [f"layer.0.mlp.neuron.{NEURON}"]
    assert "MEAN" in res.stderr and "units/minute" in res.stderr and "labels.jsonl" in res.stdout
    again = _aia(*args)
    assert again.exit_code == 0 and "1 done, 0 to go" in again.stderr
    bad = _aia(*args[:-2], "--k", "8", "--simulator", "nonsense", "--out", str(tmp_path / "other"))
    assert bad.exit_code == 2 and "error:" in bad.stderr and "simulator" in bad.stderr
    heads = _aia("check", "heads", "--out", str(tmp_path / "h"), "--roles", str(tmp_path / "none.json"))
    assert heads.exit_code == 2 and "no roles file" in heads.stderr


def test_head_units_go_to_the_head_labeler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Builtin head units are dispatched to agent.labeling.heads; the row carries its role, no scores."""
    import types

    from agent.labeling.neurons import UnitLabel

    calls = []

    def investigate_head(model, unit, log_dir, settings):
        calls.append((unit, log_dir))
        return UnitLabel(unit, "previous-token head", "Attends to the previous token.", ["pattern 0.9"])

    fake = types.ModuleType("agent.labeling.heads")
    fake.investigate_head = investigate_head
    fake.role_from_text = lambda text: "previous-token" if "previous" in text else "other"
    monkeypatch.setitem(sys.modules, "agent.labeling.heads", fake)
    model = planted_model()
    kw = {"k": 8, "corpus": str(_corpus(tmp_path / "corpus.txt")), "max_windows": None, "n_random": 4,
          "cache_root": tmp_path / "cache"}
    summary = run_labeling(model, "layer.0.attn.head.2", "builtin", tmp_path / "run", **kw)
    (row,) = _rows(tmp_path / "run")
    assert calls == [("layer.0.attn.head.2", tmp_path / "run" / "layer.0.attn.head.2")]
    assert row["kind"] == "head" and row["role"] == "previous-token" and row["label"] == "previous-token head"
    assert all(v is None for v in row["scores"].values()) and len(row["exemplars"]["top"]) == 8
    assert summary["roles"] == {"previous-token": 1} and summary["scores"] == {}


def test_edit_test_swaps_whole_words_around_a_word_piece() -> None:
    """A peak on a word piece ('riv' of 'rivers') is tested by swapping the words that contain it."""
    model = planted_model()
    from tools.activations import call_unit
    text = "the rivers ran past the stone house"
    a = call_unit(model, f"layer.0.mlp.neuron.{NEURON}", text)[0]
    e = Exemplar(window=0, tokens=a.tokens, values=[float(v) for v in a.values], score=float(a.values.max()),
                 kind="top")
    notebook, evidence = Notebook(), []
    edit_test(model, f"layer.0.mlp.neuron.{NEURON}", [e], "riv", set(), notebook, evidence)
    assert evidence[0].startswith("swapping the words containing 'riv' (rivers) for 'table' in 1 exemplars")
    assert notebook.hypotheses[-1].statement.startswith("the word 'riv' itself")


@pytest.mark.slow
def test_aia_check_heads_on_the_toy_induction_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`aia check heads` labels every head of the toy model and scores the roles against roles.json."""
    from find_functions.heads import MODEL_DIR, ROLES_PATH
    if not ROLES_PATH.is_file() or not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip("the toy induction model is not trained here (python -m find_functions.heads.train)")
    monkeypatch.setenv("AIA_CACHE_DIR", str(tmp_path / "cache"))
    res = _aia("check", "heads", "--out", str(tmp_path / "h"), "--max-windows", "64")
    assert res.exit_code == 0, res.output[-2000:]
    result = json.loads((tmp_path / "h" / "check_heads.json").read_text())
    assert result["n"] == 8 and result["missing"] == [] and result["accuracy"] >= 0.75
    rows = _rows(tmp_path / "h")
    assert {r["kind"] for r in rows} == {"head"} and all(r["role"] for r in rows)
    assert "accuracy" in res.stdout and "previous-token" in res.stdout
