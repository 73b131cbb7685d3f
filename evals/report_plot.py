"""The report's plots as inline SVG geometry: a numeric function beside the agent's answer, and
a histogram of a unit's activations.

A report must open offline and build in seconds, so plots are drawn as SVG paths computed here
(no plotting library at report time, no images to copy). This module computes geometry only
(pixel coordinates, path strings, tick labels); the markup lives in prompts/report/macros.html.j2.

The numeric plot puts on one pair of axes what a person needs to see how far an answer is off:
the function as served on FIND's grid (noise included), the noise-free reference where the suite
knows it, the answer code's curve, the points the agent observed (from its transcript), the
interval the ground truth marks as behaving differently and the domain the agent answered. It is
for people reading a report, and shows ground truth: nothing here ever reaches an investigator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from tools.plots import nice_step

#: The plot's size in SVG pixels, and the margins the axis labels live in.
WIDTH, HEIGHT = 940, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 34
#: Observations drawn at most (a builtin probe records hundreds): evenly thinned beyond this.
MAX_OBSERVATIONS = 1500
#: `f(x) = y` pairs as call_function and plot_function print them (agent.tools_registry).
_PAIR = re.compile(r"f\((-?[0-9.eE+-]+|-?inf|nan)\)\s*=\s*(-?[0-9.eE+-]+|-?inf|nan|None)")


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def tick_label(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.2e}"


@dataclass
class Observation:
    x: float
    y: float | None  # None: the call gave no finite output


def observations(events: list[dict[str, Any]]) -> tuple[list[Observation], int]:
    """The (x, f(x)) pairs the agent saw, from its transcript: the builtin scientist's `experiment`
    events, and the `f(x) = y` lines of an LLM's call_function and plot_function results. Also how
    many more inputs the experiment events left unrecorded (they keep the first few of a batch)."""
    seen: list[Observation] = []
    unrecorded = 0
    for e in events:
        if e["type"] == "experiment":
            for x, y in zip(e["inputs"], e["outputs"]):
                fx = _finite(x)
                if fx is not None:
                    seen.append(Observation(fx, _finite(y)))
            unrecorded += max(e["more_inputs"], e["more_outputs"])
        elif e["type"] == "tool_result" and e["name"] in ("call_function", "plot_function") and not e["is_error"]:
            for xs, ys in _PAIR.findall(e["text"]):
                try:
                    x, y = float(xs), (None if ys == "None" else float(ys))
                except ValueError:
                    continue
                if math.isfinite(x):
                    seen.append(Observation(x, y if y is not None and math.isfinite(y) else None))
    return seen, unrecorded


@dataclass
class Band:
    """A shaded x interval: `x0`, `x1` in pixels, what it is, and the interval in data units."""

    kind: str
    x0: float
    x1: float
    label: str


@dataclass
class Series:
    kind: str
    label: str
    path: str = ""
    points: list[tuple[float, float]] = field(default_factory=list)
    count: int = 0


@dataclass
class NumericPlot:
    """The geometry of one numeric function's plot (see the module docstring)."""

    width: int
    height: int
    left: int
    top: int
    inner_w: int
    inner_h: int
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    bands: list[Band]
    series: list[Series]
    notes: list[str]
    x_range: tuple[float, float]
    y_range: tuple[float, float]


def _range(values: Sequence[float], pad: float = 0.06) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        span = abs(lo) * 0.1 or 1.0
        return lo - span, hi + span
    return lo - (hi - lo) * pad, hi + (hi - lo) * pad


def _robust(values: list[float]) -> list[float]:
    """Values without the few extreme ones (beyond 1%/99% by a wide margin) that would flatten the rest."""
    if len(values) < 20:
        return values
    ordered = sorted(values)
    lo, hi = ordered[len(ordered) // 100], ordered[-1 - len(ordered) // 100]
    span = (hi - lo) or 1.0
    return [v for v in values if lo - span <= v <= hi + span]


def numeric_plot(curves: dict[str, Any] | None, seen: list[Observation], unrecorded: int,
                 answer_domain: Any) -> NumericPlot | None:
    """The plot of a numeric function, or None when there is nothing to draw.

    `curves` is the scorer's record (evals.scoring: `x`, `served`, `answer`, `reference`,
    `truth_domain`); older rows have none, and then the agent's observations alone are drawn.
    The y range follows the function (reference, served outputs, observations), so an answer
    that runs off to infinity is cut at the frame rather than flattening the function to a line.
    """
    curves = curves if isinstance(curves, dict) else {}
    xs = [v for v in (curves.get("x") or []) if _finite(v) is not None]
    lines: list[tuple[str, str, list[float | None]]] = []
    for key, kind, label in (("served", "served", "served outputs (FIND's grid, noise included)"),
                             ("reference", "reference", "noise-free reference (ground truth)"),
                             ("answer", "answer", "the answer's code")):
        ys = curves.get(key)
        if isinstance(ys, list) and len(ys) == len(xs) and xs:
            lines.append((kind, label, [_finite(v) for v in ys]))
    domain = [_finite(v) for v in answer_domain] if isinstance(answer_domain, (list, tuple)) and \
        len(answer_domain) == 2 else [None, None]
    truth = curves.get("truth_domain")
    truth_d = [_finite(v) for v in truth] if isinstance(truth, list) and len(truth) == 2 else [None, None]
    if not xs and not seen:
        return None
    x_base = xs or _robust([o.x for o in seen])  # observations alone: their range, without far outliers
    x_lo, x_hi = min(x_base), max(x_base)
    for lo, hi in (domain, truth_d):
        if lo is not None and hi is not None:
            x_lo, x_hi = min(x_lo, lo), max(x_hi, hi)
    x_lo, x_hi = _range([x_lo, x_hi], 0.02)
    in_x = [o for o in seen if x_lo <= o.x <= x_hi]
    y_base = [y for kind, _, ys in lines if kind != "answer" for y in ys if y is not None]
    y_base += [o.y for o in in_x if o.y is not None]
    if not y_base:
        y_base = [y for _, _, ys in lines for y in ys if y is not None] or [0.0]
    y_lo, y_hi = _range(_robust(y_base))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return round(LEFT + (x - x_lo) / (x_hi - x_lo) * inner_w, 1)

    def py(y: float) -> float:
        return round(TOP + (y_hi - y) / (y_hi - y_lo) * inner_h, 1)

    notes = []
    bands = []
    if truth_d[0] is not None and truth_d[1] is not None:
        bands.append(Band("truth", px(truth_d[0]), px(truth_d[1]),
                          f"the interval that behaves differently (ground truth) [{truth_d[0]:.4g}, {truth_d[1]:.4g}]"))
    if domain[0] is not None and domain[1] is not None:
        bands.append(Band("domain", px(max(domain[0], x_lo)), px(min(domain[1], x_hi)),
                          f"the answer's domain [{domain[0]:.4g}, {domain[1]:.4g}]"))
    series = []
    for kind, label, ys in lines:
        if kind == "served":  # dots: noise and corruption show as scatter, not as a jagged line
            pts = [(px(x), py(y)) for x, y in zip(xs, ys) if y is not None and y_lo <= y <= y_hi]
            series.append(Series(kind, label, points=pts, count=len(pts)))
            continue
        parts, pen_down = [], False
        for x, y in zip(xs, ys):
            if y is None:
                pen_down = False
                continue
            clamped = min(max(y, y_lo - (y_hi - y_lo)), y_hi + (y_hi - y_lo))  # off-frame, cut by the clip path
            parts.append(f"{'L' if pen_down else 'M'}{px(x)} {py(clamped)}")
            pen_down = True
        series.append(Series(kind, label, path=" ".join(parts), count=sum(y is not None for y in ys)))
        off = sum(y is not None and not y_lo <= y <= y_hi for y in ys)
        if kind == "answer" and off:
            notes.append(f"the answer's code leaves the plotted y range at {off} of {len(xs)} grid points")
        missing = sum(y is None for y in ys)
        if kind == "answer" and missing:
            notes.append(f"the answer's code gave no finite output at {missing} of {len(xs)} grid points")
    shown = in_x
    if len(shown) > MAX_OBSERVATIONS:
        step = len(shown) / MAX_OBSERVATIONS
        shown = [shown[int(i * step)] for i in range(MAX_OBSERVATIONS)]
        notes.append(f"{len(in_x)} observations; {MAX_OBSERVATIONS} drawn, evenly thinned")
    obs = Series("observed", f"the agent's observations ({len(seen)} recorded)",
                 points=[(px(o.x), py(min(max(o.y, y_lo), y_hi))) for o in shown if o.y is not None],
                 count=len(seen))
    if seen:
        series.append(obs)
    outside = len(seen) - len(in_x)
    if outside:
        notes.append(f"{outside} observations lie outside the plotted x range")
    none_out = sum(o.y is None for o in seen)
    if none_out:
        notes.append(f"{none_out} observed calls gave no finite output")
    if unrecorded:
        notes.append(f"the transcript records the first inputs of each batch only: {unrecorded} more calls "
                     "were made than are drawn")
    if not lines:
        notes.append("no curves were recorded for this function (a row scored before the report drew them); "
                     "only the agent's observations are drawn")
    return NumericPlot(WIDTH, HEIGHT, LEFT, TOP, inner_w, inner_h,
                       [(px(t), tick_label(t)) for t in ticks(x_lo, x_hi)],
                       [(py(t), tick_label(t)) for t in ticks(y_lo, y_hi, 5)],
                       bands, series, notes, (x_lo, x_hi), (y_lo, y_hi))


# ----------------------------------------------------------------------------- histogram

@dataclass
class Bar:
    x: float
    w: float
    h: float
    y: float
    lo: float
    hi: float
    counts: dict[str, int]


@dataclass
class Histogram:
    """Bars of a unit's activations, stacked by exemplar group (top windows, random windows)."""

    width: int
    height: int
    left: int
    top: int
    inner_w: int
    inner_h: int
    bars: list[Bar]
    groups: list[tuple[str, int]]  # (group, tokens), in stacking order
    x_ticks: list[tuple[float, str]]
    y_max: int
    stacks: list[list[tuple[str, float, float]]]  # per bar: (group, y, h) in pixels


def histogram(values: dict[str, list[float]], bins: int = 30) -> Histogram | None:
    """A histogram of activations per group (`{"random": [...], "top": [...]}`), on shared bins."""
    everything = [v for vs in values.values() for v in vs]
    if not everything:
        return None
    lo, hi = min(everything), max(everything)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    width, height, left, top = 760, 200, 48, 10
    inner_w, inner_h = width - left - 16, height - top - 30
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    counts = [{g: 0 for g in values} for _ in range(bins)]
    for g, vs in values.items():
        for v in vs:
            counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))][g] += 1
    y_max = max(sum(c.values()) for c in counts) or 1
    bw = inner_w / bins
    bars, stacks = [], []
    for i, c in enumerate(counts):
        total = sum(c.values())
        h = inner_h * total / y_max
        bars.append(Bar(round(left + i * bw, 1), round(bw - 1, 1), round(h, 1), round(top + inner_h - h, 1),
                        edges[i], edges[i + 1], c))
        base = float(top + inner_h)
        stack: list[tuple[str, float, float]] = []
        for g in values:
            gh = inner_h * c[g] / y_max
            base -= gh
            stack.append((g, round(base, 1), round(gh, 1)))
        stacks.append(stack)
    return Histogram(width, height, left, top, inner_w, inner_h, bars,
                     [(g, len(vs)) for g, vs in values.items()],
                     [(round(left + (t - lo) / (hi - lo) * inner_w, 1), tick_label(t)) for t in ticks(lo, hi)],
                     y_max, stacks)
