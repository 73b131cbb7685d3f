"""How a bench run confines the code it cannot trust, and what its record says about it.

Model-written code (`run_python`), answer code executed at scoring time, and the scripts of a
foreign FIND release run under the OS sandbox (`tools.isolation`) whenever the machine has it.
Where it does not, a run that would execute such code refuses to start unless the user opted out
with `--unconfined`; a run whose backend writes no code (the builtin scientist, the oracle, the
null backend) over aia's own suite needs no sandbox. The line returned here goes into `run.json`
and under the printed scores, so nobody mistakes an unconfined run for a sealed one.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from agent.registry import UnknownSpec, entry
from tools import isolation
from tools.run_dir import RunError

from . import reference_backends  # noqa: F401 - registers oracle and null, which write no code


class Suite(Protocol):
    """What this module reads of a suite (find_functions.layout.Suite): whether any entry is a
    foreign script. A protocol, so evals' isolation record needs no import of the suite package."""

    entries: Sequence[Any]


def writes_no_code(backend: str) -> bool:
    """Whether the registry marks `backend` as writing no code (`writes_no_code=True`): such a
    run needs no OS sandbox to be scored honestly. A `py:` plug-in or an LLM may write code."""
    try:
        return entry("investigator", backend).writes_no_code
    except UnknownSpec:
        return False


def sandbox_available() -> bool:
    """Whether this machine can confine untrusted code (bubblewrap works here)."""
    return isolation.probe().available


def confinement(backend: str, suite: Suite, unconfined: bool) -> str:
    """The run's isolation line, or a RunError when untrusted code would run unconfined without
    the user's explicit opt-out."""
    found = isolation.probe()
    if unconfined:
        return "none: --unconfined (the user's opt-out; model code could read the suite)"
    if found.available:
        return found.describe()
    foreign = any(not e.trusted_script for e in suite.entries)
    if writes_no_code(backend) and not foreign:
        return f"none needed: the {backend} backend runs no model-written code ({found.problem})"
    what = "foreign FIND scripts" if foreign else f"code written by {backend}"
    raise RunError(f"{what} must run in an OS sandbox, and there is none: {found.problem}; "
                   "or pass --unconfined to run without one (recorded in run.json; do not publish such scores)")
