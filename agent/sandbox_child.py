"""The process that runs model-written code for `agent.sandbox`.

The parent starts this file as a script (`python -I -B -u -X utf8 sandbox_child.py REPLY_FD`), so it
imports nothing from the project: the project's own directories may be on the deny-list, and
the child must not be able to import the ground truth by accident.

File descriptors: 0 carries requests from the parent (moved to a private descriptor at start,
so that `input()` in model code reads /dev/null, not the protocol), REPLY_FD carries replies
to the parent, 1 and 2 both write to a file the parent reads (and truncates) around each run.

Messages are JSON objects framed by a 4-byte big-endian length, never pickles: the parent
must not execute anything the child sends. The parent sends one `config` message, then
`run` messages; during a run the child may send `call` messages (a proxy call) and waits for
the answer; each run ends with one `done` message.

What confines the child is the operating system, set up by the parent (`tools.isolation`): its
own namespaces under bubblewrap, a filesystem of system libraries, the interpreter and its
working directory only, resource limits and a process cap, a scrubbed environment. What the
child does to itself before any model code runs is a second layer that gives friendlier errors:
preloads of numpy and pillow, and an audit hook (PEP 578) that refuses network use, new
processes, signals, writes outside the working directory, reads under deny-listed roots, ctypes
and limit changes. Code can switch an audit hook off; the namespaces stay.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import linecache
import math
import os
import signal
import struct
import sys
import traceback
import types
from typing import Any, Callable

#: Frame header: the length of the JSON body that follows, in bytes.
HEADER = struct.Struct(">I")

#: Modules loaded before the audit hook goes in: numpy imports ctypes, which the hook refuses,
#: and many libraries import subprocess (whose use the hook refuses) at import time.
PRELOAD = ("subprocess", "numpy", "PIL.Image", "PIL.ImageDraw", "PIL.ImageFont")

#: Modules that would reach around the hook (direct process spawning, foreign calls).
REFUSED_IMPORTS = frozenset({"_posixsubprocess", "_ctypes", "ctypes", "_cffi_backend", "cffi"})

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def encode_frame(message: dict[str, Any]) -> bytes:
    """One protocol frame: header plus UTF-8 JSON (NaN and infinities allowed, as Python's json does)."""
    body = json.dumps(message, default=_plain, ensure_ascii=False).encode("utf-8")
    return HEADER.pack(len(body)) + body


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays (black boxes and model code use them all the time)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a {type(value).__name__} cannot be sent as JSON")


class SandboxViolation(PermissionError):
    """Raised (by the audit hook) when model code does something the sandbox does not allow."""


class BlackBoxError(RuntimeError):
    """A black-box call the parent refused or could not answer."""


class _Channel:
    """Blocking framed JSON over two pipe descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(encode_frame(message))
        while data:
            data = data[os.write(self.write_fd, data) :]

    def receive(self) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read_exact(HEADER.size))
        return json.loads(self._read_exact(size))

    def _read_exact(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            chunk = os.read(self.read_fd, min(left, 1 << 20))
            if not chunk:  # the parent has gone: nothing left to serve
                os._exit(0)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class BlackBoxProxy:
    """Stands in for a callable the parent holds: `f(x)` gives one output, `f([x1, x2])` a list.

    It carries its name and nothing else (no code, closure, globals or path of the real
    function); every call travels to the parent, which validates and counts it.
    """

    __slots__ = ("_name", "_call", "_max_batch")

    def __init__(self, name: str, call: Callable[[str, list], list], max_batch: int) -> None:
        self._name = name
        self._call = call
        self._max_batch = max_batch

    def __call__(self, x: Any, *more: Any) -> Any:
        if more:
            raise TypeError(
                f"{self._name} takes one argument: an input, or a list of inputs for a batch "
                f"(e.g. {self._name}([1, 2, 3])); got {1 + len(more)} arguments"
            )
        if not _is_batch(x):
            return self._call(self._name, [self._plain_input(x)])[0]
        inputs = [self._plain_input(item) for item in x]
        outputs: list = []
        for start in range(0, len(inputs), self._max_batch):
            outputs += self._call(self._name, inputs[start : start + self._max_batch])
        if hasattr(x, "tolist"):  # an array in, an array out: vectorised code keeps working on it
            return _as_array(outputs)
        return outputs

    def _plain_input(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [self._plain_input(item) for item in value]
        if hasattr(value, "tolist"):  # numpy scalars and arrays
            return self._plain_input(value.tolist())
        raise TypeError(
            f"inputs to {self._name} must be numbers, strings, None or lists of them; got {type(value).__name__}"
        )

    def __repr__(self) -> str:
        return f"<black box {self._name}: {self._name}(x) -> output, {self._name}([x1, x2, ...]) -> [outputs]>"


def _as_array(outputs: list) -> Any:
    """Outputs as a numpy array: floats (None as NaN) when they are all numbers, else objects or strings."""
    import numpy as np

    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in outputs):
        return np.array([math.nan if v is None else v for v in outputs], dtype=float)
    if all(isinstance(v, str) for v in outputs):
        return np.array(outputs, dtype=str)
    return np.array(outputs, dtype=object)


def fit(model: Callable[..., Any], xs: Any, ys: Any, p0: Any = None) -> tuple[Any, float]:
    """Least-squares fit of `model(x, *params)` to (xs, ys) with scipy.optimize.curve_fit.

    Returns (params, rmse): the fitted parameters as an array and the root-mean-square residual.
    Points where ys is None or not finite are left out. Without p0, curve_fit needs the number of
    parameters from model's signature, so give p0 when model takes *args.
    """
    import numpy as np
    from scipy.optimize import curve_fit

    x = np.asarray(xs, dtype=float)
    y = np.asarray([math.nan if v is None else v for v in np.asarray(ys, dtype=object).tolist()], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() == 0:
        raise ValueError("fit() got no finite (x, y) pairs")
    params, _ = curve_fit(model, x[keep], y[keep], p0=p0, maxfev=20000)
    residual = y[keep] - np.asarray(model(x[keep], *params), dtype=float)
    return params, float(np.sqrt(np.mean(residual**2)))


def _is_batch(x: Any) -> bool:
    if isinstance(x, (list, tuple, range, types.GeneratorType)):
        return True
    return hasattr(x, "tolist") and getattr(x, "ndim", 0) >= 1


# ---------------------------------------------------------------- the audit hook


def make_guard(write_root: str, deny_read: list[str]) -> Callable[[str, tuple], None]:
    """The audit hook: refuses events that reach outside the sandbox (see the module docstring)."""
    own_proc = f"/proc/{os.getpid()}"
    deny = [os.path.realpath(p) for p in deny_read]
    root = os.path.realpath(write_root)

    def refuse(what: str) -> None:
        raise SandboxViolation(f"the sandbox does not allow {what}")

    def resolve(path: Any) -> str | None:
        """The real absolute path, or None for an already-open descriptor."""
        if path is None:
            path = "."
        if isinstance(path, int):
            return None
        return os.path.realpath(os.fsdecode(os.fspath(path)))

    def under(path: str, top: str) -> bool:
        return path == top or path.startswith(top.rstrip(os.sep) + os.sep)

    def check_read(path: Any) -> None:
        real = resolve(path)
        if real is None:
            return
        for top in deny:
            if under(real, top):
                refuse(f"reading {real} (a protected path)")
        parts = real.split(os.sep)
        if len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and not under(real, own_proc):
            refuse(f"reading {real} (another process)")

    def check_write(path: Any, dir_fd: int = -1) -> None:
        if isinstance(path, int):
            return
        text = os.fsdecode(os.fspath(path))
        if dir_fd not in (-1, None) and not os.path.isabs(text):
            refuse(f"file operations relative to a directory descriptor ({text!r})")
        real = resolve(text)
        if real is not None and real != os.devnull and not under(real, root):
            refuse(f"writing {real}: only the working directory {root} is writable")

    def on_open(args: tuple) -> None:
        path, mode, flags = args  # a relative path counts from the cwd: the event does not carry a dir_fd
        check_read(path)
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        if writing:
            check_write(path)

    def on_import(args: tuple) -> None:
        if args[0] in REFUSED_IMPORTS:
            refuse(f"importing {args[0]}")

    def on_sqlite(args: tuple) -> None:
        if args[0] != ":memory:":
            check_read(args[0])
            check_write(args[0])

    def process(args: tuple) -> None:
        refuse("starting processes")

    def signal_(args: tuple) -> None:
        refuse("sending signals")

    def limits(args: tuple) -> None:
        refuse("changing resource limits")

    handlers: dict[str, Callable[[tuple], None]] = {
        "open": on_open,
        "import": on_import,
        "os.listdir": lambda a: check_read(a[0]),
        "os.scandir": lambda a: check_read(a[0]),
        "os.remove": lambda a: check_write(a[0], a[1]),
        "os.rmdir": lambda a: check_write(a[0], a[1]),
        "os.mkdir": lambda a: check_write(a[0], a[2]),
        "os.rename": lambda a: (check_write(a[0], a[2]), check_write(a[1], a[3])),
        "os.link": lambda a: (check_read(a[0]), check_write(a[1], a[3])),
        "os.symlink": lambda a: check_write(a[1], a[2]),
        "os.truncate": lambda a: check_write(a[0]),
        "os.chmod": lambda a: check_write(a[0], a[2]),
        "os.chown": lambda a: check_write(a[0], a[3]),
        "os.utime": lambda a: check_write(a[0], a[3]),
        "sqlite3.connect": on_sqlite,
        "os.fork": process,
        "os.forkpty": process,
        "os.posix_spawn": process,
        "os.spawn": process,
        "os.exec": process,
        "os.system": process,
        "os.startfile": process,
        "subprocess.Popen": process,
        "pty.spawn": process,
        "os.kill": signal_,
        "os.killpg": signal_,
        "signal.pthread_kill": signal_,
        "resource.setrlimit": limits,
        "resource.prlimit": limits,
    }

    def guard(event: str, args: tuple) -> None:
        handler = handlers.get(event)
        if handler is not None:
            handler(args)
        elif event.startswith("socket."):
            refuse(f"network access ({event})")
        elif event.startswith("ctypes."):
            refuse(f"ctypes ({event})")

    return guard


# ---------------------------------------------------------------- images


class _Images:
    """The images shown during one run, as PNG bytes."""

    def __init__(self, max_images: int, max_side: int) -> None:
        self.max_images = max_images
        self.max_side = max_side
        self.png: list[bytes] = []

    def show(self, image: Any) -> None:
        """Display an image: a PIL image, a matplotlib figure, or an HxW / HxWx3 / HxWx4 array."""
        png = self._encode(image)
        if len(self.png) >= self.max_images:
            print(f"[show: only the first {self.max_images} images of a run are kept; this one was dropped]")
            return
        self.png.append(png)

    def _encode(self, image: Any) -> bytes:
        from PIL import Image

        buf = io.BytesIO()
        if hasattr(image, "savefig"):  # a matplotlib figure
            image.savefig(buf, format="png")
            return buf.getvalue()
        if hasattr(image, "__array__") and not isinstance(image, Image.Image):
            image = _array_to_image(image)
        if not isinstance(image, Image.Image):
            raise TypeError(
                f"show() takes a PIL image, a matplotlib figure or an image array; got {type(image).__name__}"
            )
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGB")
        if max(image.size) > self.max_side:
            image = image.copy()
            image.thumbnail((self.max_side, self.max_side))
        image.save(buf, format="PNG")
        return buf.getvalue()

    def capture_matplotlib(self) -> None:
        """Keep the figures model code left open with pyplot (only if it imported pyplot)."""
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        for number in plt.get_fignums():
            self.show(plt.figure(number))
        plt.close("all")


def _array_to_image(array: Any) -> Any:
    import numpy as np
    from PIL import Image

    a = np.asarray(array)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"an image array must be HxW, HxWx3 or HxWx4; got shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.asarray(a, dtype=float)
        top = 1.0 if np.nanmax(a) <= 1.0 else 255.0
        a = (np.clip(np.nan_to_num(a) / top, 0.0, 1.0) * 255).round().astype(np.uint8)
    return Image.fromarray(a)


def make_plot(show: Callable[[Any], None]) -> Callable[..., None]:
    """A `plot(xs, ys, title="")` that draws a line plot with pillow and shows it."""

    def plot(xs: Any, ys: Any = None, title: str = "") -> None:
        """Show a line plot of ys against xs (`plot(ys)` uses 0, 1, 2, ... as xs); None values leave gaps."""
        from PIL import Image, ImageDraw, ImageFont

        if ys is None:
            xs, ys = range(len(list(xs))), xs
        xs, ys = list(xs), list(ys)
        if len(xs) != len(ys):
            raise ValueError(f"plot() needs as many xs as ys; got {len(xs)} and {len(ys)}")
        points = [(_number(x), _number(y)) for x, y in zip(xs, ys)]
        finite = [(x, y) for x, y in points if x is not None and y is not None]
        if not finite:
            raise ValueError("plot() got no finite (x, y) pairs to draw")
        width, height, left, right, top, bottom = 640, 400, 72, 20, 32, 44
        x0, x1 = _span([x for x, _ in finite])
        y0, y1 = _span([y for _, y in finite])

        def to_px(x: float, y: float) -> tuple[float, float]:
            return (
                left + (x - x0) / (x1 - x0) * (width - left - right),
                height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom),
            )

        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        try:
            font = ImageFont.load_default(size=12)
        except TypeError:  # pillow < 10.1 has no sized default font
            font = ImageFont.load_default()
        for fx in _ticks(x0, x1):
            px, _ = to_px(fx, y0)
            draw.line([(px, top), (px, height - bottom)], fill=(230, 230, 230))
            draw.line([(px, height - bottom), (px, height - bottom + 4)], fill="black")
            draw.text((px, height - bottom + 6), f"{fx:.6g}", fill="black", font=font, anchor="ma")
        for fy in _ticks(y0, y1):
            _, py = to_px(x0, fy)
            draw.line([(left, py), (width - right, py)], fill=(230, 230, 230))
            draw.line([(left - 4, py), (left, py)], fill="black")
            draw.text((left - 6, py), f"{fy:.4g}", fill="black", font=font, anchor="rm")
        for fx, fy in ((0.0, None), (None, 0.0)):  # the axes through 0, when in view
            if fx is not None and x0 < fx < x1:
                px, _ = to_px(fx, y0)
                draw.line([(px, top), (px, height - bottom)], fill=(150, 150, 150))
            if fy is not None and y0 < fy < y1:
                _, py = to_px(x0, fy)
                draw.line([(left, py), (width - right, py)], fill=(150, 150, 150))
        draw.rectangle([left, top, width - right, height - bottom], outline="black")
        segment: list[tuple[float, float]] = []
        for x, y in points + [(None, None)]:
            if x is None or y is None:
                if len(segment) > 1:
                    draw.line(segment, fill=(31, 119, 180), width=2)
                segment = []
            else:
                segment.append(to_px(x, y))
        if len(finite) <= 100:
            for x, y in finite:
                px, py = to_px(x, y)
                draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=(31, 119, 180))
        if title:
            draw.text((width / 2, 8), str(title), fill="black", font=font, anchor="ma")
        show(image)

    return plot


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions in [low, high]: multiples of a 1-2-5 step, so labels read 0, 20, 40."""
    raw = (high - low) / target
    if not raw > 0 or not math.isfinite(raw):
        return [low]
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 5, 10) if raw <= f * power)
    return [round(k * step, 12) for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


def _span(values: list[float]) -> tuple[float, float]:
    """The axis range: the data's range plus a 4% margin, so points on the edges stay visible."""
    low, high = min(values), max(values)
    pad = 0.04 * (high - low) if high > low else 1.0
    return low - pad, high + pad


# ---------------------------------------------------------------- running code


class Runtime:
    """Runs cells of model code in one namespace that lives as long as this process."""

    def __init__(self, channel: _Channel, config: dict[str, Any]) -> None:
        self.channel = channel
        self.images = _Images(config["max_images"], config["max_image_side"])
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        for name in config["proxies"]:
            self.namespace[name] = BlackBoxProxy(name, self._call_parent, config["max_batch"])
        self.namespace["show"] = self.images.show
        self.namespace["plot"] = make_plot(self.images.show)
        self.namespace["fit"] = fit

    def _call_parent(self, name: str, inputs: list) -> list:
        self.channel.send({"op": "call", "name": name, "inputs": inputs})
        reply = self.channel.receive()
        if "error" in reply:
            raise BlackBoxError(reply["error"])
        return reply["outputs"]

    def run(self, code: str, cell: int) -> dict[str, Any]:
        self.images.png = []
        error = None
        try:
            self._execute(code, f"<cell {cell}>")
            self.images.capture_matplotlib()
        except BaseException as exc:  # noqa: BLE001 - everything model code raises is an observation
            error = _describe(exc)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
        images = [base64.b64encode(png).decode("ascii") for png in self.images.png]
        return {"op": "done", "error": error, "images": images}

    def _execute(self, code: str, filename: str) -> None:
        """Like a notebook cell: statements run, and a final expression's value is printed."""
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), self.namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), self.namespace)
            if value is not None:
                print(repr(value))


def _describe(exc: BaseException) -> str:
    """`Type: message` on the first line, then the traceback of model code (runtime frames dropped)."""
    if isinstance(exc, SystemExit):
        return "SystemExit: the code called exit(); the sandbox keeps running and the namespace is kept"
    lines = traceback.format_exception_only(type(exc), exc)
    head = lines[-1].strip()
    if isinstance(exc, SyntaxError):  # the parser's frames mean nothing to the model; the caret does
        return head + "\n" + "".join(lines[:-1]).rstrip()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return head
    return head + "\nTraceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + head


def _disarm_unaudited_starts() -> None:
    """Replace what starts processes or threads without an audit event.

    `_posixsubprocess.fork_exec` spawns processes; threads would outlive a run and talk over the
    single-threaded protocol pipe (RLIMIT_NPROC stops them too, but not when running as root).
    """

    def fork_exec(*args: Any) -> None:
        raise SandboxViolation("the sandbox does not allow starting processes")

    def start_new_thread(*args: Any) -> None:
        raise SandboxViolation("the sandbox does not allow starting threads")

    import _posixsubprocess
    import _thread
    import subprocess
    import threading

    _posixsubprocess.fork_exec = subprocess._fork_exec = fork_exec
    _thread.start_new_thread = _thread.start_new = threading._start_new_thread = start_new_thread


def main(argv: list[str]) -> None:
    control = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    channel = _Channel(control, int(argv[1]))
    config = channel.receive()
    os.chdir(config["workdir"])
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file becomes an OSError, not a kill
    for module in PRELOAD:
        try:
            __import__(module)
        except ImportError:
            pass
    _disarm_unaudited_starts()
    runtime = Runtime(channel, config)
    sys.addaudithook(make_guard(config["workdir"], config["deny_read"]))
    channel.send({"op": "ready", "pid": os.getpid()})
    while True:
        message = channel.receive()
        channel.send(runtime.run(message["code"], message["cell"]))


if __name__ == "__main__":
    main(sys.argv)
