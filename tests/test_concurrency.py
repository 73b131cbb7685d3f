"""`--concurrency` and `--max-usd`: LLM investigations at once in one process, the whole run's
dollar cap, through the real SDK and the loopback fake server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evals.pool import threaded_map
from evals.runner import BenchConfig, RunError, run_bench
from tests.conftest import SANDBOX
from tests.fake_llm import FakeLLMServer, Reply, ToolCall
from tools.run_dir import read_results

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai:gpt-4o-mini"  # in the price table: rows carry a cost


def _respond(request: dict) -> Reply:
    """Probe once, then submit: deterministic per conversation, whatever the order of requests (the
    call ids are fixed: the server counts characters as tokens, and its own ids count requests)."""
    text = json.dumps(request)
    strings = "Task strings/" in text
    if '"role": "tool"' not in text:
        return Reply(tool_calls=[ToolCall("call_function", {"inputs": ["abc", "hello"] if strings else [0.0, 1.0]},
                                              id="call_probe")])
    if strings:
        return _submit("reverse the string", "def function(x):\n    return x[::-1]")
    return _submit("a linear function 2x + 1", "def function(x):\n    return 2.0 * x + 1.0")


def _submit(description: str, code: str) -> Reply:
    return Reply(tool_calls=[ToolCall("submit", {"description": description, "code": code}, id="call_submit")])


def _bench(suite: Path, out: Path, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
           backend_spec: str = MODEL, **kw) -> dict:
    for name, value in server.sdk_env("openai").items():
        monkeypatch.setenv(name, value)
    return run_bench(BenchConfig(suite=str(suite), backend=backend_spec, out=out, unconfined=not SANDBOX, **kw))


# the noised function's observations (so its prompts' token counts) differ from run to run
DETERMINISTIC = ["numeric/f00000", "numeric/f00002", "strings/f00000"]
SAME = ("key", "score", "rounds", "black_box_calls", "answer", "usage", "error")


def test_concurrent_investigations_give_the_rows_of_a_serial_run(
        tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    delay = 0.3  # the run directories' names are of one length: the fake server counts characters as tokens
    with FakeLLMServer(_respond, delay=delay) as server:
        _bench(tiny_suite, tmp_path / "serial", server, monkeypatch, ids=DETERMINISTIC)
        serial_times = sorted(r.received_at for r in server.requests)
        server.requests.clear()
        _bench(tiny_suite, tmp_path / "threaded", server, monkeypatch, ids=DETERMINISTIC, concurrency=3)
        concurrent_times = sorted(r.received_at for r in server.requests)
    serial = {r["key"]: {k: r.get(k) for k in SAME} for r in read_results(tmp_path / "serial" / "results.jsonl")}
    concurrent = {r["key"]: {k: r.get(k) for k in SAME}
                  for r in read_results(tmp_path / "threaded" / "results.jsonl")}
    assert len(serial) == 3 and serial == concurrent
    assert serial["numeric/f00000"]["score"] == 1.0 and serial["numeric/f00000"]["usage"]["cost_usd"] > 0
    # serial requests are at least `delay` apart; concurrent ones overlap (an order, not a timing)
    assert min(b - a for a, b in zip(serial_times, serial_times[1:])) >= delay * 0.9
    assert min(b - a for a, b in zip(concurrent_times, concurrent_times[1:])) < delay / 2
    record = json.loads((tmp_path / "threaded" / "run.json").read_text())
    assert record["concurrency"] == 3 and record["max_usd"] is None
    inflight = (tmp_path / "threaded" / "inflight.log").read_text().splitlines()
    assert len(inflight) == 3  # each marked in flight before it started


def test_the_run_budget_stops_starting_investigations(
        tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(_respond) as server:
        summary = _bench(tiny_suite, tmp_path / "run", server, monkeypatch, concurrency=2, max_usd=1e-9)
        rows = read_results(tmp_path / "run" / "results.jsonl")
        assert len(rows) == 2  # the two started at once finish; nothing starts after the first
        assert all(r["usage"]["cost_usd"] > 0 for r in rows)
        assert summary["stopped"] == {"reason": "budget", "max_usd": 1e-9, "spent_usd": summary["spent_usd"],
                                      "not_started": 2}
        assert summary["spent_usd"] == pytest.approx(sum(r["usage"]["cost_usd"] for r in rows), abs=1e-6)
        assert json.loads((tmp_path / "run" / "run.json").read_text())["max_usd"] == 1e-9
        # a resume counts what the run already spent: with the same cap, nothing more starts
        requests = len(server.requests)
        again = _bench(tiny_suite, tmp_path / "run", server, monkeypatch, concurrency=2, max_usd=1e-9)
        assert len(server.requests) == requests and again["stopped"]["not_started"] == 2
        # a higher cap finishes the run
        done = _bench(tiny_suite, tmp_path / "run", server, monkeypatch, max_usd=10.0)
    assert "stopped" not in done and len(read_results(tmp_path / "run" / "results.jsonl")) == 4


def test_the_serial_path_honours_the_run_budget_too(
        tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(_respond) as server:
        summary = _bench(tiny_suite, tmp_path / "run", server, monkeypatch, max_usd=1e-9)
    assert summary["stopped"]["not_started"] >= 1
    assert len(read_results(tmp_path / "run" / "results.jsonl")) + summary["stopped"]["not_started"] == 4


def test_threaded_map_runs_at_most_n_at_once_and_stops_when_told() -> None:
    active, most, lock = [0], [0], threading.Lock()

    def work(x: int) -> int:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return x * 2

    assert sorted(threaded_map(work, range(20), concurrency=4)) == [x * 2 for x in range(20)]
    assert most[0] == 4
    seen: list[int] = []
    out = list(threaded_map(work, range(20), concurrency=2, on_submit=seen.append, stop=lambda: len(seen) >= 3))
    assert len(out) == 3 and seen == [0, 1, 2]


def test_bad_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="concurrency must be >= 1"):
        run_bench(BenchConfig(suite="x", backend="oracle", out=tmp_path / "a", concurrency=0))
    with pytest.raises(RunError, match="max_usd must be a positive number"):
        run_bench(BenchConfig(suite="x", backend="oracle", out=tmp_path / "b", max_usd=0.0))


@pytest.mark.parametrize("args, message", [
    (["--concurrency", "0"], "error: --concurrency must be >= 1 (LLM calls at once), got 0"),
    (["--max-usd", "-1"], "error: --max-usd must be a positive number of dollars, got -1.0"),
    (["--max-usd", "nan"], "error: --max-usd must be a positive number of dollars, got nan"),
    (["--max-usd-per-function", "0"], "error: --max-usd-per-function must be a positive number of dollars, got 0.0"),
])
def test_the_cli_refuses_bad_values_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "evals.cli", "bench", "--out", str(tmp_path / "run"), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == message
    assert not (tmp_path / "run").exists()


def test_the_run_budget_needs_the_models_price(tiny_suite: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    with pytest.raises(RunError, match="max_usd needs a price for 'my-model'.*AIA_PRICES"):
        run_bench(BenchConfig(suite=str(tiny_suite), backend="openai:my-model", out=tmp_path / "run", max_usd=1.0,
                              unconfined=not SANDBOX))
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-model": {"input": 1.0, "output": 2.0}}))
    monkeypatch.setenv("AIA_PRICES", str(prices))
    with FakeLLMServer(_respond) as server:
        summary = _bench(tiny_suite, tmp_path / "run", server, monkeypatch, ids=["numeric/f00000"], max_usd=1.0,
                         backend_spec="openai:my-model")
    assert summary["spent_usd"] > 0 and "stopped" not in summary


@pytest.mark.parametrize("model, price", [
    ("gpt-4o-2024-08-06", (2.50, 10.00)), ("gpt-4o-mini", (0.15, 0.60)), ("gpt-4.1-nano", (0.10, 0.40)),
    ("o3-mini", (1.10, 4.40)), ("o4-mini", (1.10, 4.40)), ("gpt-5-mini", (0.25, 2.00)), ("gpt-5.1", (1.25, 10.00)),
    ("claude-3-5-sonnet-latest", (3.00, 15.00)), ("claude-3-7-sonnet-20250219", (3.00, 15.00)),
    ("claude-sonnet-4-5-20250929", (3.00, 15.00)), ("claude-haiku-4-5", (1.00, 5.00)),
    ("claude-opus-4-1-20250805", (15.00, 75.00)), ("claude-opus-4-5-20251101", (5.00, 25.00)),
])
def test_the_price_table_covers_current_models(model: str, price: tuple[float, float]) -> None:
    from agent.backends.pricing import PriceTable

    found = PriceTable().lookup(model)
    assert found is not None and (found.input, found.output) == price


# ----------------------------------------------------------------------------- aia label

def _label_responder(request: dict) -> Reply:
    """tests/test_label_llm.py's scripted labeler, with call ids fixed (token counts match across runs)."""
    from tests.test_label_llm import _responder

    reply = _responder(request)
    for call in reply.tool_calls:
        call.id = f"call_{reply.text.split()[-1]}"
    return reply


def _label(tmp_path: Path, out: str, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, **kw) -> dict:
    from evals.label_runner import run_labeling
    from tests.planted_tiny import NEURON, planted_model
    from tests.test_labeling import _corpus

    for name, value in server.sdk_env("openai").items():
        monkeypatch.setenv(name, value)
    units = [f"layer.0.mlp.neuron.{n}" for n in (NEURON, 0, 1)]
    return run_labeling(planted_model(), units, MODEL, tmp_path / out, k=8, n_random=6, max_windows=None,
                        corpus=str(_corpus(tmp_path / "corpus.txt")), cache_root=tmp_path / "cache", **kw)


LABEL_SAME = ("unit", "label", "description", "evidence", "scores", "baselines", "usage", "error")


def test_concurrent_labeling_gives_the_rows_of_a_serial_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(_label_responder, delay=0.1) as server:
        _label(tmp_path, "serial", server, monkeypatch)
        serial_times = sorted(r.received_at for r in server.requests)
        server.requests.clear()
        summary = _label(tmp_path, "thread", server, monkeypatch, concurrency=3)
        concurrent_times = sorted(r.received_at for r in server.requests)
    serial = {r["unit"]: {k: r.get(k) for k in LABEL_SAME} for r in read_results(tmp_path / "serial" / "labels.jsonl")}
    concurrent = {r["unit"]: {k: r.get(k) for k in LABEL_SAME}
                  for r in read_results(tmp_path / "thread" / "labels.jsonl")}
    assert len(serial) == 3 and all(r["error"] is None for r in serial.values()) and serial == concurrent
    assert min(b - a for a, b in zip(concurrent_times, concurrent_times[1:])) < 0.05 <= min(
        b - a for a, b in zip(serial_times, serial_times[1:]))
    assert summary["usage"]["llm_calls"] == 18
    assert json.loads((tmp_path / "thread" / "config.json").read_text())["concurrency"] == 3


def test_the_label_run_budget_stops_starting_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(_label_responder) as server:
        summary = _label(tmp_path, "run", server, monkeypatch, concurrency=2, max_usd=1e-9)
    rows = read_results(tmp_path / "run" / "labels.jsonl")
    assert len(rows) == 2 and all(r["usage"]["cost_usd"] > 0 for r in rows)
    assert summary["stopped"]["reason"] == "budget" and summary["stopped"]["not_started"] == 1


def test_each_investigation_keeps_its_own_dollar_budget(tiny_suite: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(_respond) as server:
        _bench(tiny_suite, tmp_path / "run", server, monkeypatch, ids=["numeric/f00000"], concurrency=2,
               max_usd_per_function=1e-9)
    transcript = (tmp_path / "run" / "numeric" / "f00000" / "transcript.jsonl").read_text()
    assert "dollar budget of $1e-09 reached" in transcript
    assert json.loads((tmp_path / "run" / "run.json").read_text())["max_usd_per_function"] == 1e-9
