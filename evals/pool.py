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
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
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


def resilient_map(factory: Callable[..., Any], args: tuple[Any, ...], method: str, items: Iterable[T], *,
                  workers: int, on_crash: Callable[[T], R], in_flight: int | None = None,
                  on_submit: Callable[[T], None] = lambda item: None) -> Iterator[R]:
    """`factory(*args).method(item)` for every item, in `workers` spawned processes (each builds
    its state once); results in completion order, at most `in_flight` (default 2 x workers)
    submitted at a time so that an interrupted run loses little work. `on_submit(item)` runs just
    before an item is handed to a worker. An item whose worker dies under it yields
    `on_crash(item)`. A worker whose `factory` fails raises WorkerStartError."""
    todo: deque[T] = deque(items)
    while todo:
        lost = yield from _drain(factory, args, method, todo, workers, in_flight or 2 * workers, on_submit)
        if len(lost) == 1:
            yield on_crash(lost[0])
            continue
        suspects = deque(lost)
        while suspects:  # one at a time, so that a crash names its item
            for item in (yield from _drain(factory, args, method, suspects, 1, 1, on_submit)):
                yield on_crash(item)


def _drain(factory: Callable[..., Any], args: tuple[Any, ...], method: str, queue: deque[T], workers: int,
           in_flight: int, on_submit: Callable[[T], None]) -> Generator[Any, None, list[T]]:
    """Run items off the front of `queue` in one pool, yielding results as they finish, until the
    queue is empty (returns []) or the pool breaks (returns the items it lost)."""
    with ProcessPoolExecutor(workers, mp_context=SPAWN, initializer=_start, initargs=(factory, args)) as pool:
        pending: dict[Future, T] = {}
        while queue or pending:
            while queue and len(pending) < in_flight:
                item = queue.popleft()
                on_submit(item)
                try:
                    pending[pool.submit(_call, method, item)] = item
                except BrokenProcessPool:
                    queue.appendleft(item)  # never started: not a suspect
                    break
            if not pending:  # the pool broke while idle: nothing was lost
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
