"""Loading directories in the official FIND release layout and serving their scripts FIND's way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.suites import SERVE_MODES, serve
from find_functions.find_release import find_unit_tests, load_find_suite
from find_functions.layout import SuiteError
from find_functions.spec import CATEGORIES
from tools import isolation

SHARED_FIND = Path(__file__).resolve().parents[1].parent / "shared" / "find"

# Scripts written as FIND writes them (numeric with a per-input try, strings without one).
NUMERIC = """import numpy as np
import sys

def function(x):
    return {expr}

if __name__ == '__main__':
    outputs = ''
    for arg in sys.argv[1:]:
        x = float(arg)
        try:
            out = function(x)
        except:
            out = 'None'
        outputs += f'({{arg}}, {{out}}) '
    print(f'Function input - output pairs: {{outputs}}')
"""

STRINGS = """import sys

def function(string):
    return {expr}

if __name__ == '__main__':
    outputs = ''
    for arg in sys.argv[1:]:
        string = str(arg)
        outputs += f'({{arg}}, {{str(function(string))}}) '
    print(f'Function input - output pairs: {{outputs}}')
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = tmp_path / "find-dataset"
    num = root / "numeric"
    # f00000: both scripts on disk, the name dict says the noised one is served.
    _write(num / "f00000" / "function_code.py", NUMERIC.format(expr="np.abs(x) * 2.0"))
    _write(num / "f00000" / "noised_function_code.py", NUMERIC.format(expr="np.abs(x) * 2.0 + 1000.0"))
    # f00001: not in the dict, plain function_code.py.
    _write(num / "f00001" / "function_code.py", NUMERIC.format(expr="np.where(x > 0, x, 0.0)"))
    # f00002: in the dict, but its script is missing.
    (num / "f00002").mkdir(parents=True)
    _write(num / "func_name_dict.json", json.dumps({
        "f00000": "noised_function_code.py", "f00002": "corrupted_function_code.py"}))
    st = root / "strings"
    _write(st / "f00000" / "function_code.py", STRINGS.format(expr="string[::-1]"))
    _write(st / "f00001" / "function_code.py", STRINGS.format(expr="string.upper() + ', (done)'"))
    (st / "notes").mkdir()
    _write(st / "unit_test_data.json", json.dumps([
        {"name": "f00000", "test_vec": [[["abc", "xy", "q"], ["cba", "xy", "qq"]]] * 2, "correct_inx": [1, 3]},
        {"name": "f00001", "test_vec": [[["a", "b", "c"], ["A", "b", "c"]]], "correct_inx": [4]},
    ]))
    return root


def test_loads_a_release_directory(release: Path) -> None:
    suite = load_find_suite(release)
    by_key = {e.key: e for e in suite.entries}
    assert sorted(by_key) == ["numeric/f00000", "numeric/f00001", "strings/f00000", "strings/f00001"]
    clean_or_noised = by_key["numeric/f00000"]
    assert clean_or_noised.script_path.name == "noised_function_code.py" and clean_or_noised.variant == "noised"
    assert by_key["numeric/f00001"].script_path.name == "function_code.py"
    assert by_key["numeric/f00001"].variant == "unknown"  # no name dict entry: the layout does not tell
    assert all(e.ground_truth is None and not e.trusted_script for e in suite.entries)
    assert {e.input_type for e in suite.entries if e.category == "numeric"} == {"float"}
    assert {e.input_type for e in suite.entries if e.category == "strings"} == {"str"}
    assert {e.variant for e in suite.entries if e.category == "strings"} == {"unknown"}

    tests = by_key["strings/f00000"].unit_tests
    assert len(tests) == 2 and [t.correct for t in tests] == [0, 2]
    assert tests[0].inputs == ["abc", "xy", "q"] and tests[0].outputs == ["cba", "xy", "qq"]
    assert by_key["strings/f00001"].unit_tests == ()

    problems = "\n".join(suite.problems)
    assert len(suite.problems) == 3, problems
    assert f"{release / 'numeric' / 'f00002'}: no script corrupted_function_code.py" in problems
    assert "unit tests of f00001: test 0: correct_inx 4 is not 1, 2 or 3" in problems
    assert f"{release / 'strings' / 'notes'}: not a FIND function folder name" in problems
    assert suite.manifest["counts"] == {"numeric": 2, "strings": 2}


@pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")
@pytest.mark.parametrize("mode", SERVE_MODES)
def test_loaded_scripts_serve_as_find_does(release: Path, mode: str) -> None:
    entries = {e.key: e for e in load_find_suite(release).entries}
    with serve(entries["numeric/f00000"], mode=mode) as noised, serve(entries["numeric/f00001"], mode=mode) as relu, \
            serve(entries["strings/f00001"], mode=mode) as upper:  # type: ignore[arg-type]
        assert noised([-3.0, 2.5]) == [1006.0, 1005.0]
        assert relu([-1.0, 4.0]) == [0.0, 4.0]
        assert upper(["a b", "(x)"]) == ["A B, (done)", "(X), (done)"]
        assert noised.errors == relu.errors == upper.errors == []


def test_root_may_be_one_category_folder(release: Path) -> None:
    suite = load_find_suite(release / "strings")
    assert [e.key for e in suite.entries] == ["strings/f00000", "strings/f00001"]


def test_requested_missing_category_is_a_problem(release: Path) -> None:
    suite = load_find_suite(release, categories=["strings", "neurons_relations"])
    assert {e.category for e in suite.entries} == {"strings"}
    assert any("neurons_relations: category folder missing" in p for p in suite.problems)
    with pytest.raises(SuiteError, match="unknown categories"):
        load_find_suite(release, categories=["pictures"])  # type: ignore[list-item]


def test_bad_metadata_files_are_reported_and_the_rest_loads(release: Path) -> None:
    (release / "numeric" / "func_name_dict.json").write_text("{not json")
    (release / "strings" / "unit_test_data.json").write_text("[1, 2")
    suite = load_find_suite(release)
    assert [e.key for e in suite.entries] == ["strings/f00000", "strings/f00001"]
    assert all(e.unit_tests == () for e in suite.entries)
    problems = "\n".join(suite.problems)
    assert "func_name_dict.json: unreadable" in problems and "numeric functions are not loaded" in problems
    assert "unit_test_data.json: unreadable" in problems


def test_explicit_name_dict_and_bad_roots(release: Path, tmp_path: Path) -> None:
    other = _write(tmp_path / "dict.json", json.dumps({"f00000": "function_code.py"}))
    suite = load_find_suite(release, categories=["numeric"], func_name_dict=other)
    # f00001 is not in that dict: its function_code.py does not tell which variant it serves
    assert {e.id: e.variant for e in suite.entries} == {"f00000": "clean", "f00001": "unknown"}
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        load_find_suite(release, func_name_dict=tmp_path / "nowhere.json")
    with pytest.raises(SuiteError, match="not a FIND release"):
        load_find_suite(tmp_path)
    with pytest.raises(SuiteError, match="no such directory"):
        load_find_suite(tmp_path / "absent")


def test_ambiguous_or_unsafe_script_names(tmp_path: Path) -> None:
    num = tmp_path / "numeric"
    _write(num / "f00000" / "noised_function_code.py", NUMERIC.format(expr="x"))
    _write(num / "f00000" / "load_mlp.py", NUMERIC.format(expr="x"))
    _write(num / "f00001" / "function_code.py", NUMERIC.format(expr="x"))
    _write(num / "func_name_dict.json", json.dumps({"f00001": "../f00000/load_mlp.py"}))
    suite = load_find_suite(tmp_path)
    assert suite.entries == []
    problems = "\n".join(suite.problems)
    assert "several scripts" in problems and "not a script file name" in problems


def test_unit_test_conversion_rejects_bad_shapes() -> None:
    good = find_unit_tests({"name": "f00000", "test_vec": [["w1", "w2", "w3"]], "correct_inx": [2]},
                           "neurons_entities")
    assert good[0].inputs == ["w1", "w2", "w3"] and good[0].outputs is None and good[0].correct == 1
    for record, match in [
        ({"test_vec": [["a", "b", "c"]], "correct_inx": [1, 2]}, "1 tests but 2"),
        ({"test_vec": [["a", "b"]], "correct_inx": [1]}, "test 0"),
        ({"test_vec": [["a", "b", "c"]], "correct_inx": [0]}, "FIND counts from 1"),
        ([], "must be an object"),
    ]:
        with pytest.raises(ValueError, match=match):
            find_unit_tests(record, "neurons_entities")
    with pytest.raises(ValueError, match=r"\[\[3 inputs\], \[3 outputs\]\]"):
        find_unit_tests({"test_vec": [["a", "b", "c"]], "correct_inx": [1]}, "strings")


@pytest.mark.skipif(not SHARED_FIND.is_dir(), reason="FIND metadata not found at ../shared/find")
def test_official_find_unit_tests_and_name_dict_convert(tmp_path: Path) -> None:
    root = tmp_path / "release"
    for category in CATEGORIES:
        cdir = root / category
        cdir.mkdir(parents=True)
        for name in ("unit_test_data.json", "func_name_dict.json"):
            if (SHARED_FIND / category / name).exists():
                (cdir / name).symlink_to(SHARED_FIND / category / name)
        _write(cdir / "f00000" / "function_code.py", STRINGS.format(expr="string"))
    name_dict = json.loads((SHARED_FIND / "numeric" / "func_name_dict.json").read_text())
    _write(root / "numeric" / "f00000" / name_dict["f00000"], NUMERIC.format(expr="x"))
    suite = load_find_suite(root)
    assert suite.problems == []
    by_key = {e.key: e for e in suite.entries}
    assert by_key["numeric/f00000"].script_path.name == name_dict["f00000"]
    for category in ("strings", "neurons_entities", "neurons_relations"):
        assert len(by_key[f"{category}/f00000"].unit_tests) == 10
        records = json.loads((SHARED_FIND / category / "unit_test_data.json").read_text())
        converted = [find_unit_tests(r, category) for r in records]  # every official record converts
        assert all(len(items) == 10 for items in converted)
        assert sum(t.correct == 0 for items in converted for t in items) > 0
