"""Where the functions under study come from, and how each is served as a sealed black box.

`--suite` accepts an aia suite directory, `default` (FIND's composition, built once and cached),
or `find:DIR` for a directory in the official FIND release layout. Those scripts are foreign code:
each function gets a worker of its own, confined to that function's files by the operating system
(`find_functions.jail`), which loads the script once and calls its `function` directly
(`mode="loaded"`). `mode="process"` runs the script as FIND runs it instead, `python SCRIPT
args...`, one confined process per batch: slower, for scripts that only work as programs, and it
cannot carry control characters in string inputs. `confined=False` is the user's explicit opt-out
where bubblewrap is unavailable.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from evals.bench_config import SERVE_MODES, ServeMode
from find_functions.blackbox import BlackBoxWorker, ScriptBlackBox, SealedFunction
from find_functions.build import default_suite
from find_functions.jail import function_jail
from find_functions.layout import Suite, SuiteEntry, load_suite

FIND_PREFIX = "find:"

__all__ = ["FIND_PREFIX", "SERVE_MODES", "ServeMode", "open_suite", "serve"]  # the serve modes live with the config


def open_suite(spec: str) -> Suite:
    if spec == "default":
        return load_suite(default_suite())
    if spec.startswith(FIND_PREFIX):
        from find_functions.find_release import load_find_suite
        return load_find_suite(Path(spec[len(FIND_PREFIX):]))
    return load_suite(Path(spec))


_WORKER: BlackBoxWorker | None = None
#: Guards the module's shared workers: concurrent investigations (`--concurrency`) are threads of
#: one process. A BlackBoxWorker itself serializes its requests with its own lock.
_GLOBALS = threading.Lock()


def _worker(load_timeout: float) -> BlackBoxWorker:
    """One worker process per scoring/investigating process, reused across aia's own functions, so
    heavy imports (torch, the embedding model) are paid once."""
    global _WORKER
    with _GLOBALS:
        if _WORKER is None:
            worker = BlackBoxWorker()
            worker.start()
            _WORKER = worker
        _WORKER.load_timeout = load_timeout
        return _WORKER


_IDLE_FOREIGN: tuple[tuple[Path, bool], BlackBoxWorker] | None = None


@contextmanager
def _foreign_worker(entry: SuiteEntry, confined: bool, load_timeout: float) -> Iterator[BlackBoxWorker]:
    """A worker for `entry`'s foreign script alone, confined to that function's files.

    When the block ends the worker is kept, idle, until another function is served: a function's
    scoring right after its investigation then reuses it (one start per function, not two), and
    no script's import-time code or state ever meets another function's.
    """
    global _IDLE_FOREIGN
    key = (entry.script_path.resolve(), confined)
    with _GLOBALS:
        idle, _IDLE_FOREIGN = _IDLE_FOREIGN, None
    if idle is not None and idle[0] == key:
        worker = idle[1]
    else:
        if idle is not None:
            idle[1].close()
        worker = BlackBoxWorker(jail=function_jail(entry.script_path) if confined else None)
    worker.load_timeout = load_timeout
    try:
        yield worker
    finally:
        with _GLOBALS:
            left, _IDLE_FOREIGN = _IDLE_FOREIGN, (key, worker)
        if left is not None:  # a block nested in this one (or a concurrent one) left its worker
            left[1].close()


@contextmanager
def serve(entry: SuiteEntry, *, mode: ServeMode = "loaded", confined: bool = True,
          load_timeout: float = 120.0) -> Iterator[SealedFunction | ScriptBlackBox]:
    """A fresh black box for `entry` (calls counted from zero, the script loaded afresh); `mode`
    and `confined` apply to foreign scripts only (aia's own are served by the shared worker).
    A script whose import takes longer than `load_timeout` seconds is a BlackBoxError."""
    if mode not in SERVE_MODES:
        raise ValueError(f"serve mode must be one of {SERVE_MODES}, got {mode!r}")
    if entry.trusted_script:
        yield _worker(load_timeout).load(entry.script_path, entry.input_type)
    elif mode == "process":
        yield ScriptBlackBox(entry.script_path, entry.input_type, confined=confined)
    else:
        with _foreign_worker(entry, confined, load_timeout) as worker:
            yield worker.load(entry.script_path, entry.input_type)
