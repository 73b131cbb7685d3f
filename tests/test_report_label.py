"""`aia report` of a label run: the index (summary against baselines, sortable units), the unit
pages (exemplars shaded per token, held-out ones marked, role, ledger, transcript), partial runs,
and the same pages in a real headless browser.

The run is written by hand in the labels.jsonl row format of `aia label` (a neuron with a
transcript, a neuron labeled twice by a resumed run with unreadable exemplars and no transcript,
a head with its role and no simulation score, a failed unit, and a torn last line).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from evals.cli import app
from evals.report import build_report, detect_kind
from evals.report_common import MARKER, ReportError

from .report_browser import DOM, needs_chromium, png, run_harness, screenshot

HOSTILE = 'fires on <script>alert("x")</script> & "cats"'
KEYS = ("simulation", "detection", "fuzzing", "causal_contrast")


def _scores(*values: float | None) -> dict[str, float | None]:
    return dict(zip(KEYS, values, strict=True))


def _row(unit: str, kind: str, label: str, scores: dict[str, Any], random: dict[str, Any], top: dict[str, Any],
         **extra: Any) -> dict[str, Any]:
    return {"unit": unit, "kind": kind, "backend": "builtin", "label": label, "description": f"{label}: a description",
            "evidence": [f"{label} evidence 1", f"{label} evidence 2"], "scores": scores,
            "baselines": {"random": {"label": "zebra", "scores": random}, "top_token": {"label": "the", "scores": top}},
            "exemplars": {"top": [], "random": []},
            "usage": {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "llm_calls": 0}, "seconds": 2.0} | extra


EXEMPLARS = {
    "top": [{"tokens": ["[CLS]", "the", "cat", "##s", "sat", "[SEP]"], "values": [None, 0.1, 2.0, 1.0, -0.5, None],
             "held_out": False},
            {"tokens": ["[CLS]", "a", "cat", "[SEP]"], "values": [None, 0.0, 1.5, None], "held_out": True}],
    "random": [{"tokens": ["[CLS]", "rain", "<i>", "[SEP]"], "values": [None, 0.0, 0.2, None], "held_out": True}],
}


def _transcript(log_dir: Path) -> None:
    """A unit investigation as the labeler writes it: rounds, a moving ledger, an image."""
    (log_dir / "images").mkdir(parents=True)
    (log_dir / "images" / "0001.png").write_bytes(png((30, 160, 60)))
    h1 = {"id": "H1", "statement": "fires on cats", "status": "open", "history": [[1, "open", ""]]}
    events = [
        {"type": "start", "t": 0.0, "task_id": "layer.3.mlp.neuron.0", "kind": "label", "backend": "builtin"},
        {"type": "assistant", "t": 0.1, "round": 1, "text": "Read the exemplars.",
         "tool_calls": [{"id": "c1", "name": "exemplars", "arguments": {"k": 10}}]},
        {"type": "tool_result", "t": 0.2, "round": 1, "call_id": "c1", "name": "exemplars",
         "text": "cat (2.0), cats (1.5)", "images": ["images/0001.png"]},
        {"type": "hypotheses", "t": 0.3, "round": 1, "ledger": {"H1": h1}},
        {"type": "hypotheses", "t": 0.4, "round": 2, "ledger": {"H1": h1 | {
            "status": "supported", "history": [[1, "open", ""], [2, "supported", "'cat' in 5 frames: 1.9 vs 0.1"]]}}},
        {"type": "end", "t": 0.5, "stop_reason": "submitted", "rounds": 2, "accepted": True, "black_box_calls": 7,
         "answer": {"label": "cats"}},
    ]
    (log_dir / "transcript.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def write_label_run(run: Path) -> Path:
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "minilm", "backend": "builtin", "k": 20,
                                                 "units": "layer.3.mlp.neuron.0:3,layer.1.attn.head.2"}))
    (run / "summary.json").write_text(json.dumps({"units": 4, "units_per_minute": 12.5, "wall_seconds": 19.2}))
    rows = [
        _row("layer.3.mlp.neuron.0", "neuron", "cats", _scores(0.6, 0.9, 0.8, 0.7), _scores(0.1, 0.5, 0.5, 0.5),
             _scores(0.3, 0.7, 0.6, 0.6), exemplars=EXEMPLARS, description=HOSTILE,
             usage={"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0021, "llm_calls": 3}),
        _row("layer.3.mlp.neuron.1", "neuron", "first try", _scores(0.0, 0.5, 0.5, 0.5), _scores(0, 0, 0, 0),
             _scores(0, 0, 0, 0)),
        _row("layer.1.attn.head.2", "head", "previous-token head", _scores(None, 0.8, None, 0.9),
             _scores(None, 0.5, None, 0.5), _scores(None, 0.6, None, 0.4), role="previous-token"),
        _row("layer.3.mlp.neuron.2", "neuron", "", _scores(None, None, None, None), _scores(None, None, None, None),
             _scores(None, None, None, None), error="RuntimeError: <boom>"),
        # resumed: the same unit again, the last row wins; its exemplars cannot be read
        _row("layer.3.mlp.neuron.1", "neuron", "digits", _scores(0.2, 0.6, 0.7, 0.4), _scores(0.0, 0.5, 0.5, 0.5),
             _scores(0.4, 0.6, 0.5, 0.5), exemplars={"top": [{"tokens": ["1", "2"], "values": [1.0]}]}),
    ]
    with open(run / "labels.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
        fh.write('{"unit": "layer.3.mlp.neuron.3", "kind": "neu')  # a run killed mid-write
    _transcript(run / "layer.3.mlp.neuron.0")
    return run


@pytest.fixture(scope="module")
def label_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = write_label_run(tmp_path_factory.mktemp("label") / "run")
    build_report(run)
    return run


def _page(run: Path, unit: str) -> DOM:
    return DOM((run / "report" / "units" / f"{unit}.html").read_text())


def test_index_lists_each_unit_once_with_scores_beside_baselines(label_run: Path) -> None:
    report = label_run / "report"
    assert detect_kind(label_run) == "label" and (report / MARKER).is_file()
    units = ["layer.3.mlp.neuron.0", "layer.3.mlp.neuron.1", "layer.1.attn.head.2", "layer.3.mlp.neuron.2"]
    assert sorted(p.name for p in (report / "units").glob("*.html")) == sorted(f"{u}.html" for u in units)
    dom = DOM((report / "index.html").read_text())
    assert [r["data-unit"] for r in dom.find("tr") if r.get("data-unit")] == units
    assert len(dom.find("tr", **{"data-err": "1"})) == 1
    # the resumed unit shows its last label; each score has its two baselines beside it
    assert "digits" in dom.text and "first try" not in dom.text
    cells = [a.get("data-v") for a in dom.find("td") if "data-v" in a and a.get("class") != "n beats"]
    assert cells[:12] == ["0.6", "0.1", "0.3", "0.9", "0.5", "0.7", "0.8", "0.5", "0.6", "0.7", "0.5", "0.6"]
    for text in ("minilm", "units per minute", "12.50", "previous-token 1", "input tokens", "1,200"):
        assert text in dom.text, text


def test_summary_means_margins_and_share_beating_top_token(label_run: Path) -> None:
    page = (label_run / "report" / "index.html").read_text()
    rows = [re.sub(r"<[^>]+>", " ", row).split() for row in re.findall(r'<tr class="variant">(.*?)</tr>', page, re.S)]
    # simulation: the two neurons that have it with both baselines (the head has none, the failed unit is left out)
    assert ["simulation", "2", "0.400", "0.050", "0.350", "+0.350", "+0.050", "50%"] in rows
    assert ["detection", "3", "0.767", "0.500", "0.633", "+0.267", "+0.133", "67%"] in rows
    groups = [" ".join(re.sub(r"<[^>]+>", " ", g).split())
              for g in re.findall(r'<tr class="group">(.*?)</tr>', page, re.S)]
    assert groups == ["all units (4 units)", "head (1 units)", "neuron (3 units)"]
    assert len(rows) == 4 + 2 + 4  # all units: every score; heads: detection, causal contrast; neurons: all four


def test_unit_page_exemplars_role_ledger_and_transcript(label_run: Path) -> None:
    dom = _page(label_run, "layer.3.mlp.neuron.0")
    spans = [a for a in dom.find("span") if (a.get("class") or "").startswith("tok")]
    assert [a.get("data-act") for a in spans[:6]] == [None, "0.1", "2", "1", "-0.5", None]
    assert spans[0]["class"] == "tok special" and spans[2]["style"] == "background:rgba(220,60,30,1.00)"
    assert spans[4]["style"] == "background:rgba(40,90,220,0.25)"  # negative: blue, on the shared scale 2.0
    assert len(dom.find("div", **{"data-held-out": "1"})) == 2
    assert " cat" in dom.text and "s" in dom.text  # WordPiece pieces read as words
    for text in ("cats evidence 1", "zebra", "round 1", "round 2", "'cat' in 5 frames: 1.9 vs 0.1", "cost (USD)"):
        assert text in dom.text, text
    assert HOSTILE in dom.text and not dom.find("script") and not dom.find("i") and " <i>" in dom.text
    assert [a["src"] for a in dom.find("img")] == ["layer.3.mlp.neuron.0/images/0001.png"]
    assert (label_run / "report" / "units" / "layer.3.mlp.neuron.0" / "images" / "0001.png").is_file()
    assert dom.find("a", rel="next") and not dom.find("a", rel="prev")
    scores = {a["data-score"] for a in dom.find("tr") if a.get("data-score")}
    assert scores == set(KEYS)

    head = _page(label_run, "layer.1.attn.head.2")
    assert "head role" in head.text and "previous-token" in head.text
    assert {a["data-score"] for a in head.find("tr") if a.get("data-score")} == {"detection", "causal_contrast"}


def test_partial_units_do_not_break_the_report(label_run: Path) -> None:
    resumed = _page(label_run, "layer.3.mlp.neuron.1")
    assert "No transcript" in resumed.text
    assert "cannot be shown: exemplars['top'][0]: 2 tokens but 1 values" in resumed.text
    failed = _page(label_run, "layer.3.mlp.neuron.2")
    assert failed.find("section", id="error") and "RuntimeError: <boom>" in failed.text
    assert "No exemplars were recorded" in failed.text


def test_a_label_run_before_its_first_unit(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "minilm", "units": "layer.0.mlp.neuron.0"}))
    assert detect_kind(run) == "label"
    dom = DOM(build_report(run).read_text())
    assert "No scored units yet." in dom.text and "0 shown" in dom.text


def test_bad_label_rows_are_refused_by_name(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "labels.jsonl").write_text(json.dumps({"unit": "../../etc"}) + "\n")
    with pytest.raises(ReportError, match="line 1: unit '../../etc' cannot name a report page"):
        build_report(run)
    (run / "labels.jsonl").write_text("[1]\n")
    with pytest.raises(ReportError, match="line 1 holds list|labels.jsonl:1 is not a JSON object"):
        build_report(run)
    (run / "labels.jsonl").write_text("{oops\n{}\n")
    with pytest.raises(ReportError, match="labels.jsonl:1 is not valid JSON"):
        build_report(run)


def test_cli_picks_the_kind_and_names_what_is_missing(label_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(label_run), "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "r" / "units" / "layer.1.attn.head.2.html").is_file()
    (tmp_path / "empty").mkdir()
    failed = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert failed.exit_code == 2
    assert "holds no run" in failed.output and "labels.jsonl" in failed.output and \
        "session.json" in failed.output


#: Sorts the units by their simulation score both ways, filters by kind, and reads the page's shading.
SORT_UNITS = """
  const units = () => [...d.querySelectorAll("#inv tbody tr")].filter(r => !r.hidden).map(r => r.dataset.unit);
  const sim = d.querySelector('#inv th[data-score="simulation"]'), res = {};
  sim.click(); res.ascending = units();
  sim.click(); res.descending = units();
  const cat = d.getElementById("cat"); cat.value = "head"; cat.dispatchEvent(new Event("input"));
  res.heads = units(); res.shown = d.getElementById("shown").textContent;
  return res;
"""
READ_SHADING = """
  const spans = [...d.querySelectorAll(".ex .tok")];
  return {acts: spans.filter(s => s.dataset.act !== undefined).map(s => +s.dataset.act),
          colours: spans.slice(0, 3).map(s => getComputedStyle(s).backgroundColor),
          held: d.querySelectorAll('.ex[data-held-out="1"]').length};
"""


@needs_chromium
def test_real_browser_sorts_units_and_shades_tokens(label_run: Path, tmp_path: Path) -> None:
    index = label_run / "report" / "index.html"
    seen = run_harness(index, SORT_UNITS, tmp_path)
    # units without the score (the head, the failed one) sort last both ways
    assert seen["ascending"] == ["layer.3.mlp.neuron.1", "layer.3.mlp.neuron.0", "layer.1.attn.head.2",
                                 "layer.3.mlp.neuron.2"]
    assert seen["descending"][:2] == ["layer.3.mlp.neuron.0", "layer.3.mlp.neuron.1"]
    assert seen["heads"] == ["layer.1.attn.head.2"] and seen["shown"] == "1 shown"

    page = label_run / "report" / "units" / "layer.3.mlp.neuron.0.html"
    shading = run_harness(page, READ_SHADING, tmp_path)
    assert shading["acts"] == [0.1, 2, 1, -0.5, 0, 1.5, 0, 0.2]
    assert shading["colours"][0] == "rgba(0, 0, 0, 0)"  # [CLS]: no activation, no shade
    assert shading["colours"][2] == "rgb(220, 60, 30)"  # the peak token, fully red
    assert shading["held"] == 2
    img = screenshot(page, tmp_path / "unit.png")
    px = np.asarray(img).reshape(-1, 3).astype(int)
    reds = int(((px[:, 0] > 200) & (px[:, 1] > 40) & (px[:, 1] < 80) & (px[:, 2] < 50)).sum())
    assert reds > 50, "the highlighted exemplar tokens are not on screen"


@pytest.mark.slow
def test_report_of_a_real_label_run(tmp_path: Path) -> None:
    """End to end on MiniLM: whatever `aia label` writes, the report shows every exemplar token with its value."""
    from evals.label_runner import run_labeling

    run = tmp_path / "run"
    run_labeling("minilm", "layer.3.mlp.neuron.0", "builtin", run, k=8, max_windows=100)
    build_report(run)
    row = json.loads((run / "labels.jsonl").read_text().splitlines()[0])
    dom = _page(run, "layer.3.mlp.neuron.0")
    exemplars = [ex for group in ("top", "random") for ex in row["exemplars"][group]]
    spans = [a for a in dom.find("span") if (a.get("class") or "").startswith("tok")]
    assert len(spans) == sum(len(ex["tokens"]) for ex in exemplars) > 0
    page = (run / "report" / "units" / "layer.3.mlp.neuron.0.html").read_text()
    shown = dict(re.findall(r'<div class="ex[^"]*" data-caption="([^"]+)"[^>]*>(.*?)</div>', page, re.S))
    for group in ("top", "random"):  # each exemplar under its caption (the page orders them by quantile)
        for n, ex in enumerate(row["exemplars"][group]):
            acts = [float(v) for v in re.findall(r'data-act="([^"]+)"', shown[f"{group} {n + 1}"])]
            assert acts == pytest.approx([v for v in ex["values"] if v is not None], rel=1e-3, abs=1e-4)
    assert len(dom.find("div", **{"data-held-out": "1"})) == sum(bool(ex["held_out"]) for ex in exemplars)
    assert row["label"] in dom.text and dom.find("section", id="transcript")


def _unit_row_cells(page: str, unit: str) -> dict[str, str]:
    """The class of each label score cell on a unit's row of the index (by its data-score)."""
    row = re.search(rf'<tr data-cat="[^"]*" data-unit="{re.escape(unit)}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, unit
    return dict((name, cls) for cls, name in re.findall(r'<td class="n (\w+)" data-v="[^"]*" data-score="(\w+)"',
                                                        row.group(1)))


def test_scores_are_coloured_against_their_own_baselines(label_run: Path) -> None:
    page = (label_run / "report" / "index.html").read_text()
    # digits: simulation 0.2 over random 0.0 but under top 0.4; detection 0.6 ties top 0.6; fuzzing 0.7
    # beats both 0.5s; causal contrast 0.4 under both
    assert _unit_row_cells(page, "layer.3.mlp.neuron.1") == {
        "simulation": "mid", "detection": "mid", "fuzzing": "hi", "causal_contrast": "lo"}
    assert set(_unit_row_cells(page, "layer.3.mlp.neuron.0").values()) == {"hi"}
    assert _unit_row_cells(page, "layer.1.attn.head.2") == {
        "simulation": "none", "detection": "hi", "fuzzing": "none", "causal_contrast": "hi"}
    dom = DOM(page)
    beats = {r["data-unit"]: r for r in dom.find("tr") if r.get("data-unit")}
    assert beats["layer.3.mlp.neuron.0"].get("data-b-simulation") == "1"
    assert beats["layer.3.mlp.neuron.1"].get("data-b-simulation") is None
    assert beats["layer.3.mlp.neuron.1"]["data-s-simulation"] == "0.2"
    cells = re.findall(r'data-unit="([^"]+)".*?<td class="n beats"[^>]*>(.*?)</td>', page, re.S)
    assert [(u, re.sub(r"<[^>]+>", "", c)) for u, c in cells] == [
        ("layer.3.mlp.neuron.0", "4/4"), ("layer.3.mlp.neuron.1", "1/4"), ("layer.1.attn.head.2", "2/2"),
        ("layer.3.mlp.neuron.2", "–")]
    unit = _page(label_run, "layer.3.mlp.neuron.1")
    assert [r["data-standing"] for r in unit.find("tr") if r.get("data-standing")] == ["mid", "mid", "hi", "lo"]


def test_unit_page_shows_simulated_beside_real_numbers_inline(label_run: Path) -> None:
    from evals.label_simulators import OfflineSimulator

    page = (label_run / "report" / "units" / "layer.3.mlp.neuron.0.html").read_text()
    tokens = re.findall(r'<span class="tok" style="[^"]*" data-act="([^"]+)"[^>]*>(.*?)'
                        r'<small class="v">([^<]*)</small><small class="sv" style="[^"]*" data-sim="([^"]+)">', page)
    # every token with a value has its activation and the simulator's prediction written under it
    assert [(t[1], t[2]) for t in tokens[:4]] == [("the", "0.10"), ("cat", "2.00"), ("s", "1.00"), ("sat", "-0.50")]
    order: list[dict[str, Any]] = [ex for group in EXEMPLARS.values() for ex in group]
    ranked = sorted(order, key=lambda ex: -max(v for v in ex["values"] if v is not None))
    expected = OfflineSimulator().simulate(HOSTILE, [ex["tokens"] for ex in ranked])
    wanted = [p for ex, pred in zip(ranked, expected, strict=True)
              for v, p in zip(ex["values"], pred, strict=True) if v is not None]
    assert [float(t[3]) for t in tokens] == pytest.approx(wanted, abs=1e-3) and max(wanted) > 0
    dom = DOM(page)
    assert [a["data-band"] for a in dom.find("div", class_="band")] == \
        ["top quarter", "second quarter", "bottom quarter"]
    assert "not a sample of every activation level" in dom.text
    bars = [int(a["data-count"] or 0) for a in dom.find("g", class_="bar")]
    assert sum(bars) == 8 and len(bars) == 30  # every token with a value, once


def test_an_llm_simulator_is_not_recomputed(tmp_path: Path) -> None:
    run = write_label_run(tmp_path / "run")
    (run / "config.json").write_text(json.dumps({"model": "minilm", "simulator": "openai:gpt-4o-mini"}))
    build_report(run)
    dom = _page(run, "layer.3.mlp.neuron.0")
    assert "The run's simulator (openai:gpt-4o-mini) is an LLM" in dom.text
    assert not dom.find("small", class_="sv") and dom.find("small", class_="v")


def test_a_head_gets_no_simulated_activations(tmp_path: Path) -> None:
    run = write_label_run(tmp_path / "run")
    rows = [json.loads(line) for line in (run / "labels.jsonl").read_text().splitlines()[:-1]]
    for row in rows:
        if row["kind"] == "head":
            row["exemplars"] = EXEMPLARS
    (run / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_report(run)
    head = _page(run, "layer.1.attn.head.2")
    assert "Heads have no simulation score" in head.text
    assert not head.find("small", class_="sv") and len(head.find("small", class_="v")) == 8


def _ledger_run(run: Path) -> Path:
    """Two units labeled 'his / him / he': one whose ledger refuted 'his', one that refuted it and
    then supported it under another hypothesis."""
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "minilm"}))
    rows = [_row(f"layer.0.mlp.neuron.{n}", "neuron", "his / him / he", _scores(0.3, 0.6, 0.6, 0.6),
                 _scores(0.0, 0.5, 0.5, 0.5), _scores(0.2, 0.5, 0.5, 0.5)) for n in (1, 2)]
    (run / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for n, supported_later in ((1, False), (2, True)):
        ledger = {"H1": {"id": "H1", "statement": "fires on the word 'his'", "status": "refuted",
                         "history": [[1, "open", ""], [2, "refuted", "0.1 vs 0.1"]]},
                  "H2": {"id": "H2", "statement": "fires on the word 'him'", "status": "supported",
                         "history": [[1, "supported", "2.0 vs 0.1"]]}}
        if supported_later:
            ledger["H3"] = {"id": "H3", "statement": "fires on 'his' and 'her'", "status": "supported",
                            "history": [[3, "supported", "1.9 vs 0.1"]]}
        events = [{"type": "start", "t": 0.0, "task_id": f"layer.0.mlp.neuron.{n}", "kind": "label",
                   "backend": "builtin"},
                  {"type": "hypotheses", "t": 0.1, "round": 2, "ledger": ledger}]
        (run / f"layer.0.mlp.neuron.{n}").mkdir()
        (run / f"layer.0.mlp.neuron.{n}" / "transcript.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return run


def test_a_headline_resting_on_a_refuted_hypothesis_is_flagged(tmp_path: Path) -> None:
    run = _ledger_run(tmp_path / "run")
    index = DOM(build_report(run).read_text())
    assert [r["data-unit"] for r in index.find("tr") if r.get("data-refuted")] == ["layer.0.mlp.neuron.1"]
    assert "rests on refuted: his" in index.text
    flagged = _page(run, "layer.0.mlp.neuron.1")
    assert flagged.find("div", id="refuted")
    assert "'his': H1 \"fires on the word 'his'\" is refuted" in flagged.text and "'him'" not in \
        flagged.text.split("Label", 1)[1].split("evidence", 1)[0]
    assert not _page(run, "layer.0.mlp.neuron.2").find("div", id="refuted")  # supported again by H3


#: Filters by score, reads the sort arrows, and measures the table at 1400 px.
FILTER_AND_LAYOUT = """
  const units = () => [...d.querySelectorAll("#inv tbody tr")].filter(r => !r.hidden).map(r => r.dataset.unit);
  const fs = d.getElementById("fscore"), fm = d.getElementById("fmin"), fb = d.getElementById("fbeat"), res = {};
  const arrow = h => getComputedStyle(h, "::after").content;
  const sim = d.querySelector('#inv th[data-score="simulation"]');
  res.before = arrow(sim); sim.click(); res.after = arrow(sim);
  fs.value = "simulation"; fm.value = "0.5"; fm.dispatchEvent(new Event("input")); res.sim05 = units();
  fm.value = ""; fb.checked = true; fb.dispatchEvent(new Event("input")); res.simBeats = units();
  fs.value = "detection"; fs.dispatchEvent(new Event("input")); res.detBeats = units();
  fb.checked = false; fb.dispatchEvent(new Event("input")); res.all = units();
  const wrap = d.querySelector("#units .wide");
  res.scroll = wrap.scrollWidth; res.client = wrap.clientWidth;
  return res;
"""


@needs_chromium
def test_real_browser_filters_by_score_and_fits_1400px(label_run: Path, tmp_path: Path) -> None:
    seen = run_harness(label_run / "report" / "index.html", FILTER_AND_LAYOUT, tmp_path, frame=(1400, 900))
    assert seen["before"] == '" ⇅"' and seen["after"] == '" ▲"'  # sortable, then sorted ascending
    assert seen["sim05"] == ["layer.3.mlp.neuron.0"]
    assert seen["simBeats"] == ["layer.3.mlp.neuron.0"]
    assert sorted(seen["detBeats"]) == ["layer.1.attn.head.2", "layer.3.mlp.neuron.0"]
    assert len(seen["all"]) == 4
    assert seen["scroll"] <= seen["client"], "the units table is clipped at 1400 px"
