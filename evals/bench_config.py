"""What an `aia bench` run is: its settings and their defaults, in one place.

`BenchConfig` holds every setting of a bench run, with one docstring per field (after Delphi's
config dataclasses). `aia bench` builds its options from it (defaults by reference, help from the
docstrings through `evals.config_help`), `run_bench` reads it, and run.json records it. This
module imports nothing heavy: the CLI reads it before any command runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

#: How a foreign script is served: loaded once into its own confined worker, or one process per batch.
ServeMode = Literal["loaded", "process"]
SERVE_MODES: tuple[ServeMode, ...] = ("loaded", "process")

#: `aia bench --workers` unless told: one worker process per CPU core (at most 8). A BenchConfig
#: built in code gets one worker instead (its `workers` default), which keeps tests light.
CLI_WORKERS = 0

#: The categories of a suite, in FIND's order (find_functions.spec.CATEGORIES says the same).
CATEGORY_NAMES = ("numeric", "strings", "neurons_entities", "neurons_relations")


@dataclass
class BenchConfig:
    """One bench run's settings; run.json records them (`evals.config_help.recorded`)."""

    out: Path
    """The run directory; run the same command again with it to resume."""

    suite: str = "default"
    """Which functions: a suite directory, ``default`` (FIND's composition, built once and cached),
    or ``find:DIR`` (a directory in FIND's release layout)."""

    backend: str = "builtin"
    """Who investigates: ``builtin`` (the offline scientist), ``oracle`` and ``null`` (the
    reference answers), an LLM (``openai:MODEL``, ``anthropic:MODEL``,
    ``openai-compatible:MODEL@URL``, ``local:PATH|smollm2``), ``replay:FILE`` or ``py:MODULE:CLASS``."""

    categories: list[str] | None = None
    """Only these categories: numeric, strings, neurons_entities, neurons_relations (repeatable)."""

    ids: list[str] | None = None
    """Only these functions, as fNNNNN or CATEGORY/fNNNNN (repeatable)."""

    limit: int | None = None
    """At most N functions per category (the first N), so a small run still covers every category."""

    workers: int = 1
    """Investigations in parallel, as worker processes; 0 means one per CPU core, at most 8, which
    is what `aia bench` asks for unless told (code that builds a config gets one worker)."""

    seed: int = 0
    """The investigation seed, handed to the investigator (recorded)."""

    max_rounds: int = 20
    """Rounds of experiments an LLM investigator may take per function. More than `aia label`'s 12:
    a black-box function starts from nothing, where a unit's labeler starts with its exemplars in
    hand. The builtin scientist follows its own fixed plan and takes no round cap."""

    judge: str = "offline"
    """Who answers the multiple-choice unit tests: ``offline`` or an LLM spec; never the backend
    under test unless you name it."""

    scoring_seed: int | None = None
    """The seed of the held-out points and samples answers are scored on. Unset: one fixed per
    suite (derived from the suite's identity), so runs of different backends on one suite are
    scored on the same points and compare."""

    retry_errors: bool = False
    """On a resume, investigate again the functions whose rows are errors (a crash, a backend
    that failed); without it they keep their error rows."""

    load_timeout: float = 60.0
    """Seconds a function's script may take to load before its row is an error."""

    serve: ServeMode = "loaded"
    """How foreign FIND scripts are served: ``loaded`` (once per function, fast) or ``process``
    (FIND's own ``python SCRIPT args``, one process per batch)."""

    unconfined: bool = False
    """Run model code, answer code and foreign scripts without the OS sandbox (bubblewrap): only
    where it cannot be installed; recorded in run.json and printed with the scores."""

    concurrency: int = 1
    """LLM backends: investigations at once, as threads waiting on the API (independent of workers)."""

    max_usd: float | None = None
    """Dollars for the whole run: once spent, no further investigation starts. Prices come from a
    built-in table; a JSON file named by AIA_PRICES ({"model-prefix": {"input": 2.5, "output": 10.0}},
    USD per million tokens) overrides or extends it."""

    max_usd_per_function: float | None = None
    """LLM backends: dollars per investigation (it gets its final request when they are spent)."""

    extra: dict[str, Any] = field(default_factory=dict)
    """More of the budget to record in run.json (set by code, not by an option)."""

    def confine(self) -> bool:
        """Whether untrusted code (model-written, answers, foreign scripts) runs under the OS sandbox."""
        from evals.confinement import sandbox_available

        return not self.unconfined and sandbox_available()


def suite_scoring_seed(manifest: Mapping[str, Any], keys: list[str]) -> int:
    """The scoring seed fixed for a suite: a hash of its manifest and its functions' keys, so two
    runs on one suite (or on two copies of it) draw the same held-out points, and two suites do
    not (where a suite lives is no part of it). 63 bits, like the random seeds older runs recorded."""
    where = ("root",)
    identity = json.dumps({"manifest": {k: v for k, v in manifest.items() if k not in where}, "keys": sorted(keys)},
                          sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") >> 1
