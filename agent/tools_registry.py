"""The investigator's tools, defined once as plain Python functions.

Each tool's signature and docstring generate everything else: the OpenAI and Anthropic tool
schemas, the tool documentation rendered into text-protocol prompts, and argument validation.
One source means the model is never told about an argument the code does not accept.
"""

from __future__ import annotations

import inspect
import io
import math
import re
import typing
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydantic import TypeAdapter, ValidationError

from agent.ledger import HypothesisUpdate, Ledger
from agent.messages import ToolCall
from agent.task import Answer, Task
from prompts import render


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
        return xs, list(self.task.black_box(xs))

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


def format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
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
    #: Task kinds the tool makes sense for; None means all.
    kinds: frozenset[str] | None = None

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


def _type_name(annotation: Any) -> str:
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


def tool(kinds: Iterable[str] | None = None) -> Callable[[Callable[..., ToolOutput]], Tool]:
    """Turn `def name(ctx, arg: T = default, ...) -> ToolOutput` with an `Args:` docstring into a Tool."""

    def wrap(func: Callable[..., ToolOutput]) -> Tool:
        description, arg_docs = _parse_docstring(func.__doc__ or "")
        hints = typing.get_type_hints(func)
        params = []
        for name, p in list(inspect.signature(func).parameters.items())[1:]:
            if name not in arg_docs:
                raise TypeError(f"tool {func.__name__}: argument '{name}' is not documented under Args:")
            required = p.default is inspect.Parameter.empty
            params.append(Param(name, hints[name], arg_docs[name], required, None if required else p.default))
        return Tool(func.__name__, func, description, params, frozenset(kinds) if kinds else None)

    return wrap


class ToolRegistry:
    """An ordered set of tools; the order is kept stable so the prompt prefix is too."""

    def __init__(self, tools: Iterable[Tool]):
        self.tools = {t.name: t for t in tools}

    def __iter__(self):
        return iter(self.tools.values())

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def names(self) -> list[str]:
        return list(self.tools)

    def for_kind(self, kind: str) -> "ToolRegistry":
        return ToolRegistry(t for t in self if t.kinds is None or kind in t.kinds)

    def without(self, *names: str) -> "ToolRegistry":
        return ToolRegistry(t for t in self if t.name not in names)

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
        t = self.tools.get(call.name)
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


@tool()
def call_function(ctx: ToolContext, inputs: list[int | float | str]) -> ToolOutput:
    """Evaluate the black-box function f on a batch of inputs and return one output per input.

    Args:
        inputs: The inputs, in order: numbers for numeric functions, strings (words) otherwise.
            Batch many inputs in one call.
    """
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


@tool()
def run_python(ctx: ToolContext, code: str) -> ToolOutput:
    """Run Python code in a sandbox (variables persist between runs); print() what you want to see.
    Inside, f(x) or f([x1, x2, ...]) calls the black box, plot(xs, ys) shows a line plot, show(image) shows an image;
    numpy is available.

    Args:
        code: A complete Python program.
    """
    result = ctx.sandbox().run(code)
    text = result.observation()
    if result.namespace_reset:
        text = "[the sandbox was restarted: variables from earlier runs are gone]\n" + text
    return ToolOutput(text, images=list(result.images), is_error=result.error is not None)


@tool(kinds=["numeric"])
def plot_function(ctx: ToolContext, low: float, high: float, points: int = 101) -> ToolOutput:
    """Evaluate f at evenly spaced inputs in [low, high] and return a line plot (with a text summary).

    Args:
        low: Left end of the interval.
        high: Right end of the interval.
        points: Number of evenly spaced inputs (2 to 1000); each costs one black-box call.
    """
    if not low < high:
        raise ToolInputError(f"low ({low}) must be smaller than high ({high})")
    if not 2 <= points <= 1000:
        raise ToolInputError(f"points must be between 2 and 1000, got {points}")
    xs = [low + (high - low) * i / (points - 1) for i in range(points)]
    xs, ys = ctx.evaluate(xs)
    finite = [(x, float(y)) for x, y in zip(xs, ys) if isinstance(y, (int, float)) and math.isfinite(y)]
    step = max(1, len(xs) // 10)
    sample = ", ".join(f"f({format_value(x)})={format_value(y)}" for x, y in list(zip(xs, ys))[::step])
    summary = f"Plot of f on [{low:g}, {high:g}] at {points} points; "
    if finite:
        lo_y, hi_y = min(y for _, y in finite), max(y for _, y in finite)
        summary += f"outputs range from {lo_y:.6g} to {hi_y:.6g}"
    else:
        summary += "no finite outputs"
    if len(finite) < points:
        summary += f"; {points - len(finite)} input(s) gave no finite output"
    return ToolOutput(f"{summary}.\nSamples: {sample}", images=[_line_plot(finite, low, high)] if finite else [],
                      data={"inputs": xs, "outputs": ys})


def _line_plot(points: list[tuple[float, float]], low: float, high: float) -> bytes:
    """A plain PNG line plot drawn with pillow (no plotting library is a dependency)."""
    from PIL import Image, ImageDraw

    width, height, margin = 480, 320, 40
    y_lo, y_hi = min(y for _, y in points), max(y for _, y in points)
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)

    def px(x: float, y: float) -> tuple[float, float]:
        return (
            margin + (x - low) / (high - low) * (width - 2 * margin),
            height - margin - (y - y_lo) / (y_hi - y_lo) * (height - 2 * margin),
        )

    draw.rectangle([margin, margin, width - margin, height - margin], outline="gray")
    if y_lo < 0 < y_hi:
        draw.line([px(low, 0), px(high, 0)], fill="lightgray")
    draw.line([px(x, y) for x, y in points], fill="blue", width=2)
    draw.text((margin, height - margin + 8), f"{low:g}", fill="black")
    draw.text((width - margin - 30, height - margin + 8), f"{high:g}", fill="black")
    draw.text((4, margin - 14), f"{y_hi:.4g}", fill="black")
    draw.text((4, height - margin + 2), f"{y_lo:.4g}", fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


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


@tool()
def submit(
    ctx: ToolContext,
    description: str,
    code: str | None = None,
    domain: list[float] | None = None,
    label: str | None = None,
) -> ToolOutput:
    """Submit your final answer; this ends the investigation if the answer is valid.

    Args:
        description: A concise description of what f does.
        code: Python code defining `def function(x):` that reproduces f (required for numeric and string functions).
        domain: For numeric functions, [low, high]: the interval where f behaves differently from elsewhere;
            omit if none.
        label: A short name for the behaviour (a few words).
    """
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
    return ToolOutput("Answer accepted.", answer=answer)


DEFAULT_TOOLS = ToolRegistry([call_function, run_python, plot_function, record_hypotheses, submit])
