"""The help text of a command's options, read from its config dataclass's field docstrings.

A command's settings live in one dataclass per command (`evals.bench_config.BenchConfig`,
`evals.label_config.LabelConfig`), each field followed by a docstring saying what it is (after
Delphi's config). The CLI takes an option's default from the field and its help from that
docstring through `field_help`, so a default or its explanation is written once and `--help`
cannot drift from what the run does. Docstrings are read from the class's source with `ast`
(Python keeps no attribute docstrings at run time); only the standard library is imported, so
building the CLI stays instant.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from functools import cache
from typing import Any


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Each annotated field of `cls` that is followed by a string literal, with that string."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = next(node for node in tree.body if isinstance(node, ast.ClassDef)).body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[node.target.id] = after.value.value
    return docs


def field_help(cls: type, name: str) -> str:
    """The docstring of `cls`'s field `name` as one line of help: reST literals (``x``) and
    Markdown code (`x`) unmarked, whitespace collapsed. A KeyError for a field without one, so an
    option can never lose its help silently."""
    text = field_docs(cls)[name]
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return " ".join(text.split())


def recorded(config: Any, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A config dataclass's fields as JSON values for a run's record (paths as strings; what JSON
    cannot hold as its repr), leaving out `leave_out`."""
    import dataclasses
    import json
    from pathlib import Path

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return repr(value)
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config) if f.name not in leave_out}
