"""The builtin scientist's symbolic regression: expressions it was never told about are composed
from primitives, the simpler of two correct expressions wins, and noise is averaged away."""

from __future__ import annotations

import math
import random
from typing import Callable

import numpy as np
import pytest

from agent.builtin.numeric import investigate_numeric
from agent.builtin.symbolic import LIBRARY, Chain, Model, SymbolicSearch, canonical, features
from evals.numeric_scoring import detect_tabulation, nmse


def _ask(fn: Callable[[float], float]) -> Callable[[np.ndarray, str], np.ndarray]:
    def ask(xs: np.ndarray, purpose: str) -> np.ndarray:
        return np.array([fn(float(v)) for v in xs])
    return ask


def _nmse(model: Model, fn: Callable[[float], float]) -> float:
    xs = np.random.default_rng(7).uniform(-128, 128, 2000)
    truth = np.array([fn(float(v)) for v in xs])
    return float(np.sum((model.predict(xs) - truth) ** 2) / np.sum(truth**2))


def _run_code(code: str, xs: list[float]) -> list[float]:
    """The answer's code is our own formula (no sandbox needed to read it back in a test)."""
    scope: dict = {}
    exec(compile(code, "<answer>", "exec"), scope)  # noqa: S102 - the scientist's own output
    return [scope["function"](x) for x in xs]


def test_library_is_composed_and_deduplicated() -> None:
    names = {c.name for c in LIBRARY}
    assert {"sin", "exp∘abs", "exp∘square", "sin∘square", "relu∘sin", "mod∘floor"} <= names
    # abs of abs computes what abs does: pruned before any search
    assert "abs∘abs" not in names and len(names) == len(LIBRARY)


def test_features_see_period_chirp_envelope_and_symmetry() -> None:
    half = np.arange(0.05, 128, 0.1)
    x = np.concatenate([-half[::-1], half])
    f = features(x, 5 * np.sin(x * x / 20), 0.1)
    assert f.symmetry == "even" and f.chirp is not None and abs(f.chirp[0] - 0.05) < 1e-3
    g = features(x, 8 * np.exp(-np.abs(x) / 20) * np.sin(x / 2), 0.1)
    assert g.symmetry == "odd" and g.envelope is not None
    assert any(abs(w - 0.5) < 0.01 for w in g.freqs)


@pytest.mark.parametrize("fn, words", [
    (lambda x: 8.0 * math.exp(-abs(x) / 20.0) * math.sin(x / 2.0), "decays exponentially"),
    (lambda x: 5.0 * math.sin(x * x / 20.0), "chirp"),
    (lambda x: 4.0 * math.log(1.0 + x * x), "logarithm"),
])
def test_recovers_out_of_family_expressions(fn: Callable[[float], float], words: str) -> None:
    result = SymbolicSearch(_ask(fn), seed=1).run()
    assert result is not None
    assert _nmse(result.best, fn) < 1e-8, result.best.code()
    assert words in result.best.describe()


def test_prefers_the_simpler_of_two_exact_expressions() -> None:
    """3*sin(x/2) + 1 is also sin of a sine with a tiny inner scale, or a sine times a flat
    envelope; all fit, and the single primitive must win on the complexity penalty."""
    result = SymbolicSearch(_ask(lambda x: 3.0 * math.sin(x / 2.0) + 1.0), seed=0).run()
    assert result is not None
    assert [[c.name for c in term] for term in result.best.terms] == [["sin"]]
    assert result.best.code().count("math.") == 1


def test_exponential_offsets_fold_into_the_coefficient() -> None:
    chain = next(c for c in LIBRARY if c.name == "exp∘abs")
    m = Model([[chain]], np.array([0.05, 0.0, -1.0, 300.0]), np.array([0.0, math.exp(-300.0) * 8.0]))
    c = canonical(m)
    assert c.theta[3] == 0.0 and abs(c.coef[1] - 8.0) < 1e-9
    x = np.linspace(-50, 50, 11)
    assert np.allclose(c.predict(x), m.predict(x))
    assert isinstance(chain, Chain)


class _Box:
    """An in-process black box (the scientist only sees calls), noisy when asked."""

    def __init__(self, fn: Callable[[float], float], noise: float = 0.0, seed: int = 0):
        self.fn, self.noise, self.rng = fn, noise, random.Random(seed)

    def __call__(self, inputs: list[float]) -> list[float | None]:
        return [self.fn(float(x)) + (self.rng.gauss(0.0, self.noise) if self.noise else 0.0) for x in inputs]


def test_investigation_discovers_and_describes_a_decaying_sine() -> None:
    fn = lambda x: 8.0 * math.exp(-abs(x) / 20.0) * math.sin(x / 2.0)  # noqa: E731
    findings = investigate_numeric(_Box(fn), seed=0)
    xs = [i + 0.25 for i in range(-128, 128)]
    assert findings.label == "symbolic"
    assert nmse([fn(x) for x in xs], _run_code(findings.code, xs)) < 1e-6
    assert "amplitude decays exponentially" in findings.description
    assert not detect_tabulation(findings.code).tabulated
    statements = [h.statement for h in findings.hypotheses]
    assert any("envelope" in s for s in statements)  # the feature that proposed the structure
    assert any(e.purpose.startswith("inputs where the") for e in findings.experiments)  # the splitting experiment


def test_noise_is_detected_and_the_answer_is_noise_free() -> None:
    fn = lambda x: 20.0 * math.exp(-abs(x) / 40.0) * math.sin(x / 3.0)  # noqa: E731
    findings = investigate_numeric(_Box(fn, noise=1.0, seed=3), seed=0)
    xs = [i + 0.25 for i in range(-128, 128)]
    assert "Gaussian noise" in findings.description
    assert nmse([fn(x) for x in xs], _run_code(findings.code, xs)) < 0.02
    assert "random" not in findings.code


def test_a_corrupted_interval_is_found_and_left_out_of_the_fit() -> None:
    fn = lambda x: 5.0 * math.sin(x * x / 20.0)  # noqa: E731
    rng = random.Random(0)

    def box(inputs: list[float]) -> list[float]:
        return [rng.gauss(3.0, 0.1) if 30.0 < x < 60.0 else fn(x) for x in inputs]

    findings = investigate_numeric(box, seed=0)
    assert findings.domain is not None
    assert abs(findings.domain[0] - 30.0) < 0.5 and abs(findings.domain[1] - 60.0) < 0.5
    xs = [i + 0.25 for i in range(-128, 128) if not 30.0 < i + 0.25 < 60.0]
    assert nmse([fn(x) for x in xs], _run_code(findings.code, xs)) < 1e-6
    assert "chirp" in findings.description


def test_too_few_finite_outputs_give_no_expression() -> None:
    """A function defined on a sliver of the range leaves nothing to fit: no result, no exception."""
    result = SymbolicSearch(_ask(lambda x: math.sqrt(x - 127.0) if x > 127.0 else math.nan)).run()
    assert result is None


def test_the_answer_code_computes_what_the_model_predicts() -> None:
    """For sums and products of every chain (offsets and shifts included), `Model.code()` run as
    Python gives the model's own predictions: a product written `x + 3 * exp(...)` for
    `(x + 3) * exp(...)` once scored 0 on a Gaussian the fit had found exactly."""
    rng = np.random.default_rng(0)
    x = np.linspace(-9.5, 9.5, 41)
    for n, chain in enumerate(LIBRARY):
        other = LIBRARY[(7 * n + 3) % len(LIBRARY)]
        for terms in ([[chain]], [[chain, other]], [[chain], [other]]):
            size = sum(ch.n_params + (1 if len(t) > 1 and j == 0 else 0) for t in terms for j, ch in enumerate(t))
            theta = np.round(rng.uniform(-1.5, 1.5, size), 3)
            model = Model(terms, theta, np.round(rng.uniform(-2, 2, len(terms) + 1), 3))
            namespace: dict = {"math": math}
            exec(f"def function(x):\n    return {model.code()}\n", namespace)
            want = model.predict(x)
            for xi, wi in zip(x, want):
                try:
                    got = namespace["function"](float(xi))
                except (ValueError, OverflowError, ZeroDivisionError):
                    continue
                if math.isfinite(wi) and abs(wi) < 1e6:
                    assert got == pytest.approx(wi, rel=1e-6, abs=1e-6), (model.code(), xi)
