"""The `aia` command. This module is the composition root: it is the one place that wires the
suite (find_functions), the agent, the toolkit (tools) and the scorers (evals) together, importing
each lazily so `aia --help` stays instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.text import Text

# light (no torch): the commands' settings, whose defaults and help the options below show
from evals.bench_config import CATEGORY_NAMES, CLI_WORKERS, SERVE_MODES, BenchConfig
from evals.config_help import field_help
from evals.label_config import LabelConfig
from evals.localize_runner import LocalizeConfig  # light: the localize defaults the options below show
from tools.model_names import MODEL_CHOICES

app = typer.Typer(help="aia: an automated interpretability agent, benchmarked on FIND-style ground truth.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})  # subcommands inherit -h
suite_app = typer.Typer(help="Build and inspect suites of ground-truth functions.", no_args_is_help=True)
app.add_typer(suite_app, name="suite")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"aia {version('aia')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            print("aia (not installed: no version recorded)")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                               help="print aia's version and exit")] = False) -> None:
    """aia: an automated interpretability agent, benchmarked on FIND-style ground truth."""

out = Console(width=None if sys.stdout.isatty() else 160)  # tables stay whole in pipes and logs
err = Console(stderr=True, soft_wrap=True)  # error lines stay whole: people grep them

#: The backend `aia bench` uses when none is named: the built-in offline scientist, which needs no
#: API key and no network (`BenchConfig.backend`'s default).
DEFAULT_BACKEND = BenchConfig.backend

CATEGORY_HELP = " | ".join(CATEGORY_NAMES) + " (repeatable)"

#: The price override, as every command that spends dollars documents it.
PRICES_HELP = ("Prices: a built-in table of OpenAI and Anthropic models; AIA_PRICES=FILE, a JSON file "
               '{"model-prefix": {"input": 2.5, "output": 10.0, "cached_input": 1.25}} in USD per million tokens, '
               "overrides or extends it. A model without a price shows its cost as unknown.")


#: The exemplar windows every command scans unless told (LabelConfig's; on the command line 0 means all).
MAX_WINDOWS: int = LabelConfig.max_windows or 0


def _bench(name: str) -> str:
    """An `aia bench` option's help: its BenchConfig field's docstring."""
    return field_help(BenchConfig, name)


def _label(name: str) -> str:
    """An `aia label` option's help: its LabelConfig field's docstring."""
    return field_help(LabelConfig, name)


def _localize(name: str) -> str:
    """An `aia localize` option's help: its LocalizeConfig field's docstring."""
    return field_help(LocalizeConfig, name)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), message))
    return typer.Exit(code)


@suite_app.command("build")
def suite_build(
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write the suite to")],
    seed: Annotated[int, typer.Option(help="generator seed")] = 0,
    category: Annotated[Optional[list[str]], typer.Option(help=CATEGORY_HELP)] = None,
    force: Annotated[bool, typer.Option(help="replace a non-empty --out")] = False,
    find_numeric: Annotated[Optional[Path], typer.Option(
        help="instead: rebuild FIND's 850 non-MLP numeric functions from this folder "
             "(holding FIND's data.json and func_name_dict.json)")] = None,
) -> None:
    """Generate a suite with FIND's composition and write it in FIND's release layout."""
    from find_functions.build import build_find_numeric_suite, build_suite
    from find_functions.layout import SuiteError
    from find_functions.spec import CATEGORIES

    try:
        if find_numeric is not None:
            path = build_find_numeric_suite(find_numeric, out_dir, force=force, console=err)
        else:
            unknown = set(category or []) - set(CATEGORIES)
            if unknown:
                raise _fail(f"unknown category {sorted(unknown)}; choose from {list(CATEGORIES)}")
            path = build_suite(out_dir, seed=seed, categories=category or None, force=force, console=err)
    except (SuiteError, FileNotFoundError, ValueError) as e:
        raise _fail(str(e)) from None
    err.print(f"suite written to {path}")


@suite_app.command("stats")
def suite_stats(
    suite_dir: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Counts per category and variant."""
    from find_functions.layout import SuiteError, load_suite

    try:
        suite = load_suite(suite_dir)
    except SuiteError as e:
        raise _fail(str(e)) from None
    counts: dict[str, dict[str, int]] = {}
    for e in suite.entries:
        by_variant = counts.setdefault(e.category, {})
        by_variant[e.variant] = by_variant.get(e.variant, 0) + 1
    stats = {"suite": str(suite_dir), "seed": suite.manifest.get("seed"),
             "categories": {c: {"n": sum(v.values()), "variants": dict(sorted(v.items()))} for c, v in counts.items()},
             "problems": suite.problems}
    if as_json:
        print(json.dumps(stats, indent=1))
        return
    from rich.table import Table
    table = Table(title=f"suite {suite_dir} (seed {stats['seed']})")
    for col in ("category", "n", "variants"):
        table.add_column(col)
    for c, s in stats["categories"].items():
        table.add_row(c, str(s["n"]), ", ".join(f"{k} {v}" for k, v in s["variants"].items()))
    out.print(table)
    for p in suite.problems:
        err.print(f"[yellow]problem:[/] {p}")


@suite_app.command("show")
def suite_show(
    suite_dir: Path,
    function: Annotated[str, typer.Argument(help="fNNNNN or CATEGORY/fNNNNN")],
) -> None:
    """Everything the suite knows about one function (ground truth included: this is for people)."""
    from rich.syntax import Syntax

    from find_functions.layout import SuiteError, load_suite

    try:
        suite = load_suite(suite_dir)
        entries = suite.select(ids=[function]) if "/" in function else [e for e in suite.entries if e.id == function]
    except SuiteError as e:
        raise _fail(str(e)) from None
    if not entries:
        raise _fail(f"no function {function!r} in {suite_dir}")
    for e in entries:
        gt = e.ground_truth
        out.rule(f"{e.key} · {e.variant}")
        out.print(f"[bold]script[/] {e.script_path}")
        if gt:
            out.print(f"[bold]description[/] {gt.description}")
            out.print(f"[bold]label[/] {gt.label}   [bold]domain[/] {gt.domain}")
            if gt.code:
                out.print(Syntax(gt.code, "python"))
        for i, item in enumerate(e.unit_tests, 1):
            pairs = (", ".join(f"{x!r}->{y!r}" for x, y in zip(item.inputs, item.outputs))
                     if item.outputs else ", ".join(map(repr, item.inputs)))
            out.print(f"  unit test {i}: {pairs}  [green]correct: {item.correct + 1}[/]")
        if e.held_out_inputs:
            out.print(f"[bold]held-out inputs[/] {list(e.held_out_inputs)[:10]} ... ({len(e.held_out_inputs)})")


def _check_concurrency(concurrency: int) -> None:
    if concurrency < 1:
        raise _fail(f"--concurrency must be >= 1 (LLM calls at once), got {concurrency}")


def _check_dollars(option: str, value: float | None) -> None:
    if value is not None and not (value > 0 and value != float("inf")):  # NaN and inf fail too
        raise _fail(f"{option} must be a positive number of dollars, got {value}")


@app.command(epilog=PRICES_HELP)
def bench(
    out_dir: Annotated[Path, typer.Option("--out", help=_bench("out"))],
    suite: Annotated[str, typer.Option(help=_bench("suite"))] = BenchConfig.suite,
    backend: Annotated[str, typer.Option(help=_bench("backend"))] = BenchConfig.backend,
    category: Annotated[Optional[list[str]], typer.Option(help=CATEGORY_HELP)] = BenchConfig.categories,
    limit: Annotated[Optional[int], typer.Option(help=_bench("limit"))] = BenchConfig.limit,
    ids: Annotated[Optional[list[str]], typer.Option(help=_bench("ids"))] = BenchConfig.ids,
    workers: Annotated[int, typer.Option(help=_bench("workers"))] = CLI_WORKERS,
    seed: Annotated[int, typer.Option(help=_bench("seed"))] = BenchConfig.seed,
    max_rounds: Annotated[int, typer.Option(help=_bench("max_rounds"))] = BenchConfig.max_rounds,
    judge: Annotated[str, typer.Option(help=_bench("judge"))] = BenchConfig.judge,
    scoring_seed: Annotated[Optional[int], typer.Option(help=_bench("scoring_seed"))] = BenchConfig.scoring_seed,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help=_bench("retry_errors"))
                            ] = BenchConfig.retry_errors,
    serve: Annotated[str, typer.Option(help=_bench("serve"))] = BenchConfig.serve,
    unconfined: Annotated[bool, typer.Option("--unconfined", help=_bench("unconfined"))] = BenchConfig.unconfined,
    concurrency: Annotated[int, typer.Option(help=_bench("concurrency"))] = BenchConfig.concurrency,
    max_usd: Annotated[Optional[float], typer.Option(help=_bench("max_usd"))] = BenchConfig.max_usd,
    max_usd_per_function: Annotated[Optional[float], typer.Option(help=_bench("max_usd_per_function"))
                                    ] = BenchConfig.max_usd_per_function,
) -> None:
    """Investigate and score suite functions; results stream to RUN_DIR/results.jsonl.

    Exits 2 on bad input (before any work), 1 when some investigations errored (they have no
    score; --retry-errors on a resume runs them again), 0 otherwise."""
    if workers < 0:
        raise _fail("--workers must be >= 1 (or 0 for one per CPU core)")
    _check_concurrency(concurrency)
    _check_dollars("--max-usd", max_usd)
    _check_dollars("--max-usd-per-function", max_usd_per_function)
    if serve not in SERVE_MODES:
        raise _fail(f"--serve must be one of {', '.join(SERVE_MODES)}; got {serve!r}")
    unknown = sorted(set(category or []) - set(CATEGORY_NAMES))
    if unknown:
        raise _fail(f"unknown category {unknown}; choose from {list(CATEGORY_NAMES)}")
    from evals.runner import RunError, run_bench
    from evals.summary import print_summary
    from find_functions.layout import SuiteError

    cfg = BenchConfig(suite=suite, backend=backend, out=out_dir, categories=category, ids=ids, limit=limit,
                      workers=workers, seed=seed, max_rounds=max_rounds, judge=judge, serve=serve,  # type: ignore[arg-type]
                      unconfined=unconfined, concurrency=concurrency, max_usd=max_usd,
                      max_usd_per_function=max_usd_per_function, scoring_seed=scoring_seed,
                      retry_errors=retry_errors)
    try:
        summary = run_bench(cfg, console=err)
    except (RunError, SuiteError, FileNotFoundError) as e:
        raise _fail(str(e)) from None
    print_summary(summary, out)
    out.print(f"results: {out_dir / 'results.jsonl'}   summary: {out_dir / 'summary.json'}")
    if summary["overall"]["errors"]:  # a run with failed investigations is not a success, whatever its mean
        raise typer.Exit(1)


@app.command()
def score(run_dir: Path) -> None:
    """Score the saved answers of a run again (after a scorer changed)."""
    from evals.runner import RunError, rescore
    from evals.summary import print_summary

    try:
        summary = rescore(run_dir, console=err)
    except RunError as e:
        raise _fail(str(e)) from None
    print_summary(summary, out)



@app.command()
def show(
    path: Annotated[Path, typer.Argument(help="one investigation: RUN_DIR/<category>/<id> (bench), RUN_DIR/<unit> "
                                              "(label), a chat session, or a transcript.jsonl")],
    brief: Annotated[bool, typer.Option("--brief", help="one line per step, without the prompts")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the events and the result row as JSON")] = False,
) -> None:
    """Print one investigation: its steps, hypotheses as they change, the answer, then its scores."""
    from agent.transcript import TranscriptError, read_transcript, render_transcript, transcript_path
    from tools.run_dir import RunError

    try:
        transcript = transcript_path(path)
    except FileNotFoundError as e:
        raise _fail(_not_an_investigation(path) or str(e)) from None
    try:
        row = _result_row(transcript.parent)
        if as_json:
            print(json.dumps({"transcript": str(transcript), "events": list(read_transcript(transcript)),
                              "result": row}, indent=1))
            return
        from evals.preflight import price_known

        render_transcript(transcript, console=out, brief=brief, price_known=price_known)
    except (TranscriptError, RunError) as e:
        raise _fail(str(e)) from None
    if row is not None:
        out.print(_scores_line(row), highlight=False)


def _not_an_investigation(path: Path) -> str | None:
    """The error for `aia show` on a whole run directory: what it is, and its investigations."""
    from tools.run_dir import KINDS, RunDirectory, RunError

    try:
        kind, _ = RunDirectory.open_existing(path)
    except RunError:
        return None
    rows = _rows(path / KINDS[kind][1])
    key = "unit" if kind in ("label", "check-heads") else "key"
    names = [str(r[key]) for r in rows if key in r and (path / str(r[key]) / "transcript.jsonl").is_file()]
    names = sorted(set(names))
    if not names:
        return f"{path} is a {KINDS[kind][2]}, not one investigation, and none of its investigations has a transcript"
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (f"{path} is a {KINDS[kind][2]}, not one investigation; show one of its {len(names)}: "
            f"aia show {path / names[0]} ({shown})")


def _rows(path: Path) -> list[dict]:
    from tools.run_dir import read_results

    return read_results(path) if path.is_file() else []


def _result_row(log_dir: Path) -> Optional[dict]:
    """The results row of the investigation logged in `log_dir`, when it sits in a bench run
    (RUN/<category>/<id>) or a label run (RUN/<unit>); None for a chat session or a lone transcript."""
    from tools.run_dir import KINDS

    bench = log_dir.parent.parent / KINDS["bench"][1]
    if bench.is_file():
        key = f"{log_dir.parent.name}/{log_dir.name}"
        found = [r for r in _rows(bench) if r.get("key") == key]
        if found:
            return found[-1]
    labels = log_dir.parent / KINDS["label"][1]
    if labels.is_file():
        found = [r for r in _rows(labels) if r.get("unit") == log_dir.name]
        if found:
            return found[-1]
    return None


def _scores_line(row: dict) -> str:
    """The scores of a results row as `aia show` ends with them; an errored row says it has none."""
    from evals.summary import ERROR, row_status

    if "unit" in row:  # a label row: each score beside its two baselines
        if row.get("error"):
            return f"error: {row['error']} (no scores)"
        parts = []
        for name, value in (row.get("scores") or {}).items():
            if value is None:
                continue
            bases = {b: (row.get("baselines") or {}).get(b, {}).get("scores", {}).get(name)
                     for b in ("random", "top_token")}
            base = ", ".join(f"{b.replace('_', ' ')} {v:.3f}" for b, v in bases.items() if v is not None)
            parts.append(f"{name} {value:.3f}" + (f" ({base})" if base else ""))
        return "scores: " + ("; ".join(parts) if parts else "none (heads are not scored)")
    if row_status(row) == ERROR:
        return f"error: {row.get('error')} (no score; --retry-errors investigates it again)"
    scores = row.get("scores") or {}
    extra = [f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items()
             if k in ("find", "strict_nmse", "domain_iou", "code_exact", "description_mc", "judge_ceiling",
                      "judge_floor") and v is not None]
    note = f" ({row['error']})" if row.get("error") else ""
    return f"score {row.get('score')}{note}" + (f"; {', '.join(extra)}" if extra else "")


@app.command()
def report(run_dirs: Annotated[list[Path], typer.Argument(
               help="a run of `aia bench` or `aia label`, or a session of `aia chat` (the kind is read from its "
                    "files); two or more runs of one kind: a comparison, item by item")],
           out_dir: Annotated[Optional[Path], typer.Option(
               "--out", help="default RUN_DIR/report; required for a comparison")] = None) -> None:
    """Write a static HTML report of a bench run, label run or chat session, or compare runs side by
    side (opens offline from file://)."""
    from evals.report import ReportError, build_report
    from evals.report_compare import build_comparison

    if len(run_dirs) > 1 and out_dir is None:
        raise _fail("comparing runs needs --out DIR (where the comparison is written)")
    try:
        index = build_comparison(run_dirs, out_dir) if len(run_dirs) > 1 else build_report(run_dirs[0], out_dir)
    except ReportError as e:
        raise _fail(str(e)) from None
    out.print(f"report: {index}")


SAE_HELP = ("attach an SAE to a site: SITE=DIR (SAELens cfg.json + sae_weights.safetensors, or sparsify cfg.json + "
            "sae.safetensors), e.g. layer.3.resid=./sae; its latents are layer.3.resid.sae.latent.I (repeatable)")
DIRECTION_HELP = ("attach a direction to a site: SITE=FILE[:NAME] (.pt, .npy or .safetensors; NAME defaults to the "
                  "file's stem); its unit is layer.L.SITE.direction.NAME (repeatable)")
DEVICE_HELP = "where the model runs: auto (the GPU when there is one) | cpu | cuda | cuda:N | mps"
DTYPE_HELP = "the model's weights and activations: float32 | bfloat16 | float16"


#: Tokens per exemplar-cache window (tools.exemplars' default): what --tokens is divided by.
WINDOW_TOKENS = 64


def _windows_for(tokens: str) -> int:
    """`--tokens 200k` as a number of cache windows (rounded up); one line on bad input."""
    text = tokens.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "kmb" else text
    try:
        value = float(number) * scale
    except ValueError:
        raise _fail(f"--tokens {tokens!r}: expected a number such as 200000, 200k or 10M") from None
    if not value >= WINDOW_TOKENS:
        raise _fail(f"--tokens {tokens!r}: at least one window ({WINDOW_TOKENS} tokens)")
    return -(-int(value) // WINDOW_TOKENS)


def _subject(model: str, sae: Optional[list[str]], direction: Optional[list[str]], device: str, dtype: str) -> Any:
    """The model as a name (workers load it themselves), or loaded, on its device, with the SAEs
    and directions attached, when any of those options is given. Bad input: one line, exit 2."""
    from tools.features import FeatureError, attach, load_direction, load_sae
    from tools.models import load_model, resolve_device, resolve_dtype
    from tools.units import UnitError

    try:
        where, precision = resolve_device(device), resolve_dtype(dtype)
        if not sae and not direction and where == "cpu" and dtype == "float32":
            return model
        subject = load_model(model, device=where, dtype=precision)
        for option, items in (("--sae", sae or []), ("--direction", direction or [])):
            for item in items:
                site, eq, path = item.partition("=")
                if not (eq and site and path):
                    raise ValueError(f"{option} {item!r}: expected SITE=PATH, e.g. layer.3.resid=./sae")
                if option == "--sae":
                    basis = load_sae(path)
                else:
                    file, name = (path.rsplit(":", 1) if ":" in path and not Path(path).exists() else (path, ""))
                    basis = load_direction(file, name or None)
                attach(subject, site, basis)
    except (FeatureError, UnitError, ValueError, FileNotFoundError, OSError) as e:
        raise _fail(str(e)) from None
    return subject


@app.command(epilog=PRICES_HELP)
def label(
    model: Annotated[str, typer.Option(help=MODEL_CHOICES)],
    units_: Annotated[list[str], typer.Option("--units", help="unit addresses, e.g. layer.3.mlp.neuron.0:100 "
                                                              "or layer.1.attn (repeatable)")],
    out_dir: Annotated[Path, typer.Option("--out", help=_label("out") + " Run it again with the same --out to "
                                                                        "resume.")],
    backend: Annotated[str, typer.Option(help=_label("backend"))] = LabelConfig.backend,
    workers: Annotated[int, typer.Option(help=_label("workers"))] = LabelConfig.workers,
    k: Annotated[int, typer.Option(help=_label("k"))] = LabelConfig.k,
    corpus: Annotated[str, typer.Option(help=_label("corpus"))] = LabelConfig.corpus,
    max_windows: Annotated[int, typer.Option(help="corpus windows scanned for exemplars (0: all of them)")
                           ] = MAX_WINDOWS,
    tokens: Annotated[Optional[str], typer.Option(help="instead of --max-windows: corpus tokens to scan, e.g. 200k "
                                                       "or 10M (64-token windows)")] = None,
    simulator: Annotated[str, typer.Option(help=_label("simulator"))] = LabelConfig.simulator,
    max_rounds: Annotated[int, typer.Option(help=_label("max_rounds"))] = LabelConfig.max_rounds,
    seed: Annotated[int, typer.Option(help=_label("seed"))] = LabelConfig.seed,
    concurrency: Annotated[int, typer.Option(help=_label("concurrency"))] = LabelConfig.concurrency,
    max_usd: Annotated[Optional[float], typer.Option(help=_label("max_usd"))] = LabelConfig.max_usd,
    sae: Annotated[Optional[list[str]], typer.Option(help=SAE_HELP)] = None,
    direction: Annotated[Optional[list[str]], typer.Option(help=DIRECTION_HELP)] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    dtype: Annotated[str, typer.Option(help=DTYPE_HELP)] = "float32",
) -> None:
    """Label units of a model: exemplars, synthesized and edited inputs, ablation, a description,
    and its scores beside a random and a top-token baseline."""
    _check_concurrency(concurrency)
    _check_dollars("--max-usd", max_usd)
    from agent.backends.base import MissingCredentials
    from evals.label_runner import run_labeling
    from evals.preflight import one_line
    from evals.runner import RunError
    from tools.units import UnitError

    if tokens is not None:
        max_windows = _windows_for(tokens)
    subject = _subject(model, sae, direction, device, dtype)
    try:
        run_labeling(subject, units_, backend, out_dir, workers=workers, k=k, corpus=corpus,
                     max_windows=max_windows or None, simulator=simulator, max_rounds=max_rounds, seed=seed,
                     console=err, concurrency=concurrency, max_usd=max_usd)
    except (RunError, UnitError, ValueError, FileNotFoundError, MissingCredentials) as e:
        raise _fail(one_line(str(e))) from None
    out.print(f"labels: {out_dir / 'labels.jsonl'}   summary: {out_dir / 'summary.json'}")


check_app = typer.Typer(help="Check labelers against ground truth: attention-head roles, planted neurons.",
                        no_args_is_help=True)
app.add_typer(check_app, name="check")


@check_app.command("heads")
def check_heads(
    out_dir: Annotated[Path, typer.Option("--out", help="run directory (re-use it to resume)")],
    model: Annotated[str, typer.Option(help="a model whose head roles are verified")] = "toy-induction",
    backend: Annotated[str, typer.Option(help="builtin | an LLM spec, as for `aia label`")] = "builtin",
    roles: Annotated[Optional[Path], typer.Option(help="roles file (default: the toy model's roles.json)")] = None,
    workers: Annotated[int, typer.Option(help="heads in parallel (processes)")] = 1,
    max_windows: Annotated[int, typer.Option(help="corpus windows scanned for the heads' exemplars (0: all)")] = (
        MAX_WINDOWS),
) -> None:
    """Label every attention head of a model and score the roles found against the verified ones."""
    from evals.head_roles import head_role_accuracy
    from evals.label_runner import LABELS, latest_rows, run_labeling
    from evals.runner import RunError
    from find_functions.heads import ROLES_PATH, load_roles
    from tools.models import load_model
    from tools.units import UnitError

    try:
        key = load_roles(roles or ROLES_PATH)
        subject = load_model(model)
        run_labeling(subject, [f"layer.{layer}.attn" for layer in range(subject.n_layers)], backend, out_dir,
                     workers=workers, max_windows=max_windows or None, console=err)
        from tools.run_dir import KINDS, RunDirectory, stamped

        # Scored and written under the run's lock: a second process labeling into the same
        # directory cannot change the rows between reading them and writing the result.
        with RunDirectory(out_dir, "label"):
            result = head_role_accuracy(list(latest_rows(out_dir / LABELS).values()), key)
            target = out_dir / KINDS["check-heads"][0]
            partial = target.with_suffix(".tmp")
            partial.write_text(json.dumps(stamped("check-heads", result), indent=2) + "\n")
            partial.replace(target)
    except (RunError, UnitError, ValueError, FileNotFoundError) as e:
        raise _fail(str(e)) from None
    from rich.table import Table
    table = Table(title=f"head roles of {model}: accuracy {_pct(result['accuracy'])} over {result['n']} heads")
    for col in ("role", "heads", "correct", "recall"):
        table.add_column(col)
    for role, r in result["per_role"].items():
        table.add_row(role, str(r["n"]), str(r["correct"]), _pct(r["recall"]))
    out.print(table)
    for w in result["wrong"]:
        out.print(f"[yellow]wrong:[/] {w['unit']}: verified {w['true']}, labeled {w['predicted']}")
    if result["missing"]:
        out.print(f"[yellow]not labeled:[/] {', '.join(result['missing'])}")
    out.print(f"result: {out_dir / 'check_heads.json'}   labels: {out_dir / 'labels.jsonl'}")


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.0%}"


@check_app.command("planted")
def check_planted(
    out_dir: Annotated[Path, typer.Option("--out", help="run directory (re-use it to resume)")],
    model: Annotated[str, typer.Option(help=f"the model to plant concepts into: {MODEL_CHOICES}")] = "minilm",
    n: Annotated[int, typer.Option(help="entity functions planted (one neuron each)")] = 10,
    backend: Annotated[str, typer.Option(help="builtin | an LLM spec, as for `aia label`")] = "builtin",
    judge: Annotated[str, typer.Option(help="offline | an LLM spec")] = "offline",
    seed: Annotated[int, typer.Option(help="which entity functions, and which neurons")] = 0,
    layer: Annotated[Optional[int], typer.Option(help="layer to plant into (default: the middle one)")] = None,
    corpus: Annotated[str, typer.Option(help="default | a .txt, .jsonl or .parquet file | hf:NAME")] = "default",
    max_windows: Annotated[int, typer.Option(help="corpus windows scanned for exemplars (0: all)")] = (
        MAX_WINDOWS),
) -> None:
    """Plant known concepts into neurons of a real model, label them, and score the labels (FIND's protocol)."""
    from evals.planted_check import run_planted_check
    from evals.runner import RunError
    from tools.units import UnitError

    try:
        run_planted_check(model, n=n, backend=backend, out=out_dir, judge=judge, seed=seed, layer=layer,
                          corpus=corpus, max_windows=max_windows or None, console=err)
    except (RunError, UnitError, ValueError, FileNotFoundError) as e:
        raise _fail(str(e)) from None
    out.print(f"summary: {out_dir / 'summary.json'}   rows: {out_dir / 'planted.jsonl'}")


@app.command()
def localize(
    model: Annotated[str, typer.Option(help=MODEL_CHOICES)],
    task: Annotated[str, typer.Option(help=_localize("task"))],
    out_dir: Annotated[Path, typer.Option("--out", help=_localize("out"))],
    pairs: Annotated[int, typer.Option(help=_localize("pairs"))] = LocalizeConfig.pairs,
    seed: Annotated[int, typer.Option(help=_localize("seed"))] = LocalizeConfig.seed,
    min_effect: Annotated[float, typer.Option(help=_localize("min_effect"))] = LocalizeConfig.min_effect,
) -> None:
    """Find the attention heads that carry a behaviour: attribution patching on every head, exact
    patching to verify, intervals over the pairs, the found heads patched in together (faithfulness);
    scored against the verified heads where aia knows them (toy-induction, task induction)."""
    from evals.localize_runner import run_localize
    from tools.run_dir import RunError

    try:
        result = run_localize(LocalizeConfig(model=model, task=task, out=out_dir, pairs=pairs, seed=seed,
                                             min_effect=min_effect), console=err)
    except (RunError, ValueError, FileNotFoundError) as e:
        raise _fail(str(e)) from None
    from rich.table import Table

    table = Table(title=f"mediators of {task} in {model}: {result['pairs']} pairs, {result['exact_checked']} heads "
                        f"verified by exact patching")
    for col in ("head", "recovery", "95% interval (Bonferroni)", "attribution", "found"):
        table.add_column(col)
    for m in result["mediators"]:
        table.add_row(m["unit"], f"{m['effect']:+.3f}", f"[{m['low']:+.3f}, {m['high']:+.3f}]",
                      f"{m['attribution']:+.3f}", "yes" if m["unit"] in result["found"] else "")
    out.print(table)
    out.print(f"found {len(result['found'])} heads; patched in together they restore "
              f"{result['faithfulness']:.0%} of the behaviour (faithfulness); attribution's rank agreement with "
              f"exact patching: rho {result['attribution_rho']:.2f}")
    if "recovery" in result:
        r = result["recovery"]
        out.print(f"against the verified heads ({', '.join(result['truth'])}): precision {r['precision']:.2f}, "
                  f"recall {r['recall']:.2f}")
    out.print(f"result: {out_dir / 'localization.json'}   effects: {out_dir / 'effects.jsonl'}")


@app.command()
def units(model: Annotated[str, typer.Argument(help=MODEL_CHOICES)],
          sae: Annotated[Optional[list[str]], typer.Option(help=SAE_HELP)] = None,
          direction: Annotated[Optional[list[str]], typer.Option(help=DIRECTION_HELP)] = None) -> None:
    """List the unit addresses of a model (e.g. layer.3.mlp.neuron.0:1536), attached SAEs' latents too."""
    from tools.models import load_model
    from tools.units import list_units

    subject = _subject(model, sae, direction, "cpu", "float32")   # the name itself when nothing is attached
    try:
        subject = load_model(subject) if isinstance(subject, str) else subject
    except (ValueError, FileNotFoundError, OSError) as e:
        raise _fail(str(e)) from None
    for line in list_units(subject):
        out.print(line, highlight=False)


@app.command()
def chat(
    model: Annotated[Optional[str], typer.Option(help=f"{MODEL_CHOICES} (with --resume: the session's model)")
                     ] = None,
    backend: Annotated[Optional[str], typer.Option(help="builtin (default) | openai:MODEL | anthropic:MODEL | "
                                                        "openai-compatible:MODEL@URL | local:PATH|smollm2")] = None,
    resume: Annotated[Optional[str], typer.Option(help="continue a session: its directory or name")] = None,
    session_dir: Annotated[Optional[Path], typer.Option(help="where a new session is kept "
                                                              "(default: CACHE/chats/TIME-MODEL)")] = None,
    corpus: Annotated[str, typer.Option(help="exemplar corpus: default | a .txt, .jsonl or .parquet file | "
                                             "hf:NAME")] = "default",
    max_windows: Annotated[int, typer.Option(help="corpus windows scanned for exemplars (0: all)")] = (
        MAX_WINDOWS),  # the label runs' default: chat reads their exemplar cache
    max_rounds: Annotated[int, typer.Option(help="LLM turns per question, as aia bench's rounds per function "
                                                 "(each question starts from nothing too)")] = BenchConfig.max_rounds,
) -> None:
    """Talk with an agent about a model's units; slash commands run tools directly (type /help)."""
    from agent.backends.base import MissingCredentials
    from agent.chat.repl import ChatError, run_chat
    from evals.preflight import one_line
    from tools.run_dir import RunError

    try:
        run_chat(model, backend, resume=resume, session_dir=session_dir, corpus=corpus,
                 max_windows=max_windows or None, max_rounds=max_rounds)
    except (ChatError, RunError, ValueError, MissingCredentials) as e:
        raise _fail(one_line(str(e))) from None


if __name__ == "__main__":
    app()
