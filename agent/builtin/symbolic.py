"""Symbolic regression for the built-in scientist: expressions composed from primitives, driven by experiments.

When no family fits, the scientist stops picking from a list and builds the formula. The design,
and why (compared with the existing tools):

- gplearn-style genetic programming evolves random trees: it needs thousands of evaluations per
  generation, its constants come from mutation rather than fitting, and its answers vary run to run.
  PySR is a fast evolutionary search too, but needs Julia and seconds-to-minutes per function.
  AI Feynman's lesson is the useful one here: let properties of the data (symmetry, separability)
  split the problem into small pieces, then brute-force each piece with fitted constants.
- So the search here is a bounded, deterministic enumeration in the spirit of AI Feynman. A
  *factor* is a chain of at most two unary primitives (sin, tanh, exp, log|.|, sqrt|.|, cbrt, abs,
  floor, sign, a periodic mod, max(., 0), square, 1/.) over affine arguments,
  `u2(s*u1(a*x + b) + t)`; chains that compute the same outputs are pruned. A *model* is
  `c0 + c1*F1 (+ c2*F2)` or `c0 + c1*(F1 + d)*F2`, so the binary operations +, -, * and (through
  1/. and max(., 0)) /, max and min compose them. The linear coefficients c are solved exactly for
  every choice of the nonlinear ones (variable projection), so least squares only searches the
  few parameters inside the primitives.
- Features of the data seed those parameters instead of random restarts: periods (FFT), chirps
  (local frequency changing with x, from a short-time FFT), envelopes (the local amplitude of an
  oscillation), symmetry (even or odd about 0), jumps and their spacing (floor, mod, parity),
  growth rates on log scales, and the characteristic positions (kinks, extrema, jumps).
- Every chain is first screened cheaply on a grid of seeded parameters (all rows at once, with the
  linear coefficients in closed form); the best are refined by nonlinear least squares. Sums and
  products are built greedily, as AI Feynman does: fit the residual (for a sum) or the ratio to a
  factor or the envelope (for a product), then refine the whole expression jointly.
- The survivors are told apart by an experiment: inputs where their predictions disagree most are
  asked, and the winner is chosen on held-out error plus a complexity penalty (BIC).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

Ask = Callable[[np.ndarray, str], np.ndarray]  # inputs, purpose -> averaged noise-free outputs
BIG = 1e12  # stands in for non-finite model outputs while fitting


def _num(v: float) -> str:
    r = float(f"{v:.10g}")
    return repr(r) if r != int(r) or abs(r) >= 1e15 else f"{r:.1f}"


# ----------------------------------------------------------------------------- primitives

@dataclass(frozen=True)
class Prim:
    """One unary primitive: how to compute it (numpy) and how to write it (Python, with math)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    code: str  # format string over the argument {0}
    homogeneous: bool = False  # u(s*v) = |s|^k u(v): an inner scale is redundant with the outer one
    periodic: bool = False


def _exp(u: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(u, -700, 700))


def _log(u: np.ndarray) -> np.ndarray:
    return np.log(np.abs(u))


def _recip(u: np.ndarray) -> np.ndarray:
    return 1.0 / u


PRIMS: tuple[Prim, ...] = (
    Prim("sin", np.sin, "math.sin({0})", periodic=True),
    Prim("tanh", np.tanh, "math.tanh({0})"),
    Prim("exp", _exp, "math.exp(min({0}, 700.0))"),
    Prim("log", _log, "math.log(abs({0}) or 1e-300)"),
    Prim("sqrt", lambda u: np.sqrt(np.abs(u)), "math.sqrt(abs({0}))", homogeneous=True),
    Prim("cbrt", np.cbrt, "math.copysign(abs({0}) ** (1.0 / 3.0), {0})", homogeneous=True),
    Prim("abs", np.abs, "abs({0})", homogeneous=True),
    Prim("floor", np.floor, "math.floor({0})"),
    Prim("sign", np.sign, "((({0}) > 0) - (({0}) < 0))", homogeneous=True),
    Prim("mod", lambda u: u - np.floor(u), "(({0}) % 1.0)", periodic=True),
    Prim("relu", lambda u: np.maximum(u, 0.0), "max({0}, 0.0)", homogeneous=True),
    Prim("square", np.square, "({0}) ** 2", homogeneous=True),
    Prim("recip", _recip, "(1.0 / (({0}) or 1e-300))", homogeneous=True),
)
IDENTITY = Prim("id", lambda u: u, "{0}", homogeneous=True)
_IDEMPOTENT = {"abs", "sign", "floor", "relu"}


@dataclass(frozen=True)
class Chain:
    """A factor `outer(s * inner(a*x + b) + t)` (depth 2) or `inner(a*x + b)` (depth 1)."""

    inner: Prim
    outer: Prim | None = None

    @property
    def name(self) -> str:
        return self.inner.name if self.outer is None else f"{self.outer.name}∘{self.inner.name}"

    @property
    def n_params(self) -> int:
        return 2 if self.outer is None else 4

    @property
    def periodic(self) -> bool:
        return self.inner.periodic or (self.outer is not None and self.outer.periodic)

    def eval(self, p: np.ndarray, x: np.ndarray) -> np.ndarray:
        """`p` is (n_params,) or (rows, n_params) for many parameter settings at once."""
        p = np.asarray(p, dtype=float)
        a, b = p[..., 0:1], p[..., 1:2]
        if p.ndim == 1:
            a, b = p[0], p[1]
        u = self.inner.fn(a * x + b)
        if self.outer is None:
            return u
        s, t = (p[2], p[3]) if p.ndim == 1 else (p[..., 2:3], p[..., 3:4])
        return self.outer.fn(s * u + t)

    def code(self, p: np.ndarray, var: str = "x") -> str:
        arg = _affine(float(p[0]), float(p[1]), var)
        inner = self.inner.code.format(arg)
        if self.outer is None:
            return inner
        return self.outer.code.format(_affine(float(p[2]), float(p[3]), inner))


def _atom(expr: str) -> str:
    """`expr` safe as a factor of a product: parenthesized when it has a sum or difference at its top
    level (`x + 3` times `exp(...)` must read `(x + 3) * exp(...)`, not `x + 3 * exp(...)`)."""
    depth = 0
    for i, ch in enumerate(expr):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch in "+-" and i > 0 and expr[i - 1] == " ":
            return f"({expr})"
    return expr


def _affine(a: float, b: float, var: str) -> str:
    core = var if a == 1 else f"-{var}" if a == -1 else f"{_num(a)} * {var}"
    if b == 0:
        return core
    return f"{core} - {_num(-b)}" if b < 0 else f"{core} + {_num(b)}"


def build_library(seed: int = 0) -> list[Chain]:
    """Every chain of one or two primitives, without those that compute the same function.

    Two chains are the same when, at shared random parameters, their outputs on random inputs agree
    up to an affine map (the model's linear coefficients absorb it); the first one kept is the
    shallower. Idempotent repeats (abs of abs) and homogeneous outers over a scale-free inner are
    redundant by construction and skipped before the comparison."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, 400)
    chains = [Chain(IDENTITY)] + [Chain(p) for p in PRIMS]
    chains += [Chain(i, o) for i, o in itertools.product(PRIMS, PRIMS)
               if not (i.name == o.name and i.name in _IDEMPOTENT)]
    kept: list[Chain] = []
    signatures: list[np.ndarray] = []
    params = rng.uniform(0.4, 1.3, size=4) * np.array([1, 1, 1, -1])
    with np.errstate(all="ignore"):
        for c in chains:
            v = c.eval(params[: c.n_params], x)
            if not np.isfinite(v).all() or np.std(v) < 1e-9:
                if c.outer is not None:  # e.g. log of 0: not a duplicate, keep it if it is finite elsewhere
                    kept.append(c)
                    signatures.append(np.full_like(x, np.nan))
                continue
            z = (v - v.mean()) / v.std()
            if any(np.isfinite(s).all() and abs(float(np.mean(z * s))) > 1 - 1e-9 for s in signatures):
                continue
            kept.append(c)
            signatures.append(z)
    return kept


LIBRARY = build_library()


# ----------------------------------------------------------------------------- features

@dataclass
class Features:
    """What the data propose before any search: each entry seeds parameters of some primitive."""

    freqs: list[float] = field(default_factory=list)  # angular frequencies of the strongest periods
    chirp: tuple[float, float] | None = None  # the oscillation's phase ≈ c2*x^2 + c1*x
    envelope: tuple[np.ndarray, np.ndarray] | None = None  # (window centres, local amplitudes)
    symmetry: str | None = None  # "even" or "odd" about 0
    jump_spacing: float | None = None
    jumps: list[float] = field(default_factory=list)
    scales: list[float] = field(default_factory=list)  # characteristic lengths in x
    crossings: int = 0  # how often f crosses its median level over the whole range
    centres: list[float] = field(default_factory=list)  # characteristic positions
    notes: list[str] = field(default_factory=list)  # what was noticed, in words


def _peak_freq(seg: np.ndarray, step: float) -> tuple[float, float, float]:
    """(angular frequency, amplitude, fraction of the power) of the strongest FFT peak of `seg`."""
    n = len(seg)
    t = np.arange(n)
    seg = seg - np.polyval(np.polyfit(t, seg, 1), t)
    win = np.hanning(n)
    spec = np.abs(np.fft.rfft(seg * win))
    spec[0] = 0
    if len(spec) < 4 or spec.max() <= 0:
        return 0.0, 0.0, 0.0
    k = int(np.argmax(spec))
    shift = 0.0
    if 0 < k < len(spec) - 1:  # parabolic interpolation of the peak
        y0, y1, y2 = np.log(spec[k - 1:k + 2] + 1e-300)
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom != 0 else 0.0
    freq = 2 * math.pi * (k + shift) / (n * step)
    power = float(np.sum(spec[max(k - 2, 0):k + 3] ** 2) / max(np.sum(spec**2), 1e-300))
    amp = 2 * spec[k] / win.sum()
    return freq, float(amp), power


def features(x: np.ndarray, y: np.ndarray, step: float) -> Features:
    """Features of `y` on the uniform symmetric grid `x` (spacing `step`)."""
    f = Features()
    scale = float(np.sqrt(np.mean(y**2))) + 1e-300
    # symmetry about 0 (the grid is symmetric)
    yr = y[::-1]
    if np.allclose(x, -x[::-1]):
        even, odd = np.linalg.norm(y - yr) / np.linalg.norm(y), np.linalg.norm(y + yr) / np.linalg.norm(y)
        if min(even, odd) < 1e-3:
            f.symmetry = "even" if even < odd else "odd"
            f.notes.append(f"f is {f.symmetry} about 0 (|f(x) {'-' if even < odd else '+'} f(-x)| "
                           f"is {min(even, odd):.1g} of |f|)")
    # global periods
    seg = y - np.polyval(np.polyfit(x, y, 2), x)
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    spec[:2] = 0
    peaks = [k for k in np.argsort(spec)[::-1][:40] if 0 < k < len(spec) - 1 and spec[k] >= spec[k - 1]
             and spec[k] >= spec[k + 1]]
    top = spec[peaks[0]] if peaks else 0
    win = np.hanning(len(seg))
    bin_w = 2 * math.pi / (len(x) * step)
    for k in peaks:
        if spec[k] < 0.15 * top or len(f.freqs) >= 3:
            break
        # refine the peak between bins: the periodogram on a fine grid around it
        fine = k * bin_w + np.linspace(-bin_w, bin_w, 81)
        power = np.abs(np.exp(-1j * np.outer(fine, x)) @ (seg * win))
        f.freqs.append(float(fine[int(np.argmax(power))]))
    # the analytic signal (Hilbert transform) of the oscillation around a moving-average trend:
    # its modulus is the envelope (local amplitude), its phase's slope the local frequency
    if f.freqs:
        from scipy.signal import hilbert

        period = max(int(round(2 * math.pi / f.freqs[0] / step)), 1)
        trend = np.convolve(np.pad(y, period, mode="edge"), np.ones(period) / period, mode="same")[period:-period]
        analytic = hilbert(y - trend)
        amp = np.abs(analytic)
        inst = np.gradient(np.unwrap(np.angle(analytic))) / step
        inner = slice(len(x) // 10, len(x) - len(x) // 10)
        xi, ai, wi = x[inner], amp[inner], np.abs(inst[inner])
        sub = np.linspace(0, len(xi) - 1, 200).astype(int)
        ws = np.array([float(np.median(wi[max(j - 20, 0):j + 20])) for j in sub])  # robust to phase slips
        xs_, as_ = xi[sub], ai[sub]
        live = as_ > 0.05 * as_.max()
        if live.sum() > 20:
            # an amplitude that changes sign or grows splits the FFT peak (x*sin(x) has a null at the
            # carrier); the analytic signal's phase slope is not fooled
            w_inst = float(np.median(ws[live]))
            if all(abs(w_inst - w) > 1e-3 * w for w in f.freqs):
                f.freqs.insert(1, w_inst)
        if live.sum() > 20 and np.std(ws[live]) > 0.15 * np.mean(ws[live]):
            # a chirp: the phase on one side of 0 is quadratic in x, which gives the rate precisely
            side = (x > 0) & (amp > 0.05 * amp.max())
            side[: len(x) // 2 + len(x) // 20] = False
            if side.sum() > 50:
                phase = np.unwrap(np.angle(analytic))[side]
                c2, c1, _ = np.polyfit(x[side], phase, 2)
                fitted = np.polyval([c2, c1, 0], x[side])
                # a real chirp changes its frequency (2*c2*x) by a good fraction across the range
                if abs(c2) * 2 * 128 > 0.1 * abs(c1) and np.std(phase - fitted) < 0.05 * np.std(phase):
                    f.chirp = (float(c2), float(c1))
                    f.notes.append(f"the local frequency grows linearly with x (the phase is {abs(c2):.3g}·x² "
                                   f"{'+' if c1 >= 0 else '-'} {abs(c1):.3g}·x): a chirp")
        if np.std(as_) > 0.2 * np.mean(as_):
            f.envelope = (xs_, as_)
            f.notes.append(f"the oscillation's local amplitude varies from {as_.min():.3g} to {as_.max():.3g} "
                           "along x: an envelope")
    if f.freqs:
        f.notes.append("periods " + ", ".join(f"{2 * math.pi / w:.4g}" for w in f.freqs[:3]))
    # jumps and their spacing: a first difference far from its neighbours' (a smooth function's
    # differences change slowly, even where they are large)
    d = np.diff(y)
    pad = np.pad(np.abs(d), 11, mode="edge")
    near = np.lib.stride_tricks.sliding_window_view(pad, 23)
    # the largest difference around each one, leaving out itself and its two neighbours
    around = np.maximum(near[:, :10].max(axis=1), near[:, 13:].max(axis=1))
    big = np.flatnonzero((np.abs(d) > 10 * around) & (np.abs(d) > 1e-6 * scale))
    if 2 <= len(big) < len(d) // 10:
        f.jumps = [float((x[i] + x[i + 1]) / 2) for i in big]
        f.jump_spacing = float(np.median(np.diff(f.jumps)))
        f.notes.append(f"{len(big)} jumps, spaced about {f.jump_spacing:.3g} apart")
    # zeros: every crossing of the median level is half a turn of an oscillation's phase
    sgn = np.sign(y - np.median(y))
    sgn = sgn[sgn != 0]
    f.crossings = int(np.sum(sgn[1:] != sgn[:-1]))
    # characteristic positions and lengths
    dev = np.abs(y - np.median(y))
    f.centres = [0.0, float(x[int(np.argmax(dev))])]
    curv = np.abs(np.diff(y, 2))
    if curv.max() > 50 * (np.median(curv) + 1e-12 * scale):
        f.centres.append(float(x[1 + int(np.argmax(curv))]))
    half = x[dev >= 0.5 * dev.max()]
    width = float(half.max() - half.min()) / 2 if len(half) else 10.0
    f.scales = sorted({round(v, 6) for v in (1.0, 3.0, 10.0, 30.0, 100.0, max(width, 0.3))})
    # growth on log scales at the tails: exponential (log|y| linear in x) or power (in log|x|)
    for side in (x > 20, x < -20):
        ys, xs = np.abs(y[side]), x[side]
        ok = ys > 1e-9 * scale
        if ok.sum() > 20:
            rate = float(np.polyfit(xs[ok], np.log(ys[ok]), 1)[0])
            if abs(rate) > 1e-3:
                f.scales.append(round(1 / abs(rate), 6))
    return f


def _periods(x: np.ndarray, y: np.ndarray, top: int = 3) -> list[float]:
    """Angular frequencies of the strongest peaks of the periodogram of (x, y), which need not be
    uniformly spaced (a direct Fourier sum, refined around each peak)."""
    if len(x) < 30:
        return []
    yc = y - y.mean()
    span = float(x.max() - x.min()) or 1.0
    spacing = max(span / len(x), 1e-3)
    coarse = np.arange(2 * math.pi / span, math.pi / spacing, math.pi / (2 * span))[:4000]
    power = np.abs(np.exp(-1j * np.outer(coarse, x)) @ yc)
    out: list[float] = []
    for k in np.argsort(power)[::-1]:
        if len(out) >= top or power[k] < 0.2 * power.max():
            break
        if any(abs(coarse[k] - w) < 2 * math.pi / span for w in out):
            continue
        fine = coarse[k] + np.linspace(-math.pi / (2 * span), math.pi / (2 * span), 41)
        fp = np.abs(np.exp(-1j * np.outer(fine, x)) @ yc)
        out.append(float(fine[int(np.argmax(fp))]))
    return out


# ----------------------------------------------------------------------------- models

@dataclass
class Model:
    """`c0 + sum_j c_j * term_j`, each term a product of chains; `theta` holds the chains'
    parameters (plus the offset d of a product's first factor), `coef` the linear coefficients."""

    terms: list[list[Chain]]
    theta: np.ndarray
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rss: float = math.inf
    val_mse: float = math.inf

    def _split(self, theta: np.ndarray) -> list[list[np.ndarray]]:
        out, i = [], 0
        for term in self.terms:
            ps = []
            for j, ch in enumerate(term):
                n = ch.n_params + (1 if len(term) > 1 and j == 0 else 0)
                ps.append(theta[i:i + n])
                i += n
            out.append(ps)
        return out

    def basis(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        cols = [np.ones_like(x)]
        with np.errstate(all="ignore"):
            for term, ps in zip(self.terms, self._split(theta)):
                v = np.ones_like(x)
                for j, (ch, p) in enumerate(zip(term, ps)):
                    e = ch.eval(p[: ch.n_params], x)
                    if len(term) > 1 and j == 0:
                        e = e + p[-1]
                    v = v * e
                cols.append(v)
        return np.column_stack(cols)

    @property
    def k(self) -> int:
        return len(self.theta) + len(self.coef)

    @property
    def complexity(self) -> int:
        return sum(1 + sum(1 if ch.outer is None else 2 for ch in term) for term in self.terms)

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.basis(self.theta, x) @ self.coef

    def code(self) -> str:
        parts = [_num(float(self.coef[0]))] if self.coef[0] != 0 else []
        for c, term, ps in zip(self.coef[1:], self.terms, self._split(self.theta)):
            if c == 0:  # a term the fit (or the rounding) switched off
                continue
            factors = []
            for j, (ch, p) in enumerate(zip(term, ps)):
                s = ch.code(p)
                if len(term) > 1 and j == 0 and p[-1] != 0:
                    s = f"{s} + {_num(float(p[-1]))}"
                factors.append(_atom(s))
            parts.append(f"{_num(float(c))} * " + " * ".join(factors))
        return " + ".join(parts) or "0.0"

    def describe(self) -> str:
        phrases = [_term_words(term, ps) for c, term, ps in zip(self.coef[1:], self.terms, self._split(self.theta))
                   if c != 0]
        if not phrases:
            return "a constant"
        if len(phrases) == 1:
            return phrases[0]
        return "the sum of " + " and ".join(phrases)


def _solve(basis: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    if not np.isfinite(basis).all():
        basis = np.nan_to_num(basis, nan=BIG, posinf=BIG, neginf=-BIG)
    norms = np.abs(basis).max(axis=0)
    norms[norms == 0] = 1
    with np.errstate(all="ignore"):
        coef, *_ = np.linalg.lstsq(basis / norms, y, rcond=None)
        coef = coef / norms
        return coef, float(np.sum((basis @ coef - y) ** 2))


def refine(model: Model, x: np.ndarray, y: np.ndarray, max_nfev: int = 40) -> Model:
    """Nonlinear least squares over the chains' parameters, the linear coefficients projected out."""
    from scipy.optimize import least_squares

    yscale = float(np.sqrt(np.mean(y**2))) + 1e-300

    def resid(theta: np.ndarray) -> np.ndarray:
        b = model.basis(theta, x)
        bad = ~np.isfinite(b).all(axis=1)
        b = np.where(np.isfinite(b), b, 0.0)
        coef, _ = _solve(b, y)
        r = b @ coef - y
        r[bad] = 10 * yscale
        # a huge parameter is a degenerate solution (abs(K*u - c) - c for a large K is just u): keep
        # the search away from them so that the simple parameterisation wins
        excess = np.maximum(np.abs(theta) - 1e3, 0.0)
        # a tanh pushed deep into its tail (tanh(u + 5) - 1) is an exponential in disguise: keep
        # tanh where it bends, so that the exponential itself is the one that fits
        tails = [max(abs(float(theta[i])) - 3.0, 0.0) for i in tanh_offsets]
        return np.concatenate([r, 1e-3 * yscale * excess, 0.1 * yscale * np.array(tails)])

    tanh_offsets, i = [], 0
    for term in model.terms:
        for j, ch in enumerate(term):
            if ch.outer is not None and ch.outer.name == "tanh":
                tanh_offsets.append(i + 3)
            i += ch.n_params + (1 if len(term) > 1 and j == 0 else 0)
    theta = model.theta.copy()
    try:
        res = least_squares(resid, theta, method="lm", max_nfev=max_nfev * (len(theta) + 1), x_scale="jac")
        theta = res.x
    except (ValueError, np.linalg.LinAlgError):
        pass
    b = model.basis(theta, x)
    if not np.isfinite(b).all():
        return Model(model.terms, theta, np.zeros(b.shape[1]), math.inf)
    coef, rss = _solve(b, y)
    return canonical(Model(model.terms, theta, coef, rss))


def canonical(m: Model) -> Model:
    """Move an exponential's offset into the linear coefficient: c·exp(s*u + t) = (c·e^t)·exp(s*u)
    (and a product's offset d with it), so no formula carries a huge factor cancelling a tiny one."""
    theta, coef = m.theta.copy(), m.coef.copy()
    i = 0
    for ti, term in enumerate(m.terms):
        for j, ch in enumerate(term):
            has_d = len(term) > 1 and j == 0
            c = float(coef[ti + 1]) if ti + 1 < len(coef) else 0.0
            if ch.outer is not None and ch.outer.name == "exp" and theta[i + 3] != 0 and c != 0:
                t = float(theta[i + 3])
                theta[i + 3] = 0.0
                coef[ti + 1] = math.copysign(math.exp(min(math.log(abs(c)) + t, 700.0)), c)  # in logs: no overflow
                if has_d:
                    theta[i + 4] = math.copysign(math.exp(max(min(math.log(abs(theta[i + 4]) + 1e-300) - t, 700.0),
                                                              -700.0)), theta[i + 4])
            if ch.outer is not None and ch.outer.name in _OUTER_DEGREE and theta[i + 2] != 0:
                # outer(s*u + t) = |s|^k outer(±u + t/|s|) for an outer homogeneous of degree k
                s_ = abs(float(theta[i + 2]))
                k = _OUTER_DEGREE[ch.outer.name]
                theta[i + 2], theta[i + 3] = math.copysign(1.0, theta[i + 2]), theta[i + 3] / s_
                if ti + 1 < len(coef):
                    coef[ti + 1] *= s_**k
                    if has_d:
                        theta[i + 4] /= s_**k
            if ch.outer is None and ch.inner.name == "id" and theta[i] != 0:
                # (a*x + b) [+ d] = a*(x + (b + d)/a)
                a_ = float(theta[i])
                shift = float(theta[i + 1]) + (float(theta[i + 2]) if has_d else 0.0)
                theta[i], theta[i + 1] = 1.0, shift / a_
                if has_d:
                    theta[i + 2] = 0.0
                if ti + 1 < len(coef):
                    coef[ti + 1] *= a_
            if theta[i] < 0 and ch.inner.name in _EVEN | _ODD and not (ch.outer is None and ch.inner.name == "id"):
                # a positive inner scale reads better: u(-v) = u(v) (even u) or -u(v) (odd u)
                theta[i], theta[i + 1] = -theta[i], -theta[i + 1]
                if ch.inner.name in _ODD:
                    if ch.outer is not None:
                        theta[i + 2] = -theta[i + 2]
                    elif ti + 1 < len(coef):
                        coef[ti + 1] = -coef[ti + 1]
                        if has_d:
                            theta[i + 2] = -theta[i + 2]
            if ch.outer is not None and ch.inner.name in _DEGREE and theta[i + 2] != 0:
                # outer(s*u(a*x + b) + t) with u homogeneous of degree k: |s|*u(v) = u(|s|^(1/k) v)
                s_ = float(theta[i + 2])
                r = abs(s_) ** (1.0 / _DEGREE[ch.inner.name])
                theta[i], theta[i + 1], theta[i + 2] = theta[i] * r, theta[i + 1] * r, math.copysign(1.0, s_)
            i += ch.n_params + (1 if has_d else 0)
    return Model(m.terms, theta, coef, m.rss, m.val_mse)


_EVEN = frozenset({"abs", "square", "log", "sqrt"})
_ODD = frozenset({"sin", "tanh", "cbrt", "sign", "id"})
#: Outer primitives with outer(r*v) = r^k outer(v) for r > 0.
_OUTER_DEGREE = {"abs": 1.0, "relu": 1.0, "square": 2.0, "sqrt": 0.5, "cbrt": 1.0 / 3.0, "recip": -1.0, "sign": 0.0}
#: Degrees of the homogeneous primitives: u(r*v) = r^k u(v) for r > 0.
_DEGREE = {"id": 1.0, "abs": 1.0, "relu": 1.0, "square": 2.0, "sqrt": 0.5, "cbrt": 1.0 / 3.0}


def simplify(model: Model, x: np.ndarray, y: np.ndarray, noise_var: float = 0.0) -> Model:
    """Round the parameters as far as the fit allows (to 0, then to 0-3 decimals), one at a time.

    An exact fit stays exact (the residual may grow only to a negligible level); a noisy one may
    lose no more than 1% of its residual. A scale folded into an exponential (exp(s*u + t) =
    e^t·exp(s*u)) is moved to the linear coefficient first, so the written formula has no
    compensating pair of huge and tiny numbers."""
    m = Model(model.terms, model.theta.copy(), model.coef.copy(), model.rss, model.val_mse)
    power = float(np.sum(y**2)) + 1e-300
    tol = max(m.rss * (1.01 if noise_var > 0 else 2.0), 1e-16 * power) + len(y) * noise_var * 0.01

    def solved(theta: np.ndarray) -> tuple[np.ndarray, float] | None:
        b = m.basis(theta, x)
        if not np.isfinite(b).all():
            return None
        return _solve(b, y)

    i = 0
    for term_i, term in enumerate(m.terms):  # fold exp's offset into the coefficient
        for j, ch in enumerate(term):
            n = ch.n_params + (1 if len(term) > 1 and j == 0 else 0)
            if ch.outer is not None and ch.outer.name == "exp" and not (len(term) > 1 and j == 0):
                trial = m.theta.copy()
                trial[i + 3] = 0.0
                got = solved(trial)
                if got is not None and got[1] <= tol:
                    m.theta, (m.coef, m.rss) = trial, got
            i += n
    for k in range(len(m.theta)):
        v = float(m.theta[k])
        for cand in [0.0] + [round(v, d) for d in range(4)]:
            if cand == v:
                break
            trial = m.theta.copy()
            trial[k] = cand
            got = solved(trial)
            if got is not None and got[1] <= tol:
                m.theta, (m.coef, m.rss) = trial, got
                break
    b = m.basis(m.theta, x)
    for k in range(len(m.coef)):
        v = float(m.coef[k])
        for cand in [0.0] + [round(v, d) for d in range(4)]:
            if cand == v:
                break
            trial = m.coef.copy()
            trial[k] = cand
            rss = float(np.sum((b @ trial - y) ** 2))
            if rss <= tol:
                m.coef, m.rss = trial, rss
                break
    return m


# ----------------------------------------------------------------------------- seeded screening

def _seed_grid(ch: Chain, feat: Features) -> np.ndarray:
    """Parameter rows for a chain, from the features: frequencies for periodic primitives, chirp
    rates under a square, jump spacings for floor and mod, characteristic lengths otherwise."""
    scales = [1.0 / s for s in feat.scales if s > 0]
    per_inner = ch.inner.periodic
    per_outer = ch.outer is not None and ch.outer.periodic
    a_vals: list[float] = []
    if per_inner:
        base = [w if ch.inner.name == "sin" else w / (2 * math.pi) for w in feat.freqs] or [0.5, 0.1]
        a_vals += base + [w / 2 for w in base] + [w * 2 for w in base]
    elif ch.inner.name in ("floor", "mod") and feat.jump_spacing:
        a_vals += [1.0 / feat.jump_spacing]
    chirp_rows = []
    if ch.inner.name == "square" and feat.chirp is not None:  # (a*x + b)^2 = a²x² + 2abx + b²
        a = math.sqrt(abs(feat.chirp[0]))
        chirp_rows = [[a, feat.chirp[1] / (2 * a)], [-a, -feat.chirp[1] / (2 * a)]]
    if not a_vals or not per_inner:
        a_vals += scales
    a_vals = sorted(set(round(v, 9) for v in a_vals + [-v for v in a_vals]))
    b_vals = sorted({0.0, *[-c for c in feat.centres[1:2]]})
    rows = [[a, b * abs(a) if b else 0.0] for a in a_vals for b in b_vals] + chirp_rows
    if ch.inner.periodic:
        rows += [[a, math.pi / 2] for a in a_vals if a > 0]
    if ch.outer is None:
        return np.array(rows)
    if per_outer:
        fs = [w if ch.outer.name == "sin" else w / (2 * math.pi) for w in feat.freqs] or [1.0]
        s_vals = sorted({*fs, *[-v for v in fs], 1.0, 0.5, 0.1})
        if ch.outer.name == "mod" and feat.jump_spacing:  # a sawtooth's jumps are its period
            s_vals += [1.0 / feat.jump_spacing, -1.0 / feat.jump_spacing]
    elif ch.outer.name in ("floor", "mod"):
        s_vals = [1.0, 0.5, -0.5, 0.25, 0.1]
        if feat.jump_spacing:  # jumps every P: the outer's argument moves by 1 every P (with a = 1)
            s_vals += [1.0 / feat.jump_spacing, -1.0 / feat.jump_spacing]
    elif ch.outer.homogeneous:  # outer(s*u + t) = |s|^k outer(±u + t/s): only the sign of s matters
        s_vals = [1.0, -1.0]
    else:
        s_vals = [1.0, -1.0, 0.1, -0.1, 10.0, -10.0, 0.02, -0.02]
    if ch.outer.name == "exp":  # exp(s*u + t) = e^t exp(s*u): t is the outer coefficient's job
        t_vals = [0.0]
    elif ch.outer.name in ("floor", "mod"):
        t_vals = [0.0, -0.5] if ch.inner.name == "mod" else [0.0]
    elif ch.outer.homogeneous:
        t_vals = [0.0, 1.0, -1.0, 10.0, -10.0]
    else:
        t_vals = [0.0, 1.0, -1.0]
    return np.array([r + [s, t] for r in rows for s in s_vals for t in t_vals])


def _phase_rows(ch: Chain, grid: np.ndarray, crossings: int) -> np.ndarray:
    """Rows for a periodic outer over any inner, `sin(s*u(a*x + b) + t)`, whose s makes the phase
    turn as often as the data cross their median: over the range the phase moves by s times the
    total variation of u (not its range: u = sqrt|x| runs up and down again), and each crossing is
    half a turn (of 2π for sin, of 1 for mod). This is how cos(2*sqrt|x|) gets its 2."""
    xg = np.linspace(-128.0, 128.0, 1024)
    rows = []
    for a, b in {(float(r[0]), float(r[1])) for r in grid}:
        with np.errstate(all="ignore"):
            u = ch.inner.fn(a * xg + b)
        tv = float(np.sum(np.abs(np.diff(u[np.isfinite(u)]))))
        if not math.isfinite(tv) or tv <= 0:
            continue
        turn = math.pi if ch.outer is not None and ch.outer.name == "sin" else 0.5
        s = turn * crossings / tv
        for t in ((0.0, math.pi / 2) if turn == math.pi else (0.0,)):
            rows += [[a, b, s, t], [a, b, -s, t]]
    return np.array(rows).reshape(-1, 4)


def screen(ch: Chain, x: np.ndarray, y: np.ndarray, feat: Features, keep: int = 2,
           mult: np.ndarray | None = None) -> list[tuple[float, np.ndarray]]:
    """(rss, params) of the best seeded rows of `c0 + c1*chain` (or `c0 + c1*mult*chain` for a
    fixed factor `mult`), all rows evaluated at once, the linear coefficients in closed form."""
    grid = _seed_grid(ch, feat)
    if len(grid) == 0:
        return []
    if ch.outer is not None and ch.outer.periodic and feat.crossings >= 4:
        grid = np.vstack([grid, _phase_rows(ch, grid, feat.crossings)])
    with np.errstate(all="ignore"):
        v = ch.eval(grid, x[None, :])
        if mult is not None:
            v = v * mult[None, :]
    ok = np.isfinite(v).all(axis=1)
    if not ok.any():
        return []
    v, grid = v[ok], grid[ok]
    with np.errstate(all="ignore"):
        vc = v - v.mean(axis=1, keepdims=True)
        yc = y - y.mean()
        var = np.sum(vc**2, axis=1)
        cov = vc @ yc
        rss = np.sum(yc**2) - np.where((var > 1e-18) & np.isfinite(var), cov**2 / var, 0.0)
    order = np.argsort(rss)[:keep]
    return [(float(rss[i]), grid[i]) for i in order]


# ----------------------------------------------------------------------------- the search

@dataclass
class Result:
    best: Model
    finalists: list[Model]  # the runners-up, each of another structure than the winner
    notes: list[str]
    x_val: np.ndarray  # the held-out inputs the winner was chosen on (including the splitting experiment)
    y_val: np.ndarray


class SymbolicSearch:
    """One search over expressions for data (x, y), with experiments asked through `ask`."""

    def __init__(self, ask: Ask, noise_var: float = 0.0, avoid: tuple[float, float] | None = None,
                 seed: int = 0, lo: float = -128.0, hi: float = 128.0):
        self.ask = ask
        self.noise_var = noise_var
        self.avoid = avoid
        self.rng = np.random.default_rng(seed)
        self.lo, self.hi = lo, hi
        self.notes: list[str] = []

    def _keep(self, x: np.ndarray) -> np.ndarray:
        if self.avoid is None:
            return np.ones_like(x, dtype=bool)
        a, b = self.avoid
        return (x < a) | (x > b)

    def run(self, extra: Sequence[Model] = ()) -> Result | None:
        """Features, search, polish, the splitting experiment, the choice; None when the function
        gives too few finite outputs to fit anything."""
        step = 0.1
        half = np.arange(step / 2, self.hi, step)
        grid = np.round(np.concatenate([-half[::-1], half]), 6)
        yg = self.ask(grid, "a uniform grid over [-128, 128] (step 0.1) to read features from")
        keep = self._keep(grid) & np.isfinite(yg)
        feat_x, feat_y = grid, yg
        if not keep.all():  # features need a clean uniform stretch: the longest one
            runs = np.split(np.arange(len(grid)), np.flatnonzero(np.diff(keep.astype(int)) != 0) + 1)
            stretch = max((r for r in runs if keep[r[0]]), key=len, default=np.arange(0))
            feat_x, feat_y = grid[stretch], yg[stretch]
        feat = features(feat_x, feat_y, step) if len(feat_x) > 300 else Features(scales=[1.0, 10.0, 100.0])
        self.notes += feat.notes
        x, y = grid[keep], yg[keep]
        xv = np.round(self.rng.uniform(self.lo, self.hi, 800), 5)
        xv = xv[self._keep(xv)]
        yv = self.ask(xv, "held-out random inputs to choose between expressions")
        ok = np.isfinite(yv)
        xv, yv = xv[ok], yv[ok]
        if len(x) < 50 or len(xv) < 20:
            return None
        models = self._search(x, y, feat)
        models += [m for m in extra]
        if not models:
            return None
        for m in models:
            m.val_mse = _mse(m, xv, yv)
        finalists = self._finalists(models, k=5)
        for m in finalists:  # polish on every point
            polished = refine(m, x, y, max_nfev=50)
            m.theta, m.coef, m.rss = polished.theta, polished.coef, polished.rss
            m.val_mse = _mse(m, xv, yv)
        finalists = self._finalists(models)
        xv, yv = self._split_experiment(finalists, xv, yv)
        for m in models:
            m.val_mse = _mse(m, xv, yv)
        power = float(np.mean(yv**2)) if len(yv) else 1.0
        best = min(models, key=lambda m: self._score(m, len(yv), power))
        best = simplify(best, x, y, self.noise_var)
        best.val_mse = _mse(best, xv, yv)
        rivals = [m for m in self._finalists(models, k=4) if m.terms is not best.terms][:3]
        return Result(best, rivals, self.notes, xv, yv)

    def _score(self, m: Model, n: int, power: float) -> float:
        """BIC on the held-out error: n*log(mse) + complexity*log(n). The floor keeps a perfect
        fit from winning by rounding error alone: below it, fits count as exact and the simpler wins."""
        floor = max(self.noise_var / 4, (1e-7**2) * power, 1e-300)
        if not math.isfinite(m.val_mse):
            return math.inf
        return n * math.log(m.val_mse + floor) + 2 * (m.k + m.complexity) * math.log(n)

    def _finalists(self, models: list[Model], k: int = 3) -> list[Model]:
        """The best `k` expressions of different structure on the held-out inputs so far."""
        ranked = sorted((m for m in models if math.isfinite(m.val_mse)), key=lambda m: m.val_mse)
        out: list[Model] = []
        seen: set[str] = set()
        for m in ranked:
            key = repr([[c.name for c in t] for t in m.terms])
            if key not in seen:
                seen.add(key)
                out.append(m)
            if len(out) == k:
                break
        return out

    def _split_experiment(self, finalists: list[Model], xv: np.ndarray,
                          yv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ask the inputs where the surviving expressions disagree most, and add them to the
        held-out set: the black box is cheap, and these are the points that decide."""
        if len(finalists) < 2:
            return xv, yv
        cand = np.round(self.rng.uniform(self.lo, self.hi, 4000), 5)
        cand = cand[self._keep(cand)]
        preds = np.array([m.predict(cand) for m in finalists])
        spread = np.nanstd(np.where(np.isfinite(preds), preds, np.nan), axis=0)
        spread = np.nan_to_num(spread, nan=0.0)
        pick = cand[np.argsort(spread)[::-1][:100]]
        ynew = self.ask(pick, f"inputs where the {len(finalists)} best expressions disagree most")
        ok = np.isfinite(ynew)
        return np.concatenate([xv, pick[ok]]), np.concatenate([yv, ynew[ok]])

    def _search(self, x: np.ndarray, y: np.ndarray, feat: Features) -> list[Model]:
        """Single chains, then sums (residual fitted by a chain) and products (ratio to a factor or
        to the envelope fitted by a chain). Screening uses 300 points, refinement 1500; the
        finalists are polished on all of them by the caller."""
        # subsamples drawn half uniformly, half where the function is active (far from its median
        # level, or changing fast): a narrow bump must not be lost among flat tails
        dev = np.abs(y - np.median(y))
        slope = np.abs(np.gradient(y))
        activity = dev / (dev.mean() + 1e-300) + slope / (slope.mean() + 1e-300)
        prob = 0.5 / len(x) + 0.5 * activity / activity.sum()
        prob = prob / prob.sum()
        idx = self.rng.choice(len(x), size=min(200, len(x)), replace=False, p=prob)
        xs, ys = x[idx], y[idx]
        ridx = self.rng.choice(len(x), size=min(600, len(x)), replace=False, p=prob)
        xr, yr = x[ridx], y[ridx]
        exact = 1e-18 * float(np.sum(yr**2)) + len(yr) * self.noise_var * 1.2

        def done(ms: list[Model]) -> bool:  # an exact (or noise-level) fit ends the search early
            return any(m.rss <= exact for m in ms)

        singles = self._singles(xr, yr, xs, ys, feat)
        models = list(singles)
        if done(models):
            return models
        base = singles[:2]
        # sums: fit the residual of a good single term with another chain, then refine jointly
        for m in base:
            r = ys - m.predict(xs)
            for ch, p in self._screen_all(xs, r, feat, top=3):
                models.append(refine(Model(m.terms + [[ch]], np.concatenate([m.theta, p])), xr, yr))
                if done(models[-1:]):
                    return models
        # products: the ratio to a factor (or to the oscillation's envelope) is fitted by another chain
        envelopes = list(base)
        if feat.envelope is not None:
            ex, ea = feat.envelope
            envelopes = self._singles(ex, ea, ex, ea, feat, top=6) + envelopes
        # x itself is the commonest multiplier, and a signed one that no envelope (>= 0) shows
        envelopes.insert(1, Model([[Chain(IDENTITY)]], np.array([1.0, 0.0]), np.array([0.0, 1.0])))
        for m in envelopes[:6]:
            ch0, p0 = m.terms[0][0], m.theta[: m.terms[0][0].n_params]
            d0 = m.coef[0] / (m.coef[1] if m.coef[1] != 0 else 1.0)
            with np.errstate(all="ignore"):
                f0 = ch0.eval(p0, xs) + d0
            ok = np.isfinite(f0) & (np.abs(f0) > 0.05 * (np.nanmax(np.abs(f0)) + 1e-300))
            if ok.sum() < 15:
                continue
            # the ratio has its own spectrum: once the envelope is divided out, its period is sharp
            # (x*sin(x) has a null in its spectrum at the carrier itself)
            with np.errstate(all="ignore"):
                fr = ch0.eval(p0, xr) + d0
                okr = np.isfinite(fr) & (np.abs(fr) > 0.05 * (np.nanmax(np.abs(fr)) + 1e-300))
            level = float(np.median(yr))
            qfeat = replace(feat, freqs=_periods(xr[okr], (yr[okr] - level) / fr[okr]) or feat.freqs)
            # the second factor is screened in the product itself, c0 + c1*F1*G: an offset of f
            # stays an offset, where a ratio would divide it by the envelope
            for ch, p in self._screen_all(xs[ok], ys[ok], qfeat, top=2, mult=f0[ok]):
                theta = np.concatenate([p0, [d0], p])
                models.append(refine(Model([[ch0, ch]], theta), xr, yr))
                if done(models[-1:]):
                    return models
        # a product plus one more term (a decaying wave on a line): the residual of the best
        # products is fitted by a chain, then all three pieces are refined together
        products = sorted((m for m in models if len(m.terms) == 1 and len(m.terms[0]) == 2 and math.isfinite(m.rss)),
                          key=lambda m: m.rss)
        for m in products[:2]:
            r = ys - m.predict(xs)
            for ch, p in self._screen_all(xs, r, feat, top=2):
                models.append(refine(Model(m.terms + [[ch]], np.concatenate([m.theta, p])), xr, yr))
                if done(models[-1:]):
                    return models
        return [m for m in models if math.isfinite(m.rss)]

    def _ranked(self, x: np.ndarray, y: np.ndarray, feat: Features, keep: int,
                mult: np.ndarray | None = None) -> list[tuple[float, Chain, np.ndarray]]:
        """Every chain screened on (x, y); ranked by residual with a small premium per primitive,
        so that among near-equal fits the shallower chain comes first."""
        found = []
        for ch in LIBRARY:
            for rss, p in screen(ch, x, y, feat, keep=keep, mult=mult):
                depth = 1 if ch.outer is None else 2
                found.append((rss * (1 + 0.1 * depth) + 1e-9 * depth * float(np.sum(y**2)), ch, p))
        found.sort(key=lambda r: r[0])
        return found

    def _screen_all(self, x: np.ndarray, y: np.ndarray, feat: Features, top: int,
                    mult: np.ndarray | None = None) -> list[tuple[Chain, np.ndarray]]:
        """The `top` best chains for (x, y), at least one of them a single primitive."""
        found = self._ranked(x, y, feat, keep=1, mult=mult)
        picked = found[:top]
        if all(ch.outer is not None for _, ch, _ in picked):
            picked = picked[: top - 1] + [next(r for r in found if r[1].outer is None)]
        return [(ch, p) for _, ch, p in picked]

    def _singles(self, x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray, feat: Features,
                 top: int = 6) -> list[Model]:
        """The best single chains, refined: half of them single primitives, half chains of two."""
        found = self._ranked(xs, ys, feat, keep=2)
        out = []
        for depth in (1, 2):
            seen: set[str] = set()
            for _, ch, p in found:
                if len(seen) >= (top + 1) // 2:
                    break
                if (1 if ch.outer is None else 2) != depth or ch.name in seen:
                    continue
                seen.add(ch.name)
                out.append(refine(Model([[ch]], p.copy()), x, y))
        out.sort(key=lambda m: m.rss)
        return out


def _mse(m: Model, x: np.ndarray, y: np.ndarray) -> float:
    pred = m.predict(x)
    if not np.isfinite(pred).all() or len(y) == 0:
        return math.inf
    return float(np.mean((pred - y) ** 2))


# ----------------------------------------------------------------------------- words

def _where(a: float, b: float) -> str:
    x0 = -b / a if a else 0.0
    return "0" if abs(x0) < 1e-3 else f"{x0:.3g}"


def _dist(at: str) -> str:
    """|x - at| written as a person would: |x| at 0, |x + 2| for a negative centre."""
    if at == "0":
        return "|x|"
    return f"|x + {at[1:]}|" if at.startswith("-") else f"|x - {at}|"


def _chain_words(ch: Chain, p: np.ndarray) -> str:
    a, b = float(p[0]), float(p[1])
    at = _where(a, b)
    inner = ch.inner.name
    length = f"{1 / abs(a):.3g}" if a else "∞"
    if ch.outer is None:
        return {
            "id": "x", "sin": f"a sine of period {2 * math.pi / abs(a):.4g}" if a else "a constant",
            "tanh": f"a tanh saturation centred at {at} (width {length})",
            "exp": f"an exponential {'growth' if a > 0 else 'decay'} in x (e-folding length {length})",
            "log": f"a logarithm of {_dist(at)}", "sqrt": f"a square root of {_dist(at)}",
            "cbrt": f"a cube root of x - {at}" if at != "0" else "a cube root of x",
            "abs": f"{_dist(at)} (a V shape)",
            "floor": f"a staircase with a step every {length}", "sign": f"a sign step at x = {at}",
            "mod": f"a sawtooth (x mod {length})", "relu": f"a hinge at x = {at}",
            "square": f"a parabola centred at {at}", "recip": f"a reciprocal with a pole at x = {at}",
        }.get(inner, inner)
    outer = ch.outer.name
    s = float(p[2])
    if outer == "exp" and inner == "abs":
        return (f"an exponential {'decay' if s < 0 else 'growth'} away from {at} (length {1 / abs(a * s):.3g})"
                if s else "a constant")
    if outer == "exp" and inner == "square":
        return (f"a Gaussian bump centred at {at} (width {1 / (abs(a) * math.sqrt(2 * abs(s))):.3g})"
                if s < 0 else f"a Gaussian growth away from {at}")
    if outer == "sin" and inner == "square":
        return f"a chirp: a sine whose frequency grows linearly with distance from {at}"
    if outer == "recip" and inner == "square":
        return f"a Lorentzian bump 1/(1 + ((x - {at})/w)²) centred at {at}"
    if outer == "log" and inner == "square":
        return f"a logarithm of 1 + ((x - {at})/w)²: even about {at}, growing like log|x|"
    if outer == "abs" and inner == "sin":
        return f"a rectified sine |sin| of period {math.pi / abs(a):.4g}"
    if outer == "relu" and inner == "sin":
        return f"a half-wave rectified sine (period {2 * math.pi / abs(a):.4g}, negative lobes cut to 0)"
    if outer == "mod" and inner == "floor":
        return "a function of the integer part of x that repeats (parity-like)"
    if outer == "square" and inner == "mod":
        return f"a periodic parabola (period {length})"
    if outer == "relu" and inner == "abs":
        t = float(p[3])
        if s > 0 and t >= 0:
            return f"{_dist(at)} (a V shape)"
        if s < 0:
            return f"a tent max({abs(t):.3g} - {_dist(at)}, 0) (equivalently {_dist(at)} capped at a level)"
        return f"a V shape {_dist(at)} with a flat bottom"
    if outer == "tanh" and inner == "abs":
        return f"a saturating rise with {_dist(at)}"
    if outer == "sin" and inner == "abs":
        return f"a sine of {_dist(at)} (mirrored about {at})"
    words = {"sin": "a sine", "tanh": "a tanh", "exp": "an exponential", "log": "a logarithm",
             "sqrt": "a square root", "cbrt": "a cube root", "abs": "the absolute value", "floor": "the integer part",
             "sign": "the sign", "mod": "the fractional part (a sawtooth)", "relu": "the positive part",
             "square": "the square", "recip": "the reciprocal"}.get(outer, outer)
    return f"{words} of {_chain_words(Chain(ch.inner), p[:2])}"


_ENVELOPE = {
    "exp∘abs": "decays exponentially away from {at}",
    "exp∘square": "follows a Gaussian envelope around {at}",
    "id": "grows linearly with {dist} (changing sign at {at})",
    "abs": "grows linearly with {dist}",
    "relu∘abs": "grows linearly with {dist}",
    "tanh∘abs": "grows with {dist} and saturates",
    "recip∘square": "falls off like 1/(1 + x²) away from {at}",
}


def _term_words(term: list[Chain], ps: list[np.ndarray]) -> str:
    if len(term) == 1:
        return _chain_words(term[0], ps[0])
    words = [_chain_words(ch, p) for ch, p in zip(term, ps)]
    periodic = [i for i, ch in enumerate(term) if ch.periodic]
    if len(periodic) == 1:
        carrier, env = periodic[0], 1 - periodic[0]
        ch, p = term[env], ps[env]
        at = _where(float(p[0]), float(p[1]))
        how = _ENVELOPE.get(ch.name, "follows {w}")
        if ch.name == "relu∘abs" and float(p[2]) < 0:  # -min(|x|, c): grows, then stays at a level
            how = "grows linearly with {dist} up to a cap, then stays constant"
        how = how.format(at=at, w=words[env], dist=_dist(at))
        return f"{words[carrier]} whose amplitude {how}"
    return f"the product of {words[0]} and {words[1]}"
