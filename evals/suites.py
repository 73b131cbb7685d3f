"""Where the functions under study come from, and how each is served as a sealed black box.

`--suite` accepts an aia suite directory, `default` (FIND's composition, built once and cached),
or `find:DIR` for a directory in the official FIND release layout (scripts only: each is run as
FIND runs it, `python SCRIPT args...`, and never imported, since its code is not ours).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from find_functions.blackbox import BlackBoxWorker, ScriptBlackBox
from find_functions.build import default_suite
from find_functions.layout import Suite, SuiteEntry, load_suite

FIND_PREFIX = "find:"


def open_suite(spec: str) -> Suite:
    if spec == "default":
        return load_suite(default_suite())
    if spec.startswith(FIND_PREFIX):
        from find_functions.find_release import load_find_suite
        return load_find_suite(Path(spec[len(FIND_PREFIX):]))
    return load_suite(Path(spec))


_WORKER: BlackBoxWorker | None = None


def _worker() -> BlackBoxWorker:
    """One worker process per scoring/investigating process, reused across functions, so heavy
    imports (torch, the embedding model) are paid once."""
    global _WORKER
    if _WORKER is None:
        _WORKER = BlackBoxWorker()
        _WORKER.start()
    return _WORKER


@contextmanager
def serve(entry: SuiteEntry) -> Iterator:
    """A fresh black box for `entry`: a `SealedFunction` (calls counted from zero)."""
    if entry.trusted_script:
        yield _worker().load(entry.script_path, entry.input_type)
    else:
        yield ScriptBlackBox(entry.script_path, entry.input_type)
