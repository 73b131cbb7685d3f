"""`aia label`: label many units, one transcript and one labels.jsonl line per unit, resumable.

Layout of RUN_DIR (an ``tools.run_dir.RunDirectory``: one process at a time, checked before
any work): ``config.json`` (what the run is; a resume must match it),
``labels.jsonl`` (one line per finished unit, appended and fsynced by the parent process as
each finishes, so an interrupted run loses at most the units in flight),
``<unit>/transcript.jsonl`` and ``summary.json`` (every score's mean beside both baselines'
means and the margins, units per minute, what the LLM calls cost).

Each unit's exemplars are split once: the labeler sees every other top window; the other
top windows and the random windows are held out for scoring only.  The row keeps all of
them, flagged, so a report can show what the labeler saw and what it was scored on.

With ``workers`` > 1 the units are labeled in spawned worker processes (``evals.pool``: never
forked, since a forked child of a torch-initialised parent can hang), each holding the model
once; the exemplar cache is built once up front by the parent, so workers only read it. A unit
whose worker dies under it gets an error row of kind ``crashed``, which is final: other failed
units are labeled again on resume, a crashing one is not, so it cannot stall the run.

With an LLM labeler and ``concurrency`` N > 1, up to N units are labeled at once as threads of
this process (``evals.pool.threaded_map``). The subject model is not thread-safe (traces install
interventions on it), so a labeling thread holds the model's turn (``ModelTurns``) all the time
except while it waits on an API (the labeler's policy, the LLM simulator): N units overlap their
waits and never their model work. ``max_usd`` caps the dollars of the whole run: once the rows'
usage reaches it, no further unit starts, and the summary says so.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from rich.console import Console
from rich.progress import TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from agent.labeling.labelers import Labeler, LabelJob
from evals.label_config import LabelConfig
from evals.pool import WorkerStartError, resilient_map, threaded_map
from evals.preflight import price_known
from evals.progress import RunProgress
from tools.exemplars import Exemplar
from tools.models import SubjectModel
from tools.run_dir import KINDS as RUN_KINDS
from tools.run_dir import RunDirectory, RunError, SpendingCap, last_per_key, now, read_results, versions

if TYPE_CHECKING:
    from tools.exemplars import CacheSpec
    from tools.units import Unit

CONFIG, LABELS, _ = RUN_KINDS["label"]
SUMMARY = "summary.json"
SCORE_KEYS = ("simulation", "detection", "fuzzing", "causal_contrast")
BASELINES = ("random", "top_token")
def unit_kind(unit: "str | Unit") -> str:
    """What the row's ``kind`` records: neuron, head, dim, latent or direction (tools.units.unit_noun)."""
    from tools.units import unit_noun
    return unit_noun(unit)


def unit_seed(unit: str, seed: int = 0) -> int:
    """A stable per-unit seed (Python's ``hash`` is salted per process)."""
    return seed * 1_000_003 + sum((i + 1) * ord(c) for i, c in enumerate(unit))


# ----------------------------------------------------------------------------- one unit

def _values(values: list[float]) -> list[float | None]:
    """Special tokens carry NaN in memory and ``null`` in JSON (which has no NaN)."""
    return [None if math.isnan(v) else round(v, 4) for v in values]


def exemplars_json(top: list[Exemplar], held_top: list[Exemplar], random: list[Exemplar]) -> dict[str, Any]:
    """The row's exemplars: top windows in rank order with their held-out flags, random ones (all held out)."""
    held = {id(e) for e in held_top}
    return {"top": [{"tokens": e.tokens, "values": _values(e.values), "held_out": id(e) in held} for e in top],
            "random": [{"tokens": e.tokens, "values": _values(e.values), "held_out": True} for e in random]}


def _empty_scores() -> dict[str, Any]:
    return {"scores": {k: None for k in SCORE_KEYS},
            "baselines": {b: {"label": None, "scores": {k: None for k in SCORE_KEYS}} for b in BASELINES}}


class ModelTurns:
    """Whose turn it is to use the subject model: concurrent labeling threads hold `lock` while
    they run, and give it up only while they wait on an API (`waiting`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()

    def around(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn` (an API call), run without the model's turn."""
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.waiting():
                return fn(*args, **kwargs)
        return call


class _WaitingPolicy:
    """A policy whose turns (API requests) give up the model's turn while they wait."""

    def __init__(self, policy: Any, turns: ModelTurns) -> None:
        self._policy = policy
        self.next_turn = turns.around(policy.next_turn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)


class UnitLabeler:
    """Per-process state: the model, the corpus, the simulator and the labeling backend.

    ``label(unit)`` returns the unit's labels.jsonl row; a failing unit gives a row with
    ``error`` (and no scores) instead of stopping the run. With ``turns``, ``label`` may be
    called from several threads at once (see the module docstring).
    """

    def __init__(self, cfg: LabelConfig, subject: SubjectModel, turns: ModelTurns | None = None):
        from agent.labeling.labelers import LLMLabeler
        from tools.corpus import load_corpus
        self.cfg, self.model = cfg, subject
        self.corpus = load_corpus(cfg.corpus)
        self.vocab = list(subject.tokenizer.get_vocab())
        self.labeler = make_labeler(cfg.backend, cfg.backend_options)
        self.turns = turns
        if turns is not None and isinstance(self.labeler, LLMLabeler):
            new_policy = self.labeler.new_policy
            self.labeler.new_policy = lambda: _WaitingPolicy(new_policy(), turns)
        self._simulator: Any = None

    @property
    def simulator(self) -> Any:
        """Built on first use, so a run of head units never needs one."""
        if self._simulator is None:
            simulator = make_simulator(self.cfg.simulator)
            llm = getattr(simulator, "llm", None)
            if self.turns is not None and llm is not None:  # its requests wait without the model's turn
                llm.ask_fn = self.turns.around(llm.ask_fn)
            self._simulator = simulator
        return self._simulator

    def label(self, unit: str) -> dict[str, Any]:
        if self.turns is None:
            return self._label_or_error(unit)
        with self.turns.lock:
            return self._label_or_error(unit)

    def _label_or_error(self, unit: str) -> dict[str, Any]:
        started = time.perf_counter()
        kind = unit_kind(unit)
        log_dir = self.cfg.out / unit
        try:
            return self._label(unit, kind, log_dir, started)
        except Exception as e:  # noqa: BLE001 - one failed unit must not stop the run
            return {"unit": unit, "kind": kind, "backend": self.cfg.backend, "label": "", "description": "",
                    "evidence": [], **_empty_scores(), "exemplars": {"top": [], "random": []},
                    "usage": _usage_dict(None), "seconds": round(time.perf_counter() - started, 3),
                    "status": "error", "error": f"{type(e).__name__}: {e}"}

    def _label(self, unit: str, kind: str, log_dir: Path, started: float) -> dict[str, Any]:
        from agent.labeling.neurons import split_exemplars
        from tools.exemplars import dataset_exemplars

        cfg = self.cfg
        ex = dataset_exemplars(self.model, unit, k=cfg.k, corpus=self.corpus, n_random=cfg.n_random,
                               max_windows=cfg.max_windows, root=cfg.cache_root)
        seen, held_top = split_exemplars(ex.top)
        result = self.labeler(LabelJob(self.model, unit, kind, seen, log_dir, corpus=self.corpus,
                                       max_rounds=cfg.max_rounds, cache_root=cfg.cache_root,
                                       max_windows=cfg.max_windows, builtin=cfg.labeler))
        row: dict[str, Any] = {"unit": unit, "kind": kind, "backend": cfg.backend, "label": result.label,
                               "description": result.description, "evidence": result.evidence}
        if kind == "head":
            from agent.labeling.heads import role_from_text
            row["role"] = role_from_text(f"{result.label}. {result.description}")
            row |= _empty_scores()
        else:
            row |= score_unit(result.description, model=self.model, unit=unit, held_top=held_top,
                              held_random=ex.random, seen=seen, vocab=self.vocab, simulator=self.simulator,
                              seed=unit_seed(unit, cfg.seed))
        row["exemplars"] = exemplars_json(ex.top, held_top, ex.random)
        row["usage"] = _usage_dict(result.usage)
        row["seconds"] = round(time.perf_counter() - started, 3)
        row["status"] = "ok"
        return row


def _usage_dict(usage: Any) -> dict[str, Any]:
    from agent.task import Usage
    return (usage or Usage()).model_dump()


def make_labeler(spec: str, options: dict[str, Any], kinds: frozenset[str] = frozenset()) -> Labeler:
    """The labeler named by ``--backend`` (agent.registry): ``builtin`` or an LLM spec; a
    RunError for a bad spec, a missing API key, a ``local:`` model that does not exist, or
    (``kinds``) a kind of unit it cannot label."""
    from agent.backends.base import MissingCredentials
    from agent.registry import resolve
    from evals.preflight import check_spec, one_line

    check_spec("labeler", spec, what="--backend", build=False)
    try:
        return resolve("labeler", spec, kinds=kinds, **options)
    except (ValueError, MissingCredentials) as e:
        raise RunError(one_line(str(e))) from None


def make_simulator(spec: str) -> Any:
    """The simulator named by ``--simulator``: ``offline`` or an LLM spec (evals.label_simulators)."""
    from agent.backends.base import MissingCredentials
    from evals.label_simulators import make_simulator as make
    from evals.preflight import check_spec, one_line

    check_spec("simulator", spec, what="--simulator", build=False)
    try:
        return make(spec)
    except (ValueError, MissingCredentials) as e:
        raise RunError(one_line(str(e))) from None


def score_unit(description: str, *, model: SubjectModel, unit: str, held_top: list[Exemplar],
               held_random: list[Exemplar], seen: list[Exemplar], vocab: list[str], simulator: Any,
               seed: int) -> dict[str, Any]:
    """The row's ``scores`` and ``baselines`` (contract §1), from the scorer's API (§2)."""
    from evals.label_scoring import score_with_baselines
    out = score_with_baselines(description, model=model, unit=unit, held_top=held_top, held_random=held_random,
                               seen=seen, vocab=vocab, simulator=simulator, seed=seed)
    scores = {k: _num(out["scores"].get(k)) for k in SCORE_KEYS}
    baselines = {b: {"label": out["baselines"][b]["label"],
                     "scores": {k: _num(out["baselines"][b]["scores"].get(k)) for k in SCORE_KEYS}}
                 for b in BASELINES}
    return {"scores": scores, "baselines": baselines}


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


# ----------------------------------------------------------------------------- workers

def _start_labeler(cfg: LabelConfig, threads: int) -> UnitLabeler:
    """A worker process's labeler: the model loaded by name, or the one sent by value."""
    import torch

    from tools.models import load_model

    torch.set_num_threads(threads)
    subject = load_model(cfg.model) if isinstance(cfg.model, str) else cfg.model
    return UnitLabeler(cfg, subject)


def _crashed(cfg: LabelConfig, unit: str) -> dict[str, Any]:
    """The row of a unit whose worker process died under it (final: see the module docstring)."""
    return {"unit": unit, "kind": unit_kind(unit), "backend": cfg.backend, "label": "", "description": "",
            "evidence": [], **_empty_scores(), "exemplars": {"top": [], "random": []}, "usage": _usage_dict(None),
            "error": "crashed: the worker process labeling this unit died (killed by a signal, out of memory, "
                     "or it exited); the run went on without it", "error_kind": "crashed", "status": "error"}


def _execute(cfg: LabelConfig, subject: SubjectModel, units: list[str], on_submit: Callable[[str], None],
             stop: Callable[[], bool] = lambda: False) -> Iterator[dict[str, Any]]:
    """Rows in completion order; the caller appends them (only the parent writes labels.jsonl).
    No unit starts once `stop()` is true."""
    if not units:
        return
    if cfg.concurrency > 1:
        yield from threaded_map(UnitLabeler(cfg, subject, ModelTurns()).label, units, concurrency=cfg.concurrency,
                                on_submit=on_submit, stop=stop)
        return
    if cfg.workers <= 1:
        labeler = UnitLabeler(cfg, subject)
        for unit in units:
            if stop():
                return
            on_submit(unit)
            yield labeler.label(unit)
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    threads = max(1, (os.cpu_count() or 1) // cfg.workers)
    try:
        yield from resilient_map(_start_labeler, (cfg, threads), "label", units, workers=cfg.workers,
                                 on_crash=lambda unit: _crashed(cfg, unit), on_submit=on_submit, stop=stop)
    except WorkerStartError as e:
        raise RunError(f"a labeling worker process could not start: {e}") from None


# ----------------------------------------------------------------------------- the run

def latest_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The last row of each unit (a unit that failed is labeled again on resume, appending a new row)."""
    return last_per_key(read_results(path), "unit")


def finished(row: dict[str, Any]) -> bool:
    """Whether a unit's latest row is final: labeled, or its worker crashed on it."""
    return "error" not in row or row.get("error_kind") == "crashed"


#: Corpus windows an attached SAE's reconstruction is measured on (recorded in config.json).
SAE_QUALITY_WINDOWS = 64


def _sae_quality(subject: "SubjectModel", spec: "CacheSpec") -> dict[str, dict[str, float]]:
    """Each attached SAE's reconstruction of its site on the last SAE_QUALITY_WINDOWS windows the
    run's exemplar cache reads (`spec`): what the labels of its latents stand on."""
    from tools.features import SAE, reconstruction_quality

    saes = {key: basis for key, basis in subject.features.items() if isinstance(basis, SAE)}
    if not saes:
        return {}
    ids, mask = spec.windows()
    ids, mask = ids[-SAE_QUALITY_WINDOWS:], mask[-SAE_QUALITY_WINDOWS:]
    return {key: reconstruction_quality(subject, key.rsplit(".", 1)[0], sae, ids, mask) for key, sae in saes.items()}


def run_labeling(model: "str | SubjectModel", units: "str | list[str]", backend: str, out: Path,
                 workers: int = LabelConfig.workers, k: int = LabelConfig.k, corpus: str = LabelConfig.corpus,
                 max_windows: int | None = LabelConfig.max_windows, n_random: int = LabelConfig.n_random,
                 simulator: str = LabelConfig.simulator, seed: int = LabelConfig.seed,
                 max_rounds: int = LabelConfig.max_rounds, cache_root: Path | None = LabelConfig.cache_root,
                 console: Console | None = None, backend_options: dict[str, Any] | None = None,
                 concurrency: int = LabelConfig.concurrency, max_usd: float | None = LabelConfig.max_usd
                 ) -> dict[str, Any]:
    """Label every unit of ``units`` (an address, range or whole site, or a list of them),
    resumably; returns the summary.

    ``backend``: ``builtin`` or an LLM spec (``agent.registry``, role ``labeler``);
    ``simulator``: ``offline`` or an LLM spec (the scorer's); ``max_windows`` caps the corpus
    windows the exemplar cache scans (None: all of it); ``workers``: processes; ``concurrency``:
    units at once as threads (LLM labelers); ``max_usd``: the whole run's dollars. The defaults are
    ``LabelConfig``'s; config.json also records the builtin labelers' thresholds.
    """
    from tools.corpus import load_corpus
    from tools.exemplars import CacheSpec, build_cache, every_tenth
    from tools.models import load_model
    from tools.units import expand

    if workers < 1:
        raise RunError(f"workers must be >= 1, got {workers}")
    if concurrency < 1:
        raise RunError(f"concurrency must be >= 1, got {concurrency}")
    if max_usd is not None and not max_usd > 0:
        raise RunError(f"max_usd must be a positive number of dollars, got {max_usd}")
    if k < 4:
        raise RunError(f"k must be >= 4 (half the top windows are held out for scoring), got {k}")
    make_labeler(backend, dict(backend_options or {}))  # fail now, before any work
    make_simulator(simulator)  # the simulator too: a bad one fails now, not once per unit
    if isinstance(model, str):  # a typo fails in seconds, before the run directory is made
        from tools.model_names import check_model_name
        check_model_name(model)
    from tools.corpus import check_corpus
    check_corpus(corpus)  # a missing file or an unreachable hub too
    console = console or Console(stderr=True)
    addresses = [units] if isinstance(units, str) else list(units)
    if not addresses:
        raise RunError("no units given: name at least one address, e.g. layer.3.mlp.neuron.0:20")
    cfg = LabelConfig(model=model, units=" ".join(addresses), out=Path(out), backend=backend, workers=workers, k=k,
                      corpus=corpus, max_windows=max_windows, n_random=n_random, simulator=simulator,
                      seed=seed, max_rounds=max_rounds, cache_root=cache_root,
                      backend_options=dict(backend_options or {}), concurrency=concurrency, max_usd=max_usd)
    from agent.registry import is_llm
    if concurrency > 1 and not is_llm(backend):
        console.print(f"[yellow]note:[/] --concurrency applies to LLM labelers; {backend!r} labels one unit at a time")
        cfg.concurrency = 1
    # The directory first: a locked, unwritable or damaged one is refused before the model loads.
    with RunDirectory(cfg.out, "label") as run_dir:
        subject = load_model(model) if isinstance(model, str) else model
        wanted = list(dict.fromkeys(str(u) for a in addresses for u in expand(a, subject)))
        make_labeler(backend, cfg.backend_options, frozenset(unit_kind(u) for u in wanted))
        # One corpus and windowing for the whole run: the cache the labels come from.
        spec = CacheSpec(subject, load_corpus(corpus), max_windows=max_windows, root=cache_root)
        cfg.feature_quality = _sae_quality(subject, spec)
        # the units may change (a resume can widen the range); config.json names the latest request
        run_dir.start_or_resume(cfg.identity(subject), new={"created": now(), "versions": versions(), **cfg.recorded()},
                                latest={"units": cfg.units, "concurrency": cfg.concurrency, "max_usd": cfg.max_usd,
                                        "price_known": price_known(backend), "config": cfg.config(subject)})
        done = {u for u, r in last_per_key(run_dir.rows(), "unit").items() if finished(r)}
        todo = [u for u in wanted if u not in done]
        started = time.perf_counter()
        layers = sorted({_layer(u) for u in todo})
        if layers:
            missing = [layer for layer in layers if not spec.layer_complete(layer)]
            if missing:  # minutes on a large corpus: say so, and (without a terminal) how far it got
                console.print(f"building the exemplar cache of layers {missing}: one pass over the corpus, "
                              "once per model and corpus")
            tenths = every_tenth(lambda line: console.print(f"exemplar cache: {line}"))
            with console.status(f"exemplar cache for layers {layers}"):
                build_cache(subject, spec.corpus, layers, k=max(k, 20), window=spec.window, max_windows=max_windows,
                            root=cache_root, progress=None if console.is_terminal else tenths)
        cache_seconds = time.perf_counter() - started
        if done & set(wanted):
            previous = last_per_key(run_dir.rows(), "unit")
            crashed = sum(1 for u in done & set(wanted) if "error" in previous[u])
            kept = f", {crashed} crashed (kept: their worker died on them)" if crashed else ""
            retried = sum(1 for u in todo if u in previous)
            again = f" ({retried} that failed before, labeled again)" if retried else ""
            console.print(f"resuming {cfg.out}: {len(done & set(wanted)) - crashed} done{kept}, "
                          f"{len(todo)} to go{again}")
        labeling_started = time.perf_counter()
        cap = SpendingCap(cfg.max_usd, run_dir.rows())  # every attempt of the run counts
        started_units: set[str] = set()
        with RunProgress(console, f"labeling ({backend})", total=len(wanted), completed=len(wanted) - len(todo),
                         columns=(TimeRemainingColumn(),)) as progress:
            for n, row in enumerate(_execute(cfg, subject, todo, started_units.add, cap.exhausted), 1):
                run_dir.append(row)
                cap.add(row)
                progress.advance(description=f"{row['unit']}: {(row['label'] or row.get('error', ''))[:30]}",
                                 line=_unit_line(row, n, len(todo), time.perf_counter() - labeling_started))
        labeling_seconds = time.perf_counter() - labeling_started
        latest = last_per_key(run_dir.rows(), "unit")
        rows = [latest[u] for u in wanted if u in latest]
        summary = summarize(rows, labeled_now=len(started_units), wall_seconds=labeling_seconds)
        summary["price_known"] = price_known(backend)
        summary["cache_seconds"] = round(cache_seconds, 2)
        summary["spent_usd"] = round(cap.spent, 6)
        not_started = [u for u in todo if u not in started_units]
        if not_started and cap.exhausted():
            summary["stopped"] = {"reason": "budget", "max_usd": cfg.max_usd, "spent_usd": round(cap.spent, 6),
                                  "not_started": len(not_started)}
            console.print(f"[yellow]stopped for budget:[/] ${cap.spent:.4f} spent of --max-usd {cfg.max_usd:g}; "
                          f"{len(not_started)} units not started (resume with a higher --max-usd)")
        (cfg.out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    console.print(summary_table(rows, summary))
    return summary


def _unit_line(row: dict[str, Any], n: int, total: int, seconds: float) -> str:
    """The plain progress line of one labeled unit (for consoles that are not terminals)."""
    what = f"failed: {row['error']}" if "error" in row else repr(row["label"])
    return f"{row['unit']}: {what} ({n}/{total} done, {seconds:.1f} s)"


def _layer(unit: str) -> int:
    from tools.units import parse_unit
    return parse_unit(unit).layer


# ----------------------------------------------------------------------------- summary

def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def summarize(rows: list[dict[str, Any]], labeled_now: int = 0, wall_seconds: float | None = None) -> dict[str, Any]:
    """Per score: the agent's mean beside both baselines' means on the same units, the margins,
    and the share of units where the agent beats each baseline; throughput and LLM cost.

    Means of a score use only the units where the agent and both baselines have it (heads
    have no simulation score), so the three numbers always compare like with like.
    """
    ok = [r for r in rows if "error" not in r]
    kinds = sorted({r.get("kind") for r in rows})
    out: dict[str, Any] = {"units": len(rows), "errors": len(rows) - len(ok),
                           "kinds": {k: sum(r.get("kind") == k for r in rows) for k in kinds}}
    if not rows:
        return out
    scores: dict[str, Any] = {}
    for key in SCORE_KEYS:
        both = [r for r in ok if r["scores"].get(key) is not None
                and all(r["baselines"][b]["scores"].get(key) is not None for b in BASELINES)]
        if not both:
            continue
        agent = _mean([r["scores"][key] for r in both])
        entry: dict[str, Any] = {"n": len(both), "agent": agent}
        for b in BASELINES:
            base = _mean([r["baselines"][b]["scores"][key] for r in both])
            entry[b] = base
            entry[f"margin_over_{b}"] = round(agent - base, 4)
            entry[f"beats_{b}_share"] = round(
                sum(r["scores"][key] > r["baselines"][b]["scores"][key] for r in both) / len(both), 4)
        scores[key] = entry
    out["scores"] = scores
    roles = [r["role"] for r in ok if r.get("role")]
    if roles:
        out["roles"] = {role: roles.count(role) for role in sorted(set(roles))}
    usage = {k: sum(r.get("usage", {}).get(k, 0) for r in rows)
             for k in ("input_tokens", "output_tokens", "llm_calls", "cached_input_tokens")}
    usage["cost_usd"] = round(sum(r.get("usage", {}).get("cost_usd", 0.0) for r in rows), 6)
    out["usage"] = usage
    unit_seconds = sum(r.get("seconds", 0.0) for r in rows)
    if unit_seconds > 0:
        out["seconds_per_unit"] = round(unit_seconds / len(rows), 3)
    if labeled_now and wall_seconds:
        out["units_per_minute"] = round(60 * labeled_now / wall_seconds, 2)
        out["wall_seconds"] = round(wall_seconds, 2)
    elif unit_seconds > 0:
        out["units_per_minute"] = round(60 * len(rows) / unit_seconds, 2)
    return out


SHORT = {"simulation": "sim", "detection": "detect", "fuzzing": "fuzz", "causal_contrast": "causal"}


def _f(x: float | None, sign: bool = False) -> str:
    return "-" if x is None else (f"{x:+.2f}" if sign else f"{x:.2f}")


def summary_table(rows: list[dict[str, Any]], summary: dict[str, Any], last: int = 20) -> Table:
    """The last units' scores (a star where one beats both baselines), then every score's mean
    beside both baselines' means and the margins; narrow enough for an 80-column terminal."""
    keys = list(summary.get("scores", {}))
    mixed = len(summary.get("kinds", {})) > 1
    caption = [f"{summary['units']} units"]
    if summary.get("errors"):
        caption.append(f"{summary['errors']} failed")
    if "units_per_minute" in summary:
        caption.append(f"{summary['units_per_minute']} units/minute")
    if summary.get("usage", {}).get("llm_calls"):
        u = summary["usage"]
        cost = "cost unknown (no price for this model; see AIA_PRICES)" if summary.get("price_known") is False \
            else f"${u['cost_usd']:.4f}"
        caption.append(f"{u['input_tokens']}+{u['output_tokens']} tokens, {cost}")
    if keys:
        caption.append("* beats both baselines")
    t = Table(title="aia label", caption=", ".join(caption))
    t.add_column("unit", no_wrap=True)
    if mixed:
        t.add_column("kind")
    t.add_column("label", ratio=1, overflow="fold")
    for key in keys:
        t.add_column(SHORT[key], justify="right", no_wrap=True)

    def cells(r: dict[str, Any]) -> list[str]:
        out = []
        for k in keys:
            a = r["scores"].get(k)
            bases = [r["baselines"][b]["scores"].get(k) for b in BASELINES]
            star = "*" if a is not None and all(b is not None and a > b for b in bases) else " "
            out.append(_f(a) + star)
        return out

    for r in rows[-last:]:
        lead = [r["unit"]] + ([r.get("kind", "")] if mixed else [])
        if "error" in r:
            t.add_row(*lead, Text(f"failed: {r['error'][:60]}", style="red"), *["" for _ in keys])
            continue
        role = f" (role: {r['role']})" if r.get("role") and r["role"] not in r["label"] else ""
        t.add_row(*lead, Text(r["label"] + role), *cells(r))
    scores = summary.get("scores", {})
    if scores:
        pad = [""] if mixed else []
        t.add_section()
        t.add_row("MEAN", *pad, "labeler", *[_f(scores[k]["agent"]) + " " if k in scores else "-" for k in keys],
                  style="bold")
        for b, name in (("random", "random word"), ("top_token", "top token")):
            t.add_row("", *pad, f"baseline: {name}",
                      *[_f(scores[k][b]) + " " if k in scores else "-" for k in keys])
        for b, name in (("random", "random word"), ("top_token", "top token")):
            t.add_row("MARGIN" if b == "random" else "", *pad, f"over {name}",
                      *[_f(scores[k][f"margin_over_{b}"], sign=True) + " " if k in scores else "-" for k in keys],
                      style="bold")
    return t


__all__ = ["LabelConfig", "UnitLabeler", "run_labeling", "summarize", "summary_table", "score_unit",
           "exemplars_json", "unit_kind", "unit_seed", "latest_rows", "LABELS", "SCORE_KEYS"]
