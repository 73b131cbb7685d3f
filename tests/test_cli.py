"""The `aia` command as a user runs it: a real subprocess, real files, readable errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def aia(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def test_suite_stats_json(tiny_suite: Path) -> None:
    res = aia("suite", "stats", str(tiny_suite), "--json")
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)
    assert stats["categories"] == {"numeric": {"n": 3, "variants": {"clean": 1, "corrupted": 1, "noised": 1}},
                                   "strings": {"n": 1, "variants": {"atomic": 1}}}


def test_suite_show_prints_ground_truth_and_unit_tests(tiny_suite: Path) -> None:
    res = aia("suite", "show", str(tiny_suite), "strings/f00000")
    assert res.returncode == 0, res.stderr
    assert "reverse the string" in res.stdout and "unit test 1" in res.stdout
    res = aia("suite", "show", str(tiny_suite), "f00000")  # both categories have an f00000
    assert "numeric/f00000" in res.stdout and "strings/f00000" in res.stdout


def test_bad_input_gets_a_clear_error(tiny_suite: Path, tmp_path: Path) -> None:
    res = aia("suite", "stats", str(tmp_path))
    assert res.returncode == 2 and "suite.json is missing" in res.stderr
    res = aia("suite", "show", str(tiny_suite), "numeric/f09999")
    assert res.returncode == 2 and "no function" in res.stderr
    res = aia("bench", "--suite", str(tiny_suite), "--category", "colors", "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "unknown category ['colors']" in res.stderr
    res = aia("suite", "build", "--out", str(tmp_path / "s"), "--category", "colors")
    assert res.returncode == 2 and "unknown category" in res.stderr
    res = aia("bench", "--suite", str(tiny_suite), "--backend", "py:nowhere:Nothing", "--out", str(tmp_path / "r2"))
    assert res.returncode == 2 and "cannot load backend" in res.stderr
    env_without_key = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    res = subprocess.run([sys.executable, "-m", "evals.cli", "bench", "--suite", str(tiny_suite), "--backend",
                          "openai:gpt-4o", "--out", str(tmp_path / "r3")], capture_output=True, text=True, cwd=REPO,
                         env=env_without_key, timeout=120)
    assert res.returncode == 2 and "OPENAI_API_KEY" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_bench_then_score_round_trip(tiny_suite: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = aia("bench", "--suite", str(tiny_suite), "--backend", "oracle", "--out", str(run))
    assert res.returncode == 0, res.stderr
    assert "numeric" in res.stdout and (run / "summary.json").exists()
    meta = json.loads((run / "run.json").read_text())
    assert {"seed", "backend", "scoring_seed", "versions", "budget"} <= set(meta)
    before = (run / "results.jsonl").read_text().splitlines()
    res = aia("score", str(run))
    assert res.returncode == 0, res.stderr
    after = (run / "results.jsonl").read_text().splitlines()
    # the strict score is deterministic (noise-free reference, fixed scoring seed); FIND's protocol
    # re-draws the noise of noised functions, so only the headline is compared
    assert [(json.loads(a)["key"], json.loads(a)["score"]) for a in after] == \
        [(json.loads(b)["key"], json.loads(b)["score"]) for b in before]
