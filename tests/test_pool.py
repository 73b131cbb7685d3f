"""Worker pools: never forked (a forked child of a torch parent hangs), and a dead worker costs one item."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from evals.pool import WorkerStartError, resilient_map

REPO = Path(__file__).resolve().parent.parent


class TorchWork:
    """A worker's state that runs torch, as the judge and the black boxes do."""

    def run(self, n: int) -> float:
        import torch

        x = torch.randn(256, 256)
        for _ in range(3):
            x = torch.tanh(x @ x)
        return float(n)


class DiesOn:
    """Kills its own process (SIGKILL) on one item."""

    def __init__(self, fatal: int) -> None:
        self.fatal = fatal

    def run(self, n: int) -> int:
        if n == self.fatal:
            os.kill(os.getpid(), 9)
        return n


class CannotStart:
    def __init__(self) -> None:
        raise RuntimeError("no model here")


@pytest.mark.timeout(120)
def test_workers_of_a_parent_that_ran_torch_do_not_hang() -> None:
    """With fork this hangs for ever on this machine: the parent's torch thread pool is started first."""
    import torch

    x = torch.randn(1024, 1024)
    assert float((x @ x).sum()) == float((x @ x).sum())
    results = resilient_map(TorchWork, (), "run", range(4), workers=2, on_crash=lambda n: None)
    assert sorted(results) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("workers", [1, 3])
def test_the_item_that_kills_its_worker_is_found_and_the_rest_go_on(workers: int) -> None:
    results = list(resilient_map(DiesOn, (4,), "run", range(8), workers=workers, on_crash=lambda n: f"crashed {n}"))
    assert sorted(results, key=str) == sorted([0, 1, 2, 3, 5, 6, 7, "crashed 4"], key=str)


def test_a_worker_that_cannot_start_says_why() -> None:
    with pytest.raises(WorkerStartError, match="RuntimeError: no model here"):
        list(resilient_map(CannotStart, (), "run", range(3), workers=2, on_crash=lambda n: n))


def test_no_process_pool_forks() -> None:
    """Every process pool of the project is evals.pool's (spawn); nothing asks for fork."""
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        if "tests" in path.parts or ".git" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"(get_context|set_start_method)\(\s*[\"']fork", text):
            offenders.append(f"{path}: asks for fork")
        if re.search(r"ProcessPoolExecutor\(|\bPool\(|multiprocessing\.Process\(|\bos\.fork\(", text) \
                and path != REPO / "evals" / "pool.py":
            offenders.append(f"{path}: starts processes its own way (Linux's default for them is fork)")
    assert not offenders
