"""Foreign (FIND-release) scripts served confined: what they can see, how they fail, and that both
ways of serving them (loaded once into a confined worker, one confined process per batch) agree."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evals.suites import SERVE_MODES, serve
from find_functions.blackbox import BlackBoxError, BlackBoxWorker
from find_functions.find_release import load_find_suite
from find_functions.jail import function_jail, visible_files
from find_functions.layout import GROUND_TRUTH, HELD_OUT, SuiteEntry, write_suite
from find_functions.numeric import sample_numeric
from find_functions.strings import generate_strings
from tools import isolation

pytestmark = pytest.mark.skipif(not isolation.probe().available, reason=f"no OS sandbox: {isolation.probe().problem}")

# A string script (FIND's shape) that reports every sealed or foreign file it can find, at import
# and by walking the whole filesystem, and reads its own data file beside it as honest scripts do.
SNOOP = """import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = open(os.path.join(HERE, "weights.txt")).read().strip()
SEALED = ("ground_truth.json", "held_out.json", "suite.json", "unit_test_data.json", "func_name_dict.json",
          "test_data.json")
SEEN = [os.path.join(HERE, n) for n in SEALED if os.path.exists(os.path.join(HERE, n))]
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not (root == "/" and d == "proc")]
    SEEN += [os.path.join(root, f) for f in files if f in SEALED or "OTHER_FUNCTION" in f]
    SEEN += [os.path.join(root, d) for d in dirs if d == "f00001"]

def function(string):
    return SCALE + ":" + json.dumps(sorted(SEEN)) if string == "report" else string[::-1]

if __name__ == '__main__':
    outputs = ''
    for arg in sys.argv[1:]:
        outputs += f'({arg}, {str(function(str(arg)))}) '
    print(f'Function input - output pairs: {outputs}')
"""


def _suite_with_secrets(tmp_path: Path) -> Path:
    """A FIND-layout function directory beside the files its script must not see."""
    fdir = tmp_path / "suite" / "strings" / "f00000"
    fdir.mkdir(parents=True)
    (fdir / "function_code.py").write_text(SNOOP)
    (fdir / "weights.txt").write_text("3.5\n")
    (fdir / GROUND_TRUTH).write_text(json.dumps({"description": "reverses", "code": "def function(x): ..."}))
    (fdir / HELD_OUT).write_text("[]")
    (fdir / "alias.json").symlink_to(fdir / GROUND_TRUTH)  # a link to a sealed file is sealed too
    other = fdir.parent / "f00001"
    other.mkdir()
    (other / "OTHER_FUNCTION.py").write_text("")
    (fdir.parent / "unit_test_data.json").write_text("[]")
    (tmp_path / "suite" / "suite.json").write_text("{}")
    return fdir / "function_code.py"


def test_the_jail_binds_the_function_files_but_not_the_sealed_ones(tmp_path: Path) -> None:
    script = _suite_with_secrets(tmp_path)
    inside = sorted(dst for _, dst in visible_files(script))
    assert inside == [str(script.parent / "function_code.py"), str(script.parent / "weights.txt")]
    assert function_jail(script).read_only == visible_files(script)


@pytest.mark.parametrize("mode", SERVE_MODES)
def test_a_confined_script_sees_its_own_files_and_nothing_sealed(tmp_path: Path, mode: str) -> None:
    script = _suite_with_secrets(tmp_path)
    entry = SuiteEntry(id="f00000", category="strings", variant="unknown", script_path=script,
                       ground_truth=None, trusted_script=False)
    with serve(entry, mode=mode) as f:  # type: ignore[arg-type]
        assert f(["report", "abc"]) == ["3.5:[]", "cba"]
        assert f.errors == []


def _module_failing_at_import(tmp_path: Path, fid: str, code: str) -> Path:
    script = tmp_path / fid / "function_code.py"
    script.parent.mkdir(parents=True)
    script.write_text(code + "\ndef function(x):\n    return x\n")
    return script


@pytest.mark.parametrize("fid, code, error", [
    ("f00010", "import sys\nsys.exit(3)", r"f00010.*raised SystemExit: 3"),
    ("f00011", "import os\nos._exit(4)", r"f00011.*exited with code 4"),
    ("f00012", "import time\ntime.sleep(600)", r"f00012.*longer than 2 s"),
])
def test_a_script_that_exits_or_hangs_at_import_fails_to_load_clearly(tmp_path: Path, fid: str, code: str,
                                                                      error: str) -> None:
    script = _module_failing_at_import(tmp_path, fid, code)
    start = time.monotonic()
    with BlackBoxWorker(jail=function_jail(script), load_timeout=2.0) as worker:
        with pytest.raises(BlackBoxError, match=error):
            worker.load(script, "str")
    assert time.monotonic() - start < 15


def test_loaded_serving_carries_control_characters(tmp_path: Path) -> None:
    script = _suite_with_secrets(tmp_path)
    entry = SuiteEntry(id="f00000", category="strings", variant="unknown", script_path=script,
                       ground_truth=None, trusted_script=False)
    inputs = ["a\nb", "c\rd", "tab\there", "nul\0", "plain"]
    with serve(entry, mode="loaded") as loaded, serve(entry, mode="process") as process:
        assert loaded(inputs) == [s[::-1] for s in inputs] and loaded.errors == []
        assert process(inputs) == [None, None, None, None, "nialp"]
        assert len(process.errors) == 4 and all("cannot carry" in e for e in process.errors)


@pytest.fixture(scope="module")
def find_layout(tmp_path_factory: pytest.TempPathFactory) -> list[SuiteEntry]:
    """aia functions written in FIND's release layout and read back as a FIND release (foreign)."""
    numeric = [f.to_suite_function() for f in sample_numeric(3, 40) if f.variant == "clean"][:4]
    strings = generate_strings(3, 4)
    root = write_suite(numeric + strings, tmp_path_factory.mktemp("find") / "suite", {"seed": 3})
    entries = load_find_suite(root).entries
    assert len(entries) == 8 and not any(e.trusted_script for e in entries)
    return entries


def test_loaded_once_and_per_process_serving_agree(find_layout: list[SuiteEntry]) -> None:
    xs = [i + 0.5 for i in range(-128, 128)] + [0.0, -1e-9, 1e6]
    words = ["hello", "Hello World", "a1b2", "", "  padded  ", "ÄÖÜ ß", "queue", "(x, y)", "MiXeD 42!"]
    for entry in find_layout:
        inputs = xs if entry.input_type == "float" else words
        with serve(entry, mode="loaded") as loaded, serve(entry, mode="process") as process:
            assert loaded(inputs) == process(inputs), entry.key


def test_a_function_keeps_its_worker_until_another_is_served(find_layout: list[SuiteEntry]) -> None:
    first, second = find_layout[:2]
    with serve(first) as investigated:
        investigated([1.0])
    with serve(first) as scored:  # its scoring: the same process, the script loaded afresh
        assert scored._worker is investigated._worker and scored.calls == 0  # type: ignore[union-attr]
    with serve(second) as other:
        assert other._worker is not scored._worker  # type: ignore[union-attr]
        with pytest.raises(BlackBoxError, match="closed"):
            scored([1.0])  # the previous function's worker is gone before the next one runs
        other([1.0])
