"""The suite on disk: FIND's layout, round trip, atomic writes, and clear errors for broken dirs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from find_functions.layout import SuiteError, load_suite, write_suite

from .conftest import tiny_functions


def test_round_trip_keeps_everything(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    assert suite.problems == []
    by_key = {e.key: e for e in suite.entries}
    originals = {f"{f.category}/{f.id}": f for f in tiny_functions()}
    assert set(by_key) == set(originals)
    for key, fn in originals.items():
        entry = by_key[key]
        assert entry.variant == fn.variant
        assert entry.script_path.name == fn.script_name
        assert entry.ground_truth == fn.ground_truth
        assert list(entry.unit_tests) == fn.unit_tests
        assert list(entry.held_out_inputs) == fn.held_out_inputs


def test_find_release_files(tiny_suite: Path) -> None:
    names = json.loads((tiny_suite / "numeric" / "func_name_dict.json").read_text())
    assert names == {"f00000": "function_code.py", "f00001": "noised_function_code.py",
                     "f00002": "corrupted_function_code.py"}
    unit = json.loads((tiny_suite / "strings" / "unit_test_data.json").read_text())
    assert unit[0]["name"] == "f00000" and len(unit[0]["test_vec"]) == 3
    assert all(c in (1, 2, 3) for c in unit[0]["correct_inx"])  # FIND's indices are 1-based


def test_scripts_run_as_find_runs_them(tiny_suite: Path) -> None:
    script = tiny_suite / "numeric" / "f00000" / "function_code.py"
    line = subprocess.run([sys.executable, str(script), "1", "2.5"], capture_output=True, text=True, check=True).stdout
    assert line == "Function input - output pairs: (1, 3.0) (2.5, 6.0) \n"
    script = tiny_suite / "strings" / "f00000" / "function_code.py"
    line = subprocess.run([sys.executable, str(script), "abc"], capture_output=True, text=True, check=True).stdout
    assert line == "Function input - output pairs: (abc, cba) \n"


def test_refuses_to_overwrite_without_force(tiny_suite: Path) -> None:
    with pytest.raises(SuiteError, match="not empty"):
        write_suite(tiny_functions(), tiny_suite, {"seed": 0})
    write_suite(tiny_functions()[:1], tiny_suite, {"seed": 1}, force=True)
    assert len(load_suite(tiny_suite).entries) == 1


def test_broken_function_is_reported_and_the_rest_loads(tiny_suite: Path) -> None:
    (tiny_suite / "numeric" / "f00001" / "ground_truth.json").write_text("{not json")
    (tiny_suite / "numeric" / "f00002" / "corrupted_function_code.py").unlink()
    suite = load_suite(tiny_suite)
    assert {e.key for e in suite.entries} == {"numeric/f00000", "strings/f00000"}
    assert any("f00001" in p and "ground_truth.json" in p for p in suite.problems)
    assert any("f00002" in p and "no script" in p for p in suite.problems)


def test_not_a_suite(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="suite.json is missing"):
        load_suite(tmp_path)
    (tmp_path / "suite.json").write_text("[")
    with pytest.raises(SuiteError, match="not valid JSON"):
        load_suite(tmp_path)


def test_select_names_unknown_things(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    with pytest.raises(SuiteError, match="unknown category"):
        suite.select(["nope"])
    with pytest.raises(SuiteError, match="no function"):
        suite.select(["numeric"], ["f09999"])
    assert [e.key for e in suite.select(ids=["strings/f00000"])] == ["strings/f00000"]
