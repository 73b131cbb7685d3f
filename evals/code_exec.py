"""Run an investigator's answer code on inputs, in a throw-away confined process with limits.

Answer code is untrusted (an LLM wrote it), so scoring never `exec`s it in the scorer's process,
and never where it could read the suite: a child under the OS sandbox (`tools.isolation`: its own
namespaces, no network, no suite, cache or home, no environment) gets the code and the inputs as
JSON on stdin and returns the outputs as JSON. One call evaluates a whole batch, so the process
start is paid once per scored answer. Without the sandbox, answer code would be scored by code
that can open `ground_truth.json` and return the reference's values.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Sequence

from tools import isolation

_CHILD = r'''
import json, math, sys
def enc(v):
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float__": repr(v)}
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    try:
        return float(v)
    except Exception:
        return str(v)
req = json.loads(sys.stdin.read())
ns = {"__name__": "__answer__"}
try:
    exec(compile(req["code"], "<answer>", "exec"), ns)
    fn = ns.get("function") or ns.get("f")
    if not callable(fn):
        raise NameError("the code defines neither `function(x)` nor `f(x)`")
except BaseException as e:
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
outs, errs = [], []
for x in req["inputs"]:
    try:
        outs.append(enc(fn(x)))
        errs.append(None)
    except BaseException as e:
        outs.append(None)
        errs.append(f"{type(e).__name__}: {e}")
print(json.dumps({"outputs": outs, "errors": errs}))
'''


@dataclass
class CodeRun:
    outputs: list[Any]
    errors: list[str | None]  # per input, None when it ran
    error: str | None = None  # the code as a whole failed (did not compile, timed out, ...)

    @property
    def ok(self) -> bool:
        return self.error is None and not any(self.errors)

    def first_error(self) -> str | None:
        return self.error or next((e for e in self.errors if e), None)


def _decode(v: Any) -> Any:
    if isinstance(v, dict) and "__float__" in v:
        return float(v["__float__"])
    return v


def run_code(code: str, inputs: Sequence[Any], timeout_s: float = 30.0,
             memory_bytes: int = 2 * 2**30, *, confine: bool = True) -> CodeRun:
    """Evaluate `function(x)` from `code` on each input. Never raises for bad code.

    `confine=False` runs it without the OS sandbox (same limits): only for answers from trusted
    backends or on a user's explicit opt-out, decided by the caller.
    """
    n = len(inputs)
    payload = json.dumps({"code": code, "inputs": list(inputs)})
    limits = isolation.Limits(memory_bytes=memory_bytes, cpu_seconds=int(math.ceil(timeout_s)) + 1,  # wall fires first
                              processes=16)
    argv = [sys.executable, "-I", "-c", _CHILD]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    try:
        if confine:
            proc = isolation.spawn(argv, isolation.Jail(), limits, **pipes)
        else:
            proc = isolation.spawn_unconfined(argv, limits, cwd=tempfile.gettempdir(), env=isolation.BASE_ENV, **pipes)
    except isolation.IsolationUnavailable as e:
        return CodeRun([None] * n, [None] * n, f"answer code needs an OS sandbox: {e}")
    try:
        stdout, stderr = proc.popen.communicate(payload, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return CodeRun([None] * n, [None] * n, f"TimeoutError: the code ran past {timeout_s:g} s")
    finally:
        proc.kill()
    try:
        reply = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (stderr or stdout).strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return CodeRun([None] * n, [None] * n, f"the code crashed the evaluator: {tail[0][:300]}")
    if "error" in reply:
        return CodeRun([None] * n, [None] * n, reply["error"])
    return CodeRun([_decode(v) for v in reply["outputs"]], reply["errors"])
