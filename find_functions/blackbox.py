"""Sealed black boxes: the parent side of the function-serving processes.

A function under study must answer inputs and nothing else. Two ways to serve one:

- `BlackBoxWorker.load(script, input_type) -> SealedFunction`: a long-lived worker subprocess
  (`find_functions.worker`) imports the script and answers batched calls over pipes. For aia's own
  scripts one worker serves many functions in sequence, so heavy imports are paid once per worker.
  Given a `jail`, the worker runs confined by `tools.isolation` (`python -I worker.py`, seeing only
  what the jail binds): that is how a foreign script (an official FIND release) is loaded once and
  called directly, one confined worker per function (`find_functions.jail`), so that neither its
  import-time code nor its state reaches the next function. The worker restarts itself when it
  dies or hangs.
- `ScriptBlackBox(script, input_type)`: a foreign script run as FIND runs it, `python SCRIPT arg1
  arg2 ...`, one confined process per batch (the path reaches the new interpreter over stdin, not
  on its command line), and the printed `Function input - output pairs:` line is parsed back; for
  scripts that only work that way. A string the command line cannot carry (control characters,
  NUL, invalid UTF-8, too long) answers None with its own error, and the rest of the batch runs.

Both are called the same way (`f([x1, x2, ...]) -> [y1, y2, ...]`, None where the function failed)
and count `calls` (inputs evaluated) and `errors` (what went wrong, one line per incident). Neither
exposes its script path or source through its attributes, repr or pickling: the path stays in a
private serving object and appears only in operator-facing log records (`logging`) and in the
exceptions `BlackBoxWorker.load` raises to the code that chose the script. Investigator-facing
`errors` name the function by its label (default: its directory name, `fNNNNN`) and never the
script file, whose name reveals the variant (e.g. `noised_function_code.py`).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import numbers
import os
import queue
import re
import subprocess
import sys
import threading
import unicodedata
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tools import isolation
from tools.isolation import Jail, Limits

from . import worker as worker_module
from .jail import function_jail
from .script import InputType
from .worker import INPUT_TYPES, decode_value, encode_value

logger = logging.getLogger(__name__)

#: The package root, put on the worker's PYTHONPATH so `python -m find_functions.worker` resolves
#: to this checkout whatever the caller's working directory.
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: Where a confined worker finds `find_functions/worker.py`: it imports only the standard library,
#: so it runs as a plain script (`python -I WORKER_INSIDE`) with this project's packages masked.
WORKER_INSIDE = f"{isolation.INSIDE_ROOT}/worker.py"

#: FIND's output line (see find_functions.script).
PAIRS_PREFIX = "Function input - output pairs: "

#: Linux refuses a single argv string longer than 128 KiB (MAX_ARG_STRLEN).
_MAX_ARG_BYTES = 100_000


class BlackBoxError(RuntimeError):
    """A black box that cannot serve at all (the worker cannot start, a script cannot load)."""


# --------------------------------------------------------------------------------------------
# Input validation (shared by both kinds of black box)
# --------------------------------------------------------------------------------------------

def validate_inputs(inputs: Any, input_type: InputType, max_batch: int) -> list[Any]:
    """Check a batch before it is sent anywhere; return it as a list of floats or strings.

    Numbers must be real and not NaN (inf is allowed: FIND scripts accept `float('inf')`); bools
    are rejected because `True` is almost always a mistake for a numeric input. Strings must be
    `str`. A wrong batch raises: it is the caller's mistake, not the function's behaviour.
    """
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Iterable):
        raise TypeError(
            f"a black box takes a batch of inputs, got {type(inputs).__name__}: "
            "call it with a list, e.g. f([1.0, 2.5]) or f(['abc', 'def'])")
    values = list(inputs)
    if len(values) > max_batch:
        raise ValueError(f"batch of {len(values)} inputs exceeds the limit of {max_batch}; split it")
    if input_type == "float":
        out: list[Any] = []
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"input {i} is {v!r} ({type(v).__name__}); this function takes numbers")
            x = float(v)
            if math.isnan(x):
                raise ValueError(f"input {i} is nan; this function takes numbers (inf is allowed)")
            out.append(x)
        return out
    if input_type == "str":
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise TypeError(f"input {i} is {v!r} ({type(v).__name__}); this function takes strings")
        return values
    raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")


_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\0": "a NUL character"}


def argv_problem(i: int, v: str) -> str | None:
    """Why string input `i` cannot travel as FIND's command-line serving carries inputs, or None.

    FIND's interpreter writes its calls on one command line, and its scripts print their pairs on
    one output line, so a control character (newline, carriage return, tab, NUL, ...: Unicode
    category Cc) has no faithful way there and back; NUL cannot be an argument at all, and Linux
    refuses an argument over 128 KiB.
    """
    where = "which FIND's command-line serving cannot carry; its output is None"
    for ch in v:
        if unicodedata.category(ch) == "Cc":
            name = _CONTROL_NAMES.get(ch, f"the control character U+{ord(ch):04X}")
            return f"input {i} contains {name}, {where}"
    try:
        size = len(v.encode("utf-8"))
    except UnicodeEncodeError as e:
        return f"input {i} is not valid UTF-8 text ({e.reason}), {where}"
    if size > _MAX_ARG_BYTES:
        return (f"input {i} is {size} bytes long; FIND's command-line serving carries at most "
                f"{_MAX_ARG_BYTES} bytes per input; its output is None")
    return None


def _failure_summary(failed: list[list[Any]], n: int) -> str:
    kinds = sorted({str(kind) for _, kind in failed})
    return f"{len(failed)} of {n} inputs failed ({', '.join(kinds)}); their outputs are None"


# --------------------------------------------------------------------------------------------
# The worker subprocess
# --------------------------------------------------------------------------------------------

class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _LoadFailed(Exception):
    pass


class _Process:
    """One live worker subprocess: its pipes, a thread reading replies, a thread draining stderr.

    The pipes carry bytes, decoded here as UTF-8 (a script's stderr in any other encoding must not
    kill the draining thread, or a full stderr pipe would block the worker). `kill` is the
    teardown that fits how it was started (a process group, or a sandbox and its cgroup).
    (Reading replies in the calling thread with `select` was measured: about twice as slow per
    round trip as handing lines over from a reader thread on these machines.)
    """

    def __init__(self, popen: subprocess.Popen, kill: Callable[[], None]) -> None:
        self.popen = popen
        self.replies: queue.Queue[str | None] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=30)
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._finalizer = weakref.finalize(self, kill)

    def _read_replies(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.replies.put(line.decode("utf-8", "replace"))
        self.replies.put(None)

    def _drain_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its reply; `_Timeout` or `_Died` when none comes."""
        assert self.popen.stdin is not None
        try:
            self.popen.stdin.write((json.dumps(message, allow_nan=False) + "\n").encode("utf-8"))
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise _Died(f"could not write to the worker ({e})") from None
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise _Timeout() from None
        if line is None:
            try:
                code = self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            raise _Died(f"the worker exited with code {code}")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            raise _Died(f"the worker sent a line that is not JSON: {line[:200]!r}") from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise _Died(f"the worker sent an unexpected reply: {line[:200]!r}")
        return reply

    def kill(self) -> None:
        """Kill the worker and everything it started (once; later calls do nothing)."""
        self._finalizer()

    def close(self, grace: float = 2.0) -> None:
        """Ask the worker to exit (EOF on its stdin), then kill it if it does not."""
        try:
            assert self.popen.stdin is not None
            self.popen.stdin.close()
            self.popen.wait(timeout=grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class BlackBoxWorker:
    """A worker subprocess serving function scripts, one at a time, many in sequence.

    Use as a context manager (or call `start`/`close`). `load` returns a `SealedFunction`; loading
    another script replaces the one in the worker, and calling an earlier `SealedFunction` loads
    its script back (its state, e.g. a noise generator, starts afresh). A request that gets no
    answer within `timeout` seconds kills the worker; it is restarted and the script reloaded, and
    that batch answers None. Thread-safe: one request at a time.

    Without `jail` the worker is a plain subprocess of this checkout (`python -m
    find_functions.worker` with `env`): for aia's own scripts. With one, it runs confined under
    `limits` as `python -I WORKER_INSIDE`, seeing only what the jail binds: for a foreign script,
    whose jail (`find_functions.jail.function_jail`) binds that one function's files, so such a
    worker serves that function only.
    """

    def __init__(self, *, timeout: float = 10.0, load_timeout: float = 120.0, max_batch: int = 4096,
                 python: str | None = None, env: Mapping[str, str] | None = None,
                 jail: Jail | None = None, limits: Limits = Limits()) -> None:
        if timeout <= 0 or load_timeout <= 0 or max_batch < 1:
            raise ValueError("timeout and load_timeout must be positive and max_batch at least 1")
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.max_batch = max_batch
        self.restarts = 0  # times the worker was found dead or killed and started again
        self._python = python or sys.executable
        base = dict(os.environ if env is None else env)
        base["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), base.get("PYTHONPATH", "")) if p)
        self._env = base
        self._jail = None if jail is None else replace(
            jail, read_only=[*jail.read_only, (Path(worker_module.__file__).resolve(), WORKER_INSIDE)])
        self._limits = limits
        self._lock = threading.RLock()
        self._process: _Process | None = None
        self._closed = False
        self._handles = count(1)
        self.__scripts: dict[int, tuple[Path, InputType]] = {}  # handle -> script; never leaves here
        self.__loaded: int | None = None  # handle loaded in the live process

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._process and self._process.alive() else "idle")
        return f"<BlackBoxWorker {state}, {len(self.__scripts)} functions, {self.restarts} restarts>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a BlackBoxWorker owns a live process and cannot be pickled")

    def __enter__(self) -> BlackBoxWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The worker process id (None when not running); for monitoring and tests."""
        return self._process.pid if self._process and self._process.alive() else None

    def start(self) -> None:
        """Start the worker process (a no-op when it is running) and wait until it answers."""
        with self._lock:
            if self._closed:
                raise BlackBoxError("this BlackBoxWorker is closed")
            if self._process is not None and self._process.alive():
                return
            self._process = self._launch()
            self.__loaded = None
            try:
                self._process.request({"op": "ping"}, self.load_timeout)
            except (_Timeout, _Died) as e:
                tail = "\n".join(self._process.stderr_tail)
                self._discard_process()
                raise BlackBoxError(f"the black-box worker did not start ({type(e).__name__.strip('_')}: {e})\n"
                                    f"{tail}") from None

    def close(self) -> None:
        """Stop the worker; its SealedFunctions raise BlackBoxError from now on."""
        with self._lock:
            self._closed = True
            if self._process is not None:
                self._process.close()
                self._process = None
            self.__loaded = None

    def load(self, script_path: str | Path, input_type: InputType, *, label: str | None = None) -> SealedFunction:
        """Load a script into the worker and return its sealed handle.

        Raises FileNotFoundError / BlackBoxError (naming the script) when it cannot be served:
        these go to the code that chose the script, never to an investigator.
        """
        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")
        script = Path(script_path).resolve()
        if not script.is_file():
            raise FileNotFoundError(f"no function script at {script}")
        with self._lock:
            self.start()
            handle = next(self._handles)
            self.__scripts[handle] = (script, input_type)
            try:
                self._activate(handle)
            except (_LoadFailed, _Timeout, _Died) as e:
                del self.__scripts[handle]
                raise BlackBoxError(f"cannot serve {script}: {e}") from None
        return SealedFunction(self, handle, input_type, label or script.parent.name)

    # -- internals ---------------------------------------------------------------------------

    def _launch(self) -> _Process:
        pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        if self._jail is None:
            popen = subprocess.Popen([self._python, "-m", "find_functions.worker"], env=self._env,
                                     start_new_session=True, **pipes)
            return _Process(popen, functools.partial(isolation.kill_group, popen))
        confined = isolation.spawn([self._python, "-I", WORKER_INSIDE], self._jail, self._limits, **pipes)
        return _Process(confined.popen, confined.kill)

    def _discard_process(self) -> None:
        if self._process is not None:
            self._process.kill()
        self._process = None
        self.__loaded = None

    def _activate(self, handle: int) -> None:
        """Make sure a live worker has `handle`'s script loaded, (re)starting it as needed."""
        if self._process is None or not self._process.alive():
            if self._process is not None:
                logger.warning("black-box worker pid %d had exited (code %s); restarting it",
                               self._process.pid, self._process.popen.returncode)
                self.restarts += 1
            self._discard_process()
            self.start()
        if self.__loaded == handle:
            return
        script, input_type = self.__scripts[handle]
        assert self._process is not None
        try:
            reply = self._process.request({"op": "load", "path": str(script), "input_type": input_type},
                                          self.load_timeout)
        except _Timeout:
            self._restart_after_failure(f"loading {script} took longer than {self.load_timeout:g} s")
            raise _LoadFailed(f"loading took longer than {self.load_timeout:g} s") from None
        if not reply["ok"]:
            self.__loaded = None
            logger.error("black-box worker could not load %s: %s", script, reply.get("error"))
            raise _LoadFailed(str(reply.get("error")))
        self.__loaded = handle

    def _restart_after_failure(self, why: str) -> None:
        logger.warning("black-box worker pid %s: %s; killing it", self._process and self._process.pid, why)
        self.restarts += 1
        self._discard_process()

    def _evaluate(self, handle: int, values: list[Any]) -> tuple[list[Any], list[str]]:
        """Outputs for `values` from `handle`'s script, and the incidents to record."""
        n = len(values)
        nones: list[Any] = [None] * n
        message = {"op": "call", "inputs": [encode_value(v) for v in values]}
        with self._lock:
            if self._closed:
                raise BlackBoxError("the worker serving this function was closed")
            reply: dict[str, Any] | None = None
            for attempt in (1, 2):
                try:
                    self._activate(handle)
                    assert self._process is not None
                    reply = self._process.request(message, self.timeout)
                    break
                except _LoadFailed as e:
                    logger.error("reloading %s failed: %s", self.__scripts[handle][0], e)
                    return nones, [f"the function could not be loaded back into its worker; "
                                   f"{n} outputs are None"]
                except _Timeout:
                    script = self.__scripts[handle][0]
                    self._restart_after_failure(f"no answer within {self.timeout:g} s from {script}")
                    self._reload_quietly(handle)
                    return nones, [f"no answer within {self.timeout:g} s for a batch of {n} inputs; "
                                   "the worker was restarted and these outputs are None"]
                except _Died as e:
                    self._restart_after_failure(f"died during a call ({e})")
                    if attempt == 2:
                        self._reload_quietly(handle)
                        return nones, [f"the worker process died twice on a batch of {n} inputs ({e}); "
                                       "these outputs are None"]
            assert reply is not None
            if not reply["ok"]:
                return nones, [f"the worker refused the batch: {reply.get('error')}"]
        outputs = [decode_value(v) for v in reply["outputs"]]
        if len(outputs) != n:
            return nones, [f"the worker answered {len(outputs)} outputs for {n} inputs; outputs are None"]
        failed = reply.get("failed") or []
        return outputs, ([_failure_summary(failed, n)] if failed else [])

    def _reload_quietly(self, handle: int) -> None:
        """After a kill, restart and reload now so the next call is ready; failures surface then."""
        try:
            self._activate(handle)
        except (_LoadFailed, _Timeout, _Died, BlackBoxError) as e:
            logger.warning("black-box worker: reload after restart failed (%s); will retry on the next call", e)


class _Counted:
    """What every black box shows besides `__call__`: how many inputs it evaluated and what went
    wrong (never the path, source or anything else about the function)."""

    _label: str
    _calls: int
    _errors: list[str]

    @property
    def calls(self) -> int:
        """Inputs evaluated so far."""
        return self._calls

    @property
    def errors(self) -> list[str]:
        """What went wrong so far, one line per incident (a copy)."""
        return list(self._errors)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._label}: {self._calls} calls, {len(self._errors)} errors>"


class SealedFunction(_Counted):
    """A function served by a `BlackBoxWorker`: inputs in, outputs out, nothing else.

    Satisfies `agent.task.BlackBox`. It holds no path or source: only an opaque handle into its
    worker, which keeps the script private and never sends it anywhere but to the worker process.
    Pickling is refused (a proxy into a sandbox forwards calls instead).
    """

    def __init__(self, worker: BlackBoxWorker, handle: int, input_type: InputType, label: str) -> None:
        self._worker = worker
        self._handle = handle
        self._input_type: InputType = input_type
        self._label = label
        self._calls = 0
        self._errors: list[str] = []

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        """Evaluate a batch: `f([x1, x2])` -> `[y1, y2]`, None where the function failed."""
        values = validate_inputs(inputs, self._input_type, self._worker.max_batch)
        if not values:
            return []
        outputs, incidents = self._worker._evaluate(self._handle, values)
        self._calls += len(values)
        self._errors.extend(f"{self._label}: {line}" for line in incidents)
        return outputs

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a SealedFunction is a handle to a live worker and cannot be pickled; "
                        "forward calls to it instead")


# --------------------------------------------------------------------------------------------
# FIND's way: one `python SCRIPT args...` process per batch
# --------------------------------------------------------------------------------------------

def parse_pairs(stdout: str, args: Sequence[str]) -> list[str] | None:
    """The raw outputs printed for `args`, or None when the text holds no matching pairs line.

    FIND prints `Function input - output pairs: (a1, o1) (a2, o2) ` and the outputs may contain
    anything (parentheses, commas, spaces, newlines). Since we know the arguments, we parse
    sequentially: output i runs up to `) (` + argument i+1 + `, `; the last one up to the final
    `) ` of the text. (An output that itself contains `) (next-argument, ` would be cut there.)
    """
    if not args:
        return []
    start = 0
    while (found := stdout.find(PAIRS_PREFIX, start)) >= 0:
        parsed = _parse_pairs_at(stdout, found + len(PAIRS_PREFIX), args)
        if parsed is not None:
            return parsed
        start = found + 1
    return None


def _parse_pairs_at(text: str, pos: int, args: Sequence[str]) -> list[str] | None:
    outs: list[str] = []
    for i, arg in enumerate(args):
        head = f"({arg}, "
        if not text.startswith(head, pos):
            return None
        pos += len(head)
        if i + 1 < len(args):
            end = text.find(f") ({args[i + 1]}, ", pos)
            if end < 0:
                return None
            outs.append(text[pos:end])
            pos = end + 2
        else:
            rest = text[pos:]
            end = rest.rfind(") \n")
            if end < 0:
                end = rest.rfind(") ")
            if end < 0:
                return None
            outs.append(rest[:end])
    return outs


_WRAPPED = re.compile(r"^[A-Za-z_][\w.]*\((.*)\)$", re.S)  # tensor(1.5), np.float64(1.5)
_BRACKETED = re.compile(r"^\[\s*(.*?)\s*\]$", re.S)  # [1.5], [[1.5]]


def parse_number(text: str) -> float | None:
    """A printed numeric output as a float; None for `None`. Raises ValueError on anything else.

    Accepts what FIND scripts print: plain floats (incl. nan, inf), and one-element numpy arrays
    or tensors (`[1.5]`, `[[1.5]]`, `tensor(1.5)`, `tensor([1.5], grad_fn=...)`).
    """
    s = text.strip()
    if s == "None":
        return None
    try:
        return float(s)
    except ValueError:
        pass
    for pattern in (_BRACKETED, _WRAPPED):
        m = pattern.match(s)
        if m:
            inner = m.group(1).split(",")[0] if pattern is _WRAPPED else m.group(1)
            return parse_number(inner)
    raise ValueError(f"not a number: {text[:80]!r}")


def _chunks(args: list[str], max_args: int, max_bytes: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for a in args:
        n = len(a.encode("utf-8")) + 1
        if chunk and (len(chunk) >= max_args or size + n > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(a)
        size += n
    if chunk:
        yield chunk


_BOOTSTRAP = (
    "import os, runpy, sys; path = sys.stdin.readline().rstrip('\\n'); "
    "sys.argv[0] = path; sys.path[0] = os.path.dirname(path); "
    "runpy.run_path(path, run_name='__main__')"
)


class _ScriptRunner:
    """Runs one script file with arguments, confined to its jail; the only holder of its path."""

    def __init__(self, script: Path, python: str, timeout: float, env: Mapping[str, str] | None,
                 confined: bool, limits: Limits) -> None:
        self.__script = script
        self._python = python
        self._timeout = timeout
        self._env = dict(os.environ if env is None else env)
        self._jail = function_jail(script) if confined else None
        self._limits = limits

    def __repr__(self) -> str:
        return "<script runner>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a script runner cannot be pickled")

    def describe(self) -> str:
        """The script path, for operator-facing logs only."""
        return str(self.__script)

    def run(self, args: list[str]) -> tuple[str | None, int | None, str]:
        """(stdout, exit code, stderr tail); stdout is None when the run timed out.

        Equivalent to `python SCRIPT args...` (the script runs as `__main__` with its own
        `__file__`, `sys.argv[0]` and `sys.path[0]`), except that the path travels over stdin to a
        tiny bootstrap instead of sitting on the command line, where any process could read it
        (the script's name alone reveals a numeric function's variant). The run is confined to the
        function's jail (unless the caller opted out) and has its own session, so that a timeout
        kills it together with anything it spawned.
        """
        argv = [self._python, "-c", _BOOTSTRAP, *args]
        pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        if self._jail is not None:
            proc = isolation.spawn(argv, self._jail, self._limits, **pipes)
        else:
            proc = isolation.spawn_unconfined(argv, self._limits, cwd=os.getcwd(), env=self._env, **pipes)
        try:
            out, err = proc.popen.communicate((str(self.__script) + "\n").encode("utf-8"), timeout=self._timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.popen.communicate()  # closes the pipes
            return None, None, ""
        finally:
            proc.kill()  # after a normal exit: only reaps it and drops its cgroup
        return out.decode("utf-8", "replace"), proc.returncode, err[-2000:].decode("utf-8", "replace")


class ScriptBlackBox(_Counted):
    """A FIND script served as FIND serves it: `python SCRIPT arg1 arg2 ...` per batch.

    Slow (one confined Python start and the script's imports per batch): the way for scripts that
    only work run as a program. Each run sees only the script's own files (`function_jail`), never
    the ground truth beside them; `confined=False` is the user's explicit opt-out (no namespaces,
    the same limits). Long batches are split into chunks of at most `max_args` arguments. A string
    input that a command line cannot carry (`argv_problem`) answers None with its own error and the
    others run. A run that crashes without printing its pairs line is split in halves and retried
    (FIND's string scripts have no per-input `try`, so one bad input kills the whole run), within
    a budget of `max_retries` extra runs per call. A run that hangs past `timeout` seconds is
    killed and its inputs answer None. Output that cannot be parsed answers None. Every such
    incident is recorded in `errors`; the call never raises for them.
    """

    def __init__(self, script_path: str | Path, input_type: InputType, *, timeout: float = 30.0,
                 max_args: int = 256, max_batch: int = 4096, max_retries: int = 16,
                 python: str | None = None, env: Mapping[str, str] | None = None,
                 label: str | None = None, confined: bool = True, limits: Limits = Limits()) -> None:
        if input_type not in INPUT_TYPES:
            raise ValueError(f"input_type must be one of {INPUT_TYPES}, got {input_type!r}")
        script = Path(script_path).resolve()
        if not script.is_file():
            raise FileNotFoundError(f"no function script at {script}")
        if "\n" in str(script):
            raise ValueError(f"cannot serve a script whose path contains a newline: {script!r}")
        if timeout <= 0 or max_args < 1 or max_batch < 1 or max_retries < 0:
            raise ValueError("timeout must be positive, max_args and max_batch at least 1, max_retries >= 0")
        if confined:
            isolation.require()
        self._runner = _ScriptRunner(script, python or sys.executable, timeout, env, confined, limits)
        self._input_type: InputType = input_type
        self._label = label or script.parent.name
        self._timeout = timeout
        self._max_args = max_args
        self._max_batch = max_batch
        self._max_retries = max_retries
        self._calls = 0
        self._errors: list[str] = []

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        """Evaluate a batch: `f([x1, x2])` -> `[y1, y2]`, None where the script failed."""
        values = validate_inputs(inputs, self._input_type, self._max_batch)
        if not values:
            return []
        outputs: list[Any] = [None] * len(values)
        sent = []
        for i, v in enumerate(values):
            problem = argv_problem(i, v) if self._input_type == "str" else None
            if problem:
                self._error(problem)
            else:
                sent.append(i)
        args = [repr(values[i]) if self._input_type == "float" else values[i] for i in sent]
        budget = [self._max_retries]
        raw: list[str | None] = []
        for chunk in _chunks(args, self._max_args, 8 * _MAX_ARG_BYTES):
            raw.extend(self._run_chunk(chunk, budget))
        for i, out in zip(sent, self._convert(raw)):
            outputs[i] = out
        self._calls += len(values)
        return outputs

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a ScriptBlackBox cannot be pickled; forward calls to it instead")

    def _error(self, line: str) -> None:
        self._errors.append(f"{self._label}: {line}")

    def _run_chunk(self, args: list[str], budget: list[int]) -> list[str | None]:
        stdout, code, stderr = self._runner.run(args)
        if stdout is None:
            logger.warning("%s: no answer within %g s for %d inputs; killed", self._runner.describe(),
                           self._timeout, len(args))
            self._error(f"the script gave no answer within {self._timeout:g} s for {len(args)} inputs "
                        "and was killed; their outputs are None")
            return [None] * len(args)
        parsed = parse_pairs(stdout, args)
        if parsed is not None:
            return list(parsed)
        if code != 0 and len(args) > 1 and budget[0] >= 2:
            budget[0] -= 2
            half = len(args) // 2
            return self._run_chunk(args[:half], budget) + self._run_chunk(args[half:], budget)
        if code != 0:
            logger.warning("%s exited with code %s on %d inputs: %s", self._runner.describe(), code,
                           len(args), stderr.strip().splitlines()[-1:] or "")
            self._error(f"the script exited with code {code} on {len(args)} inputs without printing "
                        "its pairs line; their outputs are None")
        else:
            logger.warning("%s printed no parseable pairs line for %d inputs; stdout starts %r",
                           self._runner.describe(), len(args), stdout[:300])
            self._error(f"the script's output for {len(args)} inputs has no parseable "
                        f"`{PAIRS_PREFIX.strip()}` line; their outputs are None")
        return [None] * len(args)

    def _convert(self, raw: list[str | None]) -> list[Any]:
        if self._input_type == "str":
            return [None if r is None or r == "None" else r for r in raw]
        out: list[Any] = []
        bad = 0
        for r in raw:
            try:
                out.append(None if r is None else parse_number(r))
            except ValueError:
                out.append(None)
                bad += 1
        if bad:
            logger.warning("%s printed %d non-numeric outputs", self._runner.describe(), bad)
            self._error(f"{bad} of {len(raw)} printed outputs are not numbers; their outputs are None")
        return out
