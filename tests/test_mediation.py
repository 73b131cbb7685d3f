"""Mediator search (tools.mediation) on the shipped toy induction model, whose previous-token and
induction heads are verified (find_functions/heads/roles.json), and against brute force."""

from __future__ import annotations

import json

import numpy as np
import pytest

from find_functions.heads import load_roles
from tools.interventions import logit_diff, patch
from tools.mediation import ContrastPair, induction_pairs, load_pairs, localize_heads, patch_heads, recovery_of
from tools.models import load_model


@pytest.fixture(scope="module")
def toy():
    return load_model("toy-induction")


def test_localize_recovers_the_verified_induction_circuit(toy):
    truth = {unit for unit, role in load_roles().items() if role != "other"}
    found = localize_heads(toy, induction_pairs(toy, n=48, half=12, seed=1))
    assert recovery_of(found.found, truth) == {"precision": 1.0, "recall": 1.0}
    assert found.faithfulness > 0.8                    # the five heads together restore the behaviour
    assert found.mediators[0].unit == "layer.0.attn.head.0" and found.mediators[0].effect < 0
    assert found.attribution_rho > 0.8 and found.exact_checked == 8


def test_patching_a_set_of_one_head_is_patching_that_head(toy):
    pair = induction_pairs(toy, n=1, half=10, seed=3)[0]
    metric = logit_diff(toy, pair.answer, pair.wrong)
    clean, corrupt = (toy.tokenize([""])["input_ids"].new_tensor([p]) for p in (pair.clean, pair.corrupt))
    single = patch(toy, clean, corrupt, "layer.1.attn.head.2", metric=metric).patched
    assert patch_heads(toy, clean, corrupt, [(1, 2)], metric) == pytest.approx(single, abs=1e-5)
    everything = patch_heads(toy, clean, corrupt, [(layer, h) for layer in range(2) for h in range(4)], metric)
    full = patch(toy, clean, corrupt, "layer.1.attn", metric=metric)
    assert everything == pytest.approx(full.clean, abs=1e-4)   # every head clean: the clean run itself


def test_pairs_from_jsonl_and_their_errors(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"clean": "t1 t2 t1", "corrupt": "t3 t4 t1", "answer": "t2", "wrong": "t4"}) + "\n")
    assert load_pairs(path) == [ContrastPair("t1 t2 t1", "t3 t4 t1", "t2", "t4")]
    path.write_text('{"clean": "a"}\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl:1: expected a JSON object with clean, corrupt, answer"):
        load_pairs(path)
    assert np.isnan(recovery_of([], {"x"})["precision"]) and recovery_of(["x", "y"], {"x"})["precision"] == 0.5


def test_aia_localize_streams_rows_resumes_without_redoing_and_scores_against_the_truth(tmp_path):
    import subprocess
    import sys

    from tools.run_dir import read_results

    cli = [sys.executable, "-m", "evals.cli", "localize", "--model", "toy-induction"]
    first = subprocess.run(cli + ["--task", "induction", "--pairs", "8", "--out", str(tmp_path / "run")],
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = read_results(tmp_path / "run" / "effects.jsonl")
    assert sorted(r["key"] for r in rows) == sorted(f"{s}:{i}" for s in ("attribution", "exact") for i in range(8))
    result = json.loads((tmp_path / "run" / "localization.json").read_text())
    assert result["recovery"]["precision"] == 1.0 and "precision 1.00" in first.stdout
    kept = (tmp_path / "run" / "effects.jsonl").read_text()
    (tmp_path / "run" / "localization.json").unlink()
    again = subprocess.run(cli + ["--task", "induction", "--pairs", "8", "--out", str(tmp_path / "run")],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and (tmp_path / "run" / "effects.jsonl").read_text() == kept   # nothing redone
    assert json.loads((tmp_path / "run" / "localization.json").read_text())["found"] == result["found"]
    clash = subprocess.run(cli + ["--task", "induction", "--pairs", "9", "--out", str(tmp_path / "run")],
                           capture_output=True, text=True, timeout=600)
    assert clash.returncode == 2 and "pairs: was 8, now 9" in clash.stderr
    bad = subprocess.run(cli + ["--task", "copying", "--out", str(tmp_path / "bad")], capture_output=True, text=True,
                         timeout=600)
    assert bad.returncode == 2 and "unknown task 'copying': choose induction or a JSONL file" in bad.stderr
    assert not (tmp_path / "bad").exists()
