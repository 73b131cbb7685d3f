"""A label run's defaults live in one place (evals.label_config.LabelConfig) and the builtin
labelers' thresholds in one record (agent.labeling.settings): every field says what it is, every
command takes its defaults from there, and the labelers obey the thresholds they are given."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from agent.builtin.findings import Notebook
from agent.labeling.neurons import edit_test
from agent.labeling.settings import NeuronLabelerSettings
from evals import cli
from evals.label_config import LabelConfig
from evals.label_runner import run_labeling
from evals.planted_check import run_planted_check
from tests.planted_tiny import NEURON, TARGET, planted_model
from tools.activations import call_unit
from tools.exemplars import Exemplar

REPO = Path(__file__).resolve().parents[1]


def _undocumented_fields(path: Path) -> list[str]:
    """Dataclass fields not followed by a docstring (Delphi's convention: one per field)."""
    missing = []
    for cls in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(cls, ast.ClassDef):
            continue
        body = cls.body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                doc = body[i + 1] if i + 1 < len(body) else None
                if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                        and isinstance(doc.value.value, str) and doc.value.value.strip()):
                    missing.append(f"{cls.name}.{node.target.id}")
    return missing


def test_every_setting_says_what_it_is() -> None:
    for module in ("agent/labeling/settings.py", "evals/label_config.py"):
        assert _undocumented_fields(REPO / module) == [], module


def _defaults(fn) -> dict[str, object]:
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("command, names", [
    (run_labeling, ("workers", "k", "corpus", "max_windows", "n_random", "simulator", "seed", "max_rounds",
                    "cache_root")),
    (cli.label, ("backend", "workers", "k", "corpus", "max_windows", "simulator", "max_rounds", "seed")),
    (cli.check_heads, ("max_windows",)),
    (cli.check_planted, ("corpus", "max_windows")),
    (cli.chat, ("max_windows",)),
    (run_planted_check, ("corpus", "max_windows")),
])
def test_commands_take_their_defaults_from_the_label_config(command, names) -> None:
    fields = {f.name: f.default for f in dataclasses.fields(LabelConfig)}
    defaults = _defaults(command)
    assert {n: defaults[n] for n in names} == {n: fields[n] for n in names}


def test_the_neuron_labeler_obeys_the_thresholds_it_is_given() -> None:
    """The same word swap supports the word's role under the default bar and is refuted under a
    bar no drop can reach: the threshold is read from the settings, not from a constant."""
    model = planted_model()
    unit = f"layer.0.mlp.neuron.{NEURON}"
    acts = call_unit(model, unit, ["the river ran past the stone house", "a quiet river in winter light"])
    ex = [Exemplar(window=0, tokens=a.tokens, values=[float(v) for v in a.values], score=float(a.values.max()),
                   kind="top") for a in acts]
    statuses = []
    for settings in (NeuronLabelerSettings(), NeuronLabelerSettings(edit_drop=1.5)):
        notebook = Notebook()
        edit_test(model, unit, ex, TARGET, {TARGET}, notebook, [], settings)
        statuses.append(notebook.hypotheses[-1].status)
    assert statuses == ["supported", "refuted"]
