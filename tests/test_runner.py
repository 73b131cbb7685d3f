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

from evals.runner import BenchConfig, RunError, run_bench
from tests.conftest import SANDBOX
from tools.run_dir import read_results


def _run(suite: Path, out: Path, backend: str, **kw) -> dict:
    kw.setdefault("unconfined", not SANDBOX)  # without bubblewrap these runner tests run model code unconfined
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
    cmd = [sys.executable, "-m", "evals.cli", "bench", "--suite", str(tiny_suite), "--out", str(out),
           "--backend", "py:tests.backends_for_tests:SlowLinearBackend", *UNCONFINED]
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
            probe = ["abc", "hello"] if strings else [0.0, 1.0]
            return Reply(tool_calls=[ToolCall("call_function", {"inputs": probe})])
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


# ----------------------------------------------------------------------------- nothing one function does stops a run

REPO = Path(__file__).resolve().parent.parent
UNCONFINED = [] if SANDBOX else ["--unconfined"]  # model code without bubblewrap: the explicit opt-out


def _cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    if not SANDBOX and args[0] == "bench" and any(a.startswith(("py:", "openai", "anthropic", "find:")) for a in args):
        args = (*args, *UNCONFINED)
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def _suite_of(tmp_path: Path, bodies: dict[str, str]) -> Path:
    """A numeric suite whose function fNNNNN has script body `bodies[fNNNNN]` (reference: 2x + 1)."""
    from find_functions.layout import write_suite
    from find_functions.script import render_script
    from find_functions.spec import GroundTruth, SuiteFunction

    reference = "def function(x):\n    return 2.0 * x + 1.0"
    functions = [SuiteFunction(id=fid, category="numeric", variant="clean", script_name="function_code.py",
                               script=render_script(body, "float"), held_out_inputs=[1.25],
                               ground_truth=GroundTruth(description="2x + 1", code=reference, label="linear"))
                 for fid, body in bodies.items()]
    return write_suite(functions, tmp_path / "suite", {"seed": 0})


def test_a_script_that_exits_or_sleeps_at_import_costs_its_function_an_error_row(tmp_path: Path) -> None:
    suite = _suite_of(tmp_path, {
        "f00000": "import sys\nsys.exit(3)\ndef function(x):\n    return x",
        "f00001": "import time\ntime.sleep(1000)\ndef function(x):\n    return x",
        "f00002": "def function(x):\n    return 2.0 * x + 1.0",
    })
    started = time.perf_counter()
    summary = _run(suite, tmp_path / "run", "oracle", load_timeout=5)
    assert time.perf_counter() - started < 120
    rows = {r["key"]: r for r in read_results(tmp_path / "run" / "results.jsonl")}
    assert rows["numeric/f00000"]["error"].startswith("loading the function failed: BlackBoxError")
    assert "exit" in rows["numeric/f00000"]["error"].lower()
    assert "longer than 5 s" in rows["numeric/f00001"]["error"]
    assert rows["numeric/f00002"]["score"] == 1.0 and rows["numeric/f00002"]["error"] is None
    assert summary["categories"]["numeric"]["errors"] == 2


def test_a_function_whose_every_output_failed_gets_an_error_naming_why(tmp_path: Path) -> None:
    suite = _suite_of(tmp_path, {"f00000": "def function(x):\n    raise ValueError('no')"})
    _run(suite, tmp_path / "run", "py:tests.backends_for_tests:ProbeThenGuessBackend")
    [row] = read_results(tmp_path / "run" / "results.jsonl")
    assert row["status"] == "error" and row["score"] is None  # an error, never a silent 0
    assert row["error"].startswith("every output of the function failed: f00000: 2 of 2 inputs failed (ValueError)")
    assert row["black_box_errors"] == ["f00000: 2 of 2 inputs failed (ValueError); their outputs are None"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_function_that_kills_its_worker_gets_a_final_error_row(tiny_suite: Path, tmp_path: Path,
                                                                 workers: int) -> None:
    out = tmp_path / "run"
    cmd = ["bench", "--suite", str(tiny_suite), "--out", str(out), "--workers", str(workers),
           "--backend", "py:tests.backends_for_tests:KillsItsWorkerBackend"]
    env = os.environ | {"AIA_TEST_SLEEP": "0"}
    res = _cli(*cmd, env=env)
    assert res.returncode == 1, res.stderr  # the run finished, with an errored function
    rows = {r["key"]: r for r in read_results(out / "results.jsonl")}
    assert len(rows) == 4 and rows["numeric/f00001"]["error_kind"] == "crashed"
    assert rows["numeric/f00001"]["error"].startswith("crashed: the worker process investigating this function died")
    assert rows["numeric/f00000"]["score"] == 1.0 and "error_kind" not in rows["numeric/f00000"]
    # resuming does not run the crashing function again: the run is complete as it stands
    res = _cli(*cmd, env=env)
    assert res.returncode == 1, res.stderr  # the run finished, with an errored function
    assert len(read_results(out / "results.jsonl")) == 4


def test_a_second_bench_on_the_same_directory_refuses_naming_the_first(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "evals.cli", "bench", "--suite", str(tiny_suite), "--out", str(out),
           "--workers", "1", "--backend", "py:tests.backends_for_tests:SlowLinearBackend", *UNCONFINED]
    first = subprocess.Popen(cmd, env=os.environ | {"AIA_TEST_SLEEP": "1"}, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / "run.json").exists():
            time.sleep(0.05)
        second = _cli(*cmd[3:], env=os.environ | {"AIA_TEST_SLEEP": "0"})
        assert second.returncode == 2
        assert second.stderr.strip() == (f"error: {out} is in use by another process (pid {first.pid}); "
                                         "wait for it to finish or choose another --out")
        assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    finally:
        first.kill()
    keys = [r["key"] for r in read_results(out / "results.jsonl")]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 4


def test_a_summary_counts_each_function_once(tiny_suite: Path, tmp_path: Path) -> None:
    """Directories written twice by the runner before it locked them still summarize right."""
    out = tmp_path / "run"
    _run(tiny_suite, out, "oracle")
    lines = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(lines + [lines[0].replace('"score": 1.0', '"score": 0.5', 1)]) + "\n")
    summary = _run(tiny_suite, out, "oracle")
    assert summary["overall"]["n"] == 4
    assert summary["categories"]["numeric"]["n"] == 3 and summary["categories"]["numeric"]["score"] == 0.8333


def _read_only_prefix(path: Path) -> list[str]:
    """A command prefix under which `path` cannot be written: a read-only bind mount in a private
    mount namespace (root writes through permission bits), or the bits themselves otherwise."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        return []
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind -o ro "{path}" "{path}" && touch "{path}/x"'],
                           capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make a read-only directory here as root (unshare -m: {probe.stderr.strip()!r})")
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && shift && exec "$@"', str(path), "--"]


def test_a_read_only_run_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    cache = tmp_path / "cache"  # empty: building the default suite would take a minute and fill it
    prefix = _read_only_prefix(out)
    res = subprocess.run([*prefix, sys.executable, "-m", "evals.cli", "bench", "--out", str(out)],
                         capture_output=True, text=True, cwd=REPO, env=os.environ | {"AIA_CACHE_DIR": str(cache)},
                         timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {out} is not writable; choose another --out"
    assert not cache.exists() or not any(cache.iterdir())


def test_a_damaged_or_missing_run_json_is_a_clear_error(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(tiny_suite, out, "oracle", limit=1)
    (out / "run.json").write_text((out / "run.json").read_text()[:40])  # cut short
    res = _cli("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--out", str(out))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith(f"error: {out / 'run.json'} is damaged (") and "Traceback" not in res.stderr
    (out / "run.json").unlink()  # results.jsonl alone: another run's rows
    res = _cli("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.strip() == (f"error: {out / 'results.jsonl'} exists without run.json: it belongs to another "
                                  "run; choose another --out")


# ----------------------------------------------------------------------------- judges and progress

def test_the_judge_is_offline_unless_named_and_never_auto(tiny_suite: Path, tmp_path: Path) -> None:
    res = _cli("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "run" / "run.json").read_text())["judge"] == "offline"
    assert "judge: offline" in res.stdout
    res = _cli("bench", "--suite", str(tiny_suite), "--judge", "auto", "--out", str(tmp_path / "auto"))
    assert res.returncode == 2 and "--judge auto is gone: it let the LLM under test grade its own" in res.stderr


def test_descriptions_the_offline_judge_cannot_read_are_counted_not_guessed(tiny_suite: Path, tmp_path: Path) -> None:
    summary = _run(tiny_suite, tmp_path / "run", "py:tests.backends_for_tests:ProbeThenGuessBackend",
                   categories=["strings"])
    [row] = read_results(tmp_path / "run" / "results.jsonl")
    assert row["scores"]["unjudged"] == 3 and row["scores"]["description_mc"] is None
    assert row["scores"]["judge_ceiling"] == 1.0  # the canonical description is executed
    assert summary["categories"]["strings"]["unjudged"] == 3
    assert "description_mc" not in summary["categories"]["strings"]


def test_without_a_terminal_each_category_prints_a_line_when_it_completes(tiny_suite: Path, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    log = io.StringIO()
    run_bench(BenchConfig(suite=str(tiny_suite), backend="oracle", out=tmp_path / "run"), console=Console(file=log))
    lines = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["numeric: 3/3 done", "strings: 1/1 done"] or \
        [line.split(",")[0] for line in lines] == ["strings: 1/1 done", "numeric: 3/3 done"]
    assert all(", mean score 1.000, " in line and line.endswith(" s") for line in lines)
    terminal = io.StringIO()
    run_bench(BenchConfig(suite=str(tiny_suite), backend="oracle", out=tmp_path / "bar"),
              console=Console(file=terminal, force_terminal=True))
    assert "done, mean score" not in terminal.getvalue()


def test_untrusted_code_without_an_os_sandbox_needs_the_explicit_opt_out(tiny_suite: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.confinement import confinement
    from evals.suites import open_suite
    from tools import isolation

    suite = open_suite(str(tiny_suite))
    missing = isolation.Probe(None, None, "bubblewrap (bwrap) is not installed: install it", ())
    monkeypatch.setattr(isolation, "probe", lambda: missing)
    with pytest.raises(RunError, match=r"code written by openai:gpt-4o must run in an OS sandbox.*--unconfined"):
        confinement("openai:gpt-4o", suite, unconfined=False)
    assert confinement("openai:gpt-4o", suite, unconfined=True).startswith("none: --unconfined")
    assert not BenchConfig(suite=str(tiny_suite), backend="openai:gpt-4o", out=tmp_path, unconfined=True).confine()
    for trusted in ("builtin", "oracle", "null"):  # the registry marks them writes_no_code
        assert confinement(trusted, suite, unconfined=False).startswith(
            f"none needed: the {trusted} backend runs no model-written code")
    for untrusted in ("py:evals.reference_backends:OracleBackend", "replay:/nowhere"):
        with pytest.raises(RunError, match="must run in an OS sandbox"):
            confinement(untrusted, suite, unconfined=False)


def test_the_run_records_and_prints_its_isolation(tiny_suite: Path, tmp_path: Path) -> None:
    from tools import isolation

    res = _cli("bench", "--suite", str(tiny_suite), "--backend", "null", "--limit", "1", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    expected = isolation.probe().describe() if isolation.probe().available else "none needed"
    assert recorded["isolation"].startswith(expected) and recorded["unconfined"] is False
    assert f"isolation: {recorded['isolation']}" in " ".join(res.stdout.split())
    res = _cli("bench", "--suite", str(tiny_suite), "--backend", "null", "--limit", "1", "--unconfined",
               "--out", str(tmp_path / "open"))
    assert res.returncode == 0 and "isolation: none: --unconfined" in res.stdout, res.stderr
    res = _cli("bench", "--suite", str(tiny_suite), "--serve", "fork", "--out", str(tmp_path / "bad"))
    assert res.returncode == 2 and "--serve must be one of loaded, process; got 'fork'" in res.stderr


def test_a_function_that_kills_the_run_itself_is_retried_once_then_recorded(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = ["bench", "--suite", str(tiny_suite), "--out", str(out), "--workers", "1", "--category", "numeric",
           "--backend", "py:tests.backends_for_tests:KillsTheRunBackend"]
    env = os.environ | {"AIA_TEST_SLEEP": "0"}
    for attempt in range(2):  # the first run and the first resume both die with the function in flight
        res = _cli(*cmd, env=env)
        assert res.returncode == -9, (attempt, res.returncode, res.stderr[-500:])
    res = _cli(*cmd, env=env)  # the second resume gives up on it and finishes the rest
    assert res.returncode == 1, res.stderr  # the run finished, with errored functions
    rows = {r["key"]: r for r in read_results(out / "results.jsonl")}
    assert rows["numeric/f00001"]["error_kind"] == "crashed" and "aia process itself died 2 times" in rows[
        "numeric/f00001"]["error"]
    assert rows["numeric/f00000"]["score"] == 1.0 and len(rows) == len({r["key"] for r in rows.values()})
