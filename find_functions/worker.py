"""The black-box worker: a subprocess that imports one function script at a time and answers
batched calls over pipes.

Why a subprocess: the function under study must run where an investigator's code cannot reach
into it (its source, closure, file path, ground truth), and a function that hangs or crashes must
not take the investigation down with it. Why one long-lived worker rather than one process per
call (FIND's way): the heavy imports (numpy, torch, MiniLM for entity functions) are then paid once
per worker, not once per call or per function.

Start it with `python -m find_functions.worker` (the parent is `find_functions.blackbox`), or, for
a foreign script, confined by `tools.isolation` as a plain file, `python -I worker.py`, with this
project's packages out of sight. The script to serve is named over stdin, never on the command
line, where any process could read it from /proc/PID/cmdline.

Protocol: one JSON object per line, one reply per request, in order.
    {"op": "ping"}                                      -> {"ok": true}
    {"op": "load", "path": P, "input_type": "float"|"str"} -> {"ok": true, "batched": bool}
    {"op": "call", "inputs": [v, ...]}                  -> {"ok": true, "outputs": [v, ...],
                                                           "failed": [[index, "ExceptionType"], ...]}
A request that cannot be served gets {"ok": false, "error": "..."}. Values are JSON-safe: strings,
None, finite floats as numbers, and nan/inf as {"float": "nan" | "inf" | "-inf"} (see `encode_value`).
Replies go to a private copy of the original stdout; the script's own prints are sent to stderr so
that they can never corrupt the protocol.

This module imports only the standard library, so that the worker starts fast and runs anywhere an
interpreter does; whatever the served scripts import stays cached in the worker for the next script.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, TextIO

INPUT_TYPES = ("float", "str")

_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_value(value: Any) -> Any:
    """Make one input or output JSON-safe: nan/inf become {"float": ...}; str and None pass."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if value is None or isinstance(value, (str, float)):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} for the black-box protocol")


def decode_value(value: Any) -> Any:
    """Inverse of `encode_value` (JSON integers become floats: the protocol carries no ints)."""
    if isinstance(value, dict):
        name = value.get("float")
        if name not in _SPECIAL_FLOATS:
            raise ValueError(f"unknown encoded value {value!r}")
        return _SPECIAL_FLOATS[name]
    if isinstance(value, bool):
        raise ValueError("booleans are not black-box values")
    if isinstance(value, int):
        return float(value)
    if value is None or isinstance(value, (str, float)):
        return value
    raise ValueError(f"cannot decode a {type(value).__name__} from the black-box protocol")


def _as_float(out: Any) -> float | None:
    """Coerce a numeric function's output (Python or numpy scalar, 0-d or 1-element array or
    tensor) to a float; None means the output is not a number."""
    if out is None:
        return None
    try:
        return float(out)
    except (TypeError, ValueError):
        pass
    item = getattr(out, "item", None)
    if callable(item):
        try:
            return float(item())
        except (TypeError, ValueError, RuntimeError):
            return None
    return None


def _as_str(out: Any) -> str | None:
    """A string function's output as FIND prints it: `str(out)`, None kept as None."""
    if out is None or isinstance(out, str):
        return out
    return str(out)


class _Server:
    """The state of one worker: the script currently loaded and how to evaluate it."""

    def __init__(self) -> None:
        self._module_name: str | None = None
        self._script_dir: str | None = None
        self._function: Callable[[Any], Any] | None = None
        self._batch: Callable[[list[Any]], Any] | None = None
        self._input_type = "float"
        self._loads = 0

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True}
        if op == "load":
            return self._load(request.get("path"), request.get("input_type"))
        if op == "call":
            return self._call(request.get("inputs"))
        return {"ok": False, "error": f"unknown op {op!r} (expected ping, load or call)"}

    def _unload(self) -> None:
        """Forget the current script and any sibling module it imported (the next function's
        folder may hold a different module of the same name). Everything else stays cached."""
        if self._module_name is not None:
            sys.modules.pop(self._module_name, None)
        if self._script_dir is not None:
            inside = self._script_dir + os.sep
            for name, module in list(sys.modules.items()):
                if str(getattr(module, "__file__", None) or "").startswith(inside):
                    del sys.modules[name]
            if self._script_dir in sys.path:
                sys.path.remove(self._script_dir)
        self._module_name = self._script_dir = None
        self._function = self._batch = None

    def _load(self, path: Any, input_type: Any) -> dict[str, Any]:
        self._unload()
        if input_type not in INPUT_TYPES:
            return {"ok": False, "error": f"input_type must be one of {INPUT_TYPES}, got {input_type!r}"}
        if not isinstance(path, str) or not Path(path).is_file():
            return {"ok": False, "error": f"no script file at {path!r}"}
        script = Path(path).resolve()
        self._loads += 1
        # A run name other than __main__: the script's command-line block must not run here.
        name = f"_aia_blackbox_{self._loads}"
        spec = importlib.util.spec_from_file_location(name, script)
        if spec is None or spec.loader is None:
            return {"ok": False, "error": f"{script} cannot be imported as a Python module"}
        module: ModuleType = importlib.util.module_from_spec(spec)
        # Scripts may import sibling modules; they find their data files through `__file__`.
        # (No chdir: /proc/PID/cwd would show any process where the function lives.)
        self._script_dir = str(script.parent)
        sys.path.insert(0, self._script_dir)
        sys.modules[name] = module
        self._module_name = name
        try:
            spec.loader.exec_module(module)
        except BaseException as e:  # noqa: BLE001 - SystemExit from a script is a load failure too
            if isinstance(e, KeyboardInterrupt):
                raise
            self._unload()
            return {"ok": False, "error": f"importing {script} raised {type(e).__name__}: {e}"}
        function = getattr(module, "function", None)
        if not callable(function):
            self._unload()
            return {"ok": False, "error": f"{script} defines no callable `function(x)`"}
        batch = getattr(module, "function_batch", None)
        self._function = function
        self._batch = batch if callable(batch) else None
        self._input_type = input_type
        return {"ok": True, "batched": self._batch is not None}

    def _call(self, inputs: Any) -> dict[str, Any]:
        if self._function is None:
            return {"ok": False, "error": "no script is loaded (send a load request first)"}
        if not isinstance(inputs, list):
            return {"ok": False, "error": "`inputs` must be a list"}
        try:
            xs = [decode_value(v) for v in inputs]
        except ValueError as e:
            return {"ok": False, "error": f"bad input: {e}"}
        raw, failed = self._evaluate(xs)
        coerce = _as_float if self._input_type == "float" else _as_str
        outputs = []
        for i, out in enumerate(raw):
            value = coerce(out)
            if value is None and out is not None:
                failed.append([i, f"returned {type(out).__name__}"])
            outputs.append(encode_value(value))
        return {"ok": True, "outputs": outputs, "failed": failed}

    def _evaluate(self, xs: list[Any]) -> tuple[list[Any], list[list[Any]]]:
        """Outputs for `xs`, None where the function raised. `function_batch` is used when the
        script defines it; if it fails as a whole, each input is retried alone so that one bad
        input does not cost the others."""
        if self._batch is not None and xs:
            try:
                outs = list(self._batch(list(xs)))
            except Exception:  # noqa: BLE001 - fall back to one input at a time
                outs = None
            if outs is not None and len(outs) == len(xs):
                return outs, []
        outs, failed = [], []
        assert self._function is not None
        for i, x in enumerate(xs):
            try:
                outs.append(self._function(x))
            except (Exception, SystemExit) as e:  # noqa: BLE001 - FIND answers None on any error
                outs.append(None)
                failed.append([i, type(e).__name__])
        return outs, failed


def _private_channels() -> tuple[TextIO, TextIO]:
    """Keep private copies of stdin/stdout for the protocol; point fds 0 and 1 elsewhere so a
    script that reads stdin or prints cannot interfere with it."""
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return proto_in, proto_out


def main() -> None:
    proto_in, proto_out = _private_channels()
    sys.dont_write_bytecode = True  # never litter suite folders with __pycache__
    warnings.simplefilter("ignore")  # numpy's divide-by-zero warnings would flood stderr
    server = _Server()
    for line in proto_in:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
            reply = server.handle(request)
        except ValueError as e:
            reply = {"ok": False, "error": f"bad request: {e}"}
        proto_out.write(json.dumps(reply, allow_nan=False) + "\n")
        proto_out.flush()


if __name__ == "__main__":
    main()
