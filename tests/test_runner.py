"""The benchmark runner: reference backends prove the scorers; runs stream, resume, survive kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.runner import BenchConfig, RunError, read_results, run_bench


def _run(suite: Path, out: Path, backend: str, **kw) -> dict:
    return run_bench(BenchConfig(suite=str(suite), backend=backend, out=out, **kw))


def test_oracle_scores_one_and_null_scores_nothing(tiny_suite: Path, tmp_path: Path) -> None:
    oracle = _run(tiny_suite, tmp_path / "oracle", "oracle")
    assert oracle["categories"]["numeric"]["score"] == 1.0  # strict: noise-free reference, noise ignored
    assert oracle["categories"]["strings"]["score"] == 1.0
    assert oracle["categories"]["strings"]["description_mc"] == 1.0
    rows = {r["key"]: r for r in read_results(tmp_path / "oracle" / "results.jsonl")}
    assert rows["numeric/f00002"]["scores"]["domain_iou"] == 1.0
    assert rows["numeric/f00000"]["scores"]["find"] == 1.0
    null = _run(tiny_suite, tmp_path / "null", "null")
    assert null["categories"]["numeric"]["score"] == 0.0
    assert null["categories"]["strings"]["score"] == 0.0
    assert set(json.loads((tmp_path / "null" / "summary.json").read_text())["categories"]) == {"numeric", "strings"}


def test_results_stream_and_resume_without_duplicates(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_suite, out, "oracle", limit=1)
    assert len(read_results(out / "results.jsonl")) == 2  # one per category
    with open(out / "results.jsonl", "a") as fh:  # a line torn by a crash
        fh.write('{"key": "numeric/f00001", "sco')
    _run(tiny_suite, out, "oracle")
    keys = [r["key"] for r in read_results(out / "results.jsonl")]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 4


def test_resume_refuses_a_different_run(tiny_suite: Path, tmp_path: Path) -> None:
    _run(tiny_suite, tmp_path / "run", "oracle", limit=1)
    with pytest.raises(RunError, match="backend: was 'oracle', now 'null'"):
        _run(tiny_suite, tmp_path / "run", "null")


def test_a_crashing_backend_is_recorded_and_the_run_goes_on(tiny_suite: Path, tmp_path: Path) -> None:
    summary = _run(tiny_suite, tmp_path / "run", "py:tests.backends_for_tests:CrashingBackend")
    rows = read_results(tmp_path / "run" / "results.jsonl")
    assert len(rows) == 4 and all("backend exploded" in r["error"] for r in rows)
    assert summary["overall"]["errors"] == 4


def test_parallel_workers_match_serial(tiny_suite: Path, tmp_path: Path) -> None:
    serial = _run(tiny_suite, tmp_path / "serial", "py:tests.backends_for_tests:SlowLinearBackend")
    parallel = _run(tiny_suite, tmp_path / "parallel", "py:tests.backends_for_tests:SlowLinearBackend", workers=2)
    assert serial["categories"]["numeric"]["score"] == parallel["categories"]["numeric"]["score"]
    # the linear answer solves exactly the linear function
    rows = {r["key"]: r for r in read_results(tmp_path / "parallel" / "results.jsonl")}
    assert rows["numeric/f00000"]["score"] == 1.0 and rows["numeric/f00001"]["score"] == 0.0
    assert rows["numeric/f00000"]["black_box_calls"] == 2


def test_kill_9_mid_run_then_resume(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "agent.cli", "bench", "--suite", str(tiny_suite), "--out", str(out),
           "--backend", "py:tests.backends_for_tests:SlowLinearBackend"]
    env = os.environ | {"AIA_TEST_SLEEP": "1.5"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(read_results(out / "results.jsonl")) < 1:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(out / "results.jsonl")
    assert 1 <= len(before) < 4
    env["AIA_TEST_SLEEP"] = "0"
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent)
    after = read_results(out / "results.jsonl")
    assert [r["key"] for r in after[: len(before)]] == [r["key"] for r in before]
    assert sorted(r["key"] for r in after) == sorted({r["key"] for r in after}) and len(after) == 4


def test_a_directory_of_find_scripts_alone_can_be_benchmarked(tiny_suite: Path, tmp_path: Path) -> None:
    """Official FIND layout: scripts (no ground truth); numeric code is scored against the script
    itself (noise averaged out for the strict score), strings against the unit tests."""
    import shutil

    release = tmp_path / "release"
    for category in ("numeric", "strings"):
        for fdir in (tiny_suite / category).iterdir():
            if fdir.is_dir():
                (release / category / fdir.name).mkdir(parents=True)
                for script in fdir.glob("*.py"):
                    shutil.copy(script, release / category / fdir.name / script.name)
    shutil.copy(tiny_suite / "numeric" / "func_name_dict.json", release / "numeric")
    shutil.copy(tiny_suite / "strings" / "unit_test_data.json", release / "strings")
    out = tmp_path / "run"
    _run(Path(f"find:{release}"), out, "py:tests.backends_for_tests:SlowLinearBackend")
    rows = {r["key"]: r for r in read_results(out / "results.jsonl")}
    assert rows["numeric/f00000"]["score"] == 1.0 and rows["numeric/f00000"]["scores"]["find"] == 1.0
    assert rows["numeric/f00001"]["score"] == 0.0  # x^2 + noise is not linear
    assert rows["strings/f00000"]["score"] == 0.0 and "error" in rows["strings/f00000"]
    with pytest.raises(RunError, match="ground truth"):
        _run(Path(f"find:{release}"), tmp_path / "oracle", "oracle")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_llm_backend_benchmarks_suite_functions_over_the_real_sdk(
        provider: str, tiny_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path a user runs: `aia bench --backend openai:...` on suite functions, through the
    real SDK, a loopback server speaking the provider's wire format, the sealed black box, scoring."""
    from tests.fake_llm import FakeLLMServer, Reply, ToolCall

    def respond(request: dict) -> Reply:
        text = json.dumps(request)
        strings = "Task strings/" in text
        if '"role": "tool"' not in text and '"tool_result"' not in text:  # nothing observed yet: probe
            return Reply(tool_calls=[ToolCall("call_function", {"inputs": ["abc", "hello"] if strings else [0.0, 1.0]})])
        if strings:
            return Reply(tool_calls=[ToolCall("submit", {"description": "reverse the string",
                                                         "code": "def function(x):\n    return x[::-1]"})])
        return Reply(tool_calls=[ToolCall("submit", {"description": "a linear function 2x + 1",
                                                     "code": "def function(x):\n    return 2.0 * x + 1.0"})])

    with FakeLLMServer(respond) as server:
        for name, value in server.sdk_env(provider).items():
            monkeypatch.setenv(name, value)
        model = "gpt-4o-mini" if provider == "openai" else "claude-haiku-4-5"
        summary = _run(tiny_suite, tmp_path / "run", f"{provider}:{model}", judge="offline")
    rows = {r["key"]: r for r in read_results(tmp_path / "run" / "results.jsonl")}
    assert rows["numeric/f00000"]["score"] == 1.0 and rows["numeric/f00000"]["black_box_calls"] >= 2
    assert rows["strings/f00000"]["score"] == 1.0
    assert summary["overall"]["input_tokens"] > 0 and summary["overall"]["errors"] <= 2  # the noisy/corrupted ones
    transcript = tmp_path / "run" / "numeric" / "f00000" / "transcript.jsonl"
    assert transcript.exists() and '"type": "end"' in transcript.read_text()
