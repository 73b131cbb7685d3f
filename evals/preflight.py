"""Checks a run makes once, before its first function or unit: can every spec it names work?

A spec that cannot work must stop the run at once with one line, not cost every function a
minute and then be saved as a score of 0: `local:smolm2` (a typo) used to pass the spec check,
then each function spent 26 s retrying the hub and got an error row, and the command exited 0.
`check_spec` parses the spec (an unknown one lists the choices, with a "did you mean"), builds
it where that is cheap (a missing API key fails here), and, for a spec naming a model to load in
this process (`local:PATH|smollm2`), checks the name with `tools.model_names.check_model_name`
(within seconds, also offline) without loading it.
"""

from __future__ import annotations

from typing import Any

from tools.run_dir import RunError


def check_spec(role: str, spec: str, *, what: str, build: bool = True, **options: Any) -> None:
    """A RunError (one line, starting with `what`, e.g. "--backend") when `spec` cannot fill
    `role`: unknown, options that do not apply, a missing API key, a `local:` model that does not
    exist. `build=False` only parses the spec and checks a local model's name (for a role whose
    building needs what is not there yet, such as the suite)."""
    from agent.backends.base import MissingCredentials
    from agent.registry import argument, check, entry
    from tools.model_names import ModelNameError, check_model_name

    try:
        found = entry(role, spec)
        if found.name == "local":
            check_model_name(argument(role, spec), builtin=("smollm2",))
        if build:
            check(role, spec, **options)
    except ModelNameError as e:
        raise RunError(f"{what} {spec!r}: {e}") from None
    except MissingCredentials as e:
        raise RunError(f"{what} {spec!r}: {one_line(str(e))}") from None
    except ValueError as e:
        raise RunError(one_line(str(e))) from None


def one_line(message: str) -> str:
    """An error message as the CLI shows it: its first line (a library error may carry a
    traceback-like tail or a server's whole reply)."""
    return message.strip().splitlines()[0] if message.strip() else message


def price_known(spec: str) -> bool | None:
    """Whether the dollars of `spec`'s LLM calls are known: True for a model in the price table
    (`agent.backends.pricing`, extended by the JSON file AIA_PRICES names) or one that runs here
    (`local:`, free), False for an LLM without a price (its cost shows as "unknown", never $0),
    None for a spec that is no language model (builtin, oracle, null, replay, plug-ins)."""
    from agent.registry import UnknownSpec, argument, entry

    try:
        found = entry("policy", spec)
    except UnknownSpec:
        return None
    if not found.llm:
        return None
    if found.name == "local":
        return True
    from agent.backends.pricing import PriceTable

    try:  # prices match by longest prefix: `llama3` prices openai-compatible:llama3@URL too
        return PriceTable.load().lookup(argument("policy", spec)) is not None
    except (OSError, ValueError) as e:
        raise RunError(f"the price table cannot be read (AIA_PRICES): {one_line(str(e))}") from None
