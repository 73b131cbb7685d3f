"""FIND-style numeric functions: families, parameter sampling, composites, variants, scripts.

FIND's numeric category (Schwettmann et al. 2023) samples functions of one real variable from 16
families (85%) or as the sum/product of two simpler ones (15%) and serves each in one of four
variants: clean, noised, interval-corrupted, or approximated by a small MLP. This module rebuilds
that composition with FIND's parameter distributions (FIND's
`src/make_functions/make_numeric/math_functions.py`, `sample_single_f`), except where FIND's released
metadata shows otherwise (biases lie in [-10, 10], not [-30, 30]; see `_bias`).

One expression string per function is the single source of truth: the served script, the
noise-free reference code, the corruption mean and the MLP's training targets are all derived
from it, so they cannot drift apart. Scripts use only `math` and `random` (the MLP script uses
numpy), so serving needs no heavy import.

Deliberate departures from FIND, for a suite whose ground truth must be right:
- the absolute family serves a*|x| + b as its description says (FIND's served code drops b; the
  rebuild of FIND's own functions, `find_functions.find_numeric`, keeps that quirk);
- an MLP slot only takes a function a 1-64-1 ReLU MLP can follow (`mlp_representable`): FIND
  trained MLPs on whatever came first, square waves with 40 jumps included, and served the failed
  fits; here a slot redraws until the closed-form hinge fit reaches NMSE < 0.02, so fast square
  waves and sines land in the other variants;
- a square root of a negative number gives NaN (FIND's Python-float scripts give a complex number).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from . import mlp
from .script import render_script
from .spec import GroundTruth, SuiteFunction, function_id

FAMILIES: tuple[str, ...] = (
    "linear", "polynomial", "absolute", "root", "logarithm", "step", "relu", "tanh", "constant",
    "sin", "cos", "reciprocal", "gaussian", "rational", "rectangle", "square_wave",
)
#: Families a composite draws its two parts from (FIND's `compose_only`).
COMPOSITE_PARTS: tuple[str, ...] = (
    "linear", "polynomial", "step", "relu", "constant", "ceil", "floor", "rectangle", "square_wave",
)
Combine = Literal["sum", "product"]
COMBINES: dict[str, str] = {"sum": "sum_two", "product": "multiply_two"}  # ours -> FIND's name
P_ATOMIC = 0.85

Variant = Literal["clean", "noised", "corrupted", "mlp"]
VARIANTS: tuple[str, ...] = ("clean", "noised", "corrupted", "mlp")
#: Variant counts of FIND's 1000 numeric functions (func_name_dict.json).
FIND_VARIANT_COUNTS: dict[str, int] = {"clean": 483, "noised": 176, "corrupted": 191, "mlp": 150}
SCRIPT_NAMES: dict[str, str] = {
    "clean": "function_code.py",
    "noised": "noised_function_code.py",
    "corrupted": "corrupted_function_code.py",
    "mlp": "load_mlp.py",
}
NOISE_TYPES: tuple[str, ...] = ("normal", "uniform", "poisson")
CORRUPTION_TYPES: tuple[str, ...] = ("interval_smaller", "interval_larger", "interval_inside")
CORRUPTION_SCALE = 0.1  # std of the replacement noise inside a corrupted interval
PROBE_RANGE: tuple[float, float] = (-128.0, 128.0)  # inputs an interpreter may try (FIND's prompt)
N_HELD_OUT = 200


def family_domain(family: str) -> tuple[float, float]:
    """The definition domain FIND records: [0,100] for root, [1,100] for log, else [-100,100]."""
    return {"root": (0.0, 100.0), "logarithm": (1.0, 100.0)}.get(family, (-100.0, 100.0))


# --------------------------------------------------------------------------------------------
# Components: parameters, Python expressions and English formulas per family
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Component:
    """One family with its parameters, stored in FIND's JSON form (lists, ints, floats, None)."""

    family: str
    params: Any

    def __post_init__(self) -> None:
        if self.family not in FAMILIES and self.family not in COMPOSITE_PARTS:
            raise ValueError(f"unknown numeric family {self.family!r}")


def _r1(v: float) -> float:
    return round(v, 1)


def _scale(rng: random.Random) -> float:
    return _r1(rng.uniform(-30, 30))


def _bias(rng: random.Random) -> float:
    # FIND's source draws the bias from U(-30, 30) too, but every bias in the released data.json
    # (absolute, root, logarithm, step, relu, tanh/sin/cos) lies in [-10, 10]: follow the release.
    return _r1(rng.uniform(-10, 10))


def _linspace_choice(rng: random.Random, lo: float, hi: float, num: int = 100) -> float:
    """`round(np.random.choice(np.linspace(lo, hi, num)), 1)` as FIND draws amplitudes/periods."""
    return _r1(lo + (hi - lo) * rng.randrange(num) / (num - 1))


def sample_params(family: str, rng: random.Random) -> Any:
    """Draw one family's parameters with FIND's distributions (JSON form, FIND's order)."""
    if family == "linear":
        return [_r1(rng.uniform(-10, 10)), _r1(rng.uniform(-10, 10))]
    if family == "polynomial":
        degree = rng.randint(2, 5)
        return [_r1(rng.uniform(-5, 5)) for _ in range(degree + 1)]  # highest power first
    if family == "rational":
        num_order = rng.randint(0, 4)
        den_order = rng.randint(num_order + 1, 5)
        return [[_r1(rng.uniform(-10, 10)) for _ in range(num_order + 1)],
                [_r1(rng.uniform(-10, 10)) for _ in range(den_order + 1)]]  # lowest power first
    if family == "reciprocal":
        return [_r1(rng.uniform(-10, 10)) or 0.1]  # a = 0 would make 1/(a*x) undefined everywhere
    if family == "root":
        return [_scale(rng), _bias(rng), rng.randint(1, 2)]
    if family == "gaussian":
        return [_r1(rng.uniform(-50, 50)), _r1(rng.uniform(1, 10))]
    if family == "absolute":
        return [_scale(rng), _bias(rng)]
    if family == "logarithm":
        base = _r1(rng.uniform(1, 10))
        while base == 1.0:  # log base 1 divides by zero; FIND's release has none
            base = _r1(rng.uniform(1, 10))
        return [_scale(rng), _bias(rng), base]
    if family == "step":
        return [_scale(rng), _bias(rng), _r1(rng.uniform(-100, 100))]  # a*H(x, h0) + b
    if family == "square_wave":
        return [_r1(rng.uniform(1, 10)), _r1(rng.uniform(-5, 5))]  # period, shift
    if family == "rectangle":
        return [_r1(rng.uniform(1, 10))]  # width
    if family == "relu":
        return [_scale(rng), _bias(rng), _r1(rng.uniform(0, 1))]  # a, b, leak
    if family in ("tanh", "sin", "cos"):
        # FIND: amplitude from linspace(-10,10,100); b ("phase_shift") and c ("period") from
        # linspace(0.1, 2pi, 100); served as a*f((2*pi/b)*(x-c)) + d.
        return [_linspace_choice(rng, -10, 10), _linspace_choice(rng, 0.1, 2 * math.pi),
                _linspace_choice(rng, 0.1, 2 * math.pi), _bias(rng)]
    if family == "constant":
        return rng.randint(-100, 99)  # np.random.randint(-100, 100)
    if family in ("ceil", "floor"):
        return None
    raise ValueError(f"unknown numeric family {family!r}")


def _lit(v: float) -> str:
    """A float literal for code (always a float, so `80` serves as FIND's `80.0`)."""
    return repr(float(v))


def _plus(v: float) -> str:
    """` + v` or ` - |v|` for code and formulas."""
    return f" - {_lit(-v)}" if v < 0 else f" + {_lit(v)}"


def _x_minus(v: float) -> str:
    """`x - v` written without a double sign: `x - 2.4`, `x + 2.4`."""
    return f"x{_plus(-v)}"


def _terms(pairs: Sequence[tuple[float, str]]) -> str:
    """Join coefficient*monomial terms with proper signs: '2.2*x**2 - 1.7*x + 5.0'."""
    out = ""
    for i, (c, mono) in enumerate(pairs):
        body = _lit(abs(c)) if not mono else f"{_lit(abs(c))}*{mono}"
        if i == 0:
            out = ("-" if c < 0 else "") + body
        else:
            out += (" - " if c < 0 else " + ") + body
    return out


def _poly_code(coeffs_high_first: Sequence[float], power: str = "**") -> str:
    deg = len(coeffs_high_first) - 1
    return _terms([(c, "" if deg - i == 0 else ("x" if deg - i == 1 else f"x{power}{deg - i}"))
                   for i, c in enumerate(coeffs_high_first)])


def _ascending_code(coeffs_low_first: Sequence[float], power: str = "**") -> str:
    return _poly_code(list(reversed(coeffs_low_first)), power)


def component_expr(c: Component, drop_absolute_bias: bool = False) -> str:
    """A Python expression in float `x` (stdlib `math` only) computing the component.

    Semantics follow FIND's numpy code on a scalar: NaN outside a root/log's real domain, -inf for
    log(0); a division by zero raises (the script then prints None, as FIND's clean scripts do).
    """
    f, p = c.family, c.params
    if f == "linear":
        return f"{_lit(p[0])}*x{_plus(p[1])}"
    if f == "polynomial":
        return _poly_code(p)
    if f == "rational":
        return f"({_ascending_code(p[0])}) / ({_ascending_code(p[1])})"
    if f == "reciprocal":
        return f"1 / ({_lit(p[0])}*x)"
    if f == "root":
        a, b, n = p
        root = "x" if int(n) == 1 else f"(x ** (1.0 / {int(n)}) if x >= 0 else math.nan)"
        return f"{_lit(a)}*{root}{_plus(b)}"
    if f == "gaussian":
        mean, std = p
        return (f"(1 / ({_lit(std)} * math.sqrt(2 * math.pi))) * "
                f"math.exp(-0.5 * (({_x_minus(mean)}) / {_lit(std)}) ** 2)")
    if f == "absolute":
        return f"{_lit(p[0])}*abs(x)" + ("" if drop_absolute_bias else _plus(p[1]))
    if f == "logarithm":
        a, b, base = p
        log = "(math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan))"
        return f"{_lit(a)}*({log} / math.log({_lit(base)})){_plus(b)}"
    if f == "step":
        a, b, h0 = p
        return f"{_lit(a)}*(1.0 if x > 0 else ({_lit(h0)} if x == 0 else 0.0)){_plus(b)}"
    if f == "square_wave":
        period, shift = p
        # ints, as FIND's np.where(..., 1, -1): its scripts print `1`, not `1.0`
        return f"(1 if math.sin(({_x_minus(shift)}) * (2 * math.pi / {_lit(period)})) > 0 else -1)"
    if f == "rectangle":
        return f"(1 if abs(x) <= {_lit(p[0])} / 2 else 0)"
    if f == "relu":
        a, b, leak = p
        return f"{_lit(a)}*(x if x > 0 else {_lit(leak)} * x){_plus(b)}"
    if f in ("tanh", "sin", "cos"):
        a, b, cc, d = p
        return f"{_lit(a)}*math.{f}((2 * math.pi / {_lit(b)}) * ({_x_minus(cc)})){_plus(d)}"
    if f == "constant":
        return _lit(p)
    if f in ("ceil", "floor"):
        return f"float(math.{f}(x))"
    raise ValueError(f"unknown numeric family {f!r}")


def _g(v: float) -> str:
    """A computed number for prose: one decimal when large enough, 3 significant digits else."""
    if v == 0 or not math.isfinite(v):
        return str(v)
    if abs(v) >= 1e6:
        return f"{v:.4g}"
    if abs(v) >= 1:
        return str(round(v, 1))
    return f"{v:.3g}"


def _affine_formula(a: float, term: str, b: float) -> str:
    return f"{_lit(a)}*{term}{_plus(b)}"


def component_phrase(c: Component, drop_absolute_bias: bool = False) -> str:
    """English for one component, with its formula (what a good interpreter would write)."""
    f, p = c.family, c.params
    if f == "linear":
        return f"a linear function {_affine_formula(p[0], 'x', p[1])}"
    if f == "polynomial":
        return f"a polynomial of degree {len(p) - 1}, {_poly_code(p, '^')}"
    if f == "rational":
        return (f"a rational function ({_ascending_code(p[0], '^')}) / ({_ascending_code(p[1], '^')}) "
                "(undefined where the denominator is 0)")
    if f == "reciprocal":
        return f"a reciprocal function 1/({_lit(p[0])}*x) = {_g(1 / p[0])}/x (undefined at x = 0)"
    if f == "root":
        a, b, n = p
        if int(n) == 1:
            return (f"a first-root (so linear) function {_affine_formula(a, 'x', b)}, defined on "
                    "[0, 100] by FIND")
        return f"a square-root function {_affine_formula(a, 'sqrt(x)', b)} (NaN for x < 0)"
    if f == "gaussian":
        mean, std = p
        peak = 1 / (std * math.sqrt(2 * math.pi))
        return (f"a Gaussian bump (normal density) with mean {_lit(mean)} and standard deviation "
                f"{_lit(std)}, (1/({_lit(std)}*sqrt(2*pi)))*exp(-0.5*(({_x_minus(mean)})/{_lit(std)})^2), "
                f"peak {_g(peak)} at x = {_lit(mean)}, near 0 elsewhere")
    if f == "absolute":
        if drop_absolute_bias:
            return (f"an absolute-value function {_lit(p[0])}*|x| (FIND's served code drops the "
                    f"bias {_lit(p[1])} of its metadata)")
        return f"an absolute-value function {_affine_formula(p[0], '|x|', p[1])}"
    if f == "logarithm":
        a, b, base = p
        return (f"a logarithm {_affine_formula(a, f'log(x)/log({_lit(base)})', b)} (log base "
                f"{_lit(base)}; NaN for x < 0, -inf at 0)")
    if f == "step":
        a, b, h0 = p
        return (f"a step function {_affine_formula(a, 'H(x)', b)}: {_g(b)} for x < 0, {_g(a + b)} "
                f"for x > 0 (and {_g(a * h0 + b)} at x = 0)")
    if f == "square_wave":
        period, shift = p
        return (f"a square wave of period {_lit(period)} and shift {_lit(shift)}: 1 where "
                f"sin(2*pi*({_x_minus(shift)})/{_lit(period)}) > 0, else -1")
    if f == "rectangle":
        return f"a rectangle (boxcar) function: 1 where |x| <= {_g(p[0] / 2)} (width {_lit(p[0])}), else 0"
    if f == "relu":
        a, b, leak = p
        return (f"a leaky ReLU {_lit(a)}*(x if x > 0 else {_lit(leak)}*x){_plus(b)}: slope {_g(a)} "
                f"for x > 0 and {_g(a * leak)} for x <= 0, value {_lit(b)} at 0")
    if f in ("tanh", "sin", "cos"):
        a, b, cc, d = p
        noun = {"tanh": "a scaled tanh", "sin": "a sine wave", "cos": "a cosine wave"}[f]
        extra = "" if f == "tanh" else f" (amplitude {_g(abs(a))}, period {_lit(b)})"
        return f"{noun} {_lit(a)}*{f}((2*pi/{_lit(b)})*({_x_minus(cc)})){_plus(d)}{extra}"
    if f == "constant":
        return f"a constant function {_lit(p)}"
    if f in ("ceil", "floor"):
        return f"the {'ceiling' if f == 'ceil' else 'floor'} function {f}(x)"
    raise ValueError(f"unknown numeric family {f!r}")


def _find_params(c: Component) -> Any:
    """The component's parameters as FIND's Python objects (tuples vs lists), for `name`."""
    f, p = c.family, c.params
    if f in ("polynomial", "constant", "ceil", "floor"):
        return p
    if f == "rational":
        return (list(p[0]), list(p[1]))
    return tuple(p)


def _find_param_str(v: Any) -> str:
    # FIND stores whole-number parameters of int type (root's n, constant) as ints.
    if isinstance(v, tuple):
        inner = ", ".join(_find_param_str(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(_find_param_str(x) for x in v) + "]"
    return str(v)


# --------------------------------------------------------------------------------------------
# One numeric function: components, variant, noise/corruption, rendering
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NumericFunction:
    """Everything that defines one numeric function and how it is served (before rendering)."""

    id: str
    variant: str
    components: tuple[Component, ...]
    combine: Combine | None = None
    noise_type: str | None = None
    noise_params: float | None = None
    corruption_type: str | None = None
    corruption_params: dict[str, Any] | None = None  # {"std": mean of f, "boundary": [a] | [a, b]}
    domain: tuple[float, float] = (-100.0, 100.0)
    held_out_inputs: tuple[float, ...] = ()
    drop_absolute_bias: bool = False  # FIND quirk: its served absolute function is a*|x|
    extra_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown numeric variant {self.variant!r}; expected one of {VARIANTS}")
        if len(self.components) not in (1, 2) or (len(self.components) == 2) != (self.combine is not None):
            raise ValueError(f"{self.id}: one component, or two with a combine, got "
                             f"{len(self.components)} and combine={self.combine!r}")
        if self.combine is not None and self.combine not in COMBINES:
            raise ValueError(f"{self.id}: unknown combine {self.combine!r}")
        if self.variant == "noised" and self.noise_type not in NOISE_TYPES:
            raise ValueError(f"{self.id}: a noised function needs noise_type in {NOISE_TYPES}")
        if self.variant == "corrupted":
            if self.corruption_type not in CORRUPTION_TYPES or not self.corruption_params:
                raise ValueError(f"{self.id}: a corrupted function needs corruption_type in "
                                 f"{CORRUPTION_TYPES} and corruption_params")
            n_bounds = 2 if self.corruption_type == "interval_inside" else 1
            if len(self.corruption_params.get("boundary", [])) != n_bounds:
                raise ValueError(f"{self.id}: {self.corruption_type} needs {n_bounds} boundary value(s)")

    @property
    def label(self) -> str:
        if self.combine is None:
            return self.components[0].family
        op = "+" if self.combine == "sum" else "*"
        return op.join(c.family for c in self.components)

    @property
    def find_name(self) -> str:
        """FIND's `name`, e.g. `absolute((26.8, -8.2))` or `relu;linear;multiply_two((..), (..))`."""
        if self.combine is None:
            params = _find_params(self.components[0])
            prefix = self.components[0].family
            items = params if isinstance(params, list) else [params]
        else:
            prefix = ";".join([c.family for c in self.components] + [COMBINES[self.combine]])
            items = [_find_params(c) for c in self.components]
        return f"{prefix}({', '.join(_find_param_str(p) for p in items)})"

    def expression(self) -> str:
        """The noise-free served expression in `x` (FIND's `clean_function_code`)."""
        parts = [component_expr(c, self.drop_absolute_bias) for c in self.components]
        if self.combine is None:
            return parts[0]
        if self.combine == "sum":
            b = parts[1]
            return f"{parts[0]} - {b[1:]}" if b.startswith("-") else f"{parts[0]} + {b}"
        return f"({parts[0]}) * ({parts[1]})"

    def clean_code(self) -> str:
        return f"import math\n\n\ndef function(x):\n    return {self.expression()}\n"

    def corrupted_guard(self) -> str:
        """The condition under which a corrupted function answers noise (FIND's np.where)."""
        bounds = self.corruption_params["boundary"]
        if self.corruption_type == "interval_smaller":  # FIND: np.where(x > a, f(x), noise)
            return f"x <= {_lit(bounds[0])}"
        if self.corruption_type == "interval_larger":  # FIND: np.where(x < a, f(x), noise)
            return f"x >= {_lit(bounds[0])}"
        return f"{_lit(bounds[0])} < x < {_lit(bounds[1])}"

    def reference_code(self) -> str:
        """Noise-free `function(x)`: no additive noise; the noise's centre inside a corrupted interval."""
        if self.variant != "corrupted":
            return self.clean_code()
        std = _lit(self.corruption_params["std"])
        return (f"import math\n\n\ndef function(x):\n    if {self.corrupted_guard()}:\n"
                f"        return {std}\n    return {self.expression()}\n")

    def served_code(self) -> str:
        """The body of the black-box script (not for `mlp`: see `find_functions.mlp`)."""
        if self.variant == "clean":
            return self.clean_code()
        if self.variant == "noised":
            draw = {"normal": "random.gauss(0.0, 1.0)", "uniform": "random.uniform(-1.0, 1.0)",
                    "poisson": "_poisson(1.0)"}[self.noise_type]
            helper = _POISSON_HELPER if self.noise_type == "poisson" else ""
            return (f"import math\nimport random\n{helper}\n\ndef function(x):\n"
                    f"    return {self.expression()} + {draw}\n")
        if self.variant == "corrupted":
            std = _lit(self.corruption_params["std"])
            return (f"import math\nimport random\n\n\ndef function(x):\n"
                    f"    if {self.corrupted_guard()}:\n"
                    f"        return random.gauss({std}, {CORRUPTION_SCALE})\n"
                    f"    return {self.expression()}\n")
        raise ValueError(f"{self.id}: the mlp variant's script comes from find_functions.mlp")

    def corrupted_interval(self) -> tuple[float, float] | None:
        """The corrupted interval clamped to the probe range [-128, 128] (None if not corrupted)."""
        if self.variant != "corrupted":
            return None
        lo, hi = PROBE_RANGE
        b = self.corruption_params["boundary"]
        if self.corruption_type == "interval_smaller":
            return (lo, min(max(b[0], lo), hi))
        if self.corruption_type == "interval_larger":
            return (max(min(b[0], hi), lo), hi)
        return (max(b[0], lo), min(b[1], hi))

    def description(self, mlp_nmse: float | None = None) -> str:
        """What a good interpreter would write: family, parameters, noise/corruption, domain."""
        phrases = [component_phrase(c, self.drop_absolute_bias) for c in self.components]
        if self.combine is None:
            text = phrases[0][0].upper() + phrases[0][1:]
        else:
            word = "sum" if self.combine == "sum" else "product"
            text = f"The {word} of {phrases[0]} and {phrases[1]}"
        text += f"; f(x) = {self.expression().replace('math.', '')}"
        if self.variant == "noised":
            noise = {"normal": "Gaussian noise N(0, 1)", "uniform": "uniform noise U(-1, 1)",
                     "poisson": "a Poisson(1) count (mean 1)"}[self.noise_type]
            text += f". Each call adds an independent draw of {noise} to the output"
        elif self.variant == "corrupted":
            lo, hi = self.corrupted_interval()
            b = self.corruption_params["boundary"]
            std = self.corruption_params["std"]
            where = {"interval_smaller": f"for x <= {_g(b[0])}, i.e. on ({_g(lo)}, {_g(hi)}]",
                     "interval_larger": f"for x >= {_g(b[0])}, i.e. on [{_g(lo)}, {_g(hi)})",
                     "interval_inside": f"inside ({_g(lo)}, {_g(hi)})"}[self.corruption_type]
            text += (f". {where[0].upper()}{where[1:]} the output is replaced by noise around "
                     f"{_g(std)} (N({_g(std)}, {CORRUPTION_SCALE}), {_g(std)} being the mean of f over "
                     f"[{_g(self.domain[0])}, {_g(self.domain[1])}])")
        elif self.variant == "mlp":
            fit = "" if mlp_nmse is None else f", grid NMSE {mlp_nmse:.3g}"
            text += (f". It is served through a 1-64-1 ReLU MLP trained to approximate it on "
                     f"[{_g(self.domain[0])}, {_g(self.domain[1])}]{fit}; outside that interval the MLP "
                     "extrapolates linearly")
        return text + "."

    def metadata(self, served_code: str) -> dict[str, Any]:
        single = self.combine is None
        return {
            "family": self.components[0].family if single else "composite",
            "params": self.components[0].params if single else [c.params for c in self.components],
            "components": [{"family": c.family, "params": c.params} for c in self.components],
            "combine": self.combine,
            "noise_type": self.noise_type,
            "noise_params": self.noise_params,
            "corruption_type": self.corruption_type,
            "corruption_params": self.corruption_params,
            "served_code": served_code,
            "domain": list(self.domain),
            "name": self.find_name,
            "variant": self.variant,
            "absolute_bias_dropped": self.drop_absolute_bias and any(
                c.family == "absolute" for c in self.components),
            **self.extra_metadata,
        }

    def to_suite_function(self, mlp_weights: bytes | None = None, mlp_nmse: float | None = None,
                          mlp_body: str | None = None) -> SuiteFunction:
        """Render the served script and the sealed ground truth."""
        if self.variant == "mlp":
            if mlp_weights is None or mlp_body is None:
                raise ValueError(f"{self.id}: an mlp function needs its trained weights and script body")
            body, extra = mlp_body, {mlp.WEIGHTS_FILE: mlp_weights}
        else:
            body, extra = self.served_code(), {}
        meta = self.metadata(body)
        if mlp_nmse is not None:
            meta["mlp_grid_nmse"] = mlp_nmse
        return SuiteFunction(
            id=self.id,
            category="numeric",
            variant=self.variant,
            script_name=SCRIPT_NAMES[self.variant],
            script=render_script(body, "float", "A FIND-style numeric black-box function."),
            extra_files=extra,
            ground_truth=GroundTruth(
                description=self.description(mlp_nmse),
                code=self.reference_code(),
                domain=self.corrupted_interval(),
                label=self.label,
                metadata=meta,
            ),
            held_out_inputs=list(self.held_out_inputs),
        )


_POISSON_HELPER = '''

def _poisson(lam):
    """One Poisson(lam) draw (Knuth's method; the stdlib has no Poisson sampler)."""
    limit = math.exp(-lam)
    k, p = 0, random.random()
    while p > limit:
        k += 1
        p *= random.random()
    return k
'''


def compile_function(code: str) -> Callable[[float], float]:
    """`function` from a code string (trusted: code this module generated)."""
    namespace: dict[str, Any] = {"__name__": "aia_numeric_reference"}
    exec(compile(code, "<numeric reference>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["function"]


def evaluate(fn: Callable[[float], float], xs: Sequence[float]) -> list[float]:
    """fn at each x; NaN where it raises (division by zero, overflow) or is not a real number."""
    out = []
    for x in xs:
        try:
            y = float(fn(float(x)))
        except (ArithmeticError, ValueError, TypeError):
            y = math.nan
        out.append(y)
    return out


def linspace(lo: float, hi: float, num: int) -> list[float]:
    return [lo + (hi - lo) * i / (num - 1) for i in range(num)]


def corruption_mean(fn: Callable[[float], float], domain: tuple[float, float]) -> float:
    """FIND's `std`: np.mean(f(np.linspace(lo, hi, 100))) over the definition domain."""
    ys = evaluate(fn, linspace(domain[0], domain[1], 100))
    return sum(ys) / len(ys)


def find_grid() -> list[float]:
    """FIND's scoring inputs: x = i + 0.5 for i in -128..127."""
    return [i + 0.5 for i in range(-128, 128)]


def held_out_inputs(rng: random.Random, n: int = N_HELD_OUT) -> tuple[float, ...]:
    """`n` inputs in [-128, 128] (3 decimals), never on FIND's scoring grid i + 0.5."""
    out: list[float] = []
    while len(out) < n:
        x = round(rng.uniform(*PROBE_RANGE), 3)
        if (x - 0.5) != math.floor(x - 0.5):
            out.append(x)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Sampling a whole suite
# --------------------------------------------------------------------------------------------

def _rng(seed: int, *tags: object) -> random.Random:
    """An independent, platform-stable stream per (seed, tags) (str seeds hash with SHA-512)."""
    return random.Random(":".join(["aia-numeric", str(seed), *map(str, tags)]))


def variant_counts(n: int) -> dict[str, int]:
    """FIND's variant counts scaled to `n` by largest remainder (exact for n = 1000)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    total = sum(FIND_VARIANT_COUNTS.values())
    exact = {v: c * n / total for v, c in FIND_VARIANT_COUNTS.items()}
    counts = {v: math.floor(e) for v, e in exact.items()}
    by_remainder = sorted(VARIANTS, key=lambda v: (-(exact[v] - counts[v]), VARIANTS.index(v)))
    for v in by_remainder[: n - sum(counts.values())]:
        counts[v] += 1
    return counts


def _shuffled_slots(rng: random.Random, counts: dict[str, int]) -> list[str]:
    slots = [v for v in counts for _ in range(counts[v])]
    rng.shuffle(slots)
    return slots


def _sample_components(rng: random.Random, composite: bool) -> tuple[tuple[Component, ...], Combine | None]:
    if not composite:
        family = rng.choice(FAMILIES)
        return (Component(family, sample_params(family, rng)),), None
    combine: Combine = rng.choice(("product", "sum"))
    parts = []
    for _ in range(2):
        family = rng.choice(COMPOSITE_PARTS)
        parts.append(Component(family, sample_params(family, rng)))
    return tuple(parts), combine


def _sample_noise(rng: random.Random) -> str:
    # FIND's write_source_code: two successive draws, so P = 0.33 / 0.44 / 0.23.
    if rng.random() < 0.33:
        return "normal"
    return "uniform" if rng.random() < 0.66 else "poisson"


def _sample_corruption(rng: random.Random, domain: tuple[float, float], std: float) -> tuple[str, dict]:
    # FIND's sample_corruption: a ~ U(max(lo,-100), 100); half inside (a, a+U(5,25)), a quarter
    # each x <= a and x >= a.
    a = _r1(rng.uniform(max(domain[0], -100.0), 100.0))
    if rng.random() < 0.5:
        kind = "interval_smaller" if rng.random() < 0.5 else "interval_larger"
        return kind, {"std": std, "boundary": [a]}
    return "interval_inside", {"std": std, "boundary": [a, rng.uniform(a + 5, a + 25)]}


def sample_numeric(seed: int, n: int = 1000,
                   mlp_ok: Callable[[NumericFunction], bool] | None = None) -> list[NumericFunction]:
    """Draw `n` numeric functions (ids f00000..) with FIND's composition; no MLP is trained here.

    Variants and the atomic/composite split are exact counts (FIND's for n = 1000, scaled
    otherwise) placed by a seeded shuffle. `mlp_ok` may veto a draw for an MLP slot (a 1-64-1 MLP
    cannot follow, say, a sine of period 0.2 over [-100, 100]); the slot then redraws.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    variants = _shuffled_slots(_rng(seed, "variants"), variant_counts(n))
    n_composite = n - round(P_ATOMIC * n)
    composite = _shuffled_slots(_rng(seed, "composite"), {True: n_composite, False: n - n_composite})
    out = []
    for i in range(n):
        rng = _rng(seed, i)
        for _attempt in range(200):
            fn = _sample_one(rng, function_id(i), variants[i], composite[i])
            if fn is not None and (variants[i] != "mlp" or mlp_ok is None or mlp_ok(fn)):
                break
        else:
            raise RuntimeError(f"{function_id(i)}: no acceptable draw in 200 attempts")
        out.append(fn)
    return out


def _sample_one(rng: random.Random, fid: str, variant: str, composite: bool) -> NumericFunction | None:
    """One draw; None when its corruption mean is not finite (a pole on FIND's 100-point grid)."""
    components, combine = _sample_components(rng, composite)
    domain = family_domain(components[0].family) if combine is None else (-100.0, 100.0)
    noise = _sample_noise(rng)
    base = NumericFunction(id=fid, variant="clean", components=components, combine=combine, domain=domain)
    std = corruption_mean(compile_function(base.clean_code()), domain)
    if not math.isfinite(std):
        return None
    ctype, cparams = _sample_corruption(rng, domain, std)
    return replace(
        base,
        variant=variant,
        noise_type=noise if variant == "noised" else None,
        noise_params=1.0 if variant == "noised" else None,
        corruption_type=ctype if variant == "corrupted" else None,
        corruption_params=cparams if variant == "corrupted" else None,
        held_out_inputs=held_out_inputs(rng),
    )


def generate_numeric(seed: int, n: int = 1000) -> list[SuiteFunction]:
    """The numeric suite for `seed`: `n` SuiteFunctions f00000.. in FIND's proportions.

    Deterministic for a seed. MLP-variant functions are trained here (batched, cached on disk
    under `${AIA_CACHE_DIR:-~/.cache/aia}/mlp/`), so a rebuild is fast.
    """
    specs = sample_numeric(seed, n, mlp_ok=mlp_representable)
    todo = [s for s in specs if s.variant == "mlp"]
    trained = mlp.train_mlps([mlp_target(s) for s in todo])
    poor = [(s.id, w.grid_nmse) for s, w in zip(todo, trained) if not w.grid_nmse < mlp.ACCEPT_NMSE]
    if poor:
        raise RuntimeError(f"MLP fits above NMSE {mlp.ACCEPT_NMSE} on FIND's grid: {poor}")
    by_id = dict(zip((s.id for s in todo), trained))
    body = mlp.render_mlp_body()
    out = []
    for s in specs:
        if s.variant == "mlp":
            w = by_id[s.id]
            out.append(s.to_suite_function(mlp.to_safetensors(w), w.grid_nmse, body))
        else:
            out.append(s.to_suite_function())
    return out


def mlp_target(fn: NumericFunction) -> mlp.MLPTarget:
    """What the MLP of `fn` must learn: the noise-free clean function on its domain."""
    code = fn.clean_code()
    return mlp.MLPTarget.from_function(compile_function(code), fn.domain, key=_digest(code, fn.domain))


def mlp_representable(fn: NumericFunction) -> bool:
    """Whether a 1-64-1 ReLU MLP follows `fn` on FIND's grid to NMSE < SELECT_NMSE (no torch)."""
    return mlp_target(fn).hinge_fit()[1] < mlp.SELECT_NMSE


def _digest(code: str, domain: tuple[float, float]) -> str:
    return hashlib.sha256(f"{code}|{domain[0]!r},{domain[1]!r}".encode()).hexdigest()
