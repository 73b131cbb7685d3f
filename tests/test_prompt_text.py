"""Prose that a model or a person reads lives in prompts/, not in Python string literals.

One place for the wording means a prompt can be read, reviewed and changed without hunting
through code, and two modules cannot drift apart in how they say the same thing. The check is
mechanical, so it looks for what prose looks like: a literal over PROSE_CHARS characters, or one
that addresses its reader ("You ...", "Your ...", "Please ..."). It does not count what is not
prompt text: docstrings (a `@tool` docstring is the tool's declaration; a config field's docstring
is that field's), the command line's own help (`help=`/`epilog=` texts and the `*_HELP` constants
they are built from document the option they sit beside, as a docstring does), exception messages
(one-line errors next to the code that raises them), and raw strings (regular expressions and
code run in a subprocess).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("agent", "evals", "tools")
PROSE_CHARS = 200
ADDRESSES_READER = re.compile(r"\b(?:You|Your|Please) ")

#: (file, how the literal starts) -> why it is not prompt text. Each entry must still match.
ALLOWED = {
    ("evals/offline_judge_entities.py", "a about above"):
        "a word list (the descriptions' frame words the offline judge ignores), split into a set",
    ("tools/corpus.py", "aia default corpus"):
        "the corpus's licence attribution, written next to the corpus files; no model reads it",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """Module, class and function docstrings, and attribute docstrings (a string statement right
    after an assignment, as config dataclasses document their fields)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
            for before, after in zip(node.body, node.body[1:]):
                if isinstance(before, (ast.Assign, ast.AnnAssign)) and isinstance(after, ast.Expr) \
                        and isinstance(after.value, ast.Constant):
                    out.add(id(after.value))
    return out


def _cli_help(tree: ast.AST) -> set[int]:
    """Literals that are command-line help: `help=`/`epilog=` arguments and `*_HELP` constants."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("help", "epilog"):
            out |= {id(child) for child in ast.walk(node.value)}
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("_HELP")
                                                for t in node.targets):
            out |= {id(child) for child in ast.walk(node.value)}
    return out


def _inside(tree: ast.AST, kind: type) -> set[int]:
    return {id(child) for node in ast.walk(tree) if isinstance(node, kind) for child in ast.walk(node)}


def _text(node: ast.AST) -> str | None:
    """A string literal's text, an f-string's with `{}` for each replacement field."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def prose_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each literal in `path` that reads as prompt prose."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    skip = _docstrings(tree) | _inside(tree, ast.Raise) | _cli_help(tree)
    # the parts of an f-string are literals too; the f-string as a whole is judged instead
    skip |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        text = _text(node)
        if text is None or id(node) in skip or not (len(text) > PROSE_CHARS or ADDRESSES_READER.search(text)):
            continue
        if not (ast.get_source_segment(source, node) or "").startswith(("r", "R")):
            found.append((node.lineno, text))
    return found


def _scan() -> dict[tuple[str, int], str]:
    return {(str(p.relative_to(REPO)), line): text
            for package in SCANNED for p in sorted((REPO / package).rglob("*.py"))
            for line, text in prose_literals(p)}


def _allowed(file: str, text: str) -> bool:
    return any(file == f and text.startswith(start) for f, start in ALLOWED)


def test_no_prompt_prose_outside_prompts():
    offenders = [f"{file}:{line}: {text[:80]!r}" for (file, line), text in _scan().items() if not _allowed(file, text)]
    assert not offenders, "move this prose into a prompts/*.j2 template (prompts.render): " + "; ".join(offenders)


def test_every_allowance_is_still_needed():
    found = _scan()
    stale = [key for key in ALLOWED if not any(file == key[0] and text.startswith(key[1])
                                               for (file, _), text in found.items())]
    assert not stale, f"remove these ALLOWED entries, nothing matches them any more: {stale}"


def test_the_scan_finds_prose_and_passes_what_is_not(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        '"""A module docstring, long enough to count if docstrings were not skipped: ' + "x" * 200 + '"""\n'
        'NOTE = "Your answer was empty."\n'
        'def f(n):\n'
        '    raise ValueError(f"' + "y" * 250 + ' {n}")\n'
        'PATTERN = r"' + "\\\\b(?:z)" * 40 + '"\n'
        'LONG = (f"{1} ' + "w " * 110 + '")\n'
    )
    assert [line for line, _ in prose_literals(path)] == [2, 6]


def test_native_tool_prompts_do_not_list_the_tools_twice():
    """With native tools the schemas carry every tool's description; the label and chat system
    prompts list the tools only for the text protocol (the relay measured ~4k tokens saved per call)."""
    from agent.model_tools import model_tool_registry
    from prompts import render
    from tools.models import tiny_model

    model = tiny_model("llama", n_layers=1, d_model=16, n_heads=2, d_mlp=32)
    for template, scope in (("task_unit_system", "label"), ("chat_system", "chat")):
        docs = model_tool_registry(scope, model).docs()
        native = render(template, model=model, kind="neuron", tools=docs, text_protocol=False)
        text = render(template, model=model, kind="neuron", tools=docs, text_protocol=True)
        assert "call_unit(" not in native and "call_unit(" in text and len(native) < len(text) / 2
