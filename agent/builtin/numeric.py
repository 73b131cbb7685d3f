"""The built-in scientist's numeric investigation: probe, test for noise and corruption, fit families.

It sees only black-box outputs. The investigation is a sequence of experiments, each chosen from
what the previous ones showed, and every conclusion is recorded as a hypothesis with the evidence
that moved it:
1. a coarse probe of [-128, 128], asked twice: does the output repeat?
2. if nothing repeats: noise, and which kind (integer differences: Poisson; bounded by 2: uniform;
   else Gaussian); more repeats to average it out;
   if only a region fails to repeat: a corrupted interval, whose edges are found by bisection;
3. a dense scan near 0 for jumps and kinks (steps, rectangles, square waves, floor/ceil);
4. a family search: FIND's families and sums/products of the composite ones, each a linear
   least-squares fit over features whose nonlinear parameters (jump positions, periods) were
   measured in step 3; periodic functions get a dedicated frequency fit; the model is chosen by
   BIC, and parameters are rounded to one decimal where that does not worsen the fit;
5. when no family explains the data (and it is not a small ReLU network's piecewise-linear
   approximation), an expression is built from primitives (`symbolic`): features of a uniform
   grid propose structure, seeded screening and least squares fit candidates, an experiment asks
   where the survivors disagree, and the winner replaces the family only if it predicts held-out
   inputs clearly better.
It never answers with a table or an interpolant: when nothing fits exactly, it says so and answers
with its best compact formula.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .findings import Findings, Notebook
from .symbolic import SymbolicSearch

Probe = Callable[[Sequence[float]], list[Any]]

RANGE = (-128.0, 128.0)
FIT_RANGE = (-100.0, 100.0)  # functions are defined (and MLPs trained) here; beyond, MLPs extrapolate
EXACT = 1e-9  # relative residual below which a fit is exact


# ----------------------------------------------------------------------------- helpers

def _floats(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            out[i] = math.nan
    return out


def _num(v: float) -> str:
    """A literal for code and prose: short when the value is round."""
    if v == int(v) and abs(v) < 1e15:
        return f"{v:.1f}"
    r = float(f"{v:.6g}")
    return repr(r)


# ----------------------------------------------------------------------------- features

@dataclass(frozen=True)
class Feature:
    """One basis function of a linear model: how to compute it and how to write it."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    code: str  # a Python expression in x (stdlib math)
    prose: str


def _pow(k: int) -> Feature:
    if k == 0:
        return Feature("1", lambda x: np.ones_like(x), "1.0", "1")
    if k == 1:
        return Feature("x", lambda x: x, "x", "x")
    return Feature(f"x^{k}", lambda x, k=k: x**k, f"x**{k}", f"x^{k}")


ONE, X = _pow(0), _pow(1)
ABS = Feature("|x|", np.abs, "abs(x)", "|x|")
RELU_POS = Feature("max(x,0)", lambda x: np.maximum(x, 0), "max(x, 0.0)", "max(x, 0)")
RELU_NEG = Feature("min(x,0)", lambda x: np.minimum(x, 0), "min(x, 0.0)", "min(x, 0)")
STEP = Feature("H(x)", lambda x: (x > 0).astype(float), "(1.0 if x > 0 else 0.0)", "H(x)")
SQRT = Feature("sqrt(x)", lambda x: np.sqrt(np.where(x >= 0, x, np.nan)),
               "(math.sqrt(x) if x >= 0 else math.nan)", "sqrt(x)")
LN = Feature("ln(x)", lambda x: np.log(np.where(x > 0, x, np.nan)),
             "(math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan))", "ln(x)")
INV = Feature("1/x", lambda x: 1.0 / np.where(x != 0, x, np.nan), "(1.0 / x)", "1/x")
FLOOR = Feature("floor(x)", np.floor, "float(math.floor(x))", "floor(x)")


def rectangle(width: float) -> Feature:
    half = width / 2
    return Feature(f"rect({width:g})", lambda x: (np.abs(x) <= half).astype(float),
                   f"(1.0 if abs(x) <= {_num(half)} else 0.0)", f"rect_{_num(width)}(x) (1 where |x| <= {_num(half)})")


def square_wave(period: float, shift: float) -> Feature:
    w = 2 * math.pi / period
    return Feature(f"sq({period:g},{shift:g})",
                   lambda x: np.where(np.sin((x - shift) * w) > 0, 1.0, -1.0),
                   f"(1.0 if math.sin((x - {_num(shift)}) * (2 * math.pi / {_num(period)})) > 0 else -1.0)",
                   f"sq(x) (a square wave of period {_num(period)}, shift {_num(shift)}, values ±1)")


def _product(a: Feature, b: Feature) -> Feature:
    if a.name == "1":
        return b
    if b.name == "1":
        return a
    return Feature(f"{a.name}*{b.name}", lambda x: a.fn(x) * b.fn(x), f"{a.code} * {b.code}", f"{a.prose}·{b.prose}")


@dataclass
class Fit:
    label: str
    features: list[Feature]
    coef: np.ndarray
    rss: float
    n: int
    extra_params: int = 0
    prose: str = ""
    code_expr: str = ""

    @property
    def k(self) -> int:
        return int(np.count_nonzero(self.coef)) + self.extra_params

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            if self.features:
                return np.column_stack([f.fn(x) for f in self.features]) @ self.coef
            fn = eval(compile(f"lambda x: {self.code_expr}", "<model>", "eval"), {"math": math})  # our own formula
            return np.array([_safe(fn, v) for v in x])


def _lstsq(features: list[Feature], x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    with np.errstate(all="ignore"):
        cols = np.column_stack([f.fn(x) for f in features])
    if not np.isfinite(cols).all():
        return None
    scale = np.abs(cols).max(axis=0)
    scale[scale == 0] = 1.0
    coef, *_ = np.linalg.lstsq(cols / scale, y, rcond=None)
    coef = coef / scale
    rss = float(np.sum((cols @ coef - y) ** 2))
    return coef, rss


def _round_coef(features: list[Feature], coef: np.ndarray, rss: float, x: np.ndarray, y: np.ndarray,
                noisy: bool) -> tuple[np.ndarray, float]:
    """FIND's parameters are mostly one decimal: keep the rounded coefficients if they fit as well
    (for noisy data: if rounding costs less than 1% of the residual, i.e. it is within the noise)."""
    if not noisy and rss > 1e-6 * float(np.sum(y**2)):
        return coef, rss
    cols = np.column_stack([f.fn(x) for f in features])
    tol = rss * 1.01 if noisy else max(rss * 1.5, 1e-18 * float(np.sum(y**2)) + 1e-12)
    for digits in (0, 1, 2):
        rounded = np.round(coef, digits)
        rss_r = float(np.sum((cols @ rounded - y) ** 2))
        if rss_r <= tol + 1e-9 * float(np.sum(y**2)):
            return rounded, rss_r
    return coef, rss


def _trimmed(fit: Fit, x: np.ndarray, y: np.ndarray, rounds: int = 3) -> Fit:
    """Refit the chosen model without the points it explains worst.

    A deterministic function that no model fits exactly is usually an approximation (an MLP) that
    is good almost everywhere and wrong where the function is hard (near a pole, at a jump); those
    few points must not drag the coefficients. The returned residual is still over all points."""
    if not fit.features:
        return fit
    current = fit
    for _ in range(rounds):
        resid = np.abs(current.predict(x) - y)
        keep = resid <= max(3 * float(np.median(resid)), 1e-12)
        if keep.sum() < max(10, 2 * len(fit.features)):
            return fit
        solved = _lstsq(fit.features, x[keep], y[keep])
        if solved is None:
            return fit
        current = Fit(fit.label, fit.features, solved[0], 0.0, len(y), fit.extra_params, fit.prose, fit.code_expr)
    current.rss = float(np.sum((current.predict(x) - y) ** 2))
    return current


def _trimmed_rss(fit: Fit, x: np.ndarray, y: np.ndarray, keep: float = 0.95) -> float:
    """Relative squared error over the `keep` fraction of points the model explains best (relative
    to those points' own sum of squares, so that explaining only a flat tail earns nothing)."""
    sq = np.nan_to_num((fit.predict(x) - y) ** 2, nan=np.inf)
    kept = np.argsort(sq)[: max(1, int(keep * len(sq)))]
    return float(np.sum(sq[kept]) / max(float(np.sum(y[kept] ** 2)), 1e-300))


def _trimmed_mean_sq(err: np.ndarray, keep: float = 0.95) -> float:
    """Mean squared error over the `keep` fraction of points with the smallest error."""
    sq = np.sort(np.nan_to_num(err**2, nan=np.inf))
    return float(np.mean(sq[: max(1, int(keep * len(sq)))])) if len(sq) else math.inf


def _on_data(fit: Fit, x: np.ndarray, y: np.ndarray) -> Fit:
    """The same model with its residual measured on (x, y), so that models fitted on different
    probes are compared on the same data."""
    with np.errstate(all="ignore"):
        rss = float(np.sum((fit.predict(x) - y) ** 2))
    return Fit(fit.label, fit.features, fit.coef, rss if math.isfinite(rss) else math.inf, len(y),
               fit.extra_params, fit.prose, fit.code_expr)


def _safe(fn: Callable[[float], float], v: float) -> float:
    try:
        return float(fn(float(v)))
    except (ArithmeticError, ValueError):
        return math.nan


def _bic(rss: float, n: int, k: int, y_scale: float) -> float:
    floor = n * ((1e-10 * y_scale) ** 2 + 1e-18)
    return n * math.log((rss + floor) / n) + k * math.log(n) * 2


# ----------------------------------------------------------------------------- the investigation

class NumericScientist:
    """One investigation of one numeric black box."""

    def __init__(self, probe: Probe, seed: int = 0, notebook: Notebook | None = None):
        self._probe = probe
        self.rng = np.random.default_rng(seed)
        self.notes = notebook or Notebook()
        self._noise_mean = 0.0  # subtracted from every observation once noise is characterised
        self._repeats = 1  # how many times each probe is asked (and averaged) once noise is found
        self._noise_var = 0.0  # variance left in an averaged observation
        self._interval: tuple[float, float] | None = None  # the corrupted interval, once found
        self.hypothesis = self.notes.propose
        self.settle = self.notes.settle

    # -- experiments
    def call(self, xs: Sequence[float], purpose: str) -> np.ndarray:
        xs = [float(round(x, 6)) for x in xs]
        outs = self._probe(xs)
        self.notes.record(purpose, xs, outs)
        return _floats(outs)

    # -- the plan
    def run(self) -> Findings:
        xs = np.arange(-128.0, 128.0, 1.0) + 0.37
        y1 = self.call(xs, "coarse probe of [-128, 128]")
        y2 = self.call(xs, "the same inputs again: does the output repeat?")
        both = np.isfinite(y1) & np.isfinite(y2)
        # a deterministic function repeats itself bit for bit: any difference is real
        varies = both & (np.abs(y1 - y2) > 1e-12 * (1 + np.abs(y1)))
        frac = varies.sum() / max(both.sum(), 1)
        noise_kind, noise_mean, interval, const = None, 0.0, None, None
        h_det = self.hypothesis("f is deterministic (the same input gives the same output)")
        idx = np.flatnonzero(varies)
        # corruption changes one contiguous block of inputs; noise changes inputs all over (a
        # Poisson draw repeats itself 31% of the time, so "all over" is not "everywhere")
        contiguous = len(idx) > 0 and varies[idx[0]:idx[-1] + 1].mean() > 0.97
        if not varies.any():
            self.settle(h_det, "supported", f"{both.sum()} inputs asked twice gave identical outputs")
            y = y1
        elif contiguous and frac < 0.97:
            self.settle(h_det, "refuted", f"only {varies.sum()} of {both.sum()} repeated inputs changed, "
                                          f"all in [{xs[varies].min():.1f}, {xs[varies].max():.1f}]")
            interval, const = self._corrupted_interval(xs, y1, y2, varies)
            self._interval = interval
            y = y1
        else:
            self.settle(h_det, "refuted", f"{varies.sum()} of {both.sum()} repeated inputs changed, "
                                          "scattered over the whole range")
            noise_kind, noise_mean, y = self._noise(xs, y1, y2)
        mask = np.isfinite(y)
        if interval is not None:
            mask &= ~((xs >= interval[0]) & (xs <= interval[1]))
        fit_xs, fit_ys = xs[mask], y[mask]
        if interval is not None and mask.sum() < 64:  # few clean probes left: sample the clean part densely
            lo, hi = interval
            extra = np.round(self.rng.uniform(*RANGE, size=4000), 4)
            extra = np.sort(extra[(extra < lo) | (extra > hi)])[:400]
            if len(extra):
                fit_xs = np.concatenate([fit_xs, extra])
                fit_ys = np.concatenate([fit_ys, self.call(extra, "dense probe of the region that repeats")])
        # extra points for the fit: a dense scan near 0 (where steps, rectangles, square waves live)
        dense = np.round(np.arange(-12.0, 12.0, 0.05) + 0.013, 6)
        if interval is not None:
            dense = self._clean_window(interval)
        yd = self._averaged(dense, "dense scan of [-12, 12] for jumps and kinks") if len(dense) else np.array([])
        fit = self._search(fit_xs, fit_ys, dense, yd, noisy=noise_kind is not None)
        return self._answer(fit, noise_kind, interval, const)

    @staticmethod
    def _clean_window(interval: tuple[float, float]) -> np.ndarray:
        """A 24-wide dense window outside the corrupted interval, as close to 0 as possible."""
        lo, hi = interval
        for centre in sorted(np.arange(-116.0, 117.0, 1.0), key=abs):
            if centre + 12 < lo or centre - 12 > hi:
                return np.round(np.arange(centre - 12, centre + 12, 0.05) + 0.013, 6)
        grid = np.round(np.arange(-128.0, 128.0, 0.05) + 0.013, 6)
        return grid[(grid < lo) | (grid > hi)]

    def _averaged(self, xs: np.ndarray, purpose: str) -> np.ndarray:
        """Ask `xs` once, or `_repeats` times and average when the function is noisy."""
        with np.errstate(all="ignore"):
            runs = [self.call(xs, purpose if i == 0 else f"repeat {i + 1}: {purpose}") for i in range(self._repeats)]
            return np.nanmean(runs, axis=0) - self._noise_mean

    def _noise(self, xs: np.ndarray, y1: np.ndarray, y2: np.ndarray) -> tuple[str, float, np.ndarray]:
        more = [self.call(xs, f"repeat {i} to average the noise") for i in (3, 4, 5, 6)]
        stack = np.vstack([y1, y2, *more])
        diffs = (stack[1:] - stack[:-1]).ravel()
        diffs = diffs[np.isfinite(diffs)]
        if np.allclose(diffs, np.round(diffs), atol=1e-6):
            kind, mean = "poisson", 1.0
        elif np.abs(diffs).max() <= 2.0 + 1e-9:
            kind, mean = "uniform", 0.0
        else:
            kind, mean = "normal", 0.0
        with np.errstate(all="ignore"):
            sd = float(np.nanstd(stack - np.nanmean(stack, axis=0)) * math.sqrt(6 / 5))
        self._noise_mean, self._repeats = mean, len(stack)
        self._noise_var = sd**2 / len(stack) if math.isfinite(sd) else 1.0
        spread = "all integers" if kind == "poisson" else f"max |d| = {np.abs(diffs).max():.2f}"
        self.hypothesis(f"each call adds independent {kind} noise (spread {sd:.2f}); the underlying "
                        "function is the average over repeats" + (" minus 1 (the Poisson mean)" if mean else ""),
                        "supported", f"differences between repeats: {spread}")
        with np.errstate(all="ignore"):
            return kind, mean, np.nanmean(stack, axis=0) - mean

    def _corrupted_interval(self, xs: np.ndarray, y1: np.ndarray, y2: np.ndarray,
                            varies: np.ndarray) -> tuple[tuple[float, float], float]:
        idx = np.flatnonzero(varies)
        lo_i, hi_i = idx.min(), idx.max()
        lo = self._edge(xs[lo_i - 1] if lo_i > 0 else None, xs[lo_i]) if lo_i > 0 else RANGE[0]
        hi = self._edge(xs[hi_i + 1] if hi_i + 1 < len(xs) else None, xs[hi_i]) if hi_i + 1 < len(xs) else RANGE[1]
        inside_x = np.round(self.rng.uniform(lo, hi, size=2000), 4)
        inside = self.call(inside_x, "many inputs inside the non-repeating region, to estimate its centre")
        const = float(np.nanmean(inside))
        self.hypothesis(f"inside [{lo:.2f}, {hi:.2f}] the output is replaced by noise around {const:.3g} "
                        f"(spread {np.nanstd(inside):.2g}); elsewhere f is deterministic", "supported",
                        "repeats differ on exactly that region; edges located by bisection")
        return (round(lo, 2), round(hi, 2)), const

    def _edge(self, outside: float | None, inside: float) -> float:
        """Bisect between an input whose output repeats and one whose output does not."""
        a, b = outside, inside
        for _ in range(14):
            mid = (a + b) / 2
            r = self.call([mid, mid, mid], "bisect the edge of the non-repeating region")
            if np.nanmax(r) - np.nanmin(r) > 1e-12 * (1 + abs(np.nanmean(r))):
                b = mid
            else:
                a = mid
        return (a + b) / 2

    # -- the family search
    def _search(self, xs: np.ndarray, ys: np.ndarray, dx: np.ndarray, dy: np.ndarray, noisy: bool) -> Fit:
        in_range = (xs >= FIT_RANGE[0]) & (xs <= FIT_RANGE[1])
        if in_range.sum() < 20:  # little left inside [-100, 100] (a large corrupted interval): use it all
            in_range = np.ones_like(xs, dtype=bool)
        x = np.concatenate([xs[in_range], dx])
        y = np.concatenate([ys[in_range], dy])
        ok = np.isfinite(y)
        nan_left = bool((~ok & (x < 0)).sum() > 0.9 * (x < 0).sum()) and (x < 0).any()
        x, y = x[ok], y[ok]
        nan_left = nan_left or (len(x) > 0 and x.min() > 0)
        if len(y) < 3:  # undefined (or infinite) nearly everywhere: nothing to fit
            return Fit("undefined", [], np.zeros(0), 0.0, len(y), prose="a function that returns no finite "
                       "value on almost every input", code_expr="math.nan")
        y_scale = float(np.sqrt(np.mean(y**2)))
        jumps = self._jumps(dx, dy)
        singles, combos = self._candidates(jumps, nan_left)
        total = max(float(np.sum(y**2)), len(y) * 1e-18)
        fits: list[Fit] = []
        for group in (singles, combos):  # composites only when no single family fits exactly
            for label, feats in group:
                solved = _lstsq(feats, x, y)
                if solved is None:
                    continue
                coef, rss = _round_coef(feats, *solved, x, y, noisy)
                fits.append(Fit(label, feats, coef, rss, len(y)))
            if not noisy and fits and min(f.rss for f in fits) < 1e-10 * total:
                break
        if not fits:
            fits.append(Fit("constant", [ONE], np.array([float(np.mean(y))]),
                            float(np.sum((y - np.mean(y)) ** 2)), len(y)))
        best = self._select(fits, y_scale, total, noisy, x, y)
        if not noisy and best.rss < 1e-10 * total:
            return best
        if not noisy:
            best = _trimmed(best, x, y)
        rel = best.rss / max(float(np.sum(y**2)), len(y) * 1e-18)
        unexplained = noisy or rel > 1e-6
        if unexplained:
            alternatives = [*self._periodic(x, y, self._repeats), self._gaussian(x, y), self._rational(x, y),
                            self._rectangle_search(x, y)]
            scored = [_on_data(a, x, y) for a in alternatives if a is not None]
            best = self._select([best] + [a for a in scored if math.isfinite(a.rss)], y_scale, total, noisy, x, y)
            rel = best.rss / max(float(np.sum(y**2)), len(y) * 1e-18)
            unexplained = rel > 1e-6 and (not noisy or best.rss / max(best.n, 1) > 2 * self._noise_var)
        # a formula that fits [-100, 100] but misses the probes beyond has not found the function
        # (a rational approximating sin(exp(x/60)) there); a network's linear tails are left alone
        outside = ~in_range & np.isfinite(ys)
        misses_outside = False
        if not unexplained and not noisy and outside.sum() >= 10:
            with np.errstate(all="ignore"):
                miss = float(np.sum((best.predict(xs[outside]) - ys[outside]) ** 2)
                             / max(float(np.sum(ys[outside] ** 2)), 1e-300))
            misses_outside = unexplained = not math.isfinite(miss) or miss > 1e-3
        if unexplained and not self._relu_network(dx, dy):
            best = self._symbolic(best, x, y, keep_inside=misses_outside)
        return best

    def _relu_network(self, x: np.ndarray, y: np.ndarray) -> bool:
        """Continuous and piecewise linear with several kinks: what a small ReLU network computes.

        Such a function is explained by hinges (the family search's relu and polynomial pieces),
        not by smooth primitives, so the symbolic search would spend its time fitting kinks."""
        if len(x) < 50 or self._noise_var > 0 or not np.isfinite(y).all():
            return False
        d1 = np.diff(y)
        d2 = np.abs(np.diff(d1))
        scale = float(np.max(np.abs(d1))) + 1e-300
        bent = d2 > 1e-6 * scale
        kinks = int(np.sum(bent[1:] & ~bent[:-1])) + int(bent[0])
        # a jump is one difference far above both neighbours (a network's steep ramp spans several)
        a = np.abs(d1)
        jumps = bool(np.any((a[1:-1] > 20 * a[:-2] + 1e-9 * scale) & (a[1:-1] > 20 * a[2:] + 1e-9 * scale)))
        linear = float(np.mean(bent)) < 0.05
        found = linear and kinks >= 2 and not jumps
        if found:
            self.hypothesis(f"f is continuous and piecewise linear with {kinks} kinks near 0 (like a small ReLU "
                            "network), so hinge families describe it", "supported",
                            f"second differences of the dense scan vanish except at {int(np.sum(bent))} points")
        return found

    def _symbolic(self, family: Fit, x: np.ndarray, y: np.ndarray, keep_inside: bool = False) -> Fit:
        """No family explains the data: build an expression from primitives (`symbolic`), and keep
        it only if it predicts held-out inputs clearly better than the best family. `keep_inside`:
        the family fits [-100, 100] and only misses beyond, so the expression must fit as well
        inside (a network approximates its function there and merely extrapolates beyond)."""
        h = self.hypothesis("f is a composition of primitives that no family in the search covers",
                            "open", f"the best family ({family.label}) leaves a relative residual "
                                    f"{family.rss / max(float(np.sum(y**2)), 1e-300):.2g}")
        search = SymbolicSearch(lambda xs, purpose: self._averaged(np.asarray(xs, dtype=float), purpose),
                                noise_var=self._noise_var, avoid=self._interval, seed=int(self.rng.integers(1 << 30)))
        result = search.run()
        if result is None:
            self.settle(h, "refuted", "too few finite outputs to fit an expression")
            return family
        for note in result.notes:
            self.hypothesis(f"the data show structure: {note}", "supported", "read from the uniform grid")
        xv, yv = result.x_val, result.y_val
        sym = result.best
        with np.errstate(all="ignore"):
            fam_pred, sym_pred = family.predict(xv), sym.predict(xv)
        fam_mse = float(np.mean((fam_pred - yv) ** 2)) if len(yv) else math.inf
        fam_mse = fam_mse if math.isfinite(fam_mse) else math.inf
        fam_trim, sym_trim = _trimmed_mean_sq(fam_pred - yv), _trimmed_mean_sq(sym_pred - yv)
        floor = self._noise_var + 1e-12 * (float(np.mean(yv**2)) if len(yv) else 1.0)
        for m in result.finalists:
            self.hypothesis(f"f is {m.describe()}: f(x) = {m.code().replace('math.', '')}", "refuted",
                            f"held-out mean squared error {m.val_mse:.3g} against {sym.val_mse:.3g} for the winner, "
                            "after asking the inputs where the rivals disagree most")
        better = math.isfinite(sym.val_mse) and (sym.val_mse + floor < 0.5 * (fam_mse + floor)
                                                 or not math.isfinite(fam_mse))
        # near a pole a few held-out points carry almost all of the squared error: there, the
        # expression must not lose on the 95% of points each model explains best either
        better = better and sym_trim <= 2 * fam_trim + floor + 1e-4 * (float(np.mean(yv**2)) if len(yv) else 0.0)
        inside = (xv >= FIT_RANGE[0]) & (xv <= FIT_RANGE[1])
        if keep_inside and inside.any():
            fam_in = float(np.mean((fam_pred[inside] - yv[inside]) ** 2))
            sym_in = float(np.mean((sym_pred[inside] - yv[inside]) ** 2))
            better = better and (sym_in <= 1.5 * fam_in + floor or not math.isfinite(fam_in))
        if not better:
            self.settle(h, "refuted", f"the best expression (held-out error {sym.val_mse:.3g}) is no clear "
                                      f"improvement on the family ({fam_mse:.3g})")
            return family
        self.settle(h, "supported", f"f = {sym.code()} predicts {len(yv)} held-out inputs with mean squared "
                                    f"error {sym.val_mse:.3g} (best family: {fam_mse:.3g})")
        with np.errstate(all="ignore"):
            rss = float(np.sum((sym.predict(x) - y) ** 2))
        return Fit("symbolic", [], np.zeros(0), rss if math.isfinite(rss) else sym.val_mse * len(y), len(y),
                   extra_params=sym.k, prose=f"{sym.describe()}: f(x) = {sym.code().replace('math.', '')}",
                   code_expr=sym.code())

    @staticmethod
    def _select(fits: list[Fit], y_scale: float, total: float, noisy: bool, x: np.ndarray, y: np.ndarray) -> Fit:
        """Exact fits, or noisy data: BIC. A deterministic function that no family fits exactly (an
        MLP's approximation of one, say): the simplest model nearly as good as the best on the 95%
        of probes it explains best, since extra terms would fit the approximation error (worst
        near poles and jumps), not the function."""
        best_rss = min(f.rss for f in fits)
        if noisy or best_rss < 1e-10 * total:
            return min(fits, key=lambda f: _bic(f.rss, f.n, f.k, y_scale))
        robust = {id(f): _trimmed_rss(f, x, y) for f in fits}
        best_robust = min(robust.values())
        good = [f for f in fits if robust[id(f)] <= max(1.5 * best_robust, 1e-3)]
        return min(good, key=lambda f: (f.k, robust[id(f)]))

    @staticmethod
    def _rectangle_search(x: np.ndarray, y: np.ndarray) -> Fit | None:
        """A boxcar's width by search: jumps cannot be seen through noise, but a fit can."""
        best = None
        for w in np.arange(1.0, 10.05, 0.1):
            feats = [rectangle(round(float(w), 1)), ONE]
            solved = _lstsq(feats, x, y)
            if solved and (best is None or solved[1] < best.rss):
                best = Fit("rectangle", feats, solved[0], solved[1], len(y), extra_params=1)
        return best

    def _jumps(self, x: np.ndarray, y: np.ndarray) -> list[float]:
        """Positions in the dense scan where the output jumps (refined by bisection).

        A jump is a first difference far from its neighbours' (a smooth function's differences
        change slowly), so a unit step on a steep line is still seen."""
        if len(x) < 7:
            return []
        d = np.diff(y)
        if not np.isfinite(d).all():
            return []
        pad = np.pad(d, 2, mode="edge")
        local = np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)
        excess = np.abs(d - local)
        typical = float(np.median(excess)) + 1e-12
        scale = max(1e-7 * (1 + float(np.max(np.abs(y)))), 10 * math.sqrt(2 * self._noise_var))
        big = np.flatnonzero((excess > (50 * typical if self._noise_var == 0 else 0)) & (excess > scale))
        out = []
        for i in big[:64]:
            a, b = x[i], x[i + 1]
            ya, yb = y[i], y[i + 1]
            slope = local[i] / (x[i + 1] - x[i])
            for _ in range(12):
                mid = (a + b) / 2
                ym = self._averaged(np.array([mid]), "bisect a jump")[0]
                # compare with the values extrapolated from each side along the local slope
                if abs(ym - (ya + slope * (mid - a))) < abs(ym - (yb - slope * (b - mid))):
                    a, ya = mid, ym
                else:
                    b, yb = mid, ym
            out.append(round((a + b) / 2, 3))
        return out

    def _candidates(self, jumps: list[float],
                    nan_left: bool) -> tuple[list[tuple[str, list[Feature]]], list[tuple[str, list[Feature]]]]:
        """Single families, then sums and products of the composite parts (FIND's composites)."""
        polys = {d: [_pow(k) for k in range(d + 1)] for d in range(0, 11)}
        singles: list[tuple[str, list[Feature]]] = [
            ("constant", polys[0]), ("linear", polys[1]),
            *[(f"polynomial{d}", polys[d]) for d in range(2, 6)],
            ("absolute", [ABS, ONE]), ("relu", [RELU_POS, RELU_NEG, ONE]), ("step", [STEP, ONE]),
            ("reciprocal", [INV]), ("reciprocal+const", [INV, ONE]),
        ]
        if nan_left:
            singles += [("root", [SQRT, ONE]), ("logarithm", [LN, ONE])]
        # discontinuous parts measured from the jumps
        parts: dict[str, list[Feature]] = {"linear": polys[1], "constant": polys[0], "relu": [RELU_POS, RELU_NEG, ONE]}
        for d in range(2, 6):
            parts[f"polynomial{d}"] = polys[d]
        if jumps:
            parts["step"] = [STEP, ONE]
            parts["floor"] = [FLOOR, ONE]
            pos = sorted(j for j in jumps if j > 0)
            neg = sorted(-j for j in jumps if j < 0)
            sym = [p for p in pos if any(abs(p - n) < 0.01 for n in neg)]
            # integer jumps belong to floor/ceil; a boxcar's edges are the other symmetric pair
            off_grid = [p for p in sym if abs(p - round(p)) > 0.01] or sym
            for i, half in enumerate(off_grid[:3]):
                w = round(2 * half, 1)
                parts["rectangle" + ("" if i == 0 else f"#{i}")] = [rectangle(w), ONE]
                singles.append(("rectangle", [rectangle(w)]))
            sq = self._square_wave_from(jumps)
            if sq is not None:
                parts["square_wave"] = [sq, ONE]
                singles.append(("square_wave", [sq]))
        combos: list[tuple[str, list[Feature]]] = []
        names = list(parts)
        for a, b in itertools.combinations_with_replacement(names, 2):
            fa, fb = parts[a], parts[b]
            union = list({f.name: f for f in fa + fb}.values())
            a, b = a.split("#")[0], b.split("#")[0]
            combos.append((f"{a}+{b}", union))
            prod = list({p.name: p for p in (_product(u, v) for u in fa for v in fb)}.values())
            if len(prod) <= 24:
                combos.append((f"{a}*{b}", prod))
        return singles, combos

    @staticmethod
    def _square_wave_from(jumps: list[float]) -> Feature | None:
        js = np.array(sorted(jumps))
        if len(js) < 3:
            return None
        gaps = np.diff(js)
        half = float(np.median(gaps))
        if half <= 0 or np.max(np.abs(gaps - half)) > 0.02:
            return None
        period = round(2 * half, 1)
        if period <= 0:  # jumps closer than the rounding: not a square wave
            return None
        # the wave is +1 just after a rising edge at `shift` (mod period)
        for shift0 in js[:2]:
            for cand in (shift0, shift0 - period / 2):
                shift = round(float(cand) % period, 2)
                f = square_wave(period, shift)
                if f.fn(np.array([shift + period / 4]))[0] > 0:
                    return f
        return None

    def _periodic(self, x: np.ndarray, y: np.ndarray, repeats: int = 1) -> list[Fit]:
        """a*sin(w*x + p) + d or a*tanh(w*(x - c)) + d, from a very dense window.

        The frequency is found by a grid search (a linear fit of sin, cos and a constant for each
        candidate frequency), then every parameter is refined by nonlinear least squares."""
        from scipy.optimize import least_squares

        start = 0.0
        if self._interval is not None:  # the window must lie where the function repeats itself
            lo, hi = self._interval
            start = next((c for c in sorted(np.arange(-128.0, 115.0, 1.0), key=abs) if c + 13 < lo or c > hi), 0.0)
        xs = np.round(np.arange(start, start + 13.0, 0.01) + 0.0037, 6)
        ys = np.nanmean([self.call(xs, f"very dense window [{start:g}, {start + 13:g}] to measure a period")
                         for _ in range(repeats)], axis=0) - self._noise_mean
        ok = np.isfinite(ys)
        xs, ys = xs[ok], ys[ok]
        if len(xs) < 50:
            return []
        best_w, best_rss = None, math.inf
        for w in 2 * math.pi / np.geomspace(0.08, 16.0, 1500):
            cols = np.column_stack([np.sin(w * xs), np.cos(w * xs), np.ones_like(xs)])
            coef, *_ = np.linalg.lstsq(cols, ys, rcond=None)
            rss = float(np.sum((cols @ coef - ys) ** 2))
            if rss < best_rss:
                best_w, best_rss = w, rss
        allx, ally = np.concatenate([x, xs]), np.concatenate([y, ys])
        best: Fit | None = None
        cols = np.column_stack([np.sin(best_w * xs), np.cos(best_w * xs), np.ones_like(xs)])
        (sa, ca, d0), *_ = np.linalg.lstsq(cols, ys, rcond=None)
        candidates = [("sin", lambda p, t: p[0] * np.sin(p[1] * t + p[2]) + p[3],
                       [np.hypot(sa, ca), best_w, math.atan2(ca, sa), d0])]
        lo, hi = float(np.min(ys)), float(np.max(ys))
        mid = float(xs[np.argmin(np.abs(ys - (lo + hi) / 2))])
        for sign in (1, -1):
            for w in (1.0, 3.0, 10.0):
                candidates.append(("tanh", lambda p, t: p[0] * np.tanh(p[1] * (t - p[2])) + p[3],
                                   [sign * (hi - lo) / 2, w, mid, (hi + lo) / 2]))
        for kind, model, p0 in candidates:
            try:
                res = least_squares(lambda p: model(p, xs) - ys, p0, method="lm", max_nfev=600)
                res = least_squares(lambda p: model(p, allx) - ally, res.x, method="lm", max_nfev=200)
            except ValueError:
                continue
            rss = float(np.sum(res.fun**2))
            if best is None or rss < best.rss:
                best = self._nonlinear_fit(kind, res.x, rss, len(ally))
                params = res.x
        if best is None:
            return []
        fits = [best]
        if best.label == "sin":  # a square wave has the sine's period and phase: try it too
            a, w, phase = params[0], params[1], params[2]
            if a < 0:
                phase += math.pi
            period, shift = round(2 * math.pi / abs(w), 2), round(float(-phase / w), 2)
            if period <= 0:
                return fits
            feats = [square_wave(period, shift), ONE]
            solved = _lstsq(feats, allx, ally)
            if solved is not None:
                fits.append(Fit("square_wave", feats, solved[0], solved[1], len(ally), extra_params=2))
        return fits

    @staticmethod
    def _nonlinear_fit(kind: str, p: np.ndarray, rss: float, n: int) -> Fit:
        a, w, c, d = (float(v) for v in p)
        if kind == "sin":
            if a < 0:
                a, c = -a, c + math.pi
            period = 2 * math.pi / w
            shift = -c / w
            expr = f"{_num(a)} * math.sin((2 * math.pi / {_num(period)}) * (x - {_num(shift)})) + {_num(d)}"
            prose = (f"a sine wave {_num(a)}·sin(2π(x - {_num(shift)})/{_num(period)}) + {_num(d)} "
                     f"(amplitude {abs(a):.3g}, period {abs(period):.4g}, offset {d:.3g})")
        else:
            expr = f"{_num(a)} * math.tanh({_num(w)} * (x - {_num(c)})) + {_num(d)}"
            prose = (f"a scaled tanh {_num(a)}·tanh({_num(w)}(x - {_num(c)})) + {_num(d)}: a smooth step "
                     f"from {d - abs(a):.3g} to {d + abs(a):.3g} around x = {c:.3g}")
        return Fit(kind, [], np.zeros(0), rss, n, extra_params=4, prose=prose, code_expr=expr)

    def _gaussian(self, x: np.ndarray, y: np.ndarray) -> Fit | None:
        from scipy.optimize import least_squares

        if len(y) < 10:
            return None
        i = int(np.argmax(np.abs(y - np.median(y))))

        def model(p: np.ndarray) -> np.ndarray:
            return p[2] * np.exp(-0.5 * ((x - p[0]) / p[1]) ** 2) + p[3]

        best = None
        for s in (1.0, 3.0, 8.0):
            try:
                res = least_squares(lambda p: model(p) - y, [x[i], s, y[i] - np.median(y), np.median(y)], max_nfev=400)
            except ValueError:
                continue
            if best is None or res.cost < best.cost:
                best = res
        if best is None:
            return None
        m, s, amp, d = (float(v) for v in best.x)
        expr = f"{_num(amp)} * math.exp(-0.5 * ((x - {_num(m)}) / {_num(abs(s))}) ** 2) + {_num(d)}"
        prose = f"a Gaussian bump centred at {m:.3g} with width (sd) {abs(s):.3g} and peak {amp:.3g} above {d:.3g}"
        return Fit("gaussian", [], np.zeros(0), float(2 * best.cost), len(y), extra_params=4, prose=prose,
                   code_expr=expr)

    def _rational(self, x: np.ndarray, y: np.ndarray) -> Fit | None:
        """P(x)/Q(x) by the linearised fit y*Q(x) - P(x) = 0 (smallest singular vector)."""
        keep = np.abs(y) < 1e6 * (np.median(np.abs(y)) + 1)
        x, y = x[keep], y[keep]
        t = x / 100.0
        best = None
        for m in range(0, 5):
            for n in range(m + 1, 6):
                A = np.column_stack([t**k for k in range(m + 1)] + [-y * t**k for k in range(n + 1)])
                norms = np.linalg.norm(A, axis=0)
                norms[norms == 0] = 1
                _, sv, vt = np.linalg.svd(A / norms, full_matrices=False)
                v = vt[-1] / norms
                p, q = v[: m + 1], v[m + 1:]
                with np.errstate(all="ignore"):
                    pred = np.polyval(p[::-1], t) / np.polyval(q[::-1], t)
                rss = float(np.nansum((pred - y) ** 2))
                if best is None or rss < best[0]:
                    best = (rss, m, n, p, q)
        if best is None:
            return None
        rss, m, n, p, q = best
        # back to x (t = x/100): coefficient of t^k is c * 100^-k in x
        pk = [float(c) / 100.0**k for k, c in enumerate(p)]
        qk = [float(c) / 100.0**k for k, c in enumerate(q)]
        lead = next((c for c in reversed(qk) if abs(c) > 0), 1.0)
        pk, qk = [c / lead for c in pk], [c / lead for c in qk]
        num = " + ".join(f"{_num(c)} * x**{k}" for k, c in enumerate(pk))
        den = " + ".join(f"{_num(c)} * x**{k}" for k, c in enumerate(qk))
        expr = f"({num}) / ({den})"
        return Fit("rational", [], np.zeros(0), rss, len(y), extra_params=m + n + 2,
                   prose=f"a rational function P(x)/Q(x) with deg P = {m}, deg Q = {n}: ({num}) / ({den})",
                   code_expr=expr)

    # -- the answer
    def _answer(self, fit: Fit, noise: str | None, interval: tuple[float, float] | None,
                const: float | None) -> Findings:
        if fit.code_expr:
            expr, prose = fit.code_expr, fit.prose
        else:
            terms = [(c, f) for c, f in zip(fit.coef, fit.features) if c != 0]
            expr = " + ".join(f"{_num(float(c))} * {f.code}" if f.name != "1" else _num(float(c))
                              for c, f in terms) or "0.0"
            formula = " + ".join(f"{_num(float(c))}·{f.prose}" if f.name != "1" else _num(float(c))
                                 for c, f in terms) or "0"
            prose = f"{_family_phrase(fit.label)}: f(x) = {formula}"
        rel = fit.rss / max(fit.n, 1)
        name = fit.prose if fit.label == "symbolic" else _family_phrase(fit.label)
        fitted = self.hypothesis(f"f is {name}", "supported" if rel < 1e-6 or noise else "open",
                                 f"least-squares fit over {fit.n} probes, mean squared residual {rel:.3g}")
        if fitted.status == "open":
            self.settle(fitted, "open", "nothing fits exactly; this is the best compact formula found")
        body = f"    return {expr}\n"
        if interval is not None:
            lo, hi = interval
            guard = (f"x <= {_num(hi)}" if lo <= RANGE[0] else f"x >= {_num(lo)}" if hi >= RANGE[1]
                     else f"{_num(lo)} < x < {_num(hi)}")
            body = f"    if {guard}:\n        return {_num(round(const, 3))}\n" + body
        code = f"import math\n\n\ndef function(x):\n{body}"
        description = prose[0].upper() + prose[1:]
        if fitted.status == "open":
            description += (" (an expression built from primitives; it fits closely, not exactly)"
                            if fit.label == "symbolic"
                            else " (no family in the search fits exactly; this is the closest compact formula)")
        if noise:
            description += {"normal": ". Each call adds Gaussian noise of about unit spread",
                            "uniform": ". Each call adds uniform noise in [-1, 1]",
                            "poisson": ". Each call adds a Poisson(1) count (a non-negative integer, mean 1)"}[noise]
        if interval is not None:
            description += (f". On [{interval[0]:.2f}, {interval[1]:.2f}] the output is instead random noise "
                            f"around {const:.4g}")
        return Findings(description + ".", code, interval, fit.label, self.notes.hypotheses, self.notes.experiments)


def _family_phrase(label: str) -> str:
    if "+" in label:
        a, b = label.split("+", 1)
        return f"the sum of a {a} and a {b} function"
    if "*" in label:
        a, b = label.split("*", 1)
        return f"the product of a {a} and a {b} function"
    return {"constant": "a constant function", "linear": "a linear function", "absolute": "an absolute-value function",
            "relu": "a leaky ReLU", "step": "a step function", "reciprocal": "a reciprocal function",
            "reciprocal+const": "a reciprocal function plus a constant", "root": "a square-root function",
            "logarithm": "a logarithm", "rectangle": "a rectangle (boxcar) function", "square_wave": "a square wave",
            }.get(label, f"a {label.replace('polynomial', 'polynomial of degree ')} function")


def investigate_numeric(probe: Probe, seed: int = 0, notebook: Notebook | None = None) -> Findings:
    with warnings.catch_warnings():  # all-NaN slices (undefined regions) are expected, not news
        warnings.simplefilter("ignore", RuntimeWarning)
        return NumericScientist(probe, seed, notebook).run()
