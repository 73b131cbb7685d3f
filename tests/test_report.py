"""`aia report`: the HTML report of a run, checked as a DOM and in a real headless browser.

The run is real (the tiny hand-written suite, oracle backend); one investigation gets a
synthetic transcript (hypotheses, a long observation, an image) and one a failed
investigation, and one answer is hostile (markup in its description and code), so the
report is exercised on what real runs contain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evals.report import build_report, detect_kind
from evals.report_common import (
    CLIP_CHARS,
    MARKER,
    ReportError,
    exemplar_views,
    shade_tokens,
)
from evals.runner import BenchConfig, run_bench
from find_functions.layout import write_suite
from tools.run_dir import read_results

from .conftest import tiny_functions
from .report_browser import DOM, chromium, needs_chromium, png, run_harness, screenshot

HOSTILE = 'reverses <script>alert("x")</script> & <b>bold</b>'
HOSTILE_CODE = 'def function(x):\n    return "</pre><script>alert(1)</script>"\n'
LONG_OBSERVATION = "f(1) = 2, " * 600


def _synthetic_transcript(log_dir: Path) -> None:
    """An investigation as the agent loop writes it: rounds, tool calls, a ledger that moves, an image."""
    (log_dir / "images").mkdir(parents=True, exist_ok=True)
    (log_dir / "images" / "0001.png").write_bytes(png((200, 30, 30)))
    h1 = {"id": "H1", "statement": "f is linear", "status": "open", "history": [[1, "open", ""]]}
    h1_ok = h1 | {"status": "supported", "history": [[1, "open", ""], [2, "supported", "f(0)=1, f(1)=3, f(2)=5"]]}
    h2 = {"id": "H2", "statement": "f is quadratic", "status": "refuted",
          "history": [[2, "refuted", "second differences are 0"]]}
    events = [
        {"type": "start", "t": 0.0, "task_id": "numeric/f00000", "kind": "numeric", "backend": "openai:test",
         "max_rounds": 5},
        {"type": "system", "t": 0.0, "text": "You are an interpretability agent.\n" * 40},
        {"type": "user", "t": 0.0, "text": "Find out what f does."},
        {"type": "assistant", "t": 0.5, "round": 1, "text": "Probe a few points.",
         "usage": {"input_tokens": 120, "output_tokens": 30},
         "tool_calls": [{"id": "c1", "name": "call_function", "arguments": {"inputs": [0, 1, 2]}}],
         "retries": [{"attempt": 1, "error": "RateLimitError", "wait": 2.0}]},
        {"type": "tool_result", "t": 0.6, "round": 1, "call_id": "c1", "name": "call_function",
         "text": LONG_OBSERVATION, "is_error": False, "images": []},
        {"type": "hypotheses", "t": 0.7, "round": 1, "ledger": {"H1": h1}},
        {"type": "compaction", "t": 0.9, "dropped": 3},  # a type the schema does not know (format version 0)
        {"type": "assistant", "t": 1.0, "round": 2, "text": "Plot it.",
         "tool_calls": [{"id": "c2", "name": "plot", "arguments": {"low": -5, "high": 5}}]},
        {"type": "tool_result", "t": 1.2, "round": 2, "call_id": "c2", "name": "plot", "text": "a straight line",
         "is_error": False,
         "images": ["images/0001.png", "../../../etc/passwd", "images/missing.png"]},
        {"type": "tool_result", "t": 1.3, "round": 2, "call_id": "c3", "name": "run_python", "text": "NameError: y",
         "is_error": True},
        {"type": "hypotheses", "t": 1.4, "round": 2, "ledger": {"H1": h1_ok, "H2": h2}},
        {"type": "end", "t": 1.5, "stop_reason": "submitted", "rounds": 2, "accepted": True, "black_box_calls": 3,
         "answer": {"description": "2x+1"}, "usage": {}},
    ]
    with open(log_dir / "transcript.jsonl", "w") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in events)
        fh.write('{"type": "assistant", "t": 2.0, "te')  # torn last line (a killed run): ignored


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    suite = write_suite(tiny_functions(), root / "suite", {"seed": 0})
    out = root / "run"
    run_bench(BenchConfig(suite=str(suite), backend="oracle", out=out))
    rows = read_results(out / "results.jsonl")
    for row in rows:
        if row["key"] == "numeric/f00001":
            row["answer"] |= {"description": HOSTILE, "code": HOSTILE_CODE, "label": "<i>lbl</i>"}
        if row["key"] == "numeric/f00002":  # as the runner records a crashed investigation
            for k in ("answer", "usage", "rounds"):
                row.pop(k)
            row |= {"error": "investigation failed: RuntimeError: <boom>", "score": 0.0, "scores": {}}
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _synthetic_transcript(out / "numeric" / "f00000")
    build_report(out)
    return out


def _page(run_dir: Path, key: str) -> str:
    return (run_dir / "report" / f"{key}.html").read_text()


def test_files_and_index(run_dir: Path) -> None:
    report = run_dir / "report"
    assert (report / MARKER).is_file()
    keys = [r["key"] for r in read_results(run_dir / "results.jsonl")]
    assert sorted(str(p.relative_to(report).with_suffix("")) for p in report.rglob("*.html")) == \
        sorted(keys + ["index"])
    dom = DOM((report / "index.html").read_text())
    assert dom.find("table", class_="summary"), "the summary table is missing"
    links = [a["href"] for a in dom.find("a") if a.get("href")]
    assert sorted(links) == sorted(f"{k}.html" for k in keys)
    assert all((report / href).is_file() for href in links)
    for text in ("backend", "oracle", "numeric", "strings", "noised", "atomic", "judge ceil / floor", "FIND"):
        assert text in dom.text, text
    assert len(dom.find("tr", **{"data-err": "1"})) == 1  # the crashed investigation is flagged


def test_investigation_page_shows_ledger_transcript_and_image(run_dir: Path) -> None:
    page = _page(run_dir, "numeric/f00000")
    dom = DOM(page)
    assert "f is linear" in dom.text and "f is quadratic" in dom.text
    assert "round 1" in dom.text and "round 2" in dom.text
    assert "evidence: f(0)=1, f(1)=3, f(2)=5" in dom.text and "second differences are 0" in dom.text
    badges = {a.get("class") for a in dom.find("span") if (a.get("class") or "").startswith("badge ")}
    assert {"badge supported", "badge refuted", "badge open"} <= badges
    # the image is copied beside the page; paths that leave the log dir, or do not exist, are dropped
    srcs = [a["src"] for a in dom.find("img")]
    assert srcs == ["f00000/images/0001.png"]
    assert (run_dir / "report" / "numeric" / srcs[0]).read_bytes()[:4] == b"\x89PNG"
    # long observations are clipped and collapsed; the system prompt is collapsed
    assert LONG_OBSERVATION[:CLIP_CHARS + 1] not in page and \
        f"{len(LONG_OBSERVATION) - CLIP_CHARS} more characters" in page
    assert len(dom.find("details")) >= 2
    assert "call_function" in dom.text and "NameError: y" in dom.text
    assert dom.find("div", class_="step error") and dom.find("div", class_="step hypotheses")
    assert "120 in / 30 out tokens" in dom.text
    assert "attempt 1 failed (RateLimitError)" in dom.text and '{"dropped": 3}' in dom.text  # unknown events still show
    for text in ("FIND's own numeric protocol", "black-box calls", "stop reason", "submitted"):
        assert text in dom.text, text


def test_untrusted_text_is_escaped(run_dir: Path) -> None:
    page = _page(run_dir, "numeric/f00001")
    dom = DOM(page)
    assert not dom.find("script") and not dom.find("b") and not dom.find("i")
    assert HOSTILE in dom.text and "<i>lbl</i>" in dom.text
    assert '"</pre><script>alert(1)</script>"' in dom.text  # the code, highlighted but intact as text
    index = DOM((run_dir / "report" / "index.html").read_text())
    assert len(index.find("script")) == 1  # only the report's own sorting/filtering script


def test_failed_investigation_and_missing_transcript(run_dir: Path) -> None:
    dom = DOM(_page(run_dir, "numeric/f00002"))
    assert dom.find("section", id="error")
    assert "investigation failed: RuntimeError: <boom>" in dom.text
    assert "No answer was recorded." in dom.text
    oracle = DOM(_page(run_dir, "strings/f00000"))
    assert "No transcript" in oracle.text and "reverse the string" in oracle.text
    assert "judge's accuracy with the ground-truth description" in oracle.text


def test_rebuild_replaces_and_bad_input_is_refused(run_dir: Path, tmp_path: Path) -> None:
    stale = run_dir / "report" / "numeric" / "stale.html"
    stale.write_text("old")
    assert build_report(run_dir) == run_dir / "report" / "index.html"
    assert not stale.exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="not an aia report"):
        build_report(run_dir, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(run_dir / "run.json", bad / "run.json")
    (bad / "results.jsonl").write_text(json.dumps({"key": "x", "id": "../../x", "category": "numeric"}) + "\n")
    with pytest.raises(ReportError, match="cannot name a report page"):
        build_report(bad)


def test_a_function_with_no_judged_item_has_no_score(run_dir: Path, tmp_path: Path) -> None:
    """A judge that could read none of a description's items leaves it unscored, not 0, and says so."""
    unjudged = tmp_path / "unjudged"
    shutil.copytree(run_dir, unjudged, ignore=shutil.ignore_patterns("report"))
    rows = read_results(unjudged / "results.jsonl")
    for row in rows:
        if row["key"] == "strings/f00000":
            row |= {"score": None, "scores": row["scores"] | {"score": None, "description_mc": None, "unjudged": 3}}
    (unjudged / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = build_report(unjudged).read_text()
    assert '<th class="n">unjudged</th>' in index  # shown only where some item went unjudged
    assert "unit tests the judge could not judge" in _page(unjudged, "strings/f00000")


def test_a_run_without_results_yet(run_dir: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(run_dir / "run.json", fresh / "run.json")
    index = build_report(fresh, tmp_path / "elsewhere" / "report")
    assert index == tmp_path / "elsewhere" / "report" / "index.html"
    dom = DOM(index.read_text())
    assert "No results yet." in dom.text and "0 shown" in dom.text


def test_shade_tokens_and_exemplar_macro() -> None:
    shades = shade_tokens(["the", " cat", " sat", "[SEP]"], [0.0, 2.0, -1.0, None])
    assert [s.style for s in shades] == ["background:rgba(220,60,30,0.00)", "background:rgba(220,60,30,1.00)",
                                         "background:rgba(40,90,220,0.50)", ""]
    assert shades[3].activation is None  # a special token: unshaded, not a zero
    assert shade_tokens(["a"], [1.0], scale=4.0)[0].style.endswith("0.25)")
    assert shade_tokens(["a"], [float("nan")])[0].activation is None
    with pytest.raises(ValueError, match="not a number"):
        shade_tokens(["a"], ["high"])
    with pytest.raises(ValueError, match="1 tokens but 2 values"):
        shade_tokens(["a"], [1.0, 2.0])
    views = exemplar_views({"top": [{"tokens": ["<b>", "x"], "values": [1.0, 0.5]}],
                            "random": [{"tokens": ["y"], "values": [4.0], "held_out": True}]})
    assert views[0].tokens[0].style.endswith("0.25)")  # one scale (4.0) shared by all exemplars
    assert [v.caption for v in views] == ["top 1", "random 1"] and [v.held_out for v in views] == [False, True]
    with pytest.raises(ValueError, match=r"exemplars\['top'\]\[0\] needs lists"):
        exemplar_views({"top": [{"tokens": "abc"}]})


@pytest.mark.parametrize(("tokens", "shown"), [
    (["Ġthe", "Ġcat", "Ċ", "sat"], [" the", " cat", "\n", "sat"]),  # byte-level BPE: markers become spaces
    (["▁the", "▁cat"], [" the", " cat"]),                            # sentencepiece
    (["[CLS]", "the", "cat", "##s"], ["[CLS]", " the", " cat", "s"]),  # WordPiece: spaces between words
])
def test_tokens_read_as_text(tokens: list[str], shown: list[str]) -> None:
    shades = shade_tokens(tokens, [1.0] * len(tokens))
    assert [t.space + t.token for t in shades] == shown
    assert all(t.token.strip(" ") for t in shades)  # the space before a word is never shaded


def test_kind_detection(run_dir: Path, tmp_path: Path) -> None:
    assert detect_kind(run_dir) == "bench"
    with pytest.raises(ReportError, match="holds no run: none of .*a label run .*a bench run"):
        build_report(tmp_path)
    with pytest.raises(ReportError, match="is not a directory"):
        build_report(tmp_path / "absent")


#: Drives the index's script inside the harness: sorting and filtering as a person clicks them.
SORT_AND_FILTER = """
  const res = {};
  const rows = () => [...d.querySelectorAll("#inv tbody tr")].filter(r => !r.hidden)
    .map(r => r.cells[1].textContent + "/" + r.cells[0].textContent + " " + r.cells[3].textContent);
  const score = d.querySelector("#inv thead th:nth-child(4)");
  score.click(); res.ascending = rows();
  score.click(); res.descending = rows();
  const q = d.getElementById("q"), cat = d.getElementById("cat"), err = d.getElementById("err");
  q.value = "reverse"; q.dispatchEvent(new Event("input")); res.search = rows(); res.shown = d.getElementById("shown").textContent;
  q.value = ""; cat.value = "strings"; cat.dispatchEvent(new Event("input")); res.category = rows();
  cat.value = ""; err.checked = true; err.dispatchEvent(new Event("input")); res.errors = rows();
  return res;
"""  # noqa: E501  (a JavaScript snippet, kept verbatim)


@needs_chromium
def test_real_browser_renders_the_report(run_dir: Path, tmp_path: Path) -> None:
    index = run_dir / "report" / "index.html"
    dumped = chromium("--dump-dom", index.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert "Uncaught" not in dumped.stderr, dumped.stderr[-2000:]  # the inline script loaded without errors
    dom = DOM(dumped.stdout)
    assert dom.find("table", class_="summary") and dom.find("table", id="inv")
    assert len([a for a in dom.find("a") if a.get("href", "").endswith(".html")]) == 4

    screenshot(index, tmp_path / "index.png", (1280, 2000))

    seen = run_harness(index, SORT_AND_FILTER, tmp_path)
    assert seen["ascending"][0] == "numeric/f00002 0.000" and seen["descending"][-1] == "numeric/f00002 0.000"
    assert len(seen["ascending"]) == 4
    assert seen["search"] == ["strings/f00000 1.000"] and seen["shown"] == "1 shown"
    assert seen["category"] == ["strings/f00000 1.000"]
    assert seen["errors"] == ["numeric/f00002 0.000"]


def test_the_ledger_timeline_keeps_each_statement_as_it_stood_then() -> None:
    from evals.report_common import ledger_views

    first = {"H1": {"id": "H1", "statement": "fires on 'his'", "status": "open", "history": [[1, "open", ""]]}}
    later = {"H1": {"id": "H1", "statement": "fires on his / him / he", "status": "supported",
                    "history": [[1, "open", ""], [3, "supported", "12 of 12 texts"]]}}
    events = [{"type": "hypotheses", "round": 1, "ledger": first}, {"type": "hypotheses", "round": 3, "ledger": later}]
    hypotheses, timeline = ledger_views(later, events)
    assert [h.statement for h in hypotheses] == ["fires on his / him / he"]
    assert [(r.round, [m.statement for m in r.moves]) for r in timeline] == [
        (1, ["fires on 'his'"]), (3, ["fires on his / him / he"])]
    assert [m.statement for r in ledger_views(later)[1] for m in r.moves] == ["fires on his / him / he"] * 2
