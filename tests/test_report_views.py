"""The bench report's views of the truth, and the comparison of runs, on real runs.

Two real runs of the tiny hand-written suite (tests.conftest.tiny_functions): the built-in
scientist (which solves all four, and records its experiments) and `probe-then-guess`
(tests.backends_for_tests: answers the identity for everything, so every view has something
wrong to show). One investigation of the second run gets an LLM-style transcript (call_function
observations as text, and run_python code) as an LLM backend writes it.

Checked: the numeric plot draws the answer's curve, the noise-free reference, the served
outputs, the observations and the two intervals where they belong (read back from the SVG's
coordinates); failed string tests and multiple-choice items land on their own rows; agent code is
highlighted with all of it one click away; the comparison's deltas and disagreements; and all of
it in headless Chromium with a screenshot.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.task import Answer
from evals.judge import judge_choices
from evals.report import build_report
from evals.report_common import CODE_HEAD_LINES, ReportError
from evals.report_compare import build_comparison
from evals.runner import BenchConfig, run_bench
from evals.scoring import ScoringContext, score_description
from find_functions.layout import SuiteEntry, write_suite
from find_functions.spec import MultipleChoiceItem
from tests.test_report_label import write_label_run

from .conftest import tiny_functions
from .report_browser import DOM, needs_chromium, run_harness, screenshot

CODE = "import numpy as np\n" + "".join(f"y{i} = f({i})  # probe {i}\n" for i in range(14)) + \
    'print("</pre><script>alert(1)</script>", y0)\n'


def _llm_transcript(log_dir: Path) -> None:
    """An LLM investigation of numeric/f00000 (2x+1): observations as call_function text, and code."""
    log_dir.mkdir(parents=True, exist_ok=True)
    events = [
        {"type": "start", "t": 0.0, "task_id": "numeric/f00000", "kind": "numeric", "backend": "openai:test",
         "max_rounds": 5},
        {"type": "assistant", "t": 0.5, "round": 1, "text": "Probe.",
         "tool_calls": [{"id": "c1", "name": "call_function", "arguments": {"inputs": [-3, 0, 10, 500]}}]},
        {"type": "tool_result", "t": 0.6, "round": 1, "call_id": "c1", "name": "call_function",
         "text": "f(-3) = -5\nf(0) = 1\nf(10) = 21\nf(500) = 1001", "is_error": False},
        {"type": "assistant", "t": 1.0, "round": 2, "text": "Run code.",
         "tool_calls": [{"id": "c2", "name": "run_python", "arguments": {"code": CODE}}]},
        {"type": "tool_result", "t": 1.2, "round": 2, "call_id": "c2", "name": "run_python", "text": "1",
         "is_error": False},
        {"type": "end", "t": 1.5, "stop_reason": "submitted", "rounds": 2, "accepted": True, "black_box_calls": 18,
         "answer": {"description": "the identity"}},
    ]
    (log_dir / "transcript.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("views")
    suite = write_suite(tiny_functions(), root / "suite", {"seed": 0})
    out = {}
    for name, backend in (("builtin", "builtin"), ("guess", "py:tests.backends_for_tests:ProbeThenGuessBackend")):
        run_bench(BenchConfig(suite=str(suite), backend=backend, out=root / name))
        out[name] = root / name
    _llm_transcript(out["guess"] / "numeric" / "f00000")
    for run in out.values():
        build_report(run)
    return out


def _page(run: Path, key: str) -> str:
    return (run / "report" / f"{key}.html").read_text()


def _rows(run: Path) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in map(json.loads, (run / "results.jsonl").read_text().splitlines())}


class _Svg:
    """The numeric plot of a page, with its pixel-to-data mapping read back from the SVG."""

    def __init__(self, page: str):
        dom = DOM(page)
        svg = dom.find("svg", class_="numplot")
        assert len(svg) == 1, "no numeric plot"
        self.x_range = [float(v) for v in svg[0]["data-x-range"].split(",")]  # type: ignore[union-attr]
        self.y_range = [float(v) for v in svg[0]["data-y-range"].split(",")]  # type: ignore[union-attr]
        frame = dom.find("rect", class_="frame")[0]
        self.left, self.top = float(frame["x"]), float(frame["y"])  # type: ignore[arg-type]
        self.w, self.h = float(frame["width"]), float(frame["height"])  # type: ignore[arg-type]
        self.dom = dom

    def x(self, px: float) -> float:
        return self.x_range[0] + (px - self.left) / self.w * (self.x_range[1] - self.x_range[0])

    def y(self, py: float) -> float:
        return self.y_range[1] - (py - self.top) / self.h * (self.y_range[1] - self.y_range[0])

    def curve(self, kind: str) -> list[tuple[float, float]]:
        path = self.dom.find("path", class_=f"curve {kind}")
        assert len(path) == 1, f"no {kind} curve"
        pts = re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", path[0]["d"] or "")
        return [(self.x(float(a)), self.y(float(b))) for a, b in pts]

    def band(self, kind: str) -> tuple[float, float]:
        rect = self.dom.find("rect", class_=f"band {kind}")
        assert len(rect) == 1, f"no {kind} band"
        x0 = float(rect[0]["x"])  # type: ignore[arg-type]
        return self.x(x0), self.x(x0 + float(rect[0]["width"]))  # type: ignore[arg-type]


def test_scores_record_what_the_report_draws(runs: dict[str, Path]) -> None:
    rows = _rows(runs["guess"])
    curves = rows["numeric/f00002"]["scores"]["curves"]
    assert len(curves["x"]) == len(curves["served"]) == len(curves["answer"]) == len(curves["reference"]) == 256
    assert curves["truth_domain"] == [50.0, 128.0]
    assert curves["answer"][:2] == [-127.5, -126.5]  # the identity
    assert curves["reference"][:2] == [127.5, 126.5]  # -x below the corrupted interval
    assert curves["reference"][-1] == 500.0  # the noise-free centre inside it
    failed = rows["strings/f00000"]["scores"]["code_tests"]
    assert failed["n"] == failed["n_failed"] == 3
    assert failed["failed"][0] == {"input": "abc", "expected": "cba", "got": "abc"}
    items = _rows(runs["builtin"])["strings/f00000"]["scores"]["mc_items"]
    assert [it["choice"] for it in items] == [it["correct"] for it in items] == [0, 1, 2]


def test_numeric_plot_puts_each_layer_where_it_belongs(runs: dict[str, Path]) -> None:
    svg = _Svg(_page(runs["guess"], "numeric/f00002"))
    answer, reference = svg.curve("answer"), svg.curve("reference")
    tol = (svg.y_range[1] - svg.y_range[0]) / svg.h  # a pixel, in data units
    # the identity drawn as the answer, -x (and 500 inside the interval) as the reference
    for x, y in answer:
        if svg.y_range[0] <= x <= svg.y_range[1]:
            assert y == pytest.approx(x, abs=2 * tol)
    for x, y in reference:
        assert y == pytest.approx(500.0 if x > 50 else -x, abs=2 * tol)
    lo, hi = svg.band("truth")
    assert lo == pytest.approx(50, abs=1) and hi == pytest.approx(128, abs=1)
    assert not svg.dom.find("rect", class_="band domain")  # this answer gave no domain
    served = svg.dom.find("g", class_="dots served")
    assert served and int(served[0]["data-n"] or 0) > 200
    assert "leaves the plotted y range" in svg.dom.text  # the identity runs off a range fitted to f


def test_numeric_plot_shows_the_observations_and_the_answer_domain(runs: dict[str, Path]) -> None:
    run = runs["builtin"]
    svg = _Svg(_page(run, "numeric/f00002"))
    lo, hi = svg.band("domain")
    assert lo == pytest.approx(50, abs=1) and hi == pytest.approx(128, abs=1)
    events = [json.loads(line) for line in (run / "numeric" / "f00002" / "transcript.jsonl").read_text().splitlines()]
    recorded = sum(len(e["inputs"]) for e in events if e["type"] == "experiment")
    dots = svg.dom.find("g", class_="dots observed")
    assert dots and int(dots[0]["data-n"] or 0) == recorded > 0
    assert "the transcript records the first inputs of each batch only" in svg.dom.text

    # an LLM's observations are read from its call_function text; 500 lies outside the plotted range
    llm = _Svg(_page(runs["guess"], "numeric/f00000"))
    circles = [(llm.x(float(c["cx"])), llm.y(float(c["cy"]))) for c in llm.dom.find("circle")  # type: ignore[arg-type]
               if c.get("r") == "2.4"]
    assert sorted(round(x) for x, _ in circles) == [-3, 0, 10]
    assert all(y == pytest.approx(2 * x + 1, abs=1.5) for x, y in circles)
    assert "1 observations lie outside the plotted x range" in llm.dom.text


def test_failed_string_tests_and_judge_choices(runs: dict[str, Path]) -> None:
    dom = DOM(_page(runs["guess"], "strings/f00000"))
    page = _page(runs["guess"], "strings/f00000")
    assert "code on the unit tests: 0 of 3 passed" in dom.text
    rows = re.findall(r'<tr class="fail">(.*?)</tr>', page, re.S)
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]  # input, expected, got: each failure on its own row, in its own column
    assert cells == [["'abc'", "'cba'", "'abc'"], ["'cat'", "'tac'", "'cat'"], ["'six'", "'xis'", "'six'"]]
    # the judge could not read the free-text description: every item unjudged, the right one marked
    mc = [r for r in dom.find("tr") if r.get("data-correct") is not None]
    assert [(r["class"], r["data-choice"], r["data-correct"]) for r in mc] == \
        [("unjudged", "", "0"), ("unjudged", "", "1"), ("unjudged", "", "2")]
    solved = DOM(_page(runs["builtin"], "strings/f00000"))
    assert [(r["class"], r["data-choice"]) for r in solved.find("tr") if r.get("data-correct") is not None] == \
        [("ok", "0"), ("ok", "1"), ("ok", "2")]
    assert "code on the unit tests: 3 of 3 passed" in solved.text and not solved.find("tr", class_="fail")


def test_description_scoring_records_each_choice() -> None:
    """Entities and relations: the judge's choice per item is recorded beside the right one."""
    items = tuple(MultipleChoiceItem(inputs=[a, b, c], correct=k) for a, b, c, k in
                  (("dog", "car", "sky", 0), ("tree", "cat", "rock", 1), ("pen", "cup", "cow", 2)))
    entry = SuiteEntry(id="f00000", category="neurons_entities", variant="single", script_path=Path("x.py"),
                       ground_truth=None, unit_tests=items)

    class Animals:
        name = "animals"

        def choose(self, category: str, description: str, item: MultipleChoiceItem) -> int | None:
            hits = [i for i, w in enumerate(item.inputs) if w in ("dog", "cat")]
            return hits[0] if hits else None

    ctx = ScoringContext(serve=lambda xs: [], judge=Animals(), seed=0)
    scores = score_description(entry, Answer(description="animals"), ctx)
    assert [(it["choice"], it["correct"]) for it in scores["mc_items"]] == [(0, 0), (1, 1), (None, 2)]
    assert scores["description_mc"] == 1.0  # the unjudged item is left out
    assert judge_choices(Animals(), "neurons_entities", "x", items) == [0, 1, None]


def test_agent_code_is_highlighted_and_whole_one_click_away(runs: dict[str, Path]) -> None:
    page = _page(runs["guess"], "numeric/f00000")
    dom = DOM(page)
    assert "\\ny1 = f(1)" not in page  # not escaped JSON
    blocks = re.findall(r'<pre class="code"><code>(.*?)</code></pre>', page, re.S)
    assert len(blocks) == 2  # the first lines, and the whole code inside <details>
    text = [re.sub(r"<[^>]+>", "", b) for b in blocks]
    assert len(text[0].rstrip("\n").split("\n")) == CODE_HEAD_LINES and "y13" not in text[0]
    assert "y13 = f(13)" in text[1] and "&lt;/pre&gt;&lt;script&gt;" in text[1]
    assert '<span class="kn">import</span>' in blocks[0]  # highlighted
    assert dom.find("details", class_="wholecode") and "show all 16 lines" in dom.text
    assert not dom.find("script")  # the agent's markup stays text


def test_comparison_of_two_bench_runs(runs: dict[str, Path], tmp_path: Path) -> None:
    index = build_comparison([runs["builtin"], runs["guess"]], tmp_path / "cmp")
    page = index.read_text()
    dom = DOM(page)
    groups = {r["data-group"]: r for r in dom.find("tr") if r.get("data-group")}
    assert set(groups) == {"all", "numeric", "strings"}
    summary = re.findall(r'<tr class="[^"]*" data-group="(\w+)">(.*?)</tr>', page, re.S)
    cells = {g: re.sub(r"<[^>]+>", " ", row).split() for g, row in summary}
    assert cells["numeric"] == ["numeric", "3", "1.000", "0.000", "-1.000"]
    assert cells["strings"] == ["strings", "1", "1.000", "0.000", "-1.000"]
    disagree = re.findall(r'<section id="disagreements">(.*?)</section>', page, re.S)[0]
    assert re.findall(r'<tr data-key="([^"]+)">', disagree) == \
        ["numeric/f00000", "numeric/f00001", "numeric/f00002", "strings/f00000"]
    assert "the judge chose differently on 3 multiple-choice items" in dom.text
    assert len(dom.find("tr", **{"data-err": "1"})) == 4
    # each score links to that run's own page
    links = [a["href"] or "" for a in dom.find("a") if a.get("href")]
    assert any(h.endswith("builtin/report/numeric/f00002.html") for h in links)
    assert all((index.parent / h).resolve().is_file() for h in links)


def test_comparison_of_agreeing_runs_and_refusals(runs: dict[str, Path], tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(runs["builtin"], twin, ignore=shutil.ignore_patterns("report"))
    dom = DOM(build_comparison([runs["builtin"], twin], tmp_path / "same").read_text())
    assert "The runs agree on every function." in dom.text
    label = write_label_run(tmp_path / "label")
    with pytest.raises(ReportError, match=r"different kinds: .*builtin is a bench run, .*label is a label run"):
        build_comparison([runs["builtin"], label], tmp_path / "mixed")
    with pytest.raises(ReportError, match="at least two"):
        build_comparison([runs["builtin"]], tmp_path / "one")


def test_comparison_of_label_runs(tmp_path: Path) -> None:
    a = write_label_run(tmp_path / "a" / "run")
    b = write_label_run(tmp_path / "b" / "run")
    rows = [json.loads(line) for line in (b / "labels.jsonl").read_text().splitlines()[:-1]]
    rows[0]["scores"] = {k: 0.1 for k in rows[0]["scores"]}  # the second labeler did worse on neuron.0
    (b / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = build_comparison([a, b], tmp_path / "cmp").read_text()
    disagree = re.findall(r'<section id="disagreements">(.*?)</section>', page, re.S)[0]
    assert re.findall(r'<tr data-key="([^"]+)">', disagree) == ["layer.3.mlp.neuron.0"]
    assert "scores differ by 0.650" in disagree  # mean of (0.6, 0.9, 0.8, 0.7) against 0.1
    assert "a/run" in page and "b/run" in page  # same directory names: told apart by their parents


#: Reads the plot as the browser lays it out.
READ_PLOT = """
  const svg = d.querySelector("svg.numplot"), box = svg.getBoundingClientRect();
  const band = d.querySelector(".band.truth").getBoundingClientRect();
  return {width: box.width, band: [(band.left - box.left) / box.width, (band.right - box.left) / box.width],
          answer: d.querySelector(".curve.answer").getTotalLength(),
          reference: d.querySelector(".curve.reference").getTotalLength(),
          legend: [...d.querySelectorAll(".legend .key")].map(k => k.textContent)};
"""


@needs_chromium
def test_real_browser_draws_the_plot(runs: dict[str, Path], tmp_path: Path) -> None:
    page = runs["guess"] / "report" / "numeric" / "f00002.html"
    seen = run_harness(page, READ_PLOT, tmp_path, frame=(1280, 900))
    # [50, 128] on an x axis of about [-133, 133]: the band covers the right ~30% of the plot
    assert 0.65 < seen["band"][0] < 0.75 and 0.9 < seen["band"][1] < 1.0
    assert seen["answer"] > 100 and seen["reference"] > 100
    assert any("ground truth" in k for k in seen["legend"]) and any("answer's code" in k for k in seen["legend"])
    img = screenshot(runs["builtin"] / "report" / "numeric" / "f00002.html", tmp_path / "numeric.png", (1280, 1400))
    px = np.asarray(img).reshape(-1, 3).astype(int)
    orange = ((px[:, 0] > 200) & (px[:, 1] > 80) & (px[:, 1] < 130) & (px[:, 2] < 40)).sum()
    assert orange > 100, "the observations are not on screen"
