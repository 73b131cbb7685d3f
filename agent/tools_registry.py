"""The investigator's tools, defined once as plain Python functions.

Each tool's signature and docstring generate everything else: the OpenAI and Anthropic tool
schemas, the tool documentation rendered into text-protocol prompts, and argument validation.
One source means the model is never told about an argument the code does not accept.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import math
import random
import re
import typing
import unicodedata
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Iterable

from pydantic import BeforeValidator, TypeAdapter, ValidationError

from agent.ledger import HypothesisUpdate, Ledger
from agent.messages import ToolCall
from agent.task import Answer, Task, output_as_float
from prompts import render
from tools.plots import nice_step


@dataclass
class ToolOutput:
    """An observation: text for every backend, images for those that accept them."""

    text: str
    images: list[bytes] = field(default_factory=list)
    is_error: bool = False
    #: Machine-readable result for policies that do not read prose (the builtin scientist):
    #: call_function and plot_function give {"inputs": [...], "outputs": [...]}.
    data: Any = None
    #: Set only by `submit` when the answer passed validation: it ends the investigation.
    answer: Answer | None = None


class ToolInputError(ValueError):
    """The investigator asked for something the tool cannot do; reported back, never raised out."""


@dataclass
class ToolContext:
    """Per-investigation state the tools act on. The black box is reached only through `evaluate`."""

    task: Task
    ledger: Ledger = field(default_factory=Ledger)
    round_no: int = 0
    max_batch: int = 1000
    #: Builds the sandbox for `run_python` from its proxies; None makes `run_python` unavailable.
    sandbox_factory: Callable[[dict[str, Callable[[list], list]]], Any] | None = None
    #: The last answer passed to `submit`, valid or not: the fallback when none is accepted.
    attempted: Answer | None = None
    #: Every input f answered in this investigation and its output: `submit` checks accepted code
    #: on these, so that the check costs no black-box calls.
    observed: dict[Any, Any] = field(default_factory=dict)
    #: How many `check_code` runs so far: each draws a new set of inputs.
    checks: int = 0
    _sandbox: Any = None
    _stack: ExitStack = field(default_factory=ExitStack)

    def query(self, inputs: list) -> list:
        """The black box's outputs for `inputs` (the proxy handed to the sandbox as `f`)."""
        return self.evaluate(inputs)[1]

    def evaluate(self, inputs: list) -> tuple[list, list]:
        """Validate a batch (type, FIND's input range, batch size); return (inputs as sent, outputs)."""
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if not inputs:
            raise ToolInputError("inputs is empty: give at least one input")
        if len(inputs) > self.max_batch:
            raise ToolInputError(f"{len(inputs)} inputs in one call; the limit is {self.max_batch}")
        xs = [_coerce_input(x, self.task.kind) for x in inputs]
        if self.task.kind == "numeric" and self.task.input_range is not None:
            low, high = self.task.input_range
            bad = [x for x in xs if not low <= x <= high]
            if bad:
                raise ToolInputError(f"inputs outside the allowed range [{low:g}, {high:g}]: {bad[:10]}")
        ys = list(self.task.black_box(xs))
        for x, y in zip(xs, ys):
            if len(self.observed) < 5000:
                self.observed.setdefault(x, y)
        return xs, ys

    def sandbox(self) -> Any:
        if self.sandbox_factory is None:
            raise ToolInputError("run_python is not available in this session")
        if self._sandbox is None:
            self._sandbox = self._stack.enter_context(self.sandbox_factory({"f": self.query}))
        return self._sandbox

    def close(self) -> None:
        self._stack.close()


def _coerce_input(x: Any, kind: str) -> Any:
    if kind == "numeric":
        if isinstance(x, bool):
            raise ToolInputError(f"numeric functions take numbers, got {x!r}")
        try:
            value = float(x)
        except (TypeError, ValueError):
            raise ToolInputError(f"numeric functions take numbers, got {x!r}") from None
        if not math.isfinite(value):
            raise ToolInputError(f"inputs must be finite, got {x!r}")
        return value
    if not isinstance(x, (str, int, float)):
        raise ToolInputError(f"{kind} functions take strings, got {x!r}")
    return str(x)


def _text_input(value: Any) -> Any:
    """A number given to a string task (`PYTHON(./temp/function.py 12)`) is the string of its digits;
    the schema still says string, so that a model is not invited to send numbers to a string task."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


#: A string input: what the schema of string tasks' `call_function` declares.
TextInput = Annotated[str, BeforeValidator(_text_input)]


def format_value(v: Any) -> str:
    """A value as observations show it: floats to 6 significant digits; strings as Python literals
    with combining marks escaped too (repr leaves them in, so 'e\\u0301' would look like 'é')."""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, str):
        return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c).startswith("M") else c for c in repr(v))
    return repr(v)


@dataclass
class Param:
    name: str
    annotation: Any
    description: str
    required: bool
    default: Any = None


@dataclass
class Tool:
    """A function `(ctx, **arguments) -> ToolOutput` plus what the models are told about it."""

    name: str
    func: Callable[..., ToolOutput]
    description: str
    params: list[Param]
    #: Where the tool is offered: task kinds (`numeric`, `strings`, ...) or jobs (`label`,
    #: `chat`); None means everywhere.
    scopes: frozenset[str] | None = None
    #: What the subject must be able to do for the tool to work (`causal`); empty: anything.
    requires: frozenset[str] = frozenset()

    def parameters_schema(self) -> dict:
        props = {}
        for p in self.params:
            schema = _inline_refs(TypeAdapter(p.annotation).json_schema())
            schema["description"] = p.description
            props[p.name] = schema
        return {"type": "object", "properties": props, "required": [p.name for p in self.params if p.required]}

    def signature(self) -> str:
        parts = []
        for p in self.params:
            text = f"{p.name}: {_type_name(p.annotation)}"
            parts.append(text if p.required else f"{text} = {p.default!r}")
        return f"{self.name}({', '.join(parts)})"

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(arguments, dict):
            raise ToolInputError(f"arguments must be a JSON object, got {type(arguments).__name__}")
        known = {p.name for p in self.params}
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise ToolInputError(f"unknown argument(s) {unknown}; {self.name} takes {sorted(known)}")
        out = {}
        for p in self.params:
            if p.name not in arguments:
                if p.required:
                    raise ToolInputError(f"missing required argument '{p.name}'")
                continue
            try:
                out[p.name] = TypeAdapter(p.annotation).validate_python(arguments[p.name])
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                raise ToolInputError(f"argument '{p.name}'{'.' + where if where else ''}: {first['msg']}") from None
        return out


def _strip_annotated(annotation: Any) -> Any:
    """`list[Annotated[str, ...]]` as `list[str]`: validators are no business of the prompt."""
    if typing.get_origin(annotation) is Annotated:
        return _strip_annotated(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is list:
        return list[_strip_annotated(typing.get_args(annotation)[0])]  # type: ignore[misc]
    return annotation


def _type_name(annotation: Any) -> str:
    annotation = _strip_annotated(annotation)
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    return re.sub(r"\b(typing|agent\.ledger)\.", "", text)


def _inline_refs(schema: dict) -> dict:
    """Inline pydantic's `$defs` and drop titles: some providers reject `$ref`, titles are noise."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].split("/")[-1]])
            return {k: walk(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and its `Args:` entries."""
    head, _, args = inspect.cleandoc(doc).partition("\nArgs:\n")
    params: dict[str, str] = {}
    current = None
    for line in args.splitlines():
        m = re.match(r" {4}(\w+): (.*)", line)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
        elif current and line.strip():
            params[current] += " " + line.strip()
    description = "\n".join(" ".join(p.split()) for p in head.strip().split("\n\n"))
    return description, params


def tool(scopes: Iterable[str] | None = None, name: str | None = None,
         requires: Iterable[str] = ()) -> Callable[[Callable[..., ToolOutput]], Tool]:
    """Turn `def name(ctx, arg: T = default, ...) -> ToolOutput` with an `Args:` docstring into a Tool.

    `name` overrides the function's name: two variants of one tool for different `scopes` (e.g.
    call_function with numbers for numeric tasks, strings for string tasks) share it, so that each
    task kind sees a schema that accepts only what its functions take. `requires` names what the
    subject must be able to do (`causal`), so registries built for a subject leave the tool out.
    """

    def wrap(func: Callable[..., ToolOutput]) -> Tool:
        description, arg_docs = _parse_docstring(func.__doc__ or "")
        hints = typing.get_type_hints(func, include_extras=True)
        params = []
        for arg, p in list(inspect.signature(func).parameters.items())[1:]:
            if arg not in arg_docs:
                raise TypeError(f"tool {func.__name__}: argument '{arg}' is not documented under Args:")
            required = p.default is inspect.Parameter.empty
            params.append(Param(arg, hints[arg], arg_docs[arg], required, None if required else p.default))
        return Tool(name or func.__name__, func, description, params, frozenset(scopes) if scopes else None,
                    frozenset(requires))

    return wrap


class ToolRegistry:
    """An ordered set of tools; the order is kept stable so the prompt prefix is too."""

    def __init__(self, tools: Iterable[Tool]):
        #: Every tool, variants of one name included; `tools` shows the first variant of each name.
        self.variants = list(tools)
        self.tools: dict[str, Tool] = {}
        for t in self.variants:
            self.tools.setdefault(t.name, t)

    def __iter__(self):
        return iter(self.tools.values())

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def names(self) -> list[str]:
        return list(self.tools)

    def for_scope(self, scope: str) -> "ToolRegistry":
        """The tools offered in `scope` (a task kind, or `label` / `chat`)."""
        return ToolRegistry(t for t in self.variants if t.scopes is None or scope in t.scopes)

    def for_capabilities(self, capabilities: frozenset[str]) -> "ToolRegistry":
        """The tools whose requirements `capabilities` meet: a tool that cannot work on this subject
        is not offered at all, rather than offered and then failing."""
        return ToolRegistry(t for t in self.variants if t.requires <= capabilities)

    def without(self, *names: str) -> "ToolRegistry":
        return ToolRegistry(t for t in self.variants if t.name not in names)

    def _resolve(self, name: str, ctx: Any) -> Tool | None:
        """The variant of `name` for the context's task kind (a registry not yet narrowed by for_scope)."""
        scope = getattr(getattr(ctx, "task", None), "kind", None)
        for t in self.variants:
            if t.name == name and (t.scopes is None or scope in t.scopes):
                return t
        return self.tools.get(name)

    def openai_schemas(self) -> list[dict]:
        return [
            {"type": "function",
             "function": {"name": t.name, "description": t.description, "parameters": t.parameters_schema()}}
            for t in self
        ]

    def anthropic_schemas(self) -> list[dict]:
        return [{"name": t.name, "description": t.description, "input_schema": t.parameters_schema()} for t in self]

    def docs(self) -> list[dict]:
        """What the prompt templates need to document the tools in prose."""
        return [
            {
                "name": t.name,
                "signature": t.signature(),
                "description": t.description,
                "params": [{"name": p.name, "type": _type_name(p.annotation), "description": p.description}
                           for p in t.params],
            }
            for t in self
        ]

    def execute(self, ctx: ToolContext, call: ToolCall) -> ToolOutput:
        """Run one call; every failure becomes an error observation the model can act on."""
        if call.error:
            return ToolOutput(f"Could not read the call to {call.name}: {call.error}", is_error=True)
        t = self._resolve(call.name, ctx)
        if t is None:
            return ToolOutput(render("unknown_tool", tool=call.name, available=list(self.tools)), is_error=True)
        try:
            return t.func(ctx, **t.validate(call.arguments))
        except ToolInputError as e:
            return ToolOutput(f"{call.name}: {e}", is_error=True)
        except Exception as e:  # noqa: BLE001 - a tool bug must not end the investigation
            return ToolOutput(f"{call.name} failed: {type(e).__name__}: {e}", is_error=True)


# ---------------------------------------------------------------------------------------------
# The tools


def _call_function(ctx: ToolContext, inputs: list) -> ToolOutput:
    box = ctx.task.black_box
    seen = len(getattr(box, "errors", ()))
    xs, outputs = ctx.evaluate(inputs)
    text = "\n".join(f"f({format_value(x)}) = {format_value(y)}" for x, y in zip(xs, outputs))
    # why outputs are None when the serving says so (an input the transport cannot carry, a timeout),
    # so that the investigator can tell it from f itself answering None
    incidents = list(getattr(box, "errors", ()))[seen:]
    if incidents:
        text += "\n" + "\n".join(f"[note: {line}]" for line in incidents)
    return ToolOutput(text, data={"inputs": xs, "outputs": outputs})


@tool(scopes=["numeric"], name="call_function")
def call_function_numbers(ctx: ToolContext, inputs: list[float]) -> ToolOutput:
    """Evaluate the black-box function f on a batch of numbers and return one output per input.

    Args:
        inputs: The inputs, in order (numbers in the allowed range). Batch many inputs in one call.
    """
    return _call_function(ctx, inputs)


@tool(scopes=["strings", "entities", "relations"], name="call_function")
def call_function_strings(ctx: ToolContext, inputs: list[TextInput]) -> ToolOutput:
    """Evaluate the black-box function f on a batch of strings and return one output per input.

    Args:
        inputs: The input strings, in order. Batch many inputs in one call.
    """
    return _call_function(ctx, inputs)


#: Modules model code may want, beyond the standard library; the run_python doc lists those installed.
_OPTIONAL_MODULES = ("numpy", "scipy", "sympy", "PIL", "matplotlib", "sklearn", "pandas")


def _importable() -> str:
    return ", ".join(m for m in _OPTIONAL_MODULES if importlib.util.find_spec(m) is not None)


def _run_python(ctx: ToolContext, code: str) -> ToolOutput:
    result = ctx.sandbox().run(code)
    text = result.observation()
    if result.namespace_reset:
        text = "[the sandbox was restarted: variables from earlier runs are gone]\n" + text
    return ToolOutput(text, images=list(result.images), is_error=result.error is not None)


@tool(scopes=["numeric"], name="run_python")
def run_python_numbers(ctx: ToolContext, code: str) -> ToolOutput:
    """Run Python code in a sandbox (variables persist between runs); print() what you want to see.
    Inside: f(x) calls the black box on one input; f([x1, x2, ...]) on a batch (a list back); f(numpy_array) gives a
    numpy array (batched: far faster than a loop of single calls). fit(model, xs, ys, p0=None) fits
    `model(x, *params)` by least squares (scipy.optimize.curve_fit) and returns (params, rmse).
    plot(xs, ys, title="") shows a line plot; show(image) shows a PIL image, array or matplotlib figure.
    The standard library (math, statistics, itertools, ...) and these packages are importable: {importable}.

    Args:
        code: A complete Python program.
    """
    return _run_python(ctx, code)


@tool(scopes=["strings", "entities", "relations"], name="run_python")
def run_python_strings(ctx: ToolContext, code: str) -> ToolOutput:
    """Run Python code in a sandbox (variables persist between runs); print() what you want to see.
    Inside: f(s) calls the black box on one string; f([s1, s2, ...]) on a batch (a list back; far faster than a loop
    of single calls). The standard library (re, string, unicodedata, collections, itertools, ...) and these
    packages are importable: {importable}.

    Args:
        code: A complete Python program.
    """
    return _run_python(ctx, code)


for _variant in (run_python_numbers, run_python_strings):
    _variant.description = _variant.description.replace("{importable}", _importable())


@tool(scopes=["numeric"])
def plot_function(ctx: ToolContext, low: float, high: float, points: int = 101) -> ToolOutput:
    """Evaluate f at evenly spaced inputs in [low, high] and return a line plot with axis ticks and gridlines, plus a
    text summary with f at round inputs.

    Args:
        low: Left end of the interval.
        high: Right end of the interval.
        points: Number of evenly spaced inputs (2 to 1000); each costs one black-box call, as do the up to 15
            round inputs of the summary that are not among them.
    """
    if not low < high:
        raise ToolInputError(f"low ({low}) must be smaller than high ({high})")
    if not 2 <= points <= 1000:
        raise ToolInputError(f"points must be between 2 and 1000, got {points}")
    xs = [low + (high - low) * i / (points - 1) for i in range(points)]
    xs, ys = ctx.evaluate(xs)
    finite = [(x, float(y)) for x, y in zip(xs, ys) if isinstance(y, (int, float)) and math.isfinite(y)]
    # the samples are f at round inputs (0, ±1, ±2, ±5, ±10, ...), evaluated on their own: a model
    # reads f(10) = 21 more easily than f(9.8000001) = 20.6
    on_grid = dict(zip(xs, ys))
    round_xs = [x for x in round_inputs(low, high) if x not in on_grid]
    round_ys = ctx.evaluate(round_xs)[1] if round_xs else []
    on_grid.update(zip(round_xs, round_ys))
    samples = sorted(x for x in on_grid if x in set(round_inputs(low, high)))
    sample = ", ".join(f"f({format_value(x)})={format_value(on_grid[x])}" for x in samples)
    summary = f"Plot of f on [{low:g}, {high:g}] at {points} points; "
    if finite:
        lo_y, hi_y = min(y for _, y in finite), max(y for _, y in finite)
        summary += f"outputs range from {lo_y:.6g} to {hi_y:.6g}"
    else:
        summary += "no finite outputs"
    if len(finite) < points:
        summary += f"; {points - len(finite)} input(s) gave no finite output"
    return ToolOutput(f"{summary}.\nSamples: {sample}", images=[_line_plot(finite, low, high)] if finite else [],
                      data={"inputs": xs + round_xs, "outputs": ys + round_ys})


def round_inputs(low: float, high: float, most: int = 15) -> list[float]:
    """Round inputs in [low, high], sorted: when the interval holds 0, 0 and the seven largest of
    ±1, ±2, ±5, ±10, ±20, ... (and their small counterparts 0.5, 0.2, ... for a narrow interval);
    else up to `most` multiples of a 1-2-5 step."""
    if low <= 0 <= high:
        magnitudes, scale = [], 1e-6
        while scale <= max(abs(low), abs(high)):
            magnitudes += [round(m * scale, 10) for m in (1, 2, 5) if m * scale <= max(abs(low), abs(high))]
            scale *= 10
        out = {0.0}
        for v in sorted(magnitudes, reverse=True)[:7]:
            out.update(x for x in (v, -v) if low <= x <= high)
        return sorted(out)
    step = nice_step(high - low, most - 1)
    first = math.ceil(low / step)
    xs = [round(k * step, 10) for k in range(first, math.floor(high / step) + 1)]
    return [x for x in xs if low <= x <= high][:most]


def _line_plot(points: list[tuple[float, float]], low: float, high: float) -> bytes:
    """A PNG line plot with ticks and gridlines, drawn with pillow (no plotting library is a dependency)."""
    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 480, 320, 56, 16, 16, 36
    y_lo, y_hi = min(y for _, y in points), max(y for _, y in points)
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    pad = 0.04 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)

    def px(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - low) / (high - low) * (width - left - right),
            height - bottom - (y - y_lo) / (y_hi - y_lo) * (height - top - bottom),
        )

    for x in _ticks(low, high):
        gx, _ = px(x, y_lo)
        draw.line([(gx, top), (gx, height - bottom)], fill=(225, 225, 225))
        draw.line([(gx, height - bottom), (gx, height - bottom + 4)], fill="black")
        draw.text((gx - 3 * len(f"{x:g}"), height - bottom + 6), f"{x:g}", fill="black")
    for y in _ticks(y_lo, y_hi):
        _, gy = px(low, y)
        draw.line([(left, gy), (width - right, gy)], fill=(225, 225, 225))
        draw.line([(left - 4, gy), (left, gy)], fill="black")
        label = f"{y:.4g}"
        draw.text((left - 6 - 6 * len(label), gy - 5), label, fill="black")
    if y_lo < 0 < y_hi:
        draw.line([px(low, 0), px(high, 0)], fill="gray")
    if low < 0 < high:
        draw.line([px(0, y_lo), px(0, y_hi)], fill="gray")
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    draw.line([px(x, y) for x, y in points], fill="blue", width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions inside [low, high] (multiples of a 1-2-5 step)."""
    step = nice_step(high - low, target)
    return [round(k * step, 10) for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


@tool()
def record_hypotheses(ctx: ToolContext, hypotheses: list[HypothesisUpdate]) -> ToolOutput:
    """Add or update hypotheses in your ledger (id, statement, status open/supported/refuted, and the evidence that
    moved it). Returns the whole ledger.

    Args:
        hypotheses: The new or changed hypotheses, each an object {id, statement, status, evidence}.
    """
    problems = ctx.ledger.apply(hypotheses, ctx.round_no)
    text = ctx.ledger.render()
    if problems:
        return ToolOutput("Some updates were rejected: " + "; ".join(problems) + "\nLedger:\n" + text, is_error=True)
    return ToolOutput("Ledger:\n" + text)


# ---------------------------------------------------------------------------- checking answer code

#: Runs candidate code on inputs in the sandbox, in a namespace of its own (no `f`, like the
#: scorer's child), and prints one marked JSON line; the cell leaves no names behind.
_CHECK_CELL = r"""
def __aia_check(code, inputs):
    import json, math
    ns = {"__name__": "__answer__"}
    try:
        exec(compile(code, "<answer>", "exec"), ns)
        fn = ns.get("function")
        if not callable(fn):
            raise NameError("the code does not define `function(x)`")
    except BaseException as e:
        return {"error": f"{type(e).__name__}: {e}"}
    outs, errs = [], []
    for x in inputs:
        try:
            y = fn(x)
            if hasattr(y, "item") and getattr(y, "ndim", 1) == 0:
                y = y.item()
            if not (y is None or isinstance(y, (bool, int, float, str))):
                y = repr(y)
            outs.append(None if isinstance(y, float) and not math.isfinite(y) else y)
            errs.append(None)
        except BaseException as e:
            outs.append(None)
            errs.append(f"{type(e).__name__}: {e}")
    return {"outputs": outs, "errors": errs}
print("@@AIA_CHECK@@ " + __import__("json").dumps(__aia_check(__CODE__, __INPUTS__)))
del __aia_check
"""

_CHECK_MARK = "@@AIA_CHECK@@ "

#: Material for fresh string inputs: words, cases, digits, punctuation, whitespace classes and
#: letters whose case mapping changes length (ß, ŉ) or has no simple inverse.
_CHECK_WORDS = ("apple", "river", "Zebra", "quiet", "jumping", "rhythm", "banana", "committee", "sky", "a", "I",
                "queue", "jazz", "kayak", "level", "mississippi", "hello", "World", "straße", "café", "naïve",
                "ΣΊΣΥΦΟΣ", "İstanbul", "ﬁsh", "x1y2", "2024", "3.14", "-7")
_CHECK_PUNCT = ".,;:!?-_'\"()[]@#&*/%+= "


def _fresh_string(rng: random.Random) -> str:
    words = [rng.choice(_CHECK_WORDS) for _ in range(rng.choice((1, 1, 2, 3, 6)))]
    text = rng.choice((" ", "  ", "\u00a0", "-", "")).join(words) if len(words) > 1 else words[0]
    how = rng.random()
    if how < 0.15:
        text = text.upper()
    elif how < 0.3:
        text = text.title()
    elif how < 0.4:
        text = "".join(c.upper() if rng.random() < 0.5 else c for c in text)
    if rng.random() < 0.3:
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(_CHECK_PUNCT) + text[i:]
    if rng.random() < 0.1:
        text = rng.choice((" ", "  ")) + text + rng.choice(("", " "))
    if rng.random() < 0.05:
        text = " ".join(rng.choice(_CHECK_WORDS) for _ in range(20))
    return text


def check_inputs(task: Task, n: int, round_no: int) -> list:
    """Fresh inputs for `check_code`: drawn from the task's input range (or made-up strings) with a
    seed from the task id and the check's number, never the scoring seed (investigators are not
    given it), so they are not the held-out scoring points."""
    rng = random.Random(f"aia-check:{task.id}:{round_no}")
    if task.kind == "numeric":
        low, high = task.input_range or (-128.0, 128.0)
        return [round(rng.uniform(low, high), 4) for _ in range(n)]
    out: dict[str, None] = {}
    while len(out) < n:
        out[_fresh_string(rng)] = None
    return list(out)


def run_candidate(ctx: ToolContext, code: str, inputs: list) -> tuple[list, list, str | None]:
    """Run answer code on `inputs` inside the investigation's sandbox: (outputs, per-input errors, error)."""
    cell = _CHECK_CELL.replace("__CODE__", repr(code), 1).replace("__INPUTS__", repr(inputs), 1)
    result = ctx.sandbox().run(cell)
    lines = [line for line in result.stdout.splitlines() if line.startswith(_CHECK_MARK)]
    if not lines:
        return [], [], result.error or "the check produced no result"
    reply = json.loads(lines[-1][len(_CHECK_MARK):])
    if "error" in reply:
        return [], [], reply["error"]
    return reply["outputs"], reply["errors"], None


def compare(kind: str, inputs: list, expected: list, predicted: list, errors: list, worst: int = 8) -> str:
    """The error figure and the worst mismatches of candidate outputs against f's.

    Numeric: NMSE = sum((f - code)^2) / sum(f^2) over inputs where f is finite, as the scorer
    computes it; strings: the exact-match rate.
    """
    rows = []
    if kind == "numeric":
        pairs = [(x, output_as_float(e), output_as_float(p), err)
                 for x, e, p, err in zip(inputs, expected, predicted, errors) if math.isfinite(output_as_float(e))]
        if not pairs:
            return "f gave no finite outputs on these inputs"
        bad = sum(1 for _, _, p, _ in pairs if not math.isfinite(p))
        err = sum((e - p) ** 2 for _, e, p, _ in pairs if math.isfinite(p))
        norm = sum(e * e for _, e, _, _ in pairs)
        figure = math.inf if bad else (err / norm if norm else (0.0 if err == 0 else math.inf))
        head = f"NMSE {figure:.4g} on {len(pairs)} inputs (solved means NMSE < 0.1)"
        if bad:
            head += f"; the code gave no finite number on {bad}"
        ranked = sorted(pairs, key=lambda t: -(abs(t[1] - t[2]) if math.isfinite(t[2]) else math.inf))
        for x, e, p, e_msg in ranked[:worst]:
            if math.isfinite(p) and abs(e - p) <= 1e-9 * max(1.0, abs(e)):
                break
            rows.append(f"x={format_value(x)}: f={format_value(e)}, code={e_msg or format_value(p)}")
    else:
        matches = sum(1 for e, p in zip(expected, predicted) if e == p)
        head = f"exact match on {matches} of {len(inputs)} inputs ({matches / max(1, len(inputs)):.1%})"
        for x, e, p, e_msg in zip(inputs, expected, predicted, errors):
            if e != p and len(rows) < worst:
                rows.append(f"x={x!r}: f={e!r}, code={e_msg or repr(p)}")
    return head + ("\nWorst mismatches:\n" + "\n".join(rows) if rows else "\nNo mismatches.")


@tool(scopes=["numeric", "strings"])
def check_code(ctx: ToolContext, code: str, points: int = 200) -> ToolOutput:
    """Run candidate answer code against f on fresh inputs (new ones at every check, never the held-out scoring
    points) and report an error figure (NMSE for numbers, as scored; exact-match rate for strings) and the worst
    mismatches. Each input costs one black-box call; numeric inputs two (f is evaluated twice, to tell noise from
    error: a noisy f is compared by the mean of the two).

    Args:
        code: Python code defining `def function(x):`, as you would submit it.
        points: Number of fresh inputs (10 to 1000).
    """
    if not 10 <= points <= 1000:
        raise ToolInputError(f"points must be between 10 and 1000, got {points}")
    ctx.checks += 1
    inputs = check_inputs(ctx.task, points, ctx.checks)
    inputs, expected = ctx.evaluate(inputs)
    note = ""
    if ctx.task.kind == "numeric":
        expected, floor = _mean_of_repeats(expected, ctx.evaluate(inputs)[1])
        if floor is not None:
            note = "\n" + render("check_noise", floor=floor)
    predicted, errors, error = run_candidate(ctx, code, inputs)
    if error:
        return ToolOutput(f"check_code: the code failed: {error}", is_error=True)
    return ToolOutput(compare(ctx.task.kind, inputs, expected, predicted, errors) + note)


def _mean_of_repeats(first: list, second: list) -> tuple[list, float | None]:
    """f's outputs on the same inputs twice: (their mean, and the NMSE the noise-free f would score
    against that mean), or (the first, None) when they agree. Two noisy draws differ by twice the
    noise variance; their mean carries half of it, hence the floor `sum((a - b)^2) / 4 / sum(mean^2)`."""
    a = [output_as_float(y) for y in first]
    b = [output_as_float(y) for y in second]
    finite = [(x, y) for x, y in zip(a, b) if math.isfinite(x) and math.isfinite(y)]
    diff = sum((x - y) ** 2 for x, y in finite)
    if not finite or diff <= 1e-12 * max(1.0, sum(x * x for x, _ in finite)):
        return first, None
    mean = [(x + y) / 2 if math.isfinite(x) and math.isfinite(y) else e for x, y, e in zip(a, b, first)]
    norm = sum(((x + y) / 2) ** 2 for x, y in finite)
    return mean, (diff / 4 / norm if norm else math.inf)


def _submit(ctx: ToolContext, description: str, code: str | None, domain: list[float] | None,
            label: str | None) -> ToolOutput:
    problems = []
    if domain is not None and len(domain) != 2:
        problems.append(f"domain must be [low, high], got {len(domain)} number(s)")
        domain = None
    answer = Answer(description=description, code=code, domain=tuple(domain) if domain else None, label=label)
    ctx.attempted = answer
    problems += answer.problems(ctx.task.kind)
    if code:
        try:
            compile(code, "<answer>", "exec")
        except SyntaxError as e:
            problems.append(f"code does not compile: {e.msg} (line {e.lineno})")
    if problems:
        return ToolOutput(render("answer_rejected", what="Answer", problems=problems, tool="submit"), is_error=True)
    text = "Answer accepted."
    if code and ctx.task.kind in ("numeric", "strings") and ctx.sandbox_factory is not None and ctx.observed:
        # the same check as check_code, on the inputs f already answered: it costs no black-box calls
        inputs = list(ctx.observed)[:500]
        try:
            predicted, errors, error = run_candidate(ctx, code, inputs)
            check = f"the code failed: {error}" if error else compare(
                ctx.task.kind, inputs, [ctx.observed[x] for x in inputs], predicted, errors)
        except Exception as e:  # noqa: BLE001 - the check is a report; it must not refuse a valid answer
            check = f"could not run: {type(e).__name__}: {e}"
        text += f"\nCheck on {len(inputs)} inputs observed during the investigation: {check}"
    return ToolOutput(text, answer=answer)


@tool(scopes=["numeric"], name="submit")
def submit_numbers(
    ctx: ToolContext,
    description: str,
    code: str | None = None,
    domain: list[float] | None = None,
    label: str | None = None,
) -> ToolOutput:
    """Submit your final answer; this ends the investigation if the answer is valid.

    Args:
        description: A concise description of what f does.
        code: Python code defining `def function(x):` that reproduces f (required).
        domain: [low, high]: the interval where f behaves differently from elsewhere (scored by its overlap with the
            true one, so inclusive or exclusive ends score the same); omit if none.
        label: A short name for the behaviour (a few words).
    """
    return _submit(ctx, description, code, domain, label)


@tool(scopes=["strings"], name="submit")
def submit_strings(ctx: ToolContext, description: str, code: str | None = None,
                   label: str | None = None) -> ToolOutput:
    """Submit your final answer; this ends the investigation if the answer is valid.

    Args:
        description: A concise description of what f does.
        code: Python code defining `def function(x):` that maps every input string to f's output (required).
        label: A short name for the behaviour (a few words).
    """
    return _submit(ctx, description, code, None, label)


@tool(scopes=["entities", "relations"], name="submit")
def submit_description(ctx: ToolContext, description: str, label: str | None = None) -> ToolOutput:
    """Submit your final answer; this ends the investigation if the answer is valid.

    Args:
        description: A concise description of what f does.
        label: A short name for the behaviour (a few words).
    """
    return _submit(ctx, description, None, None, label)


DEFAULT_TOOLS = ToolRegistry([call_function_numbers, call_function_strings, run_python_numbers, run_python_strings,
                              plot_function, check_code, record_hypotheses, submit_numbers, submit_strings,
                              submit_description])
