"""Run model-written experiment code in a confined process (MAIA-style code rounds).

The model writes Python that calls the unit under study as `f(x)` or `f([x1, x2, ...])` and
prints or shows what it finds. `Sandbox.run(code)` executes one such cell in a long-lived child
process (one per investigation, so variables persist between rounds) and returns what came
out: stdout (truncated), an error with a traceback, PNG images, and the time it took.

Why a confined child and not `exec` in the agent: model code can loop forever, allocate without
bound, crash the interpreter, or go looking for the answer (the ground-truth files, the real
function's source, an API key, the parent process). The boundary is the operating system's:
the child runs under bubblewrap (`tools.isolation`), in its own namespaces, seeing only the
system libraries, the interpreter, its own script and its working directory. `f` in the child
is a stub that sends inputs over a pipe; the parent holds the real callable, validates each
request, counts inputs and sends back outputs.

Limits: wall clock (enforced here: the whole sandbox is killed), CPU time (RLIMIT_CPU, re-armed
per run), memory (RLIMIT_AS), processes (a pids cgroup where one is writable), file size, open
files, output size (truncated here). An audit hook in the child stays as a second layer that
turns obvious attempts into friendly errors; it is not the boundary (docs/sandbox.md).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
import logging
import math
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from agent.sandbox_child import HEADER, encode_frame
from tools import isolation

log = logging.getLogger(__name__)

CHILD_SCRIPT = Path(__file__).with_name("sandbox_child.py")
_RESERVED_NAMES = frozenset({"show", "plot"})
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SandboxError(RuntimeError):
    """The sandbox itself failed (it could not start); model-code failures are results, not this."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits (wall, CPU, output) and per-process limits (memory, files) of a sandbox."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 2048
    output_chars: int = 20_000
    file_mb: int = 64
    open_files: int = 64
    max_batch: int = 1000  # inputs per proxy request (the child's stub splits bigger batches)
    max_images: int = 8  # per run
    max_image_side: int = 1024  # pixels; bigger images are shrunk before they are sent
    max_message_mb: float = 64.0  # any one message from the child
    max_code_chars: int = 200_000
    start_seconds: float = 60.0
    processes: int = 16  # processes and threads at once (a pids cgroup where the machine has one)
    total_memory_mb: int = 4096  # the whole sandbox, tmpfs included (a memory cgroup where the machine has one)
    disk_mb: int = 256  # each writable tmpfs: the working directory, /tmp, /dev/shm
    max_image_mb: float = 4.0  # any one image, checked by the parent

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"SandboxLimits.{name} must be positive; got {value!r}")


@dataclass
class SandboxResult:
    """What one run produced. `error` is None when the code finished without an exception."""

    stdout: str
    error: str | None = None
    images: list[bytes] = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0  # black-box inputs evaluated during this run
    namespace_reset: bool = False  # variables from earlier runs are gone (the child was restarted)
    notice: str | None = None  # what happened before this run, e.g. the child had died since the last one

    @property
    def ok(self) -> bool:
        return self.error is None

    def observation(self) -> str:
        """The run as text for the model: output, error, and a note of the images shown."""
        parts = [f"[{self.notice}]"] if self.notice else []
        if self.stdout.strip():
            parts.append(self.stdout.rstrip("\n"))
        if self.error:
            parts.append(self.error)
        if self.images:
            parts.append(f"[{len(self.images)} image(s) shown]")
        return "\n".join(parts) if parts else "[no output]"


def default_deny_read() -> list[Path]:
    """Directories child code may never read: this project's ground-truth and scoring packages."""
    out = []
    for package in ("find_functions", "evals"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            out += [Path(p).resolve() for p in spec.submodule_search_locations]
    return out


class _ChildGone(Exception):
    """The child closed its pipe: it exited or was killed."""


class _Timeout(Exception):
    """The wall-clock deadline passed."""


class _BadMessage(Exception):
    """The child sent something that is not a valid protocol message."""


class Sandbox:
    """A long-lived child process running model code with proxies for the units under study.

    `proxies` maps a name in the child's namespace (usually "f") to a batched callable
    `inputs -> outputs` (e.g. a sealed black box). When it raises one of `input_errors` (a
    sealed function's input validation raises TypeError/ValueError), model code sees the
    message; any other exception reaches it only as "f failed", since its message could reveal
    the implementation. Use as a context manager; `run(code)` for each code round. If the child
    dies (timeout, crash, exit), the next run starts a fresh one and the result says the
    namespace was reset.
    """

    def __init__(
        self,
        proxies: Mapping[str, Callable[[list], Sequence[Any]]],
        limits: SandboxLimits = SandboxLimits(),
        deny_read: Sequence[os.PathLike | str] = (),
        *,
        input_errors: tuple[type[Exception], ...] = (TypeError, ValueError),
        confine: bool = True,
        python: str = sys.executable,
    ) -> None:
        for name, target in proxies.items():
            if not (isinstance(name, str) and name.isidentifier()) or name in _RESERVED_NAMES:
                raise ValueError(f"proxy name {name!r} must be a Python identifier other than show/plot")
            if not callable(target):
                raise TypeError(f"proxy {name!r} must be callable; got {type(target).__name__}")
        self.limits = limits
        self.deny_read = sorted({str(Path(p).resolve()) for p in [*default_deny_read(), *deny_read]})
        self.calls: dict[str, int] = {name: 0 for name in proxies}
        self.restarts = 0
        self._proxies = dict(proxies)
        self._input_errors = input_errors
        self._python = python
        self.confine = confine
        if confine and not isolation.probe().available:  # refuse now, in one line, before any run
            raise SandboxError(f"run_python needs an OS sandbox: {isolation.probe().problem}")
        #: On the host: the child's output file and, unconfined only, its working directory (confined,
        #: the working directory is a size-capped tmpfs inside the sandbox, gone with the child).
        self.base = Path(tempfile.mkdtemp(prefix="aia-sandbox-"))
        self._live: list[isolation.Confined] = []  # the running child, for the finalizer
        self._cleanup = weakref.finalize(self, _release, self.base, self._live)
        self._output = open(self.base / "output", "w+b")  # the child's fds 1 and 2
        self._proc: isolation.Confined | None = None
        self._to_child = self._from_child = -1
        self._cell = 0

    @property
    def confinement(self) -> str:
        """How the child is confined, for run records: the bubblewrap probe, or the opt-out."""
        return isolation.probe().describe() if self.confine else "none (explicitly unconfined)"

    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the child now (otherwise the first `run` does); raises SandboxError if it cannot."""
        if not self._cleanup.alive:
            raise SandboxError("this sandbox was closed")
        if self._proc is None or self._proc.poll() is not None:
            self._spawn()

    def close(self) -> None:
        """Kill the child and delete the working directory."""
        self._kill()
        self._output.close()
        self._cleanup()

    # ------------------------------------------------------------------ running

    def run(self, code: str) -> SandboxResult:
        """Run one cell of model code; failures of the code come back in `error`, never raised."""
        if not isinstance(code, str):
            raise TypeError(f"code must be a str; got {type(code).__name__}")
        started = time.monotonic()
        if len(code) > self.limits.max_code_chars:
            return SandboxResult(
                stdout="",
                error=f"ValueError: the code is {len(code):,} characters; the limit is {self.limits.max_code_chars:,}",
            )
        notice = None
        if self._proc is not None and self._proc.poll() is not None:
            notice = (
                f"the sandbox process had died since the last run (exit status {self._proc.returncode}); "
                "it was restarted and the namespace was reset"
            )
        reset = notice is not None
        self.start()
        self._cell += 1
        os.ftruncate(self._output.fileno(), 0)
        os.lseek(self._output.fileno(), 0, os.SEEK_SET)  # the child shares this file offset
        self._set_cpu_limit()
        deadline = time.monotonic() + self.limits.wall_seconds  # a restart above does not eat into it
        calls, images, error = 0, [], None
        try:
            self._send({"op": "run", "code": code, "cell": self._cell}, deadline)
            while True:
                message = self._receive(deadline)
                if message.get("op") == "call":
                    reply, n = self._serve(message)
                    calls += n
                    self._send_frame(reply, deadline)
                elif message.get("op") == "done":
                    error, images = self._finish(message)
                    strays = self._proc.kill_strays() if self._proc is not None else 0
                    if strays:  # a run's processes do not outlive it (nor its wall clock)
                        note = f"[the sandbox killed {strays} process(es) this run left running]\n"
                        os.write(self._output.fileno(), note.encode())
                    break
                else:
                    raise _BadMessage(f"unexpected message {str(message.get('op'))[:40]!r}")
        except _Timeout:
            self._kill()
            reset, error = True, (
                f"TimeoutError: the code ran past the {self.limits.wall_seconds:g} s wall-clock limit; "
                "the sandbox process was killed and the namespace was reset"
            )
        except _ChildGone:
            reset, error = True, self._death_notice()
        except _BadMessage as exc:
            self._kill()
            reset, error = True, (
                f"SandboxError: the sandbox process sent an invalid message ({exc}); "
                "it was killed and the namespace was reset"
            )
        return SandboxResult(
            stdout=self._read_output(),
            error=error,
            images=images,
            seconds=time.monotonic() - started,
            calls=calls,
            namespace_reset=reset,
            notice=notice,
        )

    def _serve(self, message: dict[str, Any]) -> tuple[bytes, int]:
        """Answer one proxy request (as a frame): validate, call the real callable, count the inputs."""
        name, inputs = message.get("name"), message.get("inputs")
        if not isinstance(name, str) or name not in self._proxies:
            return encode_frame({"error": f"there is no black box named {str(name)[:40]!r}"}), 0
        if not isinstance(inputs, list):
            return encode_frame({"error": f"{name} needs a list of inputs; got {type(inputs).__name__}"}), 0
        if len(inputs) > self.limits.max_batch:
            limit = self.limits.max_batch
            return encode_frame({"error": f"{name} takes at most {limit} inputs per call; got {len(inputs)}"}), 0
        try:
            outputs = list(self._proxies[name](inputs))
        except self._input_errors as exc:  # e.g. a sealed function's input validation: the model needs it
            return encode_frame({"error": f"{name} rejected the inputs: {type(exc).__name__}: {str(exc)[:500]}"}), 0
        except Exception:  # its message may reveal the implementation: the child is told nothing more
            log.warning("proxy %s failed", name, exc_info=True)
            return encode_frame({"error": f"{name} failed on this request"}), 0
        if len(outputs) != len(inputs):
            return encode_frame({"error": f"{name} returned {len(outputs)} outputs for {len(inputs)} inputs"}), 0
        self.calls[name] += len(inputs)
        try:
            return encode_frame({"outputs": outputs}), len(inputs)
        except (TypeError, ValueError) as exc:
            log.warning("proxy %s returned outputs that cannot be sent", name, exc_info=True)
            return encode_frame({"error": f"{name} returned outputs that cannot be sent ({exc})"}), len(inputs)

    def _finish(self, message: dict[str, Any]) -> tuple[str | None, list[bytes]]:
        error, raw = message.get("error"), message.get("images")
        if not (error is None or isinstance(error, str)) or not isinstance(raw, list):
            raise _BadMessage("a malformed done message")
        if len(raw) > self.limits.max_images:
            raise _BadMessage(f"{len(raw)} images")
        images = []
        for item in raw:
            try:
                png = base64.b64decode(item, validate=True)
            except (TypeError, ValueError, binascii.Error) as exc:
                raise _BadMessage("an image that is not base64") from exc
            if not png.startswith(_PNG_MAGIC) or png[12:16] != b"IHDR":
                raise _BadMessage("an image that is not a PNG")
            width, height = struct.unpack(">II", png[16:24])  # the child shrinks images; a forged one is refused
            if len(png) > self.limits.max_image_mb * 2**20 or max(width, height) > self.limits.max_image_side:
                raise _BadMessage(f"an image of {len(png):,} bytes and {width}x{height} pixels")
            images.append(png)
        return error, images

    def _read_output(self) -> str:
        limit = self.limits.output_chars
        fd = self._output.fileno()
        size = os.fstat(fd).st_size
        text = os.pread(fd, 4 * limit + 4, 0).decode("utf-8", errors="replace")
        if len(text) <= limit and size <= 4 * limit + 4:
            return text
        return text[:limit] + f"\n[... output truncated: {size:,} bytes in all, showing the first {limit:,} characters]"

    def _death_notice(self) -> str:
        """Why the child died, for the model to read."""
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None  # it closed its pipe but lives on: killed below
        self._kill()
        tail = "; the sandbox process was restarted and the namespace was reset"
        if code is not None and code < 0:
            sig = -code
            if sig == getattr(signal, "SIGXCPU", None):
                return f"TimeoutError: the code used more than {self.limits.cpu_seconds} s of CPU time" + tail
            if sig == signal.SIGKILL:
                return "SystemError: the sandbox process was killed (SIGKILL; out of memory?)" + tail
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return f"SystemError: the sandbox process crashed ({name})" + tail
        if code is None:
            return "SystemError: the sandbox process stopped answering and was killed" + tail
        return f"SystemExit: the sandbox process exited with status {code}" + tail

    # ------------------------------------------------------------------ the child process

    def _spawn(self) -> None:
        if self._cell:  # it ran before: this is a restart
            self.restarts += 1
        self._kill()
        os.ftruncate(self._output.fileno(), 0)  # so that a failed start shows only its own output
        os.lseek(self._output.fileno(), 0, os.SEEK_SET)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        limits = isolation.Limits(
            memory_bytes=int(self.limits.memory_mb * 2**20), file_bytes=int(self.limits.file_mb * 2**20),
            open_files=int(self.limits.open_files), processes=self.limits.processes,
            total_memory_bytes=int(self.limits.total_memory_mb * 2**20), tmpfs_bytes=int(self.limits.disk_mb * 2**20))
        flags = ["-I", "-B", "-u", "-X", "utf8"]
        try:
            if self.confine:
                script, work = f"{isolation.INSIDE_ROOT}/sandbox_child.py", f"{isolation.INSIDE_ROOT}/work"
                jail = isolation.Jail(read_only=[(CHILD_SCRIPT, script)], scratch=[work],
                                      env={"HOME": work, "MPLCONFIGDIR": f"{work}/.matplotlib"}, cwd=work)
                self._inside_workdir = work
                self._proc = isolation.spawn([self._python, *flags, script, str(from_child_w)], jail, limits,
                                             stdin=to_child_r, stdout=self._output, stderr=self._output,
                                             pass_fds=(from_child_w,))
            else:  # the explicit opt-out: the same limits and protocol, no namespaces
                workdir = self.base / "work"
                workdir.mkdir(exist_ok=True)
                self._inside_workdir = str(workdir)
                env = {**isolation.BASE_ENV, "HOME": str(workdir), "TMPDIR": str(workdir),
                       "MPLCONFIGDIR": str(workdir / ".matplotlib")}
                self._proc = isolation.spawn_unconfined(
                    [self._python, *flags, str(CHILD_SCRIPT), str(from_child_w)], limits, cwd=workdir,
                    env=env, stdin=to_child_r, stdout=self._output, stderr=self._output, pass_fds=(from_child_w,))
        except (OSError, isolation.IsolationUnavailable) as exc:
            os.close(to_child_w)
            os.close(from_child_r)
            raise SandboxError(f"could not start the sandbox process: {exc}") from exc
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._live.append(self._proc)
        self._to_child, self._from_child = to_child_w, from_child_r
        os.set_blocking(self._to_child, False)
        config = {
            "workdir": self._inside_workdir,
            "deny_read": self.deny_read,
            "proxies": sorted(self._proxies),
            "max_batch": self.limits.max_batch,
            "max_images": self.limits.max_images,
            "max_image_side": self.limits.max_image_side,
        }
        deadline = time.monotonic() + self.limits.start_seconds
        try:
            self._send(config, deadline)
            ready = self._receive(deadline)
            if ready.get("op") != "ready":
                raise _BadMessage(f"expected ready, got {str(ready)[:80]}")
        except (_ChildGone, _Timeout, _BadMessage) as exc:
            self._kill()
            why = {
                _ChildGone: "it exited",
                _Timeout: f"no answer within {self.limits.start_seconds:g} s",
            }.get(type(exc), f"it sent {exc}")
            raise SandboxError(
                f"the sandbox process did not start ({why}); its output: {self._read_output()[-2000:]!r}"
            ) from None

    def _set_cpu_limit(self) -> None:
        """RLIMIT_CPU counts a process's whole life; set the soft limit to what it has used plus one run's worth."""
        pid = self._proc.payload_pid() if self._proc is not None else None
        if not hasattr(resource, "prlimit") or pid is None:
            return
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            _, hard = resource.prlimit(pid, resource.RLIMIT_CPU)
            soft = math.ceil(used + self.limits.cpu_seconds)
            if os.geteuid() == 0:  # the parent can raise a hard limit again next run: pin it, so code cannot lift it
                hard = soft + 1
            elif hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.prlimit(pid, resource.RLIMIT_CPU, (soft, hard))
        except (OSError, ValueError, IndexError):
            log.warning("could not set the sandbox's CPU limit; the wall-clock limit still applies", exc_info=True)

    def _kill(self) -> None:
        """Kill the child's process group, reap it and close the pipes (`_proc` becomes None)."""
        if self._proc is not None:
            self._proc.kill()
            self._live.remove(self._proc)
            self._proc = None
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                os.close(fd)
        self._to_child = self._from_child = -1

    def _send(self, message: dict[str, Any], deadline: float) -> None:
        self._send_frame(encode_frame(message), deadline)

    def _send_frame(self, frame: bytes, deadline: float) -> None:
        data = memoryview(frame)
        while data:
            _, writable, _ = select.select([], [self._to_child], [], max(0.0, deadline - time.monotonic()))
            if not writable:
                raise _Timeout
            try:
                data = data[os.write(self._to_child, data) :]
            except BlockingIOError:
                continue
            except BrokenPipeError as exc:
                raise _ChildGone from exc

    def _receive(self, deadline: float) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read_exact(HEADER.size, deadline))
        if size > self.limits.max_message_mb * (1 << 20):
            raise _BadMessage(f"a message of {size:,} bytes")
        try:
            message = json.loads(self._read_exact(size, deadline))
        except (ValueError, RecursionError) as exc:
            raise _BadMessage("a message that is not JSON") from exc
        if not isinstance(message, dict):
            raise _BadMessage("a message that is not a JSON object")
        return message

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            readable, _, _ = select.select([self._from_child], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                raise _Timeout
            chunk = os.read(self._from_child, min(left, 1 << 20))
            if not chunk:
                raise _ChildGone
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _release(base: Path, live: list[isolation.Confined]) -> None:
    """Finalizer: kill a child left running and delete the sandbox's directory."""
    for proc in live:
        proc.kill()
    shutil.rmtree(base, ignore_errors=True)
