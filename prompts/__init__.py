"""Prompt templates (jinja2). All text the models read lives in the `.j2` files next to this one."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    # StrictUndefined: a template variable the caller forgot is an error, not an empty string.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **ctx) -> str:
    """Render `prompts/<name>` (the `.j2` suffix may be omitted) with `ctx`; surrounding whitespace is stripped."""
    if not name.endswith(".j2"):
        name += ".j2"
    try:
        template = _env().get_template(name)
    except jinja2.TemplateNotFound:
        available = sorted(p.name for p in TEMPLATE_DIR.glob("*.j2"))
        raise ValueError(f"no prompt template {name!r}; available: {available}") from None
    return template.render(**ctx).strip()
