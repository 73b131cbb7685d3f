"""The `aia` command without tracebacks or silent zeros (issue 17's CLI section), run as a user
runs it: a real subprocess on real files. A failed investigation is an error, never a 0; every
spec and model name is checked once, before any work, and a bad one is one line and exit 2; a
run directory of another kind is refused; `aia show` reads whole runs, briefly, as JSON, and ends
with the scores; help says one thing once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.task import Investigation, Task
from tests.backends_for_tests import SlowLinearBackend
from tests.conftest import SANDBOX

REPO = Path(__file__).resolve().parent.parent
OFFLINE = {"HF_HUB_OFFLINE": "1"}
CONFINE = [] if SANDBOX else ["--unconfined"]


def aia(*args: str, env: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in drop} | {"COLUMNS": "400"} | (env or {})
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, env=environ)


def one_error_line(res: subprocess.CompletedProcess) -> str:
    """The run's one error line (exit 2, one line on stderr, no traceback)."""
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr[-2000:]
    return lines[0]


def plain(text: str) -> str:
    """Help text without rich's boxes and line breaks, for phrase checks."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


class FlakyBackend(SlowLinearBackend):
    """Fails while AIA_TEST_FLAKY is set in the environment, answers a linear fit otherwise: a
    backend whose failures a resume with --retry-errors can repair."""

    name = "flaky"

    def investigate(self, task: Task, log_dir: Path | None = None) -> Investigation:
        if os.environ.get("AIA_TEST_FLAKY"):
            raise RuntimeError("the API was down")
        return super().investigate(task, log_dir)


# ----------------------------------------------------------------------------- errors are not zeros

def test_a_failed_investigation_is_an_error_row_and_retry_errors_runs_it_again(tiny_suite: Path,
                                                                              tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["bench", "--suite", str(tiny_suite), "--backend", "py:tests.test_cli_errors:FlakyBackend",
            "--ids", "numeric/f00000", "--ids", "numeric/f00001", "--workers", "1", "--out", str(run), *CONFINE]
    failed = aia(*args, env={"AIA_TEST_FLAKY": "1", "AIA_TEST_SLEEP": "0"})
    assert failed.returncode == 1, failed.stderr[-2000:]  # not a success, and not a score of 0
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert [(r["status"], r["score"]) for r in rows] == [("error", None), ("error", None)]
    assert all("the API was down" in r["error"] and r["format_version"] == 1 for r in rows)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["overall"]["errors"] == 2 and summary["overall"]["score"] is None  # no mean of zeros
    assert "errored: 2 of 2 functions have no score" in failed.stdout

    kept = aia(*args, env={"AIA_TEST_SLEEP": "0"})  # a resume without --retry-errors keeps them
    assert "0 done, 2 errored (kept; --retry-errors investigates them again), 0 to go" in kept.stderr
    assert kept.returncode == 1 and len((run / "results.jsonl").read_text().splitlines()) == 2

    retried = aia(*args, "--retry-errors", env={"AIA_TEST_SLEEP": "0"})
    assert retried.returncode == 0, retried.stderr[-2000:]
    assert "2 errored (investigated again: --retry-errors), 2 to go" in retried.stderr
    lines = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 4  # the error rows stay on disk; the new rows come last and count
    assert [(r["status"], r["score"]) for r in lines[2:]] == [("ok", 1.0), ("ok", 0.0)]  # x^2 is not linear: a 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["overall"]["errors"] == 0 and summary["overall"]["score"] == 0.5


def test_old_rows_without_a_status_still_read() -> None:
    from evals.summary import row_status, summarize

    crashed = {"key": "numeric/f1", "category": "numeric", "error": "crashed: ...", "score": 0.0}
    scored_zero = {"key": "numeric/f2", "category": "numeric", "error": "no code in the answer", "score": 0.0,
                   "answer": {"description": "x"}}
    assert row_status(crashed) == "error" and row_status(scored_zero) == "ok"
    overall = summarize([crashed, scored_zero], {})["overall"]
    assert (overall["n"], overall["scored"], overall["errors"], overall["score"]) == (2, 1, 1, 0.0)


# ----------------------------------------------------------------------------- bad input: one line, before any work

@pytest.mark.parametrize("args, expected", [
    (["--backend", "nope"], "unknown backend spec 'nope'; expected 'builtin'"),
    (["--backend", "orcale"], "did you mean 'oracle'?"),
    (["--backend", "local:smolm2"], "--backend 'local:smolm2': unknown model 'smolm2'"),
    (["--judge", "openai:gpt-4o"], "--judge 'openai:gpt-4o': OPENAI_API_KEY is not set"),
    (["--backend", "openai:gpt-4o"], "--backend 'openai:gpt-4o': OPENAI_API_KEY is not set"),
])
def test_a_spec_that_cannot_work_fails_before_any_work(args: list[str], expected: str, tiny_suite: Path,
                                                        tmp_path: Path) -> None:
    started = time.monotonic()
    res = aia("bench", "--suite", str(tiny_suite), "--out", str(tmp_path / "run"), *args, env=OFFLINE,
              drop=("OPENAI_API_KEY",))
    line = one_error_line(res)
    assert expected in line
    assert "api_key=" not in line  # advice for Python callers is no use on the command line
    assert not (tmp_path / "run").exists()  # no run.json, not even the directory
    assert time.monotonic() - started < 60


def test_unknown_backends_are_listed_with_every_choice(tmp_path: Path) -> None:
    # before the default suite is built (that takes a minute on a fresh machine): this returns at once
    line = one_error_line(aia("bench", "--backend", "nope", "--out", str(tmp_path / "run")))
    for form in ("'builtin'", "'oracle'", "'null'", "'py:MODULE:CLASS'", "openai:MODEL", "local:PATH|smollm2"):
        assert form in line


@pytest.mark.parametrize("args, suggestion", [
    (["units", "minilm-l6"], "did you mean 'minilm'?"),
    (["label", "--model", "gpt2-smal", "--units", "layer.0.mlp.neuron.0", "--out", "{tmp}/label"], ""),
    (["units", "no such/model name"], ""),
])
def test_a_model_name_that_cannot_load_fails_in_seconds(args: list[str], suggestion: str, tmp_path: Path) -> None:
    started = time.monotonic()
    line = one_error_line(aia(*[a.replace("{tmp}", str(tmp_path)) for a in args], env=OFFLINE))
    assert time.monotonic() - started < 30  # not a minute of hub retries
    assert "minilm, smollm2, gemma3-270m, toy-induction" in line and "a hub name or local path" in line
    assert suggestion in line
    assert not (tmp_path / "label").exists()


def test_the_model_name_check_accepts_what_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.model_names import ModelNameError, check_model_name

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_model_name("minilm")
    check_model_name(str(tmp_path))  # any local path goes to from_pretrained
    with pytest.raises(ModelNameError, match="HF_HUB_OFFLINE is set"):
        check_model_name("someone/some-model")  # hub-shaped, not cached, and the hub may not be asked
    with pytest.raises(ModelNameError, match="no such local path"):
        check_model_name("./not/here")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    started = time.monotonic()
    with pytest.raises(ModelNameError):  # this machine has no network; one with one asks the hub
        check_model_name("someone/surely-no-such-model-xyz", timeout=3)
    assert time.monotonic() - started < 15


# ----------------------------------------------------------------------------- one kind per run directory

def test_a_run_directory_of_another_kind_is_refused(tiny_suite: Path, tmp_path: Path) -> None:
    label_run = tmp_path / "label"
    label_run.mkdir()
    (label_run / "config.json").write_text(json.dumps({"kind": "label", "format_version": 1, "model": "minilm"}))
    (label_run / "labels.jsonl").write_text(json.dumps({"unit": "layer.0.mlp.neuron.0", "label": "x"}) + "\n")
    (label_run / "summary.json").write_text('{"units": 1}')
    line = one_error_line(aia("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--out", str(label_run)))
    assert line == f"error: {label_run} holds a label run (config.json), not a bench run; choose another --out"
    assert (label_run / "summary.json").read_text() == '{"units": 1}' and not (label_run / "run.json").exists()
    assert "holds a label run" in one_error_line(aia("score", str(label_run)))

    bench_run = tmp_path / "bench"
    res = aia("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--ids", "numeric/f00000",
              "--out", str(bench_run))
    assert res.returncode == 0, res.stderr[-2000:]
    before = (bench_run / "summary.json").read_text()
    line = one_error_line(aia("label", "--model", "minilm", "--units", "layer.0.mlp.neuron.0",
                              "--out", str(bench_run)))
    assert line == f"error: {bench_run} holds a bench run (run.json), not a label run; choose another --out"
    assert (bench_run / "summary.json").read_text() == before and not (bench_run / "config.json").exists()


# ----------------------------------------------------------------------------- comparable runs

def test_the_scoring_seed_is_fixed_per_suite_and_recorded(tiny_suite: Path, tmp_path: Path) -> None:
    metas = {}
    for backend in ("oracle", "null"):
        res = aia("bench", "--suite", str(tiny_suite), "--backend", backend, "--ids", "numeric/f00000",
                  "--out", str(tmp_path / backend))
        assert res.returncode == 0, res.stderr[-2000:]
        metas[backend] = json.loads((tmp_path / backend / "run.json").read_text())
    assert metas["oracle"]["scoring_seed"] == metas["null"]["scoring_seed"]  # the two runs compare
    assert metas["oracle"]["scoring_seed_from"] == "the suite"
    config = metas["oracle"]["config"]  # the whole BenchConfig, recorded
    assert config["backend"] == "oracle" and config["ids"] == ["numeric/f00000"] and config["workers"] >= 1
    res = aia("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--ids", "numeric/f00000",
              "--scoring-seed", "7", "--out", str(tmp_path / "seven"))
    assert res.returncode == 0 and json.loads((tmp_path / "seven" / "run.json").read_text())["scoring_seed"] == 7
    line = one_error_line(aia("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--ids", "numeric/f00000",
                              "--scoring-seed", "8", "--out", str(tmp_path / "seven")))
    assert "was scored with scoring seed 7, not --scoring-seed 8" in line


def test_an_unknown_price_shows_as_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from evals.preflight import price_known
    from evals.summary import print_summary, summarize

    monkeypatch.delenv("AIA_PRICES", raising=False)
    assert price_known("openai:gpt-4o") is True and price_known("openai:my-own-model") is False
    assert price_known("builtin") is None and price_known("local:smollm2") is True
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-own-model": {"input": 1.0, "output": 2.0}}))
    monkeypatch.setenv("AIA_PRICES", str(prices))
    assert price_known("openai:my-own-model") is True

    row = {"key": "numeric/f1", "category": "numeric", "variant": "clean", "status": "ok", "score": 1.0,
           "usage": {"input_tokens": 598_000, "output_tokens": 1000, "cost_usd": 0.0}}
    text = io.StringIO()
    print_summary(summarize([row], {"backend": "openai:my-own-model", "price_known": False}),
                  Console(file=text, width=200))
    assert "unknown" in text.getvalue() and "0.000" not in text.getvalue().split("judge:")[0].split("│ numeric")[1]


# ----------------------------------------------------------------------------- aia show

@pytest.fixture(scope="module")
def builtin_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from find_functions.layout import write_suite
    from tests.conftest import tiny_functions

    root = tmp_path_factory.mktemp("show")
    suite = write_suite(tiny_functions(), root / "suite", {"seed": 0})
    res = aia("bench", "--suite", str(suite), "--ids", "strings/f00000", "--ids", "numeric/f00000",
              "--workers", "1", "--out", str(root / "run"))
    assert res.returncode == 0, res.stderr[-2000:]
    return root / "run"


def test_show_on_a_whole_run_lists_its_investigations(builtin_run: Path) -> None:
    line = one_error_line(aia("show", str(builtin_run)))
    assert line == (f"error: {builtin_run} is a bench run, not one investigation; show one of its 2: "
                    f"aia show {builtin_run / 'numeric/f00000'} (numeric/f00000, strings/f00000)")


def test_show_prints_ledger_changes_no_token_counter_and_ends_with_the_scores(builtin_run: Path) -> None:
    res = aia("show", str(builtin_run / "strings" / "f00000"))
    assert res.returncode == 0, res.stderr
    text = res.stdout
    assert "no round cap" in text and "None" not in text  # the builtin takes no cap, and says so
    assert "tokens" not in text and "$0" not in text  # the builtin scientist uses no LLM
    assert text.strip().splitlines()[-1].startswith("score 1.0; code_exact 1")
    bodies = re.findall(r"hypotheses[^\n]*\n((?:│[^\n]*\n)+)", text)
    assert bodies and all(a != b for a, b in zip(bodies, bodies[1:]))  # never the same ledger twice
    full = sum(len(b.splitlines()) for b in bodies)
    events = [json.loads(x) for x in (builtin_run / "strings/f00000/transcript.jsonl").read_text().splitlines()]
    ledgers = [e for e in events if e["type"] == "hypotheses"]
    assert full < sum(len(e["ledger"]) for e in ledgers)  # only what changed, not the whole ledger each time


def test_show_brief_and_json(builtin_run: Path) -> None:
    brief = aia("show", "--brief", str(builtin_run / "numeric" / "f00000"))
    assert brief.returncode == 0, brief.stderr
    lines = brief.stdout.strip().splitlines()
    assert lines[0].split()[1:3] == ["start:", "task"] and "system:" not in brief.stdout
    assert lines[-1].startswith("score 1.0")
    as_json = aia("show", "--json", str(builtin_run / "numeric" / "f00000"))
    data = json.loads(as_json.stdout)
    assert data["events"][0]["type"] == "start" and data["events"][-1]["type"] == "end"
    assert data["result"]["key"] == "numeric/f00000" and data["result"]["status"] == "ok"


# ----------------------------------------------------------------------------- help

def test_version_and_short_help() -> None:
    from importlib.metadata import version

    assert aia("--version").stdout.strip() == f"aia {version('aia')}"
    assert "Investigate and score" in aia("bench", "-h").stdout
    assert "Usage" in aia("-h").stdout


def test_every_command_lists_the_same_models_and_help_does_not_contradict_itself() -> None:
    from tools.model_names import BUILTIN_MODELS

    for command in (["label"], ["units"], ["chat"], ["check", "planted"]):
        text = plain(aia(*command, "--help").stdout)
        assert " | ".join(BUILTIN_MODELS) + " | a hub name or local path" in text, command
    bench = plain(aia("bench", "--help").stdout)
    assert "0 means one per CPU core, at most 8, which is what aia bench asks for unless told" in bench
    assert "[default: 0]" in bench.split("--workers")[1].split("--seed")[0]
    assert "AIA_PRICES" in bench and "api_key" not in bench
    assert "More than aia label's 12" in bench  # why the round caps differ
    assert "Fewer than aia bench's 20" in plain(aia("label", "--help").stdout)


# ----------------------------------------------------------------------------- options built from the config

@pytest.mark.parametrize("config, command, skip", [
    ("evals.bench_config:BenchConfig", "bench", {"out", "extra", "load_timeout", "workers"}),  # CLI_WORKERS
    ("evals.label_config:LabelConfig", "label", {"model", "units", "out", "max_windows", "n_random", "cache_root",
                                                 "backend_options", "labeler"}),
])
def test_command_options_take_default_and_help_from_the_config_dataclass(config: str, command: str,
                                                                        skip: set[str]) -> None:
    """Every option of the command named like a field of its config has the field's default and,
    as help, the field's docstring; every field has a docstring."""
    import dataclasses
    import importlib
    import inspect

    import typer.main

    from evals import cli
    from evals.config_help import field_docs, field_help

    module, _, name = config.partition(":")
    cls = getattr(importlib.import_module(module), name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(fields) == set(field_docs(cls))  # one docstring per field
    params = inspect.signature(getattr(cli, command)).parameters
    options = {p.name: p for p in typer.main.get_command(cli.app).commands[command].params}  # type: ignore[attr-defined]
    to_field = {"category": "categories"}
    checked = 0
    for pname, param in params.items():
        field = to_field.get(pname, pname)
        if field in skip or field not in fields:
            continue
        assert param.default == fields[field].default, pname
        if field != "categories":
            assert options[pname].help == field_help(cls, field), pname
        checked += 1
    assert checked >= 9


def test_show_says_cost_unknown_for_an_unpriced_model(tmp_path: Path) -> None:
    from agent.transcript import TranscriptWriter, show_transcript

    writer = TranscriptWriter(tmp_path)
    writer.write("start", task_id="numeric/f1", kind="numeric", backend="openai:my-own-model", max_rounds=3)
    writer.write("end", stop_reason="submitted", rounds=1, accepted=True, black_box_calls=2,
                 answer={"description": "x"},
                 usage={"input_tokens": 598_000, "output_tokens": 10, "cost_usd": 0.0, "llm_calls": 1})
    writer.close()
    assert "cost unknown" in show_transcript(tmp_path) and "$0.0000" not in show_transcript(tmp_path)
    free = show_transcript(tmp_path, price_known=lambda backend: True)
    assert "$0.0000" in free


@pytest.mark.parametrize("args, expected", [
    (["--backend", "biultin"], "unknown labeling backend spec 'biultin'; expected 'builtin' (the builtin labeler)"),
    (["--backend", "biultin"], "did you mean 'builtin'?"),
    (["--simulator", "ofline"], "unknown simulator spec 'ofline'; expected 'offline'"),
    (["--backend", "local:smolm2"], "--backend 'local:smolm2': unknown model 'smolm2'"),
])
def test_label_specs_fail_before_the_model_loads(args: list[str], expected: str, tmp_path: Path) -> None:
    line = one_error_line(aia("label", "--model", "minilm", "--units", "layer.0.mlp.neuron.0",
                              "--out", str(tmp_path / "run"), *args, env=OFFLINE))
    assert expected in line and not (tmp_path / "run").exists()


def test_the_light_copies_of_declarations_agree_with_their_sources() -> None:
    """The CLI's help reads light copies (no pydantic or torch at start-up); they must not drift."""
    from evals.bench_config import CATEGORY_NAMES, SERVE_MODES
    from evals.suites import SERVE_MODES as SERVED
    from find_functions.spec import CATEGORIES
    from tools.model_names import BUILTIN_MODELS
    from tools.models import SHORT_NAMES, packaged_model_path

    assert CATEGORY_NAMES == CATEGORIES and SERVE_MODES is SERVED
    assert SHORT_NAMES == tuple(BUILTIN_MODELS)
    with pytest.raises(ValueError, match="packaged: minilm, smollm2, gemma3-270m, toy-induction"):
        packaged_model_path("nope")


def test_tokens_become_cache_windows_and_bad_values_are_one_line(tmp_path: Path) -> None:
    from evals.cli import WINDOW_TOKENS, _windows_for

    assert WINDOW_TOKENS == 64
    assert (_windows_for("200k"), _windows_for("10M"), _windows_for("6400"), _windows_for("65")) == (3125, 156250,
                                                                                                   100, 2)
    done = subprocess.run([sys.executable, "-m", "evals.cli", "label", "--model", "minilm", "--units",
                           "layer.0.mlp.neuron.0", "--tokens", "lots", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--tokens 'lots': expected a number such as 200000, 200k or 10M" in done.stderr
    assert not (tmp_path / "run").exists()
