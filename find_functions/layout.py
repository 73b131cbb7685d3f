"""A suite on disk, in the layout of the official FIND release, with aia's ground truth beside it.

```
SUITE/suite.json                              manifest: format, seed, counts, versions
SUITE/numeric/func_name_dict.json             FIND: fNNNNN -> served script name
SUITE/<category>/unit_test_data.json          FIND: {name, test_vec, correct_inx (1-based)}
SUITE/strings/test_data.json                  FIND: {name, description, test_inputs}
SUITE/<category>/fNNNNN/<script>              runnable: `python <script> a b c`
SUITE/<category>/fNNNNN/<extra files>         e.g. MLP weights
SUITE/<category>/fNNNNN/ground_truth.json     aia: description, code, domain, label, metadata
SUITE/<category>/fNNNNN/held_out.json         aia: held-out test inputs
```
FIND's own tooling reads the scripts and the category-level JSON files; aia reads all of it.
Ground truth lives only in files that the black-box worker never opens and the agent never sees.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from .spec import CATEGORIES, Category, GroundTruth, MultipleChoiceItem, SuiteFunction

FORMAT = "aia-suite/1"
MANIFEST = "suite.json"
GROUND_TRUTH = "ground_truth.json"
HELD_OUT = "held_out.json"
UNIT_TESTS = "unit_test_data.json"
FUNC_NAME_DICT = "func_name_dict.json"
SCRIPT_NAMES = ("function_code.py", "noised_function_code.py", "corrupted_function_code.py", "load_mlp.py")


class SuiteError(Exception):
    """A suite directory that cannot be used at all (missing manifest, unknown format)."""


@dataclass(frozen=True)
class SuiteEntry:
    """One function of a suite on disk. `script_path` is what a worker serves; the rest is sealed."""

    id: str
    category: Category
    variant: str
    script_path: Path
    ground_truth: GroundTruth | None  # None for directories of scripts without aia ground truth
    unit_tests: tuple[MultipleChoiceItem, ...] = ()
    held_out_inputs: tuple[Any, ...] = ()
    #: aia's own scripts are imported by the black-box worker; foreign ones (an official FIND
    #: release) are only ever run as `python SCRIPT args...`.
    trusted_script: bool = True

    @property
    def input_type(self) -> str:
        return "float" if self.category == "numeric" else "str"

    @property
    def key(self) -> str:
        """Unique across categories (FIND numbers each category from f00000)."""
        return f"{self.category}/{self.id}"


@dataclass
class Suite:
    root: Path
    manifest: dict[str, Any]
    entries: list[SuiteEntry]
    problems: list[str] = field(default_factory=list)  # one line per function that could not load

    def select(self, categories: Iterable[str] | None = None, ids: Iterable[str] | None = None) -> list[SuiteEntry]:
        """Entries filtered by category and by id (`f00012` or `numeric/f00012`); unknown names raise."""
        cats = set(categories) if categories else None
        if cats and (unknown := cats - set(CATEGORIES)):
            raise SuiteError(f"unknown category {sorted(unknown)}; choose from {list(CATEGORIES)}")
        chosen = [e for e in self.entries if cats is None or e.category in cats]
        if ids:
            wanted = list(ids)
            by_name = {e.key: e for e in chosen} | {e.id: e for e in chosen}
            missing = [i for i in wanted if i not in by_name]
            if missing:
                raise SuiteError(f"no function {missing} in {self.root} (categories {sorted(cats or CATEGORIES)})")
            keys = {by_name[i].key for i in wanted}
            chosen = [e for e in chosen if e.key in keys]
        return chosen


def _to_find_unit_tests(fn: SuiteFunction) -> dict[str, Any]:
    vec = [[item.inputs, item.outputs] if item.outputs is not None else item.inputs for item in fn.unit_tests]
    return {"name": fn.id, "test_vec": vec, "correct_inx": [item.correct + 1 for item in fn.unit_tests]}


def find_unit_tests(record: Any, category: Category) -> tuple[MultipleChoiceItem, ...]:
    """Convert one FIND unit-test record `{name, test_vec, correct_inx}` (1-based) to items.

    Entities: each test is `[w1, w2, w3]`; strings and relations: `[[in1, in2, in3], [out1, out2, out3]]`.
    Raises ValueError naming what is wrong.
    """
    if not isinstance(record, dict):
        raise ValueError(f"a unit-test record must be an object, got {type(record).__name__}")
    vecs, correct = record.get("test_vec"), record.get("correct_inx")
    if not isinstance(vecs, list) or not isinstance(correct, list):
        raise ValueError("`test_vec` and `correct_inx` must both be lists")
    if len(vecs) != len(correct):
        raise ValueError(f"{len(vecs)} tests but {len(correct)} correct indices")
    items = []
    for k, (vec, inx) in enumerate(zip(vecs, correct)):
        if isinstance(inx, bool) or not isinstance(inx, int) or not 1 <= inx <= 3:
            raise ValueError(f"test {k}: correct_inx {inx!r} is not 1, 2 or 3 (FIND counts from 1)")
        try:
            if category == "neurons_entities":
                items.append(MultipleChoiceItem(inputs=vec, correct=inx - 1))
            else:
                if not (isinstance(vec, list) and len(vec) == 2):
                    raise ValueError("expected [[3 inputs], [3 outputs]]")
                items.append(MultipleChoiceItem(inputs=vec[0], outputs=vec[1], correct=inx - 1))
        except ValidationError as e:
            raise ValueError(f"test {k}: {e.errors()[0]['msg']} ({e.errors()[0]['loc']})") from None
        except ValueError as e:
            raise ValueError(f"test {k}: {e}") from None
    return tuple(items)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_suite(functions: list[SuiteFunction], out: Path, manifest: dict[str, Any], force: bool = False) -> Path:
    """Write `functions` under `out`, atomically: a partial build never looks like a suite.

    The suite is assembled in a sibling temporary directory and renamed into place at the end,
    so an interrupted build leaves `out` untouched.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise SuiteError(f"{out} exists and is not empty; pass --force to replace it")
    keys = [(f.category, f.id) for f in functions]
    if len(set(keys)) != len(keys):
        raise SuiteError("duplicate (category, id) among the functions to write")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    by_category: dict[str, list[SuiteFunction]] = {}
    for fn in functions:
        by_category.setdefault(fn.category, []).append(fn)
        fdir = tmp / fn.category / fn.id
        fdir.mkdir(parents=True)
        (fdir / fn.script_name).write_text(fn.script, encoding="utf-8")
        for name, data in fn.extra_files.items():
            (fdir / name).write_bytes(data)
        gt = fn.ground_truth.model_dump(mode="json") | {"id": fn.id, "category": fn.category, "variant": fn.variant}
        _write_json(fdir / GROUND_TRUTH, gt)
        _write_json(fdir / HELD_OUT, fn.held_out_inputs)
    for category, fns in by_category.items():
        cdir = tmp / category
        if category == "numeric":
            _write_json(cdir / FUNC_NAME_DICT, {f.id: f.script_name for f in fns})
        if any(f.unit_tests for f in fns):
            _write_json(cdir / UNIT_TESTS, [_to_find_unit_tests(f) for f in fns if f.unit_tests])
        if category == "strings":
            _write_json(cdir / "test_data.json", [
                {"name": f.id, "description": f.ground_truth.description,
                 "test_inputs": ", ".join(json.dumps(x) for x in f.held_out_inputs)} for f in fns])
    counts = {c: len(v) for c, v in by_category.items()}
    _write_json(tmp / MANIFEST, {"format": FORMAT, **manifest, "counts": counts})
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def script_name(fdir: Path, name_dict: dict[str, str]) -> str:
    """The script serving `fdir`: the name dict's entry, else function_code.py, else the one
    FIND script name present. ValueError when none (or several) can be chosen."""
    if fdir.name in name_dict:
        name = name_dict[fdir.name]
        if Path(name).name != name or not name.endswith(".py"):
            raise ValueError(f"{FUNC_NAME_DICT} names {name!r}, which is not a script file name")
        if not (fdir / name).is_file():
            raise ValueError(f"no script {name} (named by {FUNC_NAME_DICT})")
        return name
    if (fdir / "function_code.py").is_file():
        return "function_code.py"
    present = [n for n in SCRIPT_NAMES if (fdir / n).is_file()]
    if len(present) == 1:
        return present[0]
    if present:
        raise ValueError(f"several scripts {present} and no {FUNC_NAME_DICT} entry to choose one")
    raise ValueError(f"no script (expected one of {list(SCRIPT_NAMES)})")


def load_suite(root: Path) -> Suite:
    """Read a suite written by `write_suite`. Broken functions are reported, the rest load."""
    root = Path(root)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise SuiteError(f"{root} is not an aia suite: {manifest_path} is missing "
                         "(build one with `aia suite build --out DIR`; for an official FIND release use "
                         "`aia bench --suite find:DIR`)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SuiteError(f"{manifest_path} is not valid JSON: {e}") from e
    if manifest.get("format") != FORMAT:
        raise SuiteError(f"{manifest_path}: unknown format {manifest.get('format')!r}, expected {FORMAT!r}")
    entries: list[SuiteEntry] = []
    problems: list[str] = []
    for category in CATEGORIES:
        cdir = root / category
        if not cdir.is_dir():
            if manifest.get("counts", {}).get(category):
                problems.append(f"{cdir}: missing, but {MANIFEST} lists {manifest['counts'][category]} functions")
            continue
        name_dict = _read_optional_json(cdir / FUNC_NAME_DICT, problems) or {}
        unit_tests: dict[str, tuple[MultipleChoiceItem, ...]] = {}
        for record in _read_optional_json(cdir / UNIT_TESTS, problems) or []:
            try:
                unit_tests[record["name"]] = find_unit_tests(record, category)
            except (KeyError, TypeError, ValueError, ValidationError) as e:
                problems.append(f"{cdir / UNIT_TESTS}: bad record {record.get('name', '?')!r}: {e}")
        for fdir in sorted(p for p in cdir.iterdir() if p.is_dir()):
            try:
                entries.append(_load_entry(fdir, category, name_dict, unit_tests.get(fdir.name, ())))
            except (OSError, ValueError, ValidationError, KeyError) as e:
                problems.append(f"{fdir}: {str(e).splitlines()[0]}")
    return Suite(root=root, manifest=manifest, entries=entries, problems=problems)


def _read_optional_json(path: Path, problems: list[str]) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        problems.append(f"{path}: unreadable ({e})")
        return None


def _load_entry(fdir: Path, category: Category, name_dict: dict[str, str],
                unit_tests: tuple[MultipleChoiceItem, ...]) -> SuiteEntry:
    script = fdir / script_name(fdir, name_dict)
    gt_path = fdir / GROUND_TRUTH
    try:
        gt_raw = json.loads(gt_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{GROUND_TRUTH} is missing") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{GROUND_TRUTH} is not valid JSON ({e})") from None
    variant = gt_raw.pop("variant", "unknown")
    gt_raw.pop("id", None)
    gt_raw.pop("category", None)
    held_path = fdir / HELD_OUT
    held = json.loads(held_path.read_text(encoding="utf-8")) if held_path.exists() else []
    return SuiteEntry(id=fdir.name, category=category, variant=variant, script_path=script,
                      ground_truth=GroundTruth.model_validate(gt_raw), unit_tests=unit_tests,
                      held_out_inputs=tuple(held))
