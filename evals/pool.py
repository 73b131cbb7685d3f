"""Worker processes for the runners: started fresh (never forked), and a dead one costs one row.

Never fork. A parent that has run torch (MiniLM builds the entity suite; the judge and the
black boxes embed words) holds thread pools and locks whose owning threads do not exist in a
forked child, and the child's first forward pass waits on them forever: `aia bench` on a fresh
cache hung exactly so, on its first entity function. Every pool here starts its workers with
`spawn`: a new interpreter that imports what it needs and builds its own state from picklable
arguments (a config, a model name, or a model object sent by value).

A dead worker is survived. A worker killed by the OS (out of memory) or by the code it runs
breaks the whole `ProcessPoolExecutor` (`BrokenProcessPool`), and every task in flight with it.
`resilient_map` then starts a new pool and reruns the tasks that were in flight one at a time,
so that the one which kills its worker is found; that one is handed to `on_crash` (which makes
its error row) instead of being run again, and the rest go on.

Waiting is not work. An LLM investigation spends its time waiting on the API, so `threaded_map`
runs up to `concurrency` of them at once as threads of one process (the runners' `--concurrency`),
results in completion order like `resilient_map`'s, so the one writer still appends one row at a
time; `stop()` is asked before each item starts (a spent `--max-usd`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Generator, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

SPAWN = multiprocessing.get_context("spawn")


class WorkerStartError(Exception):
    """A worker process could not build its state (the message says why)."""


# Per-process state of a worker: what `factory(*args)` built, or why it could not be built.
_STATE: Any = None


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the process that started it dies. A spawned
    pool worker holds both ends of its task queue, so it never sees its parent go and would wait
    for work forever (with whatever it holds: black boxes, a model, open pipes)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call above: nobody will send the signal
        os._exit(1)


def _start(factory: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _STATE
    _die_with_parent()
    try:
        _STATE = factory(*args)
    except Exception as e:  # noqa: BLE001 - reported to the parent with the first task, as one line
        _STATE = WorkerStartError(f"{type(e).__name__}: {e}")


def _call(method: str, item: Any) -> Any:
    if isinstance(_STATE, WorkerStartError):
        raise _STATE
    return getattr(_STATE, method)(item)


def _never() -> bool:
    return False


def threaded_map(fn: Callable[[T], R], items: Iterable[T], *, concurrency: int,
                 on_submit: Callable[[T], None] = lambda item: None,
                 stop: Callable[[], bool] = _never) -> Iterator[R]:
    """`fn(item)` for every item, up to `concurrency` at a time in threads of this process; results
    in completion order (the caller, one thread, writes them). `on_submit(item)` runs just before an
    item starts; once `stop()` is true no further item starts (those running finish). `fn` must not
    raise: it returns its own error row."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    todo: deque[T] = deque(items)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="aia-item") as pool:
        pending: set[Future] = set()
        while todo or pending:
            while todo and len(pending) < concurrency and not stop():
                item = todo.popleft()
                on_submit(item)
                pending.add(pool.submit(fn, item))
            if not pending:  # stopped
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


def resilient_map(factory: Callable[..., Any], args: tuple[Any, ...], method: str, items: Iterable[T], *,
                  workers: int, on_crash: Callable[[T], R], in_flight: int | None = None,
                  on_submit: Callable[[T], None] = lambda item: None,
                  stop: Callable[[], bool] = _never) -> Iterator[R]:
    """`factory(*args).method(item)` for every item, in `workers` spawned processes (each builds
    its state once); results in completion order, at most `in_flight` (default 2 x workers)
    submitted at a time so that an interrupted run loses little work. `on_submit(item)` runs just
    before an item is handed to a worker; once `stop()` is true no further item is handed out.
    An item whose worker dies under it yields `on_crash(item)`. A worker whose `factory` fails
    raises WorkerStartError."""
    todo: deque[T] = deque(items)
    while todo and not stop():
        lost = yield from _drain(factory, args, method, todo, workers, in_flight or 2 * workers, on_submit, stop)
        if len(lost) == 1:
            yield on_crash(lost[0])
            continue
        suspects = deque(lost)
        while suspects:  # one at a time, so that a crash names its item
            for item in (yield from _drain(factory, args, method, suspects, 1, 1, on_submit, _never)):
                yield on_crash(item)


def _drain(factory: Callable[..., Any], args: tuple[Any, ...], method: str, queue: deque[T], workers: int,
           in_flight: int, on_submit: Callable[[T], None],
           stop: Callable[[], bool]) -> Generator[Any, None, list[T]]:
    """Run items off the front of `queue` in one pool, yielding results as they finish, until the
    queue is empty (returns []) or the pool breaks (returns the items it lost)."""
    with ProcessPoolExecutor(workers, mp_context=SPAWN, initializer=_start, initargs=(factory, args)) as pool:
        pending: dict[Future, T] = {}
        while queue or pending:
            while queue and len(pending) < in_flight and not stop():
                item = queue.popleft()
                on_submit(item)
                try:
                    pending[pool.submit(_call, method, item)] = item
                except BrokenProcessPool:
                    queue.appendleft(item)  # never started: not a suspect
                    break
            if not pending:  # the pool broke while idle (nothing was lost), or stop() said so
                return []
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = [f for f in finished if isinstance(f.exception(), BrokenProcessPool)]
            for future in finished:
                if future not in broken:
                    del pending[future]
                    yield future.result()
            if broken:
                return list(pending.values())
    return []
