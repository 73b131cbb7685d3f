"""Load a directory in the official FIND release layout (scripts only, no aia ground truth).

```
ROOT/<category>/fNNNNN/<script>          category: numeric, strings, neurons_entities, neurons_relations
ROOT/numeric/func_name_dict.json         fNNNNN -> which script serves that numeric function
ROOT/<category>/unit_test_data.json      optional: [{name, test_vec, correct_inx (1-based)}]
```
ROOT may also be one category folder itself (`.../strings`). The scripts are foreign code: the
entries are marked `trusted_script=False`, so they never run in aia's own processes; each is served
by a worker of its own, confined to that function's files (`evals.suites.serve`). Nothing here
reads ground truth: FIND's descriptions and function names (numeric/data.json,
strings/test_data.json) are left to the scorer.

One broken function (no script, a bad unit-test record) is reported in `Suite.problems`, one line
naming the path, and the others still load; only a root that is not a FIND release at all raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .layout import FUNC_NAME_DICT, UNIT_TESTS, Suite, SuiteEntry, SuiteError, find_unit_tests, script_name
from .spec import CATEGORIES, Category, MultipleChoiceItem

FORMAT = "find-release"
_FUNCTION_DIR = re.compile(r"^f\d{5}$")

#: What each of FIND's numeric script names serves (the names of find_functions.numeric variants).
VARIANT_OF_SCRIPT = {
    "function_code.py": "clean",
    "noised_function_code.py": "noised",
    "corrupted_function_code.py": "corrupted",
    "load_mlp.py": "mlp",
}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable ({e})") from None


def _read_name_dict(path: Path) -> dict[str, str]:
    raw = _read_json(path)
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ValueError(f"{path}: expected an object mapping fNNNNN to a script file name")
    return raw


def _read_unit_tests(cdir: Path, category: Category, problems: list[str]) -> dict[str, tuple[MultipleChoiceItem, ...]]:
    path = cdir / UNIT_TESTS
    if not path.exists():
        return {}
    try:
        records = _read_json(path)
        if not isinstance(records, list):
            raise ValueError(f"{path}: expected a list of {{name, test_vec, correct_inx}} records")
    except ValueError as e:
        problems.append(f"{e}; the {category} functions load without unit tests")
        return {}
    tests: dict[str, tuple[MultipleChoiceItem, ...]] = {}
    for i, record in enumerate(records):
        name = record.get("name") if isinstance(record, dict) else None
        if not isinstance(name, str):
            problems.append(f"{path}: record {i} has no function name")
            continue
        try:
            if name in tests:
                raise ValueError("appears twice")
            tests[name] = find_unit_tests(record, category)
        except ValueError as e:
            problems.append(f"{path}: unit tests of {name}: {e}; {name} loads without unit tests")
            tests[name] = ()
    return tests


def _category_dirs(root: Path, categories: list[Category] | None, problems: list[str]) -> list[tuple[Category, Path]]:
    present = [(c, root / c) for c in CATEGORIES if (root / c).is_dir()]
    if not present and root.name in CATEGORIES:
        present = [(root.name, root)]  # type: ignore[list-item]  # the root is one category folder
    if not present:
        raise SuiteError(f"{root} is not a FIND release: it has none of the folders {list(CATEGORIES)} "
                         "and is not one of them")
    if categories is None:
        return present
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise SuiteError(f"unknown categories {sorted(unknown)}; choose from {list(CATEGORIES)}")
    found = dict(present)
    for c in categories:
        if c not in found:
            problems.append(f"{root / c}: category folder missing")
    return [(c, found[c]) for c in categories if c in found]


def load_find_suite(root: str | Path, *, categories: list[Category] | None = None,
                    func_name_dict: str | Path | None = None) -> Suite:
    """Read a FIND release directory into a `Suite` of untrusted script entries.

    `categories`: which to load (default: those present; a requested one that is missing is a
    problem). `func_name_dict`: FIND's numeric script map, default `<numeric>/func_name_dict.json`
    when present; an explicit path that does not exist raises.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise SuiteError(f"{root}: no such directory")
    if func_name_dict is not None and not Path(func_name_dict).is_file():
        raise FileNotFoundError(f"{func_name_dict}: no such func_name_dict file")
    problems: list[str] = []
    entries: list[SuiteEntry] = []
    for category, cdir in _category_dirs(root, categories, problems):
        name_dict: dict[str, str] = {}
        if category == "numeric":
            dict_path = Path(func_name_dict) if func_name_dict is not None else cdir / FUNC_NAME_DICT
            if dict_path.exists():
                try:
                    name_dict = _read_name_dict(dict_path)
                except ValueError as e:
                    # Guessing scripts without the map could serve the clean variant of a noised function.
                    problems.append(f"{e}; the numeric functions are not loaded")
                    continue
        unit_tests = _read_unit_tests(cdir, category, problems)
        for fdir in sorted(p for p in cdir.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))):
            if not _FUNCTION_DIR.match(fdir.name):
                problems.append(f"{fdir}: not a FIND function folder name (fNNNNN); skipped")
                continue
            try:
                script = script_name(fdir, name_dict)
            except (OSError, ValueError) as e:
                problems.append(f"{fdir}: {e}")
                continue
            # FIND's script names tell numeric variants apart; other categories have one script. A
            # function_code.py that no name dict chose tells nothing: FIND serves corrupted functions
            # from it too, so its variant is unknown rather than a guessed "clean".
            told = fdir.name in name_dict or script != "function_code.py"
            variant = VARIANT_OF_SCRIPT.get(script, Path(script).stem) if category == "numeric" and told \
                else "unknown"
            entries.append(SuiteEntry(
                id=fdir.name, category=category, variant=variant,
                script_path=fdir / script, ground_truth=None, unit_tests=unit_tests.get(fdir.name, ()),
                trusted_script=False,
            ))
    counts = {c: sum(e.category == c for e in entries) for c in CATEGORIES}
    manifest = {"format": FORMAT, "root": str(root), "counts": {c: n for c, n in counts.items() if n}}
    return Suite(root=root, manifest=manifest, entries=entries, problems=problems)
